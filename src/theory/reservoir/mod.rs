//! Mean-field theory of trained reservoirs (Rivkind & Barak 2017, models/rivkind_barak.md §5–§6):
//! a random network `dx/dt = −x + J φ(x) + u z`, `J_ij ~ N(0, g²/N)`, `u_i ~ N(0, σ_u²)`, whose
//! readout `z = wᵀφ(x)` is trained (minimum norm) so that each target `A_k` is a closed-loop
//! fixed point `x^k`; the theory predicts the open-loop statistics at each attractor, the bulk
//! radius ρ_k, the K-th order linear ODE `dq/dt = L_k q` of the output near it, whether training
//! succeeds, and the output's frequency response.
//!
//! Only the paper's abstract could be read: this theory is a derivation that agrees with the
//! abstract's claims, not equations read from the paper (notation may differ from it).
//!
//! - Static (§5.1): `C_kl = ⟨φ(uA_k + η^k) φ(uA_l + η^l)⟩`, `η ~ N(0, g²C)` independent of u,
//!   solved by damped iteration ([`MeanField::solve`]).
//! - Local (§5.2): `a_l = ⟨φ'(x^l)φ'(x^k)⟩`, `e_l = ⟨φ(x^l)φ''(x^k)⟩`, `b_l = ⟨uφ(x^l)φ'(x^k)⟩`,
//!   `v = C⁺A`, `L_k = −I + g²(diag(a) + e ê_kᵀ) + b vᵀ` ([`Attractor`]).
//! - K = 1 closed forms (§5.3): τ, H0, L ([`SingleTarget`]); gains `H_k(s)`, `T_k(iω)` (§5.4).
//! - Integrals (§5.5): u and η are independent Gaussians, so `x = (x^1..x^K)` is exactly
//!   `N(0, V)`, `V = σ_u² A Aᵀ + S`, `S = g²C`, and every average is a K-dimensional Gaussian
//!   integral over x, with `b_l = σ_u²(A_l a_l + A_k e_l)` by Stein's lemma
//!   (`E[u f(x)] = Σ_j cov(u, x^j) E[∂_j f]`). Tanh and logistic: K = 1 by composite
//!   Gauss–Legendre in x (accurate at any g); K = 2, 3 by probabilists' Gauss–Hermite tensor
//!   grids over `x = V^½ z` (symmetric eigen square root, negative eigenvalues clipped),
//!   [`NODES`] = 160, 48 per axis; K > 3 is refused ([`NoSolution::TooManyTargets`]). This
//!   departs from the note's (K + 1)-dimensional grid over `(u, ζ)` with 90, 40, 22 nodes: that
//!   grid loses digits as the std of x grows (φ's complex poles come closer in grid units;
//!   measured at K = 1 against a fine integral: 3·10⁻⁶ in C and 7·10⁻⁵ in ρ at tanh g = 4,
//!   3·10⁻⁴ in C and 8·10⁻³ in ρ at the logistic edge of chaos g ≈ 11). The K-dimensional grid
//!   is finer at the same cost, but K = 2, 3 at large g still carry a grid error: with tanh,
//!   targets ±0.7, g = 4 (std of x ≈ 3.6, chaotic open loop) the 160-node grid gives C to
//!   4·10⁻⁵ and ⟨φ'²⟩ to 2·10⁻³ (relative; 600 nodes converge); at g ≤ 2 it agrees with the
//!   exact K = 1 marginals to 10⁻¹¹.
//!   Threshold-linear `φ = (x − θ)⁺`: no quadrature at all: `(x^k, x^l)` is bivariate normal
//!   with covariance `σ_u²A_kA_l + S_kl`, so C, a and e are closed forms (orthant probability by
//!   Owen's T, truncated moments by Gaussian integration by parts, `e_l = p_{x^k}(θ)
//!   E[(x^l − θ)⁺ | x^k = θ]`). This is exact where the note's "Gauss–Hermite over u (160 nodes),
//!   bivariate normal given u" is a quadrature of the same closed forms (a test compares the
//!   two).

mod gaussian;
pub mod predictions;
mod quadrature;
#[cfg(test)]
mod tests;

use std::fmt;

use faer::{c64, Mat, Side};

pub use gaussian::{bivariate_normal_cdf, owens_t, quadrant_moments, QuadrantMoments};
pub use predictions::predictions;
pub use quadrature::{gauss_hermite, gauss_legendre, Rule};

use gaussian::{normal_cdf, normal_pdf, positive_part_mean};

/// Relative change of C (the largest entry change over the largest entry, floored at 10⁻⁸)
/// below which the damped iteration has converged.
pub const TOLERANCE: f64 = 1e-11;
/// Entries of C above this (or not finite): no finite solution.
pub const DIVERGENCE: f64 = 1e8;
/// The most damped iterations.
pub const MAX_ITERATIONS: usize = 10_000;
/// Within this of 0 (max Re eig L_k) or of 1 (ρ_k): marginal.
pub const MARGINAL: f64 = 1e-9;
/// Eigenvalues of C below this times the largest count as zero in `C⁺`.
pub const PSEUDO_INVERSE_CUTOFF: f64 = 1e-10;
/// Gauss–Hermite nodes per axis of the K-dimensional grid over x for K = 1, 2, 3 (K = 1 uses
/// the exact one-dimensional form instead; §5.5's (K + 1)-dimensional grid had 90, 40, 22).
pub const NODES: [usize; 3] = [90, 160, 48];

/// The single-neuron nonlinearity φ (the model's: `src/model/reservoir`).
pub use crate::model::reservoir::Nonlinearity;

/// Why the mean-field equations have no (finite, converged) solution.
#[derive(Clone, Debug, PartialEq)]
pub enum NoSolution {
    /// No targets.
    NoTargets,
    /// K > 3: the tensor grid is not built for more (22⁴ points at K = 3 already).
    TooManyTargets(usize),
    /// A parameter is not finite, or g or σ_u is negative.
    InvalidParameter(String),
    /// C became non-finite or exceeded [`DIVERGENCE`]: no finite solution.
    Diverged { iteration: usize },
    /// [`MAX_ITERATIONS`] without reaching [`TOLERANCE`].
    NotConverged { iterations: usize, change: f64 },
}

impl fmt::Display for NoSolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoSolution::NoTargets => write!(f, "no targets"),
            NoSolution::TooManyTargets(k) => write!(
                f,
                "{k} targets: the reservoir mean-field theory handles K = 1, 2, 3"
            ),
            NoSolution::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
            NoSolution::Diverged { iteration } => {
                write!(f, "no finite solution: C diverged (iteration {iteration})")
            }
            NoSolution::NotConverged { iterations, change } => write!(
                f,
                "C did not converge in {iterations} iterations (relative change {change:e})"
            ),
        }
    }
}

impl std::error::Error for NoSolution {}

/// The mean-field problem: the gain g (`J_ij ~ N(0, g²/N)`), the input std σ_u, φ and the
/// targets `A_1..A_K` (K ≤ 3).
#[derive(Clone, Debug, PartialEq)]
pub struct MeanField {
    pub gain: f64,
    pub input_std: f64,
    pub nonlinearity: Nonlinearity,
    pub targets: Vec<f64>,
}

/// Predicted training outcome (§5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stability {
    /// All ρ_k < 1 and all max Re eig(L_k) < 0 (beyond [`MARGINAL`]).
    Stable,
    /// Not unstable, but some ρ_k or max Re eig(L_k) within [`MARGINAL`] of its threshold.
    Marginal,
    /// Some ρ_k > 1 or max Re eig(L_k) > 0 (beyond [`MARGINAL`]).
    Unstable,
}

/// The local dynamics at one attractor k (§4, §5.2).
#[derive(Clone, Debug, PartialEq)]
pub struct Attractor {
    /// A_k.
    pub target: f64,
    /// Bulk radius `ρ_k = g √⟨φ'(x^k)²⟩`.
    pub rho: f64,
    /// `a_l = ⟨φ'(x^l) φ'(x^k)⟩`.
    pub a: Vec<f64>,
    /// `e_l = ⟨φ(x^l) φ''(x^k)⟩` (ReLU: `p_{x^k}(θ) E[(x^l − θ)⁺ | x^k = θ]`).
    pub e: Vec<f64>,
    /// `b_l = ⟨u φ(x^l) φ'(x^k)⟩`.
    pub b: Vec<f64>,
    /// `L_k = −I + g²(diag(a) + e ê_kᵀ) + b vᵀ`, K × K row-major.
    pub local_matrix: Vec<f64>,
    /// eig(L_k): the predicted outliers of the closed-loop Jacobian.
    pub eigenvalues: Vec<c64>,
}

impl Attractor {
    /// `max Re eig(L_k)`.
    pub fn max_real_eigenvalue(&self) -> f64 {
        self.eigenvalues
            .iter()
            .map(|z| z.re)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// The K = 1 closed forms (§5.3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SingleTarget {
    /// `c = ⟨φ(x)²⟩`.
    pub c: f64,
    /// `⟨φ'² + φφ''⟩` (= a + e).
    pub slope: f64,
    /// Open-loop pole `τ = 1/(1 − g²⟨φ'² + φφ''⟩)`.
    pub tau: f64,
    /// `H0 = τ A b / c = ½ d ln c / d ln A`.
    pub h0: f64,
    /// `L = (H0 − 1)/τ`: `τ dδz/dt = −(1 − H0) δz`.
    pub l: f64,
}

/// The solved mean-field theory.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub gain: f64,
    pub input_std: f64,
    pub nonlinearity: Nonlinearity,
    pub targets: Vec<f64>,
    /// C, K × K row-major.
    pub correlation: Vec<f64>,
    /// `v = C⁺ A` (pseudo-inverse: C may be singular, e.g. tanh with targets ±A).
    pub v: Vec<f64>,
    /// Per attractor k.
    pub attractors: Vec<Attractor>,
    /// Damped iterations used.
    pub iterations: usize,
}

impl MeanField {
    /// Solves `C_kl = ⟨φ(uA_k + η^k) φ(uA_l + η^l)⟩`, `η ~ N(0, g²C)`, by the damped iteration
    /// `C ← (C + F(C))/2` from `C_kl = 0.1 + 0.5δ_kl` until the relative change is below
    /// [`TOLERANCE`]; then the local quantities of §5.2 at every attractor.
    pub fn solve(&self) -> Result<Solution, NoSolution> {
        let k = self.targets.len();
        if k == 0 {
            return Err(NoSolution::NoTargets);
        }
        if k > 3 {
            return Err(NoSolution::TooManyTargets(k));
        }
        if !(self.gain.is_finite() && self.gain >= 0.0) {
            return Err(NoSolution::InvalidParameter(format!(
                "gain g = {}",
                self.gain
            )));
        }
        if !(self.input_std.is_finite() && self.input_std >= 0.0) {
            return Err(NoSolution::InvalidParameter(format!(
                "input std σ_u = {}",
                self.input_std
            )));
        }
        if self.targets.iter().any(|a| !a.is_finite()) {
            return Err(NoSolution::InvalidParameter(format!(
                "targets {:?}",
                self.targets
            )));
        }
        if let Nonlinearity::Relu { threshold } = self.nonlinearity {
            if !threshold.is_finite() {
                return Err(NoSolution::InvalidParameter(format!(
                    "threshold θ = {threshold}"
                )));
            }
        }
        let integrator = Integrator::new(self);
        let mut c: Vec<f64> = (0..k * k)
            .map(|i| if i / k == i % k { 0.6 } else { 0.1 })
            .collect();
        let mut converged = None;
        let mut change = f64::NAN;
        for iteration in 1..=MAX_ITERATIONS {
            let f = integrator.moments(&c, false).c;
            let next: Vec<f64> = c.iter().zip(&f).map(|(x, y)| 0.5 * (x + y)).collect();
            if next.iter().any(|x| !x.is_finite() || x.abs() > DIVERGENCE) {
                return Err(NoSolution::Diverged { iteration });
            }
            let delta = c
                .iter()
                .zip(&next)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            let scale = next.iter().map(|x| x.abs()).fold(0.0, f64::max);
            change = delta / scale.max(1e-8);
            c = next;
            if change < TOLERANCE {
                converged = Some(iteration);
                break;
            }
        }
        let Some(iterations) = converged else {
            return Err(NoSolution::NotConverged {
                iterations: MAX_ITERATIONS,
                change,
            });
        };
        // Symmetrise (round-off).
        for i in 0..k {
            for j in 0..i {
                let m = 0.5 * (c[i * k + j] + c[j * k + i]);
                c[i * k + j] = m;
                c[j * k + i] = m;
            }
        }
        let m = integrator.moments(&c, true);
        let v = pseudo_inverse_apply(k, &c, &self.targets);
        let g2 = self.gain * self.gain;
        let attractors = (0..k)
            .map(|kk| {
                let row = |x: &[f64]| x[kk * k..(kk + 1) * k].to_vec();
                let (a, e, b) = (row(&m.a), row(&m.e), row(&m.b));
                let mut local = vec![0.0; k * k];
                for l in 0..k {
                    for n in 0..k {
                        let mut x = b[l] * v[n];
                        if l == n {
                            x += g2 * a[l] - 1.0;
                        }
                        if n == kk {
                            x += g2 * e[l];
                        }
                        local[l * k + n] = x;
                    }
                }
                let eigenvalues = Mat::<f64>::from_fn(k, k, |i, j| local[i * k + j])
                    .eigenvalues()
                    .unwrap_or_else(|_| vec![c64::new(f64::NAN, f64::NAN); k]);
                Attractor {
                    target: self.targets[kk],
                    rho: self.gain * m.derivative_square[kk].sqrt(),
                    a,
                    e,
                    b,
                    local_matrix: local,
                    eigenvalues,
                }
            })
            .collect();
        Ok(Solution {
            gain: self.gain,
            input_std: self.input_std,
            nonlinearity: self.nonlinearity,
            targets: self.targets.clone(),
            correlation: c,
            v,
            attractors,
            iterations,
        })
    }
}

impl Solution {
    /// K.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Never true (a solution has at least one target).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// `C_kl`.
    pub fn c(&self, k: usize, l: usize) -> f64 {
        self.correlation[k * self.len() + l]
    }

    /// Predicted success (§5.2): C finite (it is, in a Solution), all ρ_k < 1 and all
    /// `max Re eig(L_k) < 0`; [`Stability::Marginal`] when one of them is within [`MARGINAL`]
    /// of its threshold and none beyond it.
    pub fn predicted_success(&self) -> Stability {
        let mut marginal = false;
        for at in &self.attractors {
            let (rho, re) = (at.rho - 1.0, at.max_real_eigenvalue());
            if rho > MARGINAL || re > MARGINAL || re.is_nan() || rho.is_nan() {
                return Stability::Unstable;
            }
            marginal |= rho.abs() <= MARGINAL || re.abs() <= MARGINAL;
        }
        if marginal {
            Stability::Marginal
        } else {
            Stability::Stable
        }
    }

    /// The MFT open-loop gain at attractor k,
    /// `H_k(s) = vᵀ((1 + s)I − g²(diag(a) + e ê_kᵀ))⁻¹ b`, for complex s (not finite at the
    /// open-loop poles). Outliers solve `H_k(λ) = 1`.
    pub fn gain_function(&self, k: usize, s: c64) -> c64 {
        let n = self.len();
        let at = &self.attractors[k];
        let g2 = self.gain * self.gain;
        let mut m: Vec<c64> = (0..n * n)
            .map(|idx| {
                let (i, j) = (idx / n, idx % n);
                let mut x = c64::new(0.0, 0.0);
                if i == j {
                    x += c64::new(1.0, 0.0) + s - g2 * at.a[i];
                }
                if j == k {
                    x -= g2 * at.e[i];
                }
                x
            })
            .collect();
        let mut y: Vec<c64> = at.b.iter().map(|&b| c64::new(b, 0.0)).collect();
        solve_complex(n, &mut m, &mut y);
        y.iter()
            .zip(&self.v)
            .fold(c64::new(0.0, 0.0), |acc, (y, v)| acc + y * *v)
    }

    /// The closed-loop response to an input `ε(t) u` at attractor k (§5.4):
    /// `T_k(iω) = H_k(iω)/(1 − H_k(iω))`.
    pub fn response(&self, k: usize, omega: f64) -> c64 {
        let h = self.gain_function(k, c64::new(0.0, omega));
        h / (c64::new(1.0, 0.0) - h)
    }

    /// The K = 1 closed forms (§5.3); None when K > 1.
    /// `τ = 1/(1 − g²⟨φ'² + φφ''⟩)`, `H0 = τAb/c`, `L = (H0 − 1)/τ`.
    pub fn single_target(&self) -> Option<SingleTarget> {
        if self.len() != 1 {
            return None;
        }
        let at = &self.attractors[0];
        let c = self.correlation[0];
        let slope = at.a[0] + at.e[0];
        let tau = 1.0 / (1.0 - self.gain * self.gain * slope);
        let h0 = tau * at.target * at.b[0] / c;
        Some(SingleTarget {
            c,
            slope,
            tau,
            h0,
            l: (h0 - 1.0) / tau,
        })
    }
}

/// §6: the single-target regime a growth `H0` of `c(A)` implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// H0 < 1: c(A) sub-quadratic (sigmoid saturation, ReLU θ < 0): stable if ρ < 1.
    SubQuadratic,
    /// H0 = 1: c ∝ A² (homogeneous ReLU): marginal.
    Quadratic,
    /// H0 > 1: super-quadratic (ReLU θ > 0, recruitment): unstable.
    SuperQuadratic,
}

/// The §6 regime of one target: [`MeanField::solve`] at K = 1, classified by `H0` (within
/// [`MARGINAL`] of 1: quadratic).
pub fn single_target_regime(
    gain: f64,
    input_std: f64,
    nonlinearity: Nonlinearity,
    target: f64,
) -> Result<(Regime, SingleTarget), NoSolution> {
    let solution = MeanField {
        gain,
        input_std,
        nonlinearity,
        targets: vec![target],
    }
    .solve()?;
    let single = solution.single_target().expect("K = 1");
    let regime = if (single.h0 - 1.0).abs() <= MARGINAL {
        Regime::Quadratic
    } else if single.h0 < 1.0 {
        Regime::SubQuadratic
    } else {
        Regime::SuperQuadratic
    };
    Ok((regime, single))
}

/// Solves `m y = y₀` in place (Gaussian elimination with partial pivoting, n × n row-major).
fn solve_complex(n: usize, m: &mut [c64], y: &mut [c64]) {
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| m[i * n + col].norm().total_cmp(&m[j * n + col].norm()))
            .expect("n ≥ 1");
        if pivot != col {
            for j in 0..n {
                m.swap(pivot * n + j, col * n + j);
            }
            y.swap(pivot, col);
        }
        let d = m[col * n + col];
        for i in col + 1..n {
            let f = m[i * n + col] / d;
            for j in col..n {
                let t = m[col * n + j];
                m[i * n + j] -= f * t;
            }
            let t = y[col];
            y[i] -= f * t;
        }
    }
    for col in (0..n).rev() {
        let mut x = y[col];
        for j in col + 1..n {
            x -= m[col * n + j] * y[j];
        }
        y[col] = x / m[col * n + col];
    }
}

/// Symmetric eigendecomposition of a K × K row-major matrix: (values, vectors column-major).
fn symmetric_eigen(k: usize, m: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mat = Mat::<f64>::from_fn(k, k, |i, j| 0.5 * (m[i * k + j] + m[j * k + i]));
    let eigen = mat
        .self_adjoint_eigen(Side::Lower)
        .expect("a small symmetric matrix has an eigendecomposition");
    let s = eigen.S().column_vector();
    let u = eigen.U();
    let values = (0..k).map(|i| s[i]).collect();
    let vectors = (0..k * k).map(|idx| u[(idx % k, idx / k)]).collect();
    (values, vectors)
}

/// `C⁺ x` with eigenvalues below [`PSEUDO_INVERSE_CUTOFF`] times the largest dropped.
fn pseudo_inverse_apply(k: usize, c: &[f64], x: &[f64]) -> Vec<f64> {
    let (values, vectors) = symmetric_eigen(k, c);
    let largest = values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let mut out = vec![0.0; k];
    for (j, &lambda) in values.iter().enumerate() {
        if lambda <= PSEUDO_INVERSE_CUTOFF * largest || lambda <= 0.0 {
            continue;
        }
        let col = &vectors[j * k..(j + 1) * k];
        let proj: f64 = col.iter().zip(x).map(|(u, x)| u * x).sum();
        for i in 0..k {
            out[i] += col[i] * proj / lambda;
        }
    }
    out
}

/// `S^½` (row-major) of a symmetric S, negative eigenvalues clipped to 0.
fn symmetric_sqrt(k: usize, s: &[f64]) -> Vec<f64> {
    let (values, vectors) = symmetric_eigen(k, s);
    let mut root = vec![0.0; k * k];
    for (j, &lambda) in values.iter().enumerate() {
        let r = lambda.max(0.0).sqrt();
        let col = &vectors[j * k..(j + 1) * k];
        for i in 0..k {
            for l in 0..k {
                root[i * k + l] += r * col[i] * col[l];
            }
        }
    }
    root
}

/// The Gaussian averages at one C: all K × K row-major, `[k·K + l]` for attractor k, index l.
struct Moments {
    /// `C_kl` (F(C)).
    c: Vec<f64>,
    /// `⟨φ'(x^k)²⟩`.
    derivative_square: Vec<f64>,
    /// `⟨φ'(x^l) φ'(x^k)⟩`.
    a: Vec<f64>,
    /// `⟨φ(x^l) φ''(x^k)⟩`.
    e: Vec<f64>,
    /// `⟨u φ(x^l) φ'(x^k)⟩`.
    b: Vec<f64>,
}

/// Computes [`Moments`]: a tensor grid for smooth φ, closed forms for ReLU.
struct Integrator<'a> {
    problem: &'a MeanField,
    rule: Option<Rule>,
}

impl<'a> Integrator<'a> {
    fn new(problem: &'a MeanField) -> Self {
        let rule = match problem.nonlinearity {
            Nonlinearity::Relu { .. } => None,
            _ => Some(gauss_hermite(NODES[problem.targets.len() - 1])),
        };
        Integrator { problem, rule }
    }

    /// The averages at C; the local ones (a, e, b, ⟨φ'²⟩) only when `local`.
    fn moments(&self, c: &[f64], local: bool) -> Moments {
        let p = self.problem;
        let k = p.targets.len();
        let g2 = p.gain * p.gain;
        let s: Vec<f64> = c.iter().map(|x| g2 * x).collect();
        match (&self.rule, p.nonlinearity) {
            (_, Nonlinearity::Relu { threshold }) => relu_moments(p, threshold, &s),
            (Some(_), phi) if k == 1 => line_moments(p, phi, s[0]),
            (Some(rule), phi) => grid_moments(p, phi, rule, &s, local),
            (None, _) => unreachable!("smooth φ has a rule"),
        }
    }
}

/// Smooth φ, K = 2, 3: `x` is exactly `N(0, V)`, `V = σ_u² A Aᵀ + S` (u and η independent
/// Gaussians), so a K-dimensional Gauss–Hermite grid over `x = V^½ z` ([`NODES`] per axis)
/// replaces the (K + 1)-dimensional one over `(u, ζ)` with more nodes per axis at the same cost;
/// `b_l = σ_u²(A_l a_l + A_k e_l)` by Stein's lemma.
fn grid_moments(p: &MeanField, phi: Nonlinearity, rule: &Rule, s: &[f64], local: bool) -> Moments {
    let k = p.targets.len();
    let su2 = p.input_std * p.input_std;
    let v: Vec<f64> = (0..k * k)
        .map(|idx| su2 * p.targets[idx / k] * p.targets[idx % k] + s[idx])
        .collect();
    let root = symmetric_sqrt(k, &v);
    let n = rule.nodes.len();
    let total = n.pow(k as u32);
    let mut m = Moments {
        c: vec![0.0; k * k],
        derivative_square: vec![0.0; k],
        a: vec![0.0; k * k],
        e: vec![0.0; k * k],
        b: vec![0.0; k * k],
    };
    let mut index = vec![0usize; k];
    let (mut x, mut f, mut d, mut dd) = (vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    for _ in 0..total {
        let w: f64 = index.iter().map(|&i| rule.weights[i]).product();
        for kk in 0..k {
            let mut xk = 0.0;
            for j in 0..k {
                xk += root[kk * k + j] * rule.nodes[index[j]];
            }
            x[kk] = xk;
            f[kk] = phi.phi(xk);
        }
        for kk in 0..k {
            for l in 0..k {
                m.c[kk * k + l] += w * f[kk] * f[l];
            }
        }
        if local {
            for kk in 0..k {
                d[kk] = phi.derivative(x[kk]);
                dd[kk] = phi.second_derivative(x[kk]);
                m.derivative_square[kk] += w * d[kk] * d[kk];
            }
            for kk in 0..k {
                for l in 0..k {
                    m.a[kk * k + l] += w * d[l] * d[kk];
                    m.e[kk * k + l] += w * f[l] * dd[kk];
                }
            }
        }
        // Next multi-index.
        for digit in index.iter_mut() {
            *digit += 1;
            if *digit < n {
                break;
            }
            *digit = 0;
        }
    }
    for kk in 0..k {
        for l in 0..k {
            m.b[kk * k + l] =
                su2 * (p.targets[l] * m.a[kk * k + l] + p.targets[kk] * m.e[kk * k + l]);
        }
    }
    m
}

/// Smooth φ, K = 1: x is exactly `N(0, σ_u²A² + S)`, a one-dimensional integral, by composite
/// 20-node Gauss–Legendre over ±14 std in panels of width ≤ 1 (φ's poles lie π/2 (tanh) or π
/// (logistic) off the real axis, so each panel converges to round-off whatever the std, where
/// the fixed Gauss–Hermite grid loses digits once the std is several units), and
/// `b = σ_u²A(a + e)` by Stein's lemma.
fn line_moments(p: &MeanField, phi: Nonlinearity, s: f64) -> Moments {
    let a = p.targets[0];
    let su2 = p.input_std * p.input_std;
    let sd = (su2 * a * a + s).max(0.0).sqrt();
    let (mut c, mut d2, mut e) = (0.0, 0.0, 0.0);
    if sd > 0.0 {
        let rule = gaussian::legendre();
        let panels = ((28.0 * sd).ceil() as usize).max(8);
        let width = 28.0 * sd / panels as f64;
        for panel in 0..panels {
            let lo = -14.0 * sd + panel as f64 * width;
            for (t, w) in rule.nodes.iter().zip(&rule.weights) {
                let x = lo + 0.5 * width * (t + 1.0);
                let weight = 0.5 * width * w * normal_pdf(x / sd) / sd;
                let (f, d) = (phi.phi(x), phi.derivative(x));
                c += weight * f * f;
                d2 += weight * d * d;
                e += weight * f * phi.second_derivative(x);
            }
        }
    } else {
        let (f, d) = (phi.phi(0.0), phi.derivative(0.0));
        c = f * f;
        d2 = d * d;
        e = f * phi.second_derivative(0.0);
    }
    Moments {
        c: vec![c],
        derivative_square: vec![d2],
        a: vec![d2],
        e: vec![e],
        b: vec![su2 * a * (d2 + e)],
    }
}

/// ReLU `(x − θ)⁺`: `X_k = x^k − θ` are jointly normal, mean −θ, covariance
/// `V = σ_u² A Aᵀ + S`; every average is a closed form (module doc).
fn relu_moments(p: &MeanField, threshold: f64, s: &[f64]) -> Moments {
    let k = p.targets.len();
    let su2 = p.input_std * p.input_std;
    let cov = |i: usize, j: usize| su2 * p.targets[i] * p.targets[j] + s[i * k + j];
    let mean = -threshold;
    let mut m = Moments {
        c: vec![0.0; k * k],
        derivative_square: vec![0.0; k],
        a: vec![0.0; k * k],
        e: vec![0.0; k * k],
        b: vec![0.0; k * k],
    };
    for i in 0..k {
        let vi = cov(i, i).max(0.0);
        let si = vi.sqrt();
        m.derivative_square[i] = if si > 0.0 {
            normal_cdf(mean / si)
        } else if mean > 0.0 {
            1.0
        } else {
            0.0
        };
        for j in 0..k {
            let q = quadrant_moments(mean, mean, vi, cov(j, j).max(0.0), cov(i, j));
            m.c[i * k + j] = q.xy;
            m.a[i * k + j] = q.probability;
            // e_j = p_{X_i}(0) E[X_j⁺ | X_i = 0]; X_i deterministic: no density at the kink
            // unless X_i ≡ 0 (θ = 0, A_i = 0, S_ii = 0), taken as 0.
            m.e[i * k + j] = if si > 0.0 && i != j {
                let density = normal_pdf(mean / si) / si;
                let beta = cov(i, j) / vi;
                let mu = mean - beta * mean;
                let var = (cov(j, j) - beta * cov(i, j)).max(0.0);
                density * positive_part_mean(mu, var.sqrt())
            } else {
                0.0
            };
        }
    }
    for i in 0..k {
        for j in 0..k {
            m.b[i * k + j] = su2 * (p.targets[j] * m.a[i * k + j] + p.targets[i] * m.e[i * k + j]);
        }
    }
    m
}
