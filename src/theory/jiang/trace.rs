//! The curves `L = 0` of a level function on the log-polar plane `g = e^{s + iψ}`, by continuation
//! (models/jiang.md §5.1, curves (B)), seeded by the real roots and by a coarse marching-squares
//! grid (curves (A)) for curves that do not cross the real axis.
//!
//! Why continuation: near a zero of Λ on the circle the singular curve `g = 1/Λ(θ)` (where
//! F = ∞) runs to g → ∞, and the boundary's branches that reach z = 0 hug it on both sides, a band
//! of constant width in g, so of width ∝ 1/|g| in ψ: any fixed grid merges the two edges of the
//! band beyond some |g| and joins loops that are not joined. A predictor–corrector walk along
//! one curve, its steps limited by the turn of the tangent and the size of the correction,
//! stays on its own edge.
//!
//! The level function is symmetric, `L(s, −ψ) = L(s, ψ)` (real couplings: F(ḡ) = F(g)), so every
//! curve is traced in the upper half plane 0 ≤ ψ ≤ π and mirrored.

use super::level_set::{contour_chains, project, Grid};

/// How an arc of a curve ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum End {
    /// On the real axis (ψ = 0 or π).
    Axis,
    /// At `s = s_max`: a branch to g → ∞ (z → 0).
    Infinity,
    /// Back at its start: a closed curve in the upper half plane.
    Closed,
    /// The continuation failed (steps below 1e-10).
    Failed,
}

/// A curve of `L = 0` in the upper half plane, with how its two ends end.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Arc {
    pub points: Vec<(f64, f64)>,
    pub start: End,
    pub end: End,
}

/// Largest step, in units of (s, ψ).
const MAX_STEP: f64 = 0.01;
/// Largest turn of the tangent per step, radians.
const MAX_TURN: f64 = 0.1;
/// Roots on the axis: a scan of this many points in s, then bisection.
const AXIS_SCAN: usize = 3000;

/// The gradient of `level` at (s, ψ), central differences.
fn gradient(level: &impl Fn(f64, f64) -> f64, s: f64, psi: f64) -> Option<(f64, f64)> {
    let h = 1e-6;
    let ds = (level(s + h, psi) - level(s - h, psi)) / (2.0 * h);
    let dpsi = (level(s, psi + h) - level(s, psi - h)) / (2.0 * h);
    let norm = ds.hypot(dpsi);
    (norm.is_finite() && norm > 0.0).then_some((ds, dpsi))
}

/// Newton's correction along the gradient onto `level = 0`, at most 12 steps: converged when
/// |level| < 1e-12, or when the step falls below 1e-11 with |level| < 1e-7 (far out on the branches
/// that run to z = 0 the level is only known to ~1e-9: see `Averages::resolvent_moments`).
fn correct(level: &impl Fn(f64, f64) -> f64, start: (f64, f64)) -> Option<(f64, f64)> {
    let (mut s, mut psi) = start;
    for _ in 0..12 {
        let l = level(s, psi);
        if !l.is_finite() {
            return None;
        }
        if l.abs() < 1e-12 {
            return Some((s, psi));
        }
        let (ds, dpsi) = gradient(level, s, psi)?;
        let n2 = ds * ds + dpsi * dpsi;
        let (step_s, step_psi) = (l * ds / n2, l * dpsi / n2);
        s -= step_s;
        psi -= step_psi;
        if step_s.hypot(step_psi) < 1e-11 && l.abs() < 1e-7 {
            return Some((s, psi));
        }
    }
    None
}

/// The unit tangent at a point on the curve (the gradient turned by +90°).
fn tangent(level: &impl Fn(f64, f64) -> f64, p: (f64, f64)) -> Option<(f64, f64)> {
    let (ds, dpsi) = gradient(level, p.0, p.1)?;
    let n = ds.hypot(dpsi);
    Some((-dpsi / n, ds / n))
}

/// The root of `level` on the axis line `ψ = psi` between `s_a` and `s_b` (bisection).
fn axis_root(level: &impl Fn(f64, f64) -> f64, psi: f64, s_a: f64, s_b: f64) -> Option<f64> {
    let (mut a, mut b) = (s_a.min(s_b), s_a.max(s_b));
    let (la, lb) = (level(a, psi), level(b, psi));
    if (la > 0.0) == (lb > 0.0) {
        return None;
    }
    let positive_at_a = la > 0.0;
    for _ in 0..100 {
        let m = 0.5 * (a + b);
        if (level(m, psi) > 0.0) == positive_at_a {
            a = m;
        } else {
            b = m;
        }
        if b - a < 1e-15 * (1.0 + a.abs()) {
            break;
        }
    }
    Some(0.5 * (a + b))
}

/// The roots of `level` on the real axis: `(s, ψ)` with ψ = 0 (g > 0) or ψ = π (g < 0).
fn axis_roots(level: &impl Fn(f64, f64) -> f64, s_min: f64, s_max: f64) -> Vec<(f64, f64)> {
    let mut roots = Vec::new();
    for psi in [0.0, std::f64::consts::PI] {
        let s = |k: usize| s_min + (s_max - s_min) * k as f64 / AXIS_SCAN as f64;
        let mut previous = level(s(0), psi);
        for k in 1..=AXIS_SCAN {
            let current = level(s(k), psi);
            if (previous > 0.0) != (current > 0.0) {
                if let Some(root) = axis_root(level, psi, s(k - 1), s(k)) {
                    roots.push((root, psi));
                }
            }
            previous = current;
        }
    }
    roots
}

/// Walk along the curve from `start` in the direction `direction` (a unit tangent), in the upper
/// half plane, until it reaches the axis, s_max, or comes back to `close_to` (when given).
fn walk(
    level: &impl Fn(f64, f64) -> f64,
    start: (f64, f64),
    direction: (f64, f64),
    s_max: f64,
    close_to: Option<(f64, f64)>,
) -> (Vec<(f64, f64)>, End) {
    let mut points = vec![start];
    let mut p = start;
    let mut t = direction;
    let mut h = 0.1 * MAX_STEP;
    let mut travelled = 0.0;
    let pi = std::f64::consts::PI;
    for _ in 0..200_000 {
        if h < 1e-10 {
            return (points, End::Failed);
        }
        let predicted = (p.0 + h * t.0, p.1 + h * t.1);
        let Some(q) = correct(level, predicted) else {
            h *= 0.5;
            continue;
        };
        let moved = (q.0 - p.0).hypot(q.1 - p.1);
        let correction = (q.0 - predicted.0).hypot(q.1 - predicted.1);
        let Some(mut tq) = tangent(level, q) else {
            h *= 0.5;
            continue;
        };
        if tq.0 * t.0 + tq.1 * t.1 < 0.0 {
            tq = (-tq.0, -tq.1);
        }
        let turn = (tq.0 * t.0 + tq.1 * t.1).clamp(-1.0, 1.0).acos();
        if correction > 0.3 * h || turn > MAX_TURN || moved < 0.5 * h {
            h *= 0.5;
            continue;
        }
        // The axis: stop on it (the root there by bisection along the axis).
        if q.1 <= 0.0 || q.1 >= pi {
            if points.len() == 1 {
                // Still at the start on the axis: the step left the half plane at once.
                h *= 0.5;
                continue;
            }
            let psi = if q.1 <= 0.0 { 0.0 } else { pi };
            let s_cross = p.0 + (q.0 - p.0) * (psi - p.1) / (q.1 - p.1);
            let root = axis_root(level, psi, s_cross - 4.0 * h, s_cross + 4.0 * h).unwrap_or(s_cross);
            points.push((root, psi));
            return (points, End::Axis);
        }
        if q.0 >= s_max {
            points.push(q);
            return (points, End::Infinity);
        }
        travelled += moved;
        if let Some(c) = close_to {
            if travelled > 4.0 * MAX_STEP && (q.0 - c.0).hypot(q.1 - c.1) < 1.5 * h.max(moved) {
                return (points, End::Closed);
            }
        }
        points.push(q);
        p = q;
        t = tq;
        if turn < 0.3 * MAX_TURN && correction < 0.05 * h {
            h = (1.5 * h).min(MAX_STEP);
        }
    }
    (points, End::Failed)
}

/// Every curve of `level = 0` in the upper half plane between `s_min` and `s_max`: from each root
/// on the axis (a curve through two roots is traced once), then from the points of a coarse
/// marching-squares grid farther than 3 cells from every traced curve (curves off the axis).
pub(crate) fn trace_curves(level: impl Fn(f64, f64) -> f64, s_min: f64, s_max: f64) -> Vec<Arc> {
    let pi = std::f64::consts::PI;
    let roots = axis_roots(&level, s_min, s_max);
    let mut used = vec![false; roots.len()];
    let mut arcs: Vec<Arc> = Vec::new();
    for k in 0..roots.len() {
        if used[k] {
            continue;
        }
        used[k] = true;
        let start = roots[k];
        let Some(mut t) = tangent(&level, start) else {
            continue;
        };
        // Into the upper half plane: ψ increasing from 0, decreasing from π.
        let inward = if start.1 == 0.0 { t.1 } else { -t.1 };
        if inward < 0.0 {
            t = (-t.0, -t.1);
        }
        let (points, end) = walk(&level, start, t, s_max, None);
        if end == End::Axis {
            if let Some(&last) = points.last() {
                if let Some(j) = (0..roots.len())
                    .filter(|&j| !used[j] && roots[j].1 == last.1)
                    .min_by(|&a, &b| (roots[a].0 - last.0).abs().total_cmp(&(roots[b].0 - last.0).abs()))
                {
                    if (roots[j].0 - last.0).abs() < 1e-6 {
                        used[j] = true;
                    }
                }
            }
        }
        arcs.push(Arc {
            points,
            start: End::Axis,
            end,
        });
    }
    // Curves that do not cross the axis: seeds from a coarse grid.
    let grid = Grid {
        s_min,
        s_max,
        ns: 100,
        npsi: 256,
    };
    let cell = grid.cell();
    for chain in contour_chains(&grid, &level) {
        for &seed in &chain.points {
            if !(seed.1 > 2.0 * cell && seed.1 < pi - 2.0 * cell) {
                continue;
            }
            let covered = arcs
                .iter()
                .flat_map(|a| a.points.iter())
                .any(|p| (p.0 - seed.0).hypot(p.1 - seed.1) < 3.0 * cell);
            if covered {
                continue;
            }
            let Some(start) = project(seed, cell, &level) else {
                continue;
            };
            let Some(t) = tangent(&level, start) else {
                continue;
            };
            let (forward, end) = walk(&level, start, t, s_max, Some(start));
            if end == End::Closed {
                arcs.push(Arc {
                    points: forward,
                    start: End::Closed,
                    end: End::Closed,
                });
                continue;
            }
            let (backward, start_end) = walk(&level, start, (-t.0, -t.1), s_max, None);
            let mut points: Vec<(f64, f64)> = backward.into_iter().rev().collect();
            points.extend(forward.into_iter().skip(1));
            arcs.push(Arc {
                points,
                start: start_end,
                end,
            });
        }
    }
    arcs
}
