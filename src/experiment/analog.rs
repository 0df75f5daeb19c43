//! The analog family's side of the engine (`"model": "analog"`, src/model/analog): a batch of
//! replicas is drawn from its [`EnsembleSpec`], advanced by the backend's analog kernels with one
//! [`ReplicaAnalysis`] observer per replica, and written as `epochs.csv` rows (one per replica ×
//! epoch, [`EPOCH_COLUMNS`]), the analysis arrays (`lyapunov.npy`, `eigenvalues_W.npy`, …) and
//! the arrays `output.save` asks for.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::family::{ensembles_of, write_part_array, ArrayKind, Family, Member};
use crate::analysis::observer::{AnalysisPlan, ReplicaAnalysis};
use crate::analysis::recorder::Recorder;
use crate::analysis::{summary, EpochRecord, EPOCH_COLUMNS};
use crate::backend::{self, Backend, BatchOutput, Schedule, TraceObserver};
use crate::config::{Config, Precision, SavedArray};
use crate::ensemble::{EnsembleSpec, ReplicaInit};
use crate::error::Result;
use crate::npy;

/// The analog family (see the module doc).
#[derive(Default)]
pub struct Analog {
    /// The ill-conditioned tangent basis warning was printed (once per run).
    warned: AtomicBool,
}

impl Family for Analog {
    fn name(&self) -> &'static str {
        "analog"
    }

    fn neurons(&self, config: &Config) -> usize {
        config.network.neurons
    }

    fn steps_per_replica(&self, config: &Config) -> u64 {
        let s = &config.schedule;
        (s.epochs * (s.transient_steps + s.recorded_steps)) as u64
    }

    fn describe(&self, config: &Config) -> String {
        let s = schedule_of(config);
        format!(
            "N = {}, R = {}, {} epochs × ({} + {}) steps, learning {}, {}",
            config.network.neurons,
            config.ensemble.replicas,
            s.epochs,
            s.transient_steps,
            s.recorded_steps,
            if s.learning { "on" } else { "off" },
            config.backend.precision.name(),
        )
    }

    fn batch_key(&self, config: &Config) -> String {
        // `output` (save, record) is the same at every point: sweeps cannot vary it.
        serde_json::json!({
            "neurons": config.network.neurons,
            "schedule": schedule_of(config),
            "precision": config.backend.precision,
            "analysis": config.analysis,
            "save": saved(config),
        })
        .to_string()
    }

    fn columns(&self) -> &'static [&'static str] {
        &EPOCH_COLUMNS
    }

    fn arrays(&self, config: &Config) -> Vec<(String, ArrayKind)> {
        let plan = AnalysisPlan::from_config(config);
        let mut out: Vec<(String, ArrayKind)> = analysis_arrays(config, plan.as_ref())
            .into_iter()
            .map(|a| (a.stem.to_string(), a.kind()))
            .collect();
        let n = config.network.neurons;
        for s in saved(config) {
            let shape = match s {
                SavedArray::Weights => vec![n, n],
                _ => vec![n],
            };
            let dtype = dtype(config.backend.precision);
            out.push((s.file_stem().to_string(), ArrayKind::real(shape, dtype)));
        }
        out.extend(record_arrays(config));
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
        // The batch shares its first member's schedule, precision, analysis and saved arrays
        // (sweep points batch together only when their `batch_key`s agree).
        let config = members[0].config;
        // One ensemble per distinct config among the members, in order.
        let (ensembles, of_member) = ensembles_of(members)?;
        let inits: Vec<ReplicaInit> = members
            .par_iter()
            .zip(&of_member)
            .map(|(m, &e)| ensembles[e].1.replica(m.replica))
            .collect();
        let plan = AnalysisPlan::from_config(config);
        let threads = tangent_threads(config, inits.len());
        let mut analyses: Vec<ReplicaAnalysis> = match &plan {
            Some(p) => inits
                .iter()
                .zip(&of_member)
                .map(|(init, &e)| replica_analysis(p, &ensembles[e].1, init, threads))
                .collect(),
            None => Vec::new(),
        };
        let save = saved(config);
        let keep_final = save.iter().any(|s| *s != SavedArray::Input);
        let mut recorders: Vec<Recorder> = match &config.output.record {
            Some(r) => inits
                .iter()
                .map(|i| Recorder::new(r, config.schedule.recorded_steps, i.params.neuron))
                .collect(),
            None => Vec::new(),
        };
        let schedule = schedule_of(config);
        let precision = config.backend.precision;
        let result = if recorders.is_empty() {
            run_observed(
                backend,
                &schedule,
                precision,
                &inits,
                keep_final,
                &mut analyses,
            )?
        } else {
            let mut observed: Vec<Observed> = recorders
                .iter_mut()
                .map(|recorder| Observed {
                    analysis: None,
                    recorder,
                    recorded_steps: schedule.recorded_steps,
                    step: 0,
                })
                .collect();
            for (o, a) in observed.iter_mut().zip(analyses.iter_mut()) {
                o.analysis = Some(a);
            }
            let mut observers: Vec<&mut dyn TraceObserver> = observed
                .iter_mut()
                .map(|o| o as &mut dyn TraceObserver)
                .collect();
            backend.run_batch(&schedule, precision, &inits, keep_final, &mut observers)?
        };
        let mut warned = self.warned.load(Ordering::Relaxed);
        warn_ill_conditioned(&analyses, &mut warned);
        self.warned.store(warned, Ordering::Relaxed);
        write_arrays(
            parts,
            name,
            &inits,
            &result,
            &analyses,
            config,
            plan.as_ref(),
            &save,
        )?;
        write_records(parts, name, config, &recorders)?;
        let mut csv = String::new();
        for (k, init) in inits.iter().enumerate() {
            for (epoch, out) in result.epochs.iter().enumerate() {
                csv.push_str(&row_prefix(k));
                csv.push_str(
                    &EpochRecord::from_output(
                        out,
                        k,
                        init,
                        epoch,
                        config.schedule.recorded_steps,
                        analyses.get(k).map(|a| &a.epochs[epoch]),
                    )
                    .csv_line(),
                );
            }
        }
        Ok(csv)
    }

    fn summarize(&self, table: &str) -> String {
        summary::summarize(table)
    }

    fn is_summary_row(&self, config: &Config, fields: &[&str]) -> bool {
        // EPOCH_COLUMNS: replica, epoch, …
        fields.get(1).and_then(|f| f.parse::<usize>().ok())
            == Some(config.schedule.epochs.saturating_sub(1))
    }

    fn summarize_by(&self, rows: &str, group: &str, carry: &[&str]) -> String {
        summary::summarize_by(rows, group, carry)
    }
}

/// `output.save`, sorted, without repeats.
pub(crate) fn saved(config: &Config) -> Vec<SavedArray> {
    let mut save = config.output.save.clone();
    save.sort();
    save.dedup();
    save
}

pub(crate) fn dtype(precision: Precision) -> npy::Dtype {
    match precision {
        Precision::F32 => npy::Dtype::F32,
        Precision::F64 => npy::Dtype::F64,
    }
}

/// The part's arrays: the saved arrays, then the analysis arrays.
#[allow(clippy::too_many_arguments)]
fn write_arrays(
    parts: &Path,
    name: &str,
    inits: &[ReplicaInit],
    result: &BatchOutput,
    analyses: &[ReplicaAnalysis],
    config: &Config,
    plan: Option<&AnalysisPlan>,
    save: &[SavedArray],
) -> Result<()> {
    let n = config.network.neurons;
    let count = inits.len();
    for &array in save {
        let dtype = dtype(config.backend.precision);
        let shape = match array {
            SavedArray::Weights => vec![n, n],
            _ => vec![n],
        };
        let kind = ArrayKind::real(shape, dtype);
        write_part_array(parts, name, array.file_stem(), &kind, count, &mut |push| {
            for (k, init) in inits.iter().enumerate() {
                match array {
                    SavedArray::Weights => push(&row_major(n, &result.finals[k].weights))?,
                    SavedArray::Input => push(&init.input)?,
                    SavedArray::State => push(&result.finals[k].state)?,
                    other => unreachable!(
                        "validated (SavedArray::models): {} is not an analog array",
                        other.file_stem()
                    ),
                }
            }
            Ok(())
        })?;
    }
    for array in analysis_arrays(config, plan) {
        write_part_array(parts, name, array.stem, &array.kind(), count, &mut |push| {
            for analysis in analyses {
                for e in &analysis.epochs {
                    push(&(array.values)(e))?;
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// The recorder's arrays (`output.record`): `record_state` (E, S, K) and `record_activity`
/// (E, S) per replica, f64.
fn record_arrays(config: &Config) -> Vec<(String, ArrayKind)> {
    let Some(r) = &config.output.record else {
        return Vec::new();
    };
    let (e, samples) = (
        config.schedule.epochs,
        config.schedule.recorded_steps / r.every.max(1),
    );
    let kind = |shape: Vec<usize>| ArrayKind::real(shape, npy::Dtype::F64);
    let mut out = Vec::new();
    if !r.neurons.is_empty() {
        out.push((
            "record_state".to_string(),
            kind(vec![e, samples, r.neurons.len()]),
        ));
    }
    if r.population {
        out.push(("record_activity".to_string(), kind(vec![e, samples])));
    }
    out
}

fn write_records(parts: &Path, name: &str, config: &Config, recorders: &[Recorder]) -> Result<()> {
    for (stem, kind) in record_arrays(config) {
        write_part_array(parts, name, &stem, &kind, recorders.len(), &mut |push| {
            for r in recorders {
                push(if stem == "record_state" {
                    &r.states
                } else {
                    &r.activity
                })?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// A replica's recorder, with its analysis when there is one, as one observer: the recorder
/// needs every step of the window; the analysis is shown the steps it asks for (all, or the
/// last `tail_steps()`), exactly as a backend would show them to it alone.
struct Observed<'a> {
    analysis: Option<&'a mut ReplicaAnalysis>,
    recorder: &'a mut Recorder,
    recorded_steps: usize,
    /// Steps seen in the current window.
    step: usize,
}

impl TraceObserver for Observed<'_> {
    fn begin_epoch(&mut self, epoch: usize, weights: &[f64]) {
        self.step = 0;
        self.recorder.begin_epoch(epoch, weights);
        if let Some(a) = self.analysis.as_mut() {
            a.begin_epoch(epoch, weights);
        }
    }

    fn step(&mut self, derivative: &[f64], state: &[f64]) {
        self.recorder.step(derivative, state);
        if let Some(a) = self.analysis.as_mut() {
            let from = if a.needs_full_window() {
                0
            } else {
                self.recorded_steps.saturating_sub(a.tail_steps())
            };
            if self.step >= from {
                a.step(derivative, state);
            }
        }
        self.step += 1;
    }

    fn end_epoch(&mut self) {
        self.recorder.end_epoch();
        if let Some(a) = self.analysis.as_mut() {
            a.end_epoch();
        }
    }

    fn needs_full_window(&self) -> bool {
        true
    }

    fn tail_steps(&self) -> usize {
        0
    }
}

pub(crate) fn schedule_of(config: &Config) -> Schedule {
    Schedule {
        epochs: config.schedule.epochs,
        transient_steps: config.schedule.transient_steps,
        recorded_steps: config.schedule.recorded_steps,
        learning: config.learning.enabled,
    }
}

/// `backend.run_batch` with one analysis observer per replica (none when `analyses` is empty).
pub(crate) fn run_observed(
    backend: &mut dyn Backend,
    schedule: &Schedule,
    precision: Precision,
    inits: &[ReplicaInit],
    keep_final: bool,
    analyses: &mut [ReplicaAnalysis],
) -> Result<BatchOutput> {
    let mut observers: Vec<&mut dyn TraceObserver> = analyses
        .iter_mut()
        .map(|a| a as &mut dyn TraceObserver)
        .collect();
    backend.run_batch(schedule, precision, inits, keep_final, &mut observers)
}

/// Threads for one replica's tangent propagation: cores left idle by a small batch.
pub(crate) fn tangent_threads(config: &Config, batch_len: usize) -> usize {
    let cores = backend::cpus::or_usable(config.backend.threads);
    (cores / batch_len.max(1)).max(1)
}

/// The analysis observer of one replica of the ensemble `spec`.
pub(crate) fn replica_analysis(
    plan: &AnalysisPlan,
    spec: &EnsembleSpec,
    init: &ReplicaInit,
    threads: usize,
) -> ReplicaAnalysis {
    let a =
        ReplicaAnalysis::new(plan, spec.seed, init.index, init.params.neuron).with_threads(threads);
    if plan.sensitivity.is_some() {
        a.with_patterns(init.input.clone(), spec.novel_input(init.index))
    } else {
        a
    }
}

/// Warn once per run when a tangent basis stayed ill-conditioned even with QR every step.
pub(crate) fn warn_ill_conditioned(analyses: &[ReplicaAnalysis], warned: &mut bool) {
    let ill = analyses
        .iter()
        .flat_map(|a| &a.epochs)
        .filter_map(|e| e.lyapunov.as_ref())
        .filter(|l| !l.well_conditioned)
        .map(|l| l.max_condition)
        .fold(0.0, f64::max);
    if ill > 0.0 && !*warned {
        *warned = true;
        eprintln!(
            "warning: the tangent basis reached condition number {ill:.1e} even with QR every \
             step: the exponents lose accuracy in this precision; set \
             analysis.lyapunov.precision = \"f64\" (see column tangent_condition)"
        );
    }
}

/// An array of the analysis: its file stem, its full shape (R, E, …), and how one epoch of
/// one replica is flattened (complex arrays as (re, im) pairs, `pair`).
pub(crate) struct AnalysisArray {
    pub stem: &'static str,
    pub shape: Vec<usize>,
    pub pair: bool,
    values: EpochValues,
}

type EpochValues = Box<dyn Fn(&crate::analysis::observer::AnalysisEpoch) -> Vec<f64>>;

impl AnalysisArray {
    /// Parts hold `f64` values, complex ones as (re, im) pairs; the merged file folds the pairs
    /// into `c16`.
    fn kind(&self) -> ArrayKind {
        let mut shape = self.shape[1..].to_vec();
        shape.extend(self.pair.then_some(2));
        ArrayKind {
            shape,
            part_dtype: npy::Dtype::F64,
            dtype: if self.pair {
                npy::Dtype::C128
            } else {
                npy::Dtype::F64
            },
        }
    }
}

pub(crate) fn analysis_arrays(config: &Config, plan: Option<&AnalysisPlan>) -> Vec<AnalysisArray> {
    let Some(plan) = plan else {
        return Vec::new();
    };
    let (r, e, n) = (
        config.ensemble.replicas,
        config.schedule.epochs,
        config.network.neurons,
    );
    let complex = move |z: Option<&Vec<faer::c64>>| -> Vec<f64> {
        match z {
            Some(z) => z.iter().flat_map(|z| [z.re, z.im]).collect(),
            None => vec![f64::NAN; 2 * n],
        }
    };
    let mut out = Vec::new();
    if plan.exponents > 0 {
        let k = plan.exponents;
        out.push(AnalysisArray {
            stem: "lyapunov",
            shape: vec![r, e, k],
            pair: false,
            values: Box::new(move |a| {
                a.lyapunov
                    .as_ref()
                    .map_or(vec![f64::NAN; k], |l| l.exponents.clone())
            }),
        });
        let points = plan.trace_points;
        if points > 0 {
            // (step, running λ₁) pairs, NaN-padded to `points`.
            out.push(AnalysisArray {
                stem: "lyapunov_trace",
                shape: vec![r, e, points, 2],
                pair: false,
                values: Box::new(move |a| {
                    let mut v = vec![f64::NAN; 2 * points];
                    if let Some(l) = &a.lyapunov {
                        for (slot, &(step, value)) in v.chunks_exact_mut(2).zip(&l.trace) {
                            slot[0] = step as f64;
                            slot[1] = value;
                        }
                    }
                    v
                }),
            });
        }
    }
    if plan.attractor.is_some() {
        use crate::analysis::observer::{BIFURCATION_NEURONS, BIFURCATION_STEPS};
        out.push(AnalysisArray {
            stem: "bifurcation",
            shape: vec![r, e, BIFURCATION_STEPS, BIFURCATION_NEURONS],
            pair: false,
            values: Box::new(|a| {
                a.bifurcation
                    .clone()
                    .unwrap_or_else(|| vec![f64::NAN; BIFURCATION_STEPS * BIFURCATION_NEURONS])
            }),
        });
    }
    if plan.eigenvalues_weights {
        out.push(AnalysisArray {
            stem: "eigenvalues_W",
            shape: vec![r, e, n],
            pair: true,
            values: Box::new(move |a| complex(a.eigenvalues_weights.as_ref())),
        });
    }
    if plan.eigenvalues_jacobian {
        out.push(AnalysisArray {
            stem: "eigenvalues_J",
            shape: vec![r, e, n],
            pair: true,
            values: Box::new(move |a| complex(a.eigenvalues_jacobian.as_ref())),
        });
    }
    out
}

/// Column-major `W` → row-major `W[i, j]`.
/// Column-major `W` (`W_ij` at `j N + i`) as the row-major `W[i, j]` of the saved arrays.
pub(crate) fn row_major(n: usize, w: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            out[i * n + j] = w[j * n + i];
        }
    }
    out
}
