//! The reservoir family's side of the engine (`"model": "reservoir"`, src/model/reservoir;
//! models/rivkind_barak.md): train each replica's readout, then judge its attractors.
//!
//! Per batch, in up to five passes, each over every (replica, target), (replica, target, kick)
//! or (replica, target, ω) at once:
//!
//! 1. **Open loop on the backend.** z clamped at A_k is the constant input `ξ = u A_k` of the
//!    analog current form `h ← (1 − a) h + a (J φ(h) + ξ − θ)` (h = x − θ, a =
//!    `reservoir.open_loop.dt`), from x = u A_k: replicas × targets are one
//!    [`Backend::run_batch`]. With `open_loop.lyapunov_time` the last part of the relaxation
//!    feeds the analog family's tangent-space observer (the clamped network's largest exponent).
//! 2. **Training on the CPU, f64** ([`crate::model::reservoir`]): the settle test
//!    `‖F‖/‖x‖ < tol`, Newton, the minimum-norm (or ridge) readout w, W_eff = J + u wᵀ; with a
//!    ridge the closed loop's fixed points are found again by Newton from x^k.
//! 3. **Spectra on the CPU**: M_k = −I + W_eff D_k, its eigenvalues (eig-stable, marginal), ρ_k,
//!    and H_k(0) = wᵀD_k(I − J D_k)⁻¹u.
//! 4. **Closed loop on the backend**: W_eff with no input from every kick (`reservoir.kicks`),
//!    z(t) = wᵀφ(x(t)) read at `kicks.samples` times (one epoch per sample, so the device is read
//!    once per sample, never per step): return ratio, late rate, final error.
//! 5. **Driven closed loop on the backend** (with `reservoir.response`): from x^k of every
//!    stable attractor, `ε sin(ωt) u` added, one run per ω; the kernel's lock-in sums give
//!    T_k(iω) ([`respond`]).
//!
//! The mean-field theory ([`crate::theory::reservoir`]) is solved once per distinct config and
//! written beside the measurement in every row.
//!
//! Random streams of replica r: J from `Weights` (the project's weight draw: `weights.*`), u
//! from `Input` (`input.*`), the kicks' noise from `Perturbation` stream `1 + k·64 + j`
//! (attractor k, kick j).

use std::path::Path;
use std::sync::Arc;

use faer::c64;
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::analog::saved;
use super::family::{ensembles_of, write_part_array, ArrayKind, Family, Member};
use crate::analysis::lyapunov::LyapunovResult;
use crate::analysis::observer::{AnalysisPlan, ReplicaAnalysis};
use crate::analysis::training::{self, kick_outcome, KickOutcome, TRAINING_COLUMNS};
use crate::backend::{Backend, BatchOutput, Schedule, TraceObserver};
use crate::config::{Config, KickKind, SavedArray};
use crate::ensemble::{numbered_stream, Drive, Purpose, ReplicaInit, ReplicaWeights};
use crate::error::Result;
use crate::model::analog::{Form, NeuronParams, ReplicaParams};
use crate::model::reservoir::{self, minimum_norm_readout, Nonlinearity, Reservoir};
use crate::npy;
use crate::theory::reservoir::{Solution, Stability};

/// The s at which the open-loop pole is read, τ = (H(0)/H(s) − 1)/s
/// ([`Reservoir::open_loop_pole`]): one unit to the right of 0, beyond the bulk's poles.
pub const POLE_PROBE: f64 = 1.0;

/// Fields of one (attractor, ω) of `response.npy` (R, K, F, 5).
pub const RESPONSE_FIELDS: [&str; 5] = [
    "angular_frequency",
    "gain",
    "phase",
    "predicted_gain",
    "predicted_phase",
];

/// The reservoir family (see the module doc).
#[derive(Default)]
pub struct Reservoirs;

/// One attractor of a trained replica.
#[derive(Clone, Debug)]
pub struct Attractor {
    pub target: f64,
    pub settled: bool,
    /// ‖F‖/√N after Newton.
    pub residual: f64,
    /// x^k (the closed loop's fixed point; with a ridge, Newton's on the closed loop).
    pub state: Vec<f64>,
    /// z* = wᵀφ(x^k).
    pub fixed_readout: f64,
    pub bulk_radius: f64,
    /// Eigenvalues of M_k (empty without `reservoir.spectrum`).
    pub spectrum: Vec<c64>,
    pub open_loop_gain: f64,
    /// τ = −H_k'(0)/H_k(0).
    pub time_constant: f64,
    /// Largest Lyapunov exponent of the clamped open loop, per unit time.
    pub lyapunov: f64,
    pub kicks: Vec<KickOutcome>,
    /// z at the samples of every kick, kick-major.
    pub series: Vec<f64>,
    /// ‖x(T) − x^k‖/‖x^k‖ of every kick.
    pub state_errors: Vec<f64>,
    /// T_k at every `reservoir.response` frequency, by lock-in (empty without a response).
    pub response: Vec<c64>,
}

impl Attractor {
    /// The eigenvalue of M_k with the largest real part (NaN without a spectrum).
    pub fn leading(&self) -> c64 {
        self.spectrum
            .iter()
            .copied()
            .max_by(|a, b| a.re.total_cmp(&b.re))
            .unwrap_or(c64::new(f64::NAN, f64::NAN))
    }

    /// Whether the closed loop holds this attractor: all eigenvalues of M_k in
    /// Re λ < −`marginal` when the spectrum was computed, else every kick returned.
    pub fn is_stable(&self, marginal: f64) -> bool {
        if self.spectrum.is_empty() {
            !self.kicks.is_empty() && self.kicks.iter().all(|k| k.returned)
        } else {
            self.leading().re < -marginal
        }
    }

    /// Eigenvalues outside the bulk disc |λ + 1| ≤ ρ_k (with a 5% + 0.02 margin for finite N).
    pub fn outliers(&self) -> usize {
        self.spectrum
            .iter()
            .filter(|l| (**l + 1.0).norm() > 1.05 * self.bulk_radius + 0.02)
            .count()
    }
}

/// One replica after training and judging.
pub struct Trained {
    pub index: u64,
    /// J row-major, u, φ.
    pub network: Reservoir,
    /// Every open loop settled and was polished: the readout exists.
    pub trained: bool,
    pub readout: Vec<f64>,
    pub attractors: Vec<Attractor>,
}

/// The theory of one config: the solution, or why there is none.
type Theory = std::result::Result<Solution, String>;

impl Family for Reservoirs {
    fn name(&self) -> &'static str {
        "reservoir"
    }

    fn neurons(&self, config: &Config) -> usize {
        config.network.neurons
    }

    fn steps_per_replica(&self, config: &Config) -> u64 {
        let r = &config.reservoir;
        let k = r.targets.len() as u64;
        let (every, samples) = closed_loop_steps(config);
        let driven = response_steps(config).map_or(0, |(a, b)| {
            (a + b) as u64 * r.response.as_ref().map_or(0, |d| d.frequencies.len()) as u64
        });
        k * (r.open_loop.steps() as u64
            + r.kicks.starts().len() as u64 * (every * samples) as u64
            + driven)
    }

    fn describe(&self, config: &Config) -> String {
        let r = &config.reservoir;
        format!(
            "trained reservoirs N = {}, g = {}, φ = {}, σ_u from input, targets {:?}, {} readout, \
             {} kicks per attractor over T = {} (dt = {}), R = {}, {}",
            config.network.neurons,
            config.weights.std,
            config.reservoir_nonlinearity(),
            r.targets,
            if r.ridge > 0.0 {
                format!("ridge β = {}", r.ridge)
            } else {
                "minimum-norm".to_string()
            },
            r.kicks.starts().len(),
            r.kicks.time,
            config.network.leak,
            config.ensemble.replicas,
            config.backend.precision.name()
        )
    }

    fn batch_capacity(&self, config: &Config, backend: &dyn Backend) -> Result<usize> {
        let n = config.network.neurons as u64;
        let r = &config.reservoir;
        let k = r.targets.len();
        let runs = k * r.kicks.starts().len().max(1);
        let device = backend.batch_capacity(config.network.neurons, config.backend.precision)?;
        // On the host per replica: J twice (row- and column-major), W_eff, and K dense M_k or
        // Newton matrices in flight; keep a batch within ~1 GiB.
        let per = (3 + k as u64) * n * n * 8 + 1;
        let by_memory = ((1u64 << 30) / per).max(1) as usize;
        Ok((device / runs).clamp(1, by_memory.min(4096)))
    }

    fn batch_key(&self, config: &Config) -> String {
        let r = &config.reservoir;
        serde_json::json!({
            "neurons": config.network.neurons,
            "targets": r.targets.len(),
            "open_loop_steps": r.open_loop.steps(),
            "lyapunov_steps": r.open_loop.lyapunov_steps(),
            "kicks": r.kicks.starts(),
            "closed_loop": closed_loop_steps(config),
            "spectrum": r.spectrum,
            "response": r.response.as_ref().map(|d| (d.frequencies.len(), response_steps(config))),
            "precision": config.backend.precision,
            "save": saved(config),
        })
        .to_string()
    }

    fn columns(&self) -> &'static [&'static str] {
        &TRAINING_COLUMNS
    }

    fn arrays(&self, config: &Config) -> Vec<(String, ArrayKind)> {
        let r = &config.reservoir;
        let (n, k) = (config.network.neurons, r.targets.len());
        let f64s = |shape: Vec<usize>| ArrayKind::real(shape, npy::Dtype::F64);
        let mut out = vec![
            (
                "attractors".to_string(),
                f64s(vec![k, training::ATTRACTOR_FIELDS.len()]),
            ),
            (
                "readout_series".to_string(),
                f64s(vec![k, r.kicks.starts().len(), r.kicks.samples + 1]),
            ),
            ("readout".to_string(), f64s(vec![n])),
        ];
        if let Some(d) = &r.response {
            out.push((
                "response".to_string(),
                f64s(vec![k, d.frequencies.len(), RESPONSE_FIELDS.len()]),
            ));
        }
        if r.spectrum {
            out.push(("spectrum".to_string(), ArrayKind::complex(vec![k, n])));
        }
        for a in saved(config) {
            let (shape, dtype) = match a {
                SavedArray::Weights => (vec![n, n], npy::Dtype::F32),
                SavedArray::State => (vec![k, n], npy::Dtype::F64),
                SavedArray::Input => (vec![n], npy::Dtype::F64),
                other => unreachable!("validated: {} is not a reservoir array", other.file_stem()),
            };
            out.push((a.file_stem().to_string(), ArrayKind::real(shape, dtype)));
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
        let trained = train(backend, members)?;
        let mut theories: Vec<(&Config, Theory)> = Vec::new();
        let mut csv = String::new();
        for (k, (m, t)) in members.iter().zip(&trained).enumerate() {
            if !theories.iter().any(|(c, _)| std::ptr::eq(*c, m.config)) {
                theories.push((m.config, theory(m.config)));
            }
            let th = &theories
                .iter()
                .find(|(c, _)| std::ptr::eq(*c, m.config))
                .expect("just added")
                .1;
            csv.push_str(&row_prefix(k));
            csv.push_str(&row(m.config, t, th.as_ref().ok()));
            csv.push('\n');
        }
        let config = members[0].config;
        let count = members.len();
        for (stem, kind) in &self.arrays(config) {
            write_part_array(parts, name, stem, kind, count, &mut |push| {
                for (m, t) in members.iter().zip(&trained) {
                    match stem.as_str() {
                        "attractors" => {
                            let th = theories
                                .iter()
                                .find(|(c, _)| std::ptr::eq(*c, m.config))
                                .and_then(|(_, th)| th.as_ref().ok());
                            push(&attractor_fields(
                                t,
                                th,
                                m.config.reservoir.marginal_tolerance,
                            ))?
                        }
                        "readout_series" => {
                            let flat: Vec<f64> =
                                t.attractors.iter().flat_map(|a| a.series.clone()).collect();
                            push(&flat)?
                        }
                        "readout" => push(&t.readout)?,
                        "response" => {
                            let th = theories
                                .iter()
                                .find(|(c, _)| std::ptr::eq(*c, m.config))
                                .and_then(|(_, th)| th.as_ref().ok());
                            push(&response_fields(m.config, t, th))?
                        }
                        "spectrum" => {
                            let n = t.network.neurons;
                            let mut flat = Vec::with_capacity(t.attractors.len() * n * 2);
                            for a in &t.attractors {
                                let mut s = a.spectrum.clone();
                                s.resize(n, c64::new(f64::NAN, f64::NAN));
                                // By decreasing real part, NaN padding last.
                                s.sort_by(|x, y| match (x.re.is_nan(), y.re.is_nan()) {
                                    (false, false) => y.re.total_cmp(&x.re),
                                    (a, b) => a.cmp(&b),
                                });
                                flat.extend(s.iter().flat_map(|z| [z.re, z.im]));
                            }
                            push(&flat)?
                        }
                        "weights" => push(&t.network.coupling)?,
                        "state" => {
                            let flat: Vec<f64> =
                                t.attractors.iter().flat_map(|a| a.state.clone()).collect();
                            push(&flat)?
                        }
                        "input" => push(&t.network.feedback)?,
                        other => unreachable!("no array {other} in Reservoirs::arrays"),
                    }
                }
                Ok(())
            })?;
        }
        Ok(csv)
    }

    fn summarize_by(&self, rows: &str, group: &str, carry: &[&str]) -> String {
        training::summarize_by(rows, group, carry)
    }
}

/// The closed loop's steps between samples and the number of samples: `⌊S/samples⌋` steps
/// each, S = round(kicks.time/dt).
pub fn closed_loop_steps(config: &Config) -> (usize, usize) {
    let k = &config.reservoir.kicks;
    let steps = (k.time / config.network.leak).round() as usize;
    ((steps / k.samples).max(1), k.samples)
}

/// The analog family's neuron parameters of a reservoir with Euler step `dt`.
fn neuron(config: &Config, dt: f64) -> ReplicaParams {
    let mut p = config.replica_params();
    p.neuron = NeuronParams {
        form: Form::Current,
        leak: dt,
        ..p.neuron
    };
    p
}

/// φ's threshold: the state the analog kernels advance is h = x − θ.
fn threshold(config: &Config) -> f64 {
    match config.reservoir_nonlinearity() {
        Nonlinearity::Relu { threshold } => threshold,
        _ => 0.0,
    }
}

/// Draw, train and judge every member (the passes of the module doc).
pub fn train(backend: &mut dyn Backend, members: &[Member<'_>]) -> Result<Vec<Trained>> {
    let config = members[0].config;
    let r = &config.reservoir;
    let precision = config.backend.precision;
    let (ensembles, of_member) = ensembles_of(members)?;
    let n = config.network.neurons;
    let k = r.targets.len();

    // The draws: J column-major (shared with the open-loop runs), u.
    let drawn: Vec<(Arc<Vec<f64>>, Vec<f64>)> = members
        .par_iter()
        .zip(&of_member)
        .map(|(m, &e)| {
            let init = ensembles[e].1.replica(m.replica);
            (Arc::new(init.weights.get().into_owned()), init.input)
        })
        .collect();

    // 1. Open loops, every (member, target).
    let mut inits = Vec::with_capacity(members.len() * k);
    // Each run's ensemble seed (a sweep's points have their own): the tangent streams of the
    // Lyapunov analysis are the replica's, whatever batch it shares.
    let mut seeds = Vec::with_capacity(members.len() * k);
    for (m, (j, u)) in members.iter().zip(&drawn) {
        let c = m.config;
        let theta = threshold(c);
        for &a in &c.reservoir.targets {
            seeds.push(c.ensemble.seed);
            let xi: Vec<f64> = u.iter().map(|u| u * a).collect();
            inits.push(ReplicaInit {
                index: m.replica,
                params: neuron(c, c.reservoir.open_loop.dt),
                weights: ReplicaWeights::Shared(Arc::clone(j)),
                state: xi.iter().map(|x| x - theta).collect(),
                input: xi,
                drive: None,
            });
        }
    }
    let lyapunov_steps = r.open_loop.lyapunov_steps();
    let schedule = Schedule {
        epochs: 1,
        transient_steps: r.open_loop.steps() - lyapunov_steps.max(1),
        recorded_steps: lyapunov_steps.max(1),
        learning: false,
    };
    let (open, exponents) = if lyapunov_steps > 0 {
        let plan = AnalysisPlan {
            exponents: 1,
            reorthonormalize_every: 10,
            tangent_transient: (lyapunov_steps / 5).min(500),
            tangent_precision: precision,
            trace_points: 0,
            eigenvalues_weights: false,
            eigenvalues_jacobian: false,
            attractor: None,
            sensitivity: None,
        };
        let mut analyses: Vec<ReplicaAnalysis> = inits
            .iter()
            .zip(&seeds)
            .map(|(i, &seed)| ReplicaAnalysis::new(&plan, seed, i.index, i.params.neuron))
            .collect();
        let mut observers: Vec<&mut dyn TraceObserver> = analyses
            .iter_mut()
            .map(|a| a as &mut dyn TraceObserver)
            .collect();
        let out = backend.run_batch(&schedule, precision, &inits, false, &mut observers)?;
        let exps: Vec<f64> = analyses
            .iter()
            .zip(&inits)
            .map(|(a, i)| {
                a.epochs
                    .first()
                    .and_then(|e| e.lyapunov.as_ref())
                    .map_or(f64::NAN, LyapunovResult::largest)
                    / i.params.neuron.leak
            })
            .collect();
        (out, exps)
    } else {
        let out = backend.run_batch(&schedule, precision, &inits, false, &mut [])?;
        (out, vec![f64::NAN; inits.len()])
    };
    let relaxed = final_states(&open, n);
    drop(inits);

    // 2–3. Training and spectra on the CPU.
    let mut trained: Vec<Trained> = members
        .par_iter()
        .zip(drawn)
        .enumerate()
        .map(|(i, (m, (j, u)))| {
            let states: Vec<Vec<f64>> = (0..k)
                .map(|t| {
                    let theta = threshold(m.config);
                    relaxed[i * k + t].iter().map(|h| h + theta).collect()
                })
                .collect();
            prepare(m, &j, u, states, &exponents[i * k..(i + 1) * k])
        })
        .collect();

    // 4. Closed loops from every kick.
    let starts = r.kicks.starts();
    let (every, samples) = closed_loop_steps(config);
    let mut inits = Vec::new();
    let mut owners = Vec::new();
    for (i, (m, t)) in members.iter().zip(&trained).enumerate() {
        if !t.trained {
            continue;
        }
        let c = m.config;
        let theta = threshold(c);
        let weights = Arc::new(t.effective_weights());
        for (a, at) in t.attractors.iter().enumerate() {
            for (s, &kind) in starts.iter().enumerate() {
                let x0 = kick(c, m.replica, a, s, kind, &at.state, &t.network.feedback);
                inits.push(ReplicaInit {
                    index: m.replica,
                    params: neuron(c, c.network.leak),
                    weights: ReplicaWeights::Shared(Arc::clone(&weights)),
                    input: vec![0.0; n],
                    state: x0.iter().map(|x| x - theta).collect(),
                    drive: None,
                });
                owners.push((i, a, x0));
            }
        }
    }
    if !inits.is_empty() {
        let schedule = Schedule {
            epochs: samples,
            transient_steps: every - 1,
            recorded_steps: 1,
            learning: false,
        };
        let out = backend.run_batch(&schedule, precision, &inits, false, &mut [])?;
        let spacing = every as f64 * config.network.leak;
        // |z − z*| the precision resolves, relative to the target's scale.
        let resolution = match precision {
            crate::config::Precision::F32 => 1e-5,
            crate::config::Precision::F64 => 1e-12,
        };
        for (run, (i, a, x0)) in owners.iter().enumerate() {
            let t = &mut trained[*i];
            let m = members[*i].config;
            let theta = threshold(m);
            let phi = t.network.nonlinearity;
            let readout =
                |x: &[f64]| -> f64 { x.iter().zip(&t.readout).map(|(x, w)| w * phi.phi(*x)).sum() };
            let mut z = Vec::with_capacity(samples + 1);
            z.push(readout(x0));
            let mut last = Vec::new();
            for e in &out.epochs {
                last = e.state[run * n..(run + 1) * n]
                    .iter()
                    .map(|h| h + theta)
                    .collect();
                z.push(readout(&last));
            }
            let at = &t.attractors[*a];
            let distance: Vec<f64> = last.iter().zip(&at.state).map(|(x, y)| x - y).collect();
            let state_error = norm(&distance) / norm(&at.state);
            let scale = at.target.abs().max(m.reservoir.kicks.floor);
            let o = kick_outcome(
                &z,
                spacing,
                at.fixed_readout,
                scale,
                m.reservoir.kicks.tolerance,
                resolution,
            );
            let at = &mut t.attractors[*a];
            at.kicks.push(o);
            at.series.extend(&z);
            at.state_errors.push(state_error);
        }
    }
    // 5. The driven closed loop: from each x^k, ε sin(ω t) u added, per ω.
    if let Some(resp) = &r.response {
        respond(backend, members, &mut trained, resp)?;
    }
    // Untrained replicas: NaN series of the right length.
    for t in &mut trained {
        for at in &mut t.attractors {
            at.series.resize(starts.len() * (samples + 1), f64::NAN);
        }
    }
    Ok(trained)
}

/// The driven runs' steps: `(transient, window)`, round(T/dt) each.
pub fn response_steps(config: &Config) -> Option<(usize, usize)> {
    config.reservoir.response.as_ref().map(|d| {
        let dt = config.network.leak;
        let transient = (d.transient / dt).round() as usize;
        let total = ((d.time / dt).round() as usize).max(transient + 1);
        (transient, total - transient)
    })
}

/// The lock-in of a driven run (models/rivkind_barak.md §5.4): from x^k of every trained
/// attractor, the closed loop with the input `ε sin(ω t) u` (ω per unit time, ω·dt per step),
/// one run per (replica, attractor, ω), all in one batch. Over the window t = T₀+1 … T₀+τ the
/// readout z(t) = wᵀφ(x(t)) is fitted by least squares to `m + p sin ωt + q cos ωt` from the
/// kernel's sums (Σ z, Σ z sin, Σ z cos: linear in the per-neuron sums, so w is applied on
/// the CPU; the 3 × 3 normal equations from Σ sin, Σ cos, Σ sin², … in f64). The state at t
/// answers the input of the steps before it, so `T = (p + i q)/ε` is the closed loop's
/// transfer function at the Euler map's s = (e^{iωdt} − 1)/dt, which the theory is evaluated
/// at too ([`crate::theory::reservoir::predictions::response_of_map`]).
///
/// T_k is the linear response of a stable state: an attractor the judge finds unstable or
/// marginal ([`Attractor::is_stable`]) is not driven (its state would leave x^k, and the
/// lock-in would measure whatever it went to), and its T_k is NaN.
fn respond(
    backend: &mut dyn Backend,
    members: &[Member<'_>],
    trained: &mut [Trained],
    resp: &crate::config::ResponseConfig,
) -> Result<()> {
    let config = members[0].config;
    let n = config.network.neurons;
    let (transient, window) = response_steps(config).expect("a response");
    let mut inits = Vec::new();
    let mut owners = Vec::new();
    for (i, (m, t)) in members.iter().zip(trained.iter()).enumerate() {
        if !t.trained {
            continue;
        }
        let c = m.config;
        let theta = threshold(c);
        let weights = Arc::new(t.effective_weights());
        // This member's own frequencies and amplitude (points of a sweep may differ in them;
        // the batch key holds only their number and the run lengths).
        let own = c.reservoir.response.as_ref().unwrap_or(resp);
        let tolerance = c.reservoir.marginal_tolerance;
        for (a, at) in t.attractors.iter().enumerate() {
            if !at.is_stable(tolerance) {
                continue;
            }
            for (f, &omega) in own.frequencies.iter().enumerate() {
                inits.push(ReplicaInit {
                    index: m.replica,
                    params: neuron(c, c.network.leak),
                    weights: ReplicaWeights::Shared(Arc::clone(&weights)),
                    input: vec![0.0; n],
                    state: at.state.iter().map(|x| x - theta).collect(),
                    drive: Some(Drive {
                        amplitude: own.amplitude,
                        angular_frequency: omega * c.network.leak,
                        phase: 0.0,
                        direction: t.network.feedback.clone(),
                    }),
                });
                owners.push((i, a, f, omega * c.network.leak, own.amplitude));
            }
        }
    }
    for t in trained.iter_mut() {
        for at in &mut t.attractors {
            at.response = vec![c64::new(f64::NAN, f64::NAN); resp.frequencies.len()];
        }
    }
    if inits.is_empty() {
        return Ok(());
    }
    let schedule = Schedule {
        epochs: 1,
        transient_steps: transient,
        recorded_steps: window,
        learning: false,
    };
    let out = backend.run_batch(&schedule, config.backend.precision, &inits, false, &mut [])?;
    let e = &out.epochs[0];
    for (run, &(i, a, f, omega, amplitude)) in owners.iter().enumerate() {
        let t = &mut trained[i];
        let span = run * n..(run + 1) * n;
        let dot = |v: &[f64]| -> f64 { v.iter().zip(&t.readout).map(|(x, w)| x * w).sum() };
        // Σ z = wᵀ(S1 + τ ref) (the shifted sums), Σ z sin, Σ z cos.
        let reference = dot(&e.reference[span.clone()]);
        let sum_z = dot(&e.shifted_sum[span.clone()]) + window as f64 * reference;
        let sum_zs = dot(&e.lockin_sin[span.clone()]);
        let sum_zc = dot(&e.lockin_cos[span]);
        let g = lock_in(omega, transient, window, [sum_z, sum_zs, sum_zc]);
        t.attractors[a].response[f] = g / amplitude;
    }
    Ok(())
}

/// The least-squares `p + i q` of `z(t) ≈ m + p sin ωt + q cos ωt` over t = T₀+1 … T₀+τ, from
/// `sums = [Σ z, Σ z sin ωt, Σ z cos ωt]` (ω per step).
pub fn lock_in(omega: f64, transient: usize, window: usize, sums: [f64; 3]) -> c64 {
    let mut g = [[0.0f64; 3]; 3];
    for t in transient + 1..=transient + window {
        let (s, c) = (omega * t as f64).sin_cos();
        let v = [1.0, s, c];
        for (row, a) in g.iter_mut().zip(v) {
            for (x, b) in row.iter_mut().zip(v) {
                *x += a * b;
            }
        }
    }
    let m = faer::Mat::<f64>::from_fn(3, 3, |i, j| g[i][j]);
    let rhs = faer::Mat::<f64>::from_fn(3, 1, |i, _| sums[i]);
    use faer::linalg::solvers::Solve;
    let x = m.partial_piv_lu().solve(&rhs);
    c64::new(x[(1, 0)], x[(2, 0)])
}

/// Every replica's final state of a one-epoch run, in run order.
fn final_states(out: &BatchOutput, n: usize) -> Vec<Vec<f64>> {
    let last = out.epochs.last().expect("one epoch");
    last.state.chunks_exact(n).map(<[f64]>::to_vec).collect()
}

/// Train one member from its relaxed open-loop states and measure its attractors.
fn prepare(
    m: &Member<'_>,
    j_columns: &[f64],
    feedback: Vec<f64>,
    relaxed: Vec<Vec<f64>>,
    exponents: &[f64],
) -> Trained {
    let c = m.config;
    let r = &c.reservoir;
    let n = c.network.neurons;
    let mut coupling = vec![0.0; n * n];
    for col in 0..n {
        for row in 0..n {
            coupling[row * n + col] = j_columns[col * n + row];
        }
    }
    let network = Reservoir {
        neurons: n,
        coupling,
        feedback,
        nonlinearity: c.reservoir_nonlinearity(),
    };
    let sqrt_n = (n as f64).sqrt();
    let mut attractors: Vec<Attractor> = relaxed
        .into_iter()
        .zip(&r.targets)
        .zip(exponents)
        .map(|((x, &a), &lyapunov)| {
            let f = network.open_loop_field(&x, a);
            // ‖F‖ < tol ‖x‖, or F = 0 exactly (x = 0 at A = 0 for odd φ).
            let (fx, xx) = (norm(&f), norm(&x));
            let settled = fx.is_finite()
                && xx.is_finite()
                && (fx < r.open_loop.settle_tolerance * xx || fx == 0.0);
            let (state, residual) = if settled {
                network.polish(x, a, r.newton.max_steps, r.newton.tolerance)
            } else {
                (x, norm(&f) / sqrt_n)
            };
            Attractor {
                target: a,
                settled,
                residual,
                state,
                fixed_readout: f64::NAN,
                bulk_radius: f64::NAN,
                spectrum: Vec::new(),
                open_loop_gain: f64::NAN,
                time_constant: f64::NAN,
                lyapunov,
                kicks: Vec::new(),
                series: Vec::new(),
                state_errors: Vec::new(),
                response: Vec::new(),
            }
        })
        .collect();
    let trained = attractors
        .iter()
        .all(|a| a.settled && a.residual < r.newton.failure);
    let readout = if trained {
        let rates: Vec<Vec<f64>> = attractors
            .iter()
            .map(|a| {
                a.state
                    .iter()
                    .map(|&x| network.nonlinearity.phi(x))
                    .collect()
            })
            .collect();
        minimum_norm_readout(&rates, &r.targets, r.ridge)
    } else {
        vec![f64::NAN; n]
    };
    let mut t = Trained {
        index: m.replica,
        network,
        trained,
        readout,
        attractors: Vec::new(),
    };
    if trained {
        for a in &mut attractors {
            let net = &t.network;
            if r.ridge > 0.0 {
                // The closed loop's own fixed point near x^k (§3.4): Newton on
                // −x + W_eff φ(x), i.e. the open-loop polish of a reservoir whose coupling is
                // W_eff, at target 0.
                let closed = Reservoir {
                    coupling: t.effective_weights_row_major(),
                    ..net.clone()
                };
                a.state = closed
                    .polish(a.state.clone(), 0.0, r.newton.max_steps, r.newton.tolerance)
                    .0;
            }
            a.fixed_readout = a
                .state
                .iter()
                .zip(&t.readout)
                .map(|(x, w)| w * net.nonlinearity.phi(*x))
                .sum();
            a.bulk_radius = net.bulk_radius(c.weights.std, &a.state);
            if r.spectrum {
                a.spectrum =
                    reservoir::eigenvalues(n, &net.closed_loop_jacobian(&t.readout, &a.state));
            }
            (a.open_loop_gain, a.time_constant) =
                net.open_loop_pole(&t.readout, &a.state, POLE_PROBE);
        }
    }
    t.attractors = attractors;
    t
}

impl Trained {
    /// W_eff = J + u wᵀ, column-major (the analog kernels' layout).
    pub fn effective_weights(&self) -> Vec<f64> {
        let n = self.network.neurons;
        let mut w = vec![0.0; n * n];
        for col in 0..n {
            for row in 0..n {
                w[col * n + row] = self.network.coupling[row * n + col]
                    + self.network.feedback[row] * self.readout[col];
            }
        }
        w
    }

    /// W_eff row-major.
    fn effective_weights_row_major(&self) -> Vec<f64> {
        let n = self.network.neurons;
        let mut w = self.network.coupling.clone();
        for row in 0..n {
            for col in 0..n {
                w[row * n + col] += self.network.feedback[row] * self.readout[col];
            }
        }
        w
    }
}

/// The start of kick `s` (of kind `kind`) at attractor `a` of replica `replica`.
fn kick(
    config: &Config,
    replica: u64,
    a: usize,
    s: usize,
    kind: KickKind,
    x: &[f64],
    u: &[f64],
) -> Vec<f64> {
    let k = &config.reservoir.kicks;
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let (rx, ru) = (rms(x), rms(u));
    let noise = || -> Vec<f64> {
        let mut rng = numbered_stream(
            config.ensemble.seed,
            replica,
            Purpose::Perturbation,
            1 + (a * 64 + s) as u64,
        );
        (0..x.len())
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect()
    };
    match kind {
        KickKind::Combined => {
            let xi = noise();
            x.iter()
                .zip(&xi)
                .map(|(x, e)| (1.0 + k.along_state) * x + k.noise * rx * e)
                .collect()
        }
        KickKind::State => x.iter().map(|x| (1.0 + k.along_state) * x).collect(),
        KickKind::Feedback => x
            .iter()
            .zip(u)
            .map(|(x, u)| x + k.along_state * rx * u / ru)
            .collect(),
        KickKind::Random => {
            let xi = noise();
            x.iter()
                .zip(&xi)
                .map(|(x, e)| x + k.noise * rx * e)
                .collect()
        }
    }
}

/// The mean-field theory at a config's parameters
/// ([`crate::theory::reservoir::predictions::solve`]).
pub fn theory(config: &Config) -> Theory {
    crate::theory::reservoir::predictions::solve(config)
}

/// One replica's row of `epochs.csv` ([`TRAINING_COLUMNS`]).
fn row(config: &Config, t: &Trained, theory: Option<&Solution>) -> String {
    let r = &config.reservoir;
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let ats = &t.attractors;
    let max_of = |f: &dyn Fn(&Attractor) -> f64| {
        ats.iter().map(f).fold(f64::NEG_INFINITY, |m, v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(v)
            }
        })
    };
    let kick_max = |f: &dyn Fn(&KickOutcome) -> f64| {
        if !t.trained {
            return f64::NAN;
        }
        finite_max(ats.iter().flat_map(|a| a.kicks.iter().map(f)))
    };
    let tol = r.marginal_tolerance;
    let leading = ats
        .iter()
        .map(Attractor::leading)
        .max_by(|a, b| a.re.total_cmp(&b.re))
        .unwrap_or(c64::new(f64::NAN, f64::NAN));
    let (eig_stable, marginal) = if !t.trained {
        (0.0, 0.0)
    } else if !r.spectrum {
        (f64::NAN, f64::NAN)
    } else {
        (flag(leading.re < -tol), flag(leading.re.abs() <= tol))
    };
    let sim_success = flag(t.trained && ats.iter().all(|a| a.kicks.iter().all(|k| k.returned)));
    let diverged = if t.trained {
        flag(ats.iter().any(|a| a.kicks.iter().any(|k| k.diverged)))
    } else {
        f64::NAN
    };
    let state_error = if t.trained {
        finite_max(ats.iter().flat_map(|a| a.state_errors.iter().copied()))
    } else {
        f64::NAN
    };
    let p_tau = theory
        .and_then(Solution::single_target)
        .map_or(f64::NAN, |t| t.tau);
    let (p_success, p_marginal, p_rho, p_outlier, p_gain) = match theory {
        Some(s) => {
            let stability = s.predicted_success();
            (
                flag(stability == Stability::Stable),
                flag(stability == Stability::Marginal),
                s.attractors
                    .iter()
                    .map(|a| a.rho)
                    .fold(f64::NEG_INFINITY, f64::max),
                s.attractors
                    .iter()
                    .map(|a| a.max_real_eigenvalue())
                    .fold(f64::NEG_INFINITY, f64::max),
                predicted_gain(s, 0),
            )
        }
        None => (f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN),
    };
    let values = [
        config.weights.std,
        r.targets.len() as f64,
        flag(ats.iter().all(|a| a.settled)),
        flag(t.trained),
        eig_stable,
        marginal,
        sim_success,
        leading.re,
        leading.im,
        max_of(&|a| a.bulk_radius),
        ats.first().map_or(f64::NAN, |a| a.open_loop_gain),
        ats.first().map_or(f64::NAN, |a| a.time_constant),
        kick_max(&|k| k.return_ratio),
        kick_max(&|k| k.late_rate),
        kick_max(&|k| k.readout_error),
        state_error,
        diverged,
        max_of(&|a| a.lyapunov),
        if t.trained {
            ats.iter()
                .map(|a| (a.fixed_readout - a.target).abs())
                .fold(0.0, f64::max)
        } else {
            f64::NAN
        },
        p_success,
        p_marginal,
        p_rho,
        p_outlier,
        p_gain,
        p_tau,
    ];
    let mut out = t.index.to_string();
    for v in values {
        out.push(',');
        out.push_str(&v.to_string());
    }
    out
}

/// The theory's H_k(0).
fn predicted_gain(s: &Solution, k: usize) -> f64 {
    s.gain_function(k, c64::new(0.0, 0.0)).re
}

/// One replica's `response.npy` element: per attractor and ω, [`RESPONSE_FIELDS`] (|T| and
/// arg T measured, and the theory's at the Euler map's s).
fn response_fields(config: &Config, t: &Trained, theory: Option<&Solution>) -> Vec<f64> {
    let d = config.reservoir.response.as_ref().expect("a response");
    let mut out = Vec::new();
    for (k, a) in t.attractors.iter().enumerate() {
        for (f, &omega) in d.frequencies.iter().enumerate() {
            let g = a
                .response
                .get(f)
                .copied()
                .unwrap_or(c64::new(f64::NAN, f64::NAN));
            let p = theory.filter(|s| k < s.attractors.len()).map_or(
                c64::new(f64::NAN, f64::NAN),
                |s| {
                    crate::theory::reservoir::predictions::response_of_map(
                        s,
                        k,
                        omega,
                        config.network.leak,
                    )
                },
            );
            out.extend([omega, g.norm(), g.arg(), p.norm(), p.arg()]);
        }
    }
    out
}

/// One replica's `attractors.npy` element: K rows of [`training::ATTRACTOR_FIELDS`].
fn attractor_fields(t: &Trained, theory: Option<&Solution>, marginal: f64) -> Vec<f64> {
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let mut out = Vec::new();
    for (k, a) in t.attractors.iter().enumerate() {
        let leading = a.leading();
        let (p_rho, p_re, p_im, p_gain) = theory
            .and_then(|s| s.attractors.get(k).map(|at| (s, at)))
            .map_or((f64::NAN, f64::NAN, f64::NAN, f64::NAN), |(s, at)| {
                let lead = at
                    .eigenvalues
                    .iter()
                    .copied()
                    .max_by(|x, y| x.re.total_cmp(&y.re))
                    .unwrap_or(c64::new(f64::NAN, f64::NAN));
                (at.rho, lead.re, lead.im, predicted_gain(s, k))
            });
        let returned = t.trained && a.kicks.iter().all(|k| k.returned);
        let worst = |f: &dyn Fn(&KickOutcome) -> f64| finite_max(a.kicks.iter().map(f));
        out.extend([
            a.target,
            flag(a.settled),
            a.residual,
            a.fixed_readout,
            a.bulk_radius,
            leading.re,
            leading.im,
            if a.spectrum.is_empty() {
                f64::NAN
            } else {
                a.outliers() as f64
            },
            a.open_loop_gain,
            a.time_constant,
            if a.spectrum.is_empty() {
                f64::NAN
            } else {
                flag(leading.re < -marginal)
            },
            flag(returned),
            worst(&|k| k.return_ratio),
            worst(&|k| k.late_rate),
            a.lyapunov,
            p_rho,
            p_re,
            p_im,
            p_gain,
        ]);
    }
    out
}

/// The largest non-NaN value (±∞ included), NaN when there is none.
fn finite_max(values: impl Iterator<Item = f64>) -> f64 {
    values
        .filter(|v| !v.is_nan())
        .fold(f64::NAN, |m, v| if m.is_nan() { v } else { m.max(v) })
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// z(t) = 2 + 0.3 sin(ωt + 0.4) over a window of 1234 steps that is not a whole number of
    /// periods: the fit returns 0.3 e^{0.4i} to rounding.
    #[test]
    fn lock_in_recovers_a_sinusoid_over_any_window() {
        let (omega, t0, tau) = (0.0731, 57, 1234);
        let mut sums = [0.0; 3];
        for t in t0 + 1..=t0 + tau {
            let x = omega * t as f64;
            let z = 2.0 + 0.3 * (x + 0.4).sin();
            sums[0] += z;
            sums[1] += z * x.sin();
            sums[2] += z * x.cos();
        }
        let g = lock_in(omega, t0, tau, sums);
        assert!(
            (g.norm() - 0.3).abs() < 1e-12 && (g.arg() - 0.4).abs() < 1e-12,
            "{g:?}"
        );
    }
}
