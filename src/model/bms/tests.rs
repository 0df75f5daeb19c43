//! The anchors of cessac.md §10 that the equations alone decide.

use rand::RngExt;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::*;

/// Runs `transient` steps, then a window of `window` steps (f64, noise stream 0 of seed 1);
/// returns d̂ over the window (over every step's V, before its spikes are taken), the raster of
/// the window, and the final V.
fn simulate(
    weights: &[f64],
    params: &BmsParams,
    v0: &[f64],
    transient: usize,
    window: usize,
) -> (f64, Vec<SpikeWords>, Vec<f64>) {
    let n = v0.len();
    let net = Network::<f64>::new(weights, params);
    let mut v = v0.to_vec();
    let steps = Steps {
        first_step: 0,
        transient,
        window,
    };
    let trace = advance(&net, &mut v, &stream(1), steps, &mut vec![0.0; n]);
    let d_hat = trace.distance.iter().copied().fold(f64::INFINITY, f64::min);
    let raster = (0..window)
        .map(|t| SpikeWords(trace.spikes(n, t).to_vec()))
        .collect();
    (d_hat, raster, trace.state)
}

fn stream(seed: u64) -> NoiseStream {
    NoiseStream {
        seed,
        replica: 0,
        stream: 0,
    }
}

/// One step of `params` from `v` (f64).
fn one_step(weights: &[f64], params: &BmsParams, z: &SpikeWords, v: &mut [f64], seed: u64, t: u64) {
    let net = Network::<f64>::new(weights, params);
    let mut s = vec![0.0; v.len()];
    trajectory::step(&net, z, v, &mut s, &stream(seed), t);
}

fn uncoupled(leak: f64, threshold: f64, input: f64) -> BmsParams {
    BmsParams {
        leak,
        threshold: vec![threshold],
        input: vec![input],
        noise: 0.0,
    }
}

#[test]
fn spike_words_pack_32_neurons_per_word() {
    let mut z = SpikeWords::new(70);
    assert_eq!(z.0.len(), 3);
    for i in [0, 31, 32, 69] {
        z.set(i, true);
    }
    assert!(z.get(31) && z.get(32) && !z.get(33));
    assert_eq!(z.count(), 4);
    assert_eq!(z.spiking().collect::<Vec<_>>(), vec![0, 31, 32, 69]);
    z.set(31, false);
    assert_eq!(z.0[0], 1);
}

/// Anchor 1: an uncoupled neuron with I > (1 − γ)θ fires with period p = min{k : V_k ≥ θ},
/// `V_k = I (1 − γ^k)/(1 − γ)`, and d = min_{k ≤ p} |V_k − θ|.
#[test]
fn uncoupled_neurons_fire_with_the_closed_form_period_and_distance() {
    for (leak, input, period, distance) in [(0.6, 0.5, 4, 0.02), (0.9, 0.15, 11, 0.023018)] {
        let p = uncoupled(leak, 1.0, input);
        let (d_hat, raster, _) = simulate(&[0.0], &p, &[0.0], 300, 200);
        assert_eq!(raster_period(&raster, 100), Some(period), "γ = {leak}");
        assert!((d_hat - distance).abs() < 5e-7, "γ = {leak}: d̂ = {d_hat}");
        let rate = raster.iter().filter(|z| z.get(0)).count() as f64 / raster.len() as f64;
        assert!((rate - 1.0 / period as f64).abs() <= 1.0 / raster.len() as f64);
    }
}

/// Anchors 1 and 6: with I ≤ (1 − γ)θ the neuron dies: V → I/(1 − γ), d = θ − I/(1 − γ), period 1.
#[test]
fn subthreshold_input_dies_at_the_closed_form_distance() {
    let p = uncoupled(0.6, 1.0, 0.2);
    let (d_hat, raster, v) = simulate(&[0.0], &p, &[1.5], 300, 100);
    assert!(
        raster.iter().all(|z| z.count() == 0),
        "a dead neuron spiked"
    );
    assert_eq!(raster_period(&raster, 50), Some(1));
    assert!((v[0] - 0.5).abs() < 1e-15);
    assert!((d_hat - 0.5).abs() < 1e-15, "d̂ = {d_hat}");
    // A whole network with tiny couplings and I < (1 − γ)θ: every neuron dead.
    let n = 40;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w: Vec<f64> = (0..n * n)
        .map(|_| 1e-4 * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let params = BmsParams {
        leak: 0.6,
        threshold: vec![1.0; n],
        input: vec![0.2; n],
        noise: 0.0,
    };
    let (d_hat, raster, _) = simulate(&w, &params, &vec![0.0; n], 400, 100);
    assert!(raster.iter().all(|z| z.count() == 0));
    assert!((d_hat - 0.5).abs() < 1e-12, "d̂ = {d_hat}");
}

/// Anchor 2: a perturbation of a silent neuron shrinks by exactly γ per step (up to rounding)
/// and becomes exactly 0 once the neuron spikes (the reset forgets it).
#[test]
fn perturbations_shrink_by_the_leak_and_vanish_at_a_spike() {
    let p = uncoupled(0.6, 1.0, 0.5);
    let (mut a, mut b) = (vec![0.0], vec![1e-9]);
    let (mut za, mut zb) = (SpikeWords::new(1), SpikeWords::new(1));
    let mut delta = 1e-9;
    for t in 0..12 {
        spikes(&a, &p.threshold, &mut za);
        spikes(&b, &p.threshold, &mut zb);
        assert_eq!(za, zb, "the perturbation changed the raster at t = {t}");
        let spiked = za.get(0);
        one_step(&[0.0], &p, &za, &mut a, 0, t);
        one_step(&[0.0], &p, &zb, &mut b, 0, t);
        let d = b[0] - a[0];
        if spiked {
            assert_eq!(d, 0.0, "t = {t}: a spike must erase the perturbation");
            delta = 0.0;
        } else if delta != 0.0 {
            assert!(
                (d / delta - 0.6).abs() < 1e-6,
                "t = {t}: ratio {}",
                d / delta
            );
            delta = d;
        } else {
            assert_eq!(d, 0.0);
        }
    }
}

#[test]
fn lyapunov_spectrum_is_ln_gamma_or_minus_infinity_never_nan() {
    let l = lyapunov_spectrum(0.5, &[true, false, true, false]);
    assert_eq!(l[0], 0.5f64.ln());
    assert_eq!(l[1], 0.5f64.ln());
    assert_eq!(l[2], f64::NEG_INFINITY);
    assert_eq!(l[3], f64::NEG_INFINITY);
    let zero = lyapunov_spectrum(0.0, &[false, true]);
    assert!(zero.iter().all(|&x| x == f64::NEG_INFINITY));
    assert!(lyapunov_spectrum(0.9, &[false; 5])
        .iter()
        .all(|x| !x.is_nan() && *x < 0.0));
}

/// Anchor 4: on a periodic orbit (f64, after a transient ≫ 37/|ln γ| steps) the detected
/// period recurs exactly in the state, not only in the raster.
#[test]
fn a_detected_period_recurs_in_the_state() {
    let n = 20;
    let mut found = 0;
    for seed in 0..6 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w: Vec<f64> = (0..n * n)
            .map(|_| 0.5 / (n as f64).sqrt() * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let params = BmsParams {
            leak: 0.5,
            threshold: vec![1.0; n],
            input: vec![0.6; n],
            noise: 0.0,
        };
        let v0: Vec<f64> = (0..n)
            .map(|i| (i as f64 * 0.37).sin().abs() * 2.0)
            .collect();
        let (_, raster, _) = simulate(&w, &params, &v0, 2000, 400);
        let Some(p) = raster_period(&raster, 200) else {
            continue;
        };
        found += 1;
        // The state p steps later is the same, to rounding.
        let (_, _, v1) = simulate(&w, &params, &v0, 3000, 0);
        let (_, _, v2) = simulate(&w, &params, &v0, 3000 + p, 0);
        let worst = v1
            .iter()
            .zip(&v2)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-12,
            "seed {seed}: period {p}, state differs by {worst}"
        );
    }
    assert!(
        found >= 3,
        "only {found} of 6 weakly coupled networks were periodic"
    );
}

#[test]
fn noise_comes_from_the_given_stream() {
    let p = BmsParams {
        noise: 0.1,
        ..uncoupled(0.6, 1.0, 0.2)
    };
    let z = SpikeWords::new(1);
    let run = |seed, t| {
        let mut v = vec![0.0];
        one_step(&[0.0], &p, &z, &mut v, seed, t);
        v[0]
    };
    assert_eq!(run(5, 0), run(5, 0));
    assert_ne!(run(5, 0), run(6, 0));
    assert_ne!(run(5, 0), run(5, 1));
    assert_eq!(run(5, 3), 0.2 + 0.1 * stream(5).normal(3, 0));
    let mut v = vec![0.0];
    one_step(&[0.0], &uncoupled(0.6, 1.0, 0.2), &z, &mut v, 5, 0);
    assert_eq!(v[0], 0.2, "σ_B = 0 draws nothing");
}

/// Anchor 3 (cessac.md §5.5): a perturbation with ‖δ‖_∞ below d̂ of the following window leaves
/// the raster identical, on random networks in every regime (f64).
#[test]
fn perturbations_below_d_hat_never_change_the_raster() {
    let n = 30;
    let mut checked = 0;
    for seed in 0..40u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        let sigma = [0.5, 2.0, 4.0, 8.0][seed as usize % 4];
        let w: Vec<f64> = (0..n * n)
            .map(|_| sigma / (n as f64).sqrt() * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let params = BmsParams {
            leak: [0.0, 0.3, 0.6, 0.9][seed as usize / 10],
            threshold: vec![1.0; n],
            input: vec![0.3; n],
            noise: 0.0,
        };
        let v0: Vec<f64> = (0..n).map(|_| 2.0 * rng.random::<f64>()).collect();
        let (d_hat, raster, _) = simulate(&w, &params, &v0, 0, 300);
        if d_hat < 1e-12 {
            continue;
        }
        let delta: Vec<f64> = (0..n)
            .map(|_| {
                let size = 0.99 * d_hat * rng.random::<f64>();
                if rng.random::<bool>() {
                    size
                } else {
                    -size
                }
            })
            .collect();
        let v1: Vec<f64> = v0.iter().zip(&delta).map(|(v, d)| v + d).collect();
        let (_, perturbed, _) = simulate(&w, &params, &v1, 0, 300);
        assert_eq!(raster, perturbed, "seed {seed}: d̂ = {d_hat}");
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} networks had d̂ > 1e-12");
}
