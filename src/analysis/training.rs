//! What is measured on a trained reservoir (models/rivkind_barak.md §3.6, §7): the per-replica
//! row of `epochs.csv` ([`TRAINING_COLUMNS`]), the per-attractor record of `attractors.npy`
//! ([`ATTRACTOR_FIELDS`]), and the per-point summary with binomial errors on the fractions.

use super::summary::{column_values, group_header, group_start, grouped_or_whole, mean_ci};

/// Columns of a reservoir replica's row. Per-attractor values are combined over the K
/// attractors as the worst case (the largest max Re λ, ρ, return ratio, error, exponent); the
/// success flags hold for every attractor.
pub const TRAINING_COLUMNS: [&str; 26] = [
    "replica",
    // g (weights.std) and K.
    "gain",
    "targets",
    // Every open loop settled (‖F‖/‖x‖ below the tolerance) / was polished by Newton.
    "settled",
    "polished",
    // Every attractor's closed-loop spectrum in Re λ < −tol / some max Re λ within ±tol.
    "eig_stable",
    "marginal",
    // Every kick of every attractor returned within the tolerance.
    "sim_success",
    // The largest max Re λ of M_k over k, and the imaginary part of that eigenvalue.
    "max_real_eigenvalue",
    "leading_imaginary",
    // max_k ρ_k, ρ_k = g √⟨φ'(x^k)²⟩.
    "bulk_radius",
    // H_1(0) = dz_ol/dA at the first attractor, and its time constant τ = (H_1(0)/H_1(1) − 1)
    // (the single-pole form H0/(1 + τs) matched at s = 0 and 1).
    "open_loop_gain",
    "time_constant",
    // max over kicks of |z(T) − z*|/|z(0) − z*|, and of the late rate d ln|z − z*|/dt.
    "return_ratio",
    "late_rate",
    // max over kicks of |z(T) − z*| / max(|A_k|, floor) and ‖x(T) − x*‖/‖x*‖.
    "readout_error",
    "state_error",
    // Some kick diverged (non-finite, or |z| > 1e6).
    "diverged",
    // max_k of the open loop's largest Lyapunov exponent per unit time (NaN: not measured).
    "lyapunov",
    // max_k |z* − A_k|: the readout's bias (0 up to rounding with the minimum-norm readout).
    "readout_bias",
    // The mean-field theory at this replica's parameters (NaN where it has no answer):
    // success (1 stable, 0 otherwise), marginal, max_k ρ_k and max_k max Re eig(L_k), H_1(0).
    "predicted_success",
    "predicted_marginal",
    "predicted_bulk_radius",
    "predicted_outlier",
    "predicted_open_loop_gain",
    "predicted_time_constant",
];

/// Fields of one attractor in `attractors.npy` (R, K, F).
pub const ATTRACTOR_FIELDS: [&str; 19] = [
    "target",
    "settled",
    "newton_residual",
    "fixed_readout",
    "bulk_radius",
    "max_real_eigenvalue",
    "leading_imaginary",
    "outliers",
    "open_loop_gain",
    "time_constant",
    "eig_stable",
    "sim_success",
    "return_ratio",
    "late_rate",
    "lyapunov",
    "predicted_bulk_radius",
    "predicted_outlier_real",
    "predicted_outlier_imaginary",
    "predicted_open_loop_gain",
];

/// Columns whose values are 0/1 flags: their summaries add the binomial standard error
/// `√(p(1 − p)/n)`.
pub const FLAGS: [&str; 7] = [
    "settled",
    "polished",
    "eig_stable",
    "marginal",
    "sim_success",
    "diverged",
    "predicted_success",
];

/// Replica statistics of the rows of `csv`, one output row per value of the integer column
/// `group`: `group,<carry…>,replicas`, then per column (all but `replica`)
/// `<column>_mean,<column>_ci95_low,<column>_ci95_high` (Student t over the finite values),
/// for the flags also `<column>_se` (binomial), and `return_ratio_median`.
pub fn summarize_by(csv: &str, group: &str, carry: &[&str]) -> String {
    let (header, groups) = grouped_or_whole(csv, group);
    let mut out = group_header(group, carry);
    for name in TRAINING_COLUMNS.iter().skip(1) {
        out.push_str(&format!(",{name}_mean,{name}_ci95_low,{name}_ci95_high"));
        if FLAGS.contains(name) {
            out.push_str(&format!(",{name}_se"));
        }
    }
    out.push_str(",return_ratio_median\n");
    for (key, rows) in groups {
        out.push_str(&group_start(key, &header, &rows, carry));
        let values = |name: &str| column_values(&header, &rows, name);
        for name in TRAINING_COLUMNS.iter().skip(1) {
            let v = values(name);
            let (m, lo, hi, n) = mean_ci(&v);
            out.push_str(&format!(",{m},{lo},{hi}"));
            if FLAGS.contains(name) {
                out.push_str(&format!(",{}", binomial_error(m, n)));
            }
        }
        out.push_str(&format!(",{}\n", median(&values("return_ratio"))));
    }
    out
}

/// `√(p(1 − p)/n)`, NaN for n = 0.
pub fn binomial_error(p: f64, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        (p * (1.0 - p) / n as f64).sqrt()
    }
}

/// The median of the finite values (NaN when none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The readout series of one kick and what is read from it.
#[derive(Clone, Debug, PartialEq)]
pub struct KickOutcome {
    /// `|z(T) − z*| / max(|A|, floor)`.
    pub readout_error: f64,
    /// `|z(T) − z*| / |z(0) − z*|`.
    pub return_ratio: f64,
    /// d ln|z − z*|/dt late in the run, where the precision still resolves |z − z*| (see
    /// [`kick_outcome`]); NaN when it is resolved at fewer than 3 samples.
    pub late_rate: f64,
    pub diverged: bool,
    /// Within the tolerance and not diverged.
    pub returned: bool,
}

/// Reads a kick's readout series `z` (samples at times `0, Δ, 2Δ, …`), against the attractor's
/// readout `fixed` and target scale `max(|A|, floor)`, with the return tolerance. `resolution`
/// is the smallest |z − z*| the run's precision resolves (relative to the scale): the late rate
/// is the slope of ln|z − z*| between the last sample above it, j, and sample ⌊j/2⌋.
pub fn kick_outcome(
    z: &[f64],
    spacing: f64,
    fixed: f64,
    scale: f64,
    tolerance: f64,
    resolution: f64,
) -> KickOutcome {
    let last = *z.last().unwrap_or(&f64::NAN);
    let diverged = z.iter().any(|v| !v.is_finite() || v.abs() > 1e6);
    let dev = |v: f64| (v - fixed).abs();
    let resolved = z.iter().rposition(|&v| dev(v) > resolution * scale);
    let late_rate = match resolved {
        Some(j) if j >= 2 => {
            let i = j / 2;
            (dev(z[j]).ln() - dev(z[i]).ln()) / ((j - i) as f64 * spacing)
        }
        _ => f64::NAN,
    };
    let readout_error = dev(last) / scale;
    KickOutcome {
        readout_error,
        return_ratio: dev(last) / dev(z[0]),
        late_rate,
        diverged,
        returned: !diverged && readout_error < tolerance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kick_outcome_of_an_exponential_return() {
        // z(t) = 1 + 0.2 e^{−0.5 t} sampled every 2: rate −0.5, ratio e^{−0.5·20}.
        let z: Vec<f64> = (0..=10)
            .map(|i| 1.0 + 0.2 * (-0.5 * 2.0 * i as f64).exp())
            .collect();
        let o = kick_outcome(&z, 2.0, 1.0, 1.0, 0.02, 1e-12);
        assert!((o.late_rate + 0.5).abs() < 1e-9, "{o:?}");
        assert!((o.return_ratio - (-10f64).exp()).abs() < 1e-15);
        assert!(o.returned && !o.diverged);
        // The mirror image below z* = 1 returns the same way.
        let away: Vec<f64> = z.iter().map(|v| 2.0 - v).collect();
        assert!(kick_outcome(&away, 2.0, 1.0, 1.0, 0.02, 1e-12).returned);
        // Below the resolution the rate is read before the floor: samples 0..=6 are above
        // 0.2 e^{-6} ≈ 5e-4 (j = 6, i = 3).
        let o = kick_outcome(&z, 2.0, 1.0, 1.0, 0.02, 4e-4);
        assert!((o.late_rate + 0.5).abs() < 1e-9, "{o:?}");
        let grow: Vec<f64> = (0..=10).map(|i| 1.0 + 0.01 * (i as f64).exp()).collect();
        let o = kick_outcome(&grow, 1.0, 1.0, 1.0, 0.02, 1e-12);
        assert!(!o.returned && (o.late_rate - 1.0).abs() < 1e-9);
        let nan = [1.0, f64::NAN, f64::NAN];
        assert!(kick_outcome(&nan, 1.0, 1.0, 1.0, 0.02, 1e-12).diverged);
    }

    #[test]
    fn fractions_carry_binomial_errors_and_the_median() {
        let mut csv = String::from("point,");
        csv.push_str(&TRAINING_COLUMNS.join(","));
        csv.push('\n');
        for (i, (ok, ratio)) in [(1, 0.1), (1, 0.3), (0, 0.2), (1, 5.0)].iter().enumerate() {
            let mut row = vec!["NaN".to_string(); TRAINING_COLUMNS.len()];
            row[0] = i.to_string();
            row[7] = ok.to_string(); // sim_success
            row[13] = ratio.to_string(); // return_ratio
            csv.push_str(&format!("3,{}\n", row.join(",")));
        }
        let s = summarize_by(&csv, "point", &[]);
        let header: Vec<&str> = s.lines().next().unwrap().split(',').collect();
        let row: Vec<&str> = s.lines().nth(1).unwrap().split(',').collect();
        let get = |n: &str| -> f64 {
            row[header.iter().position(|h| *h == n).unwrap()]
                .parse()
                .unwrap()
        };
        assert_eq!(get("replicas"), 4.0);
        assert_eq!(get("sim_success_mean"), 0.75);
        assert!((get("sim_success_se") - (0.75f64 * 0.25 / 4.0).sqrt()).abs() < 1e-15);
        assert!((get("return_ratio_median") - 0.25).abs() < 1e-15);
        assert!(get("settled_se").is_nan());
    }
}
