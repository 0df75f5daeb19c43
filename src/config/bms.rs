//! The section of Cessac's spiking network (`"model": "bms"`, src/model/bms): `bms`, and its
//! rules. The family also reads the shared network sections — `weights` (W̄ = `mean`,
//! σ = `std`, connectivity, autapses, E/I, file), `input` (I_i), `initial_state` (V(0)),
//! `schedule` (epochs × (T_tr + T)), `learning` (Hebbian epochs, cessac.md §8) — with the
//! family's defaults ([`BMS_DEFAULTS`]) under what the config sets.

use serde::{Deserialize, Serialize};

use super::{check, finite, Config, Distribution, VectorSource};
use crate::error::Result;

/// How the Gaussian weights scale with N (`bms.weight_scaling`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightScaling {
    /// `W_ij ~ N(W̄/N, σ²/N)` (`/(cN)` when sparse): the reconstruction's default
    /// (cessac.md §2), the same draw as the analog family's.
    #[default]
    ByNeurons,
    /// `W_ij ~ N(W̄, σ²)`, unscaled, as PRANAS draws them (its default mean is set by the
    /// fraction of positive weights: 0.8 is `W̄ = σ Φ⁻¹(0.8) = 0.8416 σ`).
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BmsConfig {
    /// N.
    pub neurons: usize,
    /// γ ∈ [0, 1).
    pub leak: f64,
    /// θ̄: the threshold (of every neuron when `threshold_std` is 0).
    pub threshold: f64,
    /// σ_θ ≥ 0: per-neuron thresholds `θ_i ~ N(θ̄, σ_θ²)`, drawn per replica.
    pub threshold_std: f64,
    /// σ_B ≥ 0: `σ_B B_i(t)` added to every update, `B_i(t)` standard normal from the
    /// replica's stream (0: deterministic).
    pub noise: f64,
    pub weight_scaling: WeightScaling,
    /// Initial conditions per network (each with its own `V(0)` and noise stream); d̂ is the
    /// minimum over them, since the attractor may be a union of attractors.
    pub initial_conditions: usize,
    /// ε > 0: at the end of each epoch, every trajectory and a twin with `V_i ± ε` (random
    /// signs) are advanced `schedule.recorded_steps` more steps and their rasters compared:
    /// P(raster changes | ε) and the divergence time (cessac.md §5.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_perturbation: Option<f64>,
    /// Largest period searched by exact recurrence of the raster; absent: half the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_period: Option<usize>,
}

impl Default for BmsConfig {
    fn default() -> Self {
        BmsConfig {
            neurons: 100,
            leak: 0.6,
            threshold: 1.0,
            threshold_std: 0.0,
            noise: 0.0,
            weight_scaling: WeightScaling::ByNeurons,
            initial_conditions: 4,
            twin_perturbation: None,
            max_period: None,
        }
    }
}

/// The BMS family's defaults for the shared sections, under the config's own values: one
/// epoch of 1,000 transient and 1,000 recorded steps, learning off (the analog defaults are
/// Siri's learning demo).
pub const BMS_DEFAULTS: &str = r#"{
    "schedule": {"epochs": 1, "transient_steps": 1000, "recorded_steps": 1000},
    "learning": {"enabled": false}
}"#;

/// Largest `bms.initial_conditions`.
pub const MAX_INITIAL_CONDITIONS: usize = 256;

impl Config {
    /// The rules of the BMS family (docs/config.md).
    pub(super) fn validate_bms(&self) -> Result<()> {
        let b = &self.bms;
        check(
            "bms.neurons",
            b.neurons >= 1 && b.neurons <= 1 << 16,
            "must be between 1 and 65536",
        )?;
        finite("bms.leak", b.leak)?;
        check(
            "bms.leak",
            (0.0..1.0).contains(&b.leak),
            "must be in [0, 1) (γ: the fraction of V a silent neuron keeps; 0: a binary \
             threshold network)",
        )?;
        finite("bms.threshold", b.threshold)?;
        finite("bms.threshold_std", b.threshold_std)?;
        check("bms.threshold_std", b.threshold_std >= 0.0, "must be ≥ 0")?;
        finite("bms.noise", b.noise)?;
        check(
            "bms.noise",
            b.noise >= 0.0,
            "must be ≥ 0 (σ_B; 0: no noise)",
        )?;
        check(
            "bms.initial_conditions",
            (1..=MAX_INITIAL_CONDITIONS).contains(&b.initial_conditions),
            &format!("must be between 1 and {MAX_INITIAL_CONDITIONS}"),
        )?;
        check(
            "bms.initial_conditions",
            b.initial_conditions == 1 || self.initial_state.file.is_none(),
            "must be 1 with initial_state.file (the file gives one V(0) per replica)",
        )?;
        if let Some(e) = b.twin_perturbation {
            finite("bms.twin_perturbation", e)?;
            check(
                "bms.twin_perturbation",
                e > 0.0,
                "must be > 0 (ε, the size of each component of the twin's perturbation); \
                 remove the key for no twins",
            )?;
        }
        check(
            "ensemble.replicas",
            self.ensemble.replicas <= u32::MAX as usize,
            "must be below 2³² for the BMS family (the noise counter holds the replica in 32 bits)",
        )?;
        self.validate_network_sections("bms.neurons", b.neurons)?;
        let window = self.schedule.recorded_steps;
        if let Some(p) = b.max_period {
            check(
                "bms.max_period",
                p >= 1 && p < window,
                &format!(
                    "must be between 1 and schedule.recorded_steps − 1 = {} (a period is verified \
                     over the whole window)",
                    window.saturating_sub(1)
                ),
            )?;
        }
        check(
            "output.record",
            self.output.record.is_none(),
            "records analog states; a \"bms\" run saves its raster with output.save = [\"raster\"]",
        )?;
        Ok(())
    }

    /// `bms.max_period`, or half the window.
    pub fn bms_max_period(&self) -> usize {
        self.bms
            .max_period
            .unwrap_or(self.schedule.recorded_steps / 2)
    }

    /// The draw rule of V(0) of a BMS network: uniform in `[0, 2θ̄)` unless set (about half the
    /// neurons fire at t = 0, which I = 0 needs: cessac.md §2); a Gaussian defaults to mean θ̄,
    /// std θ̄.
    pub fn bms_initial_state_source(&self) -> Result<VectorSource> {
        let theta = self.bms.threshold;
        self.initial_state.resolve(
            "initial_state",
            Distribution::Uniform,
            (theta, theta.abs()),
            (0.0, 2.0 * theta),
        )
    }
}
