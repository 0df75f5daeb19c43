//! Figures of Cessac's spiking network (BMS, `"model": "bms"`, models/cessac.md): a run's spike
//! raster (`raster`), its distribution of periods (`periods`) and its learning curves
//! (`learning`); a one-axis sweep's order parameter d̂ against the swept value with the
//! mean-field onset of self-sustained activity (`dhat_sigma`).
//!
//! The columns read are those `hebbnet run` writes for a BMS run
//! ([`crate::analysis::spiking::SPIKE_COLUMNS`] in `epochs.csv`, the ensemble summary in
//! `summary.csv` and a sweep's `points.csv`).

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use serde_json::Value;

use super::data::{read_u8_block, Run, Spacing, Sweep};
use super::style::{self, font, DrawResult, Figure, BLUE, GREY, PALETTE, VERMILLION};
use super::Outcome;
use crate::error::Result;
use crate::theory::LineShape;

/// The `points.csv` column of a BMS sweep's heat maps when none is asked for.
pub const DEFAULT_OBSERVABLE: &str = "log10_d_hat_median";

/// Most steps and neurons shown in the raster.
const RASTER_STEPS: usize = 500;
const RASTER_NEURONS: usize = 200;
/// Bars of the period histogram before distinct periods are pooled into bins.
const MAX_PERIOD_BARS: usize = 24;
pub(super) const BAND_ALPHA: f64 = 0.22;
const GREEN: RGBColor = PALETTE[2];
const PURPLE: RGBColor = PALETTE[3];
const DASH: RGBColor = RGBColor(40, 40, 40);

/// The figures of a BMS run, in place of the analog ones.
pub fn run_figures(run: &Run, out: &Path, replica: usize) -> Result<Vec<(String, Outcome)>> {
    Ok(vec![
        ("raster".to_string(), raster(run, out, replica)?),
        ("periods".to_string(), periods(run, out)?),
        ("learning".to_string(), learning(run, out)?),
    ])
}

/// N of a BMS run: the manifest's `neurons`, else `config.bms.neurons`.
fn neurons(run: &Run) -> Option<u64> {
    run.manifest
        .get("neurons")
        .and_then(Value::as_u64)
        .or_else(|| {
            run.config_value(&["bms", "neurons"])
                .and_then(Value::as_u64)
        })
}

fn run_size(run: &Run) -> String {
    let replicas = run.replicas().unwrap_or(0);
    let n = neurons(run)
        .map(|n| format!(", N = {n}"))
        .unwrap_or_default();
    format!("{replicas} replica{}{n}", plural(replicas))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The longest period the run searched (`bms.max_period`, default T/2) and T.
fn period_limit(run: &Run) -> (Option<usize>, Option<usize>) {
    let t = run
        .config_value(&["schedule", "recorded_steps"])
        .and_then(Value::as_u64)
        .map(|t| t as usize);
    let max = run
        .config_value(&["bms", "max_period"])
        .and_then(Value::as_u64)
        .map(|p| p as usize)
        .or(t.map(|t| t / 2));
    (max, t)
}

// ---------------------------------------------------------------------------------------------
// Shared drawing helpers (generic over the x coordinate, so a log axis works too).

pub(super) fn legend_entry<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    label: &str,
    key: Key,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let series = chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label(label);
    match key {
        Key::Line(color) => series.legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
        }),
        Key::Band(color) => series.legend(move |(x, y)| {
            Rectangle::new(
                [(x, y - 7), (x + 24, y + 7)],
                color.mix(BAND_ALPHA).filled(),
            )
        }),
        Key::Dashed(color) => series.legend(move |(x, y)| {
            DashedPathElement::new(vec![(x, y), (x + 24, y)], 7, 4, color.stroke_width(3))
        }),
        Key::Bar(color) => series
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 24, y + 7)], color.filled())),
        Key::Note => series.legend(|(x, y)| Cross::new((x + 12, y), 6, GREY.stroke_width(2))),
    };
    Ok(())
}

#[derive(Clone, Copy)]
pub(super) enum Key {
    Line(RGBColor),
    Band(RGBColor),
    Dashed(RGBColor),
    Bar(RGBColor),
    Note,
}

/// A band between `low` and `high` over the runs of x where both are finite.
pub(super) fn draw_band<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    x: &[f64],
    low: &[f64],
    high: &[f64],
    color: RGBColor,
) -> std::result::Result<Vec<Vec<(f64, f64)>>, style::DrawError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let mut polys = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    let finite = |k: usize| x[k].is_finite() && low[k].is_finite() && high[k].is_finite();
    for k in 0..=x.len() {
        if k < x.len() && finite(k) {
            run.push(k);
            continue;
        }
        if run.len() > 1 {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|&j| (x[j], low[j])).collect();
            poly.extend(run.iter().rev().map(|&j| (x[j], high[j])));
            chart.draw_series(std::iter::once(Polygon::new(
                poly.clone(),
                color.mix(BAND_ALPHA).filled(),
            )))?;
            polys.push(poly);
        }
        run.clear();
    }
    Ok(polys)
}

/// A line with markers, broken at NaN; returns its pieces.
pub(super) fn draw_line<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    x: &[f64],
    y: &[f64],
    color: RGBColor,
    marker: u32,
) -> std::result::Result<Vec<Vec<(f64, f64)>>, style::DrawError>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let points: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    let segments = style::segments(&points);
    for seg in &segments {
        chart.draw_series(LineSeries::new(seg.clone(), color.stroke_width(3)))?;
        if marker > 0 {
            chart.draw_series(seg.iter().map(|&p| Circle::new(p, marker, color.filled())))?;
        }
    }
    Ok(segments)
}

/// The legend in the corner of the plot where it hides the fewest of `lines`.
pub(super) fn place_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    lines: &[Vec<(f64, f64)>],
    width: f64,
    height: f64,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let frac = |p: &(f64, f64)| {
        let (u, v) = chart.plotting_area().map_coordinate(p);
        (
            f64::from(u - xs.start) / f64::from((xs.end - xs.start).max(1)),
            f64::from(ys.end - v) / f64::from((ys.end - ys.start).max(1)),
        )
    };
    let points: Vec<(f64, f64)> = lines
        .iter()
        .flat_map(|l| style::densify(l, 12))
        .map(|p| frac(&p))
        .collect();
    chart
        .configure_series_labels()
        .position(style::legend_corner(points, width, height))
        .margin(10)
        .legend_area_size(30)
        .label_font(font(style::LEGEND_SIZE))
        .background_style(WHITE.mix(0.88))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// raster

/// **`raster`**: the spikes of replica `replica` in the last epoch's recorded window (the
/// first ≤ 500 steps × ≤ 200 neurons of `raster.npy`, one dot per spike), with the population
/// rate ρ(t) = (1/N) Σᵢ Zᵢ(t) over all N neurons in a panel below.
pub fn raster(run: &Run, out: &Path, replica: usize) -> Result<Outcome> {
    let Some(path) = run.array_path("raster.npy") else {
        return Ok(Outcome::Skipped(
            "no raster.npy (add \"raster\" to output.save of the run's config)".into(),
        ));
    };
    let mut picked = (0, 0, 0, 0);
    let (shape, data) = read_u8_block(&path, 4, "(replicas, epochs, steps, neurons)", |s| {
        let (r, e, t, n) = (s[0], s[1], s[2], s[3]);
        picked = (r, e, t, n);
        let epoch = e.saturating_sub(1);
        (
            (replica.min(r.saturating_sub(1)) * e + epoch) * t * n,
            t * n,
        )
    })?;
    let (r, e, t, n) = picked;
    if replica >= r || e == 0 || t == 0 || n == 0 {
        return Ok(Outcome::Skipped(format!(
            "raster.npy has shape {shape:?}: no window of replica {replica}"
        )));
    }
    let epoch = run
        .summary
        .usize_column("epoch")?
        .last()
        .copied()
        .unwrap_or(e - 1);
    let steps = t.min(RASTER_STEPS);
    let shown = n.min(RASTER_NEURONS);
    let mut spikes = Vec::new();
    let mut rate = Vec::with_capacity(steps);
    for step in 0..steps {
        let row = &data[step * n..(step + 1) * n];
        rate.push(row.iter().filter(|&&z| z != 0).count() as f64 / n as f64);
        for (i, &z) in row[..shown].iter().enumerate() {
            if z != 0 {
                spikes.push((step as f64, i as f64));
            }
        }
    }
    let window = if steps < t {
        format!("first {steps} of {t} steps")
    } else {
        format!("{t} steps")
    };
    let cells = if shown < n {
        format!("first {shown} of {n} neurons")
    } else {
        format!("{n} neurons")
    };
    let fig = RasterFigure {
        title: format!("Spike raster: replica {replica}, epoch {epoch} ({window}, {cells})"),
        steps,
        neurons: shown,
        spikes,
        rate,
    };
    Ok(Outcome::Written(style::render(&fig, out, "raster")?))
}

struct RasterFigure {
    title: String,
    steps: usize,
    neurons: usize,
    /// (step, neuron) of each spike shown.
    spikes: Vec<(f64, f64)>,
    /// ρ(t) over all neurons, one value per step shown.
    rate: Vec<f64>,
}

impl Figure for RasterFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let height = body.dim_in_pixel().1;
        let (top, bottom) = body.split_vertically(height * 72 / 100);
        let x = -0.5..self.steps as f64 - 0.5;
        let mut chart = ChartBuilder::on(&top)
            .margin(15)
            .margin_bottom(0)
            .x_label_area_size(10)
            .y_label_area_size(90)
            .build_cartesian_2d(x.clone(), -0.5..self.neurons as f64 - 0.5)?;
        chart
            .configure_mesh()
            .y_desc("neuron i")
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&style::epoch_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.06))
            .light_line_style(TRANSPARENT)
            .draw()?;
        // A dot about as large as a cell of the (step, neuron) grid, at least 1 px.
        let (w, h) = chart.plotting_area().dim_in_pixel();
        let cell = (w as f64 / self.steps.max(1) as f64).min(h as f64 / self.neurons.max(1) as f64);
        let radius = (cell * 0.45).clamp(1.0, 4.0).round() as u32;
        chart.draw_series(
            self.spikes
                .iter()
                .map(|&p| Circle::new(p, radius, BLACK.filled())),
        )?;

        let (lo, hi) = style::bounds(self.rate.iter().copied()).unwrap_or((0.0, 1.0));
        let mut chart = ChartBuilder::on(&bottom)
            .margin(15)
            .margin_top(5)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x, 0.0..style::padded(lo.min(0.0), hi.max(0.01), 0.08).end)?;
        chart
            .configure_mesh()
            .x_desc("step t of the recorded window")
            .y_desc("rate ρ(t)")
            .x_labels(10)
            .y_labels(4)
            .x_label_formatter(&style::epoch_tick)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.06))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let line: Vec<(f64, f64)> = self
            .rate
            .iter()
            .enumerate()
            .map(|(t, &r)| (t as f64, r))
            .collect();
        chart.draw_series(LineSeries::new(line, BLUE.stroke_width(2)))?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// periods

/// **`periods`**: over the replicas, the period of the last epoch's raster (exact recurrence,
/// `period` of `epochs.csv`), one bar per period (pooled into bins when there are many), and the
/// replicas with no period within the search limit (`period = 0`, T/2 by default) as a separate
/// bar "> T/2".
pub fn periods(run: &Run, out: &Path) -> Result<Outcome> {
    let Some(period) = run.epochs.f64_column("period")? else {
        return Ok(Outcome::Skipped(
            "no `period` column in epochs.csv (not a BMS run)".into(),
        ));
    };
    let epoch = run.epochs.usize_column("epoch")?;
    let last = epoch.iter().copied().max().unwrap_or(0);
    let dead = run.epochs.f64_column("dead")?;
    let mut found: Vec<usize> = Vec::new();
    let mut censored = 0;
    let mut dead_count = 0;
    for (k, (&e, &p)) in epoch.iter().zip(&period).enumerate() {
        if e != last || !p.is_finite() {
            continue;
        }
        if p > 0.0 {
            found.push(p.round() as usize);
        } else {
            censored += 1;
        }
        if dead.as_ref().is_some_and(|d| d[k] == 1.0) {
            dead_count += 1;
        }
    }
    let (limit, t) = period_limit(run);
    let censored_label = match (limit, t) {
        (Some(l), Some(t)) if l == t / 2 => format!("> T/2 = {l}"),
        (Some(l), _) => format!("> {l}"),
        _ => "> T/2".into(),
    };
    let bars = period_bars(&found);
    let replicas = found.len() + censored;
    let fig = PeriodsFigure {
        title: format!(
            "Periods of the spike raster at epoch {last} ({})",
            run_size(run)
        ),
        bars,
        censored,
        censored_label,
        dead: dead_count,
        replicas,
    };
    Ok(Outcome::Written(style::render(&fig, out, "periods")?))
}

/// `(label, count)` per bar: each distinct period, or log-spaced bins when there are more than
/// [`MAX_PERIOD_BARS`] distinct values.
fn period_bars(found: &[usize]) -> Vec<(String, usize)> {
    let mut distinct: Vec<usize> = found.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= MAX_PERIOD_BARS {
        return distinct
            .iter()
            .map(|&p| (p.to_string(), found.iter().filter(|&&q| q == p).count()))
            .collect();
    }
    // Bins [1], [2], [3, 4], [5, 8], [9, 16], …: powers of two.
    let max = *distinct.last().unwrap_or(&1);
    let mut bars = Vec::new();
    let (mut lo, mut hi) = (1usize, 1usize);
    while lo <= max {
        let count = found.iter().filter(|&&q| q >= lo && q <= hi).count();
        let label = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        };
        bars.push((label, count));
        lo = hi + 1;
        hi = (hi * 2).max(lo);
    }
    bars
}

struct PeriodsFigure {
    title: String,
    bars: Vec<(String, usize)>,
    censored: usize,
    censored_label: String,
    dead: usize,
    replicas: usize,
}

impl Figure for PeriodsFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let mut labels: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        labels.push(self.censored_label.clone());
        let n = labels.len();
        let top = self
            .bars
            .iter()
            .map(|b| b.1)
            .chain([self.censored, 1])
            .max()
            .unwrap_or(1) as f64;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(65)
            .y_label_area_size(85)
            .build_cartesian_2d(-0.6..n as f64 - 0.4, 0.0..top * 1.25)?;
        let every = n.div_ceil(16);
        let label_of = move |x: &f64| {
            let k = x.round();
            if (x - k).abs() > 1e-6 || k < 0.0 {
                return String::new();
            }
            let k = k as usize;
            if k + 1 == n || k.is_multiple_of(every) {
                labels.get(k).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc("period p of the raster (steps)")
            .y_desc("replicas")
            .x_labels(n + 1)
            .x_label_formatter(&label_of)
            .y_labels(8)
            .y_label_formatter(&style::epoch_tick)
            .disable_x_mesh()
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let bar = |k: usize, count: usize, color: RGBColor| {
            Rectangle::new(
                [(k as f64 - 0.38, 0.0), (k as f64 + 0.38, count as f64)],
                color.filled(),
            )
        };
        chart.draw_series(
            self.bars
                .iter()
                .enumerate()
                .filter(|(_, b)| b.1 > 0)
                .map(|(k, b)| bar(k, b.1, BLUE)),
        )?;
        if self.censored > 0 {
            chart.draw_series(std::iter::once(bar(n - 1, self.censored, VERMILLION)))?;
        }
        let found = self.replicas - self.censored;
        legend_entry(
            &mut chart,
            &format!("period detected ({found} of {} replicas)", self.replicas),
            Key::Bar(BLUE),
        )?;
        legend_entry(
            &mut chart,
            &format!(
                "no period within the search limit ({} replica{})",
                self.censored,
                plural(self.censored)
            ),
            Key::Bar(VERMILLION),
        )?;
        if self.dead > 0 {
            legend_entry(
                &mut chart,
                &format!(
                    "of which dead (no spike, period 1): {} replica{}",
                    self.dead,
                    plural(self.dead)
                ),
                Key::Note,
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperMiddle)
            .margin(10)
            .legend_area_size(30)
            .label_font(font(style::LEGEND_SIZE))
            .background_style(WHITE.mix(0.88))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// learning

/// **`learning`**: summary.csv against the epoch, in four panels: log₁₀ d̂ (median, q25–q75
/// band), the periodic fraction and the median period, the mean rate (95% CI), and ρ(W)
/// (replica mean; the panel says so when it was not measured). Only for runs of two or more
/// epochs.
pub fn learning(run: &Run, out: &Path) -> Result<Outcome> {
    let s = &run.summary;
    if s.len() < 2 {
        return Ok(Outcome::Skipped(format!(
            "the run has {} epoch{} (the learning curves need two or more)",
            s.len(),
            plural(s.len())
        )));
    }
    let epoch: Vec<f64> = s.usize_column("epoch")?.iter().map(|&e| e as f64).collect();
    let col = |name: &str| -> Result<Vec<f64>> {
        Ok(s.f64_column(name)?
            .unwrap_or_else(|| vec![f64::NAN; epoch.len()]))
    };
    let radius = col("spectral_radius_w_mean")?;
    let fig = LearningFigure {
        title: format!("BMS network during learning ({}, per epoch)", run_size(run)),
        d_median: col("log10_d_hat_median")?,
        d_low: col("log10_d_hat_q25")?,
        d_high: col("log10_d_hat_q75")?,
        periodic: col("periodic_fraction")?,
        period: col("period_median")?,
        rate: col("rate_mean")?,
        rate_low: col("rate_ci95_low")?,
        rate_high: col("rate_ci95_high")?,
        radius: radius.iter().any(|v| v.is_finite()).then_some(radius),
        epoch,
    };
    Ok(Outcome::Written(style::render(&fig, out, "learning")?))
}

struct LearningFigure {
    title: String,
    epoch: Vec<f64>,
    d_median: Vec<f64>,
    d_low: Vec<f64>,
    d_high: Vec<f64>,
    periodic: Vec<f64>,
    period: Vec<f64>,
    rate: Vec<f64>,
    rate_low: Vec<f64>,
    rate_high: Vec<f64>,
    radius: Option<Vec<f64>>,
}

impl LearningFigure {
    fn panel<'a, DB: DrawingBackend + 'a>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        y: Range<f64>,
        y_desc: &str,
        x_desc: bool,
    ) -> std::result::Result<style::Chart<'a, DB>, style::DrawError> {
        let x = style::epoch_range(&self.epoch);
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(if x_desc { 55 } else { 35 })
            .y_label_area_size(80)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc(if x_desc { "epoch" } else { "" })
            .y_desc(y_desc)
            .x_labels(style::epoch_ticks(&self.epoch))
            .x_label_formatter(&style::epoch_tick)
            .y_labels(6)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE - 2))
            .label_style(font(style::TICK_SIZE - 2))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        Ok(chart)
    }

    fn range(values: &[&[f64]], include: &[f64]) -> Range<f64> {
        let (lo, hi) = style::bounds(
            values
                .iter()
                .flat_map(|v| v.iter().copied())
                .chain(include.iter().copied()),
        )
        .unwrap_or((0.0, 1.0));
        style::padded(lo, hi, 0.08)
    }
}

impl Figure for LearningFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let areas = body.split_evenly((2, 2));
        let e = &self.epoch;

        // log10 d̂.
        let y = Self::range(&[&self.d_median, &self.d_low, &self.d_high], &[]);
        let mut chart = self.panel(&areas[0], y, "log₁₀ d̂", false)?;
        let mut lines = draw_band(&mut chart, e, &self.d_low, &self.d_high, BLUE)?;
        lines.extend(draw_line(&mut chart, e, &self.d_median, BLUE, 3)?);
        legend_entry(&mut chart, "median over replicas", Key::Line(BLUE))?;
        legend_entry(&mut chart, "q25–q75", Key::Band(BLUE))?;
        place_legend(&mut chart, &lines, 0.45, 0.3)?;

        // Periodic fraction (left axis) and median period (right axis).
        let period_top = style::bounds(self.period.iter().copied()).map_or(1.0, |b| b.1);
        let x = style::epoch_range(e);
        let mut chart = ChartBuilder::on(&areas[1])
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(80)
            .right_y_label_area_size(80)
            .build_cartesian_2d(x.clone(), -0.05..1.05)?
            .set_secondary_coord(x, 0.0..(period_top * 1.1).max(1.0));
        chart
            .configure_mesh()
            .y_desc("periodic fraction")
            .x_labels(style::epoch_ticks(e))
            .x_label_formatter(&style::epoch_tick)
            .y_labels(6)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE - 2))
            .label_style(font(style::TICK_SIZE - 2))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("median period (steps)")
            .y_labels(6)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE - 2).color(&VERMILLION))
            .label_style(font(style::TICK_SIZE - 2))
            .draw()?;
        let mut lines = draw_line(&mut *chart, e, &self.periodic, GREEN, 3)?;
        let period_points: Vec<(f64, f64)> =
            e.iter().copied().zip(self.period.iter().copied()).collect();
        for seg in style::segments(&period_points) {
            chart
                .draw_secondary_series(LineSeries::new(seg.clone(), VERMILLION.stroke_width(3)))?;
            chart.draw_secondary_series(
                seg.iter()
                    .map(|&p| TriangleMarker::new(p, 5, VERMILLION.filled())),
            )?;
            // In the primary coordinates, for placing the legend.
            lines.push(
                seg.iter()
                    .map(|&(x, p)| (x, -0.05 + 1.1 * p / (period_top * 1.1).max(1.0)))
                    .collect(),
            );
        }
        legend_entry(&mut *chart, "periodic fraction (left)", Key::Line(GREEN))?;
        legend_entry(
            &mut *chart,
            "median period of the periodic (right)",
            Key::Line(VERMILLION),
        )?;
        place_legend(&mut *chart, &lines, 0.6, 0.3)?;

        // Rate.
        let y = Self::range(&[&self.rate, &self.rate_low, &self.rate_high], &[]);
        let mut chart = self.panel(&areas[2], y, "rate (spikes / neuron / step)", true)?;
        let mut lines = draw_band(&mut chart, e, &self.rate_low, &self.rate_high, PURPLE)?;
        lines.extend(draw_line(&mut chart, e, &self.rate, PURPLE, 3)?);
        legend_entry(&mut chart, "replica mean", Key::Line(PURPLE))?;
        legend_entry(&mut chart, "95% CI of the mean", Key::Band(PURPLE))?;
        place_legend(&mut chart, &lines, 0.45, 0.3)?;

        // ρ(W).
        match &self.radius {
            Some(radius) => {
                let y = Self::range(&[radius], &[]);
                let mut chart = self.panel(&areas[3], y, "ρ(W), spectral radius", true)?;
                let lines = draw_line(&mut chart, e, radius, GREY, 3)?;
                legend_entry(&mut chart, "replica mean of ρ(W)", Key::Line(GREY))?;
                place_legend(&mut chart, &lines, 0.45, 0.2)?;
            }
            None => {
                let (w, h) = areas[3].dim_in_pixel();
                areas[3].draw(&Text::new(
                    "ρ(W) not measured (NaN at every epoch)",
                    (w as i32 / 2 - 190, h as i32 / 2),
                    font(style::LEGEND_SIZE).color(&GREY),
                ))?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// dhat_sigma

/// **`dhat_sigma`** (a one-axis BMS sweep): on top, log₁₀ d̂ against the swept value (median
/// over the point's replicas, q25–q75 band); below, the fractions of dead and of periodic
/// replicas. The mean-field onset of self-sustained activity σ_c
/// ([`crate::theory::bms::sweep_lines`], the line of `hebbnet theory` on the sweep spec) is a
/// dashed vertical line in both panels; where the theory gives none, the legend says why.
pub fn dhat_sigma(sweep: &Sweep, out: &Path) -> Result<Outcome> {
    let axis = &sweep.axes[0];
    let p = &sweep.points;
    let Some(xs) = p.f64_column(&axis.key)? else {
        return Ok(Outcome::Skipped(format!("no `{}` column", axis.key)));
    };
    let col = |name: &str| -> Result<Vec<f64>> {
        Ok(p.f64_column(name)?
            .unwrap_or_else(|| vec![f64::NAN; xs.len()]))
    };
    let Some(median) = p.f64_column("log10_d_hat_median")? else {
        return Ok(Outcome::Skipped(
            "no `log10_d_hat_median` column in points.csv (not a BMS sweep)".into(),
        ));
    };
    let mut rows: Vec<usize> = (0..xs.len()).collect();
    rows.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let pick = |v: &[f64]| rows.iter().map(|&k| v[k]).collect::<Vec<f64>>();
    let lines = crate::theory::bms::sweep_lines(&sweep.base_config, &sweep.axes);
    let (lo, hi) = style::bounds(xs.iter().copied()).unwrap_or((1.0, 2.0));
    let onset = match lines.first().map(|l| &l.line) {
        Some(Ok((legend, LineShape::Points(v)))) if !v.is_empty() => {
            let value = v[0];
            let inside = value >= lo && value <= hi;
            Onset::Line {
                value,
                legend: format!(
                    "{legend} = {}{}",
                    style::number_tick(&value),
                    if inside {
                        ""
                    } else {
                        " (outside the swept range)"
                    }
                ),
                inside,
            }
        }
        Some(Ok(_)) => Onset::Missing("the theory gives no point along this axis".into()),
        Some(Err(why)) => Onset::Missing(why.clone()),
        None => Onset::Missing("the theory draws no line for this sweep".into()),
    };
    let replicas = sweep.replicas.or_else(|| {
        p.f64_column("replicas")
            .ok()
            .flatten()
            .and_then(|r| style::bounds(r).map(|(_, hi)| hi as usize))
    });
    let log = axis.spacing == Spacing::Log
        || (lo > 0.0 && axis.spacing == Spacing::List && hi / lo >= 20.0);
    let x = if log {
        let (a, b) = (lo.ln(), hi.ln());
        let pad = (b - a).max(0.1) * 0.04;
        (a - pad).exp()..(b + pad).exp()
    } else {
        style::padded(lo, hi, 0.04)
    };
    let symbol = if axis.key == "weights.std" {
        "σ"
    } else {
        axis.key.as_str()
    };
    let fig = DhatFigure {
        title: format!(
            "Order parameter d̂ against {symbol}{}",
            replicas
                .map(|r| format!(" ({r} replica{} per point)", plural(r)))
                .unwrap_or_default()
        ),
        x_label: if axis.key == "weights.std" {
            "weight std σ (weights.std)".into()
        } else {
            axis.key.clone()
        },
        log,
        x,
        xs: pick(&xs),
        median: pick(&median),
        q25: pick(&col("log10_d_hat_q25")?),
        q75: pick(&col("log10_d_hat_q75")?),
        dead: pick(&col("dead_fraction")?),
        periodic: pick(&col("periodic_fraction")?),
        onset,
    };
    Ok(Outcome::Written(style::render(&fig, out, "dhat_sigma")?))
}

enum Onset {
    Line {
        value: f64,
        legend: String,
        inside: bool,
    },
    Missing(String),
}

struct DhatFigure {
    title: String,
    x_label: String,
    log: bool,
    x: Range<f64>,
    xs: Vec<f64>,
    median: Vec<f64>,
    q25: Vec<f64>,
    q75: Vec<f64>,
    dead: Vec<f64>,
    periodic: Vec<f64>,
    onset: Onset,
}

impl Figure for DhatFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        if self.log {
            self.draw_with(root, self.x.clone().log_scale())
        } else {
            self.draw_with(root, self.x.clone())
        }
    }
}

impl DhatFigure {
    fn draw_with<DB: DrawingBackend, X>(&self, root: &DrawingArea<DB, Shift>, x: X) -> DrawResult
    where
        X: AsRangedCoord<Value = f64> + Clone,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let body = style::titled_to_fit(root, &self.title)?;
        let height = body.dim_in_pixel().1;
        let (top, bottom) = body.split_vertically(height * 58 / 100);
        let dash = DASH;
        let onset_line = |y: &Range<f64>| match &self.onset {
            Onset::Line {
                value,
                inside: true,
                ..
            } => Some(vec![(*value, y.start), (*value, y.end)]),
            _ => None,
        };

        // log10 d̂.
        let (lo, hi) = style::bounds(
            self.median
                .iter()
                .chain(&self.q25)
                .chain(&self.q75)
                .copied(),
        )
        .unwrap_or((-1.0, 0.0));
        let y = style::padded(lo, hi, 0.08);
        let mut chart = ChartBuilder::on(&top)
            .margin(15)
            .margin_bottom(0)
            .x_label_area_size(35)
            .y_label_area_size(90)
            .build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .y_desc("log₁₀ d̂")
            .x_labels(10)
            .y_labels(7)
            .x_label_formatter(&style::number_tick)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut lines = draw_band(&mut chart, &self.xs, &self.q25, &self.q75, BLUE)?;
        lines.extend(draw_line(&mut chart, &self.xs, &self.median, BLUE, 5)?);
        if let Some(line) = onset_line(&y) {
            chart.draw_series(DashedLineSeries::new(
                line.clone(),
                12,
                8,
                dash.stroke_width(3),
            ))?;
            lines.push(line);
        }
        legend_entry(&mut chart, "median over replicas", Key::Line(BLUE))?;
        legend_entry(&mut chart, "q25–q75 over replicas", Key::Band(BLUE))?;
        self.onset_legend(&mut chart)?;
        place_legend(&mut chart, &lines, 0.5, 0.32)?;

        // Dead and periodic fractions.
        let y = -0.05..1.05;
        let mut chart = ChartBuilder::on(&bottom)
            .margin(15)
            .margin_top(5)
            .x_label_area_size(65)
            .y_label_area_size(90)
            .build_cartesian_2d(x, y.clone())?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc("fraction of replicas")
            .x_labels(10)
            .y_labels(6)
            .x_label_formatter(&style::number_tick)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut lines = draw_line(&mut chart, &self.xs, &self.dead, GREY, 5)?;
        lines.extend(draw_line(&mut chart, &self.xs, &self.periodic, GREEN, 5)?);
        if let Some(line) = onset_line(&y) {
            chart.draw_series(DashedLineSeries::new(
                line.clone(),
                12,
                8,
                dash.stroke_width(3),
            ))?;
            lines.push(line);
        }
        legend_entry(&mut chart, "dead (no spike in the window)", Key::Line(GREY))?;
        legend_entry(
            &mut chart,
            "periodic (period ≤ T/2 found)",
            Key::Line(GREEN),
        )?;
        self.onset_legend(&mut chart)?;
        place_legend(&mut chart, &lines, 0.5, 0.45)?;
        Ok(())
    }
}

impl DhatFigure {
    fn onset_legend<'a, DB, CT>(&self, chart: &mut ChartContext<'a, DB, CT>) -> DrawResult
    where
        DB: DrawingBackend + 'a,
        CT: CoordTranslate<From = (f64, f64)>,
    {
        match &self.onset {
            Onset::Line { legend, .. } => legend_entry(chart, legend, Key::Dashed(DASH)),
            Onset::Missing(why) => legend_entry(
                chart,
                &format!("no mean-field σ_c: {}", shorten(why, 70)),
                Key::Note,
            ),
        }
    }
}

/// `text` cut at a word boundary to at most `max` characters, with "…".
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_bars_pool_many_values() {
        assert_eq!(
            period_bars(&[2, 2, 5]),
            vec![("2".to_string(), 2), ("5".to_string(), 1)]
        );
        let many: Vec<usize> = (1..=40).collect();
        let bars = period_bars(&many);
        assert_eq!(bars[0], ("1".to_string(), 1));
        assert_eq!(bars[2], ("3–4".to_string(), 2));
        assert_eq!(bars.iter().map(|b| b.1).sum::<usize>(), 40);
    }

    #[test]
    fn shorten_cuts_at_a_word() {
        assert_eq!(shorten("abc def ghi", 8), "abc def…");
        assert_eq!(shorten("short", 8), "short");
    }
}
