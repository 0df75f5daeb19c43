//! The figures of a reservoir sweep over g (`weights.std`): success, time constant and the
//! clamped open loop's Lyapunov exponent, one curve per value of the other axes.

use std::path::Path;

use super::{n, CURVES};
use crate::error::{Error, Result};
use crate::plot::data::{Sweep, Table};
use crate::plot::panels::{Grid, Marker, Panel, Series, Stroke};
use plotters::chart::SeriesLabelPosition;
use plotters::style::RGBColor;

use crate::plot::style::{GREY, VERMILLION};
use crate::plot::Outcome;
use crate::theory::plane::slices;

/// The swept key of g.
pub const GAIN: &str = "weights.std";

/// The symbol of a swept key in the science, for the curve labels.
pub fn symbol(key: &str) -> String {
    if let Some(k) = key.strip_prefix("reservoir.targets.") {
        if let Ok(i) = k.parse::<usize>() {
            return format!("A_{}", i + 1);
        }
    }
    match key {
        "weights.std" => "g",
        "network.threshold" => "θ",
        "network.neurons" => "N",
        "network.leak" => "dt",
        "input.std" => "σ_u",
        "reservoir.ridge" => "β",
        other => other,
    }
    .to_string()
}

/// One curve: the rows of `points.csv` at one value of every axis but g, sorted by g.
pub struct Curve {
    pub label: String,
    pub rows: Vec<usize>,
}

/// The curves of a sweep with a g axis (`None` without one).
pub fn curves(sweep: &Sweep) -> Result<Option<(Vec<f64>, Vec<Curve>)>> {
    let Some(gi) = sweep.axes.iter().position(|a| a.key == GAIN) else {
        return Ok(None);
    };
    let g = column(&sweep.points, GAIN)?;
    let index = sweep.grid_indices()?;
    let others: Vec<usize> = (0..sweep.axes.len()).filter(|&a| a != gi).collect();
    let other_axes: Vec<_> = others.iter().map(|&a| sweep.axes[a].clone()).collect();
    let mut out = Vec::new();
    for slice in slices(&other_axes) {
        let mut rows: Vec<usize> = (0..index.len())
            .filter(|&row| others.iter().zip(&slice).all(|(&a, &v)| index[row][a] == v))
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|&a, &b| g[a].total_cmp(&g[b]));
        let label = other_axes
            .iter()
            .zip(&slice)
            .map(|(a, &v)| format!("{} = {}", symbol(&a.key), n(a.values[v])))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Curve { label, rows });
    }
    Ok(Some((g, out)))
}

pub fn column(points: &Table, name: &str) -> Result<Vec<f64>> {
    points
        .f64_column(name)?
        .ok_or_else(|| Error::input(&points.path, format!("no `{name}` column")))
}

/// The values at the rows.
fn pick<T: Copy>(values: &[T], rows: &[usize]) -> Vec<T> {
    rows.iter().map(|&r| values[r]).collect()
}

fn zip(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().copied().zip(y.iter().copied()).collect()
}

/// One curve's measured points at `x` with their error bars, labelled `single` when the sweep
/// has one curve and with the curve's own label otherwise.
#[allow(clippy::too_many_arguments)]
fn measured(
    curves: &[Curve],
    curve: &Curve,
    single: &str,
    x: &[f64],
    y: &[f64],
    bars: &[(f64, f64)],
    marker: Marker,
    color: RGBColor,
) -> Series {
    let label = if curves.len() == 1 {
        single.to_string()
    } else {
        curve.label.clone()
    };
    Series::error_bars(
        zip(x, &pick(y, &curve.rows)),
        pick(bars, &curve.rows),
        marker,
        color,
    )
    .label(label)
}

/// The x offset of curve `c` of `count`: a fifth of the smallest spacing of x, shared out.
pub fn dodge(x: &[f64], c: usize, count: usize) -> f64 {
    if count < 2 {
        return 0.0;
    }
    let spacing = x
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !spacing.is_finite() {
        return 0.0;
    }
    let step = 0.2 * spacing / (count - 1) as f64;
    (c as f64 - 0.5 * (count - 1) as f64) * step
}

/// A step line through (x_i, y_i): each value held from the midpoint before x_i to the
/// midpoint after it.
pub fn steps(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(2 * x.len());
    for i in 0..x.len() {
        let left = if i == 0 {
            x[0]
        } else {
            0.5 * (x[i - 1] + x[i])
        };
        let right = if i + 1 == x.len() {
            x[i]
        } else {
            0.5 * (x[i] + x[i + 1])
        };
        out.push((left, y[i]));
        out.push((right, y[i]));
    }
    out
}

/// The first x where y crosses `level`, by linear interpolation between neighbours (x sorted).
pub fn crossing(x: &[f64], y: &[f64], level: f64) -> Option<f64> {
    (1..x.len()).find_map(|i| {
        let (y0, y1) = (y[i - 1] - level, y[i] - level);
        if !(y0.is_finite() && y1.is_finite()) || y0 * y1 > 0.0 || y0 == y1 {
            return None;
        }
        Some(x[i - 1] + (x[i] - x[i - 1]) * y0 / (y0 - y1))
    })
}

/// Means per point and their (low, high) bars.
type Bars = (Vec<f64>, Vec<(f64, f64)>);

/// A column's mean with its bars: `(mean, (low, high))` from `_ci95_*`, or from `± _se` when
/// `se`.
fn with_bars(points: &Table, name: &str, se: bool) -> Result<Option<Bars>> {
    let Some(m) = points.f64_column(&format!("{name}_mean"))? else {
        return Ok(None);
    };
    let bars = if se {
        let e = column(points, &format!("{name}_se"))?;
        m.iter().zip(&e).map(|(m, e)| (m - e, m + e)).collect()
    } else {
        let lo = column(points, &format!("{name}_ci95_low"))?;
        let hi = column(points, &format!("{name}_ci95_high"))?;
        lo.into_iter().zip(hi).collect()
    };
    Ok(Some((m, bars)))
}

/// The colour of a curve's theory: the curve's, or vermillion beside a single curve.
fn theory(curves: &[Curve], color: RGBColor) -> RGBColor {
    if curves.len() == 1 {
        VERMILLION
    } else {
        color
    }
}

/// `success`, `time_constant` and `lyapunov` of a sweep with a `weights.std` axis.
pub fn gain_figures(sweep: &Sweep, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let Some((g, curves)) = curves(sweep)? else {
        let why = || Outcome::Skipped(format!("the sweep has no `{GAIN}` (g) axis"));
        return Ok(vec![
            ("success".into(), why()),
            ("time_constant".into(), why()),
            ("lyapunov".into(), why()),
        ]);
    };
    let setting = setting(sweep)?;
    Ok(vec![
        (
            "success".into(),
            success(sweep, &g, &curves, &setting, out)?,
        ),
        (
            "time_constant".into(),
            time_constant(sweep, &curves, &setting, out)?,
        ),
        (
            "lyapunov".into(),
            lyapunov(sweep, &g, &curves, &setting, out)?,
        ),
    ])
}

/// The base config in words, without g.
fn setting(sweep: &Sweep) -> Result<String> {
    let c = sweep.point_config(&[])?;
    let swept = |key: &str| sweep.axes.iter().any(|a| a.key == key);
    let mut parts = vec![super::phi_name(c.reservoir_nonlinearity())];
    if swept("network.threshold") {
        parts[0] = "φ = ReLU".into();
    }
    if !swept("network.neurons") {
        parts.push(format!("N = {}", c.network.neurons));
    }
    if !sweep
        .axes
        .iter()
        .any(|a| a.key.starts_with("reservoir.targets"))
    {
        let targets: Vec<String> = c.reservoir.targets.iter().map(|&a| n(a)).collect();
        parts.push(format!("A = ({})", targets.join(", ")));
    }
    if let Some(r) = sweep.replicas {
        parts.push(format!("{r} replicas per point"));
    }
    Ok(parts.join(", "))
}

/// **`success`**: eig-stable and simulation fractions against g, the MFT as a step line.
fn success(
    sweep: &Sweep,
    g: &[f64],
    curves: &[Curve],
    setting: &str,
    out: &Path,
) -> Result<Outcome> {
    let p = &sweep.points;
    let predicted = p.f64_column("predicted_success_mean")?;
    let mut panels = Vec::new();
    for (name, title, marker) in [
        (
            "eig_stable",
            "eig-stable: every attractor's max Re λ(M_k) < 0",
            Marker::Disc(5),
        ),
        (
            "sim_success",
            "simulation: every kick returns within tolerance",
            Marker::Square(5),
        ),
    ] {
        let Some((m, bars)) = with_bars(p, name, true)? else {
            continue;
        };
        if !m.iter().any(|v| v.is_finite()) {
            continue;
        }
        let mut panel = Panel::new(title, "g (weights.std)", "fraction of replicas");
        // Room above 1 for the legend.
        panel.y_range = Some((-0.05, 1.45));
        panel.legend = Some(SeriesLabelPosition::UpperRight);
        let mut theory_lines = Vec::new();
        for (c, curve) in curves.iter().enumerate() {
            let color = CURVES[c % CURVES.len()];
            let x = pick(g, &curve.rows);
            // Curves side by side, so that equal fractions do not hide each other.
            let shift = dodge(&x, c, curves.len());
            let shifted: Vec<f64> = x.iter().map(|v| v + shift).collect();
            panel.push(measured(
                curves,
                curve,
                "measured (± binomial s.e.)",
                &shifted,
                &m,
                &bars,
                marker,
                color,
            ));
            if let Some(pr) = &predicted {
                let line = steps(&x, &pick(pr, &curve.rows));
                let mut s = Series::line(line, Stroke::Dashed(3), theory(curves, color));
                if c == 0 {
                    s = s.label("MFT: predicted success (dashed step)");
                }
                theory_lines.push(s);
            }
        }
        panel.series.extend(theory_lines);
        panels.push(panel);
    }
    if panels.is_empty() {
        return Ok(Outcome::Skipped(
            "points.csv has no finite eig_stable_mean or sim_success_mean".into(),
        ));
    }
    let cols = panels.len();
    let fig = Grid::with_cells(
        format!("Training success against g ({setting})"),
        cols,
        panels,
        (800, 760),
    );
    fig.render(out, "success")
}

/// **`time_constant`**: τ against 1 − ρ, measured and MFT.
fn time_constant(sweep: &Sweep, curves: &[Curve], setting: &str, out: &Path) -> Result<Outcome> {
    let p = &sweep.points;
    let Some((tau, bars)) = with_bars(p, "time_constant", false)? else {
        return Ok(Outcome::Skipped(
            "points.csv has no time_constant_mean".into(),
        ));
    };
    if !tau.iter().any(|v| v.is_finite() && *v > 0.0) {
        return Ok(Outcome::Skipped(
            "points.csv has no positive finite time_constant_mean".into(),
        ));
    }
    let rho = column(p, "bulk_radius_mean")?;
    let p_rho = p.f64_column("predicted_bulk_radius_mean")?;
    let p_tau = p.f64_column("predicted_time_constant_mean")?;
    let distance = |r: &[f64]| r.iter().map(|r| 1.0 - r).collect::<Vec<f64>>();
    let mut panel = Panel::new(
        "τ of H₁(s) ≈ H₁(0)/(1 + τs) at the first attractor (replica mean, 95% CI)",
        "1 − ρ  (ρ = g √⟨φ′(x)²⟩ at the attractor; 0: the edge of chaos)",
        "open-loop time constant τ",
    );
    panel.log_y = true;
    let mut theory_lines = Vec::new();
    for (c, curve) in curves.iter().enumerate() {
        let color = CURVES[c % CURVES.len()];
        let x = distance(&pick(&rho, &curve.rows));
        panel.push(measured(
            curves,
            curve,
            "measured: mean over replicas, 95% CI",
            &x,
            &tau,
            &bars,
            Marker::Disc(5),
            color,
        ));
        if let (Some(pr), Some(pt)) = (&p_rho, &p_tau) {
            let mut line = zip(&distance(&pick(pr, &curve.rows)), &pick(pt, &curve.rows));
            line.retain(|q| q.0.is_finite() && q.1.is_finite());
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            if !line.is_empty() {
                let mut s = Series::line(line, Stroke::Dashed(3), theory(curves, color));
                if c == 0 {
                    s = s.label("MFT: τ = 1/(1 − g²⟨φ′² + φφ″⟩) against 1 − ρ_MFT");
                }
                theory_lines.push(s);
            }
        }
    }
    panel.series.extend(theory_lines);
    panel.push(Series::vline(0.0, GREY).label("ρ = 1"));
    let fig = Grid::single(
        format!("Time constant against the distance to the edge of chaos ({setting})"),
        panel,
    );
    fig.render(out, "time_constant")
}

/// **`lyapunov`**: the clamped open loop's largest exponent against g, with where the MFT's ρ
/// crosses 1.
fn lyapunov(
    sweep: &Sweep,
    g: &[f64],
    curves: &[Curve],
    setting: &str,
    out: &Path,
) -> Result<Outcome> {
    let p = &sweep.points;
    let Some((lambda, bars)) = with_bars(p, "lyapunov", false)? else {
        return Ok(Outcome::Skipped("points.csv has no lyapunov_mean".into()));
    };
    if !lambda.iter().any(|v| v.is_finite()) {
        return Ok(Outcome::Skipped(
            "no finite lyapunov_mean (set reservoir.open_loop.lyapunov_time)".into(),
        ));
    }
    let p_rho = p.f64_column("predicted_bulk_radius_mean")?;
    let mut panel = Panel::new(
        "largest Lyapunov exponent of the open loop, z clamped at A_k (max over k)",
        "g (weights.std)",
        "λ₁ (per unit time)",
    );
    let mut edges = Vec::new();
    for (c, curve) in curves.iter().enumerate() {
        let color = CURVES[c % CURVES.len()];
        let x = pick(g, &curve.rows);
        panel.push(measured(
            curves,
            curve,
            "mean over replicas, 95% CI",
            &x,
            &lambda,
            &bars,
            Marker::Disc(5),
            color,
        ));
        if let Some(edge) = p_rho
            .as_ref()
            .and_then(|r| crossing(&x, &pick(r, &curve.rows), 1.0))
        {
            let at = if curves.len() == 1 {
                String::new()
            } else {
                format!(" ({})", curve.label)
            };
            edges.push(
                Series::vline(edge, theory(curves, color))
                    .label(format!("MFT ρ = 1 at g = {}{at}", n(edge))),
            );
        }
    }
    panel.series.extend(edges);
    panel.push(Series::hline(0.0, GREY).label("λ₁ = 0"));
    let fig = Grid::single(
        format!("Chaos suppressed by the clamped input ({setting})"),
        panel,
    );
    fig.render(out, "lyapunov")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_hold_each_value_to_the_midpoints() {
        let s = steps(&[0.0, 1.0, 3.0], &[1.0, 0.0, 0.0]);
        assert_eq!(
            s,
            vec![
                (0.0, 1.0),
                (0.5, 1.0),
                (0.5, 0.0),
                (2.0, 0.0),
                (2.0, 0.0),
                (3.0, 0.0)
            ]
        );
    }

    #[test]
    fn the_crossing_is_interpolated() {
        let x = [1.0, 2.0, 3.0];
        assert_eq!(crossing(&x, &[0.5, 0.9, 1.3], 1.0), Some(2.25));
        assert_eq!(crossing(&x, &[0.5, f64::NAN, 1.3], 1.0), None);
        assert_eq!(crossing(&x, &[0.5, 0.6, 0.7], 1.0), None);
    }

    #[test]
    fn symbols_of_keys() {
        assert_eq!(symbol("reservoir.targets.1"), "A_2");
        assert_eq!(symbol("network.threshold"), "θ");
        assert_eq!(symbol("other.key"), "other.key");
    }
}
