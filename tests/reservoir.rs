//! Trained reservoirs (Rivkind & Barak 2017): the mean-field theory against finite networks —
//! the predicted outliers eig(L_k) and the open-loop gain H_k(0) against the closed-loop
//! Jacobian's eigenvalues and the finite-N gain, seed means over 4 networks of N = 800
//! (models/rivkind_barak.md §8).

use hebbnet::model::reservoir::{eigenvalues, minimum_norm_readout, Nonlinearity, Reservoir};
use hebbnet::theory::reservoir::MeanField;
use rand::SeedableRng;

/// One trained replica at a single target: (the outlier of M farthest from the bulk's centre −1,
/// the bulk radius ρ, H(0)).
fn finite_network(
    n: usize,
    gain: f64,
    target: f64,
    phi: Nonlinearity,
    seed: u64,
) -> (f64, f64, f64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let r = Reservoir::draw(n, gain, 1.0, phi, &mut rng);
    let open = r.open_loop(target, 0.2, 200.0, 1e-2);
    assert!(open.settled && open.polished, "seed {seed}");
    let x = open.state;
    let rates: Vec<f64> = x.iter().map(|&v| phi.phi(v)).collect();
    let w = minimum_norm_readout(&[rates], &[target], 0.0);
    let m = r.closed_loop_jacobian(&w, &x);
    let ev = eigenvalues(n, &m);
    // A single target's outlier is real: the real eigenvalue farthest from the bulk's centre.
    let outlier = ev
        .iter()
        .filter(|z| z.im.abs() < 1e-9)
        .map(|z| z.re)
        .max_by(|a, b| (a + 1.0).abs().total_cmp(&(b + 1.0).abs()))
        .expect("a real eigenvalue");
    let rho = r.bulk_radius(gain, &x);
    (outlier, rho, r.open_loop_gain_at_zero(&w, &x))
}

#[test]
fn predicted_outliers_and_gain_match_finite_networks() {
    for (phi, gain, target) in [
        (Nonlinearity::Tanh, 0.3, 1.0),
        (Nonlinearity::Tanh, 0.5, 1.5),
        (Nonlinearity::Relu { threshold: -0.5 }, 0.4, 1.0),
    ] {
        let theory = MeanField {
            gain,
            input_std: 1.0,
            nonlinearity: phi,
            targets: vec![target],
        }
        .solve()
        .expect("a finite solution");
        let attractor = &theory.attractors[0];
        let predicted = attractor.eigenvalues[0].re;
        let single = theory.single_target().expect("K = 1");
        let seeds = 4;
        let (mut outlier, mut rho, mut h0) = (0.0, 0.0, 0.0);
        for seed in 0..seeds {
            let (o, r, h) = finite_network(800, gain, target, phi, seed);
            outlier += o / seeds as f64;
            rho += r / seeds as f64;
            h0 += h / seeds as f64;
        }
        // The outlier lies outside the bulk (else it merges with it at finite N).
        assert!(
            (predicted + 1.0).abs() > attractor.rho + 0.02,
            "{phi:?}: the predicted outlier is inside the bulk"
        );
        assert!(
            (outlier - predicted).abs() < 0.03,
            "{phi:?} g = {gain}: outlier {outlier} vs L {predicted}"
        );
        assert!(
            (rho - attractor.rho).abs() < 0.02,
            "{phi:?}: ρ {rho} vs {}",
            attractor.rho
        );
        assert!(
            (h0 - single.h0).abs() < 0.03,
            "{phi:?}: H(0) {h0} vs H0 {}",
            single.h0
        );
    }
}
