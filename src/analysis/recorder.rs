//! The recorder (`output.record`): raw per-step series of one replica, for plotting traces.
//!
//! During each epoch's recorded window (the steps `T_0 + 1 … T_0 + τ`), at window steps
//! `every, 2·every, …` (S = ⌊τ / every⌋ samples), it keeps the state (x or h) of the chosen
//! neurons and, when asked, the population's mean activity `ρ(t) = (1/N) Σ_i s_i(t)` (`s = x` in
//! the rate form, `φ(h)` in the current form). It is a [`TraceObserver`], so it sees the same
//! stream on both backends (the GPU streams the window's states when an observer needs them).

use crate::backend::TraceObserver;
use crate::config::RecordConfig;
use crate::model::analog::NeuronParams;

/// One replica's recorded series, all epochs.
#[derive(Clone, Debug)]
pub struct Recorder {
    every: usize,
    neurons: Vec<usize>,
    population: bool,
    params: NeuronParams,
    /// Recorded steps per window, and the samples each epoch holds.
    samples: usize,
    /// Steps seen in the current window.
    step: usize,
    /// `[epoch][sample][neuron]`, flattened.
    pub states: Vec<f64>,
    /// `[epoch][sample]`, flattened.
    pub activity: Vec<f64>,
}

impl Recorder {
    pub fn new(config: &RecordConfig, recorded_steps: usize, params: NeuronParams) -> Recorder {
        Recorder {
            every: config.every.max(1),
            neurons: config.neurons.clone(),
            population: config.population,
            params,
            samples: recorded_steps / config.every.max(1),
            step: 0,
            states: Vec::new(),
            activity: Vec::new(),
        }
    }

    /// Samples per epoch, S = ⌊τ / every⌋.
    pub fn samples(&self) -> usize {
        self.samples
    }
}

impl TraceObserver for Recorder {
    fn begin_epoch(&mut self, _epoch: usize, _weights: &[f64]) {
        self.step = 0;
    }

    fn step(&mut self, _derivative: &[f64], state: &[f64]) {
        self.step += 1;
        if !self.step.is_multiple_of(self.every) || self.step / self.every > self.samples {
            return;
        }
        self.states.extend(self.neurons.iter().map(|&i| state[i]));
        if self.population {
            let typed = self.params.typed::<f64>();
            let sum: f64 = state.iter().map(|&v| typed.activity(v)).sum();
            self.activity.push(sum / state.len() as f64);
        }
    }

    fn end_epoch(&mut self) {}

    fn needs_full_window(&self) -> bool {
        true
    }

    fn tail_steps(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::analog::{Activation, Form};

    #[test]
    fn samples_every_kth_step_of_the_window() {
        let params = NeuronParams {
            form: Form::Current,
            activation: Activation::Tanh,
            gain: 2.0,
            leak: 1.0,
            threshold: 0.0,
        };
        let config = RecordConfig {
            every: 3,
            neurons: vec![2, 0],
            population: true,
        };
        // τ = 10: samples at window steps 3, 6, 9.
        let mut r = Recorder::new(&config, 10, params);
        assert_eq!(r.samples(), 3);
        for epoch in 0..2 {
            r.begin_epoch(epoch, &[]);
            for t in 1..=10 {
                let x = (epoch * 100 + t) as f64;
                r.step(&[], &[x, 0.1 * x, -0.01 * x]);
            }
            r.end_epoch();
        }
        let want_states = [
            -0.03, 3.0, -0.06, 6.0, -0.09, 9.0, -1.03, 103.0, -1.06, 106.0, -1.09, 109.0,
        ];
        assert_eq!(r.states.len(), want_states.len());
        for (a, b) in r.states.iter().zip(want_states) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // ρ = mean of tanh(2 h) over the three neurons (current form: s = φ(h)).
        let rho = |x: f64| ((2.0 * x).tanh() + (0.2 * x).tanh() + (-0.02 * x).tanh()) / 3.0;
        let want_activity = [
            rho(3.0),
            rho(6.0),
            rho(9.0),
            rho(103.0),
            rho(106.0),
            rho(109.0),
        ];
        for (a, b) in r.activity.iter().zip(want_activity) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
