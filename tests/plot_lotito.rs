//! `hebbnet plot` on Lotito's memory dynamics (`"model": "lotito"`): small versions of the
//! bundled configs (configs/lotito2025) through the CLI, then the figures — Figure 1 per
//! replica and over the ensemble, the time scales, the softmax measures and the spectrum of a
//! run; the collapse, fresh-noise, replacement and Hebbian-limit figures of the sweeps.

mod common;

use common::cli::{bundled, check_figure, hebbnet, ok, set_axis_values, setup};
use std::path::Path;

use serde_json::Value;

/// Set `lotito.KEY = value` for each pair in the `lotito` section of `config`.
fn shrink(section: &mut Value, changes: &[(&str, Value)]) {
    for (key, value) in changes {
        section["lotito"][*key] = value.clone();
    }
}

/// Run (`sweep` false) or sweep `config` into `dir`, then plot it; the plot's stdout.
fn make_and_plot(config: &Value, dir: &Path, runtime: &Path, sweep: bool) -> String {
    let path = dir.with_extension("json");
    std::fs::write(&path, config.to_string()).unwrap();
    let command = if sweep { "sweep" } else { "run" };
    ok(
        &hebbnet(
            &[
                command,
                path.to_str().unwrap(),
                "--backend",
                "cpu",
                "--quiet",
                "--out",
                dir.to_str().unwrap(),
            ],
            runtime,
        ),
        command,
    );
    ok(
        &hebbnet(&["plot", dir.to_str().unwrap()], runtime),
        "hebbnet plot",
    )
}

#[test]
fn a_figure1_run_gets_figure1_time_scales_softmax_and_spectrum_with_theory() {
    let (tmp, runtime) = setup();
    let mut config = bundled("lotito2025", "figure1");
    shrink(
        &mut config,
        &[("steps", 300.into()), ("record_every", 5.into())],
    );
    config["ensemble"]["replicas"] = 4.into();
    let dir = tmp.path().join("figure1");
    let report = make_and_plot(&config, &dir, &runtime, false);
    assert!(!report.contains("skipped"), "{report}");
    let figures = dir.join("figures");
    check_figure(&figures, "figure1", &["paper", "exact one-hot"]);
    check_figure(&figures, "figure1_ensemble", &["nominal α", "2.5–97.5%"]);
    check_figure(&figures, "time_scales", &["τ_μ = τ_Ξ/p_μ"]);
    check_figure(&figures, "softmax", &["one-hot", "‖J − J_Hebb‖_F"]);
    check_figure(&figures, "spectrum", &["Marchenko–Pastur", "Gram–Schmidt"]);
    // Another replica; --epochs is refused.
    let other = tmp.path().join("replica2");
    ok(
        &hebbnet(
            &[
                "plot",
                dir.to_str().unwrap(),
                "--replica",
                "2",
                "--out",
                other.to_str().unwrap(),
            ],
            &runtime,
        ),
        "plot --replica 2",
    );
    check_figure(&other, "figure1", &["replica 2"]);
    let refused = hebbnet(&["plot", dir.to_str().unwrap(), "--epochs", "0"], &runtime);
    assert!(!refused.status.success());
}

#[test]
fn an_iid_run_draws_the_iid_time_scales() {
    let (tmp, runtime) = setup();
    let mut config = bundled("lotito2025", "time_scales");
    shrink(&mut config, &[("steps", 400.into())]);
    config["ensemble"]["replicas"] = 4.into();
    let dir = tmp.path().join("time_scales");
    make_and_plot(&config, &dir, &runtime, false);
    check_figure(
        &dir.join("figures"),
        "time_scales",
        &["i.i.d. exact", "p_μ = 0.4"],
    );
}

/// A bundled sweep with fewer steps and replicas, and the values of its axes cut to `values`.
fn small_sweep(name: &str, changes: &[(&str, Value)], values: &[Value]) -> Value {
    let mut spec = bundled("lotito2025", name);
    shrink(&mut spec["base"], changes);
    spec["replicas"] = 3.into();
    set_axis_values(&mut spec, values);
    spec
}

#[test]
fn the_bundled_sweeps_get_their_figures() {
    let (tmp, runtime) = setup();
    let cases = [
        (
            "collapse_beta",
            small_sweep(
                "collapse_beta",
                &[("steps", 2000.into())],
                &[serde_json::json!([0.02, 0.2, 1.0])],
            ),
            "collapse",
            vec!["β/β_c", "separated memories"],
        ),
        (
            "collapse_beta_collapsed",
            small_sweep(
                "collapse_beta_collapsed",
                &[("steps", 2000.into())],
                &[serde_json::json!([0.02, 0.2])],
            ),
            "collapse",
            vec!["collapsed memories"],
        ),
        (
            "fresh_noise",
            small_sweep(
                "fresh_noise",
                &[("steps", 1000.into())],
                &[serde_json::json!([0.1, 0.4]), serde_json::json!([25, 100])],
            ),
            "fresh_noise",
            vec!["identity", "τ_Ξ = 25"],
        ),
        (
            "replacement",
            small_sweep(
                "replacement",
                &[
                    ("steps", 1500.into()),
                    ("replace", serde_json::json!({"pattern": 0, "step": 500})),
                ],
                &[serde_json::json!([50, 100])],
            ),
            "replacement",
            vec!["one-hot", "replaced memory"],
        ),
        (
            "hebbian_limit",
            small_sweep(
                "hebbian_limit",
                &[
                    ("visible", 60.into()),
                    ("hidden", 6.into()),
                    ("steps", 1000.into()),
                ],
                &[serde_json::json!([0.01, 0.1, 1.0])],
            ),
            "hebbian_limit",
            vec!["λ_max", "success fraction"],
        ),
    ];
    for (name, spec, stem, texts) in cases {
        let dir = tmp.path().join(name);
        let report = make_and_plot(&spec, &dir, &runtime, true);
        assert!(report.contains(&format!("{stem}.svg")), "{name}: {report}");
        check_figure(&dir.join("figures"), stem, &texts);
    }
}
