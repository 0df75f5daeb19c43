//! **`target_pairs`**: a sweep over two `reservoir.targets.*` axes (K = 2): the eig-stable
//! fraction per (A_1, A_2) as a heat map, the cells the mean-field theory predicts stable
//! marked with a ring (and a cross where it has no finite solution). With more axes, one
//! figure per value combination of the others, `target_pairs__KEY_VALUE…`.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::sweep::{column, symbol};
use crate::error::Result;
use crate::plot::data::{Axis, Sweep};
use crate::plot::style::{self, font, DrawResult, Figure};
use crate::plot::Outcome;
use crate::theory::plane::{cell_edges, slices};

const PREFIX: &str = "reservoir.targets.";
const BAR_WIDTH: u32 = 190;
const LEGEND_STRIP: u32 = 56;
const NO_VALUE_FILL: RGBColor = RGBColor(205, 205, 205);

/// The cell of each value of an axis (by value index), in axis units.
fn cells(axis: &Axis) -> Vec<Range<f64>> {
    let (order, edges) = cell_edges(&axis.values, false);
    let mut out = vec![0.0..0.0; axis.values.len()];
    for (pos, &i) in order.iter().enumerate() {
        out[i] = edges[pos]..edges[pos + 1];
    }
    out
}

struct Cell {
    x: Range<f64>,
    y: Range<f64>,
    value: f64,
    predicted: f64,
}

struct PairsFigure {
    title: String,
    x: (String, Vec<f64>, Range<f64>),
    y: (String, Vec<f64>, Range<f64>),
    cells: Vec<Cell>,
    note: String,
}

/// The target-pair heat maps of a sweep, or a note why there is none.
pub fn target_pairs(sweep: &Sweep, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let targets: Vec<usize> = (0..sweep.axes.len())
        .filter(|&a| sweep.axes[a].key.starts_with(PREFIX))
        .collect();
    if targets.len() < 2 {
        return Ok(vec![(
            "target_pairs".into(),
            Outcome::Skipped(format!(
                "the sweep has {} `{PREFIX}*` axes (two make the map)",
                targets.len()
            )),
        )]);
    }
    let (xa, ya) = (targets[0], targets[1]);
    let p = &sweep.points;
    let Some(value) = p.f64_column("eig_stable_mean")? else {
        return Ok(vec![(
            "target_pairs".into(),
            Outcome::Skipped("points.csv has no eig_stable_mean".into()),
        )]);
    };
    let predicted = p
        .f64_column("predicted_success_mean")?
        .unwrap_or_else(|| vec![f64::NAN; p.len()]);
    let replicas = column(p, "replicas")?;
    let index = sweep.grid_indices()?;
    let others: Vec<usize> = (0..sweep.axes.len())
        .filter(|&a| a != xa && a != ya)
        .collect();
    let other_axes: Vec<Axis> = others.iter().map(|&a| sweep.axes[a].clone()).collect();
    let (x_axis, y_axis) = (&sweep.axes[xa], &sweep.axes[ya]);
    let (x_cells, y_cells) = (cells(x_axis), cells(y_axis));
    let span = |c: &[Range<f64>]| {
        let lo = c.iter().map(|r| r.start).fold(f64::INFINITY, f64::min);
        let hi = c.iter().map(|r| r.end).fold(f64::NEG_INFINITY, f64::max);
        lo..hi
    };
    let mut figures = Vec::new();
    for slice in slices(&other_axes) {
        let rows: Vec<usize> = (0..index.len())
            .filter(|&row| others.iter().zip(&slice).all(|(&a, &v)| index[row][a] == v))
            .collect();
        let fixed: Vec<(String, f64)> = other_axes
            .iter()
            .zip(&slice)
            .map(|(a, &v)| (a.key.clone(), a.values[v]))
            .collect();
        let suffix: String = fixed.iter().map(|(k, v)| format!("__{k}_{v}")).collect();
        let stem = format!("target_pairs{suffix}");
        if !rows.iter().any(|&r| value[r].is_finite()) {
            figures.push((
                stem,
                Outcome::Skipped("no finite eig_stable_mean (reservoir.spectrum off?)".into()),
            ));
            continue;
        }
        let cells: Vec<Cell> = rows
            .iter()
            .map(|&r| Cell {
                x: x_cells[index[r][xa]].clone(),
                y: y_cells[index[r][ya]].clone(),
                value: value[r],
                predicted: predicted[r],
            })
            .collect();
        let at: Vec<String> = fixed
            .iter()
            .map(|(k, v)| format!("{} = {}", symbol(k), style::number_tick(v)))
            .collect();
        let config = sweep.point_config(
            &fixed
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<Vec<_>>(),
        )?;
        let r = style::bounds(rows.iter().map(|&i| replicas[i])).map_or(0, |b| b.1 as usize);
        let title = format!(
            "Two targets: eig-stable fraction over (A_1, A_2) ({}, N = {}, g = {}{}{})",
            super::phi_name(config.reservoir_nonlinearity()),
            config.network.neurons,
            super::n(config.weights.std),
            if at.is_empty() { "" } else { ", " },
            at.join(", ")
        );
        let axis = |a: &Axis, c: &[Range<f64>]| {
            (
                format!("{}  ({})", symbol(&a.key), a.key),
                a.values.clone(),
                span(c),
            )
        };
        let fig = PairsFigure {
            title,
            x: axis(x_axis, &x_cells),
            y: axis(y_axis, &y_cells),
            cells,
            note: format!("{r} replicas per point"),
        };
        figures.push((
            stem.clone(),
            Outcome::Written(style::render(&fig, out, &stem)?),
        ));
    }
    Ok(figures)
}

/// The theory's mark: a white-haloed black ring.
fn ring<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, at: (i32, i32), r: i32) -> DrawResult {
    area.draw(&Circle::new(at, r, WHITE.stroke_width(7)))?;
    area.draw(&Circle::new(at, r, BLACK.stroke_width(3)))?;
    Ok(())
}

/// The mark of a cell where the theory has no answer: a small cross.
fn cross<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    r: i32,
) -> DrawResult {
    for (a, b) in [
        ((x - r, y - r), (x + r, y + r)),
        ((x - r, y + r), (x + r, y - r)),
    ] {
        area.draw(&PathElement::new(vec![a, b], WHITE.stroke_width(6)))?;
        area.draw(&PathElement::new(vec![a, b], BLACK.stroke_width(2)))?;
    }
    Ok(())
}

impl Figure for PairsFigure {
    fn size(&self) -> (u32, u32) {
        (1200, 1000)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let (w, h) = body.dim_in_pixel();
        let (main, strip) = body.split_vertically(h.saturating_sub(LEGEND_STRIP));
        let (plot, bar) = main.split_horizontally(w.saturating_sub(BAR_WIDTH));
        let mut chart = ChartBuilder::on(&plot)
            .margin(20)
            .x_label_area_size(65)
            .y_label_area_size(100)
            .build_cartesian_2d(self.x.2.clone(), self.y.2.clone())?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x.0)
            .y_desc(&self.y.0)
            .x_labels(0)
            .y_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|_| String::new())
            .set_all_tick_mark_size(0)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .draw()?;
        let corners = |c: &Cell| [(c.x.start, c.y.start), (c.x.end, c.y.end)];
        chart.draw_series(self.cells.iter().map(|c| {
            let fill = if c.value.is_finite() {
                style::viridis(c.value)
            } else {
                NO_VALUE_FILL
            };
            Rectangle::new(corners(c), fill.filled())
        }))?;
        chart.draw_series(
            self.cells
                .iter()
                .map(|c| Rectangle::new(corners(c), WHITE.mix(0.6).stroke_width(1))),
        )?;
        let base = plot.get_base_pixel();
        let px = |x: f64, y: f64| {
            let p = chart.backend_coord(&(x, y));
            (p.0 - base.0, p.1 - base.1)
        };
        for &v in &self.x.1 {
            let (x, y) = px(v, self.y.2.start);
            plot.draw(&PathElement::new(
                vec![(x, y), (x, y + 6)],
                BLACK.stroke_width(1),
            ))?;
            let label = font(style::TICK_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
            plot.draw(&Text::new(style::number_tick(&v), (x, y + 10), label))?;
        }
        for &v in &self.y.1 {
            let (x, y) = px(self.x.2.start, v);
            plot.draw(&PathElement::new(
                vec![(x - 6, y), (x, y)],
                BLACK.stroke_width(1),
            ))?;
            let label = font(style::TICK_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
            plot.draw(&Text::new(style::number_tick(&v), (x - 10, y), label))?;
        }
        for c in &self.cells {
            let (a, b) = (px(c.x.start, c.y.start), px(c.x.end, c.y.end));
            let size = (b.0 - a.0).abs().min((b.1 - a.1).abs());
            let centre = ((a.0 + b.0) / 2, (a.1 + b.1) / 2);
            if c.predicted >= 0.5 {
                ring(&plot, centre, (size / 4).max(5))?;
            } else if c.predicted.is_nan() {
                cross(&plot, centre, (size / 8).max(4))?;
            }
        }
        // The colour bar, 0 to 1.
        let mut scale = ChartBuilder::on(&bar)
            .margin_top(20)
            .margin_bottom(85)
            .margin_left(15)
            .margin_right(10)
            .y_label_area_size(0)
            .right_y_label_area_size(110)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        let steps = 100;
        scale.draw_series((0..steps).map(|k| {
            let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
            Rectangle::new([(0.0, a), (1.0, b)], style::viridis(0.5 * (a + b)).filled())
        }))?;
        scale
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("eig-stable fraction of replicas")
            .y_labels(5)
            .y_label_formatter(&|v: &f64| style::number_tick(v))
            .axis_desc_style(font(style::LEGEND_SIZE))
            .label_style(font(style::TICK_SIZE))
            .draw()?;
        // The legend strip.
        let y = LEGEND_STRIP as i32 / 2;
        let text = font(style::LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        let mut x = 120;
        let key = |strip: &DrawingArea<DB, Shift>, label: &str, x: &mut i32| -> DrawResult {
            strip.draw(&Text::new(label.to_string(), (*x + 24, y), text.clone()))?;
            let (w, _) = strip.estimate_text_size(label, &text)?;
            *x += 24 + w as i32 + 40;
            Ok(())
        };
        ring(&strip, (x, y), 9)?;
        key(
            &strip,
            "MFT predicts success (all ρ_k < 1, max Re eig L_k < 0)",
            &mut x,
        )?;
        if self.cells.iter().any(|c| c.predicted.is_nan()) {
            cross(&strip, (x, y), 6)?;
            key(&strip, "MFT: no finite solution", &mut x)?;
        }
        if self.cells.iter().any(|c| !c.value.is_finite()) {
            strip.draw(&Rectangle::new(
                [(x - 12, y - 10), (x + 12, y + 10)],
                NO_VALUE_FILL.filled(),
            ))?;
            key(&strip, "no value", &mut x)?;
        }
        let (w, _) = strip.dim_in_pixel();
        let right = font(style::LEGEND_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
        strip.draw(&Text::new(self.note.clone(), (w as i32 - 20, y), right))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::data::Spacing;

    #[test]
    fn cells_follow_the_value_order() {
        let axis = Axis {
            key: "reservoir.targets.0".into(),
            values: vec![1.0, -1.0, 0.0],
            spacing: Spacing::List,
        };
        let c = cells(&axis);
        assert_eq!(c[1], -1.5..-0.5);
        assert_eq!(c[2], -0.5..0.5);
        assert_eq!(c[0], 0.5..1.5);
    }
}
