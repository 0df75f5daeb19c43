//! A sweep's identity survives its numbers being written to disk and read back, whatever the
//! numbers: resume, shards and merge work for every axis kind (computed axes hold 17-digit
//! values such as 0.30000000000000004) and for every bundled sweep config, through the library
//! and through the command line a user (or a Slurm job array) runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{sweep_options as options, sweep_results as results, Flaky};
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::experiment::sweep::{merge, run_sweep, Shard, SweepSpec};
use serde_json::{json, Value};

fn assert_same(got: &Path, expected: &[(String, Vec<u8>)], what: &str) {
    let got = results(got);
    assert!(
        got.iter().any(|(n, _)| n == "summary.csv") && got.iter().any(|(n, _)| n == "points.csv"),
        "{what}: no merged sweep"
    );
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(expected), "{what}: other files");
    for ((name, a), (_, b)) in got.iter().zip(expected) {
        assert!(
            a == b,
            "{what}: {name} differs from the uninterrupted sweep"
        );
    }
}

/// A small sweep over one axis of `kind`, the other axis computed too.
fn spec_with(axis: Value) -> SweepSpec {
    let tree = json!({
        "base": {
            "network": {"neurons": 8, "gain": 4.0},
            "schedule": {"epochs": 2, "transient_steps": 10, "recorded_steps": 20},
            "learning": {"enabled": true},
            "analysis": {"lyapunov": {"exponents": 1, "tangent_transient": 5}}
        },
        "axes": [axis, {"key": "weights.std", "geomspace": [0.13, 3.7, 2]}],
        "replicas": 3,
        "seed": 11
    });
    SweepSpec::from_value(tree, None, &["backend.batch_replicas=2".into()]).unwrap()
}

/// Every axis kind, with values that do not survive a lossy parse: a crash part-way resumes to
/// identical bytes, shards in any order merge to identical bytes, and finished sweeps rerun
/// with `--resume` do nothing.
#[test]
fn every_axis_kind_resumes_shards_and_merges() {
    let axes = [
        (
            "values",
            json!({"key": "learning.forgetting", "values": [0.1 + 0.2, 1.0 / 3.0, 0.7]}),
        ),
        (
            "linspace",
            json!({"key": "network.gain", "linspace": [0.1, 7.3, 3]}),
        ),
        (
            "logspace",
            json!({"key": "network.gain", "logspace": [-0.3, 0.77, 3]}),
        ),
        (
            "geomspace",
            json!({"key": "network.gain", "geomspace": [1.0, 16.0, 3]}),
        ),
    ];
    for (kind, axis) in axes {
        let spec = spec_with(axis);
        let dir = tempfile::tempdir().unwrap();
        let mut cpu = CpuBackend::new(2).unwrap();

        let whole = dir.path().join("whole");
        run_sweep(&spec, &mut cpu, "", &options(&whole, None, false)).unwrap();
        let expected = results(&whole);
        // A finished sweep rerun with --resume: nothing to do, no refusal.
        let again = run_sweep(&spec, &mut cpu, "", &options(&whole, None, true))
            .unwrap_or_else(|e| panic!("{kind}: rerun of a finished sweep refused: {e}"));
        assert_eq!(again.computed_units, 0, "{kind}");

        // A crash after two batches, then --resume.
        let broken = dir.path().join("broken");
        let mut flaky = Flaky {
            inner: CpuBackend::new(2).unwrap(),
            fail_after: 2,
            batches: 0,
        };
        assert!(run_sweep(&spec, &mut flaky, "", &options(&broken, None, false)).is_err());
        let report = run_sweep(&spec, &mut cpu, "", &options(&broken, None, true))
            .unwrap_or_else(|e| panic!("{kind}: resume refused: {e}"));
        assert_eq!(report.resumed_units, 4, "{kind}");
        assert_same(&broken, &expected, &format!("{kind}: resumed"));

        // Three shards into one directory, out of order, then merge.
        let sharded = dir.path().join("sharded");
        for index in [3, 1, 2] {
            let shard = Shard { index, count: 3 };
            run_sweep(&spec, &mut cpu, "", &options(&sharded, Some(shard), false))
                .unwrap_or_else(|e| panic!("{kind}: shard {index}/3 refused: {e}"));
        }
        merge(&sharded).unwrap();
        assert_same(&sharded, &expected, &format!("{kind}: sharded"));
    }
}

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({:?}): {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every bundled sweep config, through the CLI as users run it: kill -9 part-way and
/// `--resume`, shards into one directory and `hebbnet merge`, all byte-identical to one
/// uninterrupted run. The spec's axes are used as they are; only the work per point is made
/// smaller with `--set` so that the test stays short (`tests/kill_resume.py` kills the full
/// bundled sweep at random moments).
#[test]
fn bundled_sweeps_resume_shard_and_merge_from_the_cli() {
    let mut bundled: Vec<PathBuf> = Vec::new();
    for dir in [
        "/configs/sweeps",
        "/configs/cessac2010",
        "/configs/jiang2022",
        "/configs/lotito2025",
        "/configs/rivkind2017",
    ] {
        bundled.extend(
            std::fs::read_dir(format!("{}{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                // Sweep specs only (a spec has axes; the directory also holds run configs).
                .filter(|p| std::fs::read_to_string(p).unwrap().contains("\"axes\"")),
        );
    }
    bundled.sort();
    assert!(bundled.len() >= 5, "{bundled:?}");
    for path in bundled {
        let spec = path.to_str().unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let spiking = text.contains("\"model\": \"bms\"");
        let sequence = text.contains("\"model\": \"jiang\"");
        let memory = text.contains("\"model\": \"lotito\"");
        let reservoir = text.contains("\"model\": \"reservoir\"");
        let smaller_analog = [
            "--set",
            "network.neurons=24",
            "--set",
            "schedule.transient_steps=20",
            "--set",
            "schedule.recorded_steps=60",
            "--set",
            "analysis.lyapunov.tangent_transient=10",
            "--backend",
            "cpu",
            "--quiet",
        ];
        let smaller_spiking = [
            "--set",
            "bms.neurons=24",
            "--set",
            "schedule.transient_steps=20",
            "--set",
            "schedule.recorded_steps=60",
            "--backend",
            "cpu",
            "--quiet",
        ];
        // N = 300 keeps P ≥ 3 > depth at the smallest bundled load (α = 0.01).
        let smaller_sequence = [
            "--set",
            "jiang.neurons=300",
            "--set",
            "schedule.transient_steps=20",
            "--set",
            "schedule.recorded_steps=40",
            "--backend",
            "cpu",
            "--quiet",
        ];
        // T = 1600 keeps the replacement sweep's step (1500) inside the run.
        let smaller_memory = ["--set", "lotito.steps=1600", "--backend", "cpu", "--quiet"];
        // N = 30, short relaxations and closed loops, one kick.
        let smaller_reservoir = [
            "--set",
            "network.neurons=30",
            "--set",
            "reservoir.open_loop.time=40",
            "--set",
            "reservoir.open_loop.lyapunov_time=10",
            "--set",
            "reservoir.kicks.time=20",
            "--set",
            "reservoir.kicks.samples=4",
            "--set",
            r#"reservoir.kicks.kinds=["combined"]"#,
            "--backend",
            "cpu",
            "--quiet",
        ];
        let smaller: &[&str] = if reservoir {
            &smaller_reservoir
        } else if memory {
            &smaller_memory
        } else if spiking {
            &smaller_spiking
        } else if sequence {
            &smaller_sequence
        } else {
            &smaller_analog
        };
        let run = |out: &Path, extra: &[&str]| -> Output {
            let mut args = vec!["sweep", spec, "--out", out.to_str().unwrap()];
            args.extend_from_slice(smaller);
            args.extend_from_slice(extra);
            hebbnet(&args)
        };
        let whole = dir.path().join("whole");
        ok(&run(&whole, &[]), &format!("{name}: the whole sweep"));
        let expected = results(&whole);
        ok(
            &run(&whole, &["--resume"]),
            &format!("{name}: rerun with --resume"),
        );

        // kill -9 once the first batches are on disk, then --resume.
        let killed = dir.path().join("killed");
        let mut args = vec!["sweep".to_string(), spec.to_string(), "--out".into()];
        args.push(killed.to_str().unwrap().into());
        args.extend(smaller.iter().map(|s| s.to_string()));
        args.extend(["--batch".into(), "2".into()]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_hebbnet"))
            .args(&args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let parts = killed.join("parts");
        let started = Instant::now();
        while std::fs::read_dir(&parts).map_or(0, |d| d.count()) < 3
            && started.elapsed() < Duration::from_secs(120)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            !killed.join("summary.csv").exists(),
            "{name}: the sweep finished before the kill; nothing was tested"
        );
        ok(
            &run(&killed, &["--resume"]),
            &format!("{name}: resume after kill -9"),
        );
        assert_same(
            &killed,
            &expected,
            &format!("{name}: resumed after kill -9"),
        );

        // Three shards into one directory (a job array), then merge.
        let sharded = dir.path().join("sharded");
        for shard in ["2/3", "3/3", "1/3"] {
            ok(
                &run(&sharded, &["--shard", shard]),
                &format!("{name}: shard {shard}"),
            );
        }
        ok(
            &hebbnet(&["merge", sharded.to_str().unwrap()]),
            &format!("{name}: merge"),
        );
        assert_same(&sharded, &expected, &format!("{name}: sharded"));
    }
}

/// A run's identity survives disk too: a config whose numbers have 17 significant digits (as a
/// sweep point's, or a `--set` pasted from NumPy) is resumed, and a finished run is recognised.
#[test]
fn a_run_with_seventeen_digit_numbers_resumes() {
    use hebbnet::config::Config;
    use hebbnet::experiment::{run, RunOptions};
    let config = Config::load(
        None,
        &[
            "network.neurons=9".into(),
            "network.gain=1.2866648980094317".into(),
            "weights.std=0.13984334944969826".into(),
            "learning.forgetting=0.30000000000000004".into(),
            "ensemble.replicas=5".into(),
            "schedule.epochs=2".into(),
            "schedule.transient_steps=5".into(),
            "schedule.recorded_steps=12".into(),
            "analysis.lyapunov.tangent_transient=2".into(),
            "backend.batch_replicas=2".into(),
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = |out: &Path| RunOptions {
        out: out.to_path_buf(),
        config_source: "test".into(),
        command_line: vec![],
        quiet: true,
        force: false,
    };
    let whole = dir.path().join("whole");
    run(
        &config,
        &mut CpuBackend::new(2).unwrap(),
        "",
        &options(&whole),
    )
    .unwrap();
    let again = run(
        &config,
        &mut CpuBackend::new(2).unwrap(),
        "",
        &options(&whole),
    )
    .unwrap_or_else(|e| panic!("a finished run was not recognised: {e}"));
    assert!(again.already_complete);

    let broken = dir.path().join("broken");
    let mut flaky = Flaky {
        inner: CpuBackend::new(2).unwrap(),
        fail_after: 1,
        batches: 0,
    };
    assert!(run(&config, &mut flaky, "", &options(&broken)).is_err());
    let resumed = run(
        &config,
        &mut CpuBackend::new(2).unwrap(),
        "",
        &options(&broken),
    )
    .unwrap_or_else(|e| panic!("resume refused: {e}"));
    assert_eq!(resumed.resumed_replicas, 2);
    assert_eq!(
        std::fs::read(whole.join("epochs.csv")).unwrap(),
        std::fs::read(broken.join("epochs.csv")).unwrap()
    );
}
