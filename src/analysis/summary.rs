//! Ensemble statistics per epoch: the replica mean of each observable with a 95% confidence
//! interval (Student t, `mean ± t_{0.975, n−1} · s / √n` over the replicas where it is finite),
//! and the fraction of replicas in each attractor class.

use std::collections::BTreeMap;

use super::attractor::Attractor;

/// Observables summarised (columns of `epochs.csv`).
pub const SUMMARISED: [&str; 11] = [
    "mean_activity",
    "activity_temporal_std",
    "weight_frobenius",
    "lyapunov_max",
    "lyapunov_sum",
    "kaplan_yorke",
    "spectral_radius_w",
    "spectral_radius_j",
    "mean_abs_m",
    "susceptibility",
    "discrimination",
];

const CLASSES: [Attractor; 6] = [
    Attractor::FixedPoint,
    Attractor::Periodic,
    Attractor::QuasiPeriodic,
    Attractor::Chaotic,
    Attractor::Transient,
    Attractor::Aperiodic,
];

/// `t_{0.975, df}`: exact table to 30 degrees of freedom, then the Cornish–Fisher expansion
/// (error below 1e-4).
pub fn t_quantile_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = df as f64;
            z + (z.powi(3) + z) / (4.0 * n)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * n * n)
        }
    }
}

/// Mean and 95% interval of the finite values (NaN when there are none; the interval is NaN
/// with a single value).
pub fn mean_ci(values: &[f64]) -> (f64, f64, f64, usize) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN, 0);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, f64::NAN, f64::NAN, 1);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile_975(n - 1) * (var / n as f64).sqrt();
    (mean, mean - half, mean + half, n)
}

/// `summary.csv` from the text of `epochs.csv`: one row per epoch.
pub fn summarize(epochs_csv: &str) -> String {
    summarize_by(epochs_csv, "epoch", &[])
}

/// Replica statistics of the rows of `csv`, one output row per value of the integer column
/// `group` (ascending): `group,<carry…>,replicas`, then `<obs>_mean,<obs>_ci95_low,
/// <obs>_ci95_high` for every [`SUMMARISED`] observable and `fraction_<class>` for every
/// attractor class. `carry` columns are copied from the group's first row (e.g. the swept
/// values of a sweep point).
pub fn summarize_by(csv: &str, group: &str, carry: &[&str]) -> String {
    let (header, groups) = grouped(csv, group);
    let col = |name: &str| header.iter().position(|h| *h == name);
    let attractor_col = col("attractor");
    let mut out = group_header(group, carry);
    for name in SUMMARISED {
        out.push_str(&format!(",{name}_mean,{name}_ci95_low,{name}_ci95_high"));
    }
    for class in CLASSES {
        out.push_str(&format!(",fraction_{}", class.name()));
    }
    out.push('\n');
    for (key, rows) in groups {
        out.push_str(&group_start(key, &header, &rows, carry));
        for name in SUMMARISED {
            let values = column_values(&header, &rows, name);
            let (m, lo, hi, _) = mean_ci(&values);
            out.push_str(&format!(",{m},{lo},{hi}"));
        }
        for class in CLASSES {
            let count = attractor_col.map_or(0, |c| {
                rows.iter()
                    .filter(|r| r.get(c) == Some(&class.name()))
                    .count()
            });
            out.push_str(&format!(",{}", count as f64 / rows.len() as f64));
        }
        out.push('\n');
    }
    out
}

/// The header of `csv` and its rows grouped by the integer column `group` (the second column
/// when there is none), ascending; rows whose group does not parse are left out.
pub fn grouped<'a>(
    csv: &'a str,
    group: &str,
) -> (Vec<&'a str>, BTreeMap<usize, Vec<Vec<&'a str>>>) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let group_col = header.iter().position(|h| *h == group).unwrap_or(1);
    let mut groups: BTreeMap<usize, Vec<Vec<&str>>> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        if let Some(e) = fields.get(group_col).and_then(|e| e.parse().ok()) {
            groups.entry(e).or_default().push(fields);
        }
    }
    (header, groups)
}

/// [`grouped`] for a family whose table is one row per replica: a table without the column
/// `group` (a run's, not a sweep's) is one group, 0.
pub fn grouped_or_whole<'a>(
    csv: &'a str,
    group: &str,
) -> (Vec<&'a str>, BTreeMap<usize, Vec<Vec<&'a str>>>) {
    let header: Vec<&str> = csv.lines().next().unwrap_or("").split(',').collect();
    if header.contains(&group) {
        return grouped(csv, group);
    }
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    (header, BTreeMap::from([(0, rows)]))
}

/// `group,<carry…>,replicas`: the leading columns of a per-group summary's header.
pub fn group_header(group: &str, carry: &[&str]) -> String {
    let mut out = String::from(group);
    for c in carry {
        out.push(',');
        out.push_str(c);
    }
    out.push_str(",replicas");
    out
}

/// The column `name` of `rows` as numbers (NaN where a cell does not parse); empty when the
/// header has no such column.
pub fn column_values(header: &[&str], rows: &[Vec<&str>], name: &str) -> Vec<f64> {
    header
        .iter()
        .position(|h| *h == name)
        .map_or_else(Vec::new, |c| {
            rows.iter()
                .map(|r| r.get(c).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN))
                .collect()
        })
}

/// `key,<carry…>,replicas` of one group: the carried columns from its first row (NaN where
/// absent), then the number of rows.
pub fn group_start(key: usize, header: &[&str], rows: &[Vec<&str>], carry: &[&str]) -> String {
    let mut out = key.to_string();
    for c in carry {
        let v = header
            .iter()
            .position(|h| h == c)
            .and_then(|i| rows[0].get(i))
            .copied()
            .unwrap_or("NaN");
        out.push(',');
        out.push_str(v);
    }
    out.push_str(&format!(",{}", rows.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_by_hand() {
        // 1, 2, 3: mean 2, s = 1, half width t_{0.975,2} / √3 = 4.303 / 1.732.
        let (m, lo, hi, n) = mean_ci(&[1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!((m, n), (2.0, 3));
        assert!(
            (hi - 2.0 - 4.303 / 3f64.sqrt()).abs() < 1e-12 && (2.0 - lo - (hi - 2.0)).abs() < 1e-12
        );
        assert!((t_quantile_975(120) - 1.9799).abs() < 2e-4);
        assert!((t_quantile_975(31) - 2.0395).abs() < 2e-4);
    }

    #[test]
    fn summary_rows_per_epoch() {
        let csv = "replica,epoch,lyapunov_max,attractor\n0,0,0.2,chaotic\n1,0,0.4,chaotic\n0,1,-0.1,fixed_point\n1,1,NaN,periodic\n";
        let s = summarize(csv);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: Vec<&str> = lines[0].split(',').collect();
        let row: Vec<&str> = lines[1].split(',').collect();
        let at = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
        assert!((at("lyapunov_max_mean").parse::<f64>().unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(at("fraction_chaotic"), "1");
        let row1: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(
            row1[header
                .iter()
                .position(|h| *h == "fraction_fixed_point")
                .unwrap()],
            "0.5"
        );
    }
}
