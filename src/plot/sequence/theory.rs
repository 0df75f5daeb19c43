//! The theory the Jiang figures draw (models/jiang.md §5–§6, `crate::theory::jiang`), in the
//! plot's terms: loops as (Re z, Im z) polylines, curves in axis values, and why a curve is
//! absent.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

use num_complex::Complex64;
use rayon::prelude::*;

use super::Setting;
use crate::plot::data::{Axis, Spacing};
use crate::theory::plane::{cell_edges, scale_maps};

use crate::theory::jiang::{self as upstream, critical_heteroassociation, SequenceCouplings};

/// A closed polyline in the complex plane.
pub type Loop = Vec<(f64, f64)>;

/// Points of a theory curve across an axis.
pub const CURVE_POINTS: usize = 60;

fn couplings(s: &Setting) -> SequenceCouplings {
    SequenceCouplings {
        load: s.load,
        autoassociation: s.autoassociation,
        heteroassociation: s.heteroassociation,
        depth: s.depth,
        backward: s.backward,
    }
}

fn to_loop(points: &[Complex64]) -> Loop {
    points.iter().map(|z| (z.re, z.im)).collect()
}

/// Why there is no theory for `s`, if there is none.
pub fn applies(s: &Setting) -> std::result::Result<(), String> {
    match &s.no_theory {
        Some(why) => Err(format!("the theory (§5) does not hold for {why}")),
        None => Ok(()),
    }
}

/// Every boundary loop of the support of J's spectrum, eq. (6), nested voids included.
pub fn boundary(s: &Setting) -> std::result::Result<Vec<Loop>, String> {
    applies(s)?;
    let loops: Vec<Loop> = couplings(s).boundary().iter().map(|l| to_loop(l)).collect();
    if loops.is_empty() {
        return Err("the theory found no boundary for these couplings".into());
    }
    Ok(loops)
}

/// The boundary of the spectrum of J·diag(φ′(h)), h_i ~ N(0, `variance`), eqs. (10).
pub fn jacobian_boundary(s: &Setting, variance: f64) -> std::result::Result<Vec<Loop>, String> {
    applies(s)?;
    let loops: Vec<Loop> = couplings(s)
        .jacobian_boundary(variance)
        .iter()
        .map(|l| to_loop(l))
        .collect();
    if loops.is_empty() {
        return Err("the theory found no boundary for these couplings and σ²".into());
    }
    Ok(loops)
}

/// (α, c, γ, d, b) as bits: the key of the caches below.
type Key = [u64; 5];

fn key(s: &Setting, gamma: f64) -> Key {
    [
        s.load.to_bits(),
        s.autoassociation.to_bits(),
        gamma.to_bits(),
        s.depth as u64,
        s.backward.to_bits(),
    ]
}

/// `compute()`, remembered under `k` for the rest of the process (the same x_R and γ_c are
/// asked for by several figures of a sweep: the right edge, the transition, the slices, every
/// heat map).
fn remembered<T: Copy>(
    cache: &'static OnceLock<Mutex<HashMap<Key, T>>>,
    k: Key,
    compute: impl FnOnce() -> T,
) -> T {
    let map = cache.get_or_init(Mutex::default);
    if let Some(v) = map.lock().ok().and_then(|m| m.get(&k).copied()) {
        return v;
    }
    let v = compute();
    if let Ok(mut m) = map.lock() {
        m.insert(k, v);
    }
    v
}

/// x_R of the couplings of `s` (NaN where the theory has none).
pub fn right_edge(s: &Setting) -> f64 {
    static CACHE: OnceLock<Mutex<HashMap<Key, f64>>> = OnceLock::new();
    if s.no_theory.is_some() {
        return f64::NAN;
    }
    remembered(&CACHE, key(s, s.heteroassociation), || {
        couplings(s).right_edge()
    })
}

/// γ_c at the α, c, d, b of `s`: where x_R = 1 (h = 0 loses stability, §6).
pub fn gamma_c(s: &Setting) -> Option<f64> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Option<f64>>>> = OnceLock::new();
    if s.no_theory.is_some() {
        return None;
    }
    remembered(&CACHE, key(s, 0.0), || {
        critical_heteroassociation(s.load, s.autoassociation, s.depth, s.backward)
    })
}

/// `f(s with key = v)` for each of `values`, in parallel: `(v, f)`.
pub fn along(
    s: &Setting,
    key: &str,
    values: &[f64],
    f: impl Fn(&Setting) -> f64 + Sync,
) -> Vec<(f64, f64)> {
    values
        .par_iter()
        .map(|&v| (v, f(&with(s, key, v))))
        .collect()
}

/// (r_in, r_out) of J's annulus for c = 0, d = 1 (§5.2).
pub fn radii(s: &Setting) -> Option<(f64, f64)> {
    if !s.closed_form() || s.no_theory.is_some() {
        return None;
    }
    upstream::ring::radii(s.load, s.heteroassociation)
}

/// (R_in, R_out) of the Jacobian's annulus for c = 0, d = 1, eqs. (11)–(12).
pub fn jacobian_radii(s: &Setting, variance: f64) -> Option<(f64, f64)> {
    if !s.closed_form() || s.no_theory.is_some() {
        return None;
    }
    upstream::jacobian_radii(s.load, s.heteroassociation, variance)
}

/// The plateau variance of §6 (c = 0, d = 1): σ_r² where the Jacobian's right edge is 1.
pub fn plateau_variance(s: &Setting) -> Option<f64> {
    if !s.closed_form() || s.no_theory.is_some() {
        return None;
    }
    upstream::plateau_variance(s.load, s.heteroassociation)
}

/// `s` with the config key `key` set to `v` (the keys of a Jiang sweep's axes).
pub fn with(s: &Setting, key: &str, v: f64) -> Setting {
    let mut s = s.clone();
    match key {
        "jiang.load" => s.load = v,
        "jiang.autoassociation" => s.autoassociation = v,
        "jiang.heteroassociation" => s.heteroassociation = v,
        "jiang.depth" => s.depth = v.round().max(1.0) as usize,
        "jiang.backward" => s.backward = v,
        "jiang.leak" => s.leak = v,
        "initial_state.std" => s.variance = Some(v * v),
        _ => {}
    }
    s
}

/// The extent of an axis as a heat map draws it (its cells), and whether it is logarithmic.
pub fn axis_extent(axis: &Axis) -> (Range<f64>, bool) {
    let log = axis.spacing == Spacing::Log;
    let (_, from) = scale_maps(log);
    let (_, edges) = cell_edges(&axis.values, log);
    (from(edges[0])..from(edges[edges.len() - 1]), log)
}

/// `n` values spread evenly over `range` (in log10 when `log`).
pub fn spread(range: &Range<f64>, log: bool, n: usize) -> Vec<f64> {
    let (to, from) = scale_maps(log);
    let (a, b) = (to(range.start), to(range.end));
    (0..n)
        .map(|k| from(a + (b - a) * k as f64 / (n.max(2) - 1) as f64))
        .collect()
}

/// The keys on which γ_c depends (besides which it is a number).
const GAMMA_C_KEYS: [&str; 4] = [
    "jiang.load",
    "jiang.autoassociation",
    "jiang.depth",
    "jiang.backward",
];

/// The heat maps' theory line: γ_c against the other axis of a plane that has
/// `jiang.heteroassociation` as one axis and α, c or b as the other, at the slice `fixed`.
#[allow(clippy::type_complexity)]
pub fn plane_line(
    base: &Setting,
    fixed: &[(&str, f64)],
    x: &Axis,
    y: &Axis,
) -> std::result::Result<(Vec<Vec<(f64, f64)>>, String), String> {
    let gamma_key = "jiang.heteroassociation";
    let (other, gamma_axis, gamma_is_y) = if y.key == gamma_key {
        (x, y, true)
    } else if x.key == gamma_key {
        (y, x, false)
    } else {
        return Err(format!(
            "the theory line γ_c needs {gamma_key} as an axis of the map (here {} and {})",
            x.key, y.key
        ));
    };
    if !GAMMA_C_KEYS[..2].contains(&other.key.as_str()) && other.key != "jiang.backward" {
        return Err(format!(
            "γ_c is drawn against jiang.load, jiang.autoassociation or jiang.backward, not {}",
            other.key
        ));
    }
    let mut s = base.clone();
    for (key, v) in fixed {
        s = with(&s, key, *v);
    }
    applies(&s)?;
    let (range, log) = axis_extent(other);
    let (gamma_range, _) = axis_extent(gamma_axis);
    let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let values = spread(&range, log, CURVE_POINTS);
    let critical = along(&s, &other.key, &values, |s| gamma_c(s).unwrap_or(f64::NAN));
    for (u, g) in critical {
        match g {
            g if gamma_range.contains(&g) => {
                let p = if gamma_is_y { (u, g) } else { (g, u) };
                curves.last_mut().expect("never empty").push(p);
            }
            _ => {
                if curves.last().is_some_and(|c| !c.is_empty()) {
                    curves.push(Vec::new());
                }
            }
        }
    }
    curves.retain(|c| !c.is_empty());
    Ok((
        curves,
        "theory γ_c: x_R(J) = 1, h = 0 loses stability (models/jiang.md §6)".to_string(),
    ))
}
