//! The edge of chaos along one parameter: where a chaos indicator (the growth factor of a
//! perturbation's squared norm per step, `σ² ⟨f′²⟩` or `g² ⟨tanh′²⟩`) equals 1 as one parameter
//! varies and the others stay fixed.
//!
//! [`unit_crossings`] scans the parameter on a logarithmic grid and bisects every sign change of
//! `indicator − 1` down to adjacent doubles, so a crossing it returns makes the indicator 1 to
//! the accuracy of the indicator itself (about 1e-12 for the mean-field solvers). It is the
//! one-parameter companion of [`super::mean_field::critical_curve`], which traces the same
//! condition over a plane to a looser tolerance (1e-7) for figures.

use rayon::prelude::*;

/// Scan points per decade of [`unit_crossings`]: two crossings closer than a factor
/// `10^(1/8) ≈ 1.33` may be missed.
pub const SCAN_PER_DECADE: usize = 8;
/// Most bisection steps per crossing (it stops earlier, at adjacent doubles).
const MAX_BISECTIONS: usize = 200;
/// A sign change where `indicator` jumps by more than this across the final bracket is a
/// discontinuity (the solver passing from one solution of the mean-field equations to
/// another), not a crossing: the same rule as [`super::mean_field::critical_curve`].
const JUMP: f64 = 1e-3;

/// The crossings of `indicator(p) = 1` for `p` in `[lo, hi]` (`0 < lo < hi`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Crossings {
    /// Where `indicator − 1` changes sign continuously, in increasing order.
    pub roots: Vec<f64>,
    /// Where it jumps across 0 instead (within adjacent doubles), in increasing order.
    pub jumps: Vec<f64>,
    /// Whether the indicator was finite at every scan point.
    pub all_finite: bool,
    /// The indicator at the ends of the range (NaN where it failed): to say on which side of
    /// the edge the whole range lies when there is no crossing.
    pub at_ends: (f64, f64),
}

/// Every crossing of `indicator(p) = 1` in `[lo, hi]`: `indicator` is evaluated at
/// [`SCAN_PER_DECADE`] log-spaced points per decade (both ends included); every sign change of
/// `F = indicator − 1` between two finite neighbours (`F ≤ 0` against `F > 0`) is bisected
/// (in `p`) until the bracket is two adjacent doubles, and its midpoint is a root, or a jump
/// when `F` differs by more than 1e-3 across that bracket. NaN (a failed solve) is skipped:
/// a crossing next to a NaN scan point is missed. Empty for a range that is not
/// `0 < lo < hi < ∞`. The scan runs in parallel (rayon).
pub fn unit_crossings(lo: f64, hi: f64, indicator: impl Fn(f64) -> f64 + Sync) -> Crossings {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Crossings {
            at_ends: (f64::NAN, f64::NAN),
            ..Crossings::default()
        };
    }
    let (a, b) = (lo.log10(), hi.log10());
    let intervals = (((b - a) * SCAN_PER_DECADE as f64).ceil() as usize).max(1);
    let grid: Vec<f64> = (0..=intervals)
        .map(|k| match k {
            0 => lo,
            k if k == intervals => hi,
            k => 10f64.powf(a + (b - a) * k as f64 / intervals as f64),
        })
        .collect();
    let excess = |p: f64| indicator(p) - 1.0;
    let values: Vec<f64> = grid.par_iter().map(|&p| excess(p)).collect();
    let mut found = Crossings {
        all_finite: values.iter().all(|v| v.is_finite()),
        at_ends: (values[0] + 1.0, values[intervals] + 1.0),
        ..Crossings::default()
    };
    for k in 0..intervals {
        let (f_lo, f_hi) = (values[k], values[k + 1]);
        if !(f_lo.is_finite() && f_hi.is_finite()) || (f_lo > 0.0) == (f_hi > 0.0) {
            continue;
        }
        let (mut p_lo, mut p_hi) = (grid[k], grid[k + 1]);
        let (mut e_lo, mut e_hi) = (f_lo, f_hi);
        let mut broken = false;
        for _ in 0..MAX_BISECTIONS {
            let mid = 0.5 * (p_lo + p_hi);
            if mid <= p_lo || mid >= p_hi {
                break;
            }
            let e = excess(mid);
            if !e.is_finite() {
                broken = true;
                break;
            }
            if (e > 0.0) == (e_lo > 0.0) {
                (p_lo, e_lo) = (mid, e);
            } else {
                (p_hi, e_hi) = (mid, e);
            }
        }
        if broken {
            continue;
        }
        let at = 0.5 * (p_lo + p_hi);
        if (e_hi - e_lo).abs() > JUMP {
            found.jumps.push(at);
        } else {
            found.roots.push(at);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_root_to_adjacent_doubles() {
        // p² / 2 = 1 at √2.
        let c = unit_crossings(1e-3, 1e3, |p| p * p / 2.0);
        assert_eq!(c.roots.len(), 1, "{c:?}");
        assert!((c.roots[0] - 2f64.sqrt()).abs() <= 1e-15, "{c:?}");
        assert!(c.jumps.is_empty() && c.all_finite);
        assert!(
            (c.at_ends.0 - 5e-7).abs() < 1e-15 && c.at_ends.1 == 5e5,
            "{c:?}"
        );
    }

    #[test]
    fn several_roots_jumps_nan_and_none() {
        // Crosses 1 at 0.1 (a jump down), 2 (continuously up) and 50 (a jump down).
        let f = |p: f64| {
            if p < 0.1 {
                2.0
            } else if p < 50.0 {
                p / 2.0
            } else {
                0.1
            }
        };
        let c = unit_crossings(1e-3, 1e3, f);
        // Only the continuous one at 2 is a root; 0.1 and 50 are jumps.
        assert_eq!(c.roots.len(), 1, "{c:?}");
        assert!((c.roots[0] - 2.0).abs() < 1e-14, "{c:?}");
        assert_eq!(c.jumps.len(), 2, "{c:?}");
        assert!((c.jumps[0] - 0.1).abs() < 1e-14 && (c.jumps[1] - 50.0).abs() < 1e-12);
        // Never reaching 1, and NaN everywhere.
        let none = unit_crossings(1e-3, 1e3, |_| 0.5);
        assert!(none.roots.is_empty() && none.jumps.is_empty() && none.all_finite);
        let nan = unit_crossings(1e-3, 1e3, |_| f64::NAN);
        assert!(nan.roots.is_empty() && !nan.all_finite);
        // A bad range.
        assert!(unit_crossings(0.0, 1.0, |p| p).roots.is_empty());
        assert!(unit_crossings(2.0, 1.0, |p| p).roots.is_empty());
    }
}
