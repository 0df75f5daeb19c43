//! Spectra of deep-Hebbian sequence couplings (Jiang, Chen, Hou & Huang 2023, "Spectrum of
//! non-Hermitian deep-Hebbian neural networks"; models/jiang.md §5–§6, §8).
//!
//! `J = (1/N) ξᵀ X ξ` with P = αN patterns and X the P×P circulant of symbol
//! `Λ(θ) = c + γ Σ_{k=1..d} (e^{ikθ} + b e^{−ikθ})` ([`SequenceCouplings::symbol`]). As N → ∞ the
//! eigenvalues of J fill a region of the plane (the support) plus N − P zeros when α < 1; with
//! `g(z) = (1/N) Tr (z − J)^{-1}` and `⟨·⟩` the mean over θ:
//!
//! - (5) outside: `g = 1 / (z − α⟨Λ/(1 − Λg)⟩)`;
//! - (6) the boundary, parametrised by its value of g: `F(g) ≡ α⟨|Λg|²/|1 − Λg|²⟩ = 1`,
//!   `z(g) = α⟨Λ/|1 − Λg|²⟩` ([`Support`]);
//! - (7), (8) inside, the density ([`Support::density`]);
//! - the rightmost point `x_R` ([`SequenceCouplings::right_edge`]) and the coupling where it
//!   reaches 1, `γ_c` ([`critical_heteroassociation`]): h = 0 loses stability there (§6);
//! - c = 0, d = 1: closed forms ([`ring`]);
//! - the Jacobian `J·diag(φ'(h))` with Gaussian h, eqs (10)–(12) ([`GainMoments`],
//!   [`SequenceCouplings::jacobian_boundary`], [`jacobian_radii`], [`plateau_variance`]).
//!
//! Every average over θ is exact ([`circle`]: Λ is a Laurent polynomial in `w = e^{iθ}`, so each
//! average is a sum of residues inside |w| = 1) rather than a quadrature, which would need
//! ~40/δ points for poles at distance δ from the circle, and δ → 0 along the branches that run to
//! z = 0. The boundary is the set F = 1 in the plane of g, traced by continuation from its real
//! roots and from the points of a coarse marching-squares grid ([`trace`], [`level_set`]), mapped
//! by (6b) and mirrored ([`Support`]); docs/theory.md, "Jiang et al. 2023", has the method and its
//! accuracy.

mod circle;
mod interior;
mod jacobian;
mod level_set;
mod predictions;
pub mod ring;
mod support;
mod sweep;
mod trace;

use num_complex::Complex64;

use circle::{polynomial_roots, CircleInverse, Laurent};
#[cfg(test)]
use support::inside_polygon;
use support::{refine_rightmost, trace_loops, EdgeLoop};

pub use predictions::predictions;
pub use support::Support;

pub use jacobian::{jacobian_radii, plateau_variance, GainMoments};
pub use sweep::sweep_lines;

/// The couplings `X_μν = c δ_μν + γ Σ_k δ_{μ,ν+k} + bγ Σ_k δ_{μ,ν−k}` of models/jiang.md §2:
/// load α = P/N, autoassociation c, heteroassociation γ, depth d, backward weight b (the
/// paper: b = 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequenceCouplings {
    pub load: f64,
    pub autoassociation: f64,
    pub heteroassociation: f64,
    pub depth: usize,
    pub backward: f64,
}

/// Where the curves of F(g) = 1 are followed, in units of `1/max|Λ|` (§5.1: ~0.1 to ~10³; the
/// far end larger, so that the loops cut at z ≈ 0 leave a smaller gap, see [`Support::masses`]).
const G_MIN: f64 = 0.1;
const G_MAX: f64 = 1e4;

impl SequenceCouplings {
    /// The paper's couplings (b = 0).
    pub fn new(load: f64, autoassociation: f64, heteroassociation: f64, depth: usize) -> Self {
        SequenceCouplings {
            load,
            autoassociation,
            heteroassociation,
            depth,
            backward: 0.0,
        }
    }

    /// Why these couplings have no theory: α ≤ 0, d = 0 or a non-finite number.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.load.is_finite() && self.load > 0.0) {
            return Err(format!(
                "load α = {} must be positive and finite",
                self.load
            ));
        }
        if self.depth == 0 {
            return Err("depth d must be at least 1".into());
        }
        if ![self.autoassociation, self.heteroassociation, self.backward]
            .iter()
            .all(|v| v.is_finite())
        {
            return Err("c, γ and b must be finite".into());
        }
        Ok(())
    }

    /// `Λ(θ) = c + γ Σ_{k=1..d} (e^{ikθ} + b e^{−ikθ})`, the eigenvalue of X on the Fourier mode θ
    /// (§5).
    pub fn symbol(&self, theta: f64) -> Complex64 {
        let sum: Complex64 = (1..=self.depth)
            .map(|k| {
                let kt = k as f64 * theta;
                Complex64::from_polar(1.0, kt) + self.backward * Complex64::from_polar(1.0, -kt)
            })
            .sum();
        self.autoassociation + self.heteroassociation * sum
    }

    /// Λ as a Laurent polynomial in `w = e^{iθ}`.
    fn symbol_laurent(&self) -> Laurent {
        let d = self.depth as i32;
        let (c, gamma, b) = (self.autoassociation, self.heteroassociation, self.backward);
        let mut coef = vec![Complex64::new(0.0, 0.0); (2 * d + 1) as usize];
        coef[d as usize] = c.into();
        for k in 1..=d {
            coef[(d + k) as usize] = gamma.into();
            coef[(d - k) as usize] = (b * gamma).into();
        }
        Laurent { low: -d, coef }.trimmed()
    }

    /// `max_θ |Λ(θ)|` (on 4096 angles: a scale, not a result).
    fn symbol_scale(&self) -> f64 {
        (0..4096)
            .map(|j| {
                self.symbol(std::f64::consts::TAU * j as f64 / 4096.0)
                    .norm()
            })
            .fold(0.0, f64::max)
    }

    /// The support of the limiting spectrum: its boundary loops, each with its values of g.
    /// Empty for invalid couplings or Λ ≡ 0 (then J = 0).
    pub fn support(&self) -> Support {
        let empty = Support {
            couplings: *self,
            loops: Vec::new(),
        };
        if self.validate().is_err() {
            return empty;
        }
        let scale = self.symbol_scale();
        if scale == 0.0 {
            return empty;
        }
        let averages = Averages::new(self);
        let (s_min, s_max) = self.g_range(scale);
        let loops = trace_loops(s_min, s_max, |g| averages.edge(g));
        Support {
            couplings: *self,
            loops,
        }
    }

    /// Every closed loop of the support's boundary (outer edge, voids, islands), eq (6), as
    /// closed polylines (the last point repeats the first) ordered by enclosed area, largest
    /// first, each counter-clockwise; conjugate halves included. Loops that run into z = 0
    /// (branches with g → ∞) pass through 0.
    pub fn boundary(&self) -> Vec<Vec<Complex64>> {
        self.support().polylines()
    }

    /// The fraction of the N eigenvalues, zeros excluded, enclosed by each loop of
    /// [`Self::boundary`], same order ([`Support::masses`]).
    pub fn masses(&self) -> Vec<f64> {
        self.support().masses()
    }

    /// The density of eigenvalues per unit area at z, eqs (7), (8) ([`Support::density`]).
    pub fn density(&self, z: Complex64) -> Option<f64> {
        self.support().density(z)
    }

    /// `x_R`, the largest real part of the support: the larger of [`Self::real_axis_right_edge`]
    /// and the largest Re z along the curves of [`Self::boundary`] (refined between its points by
    /// a golden-section search along the curve). §5.1 assumes the rightmost point is real; it
    /// is not always (c = 0, d = 2, γ < 0: two symmetric bumps off the axis). 0 when Λ ≡ 0
    /// (J = 0); NaN for invalid couplings.
    pub fn right_edge(&self) -> f64 {
        let axis = self.real_axis_right_edge();
        if axis.is_nan() && self.validate().is_err() {
            return f64::NAN;
        }
        axis.max(self.support().rightmost())
    }

    /// The note's x_R (§5.1): the largest `z(x)`, eq (6b), over the real roots x of `F(x) = 1`,
    /// eq (6a) (both signs of x; a scan of 3000 points in ln|x| per sign, then bisection). A lower
    /// bound of [`Self::right_edge`], equal to it when the rightmost point is real; 0 when Λ ≡ 0,
    /// NaN for invalid couplings or when no real root is found.
    pub fn real_axis_right_edge(&self) -> f64 {
        if self.validate().is_err() {
            return f64::NAN;
        }
        let scale = self.symbol_scale();
        if scale == 0.0 {
            return 0.0;
        }
        let averages = Averages::new(self);
        let (s_min, s_max) = self.g_range(scale);
        real_roots(s_min, s_max, |x| averages.edge(Complex64::new(x, 0.0)))
            .into_iter()
            .map(|(_, z)| z)
            .fold(f64::NAN, f64::max)
    }

    /// `(ln|g|_min, ln|g|_max)` of the curves: |g| from `0.1/((1+√α) max|Λ|)` (F < 1 below) to
    /// `10⁴/max|Λ|` (the cut of the branches running to z = 0).
    fn g_range(&self, scale: f64) -> (f64, f64) {
        (
            (G_MIN / ((1.0 + self.load.sqrt()) * scale)).ln(),
            (G_MAX / scale).ln(),
        )
    }

    /// The couplings with `γ` replaced.
    fn with_heteroassociation(&self, gamma: f64) -> SequenceCouplings {
        SequenceCouplings {
            heteroassociation: gamma,
            ..*self
        }
    }
}

/// `γ_c`, the heteroassociation at which the right edge reaches 1, `x_R(γ_c) = 1` (§6: h = 0 loses
/// stability), on the branch γ > 0: the smallest such γ > 0, by a scan (factor 1.25 from 10⁻³)
/// and bisection; for c = 0, `x_R ∝ γ` and `γ_c = 1/x_R(γ = 1)`. `None` where h = 0 is unstable
/// at every γ > 0 (`x_R(γ → 0) ≥ 1`: for c > 0 that is `c(1+√α)² ≥ 1`, the Wishart edge), where
/// x_R stays below 1 up to γ = 10⁴, or for invalid arguments. For γ < 0 use the symmetry
/// `Λ_{−γ}(θ) = −Λ_γ(θ)` at c = 0 (the spectrum is mirrored, z → −z): `−min Re z` of the
/// support plays the role of x_R.
pub fn critical_heteroassociation(
    load: f64,
    autoassociation: f64,
    depth: usize,
    backward: f64,
) -> Option<f64> {
    let base = SequenceCouplings {
        load,
        autoassociation,
        heteroassociation: 0.0,
        depth,
        backward,
    };
    base.validate().ok()?;
    if autoassociation == 0.0 {
        let edge = base.with_heteroassociation(1.0).right_edge();
        return (edge > 0.0).then(|| 1.0 / edge);
    }
    // Bisection on the real-axis x_R (fast), then the same on the full x_R (≥ it) if they
    // differ at the root found.
    let axis = |gamma: f64| base.with_heteroassociation(gamma).real_axis_right_edge();
    let full = |gamma: f64| base.with_heteroassociation(gamma).right_edge();
    let fast = first_crossing(axis, 0.0, 1e4)?;
    if (full(fast) - 1.0).abs() <= 1e-9 {
        return Some(fast);
    }
    first_crossing(full, 0.0, fast * (1.0 + 1e-9))
}

/// The smallest γ in (`low`, `high`] with `edge(γ) ≥ 1`: a scan from 10⁻³ by factors 1.25 (and
/// `high`), then 60 bisections; `None` if `edge(low) ≥ 1`, is NaN, or no γ reaches 1.
fn first_crossing(edge: impl Fn(f64) -> f64, low: f64, high: f64) -> Option<f64> {
    let excess = |gamma: f64| edge(gamma) - 1.0;
    let start = excess(low);
    if start.is_nan() || start >= 0.0 {
        return None;
    }
    let mut below = low;
    let mut above = None;
    let mut gamma: f64 = 1e-3;
    loop {
        let g = gamma.min(high);
        match excess(g) {
            e if e >= 0.0 => {
                above = Some(g);
                break;
            }
            e if e < 0.0 => below = g,
            _ => {}
        }
        if g >= high {
            break;
        }
        gamma *= 1.25;
    }
    let mut above = above?;
    for _ in 0..60 {
        let middle = 0.5 * (below + above);
        if excess(middle) >= 0.0 {
            above = middle;
        } else {
            below = middle;
        }
    }
    Some(0.5 * (below + above))
}

/// The averages over θ of §5 for one set of couplings, exact (module [`circle`]).
#[derive(Clone, Debug)]
struct Averages {
    load: f64,
    /// Λ(w).
    symbol: Laurent,
    /// `|Λ|² = Λ(w) Λ(1/w)` on the circle.
    symbol_abs2: Laurent,
}

impl Averages {
    fn new(couplings: &SequenceCouplings) -> Averages {
        let symbol = couplings.symbol_laurent();
        let symbol_abs2 = symbol.mul(&symbol.circle_conj());
        Averages {
            load: couplings.load,
            symbol,
            symbol_abs2,
        }
    }

    /// `1 − gΛ(w)`.
    fn one_minus(&self, g: Complex64) -> Laurent {
        Laurent::constant(1.0.into())
            .add(&self.symbol.scale(-g))
            .trimmed()
    }

    /// `(⟨ψ⟩, ⟨|ψ|²⟩)` for `ψ(w) = 1/(1 − gΛ(w))`. With `1 − gΛ = w^{low} P(w)` and the roots r of P,
    /// `ψ = w^{−low}/P = Σ_r B_r/(w − r)`, `B_r = r^{−low}/P'(r)`; on the circle `1/(w − r)` has only
    /// negative frequencies (|r| < 1) or only non-negative ones (|r| > 1), so
    /// `⟨ψ⟩ = −Σ_{|r|>1} B_r/r` and, by Parseval, `⟨|ψ|²⟩ = Σ_{r,q inside} B_r B̄_q/(1 − r q̄) +
    /// Σ_{r,q outside} B_r B̄_q/(r q̄ − 1)`. Every term is of the size of the result (no
    /// cancellation: near the singular curve, where a root approaches the circle, B_r ~ |r − w₀|
    /// and 1/(1 − |r|²) ~ |r − w₀|⁻²). `None` where a root is on the circle (g = 1/Λ(θ)).
    fn resolvent_moments(&self, g: Complex64) -> Option<(Complex64, f64)> {
        let p = self.one_minus(g);
        if p.coef.len() == 1 {
            let psi = p.coef[0].inv();
            return (psi.re.is_finite() && psi.im.is_finite()).then(|| (psi, psi.norm_sqr()));
        }
        let lead = *p.coef.last()?;
        let roots = polynomial_roots(&p.coef)?;
        let mut terms: Vec<(Complex64, Complex64, bool)> = Vec::with_capacity(roots.len());
        for (i, &r) in roots.iter().enumerate() {
            let mut derivative = lead;
            for (j, &q) in roots.iter().enumerate() {
                if j != i {
                    derivative *= r - q;
                }
            }
            let b = r.powi(-p.low) / derivative;
            let modulus = r.norm();
            if !(b.re.is_finite() && b.im.is_finite()) || (modulus - 1.0).abs() <= 1e-15 {
                return None;
            }
            terms.push((r, b, modulus < 1.0));
        }
        let mut mean = Complex64::new(0.0, 0.0);
        let mut square = Complex64::new(0.0, 0.0);
        for &(r, br, inside_r) in &terms {
            if !inside_r {
                mean -= br / r;
            }
            for &(q, bq, inside_q) in &terms {
                if inside_r == inside_q {
                    let kernel = if inside_r {
                        (1.0 - r * q.conj()).inv()
                    } else {
                        (r * q.conj() - 1.0).inv()
                    };
                    square += br * bq.conj() * kernel;
                }
            }
        }
        let result = (mean, square.re);
        (result.1.is_finite() && mean.re.is_finite() && mean.im.is_finite()).then_some(result)
    }

    /// `(F(g), z(g))` of eq (6): `F = α⟨|Λg|²/|1 − Λg|²⟩ = α⟨|ψ − 1|²⟩` and
    /// `z = α⟨Λ/|1 − Λg|²⟩ = (α/g)(⟨|ψ|²⟩ − conj⟨ψ⟩)` with ψ = 1/(1 − gΛ) (since gΛψ = ψ − 1);
    /// `(0, α⟨Λ⟩)` at g = 0. `None` where a pole sits on the circle (g = 1/Λ(θ): F = ∞).
    fn edge(&self, g: Complex64) -> Option<(f64, Complex64)> {
        if g.norm_sqr() == 0.0 {
            return Some((0.0, self.load * self.symbol_mean()));
        }
        let (mean, square) = self.resolvent_moments(g)?;
        let f = self.load * (square - 2.0 * mean.re + 1.0);
        let z = self.load / g * (square - mean.conj());
        Some((f.max(0.0), z))
    }

    /// `⟨Λ⟩ = c`, the constant coefficient.
    fn symbol_mean(&self) -> Complex64 {
        let k = -self.symbol.low;
        if (0..self.symbol.coef.len() as i32).contains(&k) {
            self.symbol.coef[k as usize]
        } else {
            Complex64::new(0.0, 0.0)
        }
    }

    /// `α⟨Λ/(1 − tΛ)⟩ = (α/t)(⟨ψ⟩ − 1)`: κ of eq (10a), and the sum in eq (5); `α⟨Λ⟩` at t = 0.
    fn kappa(&self, t: Complex64) -> Option<Complex64> {
        if t.norm_sqr() == 0.0 {
            return Some(self.load * self.symbol_mean());
        }
        let (mean, _) = self.resolvent_moments(t)?;
        Some(self.load / t * (mean - 1.0))
    }

    /// Inside, eq (7) with `u = −v`, `Δ = |1 − Λg|² + v|Λ|²`: `(α⟨Λ/Δ⟩, α(|g|² + v)⟨|Λ|²/Δ⟩)`.
    fn interior(&self, g: Complex64, v: f64) -> Option<(Complex64, f64)> {
        let p = self.one_minus(g);
        let delta = p
            .mul(&p.circle_conj())
            .add(&self.symbol_abs2.scale(v.into()))
            .trimmed();
        let roots = polynomial_roots(&delta.coef)?;
        let inverse = CircleInverse::new(&roots, *delta.coef.last()?)?;
        let z = self.load * inverse.mean(&self.symbol, -delta.low);
        let weight = inverse.mean(&self.symbol_abs2, -delta.low).re;
        Some((z, self.load * (g.norm_sqr() + v) * weight))
    }
}

/// The real roots x of `F(x) = 1` (both signs of x, `|x|` from `e^{s_min}` to `e^{s_max}`:
/// [`trace`]'s scan of the axis, 3000 points per sign in ln|x|, then bisection) with their
/// `Re z(x)`; `edge(x)` gives `(F, z)` at real x.
fn real_roots(
    s_min: f64,
    s_max: f64,
    edge: impl Fn(f64) -> Option<(f64, Complex64)>,
) -> Vec<(f64, f64)> {
    let level = |s: f64, psi: f64| {
        let x = if psi == 0.0 { s.exp() } else { -s.exp() };
        edge(x).map_or(f64::INFINITY, |(f, _)| f.ln())
    };
    trace::axis_roots(&level, s_min, s_max)
        .into_iter()
        .filter_map(|(s, psi)| {
            let x = if psi == 0.0 { s.exp() } else { -s.exp() };
            edge(x).map(|(_, z)| (x, z.re))
        })
        .collect()
}

#[cfg(test)]
mod tests;
