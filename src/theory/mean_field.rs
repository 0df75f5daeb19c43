//! Mean-field predictions: what the networks do in the limit N → ∞.
//!
//! These are the "checks with known answers" of `science.md` §4, computed rather than tabulated, so
//! that tests and phase-diagram sweeps can compare finite-N simulations with them. They are
//! N → ∞ predictions: a simulation at finite N approaches them with finite-size scatter (for the
//! current form at N = 1000–4000, replica means match within about 0.005; single networks at
//! N = 1000 scatter by ~0.01).
//!
//! - Current form, a = 1, tanh with unit gain, weights of std g (`h(t+1) = g J tanh(h(t))`,
//!   `J_ij ~ N(0, 1/N)`): [`tanh_network_variance`] (`Δ = g² ∫Dz tanh²(√Δ z)`) and
//!   [`tanh_network_largest_lyapunov`] (`λ_max = ½ ln(g² ∫Dz tanh'(√Δ z)²)`).
//! - Rate form, a = 1, `siri` activation: [`SiriMeanField`] (`u ~ N(M, V)`, `M = μ m + ξ̄`,
//!   `V = σ² q + σ_ξ²`, `m = ∫Dz f(M + √V z)`, `q = ∫Dz f(M + √V z)²`,
//!   `λ_max = ½ ln(σ² ∫Dz f'(M + √V z)²)`), with [`SiriMeanField::from_config`] for the runs it
//!   describes.
//! - [`critical_curve`]: the line where an indicator equals 1 in a parameter plane, e.g. the
//!   edge of chaos `σ² ∫Dz f'(M + √V z)² = 1` drawn on the heat map of a sweep.
//!
//! `∫Dz F(z)` is the average over the standard normal measure, `Dz = e^{−z²/2} dz / √(2π)`.
//!
//! # Quadrature
//!
//! Gauss–Hermite quadrature is *not* used: the integrands here are sigmoids of `s z` whose
//! analytic continuation has poles at distance `π / (2 s)` from the real axis, and Gauss–Hermite
//! converges only like `exp(−c √n · π / (2 s))`. With 100 nodes it is off by 6e-5 for
//! `∫Dz tanh²(2.5 z)` (g = 3 above) and by 4e-2 for `s = 10` (the `siri` activation at gain 10).
//! Instead the averages are composite 16-point Gauss–Legendre rules of `φ(z) F(z)` on
//! `|z| ≤ 12` (the Gaussian mass beyond is below 1e-32), with panels at most 1 wide:
//!
//! - [`gaussian_average`] knows nothing about `F` and halves the panels until two successive
//!   results agree (to about 1e-13);
//! - [`gaussian_average_with_transition`] is told where `F` changes on a short scale (a sigmoid
//!   `σ((z − z₀)/w)`) and grades the panels geometrically towards `z₀` (widths `w, 2w, 4w, …`), which
//!   keeps every panel at least its own length away from the poles: about 1e-15 accuracy with a
//!   few hundred evaluations for any `w`. The mean-field solvers use this one.

use std::f64::consts::PI;
use std::fmt;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::config::{Config, VectorSource};
use crate::model::analog::{Activation, Form};

/// Half-width of the integration domain in `z`: `∫Dz` over `|z| > 12` is 3.6e-33.
const Z_MAX: f64 = 12.0;
/// Largest panel width in `z` (the Gaussian factor is then integrated to ~1e-16 per panel).
const MAX_PANEL: f64 = 1.0;
/// Order of the Gauss–Legendre rule on each panel.
const GL_ORDER: usize = 16;
/// Narrowest feature [`gaussian_average_with_transition`] resolves; narrower ones are steps, and
/// the error of treating them so is below this width times the integrand's jump.
const MIN_WIDTH: f64 = 1e-13;
/// Stopping rule of [`gaussian_average`]: successive results agree within
/// `ADAPTIVE_TOLERANCE · (1 + |result|)`.
const ADAPTIVE_TOLERANCE: f64 = 1e-13;
/// Most panel halvings of [`gaussian_average`] (the last rule has 24 · 2^12 panels).
const ADAPTIVE_MAX_LEVEL: u32 = 12;

/// Gauss–Legendre nodes and weights on [−1, 1], computed at first use by Newton's iteration on the
/// Legendre polynomial `P_16` (three-term recurrence).
fn gauss_legendre() -> &'static [(f64, f64); GL_ORDER] {
    static RULE: OnceLock<[(f64, f64); GL_ORDER]> = OnceLock::new();
    RULE.get_or_init(|| {
        // P_n(x) and P_n'(x) from (k + 1) P_{k+1} = (2k + 1) x P_k − k P_{k−1}.
        let legendre = |x: f64| {
            let (mut p_prev, mut p) = (1.0, x);
            for k in 1..GL_ORDER {
                let k = k as f64;
                let next = ((2.0 * k + 1.0) * x * p - k * p_prev) / (k + 1.0);
                p_prev = p;
                p = next;
            }
            let dp = GL_ORDER as f64 * (x * p - p_prev) / (x * x - 1.0);
            (p, dp)
        };
        let n = GL_ORDER as f64;
        let mut rule = [(0.0, 0.0); GL_ORDER];
        for i in 0..GL_ORDER.div_ceil(2) {
            // Tricomi's initial guess for the i-th largest root, then Newton.
            let mut x = (PI * (i as f64 + 0.75) / (n + 0.5)).cos();
            for _ in 0..100 {
                let (p, dp) = legendre(x);
                let dx = p / dp;
                x -= dx;
                if dx.abs() <= 1e-16 {
                    break;
                }
            }
            let (_, dp) = legendre(x);
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            rule[i] = (x, w);
            rule[GL_ORDER - 1 - i] = (-x, w);
        }
        rule
    })
}

/// `∫_a^b φ(z) f(z) dz` in `ceil((b − a) / MAX_PANEL)` equal Gauss–Legendre panels,
/// `φ(z) = e^{−z²/2} / √(2π)`.
fn integrate_interval(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    integrate_interval_n(&|z| [f(z)], a, b)[0]
}

/// [`integrate_interval`] of `K` integrands at once (each node evaluated once; every
/// component summed in the same order as the scalar rule, so the results are identical).
fn integrate_interval_n<const K: usize>(f: &impl Fn(f64) -> [f64; K], a: f64, b: f64) -> [f64; K] {
    let rule = gauss_legendre();
    let panels = ((b - a) / MAX_PANEL).ceil().max(1.0) as usize;
    let width = (b - a) / panels as f64;
    let norm = 1.0 / (2.0 * PI).sqrt();
    let mut total = [0.0; K];
    for p in 0..panels {
        let half = 0.5 * width;
        let mid = a + (p as f64 + 0.5) * width;
        let mut sum = [0.0; K];
        for &(x, w) in rule {
            let z = mid + half * x;
            let weight = (-0.5 * z * z).exp();
            let values = f(z);
            for k in 0..K {
                sum[k] += w * weight * values[k];
            }
        }
        for k in 0..K {
            total[k] += half * sum[k];
        }
    }
    total.map(|t| t * norm)
}

/// `∫Dz F(z)`: the average of `F` over the standard normal distribution, for any `F` that is
/// smooth on scales ≳ 1e-3 and grows at most polynomially.
///
/// `∫Dz F(z) = ∫ F(z) e^{−z²/2} dz / √(2π)`, computed on `|z| ≤ 12` by composite 16-point
/// Gauss–Legendre rules with panels of width 1, ½, ¼, … until two successive results agree within
/// `1e-13 (1 + |result|)` (the finer one is returned; after 12 halvings, the finest). Smooth
/// integrands such as `tanh²(√Δ z)` with `√Δ ≲ 3` stop at the first halving (1152 evaluations,
/// error ~1e-16); `tanh²(10 z)` after three (5760). When the location and width of a sharp
/// feature are known, [`gaussian_average_with_transition`] needs ~500 evaluations for any width.
pub fn gaussian_average(f: impl Fn(f64) -> f64) -> f64 {
    let base_panels = (2.0 * Z_MAX / MAX_PANEL).ceil() as usize;
    let level_sum = |level: u32| {
        let panels = base_panels << level;
        let width = 2.0 * Z_MAX / panels as f64;
        (0..panels)
            .map(|p| {
                let a = -Z_MAX + p as f64 * width;
                integrate_interval(&f, a, a + width)
            })
            .sum::<f64>()
    };
    let mut previous = level_sum(0);
    let mut current = previous;
    for level in 1..=ADAPTIVE_MAX_LEVEL {
        current = level_sum(level);
        if (current - previous).abs() <= ADAPTIVE_TOLERANCE * (1.0 + current.abs()) {
            break;
        }
        previous = current;
    }
    current
}

/// `∫Dz F(z)` for an `F` that changes on the short scale `width` around `z = center` (a sigmoid
/// `F(z) = S((z − center) / width)`, or any function whose complex singularities lie within
/// ~`width` of `center`) and is smooth elsewhere, growing at most polynomially.
///
/// `∫Dz F(z) = ∫ F(z) e^{−z²/2} dz / √(2π)` on `|z| ≤ 12`, by 16-point Gauss–Legendre panels with
/// break points at `center` and `center ± width · 2^k` (k = 0, 1, …), panels at most 1 wide.
/// Accurate to ~1e-15 for `F(z) = tanh((z − center)/width)` and its powers and derivatives, for
/// any `width` ≥ 1e-13 (narrower transitions are treated as steps). A non-finite or non-positive
/// `width`, or a non-finite `center`, means no transition: plain panels of width 1.
pub fn gaussian_average_with_transition(f: impl Fn(f64) -> f64, center: f64, width: f64) -> f64 {
    gaussian_averages_with_transition(|z| [f(z)], center, width)[0]
}

/// [`gaussian_average_with_transition`] of `K` integrands sharing one transition, in one pass:
/// each node is evaluated once, and each component is exactly what the scalar rule gives for
/// it. The bifurcation map ([`super::bifurcation`]) needs up to seven moments of the
/// activation at one local field; this is the same rule at a seventh of the cost.
pub fn gaussian_averages_with_transition<const K: usize>(
    f: impl Fn(f64) -> [f64; K],
    center: f64,
    width: f64,
) -> [f64; K] {
    let mut breaks = vec![-Z_MAX, Z_MAX];
    if center.is_finite() && width.is_finite() && width > 0.0 {
        if center.abs() < Z_MAX {
            breaks.push(center);
        }
        // Terminates: d doubles from ≥ 1e-13 and exceeds Z_MAX + |center| (finite).
        let mut d = width.max(MIN_WIDTH);
        while d < Z_MAX + center.abs() {
            for p in [center - d, center + d] {
                if p.abs() < Z_MAX {
                    breaks.push(p);
                }
            }
            d *= 2.0;
        }
    }
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    let mut total = [0.0; K];
    for ab in breaks.windows(2) {
        let part = integrate_interval_n(&f, ab[0], ab[1]);
        for k in 0..K {
            total[k] += part[k];
        }
    }
    total
}

/// Largest bisection count of [`tanh_network_variance`] (it stops earlier, at double precision).
const BISECTION_STEPS: usize = 200;

/// The stationary variance `Δ` of the current-form network `h(t+1) = g J tanh(h(t))`,
/// `J_ij ~ N(0, 1/N)` (a = 1, tanh with unit gain, weights of std g), N → ∞ (`science.md` §4):
///
/// `Δ = g² ∫Dz tanh²(√Δ z)`.
///
/// `Δ = 0` for `|g| ≤ 1` (the fixed point h = 0 is stable). For `|g| > 1` the positive solution,
/// unique because `tanh²(x)/x²` decreases in `|x|`: `G(Δ) = g² ∫Dz tanh²(√Δ z) / Δ − 1` falls from
/// `g² − 1 > 0` at `Δ → 0` to below 0 at `Δ = g²`, and is bisected on `(0, g²]` down to adjacent
/// doubles (relative error ~1e-15, set by the quadrature). Only `g²` enters; NaN gives NaN.
pub fn tanh_network_variance(g: f64) -> f64 {
    let g2 = g * g;
    if g2.is_nan() {
        return f64::NAN;
    }
    if g2 <= 1.0 {
        return 0.0;
    }
    if g2.is_infinite() {
        return f64::INFINITY;
    }
    let excess = |delta: f64| {
        let s = delta.sqrt();
        let mean_sq = gaussian_average_with_transition(
            |z| {
                let t = (s * z).tanh();
                t * t
            },
            0.0,
            1.0 / s,
        );
        g2 * mean_sq / delta - 1.0
    };
    let (mut lo, mut hi) = (0.0_f64, g2);
    for _ in 0..BISECTION_STEPS {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if excess(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The largest Lyapunov exponent (per step) of the current-form network `h(t+1) = g J tanh(h(t))`,
/// `J_ij ~ N(0, 1/N)`, N → ∞ (`science.md` §4):
///
/// `λ_max = ½ ln(g² ∫Dz tanh'(√Δ z)²)`, `tanh' = 1 − tanh²`, with `Δ` from
/// [`tanh_network_variance`].
///
/// Chaos starts at `|g| = 1`; below it `Δ = 0` and `λ_max = ln |g|` (−∞ at g = 0). NaN gives NaN.
pub fn tanh_network_largest_lyapunov(g: f64) -> f64 {
    let delta = tanh_network_variance(g);
    if delta.is_nan() {
        return f64::NAN;
    }
    if delta == 0.0 {
        return g.abs().ln();
    }
    let s = delta.sqrt();
    let mean_slope_sq = gaussian_average_with_transition(
        |z| {
            let t = (s * z).tanh();
            let d = 1.0 - t * t;
            d * d
        },
        0.0,
        1.0 / s,
    );
    0.5 * (g * g * mean_slope_sq).ln()
}

/// Why a mean-field solution could not be computed.
#[derive(Clone, Debug, PartialEq)]
pub enum MeanFieldError {
    /// A parameter is NaN or infinite, or a standard deviation is negative.
    InvalidParameter { name: &'static str, value: f64 },
    /// The damped fixed-point iteration did not reach its tolerance.
    NotConverged { iterations: usize, residual: f64 },
}

impl fmt::Display for MeanFieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeanFieldError::InvalidParameter { name, value } => write!(
                f,
                "mean field: `{name}` = {value} is not allowed (it must be finite, and \
                 non-negative for a standard deviation)"
            ),
            MeanFieldError::NotConverged {
                iterations,
                residual,
            } => write!(
                f,
                "mean field: the fixed-point iteration did not converge in {iterations} iterations \
                 (residual {residual:e}); the parameters are probably near a bifurcation of the \
                 mean-field equations"
            ),
        }
    }
}

impl std::error::Error for MeanFieldError {}

/// Mean-field theory of the rate form (a = 1) with the `siri` activation
/// `f(u) = (1 + tanh(gain · u)) / 2`, N → ∞ (`science.md` §4).
///
/// Weights `W_ij ~ N(μ/N, σ²/N)`, inputs `ξ_i ~ N(ξ̄, σ_ξ²)`, `u_i = Σ_j W_ij x_j + ξ_i`
/// (a threshold θ is absorbed in ξ̄). The local fields are Gaussian, `u ~ N(M, V)`, with
///
/// `M = μ m + ξ̄`, `V = σ² q + σ_ξ²`, `m = ∫Dz f(M + √V z)`, `q = ∫Dz f(M + √V z)²`
///
/// (`q` is the second moment, not the variance), and
/// `λ_max = ½ ln(σ² ∫Dz f'(M + √V z)²)`, `f'(u) = 2 gain f (1 − f) = (gain/2) sech²(gain u)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiriMeanField {
    /// Activation gain `g` of `f(u) = (1 + tanh(g u)) / 2`.
    pub gain: f64,
    /// `σ`: the weights have variance `σ²/N`.
    pub weight_std: f64,
    /// `μ`: the weights have mean `μ/N`.
    pub weight_mean: f64,
    /// `ξ̄`: mean of the static input (minus the threshold, if any).
    pub input_mean: f64,
    /// `σ_ξ`: standard deviation of the static input across neurons.
    pub input_std: f64,
}

/// A solution of the [`SiriMeanField`] equations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SiriMeanFieldSolution {
    /// `m = ∫Dz f(M + √V z)`: the mean activity.
    pub m: f64,
    /// `q = ∫Dz f(M + √V z)²`: the second moment of the activity.
    pub q: f64,
    /// `M = μ m + ξ̄`: the mean of the local field.
    pub mean_field: f64,
    /// `V = σ² q + σ_ξ²`: the variance of the local field.
    pub variance: f64,
    /// `σ² ∫Dz f'(M + √V z)²`: chaos where it exceeds 1.
    pub chaos_indicator: f64,
    /// `λ_max = ½ ln(chaos_indicator)`, per step (−∞ when σ = 0 or gain = 0).
    pub largest_lyapunov: f64,
    /// Spectral radius of the Jacobian of the mean-field map `(m, q) ↦ (∫Dz f, ∫Dz f²)` at the
    /// solution. That map is also the N → ∞ dynamics of the population moments,
    /// `(m, q)(t + 1) = T((m, q)(t))`: below 1 the population activity settles on this solution;
    /// above 1 it does not (under strong inhibition the mean activity alternates with period 2)
    /// and `largest_lyapunov` describes no attractor of the network.
    pub map_spectral_radius: f64,
    /// Fixed-point iterations used.
    pub iterations: usize,
}

/// The averages over the local field `u ~ N(M, V)` that the mean-field map and its Jacobian
/// need ([`SiriMeanField::averages`]): `⟨F⟩ = ∫Dz F(M + √V z)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationAverages {
    /// `⟨f⟩`: the next mean activity m′.
    pub f: f64,
    /// `⟨f²⟩`: the next second moment q′.
    pub f2: f64,
    /// `⟨f′⟩`.
    pub df: f64,
    /// `⟨f″⟩`.
    pub d2f: f64,
    /// `⟨f f′⟩`.
    pub f_df: f64,
    /// `⟨f′²⟩`: times σ², the chaos indicator.
    pub df2: f64,
    /// `⟨f f″⟩`.
    pub f_d2f: f64,
}

/// `(1/(1 + e^{−x}), 1/(1 + e^{x}))`: the logistic function and its complement, each with
/// relative precision at both tails (no `1 − f` cancellation; `(0, 1)` and `(1, 0)` beyond the
/// range of `exp`).
fn logistic(x: f64) -> (f64, f64) {
    if x >= 0.0 {
        let e = (-x).exp();
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        let e = x.exp();
        (e / (1.0 + e), 1.0 / (1.0 + e))
    }
}

impl SiriMeanField {
    /// Most fixed-point iterations of [`SiriMeanField::solve`].
    pub const MAX_ITERATIONS: usize = 10_000;
    /// [`SiriMeanField::solve`] stops when `max(|m' − m|, |q' − q|) ≤ TOLERANCE`.
    pub const TOLERANCE: f64 = 1e-14;
    /// Where the map is steep, rounding keeps the residual above [`Self::TOLERANCE`]:
    /// [`SiriMeanField::solve`] also stops once the residual is at most this and has not improved
    /// for [`Self::STALL_ITERATIONS`] iterations.
    pub const ROUNDING_TOLERANCE: f64 = 1e-11;
    /// See [`Self::ROUNDING_TOLERANCE`].
    pub const STALL_ITERATIONS: usize = 100;
    /// [`SiriMeanField::solve`] tries Newton's method every this many iterations.
    pub const NEWTON_EVERY: usize = 100;
    /// Smallest damping factor `η` of [`SiriMeanField::solve`].
    pub const MIN_DAMPING: f64 = 1e-6;

    /// The mean-field parameters of a run's initial network `W^(0)`, or `None` where the theory
    /// does not apply.
    ///
    /// Covered: the rate form with the `siri` activation and leak `a = 1`
    /// (`x_i(t+1) = f(u_i(t))`, `u_i = Σ_j W_ij x_j + ξ_i − θ`, as in
    /// `shaders/neuron_update.wgsl`), Gaussian weights drawn by hebbnet (`network.gain` → `gain`,
    /// `weights.std` → σ, `weights.mean` → μ), and a drawn input:
    ///
    /// - `gaussian`: `ξ̄ = mean − θ`, `σ_ξ = std`;
    /// - `uniform` on `[l, h]`: `ξ̄ = (l + h)/2 − θ`, `σ_ξ = (h − l)/√12`. The theory then treats
    ///   `ξ_i` as Gaussian with the same mean and variance: exact for the mean and variance of
    ///   `u`, an approximation for its shape, good when `σ_ξ² ≪ σ² q` (the recurrent part is
    ///   Gaussian as N → ∞ whatever the input).
    ///
    /// Sparse connectivity `c < 1` is covered: hebbnet scales the present weights to
    /// `N(μ/(cN), σ²/(cN))`, so `Σ_j W_ij x_j` has mean `μ m` and variance `σ² q + O(1/N)`, the
    /// dense values, as N → ∞ at fixed c. Autapses change `u_i` by one term of order `1/√N` and
    /// are ignored likewise.
    ///
    /// Not covered (`None`): the current form and the `tanh`/`relu` activations (other
    /// equations: `science.md` §4 gives the current-form tanh network separately), a leak
    /// `a < 1` (the map `x ↦ (1 − a)x + a f(u)` has Jacobian `(1 − a) I + a diag(f′) W`, whose
    /// growth rate is not `σ² ⟨f′²⟩`), and weights or inputs loaded from `.npy` files (their
    /// statistics are unknown to the config).
    ///
    /// The parameters describe the weights the run starts from: with learning on, they hold
    /// for epoch 0 (and for every epoch when learning is off), not for the learned `W^(T)`.
    pub fn from_config(config: &Config) -> Option<SiriMeanField> {
        let n = &config.network;
        if n.form != Form::Rate || n.activation != Activation::Siri || n.leak != 1.0 {
            return None;
        }
        let w = &config.weights;
        if w.file.is_some() {
            return None;
        }
        let (mean, std) = match config.input_source().ok()? {
            VectorSource::Gaussian { mean, std } => (mean, std),
            VectorSource::Uniform { low, high } => {
                (0.5 * (low + high), (high - low) / 12f64.sqrt())
            }
            VectorSource::File(_) => return None,
        };
        let p = SiriMeanField {
            gain: n.gain,
            weight_std: w.std,
            weight_mean: w.mean,
            input_mean: mean - n.threshold,
            input_std: std,
        };
        p.validate().ok().map(|_| p)
    }

    /// `f(u) = (1 + tanh(gain u)) / 2`, computed as the logistic `1 / (1 + e^{−2 gain u})`
    /// (the same function), which keeps relative precision where f is tiny: the quiescent
    /// states of [`super::bifurcation`] have `m` down to ~1e-30.
    pub fn activation(&self, u: f64) -> f64 {
        logistic(2.0 * self.gain * u).0
    }

    /// `f'(u) = 2 gain f (1 − f) = (gain/2) sech²(gain u)` (the sech form keeps relative precision
    /// where f saturates).
    fn activation_derivative(&self, u: f64) -> f64 {
        let c = (self.gain * u).cosh();
        0.5 * self.gain / (c * c)
    }

    /// The averages of the activation and its derivatives over the local field `u ~ N(M, V)`
    /// (`M = mean`, `V = variance`), in one pass of the graded quadrature of
    /// [`gaussian_averages_with_transition`] (transition at `z₀ = −M/√V`, width
    /// `1/(|gain| √V)`); the values at `u = M` when `V = 0`.
    ///
    /// With `f = (1 + tanh(g u))/2`: `f′ = 2g f (1 − f)`, `f″ = 2g f′ (1 − 2f)`, each computed
    /// from `f` and `1 − f` in the logistic form, precise in relative terms at both tails.
    pub fn averages(&self, mean: f64, variance: f64) -> ActivationAverages {
        let g = self.gain;
        let at = |u: f64| {
            let (f, c) = logistic(2.0 * g * u);
            let d1 = 2.0 * g * f * c;
            let d2 = 2.0 * g * d1 * (c - f);
            [f, f * f, d1, d2, f * d1, d1 * d1, f * d2]
        };
        let sd = variance.max(0.0).sqrt();
        let v = if sd == 0.0 {
            at(mean)
        } else {
            gaussian_averages_with_transition(
                |z| at(mean + sd * z),
                -mean / sd,
                1.0 / (g.abs() * sd),
            )
        };
        ActivationAverages {
            f: v[0],
            f2: v[1],
            df: v[2],
            d2f: v[3],
            f_df: v[4],
            df2: v[5],
            f_d2f: v[6],
        }
    }

    /// The Jacobian `∂(m′, q′)/∂(m, q)` of the mean-field map [`SiriMeanField::map`] at
    /// `(m, q)`, analytically: with `M = μ m + ξ̄`, `V = σ² q + σ_ξ²` and the Gaussian identity
    /// `∂/∂V ∫Dz F(M + √V z) = ½ ∫Dz F″(M + √V z)`,
    ///
    /// `[[μ ⟨f′⟩, ½ σ² ⟨f″⟩], [2μ ⟨f f′⟩, σ² ⟨f′² + f f″⟩]]` (rows: m′, q′; columns: m, q).
    pub fn jacobian(&self, m: f64, q: f64) -> [[f64; 2]; 2] {
        let (mean, variance) = self.field_moments(m, q);
        self.jacobian_from(&self.averages(mean, variance))
    }

    /// [`SiriMeanField::jacobian`] from the averages at the local field.
    pub fn jacobian_from(&self, a: &ActivationAverages) -> [[f64; 2]; 2] {
        let (mu, s2) = (self.weight_mean, self.weight_std * self.weight_std);
        [
            [mu * a.df, 0.5 * s2 * a.d2f],
            [2.0 * mu * a.f_df, s2 * (a.df2 + a.f_d2f)],
        ]
    }

    /// `∫Dz F(M + √V z)`, with the quadrature graded towards the activation's transition
    /// `z₀ = −M/√V` (width `1/(|gain| √V)`); `F(M)` when `V = 0`.
    fn field_average(&self, big_f: impl Fn(f64) -> f64, mean: f64, variance: f64) -> f64 {
        let sd = variance.max(0.0).sqrt();
        if sd == 0.0 {
            return big_f(mean);
        }
        gaussian_average_with_transition(
            |z| big_f(mean + sd * z),
            -mean / sd,
            1.0 / (self.gain.abs() * sd),
        )
    }

    /// One application of the mean-field map: `(m, q) ↦ (∫Dz f(M + √V z), ∫Dz f(M + √V z)²)`
    /// with `M = μ m + ξ̄`, `V = σ² q + σ_ξ²`: the N → ∞ dynamics of the population's first two
    /// moments, `(m, q)(t + 1) = T((m, q)(t))` (Cessac et al. 1994; cessac.md §9).
    pub fn map(&self, m: f64, q: f64) -> (f64, f64) {
        let (mean, variance) = self.field_moments(m, q);
        let g = self.gain;
        let at = |u: f64| {
            let f = logistic(2.0 * g * u).0;
            [f, f * f]
        };
        let sd = variance.max(0.0).sqrt();
        let [f, f2] = if sd == 0.0 {
            at(mean)
        } else {
            gaussian_averages_with_transition(
                |z| at(mean + sd * z),
                -mean / sd,
                1.0 / (g.abs() * sd),
            )
        };
        (f, f2)
    }

    /// `(M, V) = (μ m + ξ̄, σ² q + σ_ξ²)`: the mean and variance of the local field.
    pub fn field_moments(&self, m: f64, q: f64) -> (f64, f64) {
        (
            self.weight_mean * m + self.input_mean,
            self.weight_std * self.weight_std * q + self.input_std * self.input_std,
        )
    }

    /// Whether the parameters are finite and the standard deviations non-negative.
    pub fn validate(&self) -> Result<(), MeanFieldError> {
        let checks = [
            ("gain", self.gain, false),
            ("weight_std", self.weight_std, true),
            ("weight_mean", self.weight_mean, false),
            ("input_mean", self.input_mean, false),
            ("input_std", self.input_std, true),
        ];
        for (name, value, is_std) in checks {
            if !value.is_finite() || (is_std && value < 0.0) {
                return Err(MeanFieldError::InvalidParameter { name, value });
            }
        }
        Ok(())
    }

    /// Solves the self-consistency `m = ∫Dz f(M + √V z)`, `q = ∫Dz f(M + √V z)²`
    /// (`M = μ m + ξ̄`, `V = σ² q + σ_ξ²`) and evaluates `λ_max = ½ ln(σ² ∫Dz f'(M + √V z)²)`.
    ///
    /// Damped fixed-point iteration `x ← x + η (T(x) − x)` of the mean-field map
    /// `T(m, q) = (∫Dz f(M + √V z), ∫Dz f(M + √V z)²)`, from `m = f(ξ̄)`, `q = m²`. `η` starts at 1
    /// and is halved (down to 1e-6) whenever two successive steps point in opposite directions:
    /// an eigenvalue `ρ < 0` of `T`'s Jacobian (inhibition, `μ < 0`) then ends with damped factor
    /// `1 − η (1 − ρ)` in `[0, ½)`, so oscillating maps, period-2 ones included, converge, while
    /// monotone convergence keeps `η = 1`. Every 100 iterations it tries Newton's method with
    /// the analytic Jacobian from the current point ([`super::bifurcation::newton`], within
    /// 0.05 of it) and returns its fixed point if it converges: slow convergence near a
    /// bifurcation (an eigenvalue near ±1), or damping halved towards 1e-6 by a period-2
    /// oscillation, no longer exhausts the budget. It stops when the residual `max(|T(x) − x|)` is at most
    /// [`Self::TOLERANCE`] (1e-14), or when, once below [`Self::ROUNDING_TOLERANCE`] (1e-11), it
    /// has not improved for 100 iterations (the rounding floor where `T` is steep), and returns
    /// the `T(x)` of the smallest residual; the error in `(m, q)` is then about the residual over
    /// `1 − ρ` for the slowest eigenvalue. Near a bifurcation of the equations `ρ → 1` and the
    /// iteration may exhaust [`Self::MAX_ITERATIONS`] (10 000): that is an error, as are
    /// non-finite parameters and negative standard deviations. Where the equations have several
    /// solutions (large `μ > 0`), the one reached from this start is returned; check
    /// [`SiriMeanFieldSolution::map_spectral_radius`] to know whether the network's population
    /// activity settles on it.
    pub fn solve(&self) -> Result<SiriMeanFieldSolution, MeanFieldError> {
        self.validate()?;
        let mut m = self.activation(self.input_mean);
        let mut q = m * m;
        let mut eta = 1.0_f64;
        let mut last_step = (0.0, 0.0);
        let mut residual = f64::NAN;
        let mut best = (f64::INFINITY, m, q);
        let mut since_best = 0usize;
        for iteration in 1..=Self::MAX_ITERATIONS {
            let (m_next, q_next) = self.map(m, q);
            let step = (m_next - m, q_next - q);
            residual = step.0.abs().max(step.1.abs());
            if !residual.is_finite() {
                break;
            }
            if residual <= Self::TOLERANCE {
                return Ok(self.solution(m_next, q_next, iteration));
            }
            if residual < best.0 {
                best = (residual, m_next, q_next);
                since_best = 0;
            } else {
                since_best += 1;
                if best.0 <= Self::ROUNDING_TOLERANCE && since_best >= Self::STALL_ITERATIONS {
                    return Ok(self.solution(best.1, best.2, iteration));
                }
            }
            // Slow convergence (an eigenvalue near ±1, or damping driven down by a period-2
            // oscillation): Newton's method from the current point, every 100 iterations.
            if iteration % Self::NEWTON_EVERY == 0 {
                if let Some((m, q)) = super::bifurcation::newton(self, (m, q), 1) {
                    let (m_next, q_next) = self.map(m, q);
                    return Ok(self.solution(m_next, q_next, iteration));
                }
            }
            if step.0 * last_step.0 + step.1 * last_step.1 < 0.0 {
                eta = (0.5 * eta).max(Self::MIN_DAMPING);
            }
            last_step = step;
            m += eta * step.0;
            q += eta * step.1;
        }
        Err(MeanFieldError::NotConverged {
            iterations: Self::MAX_ITERATIONS,
            residual,
        })
    }

    /// Spectral radius of the Jacobian of `T` at `(m, q)`, by central differences with relative
    /// steps 1e-6 (accurate to ~1e-8).
    fn map_spectral_radius(&self, m: f64, q: f64) -> f64 {
        let step = |x: f64| if x == 0.0 { 1e-9 } else { 1e-6 * x.abs() };
        let (hm, hq) = (step(m), step(q));
        let (mp, qp) = self.map(m + hm, q);
        let (mn, qn) = self.map(m - hm, q);
        let (a, c) = ((mp - mn) / (2.0 * hm), (qp - qn) / (2.0 * hm));
        let (mp, qp) = self.map(m, q + hq);
        let (mn, qn) = self.map(m, q - hq);
        let (b, d) = ((mp - mn) / (2.0 * hq), (qp - qn) / (2.0 * hq));
        // Eigenvalues of [[a, b], [c, d]].
        let (trace, det) = (a + d, a * d - b * c);
        let disc = trace * trace - 4.0 * det;
        if disc >= 0.0 {
            0.5 * (trace.abs() + disc.sqrt())
        } else {
            det.sqrt()
        }
    }

    /// The solution record at the converged `(m, q)`.
    fn solution(&self, m: f64, q: f64, iterations: usize) -> SiriMeanFieldSolution {
        let (mean_field, variance) = self.field_moments(m, q);
        let mean_slope_sq = self.field_average(
            |u| {
                let d = self.activation_derivative(u);
                d * d
            },
            mean_field,
            variance,
        );
        let chaos_indicator = self.weight_std * self.weight_std * mean_slope_sq;
        SiriMeanFieldSolution {
            m,
            q,
            mean_field,
            variance,
            chaos_indicator,
            largest_lyapunov: 0.5 * chaos_indicator.ln(),
            map_spectral_radius: self.map_spectral_radius(m, q),
            iterations,
        }
    }

    /// `σ² ∫Dz f'(M + √V z)²` at the solution of [`SiriMeanField::solve`]: the growth factor of
    /// a perturbation's squared norm per step; chaos (`λ_max > 0`) where it exceeds 1.
    /// NaN where `solve` fails.
    pub fn chaos_indicator(&self) -> f64 {
        self.solve().map(|s| s.chaos_indicator).unwrap_or(f64::NAN)
    }
}

/// Intervals of the scan in `y` of [`critical_curve`] (it evaluates the indicator at
/// `CURVE_SCAN_INTERVALS + 1` equally spaced `y` per `x`).
pub const CURVE_SCAN_INTERVALS: usize = 100;
/// [`critical_curve`] bisects until the bracket is at most this fraction of `|y|` (or of
/// `1e-5 (y_hi − y_lo)` near `y = 0`): its points are within half that of the crossing.
pub const CURVE_RELATIVE_TOLERANCE: f64 = 1e-7;
/// Most bisection steps per crossing of [`critical_curve`].
const CURVE_MAX_BISECTIONS: usize = 200;

/// The curves where `indicator(x, y) = 1` in the strip `x ∈ xs`, `y ∈ [y_lo, y_hi]`: for the
/// mean field, the critical line `σ² ∫Dz f′(M + √V z)² = 1` between order and chaos.
///
/// For each `x` of `xs` (in the order given), `F(y) = indicator(x, y) − 1` is evaluated at
/// [`CURVE_SCAN_INTERVALS`]` + 1` equally spaced `y` from `y_lo` to `y_hi`; every sign change
/// between two finite neighbours (`F ≤ 0` against `F > 0`) is bisected until the bracket is at
/// most [`CURVE_RELATIVE_TOLERANCE`]` · |y|` (relative error ≤ 5e-8) and its midpoint is a
/// point of the curve. Two crossings closer than the scan step are missed, and so is a
/// tangency (`F` touches 0 without changing sign).
///
/// Crossings of neighbouring `x` are joined when the columns agree: the same number of
/// crossings and the same sign of `F` at `y_lo` and at `y_hi` — joined in order; one crossing
/// more or fewer with the sign at `y_lo` (`y_hi`) changed — a curve leaves through the bottom
/// (top), the others joined in order; two more or fewer with both end signs equal — a fold of
/// the curve between the columns: the adjacent pair whose removal leaves the closest
/// order-matching is the fold's, and its two crossings are joined to each other (so a closed
/// curve comes back closed). Anything else starts new curves.
///
/// NaN (a failed solve) breaks the curves: where either of two neighbouring columns has a NaN
/// in its scan, or met one while bisecting, only the crossings below the lowest and above the
/// highest such `y` are joined (by the same rules, the window's end points standing in for
/// `y_lo` and `y_hi`); those in between are kept, unjoined. A sign change where `F` jumps by
/// more than 1e-3 across the final bracket is a discontinuity (for the mean field: the solver
/// passing from one coexisting solution of the equations to another), not a crossing, and
/// breaks the curves like a NaN. A non-finite `x` breaks every curve; a `y` range that is
/// empty or not finite gives no points.
///
/// Each returned curve is a polyline of at least one point; a closed curve repeats its first
/// point at the end. To trace a curve on a log axis, pass `log10` coordinates and an indicator
/// that undoes them. Cost: `CURVE_SCAN_INTERVALS + 1` evaluations per `x` and about 20 per
/// crossing; the columns are computed in parallel (rayon), so `indicator` must be `Sync`.
pub fn critical_curve(
    xs: &[f64],
    y_lo: f64,
    y_hi: f64,
    indicator: impl Fn(f64, f64) -> f64 + Sync,
) -> Vec<Vec<(f64, f64)>> {
    if !(y_lo.is_finite() && y_hi.is_finite() && y_lo < y_hi) {
        return Vec::new();
    }
    let excess = |x: f64, y: f64| indicator(x, y) - 1.0;
    // The columns are independent: scanned in parallel, joined in order.
    let columns: Vec<Option<Column>> = xs
        .par_iter()
        .map(|&x| x.is_finite().then(|| Column::scan(x, y_lo, y_hi, &excess)))
        .collect();
    // Pieces joined column to column, in the order of `xs`, and the folds joining their ends:
    // `ends[piece][0]` joins the start, `ends[piece][1]` the end, to `(piece, end)`.
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut ends: Vec<[Option<(usize, usize)>; 2]> = Vec::new();
    // The piece of each crossing of the previous column.
    let mut open: Vec<usize> = Vec::new();
    let mut previous: Option<Column> = None;
    for (&x, column) in xs.iter().zip(columns) {
        let Some(column) = column else {
            previous = None;
            open.clear();
            continue;
        };
        let links = match &previous {
            Some(p) => p.links(&column),
            None => Links {
                to_previous: vec![None; column.roots.len()],
                folds: Vec::new(),
            },
        };
        for fold in &links.folds {
            if let Fold::Closes(p, q) = *fold {
                let (a, b) = (open[p], open[q]);
                ends[a][1] = Some((b, 1));
                ends[b][1] = Some((a, 1));
            }
        }
        let mut next_open = Vec::with_capacity(column.roots.len());
        for (&y, link) in column.roots.iter().zip(&links.to_previous) {
            let id = match link {
                Some(j) => open[*j],
                None => {
                    pieces.push(Vec::new());
                    ends.push([None, None]);
                    pieces.len() - 1
                }
            };
            pieces[id].push((x, y));
            next_open.push(id);
        }
        for fold in &links.folds {
            if let Fold::Opens(p, q) = *fold {
                let (a, b) = (next_open[p], next_open[q]);
                ends[a][0] = Some((b, 0));
                ends[b][0] = Some((a, 0));
            }
        }
        open = next_open;
        previous = Some(column);
    }
    assemble(&pieces, &ends)
}

/// Chains of pieces joined end to end by folds (see [`critical_curve`]), as polylines: open
/// chains from a free end, then closed ones (first point repeated at the end).
fn assemble(
    pieces: &[Vec<(f64, f64)>],
    ends: &[[Option<(usize, usize)>; 2]],
) -> Vec<Vec<(f64, f64)>> {
    let mut used = vec![false; pieces.len()];
    let mut curves = Vec::new();
    // Walk from `piece`, entered at end `entry` (0: start, 1: end).
    let walk = |start: usize, entry: usize, used: &mut Vec<bool>| {
        let mut curve: Vec<(f64, f64)> = Vec::new();
        let (mut piece, mut entry) = (start, entry);
        loop {
            used[piece] = true;
            if entry == 0 {
                curve.extend(&pieces[piece]);
            } else {
                curve.extend(pieces[piece].iter().rev());
            }
            match ends[piece][1 - entry] {
                Some((next, next_entry)) if !used[next] => (piece, entry) = (next, next_entry),
                Some((next, _)) if next == start => {
                    // Back where it began: a closed curve.
                    curve.push(curve[0]);
                    break;
                }
                _ => break,
            }
        }
        curve
    };
    for k in 0..pieces.len() {
        if used[k] {
            continue;
        }
        if ends[k][0].is_none() {
            curves.push(walk(k, 0, &mut used));
        } else if ends[k][1].is_none() {
            curves.push(walk(k, 1, &mut used));
        }
    }
    for k in 0..pieces.len() {
        if !used[k] {
            curves.push(walk(k, 0, &mut used));
        }
    }
    curves.retain(|c| !c.is_empty());
    curves
}

/// How the crossings of one column continue those of the previous one.
struct Links {
    /// For each crossing of the new column, the crossing of the previous one it continues.
    to_previous: Vec<Option<usize>>,
    folds: Vec<Fold>,
}

/// A fold between two columns: two neighbouring crossings (indices) that meet there.
enum Fold {
    /// Crossings of the previous column that end together between the columns.
    Closes(usize, usize),
    /// Crossings of the new column that start together between the columns.
    Opens(usize, usize),
}

/// Largest jump of `F` across a bisected bracket that still counts as a crossing: `F` is
/// continuous there, so across a bracket of relative width 1e-7 it changes by far less. A
/// larger jump is a discontinuity of the indicator (the solver going from one coexisting
/// solution of the equations to another), not a point where it equals 1.
const CURVE_MAX_JUMP: f64 = 1e-3;

/// The crossings of `F(y) = indicator(x, y) − 1` at one `x` of [`critical_curve`].
struct Column {
    /// `F` at the scan points `y_lo + (y_hi − y_lo) k / CURVE_SCAN_INTERVALS`.
    values: Vec<f64>,
    /// Scan points whose sign can be trusted for joining: `F` finite, and neither end of an
    /// interval where the bisection met NaN or a discontinuity.
    good: Vec<bool>,
    /// The crossings, increasing in `y`, and the scan interval of each.
    roots: Vec<f64>,
    intervals: Vec<usize>,
}

impl Column {
    fn scan(x: f64, y_lo: f64, y_hi: f64, excess: &impl Fn(f64, f64) -> f64) -> Column {
        let n = CURVE_SCAN_INTERVALS;
        let y_at = |k: usize| {
            if k == n {
                y_hi
            } else {
                y_lo + (y_hi - y_lo) * k as f64 / n as f64
            }
        };
        let values: Vec<f64> = (0..=n).map(|k| excess(x, y_at(k))).collect();
        let mut good: Vec<bool> = values.iter().map(|v| v.is_finite()).collect();
        let (mut roots, mut intervals) = (Vec::new(), Vec::new());
        let floor = 1e-5 * (y_hi - y_lo);
        for k in 0..n {
            let (f0, f1) = (values[k], values[k + 1]);
            if !(f0.is_finite() && f1.is_finite()) || (f0 > 0.0) == (f1 > 0.0) {
                continue;
            }
            let (mut lo, mut hi) = (y_at(k), y_at(k + 1));
            let (mut f_lo, mut f_hi) = (f0, f1);
            let mut found = true;
            for _ in 0..CURVE_MAX_BISECTIONS {
                let scale = lo.abs().max(hi.abs()).max(floor);
                if hi - lo <= CURVE_RELATIVE_TOLERANCE * scale {
                    break;
                }
                let mid = 0.5 * (lo + hi);
                let f = excess(x, mid);
                if f.is_nan() {
                    found = false;
                    break;
                }
                if (f > 0.0) == (f_lo > 0.0) {
                    (lo, f_lo) = (mid, f);
                } else {
                    (hi, f_hi) = (mid, f);
                }
            }
            if found && (f_hi - f_lo).abs() <= CURVE_MAX_JUMP {
                roots.push(0.5 * (lo + hi));
                intervals.push(k);
            } else {
                good[k] = false;
                good[k + 1] = false;
            }
        }
        Column {
            values,
            good,
            roots,
            intervals,
        }
    }

    /// How the crossings of `next` continue those of `self` (see [`critical_curve`]).
    ///
    /// Where either column has an untrusted scan point, only the windows of `y` below the first
    /// and above the last such point are joined, each by the rules of a whole column with the
    /// window's end points as its ends.
    fn links(&self, next: &Column) -> Links {
        let mut links = Links {
            to_previous: vec![None; next.roots.len()],
            folds: Vec::new(),
        };
        let n = self.values.len() - 1;
        let bad = |i: usize| !(self.good[i] && next.good[i]);
        match ((0..=n).find(|&i| bad(i)), (0..=n).rev().find(|&i| bad(i))) {
            (Some(first), Some(last)) => {
                if first >= 1 {
                    self.link_window(next, 0, first - 1, &mut links);
                }
                if last < n {
                    self.link_window(next, last + 1, n, &mut links);
                }
            }
            _ => self.link_window(next, 0, n, &mut links),
        }
        links
    }

    /// [`Column::links`] within the scan points `lo..=hi` (all trusted in both columns).
    fn link_window(&self, next: &Column, lo: usize, hi: usize, links: &mut Links) {
        if hi <= lo {
            return;
        }
        let inside = |c: &Column| -> Vec<usize> {
            (0..c.roots.len())
                .filter(|&r| c.intervals[r] >= lo && c.intervals[r] < hi)
                .collect()
        };
        let (ia, ib) = (inside(self), inside(next));
        let (na, nb) = (ia.len(), ib.len());
        let same_bottom = (self.values[lo] > 0.0) == (next.values[lo] > 0.0);
        let same_top = (self.values[hi] > 0.0) == (next.values[hi] > 0.0);
        // Crossing `ib[k + b_skip]` continues `ia[k + a_skip]` for k < count.
        let mut shifted = |a_skip: usize, b_skip: usize, count: usize| {
            for k in 0..count {
                links.to_previous[ib[k + b_skip]] = Some(ia[k + a_skip]);
            }
        };
        match (same_bottom, same_top) {
            (true, true) if na == nb => shifted(0, 0, na),
            // A curve leaves (or enters) through the bottom of the window: the lowest crossing
            // of the longer column has no partner.
            (false, true) if na == nb + 1 => shifted(1, 0, nb),
            (false, true) if nb == na + 1 => shifted(0, 1, na),
            // Through the top: the highest.
            (true, false) if na.abs_diff(nb) == 1 => shifted(0, 0, na.min(nb)),
            (true, true) if na.abs_diff(nb) == 2 => {
                // A fold between the columns: the adjacent pair of the longer column whose
                // removal leaves the closest order-matching.
                let (long, short) = if na > nb { (&ia, &ib) } else { (&ib, &ia) };
                let (long_y, short_y) = if na > nb {
                    (&self.roots, &next.roots)
                } else {
                    (&next.roots, &self.roots)
                };
                let kept = |p: usize| (0..long.len()).filter(move |&i| i != p && i != p + 1);
                let cost = |p: usize| {
                    kept(p)
                        .zip(short.iter())
                        .map(|(i, &s)| (long_y[long[i]] - short_y[s]).abs())
                        .sum::<f64>()
                };
                let best = (0..long.len() - 1)
                    .min_by(|&p, &q| cost(p).total_cmp(&cost(q)))
                    .unwrap_or(0);
                for (s, l) in kept(best).enumerate() {
                    if na > nb {
                        links.to_previous[ib[s]] = Some(ia[l]);
                    } else {
                        links.to_previous[ib[l]] = Some(ia[s]);
                    }
                }
                links.folds.push(if na > nb {
                    Fold::Closes(ia[best], ia[best + 1])
                } else {
                    Fold::Opens(ib[best], ib[best + 1])
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference `∫Dz F` by the trapezoidal rule with step 1e-4 on |z| ≤ 12 (spectrally
    /// accurate for integrands analytic in a strip, error ~exp(−2π · strip width / step)), with
    /// Neumaier-compensated summation.
    fn brute_force(f: impl Fn(f64) -> f64) -> f64 {
        let n = 240_000;
        let h = 2.0 * Z_MAX / n as f64;
        let (mut sum, mut carry) = (0.0_f64, 0.0_f64);
        for i in 0..=n {
            let z = -Z_MAX + i as f64 * h;
            let end = if i == 0 || i == n { 0.5 } else { 1.0 };
            let term = end * (-0.5 * z * z).exp() * f(z);
            let t = sum + term;
            carry += if sum.abs() >= term.abs() {
                (sum - t) + term
            } else {
                (term - t) + sum
            };
            sum = t;
        }
        (sum + carry) * h / (2.0 * PI).sqrt()
    }

    #[test]
    fn gauss_legendre_rule_is_exact_for_polynomials() {
        let rule = gauss_legendre();
        let total: f64 = rule.iter().map(|&(_, w)| w).sum();
        assert!((total - 2.0).abs() < 1e-14, "{total}");
        // ∫_{-1}^{1} x^30 dx = 2/31 (degree 2n − 2 = 30 is within the rule's exactness).
        let x30: f64 = rule.iter().map(|&(x, w)| w * x.powi(30)).sum();
        assert!((x30 - 2.0 / 31.0).abs() < 1e-14, "{x30}");
    }

    #[test]
    fn gaussian_moments_and_closed_forms() {
        let cases: [(&dyn Fn(f64) -> f64, f64); 5] = [
            (&|_| 1.0, 1.0),
            (&|z| z * z, 1.0),
            (&|z| z.powi(4), 3.0),
            (&|z| z.cos(), (-0.5f64).exp()),
            (&|z| (0.7 * z).exp(), (0.245f64).exp()),
        ];
        for (f, exact) in cases {
            let a = gaussian_average(f);
            let b = gaussian_average_with_transition(f, 0.3, 0.05);
            assert!((a - exact).abs() < 1e-13, "{a} vs {exact}");
            assert!((b - exact).abs() < 1e-13, "{b} vs {exact}");
        }
    }

    #[test]
    fn sharp_sigmoids_against_brute_force() {
        for &(s, c) in &[(0.5, 0.0), (2.5, 0.0), (10.0, 0.3), (30.0, -1.7)] {
            let f = |z: f64| {
                let t = (s * (z - c)).tanh();
                (1.0 - t * t).powi(2) + 0.5 * (1.0 + t)
            };
            let reference = brute_force(f);
            let graded = gaussian_average_with_transition(f, c, 1.0 / s);
            let adaptive = gaussian_average(f);
            assert!(
                (graded - reference).abs() < 1e-12,
                "s={s}: {graded} vs {reference}"
            );
            assert!(
                (adaptive - reference).abs() < 1e-12,
                "s={s}: {adaptive} vs {reference}"
            );
        }
        // A transition far narrower than any panel, and one outside the domain.
        let step = |z: f64| 0.5 * (1.0 + (1e6 * (z - 0.2)).tanh());
        let p = gaussian_average_with_transition(step, 0.2, 1e-6);
        let exact = 0.420_740_290_560_897_1; // P(Z > 0.2)
        assert!((p - exact).abs() < 1e-12, "{p}");
        let far = gaussian_average_with_transition(|z| (z - 40.0).tanh(), 40.0, 1.0);
        assert!((far + 1.0).abs() < 1e-12, "{far}");
    }

    #[test]
    fn tanh_network_table() {
        // science.md §4, to the printed 4 decimals.
        for &(g, delta, lambda) in &[
            (1.5, 0.7934, 0.0652),
            (2.0, 2.1215, 0.1547),
            (3.0, 6.3054, 0.3103),
        ] {
            let d = tanh_network_variance(g);
            let l = tanh_network_largest_lyapunov(g);
            assert!((d - delta).abs() < 6e-5, "g={g}: Δ={d}, expected {delta}");
            assert!((l - lambda).abs() < 6e-5, "g={g}: λ={l}, expected {lambda}");
            // Δ solves its own equation to double precision.
            let s = d.sqrt();
            let rhs = g * g * brute_force(|z| (s * z).tanh().powi(2));
            assert!((rhs - d).abs() < 1e-12 * d, "g={g}: {rhs} vs {d}");
        }
    }

    #[test]
    fn tanh_network_below_and_at_the_transition() {
        for g in [0.0, 0.5, 0.9, 1.0] {
            assert_eq!(tanh_network_variance(g), 0.0);
            assert_eq!(tanh_network_largest_lyapunov(g), g.ln());
        }
        // Just above g = 1: Δ ≈ (g² − 1)/2 and λ_max → 0⁺, continuously.
        let g = 1.001;
        let d = tanh_network_variance(g);
        assert!(d > 0.0 && (d - (g * g - 1.0) / 2.0).abs() < 1e-5, "{d}");
        let l = tanh_network_largest_lyapunov(g);
        assert!(l > 0.0 && l < 1e-3, "{l}");
        assert!(tanh_network_variance(f64::NAN).is_nan());
        assert!(tanh_network_largest_lyapunov(f64::NAN).is_nan());
    }

    fn siri(gain: f64, sigma: f64, mu: f64, xi_mean: f64, xi_std: f64) -> SiriMeanField {
        SiriMeanField {
            gain,
            weight_std: sigma,
            weight_mean: mu,
            input_mean: xi_mean,
            input_std: xi_std,
        }
    }

    /// The solution satisfies its own equations, checked with the independent adaptive rule.
    fn assert_self_consistent(p: &SiriMeanField, s: &SiriMeanFieldSolution) {
        let f = |u: f64| 0.5 * (1.0 + (p.gain * u).tanh());
        let fp = |u: f64| 2.0 * p.gain * f(u) * (1.0 - f(u));
        let (mm, sd) = (s.mean_field, s.variance.sqrt());
        let m = gaussian_average(|z| f(mm + sd * z));
        let q = gaussian_average(|z| f(mm + sd * z).powi(2));
        let chi = p.weight_std.powi(2) * gaussian_average(|z| fp(mm + sd * z).powi(2));
        assert!((m - s.m).abs() < 1e-10, "{p:?}: m {m} vs {}", s.m);
        assert!((q - s.q).abs() < 1e-10, "{p:?}: q {q} vs {}", s.q);
        let big_m = p.weight_mean * s.m + p.input_mean;
        let big_v = p.weight_std.powi(2) * s.q + p.input_std.powi(2);
        assert!((big_m - s.mean_field).abs() < 1e-15);
        assert!((big_v - s.variance).abs() < 1e-15);
        assert!(
            (chi - s.chaos_indicator).abs() < 1e-10 * chi.max(1.0),
            "{p:?}"
        );
        assert!((0.5 * chi.ln() - s.largest_lyapunov).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn siri_without_input_or_mean_weight_is_self_consistent() {
        for &(gain, sigma) in &[(1.0, 1.0), (5.0, 0.5), (10.0, 1.0), (10.0, 3.0)] {
            let p = siri(gain, sigma, 0.0, 0.0, 0.0);
            let s = p.solve().expect("converges");
            assert_eq!(s.mean_field, 0.0);
            assert!((s.variance - sigma * sigma * s.q).abs() < 1e-15);
            // f(u) − ½ is odd and u is centred: m = ½ exactly.
            assert!((s.m - 0.5).abs() < 1e-12, "{}", s.m);
            assert!(s.map_spectral_radius < 1.0, "{s:?}");
            assert_self_consistent(&p, &s);
        }
        // With a mean weight and inputs. μ = −8: the plain map alternates with period 2 (the
        // solution is unstable for the population dynamics), and only damping converges.
        for &(mu, xi_mean, xi_std, stable) in &[
            (2.0, -0.5, 0.3, true),
            (-8.0, 0.2, 0.1, false),
            (0.0, 0.0, 0.0577, true),
        ] {
            let p = siri(10.0, 1.0, mu, xi_mean, xi_std);
            let s = p.solve().expect("converges");
            assert_eq!(s.map_spectral_radius < 1.0, stable, "{s:?}");
            assert_self_consistent(&p, &s);
        }
    }

    #[test]
    fn siri_small_gain_limit() {
        // f' = (gain/2) sech²(gain u) → gain/2: λ_max → ½ ln(σ² gain²/4) = ln(σ gain / 2).
        for sigma in [0.5, 1.0, 2.0] {
            let gain = 0.01;
            let s = siri(gain, sigma, 0.0, 0.0, 0.1).solve().expect("converges");
            let limit = (sigma * gain / 2.0_f64).ln();
            assert!(
                (s.largest_lyapunov - limit).abs() < 1e-3,
                "{}",
                s.largest_lyapunov
            );
        }
    }

    #[test]
    fn siri_lyapunov_grows_with_gain() {
        let lambdas: Vec<f64> = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|&gain| {
                let s = siri(gain, 1.0, 0.0, 0.0, 0.0).solve().expect("converges");
                s.largest_lyapunov
            })
            .collect();
        assert!(lambdas.windows(2).all(|w| w[1] > w[0]), "{lambdas:?}");
        let chi = siri(10.0, 1.0, 0.0, 0.0, 0.0).chaos_indicator();
        assert!((0.5 * chi.ln() - lambdas[3]).abs() < 1e-15);
    }

    #[test]
    fn siri_rejects_bad_parameters() {
        let bad = [
            siri(f64::NAN, 1.0, 0.0, 0.0, 0.0),
            siri(1.0, -1.0, 0.0, 0.0, 0.0),
            siri(1.0, 1.0, f64::INFINITY, 0.0, 0.0),
            siri(1.0, 1.0, 0.0, 0.0, -0.1),
        ];
        for p in bad {
            assert!(matches!(
                p.solve(),
                Err(MeanFieldError::InvalidParameter { .. })
            ));
            assert!(p.chaos_indicator().is_nan());
        }
        // σ = 0: no recurrence, V = σ_ξ², λ_max = −∞.
        let s = siri(2.0, 0.0, 0.0, 0.1, 0.0).solve().expect("converges");
        assert_eq!(s.variance, 0.0);
        assert_eq!(s.largest_lyapunov, f64::NEG_INFINITY);
    }

    #[test]
    fn from_config_covers_rate_siri_with_drawn_weights_and_input() {
        let mut c = Config::default();
        c.network.gain = 7.0;
        c.weights.std = 1.5;
        c.weights.mean = -0.5;
        c.network.threshold = 0.03;
        c.input.distribution = Some(crate::config::Distribution::Uniform);
        c.input.low = Some(-0.1);
        c.input.high = Some(0.3);
        let p = SiriMeanField::from_config(&c).expect("rate, siri, a = 1");
        assert_eq!((p.gain, p.weight_std, p.weight_mean), (7.0, 1.5, -0.5));
        // u = (ξ − θ) + Σ W x: the threshold lowers the input mean.
        assert!((p.input_mean - (0.1 - 0.03)).abs() < 1e-15, "{p:?}");
        assert!((p.input_std - 0.4 / 12f64.sqrt()).abs() < 1e-15, "{p:?}");

        let mut g = Config::default();
        g.input.distribution = Some(crate::config::Distribution::Gaussian);
        g.input.mean = Some(0.2);
        g.input.std = Some(0.05);
        g.network.threshold = 0.5;
        g.weights.connectivity = 0.3;
        let p = SiriMeanField::from_config(&g).expect("sparse Gaussian weights are covered");
        assert!(
            (p.input_mean + 0.3).abs() < 1e-15 && p.input_std == 0.05,
            "{p:?}"
        );

        // The cases the theory does not describe.
        let mut current = Config::default();
        current.network.form = Form::Current;
        let mut tanh = Config::default();
        tanh.network.activation = Activation::Tanh;
        let mut leaky = Config::default();
        leaky.network.leak = 0.5;
        let mut loaded = Config::default();
        loaded.weights.file = Some("w.npy".into());
        let mut input_file = Config::default();
        input_file.input.file = Some("xi.npy".into());
        for c in [current, tanh, leaky, loaded, input_file] {
            assert_eq!(SiriMeanField::from_config(&c), None, "{c:?}");
        }
    }

    #[test]
    fn critical_curve_of_a_hyperbola() {
        // x y = 1: y = 1/x. From x = 0.2 the curve enters through the top (y_hi = 3) at 1/3.
        let xs: Vec<f64> = (0..=38).map(|k| 0.2 + 0.1 * k as f64).collect();
        let curves = critical_curve(&xs, 0.1, 3.0, |x, y| x * y);
        assert_eq!(curves.len(), 1, "{curves:?}");
        let curve = &curves[0];
        assert_eq!(
            curve.len(),
            xs.len() - 2,
            "x = 0.2 and 0.3 have no crossing below 3"
        );
        for &(x, y) in curve {
            assert!((y - 1.0 / x).abs() <= 1e-7 / x, "({x}, {y})");
        }
        // A wrong indicator gives a wrong curve: the check above has teeth.
        let wrong = critical_curve(&xs, 0.1, 3.0, |x, y| x * y * 1.001);
        assert!(wrong[0]
            .iter()
            .all(|&(x, y)| (y - 1.0 / x).abs() > 1e-4 / x));
        // Nothing where the indicator never reaches 1, and nothing for an empty range.
        assert!(critical_curve(&xs, 0.1, 3.0, |_, _| 0.5).is_empty());
        assert!(critical_curve(&xs, 3.0, 0.1, |x, y| x * y).is_empty());
    }

    #[test]
    fn critical_curve_closes_a_circle_and_breaks_at_nan() {
        // x² + y² = 1 scanned over x ∈ [−1.3, 1.3]: one closed curve through two folds.
        let xs: Vec<f64> = (0..=52).map(|k| -1.287 + 0.05 * k as f64).collect();
        let curves = critical_curve(&xs, -2.0, 2.0, |x, y| x * x + y * y);
        assert_eq!(curves.len(), 1, "{curves:?}");
        let c = &curves[0];
        assert_eq!(c.first(), c.last(), "closed");
        // The 40 columns with |x| < 1 have two crossings each, plus the repeated first point.
        assert_eq!(xs.iter().filter(|x| x.abs() < 1.0).count(), 40);
        assert_eq!(c.len(), 2 * 40 + 1);
        for &(x, y) in c {
            assert!((x.hypot(y) - 1.0).abs() < 1e-6, "({x}, {y})");
        }
        // A sideways parabola y = 0.5 ± √x: its fold joins the two branches into one curve.
        let xs: Vec<f64> = (0..=20).map(|k| -0.95 + 0.1 * k as f64).collect();
        let curves = critical_curve(&xs, -1.0, 2.0, |x, y| 1.0 - x + (y - 0.5).powi(2));
        assert_eq!(curves.len(), 1, "{curves:?}");
        assert_eq!(curves[0].len(), 2 * 11);
        // In order along the curve: down the lower branch, across the fold, up the upper one.
        let (first, last) = (curves[0][0], curves[0][21]);
        assert!(first.0 > 1.0 && last.0 > 1.0 && first.1 < 0.5 && last.1 > 0.5);
        for &(x, y) in &curves[0] {
            assert!(((y - 0.5).powi(2) - x).abs() < 1e-6, "({x}, {y})");
        }
        // NaN where the curve passes, in a band of x: the curve is broken there and nowhere
        // else.
        let xs: Vec<f64> = (0..=30).map(|k| 0.5 + 0.1 * k as f64).collect();
        let hyperbola_with = |hole: &(dyn Fn(f64, f64) -> bool + Sync)| {
            critical_curve(
                &xs,
                0.1,
                3.0,
                |x, y| {
                    if hole(x, y) {
                        f64::NAN
                    } else {
                        x * y
                    }
                },
            )
        };
        let curves = hyperbola_with(&|x, y| (1.45..1.75).contains(&x) && y < 0.8);
        let lengths: Vec<usize> = curves.iter().map(Vec::len).collect();
        assert_eq!(lengths, [10, 18], "{curves:?}");
        assert!(curves[0].iter().all(|p| p.0 < 1.45) && curves[1].iter().all(|p| p.0 > 1.75));
        // NaN away from the curve (above it) does not break it.
        let curves = hyperbola_with(&|x, y| (1.45..1.75).contains(&x) && y > 2.0);
        assert_eq!(curves.len(), 1, "{curves:?}");
        assert_eq!(curves[0].len(), xs.len());
        // Nor does a discontinuity above it, which is no crossing: x y above 1 below y = 2,
        // then 0.5 (a jump through 1 that bisection would otherwise take for a root).
        let curves = critical_curve(&xs, 0.1, 3.0, |x, y| if y < 2.0 { x * y } else { 0.5 });
        assert_eq!(curves.len(), 1, "{curves:?}");
        // x = 0.5 has its root y = 2 at the jump, where F never changes sign.
        assert_eq!(curves[0].len(), xs.len() - 1);
        for &(x, y) in curves.iter().flatten() {
            assert!((x * y - 1.0).abs() < 1e-6, "({x}, {y})");
        }
    }

    /// Independent check of the Siri critical line with zero input and zero mean weight.
    ///
    /// With `ξ̄ = σ_ξ = μ = 0` the solution has `m = ½` (odd symmetry), and with
    /// `s = gain √V` (`V = σ² q`), `f² = (1 + 2 tanh + tanh²)/4` gives
    /// `q = (1 + T(s))/4`, `T(s) = ∫Dz tanh²(s z)`, so `gain² σ² / 4 = s² / (1 + T(s))`; and
    /// `σ² ⟨f′²⟩ = (gain² σ² / 4) A(s)`, `A(s) = ∫Dz sech⁴(s z)`. The critical line is therefore
    /// `s² A(s) = 1 + T(s)` — independent of the gain — i.e. the hyperbola
    /// `σ_c = K / gain`, `K = 2 s* / √(1 + T(s*))`. Here `s*` is found by bisection with the
    /// trapezoidal brute-force quadrature (none of the solver's code), giving K ≈ 5.0746.
    #[test]
    fn siri_critical_line_is_the_hyperbola_sigma_gain_constant() {
        let big_a = |s: f64| brute_force(|z| (s * z).cosh().powi(-4));
        let big_t = |s: f64| brute_force(|z| (s * z).tanh().powi(2));
        let (mut lo, mut hi) = (0.5_f64, 10.0_f64);
        while hi - lo > 1e-12 {
            let mid = 0.5 * (lo + hi);
            if mid * mid * big_a(mid) > 1.0 + big_t(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let s = 0.5 * (lo + hi);
        let k = 2.0 * s / (1.0 + big_t(s)).sqrt();
        assert!((k - 5.0746).abs() < 1e-3, "K = {k}");

        let gains = [2.5, 5.0, 10.0, 20.0];
        let curves = critical_curve(&gains, 0.1, 3.0, |gain, sigma| {
            siri(gain, sigma, 0.0, 0.0, 0.0).chaos_indicator()
        });
        assert_eq!(curves.len(), 1, "{curves:?}");
        assert_eq!(curves[0].len(), gains.len());
        for (&(gain, sigma), &g) in curves[0].iter().zip(&gains) {
            assert_eq!(gain, g);
            let expected = k / gain;
            assert!(
                (sigma - expected).abs() < 1e-6 * expected,
                "gain {gain}: σ_c = {sigma}, expected {expected}"
            );
        }
    }
}
