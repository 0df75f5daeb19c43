//! The floating-point types the CPU backend computes in.
//!
//! The CPU backend is generic over [`Real`] so that one implementation serves the default `f32`
//! runs (what the GPU computes in) and `f64` reference runs.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

/// A floating-point scalar: `f32` or `f64`.
pub trait Real:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Send
    + Sync
    + bytemuck::Pod
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + AddAssign
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    const HALF: Self;
    /// Name used in manifests and `.npy` dtypes (`"f32"`, `"f64"`).
    const NAME: &'static str;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn tanh(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
}

/// The constants of [`tanh_f32`] (shared with the AVX-512 kernel in `network.rs`).
pub(crate) mod tanh_consts {
    pub const CLAMP: f32 = 7.905_311;
    pub const A1: f32 = 4.893_524_6e-3;
    pub const A3: f32 = 6.372_619_3e-4;
    pub const A5: f32 = 1.485_722_4e-5;
    pub const A7: f32 = 5.122_297e-8;
    pub const A9: f32 = -8.604_672e-11;
    pub const A11: f32 = 2.000_188e-13;
    pub const A13: f32 = -2.760_768_5e-16;
    pub const B0: f32 = 4.893_525e-3;
    pub const B2: f32 = 2.268_434_6e-3;
    pub const B4: f32 = 1.185_347_1e-4;
    pub const B6: f32 = 1.198_258_4e-6;
    /// Below this |x|, `tanh x` is `x`.
    pub const SMALL: f32 = 4e-4;
}

/// `tanh` in `f32` as a rational function, the same on every backend (`tanh_f32` in
/// `shaders/common.wgsl`): platform `tanh` implementations differ (libm, lavapipe, and GPU
/// drivers, whose precision WGSL leaves unspecified), and libm's is not vectorisable.
///
/// The approximation is Eigen's `generic_fast_tanh_float`: on `[−7.9053, 7.9053]` (clamped
/// outside, where `tanh` rounds to ±1 within 3e-7), `tanh(x) ≈ x·P(x²)/Q(x²)` with `P` of degree 6
/// and `Q` of degree 3; `|x| < 4e-4` returns `x`. Maximum absolute error against the exact
/// `tanh`: 4.2e-7, near |x| = 5.8 (tested in this module, bound 5e-7). The `f64` type uses the
/// exact `f64::tanh`.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    use tanh_consts::*;
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let mut p = x2 * A13 + A11;
    p = x2 * p + A9;
    p = x2 * p + A7;
    p = x2 * p + A5;
    p = x2 * p + A3;
    p = x2 * p + A1;
    p *= c;
    let mut q = x2 * B6 + B4;
    q = x2 * q + B2;
    q = x2 * q + B0;
    let t = p / q;
    if c.abs() < SMALL {
        c
    } else {
        t
    }
}

macro_rules! impl_real {
    ($t:ty, $name:literal, $tanh:expr) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
        }
    };
}
impl_real!(f32, "f32", tanh_f32);
impl_real!(f64, "f64", f64::tanh);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_tanh_is_within_5e7_of_the_exact_tanh() {
        let mut worst: (f64, f32) = (0.0, 0.0);
        let mut x = -12.0f32;
        while x <= 12.0 {
            let err = (tanh_f32(x) as f64 - (x as f64).tanh()).abs();
            if err > worst.0 {
                worst = (err, x);
            }
            x += 1.0 / 4096.0;
        }
        for x in [0.0f32, 1e-6, -3e-4, 5e-4, 1e-30, 30.0, -1e30] {
            let err = (tanh_f32(x) as f64 - (x as f64).tanh()).abs();
            assert!(err < 5e-7, "x = {x}: {err}");
        }
        assert!(worst.0 < 5e-7, "max error {} at x = {}", worst.0, worst.1);
        assert_eq!(tanh_f32(0.0), 0.0);
        assert_eq!(tanh_f32(-2.5), -tanh_f32(2.5));
        assert!(tanh_f32(f32::NAN).is_nan());
    }
}
