//! The reservoir family's bench case (`--cases reservoir_success`): one success-vs-g sweep of
//! Rivkind & Barak's trained reservoirs — tanh, one target A = 1, g = 0.3, 0.4, …, 2.5 (23
//! points), `--replicas` seeds per point at N = `--neurons` — through the family's whole
//! pipeline ([`train`]: the open loops and the kicked closed loop on the backend, Newton, the
//! readout and the closed-loop spectra on the CPU), the work of the NumPy/SciPy baseline
//! `benches/baselines/numpy_reservoir.py` (open loop dt = 0.2 for T = 200, one combined kick run
//! for T = 300 at dt = 0.1). `steps` counts the Euler steps of one replica (1000 + 3000);
//! synapse updates are N² per step.

use std::time::Instant;

use super::{compare_rows, median, table, BackendName, BenchOptions, BenchRow, Case, Opened};
use crate::config::Config;
use crate::error::Result;
use crate::experiment::family::Member;
use crate::experiment::reservoir::{train, Trained};

/// The g of the sweep: 0.3 to 2.5 in steps of 0.1.
pub fn gains() -> Vec<f64> {
    (0..23)
        .map(|i| ((3 + i) as f64 / 10.0 * 1e10).round() / 1e10)
        .collect()
}

/// The config of one point of the case.
pub fn case_config(neurons: usize, replicas: usize, gain: f64) -> Result<Config> {
    let text = format!(
        r#"{{"model": "reservoir", "network": {{"neurons": {neurons}, "activation": "tanh"}},
           "weights": {{"std": {gain}}},
           "reservoir": {{"targets": [1.0], "kicks": {{"kinds": ["combined"]}}}},
           "ensemble": {{"replicas": {replicas}, "seed": 1}},
           "backend": {{"precision": "f32"}}}}"#
    );
    let config = Config::from_value(serde_json::from_str(&text).expect("valid JSON"))?;
    config.validate()?;
    Ok(config)
}

/// Train every replica of every point on `backend`, one batch per point.
fn sweep(configs: &[Config], backend: &mut dyn crate::backend::Backend) -> Result<Vec<Trained>> {
    let mut out = Vec::new();
    for c in configs {
        let members: Vec<Member<'_>> = (0..c.ensemble.replicas as u64)
            .map(|replica| Member { config: c, replica })
            .collect();
        out.extend(train(backend, &members)?);
    }
    Ok(out)
}

/// The rows of the case on every opened backend, with the CPU–GPU agreement (the largest
/// |Δ max Re λ| of the trained attractors) when both ran.
pub(super) fn rows(
    case: Case,
    neurons: usize,
    replicas: usize,
    options: &BenchOptions,
    backends: &mut [Opened],
    say: &mut dyn FnMut(String),
) -> Result<Vec<BenchRow>> {
    let configs: Vec<Config> = gains()
        .into_iter()
        .map(|g| case_config(neurons, replicas, g))
        .collect::<Result<_>>()?;
    let steps = configs[0].reservoir.open_loop.steps()
        + (configs[0].reservoir.kicks.time / configs[0].network.leak).round() as usize;
    let total = replicas * configs.len();
    let n = neurons as f64;
    let updates = (total * steps) as f64 * n * n;
    // Steps 2N² each; per replica Newton (≈ 4 LUs of 2N³/3), H(0) (one LU), the spectrum
    // (≈ 10 N³).
    let gflop =
        (total as f64 * (2.0 * n * n * steps as f64 + (5.0 * 2.0 / 3.0 + 10.0) * n * n * n)) / 1e9;
    let mut out = Vec::new();
    let mut results = Vec::new();
    for b in backends.iter_mut() {
        let mut times = Vec::with_capacity(options.repeat);
        let mut last = Vec::new();
        for _ in 0..options.repeat.max(1) {
            let start = Instant::now();
            last = sweep(&configs, b.backend.as_mut())?;
            times.push(start.elapsed().as_secs_f64());
        }
        let med = median(&times);
        let stable = last
            .iter()
            .filter(|t| t.trained && t.attractors.iter().all(|a| a.leading().re < -1e-6))
            .count();
        say(format!(
            "{} N = {neurons}, {} points × {replicas} replicas {}: median {} s, {:.3e} replicas/s, \
             eig-stable {stable}/{total}",
            case.name(),
            configs.len(),
            b.name.name(),
            table::sig3(med),
            total as f64 / med
        ));
        let note = format!(
            "23 g × {replicas} seeds, tanh, K = 1, one kick: the sweep of \
             benches/baselines/numpy_reservoir.py; eig-stable {stable}/{total}"
        );
        out.push(super::family_row(
            case, neurons, total, steps, b, &times, updates, gflop, note,
        ));
        results.push((b.name, last));
    }
    let cpu = backends.iter().position(|b| b.name == BackendName::Cpu);
    let gpu = backends.iter().position(|b| b.name == BackendName::Gpu);
    if let (Some(c), Some(g)) = (cpu, gpu) {
        let diff = results[c]
            .1
            .iter()
            .zip(&results[g].1)
            .flat_map(|(x, y)| x.attractors.iter().zip(&y.attractors))
            .map(|(u, v)| (u.leading().re - v.leading().re).abs())
            .filter(|d| !d.is_nan())
            .fold(0.0, f64::max);
        let what = "largest |Δ max Re λ| of the trained attractors".to_string();
        compare_rows(&mut out, backends, c, diff, &what);
        say(format!("{} N = {neurons}: {what}: {diff}", case.name()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sweep_is_the_baselines() {
        let g = super::gains();
        assert_eq!(g.len(), 23);
        assert_eq!((g[0], g[7], g[22]), (0.3, 1.0, 2.5));
    }
}
