//! `hebbnet theory` as text for people: the config in one paragraph, an aligned table of the
//! predictions, their notes and sources, then the critical lines of a sweep.

use super::bifurcation::Region;
use super::{format_number, BifurcationMap, CriticalLine, LineShape, Quantity, Report};
use crate::config::{Config, VectorSource};
use crate::experiment::sweep::Spacing;

/// The whole report.
pub(super) fn render(report: &Report) -> String {
    let mut out = format!("theory for {}", report.source);
    if report.axes.is_some() {
        out.push_str(" (a sweep: the predictions at its base config, then its critical lines)");
    }
    out.push('\n');
    for line in describe(&report.config) {
        out.push_str(&format!("  {line}\n"));
    }
    if let Some(axes) = &report.axes {
        let swept: Vec<String> = axes
            .iter()
            .map(|a| {
                let (lo, hi) = a
                    .values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                format!(
                    "{} ({} value{}, {} … {}{})",
                    a.key,
                    a.values.len(),
                    if a.values.len() == 1 { "" } else { "s" },
                    format_number(lo),
                    format_number(hi),
                    if a.spacing == Spacing::Log {
                        ", log"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        out.push_str(&format!("  swept: {}\n", swept.join(", ")));
    }
    out.push('\n');
    out.push_str(&table(report));
    let notes: Vec<String> = report
        .predictions
        .iter()
        .filter_map(|p| p.note.as_ref().map(|n| format!("  {}: {n}", p.symbol)))
        .collect();
    if !notes.is_empty() {
        out.push_str("\nnotes\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out.push_str("\nsources\n");
    let mut sources: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in &report.predictions {
        match sources.iter_mut().find(|(s, _)| *s == p.source) {
            Some((_, symbols)) => symbols.push(p.symbol),
            None => sources.push((p.source, vec![p.symbol])),
        }
    }
    for (source, symbols) in sources {
        out.push_str(&format!("  {source}: {}\n", symbols.join(", ")));
    }
    for line in &report.critical_lines {
        out.push('\n');
        out.push_str(&critical_line(line));
    }
    for map in &report.bifurcation_maps {
        out.push('\n');
        out.push_str(&bifurcation_map(map));
    }
    out.push_str(
        "\nEvery quantity, its formula and its conditions: docs/theory.md; all fields and \
         full precision: --json\n",
    );
    out
}

/// The config in two lines: the network, then weights, input and learning.
fn describe(c: &Config) -> Vec<String> {
    if c.model == crate::config::Model::Lotito {
        let l = &c.lotito;
        let num = format_number;
        return vec![format!(
            "memory dynamics: N_v = {}, N_h = {} (c = {}), τ_Ξ = {}, β = {} ({}), σ = {}, σ_f = {}, \
             Λ scale {}, {} presentation",
            l.visible,
            l.hidden,
            num(l.visible as f64 / l.hidden as f64),
            num(l.memory_time),
            num(l.inverse_temperature),
            match l.softmax {
                crate::config::SoftmaxArgument::Score => "softmax of βΞv",
                crate::config::SoftmaxArgument::Gradient => "gradient softmax",
                crate::config::SoftmaxArgument::Argmax => "argmax",
            },
            num(l.target_noise),
            num(l.fresh_noise),
            num(l.bias),
            match l.presentation {
                crate::config::Presentation::Cyclic => "cyclic",
                crate::config::Presentation::Iid => "i.i.d.",
            },
        )];
    }
    if c.model == crate::config::Model::Reservoir {
        let r = &c.reservoir;
        let num = format_number;
        return vec![format!(
            "trained reservoir dx/dt = −x + (J + u wᵀ) φ(x): N = {}, g = {}, φ = {}, σ_u from \
             input, targets {:?}, {} readout, closed-loop step a = {}",
            c.network.neurons,
            num(c.weights.std),
            c.reservoir_nonlinearity(),
            r.targets,
            if r.ridge > 0.0 {
                "ridge"
            } else {
                "minimum-norm"
            },
            num(c.network.leak),
        )];
    }
    if c.model == crate::config::Model::Jiang {
        let j = &c.jiang;
        let num = format_number;
        return vec![format!(
            "deep-Hebbian sequence couplings J = ξᵀXξ/N: α = {} (P = {}), c = {}, γ = {}, d = {}, \
             b = {}, leak a = {}, N = {}{}{}",
            num(j.load),
            j.pattern_count(),
            num(j.autoassociation),
            num(j.heteroassociation),
            j.depth,
            num(j.backward),
            num(j.leak),
            j.neurons,
            if j.self_couplings { "" } else { ", J_ii = 0" },
            if j.dilution < 1.0 {
                format!(", dilution p = {}", num(j.dilution))
            } else {
                String::new()
            },
        )];
    }
    let n = &c.network;
    let w = &c.weights;
    let num = format_number;
    let network = if c.model == crate::config::Model::Bms {
        let b = &c.bms;
        format!(
            "BMS spiking network, leak γ = {}, threshold θ = {}{}, noise σ_B = {}, N = {}",
            num(b.leak),
            num(b.threshold),
            if b.threshold_std > 0.0 {
                format!(" (std {})", num(b.threshold_std))
            } else {
                String::new()
            },
            num(b.noise),
            b.neurons
        )
    } else {
        format!(
            "{} form, {} activation, gain {}, leak a = {}, threshold θ = {}, N = {}",
            n.form.name(),
            n.activation.name(),
            num(n.gain),
            num(n.leak),
            num(n.threshold),
            n.neurons
        )
    };
    let weights = match &w.file {
        Some(f) => format!("weights from {}", f.display()),
        None => format!(
            "weights {}: μ = {}, σ = {}{}{}",
            if c.model == crate::config::Model::Bms
                && c.bms.weight_scaling == crate::config::WeightScaling::None
            {
                "N(μ, σ²) (unscaled)"
            } else {
                "N(μ/N, σ²/N)"
            },
            num(w.mean),
            num(w.std),
            if w.connectivity < 1.0 {
                format!(", connectivity c = {}", num(w.connectivity))
            } else {
                String::new()
            },
            if w.autapses { "" } else { ", no autapses" }
        ),
    };
    let input = match c.input_source() {
        Ok(VectorSource::Gaussian { mean, std: 0.0 }) => {
            format!("input {} = {}", input_symbol(c), num(mean))
        }
        Ok(VectorSource::Gaussian { mean, std }) => {
            format!(
                "input {} Gaussian, mean {}, std {}",
                input_symbol(c),
                num(mean),
                num(std)
            )
        }
        Ok(VectorSource::Uniform { low, high }) => {
            format!(
                "input {} uniform on [{}, {}]",
                input_symbol(c),
                num(low),
                num(high)
            )
        }
        Ok(VectorSource::File(f)) => format!("input ξ from {}", f.display()),
        Err(_) => "input ξ: invalid".into(),
    };
    let learning = if c.learning.enabled {
        format!(
            "learning on (α = {}, λ = {}), {} epoch{}",
            num(c.learning.learning_rate),
            num(c.learning.forgetting),
            c.schedule.epochs,
            if c.schedule.epochs == 1 { "" } else { "s" }
        )
    } else {
        "learning off".into()
    };
    vec![network, format!("{weights}; {input}; {learning}")]
}

/// The aligned table: quantity, symbol, value, formula, applies to (or why not available).
fn table(report: &Report) -> String {
    let header = ["quantity", "symbol", "value", "formula", "applies to"];
    let rows: Vec<[String; 5]> = report
        .predictions
        .iter()
        .map(|p| {
            let (value, applies) = match &p.value {
                Quantity::Number(v) => (format_number(*v), p.applies_to.clone()),
                Quantity::NotAvailable(why) => ("—".to_string(), why.clone()),
            };
            [
                p.name.to_string(),
                p.symbol.to_string(),
                value,
                p.formula.to_string(),
                applies,
            ]
        })
        .collect();
    let width = |k: usize| {
        rows.iter()
            .map(|r| display_width(&r[k]))
            .chain([display_width(header[k])])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..4).map(width).collect();
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (k, cell) in cells.iter().enumerate() {
            s.push_str(cell);
            if k < 4 {
                let pad = widths[k] - display_width(cell) + 2;
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    for r in &rows {
        out.push_str(&line([
            r[0].as_str(),
            r[1].as_str(),
            r[2].as_str(),
            r[3].as_str(),
            r[4].as_str(),
        ]));
    }
    out
}

/// Columns a string takes on a terminal: its characters less the combining marks (the bar of
/// `ξ̄` is one).
fn display_width(s: &str) -> usize {
    s.chars()
        .filter(|c| !('\u{0300}'..='\u{036F}').contains(c))
        .count()
}

/// One critical line: its plane, then its points (or why there is none).
fn critical_line(line: &CriticalLine) -> String {
    let keys: Vec<&str> = line.axes.iter().map(|a| a.key.as_str()).collect();
    let mut out = format!("critical line over {}", keys.join(" × "));
    if !line.fixed.is_empty() {
        let fixed: Vec<String> = line
            .fixed
            .iter()
            .map(|(k, v)| format!("{k} = {}", format_number(*v)))
            .collect();
        out.push_str(&format!(" at {}", fixed.join(", ")));
    }
    let ranges: Vec<String> = line
        .axes
        .iter()
        .map(|a| {
            format!(
                "{} from {} to {}{}",
                a.key,
                format_number(a.range.start),
                format_number(a.range.end),
                if a.log { " (log)" } else { "" }
            )
        })
        .collect();
    match &line.line {
        Err(why) => {
            out.push_str(&format!("\n  not available: {why}\n"));
        }
        Ok((legend, shape)) => {
            out.push_str(&format!(" ({legend})\n  {}\n", ranges.join(", ")));
            match shape {
                LineShape::Points(points) if points.is_empty() => {
                    out.push_str("  not reached in this range\n");
                }
                LineShape::Points(points) => {
                    let p: Vec<String> = points.iter().map(|&v| format_number(v)).collect();
                    out.push_str(&format!("  at {} = {}\n", keys[0], p.join(", ")));
                }
                LineShape::Curves(curves) if curves.is_empty() => {
                    out.push_str("  not reached in this range\n");
                }
                LineShape::Curves(curves) => {
                    let points: usize = curves.iter().map(Vec::len).sum();
                    out.push_str(&format!(
                        "  {} curve{}, {points} points (as `hebbnet plot` writes them to \
                         critical_line*.csv):\n",
                        curves.len(),
                        if curves.len() == 1 { "" } else { "s" }
                    ));
                    let (kx, ky) = (keys[0], keys.get(1).copied().unwrap_or(""));
                    let w = kx.chars().count().max(12);
                    out.push_str(&format!("  {kx:<w$}  {ky}\n"));
                    for (k, curve) in curves.iter().enumerate() {
                        if k > 0 {
                            out.push_str(&format!("  {:<w$}  {}\n", "NaN", "NaN"));
                        }
                        for &(x, y) in curve {
                            out.push_str(&format!(
                                "  {:<w$}  {}\n",
                                format_number(x),
                                format_number(y)
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The input's symbol in the model's papers: ξ (analog), I (BMS).
fn input_symbol(c: &Config) -> &'static str {
    match c.model {
        crate::config::Model::Bms => "I",
        _ => "ξ",
    }
}

/// One bifurcation map: its lines point by point, then the region of each grid point.
fn bifurcation_map(map: &BifurcationMap) -> String {
    let keys: Vec<&str> = map.axes.iter().map(|a| a.key.as_str()).collect();
    let mut out = format!(
        "bifurcation map of the mean-field (m, q) map over {} (cessac.md §9)",
        keys.join(" × ")
    );
    if !map.fixed.is_empty() {
        let fixed: Vec<String> = map
            .fixed
            .iter()
            .map(|(k, v)| format!("{k} = {}", format_number(*v)))
            .collect();
        out.push_str(&format!(" at {}", fixed.join(", ")));
    }
    let (lines, regions) = match &map.map {
        Err(why) => {
            out.push_str(&format!("\n  not available: {why}\n"));
            return out;
        }
        Ok(pair) => pair,
    };
    out.push('\n');
    for (stem, legend, curves) in lines.named() {
        let points: usize = curves.iter().map(Vec::len).sum();
        if points == 0 {
            out.push_str(&format!("  {legend}: not in this plane\n"));
            continue;
        }
        out.push_str(&format!(
            "  {legend}: {} curve{}, {points} points ({keys0}, {keys1}; `hebbnet plot` writes \
             them to {stem}*.csv)\n",
            curves.len(),
            if curves.len() == 1 { "" } else { "s" },
            keys0 = keys[0],
            keys1 = keys.get(1).copied().unwrap_or(""),
        ));
        for curve in curves {
            let pairs: Vec<String> = curve
                .iter()
                .map(|&(x, y)| format!("({}, {})", format_number(x), format_number(y)))
                .collect();
            for chunk in pairs.chunks(6) {
                out.push_str(&format!("    {}\n", chunk.join(" ")));
            }
            out.push_str("    —\n");
        }
    }
    let legend: Vec<String> = Region::ALL
        .iter()
        .map(|r| format!("{} {}", r.letter(), r.name().replace('_', " ")))
        .collect();
    out.push_str(&format!(
        "  attractors at the grid points, from high and low activity ({}; · not available); \
         rows: {} from high to low, columns: {} from low to high\n",
        legend.join(", "),
        regions.y_key,
        regions.x_key
    ));
    let mut x_order: Vec<usize> = (0..regions.x.len()).collect();
    x_order.sort_by(|&a, &b| regions.x[a].total_cmp(&regions.x[b]));
    let mut y_order: Vec<usize> = (0..regions.y.len()).collect();
    y_order.sort_by(|&a, &b| regions.y[b].total_cmp(&regions.y[a]));
    let labels: Vec<String> = y_order
        .iter()
        .map(|&j| format_number(regions.y[j]))
        .collect();
    let w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (&j, label) in y_order.iter().zip(&labels) {
        let row: String = x_order
            .iter()
            .map(|&i| {
                regions.cells[i][j]
                    .as_ref()
                    .map_or('·', |c| c.region.letter())
            })
            .flat_map(|c| [' ', c])
            .collect();
        out.push_str(&format!("    {label:>w$} |{row}\n"));
    }
    let xs: Vec<String> = x_order
        .iter()
        .map(|&i| format_number(regions.x[i]))
        .collect();
    out.push_str(&format!(
        "    {:>w$}   {} = {}\n",
        "",
        regions.x_key,
        xs.join(", ")
    ));
    out
}
