//! Hebbian learning with passive forgetting (Siri et al. 2008; science.md §2 — a reconstruction).
//!
//! Learning epoch `T`: with `W^(T)` frozen, run `T_0` transient steps, then `τ` recorded steps, and
//! form the mean activity minus the activity threshold `d`:
//!
//! `m_i^(T) = (1/τ) Σ_{t=T_0+1}^{T_0+τ} s_i(t) − d`
//!
//! (`s = x` in the rate form, `φ(h)` in the current form). Then
//!
//! `W_ij^(T+1) = λ W_ij^(T) + (α/N) m_i^(T) m_j^(T) H(m_j^(T))`
//!
//! with `λ ∈ (0, 1]` the passive forgetting, `α` the learning rate and `H` the Heaviside step
//! (`H(m) = 1` for `m > 0`, else 0: only synapses from active presynaptic neurons learn).
//! This is the paper's choice and the default; the general form offers:
//! - `presynaptic_gate = none`: drop `H` (every synapse learns);
//! - `sign_preserving`: a weight never changes sign — an update that would cross zero sets it to
//!   0 (as in the excitatory/inhibitory variant of Siri et al. 2007);
//! - `keep_absent_synapses` (default on): a weight that is exactly 0 (an absent synapse of a sparse
//!   network, a forbidden autapse, or a zero loaded from file) stays 0, so learning never changes
//!   the graph's topology. Dense Gaussian networks have no zero weights, so the default does not
//!   alter the published rule there;
//! - Dale's law (`excitatory_neurons = Some(N_E)`, set by `weights.excitatory_fraction`): every
//!   weight keeps the sign of its presynaptic neuron's population — an update that would make a
//!   weight from an excitatory neuron (`j < N_E`) negative, or one from an inhibitory neuron
//!   positive, sets it to 0 instead (Siri et al. 2007's excitatory/inhibitory networks).
//!
//! The mean activity is accumulated as shifted sums, `ref_i + (1/τ) Σ_t (s_i(t) − ref_i)` with
//! `ref_i = s_i(T_0)`, which equals `(1/τ) Σ_t s_i(t)` in exact arithmetic and keeps the temporal
//! variance accurate in `f32` when the activity barely moves (near a fixed point).
//! The GPU twin is `hebbian_update` in `shaders/hebbian_update.wgsl`.

use serde::{Deserialize, Serialize};

use crate::model::real::Real;

/// Whether the Heaviside factor `H(m_j)` gates the update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresynapticGate {
    /// `H(m_j)`: only synapses from presynaptic neurons with `m_j > 0` learn (the paper's rule).
    Heaviside,
    /// No gate: `ΔW_ij = (α/N) m_i m_j` for every synapse.
    None,
}

/// The per-replica parameters of the learning rule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HebbianRule {
    /// α.
    pub learning_rate: f64,
    /// λ ∈ (0, 1]; 1 means no forgetting.
    pub forgetting: f64,
    /// d, subtracted from the mean activity.
    pub activity_threshold: f64,
    pub presynaptic_gate: PresynapticGate,
    pub sign_preserving: bool,
    pub keep_absent_synapses: bool,
    /// Dale's law: the first `N_E` neurons are excitatory, the others inhibitory (see above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excitatory_neurons: Option<u32>,
}

impl HebbianRule {
    /// Flags as the shaders read them (`FLAG_*` in `shaders/common.wgsl`).
    pub fn gpu_flags(&self) -> u32 {
        let mut flags = 0;
        if self.presynaptic_gate == PresynapticGate::Heaviside {
            flags |= 1;
        }
        if self.sign_preserving {
            flags |= 2;
        }
        if self.keep_absent_synapses {
            flags |= 4;
        }
        if self.excitatory_neurons.is_some() {
            flags |= 8;
        }
        flags
    }

    /// `m_i = ref_i + S1_i / τ − d`, from the shifted sums of the recording window.
    pub fn deviation<T: Real>(&self, reference: &[T], shifted_sum: &[T], tau: usize, m: &mut [T]) {
        let tau = T::from_f64(tau as f64);
        let d = T::from_f64(self.activity_threshold);
        for ((m, &r), &s1) in m.iter_mut().zip(reference).zip(shifted_sum) {
            *m = r + s1 / tau - d;
        }
    }

    /// `W ← λ W + (α/N) m mᵀ diag(H(m))` (plus the options above), `W` column-major.
    ///
    /// Operation order (shared with the shader): `w' = λ·w + c_j·(m_i·m_j)` with `c_j = α/N`
    /// (0 when gated off); then sign preservation, absent synapses, Dale's law.
    pub fn update<T: Real>(&self, m: &[T], weights: &mut [T]) {
        let n = m.len();
        assert_eq!(weights.len(), n * n);
        let lambda = T::from_f64(self.forgetting);
        let alpha_over_n = T::from_f64(self.learning_rate) / T::from_f64(n as f64);
        let gated = self.presynaptic_gate == PresynapticGate::Heaviside;
        for (j, (column, &m_j)) in weights.chunks_exact_mut(n).zip(m).enumerate() {
            // Dale's law: the sign every weight of column j must keep (None: no constraint).
            let dale = self.excitatory_neurons.map(|e| j < e as usize);
            // H(m_j) = 0 for m_j ≤ 0 (and for NaN, as in the shader).
            let presynaptic_active = m_j > T::ZERO;
            let coef = if gated && !presynaptic_active {
                T::ZERO
            } else {
                alpha_over_n
            };
            for (w, &m_i) in column.iter_mut().zip(m) {
                let old = *w;
                let mut new = lambda * old + coef * (m_i * m_j);
                if self.sign_preserving
                    && ((old > T::ZERO && new < T::ZERO) || (old < T::ZERO && new > T::ZERO))
                {
                    new = T::ZERO;
                }
                if self.keep_absent_synapses && old == T::ZERO {
                    new = T::ZERO;
                }
                match dale {
                    Some(true) if new < T::ZERO => new = T::ZERO,
                    Some(false) if new > T::ZERO => new = T::ZERO,
                    _ => {}
                }
                *w = new;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> HebbianRule {
        HebbianRule {
            learning_rate: 0.6,
            forgetting: 0.9,
            activity_threshold: 0.1,
            presynaptic_gate: PresynapticGate::Heaviside,
            sign_preserving: false,
            keep_absent_synapses: true,
            excitatory_neurons: None,
        }
    }

    /// Row-major 3×3 → column-major.
    fn col(w: [[f64; 3]; 3]) -> Vec<f64> {
        (0..9).map(|k| w[k % 3][k / 3]).collect()
    }

    #[test]
    fn three_neuron_update_matches_hand_computation() {
        // m = (0.5, −0.2, 0.3); α/N = 0.2; λ = 0.9. Column j = 1 is gated off (m_1 < 0).
        let m = [0.5, -0.2, 0.3];
        let w0 = [[1.0, 2.0, -1.0], [0.5, -0.5, 0.25], [-2.0, 1.0, 0.1]];
        let mut w = col(w0);
        rule().update(&m, &mut w);
        let expect = [
            [0.9 + 0.2 * 0.25, 1.8, -0.9 + 0.2 * 0.15],
            [0.45 + 0.2 * -0.1, -0.45, 0.225 + 0.2 * -0.06],
            [-1.8 + 0.2 * 0.15, 0.9, 0.09 + 0.2 * 0.09],
        ];
        let e = col(expect);
        for k in 0..9 {
            assert!(
                (w[k] - e[k]).abs() < 1e-15,
                "element {k}: {} vs {}",
                w[k],
                e[k]
            );
        }
    }

    #[test]
    fn without_gate_every_synapse_learns() {
        let m = [0.5, -0.2, 0.3];
        let mut w = col([[0.0; 3]; 3].map(|r| r.map(|_| 1.0)));
        let mut r = rule();
        r.presynaptic_gate = PresynapticGate::None;
        r.update(&m, &mut w);
        // W_01 = 0.9 + 0.2 · 0.5 · (−0.2)
        assert!((w[3] - (0.9 - 0.02)).abs() < 1e-15);
    }

    #[test]
    fn sign_preserving_clamps_at_zero_and_absent_synapses_stay_absent() {
        let m = [1.0, 1.0, 1.0];
        let mut r = rule();
        r.learning_rate = -30.0; // a strong anti-Hebbian push: ΔW = −10
        r.sign_preserving = true;
        let mut w = col([[1.0, 0.0, -1.0], [2.0, 1.0, 1.0], [1.0, 1.0, 1.0]]);
        r.update(&m, &mut w);
        assert_eq!(w[0], 0.0); // 0.9 − 10 would cross zero
        assert_eq!(w[3], 0.0); // absent synapse W_01 stays 0
        assert!((w[6] - (-0.9 - 10.0)).abs() < 1e-12); // negative weight may grow in magnitude
        r.sign_preserving = false;
        let mut w = col([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]);
        r.update(&m, &mut w);
        assert!((w[0] - (0.9 - 10.0)).abs() < 1e-12);
        assert_eq!(w[3], 0.0);
    }

    #[test]
    fn deviation_is_mean_activity_minus_threshold() {
        let reference = [0.5f64, 0.2];
        let sums = [0.4, -0.3]; // τ = 4
        let mut m = [0.0; 2];
        rule().deviation(&reference, &sums, 4, &mut m);
        assert!((m[0] - (0.5 + 0.1 - 0.1)).abs() < 1e-15);
        assert!((m[1] - (0.2 - 0.075 - 0.1)).abs() < 1e-15);
    }

    #[test]
    fn closed_form_without_learning_is_geometric_decay() {
        // α = 0: W^(T) = λ^T W^(0).
        let mut r = rule();
        r.learning_rate = 0.0;
        let mut w = col([[1.0, -2.0, 0.5], [0.3, 1.0, 1.0], [1.0, 1.0, 4.0]]);
        let w0 = w.clone();
        for _ in 0..5 {
            r.update(&[0.3, 0.2, 0.1], &mut w);
        }
        for k in 0..9 {
            assert!((w[k] - 0.9f64.powi(5) * w0[k]).abs() < 1e-14);
        }
    }

    #[test]
    fn dale_law_keeps_each_column_the_sign_of_its_population() {
        // Neuron 0 excitatory, 1 and 2 inhibitory (N_E = 1); no gate, no other constraint.
        let mut r = rule();
        r.presynaptic_gate = PresynapticGate::None;
        r.keep_absent_synapses = false;
        r.forgetting = 1.0;
        r.learning_rate = 3.0; // α/N = 1
        r.excitatory_neurons = Some(1);
        // m = (1, −1, 0.5) after subtracting nothing: ΔW_ij = m_i m_j.
        let m = [1.0, -1.0, 0.5];
        let mut w = col([[0.2, -0.3, -0.1], [0.0, -0.5, 0.0], [0.1, 0.0, -0.2]]);
        r.update(&m, &mut w);
        // Column 0 (excitatory): 0.2 + 1 = 1.2; 0 − 1 → clamped to 0; 0.1 + 0.5 = 0.6.
        // Column 1 (inhibitory): −0.3 − 1 = −1.3; −0.5 + 1 → clamped to 0; 0 − 0.5 = −0.5.
        // Column 2 (inhibitory): −0.1 + 0.5 → clamped to 0; 0 − 0.5 = −0.5; −0.2 + 0.25 → 0.
        let want = col([[1.2, -1.3, 0.0], [0.0, 0.0, -0.5], [0.6, -0.5, 0.0]]);
        for k in 0..9 {
            assert!(
                (w[k] - want[k]).abs() < 1e-12,
                "element {k}: {} vs {}",
                w[k],
                want[k]
            );
        }
        // Without Dale's law the same update crosses zero.
        r.excitatory_neurons = None;
        let mut free = col([[0.2, -0.3, -0.1], [0.0, -0.5, 0.0], [0.1, 0.0, -0.2]]);
        r.update(&m, &mut free);
        assert!(free[1] < 0.0 && free[4] > 0.0);
        assert_eq!(r.gpu_flags() & 8, 0);
        r.excitatory_neurons = Some(1);
        assert_eq!(r.gpu_flags() & 8, 8);
    }
}
