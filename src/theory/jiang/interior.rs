//! Inside the support: eq (7) and the density (8) (models/jiang.md §5.1).
//!
//! With `v = −u > 0` and `Δ(θ) = |1 − Λg|² + v|Λ|²`, the unknowns `(Re g, Im g, v)` solve the three
//! real equations
//!
//! ```text
//! (7)  α⟨Λ/Δ⟩ = z,    α(|g|² + v)⟨|Λ|²/Δ⟩ = 1,
//! ```
//!
//! which at v = 0 are the boundary equations (6). A point inside is reached from the nearest
//! boundary point (whose g is known, v = 0) by continuation along the segment between them,
//! Newton-corrected at each step. The density is `ρ = (1/π) ∂g/∂z̄ = (1/2π)(∂_x Re g − ∂_y Im g)`
//! (8); the derivatives come from the implicit-function theorem on (7): with `K` the inverse of
//! the Jacobian of (7) in `(Re g, Im g, v)`, `∂_x Re g = K₀₀` and `∂_y Im g = K₁₁`.

use num_complex::Complex64;

use super::{Averages, EdgeLoop};

/// A root of (7).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Root {
    g: Complex64,
    v: f64,
}

/// The residual of (7) at `(g, v)` for the target z: `[Re, Im of α⟨Λ/Δ⟩ − z, α(|g|²+v)⟨|Λ|²/Δ⟩ − 1]`.
fn residual(averages: &Averages, z: Complex64, root: Root) -> Option<[f64; 3]> {
    let (zz, weight) = averages.interior(root.g, root.v)?;
    let r = [zz.re - z.re, zz.im - z.im, weight - 1.0];
    r.iter().all(|x| x.is_finite()).then_some(r)
}

/// The Jacobian of the residual in `(Re g, Im g, v)`, central differences.
fn jacobian(averages: &Averages, z: Complex64, root: Root) -> Option<[[f64; 3]; 3]> {
    let hg = 1e-7 * (1.0 + root.g.norm());
    let hv = 1e-7 * (root.g.norm_sqr() + root.v).max(1e-12);
    let mut jac = [[0.0; 3]; 3];
    for k in 0..3 {
        let shift = |sign: f64| match k {
            0 => Root {
                g: root.g + sign * hg,
                ..root
            },
            1 => Root {
                g: root.g + Complex64::new(0.0, sign * hg),
                ..root
            },
            _ => Root {
                v: root.v + sign * hv,
                ..root
            },
        };
        let h = if k == 2 { hv } else { hg };
        let plus = residual(averages, z, shift(1.0))?;
        let minus = residual(averages, z, shift(-1.0))?;
        for row in 0..3 {
            jac[row][k] = (plus[row] - minus[row]) / (2.0 * h);
        }
    }
    Some(jac)
}

/// `a⁻¹` of a 3×3 matrix (cofactors); `None` if singular.
fn inverse(a: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let cof = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        a[r1][c1] * a[r2][c2] - a[r1][c2] * a[r2][c1]
    };
    let det = a[0][0] * cof(0, 0) + a[0][1] * cof(0, 1) + a[0][2] * cof(0, 2);
    if !(det.is_finite() && det != 0.0) {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (r, row) in inv.iter_mut().enumerate() {
        for (c, x) in row.iter_mut().enumerate() {
            *x = cof(c, r) / det;
        }
    }
    Some(inv)
}

fn norm(r: [f64; 3], z_scale: f64) -> f64 {
    (r[0].hypot(r[1]) / z_scale).max(r[2].abs())
}

/// Newton on (7) from `start`, damped (halved steps until the residual decreases and v ≥ 0).
fn newton(averages: &Averages, z: Complex64, start: Root, z_scale: f64) -> Option<Root> {
    let mut root = start;
    let mut r = residual(averages, z, root)?;
    for _ in 0..30 {
        if norm(r, z_scale) < 1e-12 {
            return Some(root);
        }
        let k = inverse(jacobian(averages, z, root)?)?;
        let step: [f64; 3] = std::array::from_fn(|i| -(0..3).map(|j| k[i][j] * r[j]).sum::<f64>());
        let mut damping = 1.0;
        loop {
            let trial = Root {
                g: root.g + damping * Complex64::new(step[0], step[1]),
                v: root.v + damping * step[2],
            };
            if trial.v >= 0.0 {
                if let Some(rt) = residual(averages, z, trial) {
                    if norm(rt, z_scale) < norm(r, z_scale) {
                        root = trial;
                        r = rt;
                        break;
                    }
                }
            }
            damping *= 0.5;
            if damping < 1e-6 {
                return None;
            }
        }
    }
    (norm(r, z_scale) < 1e-9).then_some(root)
}

/// Continuation of (7) from the boundary point `from` (where `(g, v) = (start.g, 0)`) to `to`
/// along the segment: adaptive steps, secant predictor, Newton corrector.
fn continue_inward(averages: &Averages, from: Complex64, start: Root, to: Complex64) -> Option<Root> {
    let z_scale = from.norm().max(to.norm()).max(1e-300);
    let at = |tau: f64| from + tau * (to - from);
    let (mut tau, mut step) = (0.0_f64, 0.125_f64);
    let mut root = start;
    let mut previous: Option<(f64, Root)> = None;
    for _ in 0..400 {
        if tau >= 1.0 {
            return Some(root);
        }
        let next = (tau + step).min(1.0);
        let guess = match previous {
            Some((tau0, root0)) => {
                let f = (next - tau) / (tau - tau0);
                Root {
                    g: root.g + f * (root.g - root0.g),
                    v: (root.v + f * (root.v - root0.v)).max(0.0),
                }
            }
            None => root,
        };
        match newton(averages, at(next), guess, z_scale) {
            Some(found) => {
                previous = Some((tau, root));
                root = found;
                tau = next;
                step *= 1.5;
            }
            None => {
                step *= 0.5;
                if step < 1e-5 {
                    return None;
                }
            }
        }
    }
    None
}

/// `ρ(z)` for z inside the support: the root of (7) continued from the nearest boundary points
/// (up to four tries, nearest first, distinct loops or far-apart points), then (8).
pub(super) fn density(averages: &Averages, loops: &[EdgeLoop], z: Complex64) -> Option<f64> {
    let mut candidates: Vec<(f64, Complex64, Complex64)> = loops
        .iter()
        .flat_map(|l| l.z.iter().zip(&l.g).map(|(&zb, &gb)| ((zb - z).norm(), zb, gb)))
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut tried: Vec<Complex64> = Vec::new();
    for &(distance, zb, gb) in &candidates {
        if tried.len() >= 4 {
            break;
        }
        if tried.iter().any(|&t| (t - zb).norm() < 0.25 * distance) {
            continue;
        }
        tried.push(zb);
        let Some(root) = continue_inward(averages, zb, Root { g: gb, v: 0.0 }, z) else {
            continue;
        };
        if root.v <= 0.0 {
            continue;
        }
        let k = inverse(jacobian(averages, z, root)?)?;
        return Some((k[0][0] - k[1][1]) / std::f64::consts::TAU);
    }
    None
}
