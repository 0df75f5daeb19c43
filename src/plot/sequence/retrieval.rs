//! Figures of a run's time series (models/jiang.md §4, §7.4, §7.7): the overlaps m^μ(t)
//! (`retrieval`), the distance of the paired twins (`pair_distance`) and Var h against time with
//! the plateau of §6 (`plateau`). Times in τ.

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::theory;
use super::Source;
use crate::error::Result;
use crate::plot::data::Array;
use crate::plot::spiking::{draw_band, draw_line, legend_entry, place_legend, Key};
use crate::plot::style::{self, font, DrawResult, Figure, BLUE, GREY, VERMILLION};
use crate::plot::Outcome;

/// Most patterns drawn in `retrieval` (the paper: the first 40).
pub const MAX_PATTERNS: usize = 40;
/// Most single trajectories drawn faintly in `plateau`.
const MAX_TRAJECTORIES: usize = 60;

/// The `q`-quantile (linear interpolation) of the finite values; NaN when there are none.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// A measure's series per trajectory from `activity.npy` (R, K, S, 5): `[trajectory][sample]`.
fn measure(a: &Array, column: usize) -> Vec<Vec<f64>> {
    let (r, k, s, m) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3]);
    (0..r * k)
        .map(|t| (0..s).map(|j| a.data[(t * s + j) * m + column]).collect())
        .collect()
}

/// Per sample: the (q25, median, q75) over trajectories.
fn quartiles(series: &[Vec<f64>]) -> [Vec<f64>; 3] {
    let samples = series.first().map_or(0, Vec::len);
    let at = |q: f64| -> Vec<f64> {
        (0..samples)
            .map(|j| quantile(&series.iter().map(|s| s[j]).collect::<Vec<_>>(), q))
            .collect()
    };
    [at(0.25), at(0.5), at(0.75)]
}

/// `n` in superscript digits (ξ¹ for the paper's first pattern).
fn superscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

fn start_text(source: &Source) -> String {
    let s = source.setting;
    match (s.cue, s.variance) {
        (Some(mu), _) => format!("h(0) = ξ{}", superscript(mu + 1)),
        (None, Some(v)) => format!("h(0) ~ N(0, {})", style::number_tick(&v)),
        (None, None) => "h(0) drawn".to_string(),
    }
}

fn trajectories_text(source: &Source, count: usize) -> String {
    let k = source.setting.conditions;
    if k > 1 {
        format!("{} networks × {k} starts", count / k)
    } else {
        format!("{count} networks")
    }
}

fn activity(source: &Source) -> Result<Option<Array>> {
    source.real("activity", 4, "(replica, condition, sample, measure)")
}

// ---------------------------------------------------------------------------------------------
// retrieval

/// **`retrieval`**: the mean over every trajectory (replicas × initial conditions) of m^μ(t)
/// for the first ≤ 40 patterns, one line per pattern coloured by μ; below, the spread over
/// trajectories of max_μ m^μ(t) (median, quartiles, range) with the retrieval threshold ½.
pub fn retrieval(source: &Source, out: &Path) -> Result<Outcome> {
    let Some(a) = source.real("overlaps", 4, "(replica, condition, sample, pattern)")? else {
        return Ok(Outcome::Skipped("no overlaps.npy".into()));
    };
    let (r, k, samples, p) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3]);
    let count = r * k;
    if count == 0 || samples == 0 || p == 0 {
        return Ok(Outcome::Skipped(format!(
            "overlaps.npy has shape {:?}: nothing recorded",
            a.shape
        )));
    }
    let s = source.setting;
    let shown = p.min(MAX_PATTERNS);
    let time: Vec<f64> = (0..samples).map(|j| s.time(j)).collect();
    let at = |t: usize, j: usize, mu: usize| a.data[(t * samples + j) * p + mu];
    let mean: Vec<Vec<f64>> = (0..shown)
        .map(|mu| {
            (0..samples)
                .map(|j| (0..count).map(|t| at(t, j, mu)).sum::<f64>() / count as f64)
                .collect()
        })
        .collect();
    let best: Vec<Vec<f64>> = (0..count)
        .map(|t| {
            (0..samples)
                .map(|j| {
                    (0..p)
                        .map(|mu| at(t, j, mu))
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect()
        })
        .collect();
    let [q25, median, q75] = quartiles(&best);
    let min: Vec<f64> = (0..samples)
        .map(|j| quantile(&best.iter().map(|b| b[j]).collect::<Vec<_>>(), 0.0))
        .collect();
    let max: Vec<f64> = (0..samples)
        .map(|j| quantile(&best.iter().map(|b| b[j]).collect::<Vec<_>>(), 1.0))
        .collect();
    let fig = RetrievalFigure {
        title: format!(
            "Sequence retrieval: {}, {} ({}, N = {}, {})",
            s.couplings(),
            start_text(source),
            trajectories_text(source, count),
            s.neurons,
            format_args!("a = {}", style::number_tick(&s.leak)),
        ),
        time,
        mean,
        patterns: p,
        transient: (s.transient > 0).then_some(s.transient as f64 * s.leak),
        median,
        q25,
        q75,
        min,
        max,
    };
    Ok(Outcome::Written(style::render(&fig, out, "retrieval")?))
}

struct RetrievalFigure {
    title: String,
    time: Vec<f64>,
    /// `[μ][sample]`, the shown patterns.
    mean: Vec<Vec<f64>>,
    patterns: usize,
    /// The end of the transient, in τ.
    transient: Option<f64>,
    median: Vec<f64>,
    q25: Vec<f64>,
    q75: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

/// The colour of pattern `mu` of `shown`.
fn pattern_color(mu: usize, shown: usize) -> RGBColor {
    style::viridis(mu as f64 / (shown.max(2) - 1) as f64 * 0.95)
}

fn time_range(time: &[f64]) -> Range<f64> {
    let (lo, hi) = style::bounds(time.iter().copied()).unwrap_or((0.0, 1.0));
    if hi > lo {
        lo..hi
    } else {
        lo - 0.5..hi + 0.5
    }
}

/// A chart with a time axis in τ (labelled when `x_desc`).
fn time_chart<'a, DB: DrawingBackend + 'a, Y>(
    area: &'a DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Y,
    x_desc: bool,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> std::result::Result<
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y::CoordDescType>>,
    style::DrawError,
>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(if x_desc { 60 } else { 35 })
        .y_label_area_size(90)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(if x_desc { "time t (τ)" } else { "" })
        .y_desc(y_desc)
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&super::tick)
        .y_label_formatter(y_format)
        .axis_desc_style(font(style::AXIS_SIZE))
        .label_style(font(style::TICK_SIZE))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()?;
    Ok(chart)
}

/// A tick of a log axis: 1e−5 below 10⁻³, else [`style::number_tick`].
fn log_tick(v: &f64) -> String {
    if *v > 0.0 && *v < 1e-3 {
        format!("{v:.0e}").replace('-', "−")
    } else {
        style::number_tick(v)
    }
}

/// A vertical dotted line at the end of the transient, with its legend entry.
fn transient_line<'a, DB: DrawingBackend + 'a, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: Option<f64>,
    y: &Range<f64>,
) -> std::result::Result<Vec<Vec<(f64, f64)>>, style::DrawError>
where
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    let Some(t) = at else { return Ok(Vec::new()) };
    let line = vec![(t, y.start), (t, y.end)];
    let dash = GREY.mix(0.8).stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(line.clone(), 4, 5, dash))?
        .label("end of the transient (window after)")
        .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 3, 4, dash));
    Ok(vec![line])
}

impl Figure for RetrievalFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let height = body.dim_in_pixel().1;
        let (top, bottom) = body.split_vertically(height * 60 / 100);
        let x = time_range(&self.time);
        let shown = self.mean.len();

        let (lo, hi) = style::bounds(self.mean.iter().flatten().copied()).unwrap_or((0.0, 1.0));
        let y = style::padded(lo.min(0.0), hi.max(0.1), 0.06);
        let mut chart = time_chart(
            &top,
            x.clone(),
            y.clone(),
            false,
            "mean overlap m^μ(t)",
            &super::tick,
        )?;
        let mut lines = Vec::new();
        for (mu, series) in self.mean.iter().enumerate() {
            lines.extend(draw_line(
                &mut chart,
                &self.time,
                series,
                pattern_color(mu, shown),
                0,
            )?);
        }
        for mu in [0, shown / 2, shown - 1] {
            let label = format!("μ = {}", mu + 1);
            if mu > 0 && mu == shown / 2 && shown < 3 {
                continue;
            }
            legend_entry(&mut chart, &label, Key::Line(pattern_color(mu, shown)))?;
        }
        let note = if self.patterns > shown {
            format!(
                "first {shown} of P = {} patterns, colour by μ",
                self.patterns
            )
        } else {
            format!("all P = {} patterns, colour by μ", self.patterns)
        };
        legend_entry(&mut chart, &note, Key::Note)?;
        lines.extend(transient_line(&mut chart, self.transient, &y)?);
        place_legend(&mut chart, &lines, 0.4, 0.4)?;

        let (lo, hi) =
            style::bounds(self.min.iter().chain(&self.max).copied()).unwrap_or((0.0, 1.0));
        let y = style::padded(lo.min(0.0), hi.max(0.6), 0.06);
        let mut chart = time_chart(
            &bottom,
            x.clone(),
            y.clone(),
            true,
            "max_μ m^μ(t)",
            &super::tick,
        )?;
        let mut lines = Vec::new();
        chart.draw_series(std::iter::once(Polygon::new(
            self.time
                .iter()
                .zip(&self.min)
                .map(|(&t, &v)| (t, v))
                .chain(self.time.iter().zip(&self.max).rev().map(|(&t, &v)| (t, v)))
                .filter(|p| p.1.is_finite())
                .collect::<Vec<_>>(),
            BLUE.mix(0.08).filled(),
        )))?;
        lines.extend(draw_band(
            &mut chart, &self.time, &self.q25, &self.q75, BLUE,
        )?);
        lines.extend(draw_line(&mut chart, &self.time, &self.median, BLUE, 0)?);
        let half = vec![(x.start, 0.5), (x.end, 0.5)];
        let dash = VERMILLION.stroke_width(2);
        chart.draw_series(DashedLineSeries::new(half.clone(), 10, 6, dash))?;
        lines.push(half);
        legend_entry(&mut chart, "median over trajectories", Key::Line(BLUE))?;
        legend_entry(&mut chart, "q25–q75 (light: min–max)", Key::Band(BLUE))?;
        legend_entry(&mut chart, "½: retrieving above", Key::Dashed(VERMILLION))?;
        lines.extend(transient_line(&mut chart, self.transient, &y)?);
        place_legend(&mut chart, &lines, 0.4, 0.55)
    }
}

// ---------------------------------------------------------------------------------------------
// pair_distance

/// **`pair_distance`**: ‖h − h′‖/√N of each trajectory and its twin (started ε N(0, 1) away,
/// `jiang.pair_perturbation`) against t, on a log scale: median and quartiles over
/// trajectories, every trajectory faint.
pub fn pair_distance(source: &Source, out: &Path) -> Result<Outcome> {
    let s = source.setting;
    if !s.twins {
        return Ok(Outcome::Skipped(
            "no twins (set jiang.pair_perturbation to pair each trajectory with a perturbed copy)"
                .into(),
        ));
    }
    let Some(a) = activity(source)? else {
        return Ok(Outcome::Skipped("no activity.npy".into()));
    };
    if a.shape[3] < 5 {
        return Ok(Outcome::Skipped(format!(
            "activity.npy has shape {:?}: no distance column",
            a.shape
        )));
    }
    let series: Vec<Vec<f64>> = measure(&a, 4)
        .into_iter()
        .map(|v| {
            v.into_iter()
                .map(|d| if d > 0.0 { d } else { f64::NAN })
                .collect()
        })
        .collect();
    if !series.iter().flatten().any(|v| v.is_finite()) {
        return Ok(Outcome::Skipped(
            "the twin distance is NaN or 0 everywhere".into(),
        ));
    }
    let count = series.len();
    let [q25, median, q75] = quartiles(&series);
    let samples = median.len();
    let fig = PairFigure {
        title: format!(
            "Distance of paired twins: {}, {} ({}, N = {})",
            s.couplings(),
            start_text(source),
            trajectories_text(source, count),
            s.neurons
        ),
        time: (0..samples).map(|j| s.time(j)).collect(),
        series: series.into_iter().take(MAX_TRAJECTORIES).collect(),
        total: count,
        q25,
        median,
        q75,
        transient: (s.transient > 0).then_some(s.transient as f64 * s.leak),
    };
    Ok(Outcome::Written(style::render(&fig, out, "pair_distance")?))
}

struct PairFigure {
    title: String,
    time: Vec<f64>,
    series: Vec<Vec<f64>>,
    total: usize,
    q25: Vec<f64>,
    median: Vec<f64>,
    q75: Vec<f64>,
    transient: Option<f64>,
}

impl Figure for PairFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let (lo, hi) = style::bounds(self.series.iter().flatten().copied().filter(|v| *v > 0.0))
            .unwrap_or((1e-6, 1.0));
        let y = lo / 1.5..(hi * 1.5).max(lo * 10.0);
        let x = time_range(&self.time);
        let mut chart = time_chart(
            &body,
            x,
            y.clone().log_scale(),
            true,
            "twin distance ‖h − h′‖/√N",
            &log_tick,
        )?;
        for s in &self.series {
            let points: Vec<(f64, f64)> =
                self.time.iter().copied().zip(s.iter().copied()).collect();
            for seg in style::segments(&points) {
                chart.draw_series(LineSeries::new(seg, GREY.mix(0.3).stroke_width(1)))?;
            }
        }
        let mut lines = draw_band(&mut chart, &self.time, &self.q25, &self.q75, BLUE)?;
        lines.extend(draw_line(&mut chart, &self.time, &self.median, BLUE, 0)?);
        legend_entry(&mut chart, "median over trajectories", Key::Line(BLUE))?;
        legend_entry(&mut chart, "q25–q75", Key::Band(BLUE))?;
        let faint = if self.series.len() < self.total {
            format!(
                "single trajectories (first {} of {})",
                self.series.len(),
                self.total
            )
        } else {
            "single trajectories".to_string()
        };
        legend_entry(&mut chart, &faint, Key::Line(GREY))?;
        lines.extend(transient_line(&mut chart, self.transient, &y)?);
        place_legend(&mut chart, &lines, 0.4, 0.3)
    }
}

// ---------------------------------------------------------------------------------------------
// plateau (run)

/// **`plateau`** of a run (c = 0, d = 1): Var_i h_i against t for every trajectory (faint) and
/// the median, with the plateau σ_r² of §6 where the Jacobian's right edge is 1 (approximate:
/// "plot, don't test").
pub fn plateau_in_time(source: &Source, out: &Path) -> Result<Outcome> {
    let s = source.setting;
    if !s.closed_form() {
        return Ok(Outcome::Skipped(format!(
            "the plateau theory (§6) is for c = 0, d = 1 (b = 0); this run has {}",
            s.couplings()
        )));
    }
    if let Err(why) = theory::applies(s) {
        return Ok(Outcome::Skipped(why));
    }
    let Some(a) = activity(source)? else {
        return Ok(Outcome::Skipped("no activity.npy".into()));
    };
    let series = measure(&a, 1);
    let count = series.len();
    let [_, median, _] = quartiles(&series);
    let samples = median.len();
    let plateau = theory::plateau_variance(s);
    let gamma_c = theory::gamma_c(s);
    let fig = PlateauFigure {
        title: format!(
            "Variance of h against time: {}, {} ({}, N = {})",
            s.couplings(),
            start_text(source),
            trajectories_text(source, count),
            s.neurons
        ),
        time: (0..samples).map(|j| s.time(j)).collect(),
        series: series.into_iter().take(MAX_TRAJECTORIES).collect(),
        total: count,
        median,
        plateau,
        why_none: match gamma_c {
            Some(g) if s.heteroassociation.abs() <= g => format!(
                "theory: no plateau, |γ| ≤ γ_c = {} (h → 0)",
                style::number_tick(&g)
            ),
            _ => "theory: no plateau found".to_string(),
        },
        transient: (s.transient > 0).then_some(s.transient as f64 * s.leak),
    };
    Ok(Outcome::Written(style::render(&fig, out, "plateau")?))
}

struct PlateauFigure {
    title: String,
    time: Vec<f64>,
    series: Vec<Vec<f64>>,
    total: usize,
    median: Vec<f64>,
    plateau: Option<f64>,
    why_none: String,
    transient: Option<f64>,
}

impl Figure for PlateauFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let (lo, hi) = style::bounds(
            self.series
                .iter()
                .flatten()
                .copied()
                .chain(self.plateau)
                .chain([0.0]),
        )
        .unwrap_or((0.0, 1.0));
        let y = style::padded(lo, hi, 0.06);
        let x = time_range(&self.time);
        let mut chart = time_chart(
            &body,
            x.clone(),
            y.clone(),
            true,
            "σ_r² = Var_i h_i(t)",
            &super::tick,
        )?;
        let mut lines = Vec::new();
        for s in &self.series {
            let points: Vec<(f64, f64)> =
                self.time.iter().copied().zip(s.iter().copied()).collect();
            for seg in style::segments(&points) {
                chart.draw_series(LineSeries::new(seg.clone(), GREY.mix(0.35).stroke_width(1)))?;
                lines.push(seg);
            }
        }
        lines.extend(draw_line(&mut chart, &self.time, &self.median, BLUE, 0)?);
        let faint = if self.series.len() < self.total {
            format!(
                "single trajectories (first {} of {})",
                self.series.len(),
                self.total
            )
        } else {
            "single trajectories".to_string()
        };
        legend_entry(&mut chart, &faint, Key::Line(GREY))?;
        legend_entry(&mut chart, "median over trajectories", Key::Line(BLUE))?;
        match self.plateau {
            Some(v) => {
                let line = vec![(x.start, v), (x.end, v)];
                chart.draw_series(DashedLineSeries::new(
                    line.clone(),
                    12,
                    8,
                    VERMILLION.stroke_width(3),
                ))?;
                lines.push(line);
                legend_entry(
                    &mut chart,
                    &format!(
                        "theory plateau σ_r² = {}: γ²(α⟨φ′²⟩ + ⟨φ′⟩²) = 1 (§6)",
                        style::number_tick(&v)
                    ),
                    Key::Dashed(VERMILLION),
                )?;
            }
            None => legend_entry(&mut chart, &self.why_none, Key::Note)?,
        }
        lines.extend(transient_line(&mut chart, self.transient, &y)?);
        place_legend(&mut chart, &lines, 0.5, 0.3)
    }
}
