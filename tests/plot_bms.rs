//! `hebbnet plot` on Cessac's spiking network (BMS): a tiny run's raster, periods and learning
//! figures (instead of the analog ones), `raster` skipped with a note when raster.npy was not
//! saved, and a one-axis sweep's `dhat_sigma`; a two-axis BMS sweep keeps the heat maps, of
//! log₁₀ d̂ by default.

mod common;

use common::cli::{check_figure, hebbnet, ok, setup};
use std::path::Path;

/// A tiny BMS run (N = 20, short windows, learning on) of `epochs` epochs into `dir`.
fn bms_run(dir: &Path, runtime: &Path, epochs: usize, save_raster: bool) {
    let config = serde_json::json!({
        "model": "bms",
        "bms": {"neurons": 20, "leak": 0.6, "threshold": 1.0, "initial_conditions": 2},
        "weights": {"std": 3.0},
        "input": {"mean": 0.0, "std": 0.0},
        "schedule": {"epochs": epochs, "transient_steps": 50, "recorded_steps": 120},
        "learning": {"enabled": true},
        "ensemble": {"replicas": 4, "seed": 3},
        "backend": {"kind": "cpu"},
        "output": {"save": if save_raster { vec!["raster"] } else { vec![] }},
    });
    let path = dir.with_extension("json");
    std::fs::write(&path, config.to_string()).unwrap();
    ok(
        &hebbnet(
            &[
                "run",
                path.to_str().unwrap(),
                "--quiet",
                "--out",
                dir.to_str().unwrap(),
            ],
            runtime,
        ),
        "hebbnet run",
    );
}

fn bms_sweep(dir: &Path, runtime: &Path, axes: serde_json::Value) {
    let spec = serde_json::json!({
        "base": {
            "model": "bms",
            "bms": {"neurons": 20, "leak": 0.6, "threshold": 1.0, "initial_conditions": 2},
            "weights": {"mean": 0.0, "std": 1.0},
            "input": {"mean": 0.0, "std": 0.0},
            "schedule": {"epochs": 1, "transient_steps": 50, "recorded_steps": 100},
            "backend": {"kind": "cpu"}
        },
        "axes": axes,
        "replicas": 2,
        "seed": 1
    });
    let path = dir.with_extension("json");
    std::fs::write(&path, spec.to_string()).unwrap();
    ok(
        &hebbnet(
            &[
                "sweep",
                path.to_str().unwrap(),
                "--quiet",
                "--out",
                dir.to_str().unwrap(),
            ],
            runtime,
        ),
        "hebbnet sweep",
    );
}

#[test]
fn a_bms_run_gets_raster_periods_and_learning() {
    let (tmp, runtime) = setup();
    let run = tmp.path().join("run");
    bms_run(&run, &runtime, 3, true);
    let stdout = ok(
        &hebbnet(&["plot", run.to_str().unwrap(), "--replica", "1"], &runtime),
        "plot",
    );
    let figures = run.join("figures");
    check_figure(&figures, "raster", &["replica 1", "neuron i", "ρ(t)"]);
    check_figure(&figures, "periods", &["period", "replicas"]);
    check_figure(
        &figures,
        "learning",
        &["log₁₀ d̂", "periodic fraction", "rate"],
    );
    // The analog figures are not attempted.
    assert!(!stdout.contains("lyapunov"), "{stdout}");
    assert!(!stdout.contains("eigenvalues"), "{stdout}");
}

#[test]
fn a_bms_run_without_raster_skips_it_with_a_note() {
    let (tmp, runtime) = setup();
    let run = tmp.path().join("run");
    bms_run(&run, &runtime, 1, false);
    assert!(!run.join("raster.npy").exists());
    let stdout = ok(&hebbnet(&["plot", run.to_str().unwrap()], &runtime), "plot");
    assert!(stdout.contains("skipped raster: no raster.npy"), "{stdout}");
    // One epoch: no learning curves either, but the periods are drawn.
    assert!(stdout.contains("skipped learning"), "{stdout}");
    check_figure(&run.join("figures"), "periods", &["period"]);
    assert!(!run.join("figures/raster.png").exists());
}

#[test]
fn a_one_axis_bms_sweep_gets_dhat_sigma_with_the_onset() {
    let (tmp, runtime) = setup();
    let sweep = tmp.path().join("sweep");
    bms_sweep(
        &sweep,
        &runtime,
        serde_json::json!([{"key": "weights.std", "geomspace": [0.5, 8.0, 4]}]),
    );
    let stdout = ok(
        &hebbnet(&["plot", sweep.to_str().unwrap()], &runtime),
        "plot",
    );
    assert!(stdout.contains("dhat_sigma.png"), "{stdout}");
    check_figure(
        &sweep.join("figures"),
        "dhat_sigma",
        &["log₁₀ d̂", "dead", "periodic", "σ_c"],
    );
}

#[test]
fn a_two_axis_bms_sweep_keeps_the_heat_maps() {
    let (tmp, runtime) = setup();
    let sweep = tmp.path().join("sweep");
    bms_sweep(
        &sweep,
        &runtime,
        serde_json::json!([
            {"key": "weights.std", "values": [1.0, 4.0]},
            {"key": "input.mean", "values": [0.0, 0.5]}
        ]),
    );
    let stdout = ok(
        &hebbnet(&["plot", sweep.to_str().unwrap()], &runtime),
        "plot",
    );
    assert!(
        sweep
            .join("figures/heatmap_log10_d_hat_median.png")
            .is_file(),
        "{stdout}"
    );
}
