//! The Jiang GPU kernel (src/backend/gpu/jiang) against its CPU twin
//! (`model::jiang::run::<f32>`): overlaps, measures, window means, exponents, speeds,
//! snapshots and final states, on the factored and the dense path, with twins and tangents,
//! across dispatches, readback chunks and groups. Skips with a printed reason where there is no
//! adapter (a failure in CI).
//!
//! **Tolerances.** Both sides compute in f32 with the same rational tanh and the same order of
//! operations except the sums over neurons (a tree on the GPU, 16 interleaved partial sums on
//! the CPU) and possible fused multiply-adds on the GPU: each step differs by a few f32 ulps
//! (≈ 1e-7 relative). Over short runs of contracting or weakly expanding dynamics those
//! differences stay within ~1e-5 (measured: see each test's printout), so states, overlaps
//! and measures are compared with `|gpu − cpu| ≤ tol (1 + |cpu|)`, tol = 2e-5 over ≤ 60 steps
//! (1e-4 where a test runs 1,000+ steps). Window sums of ln ν add one f32 rounding of ln per
//! step: ≤ 1e-5 per step of the window. Chaotic runs part exponentially; their exponents are
//! compared statistically.

mod common;

use common::gpu;
use hebbnet::backend::gpu::jiang::{run_with_limits, JiangShape, RunLimits};
use hebbnet::backend::gpu::GpuBackend;
use hebbnet::backend::Backend;
use hebbnet::config::Precision;
use hebbnet::model::jiang::{
    dilute, draw_patterns, run, Batch, Chain, Entries, LowRank, Network, Trace, Trajectory,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A network of the batch: its couplings, optional dense J and leak.
struct Net {
    couplings: LowRank,
    dense: Option<Vec<f64>>,
    leak: f64,
}

fn chain(c: f64, gamma: f64, d: usize, backward: f64, sequences: usize, open: bool) -> Chain {
    Chain {
        autoassociation: c,
        heteroassociation: gamma,
        depth: d,
        backward,
        sequences,
        open_chain: open,
    }
}

/// ±1 patterns from `seed`; a dense J (diluted to `dilution`) when asked.
fn net(
    n: usize,
    p: usize,
    chain: &Chain,
    self_couplings: bool,
    dense: Option<f64>,
    leak: f64,
    seed: u64,
) -> Net {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xi = draw_patterns(Entries::Binary, p, n, &mut rng);
    let couplings = LowRank::new(xi, p, chain, self_couplings);
    let dense = dense.map(|keep| {
        let mut w = couplings.dense();
        dilute(&mut w, keep, &mut rng);
        w
    });
    Net {
        couplings,
        dense,
        leak,
    }
}

/// `per` trajectories on each network: a noisy pattern cue (pattern k mod P, noise 0.3);
/// the first of each network with a twin (+1e-3 noise) and a unit tangent when asked.
fn starts(nets: &[Net], per: usize, twin: bool, tangent: bool, seed: u64) -> Vec<Trajectory> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (m, net) in nets.iter().enumerate() {
        let c = &net.couplings;
        let n = c.neurons;
        for k in 0..per {
            let mu = k % c.patterns.max(1);
            let start: Vec<f64> = (0..n)
                .map(|i| {
                    let x = if c.patterns > 0 {
                        c.xi[mu * n + i]
                    } else {
                        0.0
                    };
                    x + 0.3 * rng.sample::<f64, _>(StandardNormal)
                })
                .collect();
            let first = k == 0;
            let tw = (twin && first).then(|| {
                start
                    .iter()
                    .map(|h| h + 1e-3 * rng.sample::<f64, _>(StandardNormal))
                    .collect()
            });
            let tg = (tangent && first).then(|| {
                let mut v: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            });
            out.push(Trajectory {
                network: m,
                start,
                twin: tw,
                tangent: tg,
            });
        }
    }
    out
}

fn batch<'a>(
    nets: &'a [Net],
    trajectories: Vec<Trajectory>,
    transient: usize,
    window: usize,
    record_every: usize,
    snapshots: Vec<usize>,
) -> Batch<'a> {
    Batch {
        networks: nets
            .iter()
            .map(|x| Network {
                couplings: &x.couplings,
                dense: x.dense.as_deref(),
                leak: x.leak,
            })
            .collect(),
        trajectories,
        transient,
        window,
        record_every,
        snapshots,
    }
}

fn run_gpu(g: &mut GpuBackend, b: &Batch<'_>) -> Vec<Trace> {
    g.run_jiang(Precision::F32, b)
        .expect("the GPU runs the batch")
}

/// Largest `|a − b| / (1 + |b|)` over two series (NaN must match NaN).
fn gap(a: &[f64], b: &[f64], what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let mut worst: f64 = 0.0;
    for (k, (&x, &y)) in a.iter().zip(b).enumerate() {
        if y.is_nan() || x.is_nan() {
            assert!(x.is_nan() && y.is_nan(), "{what}[{k}]: {x} vs {y}");
            continue;
        }
        worst = worst.max((x - y).abs() / (1.0 + y.abs()));
    }
    worst
}

/// Compare every field of two sets of traces within `tol` (relative to 1 + |cpu|), and ln ν
/// sums within `tol_log` per window step; returns the largest gaps (states, overlaps,
/// measures) for the printout.
fn assert_close(gpu: &[Trace], cpu: &[Trace], window: usize, tol: f64, what: &str) -> [f64; 3] {
    assert_eq!(gpu.len(), cpu.len(), "{what}: trajectory count");
    let mut worst = [0.0f64; 3];
    for (k, (a, b)) in gpu.iter().zip(cpu).enumerate() {
        let w = format!("{what}, trajectory {k}");
        let gaps = [
            gap(&a.state, &b.state, &format!("{w}: state")),
            gap(&a.overlaps, &b.overlaps, &format!("{w}: overlaps")),
            gap(&a.measures, &b.measures, &format!("{w}: measures")),
        ];
        for (q, name) in ["state", "overlaps", "measures"].iter().enumerate() {
            assert!(gaps[q] <= tol, "{w}: {name} differ by {:e}", gaps[q]);
            worst[q] = worst[q].max(gaps[q]);
        }
        let means = gap(
            &a.window_means,
            &b.window_means,
            &format!("{w}: window means"),
        );
        assert!(means <= tol, "{w}: window means differ by {means:e}");
        let speed = gap(&[a.speed], &[b.speed], &format!("{w}: speed"));
        assert!(speed <= tol, "{w}: speed {} vs {}", a.speed, b.speed);
        assert_eq!(a.snapshots.len(), b.snapshots.len(), "{w}: snapshots");
        for (s, (x, y)) in a.snapshots.iter().zip(&b.snapshots).enumerate() {
            let g = gap(x, y, &format!("{w}: snapshot {s}"));
            assert!(g <= tol, "{w}: snapshot {s} differs by {g:e}");
        }
        if b.log_growth.is_nan() {
            assert!(a.log_growth.is_nan(), "{w}: ln ν without a tangent");
        } else {
            let d = (a.log_growth - b.log_growth).abs();
            assert!(
                d <= 1e-5 * window.max(1) as f64,
                "{w}: Σ ln ν {} vs {} ({d:e})",
                a.log_growth,
                b.log_growth
            );
        }
    }
    worst
}

#[test]
fn the_factored_path_matches_the_f32_twin() {
    let Some(mut g) = gpu() else { return };
    for n in [1, 33, 100, 300] {
        let p = if n == 1 { 3 } else { 30.min(n / 3 * 3).max(6) };
        // Two networks with different leaks and chains: periodic d = 2 with a backward term
        // and self-couplings; an open chain of two sequences without self-couplings.
        let nets = vec![
            net(
                n,
                p,
                &chain(0.2, 1.2, 2, 0.3, 1, false),
                true,
                None,
                0.3,
                n as u64,
            ),
            net(
                n,
                p,
                &chain(0.0, 1.5, 2, 0.5, 2, true),
                false,
                None,
                0.6,
                7 + n as u64,
            ),
        ];
        let b = batch(
            &nets,
            starts(&nets, 2, true, true, 3),
            20,
            37,
            3,
            vec![0, 7, 57],
        );
        let got = run_gpu(&mut g, &b);
        let twin = run::<f32>(&b);
        let worst = assert_close(&got, &twin, b.window, 2e-5, &format!("N = {n}, P = {p}"));
        eprintln!("factored N = {n}, P = {p}: largest gaps (state, overlaps, measures) {worst:?}");
        assert_eq!(got[0].snapshots.len(), 3);
        assert_eq!(got[0].overlaps.len(), b.samples() * p);
    }
}

#[test]
fn the_dense_path_matches_the_f32_twin() {
    let Some(mut g) = gpu() else { return };
    for n in [1, 33, 100, 300] {
        let p = if n == 1 { 3 } else { 24 };
        let nets = vec![
            net(
                n,
                p,
                &chain(0.2, 1.2, 2, 0.3, 1, false),
                true,
                Some(1.0),
                0.25,
                n as u64,
            ),
            // Diluted, no self-couplings, open chain of two sequences.
            net(
                n,
                p,
                &chain(0.0, 1.5, 2, 0.5, 2, true),
                false,
                Some(0.5),
                0.5,
                9 + n as u64,
            ),
        ];
        let b = batch(
            &nets,
            starts(&nets, 2, true, true, 4),
            15,
            30,
            4,
            vec![3, 45],
        );
        let got = run_gpu(&mut g, &b);
        let twin = run::<f32>(&b);
        let worst = assert_close(&got, &twin, b.window, 2e-5, &format!("dense N = {n}"));
        eprintln!("dense N = {n}, P = {p}: largest gaps (state, overlaps, measures) {worst:?}");
    }
}

#[test]
fn a_mixed_batch_runs_as_groups_with_trajectories_in_order() {
    let Some(mut g) = gpu() else { return };
    let n = 100;
    // Factored and dense networks, and another P, interleaved.
    let nets = vec![
        net(
            n,
            20,
            &chain(0.1, 1.3, 1, 0.0, 1, false),
            true,
            None,
            0.2,
            1,
        ),
        net(
            n,
            20,
            &chain(0.1, 1.3, 1, 0.0, 1, false),
            true,
            Some(0.8),
            0.4,
            2,
        ),
        net(
            n,
            12,
            &chain(0.3, 1.1, 3, 0.2, 1, false),
            false,
            None,
            0.7,
            3,
        ),
    ];
    let mut trajectories = starts(&nets, 2, true, true, 5);
    trajectories.swap(0, 5);
    trajectories.swap(1, 2);
    let b = batch(&nets, trajectories, 10, 25, 2, vec![12]);
    let got = run_gpu(&mut g, &b);
    assert_close(&got, &run::<f32>(&b), b.window, 2e-5, "mixed batch");
}

#[test]
fn long_runs_cross_dispatches_chunks_and_groups() {
    let Some(mut g) = gpu() else { return };
    // N = 100, P = 10: with twin and tangent a dispatch nearly fills the loop budget, so a run
    // of 1,500 steps crosses lavapipe's silent loop cap (65,535 back-edges) many times over.
    let (n, p) = (100, 10);
    let shape = JiangShape::new(n, p, false, 1024, 32 << 10);
    let per = shape.steps_per_dispatch(1, true, true);
    let used = per * shape.backedges_per_step(1, true, true);
    assert!(used > 25_000, "a dispatch uses {used} back-edges");
    assert!(per * 10 < 1500, "{per} steps per dispatch");
    // Sequence retrieval: c = 0, γ = 1.5, d = 1 (one tap) — a cycle through the patterns.
    let nets: Vec<Net> = (0..3)
        .map(|m| {
            net(
                n,
                p,
                &chain(0.0, 1.5, 1, 0.0, 1, false),
                true,
                None,
                0.1 + 0.1 * m as f64,
                40 + m,
            )
        })
        .collect();
    let mut trajectories = starts(&nets, 2, true, true, 6);
    trajectories.swap(0, 3);
    let (transient, window) = (500, 1000);
    let b = batch(
        &nets,
        trajectories,
        transient,
        window,
        7,
        vec![0, 499, 500, 1499],
    );
    let twin = run::<f32>(&b);
    let plain = run_gpu(&mut g, &b);
    let worst = assert_close(&plain, &twin, window, 1e-4, "1,500 steps");
    eprintln!("1,500 steps: largest gaps (state, overlaps, measures) {worst:?}");
    // Not a trivial regime: activity and motion at t = T.
    for t in &plain {
        let norm = t.measures[t.measures.len() - 5];
        eprintln!("‖h‖/√N = {norm:.3}, speed {:.2e}", t.speed);
        assert!(norm > 0.1, "activity {norm}");
    }

    // A shorter run in small readback chunks and groups: the per-step arithmetic is the same,
    // so states and records are bitwise equal; only the per-dispatch grouping of the window
    // partials changes (f64 sums of f32 partials).
    let (transient, window) = (100, 300);
    let mut trajectories = starts(&nets, 2, true, true, 9);
    trajectories.swap(1, 4);
    let b = batch(
        &nets,
        trajectories,
        transient,
        window,
        7,
        vec![0, 99, 100, 399],
    );
    let plain = run_gpu(&mut g, &b);
    let sample = 4 * (p + 5) as u64;
    for (binding, readback, what) in [
        (128 << 20, sample * 6 * 10, "10-sample chunks"),
        (
            128 << 20,
            sample * 2 * 3,
            "two trajectories a group, 3-sample chunks",
        ),
        (
            4 * (n * p + 2) as u64,
            sample * 6 * 100,
            "one network a group",
        ),
    ] {
        let limits = RunLimits { binding, readback };
        let got = run_with_limits(&mut g, Precision::F32, &b, limits).unwrap();
        for (k, (a, c)) in got.iter().zip(&plain).enumerate() {
            assert_eq!(a.state, c.state, "{what}, trajectory {k}: state");
            assert_eq!(a.overlaps, c.overlaps, "{what}, trajectory {k}: overlaps");
            let m = |t: &Trace| t.measures.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(m(a), m(c), "{what}, trajectory {k}: measures");
            assert_eq!(
                a.snapshots, c.snapshots,
                "{what}, trajectory {k}: snapshots"
            );
            assert_eq!(a.speed, c.speed, "{what}, trajectory {k}: speed");
            let wm = gap(&a.window_means, &c.window_means, what);
            assert!(wm < 1e-6, "{what}, trajectory {k}: window means {wm:e}");
            let lg = (a.log_growth - c.log_growth).abs();
            assert!(
                lg < 1e-6 * window as f64 || (a.log_growth.is_nan() && c.log_growth.is_nan()),
                "{what}, trajectory {k}: ln ν {lg:e}"
            );
        }
    }

    // Windows shorter than a dispatch, no transient, no window, T = 0.
    for (transient, window, every) in [(0, 3, 1), (10, 0, 4), (0, 1, 1), (0, 0, 1)] {
        let b = batch(
            &nets,
            starts(&nets, 1, true, true, 7),
            transient,
            window,
            every,
            vec![0, 2],
        );
        assert_close(
            &run_gpu(&mut g, &b),
            &run::<f32>(&b),
            window,
            2e-5,
            &format!("transient {transient}, window {window}"),
        );
    }
}

#[test]
fn chaotic_exponents_agree_statistically() {
    let Some(mut g) = gpu() else { return };
    // A chaotic regime (α = 1/2, γ = 6, a = 1; models/jiang.md §6: clear chaos only at large
    // α or γ; the CPU twin gives 0.29 ± 0.01 per step): trajectories part from the CPU's
    // within a few dozen steps, but the exponent is a property of the attractor.
    let (n, p) = (64, 32);
    let nets = vec![net(
        n,
        p,
        &chain(0.0, 6.0, 1, 0.0, 1, false),
        true,
        None,
        1.0,
        11,
    )];
    let b = batch(
        &nets,
        starts(&nets, 12, false, true, 8),
        100,
        400,
        50,
        vec![],
    );
    // Every trajectory a tangent.
    let mut b = b;
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for t in &mut b.trajectories {
        let mut v: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        t.tangent = Some(v);
    }
    let got = run_gpu(&mut g, &b);
    let twin = run::<f32>(&b);
    let per_step =
        |t: &[Trace]| -> Vec<f64> { t.iter().map(|x| x.log_growth / b.window as f64).collect() };
    let (lg, lc) = (per_step(&got), per_step(&twin));
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let sd = |x: &[f64]| {
        let m = mean(x);
        (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
    };
    let (mg, mc) = (mean(&lg), mean(&lc));
    let spread = sd(&lg).max(sd(&lc));
    let state_gap = got
        .iter()
        .zip(&twin)
        .map(|(a, c)| gap(&a.state, &c.state, "chaotic state"))
        .fold(0.0, f64::max);
    eprintln!(
        "chaotic exponents per step: GPU {mg:.4} ± {:.4}, CPU {mc:.4} ± {:.4}; final states \
         {state_gap:.2} apart",
        sd(&lg),
        sd(&lc)
    );
    assert!(mc > 0.2, "a chaotic regime ({mc})");
    assert!(state_gap > 1e-2, "the runs parted ({state_gap})");
    // Means of 12 trajectories: the difference of two has standard error spread·√(2/12);
    // allow 3 of them.
    let tol = 3.0 * spread * (2.0f64 / 12.0).sqrt();
    assert!((mg - mc).abs() <= tol, "GPU {mg} vs CPU {mc} (tol {tol})");
    // The window means of the activity agree statistically too.
    for q in 0..3 {
        let (a, c): (Vec<f64>, Vec<f64>) = got
            .iter()
            .zip(&twin)
            .map(|(x, y)| (x.window_means[q], y.window_means[q]))
            .unzip();
        let (ma, mc) = (mean(&a), mean(&c));
        let tol = 3.0 * sd(&a).max(sd(&c)) * (2.0f64 / 12.0).sqrt() + 1e-6;
        eprintln!("window mean {q}: GPU {ma:.5}, CPU {mc:.5} (tol {tol:.1e})");
        assert!((ma - mc).abs() <= tol, "window mean {q}: {ma} vs {mc}");
    }
}

#[test]
fn f64_and_oversized_networks_are_refused_with_clear_errors() {
    let Some(mut g) = gpu() else { return };
    let nets = vec![net(
        40,
        8,
        &chain(0.0, 1.0, 1, 0.0, 1, false),
        true,
        None,
        0.5,
        1,
    )];
    let b = batch(&nets, starts(&nets, 1, false, false, 1), 1, 1, 1, vec![]);
    let e = g.run_jiang(Precision::F64, &b).unwrap_err().to_string();
    assert!(e.contains("f32") && e.contains("--backend cpu"), "{e}");
    let limits = RunLimits {
        binding: 1000,
        readback: 1000,
    };
    let e = run_with_limits(&mut g, Precision::F32, &b, limits)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("max_storage_buffer_binding_size") && e.contains("--backend cpu"),
        "{e}"
    );
    // A step above the loop budget (N = 3000, P = 400 with twin and tangent): a software
    // adapter refuses it (its loops would silently stop), a hardware one runs it one step a
    // dispatch.
    let nets = vec![net(
        3000,
        400,
        &chain(0.0, 1.0, 1, 0.0, 1, false),
        true,
        None,
        0.5,
        2,
    )];
    let b = batch(&nets, starts(&nets, 1, true, true, 3), 1, 2, 1, vec![]);
    let result = g.run_jiang(Precision::F32, &b);
    if g.adapter().software {
        let e = result.unwrap_err().to_string();
        assert!(e.contains("loop") && e.contains("--backend cpu"), "{e}");
    } else {
        assert_close(
            &result.unwrap(),
            &run::<f32>(&b),
            b.window,
            2e-5,
            "one step a dispatch",
        );
    }
}

/// Steps per second at N = 4000, P = 40, 32 trajectories (no twin or tangent), factored and
/// dense, on the GPU and the f32 CPU twin (lavapipe: correctness, not speed; the ratios are
/// what matter). `cargo test --test jiang_gpu -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_factored_against_dense() {
    let Some(mut g) = gpu() else { return };
    let (n, p) = (4000, 40);
    for (dense, steps) in [(None, 100), (Some(1.0), 4)] {
        let nets = vec![net(
            n,
            p,
            &chain(0.0, 1.5, 1, 0.0, 1, false),
            true,
            dense,
            0.1,
            1,
        )];
        let b = batch(
            &nets,
            starts(&nets, 32, false, false, 2),
            0,
            steps,
            10,
            vec![],
        );
        let small = batch(&nets, starts(&nets, 32, false, false, 2), 0, 1, 10, vec![]);
        run_gpu(&mut g, &small); // compile and warm up
        let start = std::time::Instant::now();
        run_gpu(&mut g, &b);
        let gpu_secs = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        run::<f32>(&b);
        let cpu_secs = start.elapsed().as_secs_f64();
        let total = (steps + 1) as f64;
        eprintln!(
            "N = {n}, P = {p}, 32 trajectories, {}: GPU {:.3} steps/s ({:.1} trajectory-steps/s), \
             CPU twin {:.2} steps/s",
            if dense.is_some() { "dense" } else { "factored" },
            total / gpu_secs,
            32.0 * total / gpu_secs,
            total / cpu_secs,
        );
    }
}
