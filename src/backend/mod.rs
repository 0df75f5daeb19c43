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
pub mod gpu;

use serde::Serialize;

use crate::config::Precision;
use crate::ensemble::ReplicaInit;
use crate::error::Result;

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
    /// `Σ_ij W_ij` of the weights used during the epoch, per replica.
    pub weight_sum: Vec<f64>,
    /// `Σ_ij W_ij²`, per replica.
    pub weight_sq_sum: Vec<f64>,
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
}
