//! The BMS GPU kernel (src/backend/gpu/bms) against its CPU twin
//! (`model::bms::trajectory::run_batch`) and the CPU backend: bitwise equal in f32 without noise,
//! the same noise words with it, the closed-form period of uncoupled neurons, f64 rasters while
//! the orbit stays away from the threshold (cessac.md §10, anchors 1 and 5). Skips with a printed
//! reason where there is no adapter (a failure in CI).

mod common;

use common::gpu;
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::gpu::bms::{noise_probe, run_with_limits, BmsShape, RunLimits};
use hebbnet::backend::gpu::GpuBackend;
use hebbnet::backend::Backend;
use hebbnet::config::Precision;
use hebbnet::model::bms::noise::philox;
use hebbnet::model::bms::trajectory::run_batch;
use hebbnet::model::bms::{
    raster_period, Batch, BmsParams, NoiseStream, SpikeWords, Start, Steps, Trace,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A network: column-major W and its parameters.
struct Net {
    w: Vec<f64>,
    p: BmsParams,
}

/// W ~ N(0, w_std²/N) (no autapse rule: the kernel does not care), θ = 1, I = `input`.
fn random_net(n: usize, seed: u64, leak: f64, input: f64, w_std: f64, noise: f64) -> Net {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = w_std / (n as f64).sqrt();
    let w = (0..n * n)
        .map(|_| s * rng.sample::<f64, _>(StandardNormal))
        .collect();
    Net {
        w,
        p: BmsParams {
            leak,
            threshold: vec![1.0; n],
            input: vec![input; n],
            noise,
        },
    }
}

/// `per` trajectories on each of `nets` networks, V(0) ~ U[0, 2θ), streams 0.. per network.
fn starts(nets: usize, per: usize, n: usize, seed: u64) -> Vec<Start> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for m in 0..nets {
        for k in 0..per {
            out.push(Start {
                network: m,
                state: (0..n).map(|_| 2.0 * rng.random::<f64>()).collect(),
                noise: NoiseStream {
                    seed: 0x1234_5678_9abc_def0 ^ seed,
                    replica: 3 + m as u64,
                    stream: k as u32,
                },
            });
        }
    }
    out
}

fn batch<'a>(nets: &'a [Net], trajectories: Vec<Start>, steps: Steps) -> Batch<'a> {
    Batch {
        networks: nets.iter().map(|x| (&x.w[..], &x.p)).collect(),
        trajectories,
        steps,
    }
}

fn run_gpu(g: &mut GpuBackend, b: &Batch<'_>) -> Vec<Trace> {
    g.run_bms(Precision::F32, b)
        .expect("the GPU runs the batch")
}

/// Exact equality of two traces, with the first difference named.
fn assert_same(gpu: &[Trace], cpu: &[Trace], n: usize, what: &str) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: trajectory count");
    for (k, (a, b)) in gpu.iter().zip(cpu).enumerate() {
        let steps = b.distance.len();
        assert_eq!(a.distance.len(), steps, "{what}, trajectory {k}: window");
        for t in 0..steps {
            assert_eq!(
                a.spikes(n, t),
                b.spikes(n, t),
                "{what}, trajectory {k}: raster differs at window step {t}"
            );
            assert_eq!(
                (a.distance[t].to_bits(), a.nearest[t]),
                (b.distance[t].to_bits(), b.nearest[t]),
                "{what}, trajectory {k}: distance/nearest differ at window step {t}: {} at {} vs \
                 {} at {}",
                a.distance[t],
                a.nearest[t],
                b.distance[t],
                b.nearest[t]
            );
        }
        assert_eq!(a.raster.len(), b.raster.len(), "{what}, trajectory {k}");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&a.state),
            bits(&b.state),
            "{what}, trajectory {k}: final state"
        );
    }
}

/// Mean firing rate of a set of traces.
fn rate(traces: &[Trace], n: usize) -> f64 {
    let spikes: u64 = traces
        .iter()
        .flat_map(|t| t.raster.iter())
        .map(|w| w.count_ones() as u64)
        .sum();
    let steps: usize = traces.iter().map(|t| t.distance.len()).sum();
    spikes as f64 / (steps * n) as f64
}

#[test]
fn noise_free_rasters_distances_and_states_equal_the_f32_twin_bitwise() {
    let Some(mut g) = gpu() else { return };
    let mut cpu = CpuBackend::new(2).expect("CPU backend");
    for n in [1, 31, 32, 33, 100, 300] {
        // Two networks in an active regime (I above (1 − γ)θ, random coupling), three initial
        // conditions each.
        let nets: Vec<Net> = (0..2)
            .map(|m| random_net(n, 10 * n as u64 + m, 0.6, 0.45, 1.0, 0.0))
            .collect();
        let steps = Steps {
            first_step: 0,
            transient: 37,
            window: 90,
        };
        let b = batch(&nets, starts(2, 3, n, n as u64), steps);
        let got = run_gpu(&mut g, &b);
        let twin = run_batch::<f32>(&b);
        assert_same(&got, &twin, n, &format!("N = {n}"));
        let backend = cpu.run_bms(Precision::F32, &b).unwrap();
        assert_same(&got, &backend, n, &format!("N = {n}, CPU backend"));
        let r = rate(&got, n);
        eprintln!("N = {n}: rate {r:.3}");
        if n > 1 {
            assert!(
                r > 0.02 && r < 0.98,
                "N = {n}: a regime with spikes and silences ({r})"
            );
        }

        // The next epoch continues from the final states at first_step > 0.
        let next = Steps {
            first_step: (steps.transient + steps.window) as u64,
            transient: 5,
            window: 40,
        };
        let mut from_gpu = b.trajectories.clone();
        for (s, t) in from_gpu.iter_mut().zip(&got) {
            s.state = t.state.clone();
        }
        let b2 = batch(&nets, from_gpu, next);
        assert_same(
            &run_gpu(&mut g, &b2),
            &run_batch::<f32>(&b2),
            n,
            &format!("N = {n}, second epoch"),
        );
    }
}

#[test]
fn long_windows_span_many_dispatches_and_readback_chunks() {
    let Some(mut g) = gpu() else { return };
    // N = 100: 156 steps per dispatch, so 1,300 steps cross eight dispatch boundaries (and
    // lavapipe's loop cap many times over); small limits force several readback chunks of
    // uneven length and batches split into groups of networks and of trajectories.
    let n = 100;
    assert_eq!(BmsShape::new(n, 1024).steps_per_dispatch(), 156);
    let nets: Vec<Net> = (0..3)
        .map(|m| random_net(n, 500 + m, 0.7, 0.35, 1.2, 0.0))
        .collect();
    let steps = Steps {
        first_step: 11,
        transient: 300,
        window: 1000,
    };
    // Trajectories out of network order.
    let mut trajectories = starts(3, 2, n, 77);
    trajectories.swap(0, 5);
    trajectories.swap(1, 3);
    let b = batch(&nets, trajectories, steps);
    let twin = run_batch::<f32>(&b);
    let plain = run_gpu(&mut g, &b);
    assert_same(&plain, &twin, n, "one chunk");
    let record = 4 * (n.div_ceil(32) + 2) as u64; // one trajectory-step of records
    for (binding, readback, what) in [
        (128 << 20, record * 6 * 333, "333-step chunks"),
        (
            128 << 20,
            record * 2 * 7,
            "groups of two trajectories, 7-step chunks",
        ),
        ((n * n * 4) as u64, record * 6 * 97, "one network per group"),
    ] {
        let limits = RunLimits { binding, readback };
        let got = run_with_limits(&mut g, Precision::F32, &b, limits).unwrap();
        assert_same(&got, &twin, n, what);
    }
    // A window shorter than a dispatch and a transient of zero; an empty window.
    for (transient, window) in [(0, 3), (10, 0), (0, 1)] {
        let steps = Steps {
            first_step: 0,
            transient,
            window,
        };
        let b = batch(&nets, starts(3, 1, n, 3), steps);
        assert_same(
            &run_gpu(&mut g, &b),
            &run_batch::<f32>(&b),
            n,
            &format!("transient {transient}, window {window}"),
        );
    }
}

#[test]
fn the_gpu_noise_words_equal_the_cpu_philox() {
    let Some(g) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut counters: Vec<[u32; 4]> = vec![[0; 4], [u32::MAX; 4], [1, 2, 3, 4]];
    counters.extend((0..2000).map(|_| [rng.random(), rng.random(), rng.random(), rng.random()]));
    for key in [[0, 0], [u32::MAX, u32::MAX], [0xa409_3822, 0x299f_31d0]] {
        let got = noise_probe(&g, key, &counters).unwrap();
        for (c, (words, normal)) in counters.iter().zip(&got) {
            assert_eq!(*words, philox(*c, key), "counter {c:x?}, key {key:x?}");
            // The normal of these words as the CPU computes it (f64), against the GPU's f32.
            let stream = NoiseStream {
                seed: key[0] as u64 | (key[1] as u64) << 32,
                replica: c[3] as u64,
                stream: c[2],
            };
            let cpu = stream.normal(c[0] as u64, c[1] as usize);
            let err = (*normal as f64 - cpu).abs();
            assert!(
                err <= 4e-6 * cpu.abs().max(1.0),
                "counter {c:x?}: GPU normal {normal} vs CPU {cpu} ({err:e})"
            );
        }
    }
    // The Random123 known answer.
    let kat = noise_probe(
        &g,
        [0xa409_3822, 0x299f_31d0],
        &[[0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344]],
    )
    .unwrap();
    assert_eq!(
        kat[0].0,
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
}

#[test]
fn noisy_steps_use_the_same_noise_and_rates_agree() {
    let Some(mut g) = gpu() else { return };
    let n = 100;
    let nets: Vec<Net> = (0..2)
        .map(|m| random_net(n, 900 + m, 0.8, 0.15, 0.5, 0.3))
        .collect();
    // One step from a far time (t beyond 2³²: the counter keeps its low 32 bits): V(1) on the
    // GPU is the CPU's to the rounding of the f32 Box–Muller (a few ulps of σ_B B).
    let one = Steps {
        first_step: (7u64 << 32) + 12_345,
        transient: 1,
        window: 0,
    };
    let b = batch(&nets, starts(2, 4, n, 5), one);
    let (got, twin) = (run_gpu(&mut g, &b), run_batch::<f32>(&b));
    let mut moved = 0;
    for (a, c) in got.iter().zip(&twin) {
        for (k, (&x, &y)) in a.state.iter().zip(&c.state).enumerate() {
            assert!(
                (x - y).abs() <= 2e-6 * (1.0 + y.abs()),
                "neuron {k}: {x} vs {y}"
            );
        }
        moved += a.state.iter().zip(&c.state).filter(|(x, y)| x != y).count();
    }
    eprintln!(
        "one noisy step: {moved} of {} states differ in the last bits",
        8 * n
    );

    // Over a long window the trajectories part, but the statistics agree.
    let steps = Steps {
        first_step: 0,
        transient: 100,
        window: 1500,
    };
    let b = batch(&nets, starts(2, 4, n, 6), steps);
    let (got, twin) = (run_gpu(&mut g, &b), run_batch::<f32>(&b));
    let (rg, rc) = (rate(&got, n), rate(&twin, n));
    eprintln!("noisy rates: GPU {rg:.4}, CPU {rc:.4}");
    assert!(rc > 0.05 && rc < 0.95, "an active noisy regime ({rc})");
    assert!((rg - rc).abs() < 0.01, "rates {rg} vs {rc}");
    for (a, c) in got.iter().zip(&twin) {
        let (ra, rb) = (
            rate(std::slice::from_ref(a), n),
            rate(std::slice::from_ref(c), n),
        );
        assert!((ra - rb).abs() < 0.03, "per trajectory: {ra} vs {rb}");
        // The distance to threshold has the same statistics.
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let (da, db) = (mean(&a.distance), mean(&c.distance));
        assert!(
            (da - db).abs() < 0.05 * db.max(1e-3),
            "mean distance {da} vs {db}"
        );
    }
}

#[test]
fn uncoupled_neurons_fire_with_the_closed_form_period() {
    let Some(mut g) = gpu() else { return };
    // cessac.md §10 anchor 1: γ = 0.6, θ = 1, I = 0.5 → period 4, d = 0.02.
    for n in [1, 33, 300] {
        let net = Net {
            w: vec![0.0; n * n],
            p: BmsParams {
                leak: 0.6,
                threshold: vec![1.0; n],
                input: vec![0.5; n],
                noise: 0.0,
            },
        };
        let nets = [net];
        let steps = Steps {
            first_step: 0,
            transient: 40,
            window: 64,
        };
        let b = batch(&nets, starts(1, 2, n, 1), steps);
        let got = run_gpu(&mut g, &b);
        assert_same(&got, &run_batch::<f32>(&b), n, "uncoupled");
        for trace in &got {
            let raster: Vec<SpikeWords> = (0..steps.window)
                .map(|t| SpikeWords(trace.spikes(n, t).to_vec()))
                .collect();
            assert_eq!(raster_period(&raster, 32), Some(4), "N = {n}");
            assert!((rate(std::slice::from_ref(trace), n) - 0.25).abs() < 1e-12);
            let d = trace.distance.iter().copied().fold(f64::INFINITY, f64::min);
            assert!((d - 0.02).abs() < 1e-6, "N = {n}: d̂ = {d}");
        }
    }
}

#[test]
fn f32_gpu_rasters_equal_f64_cpu_rasters_away_from_the_threshold() {
    let Some(mut g) = gpu() else { return };
    // cessac.md §10 anchor 5: while every V_i stays farther than ~1e-6 from θ_i, the f32 GPU
    // and the f64 CPU produce the same raster.
    let mut compared = 0;
    let mut skipped = 0;
    for n in [33, 100] {
        let nets: Vec<Net> = (0..3)
            .map(|m| random_net(n, 70 + m, 0.1, 0.6, 1.0, 0.0))
            .collect();
        let steps = Steps {
            first_step: 0,
            transient: 0,
            window: 300,
        };
        let b = batch(&nets, starts(3, 3, n, 8), steps);
        let (got, exact) = (run_gpu(&mut g, &b), run_batch::<f64>(&b));
        for (a, c) in got.iter().zip(&exact) {
            let d = c.distance.iter().copied().fold(f64::INFINITY, f64::min);
            if d < 1e-5 {
                skipped += 1;
                continue;
            }
            compared += 1;
            assert_eq!(
                a.raster, c.raster,
                "N = {n}: d̂ = {d:e} yet the rasters differ"
            );
            let gap = a
                .state
                .iter()
                .zip(&c.state)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(gap < 1e-5, "N = {n}: final states {gap:e} apart");
        }
    }
    eprintln!("f32 GPU vs f64 CPU: {compared} trajectories compared, {skipped} near θ skipped");
    assert!(
        compared >= 12,
        "too few trajectories away from θ: {compared}"
    );
}

#[test]
fn f64_is_refused_with_a_clear_error() {
    let Some(mut g) = gpu() else { return };
    let nets = [random_net(4, 1, 0.5, 0.5, 1.0, 0.0)];
    let b = batch(
        &nets,
        starts(1, 1, 4, 1),
        Steps {
            first_step: 0,
            transient: 1,
            window: 1,
        },
    );
    let e = g.run_bms(Precision::F64, &b).unwrap_err().to_string();
    assert!(e.contains("f32") && e.contains("--backend cpu"), "{e}");
}

/// Steps per second of the kernel at N = 1000, 16 trajectories, near rates 0.05 and 0.5
/// (lavapipe: correctness, not speed; the ratio is what matters). Weak random coupling on
/// neurons whose isolated period is 20 (γ = 0.9, I = 0.1147) or 2 (γ = 0.5, I = 0.7).
/// `cargo test --test bms_gpu -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench_steps_per_second_falls_with_the_rate() {
    let Some(mut g) = gpu() else { return };
    let n = 1000;
    let mut per_step = Vec::new();
    for (leak, input, window) in [(0.9, 0.1147, 400), (0.5, 0.7, 100)] {
        let nets = [random_net(n, 4, leak, input, 0.02, 0.0)];
        let steps = Steps {
            first_step: 0,
            transient: 20,
            window,
        };
        let b = batch(&nets, starts(1, 16, n, 2), steps);
        run_gpu(&mut g, &b); // compile and warm up
        let start = std::time::Instant::now();
        let got = run_gpu(&mut g, &b);
        let secs = start.elapsed().as_secs_f64();
        let total = (steps.transient + steps.window) as f64;
        let r = rate(&got, n);
        eprintln!(
            "N = {n}, 16 trajectories, rate {r:.3}: {:.1} steps/s ({:.0} trajectory-steps/s)",
            total / secs,
            16.0 * total / secs
        );
        per_step.push(secs / total);
    }
    assert!(
        per_step[0] < per_step[1],
        "cost falls with the rate: {per_step:?}"
    );
}
