//! The analog network's bifurcation map (Cessac et al. 1994; Doyon et al. 1993; cessac.md §9):
//! the attractors of the mean-field map on the population moments `(m, q)`, and the lines in a
//! parameter plane where they change — the edge of chaos on each stable branch, the flip
//! (period-2 mean activity) and the saddle-node (bistable mean activity).
//!
//! # The model and its mapping onto hebbnet's parameters
//!
//! Cessac's analog network is `x_i(t+1) = f(Σ_j J_ij x_j(t) − θ_i)`, `f(u) = (1 + tanh(g u))/2`,
//! `J_ij ~ N(J̄/N, J²/N)`, `θ_i ~ N(θ̄, σ_θ²)`. hebbnet's rate form with leak a = 1 and the
//! `siri` activation is `x_i(t+1) = f(u_i)`, `u_i = Σ_j W_ij x_j + ξ_i − θ`, the gain inside
//! `f` (it multiplies the whole local field: `f(u) = (1 + tanh(g u))/2`), `W_ij ~ N(μ/N, σ²/N)`,
//! `ξ_i ~ N(ξ̄, σ_ξ²)` (`input.distribution = gaussian`) and one scalar threshold θ
//! (`network.threshold`). So `W = J` (`weights.mean = J̄`, `weights.std = J`) and
//! `ξ_i − θ = −θ_i`: `θ̄ = network.threshold − input.mean`, `σ_θ = input.std`; with
//! `network.threshold = 0`, `input.mean = −θ̄`. [`SiriMeanField`] holds exactly these
//! (`input_mean = ξ̄ − θ = −θ̄`, `input_std = σ_θ`).
//!
//! # The map
//!
//! As N → ∞ the local field is Gaussian, `u ~ N(M, V)`, `M = J̄ m − θ̄`, `V = J² q + σ_θ²`, and
//! `T(m, q) = (∫Dz f(M + √V z), ∫Dz f(M + √V z)²)` ([`SiriMeanField::map`]), with the analytic
//! Jacobian [`SiriMeanField::jacobian`]. The averages use the graded Gauss–Legendre rule of
//! [`super::mean_field`], not Gauss–Hermite: at the gains of interest (g ≳ 5) a 64- or 100-node
//! Gauss–Hermite rule is off by up to 1e-2 (the sigmoid's poles sit near the real axis), the
//! graded rule is good to ~1e-15 (see that module).
//!
//! # Attractors ([`classify`])
//!
//! From low (`m = q = 0`) and high (`m = q = 1`) activity, `T` is iterated in rounds of
//! [`ROUND_STEPS`] steps; after each round Newton's method (analytic Jacobian) polishes the
//! point into a fixed point of `T` or of `T²` near it, accepted when it is stable (spectral
//! radius of `DT`, or of `DT(x₂) DT(x₁)` for a 2-cycle, below 1). Distinct attractors give the
//! [`Region`]: one fixed point (active, or quiescent when `m <` [`QUIESCENT_ACTIVITY`]), one
//! 2-cycle, two active attractors (bistable), a quiescent and an active one (coexistence).
//! Each attractor carries `λ_MF = ½ ln(J² ∫Dz f′(M + √V z)²)`, averaged over the cycle.
//!
//! # Lines ([`BifurcationPlane`])
//!
//! Every fixed point of `T` has `q ∈ (0, 1)`, and given `q` (so `V`) its field mean `M` is the
//! unique root of `∫Dz f(M + √V z)² = q` (increasing in `M`); then `m = ∫Dz f`, and the fixed
//! point condition `M = J̄ m − θ̄` gives `J̄ = (M + θ̄)/m` or `θ̄ = J̄ m − M` explicitly. So along
//! a line of one parameter (the free axis) the fixed points of a (g, θ̄) or (g, J̄) plane form
//! one smooth sheet over `(c, s)`, `s = logit q`, with no choice of branch. On it the lines are
//! level sets traced by [`critical_curve`]: the saddle-node where `det(I − DT) = 0` (an
//! eigenvalue +1; kept where the other eigenvalue is inside the unit circle, i.e. where a
//! stable node meets a saddle), the flip where `det(I + DT) = 0` (eigenvalue −1, likewise), and
//! the edge of chaos `J² ⟨f′²⟩ = 1` where the fixed point is stable; each then mapped to the
//! plane by the explicit parameter. The edge of chaos on a stable 2-cycle (`J⁴ ⟨f′²⟩₁ ⟨f′²⟩₂ =
//! 1`) is traced in the plane itself from [`classify`].

use std::collections::HashMap;
use std::sync::Mutex;

use rayon::prelude::*;
use serde_json::{json, Value};

use super::mean_field::{critical_curve, SiriMeanField};
use super::plane::{scale_maps, MeanFieldPlane, PlaneAxis};
use crate::experiment::sweep::Axis;

/// Below this mean activity a stable fixed point is quiescent (neural death, m → 0). A
/// convention: the quiescent branch has `m ≈ f(−θ̄) ~ e^{−2gθ̄}`, orders of magnitude below.
pub const QUIESCENT_ACTIVITY: f64 = 0.01;
/// Map steps between two Newton polishes of [`classify`].
pub const ROUND_STEPS: usize = 40;
/// Rounds of [`classify`] before an orbit is left unresolved.
pub const MAX_ROUNDS: usize = 25;
/// Range of `s = logit q` over which the fixed-point sheet is scanned (q from 9e-27 to
/// 1 − 1.4e-11): the quiescent branch has `q ~ e^{−4gθ̄}`.
pub const SHEET_RANGE: (f64, f64) = (-60.0, 25.0);
/// Columns of the lines (evenly spread over the free axis, log10-spaced on a log axis).
pub const LINE_COLUMNS: usize = 48;
/// Columns of the edge of chaos on the 2-cycle (each point is a [`classify`]).
pub const CYCLE_LINE_COLUMNS: usize = 24;

/// Where the orbit started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// `m = q = 0`.
    Low,
    /// `m = q = 1`.
    High,
}

/// A stable attractor of the mean-field map.
#[derive(Clone, Debug, PartialEq)]
pub struct Attractor {
    /// 1: a fixed point; 2: a macroscopic 2-cycle.
    pub period: usize,
    /// The `(m, q)` of the cycle.
    pub points: Vec<(f64, f64)>,
    /// Spectral radius of `DT` (period 1) or `DT(x₂) DT(x₁)` (period 2): below 1.
    pub multiplier: f64,
    /// `λ_MF = ½ ln(J² ⟨f′²⟩)`, averaged over the cycle: the largest Lyapunov exponent of the
    /// network on this branch (chaos where > 0).
    pub lyapunov: f64,
    /// The starts that reach it.
    pub starts: Vec<Start>,
}

impl Attractor {
    /// The mean activity, averaged over the cycle.
    pub fn mean_activity(&self) -> f64 {
        self.points.iter().map(|p| p.0).sum::<f64>() / self.points.len() as f64
    }

    /// A fixed point with `m <` [`QUIESCENT_ACTIVITY`].
    pub fn quiescent(&self) -> bool {
        self.period == 1 && self.mean_activity() < QUIESCENT_ACTIVITY
    }

    fn same_as(&self, other: &Attractor) -> bool {
        if self.period != other.period {
            return false;
        }
        let close = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() + (a.1 - b.1).abs() < 1e-6;
        other
            .points
            .iter()
            .all(|&b| self.points.iter().any(|&a| close(a, b)))
    }
}

/// The attractors of the mean-field map at one parameter point, reached from low and high
/// activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// One stable fixed point, active.
    FixedPoint,
    /// One stable macroscopic 2-cycle (the mean activity alternates).
    Period2,
    /// Two active attractors (fixed points, or a fixed point and a 2-cycle).
    Bistable,
    /// One stable fixed point, quiescent (`m <` [`QUIESCENT_ACTIVITY`]).
    Quiescent,
    /// A quiescent fixed point and an active attractor.
    Coexistence,
    /// An orbit settled on neither a fixed point nor a 2-cycle within the iteration budget.
    Unresolved,
}

impl Region {
    pub const ALL: [Region; 6] = [
        Region::FixedPoint,
        Region::Period2,
        Region::Bistable,
        Region::Quiescent,
        Region::Coexistence,
        Region::Unresolved,
    ];

    /// The name in reports and CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Region::FixedPoint => "fixed_point",
            Region::Period2 => "period_2",
            Region::Bistable => "bistable",
            Region::Quiescent => "quiescent",
            Region::Coexistence => "coexistence",
            Region::Unresolved => "unresolved",
        }
    }

    /// One character, for the region maps of `hebbnet theory`.
    pub fn letter(self) -> char {
        match self {
            Region::FixedPoint => 'F',
            Region::Period2 => '2',
            Region::Bistable => 'B',
            Region::Quiescent => 'Q',
            Region::Coexistence => 'C',
            Region::Unresolved => '?',
        }
    }
}

/// The attractors at one point and their [`Region`].
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub region: Region,
    /// Distinct stable attractors, the high-activity start's first.
    pub attractors: Vec<Attractor>,
}

/// The attractors of `p`'s mean-field map reached from high and low activity (see the module
/// documentation). A parameter that is not finite gives [`Region::Unresolved`].
pub fn classify(p: &SiriMeanField) -> Classification {
    let mut attractors: Vec<Attractor> = Vec::new();
    let mut unresolved = p.validate().is_err();
    if !unresolved {
        for (start, x0) in [(Start::High, (1.0, 1.0)), (Start::Low, (0.0, 0.0))] {
            match settle(p, x0) {
                Some(mut a) => match attractors.iter_mut().find(|b| b.same_as(&a)) {
                    Some(b) => b.starts.push(start),
                    None => {
                        a.starts = vec![start];
                        attractors.push(a);
                    }
                },
                None => unresolved = true,
            }
        }
    }
    let region = if unresolved || attractors.is_empty() {
        Region::Unresolved
    } else if attractors.len() == 1 {
        let a = &attractors[0];
        if a.period == 2 {
            Region::Period2
        } else if a.quiescent() {
            Region::Quiescent
        } else {
            Region::FixedPoint
        }
    } else if attractors.iter().any(Attractor::quiescent) {
        Region::Coexistence
    } else {
        Region::Bistable
    };
    Classification { region, attractors }
}

/// Iterate `T` from `x0` and polish into a stable fixed point or 2-cycle (None: neither within
/// [`MAX_ROUNDS`] rounds).
fn settle(p: &SiriMeanField, x0: (f64, f64)) -> Option<Attractor> {
    let mut x = x0;
    for _ in 0..MAX_ROUNDS {
        for _ in 0..ROUND_STEPS {
            let next = p.map(x.0, x.1);
            let done = (next.0 - x.0).abs().max((next.1 - x.1).abs()) < 1e-14;
            x = next;
            if done {
                break;
            }
        }
        if let Some(a) = polish(p, x, 1).or_else(|| polish(p, x, 2)) {
            return Some(a);
        }
    }
    None
}

/// 2 × 2 matrix product `a b`.
fn product(a: [[f64; 2]; 2], b: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let mut c = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        }
    }
    c
}

/// Spectral radius of a 2 × 2 matrix.
pub fn spectral_radius(a: [[f64; 2]; 2]) -> f64 {
    let (trace, det) = (a[0][0] + a[1][1], a[0][0] * a[1][1] - a[0][1] * a[1][0]);
    let disc = trace * trace - 4.0 * det;
    if disc >= 0.0 {
        0.5 * (trace.abs() + disc.sqrt())
    } else {
        det.abs().sqrt()
    }
}

/// A point `(m, q)` of the map, or `(x, y)` of a plane.
type Point = (f64, f64);
/// The 2×2 Jacobian of the map.
type Jacobian = [[f64; 2]; 2];
/// Polylines of a plane.
type Curves = Vec<Vec<Point>>;

/// `T^period` at `x` and its Jacobian, and the orbit's points.
fn iterate_with_jacobian(
    p: &SiriMeanField,
    x: (f64, f64),
    period: usize,
) -> (Point, Jacobian, Vec<Point>) {
    let mut y = x;
    let mut jac = [[1.0, 0.0], [0.0, 1.0]];
    let mut orbit = Vec::with_capacity(period);
    for _ in 0..period {
        orbit.push(y);
        let (mean, variance) = p.field_moments(y.0, y.1);
        let a = p.averages(mean, variance);
        jac = product(p.jacobian_from(&a), jac);
        y = (a.f, a.f2);
    }
    (y, jac, orbit)
}

/// Newton's method (analytic Jacobian) for a fixed point of `T^period` near `x`: the point, if
/// it converges (`|T^period(y) − y| ≤ 1e-14`, or ≤ 1e-11 at the rounding floor after 40 steps)
/// without leaving `[0, 1] × [0, ∞)` or moving more than 0.05 (max norm) from `x`.
pub fn newton(p: &SiriMeanField, x: (f64, f64), period: usize) -> Option<(f64, f64)> {
    let mut y = x;
    for _ in 0..40 {
        let (ty, jac, _) = iterate_with_jacobian(p, y, period);
        let g = (ty.0 - y.0, ty.1 - y.1);
        if g.0.abs().max(g.1.abs()) <= 1e-14 {
            return Some(y);
        }
        // Solve (DT^period − I) d = −g.
        let a = [[jac[0][0] - 1.0, jac[0][1]], [jac[1][0], jac[1][1] - 1.0]];
        let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let d0 = (-g.0 * a[1][1] + g.1 * a[0][1]) / det;
        let d1 = (-a[0][0] * g.1 + a[1][0] * g.0) / det;
        y = (y.0 + d0, y.1 + d1);
        if !(y.0.is_finite() && y.1.is_finite()) || y.1 < 0.0 || y.0 < -1e-12 || y.0 > 1.0 + 1e-12 {
            return None;
        }
        if (y.0 - x.0).abs().max((y.1 - x.1).abs()) > 0.05 {
            return None;
        }
    }
    let (ty, _, _) = iterate_with_jacobian(p, y, period);
    ((ty.0 - y.0).abs().max((ty.1 - y.1).abs()) <= 1e-11).then_some(y)
}

/// [`newton`] for a fixed point of `T^period` near `x`; the stable attractor it is, if it
/// converges to a stable orbit of exactly that period.
fn polish(p: &SiriMeanField, x: (f64, f64), period: usize) -> Option<Attractor> {
    let y = newton(p, x, period)?;
    let (_, jac, orbit) = iterate_with_jacobian(p, y, period);
    let multiplier = spectral_radius(jac);
    if multiplier >= 1.0 {
        return None;
    }
    if period == 2 && (orbit[0].0 - orbit[1].0).abs() + (orbit[0].1 - orbit[1].1).abs() < 1e-7 {
        return None; // the fixed point counted twice
    }
    let s2 = p.weight_std * p.weight_std;
    let lyapunov = orbit
        .iter()
        .map(|&(m, q)| {
            let (mean, variance) = p.field_moments(m, q);
            0.5 * (s2 * p.averages(mean, variance).df2).ln()
        })
        .sum::<f64>()
        / period as f64;
    Some(Attractor {
        period,
        points: orbit,
        multiplier,
        lyapunov,
        starts: Vec::new(),
    })
}

/// Which parameter of [`SiriMeanField`] an axis moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Explicit {
    /// `weight_mean` (J̄): `J̄ = (M − ξ̄)/m` at a fixed point.
    WeightMean,
    /// `input_mean` (`ξ̄ − θ = −θ̄`): `ξ̄ = M − J̄ m` at a fixed point.
    InputMean,
}

/// A point of the fixed-point sheet: the fixed point at `s = logit q` on one column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SheetPoint {
    /// The explicit parameter's value there (J̄, or ξ̄ − θ).
    pub parameter: f64,
    pub m: f64,
    pub q: f64,
    /// `DT` at the fixed point.
    pub jacobian: [[f64; 2]; 2],
    /// `J² ⟨f′²⟩`.
    pub chaos_indicator: f64,
}

impl SheetPoint {
    fn trace(&self) -> f64 {
        self.jacobian[0][0] + self.jacobian[1][1]
    }

    fn det(&self) -> f64 {
        let a = self.jacobian;
        a[0][0] * a[1][1] - a[0][1] * a[1][0]
    }

    /// `det(I − DT)`: 0 where an eigenvalue is +1.
    pub fn fold_function(&self) -> f64 {
        1.0 - self.trace() + self.det()
    }

    /// `det(I + DT)`: 0 where an eigenvalue is −1.
    pub fn flip_function(&self) -> f64 {
        1.0 + self.trace() + self.det()
    }

    pub fn stable(&self) -> bool {
        spectral_radius(self.jacobian) < 1.0
    }
}

/// The fixed point of `p`'s map with second moment `q = 1/(1 + e^{−s})`, the `explicit`
/// parameter of `p` replaced by the value that makes it one (None where `σ = 0`, `m = 0` or a
/// solve fails).
pub fn sheet_point(p: &SiriMeanField, explicit: Explicit, s: f64) -> Option<SheetPoint> {
    if p.weight_std.is_nan() || p.weight_std <= 0.0 || !s.is_finite() || p.gain == 0.0 {
        return None;
    }
    let q = 1.0 / (1.0 + (-s).exp());
    let variance = p.weight_std * p.weight_std * q + p.input_std * p.input_std;
    let mean = solve_field_mean(p, variance, q)?;
    let a = p.averages(mean, variance);
    let m = a.f;
    if m.is_nan() || m <= 0.0 {
        return None;
    }
    let mut fixed = *p;
    let parameter = match explicit {
        Explicit::WeightMean => {
            fixed.weight_mean = (mean - p.input_mean) / m;
            fixed.weight_mean
        }
        Explicit::InputMean => {
            fixed.input_mean = mean - p.weight_mean * m;
            fixed.input_mean
        }
    };
    if !parameter.is_finite() {
        return None;
    }
    Some(SheetPoint {
        parameter,
        m,
        q,
        jacobian: fixed.jacobian_from(&a),
        chaos_indicator: p.weight_std * p.weight_std * a.df2,
    })
}

/// The `M` with `∫Dz f(M + √V z)² = q`: Newton on `ln⟨f²⟩ − ln q` (`d/dM ⟨f²⟩ = 2⟨f f′⟩`),
/// safeguarded by a bracket.
fn solve_field_mean(p: &SiriMeanField, variance: f64, q: f64) -> Option<f64> {
    let g = p.gain.abs();
    let residual = |mean: f64| {
        let a = p.averages(mean, variance);
        (a.f2.ln() - q.ln(), 2.0 * a.f_df / a.f2)
    };
    // Start where a field without spread gives f(M)² = q: M = logit(√q)/(2g).
    let r = q.sqrt();
    let start = ((r / (1.0 - r)).ln() / (2.0 * g)).clamp(-1e6, 1e6);
    let spread = variance.sqrt() + 1.0 / g;
    let (mut lo, mut hi) = (start - spread, start + spread);
    for _ in 0..200 {
        if residual(lo).0 < 0.0 {
            break;
        }
        lo -= 2.0 * (hi - lo);
    }
    for _ in 0..200 {
        if residual(hi).0 > 0.0 {
            break;
        }
        hi += 2.0 * (hi - lo);
    }
    let mut x = start.clamp(lo, hi);
    for _ in 0..100 {
        let (f, df) = residual(x);
        if !f.is_finite() {
            return None;
        }
        if f.abs() < 1e-14 {
            return Some(x);
        }
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let newton = x - f / df;
        let next = if df > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        // Newton converges quadratically: a step this small leaves the root to rounding.
        if (next - x).abs() <= 1e-14 * (1.0 + x.abs()) || hi - lo <= 1e-15 * (1.0 + x.abs()) {
            return Some(next);
        }
        x = next;
    }
    Some(x)
}

/// The lines of a plane, in axis values: polylines of `(x, y)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lines {
    /// `J² ⟨f′²⟩ = 1` at stable fixed points (every stable branch).
    pub chaos_fixed_point: Vec<Vec<(f64, f64)>>,
    /// `J⁴ ⟨f′²⟩₁ ⟨f′²⟩₂ = 1` on stable 2-cycles.
    pub chaos_period2: Vec<Vec<(f64, f64)>>,
    /// An eigenvalue of `DT` at a fixed point crosses −1 (the other inside the unit circle).
    pub flip: Vec<Vec<(f64, f64)>>,
    /// An eigenvalue crosses +1 (the other inside the unit circle): a stable node meets a
    /// saddle.
    pub saddle_node: Vec<Vec<(f64, f64)>>,
}

impl Lines {
    /// `(file stem, legend, curves)` of each line, in drawing order.
    pub fn named(&self) -> [(&'static str, &'static str, &Curves); 4] {
        [
            (
                "chaos_line_fixed_point",
                "J²⟨f′²⟩ = 1 on stable fixed points",
                &self.chaos_fixed_point,
            ),
            (
                "chaos_line_period2",
                "J⁴⟨f′²⟩₁⟨f′²⟩₂ = 1 on stable 2-cycles",
                &self.chaos_period2,
            ),
            ("flip_line", "flip (eigenvalue −1)", &self.flip),
            (
                "saddle_node_line",
                "saddle-node (eigenvalue +1)",
                &self.saddle_node,
            ),
        ]
    }

    pub fn to_json(&self) -> Value {
        let curves = |c: &Vec<Vec<(f64, f64)>>| -> Value {
            json!(c
                .iter()
                .map(|curve| curve.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>())
                .collect::<Vec<_>>())
        };
        json!({
            "chaos_fixed_point": curves(&self.chaos_fixed_point),
            "chaos_period2": curves(&self.chaos_period2),
            "flip": curves(&self.flip),
            "saddle_node": curves(&self.saddle_node),
        })
    }
}

/// The bifurcation map over a plane of a sweep: a [`MeanFieldPlane`] one of whose axes moves
/// J̄ or `ξ̄ − θ` (and nothing else) affinely — `weights.mean`, `input.mean` (Gaussian input) or
/// `network.threshold` — so that the fixed points form one sheet over the other axis.
pub struct BifurcationPlane<'a> {
    plane: &'a MeanFieldPlane,
}

/// How an axis key moves the explicit parameter: `parameter = offset + slope · key`.
#[derive(Clone, Copy, Debug)]
struct Affine {
    explicit: Explicit,
    offset: f64,
    slope: f64,
}

impl<'a> BifurcationPlane<'a> {
    pub fn new(plane: &'a MeanFieldPlane) -> Self {
        BifurcationPlane { plane }
    }

    /// The parameters at `values`, or None where the theory does not apply.
    fn params(&self, values: &[(&str, f64)]) -> Option<SiriMeanField> {
        self.plane.params(values)
    }

    /// Whether `key` moves exactly one of J̄, `ξ̄ − θ`, affinely, at `other` (the other axis at a
    /// value): checked at three values of the key.
    fn affine(&self, key: &str, other: (&str, f64)) -> Option<Affine> {
        let at = |k: f64| self.params(&[other, (key, k)]);
        let (p0, p1, p2) = (at(0.0)?, at(1.0)?, at(2.0)?);
        let same = |a: &SiriMeanField, b: &SiriMeanField, except: Explicit| {
            a.gain == b.gain
                && a.weight_std == b.weight_std
                && a.input_std == b.input_std
                && (except == Explicit::WeightMean || a.weight_mean == b.weight_mean)
                && (except == Explicit::InputMean || a.input_mean == b.input_mean)
        };
        for explicit in [Explicit::WeightMean, Explicit::InputMean] {
            let get = |p: &SiriMeanField| match explicit {
                Explicit::WeightMean => p.weight_mean,
                Explicit::InputMean => p.input_mean,
            };
            let (v0, v1, v2) = (get(&p0), get(&p1), get(&p2));
            let slope = v1 - v0;
            if same(&p0, &p1, explicit)
                && same(&p0, &p2, explicit)
                && slope != 0.0
                && (v2 - v0 - 2.0 * slope).abs() <= 1e-12 * (1.0 + v0.abs() + slope.abs())
            {
                return Some(Affine {
                    explicit,
                    offset: v0,
                    slope,
                });
            }
        }
        None
    }

    /// The explicit axis of the plane, y if it can be, else x: `(free, explicit, affine,
    /// explicit is y)`; why not where neither can.
    fn orient<'b>(
        &self,
        x: &'b PlaneAxis,
        y: &'b PlaneAxis,
    ) -> std::result::Result<(&'b PlaneAxis, &'b PlaneAxis, Affine, bool), String> {
        let mid = |a: &PlaneAxis| {
            let (to, from) = scale_maps(a.log);
            from(0.5 * (to(a.range.start) + to(a.range.end)))
        };
        if let Some(f) = self.affine(&y.key, (&x.key, mid(x))) {
            return Ok((x, y, f, true));
        }
        if let Some(f) = self.affine(&x.key, (&y.key, mid(y))) {
            return Ok((y, x, f, false));
        }
        Err(format!(
            "the bifurcation lines need an axis that moves only the mean weight or the input \
             mean minus the threshold (weights.mean, input.mean of a Gaussian input, \
             network.threshold); this plane is ({}, {})",
            x.key, y.key
        ))
    }

    /// Whether the lines can be drawn in the plane of `x` and `y`.
    pub fn applies(&self, x: &PlaneAxis, y: &PlaneAxis) -> std::result::Result<(), String> {
        self.orient(x, y).map(|_| ())
    }

    /// The lines over the plane, `columns` values of the free axis ([`LINE_COLUMNS`] and
    /// [`CYCLE_LINE_COLUMNS`] in the figures).
    pub fn lines(
        &self,
        x: &PlaneAxis,
        y: &PlaneAxis,
        columns: usize,
        cycle_columns: usize,
    ) -> std::result::Result<Lines, String> {
        let (free, explicit_axis, affine, explicit_is_y) = self.orient(x, y)?;
        let (f_to, f_from) = scale_maps(free.log);
        let cs: Vec<f64> = free.spread(columns).into_iter().map(f_to).collect();
        let reference = {
            let (to, from) = scale_maps(explicit_axis.log);
            from(0.5 * (to(explicit_axis.range.start) + to(explicit_axis.range.end)))
        };
        // The column parameters: the free axis at c, the explicit axis at its middle (its own
        // parameter is replaced on the sheet).
        let column_params =
            |c: f64| self.params(&[(&free.key, f_from(c)), (&explicit_axis.key, reference)]);
        let cache: Mutex<HashMap<(u64, u64), Option<SheetPoint>>> = Mutex::new(HashMap::new());
        let point = |c: f64, s: f64| -> Option<SheetPoint> {
            let k = (c.to_bits(), s.to_bits());
            if let Some(hit) = cache.lock().expect("no panics while held").get(&k) {
                return *hit;
            }
            let value = column_params(c).and_then(|p| sheet_point(&p, affine.explicit, s));
            cache.lock().expect("no panics while held").insert(k, value);
            value
        };
        let (s_lo, s_hi) = SHEET_RANGE;
        let nan = f64::NAN;
        let fold = critical_curve(&cs, s_lo, s_hi, |c, s| {
            point(c, s).map_or(nan, |p| 1.0 - p.fold_function())
        });
        let flip = critical_curve(&cs, s_lo, s_hi, |c, s| {
            point(c, s).map_or(nan, |p| 1.0 - p.flip_function())
        });
        let chaos = critical_curve(&cs, s_lo, s_hi, |c, s| {
            point(c, s).map_or(nan, |p| p.chaos_indicator)
        });
        let (e_to, e_from) = scale_maps(explicit_axis.log);
        let (e_lo, e_hi) = (
            e_to(explicit_axis.range.start),
            e_to(explicit_axis.range.end),
        );
        // (c, s) curves → plane curves: keep the points that pass `keep`, inside the range.
        let to_plane = |curves: Vec<Vec<(f64, f64)>>, keep: &dyn Fn(&SheetPoint) -> bool| {
            let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
            for curve in curves {
                let mut run: Vec<(f64, f64)> = Vec::new();
                for (c, s) in curve {
                    let mapped = point(c, s).filter(|p| keep(p)).and_then(|p| {
                        let key = (p.parameter - affine.offset) / affine.slope;
                        let t = e_to(key);
                        (t.is_finite() && t >= e_lo && t <= e_hi).then_some(e_from(t))
                    });
                    match mapped {
                        Some(e) => {
                            let v = f_from(c);
                            run.push(if explicit_is_y { (v, e) } else { (e, v) });
                        }
                        None => {
                            if run.len() > 1 {
                                out.push(std::mem::take(&mut run));
                            }
                            run.clear();
                        }
                    }
                }
                if run.len() > 1 {
                    out.push(run);
                }
            }
            out
        };
        let other_inside = |p: &SheetPoint, eigen: f64| (p.trace() - eigen).abs() < 1.0;
        let mut lines = Lines {
            saddle_node: to_plane(fold, &|p| other_inside(p, 1.0)),
            flip: to_plane(flip, &|p| other_inside(p, -1.0)),
            chaos_fixed_point: to_plane(chaos, &|p| p.stable()),
            chaos_period2: Vec::new(),
        };
        if cycle_columns > 0 {
            let (x_to, x_from) = scale_maps(x.log);
            let (y_to, y_from) = scale_maps(y.log);
            let xs: Vec<f64> = x.spread(cycle_columns).into_iter().map(x_to).collect();
            let curves = critical_curve(&xs, y_to(y.range.start), y_to(y.range.end), |u, v| {
                self.params(&[(&x.key, x_from(u)), (&y.key, y_from(v))])
                    .map(|p| classify(&p))
                    .and_then(|c| c.attractors.into_iter().find(|a| a.period == 2))
                    .map_or(nan, |a| (2.0 * a.lyapunov).exp())
            });
            lines.chaos_period2 = curves
                .into_iter()
                .map(|c| c.into_iter().map(|(u, v)| (x_from(u), y_from(v))).collect())
                .collect();
        }
        Ok(lines)
    }
}

/// The attractors at each grid point of a plane.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionGrid {
    pub x_key: String,
    pub y_key: String,
    /// The grid's values, as in the sweep.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// `cells[i][j]`: at `(x[i], y[j])`; None where the theory does not apply.
    pub cells: Vec<Vec<Option<Classification>>>,
}

impl RegionGrid {
    /// [`classify`] at every point of `x` × `y` (in parallel).
    pub fn compute(plane: &MeanFieldPlane, x: &Axis, y: &Axis) -> RegionGrid {
        let cells = x
            .values
            .par_iter()
            .map(|&xv| {
                y.values
                    .iter()
                    .map(|&yv| {
                        plane
                            .params(&[(&x.key, xv), (&y.key, yv)])
                            .map(|p| classify(&p))
                    })
                    .collect()
            })
            .collect();
        RegionGrid {
            x_key: x.key.clone(),
            y_key: y.key.clone(),
            x: x.values.clone(),
            y: y.values.clone(),
            cells,
        }
    }

    /// `{"x_key", "y_key", "x", "y", "region": [[name]], "attractors": [[[{"period", "m", "q",
    /// "lyapunov", "multiplier"}]]]}`, indexed `[i][j]` as `(x[i], y[j])`.
    pub fn to_json(&self) -> Value {
        let region: Vec<Vec<Value>> = self
            .cells
            .iter()
            .map(|col| {
                col.iter()
                    .map(|c| c.as_ref().map_or(Value::Null, |c| json!(c.region.name())))
                    .collect()
            })
            .collect();
        let attractors: Vec<Vec<Value>> = self
            .cells
            .iter()
            .map(|col| {
                col.iter()
                    .map(|c| {
                        c.as_ref().map_or(Value::Null, |c| {
                            json!(c
                                .attractors
                                .iter()
                                .map(|a| json!({
                                    "period": a.period,
                                    "m": a.points.iter().map(|p| p.0).collect::<Vec<_>>(),
                                    "q": a.points.iter().map(|p| p.1).collect::<Vec<_>>(),
                                    "lyapunov": a.lyapunov,
                                    "multiplier": a.multiplier,
                                }))
                                .collect::<Vec<_>>())
                        })
                    })
                    .collect()
            })
            .collect();
        json!({
            "x_key": self.x_key,
            "y_key": self.y_key,
            "x": self.x,
            "y": self.y,
            "region": region,
            "attractors": attractors,
        })
    }

    /// `mean_field_regions.csv`: one row per grid point, `x_key,y_key,region,attractors,
    /// m_high,lyapunov_high,m_low,lyapunov_low` (the attractors reached from high and low
    /// activity; `m` averaged over a 2-cycle).
    pub fn to_csv(&self) -> String {
        let mut text = format!(
            "{},{},region,attractors,m_high,lyapunov_high,m_low,lyapunov_low\n",
            self.x_key, self.y_key
        );
        for (i, col) in self.cells.iter().enumerate() {
            for (j, c) in col.iter().enumerate() {
                let (x, y) = (self.x[i], self.y[j]);
                let Some(c) = c else {
                    text.push_str(&format!("{x},{y},NaN,0,NaN,NaN,NaN,NaN\n"));
                    continue;
                };
                let reached = |start: Start| {
                    c.attractors
                        .iter()
                        .find(|a| a.starts.contains(&start))
                        .map_or((f64::NAN, f64::NAN), |a| (a.mean_activity(), a.lyapunov))
                };
                let (mh, lh) = reached(Start::High);
                let (ml, ll) = reached(Start::Low);
                text.push_str(&format!(
                    "{x},{y},{},{},{mh},{lh},{ml},{ll}\n",
                    c.region.name(),
                    c.attractors.len()
                ));
            }
        }
        text
    }
}

/// The bifurcation map of the plane of two sweep axes: the [`Lines`] over its extent
/// ([`LINE_COLUMNS`], [`CYCLE_LINE_COLUMNS`]) and the [`RegionGrid`] at its grid points; why
/// not when the mean-field theory does not apply at every grid point or no axis moves J̄ or
/// `ξ̄ − θ` alone.
pub fn plane_map(
    plane: &MeanFieldPlane,
    x: &Axis,
    y: &Axis,
) -> std::result::Result<(Lines, RegionGrid), String> {
    plane.applies(x, y)?;
    let (px, py) = (PlaneAxis::of(x), PlaneAxis::of(y));
    let lines = BifurcationPlane::new(plane).lines(&px, &py, LINE_COLUMNS, CYCLE_LINE_COLUMNS)?;
    Ok((lines, RegionGrid::compute(plane, x, y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::theory::edge::unit_crossings;

    /// J = σ, J̄ = μ, θ̄ = −input_mean (no threshold), σ_θ = input_std.
    fn cessac(gain: f64, j: f64, j_mean: f64, theta: f64, theta_std: f64) -> SiriMeanField {
        SiriMeanField {
            gain,
            weight_std: j,
            weight_mean: j_mean,
            input_mean: -theta,
            input_std: theta_std,
        }
    }

    /// `∫Dz F` by the trapezoidal rule on |z| ≤ 12 (none of the module's quadrature).
    fn trapezoid(f: impl Fn(f64) -> f64) -> f64 {
        let n = 48_000;
        let h = 24.0 / n as f64;
        let mut sum = 0.0;
        for i in 0..=n {
            let z = -12.0 + i as f64 * h;
            let end = if i == 0 || i == n { 0.5 } else { 1.0 };
            sum += end * (-0.5 * z * z).exp() * f(z);
        }
        sum * h / (2.0 * std::f64::consts::PI).sqrt()
    }

    #[test]
    fn map_and_jacobian_at_a_point_by_hand() {
        // No field spread (J = σ_θ = 0): T(m, q) = (f(M), f(M)²), M = J̄ m − θ̄.
        // g = 2, J̄ = 1, θ̄ = 0.3, m = 0.5: M = 0.2, f = (1 + tanh 0.4)/2 = 0.689974...
        let p = cessac(2.0, 0.0, 1.0, 0.3, 0.0);
        let (m, q) = p.map(0.5, 0.7);
        let f = 0.5 * (1.0 + 0.4f64.tanh());
        assert!((f - 0.689_974_5).abs() < 1e-7, "{f}");
        assert!(
            (m - f).abs() < 1e-15 && (q - f * f).abs() < 1e-15,
            "{m} {q}"
        );
        // With spread: against the trapezoidal rule, and the analytic Jacobian against
        // central differences.
        let p = cessac(3.0, 1.0, -2.0, -0.1, 0.2);
        let (m0, q0) = (0.4, 0.3);
        let (mean, var) = (-2.0 * 0.4 + 0.1, 0.3 + 0.04);
        let fu = |u: f64| 0.5 * (1.0 + (3.0 * u).tanh());
        let sd = f64::sqrt(var);
        let m_ref = trapezoid(|z| fu(mean + sd * z));
        let q_ref = trapezoid(|z| fu(mean + sd * z).powi(2));
        let (m1, q1) = p.map(m0, q0);
        assert!(
            (m1 - m_ref).abs() < 1e-12 && (q1 - q_ref).abs() < 1e-12,
            "{m1} {q1}"
        );
        let jac = p.jacobian(m0, q0);
        let h = 1e-6;
        let dm = (p.map(m0 + h, q0).0 - p.map(m0 - h, q0).0) / (2.0 * h);
        let dq_m = (p.map(m0 + h, q0).1 - p.map(m0 - h, q0).1) / (2.0 * h);
        let dm_q = (p.map(m0, q0 + h).0 - p.map(m0, q0 - h).0) / (2.0 * h);
        let dq = (p.map(m0, q0 + h).1 - p.map(m0, q0 - h).1) / (2.0 * h);
        for (a, b) in [
            (jac[0][0], dm),
            (jac[1][0], dq_m),
            (jac[0][1], dm_q),
            (jac[1][1], dq),
        ] {
            assert!((a - b).abs() < 1e-7, "{jac:?}: {a} vs {b}");
        }
    }

    #[test]
    fn anchor_half_activity_and_chaos_at_gj_5_0746() {
        // J̄ = θ̄ = σ_θ = 0: one fixed point with m = ½ (f − ½ is odd).
        let c = classify(&cessac(10.0, 1.0, 0.0, 0.0, 0.0));
        assert_eq!(c.region, Region::FixedPoint, "{c:?}");
        assert_eq!(c.attractors.len(), 1);
        assert!(
            (c.attractors[0].mean_activity() - 0.5).abs() < 1e-12,
            "{c:?}"
        );
        // λ_MF = 0 at gJ = 5.0746 (J = 1: g; J = 2: g = 2.5373).
        for j in [1.0, 2.0] {
            let found = unit_crossings(1.0, 20.0, |g| {
                let c = classify(&cessac(g, j, 0.0, 0.0, 0.0));
                (2.0 * c.attractors[0].lyapunov).exp()
            });
            assert_eq!(found.roots.len(), 1, "{found:?}");
            assert!((found.roots[0] * j - 5.0746).abs() < 1e-3, "{found:?}");
        }
    }

    #[test]
    fn quiescent_for_large_threshold() {
        let c = classify(&cessac(10.0, 1.0, 0.0, 3.0, 0.0));
        assert_eq!(c.region, Region::Quiescent, "{c:?}");
        let m = c.attractors[0].mean_activity();
        assert!(m < 1e-6 && m > 0.0, "{m}");
        // λ_MF there: f′ is tiny, deep order.
        assert!(c.attractors[0].lyapunov < -5.0, "{c:?}");
        // Threshold 0: active.
        assert_eq!(
            classify(&cessac(10.0, 1.0, 0.0, 0.0, 0.0)).region,
            Region::FixedPoint
        );
    }

    #[test]
    fn strong_inhibition_gives_a_macroscopic_two_cycle() {
        let c = classify(&cessac(10.0, 1.0, -8.0, -0.2, 0.1));
        assert_eq!(c.region, Region::Period2, "{c:?}");
        let a = &c.attractors[0];
        assert!((a.points[0].0 - a.points[1].0).abs() > 0.1, "{a:?}");
        // Each point maps to the other.
        let p = cessac(10.0, 1.0, -8.0, -0.2, 0.1);
        let next = p.map(a.points[0].0, a.points[0].1);
        assert!((next.0 - a.points[1].0).abs() < 1e-12, "{a:?}");
        // Weak inhibition: a fixed point.
        let c = classify(&cessac(10.0, 1.0, -0.5, -0.2, 0.1));
        assert_eq!(c.region, Region::FixedPoint, "{c:?}");
    }

    #[test]
    fn strong_excitation_gives_two_stable_states() {
        // J̄ = 6, θ̄ = 3: a high state (m ≈ 1) and a low one (m ≈ 0).
        let c = classify(&cessac(10.0, 1.0, 6.0, 3.0, 0.0));
        assert_eq!(c.attractors.len(), 2, "{c:?}");
        assert!(matches!(c.region, Region::Coexistence | Region::Bistable));
        let ms: Vec<f64> = c.attractors.iter().map(Attractor::mean_activity).collect();
        assert!(ms[0] > 0.9 && ms[1] < 0.1, "{ms:?}");
        assert_eq!(c.attractors[0].starts, [Start::High]);
    }

    /// The plane of `gain` × `y_key` around the config with `set`.
    fn plane(set: &[&str]) -> MeanFieldPlane {
        let mut tree = serde_json::to_value(Config::default()).expect("serialises");
        for s in [
            "network.form=\"rate\"",
            "network.activation=\"siri\"",
            "network.leak=1",
            "network.threshold=0",
            "input.distribution=\"gaussian\"",
            "input.mean=0",
            "input.std=0",
            "weights.mean=0",
            "weights.std=1",
        ]
        .iter()
        .chain(set)
        {
            crate::config::apply_override(&mut tree, s).expect("a valid override");
        }
        MeanFieldPlane::new(&tree, &[])
    }

    fn axis(key: &str, range: std::ops::Range<f64>) -> PlaneAxis {
        PlaneAxis {
            key: key.into(),
            log: false,
            range,
        }
    }

    #[test]
    fn flip_line_for_strong_inhibition() {
        let plane = plane(&["input.std=0.1"]);
        let bif = BifurcationPlane::new(&plane);
        let (x, y) = (
            axis("network.gain", 4.0..16.0),
            axis("weights.mean", -12.0..4.0),
        );
        let lines = bif.lines(&x, &y, 12, 0).expect("applies");
        assert!(!lines.flip.is_empty(), "{lines:?}");
        for &(g, mu) in lines.flip.iter().flatten() {
            assert!(mu < 0.0, "flip at J̄ = {mu} (g = {g})");
            // The fixed point there has an eigenvalue −1.
            let p = cessac(g, 1.0, mu, 0.0, 0.1);
            let s = p.solve().expect("the damped solve converges");
            let jac = p.jacobian(s.m, s.q);
            let (tr, det) = (
                jac[0][0] + jac[1][1],
                jac[0][0] * jac[1][1] - jac[0][1] * jac[1][0],
            );
            assert!((1.0 + tr + det).abs() < 1e-5, "g {g}, J̄ {mu}: {jac:?}");
        }
        // Below the flip (more inhibition) a 2-cycle, above it a fixed point.
        let &(g, mu) = &lines.flip[0][lines.flip[0].len() / 2];
        assert_eq!(
            classify(&cessac(g, 1.0, mu - 1.0, 0.0, 0.1)).region,
            Region::Period2
        );
        assert_eq!(
            classify(&cessac(g, 1.0, mu + 1.0, 0.0, 0.1)).region,
            Region::FixedPoint
        );
    }

    #[test]
    fn saddle_node_line_for_strong_excitation() {
        // (g, J̄) with θ̄ = 2: for J̄ ≫ 0 a high state appears through a saddle-node.
        let plane = plane(&["input.mean=-2", "input.std=0.1"]);
        let bif = BifurcationPlane::new(&plane);
        let (x, y) = (
            axis("network.gain", 4.0..16.0),
            axis("weights.mean", -2.0..10.0),
        );
        let lines = bif.lines(&x, &y, 8, 0).expect("applies");
        assert!(!lines.saddle_node.is_empty(), "{lines:?}");
        let points: Vec<(f64, f64)> = lines.saddle_node.iter().flatten().copied().collect();
        for &(g, mu) in &points {
            assert!(mu > 0.0, "saddle-node at J̄ = {mu} (g = {g})");
        }
        // Just past the fold two stable states, just before it one: the highest fold at the
        // first column bounds the bistable window from above or below.
        let g = points[0].0;
        let column: Vec<f64> = points.iter().filter(|p| p.0 == g).map(|p| p.1).collect();
        let regions: Vec<(f64, Region)> = column
            .iter()
            .flat_map(|&mu| [mu - 0.05, mu + 0.05])
            .map(|mu| (mu, classify(&cessac(g, 1.0, mu, 2.0, 0.1)).region))
            .collect();
        let counts: Vec<usize> = column
            .iter()
            .flat_map(|&mu| [mu - 0.05, mu + 0.05])
            .map(|mu| classify(&cessac(g, 1.0, mu, 2.0, 0.1)).attractors.len())
            .collect();
        for pair in counts.chunks(2) {
            assert_ne!(pair[0], pair[1], "g = {g}, folds {column:?}: {regions:?}");
        }
    }

    #[test]
    fn chaos_line_on_fixed_points_is_the_critical_line() {
        // (g, θ̄) with J̄ = 0, σ_θ = 0.1: one stable fixed point everywhere below the flip, so
        // the new line is the existing σ²⟨f′²⟩ = 1 (same columns: same x, and y to 1e-6).
        let plane = plane(&["input.std=0.1"]);
        let bif = BifurcationPlane::new(&plane);
        let (x, y) = (
            axis("network.gain", 4.0..16.0),
            axis("input.mean", -0.6..0.6),
        );
        let lines = bif.lines(&x, &y, 16, 0).expect("applies");
        let old = plane.critical_line(&x, &y);
        assert!(!lines.chaos_fixed_point.is_empty());
        let mut checked = 0;
        for &(g, xi) in lines.chaos_fixed_point.iter().flatten() {
            // Near the cusp of the saddle-node lines (g ≈ 4.5, θ̄ ≈ 0.37) two stable branches
            // coexist and the solver's χ may be the other branch's: compare single-branch points.
            if classify(&cessac(g, 1.0, 0.0, -xi, 0.1)).attractors.len() > 1 {
                continue;
            }
            checked += 1;
            let chi = cessac(g, 1.0, 0.0, -xi, 0.1).chaos_indicator();
            assert!((chi - 1.0).abs() < 1e-5, "({g}, {xi}): {chi}");
            // A point of the old line within 1e-4 (64 columns there: compare via χ instead of
            // position when the columns differ).
            let near = old
                .iter()
                .flatten()
                .any(|&(g2, xi2)| (g2 - g).abs() < 0.2 && (xi2 - xi).abs() < 0.05);
            assert!(near, "({g}, {xi}) not near the critical line");
        }
        assert!(
            checked >= 4,
            "only {checked} single-branch points on the chaos line"
        );
    }
}
