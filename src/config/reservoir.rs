//! The section of Rivkind & Barak's trained reservoirs (`"model": "reservoir"`,
//! src/model/reservoir; models/rivkind_barak.md): `reservoir`, and its rules.
//!
//! The family maps the paper's network onto the project's keys (rivkind_barak.md §2.2):
//! `network` (N, φ, a, θ; the current form `h ← (1 − a) h + a (W φ(h) + ξ − θ)` with h = x − θ),
//! `weights` (J: the paper's g is `weights.std`, mean 0), `input` (the feedback vector u: the
//! paper's σ_u is `input.std`) and `ensemble`, `backend`, `output`. φ is `network.activation`
//! at the paper's gains: `tanh` and `relu` with `network.gain` 1, the logistic as `siri` with
//! gain ½ (`(1 + tanh(x/2))/2 = 1/(1 + e^{−x})`); `relu` with `network.threshold` θ is
//! `ReLU_θ(x) = (x − θ)⁺`. `network.leak` is the closed loop's Euler step dt (a = dt in neuron
//! time constants). `initial_state`, `schedule`, `learning` and `analysis` do not apply: the
//! starts are the trained attractors and their kicks, the run lengths are set here, and only
//! the readout is trained.

use serde::{Deserialize, Serialize};

use super::{check, finite, Config};
use crate::error::Result;
use crate::model::analog::{Activation, Form};
use crate::model::reservoir::Nonlinearity;

/// The open loop (rivkind_barak.md §3.2): z clamped at A_k, Euler steps of `dt` from x = u A_k
/// for `time`, settled when `‖−x + J φ(x) + u A_k‖/‖x‖ < settle_tolerance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenLoopConfig {
    pub dt: f64,
    pub time: f64,
    pub settle_tolerance: f64,
    /// The open loop's largest Lyapunov exponent (per unit time) is measured over the last
    /// `lyapunov_time` of the relaxation, with A_k clamped; 0: not measured.
    pub lyapunov_time: f64,
}

impl Default for OpenLoopConfig {
    fn default() -> Self {
        OpenLoopConfig {
            dt: 0.2,
            time: 200.0,
            settle_tolerance: 1e-2,
            lyapunov_time: 0.0,
        }
    }
}

impl OpenLoopConfig {
    /// Euler steps of the relaxation, round(T/dt).
    pub fn steps(&self) -> usize {
        (self.time / self.dt).round() as usize
    }

    /// Steps over which the Lyapunov exponent is measured, round(T_λ/dt).
    pub fn lyapunov_steps(&self) -> usize {
        (self.lyapunov_time / self.dt).round() as usize
    }
}

/// Newton's polish of each open-loop fixed point (§3.3): `x ← x + (I − J D)⁻¹ F` in f64, at most
/// `max_steps`, until `‖F‖/√N < tolerance`; above `failure` the target is not trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewtonConfig {
    pub max_steps: usize,
    pub tolerance: f64,
    pub failure: f64,
}

impl Default for NewtonConfig {
    fn default() -> Self {
        NewtonConfig {
            max_steps: 30,
            tolerance: 1e-9,
            failure: 1e-6,
        }
    }
}

/// A kicked start of the closed loop at attractor k (§3.6, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KickKind {
    /// `(1 + κ) x^k + ε rms(x^k) ξ`, ξ ~ N(0, I): the paper-style success criterion.
    Combined,
    /// `(1 + κ) x^k`: along the attractor (homogeneous ReLU's ray does not return).
    State,
    /// `x^k + κ rms(x^k) u/rms(u)`: along the feedback vector.
    Feedback,
    /// `x^k + ε rms(x^k) ξ`, one fresh ξ per `random_starts`.
    Random,
}

impl KickKind {
    pub fn name(self) -> &'static str {
        match self {
            KickKind::Combined => "combined",
            KickKind::State => "state",
            KickKind::Feedback => "feedback",
            KickKind::Random => "random",
        }
    }
}

/// The closed-loop runs from kicked states (§3.6): Euler steps of `network.leak` for `time`,
/// z(t) recorded at `samples` evenly spaced times; a kick returns when
/// `|z(T) − z*| < tolerance · max(|A_k|, floor)` (z* = A_k with the minimum-norm readout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KickConfig {
    pub kinds: Vec<KickKind>,
    /// κ: the relative kick along x^k (and along u).
    pub along_state: f64,
    /// ε: the random kick, relative to rms(x^k).
    pub noise: f64,
    /// Random kicks per attractor (kind `random`).
    pub random_starts: usize,
    pub time: f64,
    pub samples: usize,
    pub tolerance: f64,
    pub floor: f64,
}

impl Default for KickConfig {
    fn default() -> Self {
        KickConfig {
            kinds: vec![
                KickKind::Combined,
                KickKind::State,
                KickKind::Feedback,
                KickKind::Random,
            ],
            along_state: 0.1,
            noise: 0.05,
            random_starts: 1,
            time: 300.0,
            samples: 100,
            tolerance: 0.02,
            floor: 0.1,
        }
    }
}

impl KickConfig {
    /// The kicks of one attractor, in order (each `random` kind expands to `random_starts`).
    pub fn starts(&self) -> Vec<KickKind> {
        self.kinds
            .iter()
            .flat_map(|&k| {
                let n = if k == KickKind::Random {
                    self.random_starts
                } else {
                    1
                };
                std::iter::repeat_n(k, n)
            })
            .collect()
    }
}

/// The driven closed loop (§5.4): from x^k, the input `ε sin(ω t) d` is added for `time` per
/// angular frequency ω (per unit time; per step ω·dt), d the feedback vector u; the lock-in
/// amplitude of z over the last `time − transient` gives |T_k(iω)|.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    pub amplitude: f64,
    pub frequencies: Vec<f64>,
    pub time: f64,
    pub transient: f64,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            amplitude: 0.01,
            frequencies: vec![0.05, 0.1, 0.2, 0.5, 1.0, 2.0],
            time: 600.0,
            transient: 100.0,
        }
    }
}

/// The `reservoir` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReservoirConfig {
    /// A_1..A_K, the scalar outputs the trained attractors hold.
    pub targets: Vec<f64>,
    /// β of the ridge readout `w = R (RᵀR + βI)⁻¹ A`; 0 (the default): the minimum-norm
    /// interpolant `w = R (RᵀR)⁺ A`.
    pub ridge: f64,
    pub open_loop: OpenLoopConfig,
    pub newton: NewtonConfig,
    /// Compute the closed-loop spectrum of every attractor (dense eigenvalues of M_k): the
    /// eigen-stability criterion and `spectrum.npy`.
    pub spectrum: bool,
    /// An eigenvalue with |max Re λ| ≤ this is marginal (neither stable nor unstable).
    pub marginal_tolerance: f64,
    pub kicks: KickConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseConfig>,
}

impl Default for ReservoirConfig {
    fn default() -> Self {
        ReservoirConfig {
            targets: vec![1.0],
            ridge: 0.0,
            open_loop: OpenLoopConfig::default(),
            newton: NewtonConfig::default(),
            spectrum: true,
            marginal_tolerance: 1e-6,
            kicks: KickConfig::default(),
            response: None,
        }
    }
}

/// The family's defaults for the shared sections (under what the config sets): the paper's
/// network (current form, tanh at gain 1, N = 300, dt = 0.1, g = 1.5) and u ~ N(0, 1), no
/// Hebbian learning.
pub const RESERVOIR_DEFAULTS: &str = r#"{
    "network": {"neurons": 300, "form": "current", "activation": "tanh", "gain": 1.0,
                "leak": 0.1, "threshold": 0.0},
    "weights": {"mean": 0.0, "std": 1.5},
    "input": {"distribution": "gaussian", "mean": 0.0, "std": 1.0},
    "learning": {"enabled": false},
    "ensemble": {"replicas": 16}
}"#;

/// Most targets per replica (the mean-field theory covers K ≤ 3).
pub const MAX_TARGETS: usize = 8;

impl Config {
    /// φ of the reservoir (validated: the activations at the paper's gains).
    pub fn reservoir_nonlinearity(&self) -> Nonlinearity {
        match self.network.activation {
            Activation::Tanh => Nonlinearity::Tanh,
            Activation::Siri => Nonlinearity::Logistic,
            Activation::Relu => Nonlinearity::Relu {
                threshold: self.network.threshold,
            },
        }
    }

    /// The rules of the reservoir family (docs/config.md).
    pub(super) fn validate_reservoir(&self) -> Result<()> {
        let n = &self.network;
        check(
            "network.form",
            n.form == Form::Current,
            "a reservoir is the current form dx/dt = −x + J φ(x) + u z: set \"form\": \"current\"",
        )?;
        let paper_gain = match n.activation {
            Activation::Siri => 0.5,
            Activation::Tanh | Activation::Relu => 1.0,
        };
        check(
            "network.gain",
            n.gain == paper_gain,
            &format!(
                "must be {paper_gain} for \"{}\" (the paper's φ: tanh x, the logistic \
                 1/(1 + e^(−x)) = siri at gain ½, (x − θ)⁺); the network's scale is weights.std (g)",
                serde_json::to_value(n.activation)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        )?;
        check(
            "network.threshold",
            n.threshold == 0.0 || n.activation == Activation::Relu,
            "applies to \"relu\" only here (ReLU_θ); the sigmoids take θ = 0",
        )?;
        self.validate_analog_sections()?;
        check(
            "learning.enabled",
            !self.learning.enabled,
            "a reservoir trains only its readout: set learning.enabled to false",
        )?;
        let r = &self.reservoir;
        check(
            "reservoir.targets",
            (1..=MAX_TARGETS).contains(&r.targets.len()),
            &format!("must list between 1 and {MAX_TARGETS} targets A_k"),
        )?;
        for a in &r.targets {
            finite("reservoir.targets", *a)?;
        }
        finite("reservoir.ridge", r.ridge)?;
        check(
            "reservoir.ridge",
            r.ridge >= 0.0,
            "must be ≥ 0 (0: minimum norm)",
        )?;
        let o = &r.open_loop;
        finite("reservoir.open_loop.dt", o.dt)?;
        check(
            "reservoir.open_loop.dt",
            o.dt > 0.0 && o.dt <= 1.0,
            "must be in (0, 1] (the Euler step in neuron time constants)",
        )?;
        finite("reservoir.open_loop.time", o.time)?;
        check(
            "reservoir.open_loop.time",
            o.steps() >= 1,
            "must be at least one step (open_loop.dt)",
        )?;
        finite("reservoir.open_loop.settle_tolerance", o.settle_tolerance)?;
        check(
            "reservoir.open_loop.settle_tolerance",
            o.settle_tolerance > 0.0,
            "must be > 0",
        )?;
        finite("reservoir.open_loop.lyapunov_time", o.lyapunov_time)?;
        check(
            "reservoir.open_loop.lyapunov_time",
            o.lyapunov_time >= 0.0 && o.lyapunov_steps() < o.steps(),
            &format!(
                "must be ≥ 0 and shorter than open_loop.time ({}): the exponent is measured at \
                 the end of the relaxation",
                o.time
            ),
        )?;
        let w = &r.newton;
        for (key, x) in [
            ("reservoir.newton.tolerance", w.tolerance),
            ("reservoir.newton.failure", w.failure),
        ] {
            finite(key, x)?;
            check(key, x > 0.0, "must be > 0")?;
        }
        check(
            "reservoir.newton.failure",
            w.failure >= w.tolerance,
            "must be ≥ newton.tolerance",
        )?;
        finite("reservoir.marginal_tolerance", r.marginal_tolerance)?;
        check(
            "reservoir.marginal_tolerance",
            r.marginal_tolerance >= 0.0,
            "must be ≥ 0",
        )?;
        let k = &r.kicks;
        check(
            "reservoir.kicks.kinds",
            !k.kinds.is_empty(),
            "must list at least one kick (\"combined\", \"state\", \"feedback\", \"random\")",
        )?;
        check(
            "reservoir.kicks.random_starts",
            k.random_starts >= 1 || !k.kinds.contains(&KickKind::Random),
            "must be ≥ 1 when kicks.kinds has \"random\"",
        )?;
        for (key, x) in [
            ("reservoir.kicks.along_state", k.along_state),
            ("reservoir.kicks.noise", k.noise),
        ] {
            finite(key, x)?;
            check(key, x >= 0.0, "must be ≥ 0")?;
        }
        finite("reservoir.kicks.time", k.time)?;
        let steps = (k.time / n.leak).round() as usize;
        check(
            "reservoir.kicks.samples",
            k.samples >= 1 && k.samples <= steps,
            &format!(
                "must be between 1 and the closed loop's steps, kicks.time/network.leak = {steps}"
            ),
        )?;
        for (key, x) in [
            ("reservoir.kicks.tolerance", k.tolerance),
            ("reservoir.kicks.floor", k.floor),
        ] {
            finite(key, x)?;
            check(key, x > 0.0, "must be > 0")?;
        }
        for (section, differs) in [
            ("initial_state", self.initial_state != Default::default()),
            ("schedule", self.schedule != Default::default()),
        ] {
            check(
                section,
                !differs,
                "does not apply to \"reservoir\": the runs start at the trained attractors and \
                 their kicks, and their lengths are set in the reservoir section (docs/config.md)",
            )?;
        }
        check(
            "output.record",
            self.output.record.is_none(),
            "records analog-family states; \"reservoir\" records the readout z(t) of every kick \
             (readout_series.npy, reservoir.kicks.samples)",
        )?;
        if let Some(d) = &r.response {
            finite("reservoir.response.amplitude", d.amplitude)?;
            check(
                "reservoir.response.amplitude",
                d.amplitude > 0.0,
                "must be > 0 (ε of the input ε sin(ωt) u; small: the response is linear)",
            )?;
            check(
                "reservoir.response.frequencies",
                !d.frequencies.is_empty() && d.frequencies.len() <= 64,
                "must list between 1 and 64 angular frequencies ω",
            )?;
            for &w in &d.frequencies {
                finite("reservoir.response.frequencies", w)?;
                check(
                    "reservoir.response.frequencies",
                    w > 0.0 && w * n.leak < std::f64::consts::PI,
                    &format!(
                        "{w} must be > 0 and below the Nyquist frequency π/dt = {:.4} of \
                         network.leak",
                        std::f64::consts::PI / n.leak
                    ),
                )?;
            }
            finite("reservoir.response.time", d.time)?;
            finite("reservoir.response.transient", d.transient)?;
            check(
                "reservoir.response.transient",
                d.transient >= 0.0 && d.transient < d.time,
                "must be ≥ 0 and shorter than response.time",
            )?;
            let slowest = d.frequencies.iter().copied().fold(f64::INFINITY, f64::min);
            check(
                "reservoir.response.time",
                (d.time - d.transient) * slowest >= 2.0 * std::f64::consts::PI,
                "must leave at least one period of the slowest frequency after the transient",
            )?;
        }
        Ok(())
    }
}
