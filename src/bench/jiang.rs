//! The deep-Hebbian sequence network's bench cases (`--cases jiang_factored,jiang_dense`): the
//! backends' Jiang kernels ([`Backend::run_jiang`]) on the retrieval setting of the NumPy
//! baseline `benches/baselines/numpy_jiang.py` (α = 0.01, c = 0, γ = 1.5, d = 1, a = 0.05,
//! h(0) = ξ¹, tanh; models/jiang.md §7.4), with the local field computed in factored form,
//! `ξᵀ(X(ξ φ))/N` (O(NP) per step), or from the N × N matrix J (O(N²)). Both rows count steps
//! per second per replica; synapse updates are counted dense-equivalent (N² per step) so that
//! the two paths compare directly; the factored row's note gives its speed-up over the dense
//! row of the same backend.

use std::time::Instant;

use super::{
    compare_rows, median, table, BackendName, BenchOptions, BenchRow, Case, Opened,
    AGREEMENT_REPLICAS,
};
use crate::config::{Config, Precision};
use crate::error::Result;
use crate::experiment::jiang::{starting_networks, StartingNetwork as Drawn};
use crate::model::jiang::{Batch, Network, Trajectory};

/// The size of one case.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub neurons: usize,
    pub replicas: usize,
    /// Steps per replica (no transient: the whole run is the window).
    pub steps: usize,
}

/// The load of the bench cases (P = 40 at N = 4000).
pub const LOAD: f64 = 0.01;

/// The config of a Jiang case.
pub fn case_config(case: Case, shape: Shape) -> Result<Config> {
    let path = if case == Case::JiangDense {
        "dense"
    } else {
        "factored"
    };
    let text = format!(
        r#"{{"model": "jiang", "jiang": {{"neurons": {}, "load": {LOAD}, "heteroassociation": 1.5,
           "leak": 0.05, "couplings": "{path}", "cue": {{"pattern": 0}}, "record_every": 20,
           "lyapunov": false, "spectrum": false}},
           "schedule": {{"epochs": 1, "transient_steps": 0, "recorded_steps": {}}},
           "ensemble": {{"replicas": {}, "seed": 1}}, "backend": {{"precision": "f32"}}}}"#,
        shape.neurons, shape.steps, shape.replicas
    );
    let tree = serde_json::from_str(&text).expect("valid JSON");
    let config = Config::from_value(tree)?;
    config.validate()?;
    Ok(config)
}

fn batch(networks: &[Drawn], steps: usize) -> Batch<'_> {
    Batch {
        networks: networks
            .iter()
            .map(|(c, d, _)| Network {
                couplings: c,
                dense: d.as_deref(),
                leak: 0.05,
            })
            .collect(),
        trajectories: networks
            .iter()
            .enumerate()
            .map(|(k, (_, _, h))| Trajectory {
                network: k,
                start: h.clone(),
                twin: None,
                tangent: None,
            })
            .collect(),
        transient: 0,
        window: steps,
        record_every: 20,
        snapshots: Vec::new(),
    }
}

/// The rows of one Jiang case on every opened backend, with the CPU–GPU agreement (largest
/// |Δm^μ| over a short run) when both ran.
pub(super) fn rows(
    case: Case,
    shape: Shape,
    options: &BenchOptions,
    backends: &mut [Opened],
    say: &mut dyn FnMut(String),
) -> Result<Vec<BenchRow>> {
    let config = case_config(case, shape)?;
    // Drawn (and J built, on the dense path) before any timing.
    let networks = starting_networks(&config)?;
    let work = batch(&networks, shape.steps);
    let (n, r) = (shape.neurons, shape.replicas);
    let p = config.jiang.pattern_count();
    let dense_updates = (n * n * r * shape.steps) as f64;
    // Multiply-adds per step and replica: 2NP + P·taps (factored) or N² (dense).
    let flop = match case {
        Case::JiangDense => 2.0 * (n * n) as f64,
        _ => 2.0 * (2 * n * p + p) as f64,
    } * (r * shape.steps) as f64;
    let mut out = Vec::new();
    for b in backends.iter_mut() {
        b.backend.run_jiang(Precision::F32, &work)?;
        let mut times = Vec::with_capacity(options.repeat);
        for _ in 0..options.repeat {
            let start = Instant::now();
            b.backend.run_jiang(Precision::F32, &work)?;
            times.push(start.elapsed().as_secs_f64());
        }
        let med = median(&times);
        let note = format!(
            "P = {p}; synapse updates counted dense-equivalent (N² per step); {} field",
            if case == Case::JiangDense {
                "dense"
            } else {
                "factored"
            }
        );
        say(format!(
            "{} N = {n} R = {r} {}: median {} s, {:.3e} steps/s",
            case.name(),
            b.name.name(),
            table::sig3(med),
            shape.steps as f64 / med
        ));
        let gflop = flop / 1e9;
        out.push(super::family_row(
            case,
            n,
            r,
            shape.steps,
            b,
            &times,
            dense_updates,
            gflop,
            note,
        ));
    }
    let cpu = backends.iter().position(|b| b.name == BackendName::Cpu);
    let gpu = backends.iter().position(|b| b.name == BackendName::Gpu);
    if let (Some(c), Some(g)) = (cpu, gpu) {
        let count = r.min(AGREEMENT_REPLICAS);
        let probe = batch(&networks[..count], options.agreement_steps.max(1));
        let a = backends[c].backend.run_jiang(Precision::F32, &probe)?;
        let b = backends[g].backend.run_jiang(Precision::F32, &probe)?;
        let diff = a
            .iter()
            .zip(&b)
            .flat_map(|(x, y)| x.overlaps.iter().zip(&y.overlaps))
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max);
        let what = format!(
            "largest |Δm^μ| over the first {} steps, {count} replicas",
            probe.window
        );
        compare_rows(&mut out, backends, c, diff, &what);
        say(format!("{} N = {n} R = {r}: {what}: {diff}", case.name()));
    }
    Ok(out)
}

/// On each backend with both rows, the factored row's speed-up over the dense one, in its note.
pub(super) fn note_speedups(rows: &mut [BenchRow]) {
    let dense: Vec<(BackendName, usize, usize, f64)> = rows
        .iter()
        .filter(|r| r.case == Case::JiangDense)
        .map(|r| {
            (
                r.backend,
                r.neurons,
                r.replicas,
                r.median_s / r.steps as f64,
            )
        })
        .collect();
    for row in rows.iter_mut().filter(|r| r.case == Case::JiangFactored) {
        if let Some(d) = dense
            .iter()
            .find(|d| d.0 == row.backend && d.1 == row.neurons && d.2 == row.replicas)
        {
            let ratio = d.3 / (row.median_s / row.steps as f64);
            row.note
                .push_str(&format!("; {ratio:.1}× the dense path's steps/s"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::backend::Backend;

    /// Both cases run the same dynamics: their overlaps agree (f32, 200 steps, N = 300).
    #[test]
    fn factored_and_dense_cases_agree() {
        let shape = Shape {
            neurons: 300,
            replicas: 2,
            steps: 200,
        };
        let mut cpu = CpuBackend::new(1).unwrap();
        let traces: Vec<_> = [Case::JiangFactored, Case::JiangDense]
            .into_iter()
            .map(|case| {
                let config = case_config(case, shape).unwrap();
                let networks = starting_networks(&config).unwrap();
                assert_eq!(networks[0].1.is_some(), case == Case::JiangDense);
                cpu.run_jiang(Precision::F32, &batch(&networks, shape.steps))
                    .unwrap()
            })
            .collect();
        for (a, b) in traces[0].iter().zip(&traces[1]) {
            for (x, y) in a.overlaps.iter().zip(&b.overlaps) {
                assert!((x - y).abs() < 1e-4, "{x} vs {y}");
            }
        }
    }
}
