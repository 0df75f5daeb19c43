use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn solve(g: f64, phi: Nonlinearity, targets: &[f64]) -> Solution {
    MeanField {
        gain: g,
        input_std: 1.0,
        nonlinearity: phi,
        targets: targets.to_vec(),
    }
    .solve()
    .unwrap_or_else(|e| panic!("g = {g}, {phi:?}, {targets:?}: {e}"))
}

const RELU0: Nonlinearity = Nonlinearity::Relu { threshold: 0.0 };

/// `E[Z^m]`, Z ~ N(0, 1): 0 for odd m, (m − 1)!! for even m.
fn normal_moment(m: u32) -> f64 {
    if m % 2 == 1 {
        0.0
    } else {
        (1..m).step_by(2).map(|j| j as f64).product()
    }
}

#[test]
fn gauss_hermite_integrates_monomials_exactly() {
    for n in [5usize, 22, 40, 90, 160] {
        let rule = gauss_hermite(n);
        assert!(close(rule.weights.iter().sum::<f64>(), 1.0, 1e-13));
        let top = (2 * n as u32 - 1).min(30);
        for m in 0..=top {
            let q: f64 = rule
                .nodes
                .iter()
                .zip(&rule.weights)
                .map(|(x, w)| w * x.powi(m as i32))
                .sum();
            let exact = normal_moment(m);
            // Round-off scale: E|Z|^m.
            let scale: f64 = rule
                .nodes
                .iter()
                .zip(&rule.weights)
                .map(|(x, w)| w * x.abs().powi(m as i32))
                .sum();
            assert!(
                (q - exact).abs() <= 1e-10 * (1.0 + scale),
                "n = {n}, E[Z^{m}] = {q} vs {exact}"
            );
        }
    }
    // Degree 2n − 1 exact, 2n not, at n = 5.
    let rule = gauss_hermite(5);
    let moment = |m: i32| -> f64 {
        rule.nodes
            .iter()
            .zip(&rule.weights)
            .map(|(x, w)| w * x.powi(m))
            .sum()
    };
    assert!(close(moment(8), 105.0, 1e-12));
    assert!(!close(moment(10), 945.0, 1e-3));
}

#[test]
fn gauss_legendre_integrates_monomials_exactly() {
    for n in [3usize, 20] {
        let rule = gauss_legendre(n);
        for m in 0..2 * n as i32 {
            let q: f64 = rule
                .nodes
                .iter()
                .zip(&rule.weights)
                .map(|(x, w)| w * x.powi(m))
                .sum();
            let exact = if m % 2 == 1 {
                0.0
            } else {
                2.0 / (m as f64 + 1.0)
            };
            assert!(
                (q - exact).abs() < 1e-13,
                "n = {n}, m = {m}: {q} vs {exact}"
            );
        }
    }
}

#[test]
fn owens_t_and_bivariate_cdf_match_known_values() {
    use std::f64::consts::PI;
    for a in [0.1, 0.5, 1.0, 3.0, 20.0] {
        assert!(close(owens_t(0.0, a), a.atan() / (2.0 * PI), 1e-14));
    }
    // T(h, 1) = Φ(h)(1 − Φ(h))/2.
    for h in [-2.0, 0.3, 1.7, 4.0] {
        let p = gaussian::normal_cdf(h);
        assert!(close(owens_t(h, 1.0), 0.5 * p * (1.0 - p), 1e-13));
    }
    // Φ₂ against the one-dimensional integral ∫_{−∞}^h φ(z) Φ((k − rz)/√(1−r²)) dz
    // (Gauss–Legendre on [h − 12, h], in pieces).
    let rule = gauss_legendre(40);
    for &(h, k, r) in &[
        (0.0, 0.0, 0.3),
        (0.0, 1.0, -0.5),
        (1.0, 0.0, 0.5),
        (-1.0, 0.5, 0.9),
        (0.7, -0.4, -0.95),
        (-2.0, -1.5, 0.999),
        (1.2, 1.3, -0.2),
        (-0.3, 2.0, 0.0),
    ] {
        let q = (1.0f64 - r * r).sqrt();
        let mut sum = 0.0;
        let pieces = 24;
        for p in 0..pieces {
            let lo = h - 12.0 + 12.0 * p as f64 / pieces as f64;
            let width = 12.0 / pieces as f64;
            for (x, w) in rule.nodes.iter().zip(&rule.weights) {
                let z = lo + 0.5 * width * (x + 1.0);
                sum += 0.5
                    * width
                    * w
                    * gaussian::normal_pdf(z)
                    * gaussian::normal_cdf((k - r * z) / q);
            }
        }
        let p = bivariate_normal_cdf(h, k, r);
        assert!((p - sum).abs() < 1e-12, "Φ₂({h}, {k}; {r}) = {p} vs {sum}");
    }
    // Degenerate correlations.
    assert!(close(
        bivariate_normal_cdf(0.3, -0.2, 1.0),
        gaussian::normal_cdf(-0.2),
        1e-15
    ));
    assert_eq!(bivariate_normal_cdf(-0.3, 0.2, -1.0), 0.0);
}

#[test]
fn quadrant_moments_are_continuous_at_degenerate_correlations() {
    // X = Y: E[X⁺²], P(X > 0), E[X⁺].
    let (m, v) = (0.4, 2.0f64);
    let s = v.sqrt();
    let q = quadrant_moments(m, m, v, v, v);
    let t = m / s;
    let p = gaussian::normal_cdf(t);
    assert!(close(q.probability, p, 1e-14));
    assert!(close(q.x, m * p + s * gaussian::normal_pdf(t), 1e-14));
    assert!(close(
        q.xy,
        (m * m + v) * p + m * s * gaussian::normal_pdf(t),
        1e-14
    ));
    // Approach r = ±1 from inside.
    for sign in [1.0, -1.0] {
        let exact = quadrant_moments(0.3, -0.1 * sign, 1.0, 1.5, sign * 1.5f64.sqrt());
        let near = quadrant_moments(
            0.3,
            -0.1 * sign,
            1.0,
            1.5,
            sign * 1.5f64.sqrt() * (1.0 - 1e-10),
        );
        for (a, b) in [
            (exact.probability, near.probability),
            (exact.x, near.x),
            (exact.y, near.y),
            (exact.xy, near.xy),
        ] {
            assert!((a - b).abs() < 1e-4, "sign {sign}: {exact:?} vs {near:?}");
        }
    }
    // Zero variance: X ≡ 0.5, Y ~ N(−0.2, 1).
    let q = quadrant_moments(0.5, -0.2, 0.0, 1.0, 0.0);
    assert!(close(q.probability, gaussian::normal_cdf(-0.2), 1e-15));
    assert!(close(
        q.xy,
        0.5 * gaussian::positive_part_mean(-0.2, 1.0),
        1e-15
    ));
    // Independent: the product of the marginals.
    let q = quadrant_moments(0.2, -0.3, 1.0, 4.0, 0.0);
    let xp = gaussian::positive_part_mean(0.2, 1.0);
    let yp = gaussian::positive_part_mean(-0.3, 2.0);
    assert!(close(q.xy, xp * yp, 1e-13));
    assert!(close(
        q.probability,
        gaussian::normal_cdf(0.2) * gaussian::normal_cdf(-0.15),
        1e-13
    ));
}

#[test]
fn homogeneous_relu_single_target_anchor() {
    for &(g, a) in &[(0.0, 1.0), (0.5, 1.0), (1.0, 2.0), (1.3, 0.7), (0.9, -1.5)] {
        let sol = solve(g, RELU0, &[a]);
        let st = sol.single_target().unwrap();
        let at = &sol.attractors[0];
        let g2: f64 = g * g;
        assert!(close(st.c, a * a / (2.0 - g2), 1e-9), "g {g} A {a}: {st:?}");
        assert!(close(at.rho, g / 2f64.sqrt(), 1e-12));
        assert!(close(at.b[0], a / 2.0, 1e-9));
        assert!(close(at.a[0], 0.5, 1e-12));
        assert_eq!(at.e[0], 0.0);
        assert!(close(st.h0, 1.0, 1e-9));
        assert!(st.l.abs() < 1e-9);
        assert!(close(st.tau, 1.0 / (1.0 - g2 / 2.0), 1e-12));
        // The closed form is the K = 1 L_k.
        assert!((at.local_matrix[0] - st.l).abs() < 1e-12);
        assert_eq!(sol.predicted_success(), Stability::Marginal);
    }
    for g in [2f64.sqrt(), 1.5, 2.0] {
        let r = MeanField {
            gain: g,
            input_std: 1.0,
            nonlinearity: RELU0,
            targets: vec![1.0],
        }
        .solve();
        assert!(r.is_err(), "g = {g}: {r:?}");
    }
    // σ_u scales A: C = σ_u²A²/(2 − g²), b = σ_u²A/2.
    let sol = MeanField {
        gain: 0.8,
        input_std: 1.7,
        nonlinearity: RELU0,
        targets: vec![0.6],
    }
    .solve()
    .unwrap();
    let s2 = 1.7f64 * 1.7;
    assert!(close(sol.c(0, 0), s2 * 0.36 / (2.0 - 0.64), 1e-9));
    assert!(close(sol.attractors[0].b[0], s2 * 0.3, 1e-9));
}

#[test]
fn tanh_single_target_at_zero_gain() {
    let sol = solve(0.0, Nonlinearity::Tanh, &[1.0]);
    let st = sol.single_target().unwrap();
    assert!((st.c - 0.394294).abs() < 5e-7, "{st:?}");
    assert!((st.h0 - 0.46107).abs() < 5e-6, "{st:?}");
    assert!((st.l + 0.53893).abs() < 5e-6, "{st:?}");
    assert_eq!(st.tau, 1.0);
    assert!((sol.attractors[0].local_matrix[0] - st.l).abs() < 1e-12);
    assert_eq!(sol.predicted_success(), Stability::Stable);
}

#[test]
fn single_target_closed_form_is_the_local_matrix() {
    for phi in [
        Nonlinearity::Tanh,
        Nonlinearity::Logistic,
        Nonlinearity::Relu { threshold: 0.3 },
        Nonlinearity::Relu { threshold: -0.4 },
    ] {
        for &(g, a) in &[(0.7, 1.0), (1.2, 0.5), (0.4, -2.0)] {
            let sol = solve(g, phi, &[a]);
            let st = sol.single_target().unwrap();
            let at = &sol.attractors[0];
            assert!(
                (at.local_matrix[0] - st.l).abs() < 1e-10,
                "{phi:?} g {g} A {a}: {} vs {}",
                at.local_matrix[0],
                st.l
            );
            assert!((at.eigenvalues[0].re - st.l).abs() < 1e-10);
            // H(0) of the MFT is H0; T(0) = H0/(1 − H0).
            let h = sol.gain_function(0, c64::new(0.0, 0.0));
            assert!(close(h.re, st.h0, 1e-10) && h.im.abs() < 1e-14);
            let t = sol.response(0, 0.0);
            assert!(close(t.re, st.h0 / (1.0 - st.h0), 1e-9));
            // H(s) = H0/(1 + τs) for K = 1.
            let s = c64::new(0.3, 0.8);
            let hs = sol.gain_function(0, s);
            let expect = st.h0 / (c64::new(1.0, 0.0) + st.tau * s);
            assert!((hs - expect).norm() < 1e-10);
        }
    }
}

#[test]
fn relu_threshold_regimes_follow_section_6() {
    let regime = |theta: f64| {
        single_target_regime(0.8, 1.0, Nonlinearity::Relu { threshold: theta }, 1.0)
            .unwrap()
            .0
    };
    assert_eq!(regime(0.0), Regime::Quadratic);
    assert_eq!(regime(0.5), Regime::SuperQuadratic);
    assert_eq!(regime(-0.5), Regime::SubQuadratic);
    let (r, st) = single_target_regime(0.8, 1.0, Nonlinearity::Tanh, 1.0).unwrap();
    assert_eq!(r, Regime::SubQuadratic);
    assert!(st.h0 < 1.0 && st.tau > 0.0);
}

#[test]
fn relu_closed_forms_match_quadrature_over_u() {
    // Given u, (x^k − θ, x^l − θ) ~ N(uA − θ, S): 160-node Gauss–Hermite over u of the
    // conditional quadrant moments reproduces the unconditional closed forms.
    let theta = 0.3;
    let sol = MeanField {
        gain: 0.9,
        input_std: 1.2,
        nonlinearity: Nonlinearity::Relu { threshold: theta },
        targets: vec![1.0, -0.6],
    }
    .solve()
    .unwrap();
    let rule = gauss_hermite(160);
    let s: Vec<f64> = sol.correlation.iter().map(|c| 0.81 * c).collect();
    let (mut c01, mut a01, mut b01) = (0.0, 0.0, 0.0);
    for (z, w) in rule.nodes.iter().zip(&rule.weights) {
        let u = 1.2 * z;
        let q = quadrant_moments(u - theta, -0.6 * u - theta, s[0], s[3], s[1]);
        c01 += w * q.xy;
        a01 += w * q.probability;
        // b_1 at attractor 0: ⟨u φ(x^1) φ'(x^0)⟩ = E[u Y 1(X > 0, Y > 0)].
        b01 += w * u * q.y;
    }
    assert!((c01 - sol.c(0, 1)).abs() < 1e-6, "{c01} vs {}", sol.c(0, 1));
    assert!((a01 - sol.attractors[0].a[1]).abs() < 1e-6);
    assert!((b01 - sol.attractors[0].b[1]).abs() < 1e-6);
}

#[test]
fn tanh_odd_targets_give_singular_correlation() {
    let a = 0.8;
    let sol = solve(0.9, Nonlinearity::Tanh, &[a, -a]);
    assert!(close(sol.c(0, 1), -sol.c(0, 0), 1e-10));
    assert!(close(sol.c(1, 1), sol.c(0, 0), 1e-10));
    assert!(sol.v.iter().all(|v| v.is_finite()));
    // v = C⁺A = (A/2c)(1, −1).
    let c = sol.c(0, 0);
    assert!(close(sol.v[0], a / (2.0 * c), 1e-8) && close(sol.v[1], -a / (2.0 * c), 1e-8));
    // The K = 1 outlier at A is one of eig(L_k) (the mode q₂ = −q₁).
    let single = solve(0.9, Nonlinearity::Tanh, &[a])
        .single_target()
        .unwrap();
    for at in &sol.attractors {
        assert!(
            at.eigenvalues
                .iter()
                .any(|z| (z.re - single.l).abs() < 1e-8 && z.im.abs() < 1e-8),
            "{:?} vs {}",
            at.eigenvalues,
            single.l
        );
    }
}

#[test]
fn tanh_two_targets() {
    let sol = solve(0.8, Nonlinearity::Tanh, &[1.0, 0.4]);
    let c = &sol.correlation;
    assert!((c[1] - c[2]).abs() < 1e-15);
    let (values, _) = symmetric_eigen(2, c);
    assert!(values.iter().all(|&l| l > -1e-12), "{values:?}");
    for (k, at) in sol.attractors.iter().enumerate() {
        assert_eq!(at.eigenvalues.len(), 2);
        assert!(at
            .eigenvalues
            .iter()
            .all(|z| z.re.is_finite() && z.im.is_finite()));
        assert!(at.rho < 1.0);
        // b (by Stein) and C against the note's direct (u, ζ) grid: x^k = uA_k + (S^½ζ)_k,
        // 40 nodes per axis.
        let rule = gauss_hermite(40);
        let s: Vec<f64> = sol.correlation.iter().map(|c| 0.64 * c).collect();
        let root = symmetric_sqrt(2, &s);
        let (mut b, mut cc) = ([0.0; 2], [0.0; 4]);
        for (u, wu) in rule.nodes.iter().zip(&rule.weights) {
            for (z1, w1) in rule.nodes.iter().zip(&rule.weights) {
                for (z2, w2) in rule.nodes.iter().zip(&rule.weights) {
                    let w = wu * w1 * w2;
                    let x = [
                        u * sol.targets[0] + root[0] * z1 + root[1] * z2,
                        u * sol.targets[1] + root[2] * z1 + root[3] * z2,
                    ];
                    let phi = Nonlinearity::Tanh;
                    for l in 0..2 {
                        b[l] += w * u * phi.phi(x[l]) * phi.derivative(x[k]);
                        cc[k * 2 + l] += w * phi.phi(x[k]) * phi.phi(x[l]);
                    }
                }
            }
        }
        for l in 0..2 {
            assert!(
                (at.b[l] - b[l]).abs() < 1e-10,
                "k {k} l {l}: {} vs {}",
                at.b[l],
                b[l]
            );
            assert!((sol.c(k, l) - cc[k * 2 + l]).abs() < 1e-10);
        }
        // Outliers solve H_k(λ) = 1 (matrix-determinant lemma).
        for &z in &at.eigenvalues {
            let h = sol.gain_function(k, z);
            assert!(
                (h - c64::new(1.0, 0.0)).norm() < 1e-8,
                "k {k}: H({z}) = {h}"
            );
        }
    }
    assert_ne!(sol.predicted_success(), Stability::Marginal);
}

#[test]
fn logistic_tau_is_finite_at_the_edge_of_chaos_relu_is_not() {
    let rho = |g: f64| solve(g, Nonlinearity::Logistic, &[1.0]).attractors[0].rho - 1.0;
    let (mut lo, mut hi) = (1.0, 15.0);
    assert!(rho(lo) < 0.0 && rho(hi) > 0.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if rho(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-9 {
            break;
        }
    }
    let sol = solve(lo, Nonlinearity::Logistic, &[1.0]);
    let st = sol.single_target().unwrap();
    let at = &sol.attractors[0];
    // τ = −1/(g²⟨φφ''⟩) there, finite and positive.
    let edge = -1.0 / (lo * lo * at.e[0]);
    assert!(
        st.tau.is_finite() && st.tau > 0.0 && st.tau < 100.0,
        "{st:?}"
    );
    assert!(close(st.tau, edge, 1e-6), "{} vs {edge}", st.tau);
    // Homogeneous ReLU: τ = 1/(1 − g²/2) → ∞ as g → √2 (the damped iteration slows as
    // (1 + g²/2)/2 → 1: √2 − 10⁻² is about 4000 iterations).
    let tau = |g: f64| solve(g, RELU0, &[1.0]).single_target().unwrap().tau;
    let edge = 2f64.sqrt();
    let mut previous = 0.0;
    for d in [0.3, 0.1, 0.03, 0.01] {
        let g = edge - d;
        let t = tau(g);
        assert!(close(t, 1.0 / (1.0 - g * g / 2.0), 1e-9) && t > 2.0 * previous);
        previous = t;
    }
    assert!(previous > 70.0);
}

#[test]
fn three_targets_and_refusals() {
    let sol = solve(0.6, Nonlinearity::Tanh, &[1.0, -0.5, 0.3]);
    assert_eq!(sol.attractors.len(), 3);
    assert!(sol.attractors.iter().all(|a| a.eigenvalues.len() == 3));
    let too_many = MeanField {
        gain: 0.5,
        input_std: 1.0,
        nonlinearity: Nonlinearity::Tanh,
        targets: vec![1.0; 4],
    }
    .solve();
    assert_eq!(too_many, Err(NoSolution::TooManyTargets(4)));
    assert!(matches!(
        MeanField {
            gain: f64::NAN,
            input_std: 1.0,
            nonlinearity: Nonlinearity::Tanh,
            targets: vec![1.0],
        }
        .solve(),
        Err(NoSolution::InvalidParameter(_))
    ));
}

#[test]
fn homogeneous_relu_same_sign_targets_are_a_ray() {
    // r(sA) = s r(A): C has rank one (correlation +1 between η¹ and η²), v = C⁺A finite, and
    // each L_k has the zero mode of the ray.
    let sol = solve(0.8, RELU0, &[1.0, 0.5]);
    let (c11, c12, c22) = (sol.c(0, 0), sol.c(0, 1), sol.c(1, 1));
    assert!(close(c12 * c12, c11 * c22, 1e-9), "{:?}", sol.correlation);
    assert!(close(c11, 1.0 / (2.0 - 0.64), 1e-9));
    assert!(sol.v.iter().all(|v| v.is_finite()));
    for at in &sol.attractors {
        assert!(
            at.eigenvalues.iter().any(|z| z.norm() < 1e-7),
            "{:?}",
            at.eigenvalues
        );
        assert!(at.max_real_eigenvalue() < 1e-7);
    }
    assert_eq!(sol.predicted_success(), Stability::Marginal);
}

#[test]
fn single_target_matches_a_fine_integral_at_large_gain() {
    // K = 1: x ~ N(0, σ_u²A² + g²C) exactly; composite Gauss–Legendre over ±14 std in panels
    // of width ≤ 0.25 resolves φ's features whatever the width of the Gaussian. (The (u, ζ)
    // Gauss–Hermite grid, which K = 1 no longer uses, was off by 8e-3 in ρ at g = 11, logistic.)
    let rule = gauss_legendre(20);
    for &(phi, g, tol) in &[
        (Nonlinearity::Tanh, 1.0, 1e-9),
        (Nonlinearity::Tanh, 2.0, 1e-9),
        (Nonlinearity::Tanh, 4.0, 1e-9),
        (Nonlinearity::Logistic, 4.0, 1e-9),
        (Nonlinearity::Logistic, 11.0, 1e-9),
        (Nonlinearity::Logistic, 30.0, 1e-9),
    ] {
        let sol = solve(g, phi, &[0.7]);
        let c = sol.c(0, 0);
        let sd = (0.49 + g * g * c).sqrt();
        let panels = ((28.0 * sd) / 0.25).ceil() as usize;
        let width = 28.0 * sd / panels as f64;
        let (mut f2, mut d2) = (0.0, 0.0);
        for p in 0..panels {
            let lo = -14.0 * sd + p as f64 * width;
            for (x, w) in rule.nodes.iter().zip(&rule.weights) {
                let x = lo + 0.5 * width * (x + 1.0);
                let density = gaussian::normal_pdf(x / sd) / sd;
                f2 += 0.5 * width * w * density * phi.phi(x).powi(2);
                d2 += 0.5 * width * w * density * phi.derivative(x).powi(2);
            }
        }
        eprintln!(
            "{phi:?} g {g}: C {:e}, ρ {:e}",
            (f2 - c) / c,
            g * d2.sqrt() - sol.attractors[0].rho
        );
        assert!((f2 - c).abs() < tol * c, "{phi:?} g {g}: {f2} vs {c}");
        let rho = g * d2.sqrt();
        assert!(
            (rho - sol.attractors[0].rho).abs() < tol,
            "{phi:?} g {g}: ρ {rho} vs {}",
            sol.attractors[0].rho
        );
    }
}
