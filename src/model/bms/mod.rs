//! Cessac's discrete-time spiking network, BMS (Soula, Beslon & Mazet 2006; Cessac 2008, 2010;
//! `models/cessac.md` §2–3): the CPU reference of the coming `"model": "bms"` family.
//!
//! `Z_i(t) = 1` if `V_i(t) ≥ θ_i` (closed threshold: `V = θ` spikes), else 0;
//!
//! `V_i(t+1) = γ V_i(t) (1 − Z_i(t)) + Σ_j W_ij Z_j(t) + I_i  [+ σ_B B_i(t)]`
//!
//! with leak `γ ∈ [0, 1)`, reset without refractory period (a neuron that spikes forgets its past
//! and may spike again at the next step) and `B_i(t)` i.i.d. standard normal noise from the
//! replica's own counter-based stream ([`noise`]). Weights are column-major like the analog family's (`W_ij` at
//! `j N + i`), so the synaptic input is the sum of the columns of the neurons that spiked.
//! Spikes are bit-packed, ⌈N/32⌉ `u32` words per step ([`SpikeWords`]), the layout the GPU kernel
//! will share. The update equation is confirmed by the Cessac group's PRANAS library; weight
//! scaling and every figure parameter are reconstructions (cessac.md §1).
//!
//! Away from the singular set `S = ∪_i {V_i = θ_i}` the Jacobian is `γ diag(1 − Z)`, independent
//! of `W`: [`lyapunov_spectrum`] gives the exponents exactly (cessac.md §3).

pub mod noise;
pub mod trajectory;

pub use noise::NoiseStream;
pub use trajectory::{advance, Batch, Network, Start, Steps, Trace};

/// Spike pattern of one step, bit-packed: neuron `i` is bit `i % 32` of word `i / 32`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SpikeWords(pub Vec<u32>);

impl SpikeWords {
    pub fn new(n: usize) -> SpikeWords {
        SpikeWords(vec![0; n.div_ceil(32)])
    }

    pub fn get(&self, i: usize) -> bool {
        self.0[i / 32] >> (i % 32) & 1 == 1
    }

    pub fn set(&mut self, i: usize, spike: bool) {
        let bit = 1u32 << (i % 32);
        if spike {
            self.0[i / 32] |= bit;
        } else {
            self.0[i / 32] &= !bit;
        }
    }

    /// Number of neurons that spiked.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Indices of the neurons that spiked, ascending.
    pub fn spiking(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(k, &w)| {
            let mut bits = w;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    32 * k + b
                })
            })
        })
    }
}

/// The parameters of one BMS network (per replica).
#[derive(Clone, Debug, PartialEq)]
pub struct BmsParams {
    /// γ ∈ [0, 1).
    pub leak: f64,
    /// θ_i, one per neuron.
    pub threshold: Vec<f64>,
    /// I_i, one per neuron.
    pub input: Vec<f64>,
    /// σ_B ≥ 0 (0: deterministic).
    pub noise: f64,
}

/// `Z(t)` from `V(t)`: `Z_i = 1` iff `V_i ≥ θ_i`.
pub fn spikes(v: &[f64], threshold: &[f64], z: &mut SpikeWords) {
    for (i, (&vi, &ti)) in v.iter().zip(threshold).enumerate() {
        z.set(i, vi >= ti);
    }
}

/// `min_i |V_i − θ_i|`: the distance from `V` to the singular set `S`, and the neuron at it.
pub fn distance_to_threshold(v: &[f64], threshold: &[f64]) -> (f64, usize) {
    v.iter()
        .zip(threshold)
        .map(|(&vi, &ti)| (vi - ti).abs())
        .enumerate()
        .fold((f64::INFINITY, 0), |(best, at), (i, d)| {
            if d < best {
                (d, i)
            } else {
                (best, at)
            }
        })
}

/// The Lyapunov spectrum of an orbit that avoids `S` (cessac.md §3): `DF^t =
/// diag(γ^t Π_s (1 − Z_i(s)))`, so a neuron that never spikes on the attractor contributes
/// `ln γ`, one that spikes contributes −∞ (its row is zeroed: "superstable"). Sorted
/// descending; never NaN; γ = 0 gives −∞ for every neuron.
pub fn lyapunov_spectrum(leak: f64, spiked_on_attractor: &[bool]) -> Vec<f64> {
    let silent = if leak > 0.0 {
        leak.ln()
    } else {
        f64::NEG_INFINITY
    };
    let mut out: Vec<f64> = spiked_on_attractor
        .iter()
        .map(|&s| if s { f64::NEG_INFINITY } else { silent })
        .collect();
    out.sort_by(|a, b| b.total_cmp(a));
    out
}

/// The smallest `p ≤ max_period` with `raster[t] = raster[t − p]` for every `t ≥ p` of the
/// window (exact recurrence of the spike patterns), or `None` (censored: "> max_period").
pub fn raster_period(raster: &[SpikeWords], max_period: usize) -> Option<usize> {
    (1..=max_period.min(raster.len().saturating_sub(1)))
        .find(|&p| (p..raster.len()).all(|t| raster[t] == raster[t - p]))
}

#[cfg(test)]
mod tests;
