//! Figure `bifurcation`: the bifurcation diagram of one replica across learning epochs.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, Run};
use super::style::{self, font, DrawResult, Figure, PALETTE};
use super::Outcome;
use crate::error::{Error, Result};

/// **`bifurcation`**: for replica K (`--replica`, default 0) and each epoch (x axis), the last T
/// recorded states of the first M neurons (`bifurcation.npy`, shape (R, E, T, M)), one colour
/// per neuron, each neuron's column shifted slightly so they do not hide one another. A fixed
/// point shows as one dot per neuron, a period-p orbit as p dots, quasi-periodic or chaotic
/// motion as a vertical smear: reading left to right gives the route from chaos to a steady
/// state through bifurcations.
pub fn bifurcation(run: &Run, out: &Path, replica: usize) -> Result<Outcome> {
    let Some(path) = run.array_path("bifurcation.npy") else {
        return Ok(Outcome::Skipped(
            "no bifurcation.npy in the run (written by newer versions of `hebbnet run`)".into(),
        ));
    };
    let a = data::read_real(&path, 4, "(replica, epoch, step, neuron)")?;
    let (replicas, epochs, steps, neurons) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3]);
    if replicas == 0 || epochs == 0 || steps == 0 || neurons == 0 {
        return Ok(Outcome::Skipped(format!(
            "bifurcation.npy is empty (shape {:?})",
            a.shape
        )));
    }
    if replica >= replicas {
        return Err(Error::input(
            &path,
            format!(
                "--replica {replica}: the run has {replicas} replica{} (0 to {})",
                if replicas == 1 { "" } else { "s" },
                replicas - 1
            ),
        ));
    }
    let width = 0.6;
    let shift = |i: usize| (i as f64 - (neurons as f64 - 1.0) / 2.0) * width / neurons as f64;
    let at =
        |e: usize, t: usize, i: usize| a.data[((replica * epochs + e) * steps + t) * neurons + i];
    // Values closer than 1/5000 of the range are one dot: a fixed point is one element, not
    // T identical ones, in the SVG.
    let (lo, hi) = style::bounds(
        (0..epochs * steps * neurons)
            .map(|k| at(k / (steps * neurons), k / neurons % steps, k % neurons)),
    )
    .unwrap_or((0.0, 1.0));
    let quantum = (hi - lo).max(f64::MIN_POSITIVE) / 5000.0;
    let mut series = vec![Vec::new(); neurons];
    for e in 0..epochs {
        for (i, s) in series.iter_mut().enumerate() {
            let mut column: Vec<i64> = (0..steps)
                .map(|t| at(e, t, i))
                .filter(|v| v.is_finite())
                .map(|v| ((v - lo) / quantum).round() as i64)
                .collect();
            column.sort_unstable();
            column.dedup();
            s.extend(
                column
                    .into_iter()
                    .map(|q| (e as f64 + shift(i), lo + q as f64 * quantum)),
            );
        }
    }
    let variable = match run
        .config_value(&["network", "form"])
        .and_then(serde_json::Value::as_str)
    {
        Some("current") => "current hᵢ",
        Some("rate") => "activity xᵢ",
        _ => "state",
    };
    let fig = BifurcationFigure {
        title: format!(
            "Bifurcation diagram: last {steps} states of {neurons} neuron{} in each epoch \
             (replica {replica})",
            if neurons == 1 { "" } else { "s" }
        ),
        y_desc: format!("{variable} (last {steps} steps of the epoch)"),
        epochs: (0..epochs).map(|e| e as f64).collect(),
        series,
    };
    Ok(Outcome::Written(style::render(&fig, out, "bifurcation")?))
}

struct BifurcationFigure {
    title: String,
    y_desc: String,
    epochs: Vec<f64>,
    /// Per neuron, the (epoch + shift, state) points.
    series: Vec<Vec<(f64, f64)>>,
}

impl Figure for BifurcationFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled(root, &self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (plot, legend) = body.split_horizontally(w.saturating_sub(150));
        let (lo, hi) =
            style::bounds(self.series.iter().flatten().map(|p| p.1)).unwrap_or((0.0, 1.0));
        let x = style::epoch_range(&self.epochs);
        let mut chart = ChartBuilder::on(&plot)
            .margin(20)
            .margin_top(10)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(x.start - 0.5..x.end + 0.5, style::padded(lo, hi, 0.04))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(&self.y_desc)
            .x_labels(style::epoch_ticks(&self.epochs))
            .x_label_formatter(&style::epoch_tick)
            .y_labels(8)
            .y_label_formatter(&style::number_tick)
            .axis_desc_style(font(style::AXIS_SIZE))
            .label_style(font(style::TICK_SIZE))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (i, points) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart.draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 3, color.mix(0.75).filled())),
            )?;
        }
        // Legend beside the plot, where it cannot hide points.
        for i in 0..self.series.len() {
            let y = 60 + 32 * i as i32;
            let color = PALETTE[i % PALETTE.len()];
            legend.draw(&Circle::new((20, y), 6, color.filled()))?;
            legend.draw(&Text::new(
                format!("neuron {i}"),
                (34, y - 10),
                font(style::LEGEND_SIZE),
            ))?;
        }
        Ok(())
    }
}
