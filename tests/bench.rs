//! `hebbnet bench` end to end: its files, its labels, its errors. No timed assertions: only
//! that rates are positive and finite, and that the backends agree.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use hebbnet::bench::CSV_COLUMNS;

fn hebbnet(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hebbnet"));
    c.args(args).env("XDG_RUNTIME_DIR", std::env::temp_dir());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run hebbnet")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Rows of bench.csv as column → value maps.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header, CSV_COLUMNS, "bench.csv header");
    lines
        .map(|line| {
            // Quoted fields may hold commas.
            let mut fields = Vec::new();
            let (mut cur, mut quoted) = (String::new(), false);
            for ch in line.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields.push(std::mem::take(&mut cur)),
                    c => cur.push(c),
                }
            }
            fields.push(cur);
            assert_eq!(fields.len(), header.len(), "{line}");
            header.iter().map(|h| h.to_string()).zip(fields).collect()
        })
        .collect()
}

fn value(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {}", row[key]))
}

const SMALL: [&str; 8] = [
    "bench",
    "--n",
    "16",
    "--replicas",
    "4",
    "--steps",
    "20",
    "--repeat=1",
];

#[test]
fn cpu_bench_writes_csv_and_json_with_sane_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let mut args = SMALL.to_vec();
    args.extend(["--backends", "cpu", "--out", out.to_str().unwrap()]);
    let o = hebbnet(&args, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("CPU peak:") && stdout.contains("synapse upd/s"),
        "{stdout}"
    );
    let rows = csv_rows(&out.join("bench.csv"));
    let cases: Vec<&str> = rows.iter().map(|r| r["case"].as_str()).collect();
    assert_eq!(
        cases,
        ["dynamics", "learning", "lyapunov_1", "lyapunov_full"]
    );
    for r in &rows {
        assert_eq!(r["backend"], "cpu");
        assert_eq!(r["neurons"], "16");
        assert_eq!(r["replicas"], "4");
        assert_eq!(r["steps"], "20");
        for key in [
            "median_s",
            "min_s",
            "steps_per_s",
            "synapse_updates_per_s",
            "gflops",
            "peak_gflops",
            "fraction_of_peak",
        ] {
            let v = value(r, key);
            assert!(v.is_finite() && v > 0.0, "{key} = {v}");
        }
        assert!(value(r, "min_s") <= value(r, "median_s"));
        // N² R steps / s.
        let sups = 16.0 * 16.0 * 4.0 * 20.0 / value(r, "median_s");
        assert!((value(r, "synapse_updates_per_s") / sups - 1.0).abs() < 1e-9);
        // One backend: no agreement, no ratio.
        assert!(value(r, "agreement").is_nan() && value(r, "vs_cpu").is_nan());
        assert_eq!(r["software"], "false");
    }
    assert_eq!(rows[3]["exponents"], "16");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert!(j["machine"]["cpu_model"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(j["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(j["machine"].get("adapter").is_none());
    assert!(j["peaks"]["cpu"]["gflops"].as_f64().unwrap() > 0.0);
    assert_eq!(j["peaks"]["cpu"]["samples"].as_array().unwrap().len(), 2);
    assert!(j["peaks"].get("gpu").is_none());
    assert!(j["date"].as_str().unwrap().ends_with('Z'));
    assert_eq!(j["hebbnet_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(j["command_line"][1], "bench");
    let rows = j["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    // NaN is written as null in JSON: not measured.
    assert!(rows[0]["agreement"].is_null());
    assert!(rows[0]["synapse_updates_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn gpu_bench_labels_a_software_adapter_and_agrees_with_the_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let software = gpu.adapter().software;
    drop(gpu);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let mut args = SMALL.to_vec();
    args.extend(["--backends", "cpu,gpu", "--out", out.to_str().unwrap()]);
    let o = hebbnet(&args, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("adapter:") && stdout.contains("GPU peak:"),
        "{stdout}"
    );
    let rows = csv_rows(&out.join("bench.csv"));
    assert_eq!(rows.len(), 8);
    for r in &rows {
        let agreement = value(r, "agreement");
        assert!(
            agreement <= 1e-6,
            "{} {}: agreement {agreement}",
            r["case"],
            r["backend"]
        );
        assert!(!r["agreement_of"].is_empty());
        if r["backend"] == "gpu" {
            assert!(value(r, "vs_cpu") > 0.0);
            assert!(value(r, "peak_gflops") > 0.0);
            if software {
                assert_eq!(r["software"], "true");
                assert_eq!(r["vs_cpu_kind"], "software/CPU");
                assert!(
                    r["note"].contains("correctness only, not GPU speed"),
                    "{}",
                    r["note"]
                );
            } else {
                assert_eq!(r["vs_cpu_kind"], "GPU/CPU");
            }
        } else {
            assert!(value(r, "vs_cpu").is_nan());
        }
    }
    if software {
        // No ratio to a software adapter is called a GPU speedup.
        assert!(!stdout.contains("GPU/CPU"), "{stdout}");
        assert!(stdout.contains("software/CPU") && stdout.contains("SOFTWARE adapter"));
        let j: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap())
                .unwrap();
        assert_eq!(j["machine"]["adapter"]["software"], true);
    }
}

#[test]
fn bad_input_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let out = out.to_str().unwrap();
    for (args, expect) in [
        (vec!["bench", "--n", "0"], "at least 1"),
        (vec!["bench", "--n", ""], "--n 100,400"),
        (vec!["bench", "--replicas", "4,x"], "not a positive integer"),
        (vec!["bench", "--backends", "tpu"], "cpu,gpu"),
        (vec!["bench", "--cases", "lyapunov"], "lyapunov_full"),
        (
            vec!["bench", "--backends", "cpu", "--steps", "1", "--out", out],
            "--steps",
        ),
        (
            vec!["bench", "--backends", "cpu", "--repeat", "0", "--out", out],
            "--repeat",
        ),
    ] {
        let o = hebbnet(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(expect),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    assert!(!Path::new(out).exists(), "nothing is written on bad input");
}

#[test]
fn gpu_without_an_adapter_is_the_no_adapter_error() {
    // Only Vulkan, with no driver: no adapter, whatever this machine has.
    let hide = [
        ("WGPU_BACKEND", "vulkan"),
        ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
        ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let mut args = SMALL.to_vec();
    args.extend(["--backends", "gpu", "--out", out.to_str().unwrap()]);
    let o = hebbnet(&args, &hide);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("no GPU adapter found") && err.contains("--backends cpu"),
        "{err}"
    );
    // Without --backends, the bench runs what exists and says what it left out.
    let mut args = SMALL.to_vec();
    args.extend(["--cases", "dynamics", "--out", out.to_str().unwrap()]);
    let o = hebbnet(&args, &hide);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("note: gpu: not run"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(csv_rows(&out.join("bench.csv")).len(), 1);
}

#[test]
fn fma_peak_kernel_validates() {
    let source = hebbnet::bench::peak::fma_peak_source();
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("fma_peak does not parse:\n{}", e.emit_to_string(&source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("fma_peak is invalid:\n{}", e.emit_to_string(&source)));
    assert!(module.entry_points.iter().any(|e| e.name == "fma_peak"));
}
