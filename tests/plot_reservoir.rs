//! `hebbnet plot` on Rivkind & Barak's trained reservoirs (`"model": "reservoir"`): small
//! versions of the bundled configs (configs/rivkind2017) through the CLI, then the figures —
//! the closed-loop spectra and the returns of a run; success, time constant and Lyapunov
//! exponent against g of a sweep (one curve per threshold for ReLU), and the K = 2 map of a
//! target-pair sweep.

mod common;

use common::cli::{bundled, check_figure, hebbnet, ok, set_axis_values, setup};
use std::path::Path;

use serde_json::{json, Value};

/// The short-run overrides: N = 30, short open and closed loops.
const SMALL: [&str; 4] = [
    "network.neurons=30",
    "reservoir.open_loop.time=40",
    "reservoir.kicks.time=20",
    "reservoir.kicks.samples=4",
];

/// Run (`sweep` false) or sweep `config` into `dir` with the [`SMALL`] overrides and `set`,
/// then plot it; the plot's stdout.
fn make_and_plot(config: &Value, dir: &Path, runtime: &Path, sweep: bool, set: &[&str]) -> String {
    let path = dir.with_extension("json");
    std::fs::write(&path, config.to_string()).unwrap();
    let command = if sweep { "sweep" } else { "run" };
    let mut args = vec![
        command,
        path.to_str().unwrap(),
        "--backend",
        "cpu",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ];
    for s in SMALL.iter().chain(set) {
        args.extend(["--set", s]);
    }
    ok(&hebbnet(&args, runtime), command);
    ok(
        &hebbnet(&["plot", dir.to_str().unwrap()], runtime),
        "hebbnet plot",
    )
}

/// A bundled sweep with `replicas` per point and its axes' values cut to `values`.
fn small_sweep(name: &str, replicas: u64, values: &[Value]) -> Value {
    let mut spec = bundled("rivkind2017", name);
    spec["replicas"] = replicas.into();
    set_axis_values(&mut spec, values);
    spec
}

#[test]
fn a_run_gets_its_spectra_and_returns_with_theory() {
    let (tmp, runtime) = setup();
    let dir = tmp.path().join("spectrum");
    let report = make_and_plot(
        &bundled("rivkind2017", "spectrum"),
        &dir,
        &runtime,
        false,
        &["ensemble.replicas=3"],
    );
    // No reservoir.response in this config: only the response figure is skipped.
    assert!(
        report.contains("skipped response") && report.matches("skipped").count() == 1,
        "{report}"
    );
    let figures = dir.join("figures");
    check_figure(
        &figures,
        "spectrum",
        &["MFT bulk", "MFT outlier", "eig-stable in", "Re λ = 0"],
    );
    check_figure(&figures, "returns", &["kick: combined", "max Re eig L_k"]);
    // --epochs means nothing for a reservoir run.
    let refused = hebbnet(&["plot", dir.to_str().unwrap(), "--epochs", "0"], &runtime);
    assert!(!refused.status.success());
}

#[test]
fn a_gain_sweep_gets_success_time_constant_and_lyapunov() {
    let (tmp, runtime) = setup();
    let mut spec = small_sweep("chaos_suppression", 3, &[json!([0.5, 1.5, 2.5])]);
    spec["base"]["reservoir"]["open_loop"]["lyapunov_time"] = 10.into();
    let dir = tmp.path().join("gain");
    let report = make_and_plot(&spec, &dir, &runtime, true, &[]);
    for stem in ["success", "time_constant", "lyapunov"] {
        assert!(report.contains(&format!("{stem}.png")), "{stem}: {report}");
    }
    assert!(report.contains("skipped target_pairs"), "{report}");
    let figures = dir.join("figures");
    check_figure(&figures, "success", &["eig-stable", "predicted success"]);
    check_figure(&figures, "time_constant", &["1 − ρ", "MFT"]);
    check_figure(&figures, "lyapunov", &["λ₁ = 0", "MFT ρ = 1 at g"]);

    // ReLU: one curve per threshold; no Lyapunov exponent measured.
    let spec = small_sweep("success_relu", 2, &[json!([-0.5, 0.3]), json!([0.4, 1.0])]);
    let dir = tmp.path().join("relu");
    let report = make_and_plot(&spec, &dir, &runtime, true, &[]);
    assert!(report.contains("skipped lyapunov"), "{report}");
    check_figure(&dir.join("figures"), "success", &["θ = −0.5", "θ = 0.3"]);
}

#[test]
fn a_target_pair_sweep_gets_its_map() {
    let (tmp, runtime) = setup();
    let spec = small_sweep(
        "target_pairs",
        2,
        &[json!([-1.0, 0.5, 1.5]), json!([-1.0, 1.0])],
    );
    let dir = tmp.path().join("pairs");
    let report = make_and_plot(&spec, &dir, &runtime, true, &[]);
    assert!(report.contains("skipped success"), "{report}");
    check_figure(
        &dir.join("figures"),
        "target_pairs",
        &["MFT predicts success", "A_2", "eig-stable fraction"],
    );
}

#[test]
fn a_driven_run_gets_its_response_beside_the_theory() {
    let (tmp, runtime) = setup();
    let dir = tmp.path().join("response");
    let report = make_and_plot(
        &bundled("rivkind2017", "response"),
        &dir,
        &runtime,
        false,
        &[
            "ensemble.replicas=2",
            "reservoir.response.frequencies=[0.1, 1.0]",
            "reservoir.response.time=120",
            "reservoir.response.transient=40",
        ],
    );
    assert!(report.contains("response.png"), "{report}");
    check_figure(
        &dir.join("figures"),
        "response",
        &[
            "lock-in",
            "theory H_k/(1 − H_k)",
            "gain |T_k(iω)|",
            "phase arg T_k(iω)",
        ],
    );
}

/// The bundled resonance (three targets, N = 200 here): the A = −2 state is unstable in every
/// replica, so the figure notes it in place of a lock-in; the other two are drawn with the
/// theory.
#[test]
fn a_resonance_run_notes_its_unstable_state() {
    let (tmp, runtime) = setup();
    let dir = tmp.path().join("resonance");
    let report = make_and_plot(
        &bundled("rivkind2017", "resonance"),
        &dir,
        &runtime,
        false,
        &[
            "network.neurons=200",
            "reservoir.open_loop.time=200",
            "ensemble.replicas=2",
            "reservoir.response.frequencies=[0.05, 0.4]",
            "reservoir.response.time=300",
            "reservoir.response.transient=60",
        ],
    );
    assert!(report.contains("response.png"), "{report}");
    check_figure(
        &dir.join("figures"),
        "response",
        &[
            "A_1 = −2: unstable in every replica, no linear response",
            "A_2 = −1: lock-in",
            "A_2 = −1: theory",
            "A_3 = 3: lock-in",
        ],
    );
}
