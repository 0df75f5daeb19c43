//! The sinusoidal drive (`hebbnet::ensemble::Drive`) and its lock-in sums
//! (`EpochOutput::lockin_sin`, `lockin_cos`) on both backends.
//!
//! - One neuron with `W = 0` is a linear first-order filter of the drive: the CPU in `f64`
//!   against the exact recursion computed here and against the filter's closed-form response.
//! - Runs of ~10⁶ steps: the `f32` CPU twin and the GPU against the exact `f64` recursion, so a
//!   phase computed as `sin(f32(ω)·f32(t))` (error ~1e-3 rad at t ~ 10⁶) would fail.
//! - A driven N = 64 network: the GPU against the `f32` CPU twin (states and lock-in sums, with
//!   and without observers), and an undriven replica of a driven batch bitwise equal to the same
//!   replica in a batch without drives, on both backends.
//! - The shader's sine against its CPU twin around the whole circle.
//!
//! On lavapipe the GPU computes the CPU twin's bits (measured: every difference below is 0
//! there); the tolerances are for GPUs that fuse multiply-adds.

mod common;

use common::{gpu, max_diff, params, random_init};
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::{Backend, BatchOutput, Schedule, TraceObserver};
use hebbnet::config::Precision;
use hebbnet::ensemble::{Drive, ReplicaInit};
use hebbnet::model::analog::{Activation, Form};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::f64::consts::TAU;

fn schedule(epochs: usize, transient: usize, recorded: usize) -> Schedule {
    Schedule {
        epochs,
        transient_steps: transient,
        recorded_steps: recorded,
        learning: false,
    }
}

fn run(b: &mut dyn Backend, s: &Schedule, p: Precision, r: &[ReplicaInit]) -> BatchOutput {
    b.run_batch(s, p, r, true, &mut []).expect("run_batch")
}

/// One neuron, `W = 0`, ReLU with gain 1 and an input that keeps the field positive, so the
/// activity is the state (`s = h`, `s = x`) and both forms follow the same linear recursion.
/// (`params` sets θ = 0.05.)
fn single(index: u64, form: Form, leak: f64, xi: f64, h0: f64, drive: Drive) -> ReplicaInit {
    ReplicaInit {
        index,
        params: params(form, Activation::Relu, 1.0, leak),
        weights: vec![0.0].into(),
        input: vec![xi],
        state: vec![h0],
        drive: Some(drive),
    }
}

/// The run `single` describes, in `f64` with the phase computed directly: the states at the
/// end of each epoch and each epoch's lock-in sums, with the documented pairing (state t with
/// sin(ω t + φ0), the phase of the drive entering the step from t).
fn exact(init: &ReplicaInit, s: &Schedule) -> Vec<(f64, f64, f64)> {
    let d = init.drive.as_ref().unwrap();
    let p = &init.params.neuron;
    let (a, b) = (p.leak, init.input[0] - p.threshold);
    let phase = |t: u64| d.angular_frequency * t as f64 + d.phase;
    let (mut h, mut t) = (init.state[0], 0u64);
    let mut out = Vec::new();
    for _ in 0..s.epochs {
        let (mut ls, mut lc) = (0.0, 0.0);
        for k in 0..s.transient_steps + s.recorded_steps {
            h = (1.0 - a) * h + a * (b + d.amplitude * d.direction[0] * phase(t).sin());
            t += 1;
            if k >= s.transient_steps {
                ls += h * phase(t).sin();
                lc += h * phase(t).cos();
            }
        }
        out.push((h, ls, lc));
    }
    out
}

/// The f64 CPU backend on one neuron with W = 0: h(t+1) = (1 − a) h(t) + a (ξ − θ + ε d sin(ωt +
/// φ0)) is a first-order filter G(ω) = a / (e^{iω} − (1 − a)). Over a recorded window of whole
/// periods, after a transient that has decayed, Σ h(t) sin(ωt + φ0) = (τ/2) ε d |G| cos arg G and
/// Σ h(t) cos(ωt + φ0) = (τ/2) ε d |G| sin arg G exactly (the constant part sums to 0). Also
/// the exact recursion, step by step: the end-of-epoch states and the lock-in sums of every
/// epoch, so the drive's time runs on across epochs (T_0 + τ = 1,301 steps is not a whole
/// number of periods) — in both forms, which read the drive in different places.
#[test]
fn cpu_f64_single_neuron_matches_the_first_order_filter() {
    let (a, period, tau) = (0.1, 100.0, 1000);
    let omega = TAU / period;
    let s = schedule(3, 301, tau);
    let drive = |phase: f64| Drive {
        amplitude: 0.2,
        angular_frequency: omega,
        phase,
        direction: vec![0.7],
    };
    let batch = vec![
        single(0, Form::Current, a, 1.0, 0.4, drive(0.3)),
        single(1, Form::Rate, a, 1.0, 0.4, drive(-2.0)),
        single(2, Form::Current, a, 1.0, 0.4, drive(4.0)),
    ];
    let mut cpu = CpuBackend::new(2).unwrap();
    let out = run(&mut cpu, &s, Precision::F64, &batch);
    // The filter's response.
    let (re, im) = (omega.cos() - (1.0 - a), omega.sin());
    let norm = re * re + im * im;
    let (g_re, g_im) = (a * re / norm, -a * im / norm); // G = a / (re + i im)
    let amp = 0.2 * 0.7 * tau as f64 / 2.0;
    let (want_sin, want_cos) = (amp * g_re, amp * g_im);
    let mut worst_exact: f64 = 0.0;
    let mut worst_filter: f64 = 0.0;
    for (k, init) in batch.iter().enumerate() {
        for (e, (h, ls, lc)) in exact(init, &s).into_iter().enumerate() {
            let o = &out.epochs[e];
            let (gs, gc) = (o.lockin_sin[k], o.lockin_cos[k]);
            worst_exact = worst_exact
                .max((o.state[k] - h).abs())
                .max((gs - ls).abs() / tau as f64)
                .max((gc - lc).abs() / tau as f64);
            worst_filter = worst_filter
                .max((gs - want_sin).abs() / want_sin.abs())
                .max((gc - want_cos).abs() / want_cos.abs());
            // The exact recursion agrees with the filter (the test's own arithmetic).
            assert!(
                (ls - want_sin).abs() < 1e-9 * want_sin.abs(),
                "{ls} {want_sin}"
            );
        }
    }
    eprintln!(
        "measured: f64 CPU vs exact recursion {worst_exact:.1e}, vs filter response \
         {worst_filter:.1e} (relative); G = {g_re:.6} + {g_im:.6}i"
    );
    assert!(
        worst_exact < 1e-12,
        "against the exact recursion: {worst_exact:e}"
    );
    assert!(
        worst_filter < 1e-9,
        "against the filter response: {worst_filter:e}"
    );
    // A response delayed by one step would be off by ω = 0.063 rad: far outside the bounds.
    assert!(want_cos.abs() > 0.1 * want_sin.abs());
}

/// ~10⁶ steps (4 epochs of T_0 = 239,993, τ = 10,000) of three single neurons with W = 0, among
/// them ω = 2.9 near the Nyquist frequency: the f32 CPU twin and the GPU against the exact f64
/// recursion at the end of every epoch (state) and in the lock-in sums. The drive's phase is
/// held in fixed point, so the f32 runs only carry f32 rounding of the states (measured ~1e-7);
/// a phase from f32 ω·t would perturb the input by ε·|δφ| with δφ ~ 1e-3 rad here.
#[test]
fn long_runs_keep_the_drive_phase_in_f32_on_cpu_and_gpu() {
    let s = schedule(4, 239_993, 10_000);
    let drive = |omega: f64, phase: f64| Drive {
        amplitude: 0.3,
        angular_frequency: omega,
        phase,
        direction: vec![-0.9],
    };
    let batch = vec![
        single(0, Form::Current, 0.1, 1.0, 0.4, drive(TAU / 100.0, 0.3)),
        single(1, Form::Rate, 0.3, 1.2, 0.4, drive(2.9, -1.0)),
        single(2, Form::Current, 0.05, 0.9, 0.4, drive(0.0123, 2.5)),
    ];
    let want: Vec<Vec<(f64, f64, f64)>> = batch.iter().map(|b| exact(b, &s)).collect();
    let check = |what: &str, out: &BatchOutput| -> (f64, f64) {
        let (mut state, mut lockin): (f64, f64) = (0.0, 0.0);
        for (k, w) in want.iter().enumerate() {
            for (e, &(h, ls, lc)) in w.iter().enumerate() {
                let o = &out.epochs[e];
                state = state.max((o.state[k] - h).abs());
                lockin = lockin
                    .max((o.lockin_sin[k] - ls).abs() / s.recorded_steps as f64)
                    .max((o.lockin_cos[k] - lc).abs() / s.recorded_steps as f64);
            }
        }
        eprintln!("measured: {what} vs exact f64 recursion over 10⁶ steps: state {state:.1e}, lock-in / τ {lockin:.1e}");
        assert!(state < 2e-6, "{what}: state differs by {state:e}");
        assert!(
            lockin < 2e-6,
            "{what}: lock-in sums / τ differ by {lockin:e}"
        );
        (state, lockin)
    };
    let mut cpu = CpuBackend::new(2).unwrap();
    let co = run(&mut cpu, &s, Precision::F32, &batch);
    check("f32 CPU", &co);
    let Some(mut g) = gpu() else { return };
    let go = run(&mut g, &s, Precision::F32, &batch);
    check("GPU", &go);
}

fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

/// The N = 64 current-form tanh network (W std 0.8/√N, a = 0.1) with four replicas: three
/// different drives (ε = 0.05; ω = 0.05, 0.05, 0.13; three phases; random and uniform
/// directions) and one without.
fn driven_batch(n: usize) -> Vec<ReplicaInit> {
    let drives = [
        Some((0.05, 0.0, gaussian(n, 1))),
        None,
        Some((0.05, 1.0, vec![1.0; n])),
        Some((0.13, -2.0, gaussian(n, 2))),
    ];
    drives
        .into_iter()
        .enumerate()
        .map(|(k, d)| {
            let mut init = random_init(
                k as u64,
                n,
                params(Form::Current, Activation::Tanh, 1.0, 0.1),
                0.8,
                70 + k as u64,
            );
            init.drive = d.map(|(omega, phase, direction)| Drive {
                amplitude: 0.05,
                angular_frequency: omega,
                phase,
                direction,
            });
            init
        })
        .collect()
}

fn largest(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// `max |a − b| / max |b|`.
fn relative_to_largest(a: &[f64], b: &[f64]) -> f64 {
    max_diff(a, b) / largest(b)
}

/// An undriven replica of a driven batch computes the bits it computes in a batch without
/// drives; its lock-in sums are zeros, and a batch without drives has none.
fn undriven_replica_is_unchanged(b: &mut dyn Backend, s: &Schedule, batch: &[ReplicaInit]) {
    let driven = run(b, s, Precision::F32, batch);
    let plain: Vec<ReplicaInit> = batch
        .iter()
        .cloned()
        .map(|mut x| {
            x.drive = None;
            x
        })
        .collect();
    let undriven = run(b, s, Precision::F32, &plain);
    let n = batch[0].state.len();
    let k = batch.iter().position(|x| x.drive.is_none()).unwrap();
    for (d, u) in driven.epochs.iter().zip(&undriven.epochs) {
        assert!(u.lockin_sin.is_empty() && u.lockin_cos.is_empty());
        assert!(d.lockin_sin[k * n..(k + 1) * n].iter().all(|&v| v == 0.0));
        assert!(d.lockin_cos[k * n..(k + 1) * n].iter().all(|&v| v == 0.0));
        let r = k * n..(k + 1) * n;
        assert_eq!(d.state[r.clone()], u.state[r.clone()]);
        assert_eq!(d.shifted_sum[r.clone()], u.shifted_sum[r.clone()]);
        assert_eq!(d.shifted_sq_sum[r.clone()], u.shifted_sq_sum[r]);
    }
    // The drive does something to the driven replicas.
    assert!(max_diff(&driven.epochs[1].state, &undriven.epochs[1].state) > 1e-3);
}

/// The GPU (lavapipe in CI) against the f32 CPU twin on the driven N = 64 network, 2 epochs of
/// T_0 = 500, τ = 2,000: the states within tests/backends.rs's tolerance for a contracting
/// network (absolute 1e-5), the lock-in sums within 1e-5 relative to the largest sum (of order
/// 100 here; a sum is a few thousand products, each off by the states' rounding).
#[test]
fn gpu_matches_the_f32_cpu_twin_on_a_driven_network() {
    let n = 64;
    let batch = driven_batch(n);
    let s = schedule(2, 500, 2000);
    let mut cpu = CpuBackend::new(2).unwrap();
    let co = run(&mut cpu, &s, Precision::F32, &batch);
    undriven_replica_is_unchanged(&mut cpu, &s, &batch);
    // The f64 run agrees with the f32 one to f32 rounding (the same drive in both precisions).
    let c64 = run(&mut cpu, &s, Precision::F64, &batch);
    for (a, b) in co.epochs.iter().zip(&c64.epochs) {
        assert!(max_diff(&a.state, &b.state) < 1e-4);
        assert!(relative_to_largest(&a.lockin_sin, &b.lockin_sin) < 1e-4);
    }
    let Some(mut g) = gpu() else { return };
    let go = run(&mut g, &s, Precision::F32, &batch);
    let (mut state, mut lockin): (f64, f64) = (0.0, 0.0);
    for (gpu_epoch, cpu_epoch) in go.epochs.iter().zip(&co.epochs) {
        assert_eq!(gpu_epoch.lockin_sin.len(), 4 * n);
        state = state.max(max_diff(&gpu_epoch.state, &cpu_epoch.state));
        lockin = lockin
            .max(relative_to_largest(
                &gpu_epoch.lockin_sin,
                &cpu_epoch.lockin_sin,
            ))
            .max(relative_to_largest(
                &gpu_epoch.lockin_cos,
                &cpu_epoch.lockin_cos,
            ));
        assert!(max_diff(&gpu_epoch.shifted_sum, &cpu_epoch.shifted_sum) < 2000.0 * 1e-5);
    }
    let largest = largest(&co.epochs[1].lockin_sin);
    eprintln!(
        "measured: N = 64, 5,000 steps: max |GPU − CPU| state {state:.1e}, lock-in {lockin:.1e} \
         (relative to the largest, |Σ s sin| = {largest:.1})"
    );
    assert!(state < 1e-5, "states differ by {state:e}");
    assert!(lockin < 1e-5, "lock-in sums differ by {lockin:e}");
    if g.adapter().name.contains("llvmpipe") {
        // No fused operations there: the twin's arithmetic exactly (as in tests/backends.rs).
        assert_eq!((state, lockin), (0.0, 0.0), "not bitwise equal on lavapipe");
    }
    undriven_replica_is_unchanged(&mut g, &s, &batch);
}

/// A direction that does not fit the network is an error on both backends, not a panic.
#[test]
fn a_direction_of_the_wrong_length_is_refused() {
    let mut batch = driven_batch(8);
    batch[0].drive.as_mut().unwrap().direction.pop();
    let s = schedule(1, 1, 1);
    let mut cpu = CpuBackend::new(1).unwrap();
    let e = cpu.run_batch(&s, Precision::F32, &batch, false, &mut []);
    let e = e.unwrap_err().to_string();
    assert!(e.contains("drive.direction") && e.contains("N = 8"), "{e}");
    let Some(mut g) = gpu() else { return };
    let e = g.run_batch(&s, Precision::F32, &batch, false, &mut []);
    assert!(e.unwrap_err().to_string().contains("drive.direction"));
}

/// The GPU's `drive_sin_cos` (neuron_update.wgsl) against its CPU twin
/// (`network::drive_sin_cos_f32`) at 4,096 phases around the circle: one step of a pure map
/// (a = 1) of one neuron with W = 0, ξ = θ = 0, ε = d = 1 leaves exactly h = sin(φ0), and the
/// odd quadrants take it from the cosine polynomial. Bitwise equal on lavapipe (which does not
/// fuse, but would refactor `P·z·z − 0.5·z` into `z·(P·z − 0.5)`: the polynomials are written
/// in Horner form); within 2 ulp elsewhere.
#[test]
fn gpu_drive_sine_is_the_cpu_twins() {
    use hebbnet::model::analog::network::{drive_sin_cos_f32, drive_sin_cos_f64};
    let Some(mut g) = gpu() else { return };
    let lavapipe = g.adapter().name.contains("llvmpipe");
    let batch: Vec<ReplicaInit> = (0..4096)
        .map(|k| {
            let mut p = params(Form::Current, Activation::Relu, 1.0, 1.0);
            p.neuron.threshold = 0.0;
            ReplicaInit {
                index: k,
                params: p,
                weights: vec![0.0].into(),
                input: vec![0.0],
                state: vec![0.0],
                drive: Some(Drive {
                    amplitude: 1.0,
                    angular_frequency: 0.0,
                    phase: (k as f64 + 0.37) * TAU / 4096.0 - 7.0,
                    direction: vec![1.0],
                }),
            }
        })
        .collect();
    let go = run(&mut g, &schedule(1, 1, 0), Precision::F32, &batch);
    let (mut twin, mut exact): (f64, f64) = (0.0, 0.0);
    for (k, b) in batch.iter().enumerate() {
        let phase = b.drive.as_ref().unwrap().phase_at(0);
        let (sin, _) = drive_sin_cos_f32(phase);
        twin = twin.max((go.epochs[0].state[k] - sin as f64).abs());
        exact = exact.max((go.epochs[0].state[k] - drive_sin_cos_f64(phase).0).abs());
    }
    eprintln!("measured: GPU drive sine vs CPU twin {twin:.1e}, vs exact {exact:.1e}");
    if lavapipe {
        assert_eq!(twin, 0.0, "not bitwise equal to the CPU twin on lavapipe");
    }
    assert!(twin < 1.2e-7 && exact < 2.5e-7, "{twin:e} {exact:e}");
}

/// Keeps the states of the traced steps.
struct States {
    full: bool,
    seen: Vec<Vec<f64>>,
}

impl TraceObserver for States {
    fn begin_epoch(&mut self, _: usize, _: &[f64]) {}
    fn step(&mut self, _: &[f64], state: &[f64]) {
        self.seen.push(state.to_vec());
    }
    fn end_epoch(&mut self) {}
    fn needs_full_window(&self) -> bool {
        self.full
    }
    fn tail_steps(&self) -> usize {
        37
    }
}

/// With observers the GPU runs the recorded window in traced chunks (the last 37 steps only, or
/// all of it), each dispatch with its own run step: the traced states, the lock-in sums and
/// the final states agree with the CPU twin as without observers.
#[test]
fn traced_gpu_runs_keep_the_drive() {
    let Some(mut g) = gpu() else { return };
    let n = 64;
    let batch = driven_batch(n);
    let s = schedule(2, 300, 500);
    let mut cpu = CpuBackend::new(2).unwrap();
    for full in [false, true] {
        let observe = |b: &mut dyn Backend| {
            let mut obs: Vec<States> = (0..batch.len())
                .map(|_| States {
                    full,
                    seen: Vec::new(),
                })
                .collect();
            let mut refs: Vec<&mut dyn TraceObserver> = obs
                .iter_mut()
                .map(|o| o as &mut dyn TraceObserver)
                .collect();
            let out = b
                .run_batch(&s, Precision::F32, &batch, false, &mut refs)
                .unwrap();
            (out, obs)
        };
        let (go, gobs) = observe(&mut g);
        let (co, cobs) = observe(&mut cpu);
        let mut worst: f64 = 0.0;
        for (a, b) in gobs.iter().zip(&cobs) {
            assert_eq!(a.seen.len(), b.seen.len());
            assert_eq!(a.seen.len(), if full { 1000 } else { 74 });
            for (x, y) in a.seen.iter().zip(&b.seen) {
                worst = worst.max(max_diff(x, y));
            }
        }
        for (a, b) in go.epochs.iter().zip(&co.epochs) {
            worst = worst.max(max_diff(&a.state, &b.state));
            worst = worst.max(relative_to_largest(&a.lockin_cos, &b.lockin_cos));
        }
        eprintln!("measured: traced (full window: {full}) GPU vs CPU {worst:.1e}");
        assert!(worst < 1e-5, "full window {full}: {worst:e}");
    }
}
