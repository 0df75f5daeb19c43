//! Figures of a parameter sweep (a `hebbnet sweep` directory: `sweep.json` + `points.csv`):
//! heat maps of an observable over two swept config keys, with the mean-field edge of chaos
//! drawn on top, or a line plot when a single key was swept.
//!
//! The first axis of `sweep.json` is the x axis, the second the y axis; with more axes, one
//! figure is drawn per combination of the others' values (the slice is named in the title and
//! in the file name). Each grid point's value is the `points.csv` column of the observable (the
//! ensemble summary at the last epoch); a point that is NaN or absent from `points.csv` is a
//! grey hatched cell.
//!
//! The mean-field line `σ² ∫Dz f′(M + √V z)² = 1` comes from the theory
//! ([`crate::theory::plane::MeanFieldPlane`], the same code as `hebbnet theory SPEC`): it is
//! computed in the plane of the two axes from each point's config (`base_config` with the
//! point's values), so it follows whichever keys were swept (gain, σ, μ, input, threshold); it
//! is drawn when [`crate::theory::mean_field::SiriMeanField::from_config`] applies at every
//! point of the figure, and is also written as CSV for replotting.

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{Axis, Spacing, Sweep};
use super::style::{self, font, DrawResult, Figure, BLUE, GREY, VERMILLION};
use super::Outcome;
use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::theory::bifurcation::{self, Lines, Region, RegionGrid};
use crate::theory::plane::{cell_edges, scale_maps, slices, MeanFieldPlane, PlaneAxis};

/// The observable drawn when none is asked for.
pub const DEFAULT_OBSERVABLE: &str = "lyapunov_max_mean";

/// Points of the mean-field curve of a one-axis figure.
const PROFILE_POINTS: usize = 120;
/// Width of the colour bar column and height of the legend strip, in pixels.
const BAR_WIDTH: u32 = 200;
const LEGEND_STRIP: u32 = 50;
/// The legend strip's second row, for the bifurcation lines.
const LEGEND_ROW: u32 = 40;
/// Spacing of the hatching of cells without a value, in pixels.
const HATCH: i32 = 10;
const NO_VALUE_FILL: RGBColor = RGBColor(205, 205, 205);

/// The `points.csv` columns to draw: `requested` (each entry may hold several names separated
/// by commas; a bare observable of `summary.csv` such as `lyapunov_max` means its `_mean`), or
/// [`DEFAULT_OBSERVABLE`] when none is given. An unknown name is an [`Error::Input`] listing the
/// columns there are.
pub fn resolve_observables(sweep: &Sweep, requested: &[String]) -> Result<Vec<String>> {
    let available = sweep.observables();
    let mut names: Vec<&str> = requested
        .iter()
        .flat_map(|r| r.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let default = names.is_empty();
    if default {
        names.push(DEFAULT_OBSERVABLE);
    }
    let mut columns: Vec<String> = Vec::new();
    for name in names {
        let mean = format!("{name}_mean");
        let column = if available.contains(&name) {
            name.to_string()
        } else if available.contains(&mean.as_str()) {
            mean
        } else {
            return Err(Error::input(
                &sweep.points.path,
                format!(
                    "unknown observable `{name}`{}: choose one of the columns of points.csv \
                     with --observable: {}",
                    if default { " (the default)" } else { "" },
                    available.join(", ")
                ),
            ));
        };
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    Ok(columns)
}

/// The theory line of a heat map's plane from another model's theory: for the values of the
/// other axes (`fixed`), the x and the y axis, the curves in axis values and their legend, or
/// why there is none.
pub type PlaneLine<'a> = &'a dyn Fn(
    &[(&str, f64)],
    &Axis,
    &Axis,
) -> std::result::Result<(Vec<Vec<(f64, f64)>>, String), String>;

/// What a model family other than the analog network puts on the sweep figures in place of the
/// analog mean field (which does not describe it): its own plane line, and the names and units
/// of its `points.csv` columns.
pub struct FamilyTheory<'a> {
    pub line: PlaneLine<'a>,
    /// The note when the line does not cross the plane.
    pub missing: String,
    /// The description of a column (`None`: the generic one, the column's name).
    pub describe: fn(&str) -> Option<Described>,
}

/// Every figure of the sweep for each of `observables` (columns of `points.csv`, see
/// [`resolve_observables`]), and the mean-field critical line of each heat map's plane:
///
/// - two or more axes: `heatmap_OBS[__KEY_VALUE…]` and `critical_line[__KEY_VALUE…].csv`;
/// - one axis: `profile_OBS`.
pub fn sweep_figures(
    sweep: &Sweep,
    out: &Path,
    observables: &[String],
) -> Result<Vec<(String, Outcome)>> {
    sweep_figures_with(sweep, out, observables, None)
}

/// [`sweep_figures`], with `family`'s theory line and column names instead of the analog mean
/// field (no mean-field line, bifurcation map or mean-field λ_max).
pub fn sweep_figures_with(
    sweep: &Sweep,
    out: &Path,
    observables: &[String],
    family: Option<&FamilyTheory>,
) -> Result<Vec<(String, Outcome)>> {
    let describe = |name: &str| {
        family
            .and_then(|f| (f.describe)(name))
            .unwrap_or_else(|| describe(name))
    };
    let rows = sweep.grid_indices()?;
    let mut columns = Vec::with_capacity(observables.len());
    for name in observables {
        let column = sweep
            .points
            .f64_column(name)?
            .ok_or_else(|| Error::input(&sweep.points.path, format!("no `{name}` column")))?;
        columns.push(column);
    }
    let replicas = sweep.replicas.or_else(|| {
        sweep
            .points
            .f64_column("replicas")
            .ok()
            .flatten()
            .and_then(|r| style::bounds(r).map(|(_, hi)| hi as usize))
    });
    let mut figures = Vec::new();
    if sweep.axes.len() == 1 {
        let axis = &sweep.axes[0];
        let mean_field = MeanFieldPlane::new(&sweep.base_config, &[]);
        for (name, column) in observables.iter().zip(&columns) {
            let stem = format!("profile_{name}");
            let outcome = profile(
                sweep,
                axis,
                &rows,
                name,
                describe(name),
                column,
                replicas,
                &mean_field,
                out,
                &stem,
            )?;
            figures.push((stem, outcome));
        }
        return Ok(figures);
    }
    let (x_axis, y_axis) = (&sweep.axes[0], &sweep.axes[1]);
    let (x_view, y_view) = (AxisView::new(x_axis), AxisView::new(y_axis));
    for slice in slices(&sweep.axes[2..]) {
        let fixed: Vec<(&str, f64)> = sweep.axes[2..]
            .iter()
            .zip(&slice)
            .map(|(a, &k)| (a.key.as_str(), a.values[k]))
            .collect();
        let suffix: String = fixed
            .iter()
            .map(|(key, v)| format!("__{key}_{v}"))
            .collect();
        let at: String = fixed
            .iter()
            .map(|(key, v)| format!("{key} = {}", style::number_tick(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let plane = MeanFieldPlane::new(&sweep.base_config, &fixed);
        let line_stem = format!("critical_line{suffix}");
        let theory = match family {
            Some(f) => (f.line)(&fixed, x_axis, y_axis),
            None => plane.applies(x_axis, y_axis).map(|legend| {
                let curves =
                    plane.critical_line(&x_view.plane(&x_axis.key), &y_view.plane(&y_axis.key));
                (curves, legend)
            }),
        };
        let missing = family.map_or_else(
            || "mean field: σ²⟨f′²⟩ = 1 not reached in this range".to_string(),
            |f| f.missing.clone(),
        );
        let line = match theory {
            Ok((curves, legend)) => {
                let path = out.join(format!("{line_stem}.csv"));
                write_atomic(
                    &path,
                    line_csv(&x_axis.key, &y_axis.key, &curves).as_bytes(),
                )?;
                figures.push((line_stem, Outcome::Written(vec![path])));
                Some(CriticalLine {
                    curves,
                    legend,
                    missing,
                })
            }
            Err(why) => {
                figures.push((line_stem, Outcome::Skipped(why)));
                None
            }
        };
        // The bifurcation map of the mean-field (m, q) map (cessac.md §9), where an axis moves
        // J̄ or θ̄ alone: its lines as CSV and on the maps, its regions as CSV and letters.
        let bifurcation = match (&line, family) {
            (Some(_), None) => bifurcation::plane_map(&plane, x_axis, y_axis).ok(),
            _ => None,
        };
        if let Some((lines, regions)) = &bifurcation {
            let mut files = Vec::new();
            for (stem, _, curves) in lines.named() {
                let path = out.join(format!("{stem}{suffix}.csv"));
                write_atomic(&path, line_csv(&x_axis.key, &y_axis.key, curves).as_bytes())?;
                files.push(path);
            }
            let path = out.join(format!("mean_field_regions{suffix}.csv"));
            write_atomic(&path, regions.to_csv().as_bytes())?;
            files.push(path);
            figures.push((
                format!("bifurcation_lines{suffix}"),
                Outcome::Written(files),
            ));
        }
        for (name, column) in observables.iter().zip(&columns) {
            let stem = format!("heatmap_{name}{suffix}");
            let mut grid = vec![vec![None; y_axis.values.len()]; x_axis.values.len()];
            for (index, &v) in rows.iter().zip(column) {
                if index[2..] == slice[..] {
                    grid[index[0]][index[1]] = Some(v);
                }
            }
            let values: Vec<f64> = grid.iter().flatten().flatten().copied().collect();
            let described = describe(name);
            if !values.iter().any(|v| v.is_finite()) {
                figures.push((
                    stem,
                    Outcome::Skipped(format!(
                        "{name} has no finite value{}{}",
                        if at.is_empty() {
                            String::new()
                        } else {
                            format!(" at {at}")
                        },
                        described.hint
                    )),
                ));
                continue;
            }
            let total = grid.len() * y_axis.values.len();
            let no_value = grid
                .iter()
                .flatten()
                .filter(|v| !v.is_some_and(f64::is_finite))
                .count();
            let cells = grid
                .iter()
                .enumerate()
                .flat_map(|(i, col)| {
                    let (x_view, y_view) = (&x_view, &y_view);
                    col.iter().enumerate().map(move |(j, v)| Cell {
                        x: x_view.cells[i].clone(),
                        y: y_view.cells[j].clone(),
                        value: v.unwrap_or(f64::NAN),
                    })
                })
                .collect();
            let title = if at.is_empty() {
                format!("{} over the sweep", described.title)
            } else {
                format!("{} at {at}", described.title)
            };
            let fig = HeatmapFigure {
                title,
                x: x_view.clone(),
                y: y_view.clone(),
                cells,
                scale: Scale::new(&described, &values),
                bar_label: described.label.clone(),
                line: line.clone(),
                bifurcation: bifurcation.clone(),
                no_value: (no_value > 0)
                    .then(|| format!("no value: NaN or not run ({no_value} of {total} points)")),
                replicas: replicas.map(|r| format!("{r} replica{} per point", plural(r))),
            };
            figures.push((
                stem.clone(),
                Outcome::Written(style::render(&fig, out, &stem)?),
            ));
        }
    }
    Ok(figures)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The name, symbol and unit of an observable column, for labels.
pub struct Described {
    /// Colour bar / y axis label: name, statistic and unit.
    pub label: String,
    /// For titles.
    pub title: String,
    /// Signed, with 0 meaningful (Lyapunov exponents): diverging colours centred at 0.
    pub signed: bool,
    /// A fixed colour range (fractions: 0 to 1).
    pub range: Option<(f64, f64)>,
    /// Why the column may be NaN (appended to a skip note).
    pub hint: &'static str,
    /// A Lyapunov exponent column of the analog network (the one-axis figure adds the
    /// mean-field λ_max).
    pub lyapunov_max: bool,
}

fn describe(column: &str) -> Described {
    let (base, statistic) = [
        ("_mean", ", replica mean"),
        ("_ci95_low", ", lower end of the 95% CI"),
        ("_ci95_high", ", upper end of the 95% CI"),
    ]
    .iter()
    .find_map(|(suffix, what)| column.strip_suffix(suffix).map(|b| (b, *what)))
    .unwrap_or((column, ""));
    let lyapunov = " (analysis.lyapunov was off?)";
    let (name, unit, signed, range, hint): (String, &str, bool, Option<(f64, f64)>, &str) =
        match base {
            "lyapunov_max" => (
                "largest Lyapunov exponent λ₁".into(),
                "per step",
                true,
                None,
                lyapunov,
            ),
            "lyapunov_sum" => (
                "sum of the Lyapunov exponents Σλᵢ".into(),
                "per step",
                true,
                None,
                lyapunov,
            ),
            "kaplan_yorke" => ("Kaplan–Yorke dimension".into(), "", false, None, lyapunov),
            "mean_activity" => ("mean activity ⟨x⟩".into(), "", false, None, ""),
            "activity_temporal_std" => ("temporal std of the activity".into(), "", false, None, ""),
            "weight_frobenius" => ("weight norm ‖W‖_F".into(), "", false, None, ""),
            "spectral_radius_w" => (
                "spectral radius ρ(W)".into(),
                "",
                false,
                None,
                " (analysis.eigenvalues was off?)",
            ),
            "spectral_radius_j" => (
                "spectral radius of the Jacobian ρ(DF)".into(),
                "",
                false,
                None,
                " (analysis.eigenvalues was off?)",
            ),
            "mean_abs_m" => ("mean |mᵢ| (activity − d)".into(), "", false, None, ""),
            "susceptibility" => (
                "susceptibility χ".into(),
                "",
                false,
                None,
                " (analysis.sensitivity was off?)",
            ),
            "discrimination" => (
                "discrimination".into(),
                "",
                false,
                None,
                " (analysis.sensitivity was off?)",
            ),
            _ => match base.strip_prefix("fraction_") {
                Some(class) => (
                    format!("fraction of replicas: {}", class.replace('_', " ")),
                    "",
                    false,
                    Some((0.0, 1.0)),
                    "",
                ),
                None => (base.to_string(), "", false, None, ""),
            },
        };
    let unit_text = if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    };
    let mut title = format!("{name}{}", statistic.replacen(", ", " (", 1));
    if !statistic.is_empty() {
        title.push(')');
    }
    if let Some(first) = title.get(..1) {
        title = first.to_uppercase() + &title[1..];
    }
    Described {
        label: format!("{name}{statistic}{unit_text}"),
        title,
        signed,
        range,
        hint,
        lyapunov_max: base == "lyapunov_max",
    }
}

/// The label of a swept config key: the science's symbol where there is one, and the key.
fn axis_label(key: &str) -> String {
    match axis_symbol(key) {
        Some(symbol) => format!("{symbol}  ({key})"),
        None => key.to_string(),
    }
}

/// The name and symbol of a config key in the science (`science.md`, models/jiang.md), where
/// there is one.
pub fn axis_symbol(key: &str) -> Option<&'static str> {
    Some(match key {
        "network.gain" => "gain g",
        "weights.std" => "weight std σ",
        "weights.mean" => "weight mean μ",
        "weights.connectivity" => "connectivity c",
        "network.threshold" => "threshold θ",
        "network.leak" => "leak a",
        "network.neurons" => "neurons N",
        "input.mean" => "input mean ξ̄",
        "input.std" => "input std σ_ξ",
        "input.low" => "input low",
        "input.high" => "input high",
        "learning.learning_rate" => "learning rate α",
        "learning.forgetting" => "forgetting λ",
        "learning.activity_threshold" => "activity threshold d",
        "jiang.load" => "load α",
        "jiang.autoassociation" => "autoassociation c",
        "jiang.heteroassociation" => "heteroassociation γ",
        "jiang.depth" => "depth d",
        "jiang.backward" => "backward weight b",
        "jiang.neurons" => "neurons N",
        "jiang.leak" => "leak a = dt/τ",
        "jiang.dilution" => "dilution p",
        "initial_state.std" => "initial std σ₀",
        _ => return None,
    })
}

/// An axis as drawn: its label, scale and the extent of each value's cell.
#[derive(Clone)]
struct AxisView {
    label: String,
    log: bool,
    /// The cell of each value (in the order of `sweep.json`): between the midpoints to its
    /// neighbours (geometric midpoints on a log axis); the outer cells as wide again on their
    /// outer side.
    cells: Vec<Range<f64>>,
    /// From the lowest to the highest cell edge.
    range: Range<f64>,
    /// The values that get a tick label: all of them in increasing order, or every k-th when
    /// there are more than [`MAX_TICKS`].
    ticks: Vec<f64>,
}

/// Most tick labels on a heat map axis.
const MAX_TICKS: usize = 12;

impl AxisView {
    fn new(axis: &Axis) -> AxisView {
        let log = axis.spacing == Spacing::Log;
        let (_, from) = scale_maps(log);
        let (order, edges) = cell_edges(&axis.values, log);
        let n = order.len();
        let mut cells = vec![0.0..0.0; n];
        for (rank, &k) in order.iter().enumerate() {
            cells[k] = from(edges[rank])..from(edges[rank + 1]);
        }
        let every = n.div_ceil(MAX_TICKS);
        AxisView {
            label: axis_label(&axis.key),
            log,
            range: from(edges[0])..from(edges[n]),
            cells,
            ticks: order
                .iter()
                .step_by(every)
                .map(|&k| axis.values[k])
                .collect(),
        }
    }

    /// The axis as a plane of the theory: the key, this scale and range.
    fn plane(&self, key: &str) -> PlaneAxis {
        PlaneAxis {
            key: key.to_string(),
            log: self.log,
            range: self.range.clone(),
        }
    }

    /// `n` points spread evenly over the axis range, in the axis' own scale.
    fn spread(&self, n: usize) -> Vec<f64> {
        self.plane("").spread(n)
    }
}

/// `critical_line.csv`: a header naming the two keys, then one `x,y` row per point; curves are
/// separated by a `NaN,NaN` row (pandas reads NaN, matplotlib breaks the line there).
fn line_csv(x_key: &str, y_key: &str, curves: &[Vec<(f64, f64)>]) -> String {
    let mut text = format!("{x_key},{y_key}\n");
    for (k, curve) in curves.iter().enumerate() {
        if k > 0 {
            text.push_str("NaN,NaN\n");
        }
        for (x, y) in curve {
            text.push_str(&format!("{x},{y}\n"));
        }
    }
    text
}

/// The mean-field (or family theory) line drawn on a heat map.
#[derive(Clone)]
struct CriticalLine {
    curves: Vec<Vec<(f64, f64)>>,
    legend: String,
    /// The legend note when no curve crosses the plane.
    missing: String,
}

/// One grid point's cell and value (NaN: no value).
struct Cell {
    x: Range<f64>,
    y: Range<f64>,
    value: f64,
}

/// Value → colour.
enum Scale {
    /// Blue < 0 < red, symmetric: `[−max, max]`.
    Diverging { max: f64 },
    /// Viridis over `[lo, hi]`.
    Sequential { lo: f64, hi: f64 },
}

impl Scale {
    fn new(described: &Described, values: &[f64]) -> Scale {
        let (lo, hi) = style::bounds(values.iter().copied()).unwrap_or((0.0, 1.0));
        if described.signed {
            let max = lo.abs().max(hi.abs());
            Scale::Diverging {
                max: if max > 0.0 { max } else { 1.0 },
            }
        } else if let Some((lo, hi)) = described.range {
            Scale::Sequential { lo, hi }
        } else if hi > lo {
            Scale::Sequential { lo, hi }
        } else {
            let pad = lo.abs().max(1.0) * 0.1;
            Scale::Sequential {
                lo: lo - pad,
                hi: hi + pad,
            }
        }
    }

    fn range(&self) -> Range<f64> {
        match *self {
            Scale::Diverging { max } => -max..max,
            Scale::Sequential { lo, hi } => lo..hi,
        }
    }

    fn color(&self, v: f64) -> RGBColor {
        match *self {
            Scale::Diverging { max } => style::diverging(v / max),
            Scale::Sequential { lo, hi } => style::viridis((v - lo) / (hi - lo)),
        }
    }
}

/// **`heatmap_OBS`**: the observable at each grid point of two swept keys, one cell per point
/// (diverging colours centred at 0 for Lyapunov exponents, viridis otherwise; colour bar on the
/// right), grey hatched cells where there is no value, and the dashed mean-field critical line
/// `σ² ⟨f′²⟩ = 1` where the theory applies.
struct HeatmapFigure {
    title: String,
    x: AxisView,
    y: AxisView,
    cells: Vec<Cell>,
    scale: Scale,
    bar_label: String,
    line: Option<CriticalLine>,
    /// The mean-field bifurcation lines and the attractor class of each cell.
    bifurcation: Option<(Lines, RegionGrid)>,
    /// The legend text of the hatched cells, when there are any.
    no_value: Option<String>,
    /// "R replicas per point", at the right of the legend strip.
    replicas: Option<String>,
}

impl Figure for HeatmapFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let (w, h) = body.dim_in_pixel();
        let strip_height = if self.bifurcation.is_some() {
            LEGEND_STRIP + LEGEND_ROW
        } else {
            LEGEND_STRIP
        };
        let (main, strip) = body.split_vertically(h.saturating_sub(strip_height));
        let (plot, bar) = main.split_horizontally(w.saturating_sub(BAR_WIDTH));
        let (x, y) = (self.x.range.clone(), self.y.range.clone());
        match (self.x.log, self.y.log) {
            (false, false) => self.draw_map(&plot, x, y)?,
            (true, false) => self.draw_map(&plot, x.log_scale(), y)?,
            (false, true) => self.draw_map(&plot, x, y.log_scale())?,
            (true, true) => self.draw_map(&plot, x.log_scale(), y.log_scale())?,
        }
        self.draw_bar(&bar)?;
        self.draw_legend(&strip)
    }
}

/// Dashed black over a white halo: visible on every colour of both maps.
fn draw_line_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    from: (i32, i32),
    to: (i32, i32),
) -> DrawResult {
    area.draw(&PathElement::new(vec![from, to], WHITE.stroke_width(7)))?;
    area.draw(&DashedPathElement::new(
        vec![from, to],
        10,
        6,
        BLACK.stroke_width(3),
    ))?;
    Ok(())
}

/// Diagonal hatching of the pixel rectangle `[x0, x1] × [y0, y1]` (lines `x + y = k · HATCH`,
/// so neighbouring cells' hatches meet), drawn on `area` whose origin is at `base`.
fn hatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    base: (i32, i32),
    (x0, x1): (i32, i32),
    (y0, y1): (i32, i32),
) -> DrawResult {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    let first = (x0 + y0).div_euclid(HATCH) + 1;
    let last = (x1 + y1).div_euclid(HATCH);
    for k in first..=last {
        let s = k * HATCH;
        let (a, b) = ((s - y1).max(x0), (s - y0).min(x1));
        if a < b {
            let rel = |x: i32| (x - base.0, s - x - base.1);
            area.draw(&PathElement::new(
                vec![rel(a), rel(b)],
                GREY.mix(0.8).stroke_width(1),
            ))?;
        }
    }
    Ok(())
}

impl HeatmapFigure {
    fn draw_map<DB: DrawingBackend, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x: X,
        y: Y,
    ) -> DrawResult
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .margin(20)
            .margin_right(10)
            .x_label_area_size(65)
            .y_label_area_size(100)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x.label)
            .y_desc(&self.y.label)
            // Ticks at the grid values instead (below); a log axis keeps a key point even
            // with 0 labels, hence the blank formatter.
            .x_labels(0)
            .y_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|_| String::new())
            .set_all_tick_mark_size(0)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .draw()?;
        let base = area.get_base_pixel();
        let rel = |p: (i32, i32)| (p.0 - base.0, p.1 - base.1);
        let (x0, y0) = (self.x.range.start, self.y.range.start);
        let tick_style = BLACK.stroke_width(1);
        for &v in &self.x.ticks {
            let (px, py) = rel(chart.backend_coord(&(v, y0)));
            area.draw(&PathElement::new(vec![(px, py), (px, py + 6)], tick_style))?;
            let label = font(style::TICK_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(style::number_tick(&v), (px, py + 10), label))?;
        }
        for &v in &self.y.ticks {
            let (px, py) = rel(chart.backend_coord(&(x0, v)));
            area.draw(&PathElement::new(vec![(px - 6, py), (px, py)], tick_style))?;
            let label = font(style::TICK_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
            area.draw(&Text::new(style::number_tick(&v), (px - 10, py), label))?;
        }
        let corners = |c: &Cell| [(c.x.start, c.y.start), (c.x.end, c.y.end)];
        chart.draw_series(self.cells.iter().map(|c| {
            let fill = if c.value.is_finite() {
                self.scale.color(c.value)
            } else {
                NO_VALUE_FILL
            };
            Rectangle::new(corners(c), fill.filled())
        }))?;
        for c in self.cells.iter().filter(|c| !c.value.is_finite()) {
            let [a, b] = corners(c).map(|p| chart.backend_coord(&p));
            hatch(area, base, (a.0, b.0), (a.1, b.1))?;
        }
        chart.draw_series(
            self.cells
                .iter()
                .map(|c| Rectangle::new(corners(c), WHITE.mix(0.6).stroke_width(1))),
        )?;
        if let Some((lines, regions)) = &self.bifurcation {
            // The attractor class of the mean field, a letter in the top-left corner of each
            // cell that is not a single active fixed point.
            let letter = font(style::TICK_SIZE).pos(Pos::new(HPos::Left, VPos::Top));
            for (i, column) in regions.cells.iter().enumerate() {
                for (j, cell) in column.iter().enumerate() {
                    let Some(c) = cell else { continue };
                    if c.region == Region::FixedPoint {
                        continue;
                    }
                    let (cx, cy) = (&self.x.cells[i], &self.y.cells[j]);
                    let (px, py) = rel(chart.backend_coord(&(cx.start, cy.end)));
                    area.draw(&Text::new(
                        c.region.letter().to_string(),
                        (px + 4, py + 3),
                        letter.clone(),
                    ))?;
                }
            }
            for (k, (_, _, curves)) in lines.named().iter().enumerate() {
                for curve in curves.iter().filter(|c| c.len() > 1) {
                    chart.draw_series(LineSeries::new(curve.clone(), WHITE.stroke_width(7)))?;
                    let (color, dash) = BIFURCATION_STYLES[k];
                    match dash {
                        Some((on, off)) => chart.draw_series(DashedLineSeries::new(
                            curve.clone(),
                            on,
                            off,
                            color.stroke_width(4),
                        ))?,
                        None => chart
                            .draw_series(LineSeries::new(curve.clone(), color.stroke_width(3)))?,
                    };
                }
            }
        }
        if let Some(line) = &self.line {
            for curve in line.curves.iter().filter(|c| c.len() > 1) {
                chart.draw_series(LineSeries::new(curve.clone(), WHITE.stroke_width(7)))?;
                chart.draw_series(DashedLineSeries::new(
                    curve.clone(),
                    14,
                    8,
                    BLACK.stroke_width(3),
                ))?;
            }
        }
        Ok(())
    }

    /// The colour bar: the scale's range, labelled with the observable and its unit.
    fn draw_bar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult {
        let range = self.scale.range();
        let mut chart = ChartBuilder::on(area)
            .margin_top(20)
            .margin_bottom(85)
            .margin_left(15)
            .margin_right(10)
            .y_label_area_size(0)
            .right_y_label_area_size(120)
            .build_cartesian_2d(0.0..1.0, range.clone())?;
        let steps = 200;
        let at = |k: usize| range.start + (range.end - range.start) * k as f64 / steps as f64;
        chart.draw_series((0..steps).map(|k| {
            let (a, b) = (at(k), at(k + 1));
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                self.scale.color(0.5 * (a + b)).filled(),
            )
        }))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(&self.bar_label)
            .y_labels(8)
            .y_label_formatter(&|v: &f64| {
                // Rounding leaves ~1e-17 where the tick is 0.
                let scale = range.start.abs().max(range.end.abs());
                style::number_tick(&if v.abs() < 1e-9 * scale { 0.0 } else { *v })
            })
            .axis_desc_style(font(style::LEGEND_SIZE))
            .label_style(font(style::TICK_SIZE))
            .draw()?;
        Ok(())
    }

    /// The legend strip under the map: the critical line and the hatched cells.
    fn draw_legend<DB: DrawingBackend>(&self, strip: &DrawingArea<DB, Shift>) -> DrawResult {
        let y = LEGEND_STRIP as i32 / 2;
        let text = font(style::LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        let mut x = 120;
        if let Some(line) = &self.line {
            if line.curves.iter().any(|c| c.len() > 1) {
                draw_line_key(strip, (x, y), (x + 44, y))?;
                strip.draw(&Text::new(line.legend.clone(), (x + 56, y), text.clone()))?;
                let (w, _) = strip.estimate_text_size(&line.legend, &text)?;
                x += 56 + w as i32 + 48;
            } else {
                let note = line.missing.as_str();
                strip.draw(&Text::new(note, (x, y), text.clone()))?;
                let (w, _) = strip.estimate_text_size(note, &text)?;
                x += w as i32 + 48;
            }
        }
        if let Some(label) = &self.no_value {
            strip.draw(&Rectangle::new(
                [(x, y - 11), (x + 30, y + 11)],
                NO_VALUE_FILL.filled(),
            ))?;
            // In the strip's own pixels (origin 0, 0).
            hatch(strip, (0, 0), (x, x + 30), (y - 11, y + 11))?;
            strip.draw(&Text::new(label.clone(), (x + 42, y), text.clone()))?;
        }
        if let Some(replicas) = &self.replicas {
            let (w, _) = strip.dim_in_pixel();
            let right = font(style::LEGEND_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
            strip.draw(&Text::new(replicas.clone(), (w as i32 - 20, y), right))?;
        }
        if let Some((lines, _)) = &self.bifurcation {
            // Second row: the bifurcation lines present, then the letters.
            let y = LEGEND_STRIP as i32 + LEGEND_ROW as i32 / 2 - 8;
            let mut x = 120;
            for (k, (_, _, curves)) in lines.named().iter().enumerate() {
                if !curves.iter().any(|c| c.len() > 1) {
                    continue;
                }
                let legend = BIFURCATION_LEGENDS[k];
                let (color, dash) = BIFURCATION_STYLES[k];
                let key = vec![(x, y), (x + 40, y)];
                strip.draw(&PathElement::new(key.clone(), WHITE.stroke_width(7)))?;
                match dash {
                    Some((on, off)) => {
                        strip.draw(&DashedPathElement::new(key, on, off, color.stroke_width(4)))?
                    }
                    None => strip.draw(&PathElement::new(key, color.stroke_width(3)))?,
                }
                strip.draw(&Text::new(legend.to_string(), (x + 50, y), text.clone()))?;
                let (w, _) = strip.estimate_text_size(legend, &text)?;
                x += 50 + w as i32 + 30;
            }
            let note = "mean field: 2 period 2, B bistable, Q quiescent, C coexistence";
            strip.draw(&Text::new(note, (x, y), text.clone()))?;
        }
        Ok(())
    }
}

/// Legends and colour and dash (on, off pixels; None: solid) of the lines of [`Lines::named`], in order:
/// the edge of chaos on stable fixed points (solid black, under the dashed critical line
/// where they coincide), on 2-cycles (solid orange), the flip (dotted green) and the
/// saddle-node (dashed purple).
const BIFURCATION_LEGENDS: [&str; 4] = [
    "chaos, fixed points",
    "chaos, 2-cycles",
    "flip",
    "saddle-node",
];

/// See [`BIFURCATION_LEGENDS`].
const BIFURCATION_STYLES: [(RGBColor, Option<(u32, u32)>); 4] = [
    (BLACK, None),
    (style::PALETTE[4], None),
    (style::PALETTE[2], Some((5, 5))),
    (style::PALETTE[3], Some((14, 6))),
];

/// **`profile_OBS`** (one swept key): the observable's replica mean against the key with its
/// 95% CI band (when `points.csv` has `_ci95_low`/`_ci95_high` for it), λ₁ = 0 dashed for
/// exponents, and for λ₁ the mean-field `λ_max = ½ ln(σ² ⟨f′²⟩)` where the theory applies.
#[allow(clippy::too_many_arguments)]
fn profile(
    sweep: &Sweep,
    axis: &Axis,
    rows: &[Vec<usize>],
    name: &str,
    described: Described,
    column: &[f64],
    replicas: Option<usize>,
    mean_field: &MeanFieldPlane,
    out: &Path,
    stem: &str,
) -> Result<Outcome> {
    let band = match name.strip_suffix("_mean") {
        Some(base) => {
            let low = sweep.points.f64_column(&format!("{base}_ci95_low"))?;
            let high = sweep.points.f64_column(&format!("{base}_ci95_high"))?;
            low.zip(high)
        }
        None => None,
    };
    let mut points: Vec<(f64, f64, f64, f64)> = axis
        .values
        .iter()
        .map(|&x| (x, f64::NAN, f64::NAN, f64::NAN))
        .collect();
    for (row, index) in rows.iter().enumerate() {
        let p = &mut points[index[0]];
        p.1 = column[row];
        if let Some((low, high)) = &band {
            (p.2, p.3) = (low[row], high[row]);
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    if !points.iter().any(|p| p.1.is_finite()) {
        return Ok(Outcome::Skipped(format!(
            "{name} has no finite value{}",
            described.hint
        )));
    }
    let view = AxisView::new(axis);
    let theory = if described.lyapunov_max {
        match mean_field.applies(axis, axis) {
            Ok(legend) => {
                let legend = legend.replace("σ²⟨f′²⟩ = 1", "λ_max = ½ ln(σ²⟨f′²⟩)");
                let curve: Vec<(f64, f64)> = view
                    .spread(PROFILE_POINTS)
                    .into_iter()
                    .map(|x| (x, 0.5 * mean_field.indicator(&[(&axis.key, x)]).ln()))
                    .collect();
                Some((curve, legend))
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let no_value = points.iter().filter(|p| !p.1.is_finite()).count();
    let mut title = format!(
        "{} against {}",
        described.title,
        axis_symbol(&axis.key).unwrap_or(&axis.key)
    );
    if let Some(r) = replicas {
        title.push_str(&format!(" ({r} replica{} per point)", plural(r)));
    }
    let fig = ProfileFigure {
        title,
        x_label: view.label.clone(),
        log: view.log,
        x: view.range.clone(),
        y_label: described.label.clone(),
        points,
        zero_line: described.signed,
        theory,
        no_value: (no_value > 0)
            .then(|| format!("no value at {no_value} of {} points", axis.values.len())),
    };
    Ok(Outcome::Written(style::render(&fig, out, stem)?))
}

struct ProfileFigure {
    title: String,
    x_label: String,
    log: bool,
    x: Range<f64>,
    y_label: String,
    /// `(x, mean, CI low, CI high)`, sorted by x.
    points: Vec<(f64, f64, f64, f64)>,
    zero_line: bool,
    theory: Option<(Vec<(f64, f64)>, String)>,
    no_value: Option<String>,
}

impl Figure for ProfileFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let values = self
            .points
            .iter()
            .flat_map(|p| [p.1, p.2, p.3])
            .chain(self.theory.iter().flat_map(|(c, _)| c.iter().map(|p| p.1)))
            .chain(self.zero_line.then_some(0.0));
        let (lo, hi) = style::bounds(values).unwrap_or((-1.0, 1.0));
        let y = style::padded(lo, hi, 0.08);
        if self.log {
            self.draw_profile(root, self.x.clone().log_scale(), y)
        } else {
            self.draw_profile(root, self.x.clone(), y)
        }
    }
}

impl ProfileFigure {
    fn draw_profile<DB: DrawingBackend, X>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x: X,
        y: Range<f64>,
    ) -> DrawResult
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let body = style::titled_to_fit(root, &self.title)?;
        let mut chart = ChartBuilder::on(&body)
            .margin(20)
            .x_label_area_size(65)
            .y_label_area_size(95)
            .build_cartesian_2d(x, y.clone())?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&style::number_tick)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut lines: Vec<Vec<(f64, f64)>> = Vec::new();
        let dash = BLACK.mix(0.75).stroke_width(2);
        if self.zero_line {
            let zero = vec![(self.x.start, 0.0), (self.x.end, 0.0)];
            chart
                .draw_series(DashedLineSeries::new(zero.clone(), 12, 8, dash))?
                .label("λ = 0 (edge of chaos)")
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 7, 4, dash)
                });
            lines.push(zero);
        }
        // The band over runs of points where both ends are finite.
        let lows: Vec<(f64, f64)> = self
            .points
            .iter()
            .map(|p| (p.0, if p.3.is_finite() { p.2 } else { f64::NAN }))
            .collect();
        let mut banded = false;
        for run in style::segments(&lows).into_iter().filter(|s| s.len() > 1) {
            let mut poly = run.clone();
            for &(x, _) in run.iter().rev() {
                let high = self
                    .points
                    .iter()
                    .find(|p| p.0 == x)
                    .map_or(f64::NAN, |p| p.3);
                poly.push((x, high));
            }
            lines.push(poly.clone());
            chart.draw_series(std::iter::once(Polygon::new(poly, BLUE.mix(0.22).filled())))?;
            banded = true;
        }
        let mean: Vec<(f64, f64)> = self.points.iter().map(|p| (p.0, p.1)).collect();
        for seg in style::segments(&mean) {
            chart.draw_series(LineSeries::new(seg.clone(), BLUE.stroke_width(3)))?;
            lines.push(seg);
        }
        chart
            .draw_series(
                mean.iter()
                    .filter(|p| p.1.is_finite())
                    .map(|&p| Circle::new(p, 5, BLUE.filled())),
            )?
            .label("replica mean")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLUE.stroke_width(3)));
        if banded {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label("95% CI of the mean")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 7), (x + 24, y + 7)], BLUE.mix(0.22).filled())
                });
        }
        if let Some((curve, legend)) = &self.theory {
            let style = VERMILLION.stroke_width(3);
            for seg in style::segments(curve) {
                chart.draw_series(DashedLineSeries::new(seg.clone(), 14, 8, style))?;
                lines.push(seg);
            }
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(legend.as_str())
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 7, 4, style)
                });
        }
        if let Some(note) = &self.no_value {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(note.as_str())
                .legend(|(x, y)| Cross::new((x + 12, y), 6, GREY.stroke_width(2)));
        }
        // The legend where it hides the fewest of the lines (in the axis' own scale).
        let (xr, yr) = (chart.x_range(), chart.y_range());
        let (px0, py0) = chart.backend_coord(&(xr.start, yr.start));
        let (px1, py1) = chart.backend_coord(&(xr.end, yr.end));
        let frac = |p: &(f64, f64)| {
            let (u, v) = chart.backend_coord(p);
            (
                f64::from(u - px0) / f64::from((px1 - px0).max(1)),
                f64::from(py0 - v) / f64::from((py0 - py1).max(1)),
            )
        };
        let points: Vec<(f64, f64)> = lines
            .iter()
            .flat_map(|l| style::densify(l, 12))
            .map(|p| frac(&p))
            .collect();
        chart
            .configure_series_labels()
            .position(style::legend_corner(points, 0.4, 0.26))
            .margin(12)
            .legend_area_size(34)
            .label_font(font(style::LEGEND_SIZE))
            .background_style(WHITE.mix(0.88))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    }
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
    fn cells_tile_the_axis() {
        let v = AxisView::new(&axis("network.gain", &[3.0, 1.0, 2.0], Spacing::List));
        assert_eq!(v.range, 0.5..3.5);
        assert_eq!(v.cells, vec![2.5..3.5, 0.5..1.5, 1.5..2.5]);
        assert_eq!(v.label, "gain g  (network.gain)");
        let v = AxisView::new(&axis("weights.std", &[0.1, 1.0, 10.0], Spacing::Log));
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b;
        assert!(close(v.cells[0].end, 10f64.powf(-0.5)), "{:?}", v.cells);
        assert!(close(v.range.start, 10f64.powf(-1.5)) && close(v.range.end, 10f64.powf(1.5)));
        let one = AxisView::new(&axis("x.y", &[4.0], Spacing::Linear));
        assert_eq!(one.range, 3.5..4.5);
        assert_eq!(one.label, "x.y");
        let spread = v.spread(4);
        assert!(close(spread[0], v.range.start) && close(spread[3], v.range.end));
        assert!(close(spread[1], 10f64.powf(-0.5)));
    }

    #[test]
    fn observables_are_named_with_their_units() {
        let d = describe("lyapunov_max_mean");
        assert_eq!(
            d.label,
            "largest Lyapunov exponent λ₁, replica mean (per step)"
        );
        assert_eq!(d.title, "Largest Lyapunov exponent λ₁ (replica mean)");
        assert!(d.signed && d.lyapunov_max);
        let f = describe("fraction_fixed_point");
        assert_eq!(f.range, Some((0.0, 1.0)));
        assert!(!f.signed);
        assert_eq!(
            describe("mean_activity_ci95_high").label,
            "mean activity ⟨x⟩, upper end of the 95% CI"
        );
        assert_eq!(describe("something").label, "something");
    }

    #[test]
    fn diverging_scale_is_centred_at_zero() {
        let s = Scale::new(&describe("lyapunov_max_mean"), &[-0.5, 0.2, f64::NAN]);
        assert_eq!(s.range(), -0.5..0.5);
        assert_eq!(s.color(0.0), style::diverging(0.0));
        let s = Scale::new(&describe("mean_activity_mean"), &[0.2, 0.4]);
        assert_eq!(s.range(), 0.2..0.4);
    }

    #[test]
    fn line_csv_separates_curves_with_nan() {
        let text = line_csv(
            "network.gain",
            "weights.std",
            &[vec![(1.0, 2.0)], vec![(3.0, 4.5)]],
        );
        assert_eq!(text, "network.gain,weights.std\n1,2\nNaN,NaN\n3,4.5\n");
    }
}
