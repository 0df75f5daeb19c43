//! The closed forms of models/jiang.md §8 against the eigenvalues of generated couplings
//! J = ξᵀXξ/N (the sampled side; the theory's own solver is tested against the same closed
//! forms in `src/theory/jiang`). Finite N: edges within a few %, compared by quantiles.

use faer::c64;
use hebbnet::model::jiang::{draw_patterns, Chain, Entries, LowRank};
use hebbnet::theory::jiang as theory;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn couplings(n: usize, load: f64, c: f64, gamma: f64, d: usize, seed: u64) -> LowRank {
    let p = (load * n as f64 + 0.5).floor() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xi = draw_patterns(Entries::Binary, p, n, &mut rng);
    let chain = Chain {
        autoassociation: c,
        heteroassociation: gamma,
        depth: d,
        backward: 0.0,
        sequences: 1,
        open_chain: false,
    };
    LowRank::new(xi, p, &chain, true)
}

/// The eigenvalues of J: the P nonzero ones by the reduction when P < N, else all N.
fn spectrum(j: &LowRank) -> Vec<c64> {
    if j.patterns < j.neurons {
        j.eigenvalues(None)
    } else {
        hebbnet::analysis::spectrum::eigenvalues(j.neurons, &j.dense())
    }
}

fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// c = 0, d = 1, γ = 1: the nonzero eigenvalues fill the annulus r_in = (1 − α)^{3/2} ≤ |λ| ≤
/// r_out = √(1 + α) (α < 1), the disk for α ≥ 1 (§5.2; the note's numbers 0.8538, 1.0488,
/// 0.3536, 1.2247, 1.5811). The 0.5% and 99.5% quantiles of |λ| at N = 2000 (1000 for α = 1.5)
/// are within 4% of the radii.
#[test]
fn annulus_radii_match_the_closed_form() {
    for (load, n, r_in, r_out) in [
        (0.1, 2000, 0.8538, 1.0488),
        (0.5, 2000, 0.3536, 1.2247),
        (1.5, 1000, 0.0, 1.5811),
    ] {
        let (tin, tout) = theory::radii(load, 1.0);
        assert!((tin - r_in).abs() < 1e-4 && (tout - r_out).abs() < 1e-4);
        let z = spectrum(&couplings(n, load, 0.0, 1.0, 1, 1));
        let moduli: Vec<f64> = z.iter().map(|z| z.norm()).filter(|&r| r > 1e-9).collect();
        let (lo, hi) = (quantile(moduli.clone(), 0.005), quantile(moduli, 0.995));
        assert!((hi - r_out).abs() < 0.04 * r_out, "α = {load}: 99.5% {hi} vs {r_out}");
        if r_in > 0.0 {
            assert!((lo - r_in).abs() < 0.04 * r_out, "α = {load}: 0.5% {lo} vs {r_in}");
        } else {
            assert!(lo < 0.1, "α = {load}: the disk reaches 0 ({lo})");
        }
    }
}

/// The radial distribution (9): the fraction F(r) of all N eigenvalues with |λ| < r, against
/// the empirical one (the N − P zeros included) at N = 2000, α = 0.5: the largest gap stays
/// below 0.02 (the note: 0.005–0.013 at N = 1000–3000).
#[test]
fn radial_distribution_matches_equation_9() {
    let (n, load) = (2000, 0.5);
    let j = couplings(n, load, 0.0, 1.0, 1, 2);
    let mut moduli: Vec<f64> = spectrum(&j).iter().map(|z| z.norm()).collect();
    moduli.extend(std::iter::repeat_n(0.0, n - j.patterns));
    moduli.sort_by(f64::total_cmp);
    let mut gap: f64 = 0.0;
    for k in 1..60 {
        let r = 1.3 * k as f64 / 60.0;
        let empirical = moduli.partition_point(|&m| m < r) as f64 / n as f64;
        gap = gap.max((empirical - theory::radial_cdf(load, 1.0, r)).abs());
    }
    assert!(gap < 0.02, "max CDF gap {gap}");
}

/// The right edge of the sampled J crosses 1 at γ_c = 1/√(1 + α) (c = 0, d = 1: x_R = γ √(1 + α))
/// and the theory's γ_c agrees with the closed form.
#[test]
fn the_transition_is_where_the_right_edge_reaches_one() {
    for load in [0.1, 0.5] {
        let closed = 1.0 / (1.0 + load).sqrt();
        let solved = theory::critical_heteroassociation(load, 0.0, 1, 0.0).unwrap();
        assert!((solved - closed).abs() < 1e-3, "γ_c {solved} vs {closed}");
        let j = couplings(2000, load, 0.0, closed, 1, 3);
        let edge = spectrum(&j).iter().map(|z| z.re).fold(0.0, f64::max);
        assert!((edge - 1.0).abs() < 0.03, "α = {load}: x_R(γ_c) = {edge}");
    }
}

/// Wishart limit: γ → 0 leaves J = c ξᵀξ/N, whose right edge is c(1 + √α)².
#[test]
fn wishart_limit_of_the_right_edge() {
    for (load, c) in [(0.1, 1.0), (0.3, 0.5)] {
        let expected = c * (1.0 + f64::sqrt(load)).powi(2);
        let j = couplings(2000, load, c, 1e-4, 1, 4);
        let edge = spectrum(&j).iter().map(|z| z.re).fold(0.0, f64::max);
        assert!((edge - expected).abs() < 0.03 * expected, "{edge} vs {expected}");
        let theory_edge = theory::SequenceCouplings {
            load,
            autoassociation: c,
            heteroassociation: 1e-4,
            depth: 1,
            backward: 0.0,
        }
        .right_edge();
        assert!((theory_edge - expected).abs() < 1e-3 * expected);
    }
}

/// c = 0: γ → −γ maps every eigenvalue z to −z (same patterns); eigenvalues come in conjugate
/// pairs (ρ(z̄) = ρ(z)).
#[test]
fn symmetries_of_the_spectrum() {
    let sort = |mut v: Vec<c64>| {
        v.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im)));
        v
    };
    let plus = spectrum(&couplings(600, 0.2, 0.0, 0.7, 2, 5));
    let minus = spectrum(&couplings(600, 0.2, 0.0, -0.7, 2, 5));
    let negated = sort(minus.iter().map(|z| -z).collect());
    for (a, b) in sort(plus.clone()).iter().zip(&negated) {
        assert!((a - b).norm() < 1e-9, "{a} vs {b}");
    }
    let conjugated = sort(plus.iter().map(|z| z.conj()).collect());
    for (a, b) in sort(plus).iter().zip(&conjugated) {
        assert!((a - b).norm() < 1e-9);
    }
}

/// The Jacobian J·diag(φ'(h)) with h_i i.i.d. N(0, σ²): its outer radius is (11)
/// R_out = |γ| √(α⟨φ'²⟩ + ⟨φ'⟩²) and its inner one (12), c = 0, d = 1 (99.5% and 0.5%
/// quantiles of the nonzero eigenvalues, N = 2000, α = 0.3, within 4% of R_out).
#[test]
fn jacobian_radii_match_equations_11_and_12() {
    let (n, load) = (2000, 0.3);
    let j = couplings(n, load, 0.0, 1.0, 1, 6);
    for variance in [0.5, 1.0, 2.0] {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let h = draw_patterns(Entries::Gaussian, 1, n, &mut rng);
        let d: Vec<f64> = h
            .iter()
            .map(|x| 1.0 - (variance.sqrt() * x).tanh().powi(2))
            .collect();
        let moduli: Vec<f64> = j.eigenvalues(Some(&d)).iter().map(|z| z.norm()).collect();
        let (r_in, r_out) = theory::jacobian_radii(load, 1.0, variance);
        let (lo, hi) = (quantile(moduli.clone(), 0.005), quantile(moduli, 0.995));
        assert!((hi - r_out).abs() < 0.04 * r_out, "σ² = {variance}: {hi} vs {r_out}");
        assert!((lo - r_in).abs() < 0.04 * r_out, "σ² = {variance}: {lo} vs {r_in}");
    }
}
