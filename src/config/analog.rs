//! The sections of the analog family (`"model": "analog"`, src/model/analog): `network`,
//! `weights`, `input`, `initial_state`, `schedule`, `learning`, and their rules.

use serde::{Deserialize, Serialize};

use super::{check, finite, Config, MAX_RECORDED_NEURONS, MAX_RECORDED_VALUES};
use crate::error::{Error, Result};
use crate::model::analog::{
    Activation, Form, HebbianRule, NeuronParams, PresynapticGate, ReplicaParams,
};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// N.
    pub neurons: usize,
    pub form: Form,
    pub activation: Activation,
    /// g.
    pub gain: f64,
    /// a ∈ (0, 1].
    pub leak: f64,
    /// θ, the same for all neurons.
    pub threshold: f64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            neurons: 100,
            form: Form::Rate,
            activation: Activation::Siri,
            gain: 10.0,
            leak: 1.0,
            threshold: 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeightsConfig {
    /// μ: weights have mean μ/N.
    pub mean: f64,
    /// σ: weights have variance σ²/N (σ²/(cN) when sparse).
    pub std: f64,
    /// c ∈ (0, 1]: probability that a synapse exists.
    pub connectivity: f64,
    /// Whether `W_ii` may be non-zero.
    pub autapses: bool,
    /// `.npy` of shape (N, N) shared by all replicas or (R, N, N) per replica; replaces the
    /// Gaussian draw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Two populations (Dale's law): the first `N_E = round(f N)` neurons are excitatory (every
    /// weight they send is ≥ 0), the others inhibitory (≤ 0); `None`: one population of signed
    /// Gaussian weights. See [`crate::ensemble`] for the draw; learning keeps the signs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excitatory_fraction: Option<f64>,
    /// g_I: magnitude of inhibitory weights relative to excitatory ones; `None`: balanced,
    /// `N_E / N_I`, so that the expected summed input `Σ_j W_ij` is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inhibitory_scale: Option<f64>,
}

impl WeightsConfig {
    /// `(N_E, g_I)` of the two populations, when there are two (see `excitatory_fraction`).
    pub fn populations(&self, neurons: usize) -> Option<(usize, f64)> {
        let f = self.excitatory_fraction?;
        let excitatory = ((f * neurons as f64).round() as usize).min(neurons);
        let inhibitory = neurons - excitatory;
        let balanced = if inhibitory == 0 {
            1.0
        } else {
            excitatory as f64 / inhibitory as f64
        };
        Some((excitatory, self.inhibitory_scale.unwrap_or(balanced)))
    }
}

impl Default for WeightsConfig {
    fn default() -> Self {
        WeightsConfig {
            mean: 0.0,
            std: 1.0,
            connectivity: 1.0,
            autapses: true,
            file: None,
            excitatory_fraction: None,
            inhibitory_scale: None,
        }
    }
}

/// How a per-neuron vector (the input ξ or the initial state) is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    Gaussian,
    Uniform,
}

/// A per-neuron vector: i.i.d. draws, or a `.npy` of shape (N) or (R, N).
///
/// `gaussian` uses `mean`, `std`; `uniform` uses `low`, `high`. Unset fields take the defaults of
/// the vector (input ξ: Gaussian, mean 0, std 0; initial state: uniform in [0, 1] for the rate
/// form, Gaussian with mean 0 and std 1 for the current form — science.md §1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VectorInit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Distribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// A resolved draw rule for a per-neuron vector.
#[derive(Clone, Debug, PartialEq)]
pub enum VectorSource {
    Gaussian { mean: f64, std: f64 },
    Uniform { low: f64, high: f64 },
    File(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Number of epochs (with learning on, each ends with a weight update).
    pub epochs: usize,
    /// T_0: steps run before recording in each epoch.
    pub transient_steps: usize,
    /// τ: recorded steps per epoch.
    pub recorded_steps: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            epochs: 25,
            transient_steps: 200,
            recorded_steps: 400,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearningConfig {
    /// With `false`, the weights stay frozen: epochs are blocks of plain dynamics.
    pub enabled: bool,
    /// α.
    pub learning_rate: f64,
    /// λ ∈ (0, 1].
    pub forgetting: f64,
    /// d.
    pub activity_threshold: f64,
    pub presynaptic_gate: PresynapticGate,
    pub sign_preserving: bool,
    pub keep_absent_synapses: bool,
}

impl Default for LearningConfig {
    fn default() -> Self {
        LearningConfig {
            enabled: true,
            learning_rate: 0.1,
            forgetting: 0.9,
            activity_threshold: 0.1,
            presynaptic_gate: PresynapticGate::Heaviside,
            sign_preserving: false,
            keep_absent_synapses: true,
        }
    }
}

impl Config {
    /// The rules of the analog family's sections (docs/config.md).
    pub(super) fn validate_analog(&self) -> Result<()> {
        self.validate_analog_sections()?;
        self.validate_record()
    }

    /// `output.record` for the analog family: neuron indices, samples within the window.
    fn validate_record(&self) -> Result<()> {
        if let Some(r) = &self.output.record {
            let n = self.network.neurons;
            check(
                "output.record.every",
                r.every >= 1,
                "must be ≥ 1 (1: every step)",
            )?;
            check(
                "output.record.neurons",
                r.neurons.len() <= MAX_RECORDED_NEURONS,
                &format!("at most {MAX_RECORDED_NEURONS} neurons"),
            )?;
            if let Some(&i) = r.neurons.iter().find(|&&i| i >= n) {
                check(
                    "output.record.neurons",
                    false,
                    &format!(
                        "neuron {i} does not exist: indices run from 0 to {} (network.neurons = {n})",
                        n - 1
                    ),
                )?;
            }
            check(
                "output.record",
                !r.neurons.is_empty() || r.population,
                "records nothing: list neurons in output.record.neurons, or set \
                 output.record.population = true, or remove output.record",
            )?;
            let samples = self.schedule.recorded_steps / r.every;
            check(
                "output.record.every",
                samples >= 1,
                &format!(
                    "{} is longer than the recorded window (schedule.recorded_steps = {}): no \
                     step would be recorded",
                    r.every, self.schedule.recorded_steps
                ),
            )?;
            let values = (self.schedule.epochs as u128)
                * samples as u128
                * (r.neurons.len() as u128 + r.population as u128);
            check(
                "output.record",
                values <= MAX_RECORDED_VALUES as u128,
                &format!(
                    "{values} values per replica, more than {MAX_RECORDED_VALUES}: record fewer \
                     neurons, or raise output.record.every"
                ),
            )?;
        }
        Ok(())
    }

    pub(super) fn validate_analog_sections(&self) -> Result<()> {
        let n = &self.network;
        check(
            "network.neurons",
            n.neurons >= 1 && n.neurons <= 1 << 16,
            "must be between 1 and 65536",
        )?;
        finite("network.gain", n.gain)?;
        check("network.gain", n.gain > 0.0, "must be > 0")?;
        finite("network.leak", n.leak)?;
        check(
            "network.leak",
            n.leak > 0.0 && n.leak <= 1.0,
            "must be in (0, 1] (a = 1: pure map; a = dt/τ: Euler step)",
        )?;
        finite("network.threshold", n.threshold)?;
        self.validate_network_sections("network.neurons", n.neurons)
    }

    /// The rules of the sections every network family shares — the ensemble's size, `weights`,
    /// `input`, `initial_state`, `schedule`, `learning` — for networks of `neurons` neurons set
    /// at `neurons_key`.
    pub(super) fn validate_network_sections(
        &self,
        neurons_key: &str,
        neurons: usize,
    ) -> Result<()> {
        // Impossible sizes: the ensemble's weights, R · N², must be addressable (they are the
        // size of weights.npy and of a per-replica weights file).
        let n2 = (neurons as u128) * (neurons as u128);
        let weights_bytes = n2 * (self.ensemble.replicas as u128) * 8;
        check(
            "ensemble.replicas",
            weights_bytes < 1 << 63,
            &format!(
                "{} replicas of N = {neurons} ({neurons_key}) hold {} weights, more than a 64-bit \
                 machine can address; at most {} replicas at this N",
                self.ensemble.replicas,
                n2 * (self.ensemble.replicas as u128),
                ((1u128 << 60) - 1) / n2.max(1)
            ),
        )?;

        let w = &self.weights;
        finite("weights.mean", w.mean)?;
        finite("weights.std", w.std)?;
        check("weights.std", w.std >= 0.0, "must be ≥ 0")?;
        finite("weights.connectivity", w.connectivity)?;
        check(
            "weights.connectivity",
            w.connectivity > 0.0 && w.connectivity <= 1.0,
            "must be in (0, 1]",
        )?;
        if w.file.is_some() {
            // The file replaces the random draw; keys that describe the draw would be ignored.
            let d = WeightsConfig::default();
            for (key, changed) in [
                ("weights.mean", w.mean != d.mean),
                ("weights.std", w.std != d.std),
                ("weights.connectivity", w.connectivity != d.connectivity),
                ("weights.autapses", w.autapses != d.autapses),
                (
                    "weights.excitatory_fraction",
                    w.excitatory_fraction != d.excitatory_fraction,
                ),
                (
                    "weights.inhibitory_scale",
                    w.inhibitory_scale != d.inhibitory_scale,
                ),
            ] {
                check(
                    key,
                    !changed,
                    "describes the random draw, which weights.file replaces: remove the key (zero \
                     absent synapses or the diagonal in the file itself), or remove weights.file",
                )?;
            }
        }

        if let Some(f) = w.excitatory_fraction {
            finite("weights.excitatory_fraction", f)?;
            check(
                "weights.excitatory_fraction",
                (0.0..=1.0).contains(&f),
                "must be in [0, 1] (the fraction of excitatory neurons; remove the key for one \
                 population of signed weights)",
            )?;
            check(
                "weights.mean",
                w.mean == 0.0,
                "must be 0 with two populations: their signs and weights.inhibitory_scale set the \
                 mean input; remove weights.mean, or weights.excitatory_fraction",
            )?;
        }
        if let Some(g) = w.inhibitory_scale {
            finite("weights.inhibitory_scale", g)?;
            check(
                "weights.inhibitory_scale",
                w.excitatory_fraction.is_some(),
                "applies to two populations only: set weights.excitatory_fraction, or remove it",
            )?;
            check(
                "weights.inhibitory_scale",
                g >= 0.0,
                "must be ≥ 0 (a magnitude; inhibitory weights are ≤ 0 by their sign)",
            )?;
        }

        self.input_source()?;
        self.initial_state_source()?;

        let s = &self.schedule;
        check("schedule.epochs", s.epochs >= 1, "must be ≥ 1")?;
        check(
            "schedule.recorded_steps",
            s.recorded_steps >= 1,
            "must be ≥ 1",
        )?;
        check(
            "schedule.transient_steps",
            s.transient_steps
                .checked_add(s.recorded_steps)
                .and_then(|t| t.checked_mul(s.epochs))
                .is_some_and(|t| t < u32::MAX as usize),
            "epochs × (transient_steps + recorded_steps) must be below 2³² (4294967296) steps",
        )?;

        let l = &self.learning;
        finite("learning.learning_rate", l.learning_rate)?;
        finite("learning.forgetting", l.forgetting)?;
        check(
            "learning.forgetting",
            l.forgetting > 0.0 && l.forgetting <= 1.0,
            "must be in (0, 1] (λ = 1: no passive forgetting)",
        )?;
        finite("learning.activity_threshold", l.activity_threshold)?;

        Ok(())
    }

    /// The draw rule of the input ξ.
    pub fn input_source(&self) -> Result<VectorSource> {
        self.input
            .resolve("input", Distribution::Gaussian, (0.0, 0.0), (0.0, 0.0))
    }

    /// The draw rule of the initial state.
    /// The draw rule of the initial state (its defaults depend on the model: see
    /// [`Config::bms_initial_state_source`] for `"bms"`).
    pub fn initial_state_source(&self) -> Result<VectorSource> {
        match self.model {
            super::Model::Bms => return self.bms_initial_state_source(),
            super::Model::Jiang => return self.jiang_initial_state_source(),
            super::Model::Analog | super::Model::Lotito | super::Model::Reservoir => {}
        }
        let default = match self.network.form {
            Form::Rate => Distribution::Uniform,
            Form::Current => Distribution::Gaussian,
        };
        self.initial_state
            .resolve("initial_state", default, (0.0, 1.0), (0.0, 1.0))
    }

    /// Parameters of every replica (before any sweep changes them).
    pub fn replica_params(&self) -> ReplicaParams {
        let n = &self.network;
        let l = &self.learning;
        ReplicaParams {
            neuron: NeuronParams {
                form: n.form,
                activation: n.activation,
                gain: n.gain,
                leak: n.leak,
                threshold: n.threshold,
            },
            learning: HebbianRule {
                learning_rate: l.learning_rate,
                forgetting: l.forgetting,
                activity_threshold: l.activity_threshold,
                presynaptic_gate: l.presynaptic_gate,
                sign_preserving: l.sign_preserving,
                keep_absent_synapses: l.keep_absent_synapses,
                excitatory_neurons: self.weights.populations(n.neurons).map(|(e, _)| e as u32),
            },
        }
    }
}

impl VectorInit {
    pub(super) fn resolve(
        &self,
        key: &str,
        default: Distribution,
        gaussian_default: (f64, f64),
        uniform_default: (f64, f64),
    ) -> Result<VectorSource> {
        if let Some(file) = &self.file {
            if self.distribution.is_some()
                || self.mean.is_some()
                || self.std.is_some()
                || self.low.is_some()
                || self.high.is_some()
            {
                return Err(Error::config(
                    format!("{key}.file"),
                    "a file replaces the random draw: remove distribution/mean/std/low/high",
                ));
            }
            return Ok(VectorSource::File(file.clone()));
        }
        match self.distribution.unwrap_or(default) {
            Distribution::Gaussian => {
                unused(key, "low", self.low, "gaussian")?;
                unused(key, "high", self.high, "gaussian")?;
                let mean = self.mean.unwrap_or(gaussian_default.0);
                let std = self.std.unwrap_or(gaussian_default.1);
                finite(&format!("{key}.mean"), mean)?;
                finite(&format!("{key}.std"), std)?;
                check(&format!("{key}.std"), std >= 0.0, "must be ≥ 0")?;
                Ok(VectorSource::Gaussian { mean, std })
            }
            Distribution::Uniform => {
                unused(key, "mean", self.mean, "uniform")?;
                unused(key, "std", self.std, "uniform")?;
                let low = self.low.unwrap_or(uniform_default.0);
                let high = self.high.unwrap_or(uniform_default.1);
                finite(&format!("{key}.low"), low)?;
                finite(&format!("{key}.high"), high)?;
                check(&format!("{key}.high"), high >= low, "must be ≥ low")?;
                Ok(VectorSource::Uniform { low, high })
            }
        }
    }
}

fn unused(key: &str, field: &str, value: Option<f64>, dist: &str) -> Result<()> {
    match value {
        Some(_) => Err(Error::config(
            format!("{key}.{field}"),
            format!("not used by distribution \"{dist}\": remove it or change {key}.distribution"),
        )),
        None => Ok(()),
    }
}
