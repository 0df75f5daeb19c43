//! Register-blocked products `A · X` for the analysis kernels (tangent propagation, Gram
//! matrices), in AVX-512 intrinsics for `f32` and `f64`.
//!
//! A block of `R` vector registers of rows of `A` (column-major, leading dimension `lda`) times
//! `C` columns of `X` (column-major, `ldx`) keeps its `R·C` accumulators in registers for the
//! whole inner sum: per inner index `j`, `R` vector loads of `A`'s column `j` and `C` broadcasts of
//! `X[j, c]`. Each accumulator starts at zero and gets `+ A[i, j] · X[j, c]` for `j = 0, 1, …` in
//! order, a multiply then an add (no FMA), so a portable loop in the same order gives the same
//! bits (each caller keeps such a twin).

/// Call `$f::<$t, R, C>(args…)` with `R = min($rows, 4)` registers and `C = min($cols, 6)`
/// columns as constants (the largest shape is `$rmax` × `$cmax`, which must be 4 × 6).
macro_rules! by_shape {
    ($rows:expr, $cols:expr, $rmax:expr, $cmax:expr, $f:ident::<$t:ty>($($arg:expr),*)) => {
        match $rows {
            1 => $crate::analysis::blocked::by_shape!(@c 1, $cols, $cmax, $f, $t, ($($arg),*)),
            2 => $crate::analysis::blocked::by_shape!(@c 2, $cols, $cmax, $f, $t, ($($arg),*)),
            3 => $crate::analysis::blocked::by_shape!(@c 3, $cols, $cmax, $f, $t, ($($arg),*)),
            _ => $crate::analysis::blocked::by_shape!(@c $rmax, $cols, $cmax, $f, $t, ($($arg),*)),
        }
    };
    (@c $r:expr, $cols:expr, $cmax:expr, $f:ident, $t:ty, ($($arg:expr),*)) => {
        match $cols {
            1 => $f::<$t, $r, 1>($($arg),*),
            2 => $f::<$t, $r, 2>($($arg),*),
            3 => $f::<$t, $r, 3>($($arg),*),
            4 => $f::<$t, $r, 4>($($arg),*),
            5 => $f::<$t, $r, 5>($($arg),*),
            _ => $f::<$t, $r, $cmax>($($arg),*),
        }
    };
}
pub(crate) use by_shape;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use crate::model::Real;
    use std::arch::x86_64::*;

    /// One AVX-512 register of `Self`.
    pub trait Lanes: Real {
        type V: Copy;
        const LANES: usize;
        unsafe fn zero() -> Self::V;
        unsafe fn splat(x: Self) -> Self::V;
        unsafe fn load(p: *const Self) -> Self::V;
        unsafe fn store(p: *mut Self, v: Self::V);
        unsafe fn vadd(x: Self::V, y: Self::V) -> Self::V;
        unsafe fn vmul(x: Self::V, y: Self::V) -> Self::V;
    }

    impl Lanes for f32 {
        type V = __m512;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn vadd(x: __m512, y: __m512) -> __m512 {
            _mm512_add_ps(x, y)
        }
        #[inline(always)]
        unsafe fn vmul(x: __m512, y: __m512) -> __m512 {
            _mm512_mul_ps(x, y)
        }
    }

    impl Lanes for f64 {
        type V = __m512d;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> __m512d {
            _mm512_setzero_pd()
        }
        #[inline(always)]
        unsafe fn splat(x: f64) -> __m512d {
            _mm512_set1_pd(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> __m512d {
            _mm512_loadu_pd(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: __m512d) {
            _mm512_storeu_pd(p, v)
        }
        #[inline(always)]
        unsafe fn vadd(x: __m512d, y: __m512d) -> __m512d {
            _mm512_add_pd(x, y)
        }
        #[inline(always)]
        unsafe fn vmul(x: __m512d, y: __m512d) -> __m512d {
            _mm512_mul_pd(x, y)
        }
    }

    /// `acc[r][c] = Σ_{j < n} A[r·LANES + lane, j] · X[j, c]` for the block whose first row of
    /// `A` is at `a` and `X[0, 0]` at `x`, with `X[j, c]` at `x + c·xc + j·xj` (column-major:
    /// `xc = ldx`, `xj = 1`; row-major: `xc = 1`, `xj = ld`). See the module doc for the order.
    ///
    /// # Safety
    /// AVX-512F; `a + j·lda + r·LANES + lane` and `x + c·xc + j·xj` are readable for `j < n`,
    /// `r < R`, `c < C`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::needless_range_loop)] // r and c index two arrays each
    pub unsafe fn product<T: Lanes, const R: usize, const C: usize>(
        a: *const T,
        lda: usize,
        x: *const T,
        xc: usize,
        xj: usize,
        n: usize,
    ) -> [[T::V; C]; R] {
        let mut acc = [[T::zero(); C]; R];
        let mut ap = a;
        for j in 0..n {
            let mut av = [T::zero(); R];
            for (r, v) in av.iter_mut().enumerate() {
                *v = T::load(ap.add(r * T::LANES));
            }
            for c in 0..C {
                let v = T::splat(*x.add(c * xc + j * xj));
                for r in 0..R {
                    acc[r][c] = T::vadd(acc[r][c], T::vmul(av[r], v));
                }
            }
            ap = ap.add(lda);
        }
        acc
    }
}
