//! Deep-Hebbian sequence couplings (Jiang, Chen, Hou & Huang 2023; `models/jiang.md` §2–4):
//! the equations of `"model": "jiang"`.
//!
//! P patterns ξ^μ ∈ {±1}^N (or standard normal), a P × P circulant X and
//!
//! `J = (1/N) ξᵀ X ξ`,  `X_μν = c δ_μν + γ Σ_{k=1..d} δ_{μ,ν+k} + bγ Σ_{k=1..d} δ_{μ,ν−k}`
//!
//! (indices mod P within each of s blocks, or no wrap-around for an open chain). With
//! `ξ ξ^ν ≈ N e_ν`, `J ξ^ν ≈ c ξ^ν + γ Σ_k ξ^{ν+k}`: the sequence runs forward. The network is
//! the current form with W = J: `h ← (1 − a) h + a J φ(h)`, φ = tanh.
//!
//! [`LowRank`] holds the factors; the local field `J φ = (1/N) ξᵀ (X (ξ φ))` then costs
//! O(NP + Pd) instead of O(N²), and its first stage `ξ φ` is N times the overlaps
//! `m^μ = (1/N) Σ_i ξ^μ_i φ(h_i)`. Any coupling of the form `scale · ξᵀ X ξ` with a banded
//! block-circulant X is one (Lotito's `ΞᵀΞ/N_h`: X = I). [`LowRank::dense`] gives J itself
//! (dilution needs it). [`LowRank::eigenvalues`] uses the P × P reduction: the nonzero
//! eigenvalues of `J·D` are those of `X · (ξ D ξᵀ / N)`.
//!
//! The trajectory ([`trajectory`]) is the CPU twin of the GPU kernel.

pub mod trajectory;

#[cfg(test)]
mod tests;

use faer::{c64, Mat};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

pub use trajectory::{run, Batch, Network, Trace, Trajectory, MEASURES};

/// One nonzero diagonal of X: `X_{μ, μ−shift} = weight` within each block, so that
/// `(X y)_μ = Σ_taps weight · y_{μ−shift}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tap {
    pub shift: i64,
    pub weight: f64,
}

/// The structure of X (models/jiang.md §2; the paper: b = 0, s = 1, periodic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chain {
    /// c.
    pub autoassociation: f64,
    /// γ.
    pub heteroassociation: f64,
    /// d.
    pub depth: usize,
    /// b.
    pub backward: f64,
    /// s: circulant blocks of P/s patterns.
    pub sequences: usize,
    /// No wrap-around entries.
    pub open_chain: bool,
}

impl Chain {
    /// The nonzero diagonals: `(0, c)`, `(k, γ)` and `(−k, bγ)` for k = 1..d (zero weights
    /// omitted).
    pub fn taps(&self) -> Vec<Tap> {
        let mut taps = Vec::with_capacity(2 * self.depth + 1);
        if self.autoassociation != 0.0 {
            taps.push(Tap {
                shift: 0,
                weight: self.autoassociation,
            });
        }
        for k in 1..=self.depth as i64 {
            if self.heteroassociation != 0.0 {
                taps.push(Tap {
                    shift: k,
                    weight: self.heteroassociation,
                });
            }
            if self.backward * self.heteroassociation != 0.0 {
                taps.push(Tap {
                    shift: -k,
                    weight: self.backward * self.heteroassociation,
                });
            }
        }
        taps
    }

    /// The source index of `(X y)_μ` for a tap: `μ − shift` within μ's block of `block`
    /// patterns, wrapped (periodic) or `None` past the chain's ends (open chain).
    #[inline]
    pub fn source(mu: usize, shift: i64, block: usize, open_chain: bool) -> Option<usize> {
        let start = mu - mu % block;
        let local = (mu % block) as i64 - shift;
        if open_chain {
            (0..block as i64)
                .contains(&local)
                .then(|| start + local as usize)
        } else {
            Some(start + local.rem_euclid(block as i64) as usize)
        }
    }

    /// X as a row-major P × P matrix.
    pub fn matrix(&self, patterns: usize) -> Vec<f64> {
        let block = patterns / self.sequences;
        let mut x = vec![0.0; patterns * patterns];
        for mu in 0..patterns {
            for tap in self.taps() {
                if let Some(nu) = Chain::source(mu, tap.shift, block, self.open_chain) {
                    x[mu * patterns + nu] += tap.weight;
                }
            }
        }
        x
    }
}

/// The distribution of pattern entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entries {
    /// ±1 with probability ½ each.
    Binary,
    /// Standard normal.
    Gaussian,
}

/// P patterns of N entries, row-major (`ξ^μ_i` at `μ N + i`), drawn in that order.
pub fn draw_patterns(
    entries: Entries,
    patterns: usize,
    neurons: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let len = patterns * neurons;
    match entries {
        Entries::Binary => {
            let mut xi = Vec::with_capacity(len);
            while xi.len() < len {
                let bits: u64 = rng.random();
                for b in 0..64.min(len - xi.len()) {
                    xi.push(if bits >> b & 1 == 1 { 1.0 } else { -1.0 });
                }
            }
            xi
        }
        Entries::Gaussian => (0..len).map(|_| rng.sample(StandardNormal)).collect(),
    }
}

/// `J = scale · ξᵀ X ξ` (minus its diagonal without self-couplings), in factored form.
#[derive(Clone, Debug, PartialEq)]
pub struct LowRank {
    pub neurons: usize,
    pub patterns: usize,
    /// Row-major P × N.
    pub xi: Vec<f64>,
    pub taps: Vec<Tap>,
    /// Patterns per circulant block (P/s).
    pub block: usize,
    pub open_chain: bool,
    /// 1/N for Jiang's couplings.
    pub scale: f64,
    /// `J_ii` of the full product, subtracted from the field when self-couplings are off
    /// (`None`: kept).
    pub removed_diagonal: Option<Vec<f64>>,
}

impl LowRank {
    /// The couplings of `chain` on the patterns `xi` (P × N row-major), `scale` 1/N.
    pub fn new(xi: Vec<f64>, patterns: usize, chain: &Chain, self_couplings: bool) -> LowRank {
        let neurons = xi.len() / patterns.max(1);
        let mut j = LowRank {
            neurons,
            patterns,
            xi,
            taps: chain.taps(),
            block: patterns / chain.sequences,
            open_chain: chain.open_chain,
            scale: 1.0 / neurons as f64,
            removed_diagonal: None,
        };
        if !self_couplings {
            j.removed_diagonal = Some(j.full_diagonal());
        }
        j
    }

    /// `z = X y` (length P each).
    pub fn apply_chain<R: crate::model::Real>(&self, taps: &[(i64, R)], y: &[R], z: &mut [R]) {
        for (mu, zm) in z.iter_mut().enumerate() {
            let mut acc = R::ZERO;
            for &(shift, w) in taps {
                if let Some(nu) = Chain::source(mu, shift, self.block, self.open_chain) {
                    acc += w * y[nu];
                }
            }
            *zm = acc;
        }
    }

    /// `X ξ` as a row-major P × N matrix.
    fn chained_patterns(&self) -> Vec<f64> {
        let (p, n) = (self.patterns, self.neurons);
        let mut out = vec![0.0; p * n];
        for mu in 0..p {
            for tap in &self.taps {
                if let Some(nu) = Chain::source(mu, tap.shift, self.block, self.open_chain) {
                    let (dst, src) = (
                        &mut out[mu * n..(mu + 1) * n],
                        &self.xi[nu * n..(nu + 1) * n],
                    );
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += tap.weight * s;
                    }
                }
            }
        }
        out
    }

    /// `J_ii = scale Σ_μ ξ^μ_i (X ξ)^μ_i` of the full product.
    fn full_diagonal(&self) -> Vec<f64> {
        let (p, n) = (self.patterns, self.neurons);
        let xx = self.chained_patterns();
        let mut d = vec![0.0; n];
        for mu in 0..p {
            for i in 0..n {
                d[i] += self.xi[mu * n + i] * xx[mu * n + i];
            }
        }
        d.iter_mut().for_each(|v| *v *= self.scale);
        d
    }

    /// J as a column-major N × N matrix (`J_ij` at `j N + i`): `scale · ξᵀ (X ξ)`, by faer.
    pub fn dense(&self) -> Vec<f64> {
        let (p, n) = (self.patterns, self.neurons);
        let xx = self.chained_patterns();
        let a = Mat::<f64>::from_fn(p, n, |mu, i| self.xi[mu * n + i]);
        let b = Mat::<f64>::from_fn(p, n, |mu, j| xx[mu * n + j]);
        // J_ij = scale Σ_μ ξ^μ_i (Xξ)^μ_j.
        let j = a.transpose() * &b;
        let mut out = vec![0.0; n * n];
        for col in 0..n {
            for row in 0..n {
                out[col * n + row] = self.scale * j[(row, col)];
            }
        }
        if self.removed_diagonal.is_some() {
            for i in 0..n {
                out[i * n + i] = 0.0;
            }
        }
        out
    }

    /// The nonzero eigenvalues of `J·diag(d)` (`d = 1`: of J) by the P × P reduction: those of
    /// `X · (scale · ξ diag(d) ξᵀ)` (P < N, self-couplings kept; J then has N − P exact zeros).
    pub fn eigenvalues(&self, derivative: Option<&[f64]>) -> Vec<c64> {
        let (p, n) = (self.patterns, self.neurons);
        let a = Mat::<f64>::from_fn(p, n, |mu, i| self.xi[mu * n + i]);
        let ad = Mat::<f64>::from_fn(p, n, |mu, i| {
            self.xi[mu * n + i] * derivative.map_or(1.0, |d| d[i])
        });
        let gram = &ad * a.transpose();
        let m = Mat::<f64>::from_fn(p, p, |mu, nu| {
            let mut acc = 0.0;
            for tap in &self.taps {
                if let Some(src) = Chain::source(mu, tap.shift, self.block, self.open_chain) {
                    acc += tap.weight * gram[(src, nu)];
                }
            }
            self.scale * acc
        });
        m.eigenvalues()
            .unwrap_or_else(|_| vec![c64::new(f64::NAN, f64::NAN); p])
    }
}

/// Dilute a dense column-major J: `J_ij ← M_ij J_ij / p`, `M_ij ~ Bernoulli(p)` drawn in
/// column-major order from `rng`.
pub fn dilute(dense: &mut [f64], keep: f64, rng: &mut ChaCha8Rng) {
    if keep >= 1.0 {
        return;
    }
    for w in dense.iter_mut() {
        let kept = rng.random::<f64>() < keep;
        *w = if kept { *w / keep } else { 0.0 };
    }
}

/// `max Re λ` over `eigenvalues`, and 0 when `zeros` (the N − P exact zeros of the reduction)
/// belong to the spectrum too.
pub fn right_edge(eigenvalues: &[c64], zeros: bool) -> f64 {
    let start = if zeros { 0.0 } else { f64::NEG_INFINITY };
    eigenvalues.iter().map(|z| z.re).fold(start, f64::max)
}
