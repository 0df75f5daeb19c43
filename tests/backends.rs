//! The CPU and GPU backends against each other and against themselves.
//!
//! Documented tolerances (f32 on both sides, same summation order; differences come from fused
//! multiply-adds on the GPU and from WGSL's `tanh`, max abs error 1.8e-7 on lavapipe):
//! - one step of `neuron_update`, one `hebbian_update`: absolute 1e-6;
//! - 6,000 steps of a contracting (non-chaotic) network: absolute 1e-5;
//! - chaotic networks diverge after a few dozen steps on any two implementations: compared only
//!   through statistics (issue 3).

mod common;

use common::{gpu, max_diff, params, random_init};
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::{Backend, BatchOutput, Schedule};
use hebbnet::config::Precision;
use hebbnet::ensemble::ReplicaInit;
use hebbnet::model::{Activation, Form, PresynapticGate};

/// Absolute for values of order 1, relative for larger ones (see [`max_scaled_diff`]).
const ONE_STEP_TOLERANCE: f64 = 1e-6;

/// `max |a − b| / max(1, |b|)`.
fn max_scaled_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn schedule(epochs: usize, transient: usize, recorded: usize, learning: bool) -> Schedule {
    Schedule {
        epochs,
        transient_steps: transient,
        recorded_steps: recorded,
        learning,
    }
}

/// One batch mixing every form × activation with different gains and leaks.
fn mixed_batch(n: usize) -> Vec<ReplicaInit> {
    let mut out = Vec::new();
    for (k, form) in [Form::Rate, Form::Current].into_iter().enumerate() {
        for (l, act) in Activation::ALL.into_iter().enumerate() {
            let idx = (3 * k + l) as u64;
            // ReLU is unbounded: keep its loop gain below 1 so no run explodes.
            let gain = match act {
                Activation::Relu => 0.5,
                _ => 0.7 + 0.6 * l as f64 + k as f64,
            };
            let leak = [1.0, 0.3, 0.05][l];
            out.push(random_init(
                idx,
                n,
                params(form, act, gain, leak),
                1.5,
                100 + idx,
            ));
        }
    }
    out
}

fn run(b: &mut dyn Backend, s: &Schedule, p: Precision, r: &[ReplicaInit]) -> BatchOutput {
    b.run_batch(s, p, r, true, &mut []).expect("run_batch")
}

#[test]
fn one_neuron_update_step_matches_cpu_for_every_form_and_activation() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuBackend::new(2).unwrap();
    let mut worst: f64 = 0.0;
    // N = 37: one row per thread, a ragged unroll; N = 300: two rows per thread.
    for n in [37, 300] {
        let batch = mixed_batch(n);
        let s = schedule(1, 0, 1, false);
        let go = run(&mut g, &s, Precision::F32, &batch);
        let co = run(&mut c, &s, Precision::F32, &batch);
        for (k, init) in batch.iter().enumerate() {
            let d = max_scaled_diff(&go.finals[k].state, &co.finals[k].state);
            let what = format!(
                "N = {n}, {:?}/{:?}",
                init.params.neuron.form, init.params.neuron.activation
            );
            assert!(d < ONE_STEP_TOLERANCE, "{what}: state differs by {d}");
            worst = worst.max(d);
            assert!(
                max_diff(&go.finals[k].state, &init.state) > 1e-3,
                "{what}: the step did not move the state"
            );
        }
        let e = (&go.epochs[0], &co.epochs[0]);
        for (name, a, b) in [
            ("reference", &e.0.reference, &e.1.reference),
            ("S1", &e.0.shifted_sum, &e.1.shifted_sum),
            ("S2", &e.0.shifted_sq_sum, &e.1.shifted_sq_sum),
        ] {
            let d = max_scaled_diff(a, b);
            assert!(d < ONE_STEP_TOLERANCE, "N = {n}: {name} differs by {d}");
        }
        // Weight statistics: f32 partial sums on the GPU, f64 on the CPU.
        for k in 0..batch.len() {
            let (gs, cs) = (e.0.weight_sq_sum[k], e.1.weight_sq_sum[k]);
            assert!((gs - cs).abs() < 1e-5 * cs, "Σw² {gs} vs {cs}");
            assert!((e.0.weight_sum[k] - e.1.weight_sum[k]).abs() < 1e-4);
        }
    }
    eprintln!("measured: one neuron_update step, max scaled |GPU − CPU| = {worst:.2e}");
}

#[test]
fn one_hebbian_update_matches_cpu_for_every_option() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuBackend::new(2).unwrap();
    let n = 50;
    let mut batch = Vec::new();
    for (k, (gate, sign)) in [
        (PresynapticGate::Heaviside, false),
        (PresynapticGate::None, false),
        (PresynapticGate::Heaviside, true),
        (PresynapticGate::None, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = params(Form::Rate, Activation::Siri, 2.0, 1.0);
        p.learning.presynaptic_gate = gate;
        p.learning.sign_preserving = sign;
        p.learning.learning_rate = 40.0; // large, so that sign-preserving clamps do happen
        p.learning.activity_threshold = 0.3 + 0.05 * k as f64;
        let mut init = random_init(k as u64, n, p, 1.0, 7 + k as u64);
        init.weights[3] = 0.0; // an absent synapse
        batch.push(init);
    }
    let s = schedule(1, 0, 1, true);
    let go = run(&mut g, &s, Precision::F32, &batch);
    let co = run(&mut c, &s, Precision::F32, &batch);
    for (k, init) in batch.iter().enumerate() {
        let d = max_diff(&go.finals[k].weights, &co.finals[k].weights);
        assert!(d < ONE_STEP_TOLERANCE, "replica {k}: weights differ by {d}");
        assert_eq!(
            go.finals[k].weights[3], 0.0,
            "absent synapse grew on the GPU"
        );
        let changed = max_diff(&co.finals[k].weights, &init.weights);
        assert!(changed > 1e-2, "the update did nothing (replica {k})");
    }
    let worst = (0..batch.len())
        .map(|k| max_diff(&go.finals[k].weights, &co.finals[k].weights))
        .fold(0.0, f64::max);
    eprintln!("measured: one hebbian_update, max |GPU − CPU| = {worst:.2e}");
    let zeros = |o: &BatchOutput| o.finals[2].weights.iter().filter(|&&w| w == 0.0).count();
    assert!(zeros(&co) > 1, "no sign-preserving clamp happened");
    assert_eq!(zeros(&go), zeros(&co));
}

/// A contracting current-form network with a slow leak (a = 0.001) still moves after 6,000
/// steps, so a shader loop that ended early (lavapipe's silent 65,535 back-edge cap) would leave
/// it far from the CPU's state.
#[test]
fn long_gpu_run_matches_cpu_past_the_lavapipe_loop_cap() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuBackend::new(2).unwrap();
    let n = 100;
    let batch: Vec<_> = (0..4)
        .map(|k| {
            random_init(
                k,
                n,
                params(Form::Current, Activation::Tanh, 1.0, 0.001),
                0.5,
                40 + k,
            )
        })
        .collect();
    let s = schedule(1, 0, 6000, false);
    let go = run(&mut g, &s, Precision::F32, &batch);
    let co = run(&mut c, &s, Precision::F32, &batch);
    let short = run(&mut c, &schedule(1, 0, 600, false), Precision::F32, &batch);
    for k in 0..batch.len() {
        let d = max_diff(&go.finals[k].state, &co.finals[k].state);
        assert!(
            d < 1e-5,
            "replica {k}: state after 6000 steps differs by {d}"
        );
        let moved = max_diff(&co.finals[k].state, &short.finals[k].state);
        assert!(
            moved > 0.1,
            "the test network stopped moving too early ({moved})"
        );
    }
    let d = max_diff(&go.epochs[0].shifted_sum, &co.epochs[0].shifted_sum);
    assert!(d < 6000.0 * 1e-5, "recorded sums differ by {d}");
    let worst = (0..batch.len())
        .map(|k| max_diff(&go.finals[k].state, &co.finals[k].state))
        .fold(0.0, f64::max);
    eprintln!("measured: 6000 steps, max |GPU − CPU| state = {worst:.2e}, Σ recorded = {d:.2e}");
}

#[test]
fn f32_and_f64_cpu_runs_agree_on_a_contracting_network() {
    let mut c = CpuBackend::new(2).unwrap();
    let batch: Vec<_> = (0..3)
        .map(|k| {
            random_init(
                k,
                60,
                params(Form::Rate, Activation::Siri, 1.0, 0.2),
                0.8,
                k,
            )
        })
        .collect();
    let s = schedule(3, 100, 300, true);
    let a = run(&mut c, &s, Precision::F32, &batch);
    let b = run(&mut c, &s, Precision::F64, &batch);
    for k in 0..3 {
        let d = max_diff(&a.finals[k].weights, &b.finals[k].weights);
        assert!(d < 1e-5, "weights differ by {d}");
    }
}

/// The same tests on every backend, so none falls behind.
macro_rules! determinism_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            fn backend() -> Option<Box<dyn Backend>> {
                $make
            }

            #[test]
            fn same_seed_gives_bitwise_equal_results() {
                let Some(mut b) = backend() else { return };
                let batch = mixed_batch(40);
                let s = schedule(3, 20, 50, true);
                let x = run(b.as_mut(), &s, Precision::F32, &batch);
                let y = run(b.as_mut(), &s, Precision::F32, &batch);
                assert!(x
                    .finals
                    .iter()
                    .all(|f| f.state.iter().all(|v| v.is_finite())));
                assert_eq!(x, y);
            }

            #[test]
            fn batch_size_does_not_change_any_replica() {
                let Some(mut b) = backend() else { return };
                let n = 24;
                let batch: Vec<_> = (0..64)
                    .map(|k| {
                        let act = Activation::ALL[k % 3];
                        let gain = match act {
                            Activation::Relu => 0.5,
                            _ => 1.0 + (k % 5) as f64,
                        };
                        random_init(
                            k as u64,
                            n,
                            params(Form::Rate, act, gain, 1.0),
                            1.2,
                            k as u64,
                        )
                    })
                    .collect();
                let s = schedule(2, 10, 30, true);
                let whole = run(b.as_mut(), &s, Precision::F32, &batch);
                for k in [0usize, 17, 63] {
                    let single = run(b.as_mut(), &s, Precision::F32, &batch[k..k + 1]);
                    assert_eq!(single.finals[0], whole.finals[k], "replica {k}");
                    for (e1, e64) in single.epochs.iter().zip(&whole.epochs) {
                        assert_eq!(e1.state[..], e64.state[k * n..(k + 1) * n]);
                        assert_eq!(e1.shifted_sum[..], e64.shifted_sum[k * n..(k + 1) * n]);
                        assert_eq!(e1.weight_sq_sum[0], e64.weight_sq_sum[k]);
                    }
                }
            }
        }
    };
}

determinism_suite!(cpu, Some(Box::new(CpuBackend::new(2).unwrap())));
determinism_suite!(gpu_backend, gpu().map(|g| Box::new(g) as Box<dyn Backend>));

#[test]
fn cpu_thread_count_does_not_change_results() {
    let batch = mixed_batch(30);
    let s = schedule(2, 10, 40, true);
    let one = run(&mut CpuBackend::new(1).unwrap(), &s, Precision::F32, &batch);
    let two = run(&mut CpuBackend::new(2).unwrap(), &s, Precision::F32, &batch);
    assert_eq!(one, two);
}
