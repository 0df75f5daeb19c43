//! What is measured of Lotito's memory dynamics (`"model": "lotito"`; models/lotito.md §7):
//! the per-sample series of one replica from the kernel's Gram products, its row of
//! `epochs.csv`, and the ensemble summary (replica means with 95% intervals).
//!
//! With G = ΞΞᵀ, X_μν = Ξ_μ·f_ν (f_ν the observed fixed point ξ'_ν + Λ_ν of row ν; the target
//! itself when Λ = 0) and F = the Gram matrix of the f_ν:
//! - `cos(Ξ_μ, f_ν) = X_μν / √(G_μμ F_νν)`; a row's own cosine is ν = μ;
//! - best match (permutation-invariant): the mean over rows of max_ν cos(Ξ_μ, f_ν); coverage:
//!   the fraction of the N_h targets that are some row's best match;
//! - `‖J − J_Hebb‖_F = (1/N_h) √(‖G‖² − 2‖X‖² + ‖F‖²)` (J = ΞᵀΞ/N_h, J_Hebb = FᵀF/N_h);
//! - the decay factor `e_μ = (Ξ_μ − f_μ)·d_μ/|d_μ|²`, d_μ = Ξ_μ(0) − f_μ (NaN for a replaced row
//!   once its target changed);
//! - the softmax maximum, entropy H and effective number e^H of the update that produced the
//!   sample; the mean pairwise cosine between memories (1: collapsed) and the mean row norm;
//! - the deviation from the fixed points per component, `(1/(N_h N_v)) Σ_μ |Ξ_μ − f_μ|²` =
//!   `Σ_μ (G_μμ − 2X_μμ + F_μμ)/(N_h N_v)` (under fresh noise its stationary value is
//!   σ_f²/(2τ_Ξ − 1), models/lotito.md §5.5).

use super::summary::{column_values, group_header, group_start, grouped_or_whole, mean_ci};
use crate::model::lotito::{Trace, SOFTMAX_STATS};

/// Per-sample measures of a replica (`measures.npy`, last axis), in order.
pub const MEMORY_MEASURES: [&str; 11] = [
    "cosine_mean",
    "cosine_min",
    "best_match",
    "coverage",
    "max_weight",
    "entropy",
    "effective_number",
    "hebb_distance",
    "pairwise_cosine",
    "norm_mean",
    "deviation",
];

/// The fixed points a replica is observed against, as Gram products (f64, exact).
#[derive(Clone, Debug)]
pub struct Observed {
    pub hidden: usize,
    /// F per set: `sets × N_h × N_h`.
    pub fixed_gram: Vec<f64>,
    /// `f_μ·d_μ` per row.
    pub fixed_dot_direction: Vec<f64>,
    /// `|d_μ|²` per row.
    pub direction_norm: Vec<f64>,
    /// The step from which set 1 is observed (`usize::MAX`: never) and the row it replaced.
    pub switch: Option<(usize, usize)>,
    pub record_every: usize,
    /// N_v.
    pub visible: usize,
}

/// The series of one replica: `cosines` (samples × N_h), `decay` (samples × N_h) and
/// `measures` (samples × [`MEMORY_MEASURES`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub cosines: Vec<f64>,
    pub decay: Vec<f64>,
    pub measures: Vec<f64>,
    /// After a replacement: per sample from the switch on, the row closest to the new target
    /// and its cosine with it (`(row, cosine)`; the rows compete for it: under a softmax the
    /// replaced row need not be the one that moves).
    pub capture: Vec<(usize, f64)>,
}

impl Series {
    /// The mean of measure `name` over the samples from `first` on.
    pub fn mean_from(&self, name: &str, first: usize) -> f64 {
        let m = MEMORY_MEASURES.len();
        let k = MEMORY_MEASURES.iter().position(|x| *x == name).unwrap_or(0);
        let values: Vec<f64> = self
            .measures
            .chunks_exact(m)
            .skip(first)
            .map(|s| s[k])
            .collect();
        values.iter().sum::<f64>() / values.len() as f64
    }

    /// The last sample's value of measure `name`.
    pub fn last(&self, name: &str) -> f64 {
        let m = MEMORY_MEASURES.len();
        let k = MEMORY_MEASURES.iter().position(|x| *x == name).unwrap_or(0);
        self.measures
            .len()
            .checked_sub(m)
            .map_or(f64::NAN, |s| self.measures[s + k])
    }
}

/// The series of `trace` (module doc).
pub fn series(trace: &Trace, observed: &Observed) -> Series {
    let h = observed.hidden;
    let samples = trace.decay.len() / h;
    let mut out = Series::default();
    for s in 0..samples {
        let t = s * observed.record_every;
        let set = observed.switch.map_or(0, |(at, _)| usize::from(t >= at));
        let f = &observed.fixed_gram[set * h * h..(set + 1) * h * h];
        let g = &trace.gram[s * h * h..(s + 1) * h * h];
        let x = &trace.cross[s * h * h..(s + 1) * h * h];
        let cos = |mu: usize, nu: usize| x[mu * h + nu] / (g[mu * h + mu] * f[nu * h + nu]).sqrt();
        let own: Vec<f64> = (0..h).map(|mu| cos(mu, mu)).collect();
        let mut best = 0.0;
        let mut matched = vec![false; h];
        for mu in 0..h {
            let (arg, value) = (0..h)
                .map(|nu| (nu, cos(mu, nu)))
                .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
            best += value / h as f64;
            matched[arg] = true;
        }
        let coverage = matched.iter().filter(|&&m| m).count() as f64 / h as f64;
        let sq = |m: &[f64]| m.iter().map(|v| v * v).sum::<f64>();
        let distance = (sq(g) - 2.0 * sq(x) + sq(f)).max(0.0).sqrt() / h as f64;
        let mut pairwise = 0.0;
        let mut pairs = 0;
        for mu in 0..h {
            for nu in mu + 1..h {
                pairwise += g[mu * h + nu] / (g[mu * h + mu] * g[nu * h + nu]).sqrt();
                pairs += 1;
            }
        }
        let pairwise = if pairs == 0 {
            f64::NAN
        } else {
            pairwise / pairs as f64
        };
        let norm = (0..h).map(|mu| g[mu * h + mu].sqrt()).sum::<f64>() / h as f64;
        let deviation = (0..h)
            .map(|mu| g[mu * h + mu] - 2.0 * x[mu * h + mu] + f[mu * h + mu])
            .sum::<f64>()
            / (h * observed.visible) as f64;
        let stats = &trace.softmax[s * SOFTMAX_STATS..(s + 1) * SOFTMAX_STATS];
        out.measures.extend_from_slice(&[
            own.iter().sum::<f64>() / h as f64,
            own.iter().copied().fold(f64::INFINITY, f64::min),
            best,
            coverage,
            stats[0],
            stats[1],
            stats[1].exp(),
            distance,
            pairwise,
            norm,
            deviation,
        ]);
        out.cosines.extend_from_slice(&own);
        if let (1, Some((_, row))) = (set, observed.switch) {
            out.capture.push(
                (0..h)
                    .map(|mu| (mu, cos(mu, row)))
                    .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a }),
            );
        }
        for mu in 0..h {
            let replaced = set == 1 && observed.switch.is_some_and(|(_, row)| row == mu);
            out.decay.push(if replaced {
                f64::NAN
            } else {
                (trace.decay[s * h + mu] - observed.fixed_dot_direction[mu])
                    / observed.direction_norm[mu]
            });
        }
    }
    out
}

/// Columns of a replica's row of `epochs.csv`.
pub const MEMORY_COLUMNS: [&str; 26] = [
    "replica",
    "inverse_temperature",
    "critical_inverse_temperature",
    "beta_ratio",
    "cosine_mean",
    "cosine_min",
    "best_match",
    "coverage",
    "hebb_distance",
    "max_weight",
    "entropy",
    "effective_number",
    "pairwise_cosine",
    "collapsed",
    "norm_mean",
    "decay_time_mean",
    "late_deviation",
    "overwrite_steps",
    "overwrite_row",
    "lambda_max",
    "retrieval_overlap",
    "retrieval_success",
    "origin_exponent_predicted",
    "origin_exponent_measured",
    "origin_stable_predicted",
    "origin_stable_measured",
];

/// Columns the summary carries as mean and interval (all but `replica`).
pub fn summarised() -> impl Iterator<Item = &'static str> {
    MEMORY_COLUMNS.iter().copied().skip(1)
}

/// Replica statistics of the rows of `csv`, one output row per value of the integer column
/// `group`: `group,<carry…>,replicas`, then `<column>_mean,<column>_ci95_low,<column>_ci95_high`
/// for every column but `replica` (binary columns' means are fractions).
pub fn summarize_by(csv: &str, group: &str, carry: &[&str]) -> String {
    let (header, groups) = grouped_or_whole(csv, group);
    let mut out = group_header(group, carry);
    for name in summarised() {
        out.push_str(&format!(",{name}_mean,{name}_ci95_low,{name}_ci95_high"));
    }
    out.push('\n');
    for (key, rows) in groups {
        out.push_str(&group_start(key, &header, &rows, carry));
        for name in summarised() {
            let values = column_values(&header, &rows, name);
            let (m, lo, hi, _) = mean_ci(&values);
            out.push_str(&format!(",{m},{lo},{hi}"));
        }
        out.push('\n');
    }
    out
}
