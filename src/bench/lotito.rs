//! Lotito's memory dynamics' bench case (`--cases lotito_figure1`): the backends' Lotito kernels
//! ([`Backend::run_lotito`]) on Figure 1 of the paper (N_h = 4 memories of N_v = `--neurons`
//! entries, Gram–Schmidt patterns, σ = 0.4, cyclic presentation, τ_Ξ = 250, β = 2, every step
//! recorded: the Gram, cross and decay products of models/lotito.md §7), the setting of the
//! batched NumPy baseline `benches/baselines/numpy_lotito.py`. Steps per second count
//! presentation steps per replica; synapse updates are N_h·N_v per step (each memory entry
//! moves once).
//!
//! [`Backend::run_lotito`]: crate::backend::Backend::run_lotito

use std::time::Instant;

use rayon::prelude::*;

use super::{
    compare_rows, median, table, BackendName, BenchOptions, BenchRow, Case, Opened,
    AGREEMENT_REPLICAS,
};
use crate::config::{Config, Precision};
use crate::error::Result;
use crate::experiment::lotito::draw;
use crate::model::lotito::Batch;

/// Memories of the Figure 1 case.
pub const HIDDEN: usize = 4;

/// The size of one case.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// N_v.
    pub visible: usize,
    pub replicas: usize,
    /// T.
    pub steps: usize,
}

/// The config of the case (Figure 1 at N_v = `visible`, every step recorded).
pub fn case_config(shape: Shape) -> Result<Config> {
    let text = format!(
        r#"{{"model": "lotito", "lotito": {{"visible": {}, "hidden": {HIDDEN}, "steps": {},
           "record_every": 1}}, "ensemble": {{"replicas": {}, "seed": 1}},
           "backend": {{"precision": "f32"}}}}"#,
        shape.visible, shape.steps, shape.replicas
    );
    let config = Config::from_value(serde_json::from_str(&text).expect("valid JSON"))?;
    config.validate()?;
    Ok(config)
}

/// Every replica of `config` drawn (before any timing).
pub fn batch(config: &Config, replicas: usize, steps: usize) -> Batch {
    let l = &config.lotito;
    Batch {
        hidden: l.hidden,
        visible: l.visible,
        steps,
        record_every: l.record_every,
        softmax: l.softmax,
        replicas: (0..replicas as u64)
            .into_par_iter()
            .map(|r| draw(config, r).replica)
            .collect(),
    }
}

/// The rows of the case on every opened backend, with the CPU–GPU agreement (largest |ΔΞ| of
/// the final memories over a short run) when both ran.
pub(super) fn rows(
    case: Case,
    shape: Shape,
    options: &BenchOptions,
    backends: &mut [Opened],
    say: &mut dyn FnMut(String),
) -> Result<Vec<BenchRow>> {
    let config = case_config(shape)?;
    let work = batch(&config, shape.replicas, shape.steps);
    let (n, r) = (shape.visible, shape.replicas);
    let updates = (HIDDEN * n * r * shape.steps) as f64;
    // Per step: scores and update (4 N_h N_v), records (2N_h² + N_h dot products of N_v).
    let flop = ((4 * HIDDEN * n + 2 * (2 * HIDDEN * HIDDEN + HIDDEN) * n) * r * shape.steps) as f64;
    let mut out = Vec::new();
    for b in backends.iter_mut() {
        b.backend.run_lotito(Precision::F32, &work)?;
        let mut times = Vec::with_capacity(options.repeat);
        for _ in 0..options.repeat {
            let start = Instant::now();
            b.backend.run_lotito(Precision::F32, &work)?;
            times.push(start.elapsed().as_secs_f64());
        }
        let med = median(&times);
        let note = format!("N_h = {HIDDEN}, every step recorded; Figure 1 of Lotito 2025");
        say(format!(
            "{} N_v = {n} R = {r} {}: median {} s, {:.3e} replica-steps/s",
            case.name(),
            b.name.name(),
            table::sig3(med),
            (r * shape.steps) as f64 / med
        ));
        let gflop = flop / 1e9;
        out.push(super::family_row(
            case,
            n,
            r,
            shape.steps,
            b,
            &times,
            updates,
            gflop,
            note,
        ));
    }
    let cpu = backends.iter().position(|b| b.name == BackendName::Cpu);
    let gpu = backends.iter().position(|b| b.name == BackendName::Gpu);
    if let (Some(c), Some(g)) = (cpu, gpu) {
        let count = r.min(AGREEMENT_REPLICAS);
        let probe = batch(&config, count, options.agreement_steps.max(1));
        let a = backends[c].backend.run_lotito(Precision::F32, &probe)?;
        let b = backends[g].backend.run_lotito(Precision::F32, &probe)?;
        let diff = a
            .iter()
            .zip(&b)
            .flat_map(|(x, y)| x.memories.iter().zip(&y.memories))
            .map(|(u, v)| (u - v).abs())
            .fold(0.0, f64::max);
        let what = format!("largest |ΔΞ| after {} steps, {count} replicas", probe.steps);
        compare_rows(&mut out, backends, c, diff, &what);
        say(format!("{} N_v = {n} R = {r}: {what}: {diff}", case.name()));
    }
    Ok(out)
}
