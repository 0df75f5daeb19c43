//! Tests of the Jiang et al. theory against the closed forms of models/jiang.md §5.2, §6, §8,
//! its symmetries, and brute-force quadrature.

use super::*;

fn couplings(load: f64, c: f64, gamma: f64, depth: usize) -> SequenceCouplings {
    SequenceCouplings::new(load, c, gamma, depth)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// The midpoint rule with `m` angles for `⟨f(Λ(θ))⟩`.
fn midpoint(c: &SequenceCouplings, m: usize, f: impl Fn(Complex64) -> Complex64) -> Complex64 {
    (0..m)
        .map(|j| f(c.symbol(std::f64::consts::TAU * (j as f64 + 0.5) / m as f64)))
        .sum::<Complex64>()
        / m as f64
}

/// The exact averages of eq (6) and (10a) against 65536 midpoints, at points g away from the
/// poles (there the midpoint rule converges geometrically and is exact to rounding), for b = 0
/// and b ≠ 0, d = 1, 2, 3.
#[test]
fn exact_averages_match_brute_force_quadrature() {
    let cases = [
        SequenceCouplings::new(0.5, 1.0, 1.0, 2),
        SequenceCouplings::new(1.5, 0.5, -0.7, 1),
        SequenceCouplings {
            backward: 0.4,
            ..SequenceCouplings::new(0.3, 0.2, 0.8, 3)
        },
    ];
    for c in &cases {
        let averages = Averages::new(c);
        for g in [Complex64::new(0.2, 0.1), Complex64::new(-0.4, 0.9), Complex64::new(2.5, -1.5)] {
            let (f, z) = averages.edge(g).expect("no pole on the circle");
            let f_num = c.load * midpoint(c, 65536, |l| ((l * g).norm_sqr() / (1.0 - l * g).norm_sqr()).into());
            let z_num = c.load * midpoint(c, 65536, |l| l / (1.0 - l * g).norm_sqr());
            assert!(close(f, f_num.re, 1e-10 * f.max(1.0)), "{c:?} g={g}: F {f} vs {f_num}");
            assert!((z - z_num).norm() < 1e-10 * z.norm().max(1.0), "{c:?} g={g}: z {z} vs {z_num}");
            let kappa = averages.kappa(g).expect("kappa");
            let kappa_num = c.load * midpoint(c, 65536, |l| l / (1.0 - g * l));
            assert!((kappa - kappa_num).norm() < 1e-10 * kappa.norm().max(1.0));
            let v = 0.37;
            let (zi, wi) = averages.interior(g, v).expect("interior");
            let d = |l: Complex64| (1.0 - l * g).norm_sqr() + v * l.norm_sqr();
            let zi_num = c.load * midpoint(c, 65536, |l| l / d(l));
            let wi_num = c.load * (g.norm_sqr() + v) * midpoint(c, 65536, |l| (l.norm_sqr() / d(l)).into()).re;
            assert!((zi - zi_num).norm() < 1e-10 * zi.norm().max(1.0));
            assert!(close(wi, wi_num, 1e-10 * wi.max(1.0)));
        }
    }
}

/// §8 anchors: the annulus (disk for α ≥ 1) of c = 0, d = 1 at γ = 1. The boundary points are
/// Newton-projected to |ln F| < 1e-13, so |z| is exact to ~1e-12; 1e-9 is generous. The note's
/// 4-digit numbers are checked to their last digit.
#[test]
fn ring_radii_from_the_boundary() {
    for (load, inner, outer) in [(0.1, Some(0.8538), 1.0488), (0.5, Some(0.3536), 1.2247), (1.5, None, 1.5811)] {
        let (r_in, r_out) = ring::radii(load, 1.0).expect("valid");
        assert!(close(r_out, outer, 5e-5), "r_out({load}) = {r_out}");
        let loops = couplings(load, 0.0, 1.0, 1).boundary();
        assert_eq!(loops.len(), if inner.is_some() { 2 } else { 1 }, "α = {load}");
        assert!(loops[0].iter().all(|z| close(z.norm(), r_out, 1e-9)), "outer loop at α = {load}");
        assert!(loops[0].len() > 400, "the outer loop has {} points", loops[0].len());
        if let Some(inner) = inner {
            assert!(close(r_in, inner, 5e-5), "r_in({load}) = {r_in}");
            assert!(loops[1].iter().all(|z| close(z.norm(), r_in, 1e-9)), "inner loop at α = {load}");
        } else {
            assert_eq!(r_in, 0.0);
        }
    }
}

/// c = 0, d = 1: x_R = r_out = |γ|√(1+α), for both signs of γ (the disk is rotation invariant).
#[test]
fn right_edge_is_the_outer_radius_for_the_ring() {
    for load in [0.01, 0.1, 0.5, 1.0, 1.5, 4.0] {
        for gamma in [0.3, 1.0, -0.7, 2.5] {
            let edge = couplings(load, 0.0, gamma, 1).right_edge();
            let want = gamma.abs() * (1.0 + load).sqrt();
            assert!(close(edge, want, 1e-10 * want), "α={load} γ={gamma}: {edge} vs {want}");
        }
    }
}

/// §6: γ_c = 1/√(1+α) for c = 0, d = 1 (0.9535 at α = 0.1, 0.8165 at α = 0.5); for c > 0 the
/// bisection's γ_c has x_R(γ_c) = 1 and x_R < 1 just below; `None` beyond the Wishart limit
/// c(1+√α)² ≥ 1.
#[test]
fn critical_heteroassociation_anchors() {
    for (load, anchor) in [(0.1, 0.9535), (0.5, 0.8165)] {
        let gc = critical_heteroassociation(load, 0.0, 1, 0.0).expect("exists");
        assert!(close(gc, 1.0 / (1.0 + load as f64).sqrt(), 1e-10), "{gc}");
        assert!(close(gc, anchor, 5e-5), "{gc} vs the note's {anchor}");
    }
    for (load, c, d) in [(0.1, 0.5, 1), (0.1, 0.5, 2), (0.05, 0.2, 1)] {
        let gc = critical_heteroassociation(load, c, d, 0.0).expect("exists");
        let at = |gamma: f64| couplings(load, c, gamma, d).right_edge();
        assert!(close(at(gc), 1.0, 1e-9), "x_R(γ_c = {gc}) = {}", at(gc));
        assert!(at(0.99 * gc) < 1.0 && at(1.01 * gc) > 1.0);
    }
    assert_eq!(critical_heteroassociation(0.5, 0.6, 1, 0.0), None, "0.6(1+√0.5)² > 1");
    assert_eq!(critical_heteroassociation(-0.5, 0.0, 1, 0.0), None, "α < 0");
    assert_eq!(critical_heteroassociation(0.5, 0.0, 0, 0.0), None, "d = 0");
}

/// §5.1: γ → 0 is the Wishart limit, x_R → c(1+√α)² (exact at γ = 0, where Λ ≡ c), with an
/// O(γ) correction: the gap shrinks tenfold with γ.
#[test]
fn wishart_limit_of_the_right_edge() {
    for (load, c, d) in [(0.5_f64, 1.0, 1), (0.1, 0.5, 2), (1.5, 0.3, 1)] {
        let wishart = c * (1.0 + load.sqrt()).powi(2);
        assert!(close(couplings(load, c, 0.0, d).right_edge(), wishart, 1e-12));
        let gaps: Vec<f64> = [1e-2, 1e-3, 1e-4]
            .iter()
            .map(|&gamma| (couplings(load, c, gamma, d).right_edge() - wishart).abs())
            .collect();
        assert!(gaps[2] < 1e-3 * wishart, "{gaps:?}");
        assert!(gaps[1] < 0.2 * gaps[0] && gaps[2] < 0.2 * gaps[1], "not O(γ): {gaps:?}");
    }
}

/// x_R against the curves: no boundary point lies right of it, and the polyline comes within
/// its resolution (1e-3). For c ≥ 0, γ > 0 the rightmost point is the real one (§5.1's
/// assumption: the full x_R equals the real-axis one to 1e-9); for c = 0, d = 2, γ < 0 it is
/// not — two bumps off the axis, 2.3% to the right of the real crossing — which the full x_R
/// finds.
#[test]
fn the_right_edge_against_the_curves() {
    for c in [
        couplings(0.5, 1.0, 1.0, 2),
        couplings(0.3, 1.0, -1.0, 2),
        couplings(1.5, 0.5, 0.5, 2),
        couplings(0.5, 0.0, 0.7, 2),
        couplings(0.5, 0.0, -0.7, 2),
        couplings(0.1, 1.0, 1.0, 1),
    ] {
        let edge = c.right_edge();
        let rightmost = c.boundary().iter().flatten().map(|z| z.re).fold(f64::NEG_INFINITY, f64::max);
        assert!(rightmost <= edge * (1.0 + 1e-12), "{c:?}: {rightmost} > {edge}");
        assert!(rightmost >= edge - 1e-3 * edge.abs(), "{c:?}: {rightmost} vs {edge}");
        let axis = c.real_axis_right_edge();
        if c.heteroassociation > 0.0 {
            assert!(close(axis, edge, 1e-9 * edge), "{c:?}: {axis} vs {edge}");
        }
    }
    let off_axis = couplings(0.5, 0.0, -0.7, 2);
    let (axis, full) = (off_axis.real_axis_right_edge(), off_axis.right_edge());
    assert!(full > 1.02 * axis, "{axis} vs {full}");
}

/// (α, c, γ, d) = (0.5, 1, 1, 2): four nested loops (outer edge, void, island, inner void), all
/// through 0 (§5.1), whose real points match an independent computation (131072 midpoints,
/// bisection: exact to ~1e-13; the innermost is g = 1 + 1/√3, z = (3 − √3)/4).
#[test]
fn nested_voids_have_four_loops() {
    let support = couplings(0.5, 1.0, 1.0, 2).support();
    let loops = support.polylines();
    assert_eq!(loops.len(), 4, "{} loops", loops.len());
    let rightmost: Vec<f64> = loops.iter().map(|l| l.iter().map(|z| z.re).fold(f64::NEG_INFINITY, f64::max)).collect();
    for (got, want) in rightmost.iter().zip([4.274851773445581, 1.6828576492002911, 1.0881104106725372, 0.3169872981077808]) {
        assert!(close(*got, want, 1e-9 * want), "{rightmost:?}");
    }
    for (k, l) in loops.iter().enumerate() {
        assert_eq!(l[0], Complex64::new(0.0, 0.0), "loop {k} runs into 0");
        if k > 0 {
            // The rightmost point of each loop lies inside the previous loop, not inside the next.
            let probe = *l.iter().max_by(|a, b| a.re.total_cmp(&b.re)).expect("points");
            let probe = probe - Complex64::new(1e-6, 0.0);
            assert!(inside_polygon(&loops[k - 1], probe), "loop {k} not inside loop {}", k - 1);
            if let Some(next) = loops.get(k + 1) {
                assert!(!inside_polygon(next, probe + Complex64::new(2e-6, 0.0)));
            }
        }
    }
    // Between the void and the island there is no eigenvalue, inside the inner void none, and
    // the outer loop holds all P = αN nonzero ones (the gap of the cut at 0 costs ~1e-3).
    let masses = support.masses();
    assert!(close(masses[0], 0.5, 3e-3), "{masses:?}");
    assert!(close(masses[1], masses[2], 3e-3), "{masses:?}");
    assert!(close(masses[3], 0.0, 3e-3), "{masses:?}");
    assert!(masses[1] > 0.1, "{masses:?}");
}

/// Masses for the ring: α < 1: the outer loop holds the P = αN nonzero eigenvalues, the void
/// none; α ≥ 1: all N. No loop runs into 0 here, so the trapezoidal rule on ~500 points is the
/// only error (~1e-5).
#[test]
fn ring_masses() {
    for (load, want) in [(0.1, vec![0.1, 0.0]), (0.5, vec![0.5, 0.0]), (1.5, vec![1.0])] {
        let masses = couplings(load, 0.0, 1.0, 1).masses();
        assert_eq!(masses.len(), want.len());
        for (m, w) in masses.iter().zip(&want) {
            assert!(close(*m, *w, 1e-4), "α = {load}: {masses:?}");
        }
    }
}

/// Closed forms (9): F(r_in) = max(0, 1−α), F(r_out) = 1, F increasing, ρ(r_out) = 1/(πγ²(4+α)),
/// ρ(0) = α/(πγ²(α−1)²) for α > 1, and dF/dr = 2πrρ (central differences, 1e-6).
#[test]
fn radial_closed_forms() {
    for (load, gamma) in [(0.1, 1.0), (0.5, 0.7), (1.5, 1.0), (3.0, 2.0)] {
        let (r_in, r_out) = ring::radii(load, gamma).expect("valid");
        let cdf = |r: f64| ring::radial_cdf(load, gamma, r).expect("valid");
        let rho = |r: f64| ring::radial_density(load, gamma, r).expect("valid");
        assert!(close(cdf(r_in), (1.0 - load).max(0.0), 1e-12));
        assert!(close(cdf(r_out), 1.0, 1e-12));
        assert!(close(cdf(r_out * (1.0 - 1e-12)), 1.0, 1e-9), "continuous at r_out");
        let pi = std::f64::consts::PI;
        assert!(close(rho(r_out), 1.0 / (pi * gamma * gamma * (4.0 + load)), 1e-12));
        if load > 1.0 {
            let want = load / (pi * gamma * gamma * (load - 1.0).powi(2));
            assert!(close(rho(0.0), want, 1e-12 * want));
        }
        let mut previous = cdf(r_in);
        for k in 1..50 {
            let r = r_in + (r_out - r_in) * k as f64 / 50.0;
            let f = cdf(r);
            assert!(f > previous, "not increasing at r = {r}");
            previous = f;
            let h = 1e-6 * r_out;
            let slope = (cdf(r + h) - cdf(r - h)) / (2.0 * h);
            let want = 2.0 * pi * r * rho(r);
            assert!(close(slope, want, 1e-6 * want.max(1.0)), "α={load} r={r}: {slope} vs {want}");
        }
        assert_eq!(rho(r_out * 1.01), 0.0);
    }
    assert_eq!(ring::radial_cdf(0.5, 0.0, 1.0), None);
    assert_eq!(ring::radial_cdf(-0.5, 1.0, 1.0), None);
}

/// The density of (7), (8) against the radial closed form (9), c = 0, d = 1, at several radii
/// and angles: both are exact, agreement to the finite differences of the Jacobian (1e-6).
#[test]
fn density_matches_the_radial_closed_form() {
    for (load, gamma) in [(0.5, 1.0), (1.5, 1.0), (0.1, 0.7)] {
        let c = couplings(load, 0.0, gamma, 1);
        let support = c.support();
        let (r_in, r_out) = ring::radii(load, gamma).expect("valid");
        for k in 1..6 {
            let r = r_in + (r_out - r_in) * k as f64 / 6.0;
            let want = ring::radial_density(load, gamma, r).expect("valid");
            for angle in [0.3, 2.0, -2.7] {
                let z = Complex64::from_polar(r, angle);
                let got = support.density(z).expect("interior solve");
                assert!(close(got, want, 1e-6 * want), "α={load} r={r}: {got} vs {want}");
            }
        }
        assert_eq!(support.density(Complex64::new(1.01 * r_out, 0.0)), Some(0.0));
        if load < 1.0 {
            assert_eq!(support.density(Complex64::new(0.0, 0.99 * r_in)), Some(0.0));
        }
    }
}

/// Symmetries (§8): ρ(z̄) = ρ(z); c = 0: γ → −γ maps z → −z; transposing X (forward γ,
/// backward bγ ↔ forward bγ, backward γ: Λ(θ) → Λ(−θ)) leaves the spectrum unchanged.
#[test]
fn symmetries_of_the_spectrum() {
    let support = couplings(0.5, 0.5, 1.0, 2).support();
    for z in [Complex64::new(2.0, 0.5), Complex64::new(1.6, -1.3), Complex64::new(2.8, 0.3)] {
        let (a, b) = (support.density(z), support.density(z.conj()));
        let (a, b) = (a.expect("solves"), b.expect("solves"));
        assert!(a > 0.0 && close(a, b, 1e-7 * a), "{z}: {a} vs {b}");
    }
    let plus = couplings(0.5, 0.0, 0.7, 2);
    let minus = couplings(0.5, 0.0, -0.7, 2);
    let leftmost = |c: &SequenceCouplings| c.boundary().iter().flatten().map(|z| z.re).fold(f64::INFINITY, f64::min);
    assert!(close(plus.right_edge(), -leftmost(&minus), 1e-3), "{} vs {}", plus.right_edge(), leftmost(&minus));
    assert!(close(minus.right_edge(), -leftmost(&plus), 1e-3));
    let (sp, sm) = (plus.support(), minus.support());
    for z in [Complex64::new(0.5, 0.3), Complex64::new(-0.4, 0.5)] {
        let (a, b) = (sp.density(z).expect("solves"), sm.density(-z).expect("solves"));
        assert!(close(a, b, 1e-7 * a.max(1e-3)), "{z}: {a} vs {b}");
    }
    let forward = SequenceCouplings {
        backward: 0.5,
        ..couplings(0.5, 0.5, 1.0, 1)
    };
    let transposed = SequenceCouplings {
        backward: 2.0,
        ..couplings(0.5, 0.5, 0.5, 1)
    };
    assert!(close(forward.right_edge(), transposed.right_edge(), 1e-10));
    let (mf, mt) = (forward.masses(), transposed.masses());
    assert_eq!(mf.len(), mt.len());
    for (a, b) in mf.iter().zip(&mt) {
        assert!(close(*a, *b, 1e-6), "{mf:?} vs {mt:?}");
    }
    let z = Complex64::new(0.9, 0.3);
    let (a, b) = (forward.density(z).expect("solves"), transposed.density(z).expect("solves"));
    assert!(close(a, b, 1e-7 * a), "{a} vs {b}");
}

/// ∫ρ over the support = min(α, 1), and = the masses (outer minus voids plus islands), for
/// supports with a void around 0 (α < 1) and without (α > 1). Along 96 rays, Gauss–Legendre (12
/// nodes) between the boundary crossings; the crossings come from the polylines, so the error is
/// the polyline's (~1e-4).
#[test]
fn density_integrates_to_the_masses() {
    for (c, expected) in [(couplings(0.5, 0.5, 1.0, 1), 0.5), (couplings(1.5, 0.5, 0.5, 2), 1.0)] {
        let support = c.support();
        let polylines = support.polylines();
        let masses = support.masses();
        let reach = polylines.iter().flatten().map(|z| z.norm()).fold(0.0, f64::max) * 1.01;
        let (nodes, weights) = gauss_legendre_12();
        let rays = 96;
        let mut total = 0.0;
        for k in 0..rays {
            let angle = std::f64::consts::TAU * (k as f64 + 0.5) / rays as f64;
            let direction = Complex64::from_polar(1.0, angle);
            let mut cuts = vec![0.0, reach];
            for l in &polylines {
                for w in l.windows(2) {
                    if let Some(r) = ray_crossing(direction, w[0], w[1]) {
                        cuts.push(r);
                    }
                }
            }
            cuts.sort_by(f64::total_cmp);
            for pair in cuts.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if b - a < 1e-12 || !support.contains(direction * (0.5 * (a + b))) {
                    continue;
                }
                for (x, w) in nodes.iter().zip(&weights) {
                    let r = 0.5 * (a + b) + 0.5 * (b - a) * x;
                    let rho = support.density(direction * r).expect("interior solve");
                    total += 0.5 * (b - a) * w * rho * r * std::f64::consts::TAU / rays as f64;
                }
            }
        }
        assert!(close(total, expected, 2e-3), "{c:?}: ∫ρ = {total}");
        assert!(close(masses[0], expected, 1e-3), "{c:?}: {masses:?}");
        for &m in &masses[1..] {
            assert!(m.abs() < 1e-3, "{c:?}: voids hold no eigenvalue: {masses:?}");
        }
    }
}

/// Where the ray `r·direction`, r > 0, crosses the segment [a, b].
fn ray_crossing(direction: Complex64, a: Complex64, b: Complex64) -> Option<f64> {
    // r d = a + t (b − a): solve the 2×2 system.
    let e = b - a;
    let det = direction.re * (-e.im) - direction.im * (-e.re);
    if det.abs() < 1e-300 {
        return None;
    }
    let r = (a.re * (-e.im) - a.im * (-e.re)) / det;
    let t = (direction.re * a.im - direction.im * a.re) / det;
    ((0.0..1.0).contains(&t) && r > 0.0).then_some(r)
}

fn gauss_legendre_12() -> ([f64; 12], [f64; 12]) {
    let x = [0.1252334085114689, 0.3678314989981802, 0.5873179542866175, 0.7699026741943047, 0.9041172563704749, 0.9815606342467192];
    let w = [0.2491470458134028, 0.2334925365383548, 0.2031674267230659, 0.1600783285433462, 0.1069393259953184, 0.0471753363865118];
    let mut nodes = [0.0; 12];
    let mut weights = [0.0; 12];
    for k in 0..6 {
        nodes[2 * k] = x[k];
        nodes[2 * k + 1] = -x[k];
        weights[2 * k] = w[k];
        weights[2 * k + 1] = w[k];
    }
    (nodes, weights)
}

/// The gain quadrature against reference moments (a trapezoidal rule of 4·10⁶ points on
/// [−40σ, 40σ], accurate to ~1e-13): ⟨φ'⟩, ⟨φ'²⟩ at σ² = 0.5, 1, 3, 10; σ² = 0 is D = I.
#[test]
fn gain_moments() {
    let d0 = GainMoments::new(0.0).expect("valid");
    assert_eq!((d0.mean, d0.mean_square), (1.0, 1.0));
    for (variance, mean, mean_square) in [
        (0.5, 0.7263236920632625, 0.5924257933719168),
        (1.0, 0.6057055096021617, 0.4644029024485403),
        (3.0, 0.4105609155218706, 0.2920171306920806),
        (10.0, 0.24273372307868196, 0.1655724207697422),
    ] {
        let g = GainMoments::new(variance).expect("valid");
        assert!(close(g.mean, mean, 1e-12), "σ² = {variance}: {}", g.mean);
        assert!(close(g.mean_square, mean_square, 1e-12), "σ² = {variance}: {}", g.mean_square);
    }
    assert!(GainMoments::new(-1.0).is_none());
    assert!(GainMoments::new(f64::NAN).is_none());
}

/// D → I: (12), (11) become r_in, r_out; the J·D curves become those of J; and c = 0, d = 1:
/// the right edge of the general solver of (10) is R_out of (11), its inner loop R_in of (12),
/// at σ² ∈ {0.5, 1, 2}.
#[test]
fn jacobian_reduces_to_the_couplings_and_matches_eqs_11_12() {
    for load in [0.1, 0.5, 1.5] {
        let radii = ring::radii(load, 1.0).expect("valid");
        let exact = jacobian_radii(load, 1.0, 0.0).expect("valid");
        assert!(close(exact.0, radii.0, 1e-12) && close(exact.1, radii.1, 1e-12), "{exact:?} vs {radii:?}");
        let near = jacobian_radii(load, 1.0, 1e-8).expect("valid");
        assert!(close(near.0, radii.0, 1e-6) && close(near.1, radii.1, 1e-6));
    }
    let c = couplings(0.5, 1.0, 1.0, 2);
    let (j, jd) = (c.boundary(), c.jacobian_boundary(0.0));
    assert_eq!(j.len(), jd.len());
    for (a, b) in j.iter().zip(&jd) {
        assert_eq!(a.len(), b.len());
        let gap = a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max);
        assert!(gap < 1e-9, "J·D with D = I differs from J by {gap}");
    }
    assert!(close(c.jacobian_right_edge(0.0), c.right_edge(), 1e-10));
    for variance in [0.5, 1.0, 2.0] {
        for load in [0.5, 1.5] {
            let ring = couplings(load, 0.0, 1.0, 1);
            let (r_in, r_out) = jacobian_radii(load, 1.0, variance).expect("valid");
            let edge = ring.jacobian_right_edge(variance);
            assert!(close(edge, r_out, 1e-9), "σ² = {variance}, α = {load}: {edge} vs {r_out}");
            let loops = ring.jacobian_boundary(variance);
            assert_eq!(loops.len(), if load < 1.0 { 2 } else { 1 });
            assert!(loops[0].iter().all(|z| close(z.norm(), r_out, 1e-8)));
            if load < 1.0 {
                let norms: Vec<f64> = loops[1].iter().map(|z| z.norm()).collect();
                assert!(norms.iter().all(|&n| close(n, r_in, 1e-8)), "σ² = {variance}: R_in = {r_in}, {:?}", &norms[..5]);
            }
        }
    }
}

/// The plateau variance solves γ²(α⟨φ'²⟩ + ⟨φ'⟩²) = 1, exists iff γ > 1/√(1+α), and grows with γ.
#[test]
fn plateau_variance_solves_its_equation() {
    for (load, gamma) in [(0.01, 1.5), (0.5, 1.5), (1.0, 1.5), (0.01, 2.0)] {
        let variance = plateau_variance(load, gamma).expect("γ > γ_c");
        let g = GainMoments::new(variance).expect("valid");
        let lhs = gamma * gamma * (load * g.mean_square + g.mean * g.mean);
        assert!(close(lhs, 1.0, 1e-9), "{lhs}");
        let right_edge = couplings(load, 0.0, gamma, 1).jacobian_right_edge(variance);
        assert!(close(right_edge, 1.0, 1e-8), "right edge of J·D at the plateau: {right_edge}");
    }
    assert!(plateau_variance(0.01, 1.8).expect("exists") < plateau_variance(0.01, 2.0).expect("exists"));
    assert_eq!(plateau_variance(0.5, 0.8), None, "γ < γ_c = 0.8165");
}

/// Timing: one boundary and one γ_c well within a second in a release build; here (opt-level 2
/// with debug assertions) under a generous 5 s each.
#[test]
fn boundary_and_critical_coupling_are_fast() {
    let start = std::time::Instant::now();
    let loops = couplings(0.5, 1.0, 1.0, 2).boundary();
    let boundary_time = start.elapsed().as_secs_f64();
    assert_eq!(loops.len(), 4);
    let start = std::time::Instant::now();
    let gc = critical_heteroassociation(0.1, 0.5, 1, 0.0);
    let critical_time = start.elapsed().as_secs_f64();
    assert!(gc.is_some());
    eprintln!("boundary {boundary_time:.3} s, γ_c {critical_time:.3} s");
    assert!(boundary_time < 5.0 && critical_time < 5.0, "{boundary_time} s, {critical_time} s");
}

/// The predictions: the closed forms where they apply, refusals with reasons elsewhere.
#[test]
fn predictions_for_hebbnet_theory() {
    let find = |list: &[Prediction], key: &str| list.iter().find(|p| p.key == key).cloned().expect(key);
    let ring_case = predictions(&couplings(0.5, 0.0, 1.0, 1), 0.05);
    let r_out = 1.5_f64.sqrt();
    assert!(close(find(&ring_case, "jiang.right_edge").value.number().expect("number"), r_out, 1e-10));
    assert!(close(
        find(&ring_case, "jiang.critical_heteroassociation").value.number().expect("number"),
        1.0 / r_out,
        1e-10
    ));
    assert!(close(find(&ring_case, "jiang.flow_growth_rate").value.number().expect("number"), r_out - 1.0, 1e-10));
    let step = find(&ring_case, "jiang.step_growth_rate").value.number().expect("number");
    assert!(close(step, (0.95_f64 + 0.05 * r_out).ln(), 1e-6), "{step}");
    assert!(close(find(&ring_case, "jiang.inner_radius").value.number().expect("number"), 0.5_f64.powf(1.5), 1e-12));
    assert_eq!(find(&ring_case, "jiang.boundary_loops").value.number(), Some(2.0));
    assert!(close(find(&ring_case, "jiang.loop_mass_1").value.number().expect("number"), 0.5, 1e-4));
    assert!(find(&ring_case, "jiang.loop_mass_3").value.number().is_none());
    let deep = predictions(&couplings(0.5, 1.0, 1.0, 2), 0.05);
    assert!(matches!(find(&deep, "jiang.inner_radius").value, Quantity::NotAvailable(_)));
    assert!(matches!(find(&deep, "jiang.critical_heteroassociation").value, Quantity::NotAvailable(_)));
    assert!(close(find(&deep, "jiang.wishart_edge").value.number().expect("number"), (1.0 + 0.5_f64.sqrt()).powi(2), 1e-12));
    let invalid = predictions(&couplings(-1.0, 0.0, 1.0, 1), 0.05);
    assert_eq!(invalid.len(), 1);
    assert!(matches!(invalid[0].value, Quantity::NotAvailable(_)));
}

#[test]
#[ignore]
fn scratch_dump() {
    for c in [couplings(0.5, 1.0, 1.0, 2), couplings(0.5, 0.0, -0.7, 2), couplings(0.5, 0.5, 1.0, 2)] {
        let support = c.support();
        eprintln!("{c:?}: x_R = {}", c.right_edge());
        for (k, l) in support.loops.iter().enumerate() {
            let re_max = l.z.iter().map(|z| z.re).fold(f64::NEG_INFINITY, f64::max);
            let re_min = l.z.iter().map(|z| z.re).fold(f64::INFINITY, f64::min);
            let gmax = l.g.iter().map(|g| g.norm()).fold(0.0, f64::max);
            eprintln!("  loop {k}: n={} through0={} area={:.5} re=[{re_min:.4},{re_max:.4}] |g|max={gmax:.3e} first z={:.3e} g={:.3e} last z={:.3e} g={:.3e}",
                l.z.len(), l.through_origin, l.signed_area()/2.0, l.z[0], l.g[0], l.z[l.z.len()-1], l.g[l.g.len()-1]);
        }
        eprintln!("  masses {:?}", support.masses());
    }
}

#[test]
#[ignore]
fn scratch_noise() {
    let c = couplings(0.5, 1.0, 1.0, 2);
    let averages = Averages::new(&c);
    for gmod in [10.0, 100.0, 140.0, 300.0, 1000.0, 3000.0] {
        // along the direction π/3 (the asymptote), scan ψ near it for the band
        let psi0 = std::f64::consts::PI / 3.0;
        let mut prev = None;
        for k in 0..2001 {
            let psi = psi0 - 0.5 / gmod + (1.0 / gmod) * k as f64 / 2000.0;
            let g = Complex64::from_polar(gmod, psi);
            let f = averages.edge(g).map(|x| x.0.ln());
            if let (Some(Some(a)), Some(b)) = (prev, f) {
                if (a > 0.0) != (b > 0.0) {
                    // noise: evaluate at tiny offsets
                    let vals: Vec<f64> = (0..5).map(|j| averages.edge(Complex64::from_polar(gmod, psi + 1e-13 * j as f64)).map_or(f64::NAN, |x| x.0.ln())).collect();
                    eprintln!("|g|={gmod} crossing at ψ-ψ0={:.3e}: L nearby {vals:?}", psi - psi0);
                }
            }
            prev = Some(f);
        }
    }
}

#[test]
#[ignore]
fn scratch_jd() {
    let g = GainMoments::new(2.0).unwrap();
    eprintln!("mean {} nodes {}", g.mean, g.nodes.len());
    eprintln!("W(-0.5) = {:?}", g.subordination_real(-0.5));
    eprintln!("radii {:?}", jacobian_radii(0.5, 1.0, 2.0));
}
