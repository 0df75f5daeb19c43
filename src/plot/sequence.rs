//! Figures of Jiang et al.'s deep-Hebbian sequence network (`"model": "jiang"`,
//! models/jiang.md), each with the random-matrix theory of `crate::theory::jiang` drawn beside
//! the data where it applies (§5–§6):
//!
//! - a run: the eigenvalue cloud of J (`eigenvalues`) and of the Jacobian J·diag(φ′)
//!   (`jacobian_eigenvalues`) with the theory's boundary loops, the overlaps m^μ(t)
//!   (`retrieval`), the distance of the paired twins (`pair_distance`) and the variance of h
//!   against time with the plateau of §6 (`plateau`);
//! - a sweep: the same clouds per point, the right edge against γ (`right_edge`), the
//!   instability of h = 0 over (α, γ) (`transition`), the largest exponent and the attractor
//!   classes along the α and γ slices (`lyapunov`, `attractors`), the plateau variance against
//!   γ (`plateau`), and heat maps of `points.csv` columns ([`super::heatmap`]) with γ_c(α) in
//!   place of the analog mean-field line.
//!
//! Times are in τ (steps × `jiang.leak`), exponents per τ. The columns read are those of
//! [`crate::analysis::sequence`]: `SEQUENCE_COLUMNS` in `epochs.csv` (one row per replica and
//! initial condition) and `SEQUENCE_SUMMARY` in `summary.csv` / `points.csv`; the arrays those
//! of `crate::experiment::jiang` (in a sweep, `STEM.pNNNNNN.npy` per point when the shape
//! differs between points, else one `STEM.npy` with the point first).

mod curves;
mod legend;
mod retrieval;
mod spectra;
mod theory;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::data::{read_complex, read_real, Array, ComplexArray, Run, Sweep, Table};
use super::heatmap::{self, Described, FamilyTheory};
use super::style;
use super::Outcome;
use crate::config::{Config, VectorSource};
use crate::error::{Error, Result};

/// The `points.csv` columns drawn as heat maps when none is asked for.
pub const DEFAULT_OBSERVABLES: [&str; 3] = ["lyapunov", "grew_fraction", "chaos_fraction"];

/// The figures of a Jiang run, in place of the analog ones.
pub fn run_figures(run: &Run, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let setting = Setting::from_config(&run.config()?);
    let arrays = Arrays::new(&run.dir, false);
    let replicas = run.replicas()?;
    let source = Source {
        setting: &setting,
        arrays: &arrays,
        point: None,
        replicas,
    };
    Ok(vec![
        (
            "eigenvalues".to_string(),
            spectra::eigenvalues(&source, out, "eigenvalues")?,
        ),
        (
            "jacobian_eigenvalues".to_string(),
            spectra::jacobian_eigenvalues(&source, out, "jacobian_eigenvalues")?,
        ),
        ("retrieval".to_string(), retrieval::retrieval(&source, out)?),
        (
            "pair_distance".to_string(),
            retrieval::pair_distance(&source, out)?,
        ),
        (
            "plateau".to_string(),
            retrieval::plateau_in_time(&source, out)?,
        ),
    ])
}

/// The figures of a Jiang sweep: the clouds per point, the curves along γ and α, and the heat
/// maps of `observables` (default [`DEFAULT_OBSERVABLES`]).
pub fn sweep_figures(
    sweep: &Sweep,
    out: &Path,
    observables: &[String],
) -> Result<Vec<(String, Outcome)>> {
    let points = points(sweep)?;
    let arrays = Arrays::new(&sweep.dir, true);
    let replicas = sweep.replicas.unwrap_or(1);
    let mut figures = Vec::new();
    for (stem, array) in [
        ("eigenvalues", "eigenvalues"),
        ("jacobian_eigenvalues", "jacobian_eigenvalues"),
    ] {
        if !arrays.present(array) {
            figures.push((
                stem.to_string(),
                Outcome::Skipped(format!(
                    "no {array}.npy in the sweep (add \"{array}\" to output.save of its base \
                     config)"
                )),
            ));
            continue;
        }
        for point in &points {
            let source = Source {
                setting: &point.setting,
                arrays: &arrays,
                point: Some(point),
                replicas,
            };
            let name = format!("{stem}{}", point.suffix());
            let outcome = if stem == "eigenvalues" {
                spectra::eigenvalues(&source, out, &name)?
            } else {
                spectra::jacobian_eigenvalues(&source, out, &name)?
            };
            figures.push((name, outcome));
        }
    }
    let grid = curves::Grid::new(sweep, &points)?;
    figures.push(("right_edge".to_string(), curves::right_edge(&grid, out)?));
    figures.extend(curves::transition(&grid, out)?);
    figures.extend(curves::lyapunov(&grid, out)?);
    figures.extend(curves::attractors(&grid, out)?);
    figures.push(("plateau".to_string(), curves::plateau(&grid, out)?));
    figures.extend(heat_maps(sweep, out, observables)?);
    Ok(figures)
}

/// The heat maps (or, with one axis, profiles) of `observables` over the sweep, with the
/// (α, γ) plane first when both are swept and γ_c(α) as the plane's theory line.
fn heat_maps(sweep: &Sweep, out: &Path, observables: &[String]) -> Result<Vec<(String, Outcome)>> {
    let steps = ["transient_steps", "recorded_steps"]
        .iter()
        .filter_map(|k| sweep.base_config.get("schedule")?.get(*k)?.as_u64())
        .sum::<u64>();
    if observables.is_empty() && steps <= 1 {
        return Ok(vec![(
            "heatmaps".to_string(),
            Outcome::Skipped(
                "a spectra-only sweep (at most one step of dynamics): no dynamical observable \
                 to map (ask for one with --observable)"
                    .into(),
            ),
        )]);
    }
    let requested: Vec<String> = if observables.is_empty() {
        DEFAULT_OBSERVABLES.iter().map(|s| s.to_string()).collect()
    } else {
        observables.to_vec()
    };
    let reordered = plane_first(sweep)?;
    let columns = heatmap::resolve_observables(&reordered, &requested)?;
    let base = base_setting(sweep)?;
    let line = |fixed: &[(&str, f64)], x: &super::data::Axis, y: &super::data::Axis| {
        theory::plane_line(&base, fixed, x, y)
    };
    let family = FamilyTheory {
        line: &line,
        missing: "theory: γ_c does not cross this range".to_string(),
        describe,
    };
    heatmap::sweep_figures_with(&reordered, out, &columns, Some(&family))
}

/// The sweep with `jiang.load` and `jiang.heteroassociation` as its first axes (the heat map's
/// x and y) when swept.
fn plane_first(sweep: &Sweep) -> Result<Sweep> {
    let rank = |key: &str| match key {
        "jiang.load" => 0,
        "jiang.heteroassociation" => 1,
        _ => 2,
    };
    let mut axes: Vec<_> = sweep.axes.iter().map(logarithmic_if_wide).collect();
    axes.sort_by_key(|a| rank(&a.key));
    Ok(Sweep {
        dir: sweep.dir.clone(),
        axes,
        replicas: sweep.replicas,
        base_config: sweep.base_config.clone(),
        points: Table::read(&sweep.points.path)?,
    })
}

/// `axis` on a log scale when its values are positive and span a factor 20 or more (the loads
/// 0.01 to 1 of the paper), as listed otherwise.
pub(super) fn logarithmic_if_wide(axis: &super::data::Axis) -> super::data::Axis {
    let mut axis = axis.clone();
    let wide = style::bounds(axis.values.iter().copied())
        .is_some_and(|(lo, hi)| lo > 0.0 && hi / lo >= 20.0);
    if wide && axis.key == "jiang.load" {
        axis.spacing = super::data::Spacing::Log;
    }
    axis
}

/// A tick label: [`style::number_tick`], with the rounding noise of a tick at 0 (−2.8e−17)
/// shown as 0.
pub(super) fn tick(v: &f64) -> String {
    style::number_tick(if v.abs() < 1e-12 { &0.0 } else { v })
}

/// Names and units of the family's `points.csv` columns (exponents per τ).
fn describe(column: &str) -> Option<Described> {
    let fraction = |what: &str| (format!("fraction of {what}"), "", false, Some((0.0, 1.0)));
    let (name, unit, signed, range): (String, &str, bool, Option<(f64, f64)>) = match column {
        "lyapunov" => (
            "largest Lyapunov exponent λ, mean over trajectories".into(),
            "per τ",
            true,
            None,
        ),
        "lyapunov_lo" => (
            "largest Lyapunov exponent λ, lower end of the 95% CI".into(),
            "per τ",
            true,
            None,
        ),
        "lyapunov_hi" => (
            "largest Lyapunov exponent λ, upper end of the 95% CI".into(),
            "per τ",
            true,
            None,
        ),
        "lyapunov_max" => (
            "largest Lyapunov exponent λ, largest over trajectories".into(),
            "per τ",
            true,
            None,
        ),
        "right_edge" => (
            "right edge x_R = max Re λ(J), mean over networks".into(),
            "",
            false,
            None,
        ),
        "grew_fraction" => fraction("trajectories whose activity grew"),
        "retrieving_fraction" => fraction("trajectories retrieving (max m^μ > ½)"),
        "multistable_fraction" => fraction("multistable networks"),
        "sigma_r2" => (
            "variance of h over neurons σ_r², window mean".into(),
            "",
            false,
            None,
        ),
        "retrieval_speed" => (
            "retrieval speed, mean over trajectories".into(),
            "patterns per τ",
            true,
            None,
        ),
        "trajectories" => ("trajectories per point".into(), "", false, None),
        other => match other.strip_suffix("_fraction") {
            Some(class) => fraction(&format!("trajectories: {}", class.replace('_', " "))),
            None => return None,
        },
    };
    let unit_text = if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    };
    let mut title = name.replacen(", ", " (", 1);
    if title != name {
        title.push(')');
    }
    if let Some(first) = title.get(..1) {
        title = first.to_uppercase() + &title[1..];
    }
    Some(Described {
        label: format!("{name}{unit_text}"),
        title,
        signed,
        range,
        hint: if column.starts_with("lyapunov") {
            " (jiang.lyapunov was off?)"
        } else {
            ""
        },
        lyapunov_max: false,
    })
}

// ---------------------------------------------------------------------------------------------
// What a run or a sweep point is.

/// The parameters of one run or sweep point that the figures and the theory need.
#[derive(Clone, Debug)]
pub(super) struct Setting {
    pub neurons: usize,
    pub load: f64,
    pub autoassociation: f64,
    pub heteroassociation: f64,
    pub depth: usize,
    pub backward: f64,
    pub leak: f64,
    pub record_every: usize,
    pub transient: usize,
    pub window: usize,
    pub jacobian_steps: Vec<usize>,
    /// σ₀² when h(0) ~ N(0, σ₀²) (no cue).
    pub variance: Option<f64>,
    /// The cued pattern μ (0-based), when h(0) starts at one.
    pub cue: Option<usize>,
    pub twins: bool,
    pub conditions: usize,
    /// Why the random-matrix theory of §5 does not describe these couplings (dilution,
    /// J_ii = 0, open chain).
    pub no_theory: Option<String>,
}

impl Setting {
    pub fn from_config(config: &Config) -> Setting {
        let j = &config.jiang;
        let variance = match (&j.cue, config.jiang_initial_state_source()) {
            (None, Ok(VectorSource::Gaussian { mean: 0.0, std })) => Some(std * std),
            _ => None,
        };
        let no_theory = if j.dilution < 1.0 {
            Some(format!(
                "diluted couplings (jiang.dilution = {})",
                j.dilution
            ))
        } else if !j.self_couplings {
            Some("J_ii = 0 (jiang.self_couplings = false)".to_string())
        } else if j.open_chain {
            Some("an open chain (jiang.open_chain = true)".to_string())
        } else {
            None
        };
        Setting {
            neurons: j.neurons,
            load: j.load,
            autoassociation: j.autoassociation,
            heteroassociation: j.heteroassociation,
            depth: j.depth,
            backward: j.backward,
            leak: j.leak,
            record_every: j.record_every,
            transient: config.schedule.transient_steps,
            window: config.schedule.recorded_steps,
            jacobian_steps: j.jacobian_steps.clone(),
            variance,
            cue: j.cue.as_ref().map(|c| c.pattern),
            twins: j.pair_perturbation.is_some(),
            conditions: j.initial_conditions,
            no_theory,
        }
    }

    /// c = 0, d = 1, b = 0: the rotation-invariant case with closed forms (§5.2, eqs 11–12).
    pub fn closed_form(&self) -> bool {
        self.autoassociation == 0.0 && self.depth == 1 && self.backward == 0.0
    }

    /// "α = 0.1, c = 0, γ = 1.5, d = 1" (and b when set).
    pub fn couplings(&self) -> String {
        let n = style::number_tick;
        let mut s = format!(
            "α = {}, c = {}, γ = {}, d = {}",
            n(&self.load),
            n(&self.autoassociation),
            n(&self.heteroassociation),
            self.depth
        );
        if self.backward != 0.0 {
            s.push_str(&format!(", b = {}", n(&self.backward)));
        }
        s
    }

    /// The time in τ of recorded sample `s`.
    pub fn time(&self, sample: usize) -> f64 {
        (sample * self.record_every) as f64 * self.leak
    }
}

/// The setting of the sweep's base config (the values of a plane's other keys come from it
/// where they are not swept).
fn base_setting(sweep: &Sweep) -> Result<Setting> {
    Ok(Setting::from_config(&sweep.point_config(&[])?))
}

/// One grid point of a sweep.
pub(super) struct Point {
    /// The `point` column: the index of its arrays.
    pub index: usize,
    /// Its row of `points.csv`.
    pub row: usize,
    /// Its value of every axis, in the order of `sweep.json`.
    pub values: Vec<(String, f64)>,
    pub setting: Setting,
}

impl Point {
    /// `__KEY_VALUE` for every axis (the file names of the heat maps' slices).
    pub fn suffix(&self) -> String {
        self.values
            .iter()
            .map(|(key, v)| format!("__{key}_{v}"))
            .collect()
    }
}

/// Every row of `points.csv` as a [`Point`] with its config.
fn points(sweep: &Sweep) -> Result<Vec<Point>> {
    let index = sweep.points.usize_column("point")?;
    let mut columns = Vec::new();
    for axis in &sweep.axes {
        columns.push(
            sweep
                .points
                .f64_column(&axis.key)?
                .ok_or_else(|| Error::input(&sweep.points.path, format!("no `{}`", axis.key)))?,
        );
    }
    (0..sweep.points.len())
        .map(|row| {
            let values: Vec<(String, f64)> = sweep
                .axes
                .iter()
                .zip(&columns)
                .map(|(a, c)| (a.key.clone(), c[row]))
                .collect();
            let at: Vec<(&str, f64)> = values.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            Ok(Point {
                index: index[row],
                row,
                setting: Setting::from_config(&sweep.point_config(&at)?),
                values,
            })
        })
        .collect()
}

/// A run, or one point of a sweep: what a figure of one setting reads.
pub(super) struct Source<'a> {
    pub setting: &'a Setting,
    pub arrays: &'a Arrays,
    pub point: Option<&'a Point>,
    /// R, networks per point.
    pub replicas: usize,
}

impl Source<'_> {
    /// "2000 neurons, 4 networks" for titles.
    pub fn size(&self) -> String {
        format!(
            "N = {}, {} network{}",
            self.setting.neurons,
            self.replicas,
            if self.replicas == 1 { "" } else { "s" }
        )
    }

    pub fn real(&self, stem: &str, ndim: usize, layout: &str) -> Result<Option<Array>> {
        self.arrays
            .real(stem, self.point.map(|p| p.index), ndim, layout)
    }

    pub fn complex(&self, stem: &str, ndim: usize, layout: &str) -> Result<Option<ComplexArray>> {
        self.arrays
            .complex(stem, self.point.map(|p| p.index), ndim, layout)
    }
}

/// The arrays of a run directory or of a sweep directory (per point, or one file with the point
/// first, read once and cut).
pub(super) struct Arrays {
    dir: PathBuf,
    sweep: bool,
    real: RefCell<BTreeMap<String, Rc<Array>>>,
    complex: RefCell<BTreeMap<String, Rc<ComplexArray>>>,
}

impl Arrays {
    fn new(dir: &Path, sweep: bool) -> Arrays {
        Arrays {
            dir: dir.to_path_buf(),
            sweep,
            real: RefCell::default(),
            complex: RefCell::default(),
        }
    }

    fn own(&self, stem: &str, point: Option<usize>) -> PathBuf {
        match point {
            Some(p) => self.dir.join(format!("{stem}.p{p:06}.npy")),
            None => self.dir.join(format!("{stem}.npy")),
        }
    }

    /// Whether the directory holds the array `stem` (for any point).
    fn present(&self, stem: &str) -> bool {
        if self.dir.join(format!("{stem}.npy")).is_file() {
            return true;
        }
        self.sweep
            && std::fs::read_dir(&self.dir).is_ok_and(|entries| {
                entries.flatten().any(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with(&format!("{stem}.p")) && name.ends_with(".npy")
                })
            })
    }

    /// `stem` of the run, or of sweep point `point`, as an array of `ndim` dimensions; `None`
    /// when absent.
    fn real(
        &self,
        stem: &str,
        point: Option<usize>,
        ndim: usize,
        layout: &str,
    ) -> Result<Option<Array>> {
        let own = self.own(stem, point);
        if !self.sweep || own.is_file() {
            return own
                .is_file()
                .then(|| read_real(&own, ndim, layout))
                .transpose();
        }
        let Some(p) = point else { return Ok(None) };
        let all = self.dir.join(format!("{stem}.npy"));
        if !all.is_file() {
            return Ok(None);
        }
        let cached = self.real.borrow().get(stem).cloned();
        let whole = match cached {
            Some(a) => a,
            None => {
                let a = Rc::new(read_real(
                    &all,
                    ndim + 1,
                    &format!("(point, {})", &layout[1..]),
                )?);
                self.real.borrow_mut().insert(stem.to_string(), a.clone());
                a
            }
        };
        let (shape, block) = cut(&whole.shape, p, &all)?;
        Ok(Some(Array {
            shape,
            data: whole.data[block].to_vec(),
        }))
    }

    /// [`Self::real`] for a complex array.
    fn complex(
        &self,
        stem: &str,
        point: Option<usize>,
        ndim: usize,
        layout: &str,
    ) -> Result<Option<ComplexArray>> {
        let own = self.own(stem, point);
        if !self.sweep || own.is_file() {
            return own
                .is_file()
                .then(|| read_complex(&own, ndim, layout))
                .transpose();
        }
        let Some(p) = point else { return Ok(None) };
        let all = self.dir.join(format!("{stem}.npy"));
        if !all.is_file() {
            return Ok(None);
        }
        let cached = self.complex.borrow().get(stem).cloned();
        let whole = match cached {
            Some(a) => a,
            None => {
                let a = Rc::new(read_complex(
                    &all,
                    ndim + 1,
                    &format!("(point, {})", &layout[1..]),
                )?);
                self.complex
                    .borrow_mut()
                    .insert(stem.to_string(), a.clone());
                a
            }
        };
        let (shape, block) = cut(&whole.shape, p, &all)?;
        Ok(Some(ComplexArray {
            shape,
            data: whole.data[block].to_vec(),
        }))
    }
}

/// The shape and flat range of entry `p` of an array with the point first.
fn cut(shape: &[usize], p: usize, path: &Path) -> Result<(Vec<usize>, std::ops::Range<usize>)> {
    if p >= shape[0] {
        return Err(Error::input(
            path,
            format!("shape {shape:?} has no point {p} (points.csv names it)"),
        ));
    }
    let size: usize = shape[1..].iter().product();
    Ok((shape[1..].to_vec(), p * size..(p + 1) * size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_per_tau() {
        let d = describe("lyapunov").unwrap();
        assert!(d.signed && !d.lyapunov_max);
        assert!(d.label.ends_with("(per τ)"), "{}", d.label);
        assert_eq!(
            d.title,
            "Largest Lyapunov exponent λ (mean over trajectories)"
        );
        assert_eq!(describe("chaos_fraction").unwrap().range, Some((0.0, 1.0)));
        assert_eq!(
            describe("fixed_point_fraction").unwrap().label,
            "fraction of trajectories: fixed point"
        );
        assert!(describe("whatever").is_none());
    }

    #[test]
    fn a_point_is_cut_from_the_joint_array() {
        let (shape, range) = cut(&[3, 2, 4], 1, Path::new("x.npy")).unwrap();
        assert_eq!(shape, vec![2, 4]);
        assert_eq!(range, 8..16);
        assert!(cut(&[3, 2], 3, Path::new("x.npy")).is_err());
    }
}
