//! Closed forms for Gaussian integrals of the threshold-linear `φ(x) = (x − θ)⁺`: the bivariate
//! normal orthant probability (Owen's T), the truncated first and second moments (Gaussian
//! integration by parts), with the degenerate cases (zero variance, correlation ±1) handled
//! explicitly.

use std::f64::consts::{PI, SQRT_2};
use std::sync::OnceLock;

use super::quadrature::{gauss_legendre, Rule};

/// Standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Standard normal CDF `Φ(x) = erfc(−x/√2)/2` (accurate in both tails).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// `E[Y⁺]` for `Y ~ N(μ, σ²)`: `μΦ(μ/σ) + σφ(μ/σ)`; `μ⁺` at σ = 0.
pub fn positive_part_mean(mu: f64, sigma: f64) -> f64 {
    if sigma > 0.0 {
        let t = mu / sigma;
        mu * normal_cdf(t) + sigma * normal_pdf(t)
    } else {
        mu.max(0.0)
    }
}

/// 20-node Gauss–Legendre on [−1, 1], built once.
pub(super) fn legendre() -> &'static Rule {
    static RULE: OnceLock<Rule> = OnceLock::new();
    RULE.get_or_init(|| gauss_legendre(20))
}

/// `(1/2π) ∫₀^a exp(−h²(1 + x²)/2)/(1 + x²) dx` for h ≥ 0, 0 ≤ a ≤ 1: four panels of 20-node
/// Gauss–Legendre (the integrand is entire in x up to the poles ±i; below 10⁻²² for h > 10).
fn owens_t_integral(h: f64, a: f64) -> f64 {
    if h > 10.0 || a == 0.0 {
        return 0.0;
    }
    let rule = legendre();
    let panels = 4;
    let width = a / panels as f64;
    let mut sum = 0.0;
    for p in 0..panels {
        let centre = (p as f64 + 0.5) * width;
        for (x, w) in rule.nodes.iter().zip(&rule.weights) {
            let t = centre + 0.5 * width * x;
            let q = 1.0 + t * t;
            sum += w * (-0.5 * h * h * q).exp() / q;
        }
    }
    sum * 0.5 * width / (2.0 * PI)
}

/// Owen's T function `T(h, a) = (1/2π) ∫₀^a exp(−h²(1 + x²)/2)/(1 + x²) dx`, any h, a
/// (a = ±∞: `±Φ(−|h|)/2`). For a > 1 by `T(h, a) = [Φ(h)Φ(−ah) + Φ(ah)Φ(−h)]/2 − T(ah, 1/a)`
/// (h ≥ 0).
pub fn owens_t(h: f64, a: f64) -> f64 {
    if a < 0.0 {
        return -owens_t(h, -a);
    }
    let h = h.abs();
    if a.is_infinite() {
        return 0.5 * normal_cdf(-h);
    }
    if a <= 1.0 {
        owens_t_integral(h, a)
    } else {
        let ah = a * h;
        0.5 * (normal_cdf(h) * normal_cdf(-ah) + normal_cdf(ah) * normal_cdf(-h))
            - owens_t_integral(ah, 1.0 / a)
    }
}

/// `1 − |r|` below this: correlation ±1 (the variables are equal or opposite).
const DEGENERATE: f64 = 1e-14;

/// Bivariate normal CDF `Φ₂(h, k; r) = P(Z₁ < h, Z₂ < k)`, unit variances, correlation r, by
/// Owen's T: `Φ₂ = [Φ(h) + Φ(k)]/2 − T(h, a_h) − T(k, a_k) − β`, `a_h = (k − rh)/(h√(1−r²))`,
/// `a_k = (h − rk)/(k√(1−r²))`, β = ½ when hk < 0 or (hk = 0 and h + k < 0), else 0.
pub fn bivariate_normal_cdf(h: f64, k: f64, r: f64) -> f64 {
    let r = r.clamp(-1.0, 1.0);
    if 1.0 - r < DEGENERATE {
        return normal_cdf(h.min(k));
    }
    if 1.0 + r < DEGENERATE {
        // Z₂ = −Z₁: −k < Z₁ < h.
        return (normal_cdf(h) - normal_cdf(-k)).max(0.0);
    }
    if h == 0.0 && k == 0.0 {
        return 0.25 + r.asin() / (2.0 * PI);
    }
    let q = (1.0 - r * r).sqrt();
    let slope = |h: f64, k: f64| {
        let num = k - r * h;
        if h == 0.0 {
            if num >= 0.0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            }
        } else {
            num / (h * q)
        }
    };
    let beta = if h * k > 0.0 || (h * k == 0.0 && h + k >= 0.0) {
        0.0
    } else {
        0.5
    };
    let p = 0.5 * (normal_cdf(h) + normal_cdf(k))
        - owens_t(h, slope(h, k))
        - owens_t(k, slope(k, h))
        - beta;
    p.clamp(0.0, 1.0)
}

/// Truncated moments of a bivariate normal pair `(X, Y)` over the quadrant `X > 0, Y > 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuadrantMoments {
    /// `P(X > 0, Y > 0)`.
    pub probability: f64,
    /// `E[X 1(X > 0, Y > 0)]`.
    pub x: f64,
    /// `E[Y 1(X > 0, Y > 0)]`.
    pub y: f64,
    /// `E[XY 1(X > 0, Y > 0)]`.
    pub xy: f64,
}

/// The quadrant moments of `(X, Y)` with means `(m1, m2)`, variances `(v1, v2)` and covariance
/// `c12`. In standard units `X = m1 + s1 Z₁`, the region is `Z₁ > α = −m1/s1`, `Z₂ > β`, and
/// Gaussian integration by parts (`E[Z₁ f] = E[∂₁f] + r E[∂₂f]`) gives, with `q = √(1 − r²)`,
/// `E[Z₁ 1] = φ(α)Φ((rα − β)/q) + rφ(β)Φ((rβ − α)/q)` and
/// `E[Z₁Z₂ 1] = φ(α) E[Z₂ 1(Z₂ > β) | Z₁ = α] + rP + rβφ(β)Φ((rβ − α)/q)`.
/// Zero variance (X or Y deterministic) and r = ±1 (`Z₂ = ±Z₁`) are exact special cases.
pub fn quadrant_moments(m1: f64, m2: f64, v1: f64, v2: f64, c12: f64) -> QuadrantMoments {
    let (s1, s2) = (v1.max(0.0).sqrt(), v2.max(0.0).sqrt());
    let zero = QuadrantMoments {
        probability: 0.0,
        x: 0.0,
        y: 0.0,
        xy: 0.0,
    };
    match (s1 > 0.0, s2 > 0.0) {
        (false, false) => {
            if m1 > 0.0 && m2 > 0.0 {
                QuadrantMoments {
                    probability: 1.0,
                    x: m1,
                    y: m2,
                    xy: m1 * m2,
                }
            } else {
                zero
            }
        }
        (false, true) => {
            if m1 > 0.0 {
                let p = normal_cdf(m2 / s2);
                let y = positive_part_mean(m2, s2);
                QuadrantMoments {
                    probability: p,
                    x: m1 * p,
                    y,
                    xy: m1 * y,
                }
            } else {
                zero
            }
        }
        (true, false) => {
            let swapped = quadrant_moments(m2, m1, v2, v1, c12);
            QuadrantMoments {
                probability: swapped.probability,
                x: swapped.y,
                y: swapped.x,
                xy: swapped.xy,
            }
        }
        (true, true) => {
            let r = (c12 / (s1 * s2)).clamp(-1.0, 1.0);
            let (alpha, beta) = (-m1 / s1, -m2 / s2);
            let (p, e1, e2, e12) = standard_quadrant(alpha, beta, r);
            QuadrantMoments {
                probability: p,
                x: m1 * p + s1 * e1,
                y: m2 * p + s2 * e2,
                xy: m1 * m2 * p + m1 * s2 * e2 + m2 * s1 * e1 + s1 * s2 * e12,
            }
        }
    }
}

/// `(P, E[Z₁ 1], E[Z₂ 1], E[Z₁Z₂ 1])` over `Z₁ > α, Z₂ > β`, unit variances, correlation r.
fn standard_quadrant(alpha: f64, beta: f64, r: f64) -> (f64, f64, f64, f64) {
    if 1.0 - r < DEGENERATE {
        // Z₂ = Z₁ > max(α, β).
        let c = alpha.max(beta);
        let (tail, density) = (normal_cdf(-c), normal_pdf(c));
        return (tail, density, density, tail + c * density);
    }
    if 1.0 + r < DEGENERATE {
        // Z₂ = −Z₁: α < Z₁ < −β.
        if alpha >= -beta {
            return (0.0, 0.0, 0.0, 0.0);
        }
        let p = (normal_cdf(-beta) - normal_cdf(alpha)).max(0.0);
        let e1 = normal_pdf(alpha) - normal_pdf(beta);
        let e12 = -(p + alpha * normal_pdf(alpha) + beta * normal_pdf(beta));
        return (p, e1, -e1, e12);
    }
    let q = (1.0 - r * r).sqrt();
    let p = bivariate_normal_cdf(-alpha, -beta, r);
    let (da, db) = (normal_pdf(alpha), normal_pdf(beta));
    // P(Z₂ > β | Z₁ = α) and P(Z₁ > α | Z₂ = β).
    let given_a = normal_cdf((r * alpha - beta) / q);
    let given_b = normal_cdf((r * beta - alpha) / q);
    let e1 = da * given_a + r * db * given_b;
    let e2 = db * given_b + r * da * given_a;
    // E[Z₂ 1(Z₂ > β) | Z₁ = α], Z₂ | Z₁ = α ~ N(rα, q²).
    let mu = r * alpha;
    let conditional = mu * normal_cdf((mu - beta) / q) + q * normal_pdf((beta - mu) / q);
    let e12 = da * conditional + r * p + r * beta * db * given_b;
    (p, e1, e2, e12)
}
