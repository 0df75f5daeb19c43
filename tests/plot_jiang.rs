//! `hebbnet plot` on Jiang et al.'s sequence network (`"model": "jiang"`): tiny runs and sweeps
//! through the CLI, then the figures — the eigenvalue clouds with the theory, the overlaps, the
//! twin distance and the plateau of a run; the right edge, the transition, the exponent and
//! attractor slices, the plateau and the heat maps (with γ_c) of a sweep — and the figures that
//! must be skipped, skipped with their reason.

mod common;

use common::cli::{check_figure, hebbnet, ok, setup, text};
use std::path::Path;

/// A tiny Jiang run (N = 200, P = 10) of `jiang` settings over the defaults below.
fn jiang_run(dir: &Path, runtime: &Path, jiang: serde_json::Value, save: &[&str]) {
    let mut section = serde_json::json!({
        "neurons": 200, "load": 0.05, "heteroassociation": 1.5, "leak": 0.1,
        "record_every": 5
    });
    for (k, v) in jiang.as_object().unwrap() {
        section[k] = v.clone();
    }
    let config = serde_json::json!({
        "model": "jiang",
        "jiang": section,
        "schedule": {"epochs": 1, "transient_steps": 100, "recorded_steps": 100},
        "ensemble": {"replicas": 3, "seed": 2},
        "backend": {"kind": "cpu"},
        "output": {"save": save},
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

/// A tiny Jiang sweep (N = 100) over `axes`, with `base` settings of the jiang section.
fn jiang_sweep(dir: &Path, runtime: &Path, base: serde_json::Value, axes: serde_json::Value) {
    let mut section = serde_json::json!({
        "neurons": 100, "load": 0.1, "heteroassociation": 1.0, "leak": 0.1,
        "record_every": 10, "initial_conditions": 2
    });
    for (k, v) in base.as_object().unwrap() {
        section[k] = v.clone();
    }
    let spec = serde_json::json!({
        "base": {
            "model": "jiang",
            "jiang": section,
            "initial_state": {"distribution": "gaussian", "mean": 0.0, "std": 0.1},
            "schedule": {"epochs": 1, "transient_steps": 60, "recorded_steps": 60},
            "backend": {"kind": "cpu"},
            "output": {"save": ["eigenvalues"]}
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
fn a_jiang_run_gets_its_spectra_with_theory_overlaps_twins_and_plateau() {
    let (tmp, runtime) = setup();
    let run = tmp.path().join("run");
    jiang_run(
        &run,
        &runtime,
        serde_json::json!({
            "cue": {"pattern": 0}, "pair_perturbation": 0.001, "jacobian_steps": [0, 200]
        }),
        &["eigenvalues", "jacobian_eigenvalues"],
    );
    let stdout = ok(&hebbnet(&["plot", run.to_str().unwrap()], &runtime), "plot");
    assert!(!stdout.contains("skipped"), "{stdout}");
    let figures = run.join("figures");
    check_figure(
        &figures,
        "eigenvalues",
        &[
            "Re z",
            "Im z",
            "theory boundary, eq. (6): 2 loops",
            "r_in",
            "Re z = 1",
            "N − P = 190 zero eigenvalues",
            "α = 0.05, c = 0, γ = 1.5, d = 1",
        ],
    );
    check_figure(
        &figures,
        "jacobian_eigenvalues",
        &[
            "t = 0 τ (step 0)",
            "t = 20 τ (step 200)",
            "eqs. (10)",
            "R_out",
        ],
    );
    check_figure(
        &figures,
        "retrieval",
        &[
            "mean overlap m^μ(t)",
            "μ = 1",
            "μ = 10",
            "time t (τ)",
            "h(0) = ξ¹",
        ],
    );
    check_figure(
        &figures,
        "pair_distance",
        &["‖h − h′‖/√N", "median over trajectories", "time t (τ)"],
    );
    check_figure(
        &figures,
        "plateau",
        &["Var_i h_i(t)", "theory plateau σ_r²"],
    );
    // The analog figures are not attempted.
    assert!(!stdout.contains("lyapunov"), "{stdout}");
    assert!(!stdout.contains("bifurcation"), "{stdout}");
}

#[test]
fn a_jiang_run_without_the_inputs_skips_figures_with_their_reasons() {
    let (tmp, runtime) = setup();
    let run = tmp.path().join("run");
    jiang_run(
        &run,
        &runtime,
        serde_json::json!({"autoassociation": 0.5, "heteroassociation": 0.8}),
        &[],
    );
    let stdout = ok(&hebbnet(&["plot", run.to_str().unwrap()], &runtime), "plot");
    for why in [
        "skipped eigenvalues: no eigenvalues.npy",
        "skipped jacobian_eigenvalues: no jacobian_eigenvalues.npy",
        "skipped pair_distance: no twins",
        "skipped plateau: the plateau theory (§6) is for c = 0, d = 1",
    ] {
        assert!(stdout.contains(why), "no `{why}` in\n{stdout}");
    }
    check_figure(&run.join("figures"), "retrieval", &["h(0) ~ N(0, 1)"]);
    assert!(!run.join("figures/eigenvalues.png").exists());
    // --epochs means nothing for a one-epoch jiang run.
    let out = hebbnet(&["plot", run.to_str().unwrap(), "--epochs", "0"], &runtime);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("one epoch"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_load_by_gamma_sweep_gets_every_sweep_figure_with_theory() {
    let (tmp, runtime) = setup();
    let sweep = tmp.path().join("sweep");
    jiang_sweep(
        &sweep,
        &runtime,
        serde_json::json!({}),
        serde_json::json!([
            {"key": "jiang.load", "values": [0.05, 0.2]},
            {"key": "jiang.heteroassociation", "values": [0.5, 1.5]}
        ]),
    );
    let stdout = ok(
        &hebbnet(&["plot", sweep.to_str().unwrap()], &runtime),
        "plot",
    );
    let figures = sweep.join("figures");
    // P differs between the loads: eigenvalues.pNNNNNN.npy per point, one figure each.
    check_figure(
        &figures,
        "eigenvalues__jiang.load_0.05__jiang.heteroassociation_0.5",
        &["theory boundary", "α = 0.05, c = 0, γ = 0.5, d = 1"],
    );
    check_figure(
        &figures,
        "eigenvalues__jiang.load_0.2__jiang.heteroassociation_1.5",
        &["r_out"],
    );
    assert!(
        stdout.contains("skipped jacobian_eigenvalues: no jacobian_eigenvalues.npy"),
        "{stdout}"
    );
    check_figure(
        &figures,
        "right_edge",
        &["α = 0.05", "α = 0.2", "theory x_R(γ), eq. (6)", "x_R = 1"],
    );
    check_figure(
        &figures,
        "transition",
        &["theory γ_c(α)", "h(0) ~ N(0, 0.01)", "fraction grew"],
    );
    let csv = std::fs::read_to_string(figures.join("transition.csv")).unwrap();
    assert!(csv.starts_with("jiang.load,gamma_half,gamma_c\n"), "{csv}");
    // γ_c = 1/√(1 + α) for c = 0, d = 1 (models/jiang.md §6).
    let row: Vec<f64> = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!((row[2] - 1.0 / 1.05f64.sqrt()).abs() < 1e-3, "{csv}");
    check_figure(
        &figures,
        "lyapunov",
        &[
            "against α at γ = 1.5",
            "against γ at α = 0.2",
            "theory γ_c",
            "(per τ)",
            "λ = 0",
        ],
    );
    check_figure(
        &figures,
        "attractors",
        &["quiescent", "chaos", "theory γ_c"],
    );
    check_figure(&figures, "plateau", &["theory plateau", "α = 0.05"]);
    check_figure(
        &figures,
        "heatmap_lyapunov",
        &["per τ", "theory γ_c", "load α"],
    );
    check_figure(&figures, "heatmap_grew_fraction", &["theory γ_c"]);
    check_figure(&figures, "heatmap_chaos_fraction", &[]);
    let line = std::fs::read_to_string(figures.join("critical_line.csv")).unwrap();
    assert!(
        line.starts_with("jiang.load,jiang.heteroassociation\n"),
        "{line}"
    );
    assert!(line.lines().count() > 10, "{line}");
    // No analog mean-field line on a jiang map.
    let svg = std::fs::read_to_string(figures.join("heatmap_lyapunov.svg")).unwrap();
    assert!(
        !svg.contains("σ²⟨f′²⟩"),
        "the analog mean field on a jiang map"
    );
}

#[test]
fn a_spectra_only_gamma_sweep_draws_the_right_edge_and_skips_the_dynamics() {
    let (tmp, runtime) = setup();
    let sweep = tmp.path().join("sweep");
    let spec = serde_json::json!({
        "base": {
            "model": "jiang",
            "jiang": {"neurons": 100, "load": 0.2, "autoassociation": 0.5, "depth": 2,
                      "leak": 0.1, "record_every": 1, "lyapunov": false},
            "schedule": {"epochs": 1, "transient_steps": 0, "recorded_steps": 1},
            "backend": {"kind": "cpu"}
        },
        "axes": [{"key": "jiang.heteroassociation", "values": [0.2, 0.6, 1.0]}],
        "replicas": 2,
        "seed": 1
    });
    let path = sweep.with_extension("json");
    std::fs::write(&path, spec.to_string()).unwrap();
    ok(
        &hebbnet(
            &[
                "sweep",
                path.to_str().unwrap(),
                "--quiet",
                "--out",
                sweep.to_str().unwrap(),
            ],
            &runtime,
        ),
        "hebbnet sweep",
    );
    let stdout = ok(
        &hebbnet(&["plot", sweep.to_str().unwrap()], &runtime),
        "plot",
    );
    check_figure(
        &sweep.join("figures"),
        "right_edge",
        &["theory x_R(γ)", "min–max over networks"],
    );
    for why in [
        "skipped eigenvalues: no eigenvalues.npy",
        "skipped transition: needs both jiang.load and jiang.heteroassociation",
        "skipped lyapunov: lyapunov is NaN at every point",
        "skipped attractors: a spectra-only sweep",
        "skipped plateau: a spectra-only sweep",
        "skipped heatmaps: a spectra-only sweep",
    ] {
        assert!(stdout.contains(why), "no `{why}` in\n{stdout}");
    }
}
