//! Criterion benches of the kernels `hebbnet bench` times as whole cases: one step of the
//! dynamics (local field + activation), the Hebbian update, one tangent step of the Lyapunov
//! analysis for k = 1 and k = N, and whole CPU batches of plain dynamics and of learning epochs.
//!
//! `cargo bench --bench kernels`. Throughput is reported in synapse updates (elements: N² per
//! replica-step; N²·k for a tangent step), so criterion prints synapse updates per second
//! directly. The GPU batch runs only on a hardware adapter: a software one (lavapipe) says
//! nothing about GPU speed (`hebbnet bench` labels it; BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hebbnet::analysis::lyapunov::{random_orthonormal, TangentSpace};
use hebbnet::analysis::orthonormal::{cholesky_qr, CholeskyQr};
use hebbnet::analysis::tangent::TangentBlock;
use hebbnet::analysis::team::Team;
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::gpu::{context, GpuBackend};
use hebbnet::backend::{Backend, Schedule};
use hebbnet::config::{Config, Precision};
use hebbnet::ensemble::EnsembleSpec;
use hebbnet::model::analog::local_field::{local_field, PaddedWeights};
use hebbnet::model::analog::network;
use rand::SeedableRng;

fn spec(n: usize, replicas: usize) -> EnsembleSpec {
    let config = Config::load(
        None,
        &[
            format!("network.neurons={n}"),
            format!("ensemble.replicas={replicas}"),
        ],
    )
    .expect("embedded config");
    EnsembleSpec::from_config(&config).expect("ensemble")
}

fn quick<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn kernels(c: &mut Criterion) {
    let mut g = quick(c, "one_replica_one_step");
    for n in [100usize, 400, 1000] {
        let r = spec(n, 1).replica(0);
        let w: Vec<f32> = r.weights.get().iter().map(|&v| v as f32).collect();
        let padded = PaddedWeights::new(n, &w);
        let params = r.params.neuron.typed::<f32>();
        let bias: Vec<f32> = r.input.iter().map(|&v| v as f32).collect();
        let mut state: Vec<f32> = r.state.iter().map(|&v| v as f32).collect();
        let mut signal = state.clone();
        let mut field = vec![0f32; n];
        g.throughput(Throughput::Elements((n * n) as u64));
        g.bench_function(BenchmarkId::new("local_field_f32", n), |b| {
            b.iter(|| local_field(n, black_box(&w), black_box(&signal), &bias, &mut field))
        });
        g.bench_function(BenchmarkId::new("step_siri_f32", n), |b| {
            b.iter(|| network::step(&params, &w, &bias, &mut state, &mut signal, &mut field))
        });
        // What the CPU backend runs: W with aligned, padded columns.
        g.bench_function(BenchmarkId::new("step_siri_f32_padded", n), |b| {
            b.iter(|| {
                network::step_padded(
                    &params,
                    black_box(&padded),
                    &bias,
                    &mut state,
                    &mut signal,
                    &mut field,
                    None,
                )
            })
        });
        let mut w2 = w.clone();
        let m: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 0.3).collect();
        g.bench_function(BenchmarkId::new("hebbian_update_f32", n), |b| {
            b.iter(|| r.params.learning.update(black_box(&m), &mut w2))
        });
    }
    g.finish();
}

/// One tangent step `Q ← DF(t) Q` of the Lyapunov analysis (f32 tangents), with the QR every
/// 10 steps amortised over the iterations.
fn tangents(c: &mut Criterion) {
    let mut g = quick(c, "lyapunov_tangent_step");
    for (n, k) in [(100usize, 1usize), (100, 100), (400, 1)] {
        let r = spec(n, 1).replica(0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let q0 = random_orthonormal(n, k, &mut rng);
        let mut t =
            TangentSpace::<f32>::new(r.params.neuron.form, 1.0, &r.weights.get(), &q0, 10, 0);
        // f'(u) of a saturating siri network: small, with a few O(1) entries.
        let d: Vec<f64> = (0..n)
            .map(|i| if i % 7 == 0 { 2.5 } else { 0.05 })
            .collect();
        g.throughput(Throughput::Elements((n * n * k) as u64));
        let label = if k == n {
            "k_N".to_string()
        } else {
            format!("k_{k}")
        };
        g.bench_function(BenchmarkId::new(label, n), |b| {
            b.iter(|| t.step(black_box(&d)))
        });
    }
    g.finish();
}

/// One re-orthonormalisation of N = k = 100 f32 tangents: the Cholesky QR the analysis uses
/// (src/analysis/orthonormal.rs) against faer's Householder QR and thin Q (its fallback).
fn reorthonormalization(c: &mut Criterion) {
    let mut g = quick(c, "lyapunov_qr");
    let (n, k) = (100usize, 100usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let q0 = random_orthonormal(n, k, &mut rng);
    let mut q = TangentBlock::<f32>::from_f64(&q0);
    let mut work = CholeskyQr::new(n, k);
    g.bench_function(BenchmarkId::new("cholesky_qr", n), |b| {
        b.iter(|| {
            cholesky_qr(black_box(&mut q), &mut work, &Team::new(1)).expect("orthonormal input")
        })
    });
    g.bench_function(BenchmarkId::new("householder_thin_q", n), |b| {
        b.iter(|| {
            let qr = black_box(&q0).qr();
            (qr.thin_R()[(0, 0)], qr.compute_thin_Q())
        })
    });
    g.finish();
}

fn batch(c: &mut Criterion) {
    let mut g = quick(c, "cpu_batch_epoch");
    g.sample_size(10);
    let mut cpu = CpuBackend::new(0).expect("cpu backend");
    for learning in [false, true] {
        let schedule = Schedule {
            epochs: 1,
            transient_steps: 200,
            recorded_steps: 400,
            learning,
        };
        let name = if learning { "learning" } else { "dynamics" };
        for (n, replicas) in [(100usize, 256usize), (400, 32)] {
            let s = spec(n, replicas);
            let inits: Vec<_> = (0..replicas as u64).map(|r| s.replica(r)).collect();
            g.throughput(Throughput::Elements((n * n * replicas * 600) as u64));
            g.bench_function(BenchmarkId::new(format!("{name}_N{n}"), replicas), |b| {
                b.iter(|| {
                    cpu.run_batch(&schedule, Precision::F32, &inits, false, &mut [])
                        .expect("run")
                })
            });
        }
    }
    g.finish();
}

fn gpu_batch(c: &mut Criterion) {
    if context::hardware_adapter().is_none() {
        eprintln!(
            "gpu_batch_learning_epoch: skipped, no hardware GPU adapter (a software adapter \
             measures correctness, not GPU speed)"
        );
        return;
    }
    let mut gpu = GpuBackend::new().expect("gpu backend");
    let mut g = quick(c, "gpu_batch_learning_epoch");
    g.sample_size(10);
    let schedule = Schedule {
        epochs: 1,
        transient_steps: 200,
        recorded_steps: 400,
        learning: true,
    };
    for (n, replicas) in [(100usize, 4096usize), (400, 1024)] {
        let s = spec(n, replicas);
        let inits: Vec<_> = (0..replicas as u64).map(|r| s.replica(r)).collect();
        g.throughput(Throughput::Elements((n * n * replicas * 600) as u64));
        g.bench_function(BenchmarkId::new(format!("N{n}"), replicas), |b| {
            b.iter(|| {
                gpu.run_batch(&schedule, Precision::F32, &inits, false, &mut [])
                    .expect("run")
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    kernels,
    tangents,
    reorthonormalization,
    batch,
    gpu_batch
);
criterion_main!(benches);
