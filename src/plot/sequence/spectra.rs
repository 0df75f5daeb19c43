//! Figures `eigenvalues` and `jacobian_eigenvalues`: the eigenvalue cloud of J = ξᵀXξ/N and of
//! the Jacobian J·diag(φ′(h)), every replica overlaid, with the theory's boundary loops (every
//! loop, nested voids and islands included), for c = 0, d = 1 the closed-form circles, and the
//! line Re z = 1 where h = 0 loses stability. Equal scales on both axes and an Im z range
//! symmetric about 0, so the mirror symmetry ρ(z̄) = ρ(z) shows.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::legend::{self, Legend, Mark};
use super::theory::{self, Loop};
use super::Source;
use crate::error::Result;
use crate::plot::style::{self, font, DrawResult, Figure, BLUE, GREY, VERMILLION};
use crate::plot::Outcome;

/// At most this many eigenvalues per panel (every k-th beyond it), so the SVG stays small.
const MAX_POINTS: usize = 8_000;
/// At most this many Jacobian snapshots are drawn (evenly spread over those taken).
const MAX_PANELS: usize = 4;
const CIRCLE: RGBColor = BLACK;

/// One cloud with its theory.
struct Cloud {
    title: Option<String>,
    points: Vec<(f64, f64)>,
    label: String,
    loops: Vec<Loop>,
    loop_label: String,
    /// Radii of the closed-form circles.
    circles: Vec<f64>,
    circle_label: String,
    notes: Vec<String>,
}

struct CloudFigure {
    title: String,
    clouds: Vec<Cloud>,
}

/// Every `k`-th of the finite values, at most [`MAX_POINTS`]; and how many there were.
fn thinned(values: &[num_complex::Complex<f64>]) -> (Vec<(f64, f64)>, usize) {
    let finite: Vec<(f64, f64)> = values
        .iter()
        .filter(|z| z.re.is_finite() && z.im.is_finite())
        .map(|z| (z.re, z.im))
        .collect();
    let count = finite.len();
    let every = count.div_ceil(MAX_POINTS).max(1);
    (finite.into_iter().step_by(every).collect(), count)
}

fn circle(r: f64) -> Vec<(f64, f64)> {
    (0..=240)
        .map(|k| {
            let t = std::f64::consts::TAU * k as f64 / 240.0;
            (r * t.cos(), r * t.sin())
        })
        .collect()
}

/// **`eigenvalues`** of a run (or of one sweep point): `eigenvalues.npy`, (R, M) complex.
pub fn eigenvalues(source: &Source, out: &Path, stem: &str) -> Result<Outcome> {
    let Some(a) = source.complex("eigenvalues", 2, "(replica, eigenvalue)")? else {
        return Ok(Outcome::Skipped(
            "no eigenvalues.npy (add \"eigenvalues\" to output.save of the config)".into(),
        ));
    };
    let s = source.setting;
    let (r, m) = (a.shape[0], a.shape[1]);
    let (points, count) = thinned(&a.data);
    if count == 0 {
        return Ok(Outcome::Skipped(
            "eigenvalues.npy holds no finite value".into(),
        ));
    }
    let mut notes = Vec::new();
    if m < s.neurons {
        notes.push(format!(
            "the N − P = {} zero eigenvalues per network not shown",
            s.neurons - m
        ));
    }
    if points.len() < count {
        notes.push(format!(
            "every {}th of {count} shown",
            count.div_ceil(MAX_POINTS)
        ));
    }
    let (loops, loop_label) = match theory::boundary(s) {
        Ok(loops) => {
            let label = format!(
                "theory boundary, eq. (6): {} loop{}",
                loops.len(),
                if loops.len() == 1 { "" } else { "s" }
            );
            (loops, label)
        }
        Err(why) => {
            notes.push(format!("no theory: {why}"));
            (Vec::new(), String::new())
        }
    };
    let (circles, circle_label) = match theory::radii(s) {
        Some((inner, outer)) => (
            [inner, outer].into_iter().filter(|&x| x > 0.0).collect(),
            format!(
                "r_in = {}, r_out = {} (§5.2)",
                style::number_tick(&inner),
                style::number_tick(&outer)
            ),
        ),
        None => (Vec::new(), String::new()),
    };
    let fig = CloudFigure {
        title: format!(
            "Eigenvalues of J = ξᵀXξ/N: {} ({})",
            s.couplings(),
            source.size()
        ),
        clouds: vec![Cloud {
            title: None,
            points,
            label: format!(
                "eigenvalues of J ({r} network{}, {m} each)",
                if r == 1 { "" } else { "s" }
            ),
            loops,
            loop_label,
            circles,
            circle_label,
            notes,
        }],
    };
    Ok(Outcome::Written(style::render(&fig, out, stem)?))
}

/// **`jacobian_eigenvalues`**: `jacobian_eigenvalues.npy`, (R, S_j, M) complex, of the first
/// trajectory of each network at the steps `jiang.jacobian_steps`, one panel per step (at most
/// [`MAX_PANELS`]). The theory (eqs. 10–12) assumes h_i i.i.d. N(0, σ²) independent of J: at
/// step 0 with σ² = σ₀² of the drawn h(0); later, approximately, with σ² the measured Var h of
/// that step (from `activity.npy`).
pub fn jacobian_eigenvalues(source: &Source, out: &Path, stem: &str) -> Result<Outcome> {
    let Some(a) = source.complex("jacobian_eigenvalues", 3, "(replica, snapshot, eigenvalue)")?
    else {
        return Ok(Outcome::Skipped(
            "no jacobian_eigenvalues.npy (set jiang.jacobian_steps and add \
             \"jacobian_eigenvalues\" to output.save)"
                .into(),
        ));
    };
    let s = source.setting;
    let (r, snaps, m) = (a.shape[0], a.shape[1], a.shape[2]);
    if snaps == 0 || m == 0 {
        return Ok(Outcome::Skipped(format!(
            "jacobian_eigenvalues.npy has shape {:?}: no snapshot",
            a.shape
        )));
    }
    let activity = source.real("activity", 4, "(trajectory, condition, sample, measure)")?;
    let shown: Vec<usize> = if snaps <= MAX_PANELS {
        (0..snaps).collect()
    } else {
        let mut v: Vec<usize> = (0..MAX_PANELS)
            .map(|k| k * (snaps - 1) / (MAX_PANELS - 1))
            .collect();
        v.dedup();
        v
    };
    let mut clouds = Vec::new();
    for &k in &shown {
        let step = s.jacobian_steps.get(k).copied();
        let values: Vec<num_complex::Complex<f64>> = (0..r)
            .flat_map(|rep| {
                let start = (rep * snaps + k) * m;
                a.data[start..start + m].iter().copied()
            })
            .collect();
        let (points, count) = thinned(&values);
        let mut notes = Vec::new();
        if points.len() < count {
            notes.push(format!(
                "every {}th of {count} shown",
                count.div_ceil(MAX_POINTS)
            ));
        }
        // σ² of the theory: the drawn h(0), else the measured Var h at that step.
        let variance = match step {
            Some(0) if s.variance.is_some() => s.variance.map(|v| (v, true)),
            Some(t) => measured_variance(s, activity.as_ref(), t).map(|v| (v, false)),
            None => None,
        };
        let (mut loops, mut loop_label) = (Vec::new(), String::new());
        let (mut circles, mut circle_label) = (Vec::new(), String::new());
        match variance {
            Some((v, exact)) => {
                let sigma = format!("σ² = {}", style::number_tick(&v));
                match theory::jacobian_boundary(s, v) {
                    Ok(l) => {
                        loop_label = if exact {
                            format!("theory, eqs. (10), h ~ N(0, σ²), {sigma}")
                        } else {
                            format!("theory, eqs. (10), {sigma} measured (approximate)")
                        };
                        loops = l;
                    }
                    Err(why) => notes.push(format!("no theory: {why}")),
                }
                if let Some((inner, outer)) = theory::jacobian_radii(s, v) {
                    circles = [inner, outer].into_iter().filter(|&x| x > 0.0).collect();
                    circle_label = format!(
                        "R_in = {}, R_out = {}, eqs. (11)–(12)",
                        style::number_tick(&inner),
                        style::number_tick(&outer)
                    );
                }
            }
            None => notes
                .push("no theory: h is neither the Gaussian h(0) nor recorded at this step".into()),
        }
        let title = match step {
            Some(t) => format!(
                "t = {} τ (step {t})",
                style::number_tick(&(t as f64 * s.leak))
            ),
            None => format!("snapshot {k}"),
        };
        clouds.push(Cloud {
            title: Some(title),
            points,
            label: format!("eigenvalues of J·diag(φ′) ({r} × {m})"),
            loops,
            loop_label,
            circles,
            circle_label,
            notes,
        });
    }
    let fig = CloudFigure {
        title: format!(
            "Eigenvalues of the Jacobian J·diag(φ′(h)), first trajectory: {} ({})",
            s.couplings(),
            source.size()
        ),
        clouds,
    };
    Ok(Outcome::Written(style::render(&fig, out, stem)?))
}

/// Var h over neurons at step `t`, mean over the networks' first trajectories, when `t` is a
/// recorded sample.
fn measured_variance(
    s: &super::Setting,
    activity: Option<&crate::plot::data::Array>,
    t: usize,
) -> Option<f64> {
    let a = activity?;
    if !t.is_multiple_of(s.record_every) || a.shape.len() != 4 {
        return None;
    }
    let (r, k, samples, measures) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3]);
    let sample = t / s.record_every;
    if sample >= samples || measures < 2 || r == 0 {
        return None;
    }
    let values: Vec<f64> = (0..r)
        .map(|rep| a.data[((rep * k) * samples + sample) * measures + 1])
        .filter(|v| v.is_finite())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

impl Figure for CloudFigure {
    fn size(&self) -> (u32, u32) {
        match self.clouds.len() {
            0 | 1 => style::SIZE,
            2 => (1700, 850),
            3 => (2250, 850),
            _ => (1700, 1400),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let body = style::titled_to_fit(root, &self.title)?;
        let areas = match self.clouds.len() {
            0 | 1 => vec![body],
            n @ (2 | 3) => body.split_evenly((1, n)),
            _ => body.split_evenly((2, 2)),
        };
        for (cloud, area) in self.clouds.iter().zip(&areas) {
            cloud.draw(area, self.clouds.len() > 1)?;
        }
        Ok(())
    }
}

impl Cloud {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, small: bool) -> DrawResult {
        let area = match &self.title {
            Some(t) => area.titled(t, font(style::PANEL_TITLE_SIZE))?,
            None => area.clone(),
        };
        let mut key = Legend::default();
        key.push(Mark::Dot(BLUE), self.label.as_str());
        if !self.loops.is_empty() {
            key.push(Mark::Line(VERMILLION), self.loop_label.as_str());
        }
        if !self.circles.is_empty() {
            key.push(Mark::Dotted(CIRCLE), self.circle_label.as_str());
        }
        key.push(Mark::Dashed(GREY), "Re z = 1: h = 0 unstable beyond");
        for note in &self.notes {
            key.push(Mark::Note, note.as_str());
        }
        let area = key.below(&area, legend::size(if small { 2 } else { 1 }))?;
        // The extent of everything drawn, Re z = 1 and 0 included; Im symmetric about 0.
        let xs = self
            .points
            .iter()
            .map(|p| p.0)
            .chain(self.loops.iter().flatten().map(|p| p.0))
            .chain(self.circles.iter().flat_map(|&r| [-r, r]))
            .chain([0.0, 1.0]);
        let (x0, x1) = style::bounds(xs).unwrap_or((-1.0, 1.0));
        let ymax = self
            .points
            .iter()
            .map(|p| p.1.abs())
            .chain(self.loops.iter().flatten().map(|p| p.1.abs()))
            .chain(self.circles.iter().copied())
            .fold(0.1_f64, f64::max);
        let x = style::padded(x0, x1, 0.06);
        let y = style::padded(-ymax, ymax, 0.06);
        let (margin, x_area, y_area) = (15, 60, 85);
        // Equal units per pixel on both axes: widen the narrower range.
        let probe = ChartBuilder::on(&area)
            .margin(margin)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        let (pw, ph) = probe.plotting_area().dim_in_pixel();
        let per_px = ((x.end - x.start) / f64::from(pw.max(1)))
            .max((y.end - y.start) / f64::from(ph.max(1)));
        let widen = |r: std::ops::Range<f64>, px: u32| {
            let mid = 0.5 * (r.start + r.end);
            let half = 0.5 * per_px * f64::from(px.max(1));
            mid - half..mid + half
        };
        let (x, y) = (widen(x, pw), widen(y, ph));
        let mut chart = ChartBuilder::on(&area)
            .margin(margin)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x.clone(), y.clone())?;
        let (axis, tick) = if small {
            (style::AXIS_SIZE - 2, style::TICK_SIZE - 2)
        } else {
            (style::AXIS_SIZE, style::TICK_SIZE)
        };
        chart
            .configure_mesh()
            .x_desc("Re z")
            .y_desc("Im z")
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&super::tick)
            .y_label_formatter(&super::tick)
            .axis_desc_style(font(axis))
            .label_style(font(tick))
            .bold_line_style(BLACK.mix(0.06))
            .light_line_style(TRANSPARENT)
            .draw()?;
        // The real axis, faint: the mirror of the conjugate pairs.
        chart.draw_series(LineSeries::new(
            vec![(x.start, 0.0), (x.end, 0.0)],
            BLACK.mix(0.25).stroke_width(1),
        ))?;
        let radius = if self.points.len() > 3000 { 1 } else { 2 };
        chart.draw_series(
            self.points
                .iter()
                .map(|&p| Circle::new(p, radius, BLUE.mix(0.55).filled())),
        )?;
        for l in &self.loops {
            chart.draw_series(LineSeries::new(l.clone(), VERMILLION.stroke_width(3)))?;
        }
        for &r in &self.circles {
            chart.draw_series(DashedLineSeries::new(
                circle(r),
                3,
                4,
                CIRCLE.stroke_width(2),
            ))?;
        }
        chart.draw_series(DashedLineSeries::new(
            vec![(1.0, y.start), (1.0, y.end)],
            10,
            7,
            GREY.stroke_width(2),
        ))?;
        Ok(())
    }
}
