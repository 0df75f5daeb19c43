//! What is measured, on the CPU, from what the backends produce: per-epoch observables of each
//! replica ([`EpochRecord`]) from the raw sums, and — from the trace of each recorded window —
//! Lyapunov exponents ([`lyapunov`]), spectra ([`spectrum`]) and attractor classes
//! ([`attractor`]), gathered per replica by [`observer::ReplicaAnalysis`]; ensemble statistics
//! in [`summary`]. The Lyapunov analysis's hot loops have modules of their own: the tangent
//! propagation ([`tangent`]), the Cholesky QR in f64 ([`orthonormal`]) and the threads one
//! replica may use when replicas are fewer than cores ([`team`]). What the theory predicts
//! (the mean field, to compare with) is [`crate::theory`].

pub mod attractor;
pub(crate) mod blocked;
pub mod lyapunov;
pub mod memories;
pub mod observer;
pub mod orthonormal;
pub mod recorder;
pub mod sensitivity;
pub mod sequence;
pub mod spectrum;
pub mod spiking;
pub mod summary;
pub mod tangent;
pub mod team;
pub mod training;

use serde::Serialize;

use crate::backend::EpochOutput;
use crate::ensemble::ReplicaInit;
use observer::AnalysisEpoch;

/// One row of `epochs.csv`: replica `replica` during epoch `epoch` (weights `W^(epoch)`).
///
/// With `s_i(t)` the activity over the τ recorded steps, `⟨·⟩_t` the time average and
/// `m_i = ⟨s_i⟩_t − d`:
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochRecord {
    pub replica: u64,
    pub epoch: usize,
    /// `(1/N) Σ_i ⟨s_i⟩_t`.
    pub mean_activity: f64,
    /// `(1/N) Σ_i sqrt(⟨s_i²⟩_t − ⟨s_i⟩_t²)`: 0 at a fixed point.
    pub activity_temporal_std: f64,
    /// `(1/N) Σ_i m_i`.
    pub mean_m: f64,
    /// `(1/N) Σ_i |m_i|`.
    pub mean_abs_m: f64,
    /// Fraction of neurons with `m_i > 0` (the presynaptic neurons that learn under `H`).
    pub active_fraction: f64,
    /// `(1/N²) Σ_ij W_ij`.
    pub weight_mean: f64,
    /// `sqrt((1/N²) Σ_ij W_ij² − weight_mean²)`.
    pub weight_std: f64,
    /// `‖W‖_F = sqrt(Σ_ij W_ij²)`.
    pub weight_frobenius: f64,
    /// λ₁ per step (NaN when not computed).
    pub lyapunov_max: f64,
    /// Σ of the k computed exponents.
    pub lyapunov_sum: f64,
    pub kaplan_yorke: f64,
    /// Largest condition number of the tangent basis before a QR (warns above 1e4).
    pub tangent_condition: f64,
    /// Spectral radius of `W^(T)`.
    pub spectral_radius_w: f64,
    /// Spectral radius of the Jacobian at the last recorded step.
    pub spectral_radius_j: f64,
    /// `fixed_point`, `periodic`, `quasi_periodic`, `chaotic`, `transient`, `aperiodic` or
    /// empty when not classified.
    pub attractor: &'static str,
    /// The period found (1 for a fixed point), 0 if none.
    pub period: usize,
    /// χ, response of the mean activity to input perturbations (NaN when not computed).
    pub susceptibility: f64,
    /// Distance of the mean activity under a novel pattern, per √N (NaN when not computed).
    pub discrimination: f64,
}

/// Column names of `epochs.csv`, in order.
pub const EPOCH_COLUMNS: [&str; 20] = [
    "replica",
    "epoch",
    "mean_activity",
    "activity_temporal_std",
    "mean_m",
    "mean_abs_m",
    "active_fraction",
    "weight_mean",
    "weight_std",
    "weight_frobenius",
    "lyapunov_max",
    "lyapunov_sum",
    "kaplan_yorke",
    "tangent_condition",
    "spectral_radius_w",
    "spectral_radius_j",
    "attractor",
    "period",
    "susceptibility",
    "discrimination",
];

impl EpochRecord {
    /// The observables of batch member `k` (replica `init`) in one epoch of `tau` recorded
    /// steps.
    pub fn from_output(
        out: &EpochOutput,
        k: usize,
        init: &ReplicaInit,
        epoch: usize,
        tau: usize,
        analysis: Option<&AnalysisEpoch>,
    ) -> EpochRecord {
        let (n, replica) = (init.state.len(), init.index);
        let activity_threshold = init.params.learning.activity_threshold;
        let range = k * n..(k + 1) * n;
        let tau = tau as f64;
        let (mut mean, mut std, mut m_sum, mut m_abs, mut active) = (0.0, 0.0, 0.0, 0.0, 0usize);
        for ((&r, &s1), &s2) in out.reference[range.clone()]
            .iter()
            .zip(&out.shifted_sum[range.clone()])
            .zip(&out.shifted_sq_sum[range])
        {
            let shift = s1 / tau;
            let avg = r + shift;
            mean += avg;
            std += (s2 / tau - shift * shift).max(0.0).sqrt();
            let m = avg - activity_threshold;
            m_sum += m;
            m_abs += m.abs();
            active += (m > 0.0) as usize;
        }
        let nf = n as f64;
        let nn = nf * nf;
        let w_mean = out.weight_sum[k] / nn;
        let w_var = (out.weight_sq_sum[k] / nn - w_mean * w_mean).max(0.0);
        EpochRecord {
            replica,
            epoch,
            mean_activity: mean / nf,
            activity_temporal_std: std / nf,
            mean_m: m_sum / nf,
            mean_abs_m: m_abs / nf,
            active_fraction: active as f64 / nf,
            weight_mean: w_mean,
            weight_std: w_var.sqrt(),
            weight_frobenius: out.weight_sq_sum[k].sqrt(),
            lyapunov_max: analysis.map_or(f64::NAN, AnalysisEpoch::largest_lyapunov),
            lyapunov_sum: lyap(analysis, |l| l.sum()),
            kaplan_yorke: lyap(analysis, |l| l.kaplan_yorke()),
            tangent_condition: lyap(analysis, |l| l.max_condition),
            spectral_radius_w: analysis
                .and_then(|a| a.eigenvalues_weights.as_deref())
                .map_or(f64::NAN, spectrum::spectral_radius),
            spectral_radius_j: analysis
                .and_then(|a| a.eigenvalues_jacobian.as_deref())
                .map_or(f64::NAN, spectrum::spectral_radius),
            attractor: analysis
                .and_then(|a| a.attractor)
                .map_or("", attractor::Attractor::name),
            period: analysis.and_then(|a| a.period).unwrap_or(0),
            susceptibility: analysis
                .and_then(|a| a.sensitivity)
                .map_or(f64::NAN, |s| s.0),
            discrimination: analysis
                .and_then(|a| a.sensitivity)
                .map_or(f64::NAN, |s| s.1),
        }
    }

    /// The CSV line (shortest round-trip decimal for every float).
    pub fn csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            self.replica,
            self.epoch,
            self.mean_activity,
            self.activity_temporal_std,
            self.mean_m,
            self.mean_abs_m,
            self.active_fraction,
            self.weight_mean,
            self.weight_std,
            self.weight_frobenius,
            self.lyapunov_max,
            self.lyapunov_sum,
            self.kaplan_yorke,
            self.tangent_condition,
            self.spectral_radius_w,
            self.spectral_radius_j,
            self.attractor,
            self.period,
            self.susceptibility,
            self.discrimination
        )
    }
}

fn lyap(a: Option<&AnalysisEpoch>, f: impl Fn(&lyapunov::LyapunovResult) -> f64) -> f64 {
    a.and_then(|a| a.lyapunov.as_ref()).map_or(f64::NAN, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observables_from_hand_sums() {
        // N = 2, τ = 4. Neuron 0 visits 0.2, 0.4, 0.2, 0.4 with ref 0.2: S1 = 0.4, S2 = 0.08.
        // Neuron 1 sits at 0.05: S1 = S2 = 0. W = [[1, 2], [3, −2]].
        let out = EpochOutput {
            reference: vec![0.2, 0.05],
            shifted_sum: vec![0.4, 0.0],
            shifted_sq_sum: vec![0.08, 0.0],
            state: vec![0.4, 0.05],
            weight_sum: vec![4.0],
            weight_sq_sum: vec![18.0],
            ..Default::default()
        };
        let init = ReplicaInit {
            index: 7,
            params: crate::config::Config::default().replica_params(),
            weights: vec![0.0; 4].into(),
            input: vec![0.0; 2],
            state: vec![0.0; 2],
            drive: None,
        };
        assert_eq!(init.params.learning.activity_threshold, 0.1);
        let r = EpochRecord::from_output(&out, 0, &init, 3, 4, None);
        assert!((r.mean_activity - (0.3 + 0.05) / 2.0).abs() < 1e-15);
        assert!((r.activity_temporal_std - 0.05).abs() < 1e-12); // std of neuron 0 is 0.1
        assert!((r.mean_m - (0.2 - 0.05) / 2.0).abs() < 1e-15);
        assert!((r.mean_abs_m - 0.125).abs() < 1e-15);
        assert_eq!(r.active_fraction, 0.5);
        assert_eq!(r.weight_mean, 1.0);
        assert!((r.weight_std - (4.5f64 - 1.0).sqrt()).abs() < 1e-15);
        assert!((r.weight_frobenius - 18f64.sqrt()).abs() < 1e-15);
        let line = r.csv_line();
        assert!(
            line.starts_with("7,3,") && line.ends_with(",NaN,,0,NaN,NaN\n"),
            "{line}"
        );
        assert_eq!(line.split(',').count(), EPOCH_COLUMNS.len());
    }
}
