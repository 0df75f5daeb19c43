//! The BMS family (`"model": "bms"`, models/cessac.md) through the CLI: the anchors of §10 that
//! need the whole engine (death, the uncoupled period, d̂ over initial conditions), learning,
//! twins, the raster array, resume, and independence from batching, threads and noise streams.

use std::path::Path;
use std::process::{Command, Output};

use hebbnet::npy;

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run hebbnet")
}

/// `hebbnet run` of `config` (JSON text) into `out` on the CPU, with `extra` arguments.
fn run(dir: &Path, name: &str, config: &str, extra: &[&str]) -> std::path::PathBuf {
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

/// The rows of `epochs.csv` as (column → value) maps.
fn rows(out: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(out.join("epochs.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::BTreeMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {}", row[key]))
}

/// Anchors 1 and 6: W = 0 networks are uncoupled neurons. I = 0.5, γ = 0.6: period 4, rate ¼,
/// d̂ = 0.02 (every neuron is the same neuron, started at different V); I = 0.2: dead,
/// period 1, d̂ = θ − I/(1 − γ) = 0.5, λ_max = ln γ.
#[test]
fn uncoupled_networks_follow_the_closed_forms() {
    let dir = tempfile::tempdir().unwrap();
    let config = |input: f64| {
        format!(
            r#"{{"model": "bms", "bms": {{"neurons": 40, "leak": 0.6, "initial_conditions": 3}},
            "weights": {{"std": 0.0}}, "input": {{"mean": {input}}},
            "schedule": {{"epochs": 1, "transient_steps": 200, "recorded_steps": 100}},
            "ensemble": {{"replicas": 3}}, "backend": {{"precision": "f64"}}}}"#
        )
    };
    let out = run(dir.path(), "firing", &config(0.5), &[]);
    for row in rows(&out) {
        assert_eq!(row["period"], "4");
        assert_eq!(row["dead"], "0");
        assert!((num(&row, "rate") - 0.25).abs() < 1e-12);
        assert!(
            (num(&row, "d_hat") - 0.02).abs() < 1e-12,
            "{}",
            row["d_hat"]
        );
        assert_eq!(row["periodic_conditions"], "3");
        // Every neuron spikes: the whole spectrum is −∞.
        assert_eq!(row["lyapunov_max"], "-inf");
        assert_eq!(row["superstable_exponents"], "40");
        assert!(num(&row, "state_recurrence") < 1e-12);
    }
    let out = run(dir.path(), "dead", &config(0.2), &[]);
    for row in rows(&out) {
        assert_eq!((row["dead"].as_str(), row["period"].as_str()), ("1", "1"));
        assert!((num(&row, "d_hat") - 0.5).abs() < 1e-12);
        assert_eq!(num(&row, "lyapunov_max"), 0.6f64.ln());
        assert_eq!(row["last_spike"], "NaN");
    }
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.lines().nth(1).unwrap().contains(",3,"), "{summary}");
}

/// Anchor 6 with couplings: tiny σ and I < (1 − γ)θ kill every replica at d̂ = θ − I/(1 − γ).
#[test]
fn weak_coupling_below_the_death_line_kills_every_replica() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        "death",
        r#"{"model": "bms", "bms": {"neurons": 60, "leak": 0.5},
            "weights": {"std": 0.001}, "input": {"mean": 0.3},
            "schedule": {"epochs": 1, "transient_steps": 300, "recorded_steps": 100},
            "ensemble": {"replicas": 4}, "backend": {"precision": "f64"}}"#,
        &[],
    );
    for row in rows(&out) {
        assert_eq!((row["dead"].as_str(), row["period"].as_str()), ("1", "1"));
        // V → I/(1 − γ) + O(σ/√N): d̂ = 0.4 to the weights' contribution.
        assert!((num(&row, "d_hat") - 0.4).abs() < 1e-3, "{}", row["d_hat"]);
    }
}

/// A chaos-like network: d̂ over 4 initial conditions is the minimum of each condition's, so it
/// is at most the d̂ of the first one alone; the checkpoints never increase; the raster array
/// holds the first condition's spikes and agrees with its rate.
#[test]
fn d_hat_is_the_minimum_over_conditions_and_the_raster_matches_the_rates() {
    let dir = tempfile::tempdir().unwrap();
    let config = |conditions: usize| {
        format!(
            r#"{{"model": "bms", "bms": {{"neurons": 50, "initial_conditions": {conditions}}},
            "weights": {{"std": 6.0}},
            "schedule": {{"epochs": 2, "transient_steps": 100, "recorded_steps": 80}},
            "ensemble": {{"replicas": 3}}, "output": {{"save": ["raster"]}}}}"#
        )
    };
    let one = rows(&run(dir.path(), "one", &config(1), &[]));
    let out = run(dir.path(), "four", &config(4), &[]);
    let four = rows(&out);
    for (a, b) in one.iter().zip(&four) {
        assert!(num(b, "d_hat") <= num(a, "d_hat"));
        // The first condition is the same trajectory in both runs.
        assert_eq!(a["rate"], b["rate"]);
        let (t8, t4, t2, t) = (
            num(b, "d_hat_t8"),
            num(b, "d_hat_t4"),
            num(b, "d_hat_t2"),
            num(b, "d_hat"),
        );
        assert!(t8 >= t4 && t4 >= t2 && t2 >= t, "{t8} {t4} {t2} {t}");
    }
    let raster = npy::read(&out.join("raster.npy")).unwrap();
    assert_eq!(raster.shape, vec![3, 2, 80, 50]);
    for (k, row) in four.iter().enumerate() {
        let block = &raster.data[k * 80 * 50..(k + 1) * 80 * 50];
        let rate = block.iter().sum::<f64>() / block.len() as f64;
        assert!((rate - num(row, "rate")).abs() < 1e-12, "row {k}");
    }
    let rates = npy::read(&out.join("rates.npy")).unwrap();
    assert_eq!(rates.shape, vec![3, 2, 50]);
}

/// A replica depends on the seed and its index only: the same rows and arrays with one replica
/// per batch and one thread, as with the default batching on every thread — with noise too.
#[test]
fn results_do_not_depend_on_batching_threads_or_noise_streams() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"{"model": "bms", "bms": {"neurons": 40, "noise": 0.05, "initial_conditions": 2,
        "twin_perturbation": 1e-3},
        "weights": {"std": 3.0}, "input": {"mean": 0.2},
        "schedule": {"epochs": 2, "transient_steps": 50, "recorded_steps": 60},
        "learning": {"enabled": true, "activity_threshold": 0.1},
        "ensemble": {"replicas": 5}}"#;
    let a = run(dir.path(), "a", config, &[]);
    let b = run(dir.path(), "b", config, &["--batch", "1", "--threads", "1"]);
    for file in ["epochs.csv", "rates.npy", "isi_histogram.npy"] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    // Another seed is another ensemble.
    let c = run(dir.path(), "c", config, &["--set", "ensemble.seed=2"]);
    assert_ne!(
        std::fs::read(a.join("epochs.csv")).unwrap(),
        std::fs::read(c.join("epochs.csv")).unwrap()
    );
}

/// Learning (cessac.md §8) changes W and tracks ρ(W); with learning off ρ(W) is not computed
/// and W stays the drawn one. The activity threshold is `learning.activity_threshold` (d_act).
#[test]
fn learning_updates_the_weights_between_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let config = |enabled: bool| {
        format!(
            r#"{{"model": "bms", "bms": {{"neurons": 30, "initial_conditions": 1}},
            "weights": {{"std": 5.0}},
            "schedule": {{"epochs": 3, "transient_steps": 50, "recorded_steps": 100}},
            "learning": {{"enabled": {enabled}, "learning_rate": 1.0, "forgetting": 0.5,
                          "activity_threshold": 0.2}},
            "ensemble": {{"replicas": 2}}, "backend": {{"precision": "f64"}},
            "output": {{"save": ["weights"]}}}}"#
        )
    };
    let on = rows(&run(dir.path(), "on", &config(true), &[]));
    let off = rows(&run(dir.path(), "off", &config(false), &[]));
    // Epoch 0 is the same network either way; then λ = 0.5 halves the drawn part.
    assert_eq!(on[0]["weight_std"], off[0]["weight_std"]);
    assert!(num(&on[1], "weight_std") < 0.75 * num(&on[0], "weight_std"));
    assert!(num(&on[2], "weight_std") < num(&on[1], "weight_std"));
    assert!(num(&on[0], "spectral_radius_w") > 0.0);
    assert_eq!(off[0]["spectral_radius_w"], "NaN");
    assert_eq!(off[0]["weight_std"], off[2]["weight_std"]);
    // m_i = r_i − d_act: the mean of m is the rate minus 0.2.
    for row in &on {
        assert!((num(row, "mean_m") - (num(row, "rate") - 0.2)).abs() < 1e-12);
    }
}

/// Twins: a perturbation far below d̂ of a periodic orbit never changes the raster (anchor 3's
/// mechanism); one far above d̂ of a chaos-like network usually does.
#[test]
fn twin_probes_measure_weak_sensitivity() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = run(
        dir.path(),
        "quiet",
        r#"{"model": "bms", "bms": {"neurons": 40, "initial_conditions": 2, "twin_perturbation": 1e-9},
            "weights": {"std": 0.0}, "input": {"mean": 0.5},
            "schedule": {"epochs": 1, "transient_steps": 100, "recorded_steps": 100},
            "ensemble": {"replicas": 2}, "backend": {"precision": "f64"}}"#,
        &[],
    );
    for row in rows(&quiet) {
        assert_eq!(row["twin_changed"], "0");
        assert_eq!(row["twin_divergence"], "NaN");
    }
    let wild = run(
        dir.path(),
        "wild",
        r#"{"model": "bms", "bms": {"neurons": 100, "initial_conditions": 4, "twin_perturbation": 0.1},
            "weights": {"std": 8.0},
            "schedule": {"epochs": 1, "transient_steps": 200, "recorded_steps": 200},
            "ensemble": {"replicas": 4}}"#,
        &[],
    );
    let changed: f64 = rows(&wild).iter().map(|r| num(r, "twin_changed")).sum();
    assert!(
        changed >= 2.0,
        "only {changed} of 4 replicas' twins diverged"
    );
}

/// `hebbnet theory` on a BMS config: the death line and the uncoupled neuron exactly, the
/// onset by the mean field.
#[test]
fn theory_reports_the_bms_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(
        &path,
        r#"{"model": "bms", "bms": {"leak": 0.6}, "input": {"mean": 0.5}}"#,
    )
    .unwrap();
    let o = hebbnet(&["theory", path.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let value = |key: &str| {
        report["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == key)
            .unwrap_or_else(|| panic!("{key}"))["value"]
            .clone()
    };
    assert!((value("bms.death_line").as_f64().unwrap() - 0.4).abs() < 1e-12);
    assert_eq!(value("bms.uncoupled_period").as_f64(), Some(4.0));
    assert!((value("bms.uncoupled_distance").as_f64().unwrap() - 0.02).abs() < 1e-12);
    // I = 0.5 > (1 − γ)θ: active without couplings, so no onset.
    assert!(value("bms.onset_weight_std").is_null());
}

/// Every config of `configs/cessac2010/` through `hebbnet theory`, and each BMS run config
/// through `hebbnet run` as shipped but smaller (the sweeps are killed and resumed in
/// tests/resume_axes.rs).
#[test]
fn every_cessac2010_config_has_its_theory_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/cessac2010");
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    for path in files {
        let name = path.to_str().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let o = hebbnet(&["theory", name, "--json"]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let keys: Vec<&str> = report["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["key"].as_str())
            .collect();
        let spiking = text.contains("\"model\": \"bms\"");
        assert_eq!(keys.contains(&"bms.onset_weight_std"), spiking, "{name}");
        if text.contains("\"key\": \"weights.std\"") && spiking {
            let line = &report["critical_lines"][0];
            assert_eq!(line["available"], true, "{name}: {line}");
            let sigma_c = line["points"][0].as_f64().unwrap();
            assert!(sigma_c > 2.0 && sigma_c < 3.0, "{name}: σ_c = {sigma_c}");
        }
        if spiking && !text.contains("\"axes\"") {
            let out = dir.path().join(path.file_stem().unwrap());
            let o = hebbnet(&[
                "run",
                name,
                "--quiet",
                "--backend",
                "cpu",
                "--out",
                out.to_str().unwrap(),
                "--set",
                "bms.neurons=30",
                "--set",
                "schedule.epochs=3",
                "--set",
                "schedule.transient_steps=50",
                "--set",
                "schedule.recorded_steps=60",
            ]);
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(out.join("epochs.csv").is_file());
        }
    }
}
