//! Closed forms of Cessac's spiking network (BMS, `models/cessac.md` §4, §10) that follow
//! exactly from its update equation (`src/model/bms`).
//!
//! An uncoupled neuron (W = 0) with leak γ ∈ [0, 1), threshold θ and constant input I: after a
//! spike `V_k = I (1 − γ^k) / (1 − γ)` (k steps later). If `I > (1 − γ) θ` it fires with period
//! `p = min{k ≥ 1 : V_k ≥ θ}`, rate `1/p`, and the orbit's distance to the threshold is
//! `d = min_{k ≤ p} |V_k − θ|`; otherwise it dies: `V → I/(1 − γ)` and `d = θ − I/(1 − γ)`
//! (at `I = (1 − γ) θ` exactly it dies for γ > 0 and fires every step for γ = 0, where the
//! closed threshold `V ≥ θ` meets `V_1 = I = θ`).

/// What an uncoupled BMS neuron does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UncoupledNeuron {
    /// Fires every `period` steps; `distance` is d(Ω, S) of its orbit.
    Periodic { period: usize, distance: f64 },
    /// Never fires on the attractor: rests at `rest = I/(1 − γ)`, `distance = θ − rest`.
    Dead { rest: f64, distance: f64 },
}

/// The uncoupled neuron of the module doc; `None` for a leak outside [0, 1) or non-finite
/// numbers. The period is searched up to `max_period` (a neuron just above the death line
/// fires after ~ln(…)/ln γ steps); beyond, `None`.
pub fn uncoupled_neuron(
    leak: f64,
    threshold: f64,
    input: f64,
    max_period: usize,
) -> Option<UncoupledNeuron> {
    if !((0.0..1.0).contains(&leak) && threshold.is_finite() && input.is_finite()) {
        return None;
    }
    let rest = input / (1.0 - leak);
    // For γ > 0, V_k < rest for every k: no spike when rest ≤ θ. For γ = 0, V_1 = I = rest
    // itself, and the closed threshold fires at rest = θ (H(0) = 1, cessac.md §2).
    if rest < threshold || (rest == threshold && leak > 0.0) {
        return Some(UncoupledNeuron::Dead {
            rest,
            distance: threshold - rest,
        });
    }
    let mut distance = f64::INFINITY;
    let mut gamma_k = 1.0;
    for k in 1..=max_period {
        gamma_k *= leak;
        let v = input * (1.0 - gamma_k) / (1.0 - leak);
        distance = distance.min((v - threshold).abs());
        if v >= threshold {
            return Some(UncoupledNeuron::Periodic {
                period: k,
                distance,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cessac.md §10, anchor 1.
    #[test]
    fn the_anchors_of_the_note() {
        match uncoupled_neuron(0.6, 1.0, 0.5, 1000) {
            Some(UncoupledNeuron::Periodic { period, distance }) => {
                assert_eq!(period, 4);
                assert!((distance - 0.02).abs() < 1e-12, "{distance}");
            }
            other => panic!("{other:?}"),
        }
        match uncoupled_neuron(0.9, 1.0, 0.15, 1000) {
            Some(UncoupledNeuron::Periodic { period, distance }) => {
                assert_eq!(period, 11);
                assert!((distance - 0.023018).abs() < 5e-7, "{distance}");
            }
            other => panic!("{other:?}"),
        }
        match uncoupled_neuron(0.6, 1.0, 0.2, 1000) {
            Some(UncoupledNeuron::Dead { rest, distance }) => {
                assert!((rest - 0.5).abs() < 1e-15 && (distance - 0.5).abs() < 1e-15);
            }
            other => panic!("{other:?}"),
        }
        // γ = 0: a binary threshold unit fires every step iff I ≥ θ.
        assert_eq!(
            uncoupled_neuron(0.0, 1.0, 1.0, 10),
            Some(UncoupledNeuron::Periodic {
                period: 1,
                distance: 0.0
            })
        );
        assert!(matches!(
            uncoupled_neuron(0.0, 1.0, 0.9, 10),
            Some(UncoupledNeuron::Dead { .. })
        ));
        assert_eq!(uncoupled_neuron(1.0, 1.0, 0.5, 10), None);
    }

    /// The closed form against the simulated equations (src/model/bms) over a grid of γ, I.
    #[test]
    fn closed_form_matches_the_simulated_neuron() {
        use crate::model::bms::{advance, raster_period, Network, NoiseStream, Steps};
        use crate::model::bms::{BmsParams, SpikeWords};
        for &leak in &[0.0, 0.3, 0.6, 0.9] {
            for &input in &[0.05, 0.15, 0.3, 0.5, 0.9, 1.2] {
                let p = BmsParams {
                    leak,
                    threshold: vec![1.0],
                    input: vec![input],
                    noise: 0.0,
                };
                let net = Network::<f64>::new(&[0.0], &p);
                let steps = Steps {
                    first_step: 0,
                    transient: 400,
                    window: 200,
                };
                let noise = NoiseStream {
                    seed: 0,
                    replica: 0,
                    stream: 0,
                };
                let trace = advance(&net, &mut [0.0], &noise, steps, &mut [0.0]);
                let d_hat = trace.distance.iter().copied().fold(f64::INFINITY, f64::min);
                let raster: Vec<SpikeWords> =
                    trace.raster.iter().map(|&w| SpikeWords(vec![w])).collect();
                let period = raster_period(&raster, 100);
                match uncoupled_neuron(leak, 1.0, input, 100).unwrap() {
                    UncoupledNeuron::Periodic {
                        period: q,
                        distance,
                    } => {
                        assert_eq!(period, Some(q), "γ = {leak}, I = {input}");
                        assert!((d_hat - distance).abs() < 1e-9, "γ = {leak}, I = {input}");
                    }
                    UncoupledNeuron::Dead { distance, .. } => {
                        assert_eq!(period, Some(1), "γ = {leak}, I = {input}");
                        assert!(raster.iter().all(|z| z.count() == 0));
                        assert!((d_hat - distance).abs() < 1e-9, "γ = {leak}, I = {input}");
                    }
                }
            }
        }
    }
}
