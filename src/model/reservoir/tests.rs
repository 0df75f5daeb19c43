//! The anchors of models/rivkind_barak.md §8 that hold at any N.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn reservoir(n: usize, gain: f64, phi: Nonlinearity, seed: u64) -> Reservoir {
    Reservoir::draw(n, gain, 1.0, phi, &mut ChaCha8Rng::seed_from_u64(seed))
}

/// Train on `targets`: open loops polished, then the minimum-norm readout.
fn train(r: &Reservoir, targets: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let states: Vec<Vec<f64>> = targets
        .iter()
        .map(|&a| {
            let o = r.open_loop(a, 0.2, 200.0, 1e-2);
            assert!(o.settled && o.polished, "A = {a}: residual {}", o.residual);
            o.state
        })
        .collect();
    let rates: Vec<Vec<f64>> = states
        .iter()
        .map(|x| x.iter().map(|&v| r.nonlinearity.phi(v)).collect())
        .collect();
    let w = minimum_norm_readout(&rates, targets, 0.0);
    (states, w)
}

#[test]
fn the_closed_loop_reproduces_each_target_at_its_fixed_point() {
    let r = reservoir(200, 0.8, Nonlinearity::Tanh, 1);
    let targets = [0.7, -0.4, 1.2];
    let (states, w) = train(&r, &targets);
    for (x, a) in states.iter().zip(targets) {
        let z: f64 = w.iter().zip(x).map(|(w, x)| w * x.tanh()).sum();
        assert!((z - a).abs() < 1e-12, "z = {z}, A = {a}");
        let f = r.closed_loop_field(&w, x);
        let rms = (f.iter().map(|v| v * v).sum::<f64>() / 200.0).sqrt();
        assert!(rms < 1e-9, "{rms}");
    }
}

#[test]
fn homogeneous_relu_has_an_exact_zero_mode_along_the_fixed_point() {
    let r = reservoir(150, 0.9, Nonlinearity::Relu { threshold: 0.0 }, 2);
    let (states, w) = train(&r, &[1.0]);
    let x = &states[0];
    let m = r.closed_loop_jacobian(&w, x);
    let scale = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mx: Vec<f64> = m
        .chunks_exact(150)
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect();
    let worst = mx.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(worst < 1e-12 * scale, "{worst}");
    // So M has an eigenvalue at 0 within rounding: marginal.
    let ev = eigenvalues(150, &m);
    let nearest = ev.iter().map(|z| z.norm()).fold(f64::INFINITY, f64::min);
    assert!(nearest < 1e-9, "{nearest}");
}

#[test]
fn tanh_open_loop_is_odd_in_the_target() {
    let r = reservoir(120, 0.7, Nonlinearity::Tanh, 3);
    let plus = r.open_loop(0.8, 0.2, 200.0, 1e-2).state;
    let minus = r.open_loop(-0.8, 0.2, 200.0, 1e-2).state;
    for (a, b) in plus.iter().zip(&minus) {
        assert!((a + b).abs() < 1e-10);
    }
}

#[test]
fn open_loop_gain_is_the_slope_of_the_open_loop_readout() {
    let r = reservoir(160, 1.2, Nonlinearity::Tanh, 4);
    let a = 0.6;
    let (states, w) = train(&r, &[a]);
    let gain = r.open_loop_gain_at_zero(&w, &states[0]);
    let z_ol = |target: f64| -> f64 {
        let x = r.polish(states[0].clone(), target, 50, 1e-13).0;
        w.iter().zip(&x).map(|(w, x)| w * x.tanh()).sum()
    };
    let h = 1e-4;
    let slope = (z_ol(a + h) - z_ol(a - h)) / (2.0 * h);
    assert!(
        (gain - slope).abs() < 1e-6 * slope.abs().max(1.0),
        "{gain} vs {slope}"
    );
}

#[test]
fn the_readout_handles_dependent_rates() {
    // tanh, targets ±A: r(−A) = −r(A), RᵀR singular; the pseudo-inverse still interpolates.
    let r = reservoir(100, 0.6, Nonlinearity::Tanh, 5);
    let (states, w) = train(&r, &[0.5, -0.5]);
    for (x, a) in states.iter().zip([0.5, -0.5]) {
        let z: f64 = w.iter().zip(x).map(|(w, x)| w * x.tanh()).sum();
        assert!((z - a).abs() < 1e-10, "{z} vs {a}");
    }
}
