//! Exact averages over the angle θ of the symbol (models/jiang.md §5.1, "Traps": exact averages).
//!
//! With `w = e^{iθ}`, the symbol `Λ(θ)` is a Laurent polynomial in `w` with real coefficients,
//! so on the unit circle `conj Λ(w) = Λ(1/w)` and every average of §5 is the mean over the circle
//! of a rational function `N(w) / P(w)`: `N` a Laurent polynomial, `P` a polynomial whose roots
//! are known. On the circle `1/P` has the Fourier series
//!
//! ```text
//! (1/P)_n =  Σ_{|r|<1} A_r r^{−n−1}   (n ≤ −1),     (1/P)_n = −Σ_{|r|>1} A_r r^{−n−1}   (n ≥ 0),
//! A_r = 1 / P'(r)  (simple roots),
//! ```
//!
//! and `⟨N/P⟩ = Σ_k N_k (1/P)_{−k}`: exact, whatever the distance of the poles to the circle (a
//! midpoint rule needs ~40/δ points for a pole at distance δ, and δ → 0 along every branch that
//! runs to g → ∞). Roots come from the closed forms up to degree 2 and from Aberth–Ehrlich
//! iteration beyond.

use num_complex::Complex64;

/// A Laurent polynomial `Σ_k coef[k] w^{low + k}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Laurent {
    pub low: i32,
    pub coef: Vec<Complex64>,
}

impl Laurent {
    /// The constant `a`.
    pub fn constant(a: Complex64) -> Laurent {
        Laurent {
            low: 0,
            coef: vec![a],
        }
    }

    /// Highest power.
    pub fn high(&self) -> i32 {
        self.low + self.coef.len() as i32 - 1
    }

    /// `Σ_k coef[k] w^{low+k}` at `w`.
    pub fn eval(&self, w: Complex64) -> Complex64 {
        let mut acc = Complex64::new(0.0, 0.0);
        for c in self.coef.iter().rev() {
            acc = acc * w + c;
        }
        acc * w.powi(self.low)
    }

    /// `self · a`.
    pub fn scale(&self, a: Complex64) -> Laurent {
        Laurent {
            low: self.low,
            coef: self.coef.iter().map(|c| c * a).collect(),
        }
    }

    /// `self + other`.
    pub fn add(&self, other: &Laurent) -> Laurent {
        let low = self.low.min(other.low);
        let high = self.high().max(other.high());
        let mut coef = vec![Complex64::new(0.0, 0.0); (high - low + 1) as usize];
        for (k, c) in self.coef.iter().enumerate() {
            coef[(self.low - low) as usize + k] += c;
        }
        for (k, c) in other.coef.iter().enumerate() {
            coef[(other.low - low) as usize + k] += c;
        }
        Laurent { low, coef }
    }

    /// `self · other`.
    pub fn mul(&self, other: &Laurent) -> Laurent {
        let mut coef = vec![Complex64::new(0.0, 0.0); self.coef.len() + other.coef.len() - 1];
        for (i, a) in self.coef.iter().enumerate() {
            for (j, b) in other.coef.iter().enumerate() {
                coef[i + j] += a * b;
            }
        }
        Laurent {
            low: self.low + other.low,
            coef,
        }
    }

    /// The function whose values on the unit circle are the conjugates of `self`'s:
    /// `conj(self(1/w̄))`, i.e. conjugated coefficients with reversed powers.
    pub fn circle_conj(&self) -> Laurent {
        Laurent {
            low: -self.high(),
            coef: self.coef.iter().rev().map(|c| c.conj()).collect(),
        }
    }

    /// Drops exactly-zero coefficients at both ends (keeps at least one).
    pub fn trimmed(mut self) -> Laurent {
        while self.coef.len() > 1 && self.coef.last().is_some_and(|c| c.norm_sqr() == 0.0) {
            self.coef.pop();
        }
        let lead_zeros = self
            .coef
            .iter()
            .take(self.coef.len() - 1)
            .take_while(|c| c.norm_sqr() == 0.0)
            .count();
        self.coef.drain(..lead_zeros);
        self.low += lead_zeros as i32;
        self
    }
}

/// The roots of `Σ_k a[k] w^k` (ascending coefficients, `a[last] ≠ 0`), or `None` if the
/// iteration does not converge or a coefficient is not finite.
pub(crate) fn polynomial_roots(a: &[Complex64]) -> Option<Vec<Complex64>> {
    if a.iter().any(|c| !(c.re.is_finite() && c.im.is_finite())) {
        return None;
    }
    let n = a.len().checked_sub(1)?;
    if a[n].norm_sqr() == 0.0 {
        return None;
    }
    match n {
        0 => Some(Vec::new()),
        1 => Some(vec![-a[0] / a[1]]),
        2 => {
            // The root of larger modulus from the sign that avoids cancellation, the other
            // from the product of the roots.
            let sq = (a[1] * a[1] - 4.0 * a[2] * a[0]).sqrt();
            let sign = if (a[1].conj() * sq).re >= 0.0 {
                1.0
            } else {
                -1.0
            };
            let q = -0.5 * (a[1] + sign * sq);
            if q.norm_sqr() == 0.0 {
                return Some(vec![Complex64::new(0.0, 0.0); 2]);
            }
            Some(vec![q / a[2], a[0] / q])
        }
        _ => aberth(a),
    }
}

/// Aberth–Ehrlich simultaneous iteration (Gauss–Seidel updates), started on a circle of the
/// geometric-mean modulus of the roots.
fn aberth(a: &[Complex64]) -> Option<Vec<Complex64>> {
    let n = a.len() - 1;
    let mut radius = (a[0].norm() / a[n].norm()).powf(1.0 / n as f64);
    if !(radius.is_finite() && radius > 0.0) {
        radius = 1.0;
    }
    let mut z: Vec<Complex64> = (0..n)
        .map(|k| {
            Complex64::from_polar(
                radius,
                std::f64::consts::TAU * k as f64 / n as f64 + 0.4,
            )
        })
        .collect();
    for _ in 0..500 {
        let mut largest_step: f64 = 0.0;
        for i in 0..n {
            let (p, dp) = horner(a, z[i]);
            if p.norm_sqr() == 0.0 {
                continue;
            }
            let ratio = p / dp;
            let repulsion: Complex64 = (0..n)
                .filter(|&j| j != i)
                .map(|j| (z[i] - z[j]).inv())
                .sum();
            let step = ratio / (1.0 - ratio * repulsion);
            if !(step.re.is_finite() && step.im.is_finite()) {
                return None;
            }
            z[i] -= step;
            largest_step = largest_step.max(step.norm() / z[i].norm().max(f64::MIN_POSITIVE));
        }
        if largest_step <= 4.0 * f64::EPSILON {
            return Some(z);
        }
    }
    // Slow convergence (clustered roots): accept if every residual is at rounding level.
    let scale: f64 = a.iter().map(|c| c.norm()).sum();
    let ok = z.iter().all(|&r| {
        let powers: f64 = (0..=n).map(|k| r.norm().powi(k as i32)).sum();
        horner(a, r).0.norm() <= 1e-10 * scale * powers
    });
    ok.then_some(z)
}

/// `(p(z), p'(z))`.
fn horner(a: &[Complex64], z: Complex64) -> (Complex64, Complex64) {
    let mut p = Complex64::new(0.0, 0.0);
    let mut dp = Complex64::new(0.0, 0.0);
    for c in a.iter().rev() {
        dp = dp * z + p;
        p = p * z + c;
    }
    (p, dp)
}

/// `1/P` on the unit circle for a polynomial `P` with known simple roots: its Fourier
/// coefficients (module doc), hence `⟨N/P⟩` for any Laurent `N`.
#[derive(Clone, Debug)]
pub(crate) struct CircleInverse {
    /// `(r, A_r)` for the roots inside the circle.
    inside: Vec<(Complex64, Complex64)>,
    /// `(1/r, A_r / r)` for the roots outside: `(1/P)_n = −Σ (A_r/r) (1/r)^n`, n ≥ 0.
    outside: Vec<(Complex64, Complex64)>,
    /// `1/P` itself when `P` is a constant.
    constant: Option<Complex64>,
}

impl CircleInverse {
    /// From the roots and the leading coefficient of `P`; `None` if a root lies on the circle
    /// (to rounding: the average diverges) or two roots coincide.
    pub fn new(roots: &[Complex64], lead: Complex64) -> Option<CircleInverse> {
        if roots.is_empty() {
            return (lead.norm_sqr() > 0.0).then(|| CircleInverse {
                inside: Vec::new(),
                outside: Vec::new(),
                constant: Some(lead.inv()),
            });
        }
        let mut inside = Vec::new();
        let mut outside = Vec::new();
        for (i, &r) in roots.iter().enumerate() {
            let mut derivative = lead;
            for (j, &q) in roots.iter().enumerate() {
                if j != i {
                    derivative *= r - q;
                }
            }
            let residue = derivative.inv();
            let modulus = r.norm();
            if !(residue.re.is_finite() && residue.im.is_finite())
                || (modulus - 1.0).abs() <= 1e-13
            {
                return None;
            }
            if modulus < 1.0 {
                inside.push((r, residue));
            } else {
                let inv = r.inv();
                outside.push((inv, residue * inv));
            }
        }
        Some(CircleInverse {
            inside,
            outside,
            constant: None,
        })
    }

    /// `⟨w^shift · N(w) / P(w)⟩` over the unit circle.
    pub fn mean(&self, numerator: &Laurent, shift: i32) -> Complex64 {
        if let Some(c) = self.constant {
            let k0 = -(numerator.low + shift);
            return if (0..numerator.coef.len() as i32).contains(&k0) {
                numerator.coef[k0 as usize] * c
            } else {
                Complex64::new(0.0, 0.0)
            };
        }
        let mut total = Complex64::new(0.0, 0.0);
        for (k, &nk) in numerator.coef.iter().enumerate() {
            if nk.norm_sqr() == 0.0 {
                continue;
            }
            let power = numerator.low + shift + k as i32;
            // (1/P)_{−power}
            let coefficient: Complex64 = if power >= 1 {
                self.inside
                    .iter()
                    .map(|&(r, a)| a * r.powi(power - 1))
                    .sum()
            } else {
                -self
                    .outside
                    .iter()
                    .map(|&(q, aq)| aq * q.powi(-power))
                    .sum::<Complex64>()
            };
            total += nk * coefficient;
        }
        total
    }
}

/// `⟨N/D⟩` over the unit circle for Laurent polynomials with `D` nowhere zero on it (roots of
/// `w^{−low} D` by [`polynomial_roots`]); `None` if the roots are not found or one is on the
/// circle.
pub(crate) fn circle_mean_ratio(numerators: &[&Laurent], denominator: &Laurent) -> Option<Vec<Complex64>> {
    let poly = &denominator.coef;
    let lead = *poly.last()?;
    let roots = polynomial_roots(poly)?;
    let inverse = CircleInverse::new(&roots, lead)?;
    Some(
        numerators
            .iter()
            .map(|n| inverse.mean(n, -denominator.low))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(re: f64, im: f64) -> Complex64 {
        Complex64::new(re, im)
    }

    /// The midpoint rule with M points, for comparison away from the poles.
    fn midpoint(f: impl Fn(Complex64) -> Complex64, m: usize) -> Complex64 {
        (0..m)
            .map(|j| {
                let th = std::f64::consts::TAU * (j as f64 + 0.5) / m as f64;
                f(Complex64::from_polar(1.0, th))
            })
            .sum::<Complex64>()
            / m as f64
    }

    #[test]
    fn roots_of_polynomials_up_to_degree_six() {
        let want = [c(0.3, 0.1), c(-2.0, 0.5), c(0.0, -1.5), c(4.0, 0.0), c(-0.2, -0.7), c(1.1, 1.1)];
        for n in 1..=want.len() {
            let mut poly = Laurent::constant(c(2.0, -1.0));
            for r in &want[..n] {
                poly = poly.mul(&Laurent {
                    low: 0,
                    coef: vec![-r, c(1.0, 0.0)],
                });
            }
            let got = polynomial_roots(&poly.coef).expect("converges");
            for r in &want[..n] {
                let nearest = got.iter().map(|g| (g - r).norm()).fold(f64::INFINITY, f64::min);
                assert!(nearest < 1e-12, "degree {n}: root {r} missed by {nearest}");
            }
        }
    }

    /// The exact mean against 65536 midpoints, for a quartic denominator with poles on both
    /// sides of the circle (no closer than 0.2): agreement to rounding.
    #[test]
    fn exact_means_match_the_midpoint_rule() {
        let den = Laurent {
            low: -2,
            coef: vec![c(0.3, 0.2), c(-0.5, 0.1), c(2.5, 0.0), c(0.4, -0.3), c(0.2, 0.1)],
        };
        let num = Laurent {
            low: -3,
            coef: vec![c(1.0, 0.5), c(0.0, 0.0), c(-2.0, 0.3), c(0.7, 0.0), c(0.1, 0.9), c(0.0, 1.0), c(0.3, 0.0)],
        };
        let exact = circle_mean_ratio(&[&num], &den).expect("no pole on the circle")[0];
        let numeric = midpoint(|w| num.eval(w) / den.eval(w), 65536);
        assert!((exact - numeric).norm() < 1e-12 * numeric.norm().max(1.0), "{exact} vs {numeric}");
    }
}
