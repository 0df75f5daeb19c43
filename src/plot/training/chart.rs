//! The panels the reservoir figures are made of: markers (filled or open), lines (solid,
//! dashed, NaN-broken), error bars, reference lines, on linear or log₁₀ y axes, optionally
//! with equal x and y scales (the complex plane), each panel with its own legend.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::element::{DashedPathElement, EmptyElement};
use plotters::prelude::*;

use crate::plot::style::{self, font, DrawResult, Figure};

/// The marker of a [`Layer::Markers`] or [`Layer::ErrorBars`].
#[derive(Clone, Copy, PartialEq)]
pub enum Marker {
    /// A filled disc of this radius.
    Disc(u32),
    /// An open circle of this radius.
    Ring(u32),
    /// An open square of this half-width.
    Square(u32),
}

/// The stroke of a [`Layer::Line`].
#[derive(Clone, Copy, PartialEq)]
pub enum Stroke {
    Solid(u32),
    Dashed(u32),
    Dotted(u32),
}

pub enum Layer {
    Markers(Vec<(f64, f64)>, Marker),
    /// A line through the points, broken at non-finite values.
    Line(Vec<(f64, f64)>, Stroke),
    /// Markers with vertical bars (low, high) per point, joined by a faint line.
    ErrorBars(Vec<(f64, f64)>, Vec<(f64, f64)>, Marker),
    /// A dashed vertical line at x.
    VLine(f64),
    /// A dashed horizontal line at y.
    HLine(f64),
    /// A legend line only.
    Note,
}

pub struct Series {
    pub layer: Layer,
    pub color: RGBColor,
    pub label: Option<String>,
}

impl Series {
    pub fn new(layer: Layer, color: RGBColor) -> Series {
        Series {
            layer,
            color,
            label: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Series {
        self.label = Some(label.into());
        self
    }

    pub fn note(text: impl Into<String>) -> Series {
        Series::new(Layer::Note, style::GREY).label(text)
    }
}

#[derive(Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    /// One data unit is as long on x as on y (the complex plane).
    pub equal: bool,
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

/// A figure of panels in `cols` columns, filled row by row, each panel `cell` pixels.
pub struct Grid {
    pub title: String,
    pub cols: usize,
    pub panels: Vec<Panel>,
    pub cell: (u32, u32),
}

impl Grid {
    pub fn new(
        title: impl Into<String>,
        cols: usize,
        panels: Vec<Panel>,
        cell: (u32, u32),
    ) -> Grid {
        Grid {
            title: title.into(),
            cols: cols.max(1),
            panels,
            cell,
        }
    }
}

impl Figure for Grid {
    fn size(&self) -> (u32, u32) {
        let cols = self.cols.min(self.panels.len().max(1)) as u32;
        let rows = self.panels.len().div_ceil(self.cols).max(1) as u32;
        (
            (cols * self.cell.0).max(style::SIZE.0),
            rows * self.cell.1 + 60,
        )
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

fn draw_marker<DB: DrawingBackend>(
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

type DrawError<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;

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
    match (stroke, dash_of(stroke)) {
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

fn dash_of(stroke: Stroke) -> Option<(u32, u32, u32)> {
    match stroke {
        Stroke::Solid(_) => None,
        Stroke::Dashed(w) => Some((10, 6, w)),
        Stroke::Dotted(w) => Some((3, 4, w)),
    }
}

fn draw_panel<DB: DrawingBackend>(p: &Panel, area: &DrawingArea<DB, Shift>) -> DrawResult {
    let ty = |v: f64| transform(v, p.log_y);
    let finite = |q: &(f64, f64)| q.0.is_finite() && q.1.is_finite();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for s in &p.series {
        match &s.layer {
            Layer::Note => {}
            Layer::HLine(y) => ys.push(ty(*y)),
            Layer::VLine(x) => xs.push(*x),
            Layer::Markers(pts, _) | Layer::Line(pts, _) => {
                for q in pts.iter().map(|q| (q.0, ty(q.1))).filter(finite) {
                    xs.push(q.0);
                    ys.push(q.1);
                }
            }
            Layer::ErrorBars(pts, bars, _) => {
                for (q, b) in pts.iter().zip(bars) {
                    let q = (q.0, ty(q.1));
                    if finite(&q) {
                        xs.push(q.0);
                        ys.extend([q.1, ty(b.0), ty(b.1)]);
                    }
                }
            }
        }
    }
    let bound = |v: Vec<f64>| {
        let (lo, hi) = style::bounds(v).unwrap_or((0.0, 1.0));
        style::padded(lo, hi, 0.05)
    };
    let mut xr = bound(xs);
    let mut yr = match p.y_range {
        Some((lo, hi)) => ty(lo)..ty(hi),
        None => bound(ys),
    };
    if p.equal {
        let (w, h) = area.dim_in_pixel();
        let plot = (
            w.saturating_sub(2 * MARGIN + Y_LABELS),
            h.saturating_sub(2 * MARGIN + X_LABELS + CAPTION),
        );
        (xr, yr) = equalize(xr, yr, plot);
    }
    let fx = |v: &f64| lin_tick(v);
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
        // Draw; `shown` is false when nothing of the series could be drawn.
        let shown = match &s.layer {
            Layer::Markers(pts, marker) => {
                let ok: Vec<(f64, f64)> =
                    pts.iter().map(|q| (q.0, ty(q.1))).filter(finite).collect();
                drawn.extend(ok.iter().copied());
                draw_marker(&mut chart, &ok, *marker, color)?;
                true
            }
            Layer::Line(pts, stroke) => {
                let pts: Vec<(f64, f64)> = pts.iter().map(|q| (q.0, ty(q.1))).collect();
                for seg in style::segments(&pts) {
                    drawn.extend(style::densify(&seg, 4));
                    match (*stroke, dash_of(*stroke)) {
                        (Stroke::Solid(w), _) => {
                            chart.draw_series(LineSeries::new(seg, color.stroke_width(w)))?;
                        }
                        (_, Some((dash, gap, w))) => {
                            chart.draw_series(DashedLineSeries::new(
                                seg,
                                dash,
                                gap,
                                color.stroke_width(w),
                            ))?;
                        }
                        _ => {}
                    }
                }
                true
            }
            Layer::ErrorBars(pts, bars, marker) => {
                let mut ok = Vec::new();
                for (q, b) in pts.iter().zip(bars) {
                    let q = (q.0, ty(q.1));
                    if !finite(&q) {
                        continue;
                    }
                    ok.push(q);
                    let (lo, hi) = (clamp_y(ty(b.0)), clamp_y(ty(b.1)));
                    if lo.is_finite() && hi.is_finite() {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(q.0, lo), (q.0, hi)],
                            color.stroke_width(2),
                        )))?;
                    }
                }
                let line: Vec<(f64, f64)> = pts.iter().map(|q| (q.0, ty(q.1))).collect();
                for seg in style::segments(&line) {
                    chart.draw_series(LineSeries::new(seg, color.mix(0.5).stroke_width(1)))?;
                }
                drawn.extend(ok.iter().copied());
                draw_marker(&mut chart, &ok, *marker, color)?;
                true
            }
            Layer::VLine(_) | Layer::HLine(_) => {
                let line = match s.layer {
                    Layer::VLine(x) => vec![(x, yr.start), (x, yr.end)],
                    Layer::HLine(y) => vec![(xr.start, ty(y)), (xr.end, ty(y))],
                    _ => unreachable!(),
                };
                let ok = line.iter().all(finite);
                if ok {
                    drawn.extend(style::densify(&line, 8));
                    chart.draw_series(DashedLineSeries::new(line, 5, 5, color.stroke_width(2)))?;
                }
                ok
            }
            Layer::Note => true,
        };
        // The legend entry, for labelled series only.
        let Some(label) = s.label.as_ref().filter(|_| shown) else {
            continue;
        };
        let anno = chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?;
        match &s.layer {
            Layer::Markers(_, marker) | Layer::ErrorBars(_, _, marker) => {
                let (marker, bar) = (*marker, matches!(s.layer, Layer::ErrorBars(..)));
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
            Layer::Line(_, stroke) => {
                let stroke = *stroke;
                anno.legend(move |(x, y)| {
                    let (solid, dashed, dash, gap) = line_styles(stroke, color);
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], solid)
                        + DashedPathElement::new(vec![(0, 0), (24, 0)], dash, gap, dashed)
                });
            }
            Layer::VLine(_) | Layer::HLine(_) => {
                anno.legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 3, 3, color.stroke_width(2))
                });
            }
            Layer::Note => {
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
}
