//! Parameter sweeps: a grid of config values × replicas, packed into backend batches,
//! resumable, and shardable across the tasks of a Slurm job array.
//!
//! The work is a list of *units* — (point, replica) in row-major grid order, unit
//! `u = point · R + replica` — and every unit depends only on its point's values, the seed and the
//! replica index ([`spec`]). A shard `k/K` takes the contiguous units
//! `[⌊(k−1)U/K⌋, ⌊kU/K⌋)`. Units of consecutive points that can share a batch (same network
//! size, schedule, precision, analysis and saved arrays; the parameters may differ per replica)
//! are packed into one batch up to the backend's capacity.
//!
//! Layout of the output directory:
//! - `sweep.json`: the resolved sweep (base config, axes, points with their seeds), written
//!   first; every shard and a later `--resume` check they run the same sweep;
//! - `parts/uSTART-END.*`: finished batches, written atomically as they complete (CSV last: it
//!   marks the part finished);
//! - after the merge (automatic for an unsharded sweep, `hebbnet merge DIR` for shards):
//!   `epochs.csv` (one row per point × replica × epoch), `summary.csv` (one row per
//!   point × replica at the point's last epoch), `points.csv` (replica mean and 95% interval
//!   per point), the arrays (`lyapunov.npy` … with shape `(P, R, …)` when every point has the
//!   same shape, else one file per point `NAME.pPPPPP.npy`), and `manifest.json`.
//!
//! Merged files depend only on the finished units, so a resumed or sharded sweep ends with the
//! same bytes as an uninterrupted one.

pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

pub use spec::{Axis, Point, SeedMode, Spacing, SweepSpec};

use super::family::{self, ArrayKind, Family, Member};
use super::progress::{Progress, ProgressMode};
use super::{finished_ranges, unix_now};
use crate::backend::{Backend, BackendInfo};
use crate::config::BackendKind;
use crate::error::{Error, Result};
use crate::{npy, output};

/// Shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parse `K/COUNT`, 1 ≤ K ≤ COUNT.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::config(
                "--shard",
                format!("`{text}` is not K/COUNT with 1 ≤ K ≤ COUNT, e.g. --shard 3/16"),
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of this Slurm array task, from `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN`
    /// and `SLURM_ARRAY_TASK_COUNT` (so `--array=0-15` and `--array=1-16` both work); `None`
    /// outside a job array.
    pub fn from_slurm(env: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let Some(id) = env("SLURM_ARRAY_TASK_ID") else {
            return Ok(None);
        };
        let num = |name: &str| -> Result<Option<usize>> {
            env(name)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| Error::config(name, format!("`{v}` is not a task number")))
                })
                .transpose()
        };
        let id: usize = id.trim().parse().map_err(|_| {
            Error::config(
                "SLURM_ARRAY_TASK_ID",
                format!("`{id}` is not a task number"),
            )
        })?;
        let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
            Error::config(
                "SLURM_ARRAY_TASK_COUNT",
                "is not set although SLURM_ARRAY_TASK_ID is; pass --shard K/COUNT",
            )
        })?;
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        if id < min || id - min >= count {
            return Err(Error::config(
                "SLURM_ARRAY_TASK_ID",
                format!(
                    "task {id} is outside the array (min {min}, count {count}); use a \
                     contiguous --array range, or pass --shard K/COUNT"
                ),
            ));
        }
        Ok(Some(Shard {
            index: id - min + 1,
            count,
        }))
    }

    /// Its units `[lo, hi)` of `units`.
    pub fn range(&self, units: u64) -> (u64, u64) {
        let at = |k: usize| (units as u128 * k as u128 / self.count as u128) as u64;
        (at(self.index - 1), at(self.index))
    }
}

/// How a sweep is invoked.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub out: PathBuf,
    /// Where the spec came from.
    pub spec_source: String,
    pub command_line: Vec<String>,
    pub shard: Option<Shard>,
    /// Continue finished work of this sweep in `out` (else it is refused).
    pub resume: bool,
    /// Discard whatever `out` holds (refused with `shard`: it would wipe other shards' work).
    pub force: bool,
    pub progress: ProgressMode,
}

/// What a sweep invocation did.
#[derive(Clone, Debug, Serialize)]
pub struct SweepReport {
    pub out: PathBuf,
    pub points: usize,
    pub replicas_per_point: usize,
    /// Units of this shard (all units when unsharded).
    pub shard_units: u64,
    /// Units found finished and not recomputed.
    pub resumed_units: u64,
    pub computed_units: u64,
    pub batches: usize,
    pub wall_seconds: f64,
    /// The merge, when this invocation completed the sweep.
    pub merged: Option<MergeReport>,
    /// Every unit of the sweep is finished (by any shard).
    pub complete: bool,
}

/// What a merge wrote.
#[derive(Clone, Debug, Serialize)]
pub struct MergeReport {
    pub files: Vec<String>,
    pub already_merged: bool,
}

/// The file kind marker of `sweep.json`.
pub const SWEEP_KIND: &str = "hebbnet-sweep";

/// Files a sweep owns in its output directory besides arrays (removed by `--force`).
const OWNED: [&str; 5] = [
    "sweep.json",
    "manifest.json",
    "epochs.csv",
    "summary.csv",
    "points.csv",
];

/// What identifies a sweep's results: everything that changes a number in them.
fn fingerprint(spec: &SweepSpec, backend: &BackendInfo) -> Value {
    let mut base = spec.base.clone();
    base.backend.threads = 0;
    base.backend.batch_replicas = 0;
    base.backend.kind = BackendKind::Auto;
    base.backend.weights_in_workgroup = crate::config::WeightsInWorkgroup::Auto;
    base.backend.workgroup_memory_bytes = None;
    base.output.save.sort();
    base.output.save.dedup();
    output::as_stored(&json!({
        "base": base,
        "axes": spec.axes,
        "replicas": spec.replicas,
        "seed": spec.seed,
        "seeds": spec.seeds,
        "backend": backend.kind,
        "hebbnet_version": env!("CARGO_PKG_VERSION"),
    }))
}

fn part_name(a: u64, b: u64) -> String {
    format!("u{a:010}-{b:010}")
}

/// Unit ranges still to do in `[lo, hi)`: the gaps between finished parts, cut where the batch
/// key changes (`breaks`, ascending unit indices) and into pieces of at most `batch(unit)`.
pub(crate) fn pending(
    lo: u64,
    hi: u64,
    done: &BTreeMap<u64, u64>,
    breaks: &[u64],
    batch: impl Fn(u64) -> u64,
) -> Vec<(u64, u64)> {
    let mut gaps = Vec::new();
    let mut next = lo;
    for (&a, &b) in done {
        if b <= next {
            continue;
        }
        if a > next {
            gaps.push((next, a.min(hi)));
        }
        next = next.max(b);
        if next >= hi {
            break;
        }
    }
    if next < hi {
        gaps.push((next, hi));
    }
    let mut out = Vec::new();
    for (a, b) in gaps.into_iter().filter(|(a, b)| a < b) {
        let mut s = a;
        while s < b {
            let limit = breaks
                .iter()
                .copied()
                .find(|&k| k > s)
                .map_or(b, |k| k.min(b));
            let e = s.saturating_add(batch(s).max(1)).min(limit);
            out.push((s, e));
            s = e;
        }
    }
    out
}

/// Run (this shard of) a sweep on `backend`, writing into `options.out`.
pub fn run_sweep(
    spec: &SweepSpec,
    backend: &mut dyn Backend,
    backend_note: &str,
    options: &SweepOptions,
) -> Result<SweepReport> {
    let started = Instant::now();
    // Every point is validated, and every batch size checked, before any work starts.
    let points = spec.points()?;
    let r = spec.replicas as u64;
    let units = spec.unit_count();
    let family = family::family(spec.base.model);
    let keys: Vec<String> = points.iter().map(|p| family.batch_key(&p.config)).collect();
    let mut capacity: BTreeMap<usize, usize> = BTreeMap::new();
    for p in &points {
        let n = family.neurons(&p.config);
        if let std::collections::btree_map::Entry::Vacant(e) = capacity.entry(n) {
            let c = family.batch_capacity(&p.config, &*backend)?;
            e.insert(c);
        }
    }
    let base_batch = spec.base.backend.batch_replicas;
    let cpu_threads = crate::backend::cpus::or_usable(spec.base.backend.threads);
    let batch_of = |unit: u64| -> u64 {
        let n = family.neurons(&points[(unit / r) as usize].config);
        let cap = capacity[&n];
        let size = match base_batch {
            0 if backend.info().kind == "cpu" => cap.min(16 * cpu_threads),
            0 => cap,
            b => b.min(cap),
        };
        size.max(1) as u64
    };
    if base_batch > 0 {
        if let Some((&n, &cap)) = capacity.iter().find(|(_, &c)| c < base_batch) {
            return Err(Error::config(
                "backend.batch_replicas",
                format!(
                    "{base_batch} replicas of N = {n} do not fit one batch on this backend (at \
                     most {cap})"
                ),
            ));
        }
    }
    // With the kernel variant of every network size, for sweep.json and the log.
    let info = crate::backend::info_for(&*backend, capacity.keys().copied())?;
    let breaks: Vec<u64> = (1..points.len())
        .filter(|&p| keys[p] != keys[p - 1])
        .map(|p| p as u64 * r)
        .collect();

    let out = &options.out;
    let parts = out.join("parts");
    let fp = fingerprint(spec, backend.info());
    if options.force && options.shard.is_some() {
        return Err(Error::config(
            "--force",
            "cannot be combined with --shard: it would discard the other shards' work; remove \
             the directory before launching the job array instead",
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::output(out, e))?;
    if options.force {
        discard(out)?;
    }
    let sweep_json = out.join("sweep.json");
    match read_json(&sweep_json)? {
        Some(found) if found.get("fingerprint") != Some(&fp) => {
            return Err(Error::Conflict(format!(
                "{} holds a different sweep (spec, base config, backend or version differ); use \
                 another --out, or --force to discard it",
                out.display()
            )));
        }
        Some(_) => {}
        None => {
            let record = sweep_record(spec, &points, &fp, &info, backend_note, options);
            output::write_json(&sweep_json, &record)?;
        }
    }
    let complete_report = |resumed| SweepReport {
        out: out.clone(),
        points: points.len(),
        replicas_per_point: spec.replicas,
        shard_units: units,
        resumed_units: resumed,
        computed_units: 0,
        batches: 0,
        wall_seconds: started.elapsed().as_secs_f64(),
        merged: Some(MergeReport {
            files: Vec::new(),
            already_merged: true,
        }),
        complete: true,
    };
    if is_merged(out, &fp) {
        options.progress.note(&format!(
            "{} already holds this sweep, merged; nothing to do (--force recomputes it)",
            out.display()
        ));
        return Ok(complete_report(units));
    }
    std::fs::create_dir_all(&parts).map_err(|e| Error::output(&parts, e))?;

    let (lo, hi) = options.shard.map_or((0, units), |s| s.range(units));
    let done = finished_ranges(&parts, 'u')?;
    let overlap = |a: u64, b: u64| b.min(hi).saturating_sub(a.max(lo));
    let resumed: u64 = done.iter().map(|(&a, &b)| overlap(a, b)).sum();
    if resumed > 0 && !options.resume {
        return Err(Error::Conflict(format!(
            "{} already holds {resumed} finished replicas of this sweep{}; add --resume to \
             continue, or --force to start over",
            out.display(),
            options.shard.map_or(String::new(), |s| format!(
                " in shard {}/{}",
                s.index, s.count
            ))
        )));
    }
    let todo = pending(lo, hi, &done, &breaks, batch_of);

    // Units of each point still to do in this shard, for "points done".
    let mut left: Vec<u64> = (0..points.len() as u64)
        .map(|p| overlap(p * r, (p + 1) * r))
        .collect();
    for (&a, &b) in &done {
        for u in a.max(lo)..b.min(hi) {
            left[(u / r) as usize] -= 1;
        }
    }
    let shard_points = (0..points.len() as u64)
        .filter(|&p| overlap(p * r, (p + 1) * r) > 0)
        .count();
    let finished_points = |left: &[u64]| {
        (0..points.len() as u64)
            .filter(|&p| overlap(p * r, (p + 1) * r) > 0 && left[p as usize] == 0)
            .count()
    };
    let mut progress = Progress::new(
        options.progress,
        hi - lo,
        resumed,
        shard_points,
        finished_points(&left),
    );
    let shard_text = options.shard.map_or(String::new(), |s| {
        format!(", shard {}/{}", s.index, s.count)
    });
    progress.println(&format!(
        "backend: {}; {} ({backend_note})\nsweep: {} points × {} replicas = {units} replicas{shard_text} \
         ({} to do here) → {}",
        info.description,
        info.kernels.iter().map(|k| k.line()).collect::<Vec<_>>().join("; "),
        points.len(),
        spec.replicas,
        hi - lo - resumed,
        out.display()
    ));
    if resumed > 0 {
        progress.println(&format!(
            "resuming: {resumed} replicas already finished in {}",
            parts.display()
        ));
    }

    let mut computed = 0;
    for &(a, b) in &todo {
        let member = |u: u64| ((u / r) as usize, u % r);
        let members: Vec<Member> = (a..b)
            .map(|u| {
                let (p, replica) = member(u);
                Member {
                    config: &points[p].config,
                    replica,
                }
            })
            .collect();
        let prefix = |k: usize| row_prefix(&points[member(a + k as u64).0]);
        let name = part_name(a, b);
        let rows = family.run_part(backend, &members, &parts, &name, &prefix)?;
        output::write_atomic(&parts.join(format!("{name}.csv")), rows.as_bytes())?;
        for u in a..b {
            left[(u / r) as usize] -= 1;
        }
        computed += b - a;
        progress.advance(b - a, finished_points(&left));
    }
    progress.finish();

    let done = finished_ranges(&parts, 'u')?;
    let complete = missing(&done, units).is_empty();
    let merged = if complete && options.shard.is_none_or(|s| s.count == 1) {
        Some(merge(out)?)
    } else {
        None
    };
    let report = SweepReport {
        out: out.clone(),
        points: points.len(),
        replicas_per_point: spec.replicas,
        shard_units: hi - lo,
        resumed_units: resumed,
        computed_units: computed,
        batches: todo.len(),
        wall_seconds: started.elapsed().as_secs_f64(),
        merged,
        complete,
    };
    let what = match (&report.merged, complete) {
        (Some(_), _) => format!("merged into {}", out.display()),
        (None, true) => format!(
            "every shard is finished: run `hebbnet merge {}` for the summary",
            out.display()
        ),
        (None, false) => format!(
            "this shard is finished; when all are, run `hebbnet merge {}`",
            out.display()
        ),
    };
    options.progress.note(&format!(
        "done in {:.1} s: {computed} replicas computed in {} batches; {what}",
        report.wall_seconds, report.batches
    ));
    Ok(report)
}

impl ProgressMode {
    /// A one-off message (dropped when quiet).
    fn note(self, message: &str) {
        if self != ProgressMode::Quiet {
            eprintln!("{message}");
        }
    }
}

/// `point,<value>,…,` — the start of a CSV row of this point.
fn row_prefix(point: &Point) -> String {
    let mut s = point.index.to_string();
    for v in &point.values {
        s.push_str(&format!(",{v}"));
    }
    s.push(',');
    s
}

#[derive(Serialize)]
struct PointRecord {
    point: usize,
    values: BTreeMap<String, f64>,
    seed: u64,
}

fn sweep_record(
    spec: &SweepSpec,
    points: &[Point],
    fp: &Value,
    backend: &BackendInfo,
    backend_note: &str,
    options: &SweepOptions,
) -> Value {
    let records: Vec<PointRecord> = points
        .iter()
        .map(|p| PointRecord {
            point: p.index,
            values: spec
                .axes
                .iter()
                .zip(&p.values)
                .map(|(a, v)| (a.key.clone(), *v))
                .collect(),
            seed: p.config.ensemble.seed,
        })
        .collect();
    json!({
        "kind": SWEEP_KIND,
        "hebbnet_version": env!("CARGO_PKG_VERSION"),
        "spec_source": options.spec_source,
        "command_line": options.command_line,
        "created_unix": unix_now(),
        "axes": spec.axes,
        "replicas": spec.replicas,
        "seed": spec.seed,
        "seeds": spec.seeds,
        "units": spec.unit_count(),
        "backend": backend,
        "backend_note": backend_note,
        "base_config": spec.base,
        "points": records,
        "fingerprint": fp,
    })
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::input(
                path,
                format!("is not valid JSON ({e}); was it edited by hand?"),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::input(path, format!("cannot read: {e}"))),
    }
}

fn is_merged(out: &Path, fp: &Value) -> bool {
    let Ok(Some(m)) = read_json(&out.join("manifest.json")) else {
        return false;
    };
    m.get("status").and_then(Value::as_str) == Some("complete") && m.get("fingerprint") == Some(fp)
}

/// Remove what a sweep (or a run) wrote in `out`.
fn discard(out: &Path) -> Result<()> {
    let entries = std::fs::read_dir(out).map_err(|e| Error::output(out, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if name == "parts" {
            std::fs::remove_dir_all(&path).map_err(|e| Error::output(&path, e))?;
        } else if OWNED.contains(&name.as_str()) || name.ends_with(".npy") || name.ends_with(".tmp")
        {
            std::fs::remove_file(&path).map_err(|e| Error::output(&path, e))?;
        }
    }
    Ok(())
}

/// Unit ranges of `[0, units)` that no finished part covers.
fn missing(done: &BTreeMap<u64, u64>, units: u64) -> Vec<(u64, u64)> {
    pending(0, units, done, &[], |_| u64::MAX)
}

/// Merge the finished parts of the sweep in `dir` into its summary files (see the module doc).
/// Refused, naming what is missing, until every unit is finished.
pub fn merge(dir: &Path) -> Result<MergeReport> {
    let sweep_json = dir.join("sweep.json");
    let record = read_json(&sweep_json)?.ok_or_else(|| {
        Error::input(
            dir,
            "is not a sweep directory (no sweep.json): give the --out of `hebbnet sweep`",
        )
    })?;
    if record.get("kind").and_then(Value::as_str) != Some(SWEEP_KIND) {
        return Err(Error::input(&sweep_json, "is not a hebbnet sweep record"));
    }
    let fp = record.get("fingerprint").cloned().unwrap_or(Value::Null);
    if is_merged(dir, &fp) {
        return Ok(MergeReport {
            files: Vec::new(),
            already_merged: true,
        });
    }
    let field = |name: &str| -> Result<Value> {
        record
            .get(name)
            .cloned()
            .ok_or_else(|| Error::input(&sweep_json, format!("has no `{name}`")))
    };
    let parse = |e: serde_json::Error| Error::input(&sweep_json, format!("malformed: {e}"));
    let spec = SweepSpec {
        base: serde_json::from_value(field("base_config")?).map_err(parse)?,
        axes: serde_json::from_value(field("axes")?).map_err(parse)?,
        replicas: serde_json::from_value(field("replicas")?).map_err(parse)?,
        seed: serde_json::from_value(field("seed")?).map_err(parse)?,
        seeds: serde_json::from_value(field("seeds")?).map_err(parse)?,
    };
    let points = spec.points()?;
    let r = spec.replicas as u64;
    let units = spec.unit_count();
    let parts = dir.join("parts");
    let done = finished_ranges(&parts, 'u')?;
    let gaps = missing(&done, units);
    if !gaps.is_empty() {
        let count: u64 = gaps.iter().map(|(a, b)| b - a).sum();
        let shown: Vec<String> = gaps
            .iter()
            .take(5)
            .map(|(a, b)| format!("points {}–{}", a / r, (b - 1) / r))
            .collect();
        return Err(Error::Conflict(format!(
            "{}: {count} of {units} replicas are not finished yet ({}{}); rerun the shards that \
             cover them with --resume, then merge",
            dir.display(),
            shown.join(", "),
            if gaps.len() > 5 { ", …" } else { "" }
        )));
    }

    // CSVs: parts hold every epoch of their units in unit order.
    let mut header = String::from("point");
    for a in &spec.axes {
        header.push(',');
        header.push_str(&a.key);
    }
    let family = family::family(spec.base.model);
    for c in family.columns() {
        header.push(',');
        header.push_str(c);
    }
    header.push('\n');
    let mut epochs = header.clone();
    let mut last = header;
    let family_col = 1 + spec.axes.len();
    for (&a, &b) in &done {
        let p = parts.join(format!("{}.csv", part_name(a, b)));
        let text = std::fs::read_to_string(&p).map_err(|e| Error::output(&p, e))?;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(',').collect();
            let point: Option<usize> = fields.first().and_then(|f| f.parse().ok());
            let (Some(point), Some(family_fields)) = (point, fields.get(family_col..)) else {
                return Err(Error::input(&p, format!("malformed row `{line}`")));
            };
            let Some(config) = points.get(point).map(|p| &p.config) else {
                return Err(Error::input(&p, format!("row of unknown point `{line}`")));
            };
            if family.is_summary_row(config, family_fields) {
                last.push_str(line);
                last.push('\n');
            }
        }
        epochs.push_str(&text);
    }
    output::write_atomic(&dir.join("epochs.csv"), epochs.as_bytes())?;
    output::write_atomic(&dir.join("summary.csv"), last.as_bytes())?;
    let keys: Vec<&str> = spec.axes.iter().map(|a| a.key.as_str()).collect();
    output::write_atomic(
        &dir.join("points.csv"),
        family.summarize_by(&last, "point", &keys).as_bytes(),
    )?;
    let mut files: Vec<String> = ["epochs.csv", "summary.csv", "points.csv"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    files.extend(merge_arrays(dir, &parts, &done, &spec, &points, &*family)?);
    files.insert(0, "manifest.json".into());
    let manifest = json!({
        "kind": SWEEP_KIND,
        "status": "complete",
        "hebbnet_version": env!("CARGO_PKG_VERSION"),
        "merged_unix": unix_now(),
        "points": points.len(),
        "replicas_per_point": spec.replicas,
        "units": units,
        "backend": record.get("backend"),
        "files": files,
        "fingerprint": fp,
    });
    output::write_json(&dir.join("manifest.json"), &manifest)?;
    std::fs::remove_dir_all(&parts).map_err(|e| Error::output(&parts, e))?;
    Ok(MergeReport {
        files,
        already_merged: false,
    })
}

fn merge_arrays(
    dir: &Path,
    parts: &Path,
    done: &BTreeMap<u64, u64>,
    spec: &SweepSpec,
    points: &[Point],
    family: &dyn Family,
) -> Result<Vec<String>> {
    let per_point: Vec<BTreeMap<String, ArrayKind>> = points
        .iter()
        .map(|p| family::arrays_by_stem(family, &p.config))
        .collect();
    let stems: std::collections::BTreeSet<&String> =
        per_point.iter().flat_map(|m| m.keys()).collect();
    let r = spec.replicas as u64;
    let mut files = Vec::new();
    for stem in stems {
        let first = per_point.iter().find_map(|m| m.get(stem)).expect("a stem");
        let uniform = per_point.iter().all(|m| {
            m.get(stem)
                .is_some_and(|k| k.shape == first.shape && k.dtype == first.dtype)
        });
        // Writers: one for the whole sweep, or one per point, opened at the point's first unit.
        let mut single = if uniform {
            let name = format!("{stem}.npy");
            let path = dir.join(&name);
            let mut shape = vec![points.len(), spec.replicas];
            shape.extend(first.element_shape());
            files.push(name);
            Some((
                npy::Writer::create(&output::tmp_path(&path), first.dtype, &shape)?,
                path,
            ))
        } else {
            None
        };
        let mut current: Option<(npy::Writer, PathBuf)> = None;
        for (&a, &b) in done {
            let point_a = (a / r) as usize;
            let Some(kind) = per_point[point_a].get(stem) else {
                continue;
            };
            let p = parts.join(format!("{}.{stem}.npy", part_name(a, b)));
            let part = npy::read(&p)?;
            let per_unit: usize = kind.shape.iter().product();
            if part.data.len() != per_unit * (b - a) as usize {
                return Err(Error::input(
                    &p,
                    format!(
                        "holds {} values, expected {}",
                        part.data.len(),
                        per_unit * (b - a) as usize
                    ),
                ));
            }
            for (u, chunk) in (a..b).zip(part.data.chunks_exact(per_unit)) {
                if let Some((w, path)) = single.as_mut() {
                    w.push(chunk).map_err(|e| Error::output(&*path, e))?;
                    continue;
                }
                let (point, replica) = ((u / r) as usize, u % r);
                if replica == 0 {
                    let name = format!("{stem}.p{point:06}.npy");
                    let path = dir.join(&name);
                    let mut shape = vec![spec.replicas];
                    shape.extend(kind.element_shape());
                    files.push(name);
                    current = Some((
                        npy::Writer::create(&output::tmp_path(&path), kind.dtype, &shape)?,
                        path,
                    ));
                }
                let (w, path) = current.as_mut().expect("opened at replica 0");
                w.push(chunk).map_err(|e| Error::output(&*path, e))?;
                if replica + 1 == r {
                    let (w, path) = current.take().expect("open");
                    let tmp = output::tmp_path(&path);
                    w.finish().map_err(|e| Error::output(&tmp, e))?;
                    output::commit(&tmp, &path)?;
                }
            }
        }
        if let Some((w, path)) = single {
            let tmp = output::tmp_path(&path);
            w.finish().map_err(|e| Error::output(&tmp, e))?;
            output::commit(&tmp, &path)?;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_units() {
        let units = 100;
        let mut next = 0;
        for k in 1..=7 {
            let (lo, hi) = Shard { index: k, count: 7 }.range(units);
            assert_eq!(lo, next);
            assert!(hi - lo == 14 || hi - lo == 15);
            next = hi;
        }
        assert_eq!(next, units);
        assert_eq!(
            Shard::parse("3/16").unwrap(),
            Shard {
                index: 3,
                count: 16
            }
        );
        for bad in ["0/4", "5/4", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_array_tasks_map_to_shards() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let one_based = env(&[
            ("SLURM_ARRAY_TASK_ID", "16"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "16"),
        ]);
        assert_eq!(
            Shard::from_slurm(one_based).unwrap(),
            Some(Shard {
                index: 16,
                count: 16
            })
        );
        let zero_based = env(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_slurm(zero_based).unwrap(),
            Some(Shard { index: 1, count: 4 })
        );
        assert_eq!(Shard::from_slurm(env(&[])).unwrap(), None);
        let outside = env(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(Shard::from_slurm(outside).is_err());
    }

    #[test]
    fn pending_work_skips_finished_parts_and_respects_batch_keys() {
        let mut done = BTreeMap::new();
        done.insert(4, 8);
        // Units 0..20, break at 10 (the batch key changes), batches of at most 5.
        let todo = pending(0, 20, &done, &[10], |_| 5);
        assert_eq!(todo, vec![(0, 4), (8, 10), (10, 15), (15, 20)]);
        // A shard [6, 12) sees only its own gaps.
        assert_eq!(pending(6, 12, &done, &[10], |_| 5), vec![(8, 10), (10, 12)]);
        assert_eq!(missing(&done, 20), vec![(0, 4), (8, 20)]);
    }
}
