//! Figures over learning epochs: the largest Lyapunov exponent (`lyapunov`) and the spectral
//! radii that explain its decay (`contraction`).

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::data::Run;
use super::style::{self, font, Chart, DrawResult, Figure, BLUE, GREY, VERMILLION};
use super::Outcome;
use crate::error::Result;

/// A replica-mean curve over epochs with its 95% confidence band (NaN where undefined).
struct MeanCurve {
    label: String,
    color: RGBColor,
    epoch: Vec<f64>,
    mean: Vec<f64>,
    low: Vec<f64>,
    high: Vec<f64>,
}

impl MeanCurve {
    /// `{name}_mean`, `{name}_ci95_low`, `{name}_ci95_high` of `summary.csv`; `None` when the
    /// mean is absent or NaN at every epoch.
    fn from_summary(run: &Run, name: &str, label: &str, color: RGBColor) -> Result<Option<Self>> {
        let s = &run.summary;
        let Some(mean) = s.f64_column(&format!("{name}_mean"))? else {
            return Ok(None);
        };
        if mean.iter().all(|v| !v.is_finite()) {
            return Ok(None);
        }
        let nan = || vec![f64::NAN; mean.len()];
        let low = s
            .f64_column(&format!("{name}_ci95_low"))?
            .unwrap_or_else(nan);
        let high = s
            .f64_column(&format!("{name}_ci95_high"))?
            .unwrap_or_else(nan);
        let epoch = s.usize_column("epoch")?.iter().map(|&e| e as f64).collect();
        Ok(Some(MeanCurve {
            label: label.to_string(),
            color,
            epoch,
            mean,
            low,
            high,
        }))
    }

    /// The mean and the band edges as lines (for placing the legend).
    fn lines(&self) -> Vec<Vec<(f64, f64)>> {
        [&self.mean, &self.low, &self.high]
            .into_iter()
            .map(|v| self.epoch.iter().copied().zip(v.iter().copied()).collect())
            .collect()
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.mean.iter().chain(&self.low).chain(&self.high).copied()
    }

    /// The band as closed polygons over the runs of epochs where both ends are finite.
    fn band(&self) -> Vec<Vec<(f64, f64)>> {
        let lows: Vec<(f64, f64)> = self
            .epoch
            .iter()
            .zip(self.low.iter().zip(&self.high))
            .map(|(&e, (&l, &h))| (e, if h.is_finite() { l } else { f64::NAN }))
            .collect();
        style::segments(&lows)
            .into_iter()
            .filter(|seg| seg.len() > 1)
            .map(|seg| {
                let mut poly = seg.clone();
                for &(e, _) in seg.iter().rev() {
                    let k = self.epoch.iter().position(|&x| x == e).unwrap_or(0);
                    poly.push((e, self.high[k]));
                }
                poly
            })
            .collect()
    }

    fn has_band(&self) -> bool {
        !self.band().is_empty()
    }

    /// The band, then the mean line with markers; no legend entries (see [`legend`]).
    fn draw<'a, DB: DrawingBackend + 'a>(&self, chart: &mut Chart<'a, DB>) -> DrawResult {
        for poly in self.band() {
            chart.draw_series(std::iter::once(Polygon::new(
                poly,
                self.color.mix(BAND_ALPHA).filled(),
            )))?;
        }
        let points: Vec<(f64, f64)> = self.epoch.iter().copied().zip(self.mean.clone()).collect();
        for seg in style::segments(&points) {
            let marks = seg.clone();
            chart.draw_series(LineSeries::new(seg, self.color.stroke_width(3)))?;
            chart.draw_series(
                marks
                    .into_iter()
                    .map(|p| Circle::new(p, 4, self.color.filled())),
            )?;
        }
        Ok(())
    }
}

const BAND_ALPHA: f64 = 0.22;

/// A legend entry only (an empty series with a label), so the legend order is independent of
/// the drawing order.
enum Key {
    Line(RGBColor, u32),
    Dashed,
    Band(RGBColor),
    Thin,
    Cross(RGBColor),
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    label: &str,
    key: Key,
) -> DrawResult {
    let series = chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label(label);
    match key {
        Key::Line(color, width) => series.legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(width))
        }),
        Key::Dashed => series
            .legend(|(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 7, 4, dash_style())),
        Key::Band(color) => series.legend(move |(x, y)| {
            Rectangle::new(
                [(x, y - 7), (x + 24, y + 7)],
                color.mix(BAND_ALPHA).filled(),
            )
        }),
        Key::Thin => {
            series.legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], thin_style()))
        }
        Key::Cross(color) => {
            series.legend(move |(x, y)| Cross::new((x + 12, y), 7, color.stroke_width(3)))
        }
    };
    Ok(())
}

fn dash_style() -> ShapeStyle {
    BLACK.mix(0.75).stroke_width(2)
}

fn thin_style() -> ShapeStyle {
    GREY.mix(0.35).stroke_width(1)
}

/// Dashed horizontal reference line `y = level` across `x`.
fn reference_line<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    x: std::ops::Range<f64>,
    level: f64,
) -> DrawResult {
    chart.draw_series(DashedLineSeries::new(
        vec![(x.start, level), (x.end, level)],
        12,
        8,
        dash_style(),
    ))?;
    Ok(())
}

fn draw_mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    epochs: &[f64],
    y_desc: &str,
) -> DrawResult {
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels(style::epoch_ticks(epochs))
        .x_label_formatter(&style::epoch_tick)
        .y_labels(8)
        .y_label_formatter(&style::number_tick)
        .axis_desc_style(font(style::AXIS_SIZE))
        .label_style(font(style::TICK_SIZE))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()?;
    Ok(())
}

/// The legend, in the corner where it hides the fewest of `lines`.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    lines: &[Vec<(f64, f64)>],
) -> DrawResult {
    let (x, y) = (chart.x_range(), chart.y_range());
    let points = lines
        .iter()
        .flat_map(|line| style::densify(line, 12))
        .map(|(a, b)| (style::fraction(a, &x), style::fraction(b, &y)));
    chart
        .configure_series_labels()
        .position(style::legend_corner(points, 0.32, 0.24))
        .margin(12)
        .legend_area_size(34)
        .label_font(font(style::LEGEND_SIZE))
        .background_style(WHITE.mix(0.88))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

fn run_size(run: &Run) -> String {
    let replicas = run.replicas().unwrap_or(0);
    let n = run
        .config_value(&["network", "neurons"])
        .and_then(serde_json::Value::as_u64)
        .map(|n| format!(", N = {n}"))
        .unwrap_or_default();
    format!(
        "{replicas} replica{}{n}",
        if replicas == 1 { "" } else { "s" }
    )
}

/// **`lyapunov`**: the largest Lyapunov exponent λ₁ against the learning epoch. The thick line
/// is the replica mean with its 95% confidence band (summary.csv; no band with one replica),
/// thin light lines are the individual replicas (epochs.csv), the dashed line is λ₁ = 0, the
/// border between chaos (above) and stable dynamics (below). Where `hebbnet theory` has the
/// mean-field λ_max of the run's initial weights (`mean_field.largest_lyapunov`, N → ∞), a
/// cross marks it at the first epoch: the theory beside the simulation.
pub fn lyapunov(run: &Run, out: &Path) -> Result<Outcome> {
    let Some(mut curve) = MeanCurve::from_summary(run, "lyapunov_max", "replica mean", BLUE)?
    else {
        return Ok(Outcome::Skipped(
            "no largest Lyapunov exponent in summary.csv (analysis.lyapunov was off)".into(),
        ));
    };
    let mut replicas = run.per_replica("lyapunov_max")?.unwrap_or_default();
    if replicas.len() <= 1 {
        // One replica: its line is the mean.
        replicas.clear();
        curve.label = "λ₁ (1 replica)".into();
    }
    let fig = LyapunovFigure {
        title: format!(
            "Largest Lyapunov exponent during learning ({})",
            run_size(run)
        ),
        curve,
        replicas: replicas.into_values().collect(),
        mean_field: mean_field_lyapunov(run),
    };
    Ok(Outcome::Written(style::render(&fig, out, "lyapunov")?))
}

/// The mean-field λ_max `hebbnet theory` predicts for the run's config (of `W⁽⁰⁾`), if any.
fn mean_field_lyapunov(run: &Run) -> Option<f64> {
    let config: crate::config::Config =
        serde_json::from_value(run.manifest.get("config")?.clone()).ok()?;
    crate::theory::predictions::predictions(&config)
        .into_iter()
        .find(|p| p.key == "mean_field.largest_lyapunov")?
        .value
        .number()
        .filter(|v| v.is_finite())
}

struct LyapunovFigure {
    title: String,
    curve: MeanCurve,
    replicas: Vec<Vec<(f64, f64)>>,
    mean_field: Option<f64>,
}

impl Figure for LyapunovFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let values = self
            .curve
            .values()
            .chain(self.replicas.iter().flatten().map(|p| p.1))
            .chain([0.0])
            .chain(self.mean_field);
        let (lo, hi) = style::bounds(values).unwrap_or((-1.0, 1.0));
        let x = style::epoch_range(&self.curve.epoch);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(style::TITLE_SIZE))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(85)
            .build_cartesian_2d(x.clone(), style::padded(lo, hi, 0.05))?;
        draw_mesh(
            &mut chart,
            &self.curve.epoch,
            "largest Lyapunov exponent λ₁ (per step)",
        )?;
        for line in &self.replicas {
            for seg in style::segments(line) {
                chart.draw_series(LineSeries::new(seg, thin_style()))?;
            }
        }
        reference_line(&mut chart, x.clone(), 0.0)?;
        self.curve.draw(&mut chart)?;
        let first_epoch = self.curve.epoch.first().copied().unwrap_or(0.0);
        if let Some(l) = self.mean_field {
            chart.draw_series(std::iter::once(Cross::new(
                (first_epoch, l),
                9,
                RED.stroke_width(3),
            )))?;
        }
        legend(
            &mut chart,
            &self.curve.label,
            Key::Line(self.curve.color, 3),
        )?;
        if self.curve.has_band() {
            legend(
                &mut chart,
                "95% CI of the mean",
                Key::Band(self.curve.color),
            )?;
        }
        if !self.replicas.is_empty() {
            legend(&mut chart, "individual replicas", Key::Thin)?;
        }
        legend(&mut chart, "λ₁ = 0 (edge of chaos)", Key::Dashed)?;
        if self.mean_field.is_some() {
            legend(
                &mut chart,
                "mean field λ_max of W⁽⁰⁾ (N → ∞)",
                Key::Cross(RED),
            )?;
        }
        let mut lines = self.curve.lines();
        if let Some(l) = self.mean_field {
            lines.push(vec![(first_epoch, l)]);
        }
        lines.extend(self.replicas.iter().cloned());
        lines.push(vec![(x.start, 0.0), (x.end, 0.0)]);
        draw_legend(&mut chart, &lines)
    }
}

/// **`contraction`**: replica means (with 95% bands) of the spectral radius of the Jacobian
/// ρ(DF) and of the weights ρ(W) against the epoch, with the dashed line ρ = 1: learning
/// contracts the Jacobian (through passive forgetting of W or through saturation of the
/// neurons), which is why λ₁ decays.
pub fn contraction(run: &Run, out: &Path) -> Result<Outcome> {
    let curves: Vec<MeanCurve> = [
        MeanCurve::from_summary(run, "spectral_radius_j", "ρ(DF), Jacobian", VERMILLION)?,
        MeanCurve::from_summary(run, "spectral_radius_w", "ρ(W), weights", BLUE)?,
    ]
    .into_iter()
    .flatten()
    .collect();
    if curves.is_empty() {
        return Ok(Outcome::Skipped(
            "no spectral radii in summary.csv (analysis.eigenvalues was off)".into(),
        ));
    }
    let fig = ContractionFigure {
        title: format!(
            "Contraction: spectral radii during learning ({}, replica means)",
            run_size(run)
        ),
        curves,
    };
    Ok(Outcome::Written(style::render(&fig, out, "contraction")?))
}

struct ContractionFigure {
    title: String,
    curves: Vec<MeanCurve>,
}

impl Figure for ContractionFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let values = self.curves.iter().flat_map(MeanCurve::values).chain([1.0]);
        let (lo, hi) = style::bounds(values).unwrap_or((0.0, 1.0));
        let epochs: Vec<f64> = self.curves[0].epoch.clone();
        let x = style::epoch_range(&epochs);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(style::TITLE_SIZE))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(85)
            .build_cartesian_2d(x.clone(), style::padded(lo.min(0.0), hi, 0.05))?;
        draw_mesh(
            &mut chart,
            &epochs,
            "spectral radius ρ (largest |eigenvalue|)",
        )?;
        reference_line(&mut chart, x.clone(), 1.0)?;
        for curve in &self.curves {
            curve.draw(&mut chart)?;
        }
        for curve in &self.curves {
            legend(&mut chart, &curve.label, Key::Line(curve.color, 3))?;
        }
        if self.curves.iter().any(MeanCurve::has_band) {
            legend(&mut chart, "95% CI of the mean", Key::Band(GREY))?;
        }
        legend(&mut chart, "ρ = 1", Key::Dashed)?;
        let mut lines: Vec<Vec<(f64, f64)>> =
            self.curves.iter().flat_map(MeanCurve::lines).collect();
        lines.push(vec![(x.start, 1.0), (x.end, 1.0)]);
        draw_legend(&mut chart, &lines)
    }
}
