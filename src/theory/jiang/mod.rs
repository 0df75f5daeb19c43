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
//! z = 0. The boundary is the level set F = 1 on a log-polar grid of g, traced by marching
//! squares and Newton-projected ([`level_set`]); docs/theory.md, "Jiang et al. 2023", has the
//! method and its accuracy.

mod circle;
mod interior;
mod jacobian;
mod level_set;
pub mod ring;
mod trace;

use num_complex::Complex64;

use super::{Prediction, Quantity};
use circle::{polynomial_roots, CircleInverse, Laurent};
use trace::End;

pub use jacobian::{jacobian_radii, plateau_variance, GainMoments};

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

/// Where the boundary's grid of g starts and ends, in units of `1/max|Λ|` (§5.1: ~0.1 to ~10³;
/// the far end larger so that the loops cut at z ≈ 0 leave a smaller gap, see
/// [`Support::masses`]).
const G_MIN: f64 = 0.1;
const G_MAX: f64 = 1e4;

const SOURCE: &str = "Jiang et al. 2023 (models/jiang.md §5)";
const SOURCE_STABILITY: &str = "Jiang et al. 2023 (models/jiang.md §5.1, §6)";

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
            return Err(format!("load α = {} must be positive and finite", self.load));
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
            .map(|j| self.symbol(std::f64::consts::TAU * j as f64 / 4096.0).norm())
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

/// The real roots x of `F(x) = 1` (both signs of x, `|x|` from `e^{s_min}` to `e^{s_max}`; a scan of
/// 3000 points per sign in ln|x|, then bisection) with their `Re z(x)`.
fn real_roots(
    s_min: f64,
    s_max: f64,
    edge: impl Fn(f64) -> Option<(f64, Complex64)>,
) -> Vec<(f64, f64)> {
    let level = |x: f64| edge(x).map_or(f64::INFINITY, |(f, _)| f.ln());
    let mut roots = Vec::new();
    let n = 3000;
    for sign in [1.0, -1.0] {
        let x = |k: usize| sign * (s_min + (s_max - s_min) * k as f64 / n as f64).exp();
        let mut previous = level(x(0));
        for k in 1..=n {
            let current = level(x(k));
            if (previous > 0.0) != (current > 0.0) {
                let (mut a, mut b) = (x(k - 1).abs().ln(), x(k).abs().ln());
                let positive_at_a = previous > 0.0;
                for _ in 0..60 {
                    let m = 0.5 * (a + b);
                    if (level(sign * m.exp()) > 0.0) == positive_at_a {
                        a = m;
                    } else {
                        b = m;
                    }
                }
                let root = sign * (0.5 * (a + b)).exp();
                if let Some((_, z)) = edge(root) {
                    roots.push((root, z.re));
                }
            }
            previous = current;
        }
    }
    roots
}

/// One closed loop of the boundary: its points z and their values of g (eq (6)).
#[derive(Clone, Debug, PartialEq)]
struct EdgeLoop {
    z: Vec<Complex64>,
    g: Vec<Complex64>,
    /// A branch with g → ∞ at both ends: the loop is closed through z = 0.
    through_origin: bool,
}

impl EdgeLoop {
    /// The drawn polyline: closed, through 0 where the branch runs there.
    fn polyline(&self) -> Vec<Complex64> {
        let mut out = Vec::with_capacity(self.z.len() + 2);
        if self.through_origin {
            out.push(Complex64::new(0.0, 0.0));
            out.extend(&self.z);
            out.push(Complex64::new(0.0, 0.0));
        } else {
            out.extend(&self.z);
            out.push(self.z[0]);
        }
        out
    }

    /// Twice the signed area (positive: counter-clockwise).
    fn signed_area(&self) -> f64 {
        let p = self.polyline();
        p.windows(2).map(|w| w[0].re * w[1].im - w[1].re * w[0].im).sum()
    }
}

/// The loops of the boundary: the curves of `ln F = 0` between `s_min` and `s_max`
/// ([`trace::trace_curves`]), mapped by `edge` (which gives F and z at g), completed by their
/// mirror images (`z(ḡ) = conj z(g)`), oriented counter-clockwise and sorted by area, largest
/// first.
fn trace_loops(
    s_min: f64,
    s_max: f64,
    edge: impl Fn(Complex64) -> Option<(f64, Complex64)>,
) -> Vec<EdgeLoop> {
    let level = |s: f64, psi: f64| {
        edge(Complex64::from_polar(s.exp(), psi)).map_or(f64::INFINITY, |(f, _)| f.ln())
    };
    let mut loops = Vec::new();
    for arc in trace::trace_curves(level, s_min, s_max) {
        let mut points: Vec<(Complex64, Complex64)> = arc
            .points
            .iter()
            .filter_map(|&(s, psi)| {
                let g = Complex64::from_polar(s.exp(), psi);
                edge(g).map(|(_, z)| (z, g))
            })
            .collect();
        let (mut start, mut end) = (arc.start, arc.end);
        if end == End::Axis && start != End::Axis {
            points.reverse();
            std::mem::swap(&mut start, &mut end);
        }
        let mirror = |p: &(Complex64, Complex64)| (p.0.conj(), p.1.conj());
        let mut pieces = Vec::new();
        match (start, end) {
            (End::Axis, End::Axis) => {
                let n = points.len();
                let back: Vec<_> = points[1..n.saturating_sub(1)].iter().rev().map(mirror).collect();
                points.extend(back);
                pieces.push((points, false));
            }
            (End::Axis, other) => {
                let mut full: Vec<_> = points[1..].iter().rev().map(mirror).collect();
                full.extend(points);
                pieces.push((full, other == End::Infinity));
            }
            (a, b) => {
                let through_origin = a == End::Infinity && b == End::Infinity;
                let mirrored: Vec<_> = points.iter().map(mirror).collect();
                pieces.push((points, through_origin));
                pieces.push((mirrored, through_origin));
            }
        }
        for (piece, through_origin) in pieces {
            let mut z: Vec<Complex64> = Vec::with_capacity(piece.len());
            let mut g = Vec::with_capacity(piece.len());
            for (zk, gk) in piece {
                if z.last().is_some_and(|&last: &Complex64| (last - zk).norm() <= 1e-15 * zk.norm()) {
                    continue;
                }
                z.push(zk);
                g.push(gk);
            }
            if z.len() < 3 {
                continue;
            }
            let mut edge_loop = EdgeLoop {
                z,
                g,
                through_origin,
            };
            if edge_loop.signed_area() < 0.0 {
                edge_loop.z.reverse();
                edge_loop.g.reverse();
            }
            loops.push(edge_loop);
        }
    }
    loops.sort_by(|a, b| b.signed_area().abs().total_cmp(&a.signed_area().abs()));
    loops
}

/// The support of the limiting spectrum of J: the loops of its boundary (eq (6)).
#[derive(Clone, Debug, PartialEq)]
pub struct Support {
    couplings: SequenceCouplings,
    loops: Vec<EdgeLoop>,
}

impl Support {
    /// The couplings.
    pub fn couplings(&self) -> &SequenceCouplings {
        &self.couplings
    }

    /// The boundary loops as closed polylines ([`SequenceCouplings::boundary`]).
    pub fn polylines(&self) -> Vec<Vec<Complex64>> {
        self.loops.iter().map(EdgeLoop::polyline).collect()
    }

    /// Each loop with its values of g, `(z_k, g_k)` (the zeros' point z = 0 of loops through the
    /// origin not included).
    pub fn loops_with_cauchy_transform(&self) -> Vec<Vec<(Complex64, Complex64)>> {
        self.loops
            .iter()
            .map(|l| l.z.iter().copied().zip(l.g.iter().copied()).collect())
            .collect()
    }

    /// The fraction of all N eigenvalues, the N − P zeros excluded, enclosed by each loop (§5.1):
    /// `(1/2πi) ∮ (g − (1−α)₊/z) dz` along the loop (trapezoidal rule on its points), which is
    /// `(1/2πi) ∮ g dz − (1−α)₊` for a loop around 0 and needs no decision for loops that run into
    /// 0 (there `g z → 1 − α`: the subtracted pole carries the zeros). A loop through 0 is closed
    /// by the chord between its ends near 0 (|g| = 10⁴/max|Λ|), which leaves an error of
    /// order 10⁻³ there; elsewhere ~10⁻⁵ (the trapezoidal rule on ~500 points). Self-intersecting
    /// loops count with their winding number.
    pub fn masses(&self) -> Vec<f64> {
        let zeros = (1.0 - self.couplings.load).max(0.0);
        self.loops
            .iter()
            .map(|l| {
                let h: Vec<Complex64> = l.g.iter().zip(&l.z).map(|(g, z)| g - zeros / z).collect();
                let n = l.z.len();
                let integral: Complex64 = (0..n)
                    .map(|k| {
                        let next = (k + 1) % n;
                        0.5 * (h[k] + h[next]) * (l.z[next] - l.z[k])
                    })
                    .sum();
                (integral / Complex64::new(0.0, std::f64::consts::TAU)).re
            })
            .collect()
    }

    /// The largest Re z on the boundary: the loops' rightmost point, refined by a golden-section
    /// search along the curve between its neighbours (each trial point Newton-projected onto
    /// F = 1). NaN without loops.
    pub fn rightmost(&self) -> f64 {
        let averages = Averages::new(&self.couplings);
        refine_rightmost(&self.loops, |g| averages.edge(g))
    }

    /// Whether z is inside the support: inside an odd number of loops.
    pub fn contains(&self, z: Complex64) -> bool {
        self.loops
            .iter()
            .filter(|l| inside_polygon(&l.polyline(), z))
            .count()
            % 2
            == 1
    }

    /// The density of eigenvalues (per unit area, as a fraction of N) at z, eqs (7), (8):
    /// `Some(0)` outside the support; inside, the root `(g, u < 0)` of (7) continued from the
    /// nearest boundary point (where u = 0), and `ρ = (1/2π)(∂_x Re g − ∂_y Im g)` by implicit
    /// differentiation of (7). `None` where the continuation fails (close to z = 0 on loops that
    /// run into it, mostly).
    pub fn density(&self, z: Complex64) -> Option<f64> {
        if !self.contains(z) {
            return Some(0.0);
        }
        let averages = Averages::new(&self.couplings);
        interior::density(&averages, &self.loops, z)
    }

    /// The largest `ln|1 − a + aλ|` over the support and the zeros: the growth per step of the
    /// Euler map's tangent at h = 0 with leak a (§6).
    fn largest_step_growth(&self, leak: f64) -> f64 {
        let map = |z: Complex64| (1.0 - leak + leak * z).norm().ln();
        let zeros = if self.couplings.load < 1.0 {
            map(Complex64::new(0.0, 0.0))
        } else {
            f64::NEG_INFINITY
        };
        self.loops
            .iter()
            .flat_map(|l| l.z.iter().map(|&z| map(z)))
            .fold(zeros, f64::max)
    }
}

/// The largest Re z over `loops`, refined around the best point: the quadratic through it and
/// its two neighbours in (ln|g|, arg g), each trial point projected onto `ln F = 0` and mapped by
/// `edge`; golden-section search (60 steps) on the quadratic's parameter.
fn refine_rightmost(loops: &[EdgeLoop], edge: impl Fn(Complex64) -> Option<(f64, Complex64)>) -> f64 {
    let best = loops
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.z.iter().enumerate().map(move |(k, z)| (z.re, i, k)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let Some((value, i, k)) = best else {
        return f64::NAN;
    };
    let l = &loops[i];
    let n = l.g.len();
    if l.through_origin && (k == 0 || k + 1 == n) {
        return value;
    }
    let log = |g: Complex64| (g.norm().ln(), g.arg());
    let centre = log(l.g[k]);
    let unwrap = |p: (f64, f64)| {
        let tau = std::f64::consts::TAU;
        (p.0, p.1 - tau * ((p.1 - centre.1) / tau).round())
    };
    let before = unwrap(log(l.g[(k + n - 1) % n]));
    let after = unwrap(log(l.g[(k + 1) % n]));
    let level = |s: f64, psi: f64| {
        edge(Complex64::from_polar(s.exp(), psi)).map_or(f64::INFINITY, |(f, _)| f.ln())
    };
    let step = (after.0 - before.0).hypot(after.1 - before.1);
    let at = |t: f64| -> f64 {
        // Lagrange quadratic through t = −1, 0, 1.
        let (a, b, c) = (0.5 * t * (t - 1.0), 1.0 - t * t, 0.5 * t * (t + 1.0));
        let p = (
            a * before.0 + b * centre.0 + c * after.0,
            a * before.1 + b * centre.1 + c * after.1,
        );
        level_set::project(p, step, level)
            .and_then(|(s, psi)| edge(Complex64::from_polar(s.exp(), psi)))
            .map_or(f64::NEG_INFINITY, |(_, z)| z.re)
    };
    let ratio = 0.5 * (5.0_f64.sqrt() - 1.0);
    let (mut a, mut b) = (-1.0, 1.0);
    let (mut x1, mut x2) = (b - ratio * (b - a), a + ratio * (b - a));
    let (mut f1, mut f2) = (at(x1), at(x2));
    for _ in 0..60 {
        if f1 < f2 {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + ratio * (b - a);
            f2 = at(x2);
        } else {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - ratio * (b - a);
            f1 = at(x1);
        }
    }
    value.max(f1).max(f2)
}

/// Even–odd rule for a closed polyline.
fn inside_polygon(polygon: &[Complex64], z: Complex64) -> bool {
    let mut inside = false;
    for w in polygon.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.im > z.im) != (b.im > z.im) {
            let x = a.re + (z.im - a.im) * (b.re - a.re) / (b.im - a.im);
            if x > z.re {
                inside = !inside;
            }
        }
    }
    inside
}

/// Keys of the masses in [`predictions`], loop by loop.
const MASS_KEYS: [(&str, &str); 6] = [
    ("jiang.loop_mass_1", "eigenvalue fraction inside boundary loop 1 (largest), zeros excluded"),
    ("jiang.loop_mass_2", "eigenvalue fraction inside boundary loop 2, zeros excluded"),
    ("jiang.loop_mass_3", "eigenvalue fraction inside boundary loop 3, zeros excluded"),
    ("jiang.loop_mass_4", "eigenvalue fraction inside boundary loop 4, zeros excluded"),
    ("jiang.loop_mass_5", "eigenvalue fraction inside boundary loop 5, zeros excluded"),
    ("jiang.loop_mass_6", "eigenvalue fraction inside boundary loop 6, zeros excluded"),
];

/// The predictions of §5–§6 for `couplings` and an Euler leak `a = dt/τ` (for `hebbnet theory`):
/// the right edge x_R, γ_c at (α, c, d, b), the growth rates of h = 0 per τ (`x_R − 1`) and per
/// step (`max ln|1 − a + aλ|`), the ring's radii (c = 0, d = 1, b = 0), the Wishart edge
/// `c(1+√α)²`, the number of boundary loops and the eigenvalue fraction inside each (up to 6).
pub fn predictions(couplings: &SequenceCouplings, leak: f64) -> Vec<Prediction> {
    let row = |key, name, symbol, value, formula, source, applies_to: &str, note: Option<String>| Prediction {
        key,
        name,
        symbol,
        value,
        formula,
        source,
        applies_to: applies_to.to_string(),
        note,
    };
    let limit = "N → ∞ with P = αN; ±1 or Gaussian patterns; periodic X, p = 1, J_ii kept";
    if let Err(why) = couplings.validate() {
        return vec![row(
            "jiang.right_edge",
            "right edge of the spectrum of J",
            "x_R",
            Quantity::NotAvailable(why),
            "max Re z(g), F(g) = 1, g real (eq 6)",
            SOURCE,
            "",
            None,
        )];
    }
    let SequenceCouplings {
        load: alpha,
        autoassociation: c,
        heteroassociation: gamma,
        depth,
        backward,
    } = *couplings;
    let support = couplings.support();
    let edge = couplings.right_edge();
    let number = |v: f64, why: &str| {
        if v.is_finite() {
            Quantity::Number(v)
        } else {
            Quantity::NotAvailable(why.to_string())
        }
    };
    let mut out = vec![row(
        "jiang.right_edge",
        "right edge of the spectrum of J",
        "x_R",
        number(edge, "no real root of F(x) = 1 found"),
        "max Re z(x) over real x with F(x) = 1 (eqs 6a, 6b)",
        SOURCE,
        limit,
        None,
    )];
    let critical = critical_heteroassociation(alpha, c, depth, backward);
    out.push(row(
        "jiang.critical_heteroassociation",
        "heteroassociation where h = 0 loses stability (γ > 0 branch)",
        "γ_c",
        match critical {
            Some(v) => Quantity::Number(v),
            None => Quantity::NotAvailable(if c * (1.0 + alpha.sqrt()).powi(2) >= 1.0 {
                "c(1+√α)² ≥ 1: h = 0 is unstable at every γ".into()
            } else {
                "x_R < 1 up to γ = 10⁴".into()
            }),
        },
        "x_R(γ_c) = 1; c = 0, d = 1: 1/√(1+α)",
        SOURCE_STABILITY,
        limit,
        Some("the paper's \"transition to chaos\" is only where the quiescent state loses stability (§6)".into()),
    ));
    out.push(row(
        "jiang.flow_growth_rate",
        "growth rate of perturbations of h = 0, per τ",
        "x_R − 1",
        number(edge - 1.0, "no right edge"),
        "x_R − 1 (flow Jacobian (J − I)/τ)",
        SOURCE_STABILITY,
        "the flow τ dh/dt = −h + Jφ(h), φ = tanh, at h = 0",
        Some("exactly the largest exponent of an orbit converging to 0, for the sampled J (§6)".into()),
    ));
    let step = if leak.is_finite() && leak > 0.0 {
        number(support.largest_step_growth(leak), "no boundary")
    } else {
        Quantity::NotAvailable(format!("leak a = {leak} must be positive"))
    };
    out.push(row(
        "jiang.step_growth_rate",
        "growth rate of perturbations of h = 0, per Euler step",
        "max ln|1 − a + aλ|",
        step,
        "max over the support (and the zeros) of ln|1 − a + aλ|",
        SOURCE_STABILITY,
        &format!("Euler map h ← (1−a)h + aJφ(h) with a = {leak}, at h = 0"),
        None,
    ));
    let ring = if c == 0.0 && depth == 1 && backward == 0.0 {
        ring::radii(alpha, gamma).ok_or_else(|| "invalid α or γ".to_string())
    } else {
        Err("closed form only for c = 0, d = 1, b = 0 (Λ = γe^{iθ})".to_string())
    };
    let (inner, outer) = match ring {
        Ok((r_in, r_out)) => (Quantity::Number(r_in), Quantity::Number(r_out)),
        Err(why) => (Quantity::NotAvailable(why.clone()), Quantity::NotAvailable(why)),
    };
    out.push(row(
        "jiang.inner_radius",
        "inner radius of the ring (0: a disk)",
        "r_in",
        inner,
        "|γ|(1−α)^{3/2} for α < 1, else 0",
        "Jiang et al. 2023 (models/jiang.md §5.2)",
        limit,
        None,
    ));
    out.push(row(
        "jiang.outer_radius",
        "outer radius of the ring",
        "r_out",
        outer,
        "|γ|√(1+α)",
        "Jiang et al. 2023 (models/jiang.md §5.2)",
        limit,
        None,
    ));
    out.push(row(
        "jiang.wishart_edge",
        "right edge in the Wishart limit γ → 0",
        "c(1+√α)²",
        Quantity::Number(c * (1.0 + alpha.sqrt()).powi(2)),
        "J → cξᵀξ/N: support [c(1−√α)², c(1+√α)²] and zeros",
        SOURCE,
        limit,
        None,
    ));
    let masses = support.masses();
    out.push(row(
        "jiang.boundary_loops",
        "number of closed loops of the support's boundary",
        "loops",
        Quantity::Number(masses.len() as f64),
        "closed curves of F(g) = 1 mapped by z(g) (eq 6)",
        SOURCE,
        limit,
        None,
    ));
    for (k, &(key, name)) in MASS_KEYS.iter().enumerate() {
        let value = match masses.get(k) {
            Some(&m) => Quantity::Number(m),
            None => Quantity::NotAvailable(format!("the boundary has {} loops", masses.len())),
        };
        out.push(row(
            key,
            name,
            "(1/2πi)∮(g − (1−α)₊/z)dz",
            value,
            "(1/2πi)∮ g dz − (1−α)₊ [if around 0], along the loop (§5.1)",
            SOURCE,
            limit,
            (k == 0).then(|| {
                "loops are ordered by area; outer edge minus voids plus islands gives min(α, 1)".to_string()
            }),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
