//! The local field `u = W s + b` and the recorded window's sums, vectorised at run time
//! (AVX-512, AVX2 or portable), bitwise equal at every level; the hot loops of the CPU twin of
//! `shaders/neuron_update.wgsl`. Weights column-major (see [`super::network`]).

use crate::model::real::Real;

/// The SIMD instruction set the CPU kernels are compiled for, chosen at run time (the default
/// build targets plain x86-64): AVX-512, AVX2, or the portable path (SSE2 on x86-64).
///
/// `HEBBNET_SIMD=avx2` or `HEBBNET_SIMD=portable` forces a lower level (to measure or compare
/// them). Every level computes the same operations in the same order with separate multiplies
/// and adds (no FMA contraction), so results are bitwise equal whatever is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Simd {
    Portable,
    Avx2,
    Avx512,
}

impl Simd {
    pub fn name(self) -> &'static str {
        match self {
            Simd::Portable => "portable SIMD",
            Simd::Avx2 => "AVX2",
            Simd::Avx512 => "AVX-512",
        }
    }

    /// Bytes of accumulators the local field keeps in registers: 8 vector registers.
    fn panel_bytes(self) -> usize {
        match self {
            Simd::Portable => 128,
            Simd::Avx2 => 256,
            Simd::Avx512 => 512,
        }
    }

    /// The best level this CPU supports.
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::Portable
    }
}

/// The level the kernels use: [`Simd::detect`], lowered by `HEBBNET_SIMD` (read once).
pub fn simd() -> Simd {
    static CHOSEN: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let best = Simd::detect();
        let wanted = match std::env::var("HEBBNET_SIMD").as_deref() {
            Ok("portable") => Simd::Portable,
            Ok("avx2") => Simd::Avx2,
            _ => best,
        };
        wanted.min(best)
    })
}

/// [`simd`]'s name, for the logs and the bench.
pub fn simd_level() -> &'static str {
    simd().name()
}

/// `W` for the CPU kernels: column-major with a leading dimension `ld ≥ N` rounded up to 64
/// bytes, and the first column aligned to 64 bytes, so every column starts on a cache line
/// (N = 100 in f32: 112 rows per column, 44.8 kB). Vector loads then never straddle two lines —
/// with N = 100 unpadded, three columns in four start mid-line, which costs the AVX-512 local
/// field 60% of its speed. The padding rows are zero and never read into a result.
#[derive(Clone, Debug)]
pub struct PaddedWeights<T: Real> {
    n: usize,
    ld: usize,
    offset: usize,
    buffer: Vec<T>,
}

impl<T: Real> PaddedWeights<T> {
    /// A copy of the column-major N × N `weights`.
    pub fn new(n: usize, weights: &[T]) -> Self {
        let lanes = (64 / std::mem::size_of::<T>()).max(1);
        let ld = n.next_multiple_of(lanes).max(lanes);
        let buffer = vec![T::ZERO; ld * n + lanes];
        let misalign = (buffer.as_ptr() as usize % 64) / std::mem::size_of::<T>();
        let offset = (lanes - misalign) % lanes;
        let mut padded = PaddedWeights {
            n,
            ld,
            offset,
            buffer,
        };
        padded.set(weights);
        padded
    }

    /// Copy the column-major N × N `weights` in.
    pub fn set(&mut self, weights: &[T]) {
        let (n, ld, o) = (self.n, self.ld, self.offset);
        assert_eq!(weights.len(), n * n);
        for (j, column) in weights.chunks_exact(n).enumerate() {
            self.buffer[o + j * ld..o + j * ld + n].copy_from_slice(column);
        }
    }

    /// The leading dimension: `W_ij` is at `j · ld + i` of [`Self::as_slice`].
    pub fn ld(&self) -> usize {
        self.ld
    }

    /// `ld · N` elements from the aligned first column.
    pub fn as_slice(&self) -> &[T] {
        &self.buffer[self.offset..self.offset + self.ld * self.n]
    }
}

/// Local field `u_i = b_i + Σ_j W_ij s_j` for all `i`, with `W` column-major.
///
/// Each `u_i` is summed in the order `j = 0, 1, …, N − 1`, starting from `b_i` — the order the GPU
/// kernel uses — so CPU and GPU differ only by the rounding of fused operations.
#[inline]
pub fn local_field<T: Real>(n: usize, weights: &[T], signal: &[T], bias: &[T], field: &mut [T]) {
    local_field_at(simd(), n, n, weights, signal, bias, field)
}

/// [`local_field`] at a given SIMD level (one not above [`Simd::detect`]) with `W_ij` at
/// `j · ld + i`.
pub fn local_field_at<T: Real>(
    level: Simd,
    n: usize,
    ld: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    assert!(level <= Simd::detect(), "{level:?} is not available here");
    #[cfg(target_arch = "x86_64")]
    match level {
        // SAFETY: the CPU supports the level (asserted above); the functions only change codegen.
        Simd::Avx512 => unsafe { local_field_avx512(n, ld, weights, signal, bias, field) },
        Simd::Avx2 => unsafe { local_field_avx2(n, ld, weights, signal, bias, field) },
        Simd::Portable => local_field_panels(Simd::Portable, n, ld, weights, signal, bias, field),
    }
    #[cfg(not(target_arch = "x86_64"))]
    local_field_panels(level, n, ld, weights, signal, bias, field)
}

fn check_shapes<T>(n: usize, ld: usize, weights: &[T], signal: &[T], bias: &[T], field: &[T]) {
    assert!(
        ld >= n
            && weights.len() >= (ld * n).saturating_sub(ld - n)
            && signal.len() == n
            && bias.len() == n
            && field.len() == n,
        "local field shapes: N = {n}, ld = {ld}, |W| = {}",
        weights.len()
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn local_field_avx512<T: Real>(
    n: usize,
    ld: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    if let (Some(w), Some(s), Some(b)) = (as_f32(weights), as_f32(signal), as_f32(bias)) {
        let u = bytemuck::cast_slice_mut::<T, f32>(field);
        avx512::local_field(n, ld, w, s, b, u);
    } else {
        local_field_panels(Simd::Avx512, n, ld, weights, signal, bias, field)
    }
}

/// `v` as `f32` when `T` is `f32`.
pub(super) fn as_f32<T: Real>(v: &[T]) -> Option<&[f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        .then(|| bytemuck::cast_slice::<T, f32>(v))
}

/// Same arithmetic, compiled with AVX2 enabled (chosen at run time: the default target has none).
/// Multiplications and additions stay separate (no FMA contraction), so results are bitwise equal
/// to the portable path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn local_field_avx2<T: Real>(
    n: usize,
    ld: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    local_field_panels(Simd::Avx2, n, ld, weights, signal, bias, field)
}

/// The `f32` local field in AVX-512 intrinsics: LLVM's generic x86-64 tuning vectorises the
/// portable panels with 256-bit registers only, even where AVX-512 is enabled.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    use std::arch::x86_64::*;

    /// Rows in panels of at most 8 registers (128 rows), split evenly, each panel a multiple of
    /// 16 rows but the last, whose final register is masked: no row outside `0..N` is read.
    #[target_feature(enable = "avx512f")]
    pub fn local_field(n: usize, ld: usize, w: &[f32], s: &[f32], b: &[f32], u: &mut [f32]) {
        super::check_shapes(n, ld, w, s, b, u);
        let mut i0 = 0;
        while i0 < n {
            let remaining = n - i0;
            let panels = remaining.div_ceil(128);
            let rows = remaining
                .div_ceil(panels)
                .next_multiple_of(16)
                .min(128)
                .min(remaining);
            // SAFETY: rows i0..i0 + rows < N of every column are inside `w` (checked shapes);
            // masked lanes are not accessed.
            unsafe {
                match rows.div_ceil(16) {
                    1 => panel::<1>(n, ld, i0, rows, w, s, b, u),
                    2 => panel::<2>(n, ld, i0, rows, w, s, b, u),
                    3 => panel::<3>(n, ld, i0, rows, w, s, b, u),
                    4 => panel::<4>(n, ld, i0, rows, w, s, b, u),
                    5 => panel::<5>(n, ld, i0, rows, w, s, b, u),
                    6 => panel::<6>(n, ld, i0, rows, w, s, b, u),
                    7 => panel::<7>(n, ld, i0, rows, w, s, b, u),
                    8 => panel::<8>(n, ld, i0, rows, w, s, b, u),
                    _ => unreachable!("panels hold 1 to 8 registers"),
                }
            }
            i0 += rows;
        }
    }

    /// Rows `i0..i0 + rows` (`16(R − 1) < rows ≤ 16R`): `R` accumulators start at the bias, and
    /// for each column `j` in order get `+ W[i, j] · s_j` (a multiply, then an add).
    ///
    /// # Safety
    /// AVX-512F; `i0 + rows ≤ N`, and `w` holds every column's rows `0..N` at `j · ld`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel<const R: usize>(
        n: usize,
        ld: usize,
        i0: usize,
        rows: usize,
        w: &[f32],
        s: &[f32],
        b: &[f32],
        u: &mut [f32],
    ) {
        let rest = rows - 16 * (R - 1);
        let last: __mmask16 = if rest >= 16 {
            0xFFFF
        } else {
            ((1u32 << rest) - 1) as __mmask16
        };
        let mask = |r: usize| if r + 1 == R { last } else { 0xFFFF };
        let mut acc = [_mm512_setzero_ps(); R];
        for (r, a) in acc.iter_mut().enumerate() {
            *a = _mm512_maskz_loadu_ps(mask(r), b.as_ptr().add(i0 + 16 * r));
        }
        let mut column = w.as_ptr().add(i0);
        for &sj in &s[..n] {
            let sj = _mm512_set1_ps(sj);
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = if r + 1 == R {
                    _mm512_maskz_loadu_ps(last, column.add(16 * r))
                } else {
                    _mm512_loadu_ps(column.add(16 * r))
                };
                *a = _mm512_add_ps(*a, _mm512_mul_ps(wv, sj));
            }
            column = column.add(ld);
        }
        for (r, a) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(u.as_mut_ptr().add(i0 + 16 * r), mask(r), *a);
        }
    }

    /// [`crate::model::real::tanh_f32`] on 16 lanes, operation for operation (the clamp
    /// propagates NaN: `max`/`min` return their second operand when one is NaN).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn tanh16(x: __m512) -> __m512 {
        use crate::model::real::tanh_consts::*;
        let c = _mm512_min_ps(
            _mm512_set1_ps(CLAMP),
            _mm512_max_ps(_mm512_set1_ps(-CLAMP), x),
        );
        let x2 = _mm512_mul_ps(c, c);
        let step = |p: __m512, k: f32| _mm512_add_ps(_mm512_mul_ps(x2, p), _mm512_set1_ps(k));
        let mut p = _mm512_add_ps(_mm512_mul_ps(x2, _mm512_set1_ps(A13)), _mm512_set1_ps(A11));
        p = step(p, A9);
        p = step(p, A7);
        p = step(p, A5);
        p = step(p, A3);
        p = step(p, A1);
        p = _mm512_mul_ps(p, c);
        let mut q = _mm512_add_ps(_mm512_mul_ps(x2, _mm512_set1_ps(B6)), _mm512_set1_ps(B4));
        q = step(q, B2);
        q = step(q, B0);
        let t = _mm512_div_ps(p, q);
        let small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_abs_ps(c), _mm512_set1_ps(SMALL));
        _mm512_mask_blend_ps(small, t, c)
    }

    /// The rate-form state update `x ← (1 − a) x + a f(g u)` with `f` = siri
    /// (`½ (1 + tanh)`) or `tanh`, in the operation order of the generic code.
    #[target_feature(enable = "avx512f")]
    pub fn rate_update(siri: bool, g: f32, a: f32, one_minus_a: f32, x: &mut [f32], u: &[f32]) {
        let n = x.len();
        assert_eq!(u.len(), n);
        let (g, a, b) = (
            _mm512_set1_ps(g),
            _mm512_set1_ps(a),
            _mm512_set1_ps(one_minus_a),
        );
        let (one, half) = (_mm512_set1_ps(1.0), _mm512_set1_ps(0.5));
        for i in (0..n).step_by(16) {
            let m: __mmask16 = if n - i >= 16 {
                0xFFFF
            } else {
                ((1u32 << (n - i)) - 1) as __mmask16
            };
            // SAFETY: lanes i..min(i + 16, n) of both slices; masked lanes are not accessed.
            unsafe {
                let uv = _mm512_maskz_loadu_ps(m, u.as_ptr().add(i));
                let xv = _mm512_maskz_loadu_ps(m, x.as_ptr().add(i));
                let t = tanh16(_mm512_mul_ps(g, uv));
                let f = if siri {
                    _mm512_mul_ps(half, _mm512_add_ps(one, t))
                } else {
                    t
                };
                let next = _mm512_add_ps(_mm512_mul_ps(b, xv), _mm512_mul_ps(a, f));
                _mm512_mask_storeu_ps(x.as_mut_ptr().add(i), m, next);
            }
        }
    }
}

/// The recorded window's sums: `S1_i += s_i − ref_i`, `S2_i += (s_i − ref_i)²`, vectorised at
/// the [`simd`] level.
pub fn accumulate_shifted<T: Real>(signal: &[T], reference: &[T], s1: &mut [T], s2: &mut [T]) {
    #[inline(always)]
    fn sums<T: Real>(signal: &[T], reference: &[T], s1: &mut [T], s2: &mut [T]) {
        for (((&s, &r), a), b) in signal.iter().zip(reference).zip(s1).zip(s2) {
            let d = s - r;
            *a += d;
            *b += d * d;
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512<T: Real>(signal: &[T], reference: &[T], s1: &mut [T], s2: &mut [T]) {
            sums(signal, reference, s1, s2)
        }
        #[target_feature(enable = "avx2")]
        fn avx2<T: Real>(signal: &[T], reference: &[T], s1: &mut [T], s2: &mut [T]) {
            sums(signal, reference, s1, s2)
        }
        match simd() {
            // SAFETY: `simd()` never exceeds what the CPU supports.
            Simd::Avx512 => unsafe { avx512(signal, reference, s1, s2) },
            Simd::Avx2 => unsafe { avx2(signal, reference, s1, s2) },
            Simd::Portable => sums(signal, reference, s1, s2),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    sums(signal, reference, s1, s2)
}

/// The rows in panels, each swept once over all columns with its accumulators in registers.
///
/// A panel holds at most 8 vector registers of rows (`level.panel_bytes()`), and the rows are
/// split evenly over the fewest such panels, rounded up to 8 rows: N = 100 in f32 is two panels
/// of 56 and 48 rows with AVX2 (enough independent add chains to hide the add latency). A panel
/// that runs past row N reads padding rows, or the next column's first rows, into lanes it then
/// discards, so no row is ever done by a separate scalar sweep.
#[inline(always)]
pub(super) fn local_field_panels<T: Real>(
    level: Simd,
    n: usize,
    ld: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    check_shapes(n, ld, weights, signal, bias, field);
    let max_rows = (level.panel_bytes() / std::mem::size_of::<T>()).clamp(8, 128) / 8 * 8;
    let mut i0 = 0;
    while i0 < n {
        let remaining = n - i0;
        let panels = remaining.div_ceil(max_rows);
        let rows = remaining.div_ceil(panels).next_multiple_of(8).min(max_rows);
        macro_rules! dispatch {
            ($($k:literal),*) => {
                match rows / 8 {
                    $($k => panel::<T, { 8 * $k }>(n, ld, i0, weights, signal, bias, field),)*
                    _ => unreachable!("panels hold 8 to 128 rows"),
                }
            };
        }
        dispatch!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        i0 += rows.min(remaining);
    }
}

/// Rows `i0..i0 + B` (those below N) of the local field, sweeping all columns once.
///
/// Column `j`'s rows are read as `weights[j · ld + i0 ..][..B]`; past row N that is padding or
/// the start of column `j + 1`, harmless in lanes that are discarded. The last columns, where
/// that window would leave the slice, are read through a zero-padded copy.
#[inline(always)]
fn panel<T: Real, const B: usize>(
    n: usize,
    ld: usize,
    i0: usize,
    weights: &[T],
    signal: &[T],
    bias: &[T],
    field: &mut [T],
) {
    let valid = (n - i0).min(B);
    let mut acc = [T::ZERO; B];
    acc[..valid].copy_from_slice(&bias[i0..i0 + valid]);
    let len = weights.len();
    // Columns j with j · ld + i0 + B ≤ |W|.
    let inside = if len >= i0 + B {
        ((len - i0 - B) / ld + 1).min(n)
    } else {
        0
    };
    for (j, &s) in signal.iter().enumerate().take(inside) {
        let w: &[T; B] = weights[j * ld + i0..j * ld + i0 + B]
            .try_into()
            .expect("window of a column");
        for b in 0..B {
            acc[b] += w[b] * s;
        }
    }
    for (j, &s) in signal.iter().enumerate().skip(inside) {
        let start = j * ld + i0;
        let take = (len - start).min(B);
        let mut w = [T::ZERO; B];
        w[..take].copy_from_slice(&weights[start..start + take]);
        for b in 0..B {
            acc[b] += w[b] * s;
        }
    }
    field[i0..i0 + valid].copy_from_slice(&acc[..valid]);
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn every_simd_level_gives_bitwise_equal_fields() {
        let levels: Vec<Simd> = [Simd::Portable, Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|&l| l <= Simd::detect())
            .collect();
        for n in [1usize, 3, 8, 37, 100, 129, 300] {
            let w: Vec<f32> = (0..n * n)
                .map(|k| ((k * 7919) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let s: Vec<f32> = (0..n).map(|j| (j as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
            let mut expect = b.clone();
            for (i, e) in expect.iter_mut().enumerate() {
                for j in 0..n {
                    *e += w[j * n + i] * s[j];
                }
            }
            let padded = PaddedWeights::new(n, &w);
            assert_eq!(padded.as_slice().as_ptr() as usize % 64, 0);
            assert_eq!(padded.ld() % 16, 0);
            for &level in &levels {
                for (ld, weights) in [(n, &w[..]), (padded.ld(), padded.as_slice())] {
                    let mut u = vec![0f32; n];
                    local_field_at(level, n, ld, weights, &s, &b, &mut u);
                    for i in 0..n {
                        assert_eq!(
                            u[i].to_bits(),
                            expect[i].to_bits(),
                            "{level:?} N = {n} ld = {ld} row {i}"
                        );
                    }
                }
            }
            // f64 through the generic panels.
            let w64: Vec<f64> = w.iter().map(|&v| v as f64).collect();
            let s64: Vec<f64> = s.iter().map(|&v| v as f64).collect();
            let b64: Vec<f64> = b.iter().map(|&v| v as f64).collect();
            let mut e64 = b64.clone();
            for (i, e) in e64.iter_mut().enumerate() {
                for j in 0..n {
                    *e += w64[j * n + i] * s64[j];
                }
            }
            let p64 = PaddedWeights::new(n, &w64);
            for &level in &levels {
                let mut u = vec![0f64; n];
                local_field_at(level, n, p64.ld(), p64.as_slice(), &s64, &b64, &mut u);
                assert_eq!(u, e64, "{level:?} N = {n} f64");
            }
        }
    }
}
