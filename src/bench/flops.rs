//! What one bench case computes, counted in floating-point operations.
//!
//! The counts are the arithmetic the algorithm needs, not what a kernel happens to execute, so
//! "effective GFLOP/s" compares backends and the measured peaks fairly. A multiply-add counts as
//! two operations. With N neurons, k tangent vectors, and per replica:
//!
//! - **a time step** (local field `u = W s + b`, one matrix–vector product):
//!   `2 N²` (N² multiplies, N² adds). The O(N) activation and leak terms are not counted.
//! - **a Hebbian update** (once per epoch), `W ← λ W + c ⊙ (m mᵀ)` (column factor
//!   `c_j = α/N · H(m_j)`): one multiply for `λ W_ij`, one for the rank-one product and one add:
//!   `3 N²`. (It runs once per epoch of hundreds of steps: under 1% of a learning case.)
//! - **a tangent step** (Lyapunov, one per recorded step), `Q ← (1 − a) Q + a diag(D) W Q`:
//!   `2 N² k` for `W Q` plus `4 N k` for the elementwise update (three multiplies, one add).
//! - **a re-orthonormalisation** (Householder QR of the N × k matrix `Q`, then the thin `Q`):
//!   `2 N k² − 2k³/3` for the factorisation and as much again to form `Q`, so
//!   `4 N k² − 4k³/3` — for k = N, `8N³/3`. It runs at least every `m` recorded steps; the
//!   count assumes exactly every `m` (the adaptive interval may halve it, and those extra QRs are
//!   not counted, so a Lyapunov figure is a lower bound).
//!
//! A case of `E` epochs of `T₀` transient and `τ` recorded steps on R replicas then counts
//! `R · E · [2N² (T₀ + τ) + 3N² (learning) + (2N²k + 4Nk) τ + ⌈τ/m⌉ (4Nk² − 4k³/3)]`.

/// One case's work per replica and epoch, in the terms above.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Work {
    pub neurons: usize,
    /// `T₀ + τ`.
    pub steps_per_epoch: usize,
    /// `τ`: steps that propagate tangents (Lyapunov cases).
    pub recorded_steps: usize,
    pub epochs: usize,
    pub learning: bool,
    /// k (0: no Lyapunov analysis).
    pub exponents: usize,
    /// m.
    pub reorthonormalize_every: usize,
}

/// `2 N²`: one step's local field.
pub fn step(n: usize) -> f64 {
    2.0 * (n as f64).powi(2)
}

/// `3 N²`: one Hebbian update.
pub fn hebbian_update(n: usize) -> f64 {
    3.0 * (n as f64).powi(2)
}

/// `2 N² k + 4 N k`: one tangent step.
pub fn tangent_step(n: usize, k: usize) -> f64 {
    let (n, k) = (n as f64, k as f64);
    2.0 * n * n * k + 4.0 * n * k
}

/// `4 N k² − 4k³/3`: a thin QR of N × k and the formation of its `Q`.
pub fn qr(n: usize, k: usize) -> f64 {
    let (n, k) = (n as f64, k as f64);
    4.0 * n * k * k - 4.0 * k.powi(3) / 3.0
}

impl Work {
    /// Operations of one replica over the whole case.
    pub fn per_replica(&self) -> f64 {
        let n = self.neurons;
        let mut epoch = step(n) * self.steps_per_epoch as f64;
        if self.learning {
            epoch += hebbian_update(n);
        }
        if self.exponents > 0 {
            let k = self.exponents;
            let qrs = self
                .recorded_steps
                .div_ceil(self.reorthonormalize_every.max(1));
            epoch += tangent_step(n, k) * self.recorded_steps as f64 + qrs as f64 * qr(n, k);
        }
        epoch * self.epochs as f64
    }

    /// Operations of `replicas` replicas.
    pub fn total(&self, replicas: usize) -> f64 {
        self.per_replica() * replicas as f64
    }

    /// Steps each replica advances: `E (T₀ + τ)`.
    pub fn steps(&self) -> usize {
        self.epochs * self.steps_per_epoch
    }

    /// Synapse updates (one multiply-add of the local field per synapse and step): `N² R E (T₀ + τ)`.
    pub fn synapse_updates(&self, replicas: usize) -> f64 {
        (self.neurons as f64).powi(2) * replicas as f64 * self.steps() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(learning: bool, exponents: usize) -> Work {
        Work {
            neurons: 100,
            steps_per_epoch: 600,
            recorded_steps: 400,
            epochs: 2,
            learning,
            exponents,
            reorthonormalize_every: 10,
        }
    }

    #[test]
    fn dynamics_is_two_n_squared_per_step() {
        let w = work(false, 0);
        assert_eq!(w.per_replica(), 2.0 * 1e4 * 1200.0);
        assert_eq!(w.total(3), 3.0 * 2.0 * 1e4 * 1200.0);
        assert_eq!(w.synapse_updates(3), 1e4 * 3.0 * 1200.0);
        // Plain dynamics: GFLOP = 2 · synapse updates.
        assert_eq!(w.total(3), 2.0 * w.synapse_updates(3));
    }

    #[test]
    fn learning_adds_three_n_squared_per_epoch() {
        assert_eq!(
            work(true, 0).per_replica() - work(false, 0).per_replica(),
            2.0 * 3e4
        );
    }

    #[test]
    fn lyapunov_adds_tangents_and_qrs() {
        // k = 1: per recorded step 2N² + 4N, a QR every 10 steps of 4N − 4/3.
        let extra = work(false, 1).per_replica() - work(false, 0).per_replica();
        let expect = 2.0 * (400.0 * (2e4 + 400.0) + 40.0 * (400.0 - 4.0 / 3.0));
        assert!(
            (extra - expect).abs() < 1e-6 * expect,
            "{extra} vs {expect}"
        );
        // k = N: the QR of a square matrix is 8N³/3.
        assert!((qr(100, 100) - 8e6 / 3.0).abs() < 1e-6);
        assert_eq!(tangent_step(100, 100), 2e6 + 4e4);
        // The interval rounds up: τ = 5, m = 10 is one QR.
        let w = Work {
            recorded_steps: 5,
            steps_per_epoch: 5,
            epochs: 1,
            ..work(false, 1)
        };
        let expect = 5.0 * 2e4 + 5.0 * (2e4 + 400.0) + qr(100, 1);
        assert!((w.per_replica() - expect).abs() < 1e-9 * expect);
    }
}
