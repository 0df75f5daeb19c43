//! A grid of simple panels (lines, dashed theory lines, markers, bands, error bars, reference
//! lines, histogram bars), each with its own axes (linear or log₁₀) and legend: what every
//! figure of the Lotito family is made of.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::element::{DashedPathElement, EmptyElement};
use plotters::prelude::*;

use crate::plot::style::{self, font, DrawResult, Figure};

/// How a [`Series`] is drawn.
pub enum Mark {
    /// A solid line of this width.
    Line(u32),
    /// A dashed line (theory).
    Dashed,
    /// A dotted line (a second theory).
    Dotted,
    /// Markers of this radius, no line.
    Points(u32),
    /// A band from the series' points (x, low) up to these highs.
    Band(Vec<f64>),
    /// Markers with vertical error bars (low, high) per point.
    ErrorBars(Vec<(f64, f64)>),
    /// A vertical line at the x of the first point.
    VLine,
    /// A horizontal line at the y of the first point.
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
    pub series: Vec<Series>,
    /// Fixed y range (data units), else from the data.
    pub y_range: Option<(f64, f64)>,
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
pub struct Panels {
    pub title: String,
    pub cols: usize,
    pub panels: Vec<Panel>,
    pub size: (u32, u32),
}

impl Panels {
    pub fn new(title: impl Into<String>, cols: usize, panels: Vec<Panel>) -> Panels {
        let rows = panels.len().div_ceil(cols.max(1)).max(1) as u32;
        let height = (rows * 420 + 60).clamp(800, 2000);
        Panels {
            title: title.into(),
            cols: cols.max(1),
            panels,
            size: (if cols > 1 { 1600 } else { 1200 }, height),
        }
    }
}

fn transform(v: f64, log: bool) -> f64 {
    if !log {
        v
    } else if v > 0.0 {
        v.log10()
    } else {
        f64::NAN
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

fn range_of(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = style::bounds(values).unwrap_or((0.0, 1.0));
    style::padded(lo, hi, 0.05)
}

impl Figure for Panels {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let rows = self.panels.len().div_ceil(self.cols).max(1);
        let areas = body.split_evenly((rows, self.cols));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(panel, area)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(p: &Panel, area: &DrawingArea<DB, Shift>) -> DrawResult {
    let tx = |v: f64| transform(v, p.log_x);
    let ty = |v: f64| transform(v, p.log_y);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for s in &p.series {
        match &s.mark {
            Mark::Note => {}
            Mark::HLine => ys.extend(s.points.iter().map(|q| ty(q.1))),
            Mark::VLine => xs.extend(s.points.iter().map(|q| tx(q.0))),
            Mark::Band(high) => {
                xs.extend(s.points.iter().map(|q| tx(q.0)));
                ys.extend(s.points.iter().map(|q| ty(q.1)));
                ys.extend(high.iter().map(|&h| ty(h)));
            }
            Mark::ErrorBars(bars) => {
                xs.extend(s.points.iter().map(|q| tx(q.0)));
                ys.extend(s.points.iter().map(|q| ty(q.1)));
                ys.extend(bars.iter().flat_map(|b| [ty(b.0), ty(b.1)]));
            }
            Mark::Bars(width) => {
                xs.extend(s.points.iter().flat_map(|q| [tx(q.0), tx(q.0 + width)]));
                ys.extend(s.points.iter().map(|q| ty(q.1)));
                ys.push(ty(0.0));
            }
            _ => {
                xs.extend(s.points.iter().map(|q| tx(q.0)));
                ys.extend(s.points.iter().map(|q| ty(q.1)));
            }
        }
    }
    let xr = range_of(xs);
    let yr = match p.y_range {
        Some((lo, hi)) => ty(lo)..ty(hi),
        None => range_of(ys),
    };
    let fx = |v: &f64| if p.log_x { log_tick(v) } else { lin_tick(v) };
    let fy = |v: &f64| if p.log_y { log_tick(v) } else { lin_tick(v) };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, font(style::PANEL_TITLE_SIZE - 4))
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(xr.clone(), yr.clone())?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .axis_desc_style(font(style::AXIS_SIZE - 4))
        .label_style(font(style::TICK_SIZE - 2))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let mut drawn: Vec<(f64, f64)> = Vec::new();
    let mut labelled = false;
    for s in &p.series {
        let color = s.color;
        let pts: Vec<(f64, f64)> = s.points.iter().map(|q| (tx(q.0), ty(q.1))).collect();
        let anno = match &s.mark {
            Mark::Line(width) => {
                let width = *width;
                let mut last = None;
                for seg in style::segments(&pts) {
                    drawn.extend(style::densify(&seg, 4));
                    last =
                        Some(chart.draw_series(LineSeries::new(seg, color.stroke_width(width)))?);
                }
                last.map(|a| {
                    a.legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                    })
                })
            }
            Mark::Dashed | Mark::Dotted => {
                let (dash, gap) = if matches!(s.mark, Mark::Dashed) {
                    (10, 6)
                } else {
                    (3, 4)
                };
                let mut last = None;
                for seg in style::segments(&pts) {
                    drawn.extend(style::densify(&seg, 4));
                    last = Some(chart.draw_series(DashedLineSeries::new(
                        seg,
                        dash,
                        gap,
                        color.stroke_width(3),
                    ))?);
                }
                last.map(|a| {
                    a.legend(move |(x, y)| {
                        DashedPathElement::new(
                            vec![(x, y), (x + 24, y)],
                            dash / 2 + 1,
                            gap / 2 + 1,
                            color.stroke_width(3),
                        )
                    })
                })
            }
            Mark::Points(r) => {
                let r = *r;
                let ok: Vec<(f64, f64)> = pts
                    .iter()
                    .copied()
                    .filter(|q| q.0.is_finite() && q.1.is_finite())
                    .collect();
                drawn.extend(ok.iter().copied());
                let anno =
                    chart.draw_series(ok.into_iter().map(|q| Circle::new(q, r, color.filled())))?;
                s.label
                    .as_ref()
                    .map(|_| anno.legend(move |(x, y)| Circle::new((x + 12, y), 5, color.filled())))
            }
            Mark::Band(high) => {
                let mut run: Vec<usize> = Vec::new();
                let hi: Vec<f64> = high.iter().map(|&h| ty(h)).collect();
                let finite =
                    |k: usize| pts[k].0.is_finite() && pts[k].1.is_finite() && hi[k].is_finite();
                let mut last = None;
                for k in 0..=pts.len() {
                    if k < pts.len() && finite(k) {
                        run.push(k);
                        continue;
                    }
                    if run.len() > 1 {
                        let mut poly: Vec<(f64, f64)> = run.iter().map(|&j| pts[j]).collect();
                        poly.extend(run.iter().rev().map(|&j| (pts[j].0, hi[j])));
                        last = Some(chart.draw_series(std::iter::once(Polygon::new(
                            poly,
                            color.mix(0.22).filled(),
                        )))?);
                    }
                    run.clear();
                }
                last.map(|a| {
                    a.legend(move |(x, y)| {
                        Rectangle::new([(x, y - 7), (x + 24, y + 7)], color.mix(0.22).filled())
                    })
                })
            }
            Mark::ErrorBars(bars) => {
                for (q, b) in pts.iter().zip(bars) {
                    let (lo, hi) = (ty(b.0), ty(b.1));
                    if q.0.is_finite() && lo.is_finite() && hi.is_finite() {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(q.0, lo), (q.0, hi)],
                            color.stroke_width(2),
                        )))?;
                    }
                }
                let ok: Vec<(f64, f64)> = pts
                    .iter()
                    .copied()
                    .filter(|q| q.0.is_finite() && q.1.is_finite())
                    .collect();
                drawn.extend(ok.iter().copied());
                for seg in style::segments(&pts) {
                    chart.draw_series(LineSeries::new(seg, color.mix(0.5).stroke_width(1)))?;
                }
                Some(
                    chart
                        .draw_series(ok.into_iter().map(|q| Circle::new(q, 5, color.filled())))?
                        .legend(move |(x, y)| {
                            EmptyElement::at((x + 12, y))
                                + Circle::new((0, 0), 5, color.filled())
                                + PathElement::new(vec![(0, -8), (0, 8)], color.stroke_width(2))
                        }),
                )
            }
            Mark::VLine | Mark::HLine => {
                let mut last = None;
                for q in &pts {
                    let line = if matches!(s.mark, Mark::VLine) {
                        vec![(q.0, yr.start), (q.0, yr.end)]
                    } else {
                        vec![(xr.start, q.1), (xr.end, q.1)]
                    };
                    if line.iter().all(|v| v.0.is_finite() && v.1.is_finite()) {
                        drawn.extend(style::densify(&line, 8));
                        last = Some(chart.draw_series(DashedLineSeries::new(
                            line,
                            5,
                            5,
                            color.stroke_width(2),
                        ))?);
                    }
                }
                last.map(|a| {
                    a.legend(move |(x, y)| {
                        DashedPathElement::new(
                            vec![(x, y), (x + 24, y)],
                            3,
                            3,
                            color.stroke_width(2),
                        )
                    })
                })
            }
            Mark::Bars(width) => {
                let w = *width;
                let base = ty(0.0);
                let bars: Vec<[(f64, f64); 2]> = s
                    .points
                    .iter()
                    .map(|q| [(tx(q.0), base), (tx(q.0 + w), ty(q.1))])
                    .filter(|b| b.iter().all(|v| v.0.is_finite() && v.1.is_finite()))
                    .collect();
                drawn.extend(bars.iter().map(|b| (0.5 * (b[0].0 + b[1].0), b[1].1)));
                Some(
                    chart
                        .draw_series(
                            bars.into_iter()
                                .map(|b| Rectangle::new(b, color.mix(0.45).filled())),
                        )?
                        .legend(move |(x, y)| {
                            Rectangle::new([(x, y - 7), (x + 24, y + 7)], color.mix(0.45).filled())
                        }),
                )
            }
            Mark::Note => Some(
                chart
                    .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                    .legend(|(x, y)| EmptyElement::at((x, y))),
            ),
        };
        if let (Some(anno), Some(label)) = (anno, &s.label) {
            anno.label(label.as_str());
            labelled = true;
        }
    }
    if labelled {
        let frac: Vec<(f64, f64)> = drawn
            .iter()
            .map(|q| (style::fraction(q.0, &xr), style::fraction(q.1, &yr)))
            .collect();
        chart
            .configure_series_labels()
            .position(style::legend_corner(frac, 0.45, 0.35))
            .margin(8)
            .legend_area_size(30)
            .label_font(font(style::LEGEND_SIZE - 4))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    Ok(())
}
