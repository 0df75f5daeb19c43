//! The critical line of a Jiang sweep's planes: the instability of h = 0,
//! γ_c(α, c, d, b) where the right edge x_R of J's spectrum reaches 1 (models/jiang.md §6),
//! drawn by `hebbnet theory SPEC` and on the heat maps of `hebbnet plot`.

use serde_json::Value;

use super::critical_heteroassociation;
use crate::config::Config;
use crate::experiment::sweep::Axis;
use crate::theory::plane::{slices, PlaneAxis};
use crate::theory::{CriticalLine, LineShape};

/// Samples of α along the plane's load axis.
const SAMPLES: usize = 80;

/// One line per slice of the axes beyond the first two: the curve γ_c(α) when the plane is
/// (`jiang.load`, `jiang.heteroassociation`) in either order; along a single
/// `jiang.heteroassociation` axis, the point γ_c; otherwise the reason there is none.
pub fn sweep_lines(base: &Value, axes: &[Axis]) -> Vec<CriticalLine> {
    let Ok(config) = Config::from_value(base.clone()) else {
        return Vec::new();
    };
    let j = &config.jiang;
    if let [axis] = axes {
        let line = if axis.key == "jiang.heteroassociation" {
            critical_heteroassociation(j.load, j.autoassociation, j.depth, j.backward)
                .map(|g| {
                    (
                        "γ_c: x_R(J) = 1, the instability of h = 0".to_string(),
                        LineShape::Points(vec![g]),
                    )
                })
                .ok_or_else(|| "h = 0 is unstable at every γ (c(1 + √α)² ≥ 1)".to_string())
        } else {
            Err(format!(
                "the Jiang theory draws γ_c along jiang.heteroassociation, not {}",
                axis.key
            ))
        };
        return vec![CriticalLine {
            axes: vec![PlaneAxis::of(axis)],
            fixed: Vec::new(),
            line,
        }];
    }
    let (Some(x_axis), Some(y_axis)) = (axes.first(), axes.get(1)) else {
        return Vec::new();
    };
    slices(&axes[2..])
        .into_iter()
        .map(|slice| {
            let fixed: Vec<(String, f64)> = axes[2..]
                .iter()
                .zip(&slice)
                .map(|(a, &k)| (a.key.clone(), a.values[k]))
                .collect();
            let value = |key: &str, default: f64| {
                fixed
                    .iter()
                    .find(|(k, _)| k == key)
                    .map_or(default, |(_, v)| *v)
            };
            let (c, d, b) = (
                value("jiang.autoassociation", j.autoassociation),
                value("jiang.depth", j.depth as f64).round().max(1.0) as usize,
                value("jiang.backward", j.backward),
            );
            let (x, y) = (PlaneAxis::of(x_axis), PlaneAxis::of(y_axis));
            let keys = (x_axis.key.as_str(), y_axis.key.as_str());
            let line = match keys {
                ("jiang.load", "jiang.heteroassociation")
                | ("jiang.heteroassociation", "jiang.load") => {
                    let swapped = keys.0 == "jiang.heteroassociation";
                    let range = if swapped { &y.range } else { &x.range };
                    let log = if swapped { y.log } else { x.log };
                    let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
                    for k in 0..SAMPLES {
                        let s = k as f64 / (SAMPLES - 1) as f64;
                        let alpha = if log {
                            (range.start.ln() + s * (range.end.ln() - range.start.ln())).exp()
                        } else {
                            range.start + s * (range.end - range.start)
                        };
                        if alpha.is_nan() || alpha <= 0.0 {
                            continue;
                        }
                        match critical_heteroassociation(alpha, c, d, b) {
                            Some(g) => curves.last_mut().expect("one curve").push(if swapped {
                                (g, alpha)
                            } else {
                                (alpha, g)
                            }),
                            None => {
                                if curves.last().is_some_and(|c| !c.is_empty()) {
                                    curves.push(Vec::new());
                                }
                            }
                        }
                    }
                    curves.retain(|c| c.len() > 1);
                    Ok((
                        format!("γ_c(α) at c = {c}, d = {d}: x_R(J) = 1 (instability of h = 0)"),
                        LineShape::Curves(curves),
                    ))
                }
                _ => Err(format!(
                    "the Jiang theory draws γ_c over (jiang.load, jiang.heteroassociation), not \
                     ({}, {})",
                    keys.0, keys.1
                )),
            };
            CriticalLine {
                axes: vec![x, y],
                fixed,
                line,
            }
        })
        .collect()
}
