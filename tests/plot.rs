//! `hebbnet plot` end to end: a small run, then its figures as SVG and PNG; figures whose input
//! is missing are skipped with a note; a directory that is not a finished run is refused with
//! exit code 2.

use std::path::Path;
use std::process::{Command, Output};

const FIGURES: [&str; 5] = [
    "lyapunov",
    "contraction",
    "eigenvalues",
    "bifurcation",
    "sensitivity",
];

fn hebbnet(args: &[&str], runtime_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .output()
        .expect("the hebbnet binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

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

fn check_figure(dir: &Path, stem: &str, svg_text: &[&str]) {
    let svg_path = dir.join(format!("{stem}.svg"));
    let svg = std::fs::read_to_string(&svg_path)
        .unwrap_or_else(|e| panic!("{}: {e}", svg_path.display()));
    assert!(svg.starts_with("<svg"), "{stem}.svg is not an SVG");
    for want in svg_text {
        assert!(svg.contains(want), "{stem}.svg has no text `{want}`");
    }
    let png_path = dir.join(format!("{stem}.png"));
    let png = std::fs::read(&png_path).unwrap_or_else(|e| panic!("{}: {e}", png_path.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{stem}.png has no PNG signature"
    );
    assert!(png.len() > 10_000, "{stem}.png is only {} bytes", png.len());
    // The IHDR chunk: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        width >= 1200 && height >= 500,
        "{stem}.png is {width}×{height}"
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
    check_figure(
        &figures,
        "lyapunov",
        &["epoch", "largest Lyapunov exponent"],
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
