//! Tangent propagation for the QR method: `Q ← DF(t) Q` for the steps between two QRs.
//!
//! With the Jacobians of science.md §1 each step is one product of `W` with an N × k block,
//!
//! - rate form:    `Q ← (1 − a) Q + a · diag(D) (W Q)`
//! - current form: `Q ← (1 − a) Q + a · W (diag(D) Q)`
//!
//! (`D = f'(u(t))` or `φ'(h(t))`), N²k multiply-adds — all of the run's time at k = N. The product
//! is a GEMM of a fixed shape (N × N times N × k, N ~ 100…1000) repeated thousands of times on
//! the same `W`, so it gets its own kernel instead of a general GEMM: `W` is stored once with its
//! columns padded to whole cache lines and aligned ([`PaddedWeights`]), `Q` the same way
//! ([`TangentBlock`]); a block of up to 4 vector registers of rows (64 rows in f32) times 6
//! columns of `Q` keeps 24 accumulators in registers for the whole sum over `j`, loading one
//! column segment of `W` and broadcasting 6 entries of `Q` per `j` — arithmetic-bound, with the
//! row block of `W` (64 × N) staying in L1 while the column blocks stream past. The combination
//! with `Q` is fused into the store of each block. faer's general GEMM did the same product at
//! about a third of this speed at N = 100 (N = 96 + 4 rows went through a slow remainder kernel;
//! BENCHMARKS.md).
//!
//! Every entry is summed in the order `j = 0, 1, …, N − 1` from zero, with a separate multiply and
//! add per term (no FMA contraction), and combined as `(1 − a)·q + a·(d·p)` (rate) or
//! `(1 − a)·q + a·p` (current), at every SIMD level ([`crate::model::analog::local_field::simd`]): AVX-512
//! intrinsics (`f32` and `f64`), or the portable loops compiled for AVX2 or baseline x86-64. So the
//! exponents are bitwise the same whichever level a machine picks.

use faer::Mat;

use super::team::Team;
use crate::model::analog::local_field::{simd, PaddedWeights, Simd};
use crate::model::{analog::Form, Real};

/// One part's columns of `Q`, of the next `Q` and of `diag(D) Q`.
type Columns<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T]);

/// Columns of `Q` per register block.
pub(crate) const BLOCK_COLUMNS: usize = 6;
/// Vector registers of rows per register block.
const BLOCK_REGISTERS: usize = 4;

/// An N × k block of column vectors with each column padded to whole 64-byte lines and aligned
/// like [`PaddedWeights`]: column `c` occupies `c·ld .. c·ld + ld` of [`Self::as_slice`], rows
/// `N..ld` are zero.
#[derive(Clone, Debug)]
pub struct TangentBlock<T: Real> {
    n: usize,
    k: usize,
    ld: usize,
    offset: usize,
    buffer: Vec<T>,
}

/// Elements per 64-byte line.
fn lanes<T>() -> usize {
    (64 / std::mem::size_of::<T>()).max(1)
}

impl<T: Real> TangentBlock<T> {
    /// N × k zeros.
    pub fn zeros(n: usize, k: usize) -> Self {
        let lanes = lanes::<T>();
        let ld = n.next_multiple_of(lanes).max(lanes);
        let buffer = vec![T::ZERO; ld * k + lanes];
        let misalign = (buffer.as_ptr() as usize % 64) / std::mem::size_of::<T>();
        TangentBlock {
            n,
            k,
            ld,
            offset: (lanes - misalign) % lanes,
            buffer,
        }
    }

    /// The columns of `m` (N × k), rounded to `T`.
    pub fn from_f64(m: &Mat<f64>) -> Self {
        let mut block = Self::zeros(m.nrows(), m.ncols());
        block.assign(m);
        block
    }

    /// `self ← m` (same shape), rounded to `T`.
    pub fn assign(&mut self, m: &Mat<f64>) {
        assert_eq!(
            (m.nrows(), m.ncols()),
            (self.n, self.k),
            "tangent block shape"
        );
        for c in 0..self.k {
            for (x, &y) in self.column_mut(c).iter_mut().zip(m.col_as_slice(c)) {
                *x = T::from_f64(y);
            }
        }
    }

    pub fn nrows(&self) -> usize {
        self.n
    }

    pub fn ncols(&self) -> usize {
        self.k
    }

    /// The leading dimension (the same as [`PaddedWeights::ld`] for the same N and `T`).
    pub fn ld(&self) -> usize {
        self.ld
    }

    /// Rows `0..N` of column `c`.
    pub fn column(&self, c: usize) -> &[T] {
        let at = self.offset + c * self.ld;
        &self.buffer[at..at + self.n]
    }

    /// Rows `0..N` of column `c`, to write (rows `N..ld` stay zero).
    pub fn column_mut(&mut self, c: usize) -> &mut [T] {
        let at = self.offset + c * self.ld;
        &mut self.buffer[at..at + self.n]
    }

    /// All `k` padded columns, the first 64-byte aligned.
    pub fn as_slice(&self) -> &[T] {
        &self.buffer[self.offset..self.offset + self.ld * self.k]
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.buffer[self.offset..self.offset + self.ld * self.k]
    }
}

/// The map of one replica: form, leak and `W`.
#[derive(Clone, Copy, Debug)]
pub struct TangentMap<'a, T: Real> {
    pub form: Form,
    /// `a`
    pub leak: T,
    pub weights: &'a PaddedWeights<T>,
}

/// Scratch a propagation needs besides `Q`: the next `Q` and `diag(D) Q` (current form), each
/// as large as the columns they serve.
#[derive(Clone, Debug)]
pub struct TangentScratch<T: Real> {
    next: TangentBlock<T>,
    product: TangentBlock<T>,
}

impl<T: Real> TangentScratch<T> {
    pub fn new(n: usize, k: usize) -> Self {
        TangentScratch {
            next: TangentBlock::zeros(n, k),
            product: TangentBlock::zeros(n, k),
        }
    }
}

impl<T: Real> TangentMap<'_, T> {
    /// Apply the steps whose derivatives `D(t₁), D(t₂), …` are concatenated (step-major, N
    /// each) in `derivatives` to every column of `q`, splitting the columns over the `team`
    /// (whole register blocks each; one fork for all the steps).
    pub fn propagate(
        &self,
        q: &mut TangentBlock<T>,
        scratch: &mut TangentScratch<T>,
        derivatives: &[T],
        team: &Team,
    ) {
        let (n, ld) = (q.n, q.ld);
        assert_eq!(self.weights.ld(), ld, "W and Q padded alike");
        assert_eq!(derivatives.len() % n.max(1), 0);
        assert!(scratch.next.k >= q.k && scratch.next.ld == ld);
        if derivatives.is_empty() || q.k == 0 {
            return;
        }
        let k = q.k;
        let level = simd();
        // Column ranges of whole register blocks, one per part.
        let blocks = k.div_ceil(BLOCK_COLUMNS);
        let tasks = team.size().clamp(1, blocks);
        let per_task = blocks.div_ceil(tasks) * BLOCK_COLUMNS;
        let q_all = &mut q.as_mut_slice()[..ld * k];
        let next_all = &mut scratch.next.as_mut_slice()[..ld * k];
        let product_all = &mut scratch.product.as_mut_slice()[..ld * k];
        if tasks == 1 {
            self.propagate_columns(level, n, ld, derivatives, q_all, next_all, product_all);
            return;
        }
        let parts: Vec<Columns<'_, T>> = q_all
            .chunks_mut(per_task * ld)
            .zip(next_all.chunks_mut(per_task * ld))
            .zip(product_all.chunks_mut(per_task * ld))
            .map(|((q, next), product)| (q, next, product))
            .collect();
        team.run_each(parts, &|_, (q, next, product)| {
            self.propagate_columns(level, n, ld, derivatives, q, next, product)
        });
    }

    /// [`Self::propagate`] on the columns of `q` (padded, `ld` apart), sequentially.
    #[allow(clippy::too_many_arguments)]
    fn propagate_columns(
        &self,
        level: Simd,
        n: usize,
        ld: usize,
        derivatives: &[T],
        q: &mut [T],
        next: &mut [T],
        product: &mut [T],
    ) {
        let a = self.leak;
        let b = T::ONE - a;
        let w = self.weights.as_slice();
        let mut d = vec![T::ZERO; ld];
        let (mut current, mut following) = (&mut *q, &mut *next);
        for step in derivatives.chunks_exact(n) {
            d[..n].copy_from_slice(step);
            let step = Step {
                form: self.form,
                a,
                b,
                n,
                ld,
                w,
                d: &d,
            };
            step.apply(level, current, following, product);
            std::mem::swap(&mut current, &mut following);
        }
        if derivatives.len() / n % 2 == 1 {
            // The result is in `next`.
            q.copy_from_slice(next);
        }
    }
}

/// One step on a set of padded columns.
struct Step<'a, T> {
    form: Form,
    a: T,
    b: T,
    n: usize,
    ld: usize,
    w: &'a [T],
    /// `D(t)`, zero in rows `N..ld`.
    d: &'a [T],
}

impl<T: Real> Step<'_, T> {
    /// `next ← DF q` (see the module doc for the operation order).
    fn apply(&self, level: Simd, q: &[T], next: &mut [T], product: &mut [T]) {
        let x: &[T] = match self.form {
            Form::Rate => q,
            Form::Current => {
                for (p, qc) in product
                    .chunks_exact_mut(self.ld)
                    .zip(q.chunks_exact(self.ld))
                {
                    for ((p, &q), &d) in p.iter_mut().zip(qc).zip(self.d) {
                        *p = d * q;
                    }
                }
                product
            }
        };
        #[cfg(target_arch = "x86_64")]
        match level {
            Simd::Avx512 => {
                if let Some(done) = avx512::step(self, x, q, next) {
                    return done;
                }
                // SAFETY: `simd()` never exceeds what the CPU supports.
                unsafe { self.portable_avx512(x, q, next) }
            }
            // SAFETY: as above.
            Simd::Avx2 => unsafe { self.portable_avx2(x, q, next) },
            Simd::Portable => self.portable(x, q, next),
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = level;
            self.portable(x, q, next)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn portable_avx512(&self, x: &[T], q: &[T], next: &mut [T]) {
        self.portable(x, q, next)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn portable_avx2(&self, x: &[T], q: &[T], next: &mut [T]) {
        self.portable(x, q, next)
    }

    /// The reference loops: per column, `p_i = Σ_j W_ij x_j` in order `j = 0..N`, then the
    /// combination. The inner loop runs down a column of `W` (vectorisable, same order per
    /// entry as the register blocks).
    #[inline(always)]
    fn portable(&self, x: &[T], q: &[T], next: &mut [T]) {
        let (n, ld) = (self.n, self.ld);
        let mut p = vec![T::ZERO; ld];
        for ((xc, qc), out) in x
            .chunks_exact(ld)
            .zip(q.chunks_exact(ld))
            .zip(next.chunks_exact_mut(ld))
        {
            p.fill(T::ZERO);
            for (j, &xj) in xc[..n].iter().enumerate() {
                let column = &self.w[j * ld..j * ld + ld];
                for (p, &wij) in p.iter_mut().zip(column) {
                    *p += wij * xj;
                }
            }
            self.combine(qc, &p, out);
        }
    }

    /// `out = (1 − a) q + a (d p)` (rate) or `(1 − a) q + a p` (current), rows `0..ld`.
    #[inline(always)]
    fn combine(&self, q: &[T], p: &[T], out: &mut [T]) {
        let (a, b) = (self.a, self.b);
        match self.form {
            Form::Rate => {
                for (((o, &q), &p), &d) in out.iter_mut().zip(q).zip(p).zip(self.d) {
                    *o = b * q + a * (d * p);
                }
            }
            Form::Current => {
                for ((o, &q), &p) in out.iter_mut().zip(q).zip(p) {
                    *o = b * q + a * p;
                }
            }
        }
    }
}

/// The register-blocked product in AVX-512 intrinsics, for `f32` (16 lanes) and `f64` (8).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Step, BLOCK_COLUMNS, BLOCK_REGISTERS};
    use crate::analysis::blocked::avx512::{product, Lanes};
    use crate::model::{analog::Form, Real};

    /// `next ← DF q` with register blocks, or `None` for a `T` without intrinsics here.
    /// Must only be called when the CPU has AVX-512F.
    pub(super) fn step<T: Real>(s: &Step<'_, T>, x: &[T], q: &[T], next: &mut [T]) -> Option<()> {
        if let Some(s32) = cast_step::<T, f32>(s) {
            let (x, q, next) = (
                cast::<T, f32>(x),
                cast::<T, f32>(q),
                cast_mut::<T, f32>(next),
            );
            // SAFETY: the caller checked AVX-512F; the slices are aligned, padded columns.
            unsafe { blocked(&s32, x, q, next) };
            return Some(());
        }
        if let Some(s64) = cast_step::<T, f64>(s) {
            let (x, q, next) = (
                cast::<T, f64>(x),
                cast::<T, f64>(q),
                cast_mut::<T, f64>(next),
            );
            // SAFETY: as above.
            unsafe { blocked(&s64, x, q, next) };
            return Some(());
        }
        None
    }

    fn same<T: 'static, U: 'static>() -> bool {
        std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()
    }

    fn cast<T: Real, U: Real>(v: &[T]) -> &[U] {
        bytemuck::cast_slice(v)
    }

    fn cast_mut<T: Real, U: Real>(v: &mut [T]) -> &mut [U] {
        bytemuck::cast_slice_mut(v)
    }

    fn cast_step<'a, T: Real, U: Real>(s: &Step<'a, T>) -> Option<Step<'a, U>> {
        same::<T, U>().then(|| Step {
            form: s.form,
            a: bytemuck::cast(s.a),
            b: bytemuck::cast(s.b),
            n: s.n,
            ld: s.ld,
            w: cast(s.w),
            d: cast(s.d),
        })
    }

    /// Every row block × column block of the product, each combined into `next` as it is done.
    ///
    /// # Safety
    /// AVX-512F. `w`, `x`, `q`, `next` hold columns `ld` apart (`ld` a multiple of the lanes;
    /// unaligned loads, but the callers align every column to 64 bytes for speed), `d` has `ld`
    /// entries.
    #[target_feature(enable = "avx512f")]
    unsafe fn blocked<T: Lanes>(s: &Step<'_, T>, x: &[T], q: &[T], next: &mut [T]) {
        let ld = s.ld;
        let k = q.len() / ld;
        assert!(
            x.len() >= ld * k
                && next.len() >= ld * k
                && s.w.len() >= ld * s.n
                && s.d.len() == ld
                && ld.is_multiple_of(T::LANES),
            "tangent kernel layout"
        );
        let registers = ld / T::LANES;
        let mut r0 = 0;
        while r0 < registers {
            let rows = (registers - r0).min(BLOCK_REGISTERS);
            let mut c0 = 0;
            while c0 < k {
                let cols = (k - c0).min(BLOCK_COLUMNS);
                let i0 = r0 * T::LANES;
                // SAFETY: rows i0 .. i0 + rows·LANES ≤ ld, columns c0 .. c0 + cols ≤ k.
                unsafe {
                    crate::analysis::blocked::by_shape!(
                        rows,
                        cols,
                        BLOCK_REGISTERS,
                        BLOCK_COLUMNS,
                        block::<T>(s, x, q, next, i0, c0)
                    );
                }
                c0 += cols;
            }
            r0 += rows;
        }
    }

    /// Rows `i0 .. i0 + R·LANES` × columns `c0 .. c0 + C`: `R·C` accumulators from zero get
    /// `+ W[i, j] · x[j, c]` (multiply, then add) for `j = 0..N` in order; then
    /// `next = b·q + a·(d·p)` (rate) or `b·q + a·p` (current).
    ///
    /// # Safety
    /// As [`blocked`], with the block inside the columns.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn block<T: Lanes, const R: usize, const C: usize>(
        s: &Step<'_, T>,
        x: &[T],
        q: &[T],
        next: &mut [T],
        i0: usize,
        c0: usize,
    ) {
        let ld = s.ld;
        let acc = product::<T, R, C>(
            s.w.as_ptr().add(i0),
            ld,
            x.as_ptr().add(c0 * ld),
            ld,
            1,
            s.n,
        );
        let (a, b) = (T::splat(s.a), T::splat(s.b));
        for c in 0..C {
            for (r, acc) in acc.iter().enumerate() {
                let at = (c0 + c) * ld + i0 + r * T::LANES;
                let qv = T::load(q.as_ptr().add(at));
                let p = match s.form {
                    Form::Rate => T::vmul(T::load(s.d.as_ptr().add(i0 + r * T::LANES)), acc[c]),
                    Form::Current => acc[c],
                };
                T::store(
                    next.as_mut_ptr().add(at),
                    T::vadd(T::vmul(b, qv), T::vmul(a, p)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// `DF Q` by the definition, in f64, for comparison.
    fn reference(
        form: Form,
        a: f64,
        n: usize,
        w: &[f64],
        d: &[f64],
        q: &[Vec<f64>],
    ) -> Vec<Vec<f64>> {
        q.iter()
            .map(|col| {
                let x: Vec<f64> = match form {
                    Form::Rate => col.clone(),
                    Form::Current => col.iter().zip(d).map(|(q, d)| q * d).collect(),
                };
                (0..n)
                    .map(|i| {
                        let p: f64 = (0..n).map(|j| w[j * n + i] * x[j]).sum();
                        let p = match form {
                            Form::Rate => d[i] * p,
                            Form::Current => p,
                        };
                        (1.0 - a) * col[i] + a * p
                    })
                    .collect()
            })
            .collect()
    }

    fn random_case(
        n: usize,
        k: usize,
        steps: usize,
        seed: u64,
    ) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let w = (0..n * n)
            .map(|_| rng.random_range(-1.0..1.0) / (n as f64).sqrt())
            .collect();
        let d = (0..n * steps).map(|_| rng.random_range(0.0..1.5)).collect();
        let q = (0..k)
            .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        (w, d, q)
    }

    #[allow(clippy::too_many_arguments)]
    fn run<T: Real>(
        form: Form,
        a: f64,
        n: usize,
        w: &[f64],
        d: &[f64],
        q0: &[Vec<f64>],
        threads: usize,
        level: Option<Simd>,
    ) -> Vec<Vec<T>> {
        let wt: Vec<T> = w.iter().map(|&x| T::from_f64(x)).collect();
        let weights = PaddedWeights::new(n, &wt);
        let map = TangentMap {
            form,
            leak: T::from_f64(a),
            weights: &weights,
        };
        let k = q0.len();
        let mut q = TangentBlock::<T>::zeros(n, k);
        for (c, col) in q0.iter().enumerate() {
            for (x, &y) in q.column_mut(c).iter_mut().zip(col) {
                *x = T::from_f64(y);
            }
        }
        let mut scratch = TangentScratch::new(n, k);
        let dt: Vec<T> = d.iter().map(|&x| T::from_f64(x)).collect();
        match level {
            None => map.propagate(&mut q, &mut scratch, &dt, &Team::new(threads)),
            Some(level) => {
                // One step at a time through the given level.
                let ld = q.ld();
                let mut dpad = vec![T::ZERO; ld];
                for step in dt.chunks_exact(n) {
                    dpad[..n].copy_from_slice(step);
                    let s = Step {
                        form,
                        a: map.leak,
                        b: T::ONE - map.leak,
                        n,
                        ld,
                        w: weights.as_slice(),
                        d: &dpad,
                    };
                    let cur = q.as_slice().to_vec();
                    s.apply(
                        level,
                        &cur,
                        scratch.next.as_mut_slice(),
                        scratch.product.as_mut_slice(),
                    );
                    q.as_mut_slice().copy_from_slice(scratch.next.as_slice());
                }
            }
        }
        for c in 0..k {
            assert!(q.as_slice()[c * q.ld() + n..(c + 1) * q.ld()]
                .iter()
                .all(|&x| x == T::ZERO));
        }
        (0..k).map(|c| q.column(c).to_vec()).collect()
    }

    /// Against the definition in f64, both forms, N not a multiple of the lanes, k not a
    /// multiple of the column block, odd and even step counts.
    #[test]
    fn matches_the_definition() {
        for form in [Form::Rate, Form::Current] {
            for (n, k, steps) in [
                (1, 1, 1),
                (7, 3, 2),
                (37, 13, 3),
                (100, 100, 2),
                (130, 7, 1),
            ] {
                let (w, d, q0) = random_case(n, k, steps, n as u64);
                let mut expected = q0.clone();
                for step in d.chunks_exact(n) {
                    expected = reference(form, 0.3, n, &w, step, &expected);
                }
                let got64 = run::<f64>(form, 0.3, n, &w, &d, &q0, 1, None);
                let got32 = run::<f32>(form, 0.3, n, &w, &d, &q0, 1, None);
                for c in 0..k {
                    for i in 0..n {
                        let e = expected[c][i];
                        let scale = 1.0 + e.abs();
                        assert!(
                            (got64[c][i] - e).abs() < 1e-12 * scale,
                            "{form:?} N={n} f64"
                        );
                        assert!(
                            (got32[c][i] as f64 - e).abs() < 2e-5 * scale,
                            "{form:?} N={n} f32"
                        );
                    }
                }
            }
        }
    }

    /// Every SIMD level and any thread split give the same bits.
    #[test]
    fn bitwise_equal_across_levels_and_threads() {
        for form in [Form::Rate, Form::Current] {
            let (n, k, steps) = (45, 17, 3);
            let (w, d, q0) = random_case(n, k, steps, 5);
            let base32 = run::<f32>(form, 0.1, n, &w, &d, &q0, 1, Some(Simd::Portable));
            let base64 = run::<f64>(form, 0.1, n, &w, &d, &q0, 1, Some(Simd::Portable));
            let mut levels = vec![Simd::Portable];
            if Simd::detect() >= Simd::Avx2 {
                levels.push(Simd::Avx2);
            }
            if Simd::detect() >= Simd::Avx512 {
                levels.push(Simd::Avx512);
            }
            for level in levels {
                assert_eq!(
                    run::<f32>(form, 0.1, n, &w, &d, &q0, 1, Some(level)),
                    base32,
                    "{level:?}"
                );
                assert_eq!(
                    run::<f64>(form, 0.1, n, &w, &d, &q0, 1, Some(level)),
                    base64,
                    "{level:?}"
                );
            }
            for threads in [1, 2, 3, 8] {
                assert_eq!(run::<f32>(form, 0.1, n, &w, &d, &q0, threads, None), base32);
            }
        }
    }
}
