//! The equations of models/jiang.md §2–4 against hand computations and the dense matrix.

use faer::c64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn chain(c: f64, gamma: f64, d: usize) -> Chain {
    Chain {
        autoassociation: c,
        heteroassociation: gamma,
        depth: d,
        backward: 0.0,
        sequences: 1,
        open_chain: false,
    }
}

fn couplings(n: usize, p: usize, chain: &Chain, self_couplings: bool, seed: u64) -> LowRank {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xi = draw_patterns(Entries::Binary, p, n, &mut rng);
    LowRank::new(xi, p, chain, self_couplings)
}

/// X_μν = c δ_μν + γ δ_{μ,ν+1} (d = 1): row μ has γ in column μ − 1, wrapped.
#[test]
fn x_is_the_forward_circulant() {
    let x = chain(0.5, 2.0, 1).matrix(4);
    #[rustfmt::skip]
    let expected = [
        0.5, 0.0, 0.0, 2.0,
        2.0, 0.5, 0.0, 0.0,
        0.0, 2.0, 0.5, 0.0,
        0.0, 0.0, 2.0, 0.5,
    ];
    assert_eq!(x, expected);
    // Open chain: no wrap-around; backward terms bγ above the diagonal; two blocks of 2.
    let mut open = chain(0.0, 1.0, 1);
    open.open_chain = true;
    open.backward = 0.5;
    #[rustfmt::skip]
    let expected = [
        0.0, 0.5, 0.0, 0.0,
        1.0, 0.0, 0.5, 0.0,
        0.0, 1.0, 0.0, 0.5,
        0.0, 0.0, 1.0, 0.0,
    ];
    assert_eq!(open.matrix(4), expected);
    let mut blocks = chain(0.0, 1.0, 1);
    blocks.sequences = 2;
    #[rustfmt::skip]
    let expected = [
        0.0, 1.0, 0.0, 0.0,
        1.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 1.0,
        0.0, 0.0, 1.0, 0.0,
    ];
    assert_eq!(blocks.matrix(4), expected);
}

/// J ξ^ν ≈ c ξ^ν + γ ξ^{ν+1}: the sequence runs forward (models/jiang.md §2), pinned by the
/// overlaps of J ξ^0 with every pattern.
#[test]
fn the_sequence_runs_forward() {
    let (n, p) = (4000, 8);
    let j = couplings(n, p, &chain(0.3, 1.0, 1), true, 7);
    let dense = j.dense();
    let xi0 = &j.xi[0..n];
    let mut out = vec![0.0; n];
    for col in 0..n {
        for row in 0..n {
            out[row] += dense[col * n + row] * xi0[col];
        }
    }
    let overlap = |mu: usize| (0..n).map(|i| j.xi[mu * n + i] * out[i]).sum::<f64>() / n as f64;
    // Crosstalk is O(√(P/N)) ≈ 0.05.
    assert!((overlap(0) - 0.3).abs() < 0.15, "self {}", overlap(0));
    assert!((overlap(1) - 1.0).abs() < 0.15, "successor {}", overlap(1));
    assert!(
        overlap(p - 1).abs() < 0.15,
        "predecessor {}",
        overlap(p - 1)
    );
}

fn dense_field(dense: &[f64], s: &[f64]) -> Vec<f64> {
    let n = s.len();
    let mut out = vec![0.0; n];
    for col in 0..n {
        for row in 0..n {
            out[row] += dense[col * n + row] * s[col];
        }
    }
    out
}

/// The factored field ξᵀ(X(ξ s))/N (− J_ii s_i) equals J s of the dense matrix, for every
/// option the factored path represents.
#[test]
fn factored_field_equals_the_dense_field() {
    let (n, p) = (150, 12);
    let mut variants = vec![chain(0.7, -1.3, 2)];
    let mut c = chain(0.2, 1.1, 3);
    c.backward = 0.4;
    c.sequences = 2;
    variants.push(c);
    c.open_chain = true;
    variants.push(c);
    for (k, ch) in variants.iter().enumerate() {
        for self_couplings in [true, false] {
            let j = couplings(n, p, ch, self_couplings, k as u64);
            let dense = j.dense();
            if !self_couplings {
                assert!((0..n).all(|i| dense[i * n + i] == 0.0));
            }
            let s: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 7.0).collect();
            let net = Network {
                couplings: &j,
                dense: None,
                leak: 1.0,
            };
            let expected = dense_field(&dense, &s);
            let got = trajectory::field_of::<f64>(&net, &s);
            for i in 0..n {
                assert!(
                    (got[i] - expected[i]).abs() < 1e-12,
                    "variant {k}, self {self_couplings}, i {i}: {} vs {}",
                    got[i],
                    expected[i]
                );
            }
        }
    }
}

fn sorted(mut z: Vec<c64>) -> Vec<c64> {
    z.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im)));
    z
}

/// The P × P reduction gives the nonzero eigenvalues of J, and J has N − P exact zeros; with
/// D = diag(d), likewise for J·D.
#[test]
fn the_reduction_equals_the_full_spectrum() {
    let (n, p) = (120, 15);
    let j = couplings(n, p, &chain(0.5, 1.0, 2), true, 3);
    let dense = j.dense();
    let d: Vec<f64> = (0..n).map(|i| 0.2 + (i % 7) as f64 / 10.0).collect();
    for derivative in [None, Some(d.as_slice())] {
        let mut m = dense.clone();
        if let Some(d) = derivative {
            for col in 0..n {
                for row in 0..n {
                    m[col * n + row] *= d[col];
                }
            }
        }
        let full = sorted(crate::analysis::spectrum::eigenvalues(n, &m));
        let reduced = j.eigenvalues(derivative);
        assert_eq!(reduced.len(), p);
        let zeros = full.iter().filter(|z| z.norm() < 1e-9).count();
        assert_eq!(zeros, n - p, "N − P exact zeros");
        let mut nonzero: Vec<c64> = full.into_iter().filter(|z| z.norm() >= 1e-9).collect();
        nonzero = sorted(nonzero);
        let reduced = sorted(reduced);
        for (a, b) in nonzero.iter().zip(&reduced) {
            assert!((a - b).norm() < 1e-9, "{a} vs {b}");
        }
    }
}

/// Xᵀ (the backward sequence) has the same spectrum as X: b = 0 ↔ forward only, and the
/// couplings with γ moved to the backward diagonal (b → ∞ limit written as c, γ' = 0 forward).
#[test]
fn the_transposed_chain_has_the_same_spectrum() {
    let (n, p) = (200, 20);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let xi = draw_patterns(Entries::Gaussian, p, n, &mut rng);
    let forward = LowRank::new(xi.clone(), p, &chain(0.4, 0.9, 2), true);
    let mut backward = forward.clone();
    for t in &mut backward.taps {
        t.shift = -t.shift;
    }
    let a = sorted(forward.eigenvalues(None));
    let b = sorted(backward.eigenvalues(None));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).norm() < 1e-9, "{x} vs {y}");
    }
    // …but it runs the other way: X ≠ Xᵀ.
    assert_ne!(forward.dense(), backward.dense());
}

/// Below γ_c the orbit decays to h = 0 and the largest exponent per step is exactly
/// max_k ln|1 − a + a λ_k(J)| of the sampled J (models/jiang.md §6), on both paths.
#[test]
fn exponent_below_the_transition_is_the_spectral_one() {
    let (n, p, a) = (300, 30, 0.05);
    let j = couplings(n, p, &chain(0.0, 0.6, 1), true, 5);
    let lambda = j.eigenvalues(None);
    let expected = lambda
        .iter()
        .map(|l| (c64::new(1.0 - a, 0.0) + a * l).norm().ln())
        .fold((1.0 - a).ln(), f64::max);
    let dense = j.dense();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let start: Vec<f64> = draw_patterns(Entries::Gaussian, 1, n, &mut rng)
        .iter()
        .map(|x| 0.1 * x)
        .collect();
    let mut tangent = draw_patterns(Entries::Gaussian, 1, n, &mut rng);
    let norm = tangent.iter().map(|x| x * x).sum::<f64>().sqrt();
    tangent.iter_mut().for_each(|x| *x /= norm);
    for dense in [None, Some(dense.as_slice())] {
        let batch = Batch {
            networks: vec![Network {
                couplings: &j,
                dense,
                leak: a,
            }],
            trajectories: vec![Trajectory {
                network: 0,
                start: start.clone(),
                twin: None,
                tangent: Some(tangent.clone()),
            }],
            transient: 2000,
            window: 4000,
            record_every: 100,
            snapshots: vec![],
        };
        let trace = &run::<f64>(&batch)[0];
        let measured = trace.log_growth / 4000.0;
        assert!(
            (measured - expected).abs() < 2e-5,
            "per step {measured} vs {expected} (dense {})",
            dense.is_some()
        );
        assert!(
            trace.measures[trace.measures.len() - MEASURES] < 1e-3,
            "decayed"
        );
    }
}

/// The factored and dense paths give the same trajectory, overlaps, measures and twin.
#[test]
fn factored_and_dense_trajectories_agree() {
    let (n, p, a) = (200, 10, 0.1);
    let j = couplings(n, p, &chain(0.0, 1.5, 1), false, 13);
    let dense = j.dense();
    let start: Vec<f64> = j.xi[0..n].to_vec();
    let twin: Vec<f64> = start
        .iter()
        .enumerate()
        .map(|(i, x)| x + 1e-3 * ((i % 5) as f64 - 2.0))
        .collect();
    let mut tangent = vec![0.0; n];
    tangent[3] = 1.0;
    let traces: Vec<Trace> = [None, Some(dense.as_slice())]
        .into_iter()
        .map(|dense| {
            let batch = Batch {
                networks: vec![Network {
                    couplings: &j,
                    dense,
                    leak: a,
                }],
                trajectories: vec![Trajectory {
                    network: 0,
                    start: start.clone(),
                    twin: Some(twin.clone()),
                    tangent: Some(tangent.clone()),
                }],
                transient: 100,
                window: 300,
                record_every: 7,
                snapshots: vec![0, 50, 400],
            };
            run::<f64>(&batch).remove(0)
        })
        .collect();
    let (f, d) = (&traces[0], &traces[1]);
    assert_eq!(f.overlaps.len(), (400 / 7 + 1) * p);
    assert_eq!(f.snapshots.len(), 3);
    let close = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-9);
    assert!(close(&f.overlaps, &d.overlaps));
    assert!(close(&f.measures, &d.measures));
    assert!(close(&f.state, &d.state));
    assert!((f.log_growth - d.log_growth).abs() < 1e-9);
    assert!((f.speed - d.speed).abs() < 1e-9);
    // The start is pattern 0: m^0(0) = ⟨ξ^0 tanh ξ^0⟩ = tanh 1.
    assert!((f.overlaps[0] - 1f64.tanh()).abs() < 1e-12);
}
