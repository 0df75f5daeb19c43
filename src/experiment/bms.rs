//! The BMS family's side of the engine (`"model": "bms"`, src/model/bms; models/cessac.md).
//!
//! A batch holds the members' networks (W, θ_i, I_i, drawn by [`EnsembleSpec`]) and
//! `bms.initial_conditions` trajectories on each. Every epoch the backend advances them all over
//! `schedule.transient_steps` + `schedule.recorded_steps` ([`Backend::run_bms`]); the window's
//! [`Trace`]s are measured here ([`WindowMeasures`]) and written as one `epochs.csv` row per
//! replica ([`SPIKE_COLUMNS`]) and the arrays `rates`, `isi_histogram` (and what `output.save`
//! asks for, `raster` included). Between epochs, with `learning.enabled`, the Hebbian rule of
//! science.md §2 updates W from the rates of the first initial condition (cessac.md §8: the
//! activity threshold is `d_act`, not d(Ω, S)); the trajectories continue from their states.

use std::path::Path;

use rand::RngExt;
use rayon::prelude::*;

use super::analog::{dtype, row_major, saved};
use super::family::{ensembles_of, write_part_array, ArrayKind, Family, Member};
use crate::analysis::spectrum::{eigenvalues, spectral_radius};
use crate::analysis::spiking::{self, divergence, WindowMeasures, ISI_BINS, SPIKE_COLUMNS};
use crate::backend::Backend;
use crate::config::{Config, Precision, SavedArray};
use crate::ensemble::{numbered_stream, EnsembleSpec, Purpose};
use crate::error::Result;
use crate::model::analog::HebbianRule;
use crate::model::bms::{self, BmsParams, NoiseStream, Start, Steps, Trace};
use crate::model::Real;
use crate::npy;

/// The BMS family (see the module doc).
#[derive(Default)]
pub struct Bms;

/// One member's network and trajectories during a batch.
struct Replica {
    index: u64,
    seed: u64,
    /// Column-major, f64 (learning updates it in f64).
    weights: Vec<f64>,
    params: BmsParams,
    input: Vec<f64>,
    /// V of each initial condition.
    states: Vec<Vec<f64>>,
    rule: HebbianRule,
    activity_threshold: f64,
    learning: bool,
    /// ε of the twin probe (each member its own: sweep points of one batch may differ).
    twin: Option<f64>,
}

/// One member's measurements of one epoch.
struct EpochRow {
    line: String,
    rates: Vec<f64>,
    isi_histogram: Vec<f64>,
    raster: Option<Vec<f64>>,
}

impl Family for Bms {
    fn name(&self) -> &'static str {
        "bms"
    }

    fn neurons(&self, config: &Config) -> usize {
        config.bms.neurons
    }

    fn steps_per_replica(&self, config: &Config) -> u64 {
        let s = &config.schedule;
        let k = config.bms.initial_conditions as u64;
        let twins = if config.bms.twin_perturbation.is_some() {
            2 * k * s.recorded_steps as u64
        } else {
            0
        };
        s.epochs as u64 * (k * (s.transient_steps + s.recorded_steps) as u64 + twins)
    }

    fn describe(&self, config: &Config) -> String {
        let (b, s) = (&config.bms, &config.schedule);
        format!(
            "BMS N = {}, R = {}, γ = {}, {} initial conditions, {} epochs × ({} + {}) steps, \
             learning {}, {}",
            b.neurons,
            config.ensemble.replicas,
            b.leak,
            b.initial_conditions,
            s.epochs,
            s.transient_steps,
            s.recorded_steps,
            if config.learning.enabled { "on" } else { "off" },
            config.backend.precision.name(),
        )
    }

    fn batch_key(&self, config: &Config) -> String {
        serde_json::json!({
            "neurons": config.bms.neurons,
            "schedule": config.schedule,
            "learning": config.learning.enabled,
            "initial_conditions": config.bms.initial_conditions,
            "twin": config.bms.twin_perturbation.is_some(),
            "max_period": config.bms_max_period(),
            "precision": config.backend.precision,
            "save": saved(config),
        })
        .to_string()
    }

    fn columns(&self) -> &'static [&'static str] {
        &SPIKE_COLUMNS
    }

    fn arrays(&self, config: &Config) -> Vec<(String, ArrayKind)> {
        let (n, e, t) = (
            config.bms.neurons,
            config.schedule.epochs,
            config.schedule.recorded_steps,
        );
        let kind = ArrayKind::real;
        let mut out = vec![
            ("rates".to_string(), kind(vec![e, n], npy::Dtype::F64)),
            (
                "isi_histogram".to_string(),
                kind(vec![e, ISI_BINS], npy::Dtype::F64),
            ),
        ];
        for s in saved(config) {
            let shape = match s {
                SavedArray::Weights => vec![n, n],
                SavedArray::Raster => vec![e, t, n],
                _ => vec![n], // input, state (validated: SavedArray::models)
            };
            let dtype = match s {
                SavedArray::Raster => npy::Dtype::U8,
                _ => dtype(config.backend.precision),
            };
            out.push((s.file_stem().to_string(), kind(shape, dtype)));
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
        let mut replicas: Vec<Replica> = members
            .par_iter()
            .zip(&of_member)
            .map(|(m, &s)| replica(m.config, &specs[s].1, m.replica))
            .collect();
        let (epochs, transient, window) = (
            config.schedule.epochs,
            config.schedule.transient_steps,
            config.schedule.recorded_steps,
        );
        let save = saved(config);
        let keep_raster = save.contains(&SavedArray::Raster);
        let precision = config.backend.precision;
        let max_period = config.bms_max_period();
        let conditions = config.bms.initial_conditions;
        let n = config.bms.neurons;
        let mut rows: Vec<Vec<EpochRow>> = (0..replicas.len()).map(|_| Vec::new()).collect();
        for epoch in 0..epochs {
            let steps = Steps {
                first_step: (epoch * (transient + window)) as u64,
                transient,
                window,
            };
            let starts = replicas
                .iter()
                .enumerate()
                .flat_map(|(k, r)| {
                    r.states.iter().enumerate().map(move |(c, v)| Start {
                        network: k,
                        state: v.clone(),
                        noise: r.noise(c),
                    })
                })
                .collect();
            let traces = run(backend, precision, &replicas, starts, steps)?;
            let end = steps.first_step + (transient + window) as u64;
            // Whether there are twins is in the batch key; ε is each member's own.
            let twins = match config.bms.twin_perturbation {
                Some(_) => Some(twin_probe(
                    backend, precision, &replicas, &traces, epoch, end, window,
                )?),
                None => None,
            };
            let measured: Vec<EpochRow> = replicas
                .par_iter_mut()
                .enumerate()
                .map(|(k, r)| {
                    let own = &traces[k * conditions..(k + 1) * conditions];
                    let probe = twins.as_ref().map(|t| &t[k]);
                    let row = r.measure(
                        epoch,
                        own,
                        probe,
                        n,
                        max_period,
                        precision,
                        end,
                        keep_raster,
                    );
                    for (state, trace) in r.states.iter_mut().zip(own) {
                        state.clone_from(&trace.state);
                    }
                    row
                })
                .collect();
            for (k, row) in measured.into_iter().enumerate() {
                rows[k].push(row);
            }
            if config.learning.enabled {
                replicas.par_iter_mut().enumerate().for_each(|(k, r)| {
                    let m: Vec<f64> = rows[k][epoch]
                        .rates
                        .iter()
                        .map(|&rate| rate - r.activity_threshold)
                        .collect();
                    r.rule.update(&m, &mut r.weights);
                });
            }
        }
        write_arrays(parts, name, config, &replicas, &rows, &save)?;
        let mut csv = String::new();
        for (k, member_rows) in rows.iter().enumerate() {
            for row in member_rows {
                csv.push_str(&row_prefix(k));
                csv.push_str(&row.line);
                csv.push('\n');
            }
        }
        Ok(csv)
    }

    fn summarize(&self, table: &str) -> String {
        spiking::summarize_by(table, "epoch", &[])
    }

    fn is_summary_row(&self, config: &Config, fields: &[&str]) -> bool {
        fields.get(1).and_then(|f| f.parse::<usize>().ok())
            == Some(config.schedule.epochs.saturating_sub(1))
    }

    fn summarize_by(&self, rows: &str, group: &str, carry: &[&str]) -> String {
        spiking::summarize_by(rows, group, carry)
    }
}

/// Column-major W, the parameters, and V(0).
pub type StartingNetwork = (Vec<f64>, BmsParams, Vec<f64>);

/// Every replica of a `"bms"` config as it starts: column-major W, the parameters, and V(0) of
/// its first initial condition (`hebbnet bench` times the backends on these).
pub fn starting_networks(config: &Config) -> Result<Vec<StartingNetwork>> {
    let spec = EnsembleSpec::from_config(config)?;
    Ok((0..config.ensemble.replicas as u64)
        .into_par_iter()
        .map(|i| {
            let mut r = replica(config, &spec, i);
            let v = r.states.swap_remove(0);
            (r.weights, r.params, v)
        })
        .collect())
}

/// Replica `index` of `spec` under `config`: W, θ_i, I_i and every initial condition.
fn replica(config: &Config, spec: &EnsembleSpec, index: u64) -> Replica {
    let b = &config.bms;
    let init = spec.replica(index);
    let threshold = if b.threshold_std > 0.0 {
        spec.gaussian_vector(index, Purpose::Threshold, b.threshold, b.threshold_std)
    } else {
        vec![b.threshold; b.neurons]
    };
    let l = &config.learning;
    Replica {
        index,
        seed: config.ensemble.seed,
        weights: init.weights.get().into_owned(),
        params: BmsParams {
            leak: b.leak,
            threshold,
            input: init.input.clone(),
            noise: b.noise,
        },
        input: init.input,
        states: (0..b.initial_conditions as u64)
            .map(|c| spec.initial_state(index, c))
            .collect(),
        rule: HebbianRule {
            learning_rate: l.learning_rate,
            forgetting: l.forgetting,
            activity_threshold: l.activity_threshold,
            presynaptic_gate: l.presynaptic_gate,
            sign_preserving: l.sign_preserving,
            keep_absent_synapses: l.keep_absent_synapses,
            excitatory_neurons: config.weights.populations(b.neurons).map(|(e, _)| e as u32),
        },
        activity_threshold: l.activity_threshold,
        learning: l.enabled,
        twin: b.twin_perturbation,
    }
}

/// One batch on the backend: every start on its replica's network.
fn run(
    backend: &mut dyn Backend,
    precision: Precision,
    replicas: &[Replica],
    trajectories: Vec<Start>,
    steps: Steps,
) -> Result<Vec<Trace>> {
    let batch = bms::Batch {
        networks: replicas
            .iter()
            .map(|r| (&r.weights[..], &r.params))
            .collect(),
        trajectories,
        steps,
    };
    backend.run_bms(precision, &batch)
}

/// The ε-twin probe after an epoch ending at step `end` (cessac.md §5.6): each trajectory's
/// final state and a twin with `V_i ± ε` (the replica's ε; signs from the replica's
/// perturbation stream, one per epoch and condition) advance `window` steps with the same noise; per replica and
/// condition, the first step at which their rasters differ.
#[allow(clippy::too_many_arguments)]
fn twin_probe(
    backend: &mut dyn Backend,
    precision: Precision,
    replicas: &[Replica],
    traces: &[Trace],
    epoch: usize,
    end: u64,
    window: usize,
) -> Result<Vec<Vec<Option<usize>>>> {
    let conditions = replicas.first().map_or(0, |r| r.states.len());
    let mut starts = Vec::with_capacity(2 * traces.len());
    for (k, r) in replicas.iter().enumerate() {
        let eps = r.twin.unwrap_or(0.0);
        for c in 0..conditions {
            let state = &traces[k * conditions + c].state;
            let counter = (epoch * conditions + c) as u64;
            let mut signs = numbered_stream(r.seed, r.index, Purpose::Perturbation, counter);
            let twin = state
                .iter()
                .map(|&v| {
                    if signs.random::<bool>() {
                        v + eps
                    } else {
                        v - eps
                    }
                })
                .collect();
            for s in [state.clone(), twin] {
                starts.push(Start {
                    network: k,
                    state: s,
                    noise: r.noise(c),
                });
            }
        }
    }
    let steps = Steps {
        first_step: end,
        transient: 0,
        window,
    };
    let out = run(backend, precision, replicas, starts, steps)?;
    let n = replicas.first().map_or(0, |r| r.params.threshold.len());
    Ok(out
        .chunks(2 * conditions)
        .map(|pairs| {
            pairs
                .chunks(2)
                .map(|p| divergence(&p[0], &p[1], n))
                .collect()
        })
        .collect())
}

impl Replica {
    fn noise(&self, condition: usize) -> NoiseStream {
        NoiseStream {
            seed: self.seed,
            replica: self.index,
            stream: condition as u32,
        }
    }

    /// The row of one epoch (see [`SPIKE_COLUMNS`] and docs/config.md).
    #[allow(clippy::too_many_arguments)]
    fn measure(
        &self,
        epoch: usize,
        traces: &[Trace],
        twins: Option<&Vec<Option<usize>>>,
        n: usize,
        max_period: usize,
        precision: Precision,
        end: u64,
        keep_raster: bool,
    ) -> EpochRow {
        let measures: Vec<WindowMeasures> = traces
            .iter()
            .map(|t| WindowMeasures::of(t, n, max_period))
            .collect();
        // d̂ and its checkpoints: the minimum over the initial conditions.
        let mut d_hat = [f64::INFINITY; 4];
        let mut best = 0;
        for (c, m) in measures.iter().enumerate() {
            for (slot, &d) in d_hat.iter_mut().zip(&m.d_hat) {
                *slot = slot.min(d);
            }
            if m.d_hat[3] < measures[best].d_hat[3] {
                best = c;
            }
        }
        let own = &measures[0];
        let recurrence = own.period.map_or(f64::NAN, |p| {
            self.state_recurrence(&traces[0].state, p, precision, end)
        });
        let (lyapunov_max, superstable) = own.lyapunov(self.params.leak);
        let m: Vec<f64> = own
            .neuron_rates
            .iter()
            .map(|r| r - self.activity_threshold)
            .collect();
        let mean_m = m.iter().sum::<f64>() / n as f64;
        let active = m.iter().filter(|&&x| x > 0.0).count() as f64 / n as f64;
        let count = self.weights.len() as f64;
        let w_mean = self.weights.iter().sum::<f64>() / count;
        let w_std = (self
            .weights
            .iter()
            .map(|w| (w - w_mean).powi(2))
            .sum::<f64>()
            / count)
            .sqrt();
        // ρ(W) is tracked along learning only: with W frozen it is the same every epoch, and an
        // N³ eigensolve per replica is not free at N = 1000.
        let radius = if self.learning {
            spectral_radius(&eigenvalues(n, &self.weights))
        } else {
            f64::NAN
        };
        let (twin_changed, twin_divergence) = match twins {
            Some(t) => (
                t.iter().filter(|d| d.is_some()).count() as f64 / t.len() as f64,
                t[0].map_or(f64::NAN, |d| d as f64),
            ),
            None => (f64::NAN, f64::NAN),
        };
        let fields: [String; 26] = [
            epoch.to_string(),
            own.rate.to_string(),
            own.spiking_fraction.to_string(),
            u8::from(own.last_spike.is_none()).to_string(),
            own.last_spike.map_or(f64::NAN, |t| t as f64).to_string(),
            d_hat[3].to_string(),
            d_hat[0].to_string(),
            d_hat[1].to_string(),
            d_hat[2].to_string(),
            best.to_string(),
            measures[best].d_hat_at.0.to_string(),
            measures[best].d_hat_at.1.to_string(),
            own.period.unwrap_or(0).to_string(),
            measures
                .iter()
                .filter(|m| m.period.is_some())
                .count()
                .to_string(),
            recurrence.to_string(),
            own.isi_mean.to_string(),
            own.isi_cv.to_string(),
            lyapunov_max.to_string(),
            superstable.to_string(),
            w_mean.to_string(),
            w_std.to_string(),
            radius.to_string(),
            twin_changed.to_string(),
            twin_divergence.to_string(),
            mean_m.to_string(),
            active.to_string(),
        ];
        let raster = keep_raster.then(|| {
            let t = &traces[0];
            let window = t.distance.len();
            let mut out = Vec::with_capacity(window * n);
            for step in 0..window {
                let words = t.spikes(n, step);
                out.extend((0..n).map(|i| f64::from((words[i / 32] >> (i % 32)) & 1)));
            }
            out
        });
        EpochRow {
            line: format!("{},{}", self.index, fields.join(",")),
            rates: own.neuron_rates.clone(),
            isi_histogram: own.isi_histogram.clone(),
            raster,
        }
    }

    /// `max_i |V_i(t + p) − V_i(t)|` from the window's final state, `p` more steps in the run's
    /// precision on the CPU twin (the GPU's f32 arithmetic is the twin's: cessac.md §10.5).
    fn state_recurrence(
        &self,
        state: &[f64],
        period: usize,
        precision: Precision,
        end: u64,
    ) -> f64 {
        let steps = Steps {
            first_step: end,
            transient: period,
            window: 0,
        };
        let batch = bms::Batch {
            networks: vec![(&self.weights[..], &self.params)],
            trajectories: vec![Start {
                network: 0,
                state: state.to_vec(),
                noise: self.noise(0),
            }],
            steps,
        };
        let later = match precision {
            Precision::F32 => bms::trajectory::run_batch::<f32>(&batch),
            Precision::F64 => bms::trajectory::run_batch::<f64>(&batch),
        };
        let rounded = |v: f64| match precision {
            Precision::F32 => f64::from(f32::from_f64(v)),
            Precision::F64 => v,
        };
        later[0]
            .state
            .iter()
            .zip(state)
            .map(|(a, &b)| (a - rounded(b)).abs())
            .fold(0.0, f64::max)
    }
}

fn write_arrays(
    parts: &Path,
    name: &str,
    config: &Config,
    replicas: &[Replica],
    rows: &[Vec<EpochRow>],
    save: &[SavedArray],
) -> Result<()> {
    let n = config.bms.neurons;
    let arrays = Bms.arrays(config);
    let count = replicas.len();
    for (stem, kind) in &arrays {
        write_part_array(parts, name, stem, kind, count, &mut |push| {
            for (r, member_rows) in replicas.iter().zip(rows) {
                match stem.as_str() {
                    "rates" => member_rows.iter().try_for_each(|e| push(&e.rates))?,
                    "isi_histogram" => member_rows
                        .iter()
                        .try_for_each(|e| push(&e.isi_histogram))?,
                    "raster" => member_rows
                        .iter()
                        .try_for_each(|e| push(e.raster.as_deref().unwrap_or_default()))?,
                    "weights" => push(&row_major(n, &r.weights))?,
                    "input" => push(&r.input)?,
                    "state" => push(&r.states[0])?,
                    other => unreachable!("no array {other} in Bms::arrays"),
                }
            }
            Ok(())
        })?;
    }
    debug_assert!(save
        .iter()
        .all(|s| arrays.iter().any(|(a, _)| a == s.file_stem())));
    Ok(())
}
