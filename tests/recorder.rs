//! The recorder (`output.record`) through the CLI: shapes, an analytic check against
//! `epochs.csv`, subsampling, the CPU against the GPU, and sweeps.

use std::path::Path;
use std::process::{Command, Output};

use hebbnet::npy;

mod common;

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run hebbnet")
}

fn run(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        "configs/siri2008.json",
        "--quiet",
        "--force",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "ensemble.replicas=3",
        "--set",
        "schedule.epochs=2",
        "--set",
        "schedule.recorded_steps=50",
        "--set",
        "analysis.lyapunov.tangent_transient=10",
    ];
    args.extend(extra);
    let o = hebbnet(&args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn read(path: &Path) -> npy::Array {
    npy::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// With `every = 1`, the mean over a window of the population activity is `epochs.csv`'s
/// `mean_activity` (the same average, in another order); the states have the documented shape.
#[test]
fn population_activity_averages_to_the_epoch_mean_activity() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run(
        &out,
        &[
            "--backend",
            "cpu",
            "--set",
            "backend.precision=f64",
            "--set",
            r#"output.record={"every": 1, "neurons": [0, 7, 99], "population": true}"#,
        ],
    );
    let states = read(&out.join("record_state.npy"));
    assert_eq!(states.shape, vec![3, 2, 50, 3]);
    let activity = read(&out.join("record_activity.npy"));
    assert_eq!(activity.shape, vec![3, 2, 50]);
    // Rate form: the state is the activity, in [0, 1].
    assert!(states.data.iter().all(|&x| (0.0..=1.0).contains(&x)));
    let epochs = std::fs::read_to_string(out.join("epochs.csv")).unwrap();
    let mut rows = epochs.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (ci, ce, cm) = (col("replica"), col("epoch"), col("mean_activity"));
    let mut checked = 0;
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        let (r, e): (usize, usize) = (f[ci].parse().unwrap(), f[ce].parse().unwrap());
        let want: f64 = f[cm].parse().unwrap();
        let window = &activity.data[(r * 2 + e) * 50..(r * 2 + e + 1) * 50];
        let got = window.iter().sum::<f64>() / 50.0;
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "replica {r} epoch {e}: recorded mean {got}, epochs.csv {want}"
        );
        checked += 1;
    }
    assert_eq!(checked, 6);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("record_state.npy") && manifest.contains("record_activity.npy"));
}

/// `every = 7` keeps window steps 7, 14, …, 49 of the `every = 1` series.
#[test]
fn every_kth_step_is_a_subsample_of_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let (all, some) = (dir.path().join("all"), dir.path().join("some"));
    let record = |every: usize| {
        format!(r#"output.record={{"every": {every}, "neurons": [3, 1], "population": true}}"#)
    };
    let (r1, r7) = (record(1), record(7));
    run(&all, &["--backend", "cpu", "--set", &r1]);
    run(&some, &["--backend", "cpu", "--set", &r7]);
    let (a, s) = (
        read(&all.join("record_state.npy")),
        read(&some.join("record_state.npy")),
    );
    assert_eq!(s.shape, vec![3, 2, 7, 2]);
    for block in 0..6 {
        for k in 0..7 {
            let t = 7 * (k + 1) - 1;
            for j in 0..2 {
                assert_eq!(
                    s.data[(block * 7 + k) * 2 + j],
                    a.data[(block * 50 + t) * 2 + j],
                    "block {block} sample {k} neuron {j}"
                );
            }
        }
    }
}

/// The GPU streams the same states to the recorder as the CPU computes (a contracting network,
/// so f32 rounding differences do not grow; bitwise on lavapipe).
#[test]
fn gpu_records_what_the_cpu_records() {
    let dir = tempfile::tempdir().unwrap();
    let (cpu, gpu) = (dir.path().join("cpu"), dir.path().join("gpu"));
    let common = [
        "--set",
        "network.gain=1",
        "--set",
        "weights.std=0.5",
        "--set",
        "learning.enabled=false",
        "--set",
        r#"output.record={"every": 5, "neurons": [0, 50], "population": true}"#,
    ];
    let mut c = vec!["--backend", "cpu"];
    c.extend(common);
    run(&cpu, &c);
    // Skips (or, in CI, fails) where there is no adapter.
    if common::gpu().is_none() {
        return;
    }
    let mut g = vec!["--backend", "gpu"];
    g.extend(common);
    run(&gpu, &g);
    for stem in ["record_state", "record_activity"] {
        let (a, b) = (
            read(&cpu.join(format!("{stem}.npy"))),
            read(&gpu.join(format!("{stem}.npy"))),
        );
        assert_eq!(a.shape, b.shape);
        let worst = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "{stem}: GPU − CPU up to {worst:e}");
        eprintln!("measured: {stem}, max |GPU − CPU| = {worst:.2e}");
    }
}

/// A sweep merges the recorder's arrays per point: (points, replicas, E, S, K).
#[test]
fn sweeps_record_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("sweep.json");
    std::fs::write(
        &spec,
        r#"{
  "base": {
    "network": {"neurons": 20},
    "schedule": {"epochs": 1, "transient_steps": 10, "recorded_steps": 12},
    "output": {"record": {"every": 4, "neurons": [1, 2, 3]}}
  },
  "axes": [{"key": "network.gain", "values": [1, 3]}],
  "replicas": 2,
  "seed": 1
}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = hebbnet(&[
        "sweep",
        spec.to_str().unwrap(),
        "--backend",
        "cpu",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let states = read(&out.join("record_state.npy"));
    assert_eq!(states.shape, vec![2, 2, 1, 3, 3]);
    assert!(!out.join("record_activity.npy").exists());
}

/// Records do not depend on the batching (they are written per part and concatenated), so a
/// resumed run — whose parts come from different invocations — gives the same files.
#[test]
fn records_do_not_depend_on_the_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let record = r#"output.record={"every": 3, "neurons": [4], "population": true}"#;
    run(
        &a,
        &[
            "--backend",
            "cpu",
            "--set",
            record,
            "--set",
            "backend.batch_replicas=1",
        ],
    );
    run(
        &b,
        &[
            "--backend",
            "cpu",
            "--set",
            record,
            "--set",
            "backend.batch_replicas=2",
        ],
    );
    for f in ["record_state.npy", "record_activity.npy", "epochs.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}
