//! Orchestration: config → ensemble → backend (in batches) → records → files.
//!
//! A run is split into batches of replicas sized to the backend. Each finished batch is written
//! to `DIR/parts/` at once (atomically), so a killed run loses at most the batch in flight; a
//! rerun with the same config finds the finished parts and computes only what is missing, and
//! the merged outputs are the same whatever the batching.

pub mod analog;
pub mod bms;
pub mod family;
pub mod jiang;
pub mod lotito;
pub mod memory;
pub mod progress;
pub mod reservoir;
pub mod sweep;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{context, GpuBackend, GpuOptions};
use crate::backend::{self, Backend, BackendInfo};
use crate::config::{BackendConfig, BackendKind, Config, WeightsInWorkgroup};
use crate::error::{Error, Result};
use crate::npy;
use crate::output;
use family::{Family, Member};

/// Open the backend `backend.kind` names, with the weight options of `backend`. `auto` takes
/// a hardware GPU if there is one, else the CPU; the returned note says why.
pub fn open_backend(backend: &BackendConfig) -> Result<(Box<dyn Backend>, String)> {
    let threads = backend.threads;
    let cpu = || -> Result<CpuBackend> {
        Ok(CpuBackend::new(threads)?.with_weight_storage(backend.weight_storage))
    };
    let gpu = || {
        GpuBackend::with_options(GpuOptions {
            weights_in_workgroup: backend.weights_in_workgroup,
            workgroup_memory_bytes: backend.workgroup_memory_bytes,
            weight_storage: backend.weight_storage,
            ..GpuOptions::default()
        })
    };
    match backend.kind {
        BackendKind::Cpu => Ok((Box::new(cpu()?), "requested".into())),
        BackendKind::Gpu => {
            let gpu = gpu()?;
            let note = if gpu.adapter().software {
                "requested; this is a software adapter, for correctness checks, not speed".into()
            } else {
                "requested".into()
            };
            Ok((Box::new(gpu), note))
        }
        BackendKind::Auto => match context::hardware_adapter() {
            Some(a) => Ok((
                Box::new(gpu()?),
                format!("auto: hardware adapter {}", a.name),
            )),
            None => {
                let why = match context::adapters().first() {
                    Some((_, s)) => format!(
                        "auto: the only GPU adapter is {} (software, slower than the CPU \
                         backend; --backend gpu forces it)",
                        s.name
                    ),
                    None => "auto: no GPU adapter found".into(),
                };
                Ok((Box::new(cpu()?), why))
            }
        },
    }
}

/// How a run is invoked.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out: PathBuf,
    /// Where the config came from (a path, or the embedded default).
    pub config_source: String,
    pub command_line: Vec<String>,
    pub quiet: bool,
    /// Discard results of a different run in `out` instead of refusing.
    pub force: bool,
}

/// What a finished run reports.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub out: PathBuf,
    pub backend: BackendInfo,
    pub backend_note: String,
    pub replicas: usize,
    pub neurons: usize,
    pub steps_per_replica: u64,
    /// Replicas found finished in `parts/` and not recomputed.
    pub resumed_replicas: usize,
    pub batches: usize,
    pub batch_replicas: usize,
    pub wall_seconds: f64,
    pub simulate_seconds: f64,
    /// `N² · R · steps / simulate_seconds` over the replicas computed in this invocation.
    pub synapse_updates_per_second: f64,
    pub already_complete: bool,
}

/// What identifies a run's results: everything that changes a number in them.
fn fingerprint(config: &Config, backend: &BackendInfo) -> Value {
    let mut c = config.clone();
    // Thread count, batch size and where the GPU kernel keeps W never change results.
    c.backend.threads = 0;
    c.backend.batch_replicas = 0;
    c.backend.kind = BackendKind::Auto;
    c.backend.weights_in_workgroup = WeightsInWorkgroup::Auto;
    c.backend.workgroup_memory_bytes = None;
    let mut save = c.output.save.clone();
    save.sort();
    save.dedup();
    c.output.save = save;
    output::as_stored(
        &json!({ "config": c, "backend": backend.kind, "hebbnet_version": env!("CARGO_PKG_VERSION") }),
    )
}

fn part_name(start: u64, end: u64) -> String {
    format!("r{start:010}-{end:010}")
}

/// Finished parts: start → end (exclusive), from `parts/r*.csv`.
fn finished_parts(parts: &Path) -> Result<BTreeMap<u64, u64>> {
    finished_ranges(parts, 'r')
}

/// Finished parts `PREFIXstart-end.csv` in `parts`: start → end (exclusive).
pub(crate) fn finished_ranges(parts: &Path, prefix: char) -> Result<BTreeMap<u64, u64>> {
    let mut done = BTreeMap::new();
    let entries = match std::fs::read_dir(parts) {
        Ok(e) => e,
        Err(_) => return Ok(done),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".csv") else {
            continue;
        };
        let Some((a, b)) = stem.strip_prefix(prefix).and_then(|s| s.split_once('-')) else {
            continue;
        };
        if let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>()) {
            done.insert(a, b);
        }
    }
    Ok(done)
}

/// Replica ranges still to compute, each at most `batch` long.
fn pending_batches(replicas: u64, done: &BTreeMap<u64, u64>, batch: u64) -> Vec<(u64, u64)> {
    sweep::pending(0, replicas, done, &[], |_| batch)
}

/// Run a config on a backend, writing into `options.out`.
pub fn run(
    config: &Config,
    backend: &mut dyn Backend,
    backend_note: &str,
    options: &RunOptions,
) -> Result<RunSummary> {
    let started = Instant::now();
    let started_unix = unix_now();
    let family = family::family(config.model);
    let n = family.neurons(config);
    let replicas = config.ensemble.replicas;
    let precision = config.backend.precision;
    let capacity = family.batch_capacity(config, &*backend)?;
    // With the kernel variant for this N, for the manifest and the log.
    let info = backend::info_for(&*backend, [n])?;
    let batch = match config.backend.batch_replicas {
        0 => capacity,
        b if b <= capacity => b,
        b => {
            return Err(Error::config(
                "backend.batch_replicas",
                format!("{b} replicas do not fit one batch on this backend (at most {capacity})"),
            ))
        }
    }
    .min(replicas);
    let arrays = family.arrays(config);
    if let Some((_, weights)) = arrays.iter().find(|(stem, _)| stem == "weights") {
        // The merged weights file is written by streaming parts; check the disk can take it.
        let bytes = (replicas * weights.shape.iter().product::<usize>() * precision.bytes()) as u64;
        if bytes > 64 << 30 {
            eprintln!(
                "note: weights.npy will take {}; make sure {} has room",
                memory::human(bytes),
                options.out.display()
            );
        }
    }

    let out = &options.out;
    let parts = out.join("parts");
    let manifest_path = out.join("manifest.json");
    let print = |msg: String| {
        if !options.quiet {
            eprintln!("{msg}");
        }
    };
    let fp = fingerprint(config, backend.info());
    std::fs::create_dir_all(out).map_err(|e| Error::output(out, e))?;
    prepare_out_dir(out, &parts, &manifest_path, &fp, options.force)?;
    if is_complete(&manifest_path, &fp) {
        print(format!(
            "{} already holds this run, complete; nothing to do (use --force to recompute)",
            out.display()
        ));
        return Ok(RunSummary {
            out: out.clone(),
            backend: info.clone(),
            backend_note: backend_note.to_string(),
            replicas,
            neurons: n,
            steps_per_replica: family.steps_per_replica(config),
            resumed_replicas: replicas,
            batches: 0,
            batch_replicas: batch,
            wall_seconds: started.elapsed().as_secs_f64(),
            simulate_seconds: 0.0,
            synapse_updates_per_second: 0.0,
            already_complete: true,
        });
    }
    std::fs::create_dir_all(&parts).map_err(|e| Error::output(&parts, e))?;
    output::write_json(&parts.join("run.json"), &fp)?;

    let done = finished_parts(&parts)?;
    let resumed: u64 = done.iter().map(|(a, b)| b - a).sum();
    let todo = pending_batches(replicas as u64, &done, batch as u64);
    let mut manifest = Manifest {
        hebbnet_version: env!("CARGO_PKG_VERSION"),
        status: "running",
        config_source: options.config_source.clone(),
        command_line: options.command_line.clone(),
        seed: config.ensemble.seed,
        replicas,
        neurons: n,
        precision: precision.name(),
        backend: info.clone(),
        backend_note: backend_note.to_string(),
        batch_replicas: batch,
        started_unix,
        finished_unix: None,
        wall_seconds: None,
        simulate_seconds: None,
        synapse_updates_per_second: None,
        files: Vec::new(),
        config: config.clone(),
        fingerprint: fp.clone(),
    };
    output::write_json(&manifest_path, &manifest)?;
    print(format!(
        "backend: {}; {} ({backend_note})\nrun: {}, {} → {}",
        info.description,
        info.kernels
            .iter()
            .map(|k| k.line())
            .collect::<Vec<_>>()
            .join("; "),
        family.name(),
        family.describe(config),
        out.display()
    ));
    if resumed > 0 {
        print(format!(
            "resuming: {resumed} of {replicas} replicas already finished in {}",
            parts.display()
        ));
    }

    let mut simulate = 0.0;
    let mut computed: u64 = 0;
    for (k, &(a, b)) in todo.iter().enumerate() {
        let members: Vec<Member> = (a..b).map(|replica| Member { config, replica }).collect();
        let t = Instant::now();
        let name = part_name(a, b);
        let rows = family.run_part(backend, &members, &parts, &name, &|_| String::new())?;
        output::write_atomic(&parts.join(format!("{name}.csv")), rows.as_bytes())?;
        simulate += t.elapsed().as_secs_f64();
        computed += b - a;
        print(format!(
            "batch {}/{}: replicas {a}..{b} done ({:.1} s)",
            k + 1,
            todo.len(),
            started.elapsed().as_secs_f64()
        ));
    }

    let files = merge_parts(out, &parts, config, &*family)?;
    let steps = family.steps_per_replica(config);
    let sups = if simulate > 0.0 {
        (n * n) as f64 * computed as f64 * steps as f64 / simulate
    } else {
        0.0
    };
    manifest.status = "complete";
    manifest.finished_unix = Some(unix_now());
    manifest.wall_seconds = Some(started.elapsed().as_secs_f64());
    manifest.simulate_seconds = Some(simulate);
    manifest.synapse_updates_per_second = Some(sups);
    manifest.files = files;
    output::write_json(&manifest_path, &manifest)?;
    std::fs::remove_dir_all(&parts).map_err(|e| Error::output(&parts, e))?;
    let summary = RunSummary {
        out: out.clone(),
        backend: info.clone(),
        backend_note: backend_note.to_string(),
        replicas,
        neurons: n,
        steps_per_replica: steps,
        resumed_replicas: resumed as usize,
        batches: todo.len(),
        batch_replicas: batch,
        wall_seconds: started.elapsed().as_secs_f64(),
        simulate_seconds: simulate,
        synapse_updates_per_second: sups,
        already_complete: false,
    };
    print(format!(
        "done in {:.2} s (simulation {:.2} s, {:.3e} synapse updates/s); results in {}",
        summary.wall_seconds,
        simulate,
        sups,
        out.display()
    ));
    Ok(summary)
}

pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[derive(Serialize)]
struct Manifest {
    hebbnet_version: &'static str,
    status: &'static str,
    config_source: String,
    command_line: Vec<String>,
    seed: u64,
    replicas: usize,
    neurons: usize,
    precision: &'static str,
    backend: BackendInfo,
    backend_note: String,
    batch_replicas: usize,
    started_unix: f64,
    finished_unix: Option<f64>,
    wall_seconds: Option<f64>,
    simulate_seconds: Option<f64>,
    synapse_updates_per_second: Option<f64>,
    files: Vec<String>,
    config: Config,
    /// What a rerun compares to decide whether it may resume.
    fingerprint: Value,
}

/// Files a run owns in its output directory (removed by `--force`).
const OWNED: [&str; 11] = [
    "manifest.json",
    "epochs.csv",
    "summary.csv",
    "weights.npy",
    "input.npy",
    "state.npy",
    "lyapunov.npy",
    "lyapunov_trace.npy",
    "eigenvalues_W.npy",
    "eigenvalues_J.npy",
    "bifurcation.npy",
];

fn prepare_out_dir(
    out: &Path,
    parts: &Path,
    manifest_path: &Path,
    fp: &Value,
    force: bool,
) -> Result<()> {
    if force {
        for name in OWNED {
            let p = out.join(name);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| Error::output(&p, e))?;
            }
        }
        if parts.exists() {
            std::fs::remove_dir_all(parts).map_err(|e| Error::output(parts, e))?;
        }
        return Ok(());
    }
    let differs = |path: &Path, key: Option<&str>| -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            return true;
        };
        let found = match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v,
        };
        &found != fp
    };
    if differs(&parts.join("run.json"), None) {
        return Err(Error::Conflict(format!(
            "{} holds unfinished parts of a different run (config, backend or version differ); \
             use another --out, or --force to discard them",
            out.display()
        )));
    }
    if differs(manifest_path, Some("fingerprint")) {
        return Err(Error::Conflict(format!(
            "{} holds the results of a different run (config, backend or version differ); \
             use another --out, or --force to replace them",
            out.display()
        )));
    }
    Ok(())
}

fn is_complete(manifest_path: &Path, fp: &Value) -> bool {
    let Ok(text) = std::fs::read_to_string(manifest_path) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    v.get("status").and_then(Value::as_str) == Some("complete")
        && v.get("fingerprint") == Some(fp)
        && manifest_path.with_file_name("epochs.csv").exists()
}

/// Concatenate the parts into the run's files; returns their names.
fn merge_parts(
    out: &Path,
    parts: &Path,
    config: &Config,
    family: &dyn Family,
) -> Result<Vec<String>> {
    let done = finished_parts(parts)?;
    let replicas = config.ensemble.replicas as u64;
    let mut next = 0;
    for (&a, &b) in &done {
        if a != next {
            return Err(Error::Conflict(format!(
                "{}: parts do not cover replicas {next}..{a}; rerun to compute them",
                parts.display()
            )));
        }
        next = b;
    }
    if next != replicas {
        return Err(Error::Conflict(format!(
            "{}: parts end at replica {next} of {replicas}; rerun to compute the rest",
            parts.display()
        )));
    }
    let mut csv = family.columns().join(",");
    csv.push('\n');
    for (&a, &b) in &done {
        let p = parts.join(format!("{}.csv", part_name(a, b)));
        csv.push_str(&std::fs::read_to_string(&p).map_err(|e| Error::output(&p, e))?);
    }
    output::write_atomic(&out.join("epochs.csv"), csv.as_bytes())?;
    output::write_atomic(&out.join("summary.csv"), family.summarize(&csv).as_bytes())?;
    let mut files = vec![
        "manifest.json".to_string(),
        "epochs.csv".to_string(),
        "summary.csv".to_string(),
    ];
    for (stem, kind) in family.arrays(config) {
        let name = format!("{stem}.npy");
        let path = out.join(&name);
        let tmp = output::tmp_path(&path);
        let mut shape = vec![replicas as usize];
        shape.extend(kind.element_shape());
        let mut w = npy::Writer::create(&tmp, kind.dtype, &shape)?;
        for (&a, &b) in &done {
            let p = parts.join(format!("{}.{stem}.npy", part_name(a, b)));
            let part = npy::read(&p)?;
            w.push(&part.data).map_err(|e| Error::output(&tmp, e))?;
        }
        w.finish().map_err(|e| Error::output(&tmp, e))?;
        output::commit(&tmp, &path)?;
        files.push(name);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_batches_fill_the_gaps() {
        let mut done = BTreeMap::new();
        assert_eq!(pending_batches(10, &done, 4), vec![(0, 4), (4, 8), (8, 10)]);
        done.insert(2, 5);
        done.insert(7, 8);
        assert_eq!(pending_batches(10, &done, 4), vec![(0, 2), (5, 7), (8, 10)]);
        done.insert(0, 2);
        done.insert(5, 7);
        done.insert(8, 10);
        assert!(pending_batches(10, &done, 4).is_empty());
    }
}
