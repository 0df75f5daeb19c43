//! Sweeps: shards merged equal the unsharded run, an interrupted sweep resumes to identical
//! bytes, batching and added points never change a result, bad specs fail before any work.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{sweep_options as options, sweep_results as results, Flaky};
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::experiment::sweep::{merge, run_sweep, Shard, SweepSpec};
use serde_json::{json, Value};

/// A small grid: 3 gains × 2 weight stds, 3 replicas, λ₁ and eigenvalues of J, two epochs of
/// learning, the final weights saved.
fn spec_tree() -> Value {
    json!({
        "base": {
            "network": {"neurons": 10, "gain": 5.0},
            "schedule": {"epochs": 2, "transient_steps": 20, "recorded_steps": 30},
            "learning": {"enabled": true},
            "analysis": {
                "lyapunov": {"exponents": 1, "tangent_transient": 5},
                "eigenvalues": {"weights": false, "jacobian": true},
                "attractor": {"enabled": true}
            },
            "output": {"save": ["weights"]}
        },
        "axes": [
            {"key": "network.gain", "values": [2.0, 5.0, 9.0]},
            {"key": "weights.std", "linspace": [0.5, 2.0, 2]}
        ],
        "replicas": 3,
        "seed": 4
    })
}

fn spec(tree: Value, batch: usize) -> SweepSpec {
    let b = format!("backend.batch_replicas={batch}");
    SweepSpec::from_value(tree, None, &[b]).unwrap()
}

fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn shards_merged_equal_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let s = spec(spec_tree(), 0);
    let mut cpu = CpuBackend::new(2).unwrap();
    let report = run_sweep(&s, &mut cpu, "", &options(&whole, None, false)).unwrap();
    assert!(report.complete && report.merged.is_some());
    assert_eq!((report.points, report.computed_units), (6, 18));
    let expected = results(&whole);
    assert_eq!(
        names(&expected),
        [
            "eigenvalues_J.npy",
            "epochs.csv",
            "lyapunov.npy",
            "lyapunov_trace.npy",
            "bifurcation.npy",
            "points.csv",
            "summary.csv",
            "weights.npy"
        ]
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );

    // Three shards with batches of two replicas: boundaries fall inside points.
    let sharded = dir.path().join("sharded");
    let s2 = spec(spec_tree(), 2);
    for k in [2, 1, 3] {
        let shard = Shard { index: k, count: 3 };
        let report = run_sweep(&s2, &mut cpu, "", &options(&sharded, Some(shard), false)).unwrap();
        assert!(report.merged.is_none(), "a shard never merges by itself");
        assert_eq!(report.shard_units, 6);
        assert_eq!(report.complete, k == 3);
    }
    merge(&sharded).unwrap();
    let got = results(&sharded);
    assert_eq!(names(&got), names(&expected));
    for ((name, a), (_, b)) in got.iter().zip(&expected) {
        assert!(
            a == b,
            "{name} differs between the sharded and the unsharded sweep"
        );
    }
    assert!(!sharded.join("parts").exists());
    assert!(merge(&sharded).unwrap().already_merged);

    // The files hold what the module promises.
    let summary = std::fs::read_to_string(whole.join("summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        ["point", "network.gain", "weights.std", "replica", "epoch"]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 18, "one row per point × replica");
    assert!(rows.iter().all(|r| r[4] == "1"), "the last epoch");
    assert_eq!(&rows[7][..4], ["2", "5", "0.5", "1"]);
    let points = std::fs::read_to_string(whole.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 7);
    assert!(points.starts_with("point,network.gain,weights.std,replicas,mean_activity_mean"));
    let epochs = std::fs::read_to_string(whole.join("epochs.csv")).unwrap();
    assert_eq!(epochs.lines().count(), 1 + 36);
    let w = hebbnet::npy::read(&whole.join("weights.npy")).unwrap();
    assert_eq!(w.shape, vec![6, 3, 10, 10]);
    let l = hebbnet::npy::read(&whole.join("lyapunov.npy")).unwrap();
    assert_eq!(l.shape, vec![6, 3, 2, 1]);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(record["kind"], "hebbnet-sweep");
    assert_eq!(record["points"].as_array().unwrap().len(), 6);
}

#[test]
fn interrupted_sweep_resumes_to_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(spec_tree(), 2);
    let whole = dir.path().join("whole");
    let mut cpu = CpuBackend::new(2).unwrap();
    run_sweep(&s, &mut cpu, "", &options(&whole, None, false)).unwrap();

    let broken = dir.path().join("broken");
    let mut flaky = Flaky {
        inner: CpuBackend::new(2).unwrap(),
        fail_after: 4,
        batches: 0,
    };
    let err = run_sweep(&s, &mut flaky, "", &options(&broken, None, false)).unwrap_err();
    assert!(err.to_string().contains("simulated crash"));
    let parts = std::fs::read_dir(broken.join("parts"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".csv"))
        .count();
    assert_eq!(parts, 4, "finished batches are on disk");

    // Without --resume the finished work is not silently continued or overwritten.
    let e = run_sweep(&s, &mut cpu, "", &options(&broken, None, false)).unwrap_err();
    assert!(e.to_string().contains("--resume"), "{e}");
    // A different sweep is refused.
    let mut other = spec_tree();
    other["replicas"] = json!(4);
    let e = run_sweep(&spec(other, 2), &mut cpu, "", &options(&broken, None, true)).unwrap_err();
    assert!(e.to_string().contains("different sweep"), "{e}");
    // Merging early names what is missing.
    let e = merge(&broken).unwrap_err().to_string();
    assert!(e.contains("10 of 18 replicas are not finished"), "{e}");

    let report = run_sweep(&s, &mut cpu, "", &options(&broken, None, true)).unwrap();
    assert_eq!((report.resumed_units, report.computed_units), (8, 10));
    assert_eq!(results(&broken), results(&whole));
    // A rerun of a merged sweep does nothing.
    let again = run_sweep(&s, &mut cpu, "", &options(&broken, None, true)).unwrap();
    assert_eq!(again.computed_units, 0);
}

#[test]
fn added_points_keep_existing_results() {
    let dir = tempfile::tempdir().unwrap();
    let mut small = spec_tree();
    small["axes"] = json!([{"key": "network.gain", "values": [5.0, 9.0]}]);
    let mut large = spec_tree();
    large["axes"] = json!([{"key": "network.gain", "values": [2.0, 5.0, 7.0, 9.0]}]);
    let mut cpu = CpuBackend::new(2).unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_sweep(&spec(small, 0), &mut cpu, "", &options(&a, None, false)).unwrap();
    run_sweep(&spec(large, 1), &mut cpu, "", &options(&b, None, false)).unwrap();
    // Rows without the point index, keyed by (gain, replica, epoch).
    let rows = |dir: &PathBuf| -> std::collections::BTreeMap<String, String> {
        std::fs::read_to_string(dir.join("epochs.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let rest = l.split_once(',').unwrap().1.to_string();
                let key: Vec<&str> = rest.split(',').take(3).collect();
                (key.join(","), rest)
            })
            .collect()
    };
    let (ra, rb) = (rows(&a), rows(&b));
    assert_eq!(ra.len(), 12);
    for (key, row) in &ra {
        assert_eq!(
            Some(row),
            rb.get(key),
            "point {key} changed when points were added"
        );
    }
}

#[test]
fn cli_sweep_merge_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec_tree().to_string()).unwrap();
    let bin = env!("CARGO_BIN_EXE_hebbnet");
    let out = dir.path().join("out");
    let run = |args: &[&str]| {
        Command::new(bin)
            .args(args)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap()
    };
    let o = out.to_str().unwrap();
    let s = spec_path.to_str().unwrap();
    for k in ["1/2", "2/2"] {
        let r = run(&["sweep", s, "--out", o, "--backend", "cpu", "--shard", k]);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let log = String::from_utf8_lossy(&r.stderr);
        // Not a terminal: plain log lines, no bar.
        assert!(
            log.contains("replicas (") && log.contains("points) done"),
            "{log}"
        );
    }
    let r = run(&["merge", o]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("points.csv"));
    // Slurm's variables pick the shard.
    let slurm = Command::new(bin)
        .args([
            "sweep",
            s,
            "--out",
            dir.path().join("slurm").to_str().unwrap(),
        ])
        .args(["--backend", "cpu"])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&slurm.stderr);
    assert!(slurm.status.success() && log.contains("shard 2/3"), "{log}");

    // Bad specs fail with exit code 2 before writing anything.
    let bad = dir.path().join("bad.json");
    let cases = [
        (
            json!({"axes": [{"key": "network.gian", "values": [1]}], "replicas": 2}),
            "unknown config key `network.gian`",
        ),
        (
            json!({"axes": [{"key": "network.gain", "linspace": [1, 2, 0]}], "replicas": 2}),
            "empty range",
        ),
        (
            json!({"axes": [{"key": "network.neurons", "values": [100000]}], "replicas": 2}),
            "network.neurons",
        ),
        (
            json!({"axes": [{"key": "network.neurons", "values": [10, 60000]}], "replicas": 2}),
            "one replica of N = 60000 needs",
        ),
        (
            json!({"axes": [{"key": "weights.std", "values": [1, -1]}], "replicas": 2}),
            "point 1 (weights.std=-1)",
        ),
    ];
    for (tree, message) in cases {
        std::fs::write(&bad, tree.to_string()).unwrap();
        let target = dir.path().join("never");
        let r = run(&[
            "sweep",
            bad.to_str().unwrap(),
            "--out",
            target.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{err}");
        assert!(
            !target.exists(),
            "nothing is written before the spec is valid"
        );
    }
    let r = run(&["sweep", s, "--out", o, "--shard", "4/3"]);
    assert_eq!(r.status.code(), Some(2));
    let r = run(&["merge", dir.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("not a sweep directory"));
}

/// Ctrl-C stops at once; what finished is kept and `--resume` completes the sweep.
#[test]
fn ctrl_c_stops_cleanly_and_resume_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = spec_tree();
    tree["axes"] = json!([
        {"key": "network.gain", "linspace": [2.0, 9.0, 8]},
        {"key": "weights.std", "linspace": [0.5, 2.0, 4]}
    ]);
    tree["base"]["network"]["neurons"] = json!(40);
    tree["base"]["schedule"]["recorded_steps"] = json!(400);
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, tree.to_string()).unwrap();
    let out = dir.path().join("out");
    let bin = env!("CARGO_BIN_EXE_hebbnet");
    let args = [
        "sweep",
        spec_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--batch",
        "1",
    ];
    let child = Command::new(bin)
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first finished part, then interrupt.
    let parts = out.join("parts");
    let started = std::time::Instant::now();
    while std::fs::read_dir(&parts).map_or(0, |d| d.count()) == 0
        && started.elapsed().as_secs() < 120
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        // The machine was faster than the poll: nothing to interrupt (still checked below).
        eprintln!("note: the sweep finished before the interrupt arrived");
    } else {
        assert_eq!(output.status.code(), Some(130), "{log}");
        assert!(
            log.contains("interrupted") && log.contains("--resume"),
            "{log}"
        );
    }
    let resumed = Command::new(bin)
        .args(args)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let whole = dir.path().join("whole");
    let fresh = Command::new(bin)
        .args(&args[..3])
        .arg(whole.to_str().unwrap())
        .args(["--backend", "cpu"])
        .output()
        .unwrap();
    assert!(fresh.status.success());
    assert_eq!(results(&out), results(&whole));
}

/// Replicas of different points share GPU batches (per-replica parameters): the GPU sweep gives
/// the CPU sweep's numbers (documented tolerance 1e-6, as tests/backends.rs; bitwise on lavapipe).
#[test]
fn gpu_packed_batches_match_the_cpu() {
    let Some(mut gpu) = common::gpu() else {
        return;
    };
    let mut tree = spec_tree();
    // Contracting networks: rounding differences of a hardware GPU stay at rounding level.
    tree["axes"] = json!([
        {"key": "network.gain", "values": [1.0, 2.0]},
        {"key": "weights.std", "values": [0.3, 0.6]}
    ]);
    let s = spec(tree, 0);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("cpu"), dir.path().join("gpu"));
    let mut cpu = CpuBackend::new(2).unwrap();
    run_sweep(&s, &mut cpu, "", &options(&a, None, false)).unwrap();
    let report = run_sweep(&s, &mut gpu, "", &options(&b, None, false)).unwrap();
    assert_eq!(
        report.batches, 1,
        "all 12 replicas of 4 points in one GPU batch"
    );
    let table = |d: &Path| -> Vec<Vec<String>> {
        std::fs::read_to_string(d.join("epochs.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let (ta, tb) = (table(&a), table(&b));
    assert_eq!(ta.len(), tb.len());
    let mut worst = 0.0f64;
    for (ra, rb) in ta.iter().zip(&tb) {
        for (x, y) in ra.iter().zip(rb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
                    worst = worst.max((x - y).abs() / x.abs().max(1.0));
                }
                _ => assert_eq!(x, y),
            }
        }
    }
    eprintln!("sweep CPU vs GPU: max relative difference {worst:e}");
    assert!(worst <= 1e-6, "{worst}");
}

/// The bundled phase diagram's physics on a small grid: where the mean field puts the network
/// well inside the ordered phase (σ²⟨f'²⟩ < 0.5) the replica-mean λ₁ is negative, well inside
/// chaos (> 2) positive (science.md §4).
#[test]
fn phase_sweep_agrees_with_the_mean_field_away_from_the_line() {
    use hebbnet::theory::mean_field::SiriMeanField;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/sweeps/phase_g_sigma.json");
    let overrides = [
        "network.neurons=100".to_string(),
        "schedule.recorded_steps=600".to_string(),
    ];
    let mut tree: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    tree["axes"] = json!([
        {"key": "network.gain", "values": [2.0, 12.0]},
        {"key": "weights.std", "values": [0.2, 4.0]}
    ]);
    tree["replicas"] = json!(4);
    let s = SweepSpec::from_value(tree, path.parent(), &overrides).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cpu = CpuBackend::new(2).unwrap();
    run_sweep(&s, &mut cpu, "", &options(dir.path(), None, false)).unwrap();
    let text = std::fs::read_to_string(dir.path().join("points.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut decided = 0;
    for (line, point) in lines.zip(s.points().unwrap()) {
        let row: Vec<&str> = line.split(',').collect();
        let lambda: f64 = row[at("lyapunov_max_mean")].parse().unwrap();
        let indicator = SiriMeanField::from_config(&point.config)
            .expect("rate form, siri, a = 1")
            .chaos_indicator();
        eprintln!(
            "{}: σ²⟨f'²⟩ = {indicator:.3}, λ₁ = {lambda:.3}",
            point.describe(&s.axes)
        );
        if indicator < 0.5 {
            assert!(lambda < 0.0, "ordered by mean field, λ₁ = {lambda}");
            decided += 1;
        } else if indicator > 2.0 {
            assert!(lambda > 0.0, "chaotic by mean field, λ₁ = {lambda}");
            decided += 1;
        }
    }
    assert!(decided >= 3, "the grid must test both phases");
}
