//! Attractor class of a trajectory (science.md §3): fixed point, period-p orbit,
//! quasi-periodic (λ₁ ≈ 0, no period), chaotic (λ₁ > 0).
//!
//! The period is the smallest `p ≤ P` such that the last `p` states repeat the `p` before them
//! to within `tolerance · max(1, |x|)` in every component; `p = 1` is a fixed point. Without a
//! period, the largest exponent decides: `λ₁ > ε` chaotic, `|λ₁| ≤ ε` quasi-periodic, `λ₁ < −ε`
//! still converging (`transient`: lengthen the window). Without `λ₁`, such a trajectory is
//! `aperiodic`.

use std::collections::VecDeque;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attractor {
    FixedPoint,
    Periodic,
    QuasiPeriodic,
    Chaotic,
    /// No period found and λ₁ < −ε: the orbit has not settled within the window.
    Transient,
    /// No period found and no λ₁ computed.
    Aperiodic,
}

impl Attractor {
    pub fn name(self) -> &'static str {
        match self {
            Attractor::FixedPoint => "fixed_point",
            Attractor::Periodic => "periodic",
            Attractor::QuasiPeriodic => "quasi_periodic",
            Attractor::Chaotic => "chaotic",
            Attractor::Transient => "transient",
            Attractor::Aperiodic => "aperiodic",
        }
    }
}

/// The last `2P` states of a trajectory.
pub struct StateRing {
    states: VecDeque<Vec<f64>>,
    capacity: usize,
}

impl StateRing {
    pub fn new(max_period: usize) -> Self {
        StateRing {
            states: VecDeque::with_capacity(2 * max_period),
            capacity: 2 * max_period,
        }
    }

    pub fn clear(&mut self) {
        self.states.clear();
    }

    pub fn push(&mut self, state: &[f64]) {
        if self.capacity == 0 {
            return;
        }
        let slot = if self.states.len() == self.capacity {
            let mut old = self.states.pop_front().expect("full ring");
            old.copy_from_slice(state);
            old
        } else {
            state.to_vec()
        };
        self.states.push_back(slot);
    }

    /// The last `count` states (fewer if the ring holds fewer), oldest first.
    pub fn recent(&self, count: usize) -> Vec<&[f64]> {
        let skip = self.states.len().saturating_sub(count);
        self.states.iter().skip(skip).map(Vec::as_slice).collect()
    }

    /// The smallest period `p` (≤ half the ring) of the recent trajectory, if any.
    pub fn period(&self, tolerance: f64) -> Option<usize> {
        let len = self.states.len();
        (1..=len / 2).find(|&p| {
            (0..p).all(|j| {
                let a = &self.states[len - 1 - j];
                let b = &self.states[len - 1 - j - p];
                a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= tolerance * x.abs().max(1.0))
            })
        })
    }
}

/// Classify from the period found (if any) and the largest exponent (NaN if not computed).
pub fn classify(period: Option<usize>, largest_lyapunov: f64, zero_band: f64) -> Attractor {
    match period {
        Some(1) => Attractor::FixedPoint,
        Some(_) => Attractor::Periodic,
        None if largest_lyapunov.is_nan() => Attractor::Aperiodic,
        None if largest_lyapunov > zero_band => Attractor::Chaotic,
        None if largest_lyapunov >= -zero_band => Attractor::QuasiPeriodic,
        None => Attractor::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_smallest_period() {
        let mut ring = StateRing::new(5);
        for t in 0..40 {
            ring.push(&[[0.1, 0.5, 0.9][t % 3], 1.0]);
        }
        assert_eq!(ring.period(1e-9), Some(3));
        let mut fixed = StateRing::new(5);
        for _ in 0..3 {
            fixed.push(&[0.3, 0.2]);
        }
        assert_eq!(fixed.period(1e-9), Some(1));
        let mut moving = StateRing::new(5);
        for t in 0..40 {
            moving.push(&[(t as f64 * 0.7).sin()]);
        }
        assert_eq!(moving.period(1e-6), None);
    }

    #[test]
    fn classification_rules() {
        assert_eq!(classify(Some(1), 0.3, 0.01), Attractor::FixedPoint);
        assert_eq!(classify(Some(4), -0.3, 0.01), Attractor::Periodic);
        assert_eq!(classify(None, 0.2, 0.01), Attractor::Chaotic);
        assert_eq!(classify(None, 0.005, 0.01), Attractor::QuasiPeriodic);
        assert_eq!(classify(None, -0.2, 0.01), Attractor::Transient);
        assert_eq!(classify(None, f64::NAN, 0.01), Attractor::Aperiodic);
    }
}
