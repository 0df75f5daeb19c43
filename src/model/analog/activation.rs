//! Activation functions `f` with gain `g` (science.md §1).

use serde::{Deserialize, Serialize};

use crate::model::real::Real;

/// The neuron's transfer function. All take the gain `g` as a parameter.
///
/// | name   | `f(u)`                   | `f'(u)`           | range   |
/// |--------|--------------------------|-------------------|---------|
/// | `siri` | `(1 + tanh(g u)) / 2`    | `2 g f (1 − f)`   | [0, 1]  |
/// | `tanh` | `tanh(g u)`              | `g (1 − f²)`      | [−1, 1] |
/// | `relu` | `max(0, g u)`            | `g H(u)`          | [0, ∞)  |
///
/// The GPU twin is `activation()` in `shaders/common.wgsl`; the numeric codes (`gpu_code`) must
/// match the `ACT_*` constants there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Siri,
    Tanh,
    Relu,
}

impl Activation {
    pub const ALL: [Activation; 3] = [Activation::Siri, Activation::Tanh, Activation::Relu];

    /// `f(u)` with gain `g`.
    #[inline(always)]
    pub fn value<T: Real>(self, gain: T, u: T) -> T {
        match self {
            Activation::Siri => T::HALF * (T::ONE + (gain * u).tanh()),
            Activation::Tanh => (gain * u).tanh(),
            Activation::Relu => (gain * u).max(T::ZERO),
        }
    }

    /// `f'(u)` with gain `g` (used by the Jacobian `DF`).
    #[inline]
    pub fn derivative<T: Real>(self, gain: T, u: T) -> T {
        match self {
            Activation::Siri => {
                let f = self.value(gain, u);
                (gain + gain) * f * (T::ONE - f)
            }
            Activation::Tanh => {
                let f = self.value(gain, u);
                gain * (T::ONE - f * f)
            }
            Activation::Relu => {
                if u > T::ZERO {
                    gain
                } else {
                    T::ZERO
                }
            }
        }
    }

    /// `f'` expressed through the value `v = f(u)`: `2 g v (1 − v)` (siri), `g (1 − v²)` (tanh),
    /// `g H(v)` (relu, for g > 0). What the backends stream for the Jacobian: no second
    /// evaluation of `tanh`. The GPU twin is `derivative_from_value` in `shaders/common.wgsl`.
    #[inline(always)]
    pub fn derivative_from_value<T: Real>(self, gain: T, v: T) -> T {
        match self {
            Activation::Siri => (gain + gain) * v * (T::ONE - v),
            Activation::Tanh => gain * (T::ONE - v * v),
            Activation::Relu => {
                if v > T::ZERO {
                    gain
                } else {
                    T::ZERO
                }
            }
        }
    }

    /// The code the shaders switch on.
    pub fn gpu_code(self) -> u32 {
        match self {
            Activation::Siri => 0,
            Activation::Tanh => 1,
            Activation::Relu => 2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Siri => "siri",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siri_is_a_shifted_logistic() {
        // (1 + tanh(g u)) / 2 = 1 / (1 + exp(−2 g u))
        for &u in &[-1.3f64, -0.2, 0.0, 0.05, 0.7] {
            let g = 3.0;
            let logistic = 1.0 / (1.0 + (-2.0 * g * u).exp());
            assert!((Activation::Siri.value(g, u) - logistic).abs() < 1e-14);
        }
        assert_eq!(Activation::Siri.value(10.0f64, 0.0), 0.5);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &u in &[-0.8f64, -0.1, 0.03, 0.4, 1.1] {
                let g = 2.5;
                let h = 1e-6;
                let fd = (act.value(g, u + h) - act.value(g, u - h)) / (2.0 * h);
                let d = act.derivative(g, u);
                assert!((fd - d).abs() < 1e-6, "{act:?} at u={u}: {fd} vs {d}");
            }
        }
    }

    #[test]
    fn derivative_from_value_agrees_with_derivative() {
        for act in Activation::ALL {
            for &u in &[-0.8f64, -0.1, 0.03, 0.4, 1.1] {
                let v = act.value(1.7, u);
                let d = act.derivative(1.7, u);
                assert!(
                    (act.derivative_from_value(1.7, v) - d).abs() < 1e-12,
                    "{act:?}"
                );
            }
        }
    }

    #[test]
    fn relu_clips_negative_fields() {
        assert_eq!(Activation::Relu.value(2.0f32, -0.5), 0.0);
        assert_eq!(Activation::Relu.value(2.0f32, 0.5), 1.0);
    }
}
