//! How ensembles are advanced: one interface, two backends.
//!
//! A backend takes a batch of replica initial conditions (in `f64`, from [`crate::ensemble`]),
//! runs the epoch schedule on every replica, and returns per-epoch raw sums ([`EpochOutput`]),
//! which [`crate::analysis`] turns into observables — the same code for both backends.
//!
//! - [`cpu::CpuBackend`]: replica-major (one replica's `W` stays in cache for its whole run),
//!   rayon across replicas, `f32` or `f64`.
//! - [`gpu::GpuBackend`]: wgpu, one dispatch advances every replica of a batch by a chunk of
//!   steps; the whole schedule is encoded on the GPU, read back once per group of epochs.
//!
//! Both accumulate the recorded activity as shifted sums in the compute precision and sum the
//! local field in the same order, so `f32` runs agree to within rounding of fused operations and
//! of `tanh` (documented tolerance: see `tests/backends.rs`).

pub mod cpu;
pub mod cpus;
pub mod gpu;

use serde::Serialize;

use crate::config::{Precision, WeightStorage};
use crate::ensemble::ReplicaInit;
use crate::error::Result;
use crate::model::{bms, jiang, lotito};

/// The time structure every replica follows (the same for a whole batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub epochs: usize,
    /// T_0.
    pub transient_steps: usize,
    /// τ.
    pub recorded_steps: usize,
    /// Apply the Hebbian update after each epoch.
    pub learning: bool,
}

/// Raw per-epoch results of a batch, arrays indexed `[replica * N + neuron]` or `[replica]`.
///
/// With `s_i(t)` the activity and `ref_i = s_i(T_0)` the activity when recording starts:
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochOutput {
    /// `ref_i`.
    pub reference: Vec<f64>,
    /// `S1_i = Σ_{t=T_0+1}^{T_0+τ} (s_i(t) − ref_i)`.
    pub shifted_sum: Vec<f64>,
    /// `S2_i = Σ_t (s_i(t) − ref_i)²`.
    pub shifted_sq_sum: Vec<f64>,
    /// The state (x or h) at the end of the epoch, before the weight update.
    pub state: Vec<f64>,
    /// `Σ_ij W_ij` of the weights used during the epoch, per replica (with f16 weight storage:
    /// of the f32 master copy that learning updates).
    pub weight_sum: Vec<f64>,
    /// `Σ_ij W_ij²`, per replica.
    pub weight_sq_sum: Vec<f64>,
    /// Lock-in sums of the response to the drive ([`crate::ensemble::Drive`]):
    /// `Σ_t s_i(t) sin(ω t + φ0)` over the epoch's recorded states, per `[replica * N + neuron]`.
    ///
    /// `t` is the run's step count (the drive's time: state `t` is the state after `t` steps of
    /// the `run_batch` call, so epoch `e`'s states are `t = e (T_0 + τ) + k`, `k = 0` the state
    /// at the epoch's start); the recorded states are `k = T_0 + 1, …, T_0 + τ`, the same states
    /// [`EpochOutput::shifted_sum`] sums. State `s(t)` is paired with `sin(ω t + φ0)`, the phase
    /// of the drive that enters the step *from* `t` to `t + 1`: the state after a step is paired
    /// with the phase one step later than the input that step received. So for a response
    /// `s_i(t) ≈ m_i + A_i sin(ω t + φ0 + ψ_i)` the sums are `≈ (τ/2) A_i cos ψ_i` (sin) and
    /// `≈ (τ/2) A_i sin ψ_i` (cos), plus `m_i Σ_t sin(ω t + φ0)` (small when τ spans whole
    /// periods).
    ///
    /// Raw sums (not shifted by `ref_i`), accumulated in the compute precision. Zeros for a
    /// replica without a drive; empty when no replica of the batch has one.
    pub lockin_sin: Vec<f64>,
    /// `Σ_t s_i(t) cos(ω t + φ0)`, the same `t` as [`EpochOutput::lockin_sin`].
    pub lockin_cos: Vec<f64>,
}

impl EpochOutput {
    pub fn with_capacity(replicas: usize, n: usize) -> Self {
        EpochOutput {
            reference: Vec::with_capacity(replicas * n),
            shifted_sum: Vec::with_capacity(replicas * n),
            shifted_sq_sum: Vec::with_capacity(replicas * n),
            state: Vec::with_capacity(replicas * n),
            weight_sum: Vec::with_capacity(replicas),
            weight_sq_sum: Vec::with_capacity(replicas),
            lockin_sin: Vec::new(),
            lockin_cos: Vec::new(),
        }
    }
}

/// End-of-run arrays of one replica (kept only when asked for).
#[derive(Clone, Debug, PartialEq)]
pub struct FinalState {
    /// Column-major weights after the last update.
    pub weights: Vec<f64>,
    pub state: Vec<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchOutput {
    /// One entry per epoch.
    pub epochs: Vec<EpochOutput>,
    /// One entry per replica when `keep_final` was set.
    pub finals: Vec<FinalState>,
}

/// What the manifest and the logs say about a backend.
#[derive(Clone, Debug, Serialize)]
pub struct BackendInfo {
    /// `"cpu"` or `"gpu"`.
    pub kind: &'static str,
    /// One line for people.
    pub description: String,
    /// The adapter, for the GPU backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<gpu::AdapterSummary>,
    /// How the network sizes of this run are computed (filled by [`info_for`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<KernelVariant>,
}

/// Where and in which precision the local field reads `W` for one network size: the kernel
/// variant a run used, for the manifest (`backend.kernels`) and the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelVariant {
    pub neurons: usize,
    /// `"f32"`, or `"f16"` (`W` rounded to f16 in the local field, f32 master for learning).
    pub weight_storage: &'static str,
    /// `"workgroup"`: the GPU neuron kernel copies the replica's `W` into workgroup memory once
    /// per dispatch; `"partial"`: it copies the first `resident_columns` columns there and reads
    /// the others from the storage buffer at every step; `"global"`: it reads all of `W` from
    /// the storage buffer at every step; `"cache"`: the CPU backend (one replica's `W` stays in
    /// the core's cache).
    pub weights_read_from: &'static str,
    /// GPU: how many of the N columns of `W` are in workgroup memory (N, 0, or between).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resident_columns: Option<usize>,
    /// GPU: the same in words, e.g. `W: 72 of 100 columns in workgroup memory (f32), 28 read
    /// from global memory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// GPU: workgroup memory the neuron kernel declares, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_bytes: Option<u64>,
    /// GPU: the adapter's `max_compute_workgroup_storage_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_limit: Option<u64>,
    /// GPU: `backend.workgroup_memory_bytes`, the cap below the adapter's limit the resident
    /// columns were chosen within, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_cap: Option<u64>,
    /// GPU: time steps one dispatch advances at most (lavapipe's loop cap, see gpu/analog/mod.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps_per_dispatch: Option<u64>,
    /// GPU with f16 storage: `"unpack2x16float"` or `"integer"` (both exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f16_decode: Option<&'static str>,
}

impl KernelVariant {
    /// The CPU backend's variant.
    pub fn cpu(neurons: usize, storage: WeightStorage) -> KernelVariant {
        KernelVariant {
            neurons,
            weight_storage: storage.name(),
            weights_read_from: "cache",
            resident_columns: None,
            placement: None,
            workgroup_bytes: None,
            workgroup_limit: None,
            workgroup_cap: None,
            steps_per_dispatch: None,
            f16_decode: None,
        }
    }

    /// One line for the log, e.g. `N = 100: W: 80 of 100 columns in workgroup memory (f32), 20
    /// read from global memory; workgroup memory 31.6 of 32.0 KiB` or `N = 100: f32 W in the CPU
    /// cache`.
    pub fn line(&self) -> String {
        let mut s = match &self.placement {
            Some(p) => format!("N = {}: {p}", self.neurons),
            None => format!(
                "N = {}: {} W in the CPU cache",
                self.neurons, self.weight_storage
            ),
        };
        if let (Some(used), Some(limit)) = (self.workgroup_bytes, self.workgroup_limit) {
            s += &format!(
                "; workgroup memory {:.1} of {:.1} KiB",
                used as f64 / 1024.0,
                limit as f64 / 1024.0
            );
            if let Some(cap) = self.workgroup_cap {
                s += &format!(" (capped at {:.1} KiB)", cap as f64 / 1024.0);
            }
        }
        s
    }
}

/// [`Backend::info`] with the kernel variant of every network size in `sizes`.
pub fn info_for(
    backend: &dyn Backend,
    sizes: impl IntoIterator<Item = usize>,
) -> Result<BackendInfo> {
    let mut info = backend.info().clone();
    let mut sizes: Vec<usize> = sizes.into_iter().collect();
    sizes.sort_unstable();
    sizes.dedup();
    info.kernels = sizes
        .into_iter()
        .map(|n| backend.kernel_variant(n))
        .collect::<Result<_>>()?;
    Ok(info)
}

/// Receives the trajectory of one replica's recorded windows, for the analysis
/// (Lyapunov exponents, spectra, attractor class) that runs on the CPU.
pub trait TraceObserver: Send {
    /// Epoch `epoch` starts its recorded window with weights `W^(T)` (column-major).
    fn begin_epoch(&mut self, epoch: usize, weights: &[f64]);
    /// One recorded step `t → t+1`: `derivative` is `D(t)` of `DF(t)` (`f'(u(t))` in the rate
    /// form, `φ'(h(t))` in the current form), `state` the state after the step.
    fn step(&mut self, derivative: &[f64], state: &[f64]);
    /// The recorded window of the epoch is over.
    fn end_epoch(&mut self);
    /// Whether every step of the window is needed (else only the last `tail_steps()`).
    fn needs_full_window(&self) -> bool;
    /// Steps at the end of the window the observer needs when not the full window.
    fn tail_steps(&self) -> usize;
}

/// The common interface of the CPU and GPU backends.
pub trait Backend {
    fn info(&self) -> &BackendInfo;

    /// How many replicas of `neurons` neurons one batch may hold on this backend (device limits,
    /// memory). An error when not even one fits.
    fn batch_capacity(&self, neurons: usize, precision: Precision) -> Result<usize>;

    /// How networks of `neurons` neurons are computed (see [`KernelVariant`]); an error when
    /// this backend cannot run them (e.g. `weights_in_workgroup = "always"` and `W` does not
    /// fit).
    fn kernel_variant(&self, neurons: usize) -> Result<KernelVariant>;

    /// Run `schedule` on every replica of the batch (all with the same N). `observers` is empty
    /// (no analysis) or holds one observer per replica, fed each epoch's recorded window.
    fn run_batch(
        &mut self,
        schedule: &Schedule,
        precision: Precision,
        replicas: &[ReplicaInit],
        keep_final: bool,
        observers: &mut [&mut dyn TraceObserver],
    ) -> Result<BatchOutput>;

    /// Advance every trajectory of a BMS batch (src/model/bms, `"model": "bms"`) over
    /// `batch.steps` in `precision`; one [`bms::Trace`] per trajectory, in order.
    fn run_bms(&mut self, precision: Precision, batch: &bms::Batch<'_>) -> Result<Vec<bms::Trace>>;

    /// Advance every trajectory of a Jiang batch (src/model/jiang, `"model": "jiang"`) over
    /// its transient and window in `precision`; one [`jiang::Trace`] per trajectory, in order.
    fn run_jiang(
        &mut self,
        precision: Precision,
        batch: &jiang::Batch<'_>,
    ) -> Result<Vec<jiang::Trace>>;

    /// Advance every replica of a Lotito batch (src/model/lotito, `"model": "lotito"`) over its
    /// T presentations in `precision`; one [`lotito::Trace`] per replica, in order.
    fn run_lotito(
        &mut self,
        precision: Precision,
        batch: &lotito::Batch,
    ) -> Result<Vec<lotito::Trace>>;
}
