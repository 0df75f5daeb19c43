//! The run configuration: JSON with every key documented in `docs/config.md`.
//!
//! Parsing is strict (unknown keys are rejected with their full path), every value is validated
//! by [`Config::validate`], and `--set path=value` overrides apply to the JSON tree before it is
//! parsed, so an override is checked exactly like the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::analog::{
    Activation, Form, HebbianRule, NeuronParams, PresynapticGate, ReplicaParams,
};

/// The embedded default: the Siri-style learning demo (`configs/siri2008.json`).
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/siri2008.json");
/// Name under which the embedded default is reported.
pub const DEFAULT_CONFIG_NAME: &str = "configs/siri2008.json (embedded default)";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Free text: where the parameters come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub network: NetworkConfig,
    pub weights: WeightsConfig,
    pub input: VectorInit,
    pub initial_state: VectorInit,
    pub schedule: ScheduleConfig,
    pub learning: LearningConfig,
    pub ensemble: EnsembleConfig,
    pub backend: BackendConfig,
    pub output: OutputConfig,
    pub analysis: AnalysisConfig,
}

/// What is measured on each epoch's recorded window (science.md §3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    pub lyapunov: LyapunovConfig,
    pub eigenvalues: EigenvaluesConfig,
    pub attractor: AttractorConfig,
    pub sensitivity: SensitivityConfig,
}

/// Sensitivity to the learned pattern (science.md §2; the paper's definition was not recovered,
/// so both measures are computed). At the end of each epoch, from the last state and with
/// `W^(T)` frozen, the time-averaged activity `⟨s⟩` over `steps` steps (after `transient`) is
/// measured for the input ξ, for `directions` inputs `ξ + ε η` (η random unit vectors), and for a
/// novel pattern ξ' of the same statistics:
/// susceptibility `χ = mean_η ‖⟨s⟩_{ξ+εη} − ⟨s⟩_ξ‖ / ε`,
/// discrimination `‖⟨s⟩_ξ − ⟨s⟩_{ξ'}‖ / √N`. Computed on the CPU in f64.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensitivityConfig {
    pub enabled: bool,
    /// ε, the size of the input perturbation (‖εη‖ = ε).
    pub epsilon: f64,
    /// Number of random directions η.
    pub directions: usize,
    pub transient: usize,
    pub steps: usize,
}

impl Default for SensitivityConfig {
    fn default() -> Self {
        SensitivityConfig {
            enabled: false,
            epsilon: 0.01,
            directions: 4,
            transient: 100,
            steps: 300,
        }
    }
}

/// How many Lyapunov exponents: a count (0 = none, 1 = the largest) or `"all"` (N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exponents {
    Count(usize),
    All,
}

impl Exponents {
    pub fn count(self, neurons: usize) -> usize {
        match self {
            Exponents::Count(k) => k,
            Exponents::All => neurons,
        }
    }
}

impl Serialize for Exponents {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Exponents::Count(k) => s.serialize_u64(*k as u64),
            Exponents::All => s.serialize_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for Exponents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Exponents;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of exponents (0 = none, 1 = the largest) or \"all\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Exponents, E> {
                Ok(Exponents::Count(v as usize))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Exponents, E> {
                match v {
                    "all" => Ok(Exponents::All),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LyapunovConfig {
    /// k: 0 (off), 1 (the largest), any k ≤ N, or "all".
    pub exponents: Exponents,
    /// m: steps between QR re-orthonormalisations.
    pub reorthonormalize_every: usize,
    /// Steps at the start of each recorded window before the logs are accumulated.
    pub tangent_transient: usize,
    /// Precision of the tangent propagation (QR and logs are always f64); default: the run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// Points of the convergence trace of λ₁ kept per replica and epoch.
    pub trace_points: usize,
}

impl Default for LyapunovConfig {
    fn default() -> Self {
        LyapunovConfig {
            exponents: Exponents::Count(0),
            reorthonormalize_every: 10,
            tangent_transient: 100,
            precision: None,
            trace_points: 50,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EigenvaluesConfig {
    /// Eigenvalues of W^(T) every epoch.
    pub weights: bool,
    /// Eigenvalues of the Jacobian at the last recorded step of every epoch.
    pub jacobian: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttractorConfig {
    pub enabled: bool,
    /// Longest period looked for (the last 2P states are compared).
    pub max_period: usize,
    /// States repeat when every component agrees within tolerance · max(1, |x|).
    pub tolerance: f64,
    /// ε: |λ₁| ≤ ε counts as λ₁ ≈ 0 (quasi-periodic).
    pub zero_band: f64,
}

impl Default for AttractorConfig {
    fn default() -> Self {
        AttractorConfig {
            enabled: true,
            max_period: 64,
            tolerance: 1e-5,
            zero_band: 0.01,
        }
    }
}

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
}

impl Default for WeightsConfig {
    fn default() -> Self {
        WeightsConfig {
            mean: 0.0,
            std: 1.0,
            connectivity: 1.0,
            autapses: true,
            file: None,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// R: independent replicas (networks, inputs and initial states).
    pub replicas: usize,
    /// Replica r of seed s is the same network whatever the backend, batch or thread count.
    pub seed: u64,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            replicas: 32,
            seed: 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A hardware GPU if one exists, else the CPU (a software adapter such as lavapipe is never
    /// chosen automatically: it is slower than the CPU backend).
    Auto,
    Cpu,
    Gpu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F64 => 8,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// Where the GPU neuron kernel reads `W` from during its time loop (`backend.weights_in_workgroup`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsInWorkgroup {
    /// All of the replica's `W` in workgroup memory when it fits next to the signal (within
    /// `backend.workgroup_memory_bytes`, default the adapter's
    /// `max_compute_workgroup_storage_size`); else the largest prefix of columns that fits
    /// (partial residency: the other columns are read from global memory every step); else
    /// global memory.
    #[default]
    Auto,
    /// All of `W` in workgroup memory; an error naming the limit when it does not fit.
    Always,
    /// Global memory (the storage buffer) at every step.
    Never,
}

impl WeightsInWorkgroup {
    pub fn name(self) -> &'static str {
        match self {
            WeightsInWorkgroup::Auto => "auto",
            WeightsInWorkgroup::Always => "always",
            WeightsInWorkgroup::Never => "never",
        }
    }
}

/// The precision of the `W` the local field reads (`backend.weight_storage`); see
/// [`crate::model::f16`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightStorage {
    #[default]
    F32,
    /// `W` rounded to f16 in the local field (products and sums in f32); learning updates an
    /// f32 master copy.
    F16,
}

impl WeightStorage {
    pub fn name(self) -> &'static str {
        match self {
            WeightStorage::F32 => "f32",
            WeightStorage::F16 => "f16",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// `f64` is a CPU-only reference mode.
    pub precision: Precision,
    /// CPU worker threads; 0 = all cores.
    pub threads: usize,
    /// Replicas per batch; 0 = derived from the device limits and memory.
    pub batch_replicas: usize,
    /// GPU only: `W` in workgroup memory during the time loop (never changes a result).
    pub weights_in_workgroup: WeightsInWorkgroup,
    /// GPU only: bytes of workgroup memory the neuron kernel may use for the signal and `W`'s
    /// resident columns; absent: the adapter's limit. Positive, and at most the adapter's
    /// `max_compute_workgroup_storage_size` (the GPU backend refuses a larger value). Never
    /// changes a result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_memory_bytes: Option<u64>,
    /// `"f16"`: the local field uses `W` rounded to f16 (an f32 mode; both backends).
    pub weight_storage: WeightStorage,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            kind: BackendKind::Auto,
            precision: Precision::F32,
            threads: 0,
            batch_replicas: 0,
            weights_in_workgroup: WeightsInWorkgroup::Auto,
            workgroup_memory_bytes: None,
            weight_storage: WeightStorage::F32,
        }
    }
}

/// Arrays that can be saved at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SavedArray {
    /// Final weights, `weights.npy`, shape (R, N, N), `W[r, i, j] = W_ij`.
    Weights,
    /// The input pattern ξ, `input.npy`, shape (R, N).
    Input,
    /// The final state (x or h), `state.npy`, shape (R, N).
    State,
}

impl SavedArray {
    pub fn file_stem(self) -> &'static str {
        match self {
            SavedArray::Weights => "weights",
            SavedArray::Input => "input",
            SavedArray::State => "state",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    pub save: Vec<SavedArray>,
}

impl Config {
    /// Parse a config file, apply `--set` overrides, validate.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Config> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .map_err(|e| Error::input(p, format!("cannot read the config file: {e}")))?,
                p.display().to_string(),
            ),
            None => (DEFAULT_CONFIG.to_string(), DEFAULT_CONFIG_NAME.to_string()),
        };
        let mut tree: Value = serde_json::from_str(&text).map_err(|e| {
            Error::config(
                "(file)",
                format!("{origin} is not valid JSON: {e} — check commas and quotes at that line"),
            )
        })?;
        if !tree.is_object() {
            return Err(Error::config(
                "(file)",
                format!(
                    "{origin} must hold a JSON object ({{\"network\": {{…}}, …}}), not {}",
                    json_kind(&tree)
                ),
            ));
        }
        for o in overrides {
            apply_override(&mut tree, o)?;
        }
        let mut config = Config::from_value(tree)?;
        // Relative file paths in a config are relative to the config file.
        if let Some(base) = path.and_then(Path::parent) {
            config.resolve_paths(base);
        }
        config.validate()?;
        Ok(config)
    }

    /// Parse a JSON tree, naming the key path of any error.
    pub fn from_value(tree: Value) -> Result<Config> {
        check_sections(&tree)?;
        serde_path_to_error::deserialize(tree).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            let hint = non_finite_hint(&message);
            Error::config(
                if path.is_empty() || path == "." {
                    "(top level)"
                } else {
                    &path
                }
                .to_string(),
                format!("{message}{hint} (see docs/config.md)"),
            )
        })
    }

    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        for file in [
            &mut self.weights.file,
            &mut self.input.file,
            &mut self.initial_state.file,
        ]
        .into_iter()
        .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }

    /// Check every value; the first violation is reported with its key path and the rule.
    pub fn validate(&self) -> Result<()> {
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

        // Impossible sizes: the ensemble's weights, R · N², must be addressable (they are the
        // size of weights.npy and of a per-replica weights file).
        let weights_bytes =
            (n.neurons as u128) * (n.neurons as u128) * (self.ensemble.replicas as u128) * 8;
        check(
            "ensemble.replicas",
            weights_bytes < 1 << 63,
            &format!(
                "{} replicas of N = {} hold {} weights, more than a 64-bit machine can address; \
                 at most {} replicas at this N",
                self.ensemble.replicas,
                n.neurons,
                (n.neurons as u128) * (n.neurons as u128) * (self.ensemble.replicas as u128),
                ((1u128 << 60) - 1) / ((n.neurons as u128) * (n.neurons as u128)).max(1)
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
            ] {
                check(
                    key,
                    !changed,
                    "describes the random draw, which weights.file replaces: remove the key (zero \
                     absent synapses or the diagonal in the file itself), or remove weights.file",
                )?;
            }
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

        check(
            "ensemble.replicas",
            self.ensemble.replicas >= 1,
            "must be ≥ 1",
        )?;
        check(
            "backend.precision",
            !(self.backend.kind == BackendKind::Gpu && self.backend.precision == Precision::F64),
            "f64 is a CPU reference mode; use \"f32\" with the GPU backend or --backend cpu",
        )?;
        check(
            "backend.weight_storage",
            !(self.backend.weight_storage == WeightStorage::F16
                && self.backend.precision == Precision::F64),
            "\"f16\" weight storage is an f32 mode (f16 weights, f32 arithmetic); use precision \"f32\"",
        )?;
        check(
            "backend.workgroup_memory_bytes",
            self.backend.workgroup_memory_bytes != Some(0),
            "must be a positive number of bytes (at most the adapter's \
             max_compute_workgroup_storage_size, which `hebbnet devices` lists); remove the key \
             to use the whole limit",
        )?;
        self.validate_analysis()
    }

    /// The rules of the `analysis` section (docs/config.md).
    fn validate_analysis(&self) -> Result<()> {
        let n = self.network.neurons;
        let recorded = self.schedule.recorded_steps;
        let l = &self.analysis.lyapunov;
        if let Exponents::Count(k) = l.exponents {
            check(
                "analysis.lyapunov.exponents",
                k <= n,
                &format!(
                    "{k} exponents, but a network of network.neurons = {n} has only {n}: use at \
                     most {n}, or \"all\""
                ),
            )?;
        }
        check(
            "analysis.lyapunov.reorthonormalize_every",
            l.reorthonormalize_every >= 1,
            "must be ≥ 1 (1: a QR every step)",
        )?;
        if l.exponents.count(n) > 0 {
            check(
                "analysis.lyapunov.tangent_transient",
                l.tangent_transient < recorded,
                &format!(
                    "{} must be below schedule.recorded_steps = {recorded} (no recorded step would \
                     be left to accumulate the exponents): lower it, or record more steps",
                    l.tangent_transient
                ),
            )?;
        }
        check(
            "analysis.lyapunov.trace_points",
            l.trace_points <= MAX_TRACE_POINTS,
            &format!("must be at most {MAX_TRACE_POINTS} (0: no trace)"),
        )?;

        let a = &self.analysis.attractor;
        check(
            "analysis.attractor.max_period",
            (1..=MAX_PERIOD).contains(&a.max_period),
            &format!(
                "must be between 1 and {MAX_PERIOD} (1: fixed points only; to skip the \
                 classification set analysis.attractor.enabled = false)"
            ),
        )?;
        finite("analysis.attractor.tolerance", a.tolerance)?;
        check(
            "analysis.attractor.tolerance",
            a.tolerance >= 0.0,
            "must be ≥ 0 (0: states must repeat exactly)",
        )?;
        finite("analysis.attractor.zero_band", a.zero_band)?;
        check(
            "analysis.attractor.zero_band",
            a.zero_band >= 0.0,
            "must be ≥ 0",
        )?;

        let s = &self.analysis.sensitivity;
        finite("analysis.sensitivity.epsilon", s.epsilon)?;
        check(
            "analysis.sensitivity.epsilon",
            s.epsilon > 0.0,
            "must be > 0 (the size of the input perturbation; the default is 0.01)",
        )?;
        check(
            "analysis.sensitivity.directions",
            s.directions >= 1,
            "must be ≥ 1 (the susceptibility averages over the directions)",
        )?;
        check(
            "analysis.sensitivity.steps",
            s.steps >= 1,
            "must be ≥ 1 (the activity is averaged over these steps)",
        )?;
        Ok(())
    }

    /// The draw rule of the input ξ.
    pub fn input_source(&self) -> Result<VectorSource> {
        self.input
            .resolve("input", Distribution::Gaussian, (0.0, 0.0), (0.0, 0.0))
    }

    /// The draw rule of the initial state.
    pub fn initial_state_source(&self) -> Result<VectorSource> {
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
            },
        }
    }
}

impl VectorInit {
    fn resolve(
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

/// Largest `analysis.lyapunov.trace_points`: the trace array is (R, E, P, 2).
pub const MAX_TRACE_POINTS: usize = 4096;
/// Largest `analysis.attractor.max_period`: the last 2P states of every replica are kept.
pub const MAX_PERIOD: usize = 4096;

/// Sections of a config (serde would also read a JSON array positionally into them).
const SECTIONS: [&str; 14] = [
    "network",
    "weights",
    "input",
    "initial_state",
    "schedule",
    "learning",
    "ensemble",
    "backend",
    "output",
    "analysis",
    "analysis.lyapunov",
    "analysis.eigenvalues",
    "analysis.attractor",
    "analysis.sensitivity",
];

/// The config and each of its sections, where present, must be JSON objects.
fn check_sections(tree: &Value) -> Result<()> {
    if !tree.is_object() {
        return Err(Error::config(
            "(top level)",
            format!(
                "a config must be a JSON object ({{\"network\": {{…}}, …}}), not {}",
                json_kind(tree)
            ),
        ));
    }
    for section in SECTIONS {
        let value = section
            .split('.')
            .try_fold(tree, |node, key| node.as_object()?.get(key));
        if let Some(v) = value.filter(|v| !v.is_object()) {
            return Err(Error::config(
                section,
                format!(
                    "is a section: it must be a JSON object ({{\"key\": value, …}}), not {}",
                    json_kind(v)
                ),
            ));
        }
    }
    Ok(())
}

/// `an array`, `a string`, … for messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A hint when a number arrived as a non-finite string (`--set key=NaN`, `inf`, `1e999`).
fn non_finite_hint(message: &str) -> &'static str {
    let quoted = message
        .strip_prefix("invalid type: string \"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(s, _)| s);
    match quoted.and_then(|s| s.trim().parse::<f64>().ok()) {
        Some(x) if !x.is_finite() => {
            " — numbers must be finite (NaN, infinity and values beyond ±1.8e308 are not allowed)"
        }
        _ => "",
    }
}

fn check(path: &str, ok: bool, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::config(path, rule))
    }
}

fn finite(path: &str, x: f64) -> Result<()> {
    check(path, x.is_finite(), &format!("{x} is not a finite number"))
}

/// Apply one `path=value` override to a JSON tree. The value is parsed as JSON when it can be
/// (`3`, `true`, `[1,2]`, `"x"`), else taken as a string (`rate`). Missing objects are created;
/// an unknown key is then rejected by the strict parse, naming its path.
pub fn apply_override(tree: &mut Value, assignment: &str) -> Result<()> {
    let (path, raw) = assignment.split_once('=').ok_or_else(|| {
        Error::config(
            assignment,
            "an override must look like path=value, e.g. --set learning.forgetting=0.8",
        )
    })?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(Error::config(
            path,
            "empty key in override path (write e.g. network.gain=5)",
        ));
    }
    let value = serde_json::from_str::<Value>(raw.trim())
        .unwrap_or_else(|_| Value::String(raw.trim().to_string()));
    let mut node = tree;
    let keys: Vec<&str> = path.split('.').collect();
    for (depth, key) in keys.iter().enumerate() {
        if !node.is_object() {
            return Err(Error::config(
                keys[..depth].join("."),
                format!("is not a section, so `{path}` cannot be set"),
            ));
        }
        let map = node.as_object_mut().expect("checked object");
        if depth + 1 == keys.len() {
            map.insert(key.to_string(), value);
            return Ok(());
        }
        node = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    unreachable!("the loop returns at the last key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, overrides: &[&str]) -> Result<Config> {
        let mut tree: Value = serde_json::from_str(text).unwrap();
        for o in overrides {
            apply_override(&mut tree, o)?;
        }
        let c = Config::from_value(tree)?;
        c.validate()?;
        Ok(c)
    }

    fn path_of(e: Error) -> String {
        match e {
            Error::Config { path, .. } => path,
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn embedded_default_parses_and_validates() {
        let c = Config::load(None, &[]).unwrap();
        assert_eq!(c.network.neurons, 100);
        assert!(c.learning.enabled);
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        let e = load_str(r#"{"learning": {"forgeting": 0.5}}"#, &[]).unwrap_err();
        assert_eq!(path_of(e), "learning.forgeting");
        let e = load_str(r#"{"netwrk": {}}"#, &[]).unwrap_err();
        assert_eq!(path_of(e), "netwrk");
    }

    #[test]
    fn invalid_values_name_the_key() {
        for (text, key) in [
            (r#"{"network": {"leak": 0}}"#, "network.leak"),
            (r#"{"network": {"neurons": 0}}"#, "network.neurons"),
            (
                r#"{"learning": {"forgetting": 1.5}}"#,
                "learning.forgetting",
            ),
            (r#"{"weights": {"std": -1}}"#, "weights.std"),
            (
                r#"{"schedule": {"recorded_steps": 0}}"#,
                "schedule.recorded_steps",
            ),
            (
                r#"{"input": {"distribution": "uniform", "low": 1, "high": 0}}"#,
                "input.high",
            ),
            (
                r#"{"input": {"distribution": "uniform", "std": 1}}"#,
                "input.std",
            ),
            (r#"{"network": {"form": "spiking"}}"#, "network.form"),
            (
                r#"{"backend": {"kind": "gpu", "precision": "f64"}}"#,
                "backend.precision",
            ),
            (
                r#"{"backend": {"weight_storage": "f16", "precision": "f64"}}"#,
                "backend.weight_storage",
            ),
            (
                r#"{"backend": {"weight_storage": "bf16"}}"#,
                "backend.weight_storage",
            ),
            (
                r#"{"backend": {"weights_in_workgroup": true}}"#,
                "backend.weights_in_workgroup",
            ),
            (
                r#"{"backend": {"weights_in_workgroup": "sometimes"}}"#,
                "backend.weights_in_workgroup",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": 0}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": -1}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": 1.5}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": "32k"}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (r#"{"schedule": [1, 2, 3]}"#, "schedule"),
            (r#"{"analysis": {"lyapunov": 3}}"#, "analysis.lyapunov"),
            (
                r#"{"network": {"neurons": 10}, "analysis": {"lyapunov": {"exponents": 11}}}"#,
                "analysis.lyapunov.exponents",
            ),
            (
                r#"{"analysis": {"lyapunov": {"reorthonormalize_every": 0}}}"#,
                "analysis.lyapunov.reorthonormalize_every",
            ),
            (
                r#"{"schedule": {"recorded_steps": 50}, "analysis": {"lyapunov": {"exponents": 1, "tangent_transient": 50}}}"#,
                "analysis.lyapunov.tangent_transient",
            ),
            (
                r#"{"analysis": {"lyapunov": {"trace_points": 4097}}}"#,
                "analysis.lyapunov.trace_points",
            ),
            (
                r#"{"analysis": {"attractor": {"max_period": 0}}}"#,
                "analysis.attractor.max_period",
            ),
            (
                r#"{"analysis": {"attractor": {"tolerance": -1}}}"#,
                "analysis.attractor.tolerance",
            ),
            (
                r#"{"analysis": {"attractor": {"zero_band": -1}}}"#,
                "analysis.attractor.zero_band",
            ),
            (
                r#"{"analysis": {"sensitivity": {"epsilon": 0}}}"#,
                "analysis.sensitivity.epsilon",
            ),
            (
                r#"{"analysis": {"sensitivity": {"directions": 0}}}"#,
                "analysis.sensitivity.directions",
            ),
            (
                r#"{"analysis": {"sensitivity": {"steps": 0}}}"#,
                "analysis.sensitivity.steps",
            ),
            (
                r#"{"weights": {"file": "w.npy", "autapses": false}}"#,
                "weights.autapses",
            ),
            (
                r#"{"network": {"neurons": 65536}, "ensemble": {"replicas": 300000000}}"#,
                "ensemble.replicas",
            ),
        ] {
            let e = load_str(text, &[]).unwrap_err();
            assert_eq!(path_of(e), key, "{text}");
        }
    }

    #[test]
    fn edge_values_the_docs_allow_are_accepted() {
        // Without exponents the tangent transient is not checked against the window.
        load_str(
            r#"{"schedule": {"recorded_steps": 20}, "analysis": {"lyapunov": {"exponents": 0}}}"#,
            &[],
        )
        .unwrap();
        load_str(
            r#"{"network": {"neurons": 10}, "analysis": {"lyapunov": {"exponents": 10, "trace_points": 0}, "attractor": {"max_period": 1, "tolerance": 0, "zero_band": 0}}}"#,
            &[],
        )
        .unwrap();
        // A non-finite number given on the command line says why it is refused.
        match load_str("{}", &["network.leak=-inf"]).unwrap_err() {
            Error::Config { path, message } => {
                assert_eq!(path, "network.leak");
                assert!(message.contains("must be finite"), "{message}");
            }
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn overrides_set_values_and_are_validated() {
        let c = load_str("{}", &["learning.epochs=3", "network.form=current"]);
        // `learning.epochs` does not exist: it is `schedule.epochs`.
        assert_eq!(path_of(c.unwrap_err()), "learning.epochs");
        let c = load_str("{}", &["schedule.epochs=3", "network.form=current"]).unwrap();
        assert_eq!(c.schedule.epochs, 3);
        assert_eq!(c.network.form, Form::Current);
        assert_eq!(
            path_of(load_str("{}", &["network.gain=NaN"]).unwrap_err()),
            "network.gain"
        );
        assert_eq!(
            path_of(load_str("{}", &["network.gain"]).unwrap_err()),
            "network.gain"
        );
    }

    #[test]
    fn weight_keys_default_parse_and_override() {
        let c = load_str("{}", &[]).unwrap();
        assert_eq!(c.backend.weights_in_workgroup, WeightsInWorkgroup::Auto);
        assert_eq!(c.backend.weight_storage, WeightStorage::F32);
        let c = load_str(
            r#"{"backend": {"weights_in_workgroup": "never", "weight_storage": "f16"}}"#,
            &["backend.weights_in_workgroup=always"],
        )
        .unwrap();
        assert_eq!(c.backend.weights_in_workgroup, WeightsInWorkgroup::Always);
        assert_eq!(c.backend.weight_storage, WeightStorage::F16);
        // f16 storage with the (default) f32 precision on the CPU is fine.
        load_str(
            r#"{"backend": {"kind": "cpu", "weight_storage": "f16"}}"#,
            &[],
        )
        .unwrap();
        let e = load_str(
            "{}",
            &["backend.weight_storage=f16", "backend.precision=f64"],
        );
        assert_eq!(path_of(e.unwrap_err()), "backend.weight_storage");
    }

    #[test]
    fn workgroup_memory_cap_defaults_to_the_adapter_and_must_be_positive() {
        let c = load_str("{}", &[]).unwrap();
        assert_eq!(c.backend.workgroup_memory_bytes, None);
        // Absent from the resolved config when unset, so old manifests and configs compare equal.
        let tree = serde_json::to_value(&c).unwrap();
        assert!(tree["backend"].get("workgroup_memory_bytes").is_none());
        let c = load_str(
            r#"{"backend": {"workgroup_memory_bytes": 8192}}"#,
            &["backend.workgroup_memory_bytes=12000"],
        )
        .unwrap();
        assert_eq!(c.backend.workgroup_memory_bytes, Some(12_000));
        let c = load_str(r#"{"backend": {"workgroup_memory_bytes": null}}"#, &[]).unwrap();
        assert_eq!(c.backend.workgroup_memory_bytes, None);
        match load_str("{}", &["backend.workgroup_memory_bytes=0"]).unwrap_err() {
            Error::Config { path, message } => {
                assert_eq!(path, "backend.workgroup_memory_bytes");
                assert!(message.contains("remove the key"), "{message}");
            }
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn initial_state_defaults_follow_the_form() {
        let c = load_str("{}", &[]).unwrap();
        assert_eq!(
            c.initial_state_source().unwrap(),
            VectorSource::Uniform {
                low: 0.0,
                high: 1.0
            }
        );
        let c = load_str(r#"{"network": {"form": "current"}}"#, &[]).unwrap();
        assert_eq!(
            c.initial_state_source().unwrap(),
            VectorSource::Gaussian {
                mean: 0.0,
                std: 1.0
            }
        );
    }
}
