//! The BMS spiking network's bench cases (`--cases bms_rate_0.05,bms_rate_0.5`): the backends'
//! BMS kernels ([`Backend::run_bms`]) on networks whose firing rate is near 0.05 and near 0.5,
//! the settings of the NumPy baseline `benches/baselines/numpy_bms.py` (γ = 0.5, θ = 1,
//! V(0) ~ U[0, 2θ); rate 0.05: `W_ij ~ N(−10/N, 4/N)`, I = 0.6, inhibition-dominated and
//! self-regulating; rate 0.5: `N(0, 9/N)`, I = 1). Throughput is counted dense-equivalent —
//! N² synapse updates per step, what a matrix–vector product does — so the two rates compare
//! with each other and with NumPy; the kernels only add the columns of the neurons that spiked
//! (rate · N² additions), which is why the sparse case is faster.

use std::time::Instant;

use super::{compare_rows, median, BackendName, BenchOptions, BenchRow, Case, Opened};
use super::{table, AGREEMENT_REPLICAS};
use crate::config::{Config, Precision};
use crate::error::Result;
use crate::model::bms::{Batch, NoiseStream, Start, Steps, Trace};

/// The size of one case.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub neurons: usize,
    pub replicas: usize,
    /// Steps per replica (the last `window` recorded).
    pub steps: usize,
    pub window: usize,
}

/// The config of a BMS case.
pub fn case_config(case: Case, shape: Shape) -> Result<Config> {
    let (mean, std, input) = match case {
        Case::BmsSparse => (-10.0, 2.0, 0.6),
        _ => (0.0, 3.0, 1.0),
    };
    let text = format!(
        r#"{{"model": "bms", "bms": {{"neurons": {}, "leak": 0.5, "threshold": 1.0,
           "initial_conditions": 1}},
           "weights": {{"mean": {mean}, "std": {std}}}, "input": {{"mean": {input}}},
           "schedule": {{"epochs": 1, "transient_steps": {}, "recorded_steps": {}}},
           "ensemble": {{"replicas": {}, "seed": 1}}, "backend": {{"precision": "f32"}}}}"#,
        shape.neurons,
        shape.steps - shape.window,
        shape.window,
        shape.replicas
    );
    let tree = serde_json::from_str(&text).expect("valid JSON");
    let config = Config::from_value(tree)?;
    config.validate()?;
    Ok(config)
}

use crate::experiment::bms::StartingNetwork as Network;

fn batch(networks: &[Network], steps: Steps) -> Batch<'_> {
    Batch {
        networks: networks.iter().map(|(w, p, _)| (&w[..], p)).collect(),
        trajectories: networks
            .iter()
            .enumerate()
            .map(|(k, (_, _, v))| Start {
                network: k,
                state: v.clone(),
                noise: NoiseStream {
                    seed: 1,
                    replica: k as u64,
                    stream: 0,
                },
            })
            .collect(),
        steps,
    }
}

/// Mean firing rate of the recorded windows.
fn rate(traces: &[Trace], neurons: usize) -> f64 {
    let spikes: u64 = traces
        .iter()
        .flat_map(|t| &t.raster)
        .map(|w| u64::from(w.count_ones()))
        .sum();
    let samples: usize = traces.iter().map(|t| t.distance.len() * neurons).sum();
    spikes as f64 / samples.max(1) as f64
}

/// The rows of one BMS case on every opened backend, with the CPU–GPU agreement (the fraction
/// of recorded steps whose rasters differ) when both ran.
pub(super) fn rows(
    case: Case,
    shape: Shape,
    options: &BenchOptions,
    backends: &mut [Opened],
    say: &mut dyn FnMut(String),
) -> Result<Vec<BenchRow>> {
    let config = case_config(case, shape)?;
    // Drawn before any timing.
    let networks = crate::experiment::bms::starting_networks(&config)?;
    let steps = Steps {
        first_step: 0,
        transient: shape.steps - shape.window,
        window: shape.window,
    };
    let work = batch(&networks, steps);
    let (n, r) = (shape.neurons, shape.replicas);
    let dense_updates = (n * n * r * shape.steps) as f64;
    let mut out = Vec::new();
    for b in backends.iter_mut() {
        let traces = b.backend.run_bms(Precision::F32, &work)?;
        let measured_rate = rate(&traces, n);
        let mut times = Vec::with_capacity(options.repeat);
        for _ in 0..options.repeat {
            let start = Instant::now();
            b.backend.run_bms(Precision::F32, &work)?;
            times.push(start.elapsed().as_secs_f64());
        }
        let med = median(&times);
        let note = format!(
            "measured firing rate {measured_rate:.3}; synapse updates counted dense-equivalent \
             (N² per step)"
        );
        let gflop = 2.0 * dense_updates / 1e9;
        say(format!(
            "{} N = {n} R = {r} {}: median {} s, {:.3e} steps/s, rate {measured_rate:.3}",
            case.name(),
            b.name.name(),
            table::sig3(med),
            shape.steps as f64 / med
        ));
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
        let short = Steps {
            first_step: 0,
            transient: 0,
            window: options.agreement_steps.max(1),
        };
        let probe = batch(&networks[..count], short);
        let a = backends[c].backend.run_bms(Precision::F32, &probe)?;
        let b = backends[g].backend.run_bms(Precision::F32, &probe)?;
        let words = n.div_ceil(32);
        let (mut differ, mut total) = (0usize, 0usize);
        for (x, y) in a.iter().zip(&b) {
            for (p, q) in x.raster.chunks(words).zip(y.raster.chunks(words)) {
                differ += usize::from(p != q);
                total += 1;
            }
        }
        let diff = differ as f64 / total.max(1) as f64;
        let what = format!(
            "fraction of the first {} steps whose rasters differ, {count} replicas",
            short.window
        );
        compare_rows(&mut out, backends, c, diff, &what);
        say(format!("{} N = {n} R = {r}: {what}: {diff}", case.name()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;
    use crate::backend::Backend;

    /// The two settings give the firing rates their names promise (N = 200, 300 steps).
    #[test]
    fn the_cases_fire_at_their_rates() {
        for (case, lo, hi) in [(Case::BmsSparse, 0.02, 0.09), (Case::BmsDense, 0.4, 0.6)] {
            let shape = Shape {
                neurons: 200,
                replicas: 4,
                steps: 300,
                window: 200,
            };
            let config = case_config(case, shape).unwrap();
            let networks = crate::experiment::bms::starting_networks(&config).unwrap();
            let steps = Steps {
                first_step: 0,
                transient: 100,
                window: 200,
            };
            let traces = CpuBackend::new(1)
                .unwrap()
                .run_bms(Precision::F32, &batch(&networks, steps))
                .unwrap();
            let rho = rate(&traces, 200);
            assert!(rho > lo && rho < hi, "{}: rate {rho}", case.name());
        }
    }
}
