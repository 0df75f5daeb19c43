//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;

use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::gpu::{GpuBackend, GpuOptions};
use hebbnet::backend::{Backend, BackendInfo, BatchOutput, KernelVariant, Schedule, TraceObserver};
use hebbnet::config::Precision;
use hebbnet::ensemble::ReplicaInit;
use hebbnet::model::analog::{
    Activation, Form, HebbianRule, NeuronParams, PresynapticGate, ReplicaParams,
};
use hebbnet::{Error, Result};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The GPU backend, or `None` with a printed reason when this machine has no adapter.
/// In CI (`CI` set to anything but `false`/`0`) a missing adapter is a failure: `.ci/run`
/// installs lavapipe, so the GPU tests must run there.
pub fn gpu() -> Option<GpuBackend> {
    gpu_with(GpuOptions::default())
}

/// [`gpu`] with weight options.
pub fn gpu_with(options: GpuOptions) -> Option<GpuBackend> {
    match GpuBackend::with_options(options) {
        Ok(g) => Some(g),
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            if ci {
                panic!("CI requires a GPU adapter (lavapipe is installed by .ci/run): {e}");
            }
            // Straight to stderr: libtest captures eprintln!, and a skip must be visible.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED GPU test (no GPU adapter on this machine; CI=true makes this a failure): {e}"
            );
            None
        }
    }
}

pub fn params(form: Form, activation: Activation, gain: f64, leak: f64) -> ReplicaParams {
    ReplicaParams {
        neuron: NeuronParams {
            form,
            activation,
            gain,
            leak,
            threshold: 0.05,
        },
        learning: HebbianRule {
            learning_rate: 0.5,
            forgetting: 0.9,
            activity_threshold: 0.1,
            presynaptic_gate: PresynapticGate::Heaviside,
            sign_preserving: false,
            keep_absent_synapses: true,
            excitatory_neurons: None,
        },
    }
}

/// A replica with random W (std `w_std/√N`), input and state, drawn from `seed`.
pub fn random_init(
    index: u64,
    n: usize,
    params: ReplicaParams,
    w_std: f64,
    seed: u64,
) -> ReplicaInit {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = w_std / (n as f64).sqrt();
    let mut normal = |scale: f64| scale * rng.sample::<f64, _>(StandardNormal);
    let weights: Vec<f64> = (0..n * n).map(|_| normal(s)).collect();
    let input = (0..n).map(|_| normal(0.2)).collect();
    let state = (0..n)
        .map(|_| match params.neuron.form {
            Form::Rate => normal(0.3) + 0.5,
            Form::Current => normal(1.0),
        })
        .collect();
    ReplicaInit {
        index,
        params,
        weights: weights.into(),
        input,
        state,
        drive: None,
    }
}

/// Largest absolute difference.
pub fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The CPU backend, failing on the batch after `fail_after` batches (a crash mid-run).
pub struct Flaky {
    pub inner: CpuBackend,
    pub fail_after: usize,
    pub batches: usize,
}

impl Backend for Flaky {
    fn info(&self) -> &BackendInfo {
        self.inner.info()
    }
    fn batch_capacity(&self, n: usize, p: Precision) -> Result<usize> {
        self.inner.batch_capacity(n, p)
    }
    fn kernel_variant(&self, n: usize) -> Result<KernelVariant> {
        self.inner.kernel_variant(n)
    }
    fn run_batch(
        &mut self,
        s: &Schedule,
        p: Precision,
        r: &[ReplicaInit],
        keep: bool,
        observers: &mut [&mut dyn TraceObserver],
    ) -> Result<BatchOutput> {
        if self.batches == self.fail_after {
            return Err(Error::Gpu("simulated crash".into()));
        }
        self.batches += 1;
        self.inner.run_batch(s, p, r, keep, observers)
    }
    fn run_bms(
        &mut self,
        p: Precision,
        batch: &hebbnet::model::bms::Batch<'_>,
    ) -> Result<Vec<hebbnet::model::bms::Trace>> {
        if self.batches == self.fail_after {
            return Err(Error::Gpu("simulated crash".into()));
        }
        self.batches += 1;
        self.inner.run_bms(p, batch)
    }
    fn run_jiang(
        &mut self,
        p: Precision,
        batch: &hebbnet::model::jiang::Batch<'_>,
    ) -> Result<Vec<hebbnet::model::jiang::Trace>> {
        if self.batches == self.fail_after {
            return Err(Error::Gpu("simulated crash".into()));
        }
        self.batches += 1;
        self.inner.run_jiang(p, batch)
    }
    fn run_lotito(
        &mut self,
        p: Precision,
        batch: &hebbnet::model::lotito::Batch,
    ) -> Result<Vec<hebbnet::model::lotito::Trace>> {
        if self.batches == self.fail_after {
            return Err(Error::Gpu("simulated crash".into()));
        }
        self.batches += 1;
        self.inner.run_lotito(p, batch)
    }
}

/// A quiet sweep into `out` (shard, resume as given).
pub fn sweep_options(
    out: &std::path::Path,
    shard: Option<hebbnet::experiment::sweep::Shard>,
    resume: bool,
) -> hebbnet::experiment::sweep::SweepOptions {
    hebbnet::experiment::sweep::SweepOptions {
        out: out.to_path_buf(),
        spec_source: "test".into(),
        command_line: vec![],
        shard,
        resume,
        force: false,
        progress: hebbnet::experiment::progress::ProgressMode::Quiet,
    }
}

/// The merged result files of a sweep directory, name → bytes (the manifest holds times).
pub fn sweep_results(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".csv") || n.ends_with(".npy"))
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
        .collect();
    files.sort();
    files
}
