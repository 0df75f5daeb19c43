//! `hebbnet plot DIR`: the figures of a finished run or of a parameter sweep, as SVG and PNG
//! (1200 × 800 px), for a talk or a paper. Default output: `DIR/figures/`.
//!
//! Figures of a run (`hebbnet run --out DIR`):
//!
//! | file | shows | needs |
//! |---|---|---|
//! | `lyapunov` | replica-mean λ₁ against epoch, its 95% CI, every replica, λ₁ = 0 | `analysis.lyapunov` |
//! | `contraction` | mean spectral radii of `W` and of the Jacobian against epoch, ρ = 1 | `analysis.eigenvalues` |
//! | `eigenvalues` | eigenvalue clouds of `W` and of the Jacobian at chosen epochs, unit circle | `eigenvalues_W.npy`, `eigenvalues_J.npy` |
//! | `bifurcation` | the states a few neurons visit after the transient, per epoch | `bifurcation.npy` |
//! | `sensitivity` | susceptibility and discrimination against λ₁, coloured by epoch | `analysis.sensitivity` |
//!
//! A run of Cessac's spiking network (`"model": "bms"`) gets these instead:
//!
//! | file | shows | needs |
//! |---|---|---|
//! | `raster` | spikes of replica `--replica` in the last epoch (first ≤ 500 steps × ≤ 200 neurons), the population rate ρ(t) below | `raster.npy` (`output.save: ["raster"]`) |
//! | `periods` | histogram over replicas of the last epoch's period, and the censored replicas (no period ≤ T/2) as a bar "> T/2" | `epochs.csv` |
//! | `learning` | against epoch: log₁₀ d̂ (median, q25–q75), periodic fraction and median period, rate (95% CI), ρ(W) | two or more epochs |
//!
//! Figures of a sweep (a directory with `sweep.json` of kind `hebbnet-sweep` and `points.csv`;
//! `--observable` picks the `points.csv` columns, default `lyapunov_max_mean`):
//!
//! | file | shows | when |
//! |---|---|---|
//! | `heatmap_OBS` | OBS over the first two axes, one cell per point (blue < 0 < red for exponents), NaN hatched, the mean-field line σ²⟨f′²⟩ = 1 dashed | two or more axes; one per value combination of the others, `heatmap_OBS__KEY_VALUE…` |
//! | `critical_line.csv` | that line as `x_key,y_key` rows (curves separated by `NaN,NaN`) | the mean field applies at every point (rate form, `siri`, a = 1, drawn weights and input) |
//! | `profile_OBS` | OBS (mean ± 95% CI) against the axis; for λ₁ the mean-field λ_max | one axis |
//! | `flip_line.csv`, `saddle_node_line.csv`, `chaos_line_fixed_point.csv`, `chaos_line_period2.csv`, `mean_field_regions.csv` | the bifurcation map of the mean-field (m, q) map (`theory::bifurcation`), its lines also drawn on the heat map, its regions as letters | an axis moves only J̄ or θ̄ (`weights.mean`, `input.mean`, `network.threshold`) and the mean field applies |
//! | `route_to_chaos` | the population mean m(t) of replica 0 against the axis (a bifurcation diagram) above λ₁, with the mean field | one axis and `output.record.population` |
//! | `dhat_sigma` | BMS: log₁₀ d̂ (median, q25–q75) above, dead and periodic fractions below, against the axis; the mean-field onset σ_c dashed (or why there is none) | a `"bms"` sweep with one axis and no `--observable` |
//!
//! A BMS sweep with two or more axes draws heat maps of `points.csv` columns, by default
//! `log10_d_hat_median`.
//!
//! A run or sweep of Jiang et al.'s sequence network (`"model": "jiang"`) gets its own figures,
//! each with the theory of `crate::theory::jiang` beside the data ([`sequence`],
//! docs/figures_jiang.md): the eigenvalue clouds of J and of the Jacobian with the support's
//! boundary loops, the overlaps, the twin distance and the plateau of a run; the right edge
//! against γ, the transition over (α, γ) with γ_c, the exponent and attractor slices, the
//! plateau against γ, and heat maps (default `lyapunov`, `grew_fraction`, `chaos_fraction`)
//! with γ_c of a sweep.
//!
//! A run or sweep of trained reservoirs (`"model": "reservoir"`) gets its own figures, each with
//! the mean-field theory the family writes beside the data ([`training`]): the closed-loop
//! spectra per attractor and the returns after kicks of a run; success, time constant and the
//! clamped open loop's Lyapunov exponent against g, and the two-target success map of a sweep.
//!
//! A figure whose input the run did not produce is skipped with a note; a directory that is
//! not a finished run or sweep, a malformed file, or an unknown observable is an
//! [`Error::Input`] (exit code 2).
//!
//! Text is rendered with the bundled DejaVu Sans (`assets/`), so PNGs need no system fonts.

mod bifurcation;
mod data;
mod eigenvalues;
mod heatmap;
mod lyapunov;
mod memory;
mod panels;
mod route;
mod sensitivity;
mod sequence;
mod spiking;
mod style;
mod training;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Model;
use crate::error::{Error, Result};

pub use data::{Axis, Run, Spacing, Sweep, Table};
pub use heatmap::DEFAULT_OBSERVABLE;

/// Options of `hebbnet plot`.
#[derive(Clone, Debug, Default)]
pub struct PlotOptions {
    /// Output directory (default: `RUN_DIR/figures`).
    pub out: Option<PathBuf>,
    /// Epochs of the eigenvalue figure (default: first, middle, last).
    pub epochs: Option<Vec<usize>>,
    /// Replica of the bifurcation diagram.
    pub replica: usize,
    /// Columns of a sweep's `points.csv` to draw (empty: `lyapunov_max_mean`); entries may
    /// hold several names separated by commas.
    pub observables: Vec<String>,
}

/// The command-line arguments of `hebbnet plot`.
#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// A finished run directory (the --out of `hebbnet run`), or a sweep directory (with
    /// sweep.json and points.csv).
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
    /// Sweep figures: the points.csv column(s) to draw, repeatable or comma-separated
    /// (default: lyapunov_max_mean; `lyapunov_max` means its `_mean`).
    #[arg(long = "observable", value_name = "NAME", value_delimiter = ',')]
    pub observables: Vec<String>,
}

impl PlotArgs {
    pub fn into_parts(self) -> (PathBuf, PlotOptions) {
        (
            self.dir,
            PlotOptions {
                out: self.out,
                epochs: self.epochs,
                replica: self.replica,
                observables: self.observables,
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
    pub figures: Vec<(String, Outcome)>,
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

/// Draw every figure of the finished run in `dir`, or, when `dir` is a sweep directory
/// (`sweep.json` of kind `hebbnet-sweep`), the sweep figures of `options.observables`.
pub fn plot_run(dir: &Path, options: &PlotOptions) -> Result<PlotReport> {
    if Sweep::is_sweep(dir) {
        return plot_sweep(dir, options);
    }
    if !options.observables.is_empty() {
        return Err(Error::input(
            dir,
            "--observable chooses the figures of a sweep directory (with sweep.json); this \
             is a run directory",
        ));
    }
    let run = Run::open(dir)?;
    let model = model_of(run.manifest.get("config"));
    let one_epoch = matches!(model, Model::Jiang | Model::Lotito | Model::Reservoir);
    if one_epoch && options.epochs.is_some() {
        return Err(Error::input(
            dir,
            format!(
                "--epochs chooses epochs of the eigenvalue figure; a \"{}\" run has one epoch",
                model.name()
            ),
        ));
    }
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
    let figures = match model {
        Model::Bms => spiking::run_figures(&run, &out, options.replica)?,
        Model::Jiang => sequence::run_figures(&run, &out)?,
        Model::Lotito => memory::run_figures(&run, &out, options.replica)?,
        Model::Reservoir => training::run_figures(&run, &out, options.replica)?,
        Model::Analog => analog_run_figures(&run, &out, options)?,
    };
    Ok(PlotReport { out, figures })
}

/// The figures of an analog (Siri) run.
fn analog_run_figures(
    run: &Run,
    out: &Path,
    options: &PlotOptions,
) -> Result<Vec<(String, Outcome)>> {
    let figures: Vec<(&str, Outcome)> = vec![
        ("lyapunov", lyapunov::lyapunov(run, out)?),
        ("contraction", lyapunov::contraction(run, out)?),
        (
            "eigenvalues",
            eigenvalues::eigenvalues(run, out, options.epochs.as_deref())?,
        ),
        (
            "bifurcation",
            bifurcation::bifurcation(run, out, options.replica)?,
        ),
        ("sensitivity", sensitivity::sensitivity(run, out)?),
    ];
    Ok(figures
        .into_iter()
        .map(|(name, outcome)| (name.to_string(), outcome))
        .collect())
}

/// The `"model"` a run's or sweep's config names (the analog family where it names none).
fn model_of(config: Option<&serde_json::Value>) -> Model {
    let name = config
        .and_then(|c| c.get("model"))
        .and_then(serde_json::Value::as_str);
    Model::ALL
        .into_iter()
        .find(|m| Some(m.name()) == name)
        .unwrap_or(Model::Analog)
}

/// The figures of the sweep in `dir` (see the module documentation).
fn plot_sweep(dir: &Path, options: &PlotOptions) -> Result<PlotReport> {
    if options.epochs.is_some() || options.replica != 0 {
        return Err(Error::input(
            dir,
            "--epochs and --replica choose figures of a run; this is a sweep directory \
             (use --observable)",
        ));
    }
    let sweep = Sweep::open(dir)?;
    let model = model_of(Some(&sweep.base_config));
    let prepare = || -> Result<PathBuf> {
        sweep.grid_indices()?;
        let out = options.out.clone().unwrap_or_else(|| dir.join("figures"));
        std::fs::create_dir_all(&out).map_err(|e| Error::output(&out, e))?;
        Ok(out)
    };
    // Each family's own sweep figures, unless --observable asks for heat maps (Jiang's
    // figures take the observables themselves).
    let own = options.observables.is_empty();
    match model {
        Model::Jiang => {
            let out = prepare()?;
            let figures = sequence::sweep_figures(&sweep, &out, &options.observables)?;
            return Ok(PlotReport { out, figures });
        }
        Model::Lotito if own => {
            let out = prepare()?;
            let figures = memory::sweep_figures(&sweep, &out)?;
            return Ok(PlotReport { out, figures });
        }
        Model::Reservoir if own => {
            let out = prepare()?;
            let figures = training::sweep_figures(&sweep, &out)?;
            return Ok(PlotReport { out, figures });
        }
        Model::Bms if own && sweep.axes.len() == 1 => {
            let out = prepare()?;
            let figures = vec![("dhat_sigma".to_string(), spiking::dhat_sigma(&sweep, &out)?)];
            return Ok(PlotReport { out, figures });
        }
        _ => {}
    }
    // A BMS sweep has no λ₁: its heat maps default to log₁₀ d̂.
    let requested = if model == Model::Bms && own {
        vec![spiking::DEFAULT_OBSERVABLE.to_string()]
    } else {
        options.observables.clone()
    };
    let observables = heatmap::resolve_observables(&sweep, &requested)?;
    let out = prepare()?;
    let mut figures = heatmap::sweep_figures(&sweep, &out, &observables)?;
    if sweep.axes.len() == 1 && dir.join("record_activity.npy").is_file() {
        figures.push((
            "route_to_chaos".to_string(),
            route::route_to_chaos(&sweep, &out)?,
        ));
    }
    Ok(PlotReport { out, figures })
}
