//! A run that dies part-way resumes from its finished batches and ends byte-identical to an
//! uninterrupted run.

use std::path::Path;

mod common;

use common::Flaky;
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::config::{Config, SavedArray};
use hebbnet::experiment::{run, RunOptions};

fn options(out: &Path) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        config_source: "test".into(),
        command_line: vec![],
        quiet: true,
        force: false,
    }
}

#[test]
fn interrupted_run_resumes_to_identical_results() {
    let mut config = Config::load(
        None,
        &[
            "network.neurons=12".into(),
            "ensemble.replicas=7".into(),
            "schedule.epochs=3".into(),
            "schedule.transient_steps=5".into(),
            "schedule.recorded_steps=10".into(),
            "analysis.lyapunov.tangent_transient=2".into(),
            "backend.batch_replicas=2".into(),
        ],
    )
    .unwrap();
    config.output.save = vec![SavedArray::Weights, SavedArray::State];
    let dir = tempfile::tempdir().unwrap();

    let whole = dir.path().join("whole");
    let mut cpu = CpuBackend::new(2).unwrap();
    run(&config, &mut cpu, "", &options(&whole)).unwrap();

    let broken = dir.path().join("broken");
    let mut flaky = Flaky {
        inner: CpuBackend::new(2).unwrap(),
        fail_after: 2,
        batches: 0,
    };
    let err = run(&config, &mut flaky, "", &options(&broken)).unwrap_err();
    assert!(err.to_string().contains("simulated crash"));
    assert!(!broken.join("epochs.csv").exists());
    let parts: Vec<_> = std::fs::read_dir(broken.join("parts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    assert_eq!(
        parts.len(),
        2,
        "the two finished batches are on disk: {parts:?}"
    );

    // Resume with another batch size: only the 3 missing replicas are computed.
    let mut resumed_config = config.clone();
    resumed_config.backend.batch_replicas = 3;
    let mut cpu = CpuBackend::new(1).unwrap();
    let summary = run(&resumed_config, &mut cpu, "", &options(&broken)).unwrap();
    assert_eq!(summary.resumed_replicas, 4);
    for file in ["epochs.csv", "weights.npy", "state.npy"] {
        assert_eq!(
            std::fs::read(whole.join(file)).unwrap(),
            std::fs::read(broken.join(file)).unwrap(),
            "{file} differs after resuming"
        );
    }
}
