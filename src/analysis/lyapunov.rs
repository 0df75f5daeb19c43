//! Lyapunov exponents by the QR method (Benettin; Shimada–Nagashima), science.md §3.
//!
//! `k` orthonormal tangent vectors `Q` (N × k) follow the linearised dynamics
//! `Q ← DF(t) Q`, with the Jacobian of science.md §1
//!
//! - rate form:    `DF(t) = (1 − a) I + a diag(f'(u(t))) W`
//! - current form: `DF(t) = (1 − a) I + a W diag(φ'(h(t)))`
//!
//! and `Q` is re-orthonormalised, `Q = Q' R`, at most every `m` steps; after a tangent transient
//! the logs `ln |R_ii|` are accumulated in `f64`, and `λ_i = (1/T) Σ ln |R_ii|` over the `T`
//! accumulated steps. Exponents are **per step** of the map (for an Euler step `a = dt/τ`, divide
//! by `dt` for exponents per unit time).
//!
//! The propagation runs in `f32` (fast) or `f64` through a kernel written for this product
//! ([`super::tangent`]); the QR and the logs are always `f64` (Cholesky QR for `f32` tangents,
//! [`super::orthonormal`], with faer's Householder QR as its fallback and for `f64` tangents).
//! Between two QRs the columns of `Q` separate at the rate of the spread of the exponents, and
//! a strongly contracting direction (f' ≈ 1e-4 at a saturated neuron) can fall below the
//! precision within a few steps, leaving `Q` numerically singular. So the interval adapts:
//! after each QR the spread `ln(max |R_ii| / min |R_ii|)` (the log of `Q`'s condition number
//! estimate) is compared with the precision's budget
//! ([`condition_budget`]: 1e3 in `f32`, 1e8 in `f64`); above it the interval halves (down to
//! 1), below its fourth root the interval doubles (up to `m`). The largest condition number over
//! the accumulated QRs is reported, and [`LyapunovResult::well_conditioned`] is false when it
//! exceeded ten times the budget — then even one step is too long for the precision (use `f64`),
//! and a caller warns.

use std::sync::Arc;

use faer::Mat;
use rand_distr::StandardNormal;

use super::orthonormal::{cholesky_qr, CholeskyQr};
use super::tangent::{TangentBlock, TangentMap, TangentScratch, BLOCK_COLUMNS};
use super::team::Team;
use crate::model::analog::local_field::PaddedWeights;
use crate::model::{analog::Form, Real};

/// The most QRs that go straight to Householder after a declined Cholesky QR.
pub const CHOLESKY_BACKOFF_MAX: u32 = 64;

/// The condition number the adaptive interval keeps `Q` below, for tangents in `T`.
pub fn condition_budget<T: Real>() -> f64 {
    if std::mem::size_of::<T>() == 4 {
        1e3
    } else {
        1e8
    }
}

/// Tangent-space propagation and log accumulation for one replica.
pub struct TangentSpace<T: Real> {
    form: Form,
    leak: T,
    weights: PaddedWeights<T>,
    q: TangentBlock<T>,
    scratch: TangentScratch<T>,
    /// `D(t)` of the steps since the last QR, in the tangent precision, step-major.
    pending: Vec<T>,
    /// `Q` in f64 for the Householder QR.
    q64: Mat<f64>,
    /// Buffers of the Cholesky QR (`f32` tangents only).
    cholesky: Option<CholeskyQr>,
    /// QRs left to do by Householder after a declined Cholesky QR, and the current back-off.
    cholesky_skip: u32,
    cholesky_backoff: u32,
    /// Cholesky QRs tried (for the tests of the back-off).
    cholesky_attempts: usize,
    /// The workers of this replica's propagation and QR (more than 1 when replicas are fewer
    /// than cores).
    team: Arc<Team>,

    /// The configured (longest) interval `m`.
    max_every: usize,
    /// The current interval, adapted to keep `Q` well conditioned.
    every: usize,
    transient: usize,
    steps: usize,
    last_qr: usize,
    log_sums: Vec<f64>,
    accumulated: usize,
    max_condition: f64,
    /// `(steps, running λ_1)` after each accumulated QR.
    trace: Vec<(usize, f64)>,
}

impl<T: Real> TangentSpace<T> {
    /// `weights` column-major (`W_ij` at `j·N + i`); `q0` N × k with orthonormal columns.
    pub fn new(
        form: Form,
        leak: f64,
        weights: &[f64],
        q0: &Mat<f64>,
        every: usize,
        transient: usize,
    ) -> Self {
        let n = q0.nrows();
        let k = q0.ncols();
        let leak_t = T::from_f64(leak);
        TangentSpace {
            form,
            leak: leak_t,
            weights: PaddedWeights::new(
                n,
                &weights.iter().map(|&w| T::from_f64(w)).collect::<Vec<_>>(),
            ),
            q: TangentBlock::from_f64(q0),
            scratch: TangentScratch::new(n, k),
            pending: Vec::with_capacity(n * every.max(1)),
            q64: Mat::zeros(n, k),
            cholesky: (std::mem::size_of::<T>() == 4).then(|| CholeskyQr::new(n, k)),
            cholesky_skip: 0,
            cholesky_backoff: 0,
            cholesky_attempts: 0,
            team: Arc::new(Team::new(1)),
            max_every: every.max(1),
            every: every.max(1),
            transient,
            steps: 0,
            last_qr: 0,
            log_sums: vec![0.0; k],
            accumulated: 0,
            max_condition: 1.0,
            trace: Vec::new(),
        }
    }

    /// Let the propagation and the QR split their work over `threads` workers of their own
    /// ([`Team`]: the caller and `threads − 1` helper threads, kept for this tangent space), as
    /// far as [`useful_threads`] finds it worth it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        let threads = useful_threads(self.log_sums.len(), threads);
        if threads != self.team.size() {
            self.team = Arc::new(Team::new(threads));
        }
        self
    }

    /// Use `team` (shared with the tangent spaces of the replica's other epochs, so that its
    /// threads are started once and its measure of whether forking pays carries over).
    pub fn with_team(mut self, team: Arc<Team>) -> Self {
        self.team = team;
        self
    }

    /// Apply `DF(t)` for one step, with `derivative = f'(u(t))` (rate) or `φ'(h(t))` (current).
    pub fn step(&mut self, derivative: &[f64]) {
        // D(t) is buffered until the next QR: the interval's steps are then applied column block
        // by column block, one parallel task per block (one fork per interval, not per step).
        self.pending
            .extend(derivative.iter().map(|&x| T::from_f64(x)));
        self.steps += 1;
        if self.steps - self.last_qr >= self.every {
            self.reorthonormalize();
        }
    }

    /// Apply the buffered steps to `Q` (src/analysis/tangent.rs).
    fn propagate(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let map = TangentMap {
            form: self.form,
            leak: self.leak,
            weights: &self.weights,
        };
        map.propagate(&mut self.q, &mut self.scratch, &self.pending, &self.team);
        self.pending.clear();
    }

    /// `Q ← Q'` with `Q = Q' R`; returns `|R_ii|`. `f32` tangents by Cholesky QR
    /// ([`super::orthonormal`]) while `Q` is well enough conditioned for it, else (and for `f64`
    /// tangents) by faer's Householder QR; both in `f64`.
    ///
    /// A declined Cholesky QR costs its Gram matrix and factor (~30 µs at N = k = 100) for
    /// nothing, and a basis too ill-conditioned for it at one QR usually is at the next (a
    /// saturating network, where the interval has already shrunk to a step or two). So after a
    /// decline the next `b` QRs go straight to Householder, `b` = 1, 2, 4, … up to
    /// [`CHOLESKY_BACKOFF_MAX`] while the attempts keep being declined, and back to 0 after a
    /// success. Both methods give `|R_ii|` within 1e-10 of each other, and the choice depends on
    /// `Q` alone, so the result is still the same on every backend and thread count.
    fn orthonormalize(&mut self) -> Vec<f64> {
        if let Some(work) = &mut self.cholesky {
            if self.cholesky_skip > 0 {
                self.cholesky_skip -= 1;
            } else {
                self.cholesky_attempts += 1;
                if let Some(diagonal) = cholesky_qr(&mut self.q, work, &self.team) {
                    self.cholesky_backoff = 0;
                    return diagonal;
                }
                self.cholesky_backoff = (self.cholesky_backoff * 2).clamp(1, CHOLESKY_BACKOFF_MAX);
                self.cholesky_skip = self.cholesky_backoff;
            }
        }
        let k = self.q.ncols();
        for c in 0..k {
            for (x, y) in self
                .q64
                .col_as_slice_mut(c)
                .iter_mut()
                .zip(self.q.column(c))
            {
                *x = y.to_f64();
            }
        }
        let qr = self.q64.qr();
        let r = qr.thin_R();
        let diagonal = (0..k).map(|i| r[(i, i)].abs()).collect();
        self.q.assign(&qr.compute_thin_Q());
        diagonal
    }

    /// QR of `Q` in f64; accumulate the logs when the whole interval is past the transient.
    fn reorthonormalize(&mut self) {
        self.propagate();
        let interval = self.steps - self.last_qr;
        if interval == 0 {
            return;
        }
        let diagonal = self.orthonormalize();
        let (mut big, mut small) = (0.0f64, f64::INFINITY);
        let accumulate = self.last_qr >= self.transient;
        for (i, &d) in diagonal.iter().enumerate() {
            big = big.max(d);
            small = small.min(d);
            if accumulate {
                self.log_sums[i] += d.ln();
            }
        }
        let condition = if small > 0.0 {
            big / small
        } else {
            f64::INFINITY
        };
        if accumulate {
            self.max_condition = self.max_condition.max(condition);
        }
        let budget = condition_budget::<T>();
        if condition > budget {
            self.every = (self.every / 2).max(1);
        } else if condition < budget.sqrt().sqrt() {
            self.every = (self.every * 2).min(self.max_every);
        }
        if accumulate {
            self.accumulated += interval;
            self.trace
                .push((self.steps, self.log_sums[0] / self.accumulated as f64));
        }
        self.last_qr = self.steps;
    }

    /// Close the window: include the steps since the last QR, return the exponents (per step,
    /// NaN if no step was accumulated).
    pub fn finish(&mut self) -> LyapunovResult {
        self.reorthonormalize();
        let t = self.accumulated as f64;
        let exponents = self
            .log_sums
            .iter()
            .map(|s| if t > 0.0 { s / t } else { f64::NAN })
            .collect();
        LyapunovResult {
            exponents,
            accumulated_steps: self.accumulated,
            max_condition: self.max_condition,
            well_conditioned: self.max_condition <= 10.0 * condition_budget::<T>(),
            trace: std::mem::take(&mut self.trace),
        }
    }
}

/// The exponents of one replica in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct LyapunovResult {
    /// `λ_1 ≥ λ_2 ≥ …` (the QR method orders them), per step.
    pub exponents: Vec<f64>,
    pub accumulated_steps: usize,
    /// Largest condition number of `Q` before an accumulated QR.
    pub max_condition: f64,
    /// Whether the adaptive interval kept `Q` within ten times the precision's budget.
    pub well_conditioned: bool,
    /// Convergence trace: `(step, running estimate of λ_1)` at each accumulated QR.
    pub trace: Vec<(usize, f64)>,
}

impl LyapunovResult {
    pub fn largest(&self) -> f64 {
        self.exponents.first().copied().unwrap_or(f64::NAN)
    }

    pub fn sum(&self) -> f64 {
        self.exponents.iter().sum()
    }

    /// Kaplan–Yorke dimension `D = j + Σ_{i≤j} λ_i / |λ_{j+1}|`, `j` the largest index with
    /// `Σ_{i≤j} λ_i ≥ 0`; 0 when `λ_1 < 0`; NaN when the partial sums of the `k` computed
    /// exponents never turn negative (then `D ≥ k` is all that is known).
    pub fn kaplan_yorke(&self) -> f64 {
        kaplan_yorke(&self.exponents)
    }
}

/// See [`LyapunovResult::kaplan_yorke`]; `exponents` sorted in decreasing order.
pub fn kaplan_yorke(exponents: &[f64]) -> f64 {
    if exponents.is_empty() || exponents.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    if exponents[0] < 0.0 {
        return 0.0;
    }
    let mut sum = 0.0;
    for (j, &l) in exponents.iter().enumerate() {
        if sum + l < 0.0 {
            return j as f64 + sum / l.abs();
        }
        sum += l;
    }
    f64::NAN
}

/// `k` orthonormal columns from a Gaussian N × k drawn from `rng` (QR in f64).
/// Threads worth giving the tangent space of `k` exponents: 1 when fewer than two register
/// blocks of columns can be split (the propagation then cannot be shared and the QR of so few
/// columns is too small to pay for a fork: `lyapunov_1` ran 1.4× slower with a helper thread),
/// else `threads`.
pub fn useful_threads(k: usize, threads: usize) -> usize {
    if k < 2 * BLOCK_COLUMNS {
        1
    } else {
        threads.max(1)
    }
}

pub fn random_orthonormal(n: usize, k: usize, rng: &mut impl rand::Rng) -> Mat<f64> {
    use rand::RngExt;
    let g = Mat::<f64>::from_fn(n, k, |_, _| rng.sample(StandardNormal));
    g.qr().compute_thin_Q()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn kaplan_yorke_by_hand() {
        assert_eq!(kaplan_yorke(&[0.5, -0.2, -1.0]), 2.0 + 0.3 / 1.0);
        assert_eq!(kaplan_yorke(&[0.5, -1.0]), 1.0 + 0.5);
        assert_eq!(kaplan_yorke(&[-0.1, -1.0]), 0.0);
        assert!(kaplan_yorke(&[0.5, 0.1]).is_nan());
    }

    /// A map that stretches one direction 1e5 times more than the other every step: every
    /// Cholesky QR is declined (cond ≥ 1e5 > 1e4 even with QR every step), so after the back-off
    /// only a few are tried, and the exponents are bitwise those of Householder alone.
    #[test]
    fn declined_cholesky_qr_backs_off() {
        let n = 2;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let basis = random_orthonormal(n, n, &mut rng);
        let diag = [10.0, 1e-4];
        let w: Vec<f64> = (0..n * n)
            .map(|k| {
                let (i, j) = (k % n, k / n);
                (0..n)
                    .map(|l| basis[(i, l)] * diag[l] * basis[(j, l)])
                    .sum()
            })
            .collect();
        let q0 = random_orthonormal(n, n, &mut rng);
        let run = |cholesky: bool| {
            let mut t = TangentSpace::<f32>::new(Form::Rate, 1.0, &w, &q0, 1, 50);
            if !cholesky {
                t.cholesky = None;
            }
            for _ in 0..300 {
                t.step(&[1.0; 2]);
            }
            let attempts = t.cholesky_attempts;
            (t.finish(), attempts)
        };
        let (with, attempts) = run(true);
        let (without, _) = run(false);
        // 300 QRs: tries at QR 1, 3, 6, 11, 20, 37, 70, 135, 200, 265 (back-off 1, 2, … 64).
        assert_eq!(attempts, 10);
        assert_eq!(with.exponents, without.exponents);
        for (l, d) in with.exponents.iter().zip(diag) {
            assert!((l - f64::ln(d)).abs() < 1e-3, "{l} vs ln {d}");
        }
    }

    /// A linear map `x ← A x` with A = diag(2, 0.5, 0.25) in a rotated basis has exponents
    /// ln 2, ln 0.5, ln 0.25. Rate form, a = 1, f' = 1: DF = W = A.
    #[test]
    fn linear_map_gives_log_eigenvalues() {
        let n = 3;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let basis = random_orthonormal(n, n, &mut rng);
        let diag = [2.0, 0.5, 0.25];
        let a = Mat::<f64>::from_fn(n, n, |i, j| {
            (0..n)
                .map(|l| basis[(i, l)] * diag[l] * basis[(j, l)])
                .sum()
        });
        let w: Vec<f64> = (0..n * n).map(|k| a[(k % n, k / n)]).collect();
        let q0 = random_orthonormal(n, n, &mut rng);
        for every in [1, 5] {
            let mut t = TangentSpace::<f64>::new(Form::Rate, 1.0, &w, &q0, every, 10);
            for _ in 0..200 {
                t.step(&[1.0; 3]);
            }
            let r = t.finish();
            for (l, d) in r.exponents.iter().zip(diag) {
                assert!((l - f64::ln(d)).abs() < 1e-4, "{l} vs ln {d}");
            }
            assert_eq!(r.accumulated_steps, 190);
        }
    }
}
