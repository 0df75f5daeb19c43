//! Sensitivity to the learned pattern (science.md §2 — the paper's definition was not recovered,
//! so both measures below are computed and reported; see [`crate::config::SensitivityConfig`]).
//!
//! From a state `x₀` and with the weights frozen, `⟨s⟩_ξ` is the activity averaged over `steps`
//! steps after `transient` steps under input ξ:
//! - susceptibility `χ = (1/K) Σ_k ‖⟨s⟩_{ξ+εη_k} − ⟨s⟩_ξ‖ / ε` over K random unit directions η_k;
//! - discrimination `‖⟨s⟩_ξ − ⟨s⟩_{ξ'}‖ / √N` against a novel pattern ξ' of the same statistics.
//!
//! Runs in f64 on the CPU with the model's own step function, whatever the backend.

use rand_distr::StandardNormal;

use crate::config::SensitivityConfig;
use crate::model::analog::network::{self, TypedNeuronParams};
use crate::model::analog::NeuronParams;

/// `⟨s⟩` over `steps` steps after `transient` steps, from `start`, under `input`.
pub fn mean_activity(
    params: &NeuronParams,
    weights: &[f64],
    input: &[f64],
    start: &[f64],
    transient: usize,
    steps: usize,
) -> Vec<f64> {
    let n = start.len();
    let p: TypedNeuronParams<f64> = params.typed();
    let mut bias = vec![0.0; n];
    network::bias(&p, input, &mut bias);
    let mut state = start.to_vec();
    let mut signal: Vec<f64> = state.iter().map(|&v| p.activity(v)).collect();
    let mut field = vec![0.0; n];
    for _ in 0..transient {
        network::step(&p, weights, &bias, &mut state, &mut signal, &mut field);
    }
    let mut sum = vec![0.0; n];
    for _ in 0..steps {
        network::step(&p, weights, &bias, &mut state, &mut signal, &mut field);
        for (a, &s) in sum.iter_mut().zip(&signal) {
            *a += s;
        }
    }
    sum.iter().map(|a| a / steps as f64).collect()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// `(χ, discrimination)`; `rng` draws the directions η.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    config: &SensitivityConfig,
    params: &NeuronParams,
    weights: &[f64],
    input: &[f64],
    novel: &[f64],
    start: &[f64],
    rng: &mut impl rand::Rng,
) -> (f64, f64) {
    use rand::RngExt;
    let n = start.len();
    let (t, s) = (config.transient, config.steps);
    let base = mean_activity(params, weights, input, start, t, s);
    let mut chi = 0.0;
    for _ in 0..config.directions {
        let eta: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let norm = eta.iter().map(|e| e * e).sum::<f64>().sqrt();
        let perturbed: Vec<f64> = input
            .iter()
            .zip(&eta)
            .map(|(x, e)| x + config.epsilon * e / norm)
            .collect();
        let other = mean_activity(params, weights, &perturbed, start, t, s);
        chi += distance(&other, &base) / config.epsilon;
    }
    let novel_mean = mean_activity(params, weights, novel, start, t, s);
    (
        chi / config.directions as f64,
        distance(&base, &novel_mean) / (n as f64).sqrt(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::analog::{Activation, Form};
    use rand::SeedableRng;

    /// A linear network (ReLU with positive fields, a = 1, W = 0): s = g u = g (ξ − θ), so
    /// ⟨s⟩ moves by g ε η and χ = g exactly; discrimination = g ‖ξ − ξ'‖ / √N.
    #[test]
    fn linear_response_by_hand() {
        let params = NeuronParams {
            form: Form::Rate,
            activation: Activation::Relu,
            gain: 2.0,
            leak: 1.0,
            threshold: -10.0,
        };
        let n = 4;
        let w = vec![0.0; n * n];
        let xi = [0.1, 0.2, 0.3, 0.4];
        let novel = [0.4, 0.3, 0.2, 0.1];
        let config = SensitivityConfig {
            enabled: true,
            epsilon: 0.01,
            directions: 3,
            transient: 2,
            steps: 5,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (chi, disc) = measure(&config, &params, &w, &xi, &novel, &[0.0; 4], &mut rng);
        assert!((chi - 2.0).abs() < 1e-9, "{chi}");
        let expected = 2.0 * (0.09f64 + 0.01 + 0.01 + 0.09).sqrt() / 2.0;
        assert!((disc - expected).abs() < 1e-12, "{disc} vs {expected}");
    }
}
