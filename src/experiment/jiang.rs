//! The Jiang family's side of the engine (`"model": "jiang"`, src/model/jiang;
//! models/jiang.md).
//!
//! A batch holds the members' networks — P patterns and the chain X ([`LowRank`]), and J
//! itself on the dense path — and `jiang.initial_conditions` trajectories on each (with their
//! twins and tangent vectors). The backend advances them all over the transient and window at
//! once ([`Backend::run_jiang`]); here the traces become one `epochs.csv` row per trajectory
//! ([`SEQUENCE_COLUMNS`]), the arrays `overlaps` (m^μ(t), every `record_every` steps) and
//! `activity` (the [`MEASURES`] at the same steps), and what `output.save` asks for. The
//! eigenvalues of J and of the Jacobians are computed on the CPU (P × P reduction where valid).
//!
//! Random streams of replica r (models/jiang.md §3: patterns and initial states separate):
//! patterns from `Weights` under `jiang.pattern_seed` (else `ensemble.seed`), dilution from
//! `Connectivity`, h(0) of condition c from `InitialState` (stream c; a cue's flips and noise
//! likewise), the twin's perturbation from `Perturbation` (stream c), the tangent from
//! `Tangent` (stream c).

use std::path::Path;

use faer::c64;
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::analog::saved;
use super::family::{ensembles_of, write_part_array, ArrayKind, Family, Member};
use crate::analysis::sequence::{self, RowContext, SEQUENCE_COLUMNS};
use crate::analysis::spectrum::eigenvalues;
use crate::backend::Backend;
use crate::config::{Config, PatternKind, SavedArray};
use crate::ensemble::{numbered_stream, EnsembleSpec, Purpose};
use crate::error::Result;
use crate::model::jiang::{
    self, dilute, draw_patterns, right_edge, Chain, Entries, LowRank, Trace, Trajectory, MEASURES,
};
use crate::npy;

/// The Jiang family (see the module doc).
#[derive(Default)]
pub struct Jiang;

/// One member's network and starts.
struct Replica {
    index: u64,
    couplings: LowRank,
    /// Column-major J on the dense path.
    dense: Option<Vec<f64>>,
    leak: f64,
    starts: Vec<Trajectory>,
}

impl Family for Jiang {
    fn name(&self) -> &'static str {
        "jiang"
    }

    fn neurons(&self, config: &Config) -> usize {
        config.jiang.neurons
    }

    fn steps_per_replica(&self, config: &Config) -> u64 {
        let s = &config.schedule;
        let j = &config.jiang;
        let per = 1 + u64::from(j.pair_perturbation.is_some());
        (s.transient_steps + s.recorded_steps) as u64 * j.initial_conditions as u64 * per
    }

    fn describe(&self, config: &Config) -> String {
        let (j, s) = (&config.jiang, &config.schedule);
        format!(
            "deep-Hebbian sequence network N = {}, P = {} (α = {}), c = {}, γ = {}, d = {}, \
             a = {}, R = {}, {} initial conditions, {} + {} steps, {} field, {}",
            j.neurons,
            j.pattern_count(),
            j.load,
            j.autoassociation,
            j.heteroassociation,
            j.depth,
            j.leak,
            config.ensemble.replicas,
            j.initial_conditions,
            s.transient_steps,
            s.recorded_steps,
            if j.factored() { "factored" } else { "dense" },
            config.backend.precision.name(),
        )
    }

    fn batch_key(&self, config: &Config) -> String {
        let j = &config.jiang;
        serde_json::json!({
            "neurons": j.neurons,
            "patterns": j.pattern_count(),
            "factored": j.factored(),
            "schedule": config.schedule,
            "initial_conditions": j.initial_conditions,
            "twin": j.pair_perturbation.is_some(),
            "record_every": j.record_every,
            "lyapunov": j.lyapunov,
            "spectrum": j.spectrum,
            "reducible": j.reducible(),
            "jacobian_steps": j.jacobian_steps,
            "precision": config.backend.precision,
            "save": saved(config),
        })
        .to_string()
    }

    fn columns(&self) -> &'static [&'static str] {
        &SEQUENCE_COLUMNS
    }

    fn arrays(&self, config: &Config) -> Vec<(String, ArrayKind)> {
        let j = &config.jiang;
        let (n, p, k) = (j.neurons, j.pattern_count(), j.initial_conditions);
        let total = config.schedule.transient_steps + config.schedule.recorded_steps;
        let samples = j.samples(total);
        let eigen = if j.reducible() { p } else { n };
        let (real, complex) = (ArrayKind::real, ArrayKind::complex);
        let mut out = vec![
            (
                "overlaps".to_string(),
                real(vec![k, samples, p], npy::Dtype::F32),
            ),
            (
                "activity".to_string(),
                real(vec![k, samples, MEASURES], npy::Dtype::F64),
            ),
        ];
        for s in saved(config) {
            let kind = match s {
                SavedArray::State => real(vec![k, n], npy::Dtype::F64),
                SavedArray::Weights => real(vec![n, n], npy::Dtype::F32),
                SavedArray::Patterns => real(vec![p, n], npy::Dtype::F32),
                SavedArray::Eigenvalues => complex(vec![eigen]),
                SavedArray::JacobianEigenvalues => complex(vec![j.jacobian_steps.len(), eigen]),
                other => unreachable!("validated: {} is not a jiang array", other.file_stem()),
            };
            out.push((s.file_stem().to_string(), kind));
        }
        out
    }

    fn run_part(
        &self,
        backend: &mut dyn Backend,
        members: &[Member<'_>],
        parts: &Path,
        name: &str,
        row_prefix: &dyn Fn(usize) -> String,
    ) -> Result<String> {
        let config = members[0].config;
        let (specs, of_member) = ensembles_of(members)?;
        let replicas: Vec<Replica> = members
            .par_iter()
            .zip(&of_member)
            .map(|(m, &s)| replica(m.config, &specs[s].1, m.replica))
            .collect();
        let j = &config.jiang;
        let (transient, window) = (
            config.schedule.transient_steps,
            config.schedule.recorded_steps,
        );
        let mut snapshots = j.jacobian_steps.clone();
        snapshots.sort_unstable();
        snapshots.dedup();
        let batch = jiang::Batch {
            networks: replicas
                .iter()
                .map(|r| jiang::Network {
                    couplings: &r.couplings,
                    dense: r.dense.as_deref(),
                    leak: r.leak,
                })
                .collect(),
            trajectories: replicas
                .iter()
                .enumerate()
                .flat_map(|(r, rep)| {
                    rep.starts.iter().map(move |t| Trajectory {
                        network: r,
                        ..t.clone()
                    })
                })
                .collect(),
            transient,
            window,
            record_every: j.record_every,
            snapshots: snapshots.clone(),
        };
        let traces = backend.run_jiang(config.backend.precision, &batch)?;
        let k = j.initial_conditions;
        let save = saved(config);
        // Spectra on the CPU, replicas in parallel.
        let spectra: Vec<Spectra> = replicas
            .par_iter()
            .zip(members)
            .enumerate()
            .map(|(r, (rep, m))| Spectra::of(rep, m.config, &traces[r * k], &snapshots, &save))
            .collect();
        let mut csv = String::new();
        for (r, (rep, m)) in replicas.iter().zip(members).enumerate() {
            let mj = &m.config.jiang;
            for c in 0..k {
                let ctx = RowContext {
                    replica: rep.index,
                    condition: c,
                    patterns: rep.couplings.patterns,
                    right_edge: spectra[r].right_edge,
                    leak: rep.leak,
                    transient,
                    window,
                    record_every: j.record_every,
                    block: rep.couplings.block,
                    chaos_threshold: mj.chaos_threshold,
                };
                csv.push_str(&row_prefix(r));
                csv.push_str(&sequence::row(
                    &ctx,
                    &traces[r * k + c],
                    &rep.starts[c].start,
                ));
                csv.push('\n');
            }
        }
        write_arrays(parts, name, config, &replicas, &traces, &spectra)?;
        Ok(csv)
    }

    fn summarize_by(&self, rows: &str, group: &str, carry: &[&str]) -> String {
        sequence::summarize_by(rows, group, carry)
    }
}

/// The eigenvalues one replica writes.
struct Spectra {
    right_edge: f64,
    couplings: Vec<c64>,
    jacobians: Vec<Vec<c64>>,
}

impl Spectra {
    fn of(
        rep: &Replica,
        config: &Config,
        first: &Trace,
        snapshots: &[usize],
        save: &[SavedArray],
    ) -> Spectra {
        let j = &config.jiang;
        let n = j.neurons;
        let reducible = j.reducible();
        let dense = || rep.dense.clone().unwrap_or_else(|| rep.couplings.dense());
        let couplings = if j.spectrum || save.contains(&SavedArray::Eigenvalues) {
            if reducible {
                rep.couplings.eigenvalues(None)
            } else {
                eigenvalues(n, &dense())
            }
        } else {
            Vec::new()
        };
        let right = if couplings.is_empty() {
            f64::NAN
        } else {
            right_edge(&couplings, reducible)
        };
        let jacobians = if save.contains(&SavedArray::JacobianEigenvalues) {
            let w = (!reducible).then(dense);
            j.jacobian_steps
                .iter()
                .map(|t| {
                    let s = snapshots.iter().position(|x| x == t).unwrap_or(0);
                    let d: Vec<f64> = first.snapshots[s]
                        .iter()
                        .map(|h| 1.0 - h.tanh().powi(2))
                        .collect();
                    match &w {
                        None => rep.couplings.eigenvalues(Some(&d)),
                        Some(w) => {
                            let mut m = w.clone();
                            for (col, column) in m.chunks_exact_mut(n).enumerate() {
                                column.iter_mut().for_each(|x| *x *= d[col]);
                            }
                            eigenvalues(n, &m)
                        }
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Spectra {
            right_edge: right,
            couplings,
            jacobians,
        }
    }
}

/// A network as it starts: its couplings, J on the dense path, and h(0) of its first start.
pub type StartingNetwork = (LowRank, Option<Vec<f64>>, Vec<f64>);

/// Every network of a `"jiang"` config as it starts, with its first start (`hebbnet bench`).
pub fn starting_networks(config: &Config) -> Result<Vec<StartingNetwork>> {
    let spec = EnsembleSpec::from_config(config)?;
    Ok((0..config.ensemble.replicas as u64)
        .into_par_iter()
        .map(|i| {
            let mut r = replica(config, &spec, i);
            let start = r.starts.swap_remove(0).start;
            (r.couplings, r.dense, start)
        })
        .collect())
}

/// A standard normal vector of length `n` from stream `counter` of `purpose`.
fn normal(seed: u64, index: u64, purpose: Purpose, counter: u64, n: usize) -> Vec<f64> {
    let mut rng = numbered_stream(seed, index, purpose, counter);
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// Replica `index` of `spec` under `config`: its couplings and every start (module doc).
fn replica(config: &Config, spec: &EnsembleSpec, index: u64) -> Replica {
    let j = &config.jiang;
    let seed = config.ensemble.seed;
    let (n, p) = (j.neurons, j.pattern_count());
    let chain = Chain {
        autoassociation: j.autoassociation,
        heteroassociation: j.heteroassociation,
        depth: j.depth,
        backward: j.backward,
        sequences: j.sequences,
        open_chain: j.open_chain,
    };
    let entries = match j.patterns {
        PatternKind::Binary => Entries::Binary,
        PatternKind::Gaussian => Entries::Gaussian,
    };
    let pattern_seed = j.pattern_seed.unwrap_or(seed);
    let mut rng = numbered_stream(pattern_seed, index, Purpose::Weights, 0);
    let xi = draw_patterns(entries, p, n, &mut rng);
    let couplings = LowRank::new(xi, p, &chain, j.self_couplings);
    let dense = (!j.factored()).then(|| {
        let mut w = couplings.dense();
        let mut rng = numbered_stream(pattern_seed, index, Purpose::Connectivity, 0);
        dilute(&mut w, j.dilution, &mut rng);
        w
    });
    let starts = (0..j.initial_conditions as u64)
        .map(|c| {
            let start = match &j.cue {
                None => spec.initial_state(index, c),
                Some(cue) => {
                    let mut rng = numbered_stream(seed, index, Purpose::InitialState, c);
                    let pattern = &couplings.xi[cue.pattern * n..(cue.pattern + 1) * n];
                    pattern
                        .iter()
                        .map(|&x| {
                            let flip = rng.random::<f64>() < cue.flip_probability;
                            let noise: f64 = rng.sample(StandardNormal);
                            (if flip { -x } else { x }) + cue.noise * noise
                        })
                        .collect()
                }
            };
            let twin = j.pair_perturbation.map(|eps| {
                let e = normal(seed, index, Purpose::Perturbation, c, n);
                start.iter().zip(e).map(|(h, e)| h + eps * e).collect()
            });
            let tangent = j.lyapunov.then(|| {
                let mut v = normal(seed, index, Purpose::Tangent, c, n);
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            });
            Trajectory {
                network: 0,
                start,
                twin,
                tangent,
            }
        })
        .collect();
    Replica {
        index,
        couplings,
        dense,
        leak: j.leak,
        starts,
    }
}

fn write_arrays(
    parts: &Path,
    name: &str,
    config: &Config,
    replicas: &[Replica],
    traces: &[Trace],
    spectra: &[Spectra],
) -> Result<()> {
    let j = &config.jiang;
    let (n, k) = (j.neurons, j.initial_conditions);
    let count = replicas.len();
    let pairs = |z: &[c64]| -> Vec<f64> {
        crate::analysis::spectrum::sorted_by_modulus(z.to_vec())
            .iter()
            .flat_map(|z| [z.re, z.im])
            .collect()
    };
    for (stem, kind) in &Jiang.arrays(config) {
        write_part_array(parts, name, stem, kind, count, &mut |push| {
            for (r, rep) in replicas.iter().enumerate() {
                let own = &traces[r * k..(r + 1) * k];
                match stem.as_str() {
                    "overlaps" => own.iter().try_for_each(|t| push(&t.overlaps))?,
                    "activity" => own.iter().try_for_each(|t| push(&t.measures))?,
                    "state" => own.iter().try_for_each(|t| push(&t.state))?,
                    "weights" => {
                        let w = rep.dense.clone().unwrap_or_else(|| rep.couplings.dense());
                        push(&super::analog::row_major(n, &w))?
                    }
                    "patterns" => push(&rep.couplings.xi)?,
                    "eigenvalues" => push(&pairs(&spectra[r].couplings))?,
                    "jacobian_eigenvalues" => spectra[r]
                        .jacobians
                        .iter()
                        .try_for_each(|z| push(&pairs(z)))?,
                    other => unreachable!("no array {other} in Jiang::arrays"),
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}
