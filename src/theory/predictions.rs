//! Every prediction for one resolved config: the mean field of its form, the spectrum of its
//! initial weights, and the decay of the random part of the weights under learning. Each is
//! computed here from the config (nothing is tabulated), or refused with the hypothesis the
//! config breaks.

use super::edge::{unit_crossings, Crossings};
use super::mean_field::{
    tanh_network_largest_lyapunov, tanh_network_variance, SiriMeanField, SiriMeanFieldSolution,
};
use super::{Prediction, Quantity};
use crate::config::{Config, Distribution, VectorSource};
use crate::model::analog::{Activation, Form};

/// The range searched for a critical σ, gain or coupling: `[1e-3, 1e3]`.
pub const SEARCH_RANGE: (f64, f64) = (1e-3, 1e3);

const SOURCE_SIRI: &str = "science.md §4 (rate form; Siri et al. 2008)";
const SOURCE_SIRI_MAP: &str =
    "science.md §4 equations; the map's stability: docs/theory.md (SiriMeanField::solve)";
const SOURCE_TANH: &str = "science.md §4 (Sompolinsky–Crisanti–Sommers, discrete time)";
const SOURCE_CIRCULAR: &str = "science.md §4 (circular law, outlier at μ)";
const SOURCE_LEARNING: &str = "science.md §2 (closed form of the rule; a reconstruction)";

/// The predictions for `config`, in a fixed order: the mean field of its form (rate: the
/// `siri` theory; current: the `tanh` theory), the spectrum of `W⁽⁰⁾`, and with learning on the
/// random bulk of the last epoch's weights.
pub fn predictions(config: &Config) -> Vec<Prediction> {
    match config.model {
        crate::config::Model::Bms => return super::bms::predictions(config),
        crate::config::Model::Lotito => return super::lotito::predictions(config),
        crate::config::Model::Reservoir => return super::reservoir::predictions(config),
        crate::config::Model::Jiang => {
            let j = &config.jiang;
            let couplings = super::jiang::SequenceCouplings {
                load: j.load,
                autoassociation: j.autoassociation,
                heteroassociation: j.heteroassociation,
                depth: j.depth,
                backward: j.backward,
            };
            return super::jiang::predictions(&couplings, j.leak);
        }
        crate::config::Model::Analog => {}
    }
    let mut out = match config.network.form {
        Form::Rate => rate_mean_field(config),
        Form::Current => current_mean_field(config),
    };
    out.extend(weights_spectrum(config));
    if config.learning.enabled {
        out.push(learning_bulk(config));
    }
    out
}

/// With learning on and more than one epoch, the weights change after epoch 0: predictions from
/// the config's weight statistics describe `W⁽⁰⁾`, not the learned `W^(T)`.
fn initial_weights_only(config: &Config) -> bool {
    config.learning.enabled && config.schedule.epochs > 1
}

/// `base`, then "; W⁽⁰⁾ only (learning on)" where [`initial_weights_only`].
fn conditions(config: &Config, base: String) -> String {
    if initial_weights_only(config) {
        format!("{base}; W⁽⁰⁾ only (learning on)")
    } else {
        base
    }
}

/// What does not change between two predictions of one theory.
struct Row {
    key: &'static str,
    name: &'static str,
    symbol: &'static str,
    formula: &'static str,
    source: &'static str,
}

impl Row {
    fn with(&self, value: Quantity, applies_to: &str, note: Option<String>) -> Prediction {
        Prediction {
            key: self.key,
            name: self.name,
            symbol: self.symbol,
            value,
            formula: self.formula,
            source: self.source,
            applies_to: applies_to.to_string(),
            note,
        }
    }

    fn missing(&self, why: &str) -> Prediction {
        self.with(Quantity::NotAvailable(why.to_string()), "", None)
    }
}

const SIRI_ROWS: [Row; 9] = [
    Row {
        key: "mean_field.m",
        name: "mean activity",
        symbol: "m",
        formula: "∫Dz f(M + √V z)",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.q",
        name: "second moment of activity",
        symbol: "q",
        formula: "∫Dz f(M + √V z)²",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.field_mean",
        name: "mean local field",
        symbol: "M",
        formula: "μ m + ξ̄ − θ",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.field_variance",
        name: "local field variance",
        symbol: "V",
        formula: "σ² q + σ_ξ²",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.chaos_indicator",
        name: "chaos indicator (> 1: chaos)",
        symbol: "σ²⟨f′²⟩",
        formula: "σ² ∫Dz f′(M + √V z)²",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.largest_lyapunov",
        name: "largest Lyapunov exponent",
        symbol: "λ_max",
        formula: "½ ln(σ² ∫Dz f′(M + √V z)²)",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.map_spectral_radius",
        name: "stability of the solution",
        symbol: "ρ_T",
        formula: "ρ(∂(m′, q′)/∂(m, q)) at the solution",
        source: SOURCE_SIRI_MAP,
    },
    Row {
        key: "mean_field.critical_weight_std",
        name: "critical σ at this gain",
        symbol: "σ_c",
        formula: "σ where σ²⟨f′²⟩ = 1 (g, μ, ξ fixed)",
        source: SOURCE_SIRI,
    },
    Row {
        key: "mean_field.critical_gain",
        name: "critical gain at this σ",
        symbol: "g_c",
        formula: "g where σ²⟨f′²⟩ = 1 (σ, μ, ξ fixed)",
        source: SOURCE_SIRI,
    },
];

/// The hypotheses of the `siri` rate-form theory that `config` breaks (empty: it applies).
fn siri_breaks(config: &Config) -> Vec<String> {
    let n = &config.network;
    let mut why = Vec::new();
    if n.activation != Activation::Siri {
        why.push(format!(
            "requires network.activation = siri (it is {})",
            n.activation.name()
        ));
    }
    if n.leak != 1.0 {
        why.push(format!("requires a = 1 (network.leak = {})", n.leak));
    }
    if config.weights.file.is_some() {
        why.push("requires drawn weights (weights.file is set)".into());
    }
    if config.weights.excitatory_fraction.is_some() {
        why.push(
            "requires one population of signed Gaussian weights (weights.excitatory_fraction is \
             set)"
                .into(),
        );
    }
    if matches!(config.input_source(), Ok(VectorSource::File(_))) {
        why.push("requires a drawn input (input.file is set)".into());
    }
    why
}

/// The `siri` rate-form mean field (science.md §4) of `W⁽⁰⁾`.
fn rate_mean_field(config: &Config) -> Vec<Prediction> {
    let breaks = siri_breaks(config);
    let params = match SiriMeanField::from_config(config) {
        Some(p) if breaks.is_empty() => p,
        _ => {
            let why = if breaks.is_empty() {
                "not available: a parameter is not finite".to_string()
            } else {
                format!("not available: {}", breaks.join("; "))
            };
            return SIRI_ROWS.iter().map(|r| r.missing(&why)).collect();
        }
    };
    let uniform =
        config.input.distribution == Some(Distribution::Uniform) && params.input_std > 0.0;
    let applies = conditions(
        config,
        format!(
            "N → ∞; rate, siri, a = 1{}",
            if uniform {
                "; uniform ξ as Gaussian"
            } else {
                ""
            }
        ),
    );
    let mut out = Vec::with_capacity(SIRI_ROWS.len());
    match params.solve() {
        Ok(s) => out.extend(siri_solution(&s, &applies)),
        Err(e) => {
            let why = format!("not available: {e}");
            out.extend(SIRI_ROWS[..7].iter().map(|r| r.missing(&why)));
        }
    }
    let indicator_at_std = |sigma: f64| {
        SiriMeanField {
            weight_std: sigma,
            ..params
        }
        .chaos_indicator()
    };
    let indicator_at_gain = |gain: f64| SiriMeanField { gain, ..params }.chaos_indicator();
    let (lo, hi) = SEARCH_RANGE;
    // ρ_T of the solution at a crossing: an edge on a solution the population activity does
    // not settle on describes no attractor.
    let unsettled = |p: SiriMeanField, param: &str, at: f64| {
        let rho = p.solve().ok()?.map_spectral_radius;
        (rho > 1.0).then(|| {
            format!(
                "at {param} = {} the solution has ρ_T = {} > 1: the population activity does \
                 not settle on it, so this edge describes no attractor of the network",
                super::format_number(at),
                super::format_number(rho)
            )
        })
    };
    let mut sigma_c = edge_prediction(
        &SIRI_ROWS[7],
        &unit_crossings(lo, hi, indicator_at_std),
        "σ",
        &applies,
    );
    if let Some(at) = sigma_c.value.number() {
        let p = SiriMeanField {
            weight_std: at,
            ..params
        };
        add_note(&mut sigma_c, unsettled(p, "σ", at));
    }
    let mut gain_c = edge_prediction(
        &SIRI_ROWS[8],
        &unit_crossings(lo, hi, indicator_at_gain),
        "g",
        &applies,
    );
    if let Some(at) = gain_c.value.number() {
        let p = SiriMeanField { gain: at, ..params };
        add_note(&mut gain_c, unsettled(p, "g", at));
    }
    out.push(sigma_c);
    out.push(gain_c);
    out
}

/// Appends `extra` (when there is one) to the note of `p`.
fn add_note(p: &mut Prediction, extra: Option<String>) {
    if let Some(extra) = extra {
        p.note = Some(match p.note.take() {
            Some(note) => format!("{note}; {extra}"),
            None => extra,
        });
    }
}

/// The rows of [`SIRI_ROWS`] up to ρ_T from a solution.
fn siri_solution(s: &SiriMeanFieldSolution, applies: &str) -> Vec<Prediction> {
    let unsettled = s.map_spectral_radius > 1.0;
    let attractor_note = unsettled.then(|| {
        format!(
            "ρ_T = {} > 1: the population activity does not settle on this solution, so this \
             describes no attractor of the network",
            super::format_number(s.map_spectral_radius)
        )
    });
    let map_note = if unsettled {
        "> 1: the population moments (m, q) do not settle on this solution (under inhibition \
         the mean activity alternates with period 2); λ_max and σ²⟨f′²⟩ then describe no \
         attractor of the network"
    } else {
        "< 1: the population moments (m, q) settle on this solution, which λ_max describes"
    };
    let values = [
        s.m,
        s.q,
        s.mean_field,
        s.variance,
        s.chaos_indicator,
        s.largest_lyapunov,
        s.map_spectral_radius,
    ];
    SIRI_ROWS[..7]
        .iter()
        .zip(values)
        .enumerate()
        .map(|(k, (row, v))| {
            let note = match k {
                4 | 5 => attractor_note.clone(),
                6 => Some(map_note.to_string()),
                _ => None,
            };
            row.with(Quantity::Number(v), applies, note)
        })
        .collect()
}

/// The first crossing of the edge of chaos as a prediction, or why there is none.
fn edge_prediction(row: &Row, found: &Crossings, param: &str, applies: &str) -> Prediction {
    let (lo, hi) = SEARCH_RANGE;
    let Some(&first) = found.roots.first() else {
        let side = |v: f64| {
            if v.is_nan() {
                "NaN (the solve failed)".to_string()
            } else {
                super::format_number(v)
            }
        };
        let mut why = format!(
            "none: the indicator does not cross 1 for {param} in [{lo:e}, {hi:e}] (it is {} at \
             {lo:e} and {} at {hi:e})",
            side(found.at_ends.0),
            side(found.at_ends.1),
        );
        if let Some(j) = found.jumps.first() {
            why.push_str(&format!(
                "; it jumps across 1 at {param} ≈ {} (the solution of the mean-field equations \
                 changes there: no continuous edge)",
                super::format_number(*j)
            ));
        }
        return row.missing(&why);
    };
    let others: Vec<String> = found.roots[1..]
        .iter()
        .map(|&r| super::format_number(r))
        .collect();
    let note = (!others.is_empty()).then(|| {
        format!(
            "the first of {} crossings in [{lo:e}, {hi:e}]; the others at {param} = {}",
            found.roots.len(),
            others.join(", ")
        )
    });
    row.with(Quantity::Number(first), applies, note)
}

const TANH_ROWS: [Row; 7] = [
    Row {
        key: "mean_field.coupling",
        name: "coupling",
        symbol: "g",
        formula: "gain · σ",
        source: SOURCE_TANH,
    },
    Row {
        key: "mean_field.delta",
        name: "variance of gain · h",
        symbol: "Δ",
        formula: "g² ∫Dz tanh²(√Δ z)",
        source: SOURCE_TANH,
    },
    Row {
        key: "mean_field.chaos_indicator",
        name: "chaos indicator (> 1: chaos)",
        symbol: "g²⟨tanh′²⟩",
        formula: "g² ∫Dz tanh′(√Δ z)²",
        source: SOURCE_TANH,
    },
    Row {
        key: "mean_field.largest_lyapunov",
        name: "largest Lyapunov exponent",
        symbol: "λ_max",
        formula: "½ ln(g² ∫Dz tanh′(√Δ z)²); ln g for g ≤ 1",
        source: SOURCE_TANH,
    },
    Row {
        key: "mean_field.critical_coupling",
        name: "critical coupling",
        symbol: "g_c",
        formula: "g where g²⟨tanh′²⟩ = 1",
        source: SOURCE_TANH,
    },
    Row {
        key: "mean_field.critical_weight_std",
        name: "critical σ at this gain",
        symbol: "σ_c",
        formula: "g_c / gain",
        source: SOURCE_TANH,
    },
    Row {
        key: "mean_field.critical_gain",
        name: "critical gain at this σ",
        symbol: "gain_c",
        formula: "g_c / σ",
        source: SOURCE_TANH,
    },
];

/// The hypotheses of the current-form `tanh` theory that `config` breaks (empty: it applies).
fn tanh_breaks(config: &Config) -> Vec<String> {
    let n = &config.network;
    let mut why = Vec::new();
    if n.activation != Activation::Tanh {
        why.push(format!(
            "requires network.activation = tanh (it is {})",
            n.activation.name()
        ));
    }
    if n.leak != 1.0 {
        why.push(format!("requires a = 1 (network.leak = {})", n.leak));
    }
    if config.weights.file.is_some() {
        why.push("requires drawn weights (weights.file is set)".into());
    } else if config.weights.mean != 0.0 {
        why.push(format!(
            "requires μ = 0 (weights.mean = {})",
            config.weights.mean
        ));
    }
    if config.weights.excitatory_fraction.is_some() {
        why.push(
            "requires one population of signed Gaussian weights (weights.excitatory_fraction is \
             set)"
                .into(),
        );
    }
    let theta = n.threshold;
    let no_input = match config.input_source() {
        Ok(VectorSource::Gaussian { mean, std }) => mean - theta == 0.0 && std == 0.0,
        Ok(VectorSource::Uniform { low, high }) => low - theta == 0.0 && high - theta == 0.0,
        _ => false,
    };
    if !no_input {
        why.push("requires no input (ξ_i − θ = 0 for every neuron)".into());
    }
    why
}

/// The current-form `tanh` mean field (science.md §4) of `W⁽⁰⁾`, through the exact rescaling
/// `h′ = gain · h` (unit gain, weights of std `g = gain · σ`).
fn current_mean_field(config: &Config) -> Vec<Prediction> {
    let breaks = tanh_breaks(config);
    if !breaks.is_empty() {
        let why = format!("not available: {}", breaks.join("; "));
        return TANH_ROWS.iter().map(|r| r.missing(&why)).collect();
    }
    let (gain, sigma) = (config.network.gain, config.weights.std);
    let applies = conditions(
        config,
        format!(
            "N → ∞; current, tanh, a = 1, μ = 0, no input{}",
            if gain != 1.0 {
                "; gain ≠ 1 by h′ = gain · h"
            } else {
                ""
            }
        ),
    );
    let g = gain * sigma;
    let lambda = tanh_network_largest_lyapunov(g);
    let indicator = |g: f64| (2.0 * tanh_network_largest_lyapunov(g)).exp();
    let (lo, hi) = SEARCH_RANGE;
    let critical = unit_crossings(lo, hi, indicator);
    let mut out = vec![
        TANH_ROWS[0].with(Quantity::Number(g), &applies, None),
        TANH_ROWS[1].with(Quantity::Number(tanh_network_variance(g)), &applies, None),
        TANH_ROWS[2].with(Quantity::Number((2.0 * lambda).exp()), &applies, None),
        TANH_ROWS[3].with(Quantity::Number(lambda), &applies, None),
        edge_prediction(&TANH_ROWS[4], &critical, "g", &applies),
    ];
    match critical.roots.first() {
        Some(&g_c) => {
            out.push(TANH_ROWS[5].with(Quantity::Number(g_c / gain), &applies, None));
            out.push(if sigma > 0.0 {
                TANH_ROWS[6].with(Quantity::Number(g_c / sigma), &applies, None)
            } else {
                TANH_ROWS[6].missing("none: σ = 0, no gain makes the network chaotic")
            });
        }
        None => {
            let why = "not available: no critical coupling g_c";
            out.push(TANH_ROWS[5].missing(why));
            out.push(TANH_ROWS[6].missing(why));
        }
    }
    out
}

const SPECTRUM_ROWS: [Row; 2] = [
    Row {
        key: "weights.spectral_radius",
        name: "spectral radius of W",
        symbol: "ρ(W)",
        formula: "max(σ, |μ|)",
        source: SOURCE_CIRCULAR,
    },
    Row {
        key: "weights.outlier",
        name: "outlier of W",
        symbol: "λ_out(W)",
        formula: "μ if |μ| > σ",
        source: SOURCE_CIRCULAR,
    },
];

/// The circular law for the initial weights (any form: it is a property of `W`).
fn weights_spectrum(config: &Config) -> Vec<Prediction> {
    if config.weights.file.is_some() {
        let why = "not available: requires drawn weights (weights.file is set: its statistics \
                   are not in the config)";
        return SPECTRUM_ROWS.iter().map(|r| r.missing(why)).collect();
    }
    if config.weights.excitatory_fraction.is_some() {
        let why = "not available: requires one population of signed Gaussian weights \
                   (weights.excitatory_fraction is set)";
        return SPECTRUM_ROWS.iter().map(|r| r.missing(why)).collect();
    }
    let (mu, sigma) = (config.weights.mean, config.weights.std);
    let applies = conditions(config, "N → ∞; drawn Gaussian W".to_string());
    vec![
        SPECTRUM_ROWS[0].with(Quantity::Number(sigma.max(mu.abs())), &applies, None),
        if mu.abs() > sigma {
            SPECTRUM_ROWS[1].with(Quantity::Number(mu), &applies, None)
        } else {
            SPECTRUM_ROWS[1].missing(&format!(
                "none: |μ| = {} ≤ σ = {}, the mean's eigenvalue lies inside the bulk",
                super::format_number(mu.abs()),
                super::format_number(sigma)
            ))
        },
    ]
}

const LEARNING_ROW: Row = Row {
    key: "learning.random_bulk_radius",
    name: "random bulk of W, last epoch",
    symbol: "σ_T",
    formula: "λ^T σ, T = epochs − 1",
    source: SOURCE_LEARNING,
};

/// With learning on: the random bulk of the last epoch's weights, `λ^T σ`.
fn learning_bulk(config: &Config) -> Prediction {
    let l = &config.learning;
    if config.weights.file.is_some() {
        return LEARNING_ROW.missing("not available: requires drawn weights (weights.file is set)");
    }
    if config.weights.excitatory_fraction.is_some() {
        return LEARNING_ROW.missing(
            "not available: requires one population (Dale's law clips at 0, which breaks the \
             closed form)",
        );
    }
    if l.sign_preserving {
        return LEARNING_ROW.missing(
            "not available: requires learning.sign_preserving = false (clipping at 0 breaks the \
             closed form)",
        );
    }
    let t = config.schedule.epochs.saturating_sub(1);
    let exponent = i32::try_from(t).unwrap_or(i32::MAX);
    let value = l.forgetting.powi(exponent) * config.weights.std;
    LEARNING_ROW.with(
        Quantity::Number(value),
        &format!("N → ∞ at fixed T = {t}; drawn Gaussian W"),
        Some(
            "the radius of the random part of W^(T) = λ^T W⁽⁰⁾ + (α/N) Σ_s λ^(T−1−s) Φ^(s); the \
             learned part has rank ≤ T and adds outliers only"
                .into(),
        ),
    )
}
