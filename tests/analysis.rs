//! The analysis against answers known in advance (science.md §4), on every backend.

mod common;

use common::{gpu, params, random_init};
use hebbnet::analysis::observer::{AnalysisEpoch, AnalysisPlan, ReplicaAnalysis};
use hebbnet::analysis::spectrum;
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::{Backend, Schedule, TraceObserver};
use hebbnet::config::{Config, Precision};
use hebbnet::ensemble::{EnsembleSpec, ReplicaInit};
use hebbnet::model::analog::{Activation, Form};
use hebbnet::theory::mean_field::tanh_network_largest_lyapunov;

fn plan(k: usize, every: usize, transient: usize, precision: Precision) -> AnalysisPlan {
    AnalysisPlan {
        exponents: k,
        reorthonormalize_every: every,
        tangent_transient: transient,
        tangent_precision: precision,
        trace_points: 10,
        eigenvalues_weights: true,
        eigenvalues_jacobian: true,
        attractor: Some(Default::default()),
        sensitivity: None,
    }
}

fn analyse(
    backend: &mut dyn Backend,
    precision: Precision,
    inits: &[ReplicaInit],
    schedule: &Schedule,
    plan: &AnalysisPlan,
) -> Vec<AnalysisEpoch> {
    let mut analyses: Vec<ReplicaAnalysis> = inits
        .iter()
        .map(|i| ReplicaAnalysis::new(plan, 1, i.index, i.params.neuron))
        .collect();
    let mut observers: Vec<&mut dyn TraceObserver> = analyses
        .iter_mut()
        .map(|a| a as &mut dyn TraceObserver)
        .collect();
    backend
        .run_batch(schedule, precision, inits, false, &mut observers)
        .expect("run");
    drop(observers);
    analyses
        .into_iter()
        .map(|mut a| a.epochs.remove(0))
        .collect()
}

fn window(transient: usize, recorded: usize) -> Schedule {
    Schedule {
        epochs: 1,
        transient_steps: transient,
        recorded_steps: recorded,
        learning: false,
    }
}

/// At a fixed point x*, the Lyapunov spectrum is ln |eig DF(x*)|, sorted (science.md §4).
fn fixed_point_case(backend: &mut dyn Backend, precision: Precision, tolerance: f64) {
    let n = 20;
    let inits = vec![
        random_init(0, n, params(Form::Rate, Activation::Siri, 2.0, 1.0), 0.6, 1),
        random_init(
            1,
            n,
            params(Form::Current, Activation::Tanh, 1.0, 0.5),
            0.6,
            2,
        ),
    ];
    let p = plan(n, 5, 100, precision);
    for (init, result) in
        inits
            .iter()
            .zip(analyse(backend, precision, &inits, &window(500, 4100), &p))
    {
        assert_eq!(
            result.period,
            Some(1),
            "{:?} did not reach a fixed point",
            init.params.neuron.form
        );
        let l = result.lyapunov.as_ref().unwrap();
        assert!(l.well_conditioned, "condition {}", l.max_condition);
        let mut expected: Vec<f64> = result
            .eigenvalues_jacobian
            .as_ref()
            .unwrap()
            .iter()
            .map(|z| z.norm().ln())
            .collect();
        expected.sort_by(|a, b| b.total_cmp(a));
        let exponents = &result.lyapunov.as_ref().unwrap().exponents;
        let worst = exponents
            .iter()
            .zip(&expected)
            .map(|(l, e)| (l - e).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "measured: fixed point ({:?}), max |λ_i − ln|μ_i|| = {worst:.2e}",
            init.params.neuron.form
        );
        assert!(
            worst < tolerance,
            "{:?}: {exponents:?} vs {expected:?}",
            init.params.neuron.form
        );
    }
}

#[test]
fn fixed_point_spectrum_is_log_of_jacobian_eigenvalues_cpu_f64() {
    fixed_point_case(&mut CpuBackend::new(2).unwrap(), Precision::F64, 1e-3);
}

#[test]
fn fixed_point_spectrum_is_log_of_jacobian_eigenvalues_cpu_f32() {
    fixed_point_case(&mut CpuBackend::new(2).unwrap(), Precision::F32, 1e-3);
}

#[test]
fn fixed_point_spectrum_is_log_of_jacobian_eigenvalues_gpu() {
    let Some(mut g) = gpu() else { return };
    fixed_point_case(&mut g, Precision::F32, 1e-3);
}

/// Forwards to the analysis and accumulates `Σ_i ln D_i(t)` over the accumulated steps.
struct SumRule {
    inner: ReplicaAnalysis,
    transient: usize,
    steps: usize,
    log_derivatives: f64,
}

impl TraceObserver for SumRule {
    fn begin_epoch(&mut self, epoch: usize, weights: &[f64]) {
        self.inner.begin_epoch(epoch, weights)
    }
    fn step(&mut self, derivative: &[f64], state: &[f64]) {
        self.steps += 1;
        if self.steps > self.transient {
            self.log_derivatives += derivative.iter().map(|d| d.ln()).sum::<f64>();
        }
        self.inner.step(derivative, state)
    }
    fn end_epoch(&mut self) {
        self.inner.end_epoch()
    }
    fn needs_full_window(&self) -> bool {
        true
    }
    fn tail_steps(&self) -> usize {
        0
    }
}

/// With a = 1: Σ λ_i = ⟨ln |det DF(t)|⟩_t = ln |det W| + ⟨Σ_i ln f'(u_i(t))⟩_t, on a chaotic
/// network, for both forms. In f32, a neuron with |u| ≳ 8 has tanh = ±1 exactly, f' = 0 and
/// ln |det DF| = −∞, so the f32 case uses weaker (still chaotic) coupling.
#[test]
fn full_spectrum_obeys_the_sum_rule() {
    let n = 30;
    let (transient, recorded) = (100, 1000);
    for (form, act, precision, w_std, tolerance) in [
        (Form::Current, Activation::Tanh, Precision::F64, 2.5, 1e-9),
        (Form::Rate, Activation::Tanh, Precision::F64, 3.0, 1e-9),
        (Form::Current, Activation::Tanh, Precision::F32, 2.2, 1e-4),
        (Form::Rate, Activation::Tanh, Precision::F32, 2.2, 1e-4),
    ] {
        let init = random_init(0, n, params(form, act, 1.0, 1.0), w_std, 5);
        {
            let mut obs = SumRule {
                inner: ReplicaAnalysis::new(
                    &plan(n, 5, transient, precision),
                    1,
                    0,
                    init.params.neuron,
                ),
                transient,
                steps: 0,
                log_derivatives: 0.0,
            };
            let mut observers: Vec<&mut dyn TraceObserver> = vec![&mut obs];
            CpuBackend::new(1)
                .unwrap()
                .run_batch(
                    &window(200, recorded),
                    precision,
                    std::slice::from_ref(&init),
                    false,
                    &mut observers,
                )
                .unwrap();
            let epoch = &obs.inner.epochs[0];
            let l = epoch.lyapunov.as_ref().unwrap();
            assert_eq!(l.accumulated_steps, recorded - transient);
            let ln_det_w: f64 = spectrum::eigenvalues(n, &init.weights.get())
                .iter()
                .map(|z| z.norm().ln())
                .sum();
            let expected = ln_det_w + obs.log_derivatives / l.accumulated_steps as f64;
            let d = (l.sum() - expected).abs();
            eprintln!("measured: sum rule {form:?} {precision:?}: Σλ = {:.6}, |Σλ − ⟨ln|det DF|⟩| = {d:.2e}", l.sum());
            assert!(
                l.largest() > 0.0,
                "{form:?} is not chaotic: λ₁ = {}",
                l.largest()
            );
            assert!(
                d < tolerance * expected.abs().max(1.0),
                "{form:?} {precision:?}: {} vs {expected}",
                l.sum()
            );
        }
    }
}

fn ensemble(overrides: &[&str]) -> (Config, EnsembleSpec) {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let config = Config::load(None, &o).unwrap();
    let spec = EnsembleSpec::from_config(&config).unwrap();
    (config, spec)
}

/// Circular law: eigenvalues of W (μ = 0) fill the disk of radius σ; with mean μ/N one outlier
/// sits near μ. Replica means at N = 400 within 5%.
#[test]
fn circular_law_at_n_400() {
    for (mean, std) in [(0.0, 1.0), (0.0, 0.5), (3.0, 1.0)] {
        let (_, spec) = ensemble(&[
            "network.neurons=400",
            "ensemble.replicas=6",
            &format!("weights.mean={mean}"),
            &format!("weights.std={std}"),
        ]);
        let (mut bulk, mut outlier) = (0.0, 0.0);
        for r in 0..6 {
            let z = spectrum::sorted_by_modulus(spectrum::eigenvalues(
                400,
                &spec.replica(r).weights.get(),
            ));
            outlier += z[0].re / 6.0;
            bulk += z[usize::from(mean != 0.0)].norm() / 6.0;
        }
        eprintln!("measured: circular law μ={mean} σ={std}: bulk radius {bulk:.4}, top eigenvalue {outlier:.4}");
        assert!(
            (bulk / std - 1.0).abs() < 0.05,
            "bulk radius {bulk} vs σ = {std}"
        );
        if mean != 0.0 {
            assert!(
                (outlier / mean - 1.0).abs() < 0.05,
                "outlier {outlier} vs μ = {mean}"
            );
        }
    }
}

/// Mean field (science.md §4): h(t+1) = J tanh(h(t)), J_ij ~ N(0, g²/N): λ_max = 0.1547 (g = 2),
/// 0.3103 (g = 3). Replica mean at N = 1000 within 0.01.
#[test]
fn largest_exponent_matches_mean_field_at_n_1000() {
    for g in [2.0, 3.0] {
        let (config, spec) = ensemble(&[
            "network.neurons=1000",
            "network.form=current",
            "network.activation=tanh",
            "network.gain=1",
            "weights.autapses=false",
            &format!("weights.std={g}"),
            "input={}",
            "ensemble.replicas=4",
            "learning.enabled=false",
        ]);
        let inits: Vec<_> = (0..4).map(|r| spec.replica(r)).collect();
        let p = AnalysisPlan {
            eigenvalues_weights: false,
            eigenvalues_jacobian: false,
            ..plan(1, 10, 200, Precision::F32)
        };
        let _ = config;
        let results = analyse(
            &mut CpuBackend::new(0).unwrap(),
            Precision::F32,
            &inits,
            &window(300, 2200),
            &p,
        );
        let mean = results
            .iter()
            .map(AnalysisEpoch::largest_lyapunov)
            .sum::<f64>()
            / 4.0;
        let theory = tanh_network_largest_lyapunov(g);
        eprintln!("measured: mean field g = {g}: simulation {mean:.4} (4 replicas, N = 1000), theory {theory:.4}");
        assert!((mean - theory).abs() < 0.01, "g = {g}: {mean} vs {theory}");
    }
}

/// The same chaotic ensemble on the CPU and the GPU: the same exponents within sampling error
/// (on lavapipe they are in fact bitwise equal).
#[test]
fn cpu_and_gpu_give_the_same_exponents_on_a_chaotic_ensemble() {
    let Some(mut g) = gpu() else { return };
    let n = 60;
    let inits: Vec<_> = (0..4)
        .map(|k| {
            random_init(
                k,
                n,
                params(Form::Current, Activation::Tanh, 1.0, 1.0),
                2.0,
                70 + k,
            )
        })
        .collect();
    let p = plan(5, 10, 100, Precision::F32);
    let s = window(200, 1500);
    let c = analyse(
        &mut CpuBackend::new(2).unwrap(),
        Precision::F32,
        &inits,
        &s,
        &p,
    );
    let gg = analyse(&mut g, Precision::F32, &inits, &s, &p);
    let mean = |r: &[AnalysisEpoch], i: usize| {
        r.iter()
            .map(|e| e.lyapunov.as_ref().unwrap().exponents[i])
            .sum::<f64>()
            / r.len() as f64
    };
    for i in 0..5 {
        let (a, b) = (mean(&c, i), mean(&gg, i));
        eprintln!("measured: λ_{} CPU {a:.5} GPU {b:.5}", i + 1);
        assert!((a - b).abs() < 0.02, "λ_{}: CPU {a} vs GPU {b}", i + 1);
    }
    assert!(mean(&c, 0) > 0.05, "the ensemble is not chaotic");
    for (x, y) in c.iter().zip(&gg) {
        assert_eq!(x.attractor, y.attractor);
    }
}
