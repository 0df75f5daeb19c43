//! The support of the limiting spectrum: its boundary loops (eq (6)) assembled from the traced
//! curves of F = 1, with what follows from them: the drawn polylines, the eigenvalue fraction
//! inside each loop, inside/outside, the density (via [`super::interior`]) and the rightmost
//! point.

use num_complex::Complex64;

use super::trace::{self, End};
use super::{interior, level_set, Averages, SequenceCouplings};

/// One closed loop of the boundary: its points z and their values of g (eq (6)).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct EdgeLoop {
    pub(super) z: Vec<Complex64>,
    pub(super) g: Vec<Complex64>,
    /// A branch with g → ∞ at both ends: the loop is closed through z = 0.
    pub(super) through_origin: bool,
}

impl EdgeLoop {
    /// The drawn polyline: closed, through 0 where the branch runs there.
    pub(super) fn polyline(&self) -> Vec<Complex64> {
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
    pub(super) fn signed_area(&self) -> f64 {
        let p = self.polyline();
        p.windows(2)
            .map(|w| w[0].re * w[1].im - w[1].re * w[0].im)
            .sum()
    }
}

/// The loops of the boundary: the curves of `ln F = 0` between `s_min` and `s_max`
/// ([`trace::trace_curves`]), mapped by `edge` (which gives F and z at g), completed by their
/// mirror images (`z(ḡ) = conj z(g)`), oriented counter-clockwise and sorted by area, largest
/// first.
pub(super) fn trace_loops(
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
                let back: Vec<_> = points[1..n.saturating_sub(1)]
                    .iter()
                    .rev()
                    .map(mirror)
                    .collect();
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
                if z.last()
                    .is_some_and(|&last: &Complex64| (last - zk).norm() <= 1e-15 * zk.norm())
                {
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
    pub(super) couplings: SequenceCouplings,
    pub(super) loops: Vec<EdgeLoop>,
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
    /// by the chord between its ends near 0 (|g| = 10⁴/max|Λ|), which costs ~10⁻⁵ (∝ 1/|g| at
    /// the cut: 10⁻⁴ with 10³); the trapezoidal rule, ~10⁻⁵ (steps of 0.01 in ln g).
    /// Self-intersecting loops count with their winding number.
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
    pub(super) fn largest_step_growth(&self, leak: f64) -> f64 {
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
pub(super) fn refine_rightmost(
    loops: &[EdgeLoop],
    edge: impl Fn(Complex64) -> Option<(f64, Complex64)>,
) -> f64 {
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
pub(super) fn inside_polygon(polygon: &[Complex64], z: Complex64) -> bool {
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
