//! Figures of Lotito's memory dynamics (`"model": "lotito"`, models/lotito.md), each with the
//! theory of [`crate::theory::lotito`] drawn beside the data (docs/figures_lotito.md):
//!
//! - a run: the paper's Figure 1 for one replica (`figure1`: cos(Ξ_μ, ξ'_μ) against t per
//!   memory, with the paper's formula and the exact one-hot curve, and 1 − cos on a log axis),
//!   the same over the ensemble (`figure1_ensemble`), the decay factors against exp(−t p_μ/τ_Ξ)
//!   (`time_scales`), the softmax and coupling measures against t (`softmax`), and the
//!   eigenvalues of the learned J against Marchenko–Pastur (`spectrum`);
//! - a sweep: the collapse of memories against β/β_c (`collapse`), the stationary deviation
//!   under fresh noise against σ_f²/(2τ_Ξ − 1) (`fresh_noise`), the overwrite time of a
//!   replaced pattern against τ_Ξ/p_μ (`replacement`), the Hebbian limit against the gain
//!   (`hebbian_limit`), and for any other sweep every varying `*_mean` column against the
//!   first axis (`profiles`).
//!
//! The arrays are those of `crate::experiment::lotito` (`cosines`, `decay`, `measures`, `gram`,
//! `spectrum`, `patterns`; in a sweep the point first), the columns those of
//! [`crate::analysis::memories`].

use std::path::Path;

use plotters::style::RGBColor;

use super::data::{read_real, Array, Run, Sweep, Table};
use super::panels::{Grid, Mark, Marker, Panel, Series, Stroke};
use super::style::{self, BLUE, GREY, PALETTE, VERMILLION};
use super::Outcome;
use crate::analysis::memories::MEMORY_MEASURES;
use crate::config::{InitialMemories, LotitoConfig, MemoryPatterns, Presentation, SoftmaxArgument};
use crate::error::{Error, Result};
use crate::theory::lotito as theory;

const GREEN: RGBColor = PALETTE[2];
const PURPLE: RGBColor = PALETTE[3];
/// Most memories drawn as rows of the per-memory figures.
const MAX_ROWS: usize = 8;
/// The band of the ensemble figures.
const BAND: &str = "2.5–97.5% of replicas";

// ---------------------------------------------------------------------------------------------
// Helpers.

/// `stem.npy` of `dir` with `ndim` dimensions, `None` when absent.
fn load(dir: &Path, stem: &str, ndim: usize, layout: &str) -> Result<Option<Array>> {
    let path = dir.join(format!("{stem}.npy"));
    if !path.is_file() {
        return Ok(None);
    }
    read_real(&path, ndim, layout).map(Some)
}

/// The `q`-quantile (linear interpolation) of the finite values; NaN when there are none.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

fn mean(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Per sample over replicas: mean, 2.5% and 97.5% quantiles of `value(replica, sample)`.
fn ensemble(
    replicas: usize,
    samples: usize,
    value: impl Fn(usize, usize) -> f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut m = Vec::with_capacity(samples);
    let mut lo = Vec::with_capacity(samples);
    let mut hi = Vec::with_capacity(samples);
    for s in 0..samples {
        let v: Vec<f64> = (0..replicas).map(|r| value(r, s)).collect();
        m.push(mean(&v));
        lo.push(quantile(&v, 0.025));
        hi.push(quantile(&v, 0.975));
    }
    (m, lo, hi)
}

/// The mean as a line and the 2.5–97.5% band, labelled.
fn mean_and_band(
    panel: &mut Panel,
    x: &[f64],
    stats: &(Vec<f64>, Vec<f64>, Vec<f64>),
    c: RGBColor,
) {
    panel.push(Series::xy(Mark::Band(stats.2.clone()), c, x, &stats.1).label(BAND));
    panel
        .push(Series::xy(Mark::Line(Stroke::Solid(3)), c, x, &stats.0).label("mean over replicas"));
}

fn n(v: f64) -> String {
    style::number_tick(&v)
}

/// "N_v = 50, N_h = 4, τ_Ξ = 250, β = 2, σ = 0.4".
fn setting(l: &LotitoConfig) -> String {
    let beta = match l.softmax {
        SoftmaxArgument::Argmax => "argmax".to_string(),
        _ => format!("β = {}", n(l.inverse_temperature)),
    };
    format!(
        "N_v = {}, N_h = {}, τ_Ξ = {}, {beta}, σ = {}",
        l.visible,
        l.hidden,
        n(l.memory_time),
        n(l.target_noise)
    )
}

fn presentation(l: &LotitoConfig) -> String {
    match l.presentation {
        Presentation::Cyclic if l.block_length > 1 => format!("cyclic, Δ = {}", l.block_length),
        Presentation::Cyclic => "cyclic".to_string(),
        Presentation::Iid => "i.i.d.".to_string(),
    }
}

/// The one-hot decay factor of row μ after t steps: the cyclic count of wins, else
/// (1 − 1/τ_Ξ)^{t p_μ} (the i.i.d. mean of ln e).
fn one_hot_decay(l: &LotitoConfig, t: usize, mu: usize) -> f64 {
    let q = 1.0 - 1.0 / l.memory_time;
    match l.presentation {
        Presentation::Cyclic => q.powf(theory::cyclic_wins(t, mu, l.hidden, l.block_length) as f64),
        Presentation::Iid => {
            let p = l.presentation_probabilities()[mu];
            (-(t as f64) / theory::iid_time_scale(l.memory_time, p)).exp()
        }
    }
}

/// Why the closed forms of §5.2 do not describe the cosines of this config, if they do not.
fn closed_form_blocked(l: &LotitoConfig) -> Option<String> {
    if l.initial_memories != InitialMemories::Patterns {
        Some("closed form needs Ξ(0) = ξ (lotito.initial_memories = \"patterns\")".into())
    } else if l.bias > 0.0 {
        Some("closed form needs Λ = 0 (lotito.bias = 0)".into())
    } else if l.replace.is_some() {
        Some("closed form not drawn: a target is replaced part-way".into())
    } else if l.fresh_noise > 0.0 {
        Some("closed form without fresh noise (σ_f > 0 here)".into())
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Runs.

/// The figures of a Lotito run.
pub fn run_figures(run: &Run, out: &Path, replica: usize) -> Result<Vec<(String, Outcome)>> {
    let config = run.config()?;
    let l = &config.lotito;
    let dir = &run.dir;
    let h = l.hidden;
    let cosines = load(dir, "cosines", 3, "(replica, sample, memory)")?;
    let decay = load(dir, "decay", 3, "(replica, sample, memory)")?;
    let measures = load(dir, "measures", 3, "(replica, sample, measure)")?;
    let gram = load(dir, "gram", 4, "(replica, sample, memory, memory)")?;
    let spectrum = load(dir, "spectrum", 2, "(replica, eigenvalue)")?;
    let patterns = load(dir, "patterns", 3, "(replica, row, visible)")?;
    for (name, a, last) in [
        ("cosines", &cosines, h),
        ("decay", &decay, h),
        ("measures", &measures, MEMORY_MEASURES.len()),
    ] {
        if let Some(a) = a {
            if a.shape[2] != last {
                return Err(Error::input(
                    dir.join(format!("{name}.npy")),
                    format!("shape {:?}: expected {last} on the last axis", a.shape),
                ));
            }
        }
    }
    let missing = |what: &str| Outcome::Skipped(format!("no {what}.npy in the run"));
    let mut figures = Vec::new();
    let f1 = match &cosines {
        Some(c) => figure1(
            l,
            c,
            decay.as_ref(),
            gram.as_ref(),
            patterns.as_ref(),
            replica,
            out,
        )?,
        None => missing("cosines"),
    };
    figures.push(("figure1".to_string(), f1));
    let f1e = match &cosines {
        Some(c) => figure1_ensemble(l, c, out)?,
        None => missing("cosines"),
    };
    figures.push(("figure1_ensemble".to_string(), f1e));
    let ts = match &decay {
        Some(d) => time_scales(l, d, out)?,
        None => missing("decay"),
    };
    figures.push(("time_scales".to_string(), ts));
    let sm = match &measures {
        Some(m) => softmax(l, m, out)?,
        None => missing("measures"),
    };
    figures.push(("softmax".to_string(), sm));
    let sp = match &spectrum {
        Some(s) => spectrum_figure(l, s, out)?,
        None => missing("spectrum"),
    };
    figures.push(("spectrum".to_string(), sp));
    Ok(figures)
}

/// |ξ'_μ| of replica r: from `patterns.npy` (rows N_h + μ) when saved, else from the one-hot map
/// at the last sample: G_μμ(T) = e²a² + (1−e)²b² + 2e(1−e)αab solved for b.
fn target_norm(
    l: &LotitoConfig,
    patterns: Option<&Array>,
    recovered: Option<(f64, f64, f64, f64)>,
    r: usize,
    mu: usize,
) -> Option<(f64, &'static str)> {
    if let Some(p) = patterns {
        let (rows, nv) = (p.shape[1], p.shape[2]);
        if rows >= 2 * l.hidden && nv == l.visible && r < p.shape[0] {
            let start = (r * rows + l.hidden + mu) * nv;
            let b = p.data[start..start + nv]
                .iter()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt();
            return Some((b, "b = |ξ'_μ| from patterns.npy"));
        }
    }
    let (e, g, alpha, a) = recovered?;
    let q = 1.0 - e;
    if !(q > 0.05 && g.is_finite() && e.is_finite()) {
        return None;
    }
    let half = e * q * alpha * a;
    let disc = half * half - q * q * (e * e * a * a - g);
    (disc >= 0.0).then(|| {
        (
            (-half + disc.sqrt()) / (q * q),
            "b = |ξ'_μ| from the Gram diagonal at T (one-hot map)",
        )
    })
}

/// **`figure1`**: the paper's Figure 1 for replica `replica`.
fn figure1(
    l: &LotitoConfig,
    cos: &Array,
    decay: Option<&Array>,
    gram: Option<&Array>,
    patterns: Option<&Array>,
    replica: usize,
    out: &Path,
) -> Result<Outcome> {
    let (r_count, samples, h) = (cos.shape[0], cos.shape[1], cos.shape[2]);
    if replica >= r_count || samples == 0 {
        return Ok(Outcome::Skipped(format!(
            "cosines.npy has shape {:?}: no replica {replica}",
            cos.shape
        )));
    }
    let times: Vec<usize> = (0..samples).map(|s| s * l.record_every).collect();
    let t: Vec<f64> = times.iter().map(|&x| x as f64).collect();
    let c = |s: usize, mu: usize| cos.data[(replica * samples + s) * h + mu];
    let blocked = closed_form_blocked(l);
    let probabilities = l.presentation_probabilities();
    let mut panels = Vec::new();
    for (mu, &p_mu) in probabilities.iter().enumerate().take(h.min(MAX_ROWS)) {
        let data: Vec<f64> = (0..samples).map(|s| c(s, mu)).collect();
        let alpha = data[0];
        let tau = theory::time_scale(l.memory_time, p_mu);
        let paper: Vec<f64> = t
            .iter()
            .map(|&x| theory::paper_cosine((-x / tau).exp(), alpha))
            .collect();
        // The exact one-hot curve: a from the Gram diagonal at t = 0, b from the targets.
        let exact: Option<(Vec<f64>, &str)> = gram.and_then(|g| {
            if g.shape[0] != r_count || g.shape[1] != samples || g.shape[2] != h {
                return None;
            }
            let gd = |s: usize| g.data[((replica * samples + s) * h + mu) * h + mu];
            let a = gd(0).sqrt();
            let last = samples - 1;
            let recovered = decay.map(|d| {
                (
                    d.data[(replica * samples + last) * h + mu],
                    gd(last),
                    alpha,
                    a,
                )
            });
            let (b, how) = target_norm(l, patterns, recovered, replica, mu)?;
            let curve = times
                .iter()
                .map(|&x| theory::exact_cosine(one_hot_decay(l, x, mu), alpha, a, b))
                .collect();
            Some((curve, how))
        });
        let mut left = Panel::new(
            format!("memory μ = {mu}: cos(Ξ_μ, ξ'_μ), α_μ = {}", n(alpha)),
            "t (updates)",
            "cos(Ξ_μ, ξ'_μ)",
        );
        let mut right = Panel::new(
            format!("memory μ = {mu}: 1 − cos"),
            "t (updates)",
            "1 − cos(Ξ_μ, ξ'_μ)",
        );
        right.log_y = true;
        let one_minus = |v: &[f64]| v.iter().map(|x| 1.0 - x).collect::<Vec<f64>>();
        left.push(
            Series::xy(Mark::Line(Stroke::Solid(4)), BLUE, &t, &data)
                .label(format!("simulation, replica {replica}")),
        );
        right.push(
            Series::xy(Mark::Line(Stroke::Solid(4)), BLUE, &t, &one_minus(&data))
                .label("simulation"),
        );
        if let Some(why) = &blocked {
            left.push(Series::note(why.clone()));
        } else {
            let label = format!("paper: e = exp(−t/τ_μ), τ_μ = τ_Ξ/p_μ = {}", n(tau));
            left.push(
                Series::xy(Mark::Line(Stroke::Dashed(3)), VERMILLION, &t, &paper)
                    .label(label.clone()),
            );
            right.push(
                Series::xy(
                    Mark::Line(Stroke::Dashed(3)),
                    VERMILLION,
                    &t,
                    &one_minus(&paper),
                )
                .label("paper's formula"),
            );
            match &exact {
                Some((curve, how)) => {
                    left.push(
                        Series::xy(Mark::Line(Stroke::Dotted(3)), GREEN, &t, curve)
                            .label("exact one-hot, discrete e_μ(t)"),
                    );
                    right.push(
                        Series::xy(Mark::Line(Stroke::Dotted(3)), GREEN, &t, &one_minus(curve))
                            .label("exact one-hot"),
                    );
                    if mu == 0 {
                        left.push(Series::note(*how));
                    }
                }
                None => left.push(Series::note(
                    "exact curve: no gram.npy / decay.npy to get |ξ'_μ|",
                )),
            }
        }
        panels.push(left);
        panels.push(right);
    }
    let more = if h > MAX_ROWS {
        format!(" (first {MAX_ROWS} of {h} memories)")
    } else {
        String::new()
    };
    let fig = Grid::new(
        format!(
            "Figure 1: memories approach their targets ({}, {}, replica {replica}){more}",
            setting(l),
            presentation(l)
        ),
        2,
        panels,
    );
    fig.render(out, "figure1")
}

/// **`figure1_ensemble`**: Figure 1 over all replicas, with the theory at nominal α.
fn figure1_ensemble(l: &LotitoConfig, cos: &Array, out: &Path) -> Result<Outcome> {
    let (r_count, samples, h) = (cos.shape[0], cos.shape[1], cos.shape[2]);
    if r_count == 0 || samples == 0 {
        return Ok(Outcome::Skipped(format!(
            "cosines.npy has shape {:?}",
            cos.shape
        )));
    }
    let times: Vec<usize> = (0..samples).map(|s| s * l.record_every).collect();
    let t: Vec<f64> = times.iter().map(|&x| x as f64).collect();
    let alpha = theory::nominal_alpha(l.target_noise);
    let ratio = (1.0 + l.target_noise * l.target_noise).sqrt();
    let blocked = closed_form_blocked(l);
    let probabilities = l.presentation_probabilities();
    let mut panels = Vec::new();
    for (mu, &p_mu) in probabilities.iter().enumerate().take(h.min(MAX_ROWS)) {
        let stats = ensemble(r_count, samples, |r, s| {
            cos.data[(r * samples + s) * h + mu]
        });
        let gaps = ensemble(r_count, samples, |r, s| {
            1.0 - cos.data[(r * samples + s) * h + mu]
        });
        let tau = theory::time_scale(l.memory_time, p_mu);
        let paper: Vec<f64> = t
            .iter()
            .map(|&x| theory::paper_cosine((-x / tau).exp(), alpha))
            .collect();
        let exact: Vec<f64> = times
            .iter()
            .map(|&x| theory::exact_cosine(one_hot_decay(l, x, mu), alpha, 1.0, ratio))
            .collect();
        let mut left = Panel::new(
            format!("memory μ = {mu}: cos(Ξ_μ, ξ'_μ), {r_count} replicas"),
            "t (updates)",
            "cos(Ξ_μ, ξ'_μ)",
        );
        let mut right = Panel::new(
            format!("memory μ = {mu}: 1 − cos"),
            "t (updates)",
            "1 − cos",
        );
        right.log_y = true;
        mean_and_band(&mut left, &t, &stats, BLUE);
        mean_and_band(&mut right, &t, &gaps, BLUE);
        if let Some(why) = &blocked {
            left.push(Series::note(why.clone()));
        } else {
            let om = |v: &[f64]| v.iter().map(|x| 1.0 - x).collect::<Vec<f64>>();
            left.push(
                Series::xy(Mark::Line(Stroke::Dashed(3)), VERMILLION, &t, &paper).label(format!(
                    "paper, nominal α = 1/√(1+σ²) = {}, τ_μ = {}",
                    n(alpha),
                    n(tau)
                )),
            );
            left.push(
                Series::xy(Mark::Line(Stroke::Dotted(3)), GREEN, &t, &exact)
                    .label("exact one-hot, nominal α and b/a = √(1+σ²)"),
            );
            right.push(
                Series::xy(Mark::Line(Stroke::Dashed(3)), VERMILLION, &t, &om(&paper))
                    .label("paper, nominal α"),
            );
            right.push(
                Series::xy(Mark::Line(Stroke::Dotted(3)), GREEN, &t, &om(&exact))
                    .label("exact one-hot, nominal"),
            );
        }
        panels.push(left);
        panels.push(right);
    }
    let fig = Grid::new(
        format!(
            "Figure 1 over the ensemble ({}, {}; band: {BAND})",
            setting(l),
            presentation(l)
        ),
        2,
        panels,
    );
    fig.render(out, "figure1_ensemble")
}

/// **`time_scales`**: e_μ(t) per memory on a log axis with exp(−t p_μ/τ_Ξ) and the exact
/// one-hot form.
fn time_scales(l: &LotitoConfig, decay: &Array, out: &Path) -> Result<Outcome> {
    let (r_count, samples, h) = (decay.shape[0], decay.shape[1], decay.shape[2]);
    if r_count == 0 || samples == 0 {
        return Ok(Outcome::Skipped(format!(
            "decay.npy has shape {:?}",
            decay.shape
        )));
    }
    let times: Vec<usize> = (0..samples).map(|s| s * l.record_every).collect();
    let t: Vec<f64> = times.iter().map(|&x| x as f64).collect();
    let probabilities = l.presentation_probabilities();
    let mut panels = Vec::new();
    for (mu, &p_mu) in probabilities.iter().enumerate().take(h.min(MAX_ROWS)) {
        let p = p_mu;
        let stats = ensemble(r_count, samples, |r, s| {
            decay.data[(r * samples + s) * h + mu]
        });
        let mut panel = Panel::new(
            format!("memory μ = {mu}, p_μ = {}", n(p)),
            "t (updates)",
            "decay factor e_μ(t)",
        );
        panel.log_y = true;
        mean_and_band(&mut panel, &t, &stats, BLUE);
        let tau = theory::time_scale(l.memory_time, p);
        let continuous: Vec<f64> = t.iter().map(|&x| (-x / tau).exp()).collect();
        panel.push(
            Series::xy(Mark::Line(Stroke::Dashed(3)), VERMILLION, &t, &continuous)
                .label(format!("exp(−t p_μ/τ_Ξ), τ_μ = τ_Ξ/p_μ = {}", n(tau))),
        );
        let exact: Vec<f64> = times.iter().map(|&x| one_hot_decay(l, x, mu)).collect();
        let label = match l.presentation {
            Presentation::Cyclic => "(1 − 1/τ_Ξ)^n_μ(t), cyclic wins".to_string(),
            Presentation::Iid => format!(
                "i.i.d. exact: (1 − 1/τ_Ξ)^(t p_μ), τ_μ = {}",
                n(theory::iid_time_scale(l.memory_time, p))
            ),
        };
        panel.push(Series::xy(Mark::Line(Stroke::Dotted(3)), GREEN, &t, &exact).label(label));
        panels.push(panel);
    }
    let cols = if h.min(MAX_ROWS) > 1 { 2 } else { 1 };
    let fig = Grid::new(
        format!(
            "Time scales τ_μ = τ_Ξ/p_μ of the decay factors ({}, {}; band: {BAND})",
            setting(l),
            presentation(l)
        ),
        cols,
        panels,
    );
    fig.render(out, "time_scales")
}

/// **`softmax`**: the softmax weights and the couplings against t.
fn softmax(l: &LotitoConfig, m: &Array, out: &Path) -> Result<Outcome> {
    let (r_count, samples, k) = (m.shape[0], m.shape[1], m.shape[2]);
    if r_count == 0 || samples == 0 {
        return Ok(Outcome::Skipped(format!(
            "measures.npy has shape {:?}",
            m.shape
        )));
    }
    let t: Vec<f64> = (0..samples).map(|s| (s * l.record_every) as f64).collect();
    let column = |name: &str| MEMORY_MEASURES.iter().position(|x| *x == name).unwrap_or(0);
    let series = |name: &str| {
        let j = column(name);
        ensemble(r_count, samples, move |r, s| {
            m.data[(r * samples + s) * k + j]
        })
    };
    let h = l.hidden as f64;
    let at = |x: f64| vec![(t[0], x)];
    let mut weight = Panel::new("largest softmax weight max_μ w_μ", "t (updates)", "max w");
    mean_and_band(&mut weight, &t, &series("max_weight"), BLUE);
    weight.push(Series::new(Mark::HLine, GREY, at(1.0)).label("one-hot: 1"));
    weight.push(Series::new(Mark::HLine, VERMILLION, at(1.0 / h)).label("uniform: 1/N_h"));
    let mut number = Panel::new(
        "effective number of winners e^H (H: softmax entropy)",
        "t (updates)",
        "e^H",
    );
    mean_and_band(&mut number, &t, &series("effective_number"), BLUE);
    number.push(Series::new(Mark::HLine, GREY, at(1.0)).label("one-hot: 1"));
    number.push(Series::new(Mark::HLine, VERMILLION, at(h)).label("uniform: N_h"));
    let mut hebb = Panel::new("‖J − J_Hebb‖_F", "t (updates)", "‖J − J_Hebb‖_F");
    hebb.log_y = true;
    let distance = series("hebb_distance");
    mean_and_band(&mut hebb, &t, &distance, BLUE);
    // Slope of the slowest one-hot decay, matched to the data at t = 0.
    let p_min = l
        .presentation_probabilities()
        .into_iter()
        .filter(|p| *p > 0.0)
        .fold(f64::INFINITY, f64::min);
    if p_min.is_finite() && distance.0[0] > 0.0 && closed_form_blocked(l).is_none() {
        let tau = theory::time_scale(l.memory_time, p_min);
        let line: Vec<f64> = t
            .iter()
            .map(|&x| distance.0[0] * (-x / tau).exp())
            .collect();
        hebb.push(
            Series::xy(Mark::Line(Stroke::Dashed(3)), VERMILLION, &t, &line)
                .label(format!("∝ exp(−t/τ_μ), τ_μ = {} (one-hot slope)", n(tau))),
        );
    }
    let mut pair = Panel::new(
        "mean pairwise cosine between memories",
        "t (updates)",
        "cos(Ξ_μ, Ξ_ν)",
    );
    mean_and_band(&mut pair, &t, &series("pairwise_cosine"), BLUE);
    pair.push(Series::new(Mark::HLine, VERMILLION, at(1.0)).label("collapsed: 1"));
    pair.push(Series::new(Mark::HLine, GREY, at(0.0)).label("orthogonal: 0"));
    let fig = Grid::new(
        format!(
            "Softmax gate and couplings ({}, {}; band: {BAND})",
            setting(l),
            presentation(l)
        ),
        2,
        vec![weight, number, hebb, pair],
    );
    fig.render(out, "softmax")
}

/// **`spectrum`**: eigenvalues of the learned J pooled over replicas, with Marchenko–Pastur.
fn spectrum_figure(l: &LotitoConfig, s: &Array, out: &Path) -> Result<Outcome> {
    let max = s
        .data
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let values: Vec<f64> = s
        .data
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > 1e-9 * max.max(1e-300))
        .collect();
    if values.is_empty() {
        return Ok(Outcome::Skipped(
            "spectrum.npy holds no positive eigenvalue".into(),
        ));
    }
    let (nv, nh) = (l.visible as f64, l.hidden as f64);
    let c = nv / nh;
    let s2 = 1.0 + l.target_noise * l.target_noise;
    // Eigenvalues are saved at the Hebbian scale of the config (memory: 1/N_h).
    let scale = theory::coupling_factor(
        l.hebbian.as_ref().map_or(Default::default(), |hb| hb.scale),
        l.hidden,
        l.visible,
    ) * nh;
    let (lo, hi) = theory::marchenko_pastur_edges(s2, c);
    let (lo, hi) = (lo * scale, hi * scale);
    let (dmin, dmax) = style::bounds(values.iter().copied()).unwrap_or((0.0, 1.0));
    let (xmin, xmax) = (dmin.min(lo), dmax.max(hi));
    let bins = 40usize;
    let width = ((xmax - xmin) / bins as f64).max(1e-12);
    let mut counts = vec![0usize; bins];
    for v in &values {
        let k = (((v - xmin) / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let total = values.len() as f64;
    let bars: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .map(|(k, &c)| (xmin + k as f64 * width, c as f64 / (total * width)))
        .collect();
    // The density of the nonzero eigenvalues: ρ/(1 − zero fraction).
    let mass = 1.0 - theory::zero_fraction(c);
    let grid: Vec<f64> = (0..=400)
        .map(|k| xmin + (xmax - xmin) * k as f64 / 400.0)
        .collect();
    let density: Vec<f64> = grid
        .iter()
        .map(|&x| theory::marchenko_pastur_density(x / scale, s2, c) / (mass * scale))
        .collect();
    let mut panel = Panel::new(
        format!(
            "{} nonzero eigenvalues of J = ΞᵀΞ·{} at T, {} replicas",
            values.len(),
            if (scale - 1.0).abs() < 1e-12 {
                "1/N_h"
            } else {
                "1/N_v"
            },
            s.shape[0]
        ),
        "eigenvalue λ",
        "density",
    );
    panel.push(Series::new(Mark::Bars(width), BLUE, bars).label("learned J (histogram)"));
    panel.push(
        Series::xy(Mark::Line(Stroke::Solid(3)), VERMILLION, &grid, &density).label(format!(
            "Marchenko–Pastur, s² = 1 + σ² = {}, c = N_v/N_h = {}",
            n(s2),
            n(c)
        )),
    );
    panel.push(
        Series::new(Mark::VLine, VERMILLION, vec![(lo, 0.0), (hi, 0.0)])
            .label("MP edges s²(1 ± √c)²"),
    );
    if l.patterns == MemoryPatterns::GramSchmidt {
        panel.push(
            Series::new(Mark::VLine, GREEN, vec![(c * s2 * scale, 0.0)])
                .label(format!("c(1 + σ²) = {}", n(c * s2 * scale))),
        );
        panel.push(Series::note(
            "Gram–Schmidt targets are nearly orthogonal: eigenvalues cluster near c(1 + σ²)",
        ));
    }
    if c > 1.0 {
        panel.push(Series::note(format!(
            "plus a fraction 1 − 1/c = {} of zero eigenvalues (not shown)",
            n(theory::zero_fraction(c))
        )));
    }
    let fig = Grid::new(
        format!(
            "Spectrum of the learned couplings ({}, {})",
            setting(l),
            presentation(l)
        ),
        1,
        vec![panel],
    );
    fig.render(out, "spectrum")
}

// ---------------------------------------------------------------------------------------------
// Sweeps.

/// Means per point and their 95% CI (low, high).
type Ci = (Vec<f64>, Vec<(f64, f64)>);

/// A column of `points.csv` with its CI: (mean, (low, high)) per point; `None` when absent.
fn with_ci(points: &Table, name: &str) -> Result<Option<Ci>> {
    let Some(m) = points.f64_column(&format!("{name}_mean"))? else {
        return Ok(None);
    };
    let lo = points.f64_column(&format!("{name}_ci95_low"))?;
    let hi = points.f64_column(&format!("{name}_ci95_high"))?;
    let bars = match (lo, hi) {
        (Some(lo), Some(hi)) => lo.into_iter().zip(hi).collect(),
        _ => m.iter().map(|&v| (v, v)).collect(),
    };
    Ok(Some((m, bars)))
}

/// The values of `key` per point: its axis column, else the base config's value.
fn axis_or_base(sweep: &Sweep, key: &str, base: f64) -> Result<Vec<f64>> {
    Ok(match sweep.points.f64_column(key)? {
        Some(v) if sweep.axes.iter().any(|a| a.key == key) => v,
        _ => vec![base; sweep.points.len()],
    })
}

/// The figures of a Lotito sweep, by what it sweeps.
pub fn sweep_figures(sweep: &Sweep, out: &Path) -> Result<Vec<(String, Outcome)>> {
    let base = sweep.point_config(&[])?;
    let l = &base.lotito;
    let has = |key: &str| sweep.axes.iter().any(|a| a.key == key);
    let figure = if has("lotito.hebbian.gain") {
        ("hebbian_limit", hebbian_limit(sweep, l, out)?)
    } else if has("lotito.fresh_noise")
        && l.fresh_noise >= 0.0
        && sweep.points.has("late_deviation_mean")
        && (has("lotito.memory_time") || sweep.axes.len() == 1)
    {
        ("fresh_noise", fresh_noise(sweep, l, out)?)
    } else if l.replace.is_some() && has("lotito.memory_time") {
        ("replacement", replacement(sweep, l, out)?)
    } else if has("lotito.inverse_temperature") && sweep.axes.len() == 1 {
        ("collapse", collapse(sweep, l, out)?)
    } else {
        ("profiles", profiles(sweep, l, out)?)
    };
    Ok(vec![(figure.0.to_string(), figure.1)])
}

fn error_bars(x: &[f64], data: &Ci, c: RGBColor, label: &str) -> Series {
    Series::xy(
        Mark::ErrorBars(data.1.clone(), Marker::Disc(5)),
        c,
        x,
        &data.0,
    )
    .label(label)
}

fn need(points: &Table, name: &str) -> Result<Ci> {
    with_ci(points, name)?
        .ok_or_else(|| Error::input(&points.path, format!("no `{name}_mean` column")))
}

/// **`collapse`**: best match, coverage and pairwise cosine against β/β_c.
fn collapse(sweep: &Sweep, l: &LotitoConfig, out: &Path) -> Result<Outcome> {
    let p = &sweep.points;
    let x = need(p, "beta_ratio")?.0;
    let h = l.hidden as f64;
    let label = "mean over replicas, 95% CI";
    let mut panels = Vec::new();
    for (name, title, lines) in [
        (
            "best_match",
            "best-match cosine (mean over memories of max_ν cos(Ξ_μ, ξ'_ν))",
            vec![
                (1.0 / h.sqrt(), "collapsed: 1/√N_h", VERMILLION),
                (1.0, "separated: 1", GREY),
            ],
        ),
        (
            "coverage",
            "coverage (fraction of targets some memory matches best)",
            vec![
                (1.0 / h, "collapsed: 1/N_h", VERMILLION),
                (1.0, "separated: 1", GREY),
            ],
        ),
        (
            "pairwise_cosine",
            "mean pairwise cosine between memories",
            vec![
                (1.0, "collapsed: 1", VERMILLION),
                (0.0, "orthogonal: 0", GREY),
            ],
        ),
    ] {
        let data = need(p, name)?;
        let mut panel = Panel::new(title, "β/β_c (β_c = 1/λ_max(C) per replica)", name);
        panel.log_x = true;
        panel.push(error_bars(&x, &data, BLUE, label));
        panel.push(
            Series::new(Mark::VLine, PURPLE, vec![(1.0, 0.0)])
                .label("β = β_c: the collapsed state loses stability"),
        );
        for (y, text, c) in lines {
            panel.push(Series::new(Mark::HLine, c, vec![(x[0], y)]).label(text));
        }
        panels.push(panel);
    }
    let start = match l.initial_memories {
        InitialMemories::Patterns => "separated memories (Gram–Schmidt patterns)",
        InitialMemories::Collapsed => "collapsed memories (all at the mean target)",
        InitialMemories::Targets => "memories at their targets",
        InitialMemories::Random => "random memories",
    };
    let fig = Grid::new(
        format!(
            "Collapse of memories from {start} (N_v = {}, N_h = {}, τ_Ξ = {}, σ = {}, T = {})",
            l.visible,
            l.hidden,
            n(l.memory_time),
            n(l.target_noise),
            l.steps
        ),
        1,
        panels,
    );
    fig.render(out, "collapse")
}

/// **`fresh_noise`**: late deviation against σ_f²/(2τ_Ξ − 1), one series per τ_Ξ.
fn fresh_noise(sweep: &Sweep, l: &LotitoConfig, out: &Path) -> Result<Outcome> {
    let p = &sweep.points;
    let sf = axis_or_base(sweep, "lotito.fresh_noise", l.fresh_noise)?;
    let tau = axis_or_base(sweep, "lotito.memory_time", l.memory_time)?;
    let data = need(p, "late_deviation")?;
    let x: Vec<f64> = sf
        .iter()
        .zip(&tau)
        .map(|(&s, &t)| theory::fresh_noise_variance(s, t))
        .collect();
    let mut taus: Vec<f64> = tau.clone();
    taus.sort_by(f64::total_cmp);
    taus.dedup();
    let mut panel = Panel::new(
        "stationary deviation per component, mean over the second half of the run",
        "theory σ_f²/(2τ_Ξ − 1)",
        "measured (1/(N_h N_v)) Σ_μ |Ξ_μ − ξ'_μ|²",
    );
    panel.log_x = true;
    panel.log_y = true;
    for (k, &tv) in taus.iter().enumerate() {
        let rows: Vec<usize> = (0..x.len()).filter(|&j| tau[j] == tv).collect();
        let xs: Vec<f64> = rows.iter().map(|&j| x[j]).collect();
        let ys: Vec<f64> = rows.iter().map(|&j| data.0[j]).collect();
        let bars: Vec<(f64, f64)> = rows.iter().map(|&j| data.1[j]).collect();
        panel.push(
            Series::xy(
                Mark::ErrorBars(bars, Marker::Disc(5)),
                PALETTE[k % 5],
                &xs,
                &ys,
            )
            .label(format!("τ_Ξ = {} (95% CI)", n(tv))),
        );
    }
    if let Some((lo, hi)) = style::bounds(x.iter().copied().filter(|v| *v > 0.0)) {
        let line = vec![(lo / 1.5, lo / 1.5), (hi * 1.5, hi * 1.5)];
        panel.push(
            Series::new(Mark::Line(Stroke::Dashed(3)), GREY, line).label("theory: identity (§5.5)"),
        );
    }
    let fig = Grid::new(
        format!(
            "Fresh noise: accuracy σ_f²/(2τ_Ξ − 1) (N_v = {}, N_h = {}, β = {}, T = {})",
            l.visible,
            l.hidden,
            n(l.inverse_temperature),
            l.steps
        ),
        1,
        vec![panel],
    );
    fig.render(out, "fresh_noise")
}

/// The one-hot overwrite time: steps until a memory at α' = 0, a = b reaches cosine `target`
/// with its new target, `ln e*/(p ln(1 − 1/τ_Ξ))`.
fn overwrite_theory(memory_time: f64, probability: f64, target: f64) -> f64 {
    // c = (1 − e)/√(e² + (1 − e)²) = u/√(1 + u²) with u = (1 − e)/e.
    let u = target / (1.0 - target * target).sqrt();
    let e = 1.0 / (1.0 + u);
    e.ln() / (probability * (1.0 - 1.0 / memory_time).ln())
}

/// **`replacement`**: overwrite time against τ_Ξ/p_μ, and who captured the new target.
fn replacement(sweep: &Sweep, l: &LotitoConfig, out: &Path) -> Result<Outcome> {
    let p = &sweep.points;
    let r = l.replace.as_ref().expect("checked by the caller");
    let tau = axis_or_base(sweep, "lotito.memory_time", l.memory_time)?;
    let prob = l.presentation_probabilities()[r.pattern];
    let x: Vec<f64> = tau.iter().map(|&t| theory::time_scale(t, prob)).collect();
    let steps = need(p, "overwrite_steps")?;
    let mut time = Panel::new(
        format!(
            "steps until some memory reaches cos = {} with the new target",
            n(l.overwrite_cosine)
        ),
        "τ_Ξ/p_μ (steps)",
        "overwrite time (steps)",
    );
    time.log_x = true;
    time.log_y = true;
    time.push(error_bars(
        &x,
        &steps,
        BLUE,
        "replicas that overwrote: mean, 95% CI",
    ));
    if let Some((lo, hi)) = style::bounds(tau.iter().copied()) {
        let grid: Vec<f64> = (0..=50)
            .map(|k| lo * 0.8 * (hi * 1.25 / (lo * 0.8)).powf(k as f64 / 50.0))
            .collect();
        let line: Vec<(f64, f64)> = grid
            .iter()
            .map(|&t| {
                (
                    theory::time_scale(t, prob),
                    overwrite_theory(t, prob, l.overwrite_cosine),
                )
            })
            .collect();
        time.push(
            Series::new(Mark::Line(Stroke::Dashed(3)), VERMILLION, line)
                .label("one-hot: n* wins × 1/p_μ steps, α' = 0, a = b"),
        );
    }
    // Fractions from the per-replica rows.
    let summary = Table::read(&sweep.dir.join("summary.csv"))?;
    let point = summary.usize_column("point")?;
    let over = summary
        .f64_column("overwrite_steps")?
        .ok_or_else(|| Error::input(&summary.path, "no `overwrite_steps` column"))?;
    let row = summary
        .f64_column("overwrite_row")?
        .ok_or_else(|| Error::input(&summary.path, "no `overwrite_row` column"))?;
    let index = p.usize_column("point")?;
    let mut done = Vec::new();
    let mut own = Vec::new();
    for &pi in &index {
        let rows: Vec<usize> = (0..point.len()).filter(|&j| point[j] == pi).collect();
        let count = rows.len().max(1) as f64;
        done.push(rows.iter().filter(|&&j| over[j].is_finite()).count() as f64 / count);
        own.push(
            rows.iter()
                .filter(|&&j| over[j].is_finite() && row[j] == r.pattern as f64)
                .count() as f64
                / count,
        );
    }
    let mut who = Panel::new(
        "who moved to the new target",
        "τ_Ξ/p_μ (steps)",
        "fraction of replicas",
    );
    who.log_x = true;
    who.y_range = Some((-0.05, 1.05));
    who.push(
        Series::xy(Mark::Line(Stroke::Solid(2)), BLUE, &x, &done).label("overwrote within the run"),
    );
    who.push(Series::xy(Mark::Points(Marker::Disc(6)), BLUE, &x, &done));
    who.push(
        Series::xy(Mark::Line(Stroke::Solid(2)), VERMILLION, &x, &own)
            .label(format!("… by the replaced memory μ = {}", r.pattern)),
    );
    who.push(Series::xy(
        Mark::Points(Marker::Disc(6)),
        VERMILLION,
        &x,
        &own,
    ));
    who.push(
        Series::new(Mark::HLine, GREY, vec![(x[0], 1.0)])
            .label("one-hot: the replaced memory, always"),
    );
    let fig = Grid::new(
        format!(
            "Replacing target {} at step {} ({}, {})",
            r.pattern,
            r.step,
            setting(l),
            presentation(l)
        ),
        1,
        vec![time, who],
    );
    fig.render(out, "replacement")
}

/// **`hebbian_limit`**: the origin's exponent and retrieval against the gain.
fn hebbian_limit(sweep: &Sweep, l: &LotitoConfig, out: &Path) -> Result<Outcome> {
    let p = &sweep.points;
    let g = p
        .f64_column("lotito.hebbian.gain")?
        .ok_or_else(|| Error::input(&p.path, "no `lotito.hebbian.gain` column"))?;
    let measured = need(p, "origin_exponent_measured")?;
    let predicted = need(p, "origin_exponent_predicted")?.0;
    let lambda = mean(&need(p, "lambda_max")?.0);
    let mut exponent = Panel::new("largest exponent of h = 0", "gain g", "exponent (per step)");
    exponent.log_x = true;
    exponent.push(error_bars(&g, &measured, BLUE, "measured: mean, 95% CI"));
    exponent.push(
        Series::xy(Mark::Line(Stroke::Dashed(3)), VERMILLION, &g, &predicted)
            .label("ln|1 − a + a g λ_max(J)| (per replica λ_max)"),
    );
    exponent.push(Series::new(Mark::HLine, GREY, vec![(g[0], 0.0)]).label("0"));
    let mut retrieval = Panel::new("retrieval from corrupted targets", "gain g", "");
    retrieval.log_x = true;
    retrieval.y_range = Some((-0.05, 1.05));
    if let Some(o) = with_ci(p, "retrieval_overlap")? {
        retrieval.push(error_bars(
            &g,
            &o,
            BLUE,
            "final overlap with the cued target",
        ));
    }
    if let Some(s) = with_ci(p, "retrieval_success")? {
        retrieval.push(error_bars(&g, &s, GREEN, "success fraction"));
    }
    if lambda.is_finite() && lambda > 0.0 {
        for panel in [&mut exponent, &mut retrieval] {
            panel.push(
                Series::new(Mark::VLine, PURPLE, vec![(1.0 / lambda, 0.0)]).label(format!(
                    "g = 1/λ_max = {} (origin unstable above)",
                    n(1.0 / lambda)
                )),
            );
        }
    }
    let hb = l.hebbian.clone().unwrap_or_default();
    let fig = Grid::new(
        format!(
            "Hebbian limit: h ← (1 − a)h + a J tanh(g h) with the learned J (a = {}, {})",
            n(hb.leak),
            setting(l)
        ),
        1,
        vec![exponent, retrieval],
    );
    fig.render(out, "hebbian_limit")
}

/// **`profiles`**: every varying `*_mean` column against the first axis.
fn profiles(sweep: &Sweep, l: &LotitoConfig, out: &Path) -> Result<Outcome> {
    let p = &sweep.points;
    let axis = &sweep.axes[0];
    let x = p
        .f64_column(&axis.key)?
        .ok_or_else(|| Error::input(&p.path, format!("no `{}` column", axis.key)))?;
    let mut panels = Vec::new();
    for column in p.columns() {
        let Some(name) = column.strip_suffix("_mean") else {
            continue;
        };
        if sweep.axes.iter().any(|a| a.key == *column) {
            continue;
        }
        let Some(data) = with_ci(p, name)? else {
            continue;
        };
        let varies = style::bounds(data.0.iter().copied()).is_some_and(|(lo, hi)| hi > lo);
        if !varies {
            continue;
        }
        let mut panel = Panel::new(name, &axis.key, name);
        panel.log_x = axis.spacing == super::data::Spacing::Log;
        panel.push(error_bars(&x, &data, BLUE, "mean, 95% CI"));
        panels.push(panel);
        if panels.len() == 12 {
            break;
        }
    }
    if panels.is_empty() {
        return Ok(Outcome::Skipped(
            "no column of points.csv varies over the sweep".into(),
        ));
    }
    let fig = Grid::new(
        format!("Lotito sweep over {} ({})", axis.key, setting(l)),
        3,
        panels,
    );
    fig.render(out, "profiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_time_solves_the_exact_cosine() {
        let (tau, p, target) = (100.0, 0.25, 0.9);
        let steps = overwrite_theory(tau, p, target);
        let wins = steps * p;
        let e = (1.0 - 1.0 / tau).powf(wins);
        assert!((theory::exact_cosine(e, 0.0, 1.0, 1.0) - target).abs() < 1e-12);
    }

    #[test]
    fn the_target_norm_is_recovered_from_the_gram_diagonal() {
        let l = LotitoConfig::default();
        let (e, alpha, a, b) = (0.2, 0.9, 7.0, 7.5);
        let g = e * e * a * a + (1.0 - e) * (1.0 - e) * b * b + 2.0 * e * (1.0 - e) * alpha * a * b;
        let (got, _) = target_norm(&l, None, Some((e, g, alpha, a)), 0, 0).unwrap();
        assert!((got - b).abs() < 1e-12, "{got}");
    }

    #[test]
    fn quantiles_skip_nan() {
        assert_eq!(quantile(&[3.0, f64::NAN, 1.0, 2.0], 0.5), 2.0);
        assert!(quantile(&[f64::NAN], 0.5).is_nan());
    }
}
