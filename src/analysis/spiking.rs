//! What is measured on a BMS trajectory's recorded window (models/cessac.md §3–6): rates,
//! death, the order parameter d̂ with its checkpoints and argmin, the period by exact recurrence
//! of the raster, ISI statistics and the exact Lyapunov spectrum — and the ensemble summary of
//! a run or sweep point (§7).

use super::summary::{column_values, group_header, group_start, grouped, mean_ci};
use crate::model::bms::{lyapunov_spectrum, Trace};

/// Bins of the ISI histogram: intervals 1, 2, …, `ISI_BINS − 1`, and `≥ ISI_BINS`.
pub const ISI_BINS: usize = 64;

/// The fractions of the window at which d̂ is reported besides the whole window.
pub const CHECKPOINTS: [usize; 3] = [8, 4, 2];

/// The observables of one trajectory's window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowMeasures {
    /// Spikes per neuron per step, `(1/T) Σ_t Z_i(t)`.
    pub neuron_rates: Vec<f64>,
    /// Population rate, the mean of `ρ(t) = (1/N) Σ_i Z_i(t)` over the window.
    pub rate: f64,
    /// Fraction of neurons that spiked at least once (= the share of −∞ exponents).
    pub spiking_fraction: f64,
    /// Window step of the last spike; `None`: dead (no spike in the window).
    pub last_spike: Option<usize>,
    /// d̂ over the first T/8, T/4, T/2 steps and over the whole window (each at least one step).
    pub d_hat: [f64; 4],
    /// The window step and neuron of the minimum of the whole window (first in time on ties).
    pub d_hat_at: (usize, usize),
    /// Smallest `p ≤ max_period` with `Z(t) = Z(t − p)` over the whole window; `None`: censored.
    pub period: Option<usize>,
    /// Mean and coefficient of variation of the inter-spike intervals: the mean pools every
    /// interval of the window; the CV is the mean over neurons with at least two intervals of
    /// their own CV (NaN where no neuron has two).
    pub isi_mean: f64,
    pub isi_cv: f64,
    /// Counts of intervals of length 1, …, [`ISI_BINS`] − 1, and ≥ [`ISI_BINS`].
    pub isi_histogram: Vec<f64>,
}

impl WindowMeasures {
    /// Measure `trace` (N neurons).
    pub fn of(trace: &Trace, neurons: usize, max_period: usize) -> WindowMeasures {
        let window = trace.distance.len();
        let mut counts = vec![0usize; neurons];
        let mut previous: Vec<Option<usize>> = vec![None; neurons];
        let mut intervals: Vec<Vec<usize>> = vec![Vec::new(); neurons];
        let mut last_spike = None;
        for t in 0..window {
            let words = trace.spikes(neurons, t);
            for (k, &word) in words.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let i = 32 * k + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    counts[i] += 1;
                    if let Some(p) = previous[i] {
                        intervals[i].push(t - p);
                    }
                    previous[i] = Some(t);
                    last_spike = Some(t);
                }
            }
        }
        let tau = window.max(1) as f64;
        let neuron_rates: Vec<f64> = counts.iter().map(|&c| c as f64 / tau).collect();
        let rate = neuron_rates.iter().sum::<f64>() / neurons as f64;
        let spiking_fraction = counts.iter().filter(|&&c| c > 0).count() as f64 / neurons as f64;

        let mut d_hat = [f64::INFINITY; 4];
        let mut d_hat_at = (0, 0);
        let limits: Vec<usize> = CHECKPOINTS
            .iter()
            .map(|&f| window.div_ceil(f).max(1))
            .chain(std::iter::once(window))
            .collect();
        for (t, &d) in trace.distance.iter().enumerate() {
            if d < d_hat[3] {
                d_hat_at = (t, trace.nearest[t] as usize);
            }
            for (slot, &limit) in d_hat.iter_mut().zip(&limits) {
                if t < limit && d < *slot {
                    *slot = d;
                }
            }
        }

        let mut histogram = vec![0.0; ISI_BINS];
        let (mut pooled, mut pooled_count, mut cv_sum, mut cv_count) = (0.0, 0usize, 0.0, 0usize);
        for list in &intervals {
            for &isi in list {
                histogram[isi.min(ISI_BINS) - 1] += 1.0;
                pooled += isi as f64;
                pooled_count += 1;
            }
            if list.len() >= 2 {
                let m = list.iter().sum::<usize>() as f64 / list.len() as f64;
                let var =
                    list.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / list.len() as f64;
                cv_sum += var.sqrt() / m;
                cv_count += 1;
            }
        }
        WindowMeasures {
            neuron_rates,
            rate,
            spiking_fraction,
            last_spike,
            d_hat,
            d_hat_at,
            period: period(trace, neurons, max_period),
            isi_mean: if pooled_count > 0 {
                pooled / pooled_count as f64
            } else {
                f64::NAN
            },
            isi_cv: if cv_count > 0 {
                cv_sum / cv_count as f64
            } else {
                f64::NAN
            },
            isi_histogram: histogram,
        }
    }

    /// `(λ_max, number of −∞ exponents)` of the exact spectrum (cessac.md §3): a neuron that
    /// spikes in the window contributes −∞ ("superstable"), a silent one ln γ.
    pub fn lyapunov(&self, leak: f64) -> (f64, usize) {
        let spiked: Vec<bool> = self.neuron_rates.iter().map(|&r| r > 0.0).collect();
        let spectrum = lyapunov_spectrum(leak, &spiked);
        let superstable = spectrum.iter().filter(|x| **x == f64::NEG_INFINITY).count();
        (
            spectrum.first().copied().unwrap_or(f64::NEG_INFINITY),
            superstable,
        )
    }
}

/// The period of the window's raster by exact recurrence: candidates are the `p` at which the
/// last pattern recurs, each verified over the whole window.
pub fn period(trace: &Trace, neurons: usize, max_period: usize) -> Option<usize> {
    let window = trace.distance.len();
    let last = window.checked_sub(1)?;
    let at = |t: usize| trace.spikes(neurons, t);
    (1..=max_period.min(last))
        .find(|&p| at(last) == at(last - p) && (p..window).all(|t| at(t) == at(t - p)))
}

/// The first window step at which two rasters differ, if any.
pub fn divergence(a: &Trace, b: &Trace, neurons: usize) -> Option<usize> {
    (0..a.distance.len().min(b.distance.len()))
        .find(|&t| a.spikes(neurons, t) != b.spikes(neurons, t))
}

/// Columns of `spikes.csv`, one row per replica and epoch (docs/bms.md defines each).
pub const SPIKE_COLUMNS: [&str; 27] = [
    "replica",
    "epoch",
    "rate",
    "spiking_fraction",
    "dead",
    "last_spike",
    "d_hat",
    "d_hat_t8",
    "d_hat_t4",
    "d_hat_t2",
    "d_hat_condition",
    "d_hat_step",
    "d_hat_neuron",
    "period",
    "periodic_conditions",
    "state_recurrence",
    "isi_mean",
    "isi_cv",
    "lyapunov_max",
    "superstable_exponents",
    "weight_mean",
    "weight_std",
    "spectral_radius_w",
    "twin_changed",
    "twin_divergence",
    "mean_m",
    "active_fraction",
];

/// Summary columns of each group (a run's epoch, or a sweep's point).
const SUMMARY_STATS: [&str; 13] = [
    "log10_d_hat_median",
    "log10_d_hat_q25",
    "log10_d_hat_q75",
    "log10_d_hat_mean",
    "dead_fraction",
    "periodic_fraction",
    "period_median",
    "rate_mean",
    "rate_ci95_low",
    "rate_ci95_high",
    "spiking_fraction_mean",
    "twin_changed_mean",
    "spectral_radius_w_mean",
];

/// Ensemble statistics of the rows of `csv` ([`SPIKE_COLUMNS`] plus the engine's leading
/// columns), one output row per value of the integer column `group`: `group,<carry…>,replicas`
/// then [`SUMMARY_STATS`]. d̂ is summarised on a log scale (it spans decades: cessac.md §4);
/// a dead network's d̂ counts like any other. `period_median` is over the replicas with a
/// detected period (NaN if none).
pub fn summarize_by(csv: &str, group: &str, carry: &[&str]) -> String {
    let (header, groups) = grouped(csv, group);
    let mut out = group_header(group, carry);
    for s in SUMMARY_STATS {
        out.push(',');
        out.push_str(s);
    }
    out.push('\n');
    for (key, rows) in groups {
        let values = |name: &str| column_values(&header, &rows, name);
        let log_d: Vec<f64> = values("d_hat").iter().map(|d| d.log10()).collect();
        let periods: Vec<f64> = values("period").into_iter().filter(|&p| p > 0.0).collect();
        let count = rows.len() as f64;
        let (rate, rate_lo, rate_hi, _) = mean_ci(&values("rate"));
        let mean = |v: &[f64]| mean_ci(v).0;
        let stats = [
            quantile(&log_d, 0.5),
            quantile(&log_d, 0.25),
            quantile(&log_d, 0.75),
            mean(&log_d),
            values("dead").iter().filter(|&&d| d == 1.0).count() as f64 / count,
            periods.len() as f64 / count,
            quantile(&periods, 0.5),
            rate,
            rate_lo,
            rate_hi,
            mean(&values("spiking_fraction")),
            mean(&values("twin_changed")),
            mean(&values("spectral_radius_w")),
        ];
        out.push_str(&group_start(key, &header, &rows, carry));
        for s in stats {
            out.push_str(&format!(",{s}"));
        }
        out.push('\n');
    }
    out
}

/// The `q` quantile of the finite values (linear interpolation between order statistics,
/// NumPy's default); NaN when there are none.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace of `n` neurons from a list of spike sets per step and distances.
    fn trace(n: usize, steps: &[&[usize]], distance: &[f64]) -> Trace {
        let words = Trace::words(n);
        let mut raster = vec![0u32; steps.len() * words];
        for (t, set) in steps.iter().enumerate() {
            for &i in *set {
                raster[t * words + i / 32] |= 1 << (i % 32);
            }
        }
        Trace {
            raster,
            distance: distance.to_vec(),
            nearest: (0..distance.len() as u32).collect(),
            state: vec![0.0; n],
        }
    }

    #[test]
    fn rates_isi_and_period_by_hand() {
        // Neuron 0 fires every 2 steps, neuron 1 every step from t = 1, neuron 2 never.
        let steps: Vec<&[usize]> = vec![&[0], &[1], &[0, 1], &[1], &[0, 1], &[1], &[0, 1], &[1]];
        let d = [0.5, 0.4, 0.3, 0.2, 0.25, 0.1, 0.3, 0.3];
        let m = WindowMeasures::of(&trace(3, &steps, &d), 3, 4);
        assert_eq!(m.neuron_rates, vec![0.5, 7.0 / 8.0, 0.0]);
        assert!((m.rate - (0.5 + 0.875) / 3.0).abs() < 1e-15);
        assert!((m.spiking_fraction - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(m.last_spike, Some(7));
        // Checkpoints over the first 1, 2, 4 and 8 steps.
        assert_eq!(m.d_hat, [0.5, 0.4, 0.2, 0.1]);
        assert_eq!(m.d_hat_at, (5, 5));
        // The raster is periodic with period 2 from t = 1 but not at t = 0 ({0} ≠ {0, 1}).
        assert_eq!(m.period, None);
        let m = WindowMeasures::of(&trace(3, &steps[1..], &d[1..]), 3, 4);
        assert_eq!(m.period, Some(2));
        // ISIs: neuron 0: 2, 2, 2; neuron 1: 1 × 6. Pooled mean 12/9; both CVs 0.
        let m = WindowMeasures::of(&trace(3, &steps, &d), 3, 4);
        assert!((m.isi_mean - 12.0 / 9.0).abs() < 1e-15);
        assert_eq!(m.isi_cv, 0.0);
        assert_eq!((m.isi_histogram[0], m.isi_histogram[1]), (6.0, 3.0));
        // One silent neuron: λ_max = ln γ, two superstable exponents.
        assert_eq!(m.lyapunov(0.5), (0.5f64.ln(), 2));
    }

    #[test]
    fn dead_window_and_censored_period() {
        let m = WindowMeasures::of(&trace(40, &[&[], &[], &[]], &[0.3; 3]), 40, 1);
        assert_eq!(m.last_spike, None);
        assert_eq!(m.period, Some(1));
        assert!(m.isi_mean.is_nan() && m.isi_cv.is_nan());
        assert_eq!(m.lyapunov(0.6).1, 0);
        // A raster that never repeats within max_period.
        let steps: Vec<&[usize]> = vec![&[0], &[1], &[2], &[33]];
        assert_eq!(period(&trace(40, &steps, &[0.1; 4]), 40, 2), None);
        assert_eq!(period(&trace(40, &steps, &[0.1; 4]), 40, 3), None);
    }

    #[test]
    fn summary_uses_log_d_hat_and_counts_dead_and_periodic() {
        let mut csv = String::from("replica,epoch,rate,dead,d_hat,period\n");
        csv.push_str("0,0,0.5,0,0.01,3\n1,0,0.0,1,0.1,1\n2,0,0.2,0,0.001,0\n");
        let s = summarize_by(&csv, "epoch", &[]);
        let lines: Vec<&str> = s.lines().collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        let row: Vec<&str> = lines[1].split(',').collect();
        let at = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
        assert_eq!(at("replicas"), "3");
        assert!((at("log10_d_hat_median").parse::<f64>().unwrap() + 2.0).abs() < 1e-12);
        assert!((at("dead_fraction").parse::<f64>().unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((at("periodic_fraction").parse::<f64>().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(at("period_median"), "2");
        assert_eq!(quantile(&[3.0, 1.0, 2.0, f64::NAN], 0.25), 1.5);
    }
}
