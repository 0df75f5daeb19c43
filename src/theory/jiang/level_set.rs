//! The contour `L = 0` of a function on a log-polar grid `g = e^{s + iψ}` (models/jiang.md §5.1,
//! curves (A)): marching squares on the cylinder (ψ periodic), segments joined into chains, each
//! point then Newton-projected onto `L = 0` along `∇L`.
//!
//! A chain is closed (a loop in the g-plane, winding around 0 or not), or open with both ends on
//! the grid's edges `s = s_min` or `s = s_max` (a branch running to `g → ∞`, which reaches `z = 0`:
//! §5.1, "Cut curves running into z = 0 at large |g|").

/// The grid: `ns` values of `s` from `s_min` to `s_max`, `npsi` values of `ψ` on `[0, 2π)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Grid {
    pub s_min: f64,
    pub s_max: f64,
    pub ns: usize,
    pub npsi: usize,
}

impl Grid {
    pub fn s(&self, i: usize) -> f64 {
        self.s_min + (self.s_max - self.s_min) * i as f64 / (self.ns - 1) as f64
    }

    pub fn psi(&self, j: usize) -> f64 {
        std::f64::consts::TAU * j as f64 / self.npsi as f64
    }

    /// The larger of the two cell sides.
    pub fn cell(&self) -> f64 {
        ((self.s_max - self.s_min) / (self.ns - 1) as f64).max(std::f64::consts::TAU / self.npsi as f64)
    }
}

/// A chain of contour points `(s, ψ)`, in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Chain {
    pub points: Vec<(f64, f64)>,
    /// A loop (the last point joins the first).
    pub closed: bool,
    /// Open, with an end on `s = s_max` (a branch to `g → ∞`).
    pub reaches_s_max: bool,
}

/// Level values are clamped to this magnitude (and NaN read as its positive) before the
/// interpolation of the crossing points, so that a vertex at `L = ±∞` puts the crossing on its
/// finite neighbour.
const CLAMP: f64 = 50.0;

/// The chains of `level = 0` on `grid` (`level(s, ψ)`; positive, NaN and +∞ are one side).
pub(crate) fn contour_chains(grid: &Grid, level: impl Fn(f64, f64) -> f64) -> Vec<Chain> {
    let (ns, np) = (grid.ns, grid.npsi);
    let values: Vec<f64> = (0..ns * np)
        .map(|k| {
            let v = level(grid.s(k / np), grid.psi(k % np));
            if v.is_nan() {
                CLAMP
            } else {
                v.clamp(-CLAMP, CLAMP)
            }
        })
        .collect();
    let value = |i: usize, j: usize| values[i * np + j % np];
    let positive = |i: usize, j: usize| value(i, j) > 0.0;
    // Edge ids: radial edge (i, j)–(i+1, j) is 2(i·np + j); angular edge (i, j)–(i, j+1) is
    // 2(i·np + j) + 1.
    let radial = |i: usize, j: usize| 2 * (i * np + j % np);
    let angular = |i: usize, j: usize| 2 * (i * np + j % np) + 1;
    let none = usize::MAX;
    let mut links = vec![[none; 2]; 2 * ns * np];
    let mut link = |a: usize, b: usize| {
        for (x, y) in [(a, b), (b, a)] {
            let slot = &mut links[x];
            if slot[0] == none {
                slot[0] = y;
            } else {
                slot[1] = y;
            }
        }
    };
    for i in 0..ns - 1 {
        for j in 0..np {
            // Corners counter-clockwise in the (s, ψ) plane and the edges between them.
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let edges = [radial(i, j), angular(i + 1, j), radial(i, j + 1), angular(i, j)];
            let signs = corners.map(|(a, b)| positive(a, b));
            let crossing: Vec<usize> = (0..4).filter(|&k| signs[k] != signs[(k + 1) % 4]).collect();
            match crossing.len() {
                2 => link(edges[crossing[0]], edges[crossing[1]]),
                4 => {
                    // Saddle: the centre (mean of the corners) decides which pair of opposite
                    // corners is joined.
                    let centre = corners.iter().map(|&(a, b)| value(a, b)).sum::<f64>() > 0.0;
                    if centre == signs[0] {
                        // Corners 0 and 2 joined: cut off corners 1 and 3.
                        link(edges[0], edges[1]);
                        link(edges[2], edges[3]);
                    } else {
                        link(edges[3], edges[0]);
                        link(edges[1], edges[2]);
                    }
                }
                _ => {}
            }
        }
    }
    let point = |edge: usize| -> (f64, f64) {
        let k = edge / 2;
        let (i, j) = (k / np, k % np);
        let (i2, j2) = if edge % 2 == 0 { (i + 1, j) } else { (i, j + 1) };
        let (v0, v1) = (value(i, j), value(i2, j2));
        let t = v0 / (v0 - v1);
        if edge % 2 == 0 {
            (grid.s(i) + t * (grid.s(i2) - grid.s(i)), grid.psi(j))
        } else {
            (grid.s(i), grid.psi(j) + t * (std::f64::consts::TAU / np as f64))
        }
    };
    let degree = |e: usize| links[e].iter().filter(|&&x| x != none).count();
    let mut visited = vec![false; links.len()];
    let mut chains = Vec::new();
    // Open chains first (from an end), then loops.
    for pass in 0..2 {
        for start in 0..links.len() {
            let wanted = if pass == 0 { 1 } else { 2 };
            if visited[start] || degree(start) != wanted {
                continue;
            }
            let mut edges = vec![start];
            visited[start] = true;
            let mut current = start;
            while let Some(&next) = links[current].iter().find(|&&x| x != none && !visited[x]) {
                visited[next] = true;
                edges.push(next);
                current = next;
            }
            let at_s_max = |e: usize| e % 2 == 1 && (e / 2) / np == ns - 1;
            let reaches_s_max = pass == 0 && (at_s_max(start) || at_s_max(current));
            chains.push(Chain {
                points: edges.iter().map(|&e| point(e)).collect(),
                closed: pass == 1,
                reaches_s_max,
            });
        }
    }
    chains
}

/// Newton projection of `(s, ψ)` onto `level = 0` along the gradient (central differences),
/// steps capped at `max_step`; `None` if `|level|` is not below 1e-10 after 40 steps.
pub(crate) fn project(
    start: (f64, f64),
    max_step: f64,
    level: impl Fn(f64, f64) -> f64,
) -> Option<(f64, f64)> {
    let (mut s, mut psi) = start;
    let h = 1e-6;
    for _ in 0..40 {
        let l = level(s, psi);
        if !l.is_finite() {
            return None;
        }
        if l.abs() < 1e-13 {
            return Some((s, psi));
        }
        let ds = (level(s + h, psi) - level(s - h, psi)) / (2.0 * h);
        let dpsi = (level(s, psi + h) - level(s, psi - h)) / (2.0 * h);
        let norm2 = ds * ds + dpsi * dpsi;
        if !(norm2.is_finite() && norm2 > 0.0) {
            return None;
        }
        let (mut step_s, mut step_psi) = (-l * ds / norm2, -l * dpsi / norm2);
        let length = step_s.hypot(step_psi);
        if length > max_step {
            step_s *= max_step / length;
            step_psi *= max_step / length;
        }
        s += step_s;
        psi += step_psi;
    }
    (level(s, psi).abs() < 1e-10).then_some((s, psi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two circles |g| = 1 and |g| = 3 (two loops winding around 0) and a small disc off
    /// the origin (a loop that does not).
    #[test]
    fn circles_and_a_disc_give_three_loops() {
        let grid = Grid {
            s_min: -2.0,
            s_max: 2.0,
            ns: 81,
            npsi: 128,
        };
        let level = |s: f64, psi: f64| {
            let g = num_complex::Complex64::from_polar(s.exp(), psi);
            let annulus = (g.norm() - 1.0) * (3.0 - g.norm());
            let disc = 0.3 - (g - num_complex::Complex64::new(0.0, 2.0)).norm();
            annulus.min(-disc)
        };
        let chains = contour_chains(&grid, level);
        assert_eq!(chains.len(), 3, "{chains:?}");
        assert!(chains.iter().all(|c| c.closed && !c.reaches_s_max));
        for chain in &chains {
            for &(s, psi) in &chain.points {
                let p = project((s, psi), 0.1, level).expect("projects");
                assert!(level(p.0, p.1).abs() < 1e-10);
            }
        }
    }

    /// A ray-like band running to s_max gives one open chain with both ends there.
    #[test]
    fn a_branch_to_infinity_is_an_open_chain() {
        let grid = Grid {
            s_min: -2.0,
            s_max: 3.0,
            ns: 60,
            npsi: 90,
        };
        // Positive for |ψ − π| < 0.3 + e^{−s}: a wedge narrowing as s grows.
        let level = |s: f64, psi: f64| 0.3 + (-s).exp() - (psi - std::f64::consts::PI).abs();
        let chains = contour_chains(&grid, level);
        assert_eq!(chains.len(), 1, "{chains:?}");
        assert!(!chains[0].closed && chains[0].reaches_s_max);
    }
}
