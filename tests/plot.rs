//! `hebbnet plot` end to end: a small run, then its figures as SVG and PNG; figures whose input
//! is missing are skipped with a note; a directory that is not a finished run is refused with
//! exit code 2.

mod common;

use common::cli::{check_figure, hebbnet, text};
use std::path::Path;

const FIGURES: [&str; 5] = [
    "lyapunov",
    "contraction",
    "eigenvalues",
    "bifurcation",
    "sensitivity",
];

/// A small run with every analysis the figures use (3 replicas, 3 epochs, short windows).
fn small_run(dir: &Path, runtime_dir: &Path) {
    let out = hebbnet(
        &[
            "run",
            "--backend",
            "cpu",
            "--replicas",
            "3",
            "--epochs",
            "3",
            "--set",
            "schedule.transient_steps=20",
            "--set",
            "schedule.recorded_steps=150",
            "--set",
            "analysis.lyapunov.tangent_transient=20",
            "--set",
            "analysis.sensitivity.enabled=true",
            "--set",
            "analysis.sensitivity.transient=20",
            "--set",
            "analysis.sensitivity.steps=50",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ],
        runtime_dir,
    );
    assert!(
        out.status.success(),
        "hebbnet run failed: {}",
        text(&out.stderr)
    );
}

#[test]
fn plot_writes_every_figure_of_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("xdg");
    std::fs::create_dir_all(&runtime).unwrap();
    let run = tmp.path().join("run");
    small_run(&run, &runtime);

    let out = hebbnet(&["plot", run.to_str().unwrap()], &runtime);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "plot failed: {}\n{stdout}",
        text(&out.stderr)
    );
    let figures = run.join("figures");
    for stem in FIGURES {
        for ext in ["svg", "png"] {
            let path = figures.join(format!("{stem}.{ext}"));
            assert!(
                stdout.contains(&format!("wrote {}", path.display())),
                "{} not listed in:\n{stdout}",
                path.display()
            );
        }
    }
    // The theory beside the simulation: the mean-field λ_max of W⁽⁰⁾ (hebbnet theory).
    check_figure(
        &figures,
        "lyapunov",
        &["epoch", "largest Lyapunov exponent", "mean field"],
    );
    check_figure(
        &figures,
        "contraction",
        &["epoch", "spectral radius", "ρ = 1"],
    );
    check_figure(
        &figures,
        "eigenvalues",
        &["Re z", "Im z", "epoch 0", "epoch 2"],
    );
    check_figure(&figures, "bifurcation", &["epoch", "neuron 0"]);
    check_figure(
        &figures,
        "sensitivity",
        &["susceptibility", "discrimination", "λ₁"],
    );
    // Nothing half-written is left behind.
    let leftovers: Vec<String> = std::fs::read_dir(&figures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // Options, and a figure whose input is missing: skipped with a note, the others written.
    std::fs::remove_file(run.join("bifurcation.npy")).unwrap();
    let other = tmp.path().join("other");
    let out = hebbnet(
        &[
            "plot",
            run.to_str().unwrap(),
            "--out",
            other.to_str().unwrap(),
            "--epochs",
            "1",
            "--replica",
            "2",
        ],
        &runtime,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("skipped bifurcation"), "{stdout}");
    assert!(!other.join("bifurcation.svg").exists());
    check_figure(&other, "eigenvalues", &["epoch 1", "Re z"]);
    assert!(other.join("lyapunov.png").exists());

    // An epoch or replica the run does not have is the user's to fix: exit code 2.
    for args in [["--epochs", "3"], ["--replica", "3"]] {
        let out = hebbnet(&["plot", run.to_str().unwrap(), args[0], args[1]], &runtime);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

#[test]
fn plot_refuses_what_is_not_a_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("xdg");
    std::fs::create_dir_all(&runtime).unwrap();

    // An ordinary directory.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = hebbnet(&["plot", empty.to_str().unwrap()], &runtime);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a hebbnet run directory") && stderr.contains("manifest.json"),
        "{stderr}"
    );
    assert!(!empty.join("figures").exists());

    // A directory that does not exist.
    let missing = tmp.path().join("missing");
    let out = hebbnet(&["plot", missing.to_str().unwrap()], &runtime);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // A run that has not finished.
    let running = tmp.path().join("running");
    std::fs::create_dir_all(&running).unwrap();
    std::fs::write(running.join("manifest.json"), r#"{"status": "running"}"#).unwrap();
    let out = hebbnet(&["plot", running.to_str().unwrap()], &runtime);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not finished"), "{stderr}");

    // A manifest that is not JSON.
    std::fs::write(running.join("manifest.json"), "{ half").unwrap();
    let out = hebbnet(&["plot", running.to_str().unwrap()], &runtime);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not valid JSON"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Sweep figures: a fixture sweep directory in the format of `hebbnet sweep` (sweep.json +
// points.csv), written here by hand so the figures are tested without the sweep code.

use hebbnet::analysis::summary::SUMMARISED;
use hebbnet::config::{apply_override, Config};
use hebbnet::plot::{plot_run, PlotOptions};
use hebbnet::theory::mean_field::SiriMeanField;
use hebbnet::Error;

const CLASSES: [&str; 6] = [
    "fixed_point",
    "periodic",
    "quasi_periodic",
    "chaotic",
    "transient",
    "aperiodic",
];

/// K of the zero-input critical line σ_c = K / g of the siri rate network (σ g = K where
/// s² ∫Dz sech⁴(s z) = 1 + ∫Dz tanh²(s z), K = 2 s / √(1 + ∫Dz tanh²(s z)); computed by
/// brute-force quadrature in the mean-field unit tests, K = 5.07463).
const K_ZERO_INPUT: f64 = 5.07463;

struct SweepAxis {
    key: &'static str,
    values: Vec<f64>,
    spacing: &'static str,
}

/// Write `sweep.json` and `points.csv`. `lyapunov` gives λ₁ (the replica mean) of a point from
/// its axis values; `absent` points are left out of points.csv (not run).
fn write_sweep(
    dir: &Path,
    base: &Config,
    axes: &[SweepAxis],
    lyapunov: impl Fn(&[f64]) -> f64,
    absent: impl Fn(&[f64]) -> bool,
) {
    std::fs::create_dir_all(dir).unwrap();
    let sweep = serde_json::json!({
        "kind": "hebbnet-sweep",
        "axes": axes.iter().map(|a| serde_json::json!({
            "key": a.key, "values": a.values, "spacing": a.spacing
        })).collect::<Vec<_>>(),
        "replicas": 4,
        "base_config": serde_json::to_value(base).unwrap(),
    });
    std::fs::write(
        dir.join("sweep.json"),
        serde_json::to_string_pretty(&sweep).unwrap(),
    )
    .unwrap();
    let mut csv = String::from("point");
    for a in axes {
        csv.push_str(&format!(",{}", a.key));
    }
    csv.push_str(",replicas");
    for name in SUMMARISED {
        csv.push_str(&format!(",{name}_mean,{name}_ci95_low,{name}_ci95_high"));
    }
    for class in CLASSES {
        csv.push_str(&format!(",fraction_{class}"));
    }
    csv.push('\n');
    // Every combination, the last axis varying fastest.
    let total: usize = axes.iter().map(|a| a.values.len()).product();
    for point in 0..total {
        let mut rest = point;
        let mut values = vec![0.0; axes.len()];
        for (k, a) in axes.iter().enumerate().rev() {
            values[k] = a.values[rest % a.values.len()];
            rest /= a.values.len();
        }
        if absent(&values) {
            continue;
        }
        let l = lyapunov(&values);
        csv.push_str(&point.to_string());
        for v in &values {
            csv.push_str(&format!(",{v}"));
        }
        csv.push_str(",4");
        for name in SUMMARISED {
            let (m, lo, hi) = match name {
                "lyapunov_max" => (l, l - 0.02, l + 0.02),
                "mean_activity" => (0.5, 0.45, 0.55),
                _ => (f64::NAN, f64::NAN, f64::NAN),
            };
            csv.push_str(&format!(",{m},{lo},{hi}"));
        }
        let chaotic = if l > 0.0 { 1.0 } else { 0.0 };
        for class in CLASSES {
            let f = match class {
                "chaotic" => chaotic,
                "fixed_point" => 1.0 - chaotic,
                _ => 0.0,
            };
            csv.push_str(&format!(",{f}"));
        }
        csv.push('\n');
    }
    std::fs::write(dir.join("points.csv"), csv).unwrap();
}

/// A made-up λ₁ that changes sign near the zero-input critical line σ g = K.
fn made_up_lyapunov(gain: f64, sigma: f64) -> f64 {
    0.3 * (gain * sigma / K_ZERO_INPUT).ln()
}

/// The rate/siri network without learning (λ₁ of the initial network is what is swept).
fn frozen_siri() -> Config {
    let mut c = Config::load(None, &[]).unwrap();
    c.learning.enabled = false;
    c.schedule.epochs = 1;
    // Zero input: the critical line is σ g = K exactly.
    c.input = Default::default();
    c.validate().unwrap();
    c
}

fn gain_sigma_axes() -> Vec<SweepAxis> {
    vec![
        SweepAxis {
            key: "network.gain",
            values: vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0],
            spacing: "linear",
        },
        SweepAxis {
            key: "weights.std",
            values: vec![0.25, 0.5, 1.0, 2.0, 4.0],
            spacing: "log",
        },
    ]
}

/// The `x_key,y_key` rows of a critical_line CSV (NaN separator rows left out).
fn read_line(path: &Path, header: &str) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header));
    lines
        .map(|l| {
            let (x, y) = l.split_once(',').expect("two columns");
            (x.parse::<f64>().unwrap(), y.parse::<f64>().unwrap())
        })
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect()
}

/// σ² ⟨f′²⟩ recomputed from the config of the point (base with the overrides).
fn indicator_at(base: &Config, overrides: &[String]) -> f64 {
    let mut tree = serde_json::to_value(base).unwrap();
    for o in overrides {
        apply_override(&mut tree, o).unwrap();
    }
    let config = Config::from_value(tree).unwrap();
    config.validate().unwrap();
    SiriMeanField::from_config(&config)
        .expect("the mean field applies")
        .chaos_indicator()
}

#[test]
fn sweep_heatmap_with_the_mean_field_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let base = frozen_siri();
    // One NaN point: g = 6, σ = 1.
    write_sweep(
        &dir,
        &base,
        &gain_sigma_axes(),
        |v| {
            if v == [6.0, 1.0] {
                f64::NAN
            } else {
                made_up_lyapunov(v[0], v[1])
            }
        },
        |_| false,
    );
    let report = plot_run(&dir, &PlotOptions::default()).expect("sweep figures");
    let figures = dir.join("figures");
    assert_eq!(report.out, figures);
    let printed = report.to_string();
    for file in [
        "heatmap_lyapunov_max_mean.svg",
        "heatmap_lyapunov_max_mean.png",
        "critical_line.csv",
    ] {
        let path = figures.join(file);
        assert!(path.is_file(), "{} missing", path.display());
        assert!(
            printed.contains(&format!("wrote {}", path.display())),
            "{printed}"
        );
    }
    // No run figures for a sweep.
    assert!(!figures.join("lyapunov.svg").exists());
    check_figure(
        &figures,
        "heatmap_lyapunov_max_mean",
        &[
            "gain g",
            "network.gain",
            "weight std σ",
            "weights.std",
            "largest Lyapunov exponent λ₁, replica mean (per step)",
            "mean field: σ²⟨f′²⟩ = 1",
            "no value: NaN or not run (1 of 30 points)",
            "4 replicas per point",
        ],
    );
    let png = std::fs::read(figures.join("heatmap_lyapunov_max_mean.png")).unwrap();
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1200, 800));

    // The line: every point has σ²⟨f′²⟩ = 1 (recomputed from the point's config), and with zero
    // input it is the known hyperbola σ g = K. It spans the gains whose σ_c = K/g lies inside
    // the plotted σ range (cells from 0.177 to 5.66): all of them, g from 1 to 13.
    let line = read_line(
        &figures.join("critical_line.csv"),
        "network.gain,weights.std",
    );
    assert!(line.len() >= 50, "{} points", line.len());
    for &(g, sigma) in &line {
        let chi = indicator_at(
            &base,
            &[format!("network.gain={g}"), format!("weights.std={sigma}")],
        );
        assert!((chi - 1.0).abs() < 1e-5, "({g}, {sigma}): σ²⟨f′²⟩ = {chi}");
        assert!(
            (g * sigma - K_ZERO_INPUT).abs() < 1e-4,
            "({g}, {sigma}): σ g = {}",
            g * sigma
        );
    }
    let (g_lo, g_hi) = line.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    assert!(g_lo < 1.1 && g_hi > 12.9, "gains {g_lo}..{g_hi}");

    // Several observables (comma-separated and repeated; a bare name means its _mean), and a
    // sequential one.
    let options = PlotOptions {
        out: Some(tmp.path().join("more")),
        observables: vec![
            "lyapunov_max,fraction_chaotic".into(),
            "mean_activity".into(),
        ],
        ..Default::default()
    };
    let report = plot_run(&dir, &options).unwrap();
    for stem in [
        "heatmap_lyapunov_max_mean",
        "heatmap_fraction_chaotic",
        "heatmap_mean_activity_mean",
    ] {
        assert!(
            report
                .written()
                .iter()
                .any(|p| p.ends_with(format!("{stem}.svg"))),
            "{stem}: {report}"
        );
    }
    check_figure(
        &tmp.path().join("more"),
        "heatmap_fraction_chaotic",
        &["fraction of replicas: chaotic", "gain g"],
    );
    // An observable that is NaN everywhere is skipped with a note.
    let options = PlotOptions {
        out: Some(tmp.path().join("nan")),
        observables: vec!["susceptibility_mean".into()],
        ..Default::default()
    };
    let report = plot_run(&dir, &options).unwrap();
    assert!(
        report
            .to_string()
            .contains("skipped heatmap_susceptibility_mean"),
        "{report}"
    );

    // An unknown observable is the user's to fix, and the message lists the columns.
    let options = PlotOptions {
        observables: vec!["lyapunov_maxx".into()],
        ..Default::default()
    };
    match plot_run(&dir, &options) {
        Err(e @ Error::Input { .. }) => {
            let msg = e.to_string();
            for want in ["lyapunov_maxx", "lyapunov_max_mean", "fraction_chaotic"] {
                assert!(msg.contains(want), "{msg}");
            }
            assert!(
                !msg.contains("network.gain,"),
                "axis columns are not observables: {msg}"
            );
        }
        Err(e) => panic!("expected an input error, got {e}"),
        Ok(r) => panic!("expected an error, got {r}"),
    }
    // The same on the command line: exit code 2.
    let runtime = tmp.path().join("xdg");
    std::fs::create_dir_all(&runtime).unwrap();
    let out = hebbnet(
        &["plot", dir.to_str().unwrap(), "--observable", "nope"],
        &runtime,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown observable `nope`"), "{stderr}");
    let out = hebbnet(
        &[
            "plot",
            dir.to_str().unwrap(),
            "--observable",
            "fraction_fixed_point",
            "--out",
            tmp.path().join("cli").to_str().unwrap(),
        ],
        &runtime,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(tmp
        .path()
        .join("cli/heatmap_fraction_fixed_point.png")
        .is_file());
}

#[test]
fn sweep_slices_one_axis_and_no_mean_field() {
    let tmp = tempfile::tempdir().unwrap();

    // Three axes: one figure per threshold. The default config learns (25 epochs) and draws a
    // uniform input: the line is the mean field of W⁽⁰⁾ with θ subtracted from the input mean.
    let base = Config::load(None, &[]).unwrap();
    let mut axes = gain_sigma_axes();
    axes.push(SweepAxis {
        key: "network.threshold",
        values: vec![0.0, 0.2],
        spacing: "list",
    });
    let dir = tmp.path().join("three");
    // The (12, 4, 0.2) point was not run.
    write_sweep(
        &dir,
        &base,
        &axes,
        |v| made_up_lyapunov(v[0], v[1]) - v[2],
        |v| v == [12.0, 4.0, 0.2],
    );
    let report = plot_run(&dir, &PlotOptions::default()).unwrap();
    let figures = dir.join("figures");
    let mut lines = Vec::new();
    for theta in ["0", "0.2"] {
        let stem = format!("heatmap_lyapunov_max_mean__network.threshold_{theta}");
        check_figure(
            &figures,
            &stem,
            &[
                "gain g",
                "weight std σ",
                &format!("network.threshold = {theta}"),
                "mean field of W⁽⁰⁾ (before learning): σ²⟨f′²⟩ = 1",
            ],
        );
        let line = read_line(
            &figures.join(format!("critical_line__network.threshold_{theta}.csv")),
            "network.gain,weights.std",
        );
        assert!(line.len() >= 30, "θ = {theta}: {} points", line.len());
        for &(g, sigma) in line.iter().step_by(5) {
            let chi = indicator_at(
                &base,
                &[
                    format!("network.gain={g}"),
                    format!("weights.std={sigma}"),
                    format!("network.threshold={theta}"),
                ],
            );
            assert!(
                (chi - 1.0).abs() < 1e-5,
                "θ = {theta}, ({g}, {sigma}): {chi}"
            );
        }
        lines.push(line);
    }
    // The threshold moves the line (θ enters as the input mean −θ): the two slices differ.
    let sigma_at = |line: &[(f64, f64)]| {
        line.iter()
            .min_by(|a, b| (a.0 - 4.0).abs().total_cmp(&(b.0 - 4.0).abs()))
            .unwrap()
            .1
    };
    assert!(
        (sigma_at(&lines[1]) - sigma_at(&lines[0])).abs() > 0.05 * sigma_at(&lines[0]),
        "{} vs {}",
        sigma_at(&lines[1]),
        sigma_at(&lines[0])
    );
    let svg = std::fs::read_to_string(
        figures.join("heatmap_lyapunov_max_mean__network.threshold_0.2.svg"),
    )
    .unwrap();
    assert!(
        svg.contains("(1 of 30 points)"),
        "the missing point is counted"
    );
    assert!(report.written().len() >= 6, "{report}");

    // One axis: mean ± CI against the gain, with the mean-field λ_max.
    let dir = tmp.path().join("one");
    let one = vec![SweepAxis {
        key: "network.gain",
        values: vec![1.0, 2.0, 4.0, 8.0, 16.0],
        spacing: "log",
    }];
    write_sweep(
        &dir,
        &frozen_siri(),
        &one,
        |v| made_up_lyapunov(v[0], 1.0),
        |_| false,
    );
    plot_run(&dir, &PlotOptions::default()).unwrap();
    check_figure(
        &dir.join("figures"),
        "profile_lyapunov_max_mean",
        &[
            "gain g",
            "95% CI of the mean",
            "mean field: λ_max = ½ ln(σ²⟨f′²⟩)",
            "λ = 0",
        ],
    );

    // The current form: no mean-field line (skipped with the reason), the heat map is drawn.
    let mut current = frozen_siri();
    current.network.form = hebbnet::model::analog::Form::Current;
    current.network.activation = hebbnet::model::analog::Activation::Tanh;
    let dir = tmp.path().join("current");
    write_sweep(
        &dir,
        &current,
        &gain_sigma_axes(),
        |v| made_up_lyapunov(v[0], v[1]),
        |_| false,
    );
    let report = plot_run(&dir, &PlotOptions::default()).unwrap();
    let printed = report.to_string();
    assert!(
        printed.contains("skipped critical_line") && printed.contains("network.form is current"),
        "{printed}"
    );
    let figures = dir.join("figures");
    assert!(!figures.join("critical_line.csv").exists());
    check_figure(&figures, "heatmap_lyapunov_max_mean", &["gain g"]);
    let svg = std::fs::read_to_string(figures.join("heatmap_lyapunov_max_mean.svg")).unwrap();
    assert!(!svg.contains("mean field"));

    // Run options do not apply to a sweep, nor --observable to a run.
    let options = PlotOptions {
        epochs: Some(vec![0]),
        ..Default::default()
    };
    assert!(matches!(plot_run(&dir, &options), Err(Error::Input { .. })));
    let not_sweep = tmp.path().join("run");
    std::fs::create_dir_all(&not_sweep).unwrap();
    let options = PlotOptions {
        observables: vec!["lyapunov_max_mean".into()],
        ..Default::default()
    };
    let err = plot_run(&not_sweep, &options).err().expect("refused");
    assert!(err.to_string().contains("--observable"), "{err}");

    // A sweep.json that is not JSON is reported as such (not as a missing run manifest).
    let broken = tmp.path().join("broken");
    write_sweep(
        &broken,
        &frozen_siri(),
        &gain_sigma_axes(),
        |_| 0.1,
        |_| false,
    );
    std::fs::write(broken.join("sweep.json"), "{ half").unwrap();
    let err = plot_run(&broken, &PlotOptions::default())
        .err()
        .expect("refused");
    assert!(
        matches!(err, Error::Input { .. })
            && err.to_string().contains("sweep.json")
            && err.to_string().contains("not valid JSON"),
        "{err}"
    );

    // A points.csv value that is not on its axis.
    let bad = tmp.path().join("bad");
    write_sweep(&bad, &frozen_siri(), &gain_sigma_axes(), |_| 0.1, |_| false);
    let csv = std::fs::read_to_string(bad.join("points.csv")).unwrap();
    std::fs::write(
        bad.join("points.csv"),
        csv.replacen("\n0,2,0.25,", "\n0,3,0.25,", 1),
    )
    .unwrap();
    let err = plot_run(&bad, &PlotOptions::default())
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("network.gain = 3 is not one of the values"),
        "{err}"
    );
}
