//! The `backend` and `output` sections: where and in which precision a run computes, and what
//! it saves.

use serde::{Deserialize, Serialize};

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
    /// Final weights, `weights.npy`, shape (R, N, N), `W[r, i, j] = W_ij` (`"lotito"`: the learned
    /// J = ΞᵀΞ/N_h, (R, N_v, N_v)).
    Weights,
    /// The input pattern ξ, `input.npy`, shape (R, N).
    Input,
    /// The final state (x or h; V of the first initial condition for `"bms"`), `state.npy`,
    /// shape (R, N) (`"lotito"`: the memories Ξ(T), (R, N_h, N_v)).
    State,
    /// `"bms"` only: the spike raster of every recorded window (first initial condition),
    /// `raster.npy`, shape (R, E, T, N), uint8 0/1.
    Raster,
    /// `"jiang"`: the stored patterns ξ, `patterns.npy`, shape (R, P, N); `"lotito"`: the
    /// initial patterns ξ_μ then every target slot ξ'_μ (the replacement last), (R, N_h + S, N_v).
    Patterns,
    /// `"jiang"` only: the eigenvalues of J, `eigenvalues.npy`, shape (R, M) complex (M = P by
    /// the P × P reduction, else N).
    Eigenvalues,
    /// `"jiang"` only: the eigenvalues of J·diag(φ'(h)) of the first trajectory at each of
    /// `jiang.jacobian_steps`, `jacobian_eigenvalues.npy`, shape (R, S, M) complex.
    #[serde(rename = "jacobian_eigenvalues")]
    JacobianEigenvalues,
}

impl SavedArray {
    pub fn file_stem(self) -> &'static str {
        match self {
            SavedArray::Weights => "weights",
            SavedArray::Input => "input",
            SavedArray::State => "state",
            SavedArray::Raster => "raster",
            SavedArray::Patterns => "patterns",
            SavedArray::Eigenvalues => "eigenvalues",
            SavedArray::JacobianEigenvalues => "jacobian_eigenvalues",
        }
    }

    /// The models whose runs write this array.
    pub fn models(self) -> &'static [super::Model] {
        use super::Model::*;
        match self {
            SavedArray::Weights | SavedArray::State => &[Analog, Bms, Jiang, Lotito, Reservoir],
            SavedArray::Input => &[Analog, Bms, Reservoir],
            SavedArray::Raster => &[Bms],
            SavedArray::Patterns => &[Jiang, Lotito],
            SavedArray::Eigenvalues | SavedArray::JacobianEigenvalues => &[Jiang],
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    pub save: Vec<SavedArray>,
    /// Per-step series of every replica, streamed to `.npy` (the recorder); `None`: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordConfig>,
}

/// The recorder (`output.record`): during each epoch's recorded window, every `every`-th step,
/// the state (x or h) of the chosen `neurons` and, with `population`, the population's mean
/// activity `(1/N) Σ_i s_i(t)`. Written as `record_state.npy` (R, E, S, K) and
/// `record_activity.npy` (R, E, S), S = ⌊recorded_steps / every⌋ samples at window steps
/// `every, 2·every, …`, K the number of neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordConfig {
    pub every: usize,
    pub neurons: Vec<usize>,
    pub population: bool,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            every: 1,
            neurons: Vec::new(),
            population: false,
        }
    }
}

/// Most neurons the recorder follows.
pub const MAX_RECORDED_NEURONS: usize = 4096;
/// Most values the recorder keeps per replica (they are held per batch before being written).
pub const MAX_RECORDED_VALUES: usize = 1 << 26;
