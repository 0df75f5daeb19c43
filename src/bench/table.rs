//! The bench's results as an aligned text table.

use super::{BenchReport, BenchRow};

/// Columns: text left-aligned, numbers (cells starting with a digit, sign or `NaN`)
/// right-aligned, two spaces between columns, a rule under the header.
pub fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        assert_eq!(row.len(), cols, "every row has a cell per column");
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = |c: &str| {
        c.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-' || ch == '+') || c == "NaN"
    };
    let line = |cells: Vec<(&str, bool)>| -> String {
        let mut out = String::new();
        for (k, ((cell, right), w)) in cells.into_iter().zip(&width).enumerate() {
            let pad = w - cell.chars().count();
            if k > 0 {
                out.push_str("  ");
            }
            if right {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if k + 1 < cols {
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| (*h, false)).collect());
    let rule: usize = width.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
    out.push_str(&"-".repeat(rule));
    out.push('\n');
    for row in rows {
        out.push_str(&line(
            row.iter().map(|c| (c.as_str(), numeric(c))).collect(),
        ));
    }
    out
}

/// `x` with 3 significant digits: `0.0123`, `12.3`, `1.23e10`.
pub fn sig3(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{x:.2e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

pub const HEADER: [&str; 14] = [
    "case",
    "N",
    "R",
    "steps",
    "backend",
    "median s",
    "min s",
    "steps/s",
    "synapse upd/s",
    "GFLOP/s",
    "of peak",
    "vs CPU",
    "max |Δ| CPU–GPU",
    "note",
];

/// One table row.
pub fn cells(r: &BenchRow) -> Vec<String> {
    let vs = if r.vs_cpu.is_nan() {
        String::new()
    } else {
        format!("{}× {}", sig3(r.vs_cpu), r.vs_cpu_kind)
    };
    let agreement = if r.agreement.is_nan() {
        String::new()
    } else if r.agreement == 0.0 {
        "0".into()
    } else {
        format!("{:.1e}", r.agreement)
    };
    vec![
        r.case.name().to_string(),
        r.neurons.to_string(),
        r.replicas.to_string(),
        r.steps.to_string(),
        r.backend.name().to_string(),
        sig3(r.median_s),
        sig3(r.min_s),
        sig3(r.steps_per_s),
        format!("{:.2e}", r.synapse_updates_per_s),
        sig3(r.gflops),
        format!("{:.1}%", 100.0 * r.fraction_of_peak),
        vs,
        agreement,
        r.note.clone(),
    ]
}

/// The whole report for the terminal: machine, peaks, notes, the table.
pub fn render(report: &BenchReport) -> String {
    let m = &report.machine;
    let mut out = format!(
        "hebbnet {} bench, {}\nmachine: {} ({} cores, {}), {}\n",
        report.hebbnet_version, report.date, m.cpu_model, m.cores, m.cpu_simd, m.os
    );
    if let Some(a) = &m.adapter {
        out.push_str(&format!(
            "adapter: {} — type {}, driver {} {}{}\n",
            a.name,
            a.device_type,
            a.driver,
            a.driver_info,
            if a.software {
                " — SOFTWARE adapter: its rows measure correctness, not GPU speed"
            } else {
                ""
            }
        ));
    }
    let samples = |p: &super::Peak| {
        p.samples
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!(
        "CPU peak: {:.1} GFLOP/s ({}; measured before and after the cases: {})\n",
        report.peaks.cpu.gflops,
        report.peaks.cpu.method,
        samples(&report.peaks.cpu)
    ));
    if let Some(g) = &report.peaks.gpu {
        out.push_str(&format!(
            "GPU peak: {:.1} GFLOP/s ({}; measured before and after the cases: {})\n",
            g.gflops,
            g.method,
            samples(g)
        ));
    }
    out.push_str(&format!("workload: {}\n", report.workload));
    for n in &report.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = report.rows.iter().map(cells).collect();
    out.push_str(&aligned(&HEADER, &rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_numbers_right_and_text_left() {
        let t = aligned(
            &["case", "time", "note"],
            &[
                vec!["dynamics".into(), "0.5".into(), "x".into()],
                vec!["lyapunov_full".into(), "12.25".into(), String::new()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "case           time   note");
        assert_eq!(lines[1], "-".repeat(26));
        assert_eq!(lines[2], "dynamics         0.5  x");
        // A trailing empty cell leaves no trailing spaces.
        assert_eq!(lines[3], "lyapunov_full  12.25");
    }

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(12.345), "12.3");
        assert_eq!(sig3(123.45), "123");
        assert_eq!(sig3(1.0), "1.00");
        assert_eq!(sig3(4.1e10), "4.10e10");
        assert_eq!(sig3(f64::NAN), "NaN");
        assert_eq!(sig3(0.0), "0");
    }
}
