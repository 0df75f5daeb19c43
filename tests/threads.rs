//! The default thread count is the CPUs the process may use (affinity mask, cgroup quota,
//! `SLURM_CPUS_PER_TASK`), not the machine's core count; the manifest says what was used.

use std::process::Command;

fn devices_line(cmd: &mut Command) -> String {
    let out = cmd.output().expect("hebbnet devices runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find(|l| l.starts_with("cpu backend:"))
        .unwrap_or_else(|| panic!("no cpu backend line in: {text}"))
        .to_string()
}

fn threads_in(line: &str) -> usize {
    line.trim_start_matches("cpu backend:")
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no thread count in {line:?}"))
}

const BIN: &str = env!("CARGO_BIN_EXE_hebbnet");

#[test]
fn default_threads_follow_the_affinity_mask() {
    let all = threads_in(&devices_line(
        Command::new(BIN)
            .arg("devices")
            .env_remove("SLURM_CPUS_PER_TASK"),
    ));
    assert_eq!(
        all,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        "without a bound, every CPU this test may use"
    );
    // taskset (util-linux) pins the process to CPU 0.
    let Ok(status) = Command::new("taskset").args(["-c", "0", "true"]).status() else {
        panic!("taskset (util-linux) is needed for this test");
    };
    assert!(status.success());
    let pinned = devices_line(
        Command::new("taskset")
            .args(["-c", "0", BIN, "devices"])
            .env_remove("SLURM_CPUS_PER_TASK"),
    );
    assert_eq!(threads_in(&pinned), 1, "{pinned}");
}

#[test]
fn slurm_cpus_per_task_bounds_the_default_and_the_manifest_says_so() {
    let line = devices_line(
        Command::new(BIN)
            .arg("devices")
            .env("SLURM_CPUS_PER_TASK", "1"),
    );
    assert_eq!(threads_in(&line), 1, "{line}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let status = Command::new(BIN)
        .args(["run", "--backend", "cpu", "--quiet", "--out"])
        .arg(&out)
        .args([
            "--set",
            "network.neurons=10",
            "--set",
            "ensemble.replicas=2",
            "--set",
            "schedule.epochs=1",
            "--set",
            "schedule.transient_steps=5",
            "--set",
            "schedule.recorded_steps=20",
            "--set",
            "analysis.lyapunov.tangent_transient=5",
        ])
        .env("SLURM_CPUS_PER_TASK", "1")
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("CPU, 1 threads"), "{manifest}");
}
