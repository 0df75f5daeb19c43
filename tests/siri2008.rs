//! Siri et al. 2008, qualitatively, on a small ensemble of the bundled learning route
//! (configs/siri2008/learning_route.json): chaos at the first epoch, a steady state at the last,
//! a contracting Jacobian, and fixed points for most replicas.

use hebbnet::backend::cpu::CpuBackend;
use hebbnet::config::Config;
use hebbnet::experiment::{run, RunOptions};

fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(c).unwrap().to_string())
        .collect()
}

#[test]
fn hebbian_learning_drives_chaos_to_a_steady_state() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs/siri2008/learning_route.json");
    let config = Config::load(Some(&path), &["ensemble.replicas=8".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        out: dir.path().to_path_buf(),
        config_source: path.display().to_string(),
        command_line: vec![],
        quiet: true,
        force: false,
    };
    run(&config, &mut CpuBackend::new(0).unwrap(), "", &options).unwrap();
    let summary = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
    let lambda: Vec<f64> = column(&summary, "lyapunov_max_mean")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let rho_j: Vec<f64> = column(&summary, "spectral_radius_j_mean")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let fixed: Vec<f64> = column(&summary, "fraction_fixed_point")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let last = lambda.len() - 1;
    eprintln!(
        "measured: λ₁ {:.3} → {:.3}, ρ(J) {:.3} → {:.3}, fixed points at the end {:.2}",
        lambda[0], lambda[last], rho_j[0], rho_j[last], fixed[last]
    );
    assert!(
        lambda[0] > 0.05,
        "not chaotic at the first epoch: λ₁ = {}",
        lambda[0]
    );
    assert!(
        lambda[last] < -0.1,
        "not steady at the last epoch: λ₁ = {}",
        lambda[last]
    );
    assert!(
        rho_j[last] < rho_j[0] && rho_j[0] > 1.0 && rho_j[last] < 1.0,
        "{rho_j:?}"
    );
    assert!(
        fixed[last] > 0.5,
        "fixed points at the end: {}",
        fixed[last]
    );
    // λ₁ crosses zero once on the way (up to sampling noise around the crossing).
    let first_negative = lambda.iter().position(|&l| l < 0.0).unwrap();
    assert!(
        lambda[first_negative + 3..].iter().all(|&l| l < 0.0),
        "{lambda:?}"
    );
}
