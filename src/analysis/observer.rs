//! The per-replica analysis fed by a backend's trace: Lyapunov exponents, spectra of `W` and of
//! the Jacobian, attractor class — one [`AnalysisEpoch`] per epoch.

use std::sync::Arc;

use faer::c64;

use super::attractor::{self, Attractor, StateRing};
use super::lyapunov::{self, LyapunovResult, TangentSpace};
use super::team::Team;
use super::{sensitivity, spectrum};
use crate::backend::TraceObserver;
use crate::config::{AttractorConfig, Config, Precision, SensitivityConfig};
use crate::ensemble::{numbered_stream, Purpose};
use crate::model::analog::NeuronParams;

/// The analysis a run asks for, resolved against the network size and precision.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisPlan {
    /// k: Lyapunov exponents per replica and epoch (0: none).
    pub exponents: usize,
    pub reorthonormalize_every: usize,
    pub tangent_transient: usize,
    pub tangent_precision: Precision,
    pub trace_points: usize,
    pub eigenvalues_weights: bool,
    pub eigenvalues_jacobian: bool,
    pub attractor: Option<AttractorConfig>,
    pub sensitivity: Option<SensitivityConfig>,
}

/// Steps and neurons kept per epoch for the bifurcation diagram (`bifurcation.npy`).
pub const BIFURCATION_STEPS: usize = 64;
pub const BIFURCATION_NEURONS: usize = 4;

impl AnalysisPlan {
    /// `None` when the config asks for no analysis.
    pub fn from_config(config: &Config) -> Option<AnalysisPlan> {
        let a = &config.analysis;
        let plan = AnalysisPlan {
            exponents: a.lyapunov.exponents.count(config.network.neurons),
            reorthonormalize_every: a.lyapunov.reorthonormalize_every,
            tangent_transient: a.lyapunov.tangent_transient,
            tangent_precision: a.lyapunov.precision.unwrap_or(config.backend.precision),
            trace_points: a.lyapunov.trace_points,
            eigenvalues_weights: a.eigenvalues.weights,
            eigenvalues_jacobian: a.eigenvalues.jacobian,
            attractor: a.attractor.enabled.then(|| a.attractor.clone()),
            sensitivity: a.sensitivity.enabled.then(|| a.sensitivity.clone()),
        };
        (plan.exponents > 0
            || plan.eigenvalues_weights
            || plan.eigenvalues_jacobian
            || plan.attractor.is_some()
            || plan.sensitivity.is_some())
        .then_some(plan)
    }
}

/// What was measured on one replica in one epoch.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AnalysisEpoch {
    pub lyapunov: Option<LyapunovResult>,
    /// Sorted by decreasing modulus.
    pub eigenvalues_weights: Option<Vec<c64>>,
    pub eigenvalues_jacobian: Option<Vec<c64>>,
    /// Smallest period found (1: fixed point).
    pub period: Option<usize>,
    pub attractor: Option<Attractor>,
    /// The last [`BIFURCATION_STEPS`] states of the first [`BIFURCATION_NEURONS`] neurons,
    /// step-major, NaN-padded at the front when the window was shorter.
    pub bifurcation: Option<Vec<f64>>,
    /// `(χ, discrimination)`.
    pub sensitivity: Option<(f64, f64)>,
}

impl AnalysisEpoch {
    pub fn largest_lyapunov(&self) -> f64 {
        self.lyapunov
            .as_ref()
            .map_or(f64::NAN, LyapunovResult::largest)
    }
}

enum Tangent {
    F32(TangentSpace<f32>),
    F64(TangentSpace<f64>),
}

/// The observer of one replica.
pub struct ReplicaAnalysis {
    plan: AnalysisPlan,
    seed: u64,
    replica: u64,
    params: NeuronParams,
    epoch: usize,
    weights: Vec<f64>,
    tangent: Option<Tangent>,
    ring: StateRing,
    last_derivative: Vec<f64>,
    last_state: Vec<f64>,
    /// ξ and a novel ξ', for the sensitivity analysis.
    patterns: Option<(Vec<f64>, Vec<f64>)>,
    /// Threads the tangent propagation may use.
    threads: usize,
    /// The tangent spaces' team, started at the first epoch that needs it.
    team: Option<Arc<Team>>,
    pub epochs: Vec<AnalysisEpoch>,
}

impl ReplicaAnalysis {
    pub fn new(plan: &AnalysisPlan, seed: u64, replica: u64, params: NeuronParams) -> Self {
        let max_period = plan
            .attractor
            .as_ref()
            .map_or(0, |a| a.max_period.max(BIFURCATION_STEPS.div_ceil(2)));
        ReplicaAnalysis {
            plan: plan.clone(),
            seed,
            replica,
            params,
            epoch: 0,
            weights: Vec::new(),
            tangent: None,
            ring: StateRing::new(max_period),
            last_derivative: Vec::new(),
            last_state: Vec::new(),
            patterns: None,
            threads: 1,
            team: None,
            epochs: Vec::new(),
        }
    }

    /// Let the tangent propagation and QR use `threads` workers (when replicas are fewer than cores).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self.team = None;
        self
    }

    /// The input ξ and a novel pattern ξ' (needed when the plan measures sensitivity).
    pub fn with_patterns(mut self, input: Vec<f64>, novel: Vec<f64>) -> Self {
        self.patterns = Some((input, novel));
        self
    }
}

impl TraceObserver for ReplicaAnalysis {
    fn begin_epoch(&mut self, epoch: usize, weights: &[f64]) {
        self.epoch = epoch;
        let n = (weights.len() as f64).sqrt().round() as usize;
        // W is kept (in f64) only for what reads it at the end of the window: the spectra and
        // the sensitivity; it is freed there, so a finished replica holds no copy of W.
        self.weights.clear();
        if self.plan.eigenvalues_weights
            || self.plan.eigenvalues_jacobian
            || self.plan.sensitivity.is_some()
        {
            self.weights.extend_from_slice(weights);
        }
        self.ring.clear();
        self.last_derivative.clear();
        self.tangent = (self.plan.exponents > 0).then(|| {
            let mut rng = numbered_stream(self.seed, self.replica, Purpose::Tangent, epoch as u64);
            let q0 = lyapunov::random_orthonormal(n, self.plan.exponents, &mut rng);
            let (form, leak, m, t) = (
                self.params.form,
                self.params.leak,
                self.plan.reorthonormalize_every,
                self.plan.tangent_transient,
            );
            // One team for every epoch of this replica: its threads start once, and what it
            // measured about the machine (team.rs) carries over.
            let threads = lyapunov::useful_threads(self.plan.exponents, self.threads);
            let team = Arc::clone(
                self.team
                    .get_or_insert_with(|| Arc::new(Team::new(threads))),
            );
            match self.plan.tangent_precision {
                Precision::F32 => {
                    Tangent::F32(TangentSpace::new(form, leak, weights, &q0, m, t).with_team(team))
                }
                Precision::F64 => {
                    Tangent::F64(TangentSpace::new(form, leak, weights, &q0, m, t).with_team(team))
                }
            }
        });
    }

    fn step(&mut self, derivative: &[f64], state: &[f64]) {
        match &mut self.tangent {
            Some(Tangent::F32(t)) => t.step(derivative),
            Some(Tangent::F64(t)) => t.step(derivative),
            None => {}
        }
        self.ring.push(state);
        self.last_state.clear();
        self.last_state.extend_from_slice(state);
        self.last_derivative.clear();
        self.last_derivative.extend_from_slice(derivative);
    }

    fn end_epoch(&mut self) {
        let n = self.last_derivative.len();
        let lyapunov = match &mut self.tangent {
            Some(Tangent::F32(t)) => Some(t.finish()),
            Some(Tangent::F64(t)) => Some(t.finish()),
            None => None,
        }
        .map(|mut r| {
            r.trace = thin_trace(&r.trace, self.plan.trace_points);
            r
        });
        let eigenvalues_weights = self
            .plan
            .eigenvalues_weights
            .then(|| spectrum::sorted_by_modulus(spectrum::eigenvalues(n, &self.weights)));
        let eigenvalues_jacobian = (self.plan.eigenvalues_jacobian && n > 0).then(|| {
            let j = spectrum::jacobian(
                self.params.form,
                self.params.leak,
                &self.weights,
                &self.last_derivative,
            );
            spectrum::sorted_by_modulus(spectrum::eigenvalues(n, &j))
        });
        let (period, attractor) = match &self.plan.attractor {
            Some(a) => {
                // The ring may hold more than 2P states (the bifurcation diagram keeps 64):
                // only periods up to P count.
                let period = self.ring.period(a.tolerance).filter(|&p| p <= a.max_period);
                let largest = lyapunov.as_ref().map_or(f64::NAN, LyapunovResult::largest);
                (
                    period,
                    Some(attractor::classify(period, largest, a.zero_band)),
                )
            }
            None => (None, None),
        };
        let bifurcation = self.plan.attractor.as_ref().map(|_| {
            let m = BIFURCATION_NEURONS.min(n);
            let recent = self.ring.recent(BIFURCATION_STEPS);
            let mut out = vec![f64::NAN; BIFURCATION_STEPS * BIFURCATION_NEURONS];
            let pad = BIFURCATION_STEPS - recent.len();
            for (t, state) in recent.iter().enumerate() {
                let row = (pad + t) * BIFURCATION_NEURONS;
                out[row..row + m].copy_from_slice(&state[..m]);
            }
            out
        });
        let sensitivity = match (&self.plan.sensitivity, &self.patterns) {
            (Some(config), Some((input, novel))) if !self.last_state.is_empty() => {
                let mut rng = numbered_stream(
                    self.seed,
                    self.replica,
                    Purpose::Perturbation,
                    self.epoch as u64,
                );
                Some(sensitivity::measure(
                    config,
                    &self.params,
                    &self.weights,
                    input,
                    novel,
                    &self.last_state,
                    &mut rng,
                ))
            }
            _ => None,
        };
        self.epochs.push(AnalysisEpoch {
            lyapunov,
            eigenvalues_weights,
            eigenvalues_jacobian,
            period,
            attractor,
            bifurcation,
            sensitivity,
        });
        self.tangent = None;
        self.weights = Vec::new();
    }

    fn needs_full_window(&self) -> bool {
        self.plan.exponents > 0
    }

    fn tail_steps(&self) -> usize {
        // Period detection compares the last 2P states; the Jacobian needs the last step.
        self.plan
            .attractor
            .as_ref()
            .map_or(1, |a| 2 * a.max_period)
            .max(1)
    }
}

/// At most `points` entries, evenly spaced, always keeping the last.
fn thin_trace(trace: &[(usize, f64)], points: usize) -> Vec<(usize, f64)> {
    if trace.len() <= points || points == 0 {
        return if points == 0 {
            Vec::new()
        } else {
            trace.to_vec()
        };
    }
    (1..=points)
        .map(|p| trace[p * trace.len() / points - 1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_last_point() {
        let t: Vec<(usize, f64)> = (1..=100).map(|s| (s, s as f64)).collect();
        let thin = thin_trace(&t, 10);
        assert_eq!(thin.len(), 10);
        assert_eq!(thin.last(), Some(&(100, 100.0)));
        assert_eq!(thin[0], (10, 10.0));
        assert_eq!(thin_trace(&t[..5], 10).len(), 5);
    }
}
