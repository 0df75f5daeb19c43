//! Criterion benches of the CPU kernels and of a whole CPU batch, at the sizes users run.
//!
//! `cargo bench --bench kernels`. Throughput is reported in synapse updates (elements), so
//! criterion prints synapse updates per second directly. GPU figures come from `hebbnet run` on
//! a real GPU (BENCHMARKS.md): a software adapter says nothing about GPU speed.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::{Backend, Schedule};
use hebbnet::config::{Config, Precision};
use hebbnet::ensemble::EnsembleSpec;
use hebbnet::model::network::{self, local_field};
use std::hint::black_box;

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

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_replica_one_step");
    for n in [100usize, 400, 1000] {
        let r = spec(n, 1).replica(0);
        let w: Vec<f32> = r.weights.iter().map(|&v| v as f32).collect();
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
        let mut w2 = w.clone();
        let m: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 0.3).collect();
        g.bench_function(BenchmarkId::new("hebbian_update_f32", n), |b| {
            b.iter(|| r.params.learning.update(black_box(&m), &mut w2))
        });
    }
    g.finish();
}

fn batch(c: &mut Criterion) {
    let mut g = c.benchmark_group("cpu_batch_learning_epoch");
    g.sample_size(10);
    let schedule = Schedule {
        epochs: 1,
        transient_steps: 200,
        recorded_steps: 400,
        learning: true,
    };
    let mut cpu = CpuBackend::new(0).expect("cpu backend");
    for (n, replicas) in [(100usize, 256usize), (400, 32)] {
        let s = spec(n, replicas);
        let inits: Vec<_> = (0..replicas as u64).map(|r| s.replica(r)).collect();
        g.throughput(Throughput::Elements((n * n * replicas * 600) as u64));
        g.bench_function(BenchmarkId::new(format!("N{n}"), replicas), |b| {
            b.iter(|| {
                cpu.run_batch(&schedule, Precision::F32, &inits, false, &mut [])
                    .expect("run")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, kernels, batch);
criterion_main!(benches);
