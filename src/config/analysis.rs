//! The `analysis` section: what is measured on each epoch's recorded window, and its rules.

use serde::{Deserialize, Serialize};

use super::{check, finite, Config, Precision, MAX_PERIOD, MAX_TRACE_POINTS};
use crate::error::Result;

/// What is measured on each epoch's recorded window (science.md §3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    pub lyapunov: LyapunovConfig,
    pub eigenvalues: EigenvaluesConfig,
    pub attractor: AttractorConfig,
    pub sensitivity: SensitivityConfig,
}

/// Sensitivity to the learned pattern (science.md §2; the paper's definition was not recovered,
/// so both measures are computed). At the end of each epoch, from the last state and with
/// `W^(T)` frozen, the time-averaged activity `⟨s⟩` over `steps` steps (after `transient`) is
/// measured for the input ξ, for `directions` inputs `ξ + ε η` (η random unit vectors), and for a
/// novel pattern ξ' of the same statistics:
/// susceptibility `χ = mean_η ‖⟨s⟩_{ξ+εη} − ⟨s⟩_ξ‖ / ε`,
/// discrimination `‖⟨s⟩_ξ − ⟨s⟩_{ξ'}‖ / √N`. Computed on the CPU in f64.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensitivityConfig {
    pub enabled: bool,
    /// ε, the size of the input perturbation (‖εη‖ = ε).
    pub epsilon: f64,
    /// Number of random directions η.
    pub directions: usize,
    pub transient: usize,
    pub steps: usize,
}

impl Default for SensitivityConfig {
    fn default() -> Self {
        SensitivityConfig {
            enabled: false,
            epsilon: 0.01,
            directions: 4,
            transient: 100,
            steps: 300,
        }
    }
}

/// How many Lyapunov exponents: a count (0 = none, 1 = the largest) or `"all"` (N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exponents {
    Count(usize),
    All,
}

impl Exponents {
    pub fn count(self, neurons: usize) -> usize {
        match self {
            Exponents::Count(k) => k,
            Exponents::All => neurons,
        }
    }
}

impl Serialize for Exponents {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Exponents::Count(k) => s.serialize_u64(*k as u64),
            Exponents::All => s.serialize_str("all"),
        }
    }
}

impl<'de> Deserialize<'de> for Exponents {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Exponents;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of exponents (0 = none, 1 = the largest) or \"all\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Exponents, E> {
                Ok(Exponents::Count(v as usize))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Exponents, E> {
                match v {
                    "all" => Ok(Exponents::All),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LyapunovConfig {
    /// k: 0 (off), 1 (the largest), any k ≤ N, or "all".
    pub exponents: Exponents,
    /// m: steps between QR re-orthonormalisations.
    pub reorthonormalize_every: usize,
    /// Steps at the start of each recorded window before the logs are accumulated.
    pub tangent_transient: usize,
    /// Precision of the tangent propagation (QR and logs are always f64); default: the run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// Points of the convergence trace of λ₁ kept per replica and epoch.
    pub trace_points: usize,
}

impl Default for LyapunovConfig {
    fn default() -> Self {
        LyapunovConfig {
            exponents: Exponents::Count(0),
            reorthonormalize_every: 10,
            tangent_transient: 100,
            precision: None,
            trace_points: 50,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EigenvaluesConfig {
    /// Eigenvalues of W^(T) every epoch.
    pub weights: bool,
    /// Eigenvalues of the Jacobian at the last recorded step of every epoch.
    pub jacobian: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttractorConfig {
    pub enabled: bool,
    /// Longest period looked for (the last 2P states are compared).
    pub max_period: usize,
    /// States repeat when every component agrees within tolerance · max(1, |x|).
    pub tolerance: f64,
    /// ε: |λ₁| ≤ ε counts as λ₁ ≈ 0 (quasi-periodic).
    pub zero_band: f64,
}

impl Default for AttractorConfig {
    fn default() -> Self {
        AttractorConfig {
            enabled: true,
            max_period: 64,
            tolerance: 1e-5,
            zero_band: 0.01,
        }
    }
}

impl Config {
    /// The rules of the `analysis` section (docs/config.md).
    pub(super) fn validate_analysis(&self) -> Result<()> {
        let n = self.network.neurons;
        let recorded = self.schedule.recorded_steps;
        let l = &self.analysis.lyapunov;
        if let Exponents::Count(k) = l.exponents {
            check(
                "analysis.lyapunov.exponents",
                k <= n,
                &format!(
                    "{k} exponents, but a network of network.neurons = {n} has only {n}: use at \
                     most {n}, or \"all\""
                ),
            )?;
        }
        check(
            "analysis.lyapunov.reorthonormalize_every",
            l.reorthonormalize_every >= 1,
            "must be ≥ 1 (1: a QR every step)",
        )?;
        if l.exponents.count(n) > 0 {
            check(
                "analysis.lyapunov.tangent_transient",
                l.tangent_transient < recorded,
                &format!(
                    "{} must be below schedule.recorded_steps = {recorded} (no recorded step would \
                     be left to accumulate the exponents): lower it, or record more steps",
                    l.tangent_transient
                ),
            )?;
        }
        check(
            "analysis.lyapunov.trace_points",
            l.trace_points <= MAX_TRACE_POINTS,
            &format!("must be at most {MAX_TRACE_POINTS} (0: no trace)"),
        )?;

        let a = &self.analysis.attractor;
        check(
            "analysis.attractor.max_period",
            (1..=MAX_PERIOD).contains(&a.max_period),
            &format!(
                "must be between 1 and {MAX_PERIOD} (1: fixed points only; to skip the \
                 classification set analysis.attractor.enabled = false)"
            ),
        )?;
        finite("analysis.attractor.tolerance", a.tolerance)?;
        check(
            "analysis.attractor.tolerance",
            a.tolerance >= 0.0,
            "must be ≥ 0 (0: states must repeat exactly)",
        )?;
        finite("analysis.attractor.zero_band", a.zero_band)?;
        check(
            "analysis.attractor.zero_band",
            a.zero_band >= 0.0,
            "must be ≥ 0",
        )?;

        let s = &self.analysis.sensitivity;
        finite("analysis.sensitivity.epsilon", s.epsilon)?;
        check(
            "analysis.sensitivity.epsilon",
            s.epsilon > 0.0,
            "must be > 0 (the size of the input perturbation; the default is 0.01)",
        )?;
        check(
            "analysis.sensitivity.directions",
            s.directions >= 1,
            "must be ≥ 1 (the susceptibility averages over the directions)",
        )?;
        check(
            "analysis.sensitivity.steps",
            s.steps >= 1,
            "must be ≥ 1 (the activity is averaged over these steps)",
        )?;
        Ok(())
    }
}
