//! Figure `sensitivity`: sensitivity to the learned pattern against the largest Lyapunov
//! exponent (science.md §2: the paper's claim is that it peaks where λ₁ ≈ 0).

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::data::Run;
use super::style::{self, font, DrawResult, Figure};
use super::Outcome;
use crate::error::Result;

/// One scatter panel: `(λ₁, value, epoch)` of every replica and epoch.
struct Panel {
    title: &'static str,
    y_desc: &'static str,
    points: Vec<(f64, f64, f64)>,
    /// Replica mean per epoch, `(mean λ₁, mean value)`, in epoch order.
    means: Vec<(f64, f64)>,
    /// Positive values spanning more than a decade: logarithmic y axis.
    log: bool,
}

/// **`sensitivity`**: susceptibility χ (left, log scale when it spans decades) and
/// discrimination (right) against λ₁, one point per replica and epoch (epochs.csv, NaN rows
/// left out), coloured by epoch (colour bar), with the replica means per epoch joined in epoch
/// order (the path learning takes) and the dashed line λ₁ = 0. A panel whose column is absent
/// or all NaN is left out; the figure is skipped when both are.
pub fn sensitivity(run: &Run, out: &Path) -> Result<Outcome> {
    let Some(lyap) = run.epochs.f64_column("lyapunov_max")? else {
        return Ok(Outcome::Skipped(
            "no lyapunov_max column in epochs.csv (analysis.lyapunov was off)".into(),
        ));
    };
    let epoch: Vec<f64> = run
        .epochs
        .usize_column("epoch")?
        .into_iter()
        .map(|e| e as f64)
        .collect();
    let mut panels = Vec::new();
    let mut measured = false;
    for (column, title, y_desc) in [
        (
            "susceptibility",
            "susceptibility to input perturbations",
            "susceptibility χ = ‖Δ⟨x⟩‖ / ε",
        ),
        (
            "discrimination",
            "discrimination of a novel pattern",
            "discrimination ‖⟨x⟩(ξ) − ⟨x⟩(ξ′)‖ / √N",
        ),
    ] {
        let Some(values) = run.epochs.f64_column(column)? else {
            continue;
        };
        measured |= values.iter().any(|v| v.is_finite());
        let points: Vec<(f64, f64, f64)> = lyap
            .iter()
            .zip(&values)
            .zip(&epoch)
            .filter(|((l, v), _)| l.is_finite() && v.is_finite())
            .map(|((&l, &v), &e)| (l, v, e))
            .collect();
        if points.is_empty() {
            continue;
        }
        let means = epoch_means(&points);
        // Log scale (decade ticks) only when it shows more than two decades.
        let log = points.iter().all(|p| p.1 > 0.0)
            && style::bounds(points.iter().map(|p| p.1)).is_some_and(|(lo, hi)| hi > 100.0 * lo);
        panels.push(Panel {
            title,
            y_desc,
            points,
            means,
            log,
        });
    }
    if panels.is_empty() && measured {
        return Ok(Outcome::Skipped(
            "sensitivity was measured but λ₁ was not (analysis.lyapunov was off)".into(),
        ));
    }
    if panels.is_empty() {
        return Ok(Outcome::Skipped(
            "no susceptibility or discrimination values in epochs.csv \
             (analysis.sensitivity was off)"
                .into(),
        ));
    }
    let fig = SensitivityFigure {
        title: "Sensitivity to the learned pattern against the largest Lyapunov exponent".into(),
        epochs: style::bounds(epoch.iter().copied()).unwrap_or((0.0, 0.0)),
        panels,
    };
    Ok(Outcome::Written(style::render(&fig, out, "sensitivity")?))
}

/// Mean λ₁ and mean value per epoch over the points of that epoch.
fn epoch_means(points: &[(f64, f64, f64)]) -> Vec<(f64, f64)> {
    let mut sums: std::collections::BTreeMap<i64, (f64, f64, usize)> = Default::default();
    for &(l, v, e) in points {
        let s = sums.entry(e.round() as i64).or_default();
        s.0 += l;
        s.1 += v;
        s.2 += 1;
    }
    sums.values()
        .map(|&(l, v, n)| (l / n as f64, v / n as f64))
        .collect()
}

struct SensitivityFigure {
    title: String,
    /// First and last epoch (colour scale).
    epochs: (f64, f64),
    panels: Vec<Panel>,
}

impl SensitivityFigure {
    fn color(&self, epoch: f64) -> RGBColor {
        let (lo, hi) = self.epochs;
        style::viridis(if hi > lo {
            (epoch - lo) / (hi - lo)
        } else {
            0.5
        })
    }
}

impl Figure for SensitivityFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (plots, bar) = body.split_horizontally(w.saturating_sub(130));
        let areas = plots.split_evenly((1, self.panels.len()));
        let x = style::bounds(
            self.panels
                .iter()
                .flat_map(|p| p.points.iter().map(|q| q.0))
                .chain([0.0]),
        )
        .unwrap_or((-1.0, 1.0));
        let x = style::padded(x.0, x.1, 0.05);
        for (area, panel) in areas.iter().zip(&self.panels) {
            let (lo, hi) = style::bounds(panel.points.iter().map(|p| p.1)).unwrap_or((0.0, 1.0));
            if panel.log {
                let y = (lo / 1.3..hi * 1.3).log_scale();
                self.draw_panel(area, panel, x.clone(), y)?;
            } else {
                self.draw_panel(area, panel, x.clone(), style::padded(lo.min(0.0), hi, 0.05))?;
            }
        }
        self.draw_color_bar(&bar)
    }
}

impl SensitivityFigure {
    fn draw_panel<DB: DrawingBackend, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
        x: std::ops::Range<f64>,
        y: Y,
    ) -> DrawResult
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, font(style::PANEL_TITLE_SIZE))
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc("largest Lyapunov exponent λ₁ (per step)")
            .y_desc(panel.y_desc)
            .x_labels(7)
            .y_labels(8)
            .x_label_formatter(&style::number_tick)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let (y0, y1) = {
            let r = chart.y_range();
            (r.start, r.end)
        };
        let dash = BLACK.mix(0.75).stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, y0), (0.0, y1)],
                12,
                8,
                dash,
            ))?
            .label("λ₁ = 0")
            .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 7, 4, dash));
        chart.draw_series(
            panel
                .points
                .iter()
                .map(|&(l, v, e)| Circle::new((l, v), 4, self.color(e).mix(0.75).filled())),
        )?;
        let mean_style = BLACK.stroke_width(2);
        chart
            .draw_series(LineSeries::new(panel.means.clone(), mean_style))?
            .label("replica mean per epoch")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], mean_style));
        chart.draw_series(
            panel
                .means
                .iter()
                .map(|&p| Circle::new(p, 3, BLACK.filled())),
        )?;
        // Legend where it hides the fewest points (in the axis' own scale, log or linear).
        let (x0, x1) = (chart.x_range(), chart.y_range());
        let (px0, py0) = chart.backend_coord(&(x0.start, x1.start));
        let (px1, py1) = chart.backend_coord(&(x0.end, x1.end));
        let frac = |p: &(f64, f64)| {
            let (u, v) = chart.backend_coord(p);
            (
                f64::from(u - px0) / f64::from((px1 - px0).max(1)),
                f64::from(py0 - v) / f64::from((py0 - py1).max(1)),
            )
        };
        let mut points: Vec<(f64, f64)> = panel.points.iter().map(|p| frac(&(p.0, p.1))).collect();
        points.extend(style::densify(&panel.means, 12).iter().map(frac));
        points.extend(style::densify(&[(0.0, y0), (0.0, y1)], 50).iter().map(frac));
        chart
            .configure_series_labels()
            .position(style::legend_corner(points, 0.6, 0.16))
            .margin(10)
            .legend_area_size(34)
            .label_font(font(style::LEGEND_SIZE))
            .background_style(WHITE.mix(0.88))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    }

    /// A vertical colour bar of the epoch.
    fn draw_color_bar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let (lo, hi) = self.epochs;
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, hi + 0.5)
        };
        let mut chart = ChartBuilder::on(area)
            .margin_top(60)
            .margin_bottom(75)
            .margin_right(60)
            .y_label_area_size(0)
            .right_y_label_area_size(50)
            .build_cartesian_2d(0.0..1.0, lo..hi)?;
        let steps = 100;
        chart.draw_series((0..steps).map(|k| {
            let a = lo + (hi - lo) * k as f64 / steps as f64;
            let b = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], self.color((a + b) / 2.0).filled())
        }))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("epoch")
            .y_labels(style::epoch_ticks(&[lo, hi]))
            .y_label_formatter(&style::epoch_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .draw()?;
        Ok(())
    }
}
