//! Figures along a Jiang sweep's axes, data beside theory: the right edge against γ
//! (`right_edge`), the instability of h = 0 over (α, γ) (`transition`), the largest exponent and
//! the attractor classes along the α and γ slices (`lyapunov`, `attractors`) and the plateau
//! variance against γ (`plateau`).
//!
//! Per-point means come from `points.csv`, single networks and trajectories from the sweep's
//! `epochs.csv` (its `point` column names the point).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::legend::{self, Legend, Mark};
use super::theory::{self, axis_extent, spread, CURVE_POINTS};
use super::{Point, Setting};
use crate::error::Result;
use crate::output::write_atomic;
use crate::plot::data::{Sweep, Table};
use crate::plot::spiking::draw_band;
use crate::plot::style::{self, font, DrawResult, Figure, PALETTE, VERMILLION};
use crate::plot::Outcome;
use crate::theory::plane::{cell_edges, slices};

const LOAD: &str = "jiang.load";
/// Reference lines (x_R = 1, λ = 0).
const REFERENCE: RGBColor = RGBColor(90, 90, 90);
const GAMMA: &str = "jiang.heteroassociation";
/// The slices of `lyapunov` and `attractors`: γ nearest this (the paper's exponent against α)…
const GAMMA_SLICE: f64 = 1.5;
/// …and α nearest this (its exponent against γ).
const LOAD_SLICE: f64 = 0.5;

/// The sweep as the figures read it: its grid, its points' settings, and `epochs.csv`.
pub struct Grid<'a> {
    sweep: &'a Sweep,
    points: &'a [Point],
    /// Per `points.csv` row, the index of its value on every axis.
    rows: Vec<Vec<usize>>,
    /// The sweep's `epochs.csv`, when present.
    epochs: Option<Table>,
    /// The base config's setting (for theory curves between the points).
    base: Setting,
}

/// The rows of `points.csv` on one curve, in increasing order of the x axis.
struct Series {
    /// The value of the curve axis, when there is one.
    value: Option<f64>,
    rows: Vec<usize>,
}

/// The curves of one panel, which fixes the values of the other axes.
struct PanelRows {
    /// (axis, value index) of every axis that is neither x nor the curve axis.
    fixed: Vec<(usize, usize)>,
    series: Vec<Series>,
}

/// The short symbol of a Jiang key, for panel titles and legends.
fn symbol(key: &str) -> &str {
    match key {
        LOAD => "α",
        "jiang.autoassociation" => "c",
        GAMMA => "γ",
        "jiang.depth" => "d",
        "jiang.backward" => "b",
        "initial_state.std" => "σ₀",
        "jiang.neurons" => "N",
        "jiang.leak" => "a",
        other => other,
    }
}

fn label(key: &str) -> String {
    crate::plot::heatmap::axis_symbol(key).map_or_else(|| key.to_string(), |s| s.to_string())
}

impl<'a> Grid<'a> {
    pub fn new(sweep: &'a Sweep, points: &'a [Point]) -> Result<Grid<'a>> {
        let path = sweep.dir.join("epochs.csv");
        let epochs = if path.is_file() {
            Some(Table::read(&path)?)
        } else {
            None
        };
        Ok(Grid {
            sweep,
            points,
            rows: sweep.grid_indices()?,
            epochs,
            base: super::base_setting(sweep)?,
        })
    }

    fn axis(&self, key: &str) -> Option<usize> {
        self.sweep.axes.iter().position(|a| a.key == key)
    }

    /// A `points.csv` column (NaN where absent).
    fn column(&self, name: &str) -> Result<Option<Vec<f64>>> {
        self.sweep.points.f64_column(name)
    }

    /// Per `points.csv` row, the values of an `epochs.csv` column at that point (of the first
    /// initial condition only with `first_condition`).
    fn per_point(&self, name: &str, first_condition: bool) -> Result<Option<Vec<Vec<f64>>>> {
        let Some(epochs) = &self.epochs else {
            return Ok(None);
        };
        let Some(values) = epochs.f64_column(name)? else {
            return Ok(None);
        };
        if !epochs.has("point") {
            return Ok(None);
        }
        let point = epochs.usize_column("point")?;
        let condition = if epochs.has("condition") {
            Some(epochs.usize_column("condition")?)
        } else {
            None
        };
        let row_of: BTreeMap<usize, usize> = self.points.iter().map(|p| (p.index, p.row)).collect();
        let mut out = vec![Vec::new(); self.points.len()];
        for (k, (&p, &v)) in point.iter().zip(&values).enumerate() {
            if first_condition && condition.as_ref().is_some_and(|c| c[k] != 0) {
                continue;
            }
            if let Some(&row) = row_of.get(&p) {
                out[row].push(v);
            }
        }
        Ok(Some(out))
    }

    /// Panels and curves along axis `x`: one curve per value of `curve`, one panel per value
    /// combination of the remaining axes (`only` restricts an axis to one value index).
    fn layout(&self, x: usize, curve: Option<usize>, only: &[(usize, usize)]) -> Vec<PanelRows> {
        let axes = &self.sweep.axes;
        let rest: Vec<usize> = (0..axes.len())
            .filter(|&a| a != x && Some(a) != curve && !only.iter().any(|o| o.0 == a))
            .collect();
        let rest_axes: Vec<_> = rest.iter().map(|&a| axes[a].clone()).collect();
        let mut panels = Vec::new();
        for slice in slices(&rest_axes) {
            let fixed: Vec<(usize, usize)> = rest.iter().copied().zip(slice).collect();
            let matches = |index: &[usize]| fixed.iter().chain(only).all(|&(a, k)| index[a] == k);
            let curve_values: Vec<Option<usize>> = match curve {
                Some(c) => (0..axes[c].values.len()).map(Some).collect(),
                None => vec![None],
            };
            let mut series = Vec::new();
            for cv in curve_values {
                let mut rows: Vec<usize> = (0..self.rows.len())
                    .filter(|&r| {
                        matches(&self.rows[r])
                            && cv.is_none_or(|k| curve.is_some_and(|c| self.rows[r][c] == k))
                    })
                    .collect();
                rows.sort_by(|&a, &b| {
                    axes[x].values[self.rows[a][x]].total_cmp(&axes[x].values[self.rows[b][x]])
                });
                if !rows.is_empty() {
                    series.push(Series {
                        value: cv.zip(curve).map(|(k, c)| axes[c].values[k]),
                        rows,
                    });
                }
            }
            if !series.is_empty() {
                panels.push(PanelRows { fixed, series });
            }
        }
        panels
    }

    /// "c = 0, d = 1" for the fixed values of a panel.
    fn fixed_text(&self, fixed: &[(usize, usize)]) -> String {
        fixed
            .iter()
            .map(|&(a, k)| {
                let axis = &self.sweep.axes[a];
                format!(
                    "{} = {}",
                    symbol(&axis.key),
                    style::number_tick(&axis.values[k])
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The x value of `points.csv` row `r` on axis `x`.
    fn x_of(&self, x: usize, r: usize) -> f64 {
        self.sweep.axes[x].values[self.rows[r][x]]
    }

    /// The setting of a row (its point's config).
    fn setting(&self, r: usize) -> &Setting {
        &self.points[r].setting
    }

    /// The axis along which the curves of a figure along `x` are told apart: α when swept,
    /// else the first other axis.
    fn curve_axis(&self, x: usize) -> Option<usize> {
        self.axis(LOAD)
            .filter(|&a| a != x)
            .or_else(|| (0..self.sweep.axes.len()).find(|&a| a != x))
    }

    fn replicas(&self) -> String {
        match self.sweep.replicas {
            Some(r) => format!("{r} network{} per point", if r == 1 { "" } else { "s" }),
            None => String::new(),
        }
    }

    /// The index of the value of axis `a` nearest `target`.
    fn nearest(&self, a: usize, target: f64) -> usize {
        let values = &self.sweep.axes[a].values;
        (0..values.len())
            .min_by(|&i, &j| {
                (values[i] - target)
                    .abs()
                    .total_cmp(&(values[j] - target).abs())
            })
            .unwrap_or(0)
    }

    fn neurons(&self) -> String {
        format!("N = {}", self.base.neurons)
    }
}

/// The colour of curve `k` of `n`.
fn series_color(k: usize, n: usize) -> RGBColor {
    if n <= 6 {
        PALETTE[k]
    } else {
        style::viridis(k as f64 / (n - 1) as f64 * 0.9)
    }
}

/// The x range of a line plot of these values (padded, by a factor on a log axis) and `n`
/// values from the smallest to the largest, where theory curves are drawn.
fn data_extent(values: &[f64], log: bool, n: usize) -> (Range<f64>, Vec<f64>) {
    let (lo, hi) = style::bounds(values.iter().copied()).unwrap_or((0.0, 1.0));
    let range = if log {
        lo / 1.25..hi * 1.25
    } else {
        style::padded(lo, hi, 0.04)
    };
    (range, spread(&(lo..hi), log, n))
}

/// Whether an axis of these values reads better on a log scale.
fn wants_log(values: &[f64]) -> bool {
    style::bounds(values.iter().copied()).is_some_and(|(lo, hi)| lo > 0.0 && hi / lo >= 20.0)
}

// ---------------------------------------------------------------------------------------------
// A panel of curves: data (mean, spread, every network or trajectory) and theory lines.

/// How the spread of a curve's points is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Spread {
    /// Vertical bars from `low` to `high`.
    Bars,
    /// A band from `low` to `high`.
    Band,
}

struct DataSeries {
    color: RGBColor,
    label: String,
    x: Vec<f64>,
    mean: Vec<f64>,
    low: Vec<f64>,
    high: Vec<f64>,
    /// Every network or trajectory, drawn as faint dots.
    dots: Vec<(f64, f64)>,
}

struct TheoryCurve {
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

struct LinePanel {
    title: String,
    x_desc: String,
    y_desc: String,
    x_log: bool,
    x: Range<f64>,
    series: Vec<DataSeries>,
    spread: Spread,
    /// What the dots, the mean and the spread are (legend entries in black).
    dots_label: String,
    mean_label: String,
    spread_label: String,
    theory: Vec<TheoryCurve>,
    theory_label: Option<String>,
    /// Horizontal (y, legend) and vertical (x, legend, colour) reference lines.
    hlines: Vec<(f64, String)>,
    vlines: Vec<(f64, String, RGBColor)>,
    notes: Vec<String>,
}

struct LinesFigure {
    title: String,
    panels: Vec<LinePanel>,
}

/// (columns, rows) of a grid of `n` panels.
fn grid_shape(n: usize) -> (usize, usize) {
    let cols = match n {
        0 | 1 => 1,
        2 => 2,
        3 | 4 => 2,
        5 | 6 => 3,
        _ => (n as f64).sqrt().ceil() as usize,
    };
    (cols, n.div_ceil(cols).max(1))
}

fn panel_size(n: usize) -> (u32, u32) {
    let (cols, rows) = grid_shape(n);
    if n <= 1 {
        return style::SIZE;
    }
    (
        (700 * cols as u32).max(1200),
        (560 * rows as u32 + 60).max(800),
    )
}

impl Figure for LinesFigure {
    fn size(&self) -> (u32, u32) {
        panel_size(self.panels.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let mut key = Legend::default();
        for panel in &self.panels {
            key.extend(&panel.legend());
        }
        let body = key.below(&body, legend::size(self.panels.len()))?;
        let (cols, rows) = grid_shape(self.panels.len());
        let areas = body.split_evenly((rows, cols));
        let small = self.panels.len() > 1;
        for (panel, area) in self.panels.iter().zip(&areas) {
            let area = if panel.title.is_empty() {
                area.clone()
            } else {
                area.titled(&panel.title, font(style::PANEL_TITLE_SIZE))?
            };
            let y = panel.y_range();
            if panel.x_log {
                panel.draw(&area, panel.x.clone().log_scale(), y, small)?;
            } else {
                panel.draw(&area, panel.x.clone(), y, small)?;
            }
        }
        Ok(())
    }
}

impl LinePanel {
    /// The panel's legend entries (the figure draws them once, below its panels).
    fn legend(&self) -> Legend {
        let mut key = Legend::default();
        let single = self.series.len() == 1;
        let mark = if single {
            self.series[0].color
        } else {
            RGBColor(40, 40, 40)
        };
        if !single {
            for s in &self.series {
                key.push(Mark::Line(s.color), s.label.as_str());
            }
        }
        // Dots and a spread only where a point has several networks or trajectories.
        if self.series.iter().any(|s| s.dots.len() > s.x.len()) {
            key.push(Mark::Faint(mark), self.dots_label.as_str());
        }
        key.push(Mark::LineDot(mark), self.mean_label.as_str());
        let spread = self
            .series
            .iter()
            .any(|s| s.low.iter().zip(&s.high).any(|(lo, hi)| hi > lo));
        if spread {
            let m = match self.spread {
                Spread::Band => Mark::Band(mark),
                Spread::Bars => Mark::Range(mark),
            };
            key.push(m, self.spread_label.as_str());
        }
        if let Some(label) = &self.theory_label {
            if self
                .theory
                .iter()
                .any(|t| t.points.iter().any(|p| p.1.is_finite()))
            {
                key.push(
                    Mark::Dashed(if single { VERMILLION } else { mark }),
                    label.as_str(),
                );
            }
        }
        for (_, label) in &self.hlines {
            key.push(Mark::Dotted(REFERENCE), label.as_str());
        }
        for (_, label, color) in &self.vlines {
            key.push(Mark::Dotted(*color), label.as_str());
        }
        for note in &self.notes {
            key.push(Mark::Note, note.as_str());
        }
        key
    }

    fn y_range(&self) -> Range<f64> {
        let values = self
            .series
            .iter()
            .flat_map(|s| {
                s.mean
                    .iter()
                    .chain(&s.low)
                    .chain(&s.high)
                    .copied()
                    .chain(s.dots.iter().map(|d| d.1))
            })
            .chain(
                self.theory
                    .iter()
                    .flat_map(|t| t.points.iter().map(|p| p.1)),
            )
            .chain(self.hlines.iter().map(|h| h.0));
        let (lo, hi) = style::bounds(values).unwrap_or((0.0, 1.0));
        style::padded(lo, hi, 0.08)
    }

    fn draw<DB: DrawingBackend, X>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x: X,
        y: Range<f64>,
        small: bool,
    ) -> DrawResult
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x, y.clone())?;
        let (axis, tick) = if small {
            (style::AXIS_SIZE - 2, style::TICK_SIZE - 2)
        } else {
            (style::AXIS_SIZE, style::TICK_SIZE)
        };
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_labels(8)
            .y_labels(7)
            .x_label_formatter(&super::tick)
            .y_label_formatter(&super::tick)
            .axis_desc_style(font(axis))
            .label_style(font(tick))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (value, _) in &self.hlines {
            chart.draw_series(DashedLineSeries::new(
                vec![(self.x.start, *value), (self.x.end, *value)],
                3,
                4,
                REFERENCE.stroke_width(3),
            ))?;
        }
        for (value, _, color) in &self.vlines {
            chart.draw_series(DashedLineSeries::new(
                vec![(*value, y.start), (*value, y.end)],
                4,
                5,
                color.stroke_width(3),
            ))?;
        }
        for s in &self.series {
            chart.draw_series(
                s.dots
                    .iter()
                    .filter(|d| d.0.is_finite() && d.1.is_finite())
                    .map(|&d| Circle::new(d, 3, s.color.mix(0.3).filled())),
            )?;
            if self.spread == Spread::Band {
                draw_band(&mut chart, &s.x, &s.low, &s.high, s.color)?;
            } else {
                for k in 0..s.x.len() {
                    let (lo, hi) = (s.low[k], s.high[k]);
                    if lo.is_finite() && hi.is_finite() && s.x[k].is_finite() {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(s.x[k], lo), (s.x[k], hi)],
                            s.color.stroke_width(2),
                        )))?;
                    }
                }
            }
            let points: Vec<(f64, f64)> = s.x.iter().copied().zip(s.mean.iter().copied()).collect();
            for seg in style::segments(&points) {
                chart.draw_series(LineSeries::new(seg.clone(), s.color.stroke_width(3)))?;
                chart.draw_series(seg.iter().map(|&p| Circle::new(p, 5, s.color.filled())))?;
            }
        }
        for t in &self.theory {
            for seg in style::segments(&t.points) {
                chart.draw_series(DashedLineSeries::new(seg, 12, 7, t.color.stroke_width(3)))?;
            }
        }
        Ok(())
    }
}

/// A curve's data from a `points.csv` column (mean) and the per-point values of an `epochs.csv`
/// column (spread: `spread(values)` → (low, high); dots: every value).
#[allow(clippy::type_complexity)]
fn data_series(
    grid: &Grid,
    x: usize,
    series: &Series,
    mean: &[f64],
    each: Option<&Vec<Vec<f64>>>,
    spread: impl Fn(usize, &[f64]) -> (f64, f64),
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<(f64, f64)>) {
    let xs: Vec<f64> = series.rows.iter().map(|&r| grid.x_of(x, r)).collect();
    let means: Vec<f64> = series.rows.iter().map(|&r| mean[r]).collect();
    let mut low = Vec::new();
    let mut high = Vec::new();
    let mut dots = Vec::new();
    for (&r, &xv) in series.rows.iter().zip(&xs) {
        let values: &[f64] = each.map_or(&[], |e| &e[r]);
        let (lo, hi) = spread(r, values);
        low.push(lo);
        high.push(hi);
        dots.extend(values.iter().map(|&v| (xv, v)));
    }
    (xs, means, low, high, dots)
}

fn min_max(values: &[f64]) -> (f64, f64) {
    style::bounds(values.iter().copied()).unwrap_or((f64::NAN, f64::NAN))
}

/// The legend text of a curve: its value of the curve axis.
fn series_label(grid: &Grid, curve: Option<usize>, series: &Series) -> String {
    match (curve, series.value) {
        (Some(c), Some(v)) => format!(
            "{} = {}",
            symbol(&grid.sweep.axes[c].key),
            style::number_tick(&v)
        ),
        _ => String::new(),
    }
}

/// The setting of a curve between its points: its first point's, with x moved.
fn curve_setting(grid: &Grid, series: &Series) -> Setting {
    grid.setting(series.rows[0]).clone()
}

// ---------------------------------------------------------------------------------------------
// right_edge

/// **`right_edge`**: the sampled right edge x_R = max Re λ(J) against γ (mean over networks,
/// min–max bar, every network a dot), one curve per α (or the first other axis), one panel per
/// value combination of the rest (c, d), with the theory's x_R(γ) dashed and x_R = 1 marked.
pub fn right_edge(grid: &Grid, out: &Path) -> Result<Outcome> {
    let Some(x) = grid.axis(GAMMA) else {
        return Ok(Outcome::Skipped(format!(
            "needs {GAMMA} as a sweep axis (x_R against γ)"
        )));
    };
    let Some(mean) = grid.column("right_edge")? else {
        return Ok(Outcome::Skipped(
            "no `right_edge` column in points.csv".into(),
        ));
    };
    if !mean.iter().any(|v| v.is_finite()) {
        return Ok(Outcome::Skipped(
            "right_edge is NaN at every point (jiang.spectrum was off?)".into(),
        ));
    }
    let each = grid.per_point("right_edge", true)?;
    let curve = grid.curve_axis(x);
    let (range, gammas) = data_extent(&grid.sweep.axes[x].values, false, CURVE_POINTS);
    let mut panels = Vec::new();
    let mut notes_all = Vec::new();
    for panel in grid.layout(x, curve, &[]) {
        let n = panel.series.len();
        let mut series = Vec::new();
        let mut theory = Vec::new();
        let mut notes = Vec::new();
        for (k, s) in panel.series.iter().enumerate() {
            let color = series_color(k, n);
            let (xs, means, low, high, dots) =
                data_series(grid, x, s, &mean, each.as_ref(), |_, v| min_max(v));
            series.push(DataSeries {
                color,
                label: series_label(grid, curve, s),
                x: xs,
                mean: means,
                low,
                high,
                dots,
            });
            let setting = curve_setting(grid, s);
            match theory::applies(&setting) {
                Ok(()) => theory.push(TheoryCurve {
                    color,
                    points: theory::along(&setting, GAMMA, &gammas, theory::right_edge),
                }),
                Err(why) => notes.push(why),
            }
        }
        notes.dedup();
        notes_all.extend(notes.iter().cloned());
        panels.push(LinePanel {
            title: grid.fixed_text(&panel.fixed),
            x_desc: label(GAMMA),
            y_desc: "right edge x_R = max Re λ(J)".into(),
            x_log: false,
            x: range.clone(),
            series,
            spread: Spread::Bars,
            dots_label: "one network".into(),
            mean_label: "mean over networks".into(),
            spread_label: "min–max over networks".into(),
            theory,
            theory_label: Some("theory x_R(γ), eq. (6)".into()),
            hlines: vec![(1.0, "x_R = 1: h = 0 unstable above".into())],
            vlines: Vec::new(),
            notes,
        });
    }
    let fig = LinesFigure {
        title: format!(
            "Right edge of the spectrum of J against γ ({}, {})",
            grid.neurons(),
            grid.replicas()
        ),
        panels,
    };
    Ok(Outcome::Written(style::render(&fig, out, "right_edge")?))
}

// ---------------------------------------------------------------------------------------------
// plateau (sweep)

/// **`plateau`** of a sweep along γ (c = 0, d = 1): the window mean of Var_i h_i (σ_r²) against
/// γ, mean over trajectories and every trajectory, with the theory's plateau variance
/// γ²(α⟨φ′²⟩ + ⟨φ′⟩²) = 1 (§6; none for γ ≤ γ_c).
pub fn plateau(grid: &Grid, out: &Path) -> Result<Outcome> {
    let Some(x) = grid.axis(GAMMA) else {
        return Ok(Outcome::Skipped(format!(
            "needs {GAMMA} as a sweep axis (σ_r² against γ)"
        )));
    };
    let Some(mean) = grid.column("sigma_r2")? else {
        return Ok(Outcome::Skipped(
            "no `sigma_r2` column in points.csv".into(),
        ));
    };
    let steps = grid.base.transient + grid.base.window;
    if steps <= 1 {
        return Ok(Outcome::Skipped(
            "a spectra-only sweep (at most one step of dynamics): no plateau to measure".into(),
        ));
    }
    let each = grid.per_point("sigma_r2", false)?;
    let curve = grid.curve_axis(x);
    let (range, gammas) = data_extent(&grid.sweep.axes[x].values, false, 3 * CURVE_POINTS);
    let mut panels = Vec::new();
    let mut left_out = 0;
    for panel in grid.layout(x, curve, &[]) {
        let closed = panel
            .series
            .iter()
            .flat_map(|s| &s.rows)
            .all(|&r| grid.setting(r).closed_form() && grid.setting(r).no_theory.is_none());
        if !closed {
            left_out += 1;
            continue;
        }
        let n = panel.series.len();
        let mut series = Vec::new();
        let mut theory = Vec::new();
        for (k, s) in panel.series.iter().enumerate() {
            let color = series_color(k, n);
            let (xs, means, low, high, dots) =
                data_series(grid, x, s, &mean, each.as_ref(), |_, _| {
                    (f64::NAN, f64::NAN)
                });
            series.push(DataSeries {
                color,
                label: series_label(grid, curve, s),
                x: xs,
                mean: means,
                low,
                high,
                dots,
            });
            let setting = curve_setting(grid, s);
            theory.push(TheoryCurve {
                color,
                points: theory::along(&setting, GAMMA, &gammas, |s| {
                    theory::plateau_variance(s).unwrap_or(f64::NAN)
                }),
            });
        }
        panels.push(LinePanel {
            title: grid.fixed_text(&panel.fixed),
            x_desc: label(GAMMA),
            y_desc: "σ_r² = Var_i h_i, window mean".into(),
            x_log: false,
            x: range.clone(),
            series,
            spread: Spread::Bars,
            dots_label: "one trajectory".into(),
            mean_label: "mean over trajectories".into(),
            spread_label: String::new(),
            theory,
            theory_label: Some(
                "theory plateau γ²(α⟨φ′²⟩ + ⟨φ′⟩²) = 1, §6 (none for γ ≤ γ_c)".into(),
            ),
            hlines: Vec::new(),
            vlines: Vec::new(),
            notes: Vec::new(),
        });
    }
    if panels.is_empty() {
        return Ok(Outcome::Skipped(
            "the plateau theory (§6) is for c = 0, d = 1 (b = 0): no such slice in this sweep"
                .into(),
        ));
    }
    let mut title = format!(
        "Plateau variance of h against γ, c = 0, d = 1 ({}, {})",
        grid.neurons(),
        grid.replicas()
    );
    if left_out > 0 {
        title.push_str(&format!("; {left_out} slices with c ≠ 0 or d ≠ 1 left out"));
    }
    let fig = LinesFigure { title, panels };
    Ok(Outcome::Written(style::render(&fig, out, "plateau")?))
}

// ---------------------------------------------------------------------------------------------
// lyapunov, attractors: slices along α and γ

/// The files of the α and γ slices: per value combination of the axes that are neither α nor γ,
/// `(suffix, title part, fixed)`.
#[allow(clippy::type_complexity)]
fn slice_files(grid: &Grid, skip: &[usize]) -> Vec<(String, String, Vec<(usize, usize)>)> {
    let rest: Vec<usize> = (0..grid.sweep.axes.len())
        .filter(|a| !skip.contains(a))
        .collect();
    let axes: Vec<_> = rest.iter().map(|&a| grid.sweep.axes[a].clone()).collect();
    slices(&axes)
        .into_iter()
        .map(|slice| {
            let fixed: Vec<(usize, usize)> = rest.iter().copied().zip(slice).collect();
            let suffix: String = fixed
                .iter()
                .map(|&(a, k)| {
                    let axis = &grid.sweep.axes[a];
                    format!("__{}_{}", axis.key, axis.values[k])
                })
                .collect();
            (suffix, grid.fixed_text(&fixed), fixed)
        })
        .collect()
}

/// The slices of a file: along α at the γ nearest 1.5, and along γ at the α nearest 0.5 (each
/// when that axis is swept): `(x axis, the other axis's fixed value, its text)`.
fn slice_axes(grid: &Grid) -> Vec<(usize, Option<(usize, usize)>)> {
    let (load, gamma) = (grid.axis(LOAD), grid.axis(GAMMA));
    let mut out = Vec::new();
    if let Some(a) = load {
        out.push((a, gamma.map(|g| (g, grid.nearest(g, GAMMA_SLICE)))));
    }
    if let Some(g) = gamma {
        out.push((g, load.map(|a| (a, grid.nearest(a, LOAD_SLICE)))));
    }
    out
}

/// **`lyapunov[__KEY_VALUE…]`**: the largest exponent (per τ) against α at the γ nearest 1.5
/// and against γ at the α nearest 0.5 (one file per value combination of the other axes): the
/// mean over trajectories with its 95% CI, every trajectory as a faint dot (several initial
/// conditions per network), λ = 0, the theory γ_c as a vertical line on the γ panel, and the
/// exponent of the decay to h = 0, x_R − 1 (exact while the orbit converges to 0, §6).
pub fn lyapunov(grid: &Grid, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let axes = slice_axes(grid);
    if axes.is_empty() {
        return Ok(vec![(
            "lyapunov".into(),
            Outcome::Skipped(format!("needs {LOAD} or {GAMMA} as a sweep axis")),
        )]);
    }
    let Some(mean) = grid.column("lyapunov")? else {
        return Ok(vec![(
            "lyapunov".into(),
            Outcome::Skipped("no `lyapunov` column in points.csv".into()),
        )]);
    };
    if !mean.iter().any(|v| v.is_finite()) {
        return Ok(vec![(
            "lyapunov".into(),
            Outcome::Skipped(
                "lyapunov is NaN at every point (jiang.lyapunov was off, or no recorded window)"
                    .into(),
            ),
        )]);
    }
    let low = grid.column("lyapunov_lo")?;
    let high = grid.column("lyapunov_hi")?;
    let each = grid.per_point("lyapunov", false)?;
    let skip: Vec<usize> = axes.iter().map(|a| a.0).collect();
    let mut figures = Vec::new();
    for (suffix, at, fixed) in slice_files(grid, &skip) {
        let mut panels = Vec::new();
        for &(x, other) in &axes {
            let mut only = fixed.clone();
            only.extend(other);
            let layout = grid.layout(x, None, &only);
            let Some(panel) = layout.into_iter().next() else {
                continue;
            };
            let s = &panel.series[0];
            let (xs, means, lo, hi, dots) =
                data_series(grid, x, s, &mean, each.as_ref(), |r, _| {
                    (
                        low.as_ref().map_or(f64::NAN, |l| l[r]),
                        high.as_ref().map_or(f64::NAN, |h| h[r]),
                    )
                });
            let axis = &grid.sweep.axes[x];
            let x_log = wants_log(&axis.values);
            let (range, along) = data_extent(&axis.values, x_log, 2 * CURVE_POINTS);
            let setting = curve_setting(grid, s);
            let mut vlines = Vec::new();
            let mut notes = Vec::new();
            let mut theory = Vec::new();
            match theory::applies(&setting) {
                Ok(()) => {
                    let decay = theory::along(&setting, &axis.key, &along, |s| {
                        let e = theory::right_edge(s) - 1.0;
                        if e < 0.0 {
                            e
                        } else {
                            f64::NAN
                        }
                    });
                    theory.push(TheoryCurve {
                        color: VERMILLION,
                        points: decay,
                    });
                    if axis.key == GAMMA {
                        match theory::gamma_c(&setting) {
                            Some(g) => vlines.push((
                                g,
                                format!("theory γ_c = {}: x_R = 1", style::number_tick(&g)),
                                VERMILLION,
                            )),
                            None => notes.push("theory: no γ_c > 0 at this α, c, d".into()),
                        }
                    }
                }
                Err(why) => notes.push(why),
            }
            let other_text = other
                .map(|(a, k)| {
                    let a = &grid.sweep.axes[a];
                    format!("{} = {}", symbol(&a.key), style::number_tick(&a.values[k]))
                })
                .unwrap_or_default();
            panels.push(LinePanel {
                title: format!(
                    "against {}{}",
                    symbol(&axis.key),
                    if other_text.is_empty() {
                        String::new()
                    } else {
                        format!(" at {other_text}")
                    }
                ),
                x_desc: label(&axis.key),
                y_desc: "largest Lyapunov exponent λ (per τ)".into(),
                x_log,
                x: range,
                series: vec![DataSeries {
                    color: PALETTE[0],
                    label: String::new(),
                    x: xs,
                    mean: means,
                    low: lo,
                    high: hi,
                    dots,
                }],
                spread: Spread::Band,
                dots_label: "one trajectory".into(),
                mean_label: "mean over trajectories".into(),
                spread_label: "95% CI of the mean".into(),
                theory,
                theory_label: Some("theory x_R − 1: decay to h = 0 (§6)".into()),
                hlines: vec![(0.0, "λ = 0".into())],
                vlines,
                notes,
            });
        }
        if panels.is_empty() {
            continue;
        }
        let title = format!(
            "Largest Lyapunov exponent{} ({}, {})",
            if at.is_empty() {
                String::new()
            } else {
                format!(", {at}")
            },
            grid.neurons(),
            grid.replicas()
        );
        let stem = format!("lyapunov{suffix}");
        let fig = LinesFigure { title, panels };
        figures.push((
            stem.clone(),
            Outcome::Written(style::render(&fig, out, &stem)?),
        ));
    }
    Ok(figures)
}

/// The attractor classes of [`crate::analysis::sequence::Attractor`], their `points.csv`
/// columns, legends and colours.
const CLASSES: [(&str, &str, RGBColor); 5] = [
    (
        "quiescent_fraction",
        "quiescent (h → 0)",
        RGBColor(190, 190, 190),
    ),
    ("fixed_point_fraction", "fixed point", PALETTE[0]),
    ("converging_fraction", "converging", PALETTE[5]),
    (
        "marginal_fraction",
        "marginal (cycle, torus, sequence)",
        PALETTE[2],
    ),
    ("chaos_fraction", "chaos (λ > threshold)", PALETTE[1]),
];

/// **`attractors[__KEY_VALUE…]`**: the fractions of trajectories in each class (quiescent,
/// fixed point, converging, marginal, chaos) as stacked bars along the same slices as
/// `lyapunov`, the retrieving fraction (max m^μ > ½) as a line, γ_c marked on the γ panel.
pub fn attractors(grid: &Grid, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let axes = slice_axes(grid);
    if axes.is_empty() {
        return Ok(vec![(
            "attractors".into(),
            Outcome::Skipped(format!("needs {LOAD} or {GAMMA} as a sweep axis")),
        )]);
    }
    let mut fractions = Vec::new();
    for (column, _, _) in CLASSES {
        match grid.column(column)? {
            Some(c) => fractions.push(c),
            None => {
                return Ok(vec![(
                    "attractors".into(),
                    Outcome::Skipped(format!("no `{column}` column in points.csv")),
                )])
            }
        }
    }
    let steps = grid.base.transient + grid.base.window;
    if steps <= 1 {
        return Ok(vec![(
            "attractors".into(),
            Outcome::Skipped(
                "a spectra-only sweep (at most one step of dynamics): no attractor".into(),
            ),
        )]);
    }
    let retrieving = grid.column("retrieving_fraction")?;
    let skip: Vec<usize> = axes.iter().map(|a| a.0).collect();
    let mut figures = Vec::new();
    for (suffix, at, fixed) in slice_files(grid, &skip) {
        let mut panels = Vec::new();
        for &(x, other) in &axes {
            let mut only = fixed.clone();
            only.extend(other);
            let Some(panel) = grid.layout(x, None, &only).into_iter().next() else {
                continue;
            };
            let rows = &panel.series[0].rows;
            let axis = &grid.sweep.axes[x];
            let values: Vec<f64> = rows.iter().map(|&r| grid.x_of(x, r)).collect();
            let setting = curve_setting(grid, &panel.series[0]);
            let gamma_c = if axis.key == GAMMA && theory::applies(&setting).is_ok() {
                theory::gamma_c(&setting)
            } else {
                None
            };
            let other_text = other
                .map(|(a, k)| {
                    let a = &grid.sweep.axes[a];
                    format!(
                        " at {} = {}",
                        symbol(&a.key),
                        style::number_tick(&a.values[k])
                    )
                })
                .unwrap_or_default();
            panels.push(StackPanel {
                title: format!("against {}{other_text}", symbol(&axis.key)),
                x_desc: label(&axis.key),
                values: values.clone(),
                stacks: rows
                    .iter()
                    .map(|&r| fractions.iter().map(|f| f[r]).collect())
                    .collect(),
                retrieving: retrieving
                    .as_ref()
                    .map(|c| rows.iter().map(|&r| c[r]).collect()),
                marker: gamma_c.map(|g| {
                    (
                        position(&values, g),
                        format!("theory γ_c = {}", style::number_tick(&g)),
                    )
                }),
            });
        }
        if panels.is_empty() {
            continue;
        }
        let title = format!(
            "Attractors reached, fraction of trajectories{} ({}, {})",
            if at.is_empty() {
                String::new()
            } else {
                format!(", {at}")
            },
            grid.neurons(),
            grid.replicas()
        );
        let stem = format!("attractors{suffix}");
        let fig = StackFigure { title, panels };
        figures.push((
            stem.clone(),
            Outcome::Written(style::render(&fig, out, &stem)?),
        ));
    }
    Ok(figures)
}

/// Where `v` falls among the sorted `values`, as a fractional bar index (clamped to the
/// outer half-bars).
fn position(values: &[f64], v: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    if v <= values[0] {
        return -0.5;
    }
    if v >= values[n - 1] {
        return n as f64 - 0.5;
    }
    let k = values
        .windows(2)
        .position(|w| v >= w[0] && v <= w[1])
        .unwrap_or(0);
    k as f64 + (v - values[k]) / (values[k + 1] - values[k])
}

struct StackPanel {
    title: String,
    x_desc: String,
    /// The x values, one bar each, in increasing order.
    values: Vec<f64>,
    /// Per bar, the fraction of each of [`CLASSES`].
    stacks: Vec<Vec<f64>>,
    retrieving: Option<Vec<f64>>,
    /// (bar position, legend) of the γ_c line.
    marker: Option<(f64, String)>,
}

struct StackFigure {
    title: String,
    panels: Vec<StackPanel>,
}

impl Figure for StackFigure {
    fn size(&self) -> (u32, u32) {
        (1500, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let (w, h) = body.dim_in_pixel();
        let (main, legend) = body.split_horizontally(w.saturating_sub(330));
        let areas = main.split_evenly((1, self.panels.len().max(1)));
        for (panel, area) in self.panels.iter().zip(&areas) {
            panel.draw(&area.titled(&panel.title, font(style::PANEL_TITLE_SIZE))?)?;
        }
        // The legend, at the right.
        let text = font(style::LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        let mut y = (h / 2) as i32 - 120;
        for (_, name, color) in CLASSES.iter().rev() {
            legend.draw(&Rectangle::new(
                [(10, y - 10), (38, y + 10)],
                color.filled(),
            ))?;
            legend.draw(&Text::new(name.to_string(), (48, y), text.clone()))?;
            y += 34;
        }
        if self.panels.iter().any(|p| p.retrieving.is_some()) {
            legend.draw(&PathElement::new(
                vec![(10, y), (38, y)],
                BLACK.stroke_width(3),
            ))?;
            legend.draw(&Circle::new((24, y), 5, BLACK.filled()))?;
            legend.draw(&Text::new(
                "retrieving (max m^μ > ½)",
                (48, y),
                text.clone(),
            ))?;
            y += 34;
        }
        if self.panels.iter().any(|p| p.marker.is_some()) {
            legend.draw(&DashedPathElement::new(
                vec![(10, y), (38, y)],
                4,
                4,
                VERMILLION.stroke_width(3),
            ))?;
            legend.draw(&Text::new("theory γ_c (x_R = 1)", (48, y), text))?;
        }
        Ok(())
    }
}

impl StackPanel {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let n = self.values.len();
        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.6..n as f64 - 0.4, 0.0..1.02)?;
        let values = self.values.clone();
        let every = n.div_ceil(10).max(1);
        let tick = move |x: &f64| {
            let k = x.round();
            if (x - k).abs() > 1e-6 || k < 0.0 || k as usize >= values.len() {
                return String::new();
            }
            let k = k as usize;
            if k.is_multiple_of(every) {
                style::number_tick(&values[k])
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc("fraction of trajectories")
            .x_labels(n + 1)
            .x_label_formatter(&tick)
            .y_labels(6)
            .y_label_formatter(&super::tick)
            .disable_x_mesh()
            .axis_desc_style(font(style::AXIS_SIZE - 2))
            .label_style(font(style::TICK_SIZE - 2))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (k, stack) in self.stacks.iter().enumerate() {
            let mut base = 0.0;
            for (f, (_, _, color)) in stack.iter().zip(CLASSES) {
                if !f.is_finite() || *f <= 0.0 {
                    continue;
                }
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(k as f64 - 0.4, base), (k as f64 + 0.4, base + f)],
                    color.filled(),
                )))?;
                base += f;
            }
        }
        if let Some(r) = &self.retrieving {
            let points: Vec<(f64, f64)> =
                r.iter().enumerate().map(|(k, &v)| (k as f64, v)).collect();
            for seg in style::segments(&points) {
                chart.draw_series(LineSeries::new(seg.clone(), BLACK.stroke_width(3)))?;
                chart.draw_series(seg.iter().map(|&p| Circle::new(p, 5, BLACK.filled())))?;
            }
        }
        if let Some((at, _)) = &self.marker {
            chart.draw_series(DashedLineSeries::new(
                vec![(*at, 0.0), (*at, 1.02)],
                4,
                4,
                VERMILLION.stroke_width(3),
            ))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// transition

/// **`transition`**: over (α, γ), the fraction of trajectories whose activity grew from h(0)
/// (`grew_fraction`), one heat-map panel per value combination of the other axes (c, d), with
/// the theory γ_c(α) where x_R(J) = 1 (dashed) and, per α, the γ where the measured fraction
/// crosses ½ (interpolated, dots); `transition.csv` lists both.
pub fn transition(grid: &Grid, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let (Some(ax), Some(ay)) = (grid.axis(LOAD), grid.axis(GAMMA)) else {
        return Ok(vec![(
            "transition".into(),
            Outcome::Skipped(format!("needs both {LOAD} and {GAMMA} as sweep axes")),
        )]);
    };
    let Some(grew) = grid.column("grew_fraction")? else {
        return Ok(vec![(
            "transition".into(),
            Outcome::Skipped("no `grew_fraction` column in points.csv".into()),
        )]);
    };
    let steps = grid.base.transient + grid.base.window;
    if steps <= 1 {
        return Ok(vec![(
            "transition".into(),
            Outcome::Skipped(
                "a spectra-only sweep (at most one step of dynamics): no growth to measure".into(),
            ),
        )]);
    }
    let (x_axis, y_axis) = (&grid.sweep.axes[ax], &grid.sweep.axes[ay]);
    let x_axis = &super::logarithmic_if_wide(x_axis);
    let (x_range, x_log) = axis_extent(x_axis);
    let (y_range, y_log) = axis_extent(y_axis);
    let cells = |axis: &crate::plot::data::Axis, log: bool| -> Vec<Range<f64>> {
        let (_, from) = crate::theory::plane::scale_maps(log);
        let (order, edges) = cell_edges(&axis.values, log);
        let mut c = vec![0.0..0.0; order.len()];
        for (rank, &k) in order.iter().enumerate() {
            c[k] = from(edges[rank])..from(edges[rank + 1]);
        }
        c
    };
    let (x_cells, y_cells) = (cells(x_axis, x_log), cells(y_axis, y_log));
    let other: Vec<usize> = (0..grid.sweep.axes.len())
        .filter(|&a| a != ax && a != ay)
        .collect();
    let mut csv = String::new();
    for &a in &other {
        csv.push_str(&grid.sweep.axes[a].key);
        csv.push(',');
    }
    csv.push_str("jiang.load,gamma_half,gamma_c\n");
    let mut panels = Vec::new();
    for (_, at, fixed) in slice_files(grid, &[ax, ay]) {
        let in_slice = |r: usize| fixed.iter().all(|&(a, k)| grid.rows[r][a] == k);
        let rows: Vec<usize> = (0..grid.rows.len()).filter(|&r| in_slice(r)).collect();
        if rows.is_empty() {
            continue;
        }
        let heat: Vec<(Range<f64>, Range<f64>, f64)> = rows
            .iter()
            .map(|&r| {
                (
                    x_cells[grid.rows[r][ax]].clone(),
                    y_cells[grid.rows[r][ay]].clone(),
                    grew[r],
                )
            })
            .collect();
        // Per α: the fraction against γ, and where it first crosses ½ from below.
        let mut half = Vec::new();
        for (i, &alpha) in x_axis.values.iter().enumerate() {
            let mut line: Vec<(f64, f64)> = rows
                .iter()
                .filter(|&&r| grid.rows[r][ax] == i)
                .map(|&r| (grid.x_of(ay, r), grew[r]))
                .filter(|p| p.1.is_finite())
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let crossing = line.windows(2).find_map(|w| {
                let ((g0, f0), (g1, f1)) = (w[0], w[1]);
                (f0 < 0.5 && f1 >= 0.5).then(|| g0 + (0.5 - f0) * (g1 - g0) / (f1 - f0))
            });
            half.push((alpha, crossing));
        }
        let setting = fixed.iter().fold(grid.base.clone(), |s, &(a, k)| {
            let axis = &grid.sweep.axes[a];
            theory::with(&s, &axis.key, axis.values[k])
        });
        let theory_ok = theory::applies(&setting);
        let mut curve = Vec::new();
        if theory_ok.is_ok() {
            let alphas = spread(&x_range, x_log, CURVE_POINTS);
            curve = theory::along(&setting, LOAD, &alphas, |s| {
                theory::gamma_c(s)
                    .filter(|g| y_range.contains(g))
                    .unwrap_or(f64::NAN)
            });
        }
        for &(alpha, crossing) in &half {
            for &(a, k) in &fixed {
                csv.push_str(&format!("{},", grid.sweep.axes[a].values[k]));
            }
            let gc = theory::gamma_c(&theory::with(&setting, LOAD, alpha));
            csv.push_str(&format!(
                "{alpha},{},{}\n",
                crossing.unwrap_or(f64::NAN),
                gc.unwrap_or(f64::NAN)
            ));
        }
        let mut notes = Vec::new();
        if let Err(why) = theory_ok {
            notes.push(why);
        } else if !curve.iter().any(|p| p.1.is_finite()) {
            notes.push("theory γ_c outside the γ range (or none: c(1+√α)² ≥ 1)".into());
        }
        panels.push(HeatPanel {
            title: at,
            cells: heat,
            curve,
            half: half
                .into_iter()
                .filter_map(|(a, c)| c.map(|c| (a, c)))
                .collect(),
            notes,
        });
    }
    let csv_path = out.join("transition.csv");
    write_atomic(&csv_path, csv.as_bytes())?;
    let fig = TransitionFigure {
        title: format!(
            "Fraction of trajectories whose activity grew from {} ({}, {})",
            match grid.base.variance {
                Some(v) => format!("h(0) ~ N(0, {})", style::number_tick(&v)),
                None => "h(0)".to_string(),
            },
            grid.neurons(),
            grid.replicas()
        ),
        x_desc: label(LOAD),
        y_desc: label(GAMMA),
        x: x_range,
        y: y_range,
        x_log,
        y_log,
        panels,
    };
    let mut files = style::render(&fig, out, "transition")?;
    files.push(csv_path);
    Ok(vec![("transition".into(), Outcome::Written(files))])
}

struct HeatPanel {
    title: String,
    cells: Vec<(Range<f64>, Range<f64>, f64)>,
    /// (α, γ_c) of the theory, NaN where absent.
    curve: Vec<(f64, f64)>,
    /// (α, γ) where the fraction crosses ½.
    half: Vec<(f64, f64)>,
    notes: Vec<String>,
}

struct TransitionFigure {
    title: String,
    x_desc: String,
    y_desc: String,
    x: Range<f64>,
    y: Range<f64>,
    x_log: bool,
    y_log: bool,
    panels: Vec<HeatPanel>,
}

const BAR_WIDTH: u32 = 170;

impl Figure for TransitionFigure {
    fn size(&self) -> (u32, u32) {
        let (w, h) = panel_size(self.panels.len());
        (w + BAR_WIDTH, h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let mut key = Legend::default();
        if self
            .panels
            .iter()
            .any(|p| p.curve.iter().any(|q| q.1.is_finite()))
        {
            key.push(
                Mark::Dashed(BLACK),
                "theory γ_c(α): x_R(J) = 1, h = 0 loses stability (§6)",
            );
        }
        if self.panels.iter().any(|p| !p.half.is_empty()) {
            key.push(
                Mark::Dot(VERMILLION),
                "measured: γ where half the trajectories grew (interpolated)",
            );
        }
        for p in &self.panels {
            for note in &p.notes {
                key.push(Mark::Note, format!("{}: {note}", p.title));
            }
        }
        let body = key.below(&body, legend::size(self.panels.len()))?;
        let (w, h) = body.dim_in_pixel();
        let (main, bar) = body.split_horizontally(w.saturating_sub(BAR_WIDTH));
        let (cols, rows) = grid_shape(self.panels.len());
        let areas = main.split_evenly((rows, cols));
        let small = self.panels.len() > 1;
        for (panel, area) in self.panels.iter().zip(&areas) {
            let area = if panel.title.is_empty() {
                area.clone()
            } else {
                area.titled(&panel.title, font(style::PANEL_TITLE_SIZE))?
            };
            match (self.x_log, self.y_log) {
                (false, false) => {
                    self.panel(panel, &area, self.x.clone(), self.y.clone(), small)?
                }
                (true, false) => self.panel(
                    panel,
                    &area,
                    self.x.clone().log_scale(),
                    self.y.clone(),
                    small,
                )?,
                (false, true) => self.panel(
                    panel,
                    &area,
                    self.x.clone(),
                    self.y.clone().log_scale(),
                    small,
                )?,
                (true, true) => self.panel(
                    panel,
                    &area,
                    self.x.clone().log_scale(),
                    self.y.clone().log_scale(),
                    small,
                )?,
            }
        }
        // Colour bar: 0 to 1.
        let (top, bottom) = (60i32, h as i32 - 100);
        let steps = 100;
        for k in 0..steps {
            let t0 = k as f64 / steps as f64;
            let y0 = bottom - ((bottom - top) as f64 * t0) as i32;
            let y1 = bottom - ((bottom - top) as f64 * (k + 1) as f64 / steps as f64) as i32;
            bar.draw(&Rectangle::new(
                [(20, y1), (50, y0)],
                style::viridis(t0 + 0.5 / steps as f64).filled(),
            ))?;
        }
        bar.draw(&Rectangle::new(
            [(20, top), (50, bottom)],
            BLACK.stroke_width(1),
        ))?;
        let text = font(style::TICK_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        for v in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = bottom - ((bottom - top) as f64 * v) as i32;
            bar.draw(&PathElement::new(
                vec![(50, y), (56, y)],
                BLACK.stroke_width(1),
            ))?;
            bar.draw(&Text::new(style::number_tick(&v), (60, y), text.clone()))?;
        }
        bar.draw(&Text::new(
            "fraction grew",
            (10, bottom + 30),
            font(style::LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        Ok(())
    }
}

impl TransitionFigure {
    fn panel<DB: DrawingBackend, X, Y>(
        &self,
        panel: &HeatPanel,
        area: &DrawingArea<DB, Shift>,
        x: X,
        y: Y,
        small: bool,
    ) -> DrawResult
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x, y)?;
        let (axis, tick) = if small {
            (style::AXIS_SIZE - 2, style::TICK_SIZE - 2)
        } else {
            (style::AXIS_SIZE, style::TICK_SIZE)
        };
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&super::tick)
            .y_label_formatter(&super::tick)
            .axis_desc_style(font(axis))
            .label_style(font(tick))
            .disable_mesh()
            .draw()?;
        for (cx, cy, v) in &panel.cells {
            let color = if v.is_finite() {
                style::viridis(*v)
            } else {
                RGBColor(205, 205, 205)
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(cx.start, cy.start), (cx.end, cy.end)],
                color.filled(),
            )))?;
        }
        for seg in style::segments(&panel.curve) {
            chart.draw_series(LineSeries::new(seg.clone(), WHITE.stroke_width(7)))?;
            chart.draw_series(DashedLineSeries::new(seg, 10, 6, BLACK.stroke_width(3)))?;
        }
        chart.draw_series(panel.half.iter().map(|&p| {
            EmptyElement::at(p)
                + Circle::new((0, 0), 7, WHITE.filled())
                + Circle::new((0, 0), 5, VERMILLION.filled())
        }))?;
        Ok(())
    }
}
