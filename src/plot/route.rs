//! Figure `route_to_chaos` of a one-axis sweep that recorded the population activity
//! (`output.record.population`): the bifurcation diagram of the population mean against the
//! swept key, above the largest Lyapunov exponent (Doyon et al. 1993; cessac.md §9).

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::data::{self, Sweep};
use super::style::{self, font, DrawResult, Figure, PALETTE};
use super::Outcome;
use crate::error::Result;
use crate::theory::bifurcation::classify;
use crate::theory::plane::MeanFieldPlane;

/// Mean-field values along the axis (where the theory applies).
const THEORY_POINTS: usize = 160;

/// **`route_to_chaos`**: top, for replica 0 at each value of the swept key, the recorded
/// population means `m(t) = (1/N) Σ_i x_i(t)` of the last epoch's window
/// (`record_activity.npy`, (points, R, E, S)) as dots — a fixed point is one dot, a period-p
/// orbit p dots, quasi-periodic or chaotic motion a vertical smear — with the mean-field
/// attractor's `m` (its points on a 2-cycle) as a line where the theory applies; bottom, λ₁
/// of replica 0 and the replica mean (`summary.csv`, `points.csv`) with the mean-field
/// `λ_MF` on the attractor reached from high activity, and λ = 0.
pub fn route_to_chaos(sweep: &Sweep, out: &Path) -> Result<Outcome> {
    let path = sweep.dir.join("record_activity.npy");
    if sweep.axes.len() != 1 || !path.is_file() {
        return Ok(Outcome::Skipped(
            "needs a one-axis sweep with output.record.population (record_activity.npy)".into(),
        ));
    }
    let a = data::read_real(&path, 4, "(point, replica, epoch, sample)")?;
    let (points, replicas, epochs, samples) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3]);
    let axis = &sweep.axes[0];
    if points != axis.values.len() || replicas == 0 || epochs == 0 || samples == 0 {
        return Ok(Outcome::Skipped(format!(
            "record_activity.npy has shape {:?}, not ({} points, R, E, S)",
            a.shape,
            axis.values.len()
        )));
    }
    let last = epochs - 1;
    let mut dots = Vec::new();
    for (p, &v) in axis.values.iter().enumerate() {
        let base = ((p * replicas) * epochs + last) * samples;
        let mut column: Vec<i64> = a.data[base..base + samples]
            .iter()
            .filter(|x| x.is_finite())
            .map(|x| (x * 1e4).round() as i64)
            .collect();
        column.sort_unstable();
        column.dedup();
        dots.extend(column.into_iter().map(|q| (v, q as f64 * 1e-4)));
    }
    // λ₁: replica 0 from summary.csv (its last epoch), the mean from points.csv.
    let mut lyapunov_first = Vec::new();
    let summary = sweep.dir.join("summary.csv");
    if summary.is_file() {
        let table = data::Table::read(&summary)?;
        if let (Some(point), Some(replica), Some(l)) = (
            table.f64_column("point")?,
            table.f64_column("replica")?,
            table.f64_column("lyapunov_max")?,
        ) {
            for ((p, r), l) in point.iter().zip(&replica).zip(&l) {
                if *r == 0.0 && (*p as usize) < axis.values.len() {
                    lyapunov_first.push((axis.values[*p as usize], *l));
                }
            }
        }
    }
    let rows = sweep.grid_indices()?;
    let mut lyapunov_mean = Vec::new();
    if let Some(column) = sweep.points.f64_column("lyapunov_max_mean")? {
        for (index, l) in rows.iter().zip(column) {
            lyapunov_mean.push((axis.values[index[0]], l));
        }
    }
    lyapunov_first.sort_by(|a, b| a.0.total_cmp(&b.0));
    lyapunov_mean.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The mean field along the axis.
    let plane = MeanFieldPlane::new(&sweep.base_config, &[]);
    let (lo, hi) = style::bounds(axis.values.iter().copied()).unwrap_or((0.0, 1.0));
    let log = axis.spacing == data::Spacing::Log;
    let theory: Vec<(f64, Vec<f64>, f64)> = (0..THEORY_POINTS)
        .filter_map(|k| {
            let t = k as f64 / (THEORY_POINTS - 1) as f64;
            let v = if log {
                (lo.ln() + (hi.ln() - lo.ln()) * t).exp()
            } else {
                lo + (hi - lo) * t
            };
            let p = plane.params(&[(&axis.key, v)])?;
            let c = classify(&p);
            let a = c.attractors.first()?;
            Some((v, a.points.iter().map(|p| p.0).collect(), a.lyapunov))
        })
        .collect();
    let fig = RouteFigure {
        title: format!(
            "Route to chaos: population mean m(t) (last {samples} samples) and λ₁ against {}",
            axis.key
        ),
        key: axis.key.clone(),
        log,
        dots,
        lyapunov_first,
        lyapunov_mean,
        theory,
        replicas,
    };
    Ok(Outcome::Written(style::render(
        &fig,
        out,
        "route_to_chaos",
    )?))
}

struct RouteFigure {
    title: String,
    key: String,
    log: bool,
    dots: Vec<(f64, f64)>,
    lyapunov_first: Vec<(f64, f64)>,
    lyapunov_mean: Vec<(f64, f64)>,
    /// (value, m of the attractor's points, λ_MF).
    theory: Vec<(f64, Vec<f64>, f64)>,
    replicas: usize,
}

impl RouteFigure {
    fn x_range(&self) -> std::ops::Range<f64> {
        let (lo, hi) = style::bounds(self.dots.iter().map(|p| p.0)).unwrap_or((0.0, 1.0));
        let pad = (hi - lo).max(1e-9) * 0.02;
        lo - pad..hi + pad
    }
}

impl Figure for RouteFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled(root, &self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (top, bottom) = body.split_vertically(h * 55 / 100);
        let x = self.x_range();
        let (xl, xh) = (x.start.max(f64::MIN_POSITIVE), x.end);
        if self.log {
            self.top(&top, (xl..xh).log_scale())?;
            self.bottom(&bottom, (xl..xh).log_scale())
        } else {
            self.top(&top, x.clone())?;
            self.bottom(&bottom, x)
        }
    }
}

impl RouteFigure {
    fn top<DB: DrawingBackend, X>(&self, area: &DrawingArea<DB, Shift>, x: X) -> DrawResult
    where
        X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let (lo, hi) = style::bounds(
            self.dots
                .iter()
                .map(|p| p.1)
                .chain(self.theory.iter().flat_map(|t| t.1.iter().copied())),
        )
        .unwrap_or((0.0, 1.0));
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .margin_top(10)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(x, style::padded(lo, hi, 0.05))?;
        chart
            .configure_mesh()
            .y_desc("population mean m(t)")
            .x_labels(10)
            .y_labels(6)
            .x_label_formatter(&style::number_tick)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        chart
            .draw_series(
                self.dots
                    .iter()
                    .map(|&p| Circle::new(p, 2, PALETTE[0].mix(0.7).filled())),
            )?
            .label("network (replica 0), m(t) over the window")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, PALETTE[0].filled()));
        // The mean-field attractor: one curve per point of the cycle (the high-activity start).
        let branches = self.theory.iter().map(|t| t.1.len()).max().unwrap_or(0);
        let mut labelled = false;
        for b in 0..branches {
            let line: Vec<(f64, f64)> = self
                .theory
                .iter()
                .map(|(v, ms, _)| (*v, ms.get(b).or(ms.first()).copied().unwrap_or(f64::NAN)))
                .collect();
            for segment in style::segments(&line) {
                let series = chart.draw_series(DashedLineSeries::new(
                    segment,
                    10,
                    6,
                    PALETTE[1].stroke_width(3),
                ))?;
                if !labelled {
                    series
                        .label("mean field (N → ∞): attractor's m")
                        .legend(|(x, y)| {
                            DashedPathElement::new(
                                vec![(x, y), (x + 20, y)],
                                6,
                                4,
                                PALETTE[1].stroke_width(3),
                            )
                        });
                    labelled = true;
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(font(style::LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    }

    fn bottom<DB: DrawingBackend, X>(&self, area: &DrawingArea<DB, Shift>, x: X) -> DrawResult
    where
        X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let values = self
            .lyapunov_first
            .iter()
            .chain(&self.lyapunov_mean)
            .map(|p| p.1)
            .chain(self.theory.iter().map(|t| t.2))
            .filter(|v| v.is_finite())
            .chain([0.0]);
        let (lo, hi) = style::bounds(values).unwrap_or((-1.0, 1.0));
        let lo = lo.max(hi - 3.0 * (hi.max(0.1)) - 1.0);
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .margin_top(5)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x, style::padded(lo, hi, 0.05))?;
        chart
            .configure_mesh()
            .x_desc(&self.key)
            .y_desc("λ₁ (per step)")
            .x_labels(10)
            .y_labels(6)
            .x_label_formatter(&style::number_tick)
            // Rounding leaves ~1e-16 where the tick is 0.
            .y_label_formatter(&|v: &f64| {
                style::number_tick(&if v.abs() < 1e-9 * (hi - lo).abs() {
                    0.0
                } else {
                    *v
                })
            })
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let range = self.x_range();
        chart.draw_series(DashedLineSeries::new(
            vec![(range.start, 0.0), (range.end, 0.0)],
            6,
            6,
            BLACK.mix(0.5).stroke_width(1),
        ))?;
        let theory: Vec<(f64, f64)> = self.theory.iter().map(|t| (t.0, t.2)).collect();
        for (k, segment) in style::segments(&theory).into_iter().enumerate() {
            let s = chart.draw_series(DashedLineSeries::new(
                segment,
                10,
                6,
                PALETTE[1].stroke_width(3),
            ))?;
            if k == 0 {
                s.label("mean field λ_MF").legend(|(x, y)| {
                    DashedPathElement::new(
                        vec![(x, y), (x + 20, y)],
                        6,
                        4,
                        PALETTE[1].stroke_width(3),
                    )
                });
            }
        }
        if self.replicas > 1 && !self.lyapunov_mean.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    self.lyapunov_mean.clone(),
                    PALETTE[2].stroke_width(2),
                ))?
                .label(format!("replica mean ({} replicas)", self.replicas))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[2].stroke_width(2))
                });
        }
        if !self.lyapunov_first.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    self.lyapunov_first.clone(),
                    PALETTE[0].stroke_width(2),
                ))?
                .label("network (replica 0)")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(2))
                });
            chart.draw_series(
                self.lyapunov_first
                    .iter()
                    .map(|&p| Circle::new(p, 3, PALETTE[0].filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(font(style::LEGEND_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    }
}
