//! `hebbnet plot RUN_DIR`: the figures of a finished run, as SVG and PNG (1200 × 800 px), for a
//! talk or a paper. Default output: `RUN_DIR/figures/`.
//!
//! | file | shows | needs |
//! |---|---|---|
//! | `lyapunov` | replica-mean λ₁ against epoch, its 95% CI, every replica, λ₁ = 0 | `analysis.lyapunov` |
//! | `contraction` | mean spectral radii of `W` and of the Jacobian against epoch, ρ = 1 | `analysis.eigenvalues` |
//! | `eigenvalues` | eigenvalue clouds of `W` and of the Jacobian at chosen epochs, unit circle | `eigenvalues_W.npy`, `eigenvalues_J.npy` |
//! | `bifurcation` | the states a few neurons visit after the transient, per epoch | `bifurcation.npy` |
//! | `sensitivity` | susceptibility and discrimination against λ₁, coloured by epoch | `analysis.sensitivity` |
//!
//! A figure whose input the run did not produce is skipped with a note; a directory that is
//! not a finished run, or a malformed file, is an [`Error::Input`] (exit code 2).
//!
//! Text is rendered with the bundled DejaVu Sans (`assets/`), so PNGs need no system fonts.

mod bifurcation;
mod data;
mod eigenvalues;
mod lyapunov;
mod sensitivity;
mod style;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use data::{Run, Table};

/// Options of `hebbnet plot`.
#[derive(Clone, Debug, Default)]
pub struct PlotOptions {
    /// Output directory (default: `RUN_DIR/figures`).
    pub out: Option<PathBuf>,
    /// Epochs of the eigenvalue figure (default: first, middle, last).
    pub epochs: Option<Vec<usize>>,
    /// Replica of the bifurcation diagram.
    pub replica: usize,
}

/// The command-line arguments of `hebbnet plot`.
#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// A finished run directory (the --out of `hebbnet run`).
    #[arg(value_name = "RUN_DIR")]
    pub dir: PathBuf,
    /// Directory for the figures (default: RUN_DIR/figures).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Epochs shown in the eigenvalue figure, comma-separated (default: first, middle, last).
    #[arg(long, value_delimiter = ',')]
    pub epochs: Option<Vec<usize>>,
    /// Replica shown in the bifurcation diagram.
    #[arg(long, default_value_t = 0)]
    pub replica: usize,
}

impl PlotArgs {
    pub fn into_parts(self) -> (PathBuf, PlotOptions) {
        (
            self.dir,
            PlotOptions {
                out: self.out,
                epochs: self.epochs,
                replica: self.replica,
            },
        )
    }
}

/// What one figure function did.
pub enum Outcome {
    /// The files written (SVG, PNG).
    Written(Vec<PathBuf>),
    /// Why the figure was skipped (its input is not in the run).
    Skipped(String),
}

/// What `plot_run` did, figure by figure; `Display` prints it for the command line.
pub struct PlotReport {
    pub out: PathBuf,
    pub figures: Vec<(&'static str, Outcome)>,
}

impl PlotReport {
    /// Every file written.
    pub fn written(&self) -> Vec<&Path> {
        self.figures
            .iter()
            .flat_map(|(_, o)| match o {
                Outcome::Written(files) => files.iter().map(PathBuf::as_path).collect(),
                Outcome::Skipped(_) => Vec::new(),
            })
            .collect()
    }
}

impl fmt::Display for PlotReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, outcome) in &self.figures {
            match outcome {
                Outcome::Written(files) => {
                    for file in files {
                        writeln!(f, "wrote {}", file.display())?;
                    }
                }
                Outcome::Skipped(why) => writeln!(f, "skipped {name}: {why}")?,
            }
        }
        writeln!(
            f,
            "{} files in {}",
            self.written().len(),
            self.out.display()
        )
    }
}

/// Draw every figure of the finished run in `dir`.
pub fn plot_run(dir: &Path, options: &PlotOptions) -> Result<PlotReport> {
    let run = Run::open(dir)?;
    // Check the options before any figure is written.
    if let Some(epochs) = &options.epochs {
        eigenvalues::check_epochs(epochs, run.summary.len(), dir)?;
    }
    let replicas = run.replicas()?;
    if options.replica >= replicas {
        return Err(Error::input(
            dir,
            format!(
                "--replica {}: the run has {replicas} replica{} (0 to {})",
                options.replica,
                if replicas == 1 { "" } else { "s" },
                replicas.saturating_sub(1)
            ),
        ));
    }
    let out = options.out.clone().unwrap_or_else(|| dir.join("figures"));
    std::fs::create_dir_all(&out).map_err(|e| Error::output(&out, e))?;
    let figures = vec![
        ("lyapunov", lyapunov::lyapunov(&run, &out)?),
        ("contraction", lyapunov::contraction(&run, &out)?),
        (
            "eigenvalues",
            eigenvalues::eigenvalues(&run, &out, options.epochs.as_deref())?,
        ),
        (
            "bifurcation",
            bifurcation::bifurcation(&run, &out, options.replica)?,
        ),
        ("sensitivity", sensitivity::sensitivity(&run, &out)?),
    ];
    Ok(PlotReport { out, figures })
}
