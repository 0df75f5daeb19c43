//! One time step of the network equations (science.md §1), the CPU reference.
//!
//! Weights are stored **column-major**: element `W_ij` (to neuron `i` from neuron `j`) sits at
//! `j * N + i`. Then the local field is a sum of columns scaled by the presynaptic signal, which
//! the CPU vectorises without reassociating, and the GPU reads coalesced (consecutive threads,
//! consecutive `i`). Files (`.npy`) always hold the mathematical `W[i, j]` in C order; conversion
//! happens at the I/O boundary only.

use serde::{Deserialize, Serialize};

use super::activation::Activation;
use crate::model::real::Real;

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

/// Driven bias of one step: `b_i + d_i · (ε sin)`, with `amplitude = ε sin(ω t + φ0)` of the
/// step (the drive of [`crate::ensemble::Drive`]; `neuron_update.wgsl` computes the same
/// products and sums in the same order).
pub fn driven_bias<T: Real>(bias: &[T], direction: &[T], amplitude: T, out: &mut [T]) {
    for ((o, &b), &d) in out.iter_mut().zip(bias).zip(direction) {
        *o = b + d * amplitude;
    }
}

/// The constants of [`drive_sin_cos_f32`] (Cephes `sinf`/`cosf` on `[−π/4, π/4]`), written as
/// the shortest decimals of their `f32` values so that WGSL, which reads literals through
/// `f64`, gets the same numbers (`drive_sin_cos` in `neuron_update.wgsl`).
mod drive_consts {
    /// `2π / 2³²`, radians per unit of the phase's upper 32 bits.
    pub const STEP: f32 = 1.462_918_1e-9;
    pub const S1: f32 = -0.166_666_55;
    pub const S2: f32 = 0.008_332_161;
    pub const S3: f32 = -0.000_195_152_96;
    pub const C1: f32 = 0.041_666_646;
    pub const C2: f32 = -0.001_388_731_6;
    pub const C3: f32 = 2.443_315_7e-5;
}

/// `(sin, cos)` of the drive phase `phase` (2⁻⁶⁴ turns, [`crate::ensemble::Drive::phase_at`])
/// in `f32`, the twin of `drive_sin_cos` in `shaders/neuron_update.wgsl` (the same operations in
/// the same order): the quadrant comes exactly from the upper bits of the integer phase, the
/// rest (upper 32 bits only, a quantisation of 1.5e-9 rad) becomes an angle in `[−π/4, π/4)`
/// for Cephes' `sinf`/`cosf` polynomials, both in plain Horner form (Mesa's shader compiler,
/// lavapipe's, refactors Cephes' `P·z·z − 0.5·z` into `z·(P·z − 0.5)`, which rounds
/// differently; in Horner form the GPU there computes these bits exactly). Max abs error
/// against the exact values: 1.0e-7 (tested below, bound 2e-7), whatever the phase, so the drive
/// never loses phase accuracy.
#[inline]
pub fn drive_sin_cos_f32(phase: u64) -> (f32, f32) {
    use drive_consts::*;
    let p = (phase >> 32) as u32;
    let q = p.wrapping_add(1 << 29) >> 30;
    let x = (p.wrapping_sub(q << 30) as i32) as f32 * STEP;
    let z = x * x;
    let s = ((S3 * z + S2) * z + S1) * z * x + x;
    let c = (((C3 * z + C2) * z + C1) * z - 0.5) * z + 1.0;
    match q & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// `(sin, cos)` of the drive phase `phase` (2⁻⁶⁴ turns) in `f64`: the exact phase as an angle
/// in `[−π, π)` (error ~1e-16 rad) and `f64::sin_cos`.
#[inline]
pub fn drive_sin_cos_f64(phase: u64) -> (f64, f64) {
    let angle = phase as i64 as f64 * (std::f64::consts::TAU / 18_446_744_073_709_551_616.0);
    angle.sin_cos()
}

/// [`drive_sin_cos_f32`] or [`drive_sin_cos_f64`], by the compute type.
#[inline]
pub fn drive_sin_cos<T: Real>(phase: u64) -> (T, T) {
    if std::mem::size_of::<T>() == 4 {
        let (s, c) = drive_sin_cos_f32(phase);
        (T::from_f64(s as f64), T::from_f64(c as f64))
    } else {
        let (s, c) = drive_sin_cos_f64(phase);
        (T::from_f64(s), T::from_f64(c))
    }
}

use super::local_field::{as_f32, local_field_panels, simd, PaddedWeights, Simd};
#[cfg(target_arch = "x86_64")]
use super::local_field::{avx512, local_field_avx512};

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
    let n = state.len();
    step_with_derivative_ld(params, weights, n, bias, state, signal, field, None)
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
    let n = state.len();
    step_with_derivative_ld(params, weights, n, bias, state, signal, field, derivative)
}

/// [`step`] with [`PaddedWeights`].
pub fn step_padded<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &PaddedWeights<T>,
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    let ld = weights.ld();
    step_with_derivative_ld(
        params,
        weights.as_slice(),
        ld,
        bias,
        state,
        signal,
        field,
        derivative,
    )
}

/// [`step_with_derivative`] with `W_ij` at `j · ld + i`.
#[allow(clippy::too_many_arguments)]
pub fn step_with_derivative_ld<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    ld: usize,
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    #[cfg(target_arch = "x86_64")]
    match simd() {
        // SAFETY: `simd()` never exceeds what the CPU supports; the functions only change codegen.
        Simd::Avx512 => unsafe {
            step_avx512(params, weights, ld, bias, state, signal, field, derivative)
        },
        Simd::Avx2 => unsafe {
            step_avx2(params, weights, ld, bias, state, signal, field, derivative)
        },
        Simd::Portable => step_portable(
            Simd::Portable,
            params,
            weights,
            ld,
            bias,
            state,
            signal,
            field,
            derivative,
        ),
    }
    #[cfg(not(target_arch = "x86_64"))]
    step_portable(
        Simd::Portable,
        params,
        weights,
        ld,
        bias,
        state,
        signal,
        field,
        derivative,
    )
}

/// [`step`] compiled with AVX-512 enabled; the same arithmetic (no FMA contraction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn step_avx512<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    ld: usize,
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    let n = state.len();
    local_field_avx512(n, ld, weights, signal, bias, field);
    let siri = match params.activation {
        Activation::Siri => Some(true),
        Activation::Tanh => Some(false),
        Activation::Relu => None,
    };
    match (siri, params.form, derivative.is_none()) {
        (Some(siri), Form::Rate, true) => {
            if let (Some(u), Some(&[g, a, one_minus_a])) = (
                as_f32(field),
                as_f32(&[params.gain, params.leak, params.one_minus_leak]),
            ) {
                let x = bytemuck::cast_slice_mut::<T, f32>(state);
                avx512::rate_update(siri, g, a, one_minus_a, x, u);
                signal.copy_from_slice(state);
                return;
            }
            activate(params, state, signal, field, None)
        }
        _ => activate(params, state, signal, field, derivative),
    }
}

/// [`step`] compiled with AVX2 enabled; the same arithmetic (no FMA contraction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn step_avx2<T: Real>(
    params: &TypedNeuronParams<T>,
    weights: &[T],
    ld: usize,
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    step_portable(
        Simd::Avx2,
        params,
        weights,
        ld,
        bias,
        state,
        signal,
        field,
        derivative,
    )
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_portable<T: Real>(
    level: Simd,
    params: &TypedNeuronParams<T>,
    weights: &[T],
    ld: usize,
    bias: &[T],
    state: &mut [T],
    signal: &mut [T],
    field: &mut [T],
    derivative: Option<&mut [T]>,
) {
    let n = state.len();
    local_field_panels(level, n, ld, weights, signal, bias, field);
    activate(params, state, signal, field, derivative)
}

/// The state update after the local field `field = u(t)` (and `D(t)` when asked).
#[inline(always)]
fn activate<T: Real>(
    params: &TypedNeuronParams<T>,
    state: &mut [T],
    signal: &mut [T],
    field: &[T],
    derivative: Option<&mut [T]>,
) {
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
    fn every_simd_level_gives_bitwise_equal_steps() {
        // Values across the tanh clamp, the small-argument branch, zeros, infinities and NaN.
        let mut u: Vec<f32> = (0..203).map(|k| (k as f32 - 101.0) * 0.013).collect();
        u.extend([
            0.0,
            -0.0,
            1e-5,
            -3e-4,
            9.0,
            -9.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        let n = u.len();
        let levels: Vec<Simd> = [Simd::Portable, Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|&l| l <= Simd::detect())
            .collect();
        // W = 0, so the local field is the bias: u itself.
        let w = vec![0f32; n * n];
        let same = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        for activation in Activation::ALL {
            for form in [Form::Rate, Form::Current] {
                let p = NeuronParams {
                    form,
                    activation,
                    gain: 1.7,
                    leak: 0.3,
                    threshold: 0.0,
                }
                .typed::<f32>();
                let x0: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).sin()).collect();
                let mut results = Vec::new();
                for &level in &levels {
                    let (mut x, mut s, mut f) = (x0.clone(), x0.clone(), vec![0f32; n]);
                    #[cfg(target_arch = "x86_64")]
                    match level {
                        Simd::Avx512 => unsafe {
                            step_avx512(&p, &w, n, &u, &mut x, &mut s, &mut f, None)
                        },
                        Simd::Avx2 => unsafe {
                            step_avx2(&p, &w, n, &u, &mut x, &mut s, &mut f, None)
                        },
                        Simd::Portable => {
                            step_portable(level, &p, &w, n, &u, &mut x, &mut s, &mut f, None)
                        }
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    step_portable(level, &p, &w, n, &u, &mut x, &mut s, &mut f, None);
                    results.push((level, x, s));
                }
                for (level, x, s) in &results[1..] {
                    assert!(same(x, &results[0].1), "{activation:?} {form:?} {level:?}");
                    assert!(same(s, &results[0].2), "{activation:?} {form:?} {level:?}");
                }
            }
        }
    }

    #[test]
    fn drive_sine_is_accurate_in_every_quadrant() {
        // Phases across the whole turn, the quadrant boundaries (±1 unit of the upper 32 bits)
        // and the wrap at 2π; the error bound holds for every phase.
        let mut phases: Vec<u64> = (0..200_000u64)
            .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        for q in 0..8u64 {
            let edge = q << 61;
            for d in [0u64, 1 << 32, 3 << 31] {
                phases.push(edge.wrapping_add(d));
                phases.push(edge.wrapping_sub(d));
            }
        }
        phases.push(u64::MAX);
        let mut worst: f64 = 0.0;
        for &p in &phases {
            let (s, c) = drive_sin_cos_f32(p);
            let (es, ec) = drive_sin_cos_f64(p);
            worst = worst.max((s as f64 - es).abs()).max((c as f64 - ec).abs());
            assert_eq!(drive_sin_cos::<f32>(p), (s, c));
        }
        eprintln!("measured: drive_sin_cos_f32 max abs error {worst:.2e}");
        assert!(worst < 2e-7, "max error {worst:e}");
        // The f64 angle: 1/8 turn is π/4, 3/4 turn is −π/2 (angles in [−π, π)).
        let (s, c) = drive_sin_cos_f64(1 << 61);
        assert!((s - 0.5f64.sqrt()).abs() < 1e-15 && (c - 0.5f64.sqrt()).abs() < 1e-15);
        let (s, c) = drive_sin_cos_f64(3 << 62);
        assert!((s + 1.0).abs() < 1e-15 && c.abs() < 1e-15);
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
