//! Lotito's memory dynamics (D. Lotito 2025, "Neural Learning Rules from Associative Networks
//! Theory"; `models/lotito.md` §3–4): the equations of `"model": "lotito"`.
//!
//! N_h memories Ξ_μ ∈ ℝ^{N_v} (the rows of Ξ, the weights of hidden unit μ) learn from clamped
//! patterns v(t), one presentation per step (Euler, dt = 1, as the author's code):
//!
//! `S_μ = Ξ_μ·v`,  `w = softmax(β S)` (the largest S subtracted first),
//! `Ξ_μ ← Ξ_μ + (w_μ/τ_Ξ)(Λ_μ + v − Ξ_μ)`,
//!
//! i.e. the Euler step of `τ_Ξ dΞ_μ/dt = w_μ(−Ξ_μ + Λ_μ + v)`. The softmax argument may instead
//! be `β(Ξ_μ·v − ½|Ξ_μ − Λ_μ|²)` (exact gradient ascent of a log-sum-exp; models/lotito.md §3) or
//! the argmax (one-hot) limit. v is not normalised: in Figure 1 βS ≈ 100, beyond ln(FLT_MAX) ≈
//! 88.7, so without the max subtraction every f32 replica would be NaN.
//!
//! The presented v(t) is a target slot `presented[t]` (the targets ξ'_μ, and a replacement's new
//! target) plus, with fresh noise, `σ_f n(t)`, n_i(t) the counter-based normal of
//! [`crate::model::bms::noise`] (the same numbers on both backends).
//!
//! [`dynamics::run`] is the CPU twin of the GPU kernel (`shaders/lotito_update.wgsl`). The draws
//! of a replica's patterns live here ([`draw_patterns`]); which stream draws what is the
//! experiment's (`src/experiment/lotito.rs`).

pub mod dynamics;

#[cfg(test)]
mod tests;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

pub use dynamics::run;

use crate::config::{MemoryPatterns, SoftmaxArgument};
use crate::model::bms::noise::NoiseStream;

/// One replica of a batch: its memories, targets and parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    /// Ξ(0), `N_h × N_v` row-major.
    pub initial: Vec<f64>,
    /// The presentable vectors, `slots × N_v`: the targets ξ'_μ, then a replacement's new target.
    pub targets: Vec<f64>,
    /// Λ, `N_h × N_v`; `None` is Λ = 0 (the paper).
    pub bias: Option<Vec<f64>>,
    /// The vectors each row is observed against (its one-hot fixed point ξ'_μ + Λ_μ), `sets ×
    /// N_h × N_v`: set 0 before `switch_step`, set 1 from it on (after a replacement).
    pub fixed_points: Vec<f64>,
    /// d_μ = Ξ_μ(0) − f_μ (f_μ the row's first fixed point), `N_h × N_v`: the decay factor is
    /// `e_μ = (Ξ_μ − f_μ)·d_μ / |d_μ|²`, from the kernel's `Ξ_μ·d_μ`.
    pub decay_directions: Vec<f64>,
    /// The slot presented at step t = 0 … T−1.
    pub presented: Vec<u32>,
    /// The first step observed against fixed-point set 1 (`u32::MAX`: never).
    pub switch_step: u32,
    /// β.
    pub inverse_temperature: f64,
    /// τ_Ξ.
    pub memory_time: f64,
    /// σ_f.
    pub fresh_noise: f64,
    /// The stream of the fresh noise n_i(t) (its `stream` is 0).
    pub noise: NoiseStream,
}

/// Everything one call advances: replicas of one shape.
#[derive(Clone, Debug)]
pub struct Batch {
    /// N_h.
    pub hidden: usize,
    /// N_v.
    pub visible: usize,
    /// T.
    pub steps: usize,
    /// k: samples at t = 0, k, 2k, … ≤ T.
    pub record_every: usize,
    pub softmax: SoftmaxArgument,
    pub replicas: Vec<Replica>,
}

impl Batch {
    /// Recorded samples: t = 0, k, 2k, … ≤ T.
    pub fn samples(&self) -> usize {
        self.steps / self.record_every + 1
    }
}

/// Softmax statistics recorded per sample: `(max_μ w_μ, H = −Σ w ln w)`.
pub const SOFTMAX_STATS: usize = 2;

/// What one replica produced, every array sample-major (s = t/k).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// `samples × N_h × N_h`: the Gram matrix Ξ_μ·Ξ_ν.
    pub gram: Vec<f64>,
    /// `samples × N_h × N_h`: Ξ_μ·f_ν, f_ν the observed fixed point of row ν at that step.
    pub cross: Vec<f64>,
    /// `samples × N_h`: Ξ_μ·d_μ.
    pub decay: Vec<f64>,
    /// `samples × SOFTMAX_STATS` of the update that produced the sample (NaN at t = 0).
    pub softmax: Vec<f64>,
    /// Ξ(T), `N_h × N_v`.
    pub memories: Vec<f64>,
}

/// The patterns ξ_μ, `hidden × visible` row-major, from `rng`:
/// - `GramSchmidt` (the paper, models/lotito.md §4): N_h draws of N(0, I) first, then
///   Gram–Schmidt in order, each row normalised and scaled to √N_v (needs N_h ≤ N_v);
/// - `Gaussian`: i.i.d. N(0, 1) entries; `Binary`: unbiased ±1.
pub fn draw_patterns(
    kind: MemoryPatterns,
    hidden: usize,
    visible: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    match kind {
        MemoryPatterns::Binary => (0..hidden * visible)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect(),
        MemoryPatterns::Gaussian => (0..hidden * visible)
            .map(|_| rng.sample(StandardNormal))
            .collect(),
        MemoryPatterns::GramSchmidt => {
            let mut xi: Vec<f64> = (0..hidden * visible)
                .map(|_| rng.sample(StandardNormal))
                .collect();
            gram_schmidt(&mut xi, visible, (visible as f64).sqrt());
            xi
        }
    }
}

/// Gram–Schmidt on the rows of `rows` (row-major, rows of length `len`), in order, each row
/// normalised then scaled to `norm` (modified Gram–Schmidt, twice for f64 orthogonality).
pub fn gram_schmidt(rows: &mut [f64], len: usize, norm: f64) {
    let count = rows.len() / len;
    for mu in 0..count {
        for _ in 0..2 {
            for nu in 0..mu {
                let (done, rest) = rows.split_at_mut(mu * len);
                let prev = &done[nu * len..(nu + 1) * len];
                let row = &mut rest[..len];
                let proj = dot(prev, row) / dot(prev, prev);
                row.iter_mut().zip(prev).for_each(|(x, p)| *x -= proj * p);
            }
        }
        let row = &mut rows[mu * len..(mu + 1) * len];
        let n = dot(row, row).sqrt();
        row.iter_mut().for_each(|x| *x *= norm / n);
    }
}

/// `a·b` in f64.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The slots presented at steps 0 … T−1: cyclic `⌊t/Δ⌋ mod N_h`, or i.i.d. blocks of Δ steps
/// with probabilities `p` drawn from `rng` (inverse CDF of one uniform per block); from
/// `switch` on, the replaced row's slot `N_h` stands in for it.
pub fn presentation(
    iid: Option<(&[f64], &mut ChaCha8Rng)>,
    hidden: usize,
    steps: usize,
    block: usize,
    replace: Option<(usize, usize)>,
) -> Vec<u32> {
    let blocks = steps.div_ceil(block);
    let order: Vec<u32> = match iid {
        None => (0..blocks).map(|b| (b % hidden) as u32).collect(),
        Some((p, rng)) => (0..blocks)
            .map(|_| {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let mut pick = hidden - 1;
                for (mu, &q) in p.iter().enumerate() {
                    acc += q;
                    if u < acc {
                        pick = mu;
                        break;
                    }
                }
                // A zero-probability tail never wins by rounding.
                while p[pick] == 0.0 && pick > 0 {
                    pick -= 1;
                }
                pick as u32
            })
            .collect(),
    };
    (0..steps)
        .map(|t| {
            let slot = order[t / block];
            match replace {
                Some((mu, at)) if t >= at && slot as usize == mu => hidden as u32,
                _ => slot,
            }
        })
        .collect()
}
