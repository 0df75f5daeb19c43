//! `hebbnet theory` for `"model": "reservoir"`: the mean-field theory at a config's parameters
//! (models/rivkind_barak.md §5–6), as [`Prediction`]s.

use faer::c64;

use super::{MeanField, Solution, Stability};
use crate::config::{Config, VectorSource};
use crate::theory::{Prediction, Quantity};

const SOURCE: &str = "models/rivkind_barak.md §5 (derived: the paper's body was not available)";
const SOURCE_K1: &str = "models/rivkind_barak.md §5.3 (derived)";
const SOURCE_MAP: &str = "models/rivkind_barak.md §2.3 (the Euler map of step a = network.leak)";

/// The mean-field problem of a config: g = `weights.std`, σ_u = `input.std`, φ, the targets;
/// an error naming the hypothesis a config breaks (dense J with mean 0, u ~ N(0, σ_u²)).
pub fn mean_field(config: &Config) -> Result<MeanField, String> {
    let w = &config.weights;
    if w.mean != 0.0 || w.connectivity != 1.0 || w.file.is_some() || w.excitatory_fraction.is_some()
    {
        return Err("the theory assumes dense J with mean 0 (weights.mean = 0, \
                    connectivity = 1, no weights.file, one population)"
            .to_string());
    }
    let input_std = match config.input_source() {
        Ok(VectorSource::Gaussian { mean: 0.0, std }) => std,
        _ => {
            return Err(
                "the theory assumes u ~ N(0, σ_u²) (input Gaussian with mean 0, no file)"
                    .to_string(),
            )
        }
    };
    Ok(MeanField {
        gain: w.std,
        input_std,
        nonlinearity: config.reservoir_nonlinearity(),
        targets: config.reservoir.targets.clone(),
    })
}

/// The solved theory of a config, or why there is none.
pub fn solve(config: &Config) -> Result<Solution, String> {
    mean_field(config)?.solve().map_err(|e| e.to_string())
}

/// The leading (largest real part) eigenvalue of L_k.
pub fn leading(solution: &Solution, k: usize) -> c64 {
    solution.attractors[k]
        .eigenvalues
        .iter()
        .copied()
        .max_by(|a, b| a.re.total_cmp(&b.re))
        .unwrap_or(c64::new(f64::NAN, f64::NAN))
}

/// The closed loop's continuous-time response T_k at angular frequency ω, evaluated for the
/// Euler map of step a: s = (e^{iωa} − 1)/a (the map's exact transfer function, which tends to
/// iω as a → 0).
pub fn response_of_map(solution: &Solution, k: usize, omega: f64, leak: f64) -> c64 {
    let s = (c64::new(0.0, omega * leak).exp() - 1.0) / leak;
    let h = solution.gain_function(k, s);
    h / (c64::new(1.0, 0.0) - h)
}

const RHO: [&str; 3] = [
    "reservoir.bulk_radius_1",
    "reservoir.bulk_radius_2",
    "reservoir.bulk_radius_3",
];
const OUT_RE: [&str; 3] = [
    "reservoir.outlier_real_1",
    "reservoir.outlier_real_2",
    "reservoir.outlier_real_3",
];
const OUT_IM: [&str; 3] = [
    "reservoir.outlier_imaginary_1",
    "reservoir.outlier_imaginary_2",
    "reservoir.outlier_imaginary_3",
];
const GAIN0: [&str; 3] = [
    "reservoir.open_loop_gain_1",
    "reservoir.open_loop_gain_2",
    "reservoir.open_loop_gain_3",
];
const MAP: [&str; 3] = [
    "reservoir.map_multiplier_1",
    "reservoir.map_multiplier_2",
    "reservoir.map_multiplier_3",
];

/// The predictions for a reservoir config, in a fixed order: success, then per attractor ρ_k,
/// the leading eig(L_k), H_k(0) and the Euler map's multiplier, then C, the K = 1 closed forms,
/// and |T_k(iω)| at the `reservoir.response` frequencies.
pub fn predictions(config: &Config) -> Vec<Prediction> {
    let k = config.reservoir.targets.len();
    let applies = format!(
        "N → ∞, J_ij ~ N(0, g²/N), g = {}, φ = {}, targets {:?}, minimum-norm readout{}",
        config.weights.std,
        config.reservoir_nonlinearity(),
        config.reservoir.targets,
        if config.reservoir.ridge > 0.0 {
            " (this config's ridge readout moves the fixed points: §5 does not apply as written)"
        } else {
            ""
        }
    );
    let row = |key: &'static str,
               name: &'static str,
               symbol: &'static str,
               value: Result<f64, String>,
               formula: &'static str,
               source: &'static str,
               note: Option<String>| Prediction {
        key,
        name,
        symbol,
        value: match value {
            Ok(v) if !v.is_nan() => Quantity::Number(v),
            Ok(v) => Quantity::NotAvailable(format!("{v}")),
            Err(why) => Quantity::NotAvailable(why),
        },
        formula,
        source,
        applies_to: applies.clone(),
        note,
    };
    let solution = solve(config);
    let mut out = vec![row(
        "reservoir.predicted_success",
        "training succeeds (1: every attractor stable, 0.5: marginal, 0: unstable)",
        "S",
        solution.as_ref().map_or_else(
            // No finite C: the open loop has no fixed point to train (§5.1).
            |e| {
                if e.contains("diverged") {
                    Ok(0.0)
                } else {
                    Err(e.clone())
                }
            },
            |s| {
                Ok(match s.predicted_success() {
                    Stability::Stable => 1.0,
                    Stability::Marginal => 0.5,
                    Stability::Unstable => 0.0,
                })
            },
        ),
        "C finite, all ρ_k < 1, all max Re eig(L_k) < 0",
        SOURCE,
        None,
    )];
    let leak = config.network.leak;
    for a in 0..k.min(3) {
        let at = |f: &dyn Fn(&Solution) -> f64| solution.as_ref().map(f).map_err(Clone::clone);
        out.push(row(
            RHO[a],
            "bulk radius of the closed-loop spectrum at attractor k (disc centred at −1)",
            "ρ_k",
            at(&|s| s.attractors[a].rho),
            "g √⟨φ'(x^k)²⟩",
            SOURCE,
            None,
        ));
        // With K ≥ 2, every eigenvalue of L_k (each a predicted outlier, or a mode of δz
        // inside the bulk at finite N), by decreasing real part.
        let all = solution.as_ref().ok().filter(|_| k > 1).map(|s| {
            let mut l = s.attractors[a].eigenvalues.clone();
            l.sort_by(|x, y| y.re.total_cmp(&x.re));
            let l: Vec<String> = l
                .iter()
                .map(|z| format!("{:.6}{:+.6}i", z.re, z.im))
                .collect();
            format!("attractor {}: eig L_k = {}", a + 1, l.join(", "))
        });
        out.push(row(
            OUT_RE[a],
            "real part of the leading outlier at attractor k",
            "max Re eig(L_k)",
            at(&|s| leading(s, a).re),
            "L_k = −I + g²(diag(a) + e ê_kᵀ) + b vᵀ",
            SOURCE,
            all,
        ));
        out.push(row(
            OUT_IM[a],
            "imaginary part of that outlier",
            "Im eig(L_k)",
            at(&|s| leading(s, a).im.abs()),
            "L_k = −I + g²(diag(a) + e ê_kᵀ) + b vᵀ",
            SOURCE,
            None,
        ));
        out.push(row(
            GAIN0[a],
            "open-loop gain at s = 0 (dz_ol/dA at A_k)",
            "H_k(0)",
            at(&|s| s.gain_function(a, c64::new(0.0, 0.0)).re),
            "vᵀ(I − g²(diag(a) + e ê_kᵀ))⁻¹ b",
            SOURCE,
            None,
        ));
        out.push(row(
            MAP[a],
            "modulus of the Euler map's multiplier of that outlier (stable below 1)",
            "|1 + a λ_k|",
            at(&|s| (c64::new(1.0, 0.0) + leading(s, a) * leak).norm()),
            "|1 + a max eig(L_k)|, a = network.leak",
            SOURCE_MAP,
            None,
        ));
    }
    if k > 3 {
        out.push(row(
            "reservoir.bulk_radius_1",
            "bulk radius",
            "ρ_k",
            Err(format!("{k} targets: the theory covers K ≤ 3")),
            "g √⟨φ'(x^k)²⟩",
            SOURCE,
            None,
        ));
    }
    if k == 1 {
        let single = solution
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|s| s.single_target().ok_or_else(|| "K ≠ 1".to_string()));
        let of =
            |f: &dyn Fn(&super::SingleTarget) -> f64| single.as_ref().map(f).map_err(Clone::clone);
        out.push(row(
            "reservoir.correlation",
            "mean squared rate at the attractor",
            "c = ⟨φ(x)²⟩",
            of(&|t| t.c),
            "C = ⟨φ(uA + η)²⟩, η ~ N(0, g²C)",
            SOURCE,
            None,
        ));
        out.push(row(
            "reservoir.time_constant",
            "open-loop time constant of the output (finite at the edge of chaos for sigmoids)",
            "τ",
            of(&|t| t.tau),
            "1/(1 − g²⟨φ'² + φφ''⟩)",
            SOURCE_K1,
            None,
        ));
        out.push(row(
            "reservoir.static_gain",
            "open-loop static gain (½ d ln c/d ln A)",
            "H0",
            of(&|t| t.h0),
            "τ A b / c",
            SOURCE_K1,
            Some("H0 < 1: stable (sub-quadratic c(A)); H0 = 1: marginal (homogeneous ReLU); H0 > 1: unstable".to_string()),
        ));
        out.push(row(
            "reservoir.output_rate",
            "the output's ODE τ dδz/dt = −(1 − H0) δz: its rate",
            "L = (H0 − 1)/τ",
            of(&|t| t.l),
            "(H0 − 1)/τ",
            SOURCE_K1,
            None,
        ));
    } else if let Ok(s) = &solution {
        out.push(row(
            "reservoir.correlation",
            "C_11, the first target's mean squared rate",
            "C_11",
            Ok(s.c(0, 0)),
            "C_kl = ⟨φ(x^k) φ(x^l)⟩",
            SOURCE,
            Some(format!("C = {:?} (row-major)", s.correlation)),
        ));
    }
    if let (Some(r), Ok(s)) = (&config.reservoir.response, &solution) {
        for (a, _) in s.attractors.iter().enumerate() {
            let gains: Vec<String> = r
                .frequencies
                .iter()
                .map(|&w| format!("ω = {w}: {:.6}", response_of_map(s, a, w, leak).norm()))
                .collect();
            out.push(row(
                "reservoir.response_peak",
                "the closed loop's largest |T_k(iω)| over reservoir.response.frequencies",
                "max |T_k(iω)|",
                Ok(r.frequencies
                    .iter()
                    .map(|&w| response_of_map(s, a, w, leak).norm())
                    .fold(0.0, f64::max)),
                "|H_k/(1 − H_k)| at s = (e^{iωa} − 1)/a",
                SOURCE,
                Some(format!("attractor {}: {}", a + 1, gains.join(", "))),
            ));
        }
    }
    out
}
