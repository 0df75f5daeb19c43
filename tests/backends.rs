//! The CPU and GPU backends against each other and against themselves.
//!
//! Documented tolerances (f32 on both sides, same summation order; differences come from fused
//! multiply-adds on the GPU and from WGSL's `tanh`, max abs error 1.8e-7 on lavapipe):
//! - one step of `neuron_update`, one `hebbian_update`: absolute 1e-6;
//! - 6,000 steps of a contracting (non-chaotic) network: absolute 1e-5;
//! - chaotic networks diverge after a few dozen steps on any two implementations: compared only
//!   through statistics (issue 3).
//!
//! On lavapipe (llvmpipe) the GPU kernels compute exactly what the CPU twin computes (no fused
//! multiply-adds, the same summation order, the shared rational tanh): the weight-variant tests
//! below require bitwise equality there and the tolerances above elsewhere.

mod common;

use common::{gpu, gpu_with, max_diff, params, random_init};
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::gpu::{largest_resident_n, GpuBackend, GpuOptions};
use hebbnet::backend::{Backend, BatchOutput, KernelVariant, Schedule, TraceObserver};
use hebbnet::config::{Precision, WeightStorage, WeightsInWorkgroup};
use hebbnet::ensemble::ReplicaInit;
use hebbnet::model::analog::{Activation, Form, PresynapticGate};
use hebbnet::model::f16::round_to_f16;
use hebbnet::Error;

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
        init.weights.given_mut()[3] = 0.0; // an absent synapse
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
        let changed = max_diff(&co.finals[k].weights, &init.weights.get());
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
/// it far from the CPU's state. Run for `W` read from global memory (f32) and for `W` copied
/// into workgroup memory (f32 and f16), whose copy loop also counts against the cap.
#[test]
fn long_gpu_run_matches_cpu_past_the_lavapipe_loop_cap() {
    let Some(probe) = gpu() else { return };
    let limit = probe.adapter().max_compute_workgroup_storage_size as u64;
    drop(probe);
    for (storage, placement, n) in [
        (WeightStorage::F32, WeightsInWorkgroup::Never, 100),
        (
            WeightStorage::F32,
            WeightsInWorkgroup::Always,
            largest_resident_n(limit, WeightStorage::F32).min(100),
        ),
        (
            WeightStorage::F16,
            WeightsInWorkgroup::Always,
            largest_resident_n(limit, WeightStorage::F16).min(100),
        ),
    ] {
        let options = GpuOptions {
            weights_in_workgroup: placement,
            weight_storage: storage,
            ..GpuOptions::default()
        };
        let mut g = gpu_with(options).expect("the adapter found above");
        let mut c = CpuBackend::new(2).unwrap().with_weight_storage(storage);
        eprintln!("{}", g.kernel_variant(n).unwrap().line());
        long_run(&mut g, &mut c, n);
    }
}

/// The 6,000-step run with partial residency (a third of `W`'s columns in workgroup memory, the
/// rest read from global memory every step), whose split column loops and copy loop count
/// against the cap: f32 and f16 at N = 100, bitwise equal to the CPU twin on lavapipe.
#[test]
fn long_partial_residency_run_matches_cpu_past_the_lavapipe_loop_cap() {
    let Some(probe) = gpu() else { return };
    let exact = is_lavapipe(&probe);
    drop(probe);
    let n = 100;
    for storage in [WeightStorage::F32, WeightStorage::F16] {
        let (options, columns) = partial_options(n, storage, false);
        let mut g = gpu_with(options).expect("the adapter found above");
        let variant = g.kernel_variant(n).unwrap();
        assert_eq!(variant.weights_read_from, "partial");
        assert_eq!(variant.resident_columns, Some(columns));
        let mut c = CpuBackend::new(2).unwrap().with_weight_storage(storage);
        eprintln!("{}", variant.line());
        let worst = long_run(&mut g, &mut c, n);
        if exact {
            assert_eq!(
                worst,
                0.0,
                "{}: not bitwise equal on lavapipe",
                variant.line()
            );
        }
    }
}

/// A kernel variant for the test log: its line, and the f16 decode when there is one.
fn described(variant: &KernelVariant) -> String {
    match variant.f16_decode {
        Some(d) => format!("{}, {d} decode", variant.line()),
        None => variant.line(),
    }
}

/// Options that leave room in workgroup memory (`backend.workgroup_memory_bytes`) for the
/// signal and an odd number c ≈ N/3 of `W`'s columns — ⌈cN/2⌉ words with f16 — and the column
/// count `"auto"` then keeps resident: c, or with f16 and N odd c − 1, since c·N elements would
/// end on half a pair.
fn partial_options(n: usize, storage: WeightStorage, portable: bool) -> (GpuOptions, usize) {
    let target = (n / 3) | 1;
    let words = match storage {
        WeightStorage::F32 => target * n,
        WeightStorage::F16 => (target * n).div_ceil(2),
    };
    let options = GpuOptions {
        weights_in_workgroup: WeightsInWorkgroup::Auto,
        weight_storage: storage,
        workgroup_memory_bytes: Some(4 * (n + words) as u64),
        portable_f16_decode: portable,
    };
    let expected = match storage {
        WeightStorage::F16 if n % 2 == 1 => target - 1,
        _ => target,
    };
    (options, expected)
}

/// Returns the largest |GPU − CPU| of the final states.
fn long_run(g: &mut GpuBackend, c: &mut CpuBackend, n: usize) -> f64 {
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
    let go = run(g, &s, Precision::F32, &batch);
    let co = run(c, &s, Precision::F32, &batch);
    let short = run(c, &schedule(1, 0, 600, false), Precision::F32, &batch);
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
    worst.max(d)
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

// ---- Weight variants: W in workgroup or global memory, f32 or f16 storage ----

/// Both forms × every activation, contracting (loop gain below 1), so that runs of a few hundred
/// steps stay comparable under any rounding difference.
fn contracting_batch(n: usize) -> Vec<ReplicaInit> {
    let mut out = Vec::new();
    for (k, form) in [Form::Rate, Form::Current].into_iter().enumerate() {
        for (l, act) in Activation::ALL.into_iter().enumerate() {
            let idx = (3 * k + l) as u64;
            let gain = match act {
                Activation::Siri => 1.5,
                Activation::Tanh => 0.9,
                Activation::Relu => 0.5,
            };
            let leak = [1.0, 0.3, 0.05][l];
            out.push(random_init(
                idx,
                n,
                params(form, act, gain, leak),
                0.8,
                300 + idx,
            ));
        }
    }
    out
}

/// Largest |GPU − CPU| over the final states and weights and every epoch's sums; with `exact`,
/// every one of them must be bitwise equal.
fn compare(g: &BatchOutput, c: &BatchOutput, exact: bool, tolerance: f64, what: &str) -> f64 {
    let mut worst: f64 = 0.0;
    let mut check = |name: &str, a: &[f64], b: &[f64]| {
        let d = max_diff(a, b);
        assert!(
            d <= tolerance,
            "{what}: {name} differs by {d:e} (tolerance {tolerance:e})"
        );
        if exact {
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{what}: {name} is not bitwise equal on lavapipe (max difference {d:e})"
            );
        }
        worst = worst.max(d);
    };
    for (k, (gf, cf)) in g.finals.iter().zip(&c.finals).enumerate() {
        check(&format!("replica {k} state"), &gf.state, &cf.state);
        check(&format!("replica {k} weights"), &gf.weights, &cf.weights);
    }
    assert_eq!(g.epochs.len(), c.epochs.len());
    for (e, (ge, ce)) in g.epochs.iter().zip(&c.epochs).enumerate() {
        check(
            &format!("epoch {e} reference"),
            &ge.reference,
            &ce.reference,
        );
        check(&format!("epoch {e} S1"), &ge.shifted_sum, &ce.shifted_sum);
        check(
            &format!("epoch {e} S2"),
            &ge.shifted_sq_sum,
            &ce.shifted_sq_sum,
        );
        check(&format!("epoch {e} state"), &ge.state, &ce.state);
    }
    worst
}

/// Bitwise agreement is what lavapipe gives (see the module doc); other drivers may fuse.
fn is_lavapipe(g: &GpuBackend) -> bool {
    g.adapter().name.contains("llvmpipe")
}

/// Every combination of storage (f32, f16) and placement (workgroup, global memory), and both
/// f16 decodes, against the CPU twin with the same storage: 600 steps and two Hebbian updates
/// on both forms and every activation, at N = 37 (fits workgroup memory in either storage) and
/// at the smallest N whose f32 `W` does not fit (91 on lavapipe's 32 KiB; its f16 `W` does),
/// where `"auto"` keeps the largest prefix of columns that fits (partial residency).
#[test]
fn every_weight_variant_matches_the_cpu_twin() {
    let Some(probe) = gpu() else { return };
    let limit = probe.adapter().max_compute_workgroup_storage_size as u64;
    let exact = is_lavapipe(&probe);
    drop(probe);
    let s = schedule(2, 50, 250, true);
    let big = largest_resident_n(limit, WeightStorage::F32) + 1;
    let mut covered = std::collections::BTreeSet::new();
    for storage in [WeightStorage::F32, WeightStorage::F16] {
        let mut cpu = CpuBackend::new(2).unwrap().with_weight_storage(storage);
        for n in [37, big] {
            let batch = contracting_batch(n);
            let co = run(&mut cpu, &s, Precision::F32, &batch);
            let fits = largest_resident_n(limit, storage) >= n;
            let mut variants = vec![
                (WeightsInWorkgroup::Never, false),
                (WeightsInWorkgroup::Auto, false),
            ];
            if fits {
                variants.push((WeightsInWorkgroup::Always, false));
            }
            if storage == WeightStorage::F16 {
                variants.push((WeightsInWorkgroup::Never, true));
                variants.push((WeightsInWorkgroup::Auto, true));
            }
            for (placement, portable) in variants {
                let options = GpuOptions {
                    weights_in_workgroup: placement,
                    weight_storage: storage,
                    portable_f16_decode: portable,
                    ..GpuOptions::default()
                };
                let mut g = gpu_with(options).expect("the adapter found above");
                let variant = g.kernel_variant(n).unwrap();
                let expected = match placement {
                    WeightsInWorkgroup::Never => "global",
                    _ if fits => "workgroup",
                    _ => "partial",
                };
                assert_eq!(
                    variant.weights_read_from, expected,
                    "{placement:?}, N = {n}"
                );
                assert_eq!(variant.weight_storage, storage.name());
                let what = format!("{} ({placement:?})", described(&variant));
                let go = run(&mut g, &s, Precision::F32, &batch);
                let d = compare(&go, &co, exact, 1e-5, &what);
                covered.insert((storage.name(), variant.weights_read_from));
                eprintln!("measured: {what}: max |GPU − CPU| = {d:.1e}");
            }
        }
    }
    assert_eq!(covered.len(), 5, "not every variant ran: {covered:?}");
}

/// Partial residency against the CPU twin with the same storage: `backend.workgroup_memory_bytes`
/// leaves room for about a third of the columns (f32: 13 of 37, 31 of 91; f16: 12 and 30, see
/// [`partial_options`]), so the local field reads the first columns from workgroup memory and
/// the rest from global memory. N odd (37, 91) makes N² odd, so the f16 tile must end on a whole
/// pair. Both forms, every activation, 600
/// steps and two Hebbian updates; f32 and f16 storage, both f16 decodes. Bitwise on lavapipe:
/// any element read from the wrong place (the tile's offset, the boundary column, the global
/// offset) changes the random `W`'s products.
#[test]
fn partial_residency_matches_the_cpu_twin_bitwise() {
    let Some(probe) = gpu() else { return };
    let exact = is_lavapipe(&probe);
    drop(probe);
    let s = schedule(2, 50, 250, true);
    for storage in [WeightStorage::F32, WeightStorage::F16] {
        let mut cpu = CpuBackend::new(2).unwrap().with_weight_storage(storage);
        for n in [37, 91] {
            let batch = contracting_batch(n);
            let co = run(&mut cpu, &s, Precision::F32, &batch);
            let decodes: &[bool] = match storage {
                WeightStorage::F32 => &[false],
                WeightStorage::F16 => &[false, true],
            };
            for &portable in decodes {
                let (options, columns) = partial_options(n, storage, portable);
                assert!(
                    columns > 0 && 3 * columns <= n + 3,
                    "N = {n}: {columns} columns"
                );
                if storage == WeightStorage::F16 {
                    assert_eq!(columns * n % 2, 0, "a partial f16 tile holds whole pairs");
                }
                let mut g = gpu_with(options).expect("the adapter found above");
                let variant = g.kernel_variant(n).unwrap();
                assert_eq!(variant.weights_read_from, "partial", "N = {n}");
                assert_eq!(variant.resident_columns, Some(columns));
                assert!(variant.workgroup_bytes <= options.workgroup_memory_bytes);
                assert_eq!(
                    variant.placement.as_deref(),
                    Some(
                        format!(
                            "W: {columns} of {n} columns in workgroup memory ({}), {} read from \
                             global memory",
                            storage.name(),
                            n - columns
                        )
                        .as_str()
                    )
                );
                let what = described(&variant);
                let go = run(&mut g, &s, Precision::F32, &batch);
                let d = compare(&go, &co, exact, 1e-5, &what);
                eprintln!("measured: {what}: max |GPU − CPU| = {d:.1e}");
            }
        }
    }
}

/// `backend.workgroup_memory_bytes` is checked against the adapter: above its limit or 0 is a
/// config error naming the key and the limit; too small for the signal, one naming the size
/// needed; and under a cap `"always"` names the cap and the adapter's limit.
#[test]
fn workgroup_memory_cap_is_validated_against_the_adapter() {
    let Some(probe) = gpu() else { return };
    let limit = probe.adapter().max_compute_workgroup_storage_size as u64;
    drop(probe);
    let with = |placement, cap| {
        GpuBackend::with_options(GpuOptions {
            weights_in_workgroup: placement,
            workgroup_memory_bytes: Some(cap),
            ..GpuOptions::default()
        })
    };
    let config_error = |e: Error, key: &str, needles: &[String]| match e {
        Error::Config { path, message } => {
            assert_eq!(path, key, "{message}");
            for n in needles {
                assert!(message.contains(n.as_str()), "{message} lacks {n}");
            }
        }
        other => panic!("expected a config error, got {other}"),
    };
    let key = "backend.workgroup_memory_bytes";
    let above = with(WeightsInWorkgroup::Auto, limit + 1)
        .err()
        .expect("refused");
    config_error(above, key, &[limit.to_string(), (limit + 1).to_string()]);
    config_error(
        with(WeightsInWorkgroup::Auto, 0).err().expect("refused"),
        key,
        &[],
    );
    // The whole limit is allowed and means the same as no cap.
    let whole = with(WeightsInWorkgroup::Auto, limit).unwrap();
    let plain = gpu().unwrap();
    for n in [37, 100, 300] {
        assert_eq!(
            whole.kernel_variant(n).unwrap().resident_columns,
            plain.kernel_variant(n).unwrap().resident_columns
        );
    }
    // 1 KiB holds the signal and 5 columns at N = 37 (4·(37 + 37c) ≤ 1024), not N = 300's
    // signal (1,204 bytes with the unused one-word tile).
    let small = with(WeightsInWorkgroup::Auto, 1024).unwrap();
    assert_eq!(small.kernel_variant(37).unwrap().resident_columns, Some(5));
    config_error(
        small.kernel_variant(300).unwrap_err(),
        key,
        &["1204".to_string()],
    );
    let always = with(WeightsInWorkgroup::Always, 1024).unwrap();
    assert_eq!(
        always.kernel_variant(10).unwrap().weights_read_from,
        "workgroup"
    );
    config_error(
        always.kernel_variant(37).unwrap_err(),
        "backend.weights_in_workgroup",
        &[
            "1024".to_string(),
            limit.to_string(),
            "max_compute_workgroup_storage_size".to_string(),
            "backend.workgroup_memory_bytes".to_string(),
        ],
    );
}

/// `"always"` refuses, naming the limit, when `W` does not fit; `"auto"` then keeps the largest
/// prefix of columns that fits (partial residency).
#[test]
fn weights_always_in_workgroup_names_the_limit_when_they_do_not_fit() {
    let always = GpuOptions {
        weights_in_workgroup: WeightsInWorkgroup::Always,
        ..GpuOptions::default()
    };
    let Some(mut g) = gpu_with(always) else {
        return;
    };
    let limit = g.adapter().max_compute_workgroup_storage_size as u64;
    let fit = largest_resident_n(limit, WeightStorage::F32);
    assert_eq!(
        g.kernel_variant(fit).unwrap().weights_read_from,
        "workgroup"
    );
    assert!(g.kernel_variant(fit).unwrap().workgroup_bytes.unwrap() <= limit);
    let check = |e: Error| match e {
        Error::Config { path, message } => {
            assert_eq!(path, "backend.weights_in_workgroup");
            assert!(
                message.contains("max_compute_workgroup_storage_size")
                    && message.contains(&limit.to_string()),
                "{message}"
            );
        }
        other => panic!("expected a config error, got {other}"),
    };
    check(g.kernel_variant(fit + 1).unwrap_err());
    check(g.batch_capacity(fit + 1, Precision::F32).unwrap_err());
    let batch = contracting_batch(fit + 1);
    check(
        g.run_batch(
            &schedule(1, 0, 1, false),
            Precision::F32,
            &batch,
            false,
            &mut [],
        )
        .unwrap_err(),
    );
    let auto = gpu().expect("the adapter found above");
    assert_eq!(
        auto.kernel_variant(fit).unwrap().weights_read_from,
        "workgroup"
    );
    // One more neuron: all but the last column or two still fit, the rest is read from global
    // memory.
    let partial = auto.kernel_variant(fit + 1).unwrap();
    assert_eq!(partial.weights_read_from, "partial");
    let columns = partial.resident_columns.unwrap();
    assert!(columns > 0 && columns < fit + 1, "{columns}");
    assert!(partial.workgroup_bytes.unwrap() <= limit);
}

/// Records the `W` each epoch starts with, as the analysis sees it.
#[derive(Default)]
struct WeightsSeen {
    epochs: Vec<Vec<f64>>,
}

impl TraceObserver for WeightsSeen {
    fn begin_epoch(&mut self, _epoch: usize, weights: &[f64]) {
        self.epochs.push(weights.to_vec());
    }
    fn step(&mut self, _derivative: &[f64], _state: &[f64]) {}
    fn end_epoch(&mut self) {}
    fn needs_full_window(&self) -> bool {
        false
    }
    fn tail_steps(&self) -> usize {
        1
    }
}

/// The f16 copy of `W` (rounded on the GPU by `pack_weights`, on the CPU by
/// `model::f16`) is bitwise the same on both backends and is IEEE round-to-nearest-even:
/// ties, f16 subnormals, underflow to −0, the largest finite f16. The analysis sees this copy.
#[test]
fn f16_weights_round_to_nearest_even_on_both_backends() {
    let options = GpuOptions {
        weight_storage: WeightStorage::F16,
        ..GpuOptions::default()
    };
    let Some(mut g) = gpu_with(options) else {
        return;
    };
    let exact = is_lavapipe(&g);
    let mut c = CpuBackend::new(2)
        .unwrap()
        .with_weight_storage(WeightStorage::F16);
    let n = 9; // N² = 81 is odd: the last f16 word holds one weight
    let p = |e: i32| 2f64.powi(e);
    let special: [(f64, f64); 12] = [
        (1.0 + p(-11), 1.0),               // tie → even
        (1.0 + 3.0 * p(-11), 1.0 + p(-9)), // tie → even
        (-(1.0 + p(-11)), -1.0),
        (p(-25), 0.0),          // half the smallest subnormal: tie → 0
        (3.0 * p(-25), p(-23)), // tie → even subnormal
        (1e-6, 17.0 * p(-24)),  // subnormal: round(16.78) · 2⁻²⁴
        (-1e-9, -0.0),          // underflow keeps the sign
        (65519.0, 65504.0),     // the largest finite f16
        (0.1, 0.0999755859375), // 1638/16384
        (-1.0 / 3.0, -0.333251953125),
        (0.0, 0.0),
        (1.0 + p(-10), 1.0 + p(-10)), // exactly representable
    ];
    let mut init = random_init(0, n, params(Form::Rate, Activation::Tanh, 1.0, 1.0), 1.0, 5);
    init.weights.given_mut()[n * n - 1] = 0.7 + p(-12); // the lone weight of the last word
    for (k, &(w, _)) in special.iter().enumerate() {
        init.weights.given_mut()[k] = w;
    }
    let s = schedule(2, 5, 5, true);
    let seen = |b: &mut dyn Backend| {
        let mut o = WeightsSeen::default();
        let mut observers: Vec<&mut dyn TraceObserver> = vec![&mut o];
        b.run_batch(
            &s,
            Precision::F32,
            std::slice::from_ref(&init),
            true,
            &mut observers,
        )
        .unwrap();
        o.epochs
    };
    let (gw, cw) = (seen(&mut g), seen(&mut c));
    assert_eq!((gw.len(), cw.len()), (2, 2));
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&gw[0]),
        bits(&cw[0]),
        "f16 copies of the uploaded W differ"
    );
    for (k, &(w, expect)) in special.iter().enumerate() {
        assert_eq!(
            cw[0][k].to_bits(),
            expect.to_bits(),
            "f16({w:e}) = {}",
            cw[0][k]
        );
    }
    for (k, &w) in init.weights.get().iter().enumerate() {
        assert_eq!(cw[0][k], round_to_f16(w as f32) as f64, "element {k}");
    }
    assert_eq!(gw[0][n * n - 1], 0.7001953125); // 0.7 + 2⁻¹² rounds up: 717/1024
                                                // After the update, the refreshed copy is f16-valued and (on lavapipe) equal.
    for v in gw[1].iter().chain(&cw[1]) {
        assert_eq!(round_to_f16(*v as f32) as f64, *v);
    }
    assert_ne!(
        cw[1], cw[0],
        "the f16 copy was not refreshed after learning"
    );
    if exact {
        assert_eq!(bits(&gw[1]), bits(&cw[1]));
    }
}

/// f16 storage changes the dynamics by about the f16 rounding of `W` (relative 2⁻¹¹ ≈ 5e-4 per
/// weight, less after summation): measurably, not wildly. Learning keeps an f32 master, so the
/// learned weights differ from the f32 run's only through the slightly different activity, and
/// updates below half an f16 ulp still accumulate.
#[test]
fn f16_weights_change_results_by_about_their_rounding_and_learning_keeps_an_f32_master() {
    let n = 64;
    let batch = contracting_batch(n);
    let s = schedule(2, 100, 200, true);
    let mut f32_cpu = CpuBackend::new(2).unwrap();
    let mut f16_cpu = CpuBackend::new(2)
        .unwrap()
        .with_weight_storage(WeightStorage::F16);
    let a = run(&mut f32_cpu, &s, Precision::F32, &batch);
    let b = run(&mut f16_cpu, &s, Precision::F32, &batch);
    let relative =
        |x: &[f64], y: &[f64]| max_diff(x, y) / y.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let mut state_rel = Vec::new();
    for (k, init) in batch.iter().enumerate() {
        let what = format!(
            "{:?}/{:?}",
            init.params.neuron.form, init.params.neuron.activation
        );
        let r = relative(&b.finals[k].state, &a.finals[k].state);
        assert!(r > 1e-6 && r < 1e-2, "{what}: state changed by {r:e}");
        let w = relative(&b.finals[k].weights, &a.finals[k].weights);
        assert!(w < 1e-4, "{what}: learned weights changed by {w:e}");
        state_rel.push(r);
        // The master is not rounded: almost no learned weight is an f16 value.
        let f16_valued = b.finals[k]
            .weights
            .iter()
            .filter(|&&v| round_to_f16(v as f32) as f64 == v)
            .count();
        assert!(
            f16_valued < n * n / 20,
            "{what}: {f16_valued} f16-valued weights"
        );
    }
    state_rel.sort_by(f64::total_cmp);
    let median = state_rel[state_rel.len() / 2];
    assert!(median > 2e-5 && median < 3e-3, "median change {median:e}");
    eprintln!(
        "measured: f16 vs f32 weights, relative change of the final state: median {median:.1e}, \
         max {:.1e}",
        state_rel.last().unwrap()
    );

    // No forgetting and a tiny rate: each update (~1e-6) is far below half an f16 ulp of the
    // weights (~3e-5), yet the master accumulates it.
    let mut slow = batch[0].clone();
    slow.params.learning.forgetting = 1.0;
    slow.params.learning.learning_rate = 1e-3;
    let out = run(
        &mut f16_cpu,
        &schedule(3, 50, 50, true),
        Precision::F32,
        std::slice::from_ref(&slow),
    );
    let slow_w = slow.weights.get();
    let moved: Vec<f64> = out.finals[0]
        .weights
        .iter()
        .zip(slow_w.iter())
        .map(|(w, w0)| (w - (*w0 as f32) as f64).abs())
        .collect();
    let below_half_ulp = moved
        .iter()
        .zip(slow_w.iter())
        .filter(|(&d, &w0)| d > 0.0 && d < (round_to_f16(w0 as f32) as f64).abs() * 2f64.powi(-12))
        .count();
    assert!(
        below_half_ulp > n * n / 4,
        "only {below_half_ulp} weights accumulated sub-ulp updates"
    );
}

/// A batch gives the same numbers whether the CPU backend spreads it over its threads or, on a
/// machine whose CPUs are all busy, runs it on one thread (issue 12): learning, the final state
/// and the observers' trajectories alike.
#[test]
fn cpu_batch_on_a_saturated_machine_gives_the_same_numbers() {
    let p = params(Form::Rate, Activation::Siri, 5.0, 1.0);
    let inits: Vec<ReplicaInit> = (0..6).map(|r| random_init(r, 24, p, 1.0, 7)).collect();
    let s = schedule(3, 20, 30, true);
    let run = |saturated: bool| {
        let mut cpu = CpuBackend::new(2).unwrap().assume_saturated(saturated);
        let mut recorders: Vec<Recorder> = (0..inits.len()).map(|_| Recorder::default()).collect();
        let mut observers: Vec<&mut dyn TraceObserver> = recorders
            .iter_mut()
            .map(|r| r as &mut dyn TraceObserver)
            .collect();
        let out = cpu
            .run_batch(&s, Precision::F64, &inits, true, &mut observers)
            .unwrap();
        (out, recorders)
    };
    let (spread, spread_seen) = run(false);
    let (one, one_seen) = run(true);
    assert_eq!(spread, one);
    assert_eq!(spread_seen.len(), one_seen.len());
    for (a, b) in spread_seen.iter().zip(&one_seen) {
        assert!(!a.states.is_empty());
        assert_eq!(a.states, b.states);
    }
}

/// Keeps every state an observer is shown.
#[derive(Default)]
struct Recorder {
    states: Vec<f64>,
}

impl TraceObserver for Recorder {
    fn begin_epoch(&mut self, _epoch: usize, _weights: &[f64]) {}
    fn step(&mut self, _derivative: &[f64], state: &[f64]) {
        self.states.extend_from_slice(state);
    }
    fn end_epoch(&mut self) {}
    fn needs_full_window(&self) -> bool {
        true
    }
    fn tail_steps(&self) -> usize {
        0
    }
}

/// Two populations (`weights.excitatory_fraction`) drawn through the config and the ensemble,
/// then learning under Dale's law on both backends: after three epochs of strong Hebbian updates
/// every column keeps its population's sign, some updates were clamped to 0, and the GPU
/// computes what the CPU twin computes (bitwise on lavapipe).
#[test]
fn excitatory_inhibitory_learning_keeps_dale_law_on_both_backends() {
    let Some(mut g) = gpu() else { return };
    let mut c = CpuBackend::new(2).unwrap();
    let n = 40;
    let config = hebbnet::config::Config::from_value(serde_json::json!({
        "network": {"neurons": n, "gain": 4.0},
        "weights": {"std": 1.5, "excitatory_fraction": 0.75},
        "input": {"distribution": "uniform", "low": -0.1, "high": 0.1},
        "learning": {"enabled": true, "learning_rate": 30.0, "forgetting": 0.95,
                     "activity_threshold": 0.2, "presynaptic_gate": "none"},
        "ensemble": {"replicas": 4, "seed": 3}
    }))
    .unwrap();
    config.validate().unwrap();
    let spec = hebbnet::ensemble::EnsembleSpec::from_config(&config).unwrap();
    let batch: Vec<ReplicaInit> = (0..4).map(|r| spec.replica(r)).collect();
    let excitatory = 30; // round(0.75 · 40)
    let dale = |w: &[f64]| {
        w.chunks_exact(n).enumerate().all(|(j, column)| {
            column
                .iter()
                .all(|&x| if j < excitatory { x >= 0.0 } else { x <= 0.0 })
        })
    };
    assert!(
        batch.iter().all(|i| dale(&i.weights.get())),
        "the draw breaks Dale's law"
    );
    assert!(batch
        .iter()
        .all(|i| i.weights.get().iter().all(|&x| x != 0.0)));
    let s = schedule(3, 20, 40, true);
    let go = run(&mut g, &s, Precision::F32, &batch);
    let co = run(&mut c, &s, Precision::F32, &batch);
    for (k, (gf, cf)) in go.finals.iter().zip(&co.finals).enumerate() {
        assert!(
            dale(&cf.weights),
            "CPU learning broke Dale's law (replica {k})"
        );
        assert!(
            dale(&gf.weights),
            "GPU learning broke Dale's law (replica {k})"
        );
    }
    let clamped = co
        .finals
        .iter()
        .flat_map(|f| &f.weights)
        .filter(|&&x| x == 0.0)
        .count();
    assert!(
        clamped > 0,
        "no update was clamped: the test does not exercise Dale's law"
    );
    let worst = compare(&go, &co, is_lavapipe(&g), 1e-4, "E/I learning");
    eprintln!("measured: E/I learning, {clamped} clamped weights, max |GPU − CPU| = {worst:.2e}");
}
