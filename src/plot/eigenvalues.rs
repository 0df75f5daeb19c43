//! Figure `eigenvalues`: eigenvalue clouds of the weights and of the Jacobian.

use std::path::Path;

use num_complex::Complex;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, ComplexArray, Run};
use super::style::{self, font, DrawResult, Figure, BLUE, VERMILLION};
use super::Outcome;
use crate::error::{Error, Result};

/// At most this many eigenvalues per panel (replicas are thinned beyond it), so the SVG stays
/// small enough to open.
const MAX_POINTS_PER_PANEL: usize = 6_400;

/// Epochs shown when `--epochs` is not given: first, middle, last.
pub fn default_epochs(count: usize) -> Vec<usize> {
    let mut e = vec![0, (count.saturating_sub(1)) / 2, count.saturating_sub(1)];
    e.dedup();
    e
}

/// Check `--epochs` against the `count` epochs of the run.
pub fn check_epochs(epochs: &[usize], count: usize, dir: &Path) -> Result<()> {
    if epochs.is_empty() {
        return Err(Error::input(dir, "--epochs: give at least one epoch"));
    }
    if let Some(bad) = epochs.iter().find(|&&e| e >= count) {
        return Err(Error::input(
            dir,
            format!(
                "--epochs: epoch {bad} is not in this run (epochs 0 to {})",
                count.saturating_sub(1)
            ),
        ));
    }
    Ok(())
}

struct Panel {
    title: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// **`eigenvalues`**: the complex eigenvalues of W (top row) and of the Jacobian DF at the last
/// recorded step (bottom row) at the chosen epochs (columns; default first, middle, last), all
/// replicas overlaid as small points, with the unit circle (dashed) and equal scales on both
/// axes. Learning pulls the bulk of W's spectrum inwards (passive forgetting) while a few
/// learned outliers remain; the Jacobian's cloud entering the unit circle is the loss of chaos.
pub fn eigenvalues(run: &Run, out: &Path, epochs: Option<&[usize]>) -> Result<Outcome> {
    let layout = "(replica, epoch, neuron)";
    let mut kinds = Vec::new();
    for (file, name, color) in [
        ("eigenvalues_W.npy", "W", BLUE),
        ("eigenvalues_J.npy", "DF", VERMILLION),
    ] {
        if let Some(path) = run.array_path(file) {
            kinds.push((name, color, data::read_complex(&path, 3, layout)?));
        }
    }
    if kinds.is_empty() {
        return Ok(Outcome::Skipped(
            "no eigenvalues_W.npy or eigenvalues_J.npy (analysis.eigenvalues was off)".into(),
        ));
    }
    let shape = kinds[0].2.shape.clone();
    let (replicas, count, n) = (shape[0], shape[1], shape[2]);
    if replicas == 0 || count == 0 || n == 0 {
        return Ok(Outcome::Skipped(format!(
            "the eigenvalue arrays are empty (shape {shape:?})"
        )));
    }
    let epochs = match epochs {
        Some(e) => e.to_vec(),
        None => default_epochs(count),
    };
    check_epochs(&epochs, count, &run.dir)?;
    let shown = replicas.min((MAX_POINTS_PER_PANEL / n).max(1));
    let stride = replicas.div_ceil(shown);
    let shown = replicas.div_ceil(stride);

    let mut rows = Vec::new();
    for (name, color, array) in &kinds {
        if array.shape != shape {
            return Err(Error::input(
                run.dir.join("eigenvalues_J.npy"),
                format!(
                    "shape {:?} differs from eigenvalues_W.npy's {shape:?}",
                    array.shape
                ),
            ));
        }
        let row: Vec<Panel> = epochs
            .iter()
            .map(|&e| panel(array, name, *color, e, stride))
            .collect();
        rows.push(row);
    }
    let n_text = format!("N = {n}");
    let replica_text = if shown == replicas {
        format!("{replicas} replica{}", if replicas == 1 { "" } else { "s" })
    } else {
        format!("{shown} of {replicas} replicas")
    };
    let what = match kinds.len() {
        2 => "W and of the Jacobian DF",
        _ if kinds[0].0 == "W" => "the weights W",
        _ => "the Jacobian DF",
    };
    let fig = EigenvalueFigure {
        title: format!("Eigenvalues of {what} ({replica_text}, {n_text}; dashed: |z| = 1)"),
        rows,
    };
    Ok(Outcome::Written(style::render(&fig, out, "eigenvalues")?))
}

fn panel(array: &ComplexArray, name: &str, color: RGBColor, epoch: usize, stride: usize) -> Panel {
    let (replicas, count, n) = (array.shape[0], array.shape[1], array.shape[2]);
    let mut points = Vec::new();
    let mut radii = Vec::new();
    for r in 0..replicas {
        let start = (r * count + epoch) * n;
        let z: &[Complex<f64>] = &array.data[start..start + n];
        let finite: Vec<&Complex<f64>> = z
            .iter()
            .filter(|z| z.re.is_finite() && z.im.is_finite())
            .collect();
        if let Some(rho) = finite.iter().map(|z| z.norm()).reduce(f64::max) {
            radii.push(rho);
        }
        if r % stride == 0 {
            points.extend(finite.iter().map(|z| (z.re, z.im)));
        }
    }
    let rho = if radii.is_empty() {
        String::new()
    } else {
        format!(
            " (mean ρ = {:.2})",
            radii.iter().sum::<f64>() / radii.len() as f64
        )
    };
    Panel {
        title: format!("{name}, epoch {epoch}{rho}"),
        color,
        points,
    }
}

struct EigenvalueFigure {
    title: String,
    /// One row per matrix (W, DF), one panel per epoch.
    rows: Vec<Vec<Panel>>,
}

impl EigenvalueFigure {
    /// (rows, columns) of the grid: one row per matrix, or W and DF side by side for one epoch.
    fn grid(&self) -> (usize, usize) {
        let cols = self.rows[0].len();
        if cols == 1 {
            (1, self.rows.len())
        } else {
            (self.rows.len(), cols)
        }
    }
}

impl Figure for EigenvalueFigure {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        // Panels about 400 px wide; two rows fill 800 px, one row gets a shorter figure.
        let width = (cols as u32 * 400).max(style::SIZE.0);
        let height = if rows == 1 { 560 } else { style::SIZE.1 };
        (width, height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled(root, &self.title)?;
        let (rows, cols) = self.grid();
        let areas = body.split_evenly((rows, cols));
        let panels = self.rows.iter().flatten();
        // Every panel of a row (one matrix) shares its scale, so the contraction is visible.
        let reach: Vec<f64> = self
            .rows
            .iter()
            .map(|row| {
                let max = row
                    .iter()
                    .flat_map(|p| p.points.iter().map(|&(x, y)| x.hypot(y)))
                    .fold(1.0, f64::max);
                max * 1.08
            })
            .collect();
        let per_row = self.rows[0].len();
        for (k, (area, panel)) in areas.iter().zip(panels).enumerate() {
            draw_panel(area, panel, reach[k / per_row])?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    reach: f64,
) -> DrawResult {
    let area = area.titled(&panel.title, font(style::PANEL_TITLE_SIZE))?;
    let (margin, x_label, y_label) = (8u32, 50u32, 62u32);
    let (w, h) = area.dim_in_pixel();
    // Equal aspect ratio: the same data units per pixel on both axes.
    let pw = w.saturating_sub(2 * margin + y_label).max(1) as f64;
    let ph = h.saturating_sub(2 * margin + x_label).max(1) as f64;
    let unit = 2.0 * reach / pw.min(ph);
    let (hx, hy) = (unit * pw / 2.0, unit * ph / 2.0);
    let mut chart = ChartBuilder::on(&area)
        .margin(margin)
        .x_label_area_size(x_label)
        .y_label_area_size(y_label)
        .build_cartesian_2d(-hx..hx, -hy..hy)?;
    chart
        .configure_mesh()
        .x_desc("Re z")
        .y_desc("Im z")
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&style::number_tick)
        .y_label_formatter(&style::number_tick)
        .axis_desc_style(font(style::AXIS_SIZE - 2))
        .label_style(font(style::TICK_SIZE - 2))
        .bold_line_style(BLACK.mix(0.06))
        .light_line_style(TRANSPARENT)
        .draw()?;
    let axis = BLACK.mix(0.25).stroke_width(1);
    chart.draw_series(LineSeries::new(vec![(-hx, 0.0), (hx, 0.0)], axis))?;
    chart.draw_series(LineSeries::new(vec![(0.0, -hy), (0.0, hy)], axis))?;
    let circle: Vec<(f64, f64)> = (0..=360)
        .map(|d| (d as f64).to_radians())
        .map(|t| (t.cos(), t.sin()))
        .collect();
    chart.draw_series(DashedLineSeries::new(
        circle,
        8,
        5,
        BLACK.mix(0.7).stroke_width(2),
    ))?;
    let alpha = if panel.points.len() > 2000 { 0.35 } else { 0.6 };
    chart.draw_series(
        panel
            .points
            .iter()
            .map(|&p| Circle::new(p, 2, panel.color.mix(alpha).filled())),
    )?;
    Ok(())
}
