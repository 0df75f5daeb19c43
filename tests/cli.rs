//! `hebbnet` end to end: the binary on small configs, its files, and its errors.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use hebbnet::analysis::EPOCH_COLUMNS;
use hebbnet::npy;

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run hebbnet")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const SMALL: [&str; 6] = [
    "--replicas",
    "3",
    "--epochs",
    "2",
    "--set",
    "schedule.transient_steps=10",
];

fn small_run(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--out", out.to_str().unwrap(), "--backend", "cpu"];
    args.extend(SMALL);
    args.extend(["--set", "schedule.recorded_steps=120"]);
    args.extend(["--set", "analysis.lyapunov.tangent_transient=20"]);
    args.extend(extra);
    hebbnet(&args)
}

#[test]
fn default_config_runs_and_writes_csv_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = small_run(&out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("backend: CPU"), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("epochs.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], EPOCH_COLUMNS.join(","));
    assert_eq!(lines.len(), 1 + 3 * 2);
    assert!(lines[1].starts_with("0,0,") && lines[6].starts_with("2,1,"));
    let attractor = EPOCH_COLUMNS
        .iter()
        .position(|c| *c == "attractor")
        .unwrap();
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), EPOCH_COLUMNS.len());
        for (c, f) in fields.iter().enumerate() {
            if c != attractor {
                let v: f64 = f.parse().unwrap();
                // NaN means "not computed": the embedded config measures no sensitivity, and
                // the Kaplan–Yorke dimension is undetermined for k = 1 and λ₁ > 0.
                let optional = ["kaplan_yorke", "susceptibility", "discrimination"];
                assert!(
                    v.is_finite() || optional.contains(&EPOCH_COLUMNS[c]),
                    "{}: {line}",
                    EPOCH_COLUMNS[c]
                );
            }
        }
    }
    let m = json(&out.join("manifest.json"));
    assert_eq!(m["status"], "complete");
    assert_eq!(m["backend"]["kind"], "cpu");
    // Which kernel variant ran (see backend::KernelVariant).
    assert_eq!(m["backend"]["kernels"][0]["neurons"], 100);
    assert_eq!(m["backend"]["kernels"][0]["weights_read_from"], "cache");
    assert_eq!(m["backend"]["kernels"][0]["weight_storage"], "f32");
    assert_eq!(m["config"]["ensemble"]["replicas"], 3);
    assert_eq!(m["config"]["schedule"]["recorded_steps"], 120);
    assert_eq!(m["seed"], 1);
    assert_eq!(m["hebbnet_version"], env!("CARGO_PKG_VERSION"));
    assert!(m["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(!out.join("parts").exists(), "parts/ is removed once merged");

    // The embedded config analyses every epoch: λ₁, both spectra, attractor classes.
    let lyap = npy::read(&out.join("lyapunov.npy")).unwrap();
    assert_eq!(lyap.shape, vec![3, 2, 1]);
    assert!(lyap.data.iter().all(|l| l.is_finite()));
    assert_eq!(
        npy::read(&out.join("lyapunov_trace.npy")).unwrap().shape,
        vec![3, 2, 50, 2]
    );
    for name in ["eigenvalues_W.npy", "eigenvalues_J.npy"] {
        let file = std::fs::File::open(out.join(name)).unwrap();
        let header = npyz::NpyFile::new(std::io::BufReader::new(file)).unwrap();
        assert_eq!(header.shape(), &[3, 2, 100]);
        assert_eq!(header.dtype().descr(), "'<c16'", "{name} is complex128");
    }
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 2);
    assert!(summary
        .lines()
        .next()
        .unwrap()
        .contains("lyapunov_max_ci95_low"));

    // The same run again: nothing to do. A different one: refused, unless --force.
    let again = small_run(&out, &[]);
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("nothing to do"),
        "{}",
        stderr(&again)
    );
    let other = small_run(&out, &["--seed", "2"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(
        stderr(&other).contains("different run"),
        "{}",
        stderr(&other)
    );
    let forced = small_run(&out, &["--seed", "2", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(
        std::fs::read_to_string(out.join("epochs.csv")).unwrap(),
        csv
    );
}

#[test]
fn seeds_make_runs_reproducible_across_thread_counts_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(small_run(&a, &["--threads", "1"]).status.success());
    assert!(small_run(&b, &["--threads", "2", "--batch", "1"])
        .status
        .success());
    let read = |p: &Path| std::fs::read(p.join("epochs.csv")).unwrap();
    assert_eq!(read(&a), read(&b));
}

/// Each malformed input: exit code 2 and a message naming the problem.
#[test]
fn malformed_configs_are_rejected_with_the_documented_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![write("bad.json", "{\"network\": {\"neurons\": 10,}}")],
            "is not valid JSON",
        ),
        (
            vec![write("typo.json", "{\"learning\": {\"forgeting\": 0.5}}")],
            "`learning.forgeting`: unknown field",
        ),
        (
            vec![write("leak.json", "{\"network\": {\"leak\": 1.5}}")],
            "`network.leak`: must be in (0, 1]",
        ),
        (
            vec![write("type.json", "{\"network\": {\"neurons\": \"many\"}}")],
            "`network.neurons`: invalid type",
        ),
        (
            vec!["no/such/config.json".to_string()],
            "cannot read the config file",
        ),
        (
            vec![write(
                "w.json",
                "{\"weights\": {\"file\": \"missing_w.npy\"}}",
            )],
            "missing_w.npy: cannot open",
        ),
        (
            vec!["--set".into(), "network.gain=NaN".into()],
            "`network.gain`: invalid type: string \"NaN\"",
        ),
        (
            vec!["--set".into(), "network.gain".into()],
            "must look like path=value",
        ),
        (
            vec![
                "--backend".into(),
                "gpu".into(),
                "--precision".into(),
                "f64".into(),
            ],
            "`backend.precision`: f64 is a CPU reference mode",
        ),
        (vec!["--frobnicate".into()], "unexpected argument"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["run".to_string(), "--out".into(), out.into()];
        all.extend(args.iter().cloned());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = hebbnet(&refs);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(expected),
            "{args:?}: expected `{expected}` in:\n{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

#[test]
fn arrays_load_from_npy_and_save_to_npy() {
    let dir = tempfile::tempdir().unwrap();
    let (n, r) = (5usize, 2usize);
    let w: Vec<f64> = (0..n * n).map(|k| (k as f64 * 0.37).sin() * 0.3).collect();
    let xi: Vec<f64> = (0..r * n).map(|k| k as f64 * 0.01).collect();
    let save = |name: &str, shape: &[usize], data: &[f64]| {
        let mut wr = npy::Writer::create(&dir.path().join(name), npy::Dtype::F64, shape).unwrap();
        wr.push(data).unwrap();
        wr.finish().unwrap();
    };
    save("w.npy", &[n, n], &w);
    save("xi.npy", &[r, n], &xi);
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"network": {{"neurons": {n}, "form": "current", "activation": "tanh", "gain": 1.0}},
               "weights": {{"file": "w.npy"}}, "input": {{"file": "xi.npy"}},
               "learning": {{"enabled": false}},
               "schedule": {{"epochs": 1, "transient_steps": 0, "recorded_steps": 7}},
               "ensemble": {{"replicas": {r}}}}}"#
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = hebbnet(&[
        "run",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--save",
        "weights,input,state",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let weights = npy::read(&out.join("weights.npy")).unwrap();
    assert_eq!(weights.shape, vec![r, n, n]);
    // Learning is off: the final weights are the loaded ones (rounded to f32), W[r, i, j] = W_ij.
    for k in 0..r {
        for (a, b) in weights.data[k * n * n..(k + 1) * n * n].iter().zip(&w) {
            assert_eq!(*a, *b as f32 as f64);
        }
    }
    let input = npy::read(&out.join("input.npy")).unwrap();
    assert_eq!(input.shape, vec![r, n]);
    assert!(common::max_diff(&input.data, &xi) < 1e-7);
    let state = npy::read(&out.join("state.npy")).unwrap();
    assert_eq!(state.shape, vec![r, n]);

    // A wrong shape is named with the expected ones.
    save("bad.npy", &[n + 1], &vec![0.0; n + 1]);
    let o = hebbnet(&[
        "run",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--set",
        "input.file=bad.npy",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "shape [6] does not fit this run: expected [5] (shared by all replicas) or [2, 5]"
        ),
        "{}",
        stderr(&o)
    );
}

/// The GPU backend through the CLI, against the CPU on a contracting network.
#[test]
fn gpu_and_cpu_runs_agree_through_the_cli() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |backend: &str| {
        let out = dir.path().join(backend);
        let o = hebbnet(&[
            "run",
            "--out",
            out.to_str().unwrap(),
            "--backend",
            backend,
            "--replicas",
            "5",
            "--epochs",
            "4",
            "--set",
            "network.gain=1.5",
            "--save",
            "weights",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (out.clone(), json(&out.join("manifest.json")))
    };
    let (cpu, _) = run("cpu");
    let (gpu, manifest) = run("gpu");
    assert_eq!(manifest["backend"]["kind"], "gpu");
    assert!(manifest["backend"]["adapter"]["name"].is_string());
    let kernel = &manifest["backend"]["kernels"][0];
    assert_eq!(kernel["neurons"], 100);
    // "auto": all of W in workgroup memory where 40,400 bytes fit; else the largest prefix of
    // columns that fits (lavapipe's 32 KiB: 80 of the 100 columns, 32,400 bytes).
    let limit = manifest["backend"]["adapter"]["max_compute_workgroup_storage_size"]
        .as_u64()
        .unwrap();
    let (place, columns) = if limit >= 40_400 {
        ("workgroup", 100)
    } else {
        ("partial", (limit / 4 - 100) / 100)
    };
    assert_eq!(kernel["weights_read_from"], place, "{kernel}");
    assert_eq!(kernel["resident_columns"], columns, "{kernel}");
    let placement = kernel["placement"].as_str().unwrap();
    assert!(
        placement.starts_with(&format!("W: {columns} of 100 columns"))
            || placement.starts_with("W: all 100 columns in workgroup memory"),
        "{placement}"
    );
    let rows = |p: &Path| -> Vec<Vec<f64>> {
        std::fs::read_to_string(p.join("epochs.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').filter_map(|f| f.parse().ok()).collect())
            .collect()
    };
    let (c, g) = (rows(&cpu), rows(&gpu));
    assert_eq!(c.len(), g.len());
    for (a, b) in c.iter().zip(&g) {
        for (x, y) in a.iter().zip(b) {
            let same = (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-4 * x.abs().max(1.0);
            assert!(same, "{a:?}\n{b:?}");
        }
    }
    let wc = npy::read(&cpu.join("weights.npy")).unwrap();
    let wg = npy::read(&gpu.join("weights.npy")).unwrap();
    assert!(common::max_diff(&wc.data, &wg.data) < 1e-5);
}

/// `backend.workgroup_memory_bytes` reaches the GPU backend: a 1,000-byte budget at N = 30 keeps
/// 7 of the 30 columns resident (4·(30 + 30c) ≤ 1000), recorded in the manifest and printed;
/// a budget above the adapter's limit is refused naming the key and the limit.
#[test]
fn workgroup_memory_cap_reaches_the_manifest_and_is_checked() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capped");
    let mut args = vec!["run", "--out", out.to_str().unwrap(), "--backend", "gpu"];
    args.extend(SMALL);
    args.extend([
        "--set",
        "network.neurons=30",
        "--set",
        "schedule.recorded_steps=20",
        "--set",
        "analysis.lyapunov.tangent_transient=5",
        "--set",
        "backend.workgroup_memory_bytes=1000",
    ]);
    let o = hebbnet(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = json(&out.join("manifest.json"));
    let kernel = &m["backend"]["kernels"][0];
    assert_eq!(kernel["weights_read_from"], "partial", "{kernel}");
    assert_eq!(kernel["resident_columns"], 7, "{kernel}");
    assert_eq!(kernel["workgroup_cap"], 1000, "{kernel}");
    assert_eq!(kernel["workgroup_bytes"], 4 * (30 + 7 * 30), "{kernel}");
    assert!(
        stderr(&o).contains("W: 7 of 30 columns in workgroup memory (f32), 23 read from global"),
        "{}",
        stderr(&o)
    );
    let limit = m["backend"]["adapter"]["max_compute_workgroup_storage_size"]
        .as_u64()
        .unwrap();
    let too_much = format!("backend.workgroup_memory_bytes={}", limit + 1);
    let o = hebbnet(&[
        "run",
        "--out",
        dir.path().join("refused").to_str().unwrap(),
        "--backend",
        "gpu",
        "--set",
        &too_much,
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("backend.workgroup_memory_bytes") && e.contains(&limit.to_string()),
        "{e}"
    );
}

#[test]
fn devices_and_config_commands_work() {
    let o = hebbnet(&["devices"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--backend auto would use"));
    let o = hebbnet(&["config", "--set", "network.neurons=7"]);
    assert!(o.status.success());
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["network"]["neurons"], 7);
}
