//! A grid of simple panels, each with its own axes (linear or log₁₀, optionally with equal x
//! and y scales for the complex plane) and its own legend: lines (solid, dashed, dotted; broken
//! at non-finite values), markers (filled, open circles, open squares), bands, error bars,
//! reference lines and histogram bars. The Lotito and reservoir figures are made of these.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::element::{DashedPathElement, EmptyElement};
use plotters::prelude::*;

use super::style::{self, font, DrawResult, Figure};
use super::Outcome;
use crate::error::Result;

/// The marker of [`Mark::Points`] and [`Mark::ErrorBars`].
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Marker {
    /// A filled disc of this radius.
    Disc(u32),
    /// An open circle of this radius.
    Ring(u32),
    /// An open square of this half-width.
    Square(u32),
}

/// The stroke of a [`Mark::Line`], with its width.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Stroke {
    Solid(u32),
    /// Theory, by convention.
    Dashed(u32),
    /// A second theory.
    Dotted(u32),
}

impl Stroke {
    /// Dash, gap and width of a broken stroke; `None` for a solid one.
    fn dashes(self) -> Option<(u32, u32, u32)> {
        match self {
            Stroke::Solid(_) => None,
            Stroke::Dashed(w) => Some((10, 6, w)),
            Stroke::Dotted(w) => Some((3, 4, w)),
        }
    }
}

/// How a [`Series`] is drawn.
pub enum Mark {
    /// A line through the points, broken at non-finite values.
    Line(Stroke),
    /// Markers, no line.
    Points(Marker),
    /// A band from the series' points (x, low) up to these highs.
    Band(Vec<f64>),
    /// Markers with vertical bars (low, high) per point, joined by a faint line.
    ErrorBars(Vec<(f64, f64)>, Marker),
    /// A dashed vertical line at the x of each point.
    VLine,
    /// A dashed horizontal line at the y of each point.
    HLine,
    /// Histogram bars: points are (left edge, height), all of this width.
    Bars(f64),
    /// A legend line only (a note).
    Note,
}

pub struct Series {
    pub mark: Mark,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub label: Option<String>,
}

impl Series {
    pub fn new(mark: Mark, color: RGBColor, points: Vec<(f64, f64)>) -> Series {
        Series {
            mark,
            color,
            points,
            label: None,
        }
    }

    pub fn xy(mark: Mark, color: RGBColor, x: &[f64], y: &[f64]) -> Series {
        Series::new(
            mark,
            color,
            x.iter().copied().zip(y.iter().copied()).collect(),
        )
    }

    /// A line through `points` (broken at non-finite values).
    pub fn line(points: Vec<(f64, f64)>, stroke: Stroke, color: RGBColor) -> Series {
        Series::new(Mark::Line(stroke), color, points)
    }

    /// Markers at `points`.
    pub fn markers(points: Vec<(f64, f64)>, marker: Marker, color: RGBColor) -> Series {
        Series::new(Mark::Points(marker), color, points)
    }

    /// Markers at `points` with vertical bars (low, high) each.
    pub fn error_bars(
        points: Vec<(f64, f64)>,
        bars: Vec<(f64, f64)>,
        marker: Marker,
        color: RGBColor,
    ) -> Series {
        Series::new(Mark::ErrorBars(bars, marker), color, points)
    }

    /// A dashed vertical line at `x`.
    pub fn vline(x: f64, color: RGBColor) -> Series {
        Series::new(Mark::VLine, color, vec![(x, f64::NAN)])
    }

    /// A dashed horizontal line at `y`.
    pub fn hline(y: f64, color: RGBColor) -> Series {
        Series::new(Mark::HLine, color, vec![(f64::NAN, y)])
    }

    pub fn label(mut self, label: impl Into<String>) -> Series {
        self.label = Some(label.into());
        self
    }

    pub fn note(text: impl Into<String>) -> Series {
        Series::new(Mark::Note, style::GREY, Vec::new()).label(text)
    }
}

#[derive(Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    /// One data unit is as long on x as on y (the complex plane).
    pub equal: bool,
    /// Fixed y range (data units), else from the data.
    pub y_range: Option<(f64, f64)>,
    /// Where the legend goes (default: the corner that hides the fewest points).
    pub legend: Option<SeriesLabelPosition>,
    pub series: Vec<Series>,
}

impl Panel {
    pub fn new(title: impl Into<String>, x_label: &str, y_label: &str) -> Panel {
        Panel {
            title: title.into(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            ..Panel::default()
        }
    }

    pub fn push(&mut self, series: Series) {
        self.series.push(series);
    }
}

/// A figure of panels in `cols` columns, filled row by row.
pub struct Grid {
    pub title: String,
    pub cols: usize,
    pub panels: Vec<Panel>,
    pub size: (u32, u32),
}

impl Grid {
    /// Rows of about 420 pixels (the figure 800 to 2000 high), 1200 pixels wide for one
    /// column, 1600 for more.
    pub fn new(title: impl Into<String>, cols: usize, panels: Vec<Panel>) -> Grid {
        let cols = cols.max(1);
        let rows = panels.len().div_ceil(cols).max(1) as u32;
        let height = (rows * 420 + 60).clamp(800, 2000);
        Grid {
            title: title.into(),
            cols,
            panels,
            size: (if cols > 1 { 1600 } else { 1200 }, height),
        }
    }

    /// Each panel `cell` pixels (the figure at least [`style::SIZE`] wide).
    pub fn with_cells(
        title: impl Into<String>,
        cols: usize,
        panels: Vec<Panel>,
        cell: (u32, u32),
    ) -> Grid {
        let cols = cols.max(1);
        let used = cols.min(panels.len().max(1)) as u32;
        let rows = panels.len().div_ceil(cols).max(1) as u32;
        Grid {
            title: title.into(),
            cols,
            panels,
            size: ((used * cell.0).max(style::SIZE.0), rows * cell.1 + 60),
        }
    }

    /// One panel, 1200 × 800 pixels.
    pub fn single(title: impl Into<String>, panel: Panel) -> Grid {
        Grid::with_cells(title, 1, vec![panel], (1200, 800))
    }

    /// Write the figure as `out/stem.svg` and `.png`.
    pub fn render(&self, out: &Path, stem: &str) -> Result<Outcome> {
        Ok(Outcome::Written(style::render(self, out, stem)?))
    }
}

impl Figure for Grid {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let cols = self.cols.min(self.panels.len().max(1));
        let rows = self.panels.len().div_ceil(cols).max(1);
        let areas = body.split_evenly((rows, cols));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(panel, area)?;
        }
        Ok(())
    }
}

/// log₁₀ on a log axis: 0 and below go to −∞ (clamped to the axis where that makes sense).
fn transform(v: f64, log: bool) -> f64 {
    if !log || v.is_nan() {
        v
    } else if v > 0.0 {
        v.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// A tick of a (transformed) log axis: the value 10^v.
fn log_tick(v: &f64) -> String {
    let x = 10f64.powf(*v);
    if !(1e-3..1e5).contains(&x) {
        format!("{x:.0e}").replace('-', "−")
    } else {
        style::number_tick(&x)
    }
}

fn lin_tick(v: &f64) -> String {
    style::number_tick(if v.abs() < 1e-12 { &0.0 } else { v })
}

/// Label areas and margins of a panel, in pixels.
const MARGIN: u32 = 10;
const X_LABELS: u32 = 50;
const Y_LABELS: u32 = 80;
const CAPTION: u32 = 34;

/// Widen the shorter of the two ranges so that data units have the same length on both axes
/// of a plot area of `pixels`.
fn equalize(xr: Range<f64>, yr: Range<f64>, pixels: (u32, u32)) -> (Range<f64>, Range<f64>) {
    let (w, h) = (f64::from(pixels.0.max(1)), f64::from(pixels.1.max(1)));
    let (dx, dy) = (xr.end - xr.start, yr.end - yr.start);
    if dx / w > dy / h {
        let c = 0.5 * (yr.start + yr.end);
        let half = 0.5 * dx * h / w;
        (xr, c - half..c + half)
    } else {
        let c = 0.5 * (xr.start + xr.end);
        let half = 0.5 * dy * w / h;
        (c - half..c + half, yr)
    }
}

type DrawError<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;

fn draw_markers<DB: DrawingBackend>(
    chart: &mut style::Chart<'_, DB>,
    points: &[(f64, f64)],
    marker: Marker,
    color: RGBColor,
) -> std::result::Result<(), DrawError<DB>> {
    match marker {
        Marker::Disc(r) => {
            chart.draw_series(
                points
                    .iter()
                    .map(|&q| Circle::new(q, r, color.mix(0.9).filled())),
            )?;
        }
        Marker::Ring(r) => {
            chart.draw_series(
                points
                    .iter()
                    .map(|&q| Circle::new(q, r, color.stroke_width(3))),
            )?;
        }
        Marker::Square(r) => {
            let r = r as i32;
            chart.draw_series(points.iter().map(|&q| {
                EmptyElement::at(q)
                    + Rectangle::new([(-r, -r), (r, r)], WHITE.filled())
                    + Rectangle::new([(-r, -r), (r, r)], color.stroke_width(2))
            }))?;
        }
    }
    Ok(())
}

/// The styles of a marker in the legend: the square's outline and fill, the circle, each
/// transparent where the marker does not use it (so that every legend marker is one type).
fn marker_styles(marker: Marker, color: RGBColor) -> (ShapeStyle, ShapeStyle, ShapeStyle) {
    let none: ShapeStyle = TRANSPARENT.stroke_width(0);
    match marker {
        Marker::Disc(_) => (none, none, color.filled()),
        Marker::Ring(_) => (none, none, color.stroke_width(2)),
        Marker::Square(_) => (color.stroke_width(2), WHITE.filled(), none),
    }
}

/// The styles of a line in the legend: solid, dashed (one transparent), dash and gap.
fn line_styles(stroke: Stroke, color: RGBColor) -> (ShapeStyle, ShapeStyle, u32, u32) {
    let none: ShapeStyle = TRANSPARENT.stroke_width(0);
    match (stroke, stroke.dashes()) {
        (_, Some((dash, gap, w))) => (
            none,
            color.stroke_width(w.max(2)),
            dash / 2 + 1,
            gap / 2 + 1,
        ),
        (Stroke::Solid(w), None) => (color.stroke_width(w.max(2)), none, 4, 4),
        _ => (none, none, 4, 4),
    }
}

/// The panel's x and y ranges (transformed), from every drawn value of its series.
fn ranges(p: &Panel) -> (Range<f64>, Range<f64>) {
    let tx = |v: f64| transform(v, p.log_x);
    let ty = |v: f64| transform(v, p.log_y);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for s in &p.series {
        let (px, py) = (
            s.points.iter().map(|q| tx(q.0)),
            s.points.iter().map(|q| ty(q.1)),
        );
        match &s.mark {
            Mark::Note => {}
            Mark::VLine => xs.extend(px),
            Mark::HLine => ys.extend(py),
            Mark::Line(_) | Mark::Points(_) => {
                for (x, y) in px.zip(py).filter(|q| q.0.is_finite() && q.1.is_finite()) {
                    xs.push(x);
                    ys.push(y);
                }
            }
            Mark::Band(high) => {
                xs.extend(px);
                ys.extend(py);
                ys.extend(high.iter().map(|&h| ty(h)));
            }
            Mark::ErrorBars(bars, _) => {
                for ((x, y), b) in px.zip(py).zip(bars) {
                    if x.is_finite() && y.is_finite() {
                        xs.push(x);
                        ys.extend([y, ty(b.0), ty(b.1)]);
                    }
                }
            }
            Mark::Bars(width) => {
                xs.extend(s.points.iter().flat_map(|q| [tx(q.0), tx(q.0 + width)]));
                ys.extend(py);
                ys.push(ty(0.0));
            }
        }
    }
    let bound = |v: Vec<f64>| {
        let (lo, hi) = style::bounds(v).unwrap_or((0.0, 1.0));
        style::padded(lo, hi, 0.05)
    };
    let xr = bound(xs);
    let yr = match p.y_range {
        Some((lo, hi)) => ty(lo)..ty(hi),
        None => bound(ys),
    };
    (xr, yr)
}

fn draw_panel<DB: DrawingBackend>(p: &Panel, area: &DrawingArea<DB, Shift>) -> DrawResult {
    let tx = |v: f64| transform(v, p.log_x);
    let ty = |v: f64| transform(v, p.log_y);
    let finite = |q: &(f64, f64)| q.0.is_finite() && q.1.is_finite();
    let (mut xr, mut yr) = ranges(p);
    if p.equal {
        let (w, h) = area.dim_in_pixel();
        let plot = (
            w.saturating_sub(2 * MARGIN + Y_LABELS),
            h.saturating_sub(2 * MARGIN + X_LABELS + CAPTION),
        );
        (xr, yr) = equalize(xr, yr, plot);
    }
    let fx = |v: &f64| if p.log_x { log_tick(v) } else { lin_tick(v) };
    let fy = |v: &f64| if p.log_y { log_tick(v) } else { lin_tick(v) };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, font(style::PANEL_TITLE_SIZE - 4))
        .margin(MARGIN)
        .x_label_area_size(X_LABELS)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(xr.clone(), yr.clone())?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .axis_desc_style(font(style::AXIS_SIZE - 4))
        .label_style(font(style::TICK_SIZE - 2))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()?;
    // ±∞ (a log axis at or below 0) onto the axis' ends.
    let clamp_y = |v: f64| {
        if v == f64::NEG_INFINITY {
            yr.start
        } else if v == f64::INFINITY {
            yr.end
        } else {
            v
        }
    };
    let mut drawn: Vec<(f64, f64)> = Vec::new();
    let mut labelled = false;
    for s in &p.series {
        let color = s.color;
        let pts: Vec<(f64, f64)> = s.points.iter().map(|q| (tx(q.0), ty(q.1))).collect();
        // Draw; `shown` is false when nothing of the series could be drawn.
        let shown = match &s.mark {
            Mark::Points(marker) => {
                let ok: Vec<(f64, f64)> = pts.iter().copied().filter(finite).collect();
                drawn.extend(ok.iter().copied());
                draw_markers(&mut chart, &ok, *marker, color)?;
                true
            }
            Mark::Line(stroke) => {
                let segments = style::segments(&pts);
                let any = segments.iter().any(|seg| !seg.is_empty());
                for seg in segments {
                    drawn.extend(style::densify(&seg, 4));
                    match stroke.dashes() {
                        None => {
                            let w = match stroke {
                                Stroke::Solid(w) => *w,
                                _ => unreachable!("only a solid stroke has no dashes"),
                            };
                            chart.draw_series(LineSeries::new(seg, color.stroke_width(w)))?;
                        }
                        Some((dash, gap, w)) => {
                            chart.draw_series(DashedLineSeries::new(
                                seg,
                                dash,
                                gap,
                                color.stroke_width(w),
                            ))?;
                        }
                    }
                }
                any
            }
            Mark::ErrorBars(bars, marker) => {
                let mut ok = Vec::new();
                for (q, b) in pts.iter().zip(bars) {
                    if !finite(q) {
                        continue;
                    }
                    ok.push(*q);
                    let (lo, hi) = (clamp_y(ty(b.0)), clamp_y(ty(b.1)));
                    if lo.is_finite() && hi.is_finite() {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(q.0, lo), (q.0, hi)],
                            color.stroke_width(2),
                        )))?;
                    }
                }
                for seg in style::segments(&pts) {
                    chart.draw_series(LineSeries::new(seg, color.mix(0.5).stroke_width(1)))?;
                }
                drawn.extend(ok.iter().copied());
                draw_markers(&mut chart, &ok, *marker, color)?;
                true
            }
            Mark::Band(high) => {
                let hi: Vec<f64> = high.iter().map(|&h| ty(h)).collect();
                let ok = |k: usize| finite(&pts[k]) && hi.get(k).is_some_and(|h| h.is_finite());
                let mut run: Vec<usize> = Vec::new();
                let mut any = false;
                for k in 0..=pts.len() {
                    if k < pts.len() && ok(k) {
                        run.push(k);
                        continue;
                    }
                    if run.len() > 1 {
                        let mut poly: Vec<(f64, f64)> = run.iter().map(|&j| pts[j]).collect();
                        poly.extend(run.iter().rev().map(|&j| (pts[j].0, hi[j])));
                        chart.draw_series(std::iter::once(Polygon::new(
                            poly,
                            color.mix(0.22).filled(),
                        )))?;
                        any = true;
                    }
                    run.clear();
                }
                any
            }
            Mark::VLine | Mark::HLine => {
                let mut any = false;
                for q in &pts {
                    let line = if matches!(s.mark, Mark::VLine) {
                        vec![(q.0, yr.start), (q.0, yr.end)]
                    } else {
                        vec![(xr.start, q.1), (xr.end, q.1)]
                    };
                    if line.iter().all(finite) {
                        drawn.extend(style::densify(&line, 8));
                        chart.draw_series(DashedLineSeries::new(
                            line,
                            5,
                            5,
                            color.stroke_width(2),
                        ))?;
                        any = true;
                    }
                }
                any
            }
            Mark::Bars(width) => {
                let base = clamp_y(ty(0.0));
                let bars: Vec<[(f64, f64); 2]> = s
                    .points
                    .iter()
                    .map(|q| [(tx(q.0), base), (tx(q.0 + width), ty(q.1))])
                    .filter(|b| b.iter().all(finite))
                    .collect();
                drawn.extend(bars.iter().map(|b| (0.5 * (b[0].0 + b[1].0), b[1].1)));
                chart.draw_series(
                    bars.into_iter()
                        .map(|b| Rectangle::new(b, color.mix(0.45).filled())),
                )?;
                true
            }
            Mark::Note => true,
        };
        // The legend entry, for labelled series only.
        let Some(label) = s.label.as_ref().filter(|_| shown) else {
            continue;
        };
        let anno = chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?;
        match &s.mark {
            Mark::Points(marker) | Mark::ErrorBars(_, marker) => {
                let (marker, bar) = (*marker, matches!(s.mark, Mark::ErrorBars(..)));
                anno.legend(move |(x, y)| {
                    let (square, fill, circle) = marker_styles(marker, color);
                    let h = if bar { 8 } else { 0 };
                    EmptyElement::at((x + 12, y))
                        + PathElement::new(vec![(0, -h), (0, h)], color.stroke_width(2))
                        + Rectangle::new([(-5, -5), (5, 5)], fill)
                        + Rectangle::new([(-5, -5), (5, 5)], square)
                        + Circle::new((0, 0), 5, circle)
                });
            }
            Mark::Line(stroke) => {
                let stroke = *stroke;
                anno.legend(move |(x, y)| {
                    let (solid, dashed, dash, gap) = line_styles(stroke, color);
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], solid)
                        + DashedPathElement::new(vec![(0, 0), (24, 0)], dash, gap, dashed)
                });
            }
            Mark::Band(_) | Mark::Bars(_) => {
                let fill = color.mix(if matches!(s.mark, Mark::Band(_)) {
                    0.22
                } else {
                    0.45
                });
                anno.legend(move |(x, y)| {
                    Rectangle::new([(x, y - 7), (x + 24, y + 7)], fill.filled())
                });
            }
            Mark::VLine | Mark::HLine => {
                anno.legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 3, 3, color.stroke_width(2))
                });
            }
            Mark::Note => {
                anno.legend(|(x, y)| EmptyElement::at((x, y)));
            }
        }
        anno.label(label.as_str());
        labelled = true;
    }
    if labelled {
        let frac: Vec<(f64, f64)> = drawn
            .iter()
            .map(|q| (style::fraction(q.0, &xr), style::fraction(q.1, &yr)))
            .collect();
        chart
            .configure_series_labels()
            .position(
                p.legend
                    .clone()
                    .unwrap_or_else(|| style::legend_corner(frac, 0.45, 0.35)),
            )
            .margin(8)
            .legend_area_size(30)
            .label_font(font(style::LEGEND_SIZE - 4))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_scales_widen_the_short_range() {
        let (x, y) = equalize(-2.0..0.0, -0.5..0.5, (400, 400));
        assert_eq!(x, -2.0..0.0);
        assert!((y.end - y.start - 2.0).abs() < 1e-12 && y.start.abs() == y.end.abs());
        let (x, y) = equalize(0.0..1.0, 0.0..4.0, (200, 400));
        assert!((x.end - x.start - 2.0).abs() < 1e-12);
        assert_eq!(y, 0.0..4.0);
    }

    #[test]
    fn ranges_cover_bands_bars_error_bars_and_reference_lines_but_not_log_zeros() {
        let mut p = Panel::new("t", "x", "y");
        p.push(Series::new(
            Mark::Band(vec![3.0, 4.0]),
            BLACK,
            vec![(0.0, 1.0), (1.0, 2.0)],
        ));
        p.push(Series::new(Mark::Bars(0.5), BLACK, vec![(2.0, 5.0)]));
        p.push(Series::vline(-1.0, BLACK));
        p.push(Series::hline(-2.0, BLACK));
        let (x, y) = ranges(&p);
        let pad = |lo: f64, hi: f64| style::padded(lo, hi, 0.05);
        assert_eq!(x, pad(-1.0, 2.5));
        assert_eq!(y, pad(-2.0, 5.0));

        let mut log = Panel::new("t", "x", "y");
        log.log_y = true;
        log.push(Series::new(
            Mark::ErrorBars(vec![(0.0, 100.0), (1.0, 10.0)], Marker::Disc(4)),
            BLACK,
            vec![(0.0, 10.0), (1.0, 0.0)],
        ));
        let (x, y) = ranges(&log);
        // The point at y = 0 has no place on a log axis; its bar's low end at 0 neither.
        assert_eq!(x, pad(0.0, 0.0));
        assert_eq!(y, pad(1.0, 2.0));
    }
}
