//! Re-orthonormalisation of `f32` tangent vectors by Cholesky QR in `f64`.
//!
//! `Q = Q' R` with `R` upper triangular and positive on its diagonal, from the Gram matrix:
//!
//! ```text
//! G = Qᵀ Q  (f64),   G = Rᵀ R  (Cholesky),   Q' = Q R⁻¹  (f64, then rounded to f32)
//! ```
//!
//! 2Nk² + k³/3 flops in three regular, vectorisable loops instead of a Householder QR plus the
//! formation of `Q'` (4Nk² − 4k³/3 in BLAS-2-shaped panels at k ≈ N ≈ 100, where faer's
//! Householder QR took 40% of a full-spectrum run). Cholesky QR loses accuracy as
//! `ε₆₄ · cond(Q)²` (Gram matrix): the relative error of `R` and the loss of orthogonality of `Q'`
//! stay below 1e-8 — under the `f32` rounding of the tangents themselves — while `cond(Q)` is
//! below [`CONDITION_LIMIT`] = 1e4. The QR method keeps `Q` far better conditioned than that (the
//! adaptive interval of `super::lyapunov` aims at 1e3 for `f32` tangents), so
//! [`cholesky_qr`] declines — and the caller uses Householder — when the Gram matrix is not
//! numerically positive definite or `max R_ii / min R_ii` (a lower bound of `cond(Q)`) exceeds
//! the limit. `f64` tangents, whose budget is 1e8, always use Householder.
//!
//! Sums run in a fixed order with separate multiplies and adds at every SIMD level (the loops
//! are written lane-wise for the auto-vectoriser and compiled for AVX-512, AVX2 or baseline
//! x86-64 by [`crate::model::analog::local_field::simd`]), so the result does not depend on the level.

use std::ops::Range;

use super::tangent::TangentBlock;
use super::team::Team;
use crate::model::analog::local_field::{simd, Simd};
use crate::model::Real;

/// The largest `max R_ii / min R_ii` for which a Cholesky QR is accepted.
pub const CONDITION_LIMIT: f64 = 1e4;

/// Lanes of the written-out vector loops (one AVX-512 register of f64).
const L: usize = 8;
/// Columns per block of the solve.
const B: usize = 4;
/// Pivots per panel of the Cholesky factorisation.
const PANEL: usize = 4;
/// Rows per chunk of the solve (two registers).
const SOLVE_ROWS: usize = 2 * L;
/// Register blocks of the Gram product (as in `super::blocked`): 4 registers × 6 columns.
const GRAM_REGISTERS: usize = 4;
const GRAM_COLUMNS: usize = 6;

/// Buffers of one replica's Cholesky QR (N × k), reused from one QR to the next.
#[derive(Clone, Debug, Default)]
pub struct CholeskyQr {
    n: usize,
    k: usize,
    /// Rows per column, N rounded up to a multiple of 2L (zero beyond N).
    ld: usize,
    /// Columns rounded up to a multiple of L (zero beyond k).
    kp: usize,
    /// `Q`, then `Q'`, column-major with leading dimension `ld`.
    q: Vec<f64>,
    /// `Q` row-major (row `i` at `i·kp`), for vector loads along a row in the Gram product.
    qt: Vec<f64>,
    /// `G`, then `R`: upper triangle, row-major kp × kp.
    r: Vec<f64>,
}

impl CholeskyQr {
    pub fn new(n: usize, k: usize) -> Self {
        let ld = n.next_multiple_of(2 * L).max(2 * L);
        let kp = k.next_multiple_of(L).max(L);
        CholeskyQr {
            n,
            k,
            ld,
            kp,
            q: vec![0.0; ld * kp],
            qt: vec![0.0; n * kp],
            r: vec![0.0; kp * kp],
        }
    }
}

impl CholeskyQr {
    /// `Q` in f64, column- and row-major, the columns split over the `team` in whole tiles.
    fn load<T: Real>(&mut self, q: &TangentBlock<T>, team: &Team) {
        let (n, k, ld, kp) = (self.n, self.k, self.ld, self.kp);
        let tiles = k.div_ceil(L);
        let parts = team.size().clamp(1, tiles);
        let (col, row) = (
            Output::<f64> {
                at: self.q.as_mut_ptr(),
                ld,
            },
            Output::<f64> {
                at: self.qt.as_mut_ptr(),
                ld: kp,
            },
        );
        let run = |part: usize| {
            let columns = (part * tiles / parts * L)..((part + 1) * tiles / parts * L).min(k);
            for c in columns.clone() {
                // SAFETY: column c (rows 0..n < ld) belongs to this part alone.
                let to = unsafe { std::slice::from_raw_parts_mut(col.start().add(c * ld), n) };
                for (x, y) in to.iter_mut().zip(q.column(c)) {
                    *x = y.to_f64();
                }
            }
            // The transpose in 8 × 8 tiles, so that both sides stay within a few cache lines.
            for i0 in (0..n).step_by(L) {
                for c0 in columns.clone().step_by(L) {
                    for i in i0..(i0 + L).min(n) {
                        for c in c0..(c0 + L).min(columns.end) {
                            // SAFETY: entry (i, c) of the row-major copy, c in this part's
                            // columns; column c of `col` was written above by this part.
                            unsafe { *row.start().add(i * kp + c) = *col.start().add(c * ld + i) };
                        }
                    }
                }
            }
        };
        team.run(parts, &run);
    }

    #[cfg(test)]
    fn upper(&self) -> Vec<f64> {
        (0..self.k)
            .flat_map(|j| self.r[j * self.kp + j..j * self.kp + self.k].to_vec())
            .collect()
    }
}

/// Replace `q` by `Q' = Q R⁻¹` and return `diag(R)` (positive), or return `None` and leave `q`
/// as it was when `Q` is too ill-conditioned for a Cholesky QR (see the module doc).
pub fn cholesky_qr<T: Real>(
    q: &mut TangentBlock<T>,
    work: &mut CholeskyQr,
    team: &Team,
) -> Option<Vec<f64>> {
    assert_eq!(
        (q.nrows(), q.ncols()),
        (work.n, work.k),
        "Cholesky QR shape"
    );
    let k = work.k;
    work.load(q, team);
    let level = simd();
    if !factor_at(level, work, team) {
        return None;
    }
    let diagonal: Vec<f64> = (0..k).map(|j| work.r[j * work.kp + j]).collect();
    let (big, small) = diagonal
        .iter()
        .fold((0.0f64, f64::INFINITY), |(b, s), &d| (b.max(d), s.min(d)));
    let condition = big / small;
    if condition > CONDITION_LIMIT || condition.is_nan() {
        return None;
    }
    solve_at(level, work, q, team);
    Some(diagonal)
}

/// Gram matrix (rows split over `threads` tasks) and Cholesky factor at a SIMD level; false if
/// a pivot is not positive.
fn factor_at(level: Simd, w: &mut CholeskyQr, team: &Team) -> bool {
    let (k, kp) = (w.k, w.kp);
    // Row a of the upper triangle costs ∝ kp − a: the first task takes the rows up to
    // k(1 − 1/√2), which is half of the work, rounded to whole register blocks.
    let split = if team.size() > 1 && k >= 4 * GRAM_COLUMNS {
        ((k as f64 * (1.0 - std::f64::consts::FRAC_1_SQRT_2)) as usize)
            .next_multiple_of(GRAM_COLUMNS)
    } else {
        k
    };
    let (first, second) = w.r.split_at_mut(split * kp);
    let (q, qt) = (&w.q[..], &w.qt[..]);
    let shape = Shape {
        n: w.n,
        k,
        kp,
        ld: w.ld,
    };
    if split < k && team.size() > 1 {
        team.run_each(vec![first, second], &|part, r| {
            let rows = if part == 0 { 0..split } else { split..k };
            gram_at(level, shape, q, qt, r, rows);
        });
    } else {
        gram_at(level, shape, q, qt, first, 0..k);
    }
    cholesky_at(level, w)
}

/// The sizes of a [`CholeskyQr`].
#[derive(Clone, Copy, Debug)]
struct Shape {
    n: usize,
    k: usize,
    kp: usize,
    ld: usize,
}

fn gram_at(level: Simd, s: Shape, q: &[f64], qt: &[f64], r: &mut [f64], rows: Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(s: Shape, q: &[f64], qt: &[f64], r: &mut [f64], rows: Range<usize>) {
            // SAFETY: compiled for AVX-512F.
            unsafe { gram_avx512(s, q, qt, r, rows) }
        }
        #[target_feature(enable = "avx2")]
        fn avx2(s: Shape, q: &[f64], qt: &[f64], r: &mut [f64], rows: Range<usize>) {
            gram(s, q, qt, r, rows)
        }
        match level {
            // SAFETY: `simd()` never exceeds what the CPU supports.
            Simd::Avx512 => unsafe { avx512(s, q, qt, r, rows) },
            Simd::Avx2 => unsafe { avx2(s, q, qt, r, rows) },
            Simd::Portable => gram(s, q, qt, r, rows),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = level;
        gram(s, q, qt, r, rows)
    }
}

fn cholesky_at(level: Simd, w: &mut CholeskyQr) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(w: &mut CholeskyQr) -> bool {
            cholesky(w, Simd::Avx512)
        }
        #[target_feature(enable = "avx2")]
        fn avx2(w: &mut CholeskyQr) -> bool {
            cholesky(w, Simd::Avx2)
        }
        match level {
            // SAFETY: `simd()` never exceeds what the CPU supports.
            Simd::Avx512 => unsafe { avx512(w) },
            Simd::Avx2 => unsafe { avx2(w) },
            Simd::Portable => cholesky(w, Simd::Portable),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    cholesky(w, level)
}

/// `q ← Q R⁻¹` (rounded to `T`) at a SIMD level, the row chunks split over `threads` tasks.
fn solve_at<T: Real>(level: Simd, w: &CholeskyQr, q: &mut TangentBlock<T>, team: &Team) {
    let chunks = w.ld / SOLVE_ROWS;
    let tasks = team.size().clamp(1, chunks);
    let out = Output {
        at: q.as_mut_slice().as_mut_ptr(),
        ld: q.ld(),
    };
    let run = |part: usize| {
        let rows = (part * chunks / tasks * SOLVE_ROWS)..((part + 1) * chunks / tasks * SOLVE_ROWS);
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512<T: Real>(w: &CholeskyQr, rows: Range<usize>, out: Output<T>) {
                solve(w, rows, out, Simd::Avx512)
            }
            #[target_feature(enable = "avx2")]
            fn avx2<T: Real>(w: &CholeskyQr, rows: Range<usize>, out: Output<T>) {
                solve(w, rows, out, Simd::Avx2)
            }
            match level {
                // SAFETY: `simd()` never exceeds what the CPU supports.
                Simd::Avx512 => unsafe { avx512(w, rows, out) },
                Simd::Avx2 => unsafe { avx2(w, rows, out) },
                Simd::Portable => solve(w, rows, out, Simd::Portable),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            solve(w, rows, out, level)
        }
    };
    team.run(tasks, &run);
}

/// Where [`solve`] writes `Q'` (the tangent block's columns, `ld` apart, rows `0..N`), and where
/// [`CholeskyQr::load`] writes `Q` in f64 (columns `ld` apart, or rows `kp` apart). Parts write
/// disjoint ranges of it.
struct Output<T> {
    at: *mut T,
    ld: usize,
}

impl<T> Output<T> {
    /// The first entry (a method, so that closures capture the whole `Sync` wrapper).
    fn start(&self) -> *mut T {
        self.at
    }
}

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Output<T> {}
// SAFETY: `solve_at` gives each part its own rows; the block outlives the parts (`Team::run`
// returns when all are done).
unsafe impl<T: Send> Send for Output<T> {}
unsafe impl<T: Sync> Sync for Output<T> {}

/// The upper triangle of `G = Qᵀ Q` (row-major, `G_ab` for `b ≥ a`, and some entries below
/// the diagonal that are never read): `G_ab = Σ_i Q_ia Q_ib` summed from zero in the order
/// `i = 0..N`, a multiply then an add per term. The portable loop runs along a row of `G`
/// (vectorisable over `b`); AVX-512 computes blocks of 4 × 8 entries of `b` for 6 rows `a` with
/// `super::blocked::avx512::product` (`A` = `Qᵀ` from the row-major copy, `X` = `Q`).
#[inline(always)]
fn gram(s: Shape, q: &[f64], qt: &[f64], r: &mut [f64], rows: Range<usize>) {
    let Shape { n, k, kp, ld } = s;
    let mut acc = vec![0.0f64; kp];
    for a in rows.clone() {
        let acc = &mut acc[a..k];
        acc.fill(0.0);
        for i in 0..n {
            let qa = q[a * ld + i];
            for (g, &qb) in acc.iter_mut().zip(&qt[i * kp + a..i * kp + k]) {
                *g += qb * qa;
            }
        }
        let row = (a - rows.start) * kp;
        r[row + a..row + k].copy_from_slice(acc);
    }
}

/// [`gram`] in register blocks: for each block of up to 6 rows `a`, the columns `b` from the
/// 8-aligned one at or below `a0` to `kp`, 4 registers at a time.
///
/// # Safety
/// AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gram_avx512(s: Shape, q: &[f64], qt: &[f64], r: &mut [f64], rows: Range<usize>) {
    use super::blocked::avx512::{product, Lanes};
    use super::blocked::by_shape;

    /// Rows `a0 .. a0 + C` of `G` (at `row0` of `r`), columns `b0 .. b0 + 8R`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<T: Lanes, const R: usize, const C: usize>(
        s: Shape,
        q: &[f64],
        qt: &[f64],
        r: &mut [f64],
        row0: usize,
        a0: usize,
        b0: usize,
    ) {
        let Shape { n, kp, ld, .. } = s;
        let acc = product::<f64, R, C>(qt.as_ptr().add(b0), kp, q.as_ptr().add(a0 * ld), ld, 1, n);
        for (c, row) in (0..C).map(|c| (c, (row0 + c) * kp + b0)) {
            for (i, acc) in acc.iter().enumerate() {
                f64::store(r.as_mut_ptr().add(row + i * L), acc[c]);
            }
        }
    }

    let Shape { n, k, kp, ld } = s;
    assert!(r.len() >= rows.len() * kp && qt.len() >= n * kp && q.len() >= ld * k && rows.end <= k);
    let mut a0 = rows.start;
    while a0 < rows.end {
        let rows_a = (rows.end - a0).min(GRAM_COLUMNS);
        let mut b0 = a0 / L * L;
        while b0 < kp {
            let registers = ((kp - b0) / L).min(GRAM_REGISTERS);
            let row0 = a0 - rows.start;
            // SAFETY: rows a0 .. a0 + rows_a < k of Q (rows row0.. of `r`), columns
            // b0 .. b0 + 8·registers ≤ kp.
            unsafe {
                by_shape!(
                    registers,
                    rows_a,
                    GRAM_REGISTERS,
                    GRAM_COLUMNS,
                    block::<f64>(s, q, qt, r, row0, a0, b0)
                );
            }
            b0 += registers * L;
        }
        a0 += rows_a;
    }
}

/// `t ← t − f·r`, lane by lane (a multiply, then a subtraction). The portable loop is not
/// vectorised by LLVM here (it cannot see that the rows do not overlap), so AVX-512 gets
/// intrinsics — the same operations.
#[inline(always)]
fn subtract_scaled(level: Simd, target: &mut [[f64; L]], f: f64, source: &[[f64; L]]) {
    #[cfg(target_arch = "x86_64")]
    if level == Simd::Avx512 {
        // SAFETY: called under AVX-512F when `level` is AVX-512; whole chunks of 8 are read and
        // written.
        unsafe {
            use std::arch::x86_64::*;
            let fv = _mm512_set1_pd(f);
            for (t, r) in target.iter_mut().zip(source) {
                let tv = _mm512_loadu_pd(t.as_ptr());
                let rv = _mm512_loadu_pd(r.as_ptr());
                _mm512_storeu_pd(t.as_mut_ptr(), _mm512_sub_pd(tv, _mm512_mul_pd(fv, rv)));
            }
        }
        return;
    }
    let _ = level;
    for (t, r) in target.iter_mut().zip(source) {
        for lane in 0..L {
            t[lane] -= f * r[lane];
        }
    }
}

/// `G = Rᵀ R` in place (upper triangle, right-looking: row `j` is divided by `R_jj`, then
/// subtracted, times `R_jl`, from each later row `l`, in order of `j`; blocked by panels of
/// [`PANEL`] pivots, whose updates reach the later rows in one pass). Only the first k rows
/// and columns are factored. False when a pivot is not positive and finite.
#[inline(always)]
fn cholesky(w: &mut CholeskyQr, level: Simd) -> bool {
    let (k, kp) = (w.k, w.kp);
    for j0 in (0..k).step_by(PANEL) {
        let j1 = (j0 + PANEL).min(k);
        // The panel's pivots, applied to the panel's own rows.
        for j in j0..j1 {
            let pivot = w.r[j * kp + j];
            if !(pivot > 0.0 && pivot.is_finite()) {
                return false;
            }
            let d = pivot.sqrt();
            let (done, rest) = w.r.split_at_mut((j + 1) * kp);
            let row = &mut done[j * kp..];
            row[j] = d;
            // Zero what the lane-wide updates read left of the diagonal.
            row[j / L * L..j].fill(0.0);
            for x in &mut row[j + 1..k] {
                *x /= d;
            }
            let row = &row[..kp];
            for l in j + 1..j1 {
                // Whole lanes from the aligned column at or below `l`: the entries left of the
                // diagonal and right of k that this also updates are never read (row j is
                // zero there, so they stay finite).
                let start = l / L * L;
                let target = &mut rest[(l - j - 1) * kp + start..(l - j - 1) * kp + kp];
                let (target, _) = target.as_chunks_mut::<L>();
                let (source, _) = row[start..].as_chunks::<L>();
                subtract_scaled(level, target, row[l], source);
            }
        }
        if j1 == k {
            break;
        }
        // Every later row gets the panel's four updates in pivot order, loaded and stored
        // once: the same operations in the same order as one pivot at a time.
        let (top, rest) = w.r.split_at_mut(j1 * kp);
        let panel = &top[j0 * kp..j1 * kp];
        for l in j1..k {
            let start = l / L * L;
            let factors: [f64; PANEL] = std::array::from_fn(|m| panel[m * kp + l]);
            let sources: [&[[f64; L]]; PANEL] =
                std::array::from_fn(|m| panel[m * kp + start..(m + 1) * kp].as_chunks::<L>().0);
            let target = &mut rest[(l - j1) * kp + start..(l - j1) * kp + kp];
            subtract_panel(level, target.as_chunks_mut::<L>().0, factors, sources);
        }
    }
    true
}

/// `t ← (((t − f₀r₀) − f₁r₁) − f₂r₂) − f₃r₃`, lane by lane, as four [`subtract_scaled`] would.
#[inline(always)]
fn subtract_panel(
    level: Simd,
    target: &mut [[f64; L]],
    factors: [f64; PANEL],
    sources: [&[[f64; L]]; PANEL],
) {
    #[cfg(target_arch = "x86_64")]
    if level == Simd::Avx512 {
        // SAFETY: called under AVX-512F when `level` is AVX-512; whole chunks of 8, the
        // sources at least as long as the target.
        unsafe {
            use std::arch::x86_64::*;
            let f: [__m512d; PANEL] = std::array::from_fn(|m| _mm512_set1_pd(factors[m]));
            for (c, t) in target.iter_mut().enumerate() {
                let mut tv = _mm512_loadu_pd(t.as_ptr());
                for m in 0..PANEL {
                    let rv = _mm512_loadu_pd(sources[m][c].as_ptr());
                    tv = _mm512_sub_pd(tv, _mm512_mul_pd(f[m], rv));
                }
                _mm512_storeu_pd(t.as_mut_ptr(), tv);
            }
        }
        return;
    }
    let _ = level;
    for (c, t) in target.iter_mut().enumerate() {
        for m in 0..PANEL {
            for lane in 0..L {
                t[lane] -= factors[m] * sources[m][c][lane];
            }
        }
    }
}

/// `Q' = Q R⁻¹` on rows `rows` (whole chunks of [`SOLVE_ROWS`]), written rounded to `T` into
/// `out`. Per chunk and block of B columns `c`: `p_c = Σ_{l < c0} Q'_l R_lc` summed from zero
/// in order of `l` (the earlier blocks, a product: AVX-512 uses
/// `super::blocked::avx512::product` on the chunk's finished columns and the rows of `R`), then
/// `Q'_c = ((Q_c − p_c) − Σ_{c0 ≤ l < c} R_lc Q'_l) / R_cc` column by column within the block.
/// The chunk's finished columns stay in a local buffer (k × 16 values, in L1).
#[inline(always)]
fn solve<T: Real>(w: &CholeskyQr, rows: Range<usize>, out: Output<T>, level: Simd) {
    const ROWS: usize = SOLVE_ROWS;
    let (n, k, kp, ld) = (w.n, w.k, w.kp, w.ld);
    let mut done = vec![[0.0f64; ROWS]; k];
    for i in rows.step_by(ROWS) {
        for c0 in (0..k).step_by(B) {
            let width = (k - c0).min(B);
            let p = earlier_columns(level, &done[..c0], &w.r, kp, c0);
            let mut acc = [[0.0f64; ROWS]; B];
            for (m, acc) in acc.iter_mut().enumerate().take(width) {
                let q = &w.q[(c0 + m) * ld + i..(c0 + m) * ld + i + ROWS];
                for ((a, &q), &p) in acc.iter_mut().zip(q).zip(&p[m]) {
                    *a = q - p;
                }
            }
            for m in 0..width {
                for p in 0..m {
                    let f = w.r[(c0 + p) * kp + c0 + m];
                    let (before, after) = acc.split_at_mut(m);
                    for (a, &x) in after[0].iter_mut().zip(&before[p]) {
                        *a -= f * x;
                    }
                }
                let d = w.r[(c0 + m) * kp + c0 + m];
                for a in &mut acc[m] {
                    *a /= d;
                }
            }
            done[c0..c0 + width].copy_from_slice(&acc[..width]);
        }
        let valid = n.saturating_sub(i).min(ROWS);
        for (c, x) in done.iter().enumerate() {
            // SAFETY: rows i .. i + valid < n of column c are inside the block, and this
            // task is the only one writing rows in `rows` (see `Output`).
            let column =
                unsafe { std::slice::from_raw_parts_mut(out.at.add(c * out.ld + i), valid) };
            for (y, &x) in column.iter_mut().zip(x) {
                *y = T::from_f64(x);
            }
        }
    }
}

/// `p[m] = Σ_{l < c0} done[l] · R[l][c0 + m]` for the B columns from `c0` (R row-major with
/// `kp` columns; `c0 + B ≤ kp`), each entry summed from zero in order of `l`.
#[inline(always)]
fn earlier_columns(
    level: Simd,
    done: &[[f64; SOLVE_ROWS]],
    r: &[f64],
    kp: usize,
    c0: usize,
) -> [[f64; SOLVE_ROWS]; B] {
    let mut p = [[0.0f64; SOLVE_ROWS]; B];
    if c0 == 0 {
        return p;
    }
    assert!(done.len() == c0 && c0 + B <= kp && r.len() >= (c0 - 1) * kp + c0 + B);
    #[cfg(target_arch = "x86_64")]
    if level == Simd::Avx512 {
        use super::blocked::avx512::{product, Lanes};
        // SAFETY: called under AVX-512F when `level` is AVX-512; `done` holds c0 columns of
        // 2 registers, R rows l < c0 and columns c0 .. c0 + B (asserted).
        unsafe {
            let acc = product::<f64, 2, B>(
                done.as_ptr().cast::<f64>(),
                SOLVE_ROWS,
                r.as_ptr().add(c0),
                1,
                kp,
                c0,
            );
            for (m, p) in p.iter_mut().enumerate() {
                for (h, acc) in acc.iter().enumerate() {
                    f64::store(p.as_mut_ptr().add(h * L), acc[m]);
                }
            }
        }
        return p;
    }
    let _ = level;
    for (l, x) in done.iter().enumerate() {
        let coefficients = &r[l * kp + c0..l * kp + c0 + B];
        for (p, &f) in p.iter_mut().zip(coefficients) {
            for (p, &x) in p.iter_mut().zip(x) {
                *p += x * f;
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;
    use rand::{RngExt, SeedableRng};

    pub(super) fn block(n: usize, k: usize, seed: u64, spread: f64) -> TangentBlock<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut q = TangentBlock::<f32>::zeros(n, k);
        for c in 0..k {
            // Columns of decreasing norm and some mutual correlation.
            let scale = spread.powf(-(c as f64) / k.max(1) as f64);
            let shared: f64 = rng.random_range(-1.0..1.0);
            for x in q.column_mut(c) {
                *x = (scale * (rng.random_range(-1.0..1.0) + 0.3 * shared)) as f32;
            }
        }
        q
    }

    /// `R` and `Q'` against faer's Householder QR of the same (f32-valued) matrix: |R_ii| agree
    /// to 1e-10 relative, `Q' R` reproduces `Q`, `Q'` is orthonormal to f32 rounding.
    #[test]
    fn agrees_with_householder() {
        for (n, k) in [(1, 1), (5, 3), (37, 37), (100, 100), (130, 9)] {
            let q0 = block(n, k, n as u64 + 7, 30.0);
            let m = Mat::<f64>::from_fn(n, k, |i, c| q0.column(c)[i] as f64);
            let reference = m.qr();
            let r_ref = reference.thin_R();
            let mut q = q0.clone();
            let mut work = CholeskyQr::new(n, k);
            let diag = cholesky_qr(&mut q, &mut work, &Team::new(1)).expect("well conditioned");
            for (j, d) in diag.iter().enumerate() {
                let e = r_ref[(j, j)].abs();
                assert!(
                    (d - e).abs() <= 1e-10 * e,
                    "N={n} k={k} R_{j}{j}: {d} vs {e}"
                );
            }
            for a in 0..k {
                for b in 0..k {
                    let dot: f64 = (0..n)
                        .map(|i| q.column(a)[i] as f64 * q.column(b)[i] as f64)
                        .sum();
                    let expected = if a == b { 1.0 } else { 0.0 };
                    assert!(
                        (dot - expected).abs() < 1e-5,
                        "N={n} k={k} QᵀQ[{a},{b}] = {dot}"
                    );
                }
            }
            // Q' R = Q (R from the Cholesky factor, Q' in f64).
            let mut q64 = TangentBlock::<f64>::zeros(n, k);
            solve_at(simd(), &work, &mut q64, &Team::new(1));
            for c in 0..k {
                for i in 0..n {
                    let v: f64 = (0..=c)
                        .map(|l| q64.column(l)[i] * work.r[l * work.kp + c])
                        .sum();
                    let e = q0.column(c)[i] as f64;
                    assert!((v - e).abs() < 1e-12, "N={n} k={k} (Q'R)[{i},{c}]");
                }
            }
        }
    }

    /// Rank-deficient or badly conditioned input is declined and left untouched.
    #[test]
    fn declines_ill_conditioned_input() {
        let mut q = block(20, 4, 1, 1.0);
        let copy: Vec<f32> = q.column(0).to_vec();
        q.column_mut(3).copy_from_slice(&copy);
        let before = q.as_slice().to_vec();
        let mut work = CholeskyQr::new(20, 4);
        assert!(cholesky_qr(&mut q, &mut work, &Team::new(1)).is_none());
        assert_eq!(q.as_slice(), &before[..]);
        let mut q = block(20, 4, 2, 1e6);
        assert!(cholesky_qr(&mut q, &mut CholeskyQr::new(20, 4), &Team::new(1)).is_none());
    }

    /// Bitwise the same with the Gram rows and the solve's row chunks split over tasks.
    #[test]
    fn same_bits_with_threads() {
        let q0 = block(130, 100, 4, 10.0);
        let run = |threads: usize| {
            let mut q = q0.clone();
            let diag = cholesky_qr(&mut q, &mut CholeskyQr::new(130, 100), &Team::new(threads));
            (q.as_slice().to_vec(), diag.expect("well conditioned"))
        };
        let base = run(1);
        for threads in [2, 3, 16] {
            assert!(run(threads) == base, "{threads} threads");
        }
    }

    /// Bitwise the same at every SIMD level.
    #[test]
    fn same_bits_at_every_level() {
        let q0 = block(45, 13, 3, 10.0);
        let run = |level: Simd| {
            let mut work = CholeskyQr::new(45, 13);
            work.load(&q0, &Team::new(1));
            assert!(factor_at(level, &mut work, &Team::new(1)));
            let mut out = TangentBlock::<f64>::zeros(45, 13);
            solve_at(level, &work, &mut out, &Team::new(1));
            (out.as_slice().to_vec(), work.upper())
        };
        let base = run(Simd::Portable);
        for level in [Simd::Avx2, Simd::Avx512] {
            if level <= Simd::detect() {
                assert!(run(level) == base, "{level:?}");
            }
        }
    }
}
