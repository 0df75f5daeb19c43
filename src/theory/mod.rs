//! What is predicted: every analytic prediction hebbnet can make for a config, computed from
//! the config (nothing is tabulated), each with its formula, its source and the conditions under
//! which it holds. `hebbnet theory CONFIG` prints them ([`Report`]); docs/theory.md lists them.
//!
//! - [`mean_field`]: the N → ∞ solvers (science.md §4): the current-form `tanh` network
//!   (`Δ`, `λ_max`), the rate-form `siri` network ([`mean_field::SiriMeanField`]), and
//!   [`mean_field::critical_curve`], the edge of chaos over a plane.
//! - [`edge`]: the edge of chaos along one parameter (critical σ, gain, coupling).
//! - [`plane`]: the critical line over a sweep's plane, shared by `hebbnet theory SPEC` and the
//!   phase-diagram heat map of `hebbnet plot`.
//! - [`bifurcation`]: the attractors of the mean-field map on `(m, q)` (fixed point, 2-cycle,
//!   bistable, quiescent) and the lines where they change (edge of chaos on each stable branch,
//!   flip, saddle-node) over a (g, θ̄) or (g, J̄) plane: Cessac's analog network (cessac.md §9).
//! - [`jiang`]: spectra of deep-Hebbian sequence couplings `J = ξᵀXξ/N` (Jiang et al. 2023,
//!   models/jiang.md §5–§6): the support's boundary, density, right edge and `γ_c`, and the
//!   Jacobian `J·diag(φ')`.
//! - [`predictions`]: the list for one config, each refused with the hypothesis the config
//!   breaks (a leak, another activation, weights from a file, …) rather than guessed.
//!
//! The simulation side (what is measured) is [`crate::analysis`].

pub mod bifurcation;
pub mod bms;
pub mod edge;
pub mod jiang;
pub mod lotito;
pub mod mean_field;
pub mod plane;
pub mod predictions;
pub mod reservoir;
pub mod spiking_mean_field;
mod text;

use std::path::Path;

use serde_json::{json, Value};

use crate::config::{Config, DEFAULT_CONFIG_NAME};
use crate::error::Result;
use crate::experiment::sweep::{Axis, SweepSpec};
use plane::{MeanFieldPlane, PlaneAxis};

/// The value of a prediction.
#[derive(Clone, Debug, PartialEq)]
pub enum Quantity {
    /// A number (±∞ where the formula gives it, e.g. `λ_max = −∞` at σ = 0).
    Number(f64),
    /// No value, and why: a hypothesis the config breaks, a solver that failed, or no crossing.
    NotAvailable(String),
}

impl Quantity {
    /// The number, if there is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Quantity::Number(v) => Some(*v),
            Quantity::NotAvailable(_) => None,
        }
    }
}

/// One analytic prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Stable identifier, e.g. `mean_field.largest_lyapunov` (the same key across forms).
    pub key: &'static str,
    /// In words, for people.
    pub name: &'static str,
    pub symbol: &'static str,
    pub value: Quantity,
    /// One line.
    pub formula: &'static str,
    /// The paper or the section of science.md.
    pub source: &'static str,
    /// When the value holds (N → ∞, form, activation, a = 1, `W⁽⁰⁾` only, …); empty when not
    /// available.
    pub applies_to: String,
    /// What the value means beyond the formula, where it needs saying.
    pub note: Option<String>,
}

impl Prediction {
    /// `{"key", "name", "symbol", "value", "available", "reason", "formula", "source",
    /// "applies_to", "note"}`; `value` is a number, `"inf"`, `"-inf"` or `"nan"` (JSON has no
    /// such numbers; Python's `float()` reads these strings), or null when not available, with
    /// `reason` saying why.
    pub fn to_json(&self) -> Value {
        let (value, reason) = match &self.value {
            Quantity::Number(v) => (number_json(*v), Value::Null),
            Quantity::NotAvailable(why) => (Value::Null, Value::String(why.clone())),
        };
        json!({
            "key": self.key,
            "name": self.name,
            "symbol": self.symbol,
            "value": value,
            "available": matches!(self.value, Quantity::Number(_)),
            "reason": reason,
            "formula": self.formula,
            "source": self.source,
            "applies_to": self.applies_to,
            "note": self.note,
        })
    }
}

/// A number as JSON: itself when finite, else `"inf"`, `"-inf"` or `"nan"`.
fn number_json(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else if v.is_nan() {
        json!("nan")
    } else if v > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

/// A number for people: 6 significant digits, trailing zeros dropped; scientific notation below
/// 1e-4 or from 1e6; `∞`, `−∞`, `NaN`.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{v:.5e}");
    }
    let decimals = (5.0 - magnitude).max(0.0) as usize;
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// The mean-field critical line over one plane of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct CriticalLine {
    /// The plane's axes: two (a line), or one (points along it).
    pub axes: Vec<PlaneAxis>,
    /// The values of the other swept keys (a slice).
    pub fixed: Vec<(String, f64)>,
    /// The legend and the line, or why the theory does not describe the plane.
    pub line: std::result::Result<(String, LineShape), String>,
}

/// The shape of a critical line.
#[derive(Clone, Debug, PartialEq)]
pub enum LineShape {
    /// In a plane: polylines of (x, y), as in `critical_line.csv`.
    Curves(Vec<Vec<(f64, f64)>>),
    /// Along one axis: the values where the indicator is 1.
    Points(Vec<f64>),
}

impl CriticalLine {
    /// `{"x", "y", "x_range", "y_range", "x_log", "y_log", "fixed", "available", "reason",
    /// "legend", "curves", "points"}`; `y`, `y_range`, `y_log` are null for a one-axis sweep,
    /// `curves` (a list of polylines of `[x, y]`) is null unless there are two axes, `points`
    /// (values of x) unless there is one.
    pub fn to_json(&self) -> Value {
        let axis = |k: usize| self.axes.get(k);
        let key = |k: usize| axis(k).map(|a| a.key.clone());
        let range = |k: usize| axis(k).map(|a| vec![a.range.start, a.range.end]);
        let log = |k: usize| axis(k).map(|a| a.log);
        let fixed: serde_json::Map<String, Value> = self
            .fixed
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let (legend, reason, curves, points) = match &self.line {
            Ok((legend, LineShape::Curves(c))) => {
                let c: Vec<Vec<[f64; 2]>> = c
                    .iter()
                    .map(|curve| curve.iter().map(|&(x, y)| [x, y]).collect())
                    .collect();
                (json!(legend), Value::Null, json!(c), Value::Null)
            }
            Ok((legend, LineShape::Points(p))) => {
                (json!(legend), Value::Null, Value::Null, json!(p))
            }
            Err(why) => (Value::Null, json!(why), Value::Null, Value::Null),
        };
        json!({
            "x": key(0),
            "y": key(1),
            "x_range": range(0),
            "y_range": range(1),
            "x_log": log(0),
            "y_log": log(1),
            "fixed": fixed,
            "available": self.line.is_ok(),
            "reason": reason,
            "legend": legend,
            "curves": curves,
            "points": points,
        })
    }
}

/// The bifurcation map of the mean-field map over one plane of a sweep
/// ([`bifurcation::BifurcationPlane`]): its lines over the plane's extent and the attractors at
/// each grid point.
#[derive(Clone, Debug, PartialEq)]
pub struct BifurcationMap {
    /// The plane's axes (two).
    pub axes: Vec<PlaneAxis>,
    /// The values of the other swept keys (a slice).
    pub fixed: Vec<(String, f64)>,
    /// The lines and the regions, or why the map is not available.
    pub map: std::result::Result<(bifurcation::Lines, bifurcation::RegionGrid), String>,
}

impl BifurcationMap {
    /// `{"x", "y", "fixed", "available", "reason", "lines", "regions"}`: `lines` as
    /// [`bifurcation::Lines::to_json`], `regions` as [`bifurcation::RegionGrid::to_json`].
    pub fn to_json(&self) -> Value {
        let fixed: serde_json::Map<String, Value> = self
            .fixed
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let (reason, lines, regions) = match &self.map {
            Ok((lines, regions)) => (Value::Null, lines.to_json(), regions.to_json()),
            Err(why) => (json!(why), Value::Null, Value::Null),
        };
        json!({
            "x": self.axes.first().map(|a| a.key.clone()),
            "y": self.axes.get(1).map(|a| a.key.clone()),
            "fixed": fixed,
            "available": self.map.is_ok(),
            "reason": reason,
            "lines": lines,
            "regions": regions,
        })
    }
}

/// Every prediction for one config or sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Where the config came from (a path, or the embedded default).
    pub source: String,
    /// The resolved config (for a sweep: its base config).
    pub config: Config,
    /// The swept axes, for a sweep.
    pub axes: Option<Vec<Axis>>,
    pub predictions: Vec<Prediction>,
    pub critical_lines: Vec<CriticalLine>,
    /// For a sweep with two or more axes: the bifurcation map of each plane.
    pub bifurcation_maps: Vec<BifurcationMap>,
}

impl Report {
    /// The predictions for a resolved config.
    pub fn for_config(config: Config, source: impl Into<String>) -> Report {
        Report {
            source: source.into(),
            predictions: predictions::predictions(&config),
            config,
            axes: None,
            critical_lines: Vec::new(),
            bifurcation_maps: Vec::new(),
        }
    }

    /// The predictions at a sweep's base config, and the critical line of each of its planes
    /// (one per combination of the values of the axes beyond the first two, as the heat maps;
    /// points along the axis for a one-axis sweep).
    pub fn for_sweep(spec: &SweepSpec, source: impl Into<String>) -> Report {
        let base = serde_json::to_value(&spec.base).expect("a config serialises");
        Report {
            source: source.into(),
            predictions: predictions::predictions(&spec.base),
            config: spec.base.clone(),
            axes: Some(spec.axes.clone()),
            critical_lines: sweep_lines(&base, &spec.axes),
            bifurcation_maps: bifurcation_maps(&base, &spec.axes),
        }
    }

    /// `{"source", "config", "sweep", "predictions", "critical_lines", "bifurcation_maps"}`:
    /// `sweep` is null for a config, else `{"axes": [{"key", "values", "spacing"}]}`.
    pub fn to_json(&self) -> Value {
        json!({
            "source": self.source,
            "config": self.config,
            "sweep": self.axes.as_ref().map(|axes| json!({"axes": axes})),
            "predictions": self.predictions.iter().map(Prediction::to_json).collect::<Vec<_>>(),
            "critical_lines": self.critical_lines.iter().map(CriticalLine::to_json).collect::<Vec<_>>(),
            "bifurcation_maps": self.bifurcation_maps.iter().map(BifurcationMap::to_json).collect::<Vec<_>>(),
        })
    }

    /// The report as text for people: an aligned table of the predictions (quantity, symbol,
    /// value, formula, applies to), notes, sources, and the critical lines.
    pub fn to_text(&self) -> String {
        text::render(self)
    }
}

/// The critical lines of a sweep's planes: `base` (a config tree) with each slice's values.
fn sweep_lines(base: &Value, axes: &[Axis]) -> Vec<CriticalLine> {
    match base.get("model").and_then(Value::as_str) {
        Some("bms") => return bms::sweep_lines(base, axes),
        Some("jiang") => return jiang::sweep_lines(base, axes),
        // β_c is per replica (its targets): the table's critical_inverse_temperature.
        Some("lotito") => return Vec::new(),
        // The success boundary is a per-point prediction (reservoir.predicted_success); the
        // analog family's mean-field plane does not describe a trained closed loop.
        Some("reservoir") => return Vec::new(),
        _ => {}
    }
    if axes.len() == 1 {
        let axis = &axes[0];
        let plane = MeanFieldPlane::new(base, &[]);
        let x = PlaneAxis::of(axis);
        let line = plane
            .applies(axis, axis)
            .map(|legend| (legend, LineShape::Points(plane.critical_points(&x))));
        return vec![CriticalLine {
            axes: vec![x],
            fixed: Vec::new(),
            line,
        }];
    }
    let (Some(x_axis), Some(y_axis)) = (axes.first(), axes.get(1)) else {
        return Vec::new();
    };
    plane::slices(&axes[2..])
        .into_iter()
        .map(|slice| {
            let fixed: Vec<(&str, f64)> = axes[2..]
                .iter()
                .zip(&slice)
                .map(|(a, &k)| (a.key.as_str(), a.values[k]))
                .collect();
            let plane = MeanFieldPlane::new(base, &fixed);
            let (x, y) = (PlaneAxis::of(x_axis), PlaneAxis::of(y_axis));
            let line = plane
                .applies(x_axis, y_axis)
                .map(|legend| (legend, LineShape::Curves(plane.critical_line(&x, &y))));
            CriticalLine {
                axes: vec![x, y],
                fixed: fixed.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                line,
            }
        })
        .collect()
}

/// The bifurcation maps of a sweep's planes (none for a one-axis sweep): for each slice, the
/// lines of [`bifurcation::BifurcationPlane`] (the same call `hebbnet plot` draws) and the
/// attractors at the grid points.
fn bifurcation_maps(base: &Value, axes: &[Axis]) -> Vec<BifurcationMap> {
    // The (m, q) map is the analog family's mean field.
    if base
        .get("model")
        .and_then(Value::as_str)
        .is_some_and(|m| m != "analog")
    {
        return Vec::new();
    }
    let (Some(x_axis), Some(y_axis)) = (axes.first(), axes.get(1)) else {
        return Vec::new();
    };
    plane::slices(&axes[2..])
        .into_iter()
        .map(|slice| {
            let fixed: Vec<(&str, f64)> = axes[2..]
                .iter()
                .zip(&slice)
                .map(|(a, &k)| (a.key.as_str(), a.values[k]))
                .collect();
            let plane = MeanFieldPlane::new(base, &fixed);
            let (x, y) = (PlaneAxis::of(x_axis), PlaneAxis::of(y_axis));
            let map = bifurcation::plane_map(&plane, x_axis, y_axis);
            BifurcationMap {
                axes: vec![x, y],
                fixed: fixed.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                map,
            }
        })
        .collect()
}

/// Whether `path` holds a sweep spec (a JSON object with `axes`, which no config has) rather
/// than a config. Unreadable or invalid files are not specs: loading them as a config reports
/// what is wrong.
pub fn is_sweep_spec(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .is_some_and(|tree| tree.get("axes").is_some())
}

/// The report for `path` (a config or a sweep spec; none: the embedded default) with
/// `overrides` (`--set`, applied to the config, or to a sweep's base config after its `set`).
/// A config or spec that does not load is the user's to fix ([`crate::Error::is_usage`]).
pub fn report(path: Option<&Path>, overrides: &[String]) -> Result<Report> {
    match path {
        Some(p) if is_sweep_spec(p) => {
            let spec = SweepSpec::load(p, overrides)?;
            Ok(Report::for_sweep(&spec, p.display().to_string()))
        }
        Some(p) => Ok(Report::for_config(
            Config::load(Some(p), overrides)?,
            p.display().to_string(),
        )),
        None => Ok(Report::for_config(
            Config::load(None, overrides)?,
            DEFAULT_CONFIG_NAME,
        )),
    }
}

#[cfg(test)]
mod tests;
