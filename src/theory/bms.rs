//! Closed forms of Cessac's spiking network (BMS, `models/cessac.md` §4, §10) that follow
//! exactly from its update equation (`src/model/bms`).
//!
//! An uncoupled neuron (W = 0) with leak γ ∈ [0, 1), threshold θ and constant input I: after a
//! spike `V_k = I (1 − γ^k) / (1 − γ)` (k steps later). If `I > (1 − γ) θ` it fires with period
//! `p = min{k ≥ 1 : V_k ≥ θ}`, rate `1/p`, and the orbit's distance to the threshold is
//! `d = min_{k ≤ p} |V_k − θ|`; otherwise it dies: `V → I/(1 − γ)` and `d = θ − I/(1 − γ)`
//! (at `I = (1 − γ) θ` exactly it dies for γ > 0 and fires every step for γ = 0, where the
//! closed threshold `V ≥ θ` meets `V_1 = I = θ`).

use super::plane::PlaneAxis;
use super::spiking_mean_field::SpikingMeanField;
use super::{CriticalLine, LineShape, Prediction, Quantity};
use crate::config::{Config, VectorSource, WeightScaling};
use crate::experiment::sweep::Axis;

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

/// The predictions for a `"bms"` config (`hebbnet theory`): the uncoupled neuron's death line,
/// period and distance, the mean-field onset of self-sustained activity and rate
/// ([`super::spiking_mean_field`]), and the exact Lyapunov spectrum's largest value.
pub fn predictions(config: &Config) -> Vec<Prediction> {
    let b = &config.bms;
    let (leak, theta) = (b.leak, b.threshold);
    let scalar_input = match config.input_source() {
        Ok(VectorSource::Gaussian { mean, std: 0.0 }) => Some(mean),
        _ => None,
    };
    let uncoupled = scalar_input
        .filter(|_| b.threshold_std == 0.0)
        .and_then(|input| uncoupled_neuron(leak, theta, input, 1_000_000));
    let scalar = "θ_i and I_i the same for every neuron (threshold_std = 0, input.std = 0)";
    let mut out = vec![Prediction {
        key: "bms.death_line",
        name: "input below which an isolated neuron dies",
        symbol: "(1 − γ)θ",
        value: Quantity::Number((1.0 - leak) * theta),
        formula: "V → I/(1 − γ) < θ  ⇔  I < (1 − γ)θ",
        source: SOURCE_EXACT,
        applies_to: "every config (θ̄ when thresholds vary)".into(),
        note: None,
    }];
    let (period, distance) = match uncoupled {
        Some(UncoupledNeuron::Periodic { period, distance }) => {
            (Quantity::Number(period as f64), Quantity::Number(distance))
        }
        Some(UncoupledNeuron::Dead { distance, .. }) => {
            (Quantity::Number(f64::INFINITY), Quantity::Number(distance))
        }
        None => {
            let why = Quantity::NotAvailable(format!("needs {scalar}"));
            (why.clone(), why)
        }
    };
    out.push(Prediction {
        key: "bms.uncoupled_period",
        name: "period of an uncoupled neuron (W = 0; ∞: dead)",
        symbol: "p",
        value: period,
        formula: "min{k : I(1 − γ^k)/(1 − γ) ≥ θ}",
        source: SOURCE_EXACT,
        applies_to: format!("W = 0; {scalar}"),
        note: None,
    });
    out.push(Prediction {
        key: "bms.uncoupled_distance",
        name: "d(Ω, S) of an uncoupled neuron",
        symbol: "d₀",
        value: distance,
        formula: "min_{k ≤ p} |V_k − θ|, or θ − I/(1 − γ) when dead",
        source: SOURCE_EXACT,
        applies_to: format!("W = 0; {scalar}"),
        note: None,
    });
    let field = SpikingMeanField::from_config(config);
    let assumptions = "N → ∞, independent neurons (annealed input), Gaussian weights and input";
    let (onset, rate) = match &field {
        Ok(f) => (
            match f.onset_std(ONSET_SEARCH_LIMIT) {
                Some(s) => Quantity::Number(match b.weight_scaling {
                    WeightScaling::ByNeurons => s,
                    WeightScaling::None => s / (b.neurons as f64).sqrt(),
                }),
                None => Quantity::NotAvailable(if f.input >= (1.0 - leak) * theta {
                    "the input alone makes neurons fire (I ≥ (1 − γ)θ): active at σ = 0".into()
                } else {
                    format!("no active solution up to σ = {ONSET_SEARCH_LIMIT}")
                }),
            },
            Quantity::Number(f.stable_rate().unwrap_or(0.0)),
        ),
        Err(why) => (
            Quantity::NotAvailable(why.clone()),
            Quantity::NotAvailable(why.clone()),
        ),
    };
    out.push(Prediction {
        key: "bms.onset_weight_std",
        name: "onset of self-sustained activity (weights.std)",
        symbol: "σ_c",
        value: onset,
        formula: "smallest σ with ρ = F(ρ) for some ρ > 0",
        source: SOURCE_MEAN_FIELD,
        applies_to: assumptions.into(),
        note: Some(
            "F(ρ) = Φ((W̄ρ + Ī − θ)/√(σ²ρ + σ_I² + σ_θ² + σ_B²)) for γ = 0; for γ > 0 the \
             renewal rate of a leaky neuron with that drive; in weights.std's own convention"
                .into(),
        ),
    });
    out.push(Prediction {
        key: "bms.mean_field_rate",
        name: "population rate of the active solution (0: quiescent)",
        symbol: "ρ*",
        value: rate,
        formula: "largest stable ρ = F(ρ)",
        source: SOURCE_MEAN_FIELD,
        applies_to: assumptions.into(),
        note: None,
    });
    out.push(Prediction {
        key: "bms.lyapunov_max",
        name: "largest Lyapunov exponent (a neuron silent on the attractor; −∞ if all spike)",
        symbol: "λ_max",
        value: Quantity::Number(if leak > 0.0 {
            leak.ln()
        } else {
            f64::NEG_INFINITY
        }),
        formula: "ln γ  (DF = γ diag(1 − Z): never positive)",
        source: SOURCE_EXACT,
        applies_to: "orbits that avoid the singular set (d > 0)".into(),
        note: None,
    });
    out
}

/// The theory lines of a `"bms"` sweep: along a single `weights.std` axis, the mean-field onset
/// σ_c at the base config (drawn on the d̂-vs-σ figure); no line in a plane yet.
pub fn sweep_lines(base: &serde_json::Value, axes: &[Axis]) -> Vec<CriticalLine> {
    let [axis] = axes else {
        return Vec::new();
    };
    let x = PlaneAxis::of(axis);
    let line = if axis.key != "weights.std" {
        Err(format!(
            "the BMS theory draws the onset σ_c along weights.std, not {}",
            axis.key
        ))
    } else {
        Config::from_value(base.clone())
            .map_err(|e| e.to_string())
            .and_then(|c| {
                predictions(&c)
                    .into_iter()
                    .find(|p| p.key == "bms.onset_weight_std")
                    .ok_or_else(|| "no onset".to_string())
            })
            .and_then(|p| match p.value {
                Quantity::Number(v) => Ok((
                    "mean-field onset of self-sustained activity σ_c".to_string(),
                    LineShape::Points(vec![v]),
                )),
                Quantity::NotAvailable(why) => Err(why),
            })
    };
    vec![CriticalLine {
        axes: vec![x],
        fixed: Vec::new(),
        line,
    }]
}

const SOURCE_EXACT: &str = "cessac.md §3–4, §10 (exact: follows from the update equation)";
const SOURCE_MEAN_FIELD: &str =
    "docs/theory.md, BMS mean field (derived here; independent-neuron approximation)";
/// Largest σ the onset is searched up to.
const ONSET_SEARCH_LIMIT: f64 = 50.0;

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
