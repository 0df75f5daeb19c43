//! The mean-field edge of chaos over the parameter plane of a sweep: the one computation behind
//! the critical line of `hebbnet theory SPEC` and the one the phase-diagram heat map of
//! `hebbnet plot` draws (and writes to `critical_line*.csv`).
//!
//! A plane is a sweep's base config with the values of the axes beyond the first two fixed (a
//! slice); its extent along each axis is the one the heat map covers: from the outer edge of the
//! first cell to that of the last ([`PlaneAxis::of`]). Along the plane, the indicator is
//! `σ² ∫Dz f′(M + √V z)²` of [`SiriMeanField`] at each point's config, and the line is traced by
//! [`critical_curve`] at [`LINE_COLUMNS`] values of x.

use std::ops::Range;

use serde_json::Value;

use super::mean_field::{critical_curve, SiriMeanField};
use crate::config::{apply_override, Config, VectorSource};
use crate::error::Result;
use crate::experiment::sweep::{Axis, Spacing};
use crate::model::analog::{Activation, Form};

/// Values of x at which the critical line is traced (evenly spaced, in log10 on a log axis).
pub const LINE_COLUMNS: usize = 64;

/// A map between an axis value and its uniform coordinate.
pub type Map = fn(f64) -> f64;

/// The maps to and from the coordinate in which an axis is uniform: `log10` and `10^t` on a
/// log axis, the identity otherwise.
pub fn scale_maps(log: bool) -> (Map, Map) {
    if log {
        (f64::log10, |t| 10f64.powf(t))
    } else {
        (|v| v, |t| t)
    }
}

/// The cells of a sweep axis's values, as a heat map draws them: `(order, edges)`, where
/// `order` lists the value indices in increasing order of value and `edges` (one more than the
/// values, in the uniform coordinate of [`scale_maps`]) bound the cell of the `k`-th smallest
/// value by `edges[k]` and `edges[k + 1]`: between the midpoints to its neighbours, the outer
/// cells as wide again on their outer side; a single value gets ±0.1 (a tenth of a decade on a
/// log axis) or ±max(10% of it, 0.5).
pub fn cell_edges(values: &[f64], log: bool) -> (Vec<usize>, Vec<f64>) {
    let (to, _) = scale_maps(log);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let t: Vec<f64> = order.iter().map(|&k| to(values[k])).collect();
    let n = t.len();
    let mut edges = Vec::with_capacity(n + 1);
    if n == 1 {
        let half = if log {
            0.1
        } else {
            (t[0].abs() * 0.1).max(0.5)
        };
        edges.extend([t[0] - half, t[0] + half]);
    } else if n > 1 {
        edges.push(t[0] - (t[1] - t[0]) / 2.0);
        edges.extend(t.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        edges.push(t[n - 1] + (t[n - 1] - t[n - 2]) / 2.0);
    }
    (order, edges)
}

/// One axis of a plane: its config key, its scale and the range of values it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaneAxis {
    pub key: String,
    pub log: bool,
    /// In axis values, from low to high.
    pub range: Range<f64>,
}

impl PlaneAxis {
    /// The axis of a sweep as its heat map covers it: log where the values were given by
    /// `logspace` or `geomspace`, from the first to the last edge of [`cell_edges`].
    pub fn of(axis: &Axis) -> PlaneAxis {
        let log = axis.spacing == Spacing::Log;
        let (_, from) = scale_maps(log);
        let (_, edges) = cell_edges(&axis.values, log);
        let range = match (edges.first(), edges.last()) {
            (Some(&a), Some(&b)) => from(a)..from(b),
            _ => f64::NAN..f64::NAN,
        };
        PlaneAxis {
            key: axis.key.clone(),
            log,
            range,
        }
    }

    /// `n` points spread evenly over the range, in the axis' own scale.
    pub fn spread(&self, n: usize) -> Vec<f64> {
        let (to, from) = scale_maps(self.log);
        let (a, b) = (to(self.range.start), to(self.range.end));
        (0..n)
            .map(|k| from(a + (b - a) * k as f64 / (n - 1).max(1) as f64))
            .collect()
    }
}

/// The mean-field theory over a plane: a base config tree with the values of the other axes (a
/// slice) set.
pub struct MeanFieldPlane {
    /// The slice's config tree, or why it could not be built.
    tree: std::result::Result<Value, String>,
}

impl MeanFieldPlane {
    /// The plane of `base_config` (a config tree, as in a sweep's `sweep.json`) with `fixed`
    /// (key, value) set.
    pub fn new(base_config: &Value, fixed: &[(&str, f64)]) -> Self {
        let mut tree = base_config.clone();
        let built = fixed
            .iter()
            .try_for_each(|(key, v)| apply_override(&mut tree, &format!("{key}={v}")))
            .map(|_| tree)
            .map_err(|e| format!("base_config does not take the slice's values: {e}"));
        MeanFieldPlane { tree: built }
    }

    /// The validated config at `values` (key, value) in this plane.
    fn config(tree: &Value, values: &[(&str, f64)]) -> Result<Config> {
        let mut tree = tree.clone();
        for (key, v) in values {
            apply_override(&mut tree, &format!("{key}={v}"))?;
        }
        let config = Config::from_value(tree)?;
        config.validate()?;
        Ok(config)
    }

    /// `σ² ∫Dz f′(M + √V z)²` at `values`; NaN where the config or the solve fails, or the
    /// theory does not apply.
    pub fn indicator(&self, values: &[(&str, f64)]) -> f64 {
        let Ok(base) = &self.tree else {
            return f64::NAN;
        };
        Self::config(base, values)
            .ok()
            .and_then(|c| SiriMeanField::from_config(&c))
            .map_or(f64::NAN, |p| p.chaos_indicator())
    }

    /// The mean-field parameters at `values`; None where the config or the theory fails there.
    pub fn params(&self, values: &[(&str, f64)]) -> Option<SiriMeanField> {
        let base = self.tree.as_ref().ok()?;
        Self::config(base, values)
            .ok()
            .and_then(|c| SiriMeanField::from_config(&c))
    }

    /// Whether the theory describes every grid point of the plane (over `x` × `y`; pass the
    /// same axis twice for a line): the legend of the critical line when it does, why not when
    /// it does not.
    pub fn applies(&self, x: &Axis, y: &Axis) -> std::result::Result<String, String> {
        let tree = self.tree.as_ref().map_err(Clone::clone)?;
        let mut frozen = true;
        for &xv in &x.values {
            for &yv in &y.values {
                let mut at = vec![(x.key.as_str(), xv)];
                if y.key != x.key {
                    at.push((y.key.as_str(), yv));
                }
                let config = Self::config(tree, &at)
                    .map_err(|e| format!("the config of a point does not parse: {e}"))?;
                if SiriMeanField::from_config(&config).is_none() {
                    return Err(format!(
                        "the mean-field theory (rate form, siri, a = 1, drawn weights and \
                         input) does not apply: {}",
                        not_covered(&config)
                    ));
                }
                frozen &= !config.learning.enabled || config.schedule.epochs == 1;
            }
        }
        Ok(if frozen {
            "mean field: σ²⟨f′²⟩ = 1".to_string()
        } else {
            "mean field of W⁽⁰⁾ (before learning): σ²⟨f′²⟩ = 1".to_string()
        })
    }

    /// The curves `σ² ⟨f′²⟩ = 1` over the ranges of `x` and `y`, in axis values: traced by
    /// [`critical_curve`] at [`LINE_COLUMNS`] values of x spread over its range (in log10 on a
    /// log axis, and likewise in y).
    pub fn critical_line(&self, x: &PlaneAxis, y: &PlaneAxis) -> Vec<Vec<(f64, f64)>> {
        let (x_to, x_from) = scale_maps(x.log);
        let (y_to, y_from) = scale_maps(y.log);
        let xs: Vec<f64> = x.spread(LINE_COLUMNS).into_iter().map(x_to).collect();
        let (y_lo, y_hi) = (y_to(y.range.start), y_to(y.range.end));
        critical_curve(&xs, y_lo, y_hi, |u, v| {
            self.indicator(&[(&x.key, x_from(u)), (&y.key, y_from(v))])
        })
        .into_iter()
        .map(|c| c.into_iter().map(|(u, v)| (x_from(u), y_from(v))).collect())
        .collect()
    }

    /// The values of `x` in its range where `σ² ⟨f′²⟩ = 1` (the plane of a one-axis sweep): the
    /// crossings of one [`critical_curve`] column, in increasing order.
    pub fn critical_points(&self, x: &PlaneAxis) -> Vec<f64> {
        let (x_to, x_from) = scale_maps(x.log);
        let (lo, hi) = (x_to(x.range.start), x_to(x.range.end));
        let mut points: Vec<f64> = critical_curve(&[0.0], lo, hi, |_, u| {
            self.indicator(&[(&x.key, x_from(u))])
        })
        .into_iter()
        .flatten()
        .map(|(_, u)| x_from(u))
        .collect();
        points.sort_by(f64::total_cmp);
        points
    }
}

/// Every combination of value indices of `axes` (one empty combination when there are none):
/// the slices of a sweep with more than two axes, one plane each.
pub fn slices(axes: &[Axis]) -> Vec<Vec<usize>> {
    axes.iter().fold(vec![Vec::new()], |acc, axis| {
        acc.into_iter()
            .flat_map(|prefix| {
                (0..axis.values.len()).map(move |k| {
                    let mut next = prefix.clone();
                    next.push(k);
                    next
                })
            })
            .collect()
    })
}

/// Why [`SiriMeanField::from_config`] refuses `config`, in words.
pub fn not_covered(config: &Config) -> String {
    let n = &config.network;
    let mut why = Vec::new();
    if n.form != Form::Rate {
        why.push(format!("network.form is {}", n.form.name()));
    }
    if n.activation != Activation::Siri {
        why.push(format!("network.activation is {}", n.activation.name()));
    }
    if n.leak != 1.0 {
        why.push(format!("network.leak = {}", n.leak));
    }
    if config.weights.file.is_some() {
        why.push("the weights are loaded from a file".into());
    }
    if matches!(config.input_source(), Ok(VectorSource::File(_))) {
        why.push("the input is loaded from a file".into());
    }
    if why.is_empty() {
        why.push("a parameter is not finite".into());
    }
    why.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(key: &str, values: &[f64], spacing: Spacing) -> Axis {
        Axis {
            key: key.into(),
            values: values.to_vec(),
            spacing,
        }
    }

    #[test]
    fn plane_axes_cover_the_cells() {
        let p = PlaneAxis::of(&axis("network.gain", &[3.0, 1.0, 2.0], Spacing::List));
        assert_eq!(p.range, 0.5..3.5);
        assert!(!p.log);
        let p = PlaneAxis::of(&axis("weights.std", &[0.1, 1.0, 10.0], Spacing::Log));
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b;
        assert!(
            p.log && close(p.range.start, 10f64.powf(-1.5)) && close(p.range.end, 10f64.powf(1.5))
        );
        let spread = p.spread(4);
        assert!(close(spread[1], 10f64.powf(-0.5)));
        assert_eq!(
            PlaneAxis::of(&axis("x", &[4.0], Spacing::Linear)).range,
            3.5..4.5
        );
    }

    #[test]
    fn slices_are_every_combination() {
        let axes = [
            axis("a", &[1.0, 2.0], Spacing::Linear),
            axis("b", &[1.0, 2.0, 3.0], Spacing::Linear),
        ];
        let s = slices(&axes);
        assert_eq!(s.len(), 6);
        assert_eq!(s[0], vec![0, 0]);
        assert_eq!(s[5], vec![1, 2]);
        assert_eq!(slices(&[]), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn critical_points_of_a_one_axis_plane() {
        // Zero input and mean weight: σ_c g = K ≈ 5.0746 (see the mean-field tests), so at
        // g = 10 the line crosses σ ≈ 0.507.
        let config = Config::default();
        assert_eq!(
            config.input_source().unwrap(),
            VectorSource::Gaussian {
                mean: 0.0,
                std: 0.0
            }
        );
        let base = serde_json::to_value(&config).expect("a config serialises");
        let plane = MeanFieldPlane::new(&base, &[]);
        let sigma = axis("weights.std", &[0.1, 0.3, 1.0, 3.0], Spacing::Log);
        assert!(plane.applies(&sigma, &sigma).is_ok());
        let points = plane.critical_points(&PlaneAxis::of(&sigma));
        assert_eq!(points.len(), 1, "{points:?}");
        assert!((points[0] - 0.50746).abs() < 1e-3, "{points:?}");
        let chi = plane.indicator(&[("weights.std", points[0])]);
        assert!((chi - 1.0).abs() < 1e-5, "{chi}");
    }
}
