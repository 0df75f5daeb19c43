//! The Jacobian `J·D`, `D = diag(φ'(h_i))`, `φ = tanh`, `h_i` i.i.d. N(0, σ²) independent of J
//! (models/jiang.md §5.3), and the plateau variance of §6.
//!
//! With `⟨·⟩_φ` the mean over the gains φ' = 1 − tanh²(h) and `s = κt`, the unknowns t, z of
//!
//! ```text
//! (10a) κ = α⟨Λ/(1 − tΛ)⟩,   t = ⟨φ'/(z − φ'κ)⟩_φ
//! (10b) α⟨φ'²/|z − φ'κ|²⟩_φ · ⟨|Λ|²/|1 − tΛ|²⟩ = 1
//! ```
//!
//! reduce to one function of one variable: with `w = zt`, (10a) reads `⟨φ'/(w − φ's)⟩_φ = 1`,
//! whose root `w = W(s)` is the branch with `W(0) = ⟨φ'⟩` (for D = I, `W = 1 + s`), and (10b) is
//! `G(t) ≡ F(t) ⟨φ'²/|W − φ's|²⟩_φ = 1` with F of eq (6a). The boundary is the level set G = 1 in
//! the t-plane, mapped by `z = W(κt)/t` (the same marching squares as for J). For real s, W is
//! the unique root above the largest pole `φ's` (the function decreases from +∞ to 0 there);
//! for complex s it is continued from s = 0 along the segment [0, s].

use num_complex::Complex64;

use super::{real_roots, trace_loops, Averages, SequenceCouplings};

/// The distribution of the gain `φ'(h) = 1 − tanh²(h)`, h ~ N(0, σ²), as a quadrature: the
/// trapezoidal rule in h on `[−9σ, 9σ]` with step `min(0.25, σ/3)` (spectrally accurate: the
/// integrand is analytic in the strip |Im h| < π/2, so the error is ~e^{−π²/(2·0.25)} ≈ 10⁻¹⁷, for
/// every σ; 100 Gauss–Hermite nodes lose digits beyond σ² ≈ 3), symmetric nodes merged.
#[derive(Clone, Debug, PartialEq)]
pub struct GainMoments {
    pub variance: f64,
    /// `(weight, φ')`, weights summing to 1.
    pub nodes: Vec<(f64, f64)>,
    /// `⟨φ'⟩`.
    pub mean: f64,
    /// `⟨φ'²⟩`.
    pub mean_square: f64,
}

impl GainMoments {
    /// The quadrature for h ~ N(0, `variance`); σ² = 0 gives φ' ≡ 1 (D = I). `None` for a
    /// negative or non-finite variance.
    pub fn new(variance: f64) -> Option<GainMoments> {
        if !(variance.is_finite() && variance >= 0.0) {
            return None;
        }
        let mut nodes = Vec::new();
        if variance == 0.0 {
            nodes.push((1.0, 1.0));
        } else {
            let sigma = variance.sqrt();
            let step = (0.25_f64).min(sigma / 3.0);
            let n = (9.0 * sigma / step).ceil() as usize;
            for k in 0..=n {
                let h = k as f64 * step;
                let density = (-0.5 * h * h / variance).exp();
                let weight = if k == 0 { density } else { 2.0 * density };
                nodes.push((weight, 1.0 - h.tanh().powi(2)));
            }
            let total: f64 = nodes.iter().map(|n| n.0).sum();
            for node in &mut nodes {
                node.0 /= total;
            }
        }
        let mean = nodes.iter().map(|(w, p)| w * p).sum();
        let mean_square = nodes.iter().map(|(w, p)| w * p * p).sum();
        Some(GainMoments {
            variance,
            nodes,
            mean,
            mean_square,
        })
    }

    fn largest_gain(&self) -> f64 {
        self.nodes.iter().map(|n| n.1).fold(0.0, f64::max)
    }

    fn smallest_gain(&self) -> f64 {
        self.nodes.iter().map(|n| n.1).fold(f64::INFINITY, f64::min)
    }

    /// `(⟨φ'/(w − φ's)⟩ − 1, d/dw, ⟨φ'²/(w − φ's)²⟩)`.
    fn subordination_terms(&self, w: Complex64, s: Complex64) -> (Complex64, Complex64, Complex64) {
        let mut f = Complex64::new(-1.0, 0.0);
        let mut df = Complex64::new(0.0, 0.0);
        let mut ds = Complex64::new(0.0, 0.0);
        for &(weight, gain) in &self.nodes {
            let inv = (w - gain * s).inv();
            let term = weight * gain * inv;
            f += term;
            df -= term * inv;
            ds += term * gain * inv;
        }
        (f, df, ds)
    }

    /// `W(s)` for real s: the root of `⟨φ'/(w − φ's)⟩ = 1` above the largest pole, where the
    /// function decreases from +∞ to 0 and is convex: Newton's steps kept inside the bracket
    /// (pole, pole + ⟨φ'⟩] (bisection otherwise), which holds the root since the function is ≤ 1 at
    /// its right end.
    pub(super) fn subordination_real(&self, s: f64) -> Option<f64> {
        if !s.is_finite() {
            return None;
        }
        let pole = if s >= 0.0 {
            s * self.largest_gain()
        } else {
            s * self.smallest_gain()
        };
        let (mut low, mut high) = (pole, pole + self.mean);
        let mut w = high;
        for _ in 0..400 {
            let (f, df, _) = self.subordination_terms(w.into(), s.into());
            if f.re == 0.0 {
                return Some(w);
            }
            if f.re > 0.0 {
                low = w;
            } else {
                high = w;
            }
            let mut next = w - f.re / df.re;
            if !(next > low && next < high) {
                next = 0.5 * (low + high);
            }
            if (next - w).abs() <= 1e-15 * next.abs().max(1e-300) || high - low <= 1e-15 * high.abs() {
                return Some(next);
            }
            w = next;
        }
        None
    }

    /// `W(s)` for complex s, continued from `W(0) = ⟨φ'⟩` along the segment [0, s] (tangent
    /// predictor `dW/ds = ⟨φ'²/(W−φ's)²⟩/⟨φ'/(W−φ's)²⟩`, Newton corrector, adaptive steps).
    fn subordination(&self, s: Complex64) -> Option<Complex64> {
        if !(s.re.is_finite() && s.im.is_finite()) {
            return None;
        }
        if self.nodes.len() == 1 {
            let gain = self.nodes[0].1;
            return Some(gain + gain * s);
        }
        let mut w = Complex64::new(self.mean, 0.0);
        let (mut tau, mut step) = (0.0_f64, (0.5 / s.norm().max(1e-300)).min(1.0));
        for _ in 0..2000 {
            if tau >= 1.0 {
                return Some(w);
            }
            let next = (tau + step).min(1.0);
            let (_, df, ds) = self.subordination_terms(w, tau * s);
            let mut trial = w + (ds / (-df)) * (next - tau) * s;
            let mut converged = false;
            for _ in 0..12 {
                let (f, df, _) = self.subordination_terms(trial, next * s);
                let delta = f / df;
                trial -= delta;
                if !(trial.re.is_finite() && trial.im.is_finite()) {
                    break;
                }
                if delta.norm() <= 1e-14 * trial.norm() {
                    converged = true;
                    break;
                }
            }
            if converged && (trial - w).norm() <= 0.5 * (w.norm() + 0.1) {
                w = trial;
                tau = next;
                step *= 1.5;
            } else {
                step *= 0.5;
                if step < 1e-7 {
                    return None;
                }
            }
        }
        None
    }
}

/// `(G(t), z(t))` of the module doc: G = 1 on the boundary of the spectrum of J·D, z its point.
fn jacobian_edge(averages: &Averages, gains: &GainMoments, t: Complex64, real: bool) -> Option<(f64, Complex64)> {
    let (f, _) = averages.edge(t)?;
    let s = averages.kappa(t)? * t;
    let w = if real {
        Complex64::new(gains.subordination_real(s.re)?, 0.0)
    } else {
        gains.subordination(s)?
    };
    let m: f64 = gains
        .nodes
        .iter()
        .map(|&(weight, gain)| weight * gain * gain / (w - gain * s).norm_sqr())
        .sum();
    Some((f * m, w / t))
}

impl SequenceCouplings {
    /// The boundary of the support of the spectrum of `J·diag(φ'(h))`, h_i ~ N(0, `variance`),
    /// eqs (10a), (10b): closed polylines as [`SequenceCouplings::boundary`] (σ² = 0 gives it).
    /// Empty for invalid couplings or variance.
    pub fn jacobian_boundary(&self, variance: f64) -> Vec<Vec<Complex64>> {
        let Some(gains) = GainMoments::new(variance) else {
            return Vec::new();
        };
        if self.validate().is_err() {
            return Vec::new();
        }
        let scale = self.symbol_scale();
        if scale == 0.0 {
            return Vec::new();
        }
        let averages = Averages::new(self);
        let (s_min, s_max) = self.g_range(scale);
        trace_loops(s_min, s_max, |t| jacobian_edge(&averages, &gains, t, false))
            .iter()
            .map(|l| l.polyline())
            .collect()
    }

    /// The right edge of the spectrum of `J·diag(φ'(h))`, h_i ~ N(0, `variance`) (§5.3): over
    /// the real roots t of `G(t) = 1`, the largest `z = W(κt)/t` with the real W above the
    /// poles and z > 0. NaN for invalid arguments or when no root is found.
    pub fn jacobian_right_edge(&self, variance: f64) -> f64 {
        let Some(gains) = GainMoments::new(variance) else {
            return f64::NAN;
        };
        if self.validate().is_err() {
            return f64::NAN;
        }
        let scale = self.symbol_scale();
        if scale == 0.0 {
            return 0.0;
        }
        let averages = Averages::new(self);
        let (s_min, s_max) = self.g_range(scale);
        real_roots(s_min, s_max, |t| {
            jacobian_edge(&averages, &gains, Complex64::new(t, 0.0), true)
        })
        .into_iter()
        .map(|(_, z)| z)
        .filter(|&z| z > 0.0)
        .fold(f64::NAN, f64::max)
    }
}

/// c = 0, d = 1: `(R_in, R_out)` of the spectrum of J·D, eqs (12), (11):
/// `R_out = |γ|√(α⟨φ'²⟩ + ⟨φ'⟩²)`, `R_in = w|γ|√(1 − α⟨φ'²/(w + αφ')²⟩)` with `w > 0` solving
/// `⟨φ'/(w + αφ')⟩ = 1` (α < 1; else 0). With D = I (variance 0), `w = 1 − α` and these are r_in,
/// r_out. `None` for invalid arguments.
pub fn jacobian_radii(load: f64, heteroassociation: f64, variance: f64) -> Option<(f64, f64)> {
    if !(load.is_finite() && load > 0.0 && heteroassociation.is_finite()) {
        return None;
    }
    let gains = GainMoments::new(variance)?;
    let gamma = heteroassociation.abs();
    let outer = gamma * (load * gains.mean_square + gains.mean * gains.mean).sqrt();
    let inner = if load < 1.0 {
        let w = gains.subordination_real(-load)?;
        let m: f64 = gains
            .nodes
            .iter()
            .map(|&(weight, gain)| weight * gain * gain / (w + load * gain).powi(2))
            .sum();
        w * gamma * (1.0 - load * m).max(0.0).sqrt()
    } else {
        0.0
    };
    Some((inner, outer))
}

/// The plateau variance of §6 (approximate, the paper's "edge of chaos" picture), c = 0, d = 1:
/// the σ_r² at which the right edge of J·D with h ~ N(0, σ_r²) is 1,
/// `γ²(α⟨φ'²⟩ + ⟨φ'⟩²) = 1` (eq (11) = 1). The left side falls from `γ²(1+α)` at σ² = 0 to 0:
/// bisection in ln σ² on [10⁻¹⁰, 10⁶]. `None` when `γ²(1+α) ≤ 1` (γ ≤ γ_c: h = 0 is stable, no
/// plateau), when there is no root in the range, or for invalid arguments.
pub fn plateau_variance(load: f64, heteroassociation: f64) -> Option<f64> {
    if !(load.is_finite() && load > 0.0 && heteroassociation.is_finite()) {
        return None;
    }
    let excess = |variance: f64| {
        GainMoments::new(variance).map(|g| {
            heteroassociation.powi(2) * (load * g.mean_square + g.mean * g.mean) - 1.0
        })
    };
    if heteroassociation.powi(2) * (1.0 + load) <= 1.0 || excess(1e6)? >= 0.0 {
        return None;
    }
    let (mut low, mut high) = ((1e-10_f64).ln(), (1e6_f64).ln());
    for _ in 0..80 {
        let middle = 0.5 * (low + high);
        if excess(middle.exp())? > 0.0 {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some((0.5 * (low + high)).exp())
}
