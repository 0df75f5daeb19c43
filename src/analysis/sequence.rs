//! What a trajectory of the deep-Hebbian sequence network did (models/jiang.md §4, §6):
//! one `epochs.csv` row per replica and initial condition (the engine's table; one epoch) ([`SEQUENCE_COLUMNS`]), and
//! the ensemble summary per run or sweep point ([`summarize_by`]).
//!
//! The state reached is **measured, not assumed from γ > γ_c** (§6): each trajectory is
//! classified from its largest exponent λ (per τ), its final activity `‖h‖/√N`, its speed
//! `‖dh/dt‖ τ/√N` and how its activity changed over the window ([`Attractor::classify`]);
//! retrieval is a separate flag (max_μ m^μ at the end above ½), since sequence retrieval is
//! itself a cycle and a retrieved pattern a fixed point.

use std::collections::BTreeMap;

use super::summary::{column_values, group_header, grouped_or_whole, mean_ci};
use crate::model::jiang::{Trace, MEASURES};

/// The columns of the table after the engine's leading ones.
pub const SEQUENCE_COLUMNS: [&str; 22] = [
    "replica",
    "condition",
    "patterns",
    "right_edge",
    "lyapunov",
    "lyapunov_per_step",
    "speed",
    "activity",
    "activity_initial",
    "grew",
    "sigma_r2",
    "phi_prime",
    "phi_prime_sq",
    "overlap_max",
    "overlap_mean",
    "leading_pattern",
    "retrieval_speed",
    "retrieving",
    "pair_distance",
    "window_decay",
    "attractor",
    "attractor_code",
];

/// The state a trajectory is in at the end of its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attractor {
    /// `‖h‖/√N < 10⁻³`: the quiescent fixed point h = 0.
    Quiescent,
    /// Not moving: `speed < 10⁻³ · max(activity, 10⁻³)`, λ ≤ threshold.
    FixedPoint,
    /// λ < −threshold, or the activity halved over the window: still converging.
    Converging,
    /// |λ| ≤ threshold and moving: a limit cycle, a torus, sequence retrieval, or a transient
    /// slower than the window.
    Marginal,
    /// λ > threshold.
    Chaos,
}

impl Attractor {
    pub const ALL: [Attractor; 5] = [
        Attractor::Quiescent,
        Attractor::FixedPoint,
        Attractor::Converging,
        Attractor::Marginal,
        Attractor::Chaos,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attractor::Quiescent => "quiescent",
            Attractor::FixedPoint => "fixed_point",
            Attractor::Converging => "converging",
            Attractor::Marginal => "marginal",
            Attractor::Chaos => "chaos",
        }
    }

    /// The rule in the type's doc, in that order of precedence: quiescent, chaos, fixed point,
    /// converging, marginal. `lyapunov` and `threshold` per τ (NaN λ: unknown, never chaos).
    pub fn classify(
        lyapunov: f64,
        threshold: f64,
        activity: f64,
        speed: f64,
        window_decay: f64,
    ) -> Attractor {
        if activity < 1e-3 {
            Attractor::Quiescent
        } else if lyapunov > threshold {
            Attractor::Chaos
        } else if speed < 1e-3 * activity.max(1e-3) {
            Attractor::FixedPoint
        } else if lyapunov < -threshold || window_decay < 0.5 {
            Attractor::Converging
        } else {
            Attractor::Marginal
        }
    }
}

/// What the row of one trajectory needs besides its trace.
#[derive(Clone, Copy, Debug)]
pub struct RowContext {
    pub replica: u64,
    pub condition: usize,
    pub patterns: usize,
    /// `max Re λ(J)` (NaN when not computed).
    pub right_edge: f64,
    pub leak: f64,
    pub transient: usize,
    pub window: usize,
    pub record_every: usize,
    /// Patterns per sequence (the leading index advances modulo it).
    pub block: usize,
    pub chaos_threshold: f64,
}

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// The index of the largest overlap of one sample (the lowest on ties).
fn leading(sample: &[f64]) -> usize {
    let mut best = 0;
    for (mu, &m) in sample.iter().enumerate() {
        if m > sample[best] {
            best = mu;
        }
    }
    best
}

/// The CSV row of one trajectory ([`SEQUENCE_COLUMNS`], without the engine's prefix).
pub fn row(ctx: &RowContext, trace: &Trace, start: &[f64]) -> String {
    let p = ctx.patterns;
    let samples = trace.overlaps.len() / p.max(1);
    let last = &trace.overlaps[(samples - 1) * p..samples * p];
    let per_step = trace.log_growth / ctx.window as f64;
    let lyapunov = per_step / ctx.leak;
    let activity = rms(&trace.state);
    let activity_initial = rms(start);
    // The leading pattern's advance over the window's samples, unwrapped within a sequence.
    let first = ctx.transient.div_ceil(ctx.record_every);
    let mut advance = 0i64;
    let mut previous: Option<i64> = None;
    for s in first..samples {
        let mu = leading(&trace.overlaps[s * p..(s + 1) * p]) as i64;
        if let Some(prev) = previous {
            let block = ctx.block as i64;
            let mut d = (mu - prev).rem_euclid(block);
            if d > block / 2 {
                d -= block;
            }
            advance += d;
        }
        previous = Some(mu);
    }
    let sampled_time = samples.saturating_sub(1).saturating_sub(first) * ctx.record_every;
    let retrieval_speed = if sampled_time > 0 {
        advance as f64 / (sampled_time as f64 * ctx.leak)
    } else {
        f64::NAN
    };
    let overlap_max = last.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let overlap_mean = last.iter().sum::<f64>() / p as f64;
    let window_start = trace
        .measures
        .get(first.min(samples - 1) * MEASURES)
        .copied()
        .unwrap_or(f64::NAN);
    let window_decay = activity / window_start;
    let attractor = Attractor::classify(
        lyapunov,
        ctx.chaos_threshold,
        activity,
        trace.speed,
        window_decay,
    );
    let pair = trace.measures[(samples - 1) * MEASURES + 4];
    let fields = [
        ctx.replica.to_string(),
        ctx.condition.to_string(),
        p.to_string(),
        ctx.right_edge.to_string(),
        lyapunov.to_string(),
        per_step.to_string(),
        trace.speed.to_string(),
        activity.to_string(),
        activity_initial.to_string(),
        u8::from(activity > activity_initial).to_string(),
        trace.window_means[0].to_string(),
        trace.window_means[1].to_string(),
        trace.window_means[2].to_string(),
        overlap_max.to_string(),
        overlap_mean.to_string(),
        leading(last).to_string(),
        retrieval_speed.to_string(),
        u8::from(overlap_max > 0.5).to_string(),
        pair.to_string(),
        window_decay.to_string(),
        attractor.name().to_string(),
        (attractor as u8).to_string(),
    ];
    fields.join(",")
}

/// The columns of the summary after the group and the carried ones.
pub const SEQUENCE_SUMMARY: [&str; 16] = [
    "trajectories",
    "lyapunov",
    "lyapunov_lo",
    "lyapunov_hi",
    "lyapunov_max",
    "right_edge",
    "grew_fraction",
    "retrieving_fraction",
    "quiescent_fraction",
    "fixed_point_fraction",
    "converging_fraction",
    "marginal_fraction",
    "chaos_fraction",
    "multistable_fraction",
    "sigma_r2",
    "retrieval_speed",
];

/// Ensemble statistics of the rows of `csv` (header included), one row per value of the
/// integer column `group` (every row in one group `0` when the column is absent):
/// `group,<carry…>,replicas,`[`SEQUENCE_SUMMARY`]. `multistable_fraction` is the fraction of
/// networks whose initial conditions ended in different states (by class, or by leading
/// pattern for retrieving fixed points).
pub fn summarize_by(csv: &str, group: &str, carry: &[&str]) -> String {
    let (header, groups) = grouped_or_whole(csv, group);
    let col = |name: &str| header.iter().position(|h| *h == name);
    let mut out = group_header(group, carry);
    for s in SEQUENCE_SUMMARY {
        out.push(',');
        out.push_str(s);
    }
    out.push('\n');
    for (key, rows) in groups {
        let values = |name: &str| column_values(&header, &rows, name);
        let text = |name: &str| -> Vec<&str> {
            col(name).map_or_else(Vec::new, |c| {
                rows.iter()
                    .map(|r| r.get(c).copied().unwrap_or(""))
                    .collect()
            })
        };
        let count = rows.len() as f64;
        let fraction = |v: &[f64]| v.iter().filter(|&&x| x == 1.0).count() as f64 / count;
        let (lyap, lo, hi, _) = mean_ci(&values("lyapunov"));
        let lyap_max = values("lyapunov")
            .into_iter()
            .filter(|x| x.is_finite())
            .fold(f64::NAN, f64::max);
        let classes = text("attractor");
        let class_fraction =
            |a: Attractor| classes.iter().filter(|&&c| c == a.name()).count() as f64 / count;
        // Networks: rows grouped by replica.
        let mut networks: BTreeMap<&str, Vec<(&str, &str, &str)>> = BTreeMap::new();
        if let (Some(r), Some(a), Some(l), Some(ret)) = (
            col("replica"),
            col("attractor"),
            col("leading_pattern"),
            col("retrieving"),
        ) {
            for row in &rows {
                networks
                    .entry(row[r])
                    .or_default()
                    .push((row[a], row[l], row[ret]));
            }
        }
        let multistable = networks
            .values()
            .filter(|states| {
                states.iter().any(|s| s.0 != states[0].0)
                    || (states[0].0 == "fixed_point"
                        && states.iter().any(|s| s.2 == "1" && s.1 != states[0].1))
            })
            .count() as f64
            / networks.len().max(1) as f64;
        let replicas = networks.len().max(1);
        let stats = [
            count,
            lyap,
            lo,
            hi,
            lyap_max,
            mean_ci(&values("right_edge")).0,
            fraction(&values("grew")),
            fraction(&values("retrieving")),
            class_fraction(Attractor::Quiescent),
            class_fraction(Attractor::FixedPoint),
            class_fraction(Attractor::Converging),
            class_fraction(Attractor::Marginal),
            class_fraction(Attractor::Chaos),
            multistable,
            mean_ci(&values("sigma_r2")).0,
            mean_ci(&values("retrieval_speed")).0,
        ];
        out.push_str(&key.to_string());
        for c in carry {
            let v = col(c)
                .and_then(|i| rows[0].get(i))
                .copied()
                .unwrap_or("NaN");
            out.push(',');
            out.push_str(v);
        }
        out.push_str(&format!(",{replicas}"));
        for s in stats {
            out.push_str(&format!(",{s}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_its_rule() {
        let c = |l, a, s, d| Attractor::classify(l, 0.01, a, s, d);
        assert_eq!(c(-0.5, 1e-4, 0.0, 0.1), Attractor::Quiescent);
        assert_eq!(c(0.2, 0.8, 0.5, 1.0), Attractor::Chaos);
        assert_eq!(c(-0.2, 0.8, 1e-6, 1.0), Attractor::FixedPoint);
        assert_eq!(c(-0.2, 0.8, 1e-2, 1.0), Attractor::Converging);
        assert_eq!(c(-0.001, 0.05, 1e-2, 0.3), Attractor::Converging);
        assert_eq!(c(0.001, 0.8, 0.3, 1.0), Attractor::Marginal);
        assert_eq!(c(f64::NAN, 0.8, 0.3, 1.0), Attractor::Marginal);
    }

    fn trace(overlaps: Vec<f64>, samples: usize) -> Trace {
        Trace {
            overlaps,
            measures: vec![1.0; samples * MEASURES],
            log_growth: 0.0,
            window_means: [0.5, 0.6, 0.4],
            speed: 0.3,
            state: vec![1.0, -1.0],
            snapshots: vec![],
        }
    }

    /// A leading pattern that steps 0 → 1 → 2 → 0 (P = 3) every sample of 10 steps at a = 0.1
    /// advances 1 pattern per τ; the wrap 2 → 0 counts as +1.
    #[test]
    fn retrieval_speed_unwraps_the_sequence() {
        let mut overlaps = Vec::new();
        for s in 0..7 {
            let mut m = vec![0.0; 3];
            m[s % 3] = 0.9;
            overlaps.extend(m);
        }
        let ctx = RowContext {
            replica: 4,
            condition: 1,
            patterns: 3,
            right_edge: 1.2,
            leak: 0.1,
            transient: 0,
            window: 60,
            record_every: 10,
            block: 3,
            chaos_threshold: 0.01,
        };
        let row = row(&ctx, &trace(overlaps, 7), &[0.5, 0.5]);
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), SEQUENCE_COLUMNS.len());
        let get = |name: &str| f[SEQUENCE_COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(get("retrieval_speed"), "1");
        assert_eq!(get("leading_pattern"), "0");
        assert_eq!(get("retrieving"), "1");
        assert_eq!(get("grew"), "1");
        assert_eq!(get("attractor"), "marginal");
    }

    #[test]
    fn summary_counts_classes_and_multistability() {
        let mut csv = SEQUENCE_COLUMNS.join(",");
        csv.push('\n');
        let line = |replica: u64, condition: usize, attractor: &str, lyap: f64| {
            let mut f: Vec<String> = SEQUENCE_COLUMNS.iter().map(|_| "0".to_string()).collect();
            f[0] = replica.to_string();
            f[1] = condition.to_string();
            f[4] = lyap.to_string();
            f[20] = attractor.to_string();
            f.join(",") + "\n"
        };
        csv += &line(0, 0, "chaos", 0.1);
        csv += &line(0, 1, "marginal", 0.0);
        csv += &line(1, 0, "chaos", 0.2);
        csv += &line(1, 1, "chaos", 0.3);
        let s = summarize_by(&csv, "none", &[]);
        let rows: Vec<&str> = s.lines().collect();
        assert_eq!(rows.len(), 2);
        let h: Vec<&str> = rows[0].split(',').collect();
        let v: Vec<&str> = rows[1].split(',').collect();
        let get = |name: &str| v[h.iter().position(|c| *c == name).unwrap()];
        assert_eq!(get("replicas"), "2");
        assert_eq!(get("chaos_fraction"), "0.75");
        assert_eq!(get("marginal_fraction"), "0.25");
        assert_eq!(get("multistable_fraction"), "0.5");
        assert_eq!(get("lyapunov_max"), "0.3");
    }
}
