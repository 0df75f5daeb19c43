//! The Jiang family (`"model": "jiang"`, models/jiang.md) through the CLI and the library: the
//! files a run writes, independence from batching and threads, the cue, the P × P reduction
//! against the dense spectrum on the user's path, and the closed forms of §8 on generated J.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hebbnet::npy;

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run hebbnet")
}

/// `hebbnet run` of `config` (JSON text) into `dir/name` on the CPU, with `extra` arguments.
fn run(dir: &Path, name: &str, config: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, config).unwrap();
    let out = dir.join(name);
    let mut args = vec![
        "run",
        path.to_str().unwrap(),
        "--quiet",
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = hebbnet(&args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// The shape in a `.npy` header (complex arrays included, which `npy::read` does not read).
fn shape_of(path: &Path) -> Vec<usize> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let npy = npyz::NpyFile::new(file).unwrap();
    npy.shape().iter().map(|&d| d as usize).collect()
}

const SMALL: &str = r#"{
  "model": "jiang",
  "jiang": {"neurons": 200, "load": 0.05, "heteroassociation": 1.5, "leak": 0.1,
            "initial_conditions": 3, "pair_perturbation": 0.001, "record_every": 5,
            "jacobian_steps": [0, 60]},
  "schedule": {"transient_steps": 40, "recorded_steps": 60},
  "ensemble": {"replicas": 5, "seed": 3},
  "output": {"save": ["eigenvalues", "jacobian_eigenvalues", "state", "patterns"]}
}"#;

fn column<'a>(csv: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == name).unwrap();
    lines.map(|l| l.split(',').nth(c).unwrap()).collect()
}

/// The files and shapes docs/config.md promises, one row per replica × condition.
#[test]
fn a_run_writes_its_table_and_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), "small", SMALL, &[]);
    let csv = std::fs::read_to_string(out.join("epochs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5 * 3);
    assert!(column(&csv, "patterns").iter().all(|p| *p == "10"));
    let shape = |stem: &str| shape_of(&out.join(format!("{stem}.npy")));
    // t = 0, 5, …, 100: 21 samples.
    assert_eq!(shape("overlaps"), vec![5, 3, 21, 10]);
    assert_eq!(shape("activity"), vec![5, 3, 21, 5]);
    assert_eq!(shape("eigenvalues"), vec![5, 10]);
    assert_eq!(shape("jacobian_eigenvalues"), vec![5, 2, 10]);
    assert_eq!(shape("state"), vec![5, 3, 200]);
    assert_eq!(shape("patterns"), vec![5, 10, 200]);
    let patterns = npy::read(&out.join("patterns.npy")).unwrap();
    assert!(patterns.data.iter().all(|&x| x == 1.0 || x == -1.0));
    // The twins start 10⁻³ N(0, 1) apart: ‖h − h'‖/√N ≈ 10⁻³ at t = 0.
    let activity = npy::read(&out.join("activity.npy")).unwrap();
    let d0 = activity.data[4];
    assert!((d0 - 1e-3).abs() < 2e-4, "initial twin distance {d0}");
    // The right edge is the largest real part of the saved eigenvalues (and ≥ 0: N − P zeros).
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 2);
    let edge: f64 = column(&csv, "right_edge")[0].parse().unwrap();
    assert!(
        edge > 1.0 && edge < 2.5,
        "x_R {edge} (theory √1.05·1.5 = 1.54)"
    );
}

/// A result depends on the seed and the replica only: one replica per batch and one thread give
/// the same table and arrays as the default batching.
#[test]
fn results_do_not_depend_on_batching_or_threads() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", SMALL, &[]);
    let b = run(dir.path(), "b", SMALL, &["--batch", "1", "--threads", "1"]);
    for file in [
        "epochs.csv",
        "overlaps.npy",
        "activity.npy",
        "eigenvalues.npy",
        "state.npy",
    ] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// A cue starts at the pattern: m^μ(0) = tanh(1) for μ = the cue, ≈ 0 for the others; with every
/// sign flipped, −tanh(1).
#[test]
fn a_cue_starts_at_its_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"{"model": "jiang",
      "jiang": {"neurons": 400, "load": 0.02, "leak": 0.05, "cue": {"pattern": 3},
                "lyapunov": false, "spectrum": false, "record_every": 10},
      "schedule": {"transient_steps": 0, "recorded_steps": 10},
      "ensemble": {"replicas": 2}}"#;
    let out = run(dir.path(), "cue", config, &[]);
    let m = npy::read(&out.join("overlaps.npy")).unwrap();
    let p = 8;
    let t1 = 1f64.tanh();
    assert!((m.data[3] - t1).abs() < 1e-6, "m^3(0) = {}", m.data[3]);
    for mu in (0..p).filter(|&mu| mu != 3) {
        assert!(m.data[mu].abs() < 0.25, "m^{mu}(0) = {}", m.data[mu]);
    }
    let flipped = run(
        dir.path(),
        "flipped",
        config,
        &["--set", "jiang.cue.flip_probability=1"],
    );
    let m = npy::read(&flipped.join("overlaps.npy")).unwrap();
    assert!((m.data[3] + t1).abs() < 1e-6);
}

/// With the factored and dense fields the CLI writes the same overlaps (f64), and the J_ii = 0
/// option is honoured on both.
#[test]
fn factored_and_dense_runs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let base = r#"{"model": "jiang",
      "jiang": {"neurons": 150, "load": 0.1, "heteroassociation": 1.3, "depth": 2,
                "autoassociation": 0.4, "self_couplings": false, "leak": 0.1,
                "pair_perturbation": 0.01},
      "schedule": {"transient_steps": 50, "recorded_steps": 50},
      "ensemble": {"replicas": 3}, "backend": {"precision": "f64"}}"#;
    let f = run(
        dir.path(),
        "f",
        base,
        &["--set", "jiang.couplings=\"factored\""],
    );
    let d = run(
        dir.path(),
        "d",
        base,
        &["--set", "jiang.couplings=\"dense\""],
    );
    for stem in ["overlaps", "activity"] {
        let a = npy::read(&f.join(format!("{stem}.npy"))).unwrap();
        let b = npy::read(&d.join(format!("{stem}.npy"))).unwrap();
        let diff = a
            .data
            .iter()
            .zip(&b.data)
            .filter(|(x, _)| x.is_finite())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(diff < 1e-5, "{stem}: {diff}");
    }
}

/// A diluted network runs on the dense path and refuses the factored one (Gaussian patterns:
/// with ±1 ones and even P, J_ij itself is 0 with probability C(P, P/2)/2^P).
#[test]
fn dilution_takes_the_dense_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"{"model": "jiang",
      "jiang": {"neurons": 100, "load": 0.1, "dilution": 0.5, "leak": 0.1,
                "patterns": "gaussian"},
      "schedule": {"transient_steps": 10, "recorded_steps": 10},
      "ensemble": {"replicas": 2}, "output": {"save": ["weights", "eigenvalues"]}}"#;
    let out = run(dir.path(), "diluted", config, &[]);
    let w = npy::read(&out.join("weights.npy")).unwrap();
    let zeros = w.data.iter().filter(|&&x| x == 0.0).count() as f64 / w.data.len() as f64;
    assert!(
        (zeros - 0.5).abs() < 0.05,
        "fraction of removed couplings {zeros}"
    );
    // No reduction with dilution: all N eigenvalues.
    assert_eq!(shape_of(&out.join("eigenvalues.npy")), vec![2, 100]);
    let path = dir.path().join("diluted.json");
    let o = hebbnet(&[
        "run",
        path.to_str().unwrap(),
        "--set",
        "jiang.couplings=\"factored\"",
        "--out",
        dir.path().join("no").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("jiang.couplings"));
}
