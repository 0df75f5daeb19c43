//! A legend below the plots (a strip of entries that wraps into rows), so that it hides no data:
//! the eigenvalue clouds fill their panels, and a figure of several panels shares one legend.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::style::{self, font, DrawError, GREY};

/// The mark before a legend text.
#[derive(Clone, Copy, PartialEq)]
pub enum Mark {
    Dot(RGBColor),
    /// A faint dot: single networks or trajectories.
    Faint(RGBColor),
    Line(RGBColor),
    /// A line with a dot: means at the points.
    LineDot(RGBColor),
    Dashed(RGBColor),
    Dotted(RGBColor),
    Band(RGBColor),
    /// A vertical bar: a min–max range.
    Range(RGBColor),
    /// A note (a grey cross).
    Note,
}

/// Entries in order, each label once.
#[derive(Default)]
pub struct Legend {
    pub items: Vec<(Mark, String)>,
}

const ROW: i32 = 28;
const MARK: i32 = 30;
const GAP: i32 = 34;

impl Legend {
    pub fn push(&mut self, mark: Mark, label: impl Into<String>) {
        let label = label.into();
        if !label.is_empty() && !self.items.iter().any(|(_, l)| *l == label) {
            self.items.push((mark, label));
        }
    }

    pub fn extend(&mut self, other: &Legend) {
        for (mark, label) in &other.items {
            self.push(*mark, label.clone());
        }
    }

    /// The x of each entry and its row, for a strip `width` pixels wide.
    fn layout<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        width: i32,
        size: u32,
    ) -> Result<Vec<(i32, i32)>, DrawError> {
        let mut at = Vec::with_capacity(self.items.len());
        let (mut x, mut row) = (20, 0);
        for (_, label) in &self.items {
            let (w, _) = area.estimate_text_size(label, &font(size))?;
            let item = MARK + 10 + w as i32;
            if x > 20 && x + item > width - 10 {
                x = 20;
                row += 1;
            }
            at.push((x, row));
            x += item + GAP;
        }
        Ok(at)
    }

    /// Draw the legend at the bottom of `area` and return the part above it (all of `area` when
    /// the legend is empty).
    pub fn below<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        size: u32,
    ) -> Result<DrawingArea<DB, Shift>, DrawError> {
        if self.items.is_empty() {
            return Ok(area.clone());
        }
        let (w, h) = area.dim_in_pixel();
        let at = self.layout(area, w as i32, size)?;
        let rows = at.last().map_or(0, |p| p.1) + 1;
        let height = (rows * ROW + 14) as u32;
        let (top, strip) = area.split_vertically(h.saturating_sub(height));
        let text = font(size).pos(Pos::new(HPos::Left, VPos::Center));
        for ((mark, label), (x, row)) in self.items.iter().zip(at) {
            let y = 7 + row * ROW + ROW / 2;
            draw_mark(&strip, *mark, x, y)?;
            strip.draw(&Text::new(label.clone(), (x + MARK + 10, y), text.clone()))?;
        }
        Ok(top)
    }
}

fn draw_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: Mark,
    x: i32,
    y: i32,
) -> Result<(), DrawError> {
    let (a, b) = ((x, y), (x + MARK, y));
    match mark {
        Mark::Dot(c) => area.draw(&Circle::new((x + MARK / 2, y), 5, c.filled()))?,
        Mark::Faint(c) => area.draw(&Circle::new((x + MARK / 2, y), 4, c.mix(0.35).filled()))?,
        Mark::Line(c) => area.draw(&PathElement::new(vec![a, b], c.stroke_width(3)))?,
        Mark::LineDot(c) => {
            area.draw(&PathElement::new(vec![a, b], c.stroke_width(3)))?;
            area.draw(&Circle::new((x + MARK / 2, y), 5, c.filled()))?;
        }
        Mark::Dashed(c) => {
            area.draw(&DashedPathElement::new(vec![a, b], 8, 5, c.stroke_width(3)))?
        }
        Mark::Dotted(c) => {
            area.draw(&DashedPathElement::new(vec![a, b], 3, 4, c.stroke_width(3)))?
        }
        Mark::Band(c) => area.draw(&Rectangle::new(
            [(x, y - 8), (x + MARK, y + 8)],
            c.mix(0.22).filled(),
        ))?,
        Mark::Range(c) => area.draw(&PathElement::new(
            vec![(x + MARK / 2, y - 10), (x + MARK / 2, y + 10)],
            c.stroke_width(2),
        ))?,
        Mark::Note => area.draw(&Cross::new((x + MARK / 2, y), 6, GREY.stroke_width(2)))?,
    }
    Ok(())
}

/// The legend text size of a figure with `panels` panels.
pub fn size(panels: usize) -> u32 {
    if panels > 1 {
        style::LEGEND_SIZE - 1
    } else {
        style::LEGEND_SIZE
    }
}
