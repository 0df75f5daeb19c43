//! `hebbnet theory` on a small (g, J̄) sweep spec at θ̄ = 2: the bifurcation map of the
//! mean-field (m, q) map (cessac.md §9) is reported, its saddle-node line lies where the map's
//! Jacobian has an eigenvalue +1 and bounds two stable states, and the regions at the grid points
//! are the expected ones. (The flip, for J̄ ≪ 0 at θ̄ ≤ 0, is tested in
//! `src/theory/bifurcation.rs`: its plane costs the critical line tens of seconds.)

use std::process::{Command, Output};

use hebbnet::theory::bifurcation::classify;
use hebbnet::theory::mean_field::SiriMeanField;
use serde_json::{json, Value};

fn hebbnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run hebbnet")
}

/// A spec in the (g, y) plane, J = 1, σ_θ = 0.1, θ̄ = `network.threshold` = 2.
fn spec(dir: &std::path::Path, y: Value) -> std::path::PathBuf {
    let spec = json!({
        "base": {
            "network": {"neurons": 50, "form": "rate", "activation": "siri", "gain": 8.0,
                        "leak": 1.0, "threshold": 2.0},
            "weights": {"mean": 0.0, "std": 1.0},
            "input": {"distribution": "gaussian", "mean": 0.0, "std": 0.1},
            "schedule": {"epochs": 1, "transient_steps": 10, "recorded_steps": 20},
            "learning": {"enabled": false}
        },
        "axes": [{"key": "network.gain", "values": [6.0, 10.0]}, y],
        "replicas": 1
    });
    let path = dir.join("spec.json");
    std::fs::write(&path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    path
}

fn cessac(gain: f64, mu: f64) -> SiriMeanField {
    SiriMeanField {
        gain,
        weight_std: 1.0,
        weight_mean: mu,
        input_mean: -2.0,
        input_std: 0.1,
    }
}

#[test]
fn theory_reports_the_bifurcation_map_of_a_g_mean_plane() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        dir.path(),
        json!({"key": "weights.mean", "values": [0.0, 4.0, 8.0]}),
    );
    let out = hebbnet(&["theory", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let map = &report["bifurcation_maps"][0];
    assert_eq!(map["available"], true, "{map}");
    assert_eq!(map["x"], "network.gain");
    assert_eq!(map["y"], "weights.mean");
    let points = |name: &str| -> Vec<(f64, f64)> {
        map["lines"][name]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c.as_array().unwrap().iter())
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    // A saddle-node for J̄ ≫ 0, where the high state appears: one stable state (quiescent)
    // just below the line, two just above.
    let fold = points("saddle_node");
    assert!(!fold.is_empty(), "{map}");
    assert!(fold.iter().all(|&(_, mu)| mu > 0.0), "{fold:?}");
    assert!(points("flip").is_empty(), "{map}");
    for &(g, mu) in fold.iter().step_by(9) {
        let below = classify(&cessac(g, mu - 0.05));
        let above = classify(&cessac(g, mu + 0.05));
        assert_eq!(below.attractors.len(), 1, "({g}, {mu}): {below:?}");
        assert_eq!(above.attractors.len(), 2, "({g}, {mu}): {above:?}");
    }
    // Regions at the grid points, [gain][mean]: quiescent at J̄ = 0, a quiescent and an active
    // state at J̄ = 4 and 8.
    let region = |i: usize, j: usize| map["regions"]["region"][i][j].as_str().unwrap().to_string();
    for i in 0..2 {
        assert_eq!(region(i, 0), "quiescent");
        assert_eq!(region(i, 1), "coexistence");
        assert_eq!(region(i, 2), "coexistence");
    }
    assert_eq!(
        map["regions"]["attractors"][1][2].as_array().unwrap().len(),
        2
    );
    // The text report has the map.
    let text = hebbnet(&["theory", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(
            "bifurcation map of the mean-field (m, q) map over network.gain × weights.mean"
        ),
        "{text}"
    );
    assert!(text.contains("saddle-node (eigenvalue +1)"), "{text}");
}

#[test]
fn theory_says_why_a_g_sigma_plane_has_no_bifurcation_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        dir.path(),
        json!({"key": "weights.std", "values": [0.5, 1.0]}),
    );
    let out = hebbnet(&["theory", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let map = &report["bifurcation_maps"][0];
    assert_eq!(map["available"], false, "{map}");
    assert!(
        map["reason"].as_str().unwrap().contains("weights.mean"),
        "{map}"
    );
}
