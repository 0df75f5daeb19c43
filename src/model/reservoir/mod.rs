//! Reservoirs trained to hold fixed points (Rivkind & Barak 2017; `models/rivkind_barak.md`
//! §2–4): the training pipeline of one replica on the CPU, in f64.
//!
//! The network `dx/dt = −x + J φ(x) + u z`, `z = wᵀ φ(x)`, J_ij ~ N(0, g²/N), u_i ~ N(0, σ_u²);
//! only the readout w is trained (§3):
//!
//! 1. open loop: z clamped at a target A_k, relax `dx/dt = −x + J φ(x) + u A_k` from x = u A_k by
//!    Euler steps of dt ([`Reservoir::relax`]); settled when `‖F‖/‖x‖ < tol`,
//!    `F = −x + J φ(x) + u A_k`;
//! 2. Newton: `x ← x + (I − J D)⁻¹ F`, D = diag φ'(x) ([`Reservoir::polish`]);
//! 3. the minimum-norm readout `w = R (RᵀR)⁺ A`, R = [φ(x¹) … φ(x^K)] ([`minimum_norm_readout`];
//!    ridge β ≥ 0 as an option): `wᵀ φ(x^k) = A_k`, so each x^k is a fixed point of the closed loop;
//! 4. the closed loop `W_eff = J + u wᵀ` with no input — an ordinary current-form network — and its
//!    Jacobian at x^k, `M_k = −I + W_eff D_k` ([`Reservoir::closed_loop_jacobian`]).
//!
//! This is a derivation that agrees with every claim of the paper's abstract (only the abstract
//! could be read): the choices (σ_u, the minimum-norm readout, the tolerances) are defaults.

#[cfg(test)]
mod tests;

use faer::linalg::solvers::Solve;
use faer::{c64, Mat};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// φ of a reservoir (models/rivkind_barak.md §2.2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// `tanh x`.
    Tanh,
    /// `1/(1 + e^{−x})`.
    Logistic,
    /// `(x − θ)⁺`: θ = 0 homogeneous, θ > 0 silent at rest, θ < 0 active at rest.
    Relu { threshold: f64 },
}

impl Nonlinearity {
    /// φ(x).
    pub fn phi(&self, x: f64) -> f64 {
        match *self {
            Nonlinearity::Tanh => x.tanh(),
            Nonlinearity::Logistic => logistic(x),
            Nonlinearity::Relu { threshold } => (x - threshold).max(0.0),
        }
    }

    /// φ'(x) (ReLU: `1(x > θ)`).
    pub fn derivative(&self, x: f64) -> f64 {
        match *self {
            Nonlinearity::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Nonlinearity::Logistic => {
                let s = logistic(x);
                s * (1.0 - s)
            }
            Nonlinearity::Relu { threshold } => {
                if x > threshold {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// φ''(x): tanh `−2 tanh x (1 − tanh² x)`, logistic `σ(1 − σ)(1 − 2σ)`; ReLU `δ(x − θ)`,
    /// whose regular part is 0 (returned here) and whose point mass the integrals handle
    /// analytically.
    pub fn second_derivative(&self, x: f64) -> f64 {
        match *self {
            Nonlinearity::Tanh => {
                let t = x.tanh();
                -2.0 * t * (1.0 - t * t)
            }
            Nonlinearity::Logistic => {
                let s = logistic(x);
                s * (1.0 - s) * (1.0 - 2.0 * s)
            }
            Nonlinearity::Relu { .. } => 0.0,
        }
    }
}

impl std::fmt::Display for Nonlinearity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Nonlinearity::Tanh => write!(f, "tanh"),
            Nonlinearity::Logistic => write!(f, "logistic"),
            Nonlinearity::Relu { threshold } => write!(f, "ReLU_θ (θ = {threshold})"),
        }
    }
}

fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// One replica's reservoir: J (row-major N × N), u, φ.
#[derive(Clone, Debug)]
pub struct Reservoir {
    pub neurons: usize,
    /// J_ij at `i N + j`.
    pub coupling: Vec<f64>,
    /// u.
    pub feedback: Vec<f64>,
    pub nonlinearity: Nonlinearity,
}

/// An open-loop relaxation and its Newton polish.
#[derive(Clone, Debug)]
pub struct OpenLoop {
    /// x after relaxation, then Newton (when it converged).
    pub state: Vec<f64>,
    /// ‖F‖/‖x‖ < the settle tolerance at the end of the relaxation.
    pub settled: bool,
    /// ‖F‖/√N after Newton.
    pub residual: f64,
    /// Newton reached ‖F‖/√N below its tolerance.
    pub polished: bool,
}

impl Reservoir {
    /// J ~ N(0, g²/N) and u ~ N(0, σ_u²) from `rng` (J first, row by row, then u).
    pub fn draw(
        neurons: usize,
        gain: f64,
        feedback_std: f64,
        nonlinearity: Nonlinearity,
        rng: &mut ChaCha8Rng,
    ) -> Reservoir {
        let scale = gain / (neurons as f64).sqrt();
        let coupling = (0..neurons * neurons)
            .map(|_| scale * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let feedback = (0..neurons)
            .map(|_| feedback_std * rng.sample::<f64, _>(StandardNormal))
            .collect();
        Reservoir {
            neurons,
            coupling,
            feedback,
            nonlinearity,
        }
    }

    /// `J φ(x)`.
    pub fn recurrent(&self, x: &[f64]) -> Vec<f64> {
        let r: Vec<f64> = x.iter().map(|&v| self.nonlinearity.phi(v)).collect();
        self.coupling
            .chunks_exact(self.neurons)
            .map(|row| row.iter().zip(&r).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// `F = −x + J φ(x) + u A` (the open loop with z clamped at A).
    pub fn open_loop_field(&self, x: &[f64], target: f64) -> Vec<f64> {
        self.recurrent(x)
            .iter()
            .zip(x)
            .zip(&self.feedback)
            .map(|((jr, xi), ui)| jr - xi + ui * target)
            .collect()
    }

    /// Relax the open loop at target A from x = u A: `steps` Euler steps of `dt`; settled when
    /// `‖F‖/‖x‖ < settle` at the end.
    pub fn relax(&self, target: f64, dt: f64, steps: usize, settle: f64) -> (Vec<f64>, bool) {
        let mut x: Vec<f64> = self.feedback.iter().map(|u| u * target).collect();
        for _ in 0..steps {
            let f = self.open_loop_field(&x, target);
            x.iter_mut().zip(&f).for_each(|(x, f)| *x += dt * f);
        }
        let f = self.open_loop_field(&x, target);
        let ratio = norm(&f) / norm(&x);
        (x, ratio.is_finite() && ratio < settle)
    }

    /// Newton on F = 0: `x ← x + (I − J D)⁻¹ F`, at most `max_steps` steps, until
    /// `‖F‖/√N < tol`. Returns x and the final ‖F‖/√N.
    ///
    /// The LU of I − J D is kept while it still contracts the residual at least tenfold per
    /// step (a chord step costs O(N²) against the LU's O(N³)); from a settled relaxation that
    /// is most steps, and where it stalls the matrix is factored again at the current x, so the
    /// converged x is a root of F to the same tolerance as plain Newton's.
    pub fn polish(
        &self,
        mut x: Vec<f64>,
        target: f64,
        max_steps: usize,
        tol: f64,
    ) -> (Vec<f64>, f64) {
        let n = self.neurons;
        let sqrt_n = (n as f64).sqrt();
        let mut f = self.open_loop_field(&x, target);
        let mut residual = norm(&f) / sqrt_n;
        let mut lu = None;
        for _ in 0..max_steps {
            if residual.is_nan() || residual < tol {
                break;
            }
            let factor = lu.get_or_insert_with(|| {
                let d: Vec<f64> = x.iter().map(|&v| self.nonlinearity.derivative(v)).collect();
                Mat::<f64>::from_fn(n, n, |i, j| {
                    f64::from(u8::from(i == j)) - self.coupling[i * n + j] * d[j]
                })
                .partial_piv_lu()
            });
            let rhs = Mat::<f64>::from_fn(n, 1, |i, _| f[i]);
            let step = factor.solve(&rhs);
            for (i, xi) in x.iter_mut().enumerate() {
                *xi += step[(i, 0)];
            }
            f = self.open_loop_field(&x, target);
            let next = norm(&f) / sqrt_n;
            let contracted = next < 0.1 * residual;
            if !contracted {
                // Stalled or slow: factor again at the new x.
                lu = None;
            }
            residual = next;
        }
        (x, residual)
    }

    /// Relax then polish (models/rivkind_barak.md §3.2–3.3, defaults dt = 0.2, T = 200, settle
    /// 1e-2, ≤ 30 Newton steps to 1e-9).
    pub fn open_loop(&self, target: f64, dt: f64, time: f64, settle: f64) -> OpenLoop {
        let (x, settled) = self.relax(target, dt, (time / dt).round() as usize, settle);
        let (state, residual) = if settled {
            self.polish(x, target, 30, 1e-9)
        } else {
            let r = norm(&self.open_loop_field(&x, target)) / (self.neurons as f64).sqrt();
            (x, r)
        };
        OpenLoop {
            state,
            settled,
            residual,
            polished: residual < 1e-6,
        }
    }

    /// `M_k = −I + (J + u wᵀ) D_k`, D_k = diag φ'(x^k), row-major.
    pub fn closed_loop_jacobian(&self, readout: &[f64], x: &[f64]) -> Vec<f64> {
        let n = self.neurons;
        let d: Vec<f64> = x.iter().map(|&v| self.nonlinearity.derivative(v)).collect();
        let mut m = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let w = self.coupling[i * n + j] + self.feedback[i] * readout[j];
                m[i * n + j] = w * d[j] - f64::from(u8::from(i == j));
            }
        }
        m
    }

    /// The closed-loop field `−x + (J + u wᵀ) φ(x)`.
    pub fn closed_loop_field(&self, readout: &[f64], x: &[f64]) -> Vec<f64> {
        let r: Vec<f64> = x.iter().map(|&v| self.nonlinearity.phi(v)).collect();
        let z: f64 = readout.iter().zip(&r).map(|(a, b)| a * b).sum();
        self.recurrent(x)
            .iter()
            .zip(x)
            .zip(&self.feedback)
            .map(|((jr, xi), ui)| jr - xi + ui * z)
            .collect()
    }

    /// The open-loop gain at s = 0, `H(0) = wᵀ D ((I − J D)⁻¹ u)` at x (the input along u to z,
    /// loop open; models/rivkind_barak.md §4): the slope dz_ol/dA of the open-loop readout.
    pub fn open_loop_gain_at_zero(&self, readout: &[f64], x: &[f64]) -> f64 {
        let n = self.neurons;
        let d: Vec<f64> = x.iter().map(|&v| self.nonlinearity.derivative(v)).collect();
        let a = Mat::<f64>::from_fn(n, n, |i, j| {
            f64::from(u8::from(i == j)) - self.coupling[i * n + j] * d[j]
        });
        let rhs = Mat::<f64>::from_fn(n, 1, |i, _| self.feedback[i]);
        let y = a.partial_piv_lu().solve(&rhs);
        (0..n).map(|i| readout[i] * d[i] * y[(i, 0)]).sum()
    }

    /// The open-loop gain at s = 0 and its time constant: `H(s) = wᵀD((1 + s)I − J D)⁻¹ u`, and
    /// τ from the single-pole form `H(s) = H0/(1 + τ s)` the mean-field theory gives (§5.3),
    /// matched at s = 0 and s = `probe`: `τ = (H(0)/H(probe) − 1)/probe`. A probe away from the
    /// bulk's poles (which fill |s + 1| ≤ ρ and reach s = 0 at the edge of chaos) reads the
    /// outlier's pole rather than the nearest bulk pole; the tangent −H'(0)/H(0) is the limit
    /// probe → 0.
    pub fn open_loop_pole(&self, readout: &[f64], x: &[f64], probe: f64) -> (f64, f64) {
        let n = self.neurons;
        let d: Vec<f64> = x.iter().map(|&v| self.nonlinearity.derivative(v)).collect();
        let gain_at = |s: f64| -> f64 {
            let a = Mat::<f64>::from_fn(n, n, |i, j| {
                (1.0 + s) * f64::from(u8::from(i == j)) - self.coupling[i * n + j] * d[j]
            });
            let y = a
                .partial_piv_lu()
                .solve(&Mat::<f64>::from_fn(n, 1, |i, _| self.feedback[i]));
            (0..n).map(|i| readout[i] * d[i] * y[(i, 0)]).sum()
        };
        let h0 = gain_at(0.0);
        (h0, (h0 / gain_at(probe) - 1.0) / probe)
    }

    /// The bulk radius ρ = g √⟨φ'(x)²⟩ at x.
    pub fn bulk_radius(&self, gain: f64, x: &[f64]) -> f64 {
        let m = x
            .iter()
            .map(|&v| self.nonlinearity.derivative(v).powi(2))
            .sum::<f64>()
            / x.len() as f64;
        gain * m.sqrt()
    }
}

/// The eigenvalues of a row-major n × n matrix.
pub fn eigenvalues(n: usize, row_major: &[f64]) -> Vec<c64> {
    let m = Mat::<f64>::from_fn(n, n, |i, j| row_major[i * n + j]);
    m.eigenvalues()
        .unwrap_or_else(|_| vec![c64::new(f64::NAN, 0.0); n])
}

/// `w = R (RᵀR + βI)⁺ A`, R's columns the rates `r^k` (each of length N): with β = 0 the
/// minimum-norm interpolant (`wᵀ r^k = A_k` exactly when R has full column rank; the
/// pseudo-inverse handles dependent columns, e.g. tanh with targets ±A).
pub fn minimum_norm_readout(rates: &[Vec<f64>], targets: &[f64], ridge: f64) -> Vec<f64> {
    let k = rates.len();
    let n = rates.first().map_or(0, Vec::len);
    let gram = Mat::<f64>::from_fn(k, k, |a, b| {
        dot(&rates[a], &rates[b]) + if a == b { ridge } else { 0.0 }
    });
    // Pseudo-inverse through the symmetric eigen-decomposition (relative cutoff 1e-12).
    let eig = gram
        .self_adjoint_eigen(faer::Side::Lower)
        .expect("symmetric eigen-decomposition");
    let (s, v) = (eig.S(), eig.U());
    let largest = (0..k).map(|i| s[i].abs()).fold(0.0, f64::max);
    let mut coeff = vec![0.0; k];
    for m in 0..k {
        let lambda = s[m];
        if lambda.abs() <= 1e-12 * largest {
            continue;
        }
        let proj: f64 = (0..k).map(|b| v[(b, m)] * targets[b]).sum::<f64>() / lambda;
        for (a, c) in coeff.iter_mut().enumerate() {
            *c += v[(a, m)] * proj;
        }
    }
    (0..n)
        .map(|i| (0..k).map(|a| rates[a][i] * coeff[a]).sum())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}
