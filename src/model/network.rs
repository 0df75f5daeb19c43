//! One time step of the network equations (science.md §1), the CPU reference.
//!
//! Weights are stored **column-major**: element `W_ij` (to neuron `i` from neuron `j`) sits at
//! `j * N + i`. Then the local field is a sum of columns scaled by the presynaptic signal, which
//! the CPU vectorises without reassociating, and the GPU reads coalesced (consecutive threads,
//! consecutive `i`). Files (`.npy`) always hold the mathematical `W[i, j]` in C order; conversion
//! happens at the I/O boundary only.

use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::real::Real;

/// The two network forms of science.md §1.
///
/// - `rate`: `u_i(t) = Σ_j W_ij x_j(t) + ξ_i − θ_i`, `x_i(t+1) = (1 − a) x_i(t) + a f(u_i(t))`.
/// - `current`: `h_i(t+1) = (1 − a) h_i(t) + a (Σ_j W_ij φ(h_j(t)) + ξ_i − θ_i)`.
///
/// In both, the *signal* a neuron sends (and its *activity*, what learning and the records use)
/// is `s_i = x_i` (rate) or `s_i = φ(h_i)` (current). The threshold θ of the current form is a
/// generalisation (science.md has none there); its default 0 gives the published equation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    Rate,
    Current,
}

impl Form {
    pub fn gpu_code(self) -> u32 {
        match self {
            Form::Rate => 0,
            Form::Current => 1,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Form::Rate => "rate",
            Form::Current => "current",
        }
    }
}

/// Per-replica neuron parameters. Replicas of one batch may differ in all of them (sweeps).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronParams {
    pub form: Form,
    pub activation: Activation,
    /// Gain `g` of the activation.
    pub gain: f64,
    /// Leak `a ∈ (0, 1]`; `a = 1` is the pure map.
    pub leak: f64,
    /// Threshold `θ`, the same for every neuron (the bias is `ξ_i − θ`).
    pub threshold: f64,
}

/// [`NeuronParams`] converted to the compute type once per replica.
#[derive(Clone, Copy, Debug)]
pub struct TypedNeuronParams<T: Real> {
    pub form: Form,
    pub activation: Activation,
    pub gain: T,
    pub leak: T,
    pub one_minus_leak: T,
    pub threshold: T,
}

impl NeuronParams {
    pub fn typed<T: Real>(&self) -> TypedNeuronParams<T> {
        let leak = T::from_f64(self.leak);
        TypedNeuronParams {
            form: self.form,
            activation: self.activation,
            gain: T::from_f64(self.gain),
            leak,
            one_minus_leak: T::ONE - leak,
            threshold: T::from_f64(self.threshold),
        }
    }
}

impl<T: Real> TypedNeuronParams<T> {
    /// The activity (signal) of a neuron in state `v`: `x` (rate form) or `φ(h)` (current form).
    #[inline(always)]
    pub fn activity(&self, v: T) -> T {
        match self.form {
            Form::Rate => v,
            Form::Current => self.activation.value(self.gain, v),
        }
    }
}

/// Bias `b_i = ξ_i − θ`.
pub fn bias<T: Real>(params: &TypedNeuronParams<T>, input: &[T], bias: &mut [T]) {
    for (b, &xi) in bias.iter_mut().zip(input) {
        *b = xi - params.threshold;
    }
}

/// The SIMD instruction set the CPU kernels use on this machine (chosen at run time).
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return "AVX2";
        }
    }
    "portable SIMD"
}

/// Local field `u_i = b_i + Σ_j W_ij s_j` for all `i`, with `W` column-major.
///
/// Each `u_i` is summed in the order `j = 0, 1, …, N − 1`, starting from `b_i` — the order the GPU
/// kernel uses — so CPU and GPU differ only by the rounding of fused operations.
#[inline]
pub fn local_field<T: Real>(n: usize, weights: &[T], signal: &[T], bias: &[T], field: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above); the function only changes codegen.
            unsafe { local_field_avx2(n, weights, signal, bias, field) };
            return;
        }
    }
    local_field_portable(n, weights, signal, bias, field)
}

/// Same arithmetic, compiled with AVX2 enabled (chosen at run time: the default target has none).
/// Multiplications and additions stay separate (no FMA contraction), so results are bitwise equal
/// to the portable path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn local_field_avx2<T: Real>(
    n: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    local_field_portable(n, weights, signal, bias, field)
}

#[inline(always)]
fn local_field_portable<T: Real>(
    n: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    assert!(weights.len() == n * n && signal.len() == n && bias.len() == n && field.len() == n);
    let mut i0 = 0;
    i0 = field_block::<T, 32>(n, i0, weights, signal, bias, field);
    i0 = field_block::<T, 8>(n, i0, weights, signal, bias, field);
    field_block::<T, 1>(n, i0, weights, signal, bias, field);
}

/// Rows `i0..` in blocks of `B` kept in registers while sweeping all columns; returns the first
/// row not done.
#[inline(always)]
fn field_block<T: Real, const B: usize>(
    n: usize,
    mut i0: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) -> usize {
    while i0 + B <= n {
        let mut acc: [T; B] = bias[i0..i0 + B].try_into().expect("block of bias");
        for (column, &s) in weights.chunks_exact(n).zip(signal) {
            let w: &[T; B] = column[i0..i0 + B].try_into().expect("block of column");
            for b in 0..B {
                acc[b] += w[b] * s;
            }
        }
        field[i0..i0 + B].copy_from_slice(&acc);
        i0 += B;
    }
    i0
}

/// Advance one replica by one step.
///
/// `state` is `x` (rate form) or `h` (current form); `signal` holds the activity `s(t)` on entry
/// and `s(t+1)` on exit; `field` is scratch for `u(t)`.
pub fn step<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
) {
    step_with_derivative(params, weights, bias, state, signal, field, None)
}

/// [`step`], also writing the activation derivative of the step's Jacobian `DF(t)`:
/// `f'(u(t))` (rate form) or `φ'(h(t))` (current form).
pub fn step_with_derivative<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above); the function only changes codegen.
            unsafe { step_avx2(params, weights, bias, state, signal, field, derivative) };
            return;
        }
    }
    step_portable(params, weights, bias, state, signal, field, derivative)
}

/// [`step`] compiled with AVX2 enabled; the same arithmetic (no FMA contraction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_avx2<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    step_portable(params, weights, bias, state, signal, field, derivative)
}

#[inline(always)]
fn step_portable<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    let n = state.len();
    local_field_portable(n, weights, signal, bias, field);
    if let Some(d) = derivative {
        // D(t) from the activation values of this step (Activation::derivative_from_value):
        // f(u(t)) for the rate form, φ(h(t)) = s(t) for the current form.
        let (act, g) = (params.activation, params.gain);
        match params.form {
            Form::Rate => {
                for (d, &u) in d.iter_mut().zip(field.iter()) {
                    *d = act.derivative_from_value(g, act.value(g, u));
                }
            }
            Form::Current => {
                for (d, &s) in d.iter_mut().zip(signal.iter()) {
                    *d = act.derivative_from_value(g, s);
                }
            }
        }
    }
    // One loop per activation, so each is a straight vectorisable loop.
    match params.activation {
        Activation::Siri => update(params, state, signal, field, |g, u| {
            T::HALF * (T::ONE + (g * u).tanh())
        }),
        Activation::Tanh => update(params, state, signal, field, |g, u| (g * u).tanh()),
        Activation::Relu => update(params, state, signal, field, |g, u| (g * u).max(T::ZERO)),
    }
}

/// The state update after the local field, for one activation `f` (see [`Form`]).
#[inline(always)]
fn update<T: Real>(
    params: &TypedNeuronParams<T>,
    state: &mut [T],
    signal: &mut [T],
    field: &[T],
    f: impl Fn(T, T) -> T,
) {
    let (a, one_minus_a, g) = (params.leak, params.one_minus_leak, params.gain);
    match params.form {
        Form::Rate => {
            for ((x, s), &u) in state.iter_mut().zip(signal.iter_mut()).zip(field) {
                *x = one_minus_a * *x + a * f(g, u);
                *s = *x;
            }
        }
        Form::Current => {
            for ((h, s), &u) in state.iter_mut().zip(signal.iter_mut()).zip(field) {
                *h = one_minus_a * *h + a * u;
                *s = f(g, *h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(form: Form, activation: Activation, gain: f64, leak: f64) -> TypedNeuronParams<f64> {
        NeuronParams {
            form,
            activation,
            gain,
            leak,
            threshold: 0.1,
        }
        .typed()
    }

    #[test]
    fn local_field_is_a_matrix_vector_product_in_column_order() {
        // N = 37 exercises the 32-block, the 8-block... and the scalar rows.
        let n = 37;
        let w: Vec<f64> = (0..n * n)
            .map(|k| ((k * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let s: Vec<f64> = (0..n).map(|j| (j as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..n).map(|i| i as f64 * 0.01).collect();
        let mut u = vec![0.0; n];
        local_field(n, &w, &s, &b, &mut u);
        for i in 0..n {
            let mut expect = b[i];
            for j in 0..n {
                expect += w[j * n + i] * s[j];
            }
            assert_eq!(u[i], expect, "row {i}");
        }
    }

    #[test]
    fn rate_step_matches_hand_computation() {
        // N = 2, W = [[0.5, -1], [2, 0]] (row-major) → column-major [0.5, 2, -1, 0].
        let w = [0.5, 2.0, -1.0, 0.0];
        let p = params(Form::Rate, Activation::Tanh, 2.0, 0.25);
        let input = [0.3, -0.2];
        let mut b = [0.0; 2];
        bias(&p, &input, &mut b); // ξ − θ = [0.2, −0.3]
        let mut x = [0.4, -0.6];
        let mut s = x;
        let mut u = [0.0; 2];
        step(&p, &w, &b, &mut x, &mut s, &mut u);
        let u0 = 0.5 * 0.4 + -1.0 * -0.6 + 0.2;
        let u1 = 2.0 * 0.4 + 0.0 * -0.6 - 0.3;
        let x0 = 0.75 * 0.4 + 0.25 * (2.0f64 * u0).tanh();
        let x1 = 0.75 * -0.6 + 0.25 * (2.0f64 * u1).tanh();
        assert!((x[0] - x0).abs() < 1e-15 && (x[1] - x1).abs() < 1e-15);
        assert_eq!(s, x);
    }

    #[test]
    fn current_step_matches_hand_computation() {
        let w = [0.5, 2.0, -1.0, 0.0];
        let p = params(Form::Current, Activation::Siri, 3.0, 0.5);
        let input = [0.3, -0.2];
        let mut b = [0.0; 2];
        bias(&p, &input, &mut b);
        let mut h = [0.4, -0.6];
        let phi = |v: f64| 0.5 * (1.0 + (3.0 * v).tanh());
        let mut s = [phi(0.4), phi(-0.6)];
        let mut u = [0.0; 2];
        step(&p, &w, &b, &mut h, &mut s, &mut u);
        let u0 = 0.5 * phi(0.4) - phi(-0.6) + 0.2;
        let u1 = 2.0 * phi(0.4) - 0.3;
        let h0 = 0.5 * 0.4 + 0.5 * u0;
        let h1 = 0.5 * -0.6 + 0.5 * u1;
        assert!((h[0] - h0).abs() < 1e-15 && (h[1] - h1).abs() < 1e-15);
        assert!((s[0] - phi(h0)).abs() < 1e-15 && (s[1] - phi(h1)).abs() < 1e-15);
    }
}
