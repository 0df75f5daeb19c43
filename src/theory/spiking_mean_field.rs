//! The mean-field population rate of Cessac's spiking network (BMS, models/cessac.md §2, §7)
//! and the onset of self-sustained activity: the independent-neuron (annealed) approximation,
//! derived here (docs/theory.md, "BMS: onset of self-sustained activity").
//!
//! **Approximation.** When a fraction ρ of the N neurons spiked at t − 1, the synaptic input
//! `h_i = Σ_j W_ij Z_j` is a sum of Nρ weights; with `W_ij ~ N(W̄/N, σ²/N)` drawn independently
//! of the raster (N → ∞, no correlations between neurons: the annealed approximation) it is
//! Gaussian, mean `W̄ρ`, variance `σ²ρ`, and fresh at every step. Each neuron then sees the i.i.d.
//! drive `u(t) = h(t) + I + σ_B B(t) ~ N(μ(ρ), s²(ρ))` with
//!
//! `μ(ρ) = W̄ρ + Ī`, `s²(ρ) = σ²ρ + σ_I² + σ_θ² + σ_B²`
//!
//! (the spread of the inputs `σ_I` and of the thresholds `σ_θ` enters as if redrawn every step:
//! exact in distribution for γ = 0 and one step, an approximation otherwise). The threshold is
//! θ̄. Unscaled weights (`N(W̄, σ²)`, PRANAS) are the same with `W̄ → N W̄`, `σ² → N σ²`.
//!
//! **γ = 0** (a binary threshold network): `V(t+1) = u(t)`, so a neuron spikes with
//! probability `F(ρ) = P(u ≥ θ̄) = Φ((μ(ρ) − θ̄)/s(ρ))`, and the population rate follows the
//! map `ρ(t+1) = F(ρ(t))`.
//!
//! **γ > 0**: a neuron is a renewal process. After a spike `V₁ = u₁`, then `V_k = γ V_{k−1} +
//! u_k` until `V_k ≥ θ̄`; its rate is `1/E[K]` for the first-passage step K. E[K] = Σ_{k≥0} S_k
//! with the survival `S_k = P(V₁, …, V_k < θ̄)`, computed by propagating the sub-threshold
//! density of V on a grid ([`renewal_rate`]). The self-consistent rates solve
//! `ρ = F(ρ) := 1/E[K](μ(ρ), s(ρ))`; for γ = 0 this F is the one above.
//!
//! **Onset.** ρ = 0 is always a solution when `Ī < θ̄` and the spreads vanish (no input can
//! start a silent network). Self-sustained activity needs a second, active solution
//! `ρ* > 0`: it appears in a saddle-node as σ grows, at the onset `σ_c`, the smallest σ with
//! `max_{ρ ∈ (0, 1]} (F(ρ) − ρ) ≥ 0`. For γ = 0, W̄ = 0, Ī = 0: `F(ρ) = Φ(−θ̄/(σ√ρ))`, and
//! `σ_c = θ̄ / max_ρ √ρ (−Φ⁻¹(ρ)) = 2.4555 θ̄` (the maximum, 0.40725, is at ρ = 0.1238).
//!
//! Below σ_c the approximation predicts death from any start; above, activity from a start
//! with enough spikes (the default V(0) ~ U[0, 2θ) fires about half the network). Finite N,
//! the quenched weights and the reset's memory (γ > 0) move the true onset: the figures draw
//! σ_c beside the measured dead fraction.

use crate::config::{Config, Model, VectorSource, WeightScaling};

/// Standard normal CDF `Φ(x) = erfc(−x/√2)/2`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The mean-field description of one BMS config (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpikingMeanField {
    /// γ.
    pub leak: f64,
    /// θ̄.
    pub threshold: f64,
    /// Ī.
    pub input: f64,
    /// W̄ in the scaled convention (mean summed input from a fully active network).
    pub weight_mean: f64,
    /// σ in the scaled convention.
    pub weight_std: f64,
    /// `σ_I² + σ_θ² + σ_B²`.
    pub extra_variance: f64,
}

/// Grid cells of the sub-threshold density in [`renewal_rate`].
const GRID: usize = 160;
/// Most steps propagated before the survival's geometric tail is extrapolated (it is as soon as
/// the decay ratio settles).
const MAX_STEPS: usize = 4000;

impl SpikingMeanField {
    /// From a `"bms"` config; `Err(reason)` when a hypothesis fails (weights from a file, two
    /// populations, input drawn uniformly or from a file).
    pub fn from_config(config: &Config) -> Result<SpikingMeanField, String> {
        if config.model != Model::Bms {
            return Err("not a \"bms\" config".into());
        }
        let w = &config.weights;
        if w.file.is_some() {
            return Err("weights from a file: no Gaussian statistics".into());
        }
        if w.excitatory_fraction.is_some() {
            return Err(
                "two populations (E/I): the input is not one Gaussian of the rate; not derived"
                    .into(),
            );
        }
        let (input, input_var) = match config.input_source().map_err(|e| e.to_string())? {
            VectorSource::Gaussian { mean, std } => (mean, std * std),
            _ => return Err("input not Gaussian: set input.distribution = \"gaussian\"".into()),
        };
        let b = &config.bms;
        let n = b.neurons as f64;
        let (weight_mean, weight_std) = match b.weight_scaling {
            WeightScaling::ByNeurons => (w.mean, w.std),
            WeightScaling::None => (w.mean * n, w.std * n.sqrt()),
        };
        Ok(SpikingMeanField {
            leak: b.leak,
            threshold: b.threshold,
            input,
            weight_mean,
            weight_std,
            extra_variance: input_var + b.threshold_std.powi(2) + b.noise.powi(2),
        })
    }

    /// `(μ(ρ), s(ρ))`: the drive's mean and standard deviation.
    pub fn drive(&self, rho: f64) -> (f64, f64) {
        (
            self.weight_mean * rho + self.input,
            (self.weight_std.powi(2) * rho + self.extra_variance).sqrt(),
        )
    }

    /// `F(ρ)`: the rate of a neuron driven by a network firing at rate ρ.
    pub fn rate_map(&self, rho: f64) -> f64 {
        let (mu, s) = self.drive(rho);
        renewal_rate(self.leak, self.threshold, mu, s)
    }

    /// The active solutions `ρ = F(ρ)` with ρ > 0 (ascending; located on a log grid of ρ and
    /// refined by bisection); at most a handful.
    pub fn active_rates(&self) -> Vec<f64> {
        let grid = rho_grid();
        let g: Vec<f64> = grid.iter().map(|&r| self.rate_map(r) - r).collect();
        let mut roots = Vec::new();
        for k in 1..grid.len() {
            if g[k - 1].signum() != g[k].signum() || g[k] == 0.0 {
                let (mut lo, mut hi) = (grid[k - 1], grid[k]);
                let below = g[k - 1];
                for _ in 0..60 {
                    let mid = 0.5 * (lo + hi);
                    let v = self.rate_map(mid) - mid;
                    if (v < 0.0) == (below < 0.0) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                roots.push(0.5 * (lo + hi));
            }
        }
        roots
    }

    /// The stable active rate: the largest solution (F crosses the diagonal downwards there).
    pub fn stable_rate(&self) -> Option<f64> {
        self.active_rates()
            .into_iter()
            .rev()
            .find(|&r| self.rate_map(r * (1.0 + 1e-6)) < r * (1.0 + 1e-6))
    }

    /// `max_{ρ ∈ (0,1]} (F(ρ) − ρ)`: ≥ 0 when an active solution exists.
    pub fn activity_margin(&self) -> f64 {
        rho_grid()
            .iter()
            .map(|&r| self.rate_map(r) - r)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Whether an active solution exists (as [`Self::activity_margin`] ≥ 0, stopping at the
    /// first ρ that shows it).
    pub fn has_active_solution(&self) -> bool {
        rho_grid().iter().any(|&r| self.rate_map(r) >= r)
    }

    /// The onset `σ_c` of self-sustained activity: the smallest σ (scaled convention) with an
    /// active solution, by bisection on [`Self::activity_margin`] up to `sigma_max`; `None` when
    /// activity exists already at σ = 0 (an input above threshold) or not even at `sigma_max`.
    pub fn onset_std(&self, sigma_max: f64) -> Option<f64> {
        let at = |sigma: f64| SpikingMeanField {
            weight_std: sigma,
            ..*self
        };
        if at(0.0).has_active_solution() || !at(sigma_max).has_active_solution() {
            return None;
        }
        let (mut lo, mut hi) = (0.0, sigma_max);
        while hi - lo > 1e-5 * hi {
            let mid = 0.5 * (lo + hi);
            if at(mid).has_active_solution() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }
}

/// Values of ρ scanned for solutions: log-spaced on [1e-4, 1] (the onset's active rate at
/// γ = 0 is ≈ 0.12; lower rates matter for large θ).
fn rho_grid() -> Vec<f64> {
    (0..=160)
        .map(|k| 10f64.powf(-4.0 + 4.0 * k as f64 / 160.0))
        .collect()
}

/// The firing rate `1/E[K]` of a neuron with leak γ and threshold θ driven by i.i.d.
/// `N(μ, s²)` inputs, reset by each spike (module doc). γ = 0: `Φ((μ − θ)/s)` exactly. γ > 0:
/// the sub-threshold mass of V on [`GRID`] cells (from 8 stationary standard deviations below
/// the lowest mean to θ), moved each step by the exact Gaussian transition of the cell centres
/// (CDF differences, so mass is conserved: what passes θ spikes; what falls below the grid is
/// kept in the lowest cell); the survival's tail beyond [`MAX_STEPS`] steps is extrapolated
/// geometrically. `s = 0` is the deterministic neuron (`1/p`, or 0 when it never fires).
pub fn renewal_rate(leak: f64, threshold: f64, mu: f64, s: f64) -> f64 {
    if leak == 0.0 || s == 0.0 {
        if s == 0.0 {
            return deterministic_rate(leak, threshold, mu);
        }
        return normal_cdf((mu - threshold) / s);
    }
    let stationary = s / (1.0 - leak * leak).sqrt();
    let low = mu.min(mu / (1.0 - leak)) - 8.0 * stationary;
    if low >= threshold {
        return 1.0;
    }
    let width = (threshold - low) / GRID as f64;
    let centre = |c: usize| low + (c as f64 + 0.5) * width;
    // Transition from cell b to cell a: P(γ v_b + u ∈ cell a).
    let mut kernel = vec![0.0; GRID * GRID];
    for b in 0..GRID {
        let mean = leak * centre(b) + mu;
        let cdf = |x: f64| normal_cdf((x - mean) / s);
        for a in 0..GRID {
            let lo = if a == 0 {
                0.0
            } else {
                cdf(low + a as f64 * width)
            };
            kernel[b * GRID + a] = cdf(low + (a + 1) as f64 * width) - lo;
        }
    }
    // After a spike, V₁ = u: its sub-threshold mass.
    let mut mass: Vec<f64> = (0..GRID)
        .map(|a| {
            let hi = normal_cdf((low + (a + 1) as f64 * width - mu) / s);
            let lo = if a == 0 {
                0.0
            } else {
                normal_cdf((low + a as f64 * width - mu) / s)
            };
            hi - lo
        })
        .collect();
    let mut expected = 1.0; // S₀
    let mut survival: f64 = mass.iter().sum();
    let mut next = vec![0.0; GRID];
    let (mut ratio, mut previous_ratio) = (0.0, f64::NAN);
    for step in 0..MAX_STEPS {
        expected += survival;
        if survival < 1e-13 {
            return 1.0 / expected;
        }
        // Once the survival decays geometrically (the density has reached its quasi-stationary
        // shape), the rest of the sum is its tail.
        if step >= 20 && (ratio - previous_ratio).abs() < 1e-12 {
            break;
        }
        previous_ratio = ratio;
        next.fill(0.0);
        for (b, &m) in mass.iter().enumerate() {
            if m > 0.0 {
                for (x, &k) in next.iter_mut().zip(&kernel[b * GRID..(b + 1) * GRID]) {
                    *x += m * k;
                }
            }
        }
        std::mem::swap(&mut mass, &mut next);
        let s_next: f64 = mass.iter().sum();
        ratio = s_next / survival;
        survival = s_next;
    }
    // Geometric tail: S_{k+j} = S_k q^j (S_k is already counted).
    if ratio >= 1.0 {
        return 0.0;
    }
    expected += survival * ratio / (1.0 - ratio);
    1.0 / expected
}

/// The rate of the noiseless neuron: `1/p` from the closed form (super::bms), 0 when dead.
fn deterministic_rate(leak: f64, threshold: f64, input: f64) -> f64 {
    match super::bms::uncoupled_neuron(leak, threshold, input, 1_000_000) {
        Some(super::bms::UncoupledNeuron::Periodic { period, .. }) => 1.0 / period as f64,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(leak: f64, sigma: f64) -> SpikingMeanField {
        SpikingMeanField {
            leak,
            threshold: 1.0,
            input: 0.0,
            weight_mean: 0.0,
            weight_std: sigma,
            extra_variance: 0.0,
        }
    }

    #[test]
    fn normal_cdf_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-16);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-14);
        assert!((normal_cdf(-5.0) - 2.866_515_718_791_939e-7).abs() < 1e-20);
    }

    /// γ = 0, W̄ = Ī = 0: σ_c = θ / max_ρ √ρ (−Φ⁻¹(ρ)), maximised by hand on a fine grid of ρ
    /// with an independent inverse (bisection on Φ).
    #[test]
    fn onset_at_zero_leak_is_the_closed_form() {
        let inverse = |p: f64| {
            let (mut lo, mut hi) = (-40.0, 40.0);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if normal_cdf(mid) < p {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        };
        let best = (1..20000)
            .map(|k| {
                let rho = k as f64 / 40000.0;
                rho.sqrt() * -inverse(rho)
            })
            .fold(0.0, f64::max);
        let sigma_c = field(0.0, 1.0).onset_std(20.0).unwrap();
        assert!(
            (sigma_c - 1.0 / best).abs() < 2e-3,
            "{sigma_c} vs {}",
            1.0 / best
        );
        assert!((sigma_c - 2.4555).abs() < 2e-3, "{sigma_c}");
        // Below: only ρ = 0; above: an active stable rate near the saddle-node's 0.12.
        assert!(field(0.0, 0.99 * sigma_c).stable_rate().is_none());
        let r = field(0.0, 1.01 * sigma_c).stable_rate().unwrap();
        assert!(r > 0.12 && r < 0.3, "{r}");
    }

    /// The renewal rate: γ = 0 is Φ; tiny noise recovers the deterministic neuron's 1/p.
    #[test]
    fn renewal_rate_limits() {
        for (mu, s) in [(0.3, 0.5), (1.2, 0.2), (-0.5, 1.0)] {
            assert_eq!(renewal_rate(0.0, 1.0, mu, s), normal_cdf((mu - 1.0) / s));
        }
        // γ = 0.6, I = 0.5: period 4 (cessac.md §10), with d = 0.02 ≫ s.
        let r = renewal_rate(0.6, 1.0, 0.5, 1e-3);
        assert!((r - 0.25).abs() < 1e-3, "{r}");
        // γ = 0.6, I = 0.3 < (1 − γ)θ: dead without noise, rare escapes with a little.
        assert_eq!(renewal_rate(0.6, 1.0, 0.3, 0.0), 0.0);
        // Stationary V ~ N(0.75, 0.0625²) when nothing spikes: θ is 4 deviations away, so about
        // Φ(−4) = 3.2e-5 of the steps cross; 10 deviations away, none measurably.
        let r = renewal_rate(0.6, 1.0, 0.3, 0.05);
        assert!(r > 1e-5 && r < 6e-5, "{r}");
        let r = renewal_rate(0.6, 1.0, 0.3, 0.02);
        assert!(r < 1e-12, "{r}");
    }

    /// Monte Carlo of the same renewal process agrees with the grid at γ = 0.5.
    #[test]
    fn renewal_rate_matches_a_simulated_neuron() {
        use rand::{RngExt, SeedableRng};
        let (leak, mu, s) = (0.5, 0.3, 0.4);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (mut v, mut spikes, steps) = (0.0, 0usize, 400_000);
        for _ in 0..steps {
            let spiked = v >= 1.0;
            spikes += usize::from(spiked);
            let u: f64 = rng.sample(rand_distr::StandardNormal);
            v = if spiked { 0.0 } else { leak * v } + mu + s * u;
        }
        let simulated = spikes as f64 / steps as f64;
        let grid = renewal_rate(leak, 1.0, mu, s);
        assert!((simulated - grid).abs() < 0.004, "{simulated} vs {grid}");
    }

    #[test]
    fn input_lowers_the_onset_and_removes_it_above_the_death_line() {
        let silent = field(0.6, 1.0).onset_std(20.0).unwrap();
        let fed = SpikingMeanField {
            input: 0.3,
            ..field(0.6, 1.0)
        };
        let fed = fed.onset_std(20.0).unwrap();
        assert!(fed < 0.8 * silent, "{fed} vs {silent}");
        // An input above (1 − γ)θ = 0.4 fires every neuron alone: activity at σ = 0, no onset.
        let driven = SpikingMeanField {
            input: 0.5,
            ..field(0.6, 1.0)
        };
        assert_eq!(driven.onset_std(20.0), None);
    }
}
