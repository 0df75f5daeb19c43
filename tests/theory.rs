//! `hebbnet theory` end to end: every bundled config and sweep spec, and the embedded default,
//! as text and JSON; the sweep's critical line is the one `hebbnet plot` draws; bad input exits
//! with code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hebbnet::config::{apply_override, Config};
use hebbnet::theory::mean_field::SiriMeanField;
use serde_json::Value;

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run hebbnet")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `hebbnet theory ARGS --json`, which must succeed, parsed.
fn theory_json(args: &[&str]) -> Value {
    let mut all = vec!["theory"];
    all.extend(args);
    all.push("--json");
    let out = hebbnet(&all);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: not JSON ({e}): {}", text(&out.stdout));
    })
}

/// Every `.json` under `configs/`, `configs/siri2008/` and `configs/sweeps/`.
fn bundled() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("siri2008"), root.join("sweeps")] {
        for entry in std::fs::read_dir(&dir).expect("configs/ is readable") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    files
}

fn prediction<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .find(|p| p["key"] == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

fn number(report: &Value, key: &str) -> f64 {
    let p = prediction(report, key);
    p["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} has no finite value: {p}"))
}

/// Every prediction is well formed; available ones are finite numbers (no bundled config has
/// σ = 0, the one case with λ_max = −∞), unavailable ones say why.
fn check_predictions(name: &str, report: &Value) {
    let predictions = report["predictions"].as_array().expect("predictions");
    assert!(!predictions.is_empty(), "{name}");
    for p in predictions {
        for field in ["key", "name", "symbol", "formula", "source"] {
            assert!(
                p[field].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: {field} of {p}"
            );
        }
        if p["available"] == true {
            let v = p["value"].as_f64();
            assert!(v.is_some_and(f64::is_finite), "{name}: {p}");
            assert!(
                p["applies_to"].as_str().unwrap().contains("N → ∞"),
                "{name}: {p}"
            );
            assert!(p["reason"].is_null());
        } else {
            assert!(p["value"].is_null(), "{name}: {p}");
            assert!(p["reason"].as_str().is_some_and(|r| !r.is_empty()), "{p}");
        }
    }
}

#[test]
fn every_bundled_config_and_the_default() {
    let mut checked = 0;
    for path in bundled() {
        let name = path.display().to_string();
        let report = theory_json(&[&name]);
        check_predictions(&name, &report);
        assert_eq!(report["source"], name.as_str());
        assert!(report["config"]["network"].is_object(), "{name}");
        let form = report["config"]["network"]["form"].as_str().unwrap();
        let leak = report["config"]["network"]["leak"].as_f64().unwrap();
        let lyapunov = prediction(&report, "mean_field.largest_lyapunov");
        if leak == 1.0 {
            // Every bundled config with a = 1 is one the mean field describes.
            let l = number(&report, "mean_field.largest_lyapunov");
            assert!(l.is_finite(), "{name}");
            let critical = if form == "rate" {
                "mean_field.critical_weight_std"
            } else {
                "mean_field.critical_coupling"
            };
            assert!(number(&report, critical) > 0.0, "{name}");
        } else {
            let why = lyapunov["reason"].as_str().unwrap();
            assert!(why.contains("requires a = 1"), "{name}: {why}");
        }
        assert!(number(&report, "weights.spectral_radius") > 0.0, "{name}");
        let is_sweep = report["sweep"].is_object();
        assert_eq!(is_sweep, name.contains("sweeps"), "{name}");
        assert_eq!(
            report["critical_lines"].as_array().unwrap().is_empty(),
            !is_sweep
        );
        // The text form too.
        let out = hebbnet(&["theory", &name]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let table = text(&out.stdout);
        for want in [
            "quantity",
            "symbol",
            "value",
            "formula",
            "applies to",
            "λ_max",
        ] {
            assert!(table.contains(want), "{name}: {table}");
        }
        checked += 1;
    }
    assert!(checked >= 8);

    // The embedded default, as `hebbnet run` takes it when no config is given.
    let report = theory_json(&[]);
    check_predictions("default", &report);
    assert!(report["source"]
        .as_str()
        .unwrap()
        .contains("embedded default"));
    let default = theory_json(&[&format!(
        "{}/configs/siri2008.json",
        env!("CARGO_MANIFEST_DIR")
    )]);
    assert_eq!(report["predictions"], default["predictions"]);
    let out = hebbnet(&["theory"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn known_values_on_the_command_line() {
    // science.md §4: the plain-dynamics config is the g = 2 tanh network.
    let path = format!("{}/configs/plain_dynamics.json", env!("CARGO_MANIFEST_DIR"));
    let report = theory_json(&[&path]);
    assert!((number(&report, "mean_field.largest_lyapunov") - 0.1547).abs() < 6e-5);
    assert!((number(&report, "mean_field.delta") - 2.1215).abs() < 6e-5);
    // To ~1e-8: the indicator touches 1 quadratically from above (src/theory/tests.rs).
    assert!((number(&report, "mean_field.critical_coupling") - 1.0).abs() < 1e-7);
    let report = theory_json(&[&path, "--set", "weights.std=3"]);
    assert!((number(&report, "mean_field.largest_lyapunov") - 0.3103).abs() < 6e-5);
    // Below the edge: λ_max = ln g.
    let report = theory_json(&[&path, "--set", "weights.std=0.5"]);
    assert_eq!(number(&report, "mean_field.largest_lyapunov"), 0.5f64.ln());
    // σ = 0: λ_max = −∞, written so Python's float() reads it.
    let report = theory_json(&[&path, "--set", "weights.std=0"]);
    assert_eq!(
        prediction(&report, "mean_field.largest_lyapunov")["value"],
        "-inf"
    );
}

#[test]
fn the_sweep_line_is_the_heat_map_line() {
    let spec = format!(
        "{}/configs/sweeps/phase_g_sigma.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let report = theory_json(&[&spec]);
    let lines = report["critical_lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["x"], "network.gain");
    assert_eq!(line["y"], "weights.std");
    assert_eq!(line["available"], true, "{line}");
    let curves = line["curves"].as_array().unwrap();
    let points: Vec<(f64, f64)> = curves
        .iter()
        .flat_map(|c| c.as_array().unwrap())
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    assert!(points.len() >= 50, "{}", points.len());
    // Every point is on the edge of chaos of its own config.
    let base = report["config"].clone();
    for &(g, sigma) in points.iter().step_by(7) {
        let mut tree = base.clone();
        apply_override(&mut tree, &format!("network.gain={g}")).unwrap();
        apply_override(&mut tree, &format!("weights.std={sigma}")).unwrap();
        let config = Config::from_value(tree).unwrap();
        let chi = SiriMeanField::from_config(&config)
            .expect("the mean field applies")
            .chaos_indicator();
        assert!((chi - 1.0).abs() < 1e-5, "({g}, {sigma}): {chi}");
    }

    // `hebbnet plot` on a sweep directory of this spec draws the same line, to the bit.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("phase");
    std::fs::create_dir_all(&dir).unwrap();
    let axes = report["sweep"]["axes"].as_array().unwrap();
    let sweep = serde_json::json!({
        "kind": "hebbnet-sweep",
        "axes": axes,
        "replicas": 8,
        "base_config": base,
    });
    std::fs::write(dir.join("sweep.json"), sweep.to_string()).unwrap();
    let mut csv = String::from("point,network.gain,weights.std,lyapunov_max_mean\n");
    let values = |k: usize| -> Vec<f64> {
        axes[k]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let mut point = 0;
    for g in values(0) {
        for s in values(1) {
            csv.push_str(&format!("{point},{g},{s},{}\n", (g * s).ln() - 1.6));
            point += 1;
        }
    }
    std::fs::write(dir.join("points.csv"), csv).unwrap();
    let out = hebbnet(&["plot", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawn = std::fs::read_to_string(dir.join("figures/critical_line.csv")).unwrap();
    let drawn: Vec<(f64, f64)> = drawn
        .lines()
        .skip(1)
        .filter(|l| *l != "NaN,NaN")
        .map(|l| {
            let (x, y) = l.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    assert_eq!(drawn, points);

    // The text form lists the line.
    let out = hebbnet(&["theory", &spec]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("critical line over network.gain × weights.std"),
        "{table}"
    );
}

#[test]
fn bad_input_exits_2() {
    let siri = format!("{}/configs/siri2008.json", env!("CARGO_MANIFEST_DIR"));
    let spec = format!(
        "{}/configs/sweeps/phase_g_sigma.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--set", "network.leak=2"], "network.leak"),
        (vec!["--set", "network.gian=2"], "gian"),
        (vec!["--set", "nonsense"], "path=value"),
        (vec![&siri, "--set", "weights.std=-1"], "weights.std"),
        (
            vec![&spec, "--set", "network.form=sideways"],
            "network.form",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["theory"];
        all.extend(&args);
        let out = hebbnet(&all);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = hebbnet(&["theory", "/no/such/config.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
}
