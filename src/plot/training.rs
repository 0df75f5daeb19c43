//! Figures of Rivkind & Barak's trained reservoirs (`"model": "reservoir"`,
//! models/rivkind_barak.md §4–7), each with the mean-field theory the family writes beside the
//! data:
//!
//! | file | shows | needs |
//! |---|---|---|
//! | `spectrum` | per attractor k, every replica's eigenvalues of M_k in the complex plane; the MFT bulk disc (centre −1, radius ρ_k, dashed), the measured mean ρ_k (thin), the MFT outlier max eig L_k (open circle), Re λ = 0 | `spectrum.npy`, `attractors.npy` |
//! | `returns` | per attractor, \|z(t) − z*\| of every kick of the first replicas (log), with exp(t · max Re eig L_k) and exp(t · max Re λ(M_k)) | `readout_series.npy`, `attractors.npy` |
//! | `success` | sweep over `weights.std`: eig-stable and simulation-success fractions (± binomial s.e.) against g, the MFT's predicted success as a step line; one colour per value of the other axes | `points.csv` |
//! | `time_constant` | the same sweeps: the open-loop pole τ of H₁(s) ≈ H₁(0)/(1 + τs) (95% CI, log) against 1 − ρ, the MFT τ against 1 − ρ_MFT | `time_constant_mean` |
//! | `lyapunov` | the same sweeps: the clamped open loop's largest exponent (95% CI) against g, 0, and the g where the MFT ρ crosses 1 | `lyapunov_mean` finite (`open_loop.lyapunov_time`) |
//! | `target_pairs` | a sweep over two `reservoir.targets.*` axes: the eig-stable fraction over (A_1, A_2), cells the MFT predicts stable marked | `points.csv` |
//!
//! The arrays are those of `crate::experiment::reservoir` (`attractors` (R, K, F) with the
//! fields [`ATTRACTOR_FIELDS`], `spectrum` (R, K, N) complex, `readout_series` (R, K, kicks,
//! samples + 1)), the columns those of [`crate::analysis::training`].

mod pairs;
mod sweep;

use std::path::Path;

use plotters::style::RGBColor;

use super::data::{read_complex, read_real, Array, ComplexArray, Run, Sweep};
use super::panels::{Grid, Marker, Panel, Series, Stroke};
use super::style::{self, BLUE, GREY, PALETTE, VERMILLION};
use super::Outcome;
use crate::analysis::training::ATTRACTOR_FIELDS;
use crate::config::{Config, Precision};
use crate::error::{Error, Result};
use crate::experiment::reservoir::{closed_loop_steps, RESPONSE_FIELDS};
use crate::model::reservoir::Nonlinearity;

const GREEN: RGBColor = PALETTE[2];
const PURPLE: RGBColor = PALETTE[3];
/// Colours of the curves of a sweep figure, one per value of the other axes (vermillion is
/// kept for the theory of the run figures).
pub(crate) const CURVES: [RGBColor; 6] = [
    PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], PALETTE[4], PALETTE[5],
];
/// Colours of the kick kinds in `returns`.
const KICKS: [RGBColor; 4] = [BLUE, GREEN, PURPLE, PALETTE[4]];
/// Replicas drawn in `returns`.
const RETURN_REPLICAS: usize = 4;

fn n(v: f64) -> String {
    style::number_tick(&v)
}

/// "φ = tanh, N = 800, g = 1.2".
fn setting(c: &Config) -> String {
    format!(
        "{}, N = {}, g = {}",
        phi_name(c.reservoir_nonlinearity()),
        c.network.neurons,
        n(c.weights.std)
    )
}

fn phi_name(phi: Nonlinearity) -> String {
    match phi {
        Nonlinearity::Tanh => "φ = tanh".into(),
        Nonlinearity::Logistic => "φ = logistic".into(),
        Nonlinearity::Relu { threshold } => format!("φ = ReLU, θ = {}", n(threshold)),
    }
}

/// The index of an attractor field.
fn field(name: &str) -> usize {
    ATTRACTOR_FIELDS
        .iter()
        .position(|f| *f == name)
        .expect("a field of ATTRACTOR_FIELDS")
}

/// `attractors.npy`: (R, K, F).
struct Attractors {
    replicas: usize,
    targets: usize,
    array: Array,
}

impl Attractors {
    fn get(&self, r: usize, k: usize, name: &str) -> f64 {
        let f = ATTRACTOR_FIELDS.len();
        self.array.data[(r * self.targets + k) * f + field(name)]
    }

    /// The field over replicas, at attractor k.
    fn over_replicas(&self, k: usize, name: &str) -> Vec<f64> {
        (0..self.replicas).map(|r| self.get(r, k, name)).collect()
    }

    /// The first finite value over replicas (the theory's fields are per config).
    fn theory(&self, k: usize, name: &str) -> f64 {
        self.over_replicas(k, name)
            .into_iter()
            .find(|v| v.is_finite())
            .unwrap_or(f64::NAN)
    }

    fn mean(&self, k: usize, name: &str) -> f64 {
        mean(&self.over_replicas(k, name))
    }
}

fn mean(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn median(values: &[f64]) -> f64 {
    crate::analysis::training::median(values)
}

/// A circle in the complex plane as a closed polyline.
fn circle(centre: f64, radius: f64) -> Vec<(f64, f64)> {
    (0..=180)
        .map(|j| {
            let t = std::f64::consts::TAU * j as f64 / 180.0;
            (centre + radius * t.cos(), radius * t.sin())
        })
        .collect()
}

/// Columns per row of a figure of `k` panels.
fn columns(k: usize) -> usize {
    match k {
        0..=3 => k.max(1),
        4 => 2,
        _ => 3,
    }
}

// ---------------------------------------------------------------------------------------------
// Runs.

/// The figures of a reservoir run: `spectrum` and `returns` (starting at replica `replica`).
pub fn run_figures(run: &Run, out: &Path, replica: usize) -> Result<Vec<(String, Outcome)>> {
    let config = run.config()?;
    let k = config.reservoir.targets.len();
    let attractors = match run.array_path("attractors.npy") {
        Some(path) => {
            let a = read_real(&path, 3, "(replica, attractor, field)")?;
            if a.shape[1] != k || a.shape[2] != ATTRACTOR_FIELDS.len() {
                return Err(Error::input(
                    &path,
                    format!(
                        "shape {:?}: expected (R, {k}, {}) (K targets, the fields of \
                         ATTRACTOR_FIELDS)",
                        a.shape,
                        ATTRACTOR_FIELDS.len()
                    ),
                ));
            }
            Some(Attractors {
                replicas: a.shape[0],
                targets: k,
                array: a,
            })
        }
        None => None,
    };
    let Some(attractors) = attractors else {
        let why = || Outcome::Skipped("no attractors.npy in the run".into());
        return Ok(vec![("spectrum".into(), why()), ("returns".into(), why())]);
    };
    let spectrum = match run.array_path("spectrum.npy") {
        Some(path) => {
            let s = read_complex(&path, 3, "(replica, attractor, eigenvalue)")?;
            if s.shape[0] != attractors.replicas || s.shape[1] != k {
                return Err(Error::input(
                    &path,
                    format!(
                        "shape {:?}: expected ({}, {k}, N) like attractors.npy",
                        s.shape, attractors.replicas
                    ),
                ));
            }
            spectrum_figure(&config, &attractors, &s, out)?
        }
        None => Outcome::Skipped("no spectrum.npy in the run (reservoir.spectrum off)".into()),
    };
    let returns = match run.array_path("readout_series.npy") {
        Some(path) => {
            let z = read_real(&path, 4, "(replica, attractor, kick, sample)")?;
            let kicks = config.reservoir.kicks.starts().len();
            let samples = config.reservoir.kicks.samples + 1;
            if z.shape[0] != attractors.replicas
                || z.shape[1] != k
                || z.shape[2] != kicks
                || z.shape[3] != samples
            {
                return Err(Error::input(
                    &path,
                    format!(
                        "shape {:?}: expected ({}, {k}, {kicks}, {samples})",
                        z.shape, attractors.replicas
                    ),
                ));
            }
            returns_figure(&config, &attractors, &z, replica, out)?
        }
        None => Outcome::Skipped("no readout_series.npy in the run".into()),
    };
    let response = match run.array_path("response.npy") {
        Some(path) => {
            let a = read_real(&path, 4, "(replica, attractor, frequency, field)")?;
            if a.shape[0] != attractors.replicas
                || a.shape[1] != k
                || a.shape[3] != RESPONSE_FIELDS.len()
            {
                return Err(Error::input(
                    &path,
                    format!(
                        "shape {:?}: expected ({}, {k}, F, {})",
                        a.shape,
                        attractors.replicas,
                        RESPONSE_FIELDS.len()
                    ),
                ));
            }
            response_figure(&config, &attractors, &a, out)?
        }
        None => Outcome::Skipped("no response.npy in the run (no reservoir.response)".into()),
    };
    Ok(vec![
        ("spectrum".into(), spectrum),
        ("returns".into(), returns),
        ("response".into(), response),
    ])
}

/// **`response`**: the closed-loop response T_k(iω) per attractor — |T_k| on log–log axes (ω
/// on a log₁₀ scale drawn as its exponent) and arg T_k — the replica mean with its spread (±1 sd)
/// against the theory's. An attractor unstable in every replica has no linear response (it is
/// not driven: NaN in response.npy) and gets a note; the theory's curve is drawn where the
/// theory predicts a stable state.
fn response_figure(config: &Config, at: &Attractors, a: &Array, out: &Path) -> Result<Outcome> {
    let (r_count, k_count, f_count, fields) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3]);
    let get = |r: usize, k: usize, f: usize, field: usize| {
        a.data[((r * k_count + k) * f_count + f) * fields + field]
    };
    let mut gain = Panel::new("gain |T_k(iω)|", "log₁₀ ω", "|T_k(iω)|");
    gain.log_y = true;
    let mut phase = Panel::new("phase arg T_k(iω)", "log₁₀ ω", "arg T_k (rad)");
    // Frequencies in ascending order, along which phases are unwrapped.
    let mut order: Vec<usize> = (0..f_count).collect();
    order.sort_by(|&x, &y| get(0, 0, x, 0).total_cmp(&get(0, 0, y, 0)));
    let mut any = false;
    for k in 0..k_count {
        let color = KICKS[k % KICKS.len()];
        let target = n(config.reservoir.targets[k]);
        // Per replica (and the theory, last), the phases unwrapped along ω.
        let phases: Vec<Vec<f64>> = (0..=r_count)
            .map(|r| {
                let (r, field) = if r == r_count { (0, 4) } else { (r, 2) };
                let mut p = vec![f64::NAN; f_count];
                let unwrapped = unwrap(order.iter().map(|&f| get(r, k, f, field)));
                for (&f, v) in order.iter().zip(unwrapped) {
                    p[f] = v;
                }
                p
            })
            .collect();
        let value = |r: usize, f: usize, field: usize| match field {
            2 => phases[r][f],
            4 => phases[r_count][f],
            _ => get(r, k, f, field),
        };
        // Mean ± sd over the replicas where the attractor was driven; (gain, phase).
        let mut measured = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
        let mut theory = [Vec::new(), Vec::new()];
        let mut driven = 0;
        for &f in &order {
            let x = get(0, k, f, 0).log10();
            for (j, field) in [1, 2].into_iter().enumerate() {
                let values: Vec<f64> = (0..r_count)
                    .map(|r| value(r, f, field))
                    .filter(|v| v.is_finite() && (field != 1 || *v > 0.0))
                    .collect();
                driven = driven.max(values.len());
                if values.is_empty() {
                    continue;
                }
                let m = mean(&values);
                let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>()
                    / values.len() as f64)
                    .sqrt();
                measured[j].0.push((x, m));
                measured[j].1.push(if field == 1 {
                    ((m - sd).max(m * 0.05), m + sd)
                } else {
                    (m - sd, m + sd)
                });
                theory[j].push((x, value(0, f, field + 2)));
            }
        }
        let predicted_stable = at.theory(k, "predicted_outlier_real") < 0.0;
        let panels = [&mut gain, &mut phase];
        for (j, panel) in panels.into_iter().enumerate() {
            let first = j == 0;
            if driven == 0 {
                if first {
                    panel.push(Series::note(format!(
                        "A_{} = {target}: unstable in every replica, no linear response",
                        k + 1
                    )));
                }
                continue;
            }
            any = true;
            let (points, bars) = std::mem::take(&mut measured[j]);
            let mut s = Series::error_bars(points, bars, Marker::Disc(5), color);
            if first {
                s = s.label(format!(
                    "A_{} = {target}: lock-in, mean ± sd over {driven} replica{}",
                    k + 1,
                    if driven == 1 { "" } else { "s" }
                ));
            }
            panel.push(s);
            if predicted_stable {
                let mut s = Series::line(std::mem::take(&mut theory[j]), Stroke::Dashed(3), color);
                if first {
                    s = s.label(format!("A_{} = {target}: theory H_k/(1 − H_k)", k + 1));
                }
                panel.push(s);
            }
        }
    }
    if !any {
        return Ok(Outcome::Skipped(
            "response.npy: no stable trained attractor was driven".into(),
        ));
    }
    let fig = Grid::with_cells(
        format!(
            "State-dependent frequency selectivity ({}, ε = {})",
            setting(config),
            n(config
                .reservoir
                .response
                .as_ref()
                .map_or(f64::NAN, |d| d.amplitude))
        ),
        2,
        vec![gain, phase],
        (800, 700),
    );
    fig.render(out, "response")
}

/// Phases made continuous: each moved by a multiple of 2π to within π of the last finite one
/// before it.
fn unwrap(phases: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut last: Option<f64> = None;
    phases
        .map(|p| {
            if !p.is_finite() {
                return p;
            }
            let q = match last {
                Some(l) => p - std::f64::consts::TAU * ((p - l) / std::f64::consts::TAU).round(),
                None => p,
            };
            last = Some(q);
            q
        })
        .collect()
}

/// **`spectrum`**: the closed-loop spectra at every attractor with the MFT bulk and outlier.
fn spectrum_figure(
    config: &Config,
    at: &Attractors,
    s: &ComplexArray,
    out: &Path,
) -> Result<Outcome> {
    let (r_count, k_count, n_count) = (s.shape[0], s.shape[1], s.shape[2]);
    let mut panels = Vec::new();
    let mut any = false;
    for k in 0..k_count {
        let eig: Vec<(f64, f64)> = (0..r_count)
            .flat_map(|r| {
                let start = (r * k_count + k) * n_count;
                s.data[start..start + n_count].iter().map(|z| (z.re, z.im))
            })
            .filter(|z| z.0.is_finite() && z.1.is_finite())
            .collect();
        any |= !eig.is_empty();
        let flags = at.over_replicas(k, "eig_stable");
        let stable = flags.iter().filter(|&&f| f == 1.0).count();
        let spectra = flags.iter().filter(|f| f.is_finite()).count();
        let mut panel = Panel::new(
            format!(
                "k = {}: A_k = {}, eig-stable in {stable} of {r_count} replicas",
                k + 1,
                n(config.reservoir.targets[k])
            ),
            "Re λ",
            "Im λ",
        );
        panel.equal = true;
        panel.push(Series::markers(eig, Marker::Disc(2), BLUE).label(format!(
            "λ(M_k), {spectra} replica{}",
            if spectra == 1 { "" } else { "s" }
        )));
        let rho = at.theory(k, "predicted_bulk_radius");
        if rho.is_finite() {
            panel.push(
                Series::line(circle(-1.0, rho), Stroke::Dashed(3), VERMILLION)
                    .label(format!("MFT bulk: |λ + 1| = ρ_k = {}", n(rho))),
            );
        }
        let measured = at.mean(k, "bulk_radius");
        if measured.is_finite() {
            panel.push(
                Series::line(circle(-1.0, measured), Stroke::Solid(1), GREY)
                    .label(format!("measured mean ρ_k = {}", n(measured))),
            );
        }
        let leading: Vec<(f64, f64)> = (0..r_count)
            .map(|r| {
                (
                    at.get(r, k, "max_real_eigenvalue"),
                    at.get(r, k, "leading_imaginary"),
                )
            })
            .collect();
        panel.push(
            Series::markers(leading, Marker::Square(4), GREEN).label("leading λ(M_k) per replica"),
        );
        let (re, im) = (
            at.theory(k, "predicted_outlier_real"),
            at.theory(k, "predicted_outlier_imaginary"),
        );
        if re.is_finite() && im.is_finite() {
            let mut points = vec![(re, im)];
            if im != 0.0 {
                points.push((re, -im));
            }
            let text = if im == 0.0 {
                n(re)
            } else {
                format!("{} ± {}i", n(re), n(im.abs()))
            };
            panel.push(
                Series::markers(points, Marker::Ring(11), VERMILLION)
                    .label(format!("MFT outlier max eig L_k = {text}")),
            );
        }
        if !rho.is_finite() {
            panel.push(Series::note("MFT: no finite solution at this config"));
        }
        panel.push(Series::vline(0.0, GREY).label("Re λ = 0"));
        panels.push(panel);
    }
    if !any {
        return Ok(Outcome::Skipped(
            "spectrum.npy holds no finite eigenvalue (no replica was trained)".into(),
        ));
    }
    let fig = Grid::with_cells(
        format!(
            "Closed-loop spectra M_k = −I + (J + u wᵀ) D_k at the trained attractors ({}, R = {r_count})",
            setting(config)
        ),
        columns(k_count),
        panels,
        (760, 760),
    );
    fig.render(out, "spectrum")
}

/// **`returns`**: |z(t) − z*| of every kick of a few replicas per attractor, with the rates of
/// the theory's and the network's leading modes.
fn returns_figure(
    config: &Config,
    at: &Attractors,
    z: &Array,
    first: usize,
    out: &Path,
) -> Result<Outcome> {
    let (r_count, k_count, s_count, t_count) = (z.shape[0], z.shape[1], z.shape[2], z.shape[3]);
    let (every, _) = closed_loop_steps(config);
    let spacing = every as f64 * config.network.leak;
    let t: Vec<f64> = (0..t_count).map(|j| j as f64 * spacing).collect();
    let starts = config.reservoir.kicks.starts();
    let kinds = &config.reservoir.kicks.kinds;
    let shown: Vec<usize> = (first..r_count).take(RETURN_REPLICAS).collect();
    let mut panels = Vec::new();
    let mut any = false;
    for k in 0..k_count {
        let mut panel = Panel::new(
            format!("k = {}: A_k = {}", k + 1, n(config.reservoir.targets[k])),
            "t (time after the kick)",
            "|z(t) − z*|",
        );
        panel.log_y = true;
        let mut starts_dev = Vec::new();
        let (mut floor, mut ceiling) = (f64::INFINITY, 0.0f64);
        let mut labelled = vec![false; kinds.len()];
        for &r in &shown {
            let fixed = at.get(r, k, "fixed_readout");
            if !fixed.is_finite() {
                continue;
            }
            for (s, kind) in starts.iter().enumerate() {
                let begin = ((r * k_count + k) * s_count + s) * t_count;
                let dev: Vec<f64> = z.data[begin..begin + t_count]
                    .iter()
                    .map(|v| (v - fixed).abs())
                    .collect();
                if dev.iter().any(|v| v.is_finite() && *v > 0.0) {
                    any = true;
                }
                starts_dev.push(dev[0]);
                for &v in dev.iter().filter(|v| v.is_finite() && **v > 0.0) {
                    floor = floor.min(v);
                    ceiling = ceiling.max(v);
                }
                let c = kinds.iter().position(|x| x == kind).unwrap_or(0);
                let mut series = Series::line(
                    t.iter().copied().zip(dev).collect(),
                    Stroke::Solid(2),
                    KICKS[c % KICKS.len()],
                );
                if !labelled[c] {
                    labelled[c] = true;
                    series = series.label(format!("kick: {}", kind.name()));
                }
                panel.push(series);
            }
        }
        // Reference slopes from the median initial deviation, within a decade of the data.
        let start = median(&starts_dev);
        let slope = |rate: f64| -> Vec<(f64, f64)> {
            t.iter()
                .map(|&x| (x, start * (rate * x).exp()))
                .filter(|q| q.1 >= floor / 10.0 && q.1 <= ceiling * 10.0)
                .collect()
        };
        let predicted = at.theory(k, "predicted_outlier_real");
        if predicted.is_finite() && start.is_finite() && start > 0.0 {
            panel.push(
                Series::line(slope(predicted), Stroke::Dashed(3), VERMILLION).label(format!(
                    "MFT: ∝ exp(t · max Re eig L_k), rate {}",
                    n(predicted)
                )),
            );
        }
        let measured = at.mean(k, "max_real_eigenvalue");
        if measured.is_finite() && start.is_finite() && start > 0.0 {
            panel.push(
                Series::line(slope(measured), Stroke::Dotted(3), GREY).label(format!(
                    "∝ exp(t · max Re λ(M_k)), rate {} (replica mean)",
                    n(measured)
                )),
            );
        }
        panels.push(panel);
    }
    if !any {
        return Ok(Outcome::Skipped(format!(
            "readout_series.npy: no trained replica from replica {first} on"
        )));
    }
    let precision = match config.backend.precision {
        Precision::F32 => ", f32: deviations below ~1e−5 · max(|A|, floor) are rounding",
        Precision::F64 => "",
    };
    let replicas = match shown.as_slice() {
        [one] => format!("replica {one}"),
        [a, .., b] => format!("replicas {a}–{b}"),
        [] => String::new(),
    };
    let fig = Grid::with_cells(
        format!(
            "Returns of the readout after kicks, z* = wᵀφ(x^k) ({}, {replicas}{precision})",
            setting(config)
        ),
        columns(k_count),
        panels,
        (760, 680),
    );
    fig.render(out, "returns")
}

// ---------------------------------------------------------------------------------------------
// Sweeps.

/// The figures of a reservoir sweep: `success`, `time_constant`, `lyapunov` over a
/// `weights.std` axis and `target_pairs` over two `reservoir.targets.*` axes, each skipped with
/// a note when the sweep does not have what it needs.
pub fn sweep_figures(sweep: &Sweep, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let mut figures = sweep::gain_figures(sweep, out)?;
    figures.extend(pairs::target_pairs(sweep, out)?);
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn phases_are_unwrapped_along_the_frequencies() {
        // A lag growing through −π comes back as +π − δ from atan2; unwrapped it keeps going.
        let wrapped = [-0.5, -2.5, 3.0, f64::NAN, 2.0, -0.1];
        let u = unwrap(wrapped.into_iter());
        assert_eq!(u[0], -0.5);
        assert_eq!(u[1], -2.5);
        assert!((u[2] - (3.0 - 2.0 * PI)).abs() < 1e-12);
        assert!(u[3].is_nan());
        assert!((u[4] - (2.0 - 2.0 * PI)).abs() < 1e-12);
        // Within π of 2 − 2π ≈ −4.28 is −0.1 − 2π ≈ −6.38.
        assert!((u[5] - (-0.1 - 2.0 * PI)).abs() < 1e-12);
    }

    #[test]
    fn circles_close_and_columns_fill_rows() {
        let c = circle(-1.0, 0.5);
        let (a, b) = (c[0], c[c.len() - 1]);
        assert!((a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12);
        assert!(c
            .iter()
            .all(|p| ((p.0 + 1.0).hypot(p.1) - 0.5).abs() < 1e-12));
        assert_eq!(columns(1), 1);
        assert_eq!(columns(4), 2);
        assert_eq!(columns(5), 3);
    }

    #[test]
    fn fields_are_found() {
        assert_eq!(field("target"), 0);
        assert_eq!(
            field("predicted_open_loop_gain"),
            ATTRACTOR_FIELDS.len() - 1
        );
    }
}
