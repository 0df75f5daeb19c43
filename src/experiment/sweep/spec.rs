//! Sweep specs: a base config, the axes to vary, and replicas per point.
//!
//! ```json
//! {
//!   "base": "../plain_dynamics.json",          // a config file (relative to the spec) or an inline config; default: the embedded config
//!   "set": {"learning.enabled": false},       // fixed overrides of the base
//!   "axes": [
//!     {"key": "network.gain", "linspace": [1, 12, 12]},
//!     {"key": "weights.std", "values": [0.5, 1, 2]},
//!     {"key": "learning.learning_rate", "logspace": [-3, -1, 5]}
//!   ],
//!   "replicas": 16,
//!   "seed": 1,                                 // default: the base config's ensemble.seed
//!   "seeds": "per_point"                       // or "shared" (common random numbers)
//! }
//! ```
//!
//! The grid is the Cartesian product of the axes, the first axis outermost (point index in
//! row-major order). `linspace` is `numpy.linspace(start, stop, num)`, `logspace` is
//! `numpy.logspace(start, stop, num)` (base 10: `10^start … 10^stop`), `geomspace` is
//! `numpy.geomspace(first, last, num)`.
//!
//! Seeds: with `"per_point"` (the default) the ensemble seed of a point is
//! `mix(seed, FNV-1a("key=value;key=value"))` over its swept values, so a point's results depend on
//! its values, the seed and the replica index only: adding points, reordering axes, or changing
//! the shards never changes an existing result. With `"shared"` every point uses `seed` itself, so
//! replica `r` draws the same random numbers at every point (common random numbers: smoother
//! heat maps, correlated errors).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{apply_override, Config};
use crate::error::{Error, Result};

/// How the values of an axis were given (kept for plots: log axes where `Log`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    List,
    Linear,
    Log,
}

/// One swept config value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// A numeric config key, e.g. `network.gain`.
    pub key: String,
    pub values: Vec<f64>,
    pub spacing: Spacing,
}

impl Axis {
    /// The index of `v` among the values (equal within 1e-9 relative).
    pub fn index_of(&self, v: f64) -> Option<usize> {
        self.values
            .iter()
            .position(|&a| (a - v).abs() <= 1e-9 * a.abs().max(v.abs()).max(1e-300))
    }
}

/// Where the seed of a point comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedMode {
    #[default]
    PerPoint,
    Shared,
}

/// A resolved sweep: everything needed to produce any point's config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The base config, validated, with `ensemble.replicas` = replicas per point.
    pub base: Config,
    pub axes: Vec<Axis>,
    /// Replicas per point.
    pub replicas: usize,
    pub seed: u64,
    pub seeds: SeedMode,
}

/// One grid point.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub index: usize,
    /// One value per axis.
    pub values: Vec<f64>,
    /// The base config with the point's values (and its ensemble seed) set.
    pub config: Config,
}

impl Point {
    /// `key=value, key=value`, for messages.
    pub fn describe(&self, axes: &[Axis]) -> String {
        axes.iter()
            .zip(&self.values)
            .map(|(a, v)| format!("{}={v}", a.key))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    base: Option<Value>,
    #[serde(default)]
    set: serde_json::Map<String, Value>,
    axes: Vec<RawAxis>,
    replicas: usize,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    seeds: SeedMode,
    /// Free text for people.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    key: String,
    #[serde(default)]
    values: Option<Vec<f64>>,
    #[serde(default)]
    linspace: Option<(f64, f64, usize)>,
    #[serde(default)]
    logspace: Option<(f64, f64, usize)>,
    #[serde(default)]
    geomspace: Option<(f64, f64, usize)>,
}

/// Most values one range (`linspace`, `logspace`, `geomspace`) may generate, and most points a
/// grid may have: every point is built and validated before any work starts.
pub const MAX_POINTS: usize = 1_000_000;

/// Keys a sweep may not vary: they never change a result, or the spec sets them itself.
const FORBIDDEN: [(&str, &str); 4] = [
    ("ensemble.replicas", "set \"replicas\" in the spec"),
    ("ensemble.seed", "set \"seed\" in the spec"),
    (
        "backend.",
        "backend settings hold for the whole sweep: set them in the base config",
    ),
    ("output.", "outputs are not parameters"),
];

impl SweepSpec {
    /// Read a spec file; `overrides` (`--set`) apply to the base config after the spec's `set`.
    pub fn load(path: &Path, overrides: &[String]) -> Result<SweepSpec> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(path, format!("cannot read the sweep spec: {e}")))?;
        let tree: Value = serde_json::from_str(&text).map_err(|e| {
            Error::input(
                path,
                format!("not valid JSON: {e} — check commas and quotes at that line"),
            )
        })?;
        Self::from_value(tree, path.parent(), overrides)
    }

    /// Parse a spec tree; relative paths in it are relative to `dir`. Every point is built and
    /// validated, and the `.npy` files the base config names are checked for every network size
    /// of the grid, so a spec that loads is one whose every point can start.
    pub fn from_value(tree: Value, dir: Option<&Path>, overrides: &[String]) -> Result<SweepSpec> {
        check_shape_of_spec(&tree)?;
        let raw: RawSpec = serde_path_to_error::deserialize(tree).map_err(|e| {
            let message = e.inner().to_string();
            let mut path = e.path().to_string();
            if path == "." {
                path.clear();
            }
            // A missing field is reported at its parent: name the field itself.
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.split_once('`'))
                .map(|(f, _)| f)
            {
                path = if path.is_empty() {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
            }
            Error::config(
                if path.is_empty() {
                    "sweep".to_string()
                } else {
                    format!("sweep.{path}")
                },
                format!("{message} (see docs/sweeps.md)"),
            )
        })?;
        let mut sets: Vec<String> = raw.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        sets.extend(overrides.iter().cloned());
        // A base file that cannot be read is named by the spec key that names it.
        let base_file = |e: Error| match e {
            Error::Input { path, message } => {
                Error::config("sweep.base", format!("{}: {message}", path.display()))
            }
            other => other,
        };
        let mut base = match raw.base {
            None => Config::load(None, &sets)?,
            Some(Value::String(p)) => {
                let p = Path::new(&p);
                let p = match dir {
                    Some(d) if p.is_relative() => d.join(p),
                    _ => p.to_path_buf(),
                };
                Config::load(Some(&p), &sets).map_err(base_file)?
            }
            Some(mut tree @ Value::Object(_)) => {
                for s in &sets {
                    apply_override(&mut tree, s)?;
                }
                let mut c = Config::from_value(tree)?;
                if let Some(d) = dir {
                    c.resolve_paths(d);
                }
                c.validate()?;
                c
            }
            Some(_) => {
                return Err(Error::config(
                    "sweep.base",
                    "must be a config file path (a string) or an inline config (an object)",
                ))
            }
        };
        if raw.replicas == 0 {
            return Err(Error::config("sweep.replicas", "must be ≥ 1"));
        }
        base.ensemble.replicas = raw.replicas;
        let seed = raw.seed.unwrap_or(base.ensemble.seed);
        base.ensemble.seed = seed;
        base.validate()?;
        let axes = raw
            .axes
            .into_iter()
            .enumerate()
            .map(|(k, a)| resolve_axis(k, a))
            .collect::<Result<Vec<_>>>()?;
        let spec = SweepSpec {
            base,
            axes,
            replicas: raw.replicas,
            seed,
            seeds: raw.seeds,
        };
        spec.check_axes()?;
        spec.check_points()?;
        Ok(spec)
    }

    /// Every point is a valid config (named with its point otherwise), the grid is not too
    /// large, and the `.npy` files of the base config fit every network size of the grid.
    fn check_points(&self) -> Result<()> {
        let points = self
            .axes
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()))
            .filter(|&p| p <= MAX_POINTS);
        let Some(points) = points else {
            return Err(Error::config(
                "sweep.axes",
                format!(
                    "the grid has {} points, more than {MAX_POINTS}: use fewer values, or split \
                     the study into several sweeps",
                    self.axes
                        .iter()
                        .map(|a| a.values.len().to_string())
                        .collect::<Vec<_>>()
                        .join(" × ")
                ),
            ));
        };
        if (points as u128) * (self.replicas as u128) >= 1 << 63 {
            return Err(Error::config(
                "sweep.replicas",
                format!(
                    "{points} points × {} replicas is more replicas than a sweep can number \
                     (2⁶³)",
                    self.replicas
                ),
            ));
        }
        let mut sizes_checked = std::collections::BTreeSet::new();
        let neurons_swept = self.axes.iter().any(|a| a.key == "network.neurons");
        for index in 0..points {
            let point = self.point(index)?;
            let n = point.config.network.neurons;
            if crate::ensemble::has_files(&point.config) && sizes_checked.insert(n) {
                crate::ensemble::check_files(&point.config).map_err(|e| match e {
                    Error::Config { path, message } if neurons_swept => Error::config(
                        path,
                        format!("{message} (point {index}: {})", point.describe(&self.axes)),
                    ),
                    other => other,
                })?;
            }
        }
        Ok(())
    }

    fn check_axes(&self) -> Result<()> {
        if self.axes.is_empty() {
            return Err(Error::config(
                "sweep.axes",
                "is empty: name at least one config value to vary, e.g. \
                 {\"key\": \"network.gain\", \"linspace\": [1, 10, 10]}",
            ));
        }
        let tree = serde_json::to_value(&self.base).expect("a config serialises");
        for (k, axis) in self.axes.iter().enumerate() {
            let at = format!("sweep.axes[{k}]");
            if self.axes[..k].iter().any(|a| a.key == axis.key) {
                return Err(Error::config(
                    at,
                    format!("`{}` is swept twice; merge the two axes", axis.key),
                ));
            }
            if let Some((_, why)) = FORBIDDEN
                .iter()
                .find(|(f, _)| axis.key == *f || (f.ends_with('.') && axis.key.starts_with(f)))
            {
                return Err(Error::config(
                    at,
                    format!("`{}` cannot be swept: {why}", axis.key),
                ));
            }
            match lookup(&tree, &axis.key) {
                Some(Value::Number(_)) => {}
                Some(v) => {
                    return Err(Error::config(
                        at,
                        format!(
                            "`{}` is not a numeric config value here (it is {v}); a sweep varies \
                             numbers — see `hebbnet config` for the keys",
                            axis.key
                        ),
                    ))
                }
                None => {
                    return Err(Error::config(
                        at,
                        format!(
                            "unknown config key `{}`; numeric keys of this config: {}",
                            axis.key,
                            numeric_keys(&tree, "").join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Number of grid points.
    pub fn point_count(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Units of work: points × replicas.
    pub fn unit_count(&self) -> u64 {
        self.point_count() as u64 * self.replicas as u64
    }

    /// The swept values of point `index` (row-major over the axes).
    pub fn point_values(&self, index: usize) -> Vec<f64> {
        let mut rest = index;
        let mut values = vec![0.0; self.axes.len()];
        for (k, axis) in self.axes.iter().enumerate().rev() {
            let len = axis.values.len();
            values[k] = axis.values[rest % len];
            rest /= len;
        }
        values
    }

    /// The ensemble seed of a point with these swept values (see the module doc).
    pub fn point_seed(&self, values: &[f64]) -> u64 {
        match self.seeds {
            SeedMode::Shared => self.seed,
            SeedMode::PerPoint => {
                let key = self
                    .axes
                    .iter()
                    .zip(values)
                    .map(|(a, v)| format!("{}={v}", a.key))
                    .collect::<Vec<_>>()
                    .join(";");
                splitmix64(self.seed ^ splitmix64(fnv1a(key.as_bytes())))
            }
        }
    }

    /// Point `index` with its validated config; an invalid combination is a config error naming
    /// the point.
    pub fn point(&self, index: usize) -> Result<Point> {
        let values = self.point_values(index);
        let mut tree = serde_json::to_value(&self.base).expect("a config serialises");
        for (axis, v) in self.axes.iter().zip(&values) {
            apply_override(&mut tree, &format!("{}={v}", axis.key))?;
        }
        let describe = || {
            self.axes
                .iter()
                .zip(&values)
                .map(|(a, v)| format!("{}={v}", a.key))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut config = Config::from_value(tree)
            .and_then(|c| c.validate().map(|_| c))
            .map_err(|e| {
                Error::config(
                    "sweep.axes",
                    format!("point {index} ({}) is not a valid config: {e}", describe()),
                )
            })?;
        config.ensemble.seed = self.point_seed(&values);
        Ok(Point {
            index,
            values,
            config,
        })
    }

    /// Every point, each validated (so a bad combination fails before any work starts).
    pub fn points(&self) -> Result<Vec<Point>> {
        (0..self.point_count()).map(|i| self.point(i)).collect()
    }
}

fn resolve_axis(k: usize, a: RawAxis) -> Result<Axis> {
    let at = format!("sweep.axes[{k}]");
    let given = [
        a.values.is_some(),
        a.linspace.is_some(),
        a.logspace.is_some(),
        a.geomspace.is_some(),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if given != 1 {
        return Err(Error::config(
            at,
            format!(
                "`{}` needs exactly one of \"values\": [..], \"linspace\": [start, stop, num], \
                 \"logspace\": [start_exp, stop_exp, num], \"geomspace\": [first, last, num]",
                a.key
            ),
        ));
    }
    let empty = |what: &str| {
        Error::config(
            format!("sweep.axes[{k}].{what}"),
            format!("`{}`: empty range (no values to sweep)", a.key),
        )
    };
    let too_many = |what: &str, num: usize| {
        if num > MAX_POINTS {
            Err(Error::config(
                format!("sweep.axes[{k}].{what}"),
                format!(
                    "`{}`: {num} values, more than a sweep may have ({MAX_POINTS} points)",
                    a.key
                ),
            ))
        } else {
            Ok(())
        }
    };
    let (values, spacing) = if let Some(v) = a.values {
        if v.is_empty() {
            return Err(empty("values"));
        }
        too_many("values", v.len())?;
        (v, Spacing::List)
    } else if let Some((start, stop, num)) = a.linspace {
        if num == 0 {
            return Err(empty("linspace"));
        }
        too_many("linspace", num)?;
        (linspace(start, stop, num), Spacing::Linear)
    } else if let Some((start, stop, num)) = a.logspace {
        if num == 0 {
            return Err(empty("logspace"));
        }
        too_many("logspace", num)?;
        let v = linspace(start, stop, num)
            .into_iter()
            .map(|e| 10f64.powf(e))
            .collect();
        (v, Spacing::Log)
    } else {
        let (first, last, num) = a.geomspace.expect("exactly one is given");
        if num == 0 {
            return Err(empty("geomspace"));
        }
        too_many("geomspace", num)?;
        if first * last <= 0.0 || (first * last).is_nan() {
            return Err(Error::config(
                format!("sweep.axes[{k}].geomspace"),
                "first and last must be nonzero and of the same sign",
            ));
        }
        let (lf, ll) = (first.abs().ln(), last.abs().ln());
        let mut v = linspace(lf, ll, num)
            .into_iter()
            .map(|e| first.signum() * e.exp())
            .collect::<Vec<_>>();
        // As numpy.geomspace: the endpoints exactly.
        v[0] = first;
        if num > 1 {
            v[num - 1] = last;
        }
        (v, Spacing::Log)
    };
    if let Some(v) = values
        .iter()
        .enumerate()
        .find_map(|(k, v)| values[..k].contains(v).then_some(v))
    {
        return Err(Error::config(
            at,
            format!("`{}`: the value {v} appears twice", a.key),
        ));
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::config(
            at,
            format!("`{}`: {bad} is not a finite number", a.key),
        ));
    }
    Ok(Axis {
        key: a.key,
        values,
        spacing,
    })
}

/// The spec and each axis must be JSON objects (serde would also read an array positionally).
fn check_shape_of_spec(tree: &Value) -> Result<()> {
    let kind = crate::config::json_kind;
    if !tree.is_object() {
        return Err(Error::config(
            "sweep",
            format!(
                "a sweep spec must be a JSON object ({{\"axes\": [...], \"replicas\": R, ...}}), \
                 not {}",
                kind(tree)
            ),
        ));
    }
    if let Some(Value::Array(axes)) = tree.get("axes") {
        if let Some((k, a)) = axes.iter().enumerate().find(|(_, a)| !a.is_object()) {
            return Err(Error::config(
                format!("sweep.axes[{k}]"),
                format!(
                    "an axis must be a JSON object ({{\"key\": \"network.gain\", \"values\": \
                     [...]}}), not {}",
                    kind(a)
                ),
            ));
        }
    }
    Ok(())
}

/// `numpy.linspace(start, stop, num)`: the endpoints exactly, `start + i · step` between.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    match num {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (stop - start) / (num - 1) as f64;
            (0..num)
                .map(|i| {
                    if i == num - 1 {
                        stop
                    } else {
                        start + i as f64 * step
                    }
                })
                .collect()
        }
    }
}

fn lookup<'a>(tree: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(tree, |node, k| match node {
        Value::Array(items) => k.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => node.get(k),
    })
}

fn numeric_keys(tree: &Value, prefix: &str) -> Vec<String> {
    match tree {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                numeric_keys(v, &path)
            })
            .filter(|k| !FORBIDDEN.iter().any(|(f, _)| k == f || k.starts_with(f)))
            .collect(),
        // A list of numbers: each element is a key (`reservoir.targets.1`).
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_number())
            .map(|(i, _)| format!("{prefix}.{i}"))
            .collect(),
        Value::Number(_) => vec![prefix.to_string()],
        _ => Vec::new(),
    }
}

/// FNV-1a, 64 bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Result<SweepSpec> {
        SweepSpec::from_value(v, None, &[])
    }

    #[test]
    fn grid_is_row_major_and_ranges_match_numpy() {
        let s = spec(json!({
            "base": {"network": {"neurons": 8}},
            "axes": [
                {"key": "network.gain", "linspace": [1, 2, 3]},
                {"key": "weights.std", "logspace": [-1, 1, 3]},
            ],
            "replicas": 2
        }))
        .unwrap();
        assert_eq!(s.axes[0].values, vec![1.0, 1.5, 2.0]);
        assert_eq!(s.axes[1].values, vec![0.1, 1.0, 10.0]);
        assert_eq!(s.point_count(), 9);
        assert_eq!(s.unit_count(), 18);
        assert_eq!(s.point_values(5), vec![1.5, 10.0]);
        let p = s.point(5).unwrap();
        assert_eq!(p.config.network.gain, 1.5);
        assert_eq!(p.config.weights.std, 10.0);
        assert_eq!(p.config.ensemble.replicas, 2);
        let g = resolve_axis(
            0,
            RawAxis {
                key: "x".into(),
                values: None,
                linspace: None,
                logspace: None,
                geomspace: Some((2.0, 32.0, 5)),
            },
        )
        .unwrap();
        for (a, b) in g.values.iter().zip([2.0, 4.0, 8.0, 16.0, 32.0]) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!((g.values[0], g.values[4]), (2.0, 32.0));
    }

    #[test]
    fn point_seeds_depend_on_values_not_on_the_grid() {
        let small = spec(json!({
            "axes": [{"key": "network.gain", "values": [2, 3]}], "replicas": 1, "seed": 9
        }))
        .unwrap();
        let large = spec(json!({
            "axes": [{"key": "network.gain", "values": [1, 2, 2.5, 3]}], "replicas": 4, "seed": 9
        }))
        .unwrap();
        assert_eq!(
            small.point(0).unwrap().config.ensemble.seed,
            large.point(1).unwrap().config.ensemble.seed
        );
        assert_eq!(
            small.point(1).unwrap().config.ensemble.seed,
            large.point(3).unwrap().config.ensemble.seed
        );
        assert_ne!(
            small.point(0).unwrap().config.ensemble.seed,
            small.point(1).unwrap().config.ensemble.seed
        );
        let shared = spec(json!({
            "axes": [{"key": "network.gain", "values": [2, 3]}], "replicas": 1, "seed": 9,
            "seeds": "shared"
        }))
        .unwrap();
        assert!(shared
            .points()
            .unwrap()
            .iter()
            .all(|p| p.config.ensemble.seed == 9));
    }

    #[test]
    fn bad_specs_name_the_problem() {
        let err = |v: Value| spec(v).unwrap_err().to_string();
        let e = err(json!({"axes": [{"key": "network.gian", "values": [1]}], "replicas": 1}));
        assert!(
            e.contains("unknown config key `network.gian`") && e.contains("network.gain"),
            "{e}"
        );
        let e =
            err(json!({"axes": [{"key": "network.gain", "linspace": [1, 2, 0]}], "replicas": 1}));
        assert!(e.contains("empty range"), "{e}");
        let e = err(json!({"axes": [{"key": "network.gain", "values": []}], "replicas": 1}));
        assert!(e.contains("empty range"), "{e}");
        let e = err(json!({"axes": [{"key": "network.form", "values": [1]}], "replicas": 1}));
        assert!(e.contains("not a numeric config value"), "{e}");
        let e = err(json!({"axes": [{"key": "ensemble.replicas", "values": [1]}], "replicas": 1}));
        assert!(e.contains("cannot be swept"), "{e}");
        let e =
            err(json!({"axes": [{"key": "network.gain", "linspace": [2, 2, 3]}], "replicas": 1}));
        assert!(e.contains("appears twice"), "{e}");
        let e = err(json!({"axes": [], "replicas": 1}));
        assert!(e.contains("is empty"), "{e}");
        let e = err(json!({"axes": [{"key": "network.gain", "values": [1]}], "replicas": 0}));
        assert!(e.contains("sweep.replicas"), "{e}");
        let e = err(json!({"axes": [{"key": "network.gain"}], "replicas": 1}));
        assert!(e.contains("exactly one of"), "{e}");
        let e = err(json!({"axes": [{"key": "network.gain", "values": [1]}], "replica": 1}));
        assert!(e.contains("unknown field `replica`"), "{e}");
        // A value the config rejects names the point, when the spec loads.
        let e = err(json!({"axes": [{"key": "network.gain", "values": [1, -1]}], "replicas": 1}));
        assert!(
            e.contains("point 1 (network.gain=-1)") && e.contains("must be > 0"),
            "{e}"
        );
        // An integer key given a fraction.
        let e =
            err(json!({"axes": [{"key": "network.neurons", "values": [10, 12.5]}], "replicas": 1}));
        assert!(e.contains("point 1 (network.neurons=12.5)"), "{e}");
        // Missing fields and misshapen specs are named.
        let e = err(json!({"axes": [{"key": "network.gain", "values": [1]}]}));
        assert!(e.contains("`sweep.replicas`: missing field"), "{e}");
        let e = err(json!([1, 2]));
        assert!(
            e.contains("`sweep`: a sweep spec must be a JSON object"),
            "{e}"
        );
        let e = err(json!({"axes": [["network.gain", [1, 2]]], "replicas": 1}));
        assert!(
            e.contains("`sweep.axes[0]`: an axis must be a JSON object"),
            "{e}"
        );
        // Impossible grids are refused before any value is generated.
        let e = err(
            json!({"axes": [{"key": "network.gain", "linspace": [1, 2, 1_000_000_000_000u64]}], "replicas": 1}),
        );
        assert!(
            e.contains("sweep.axes[0].linspace") && e.contains("more than"),
            "{e}"
        );
        let e = err(json!({"axes": [
            {"key": "network.gain", "linspace": [1, 2, 1000]},
            {"key": "weights.std", "linspace": [1, 2, 1001]}
        ], "replicas": 1}));
        assert!(e.contains("1000 × 1001"), "{e}");
    }
}
