//! What is predicted for Lotito's memory dynamics (`"model": "lotito"`; models/lotito.md §5–6).
//!
//! - **Checked against the author's code:** the one-hot time scale and the paper's cosine
//!   formula ([`paper_cosine`], §5.2).
//! - **Independent derivations** (numerically checked in the tests, not taken from the paper):
//!   the exact discrete cosine of unequal norms ([`exact_cosine`]), the collapsed state and its
//!   β_c ([`critical_inverse_temperature`], §5.4), the fresh-noise variance
//!   ([`fresh_noise_variance`], §5.5).
//! - **Reconstruction** (only the abstract could be checked): the hyperbolicity conditions of
//!   the reduced neural dynamics ([`hyperbolicity`], §5.7).

use crate::config::{Config, CouplingScale, InitialMemories, Presentation};
use crate::theory::{Prediction, Quantity};

const SOURCE_CODE: &str = "models/lotito.md §5.1–5.2 (checked against the author's code)";
const SOURCE_DERIVED: &str = "models/lotito.md §5.2–5.5 (independent derivation)";
const SOURCE_MP: &str = "models/lotito.md §5.6 (Marchenko–Pastur)";
const SOURCE_RECONSTRUCTION: &str = "models/lotito.md §5.7, §6 (a reconstruction)";

/// The decay factor of row μ under cyclic presentation with blocks of Δ = 1 after t updates:
/// `e_μ(t) = (1 − 1/τ_Ξ)^{n_μ(t)}`, `n_μ(t) = ⌊(t − μ − 1)/N_h⌋ + 1` for t > μ, else 0
/// (one-hot regime, §5.1).
pub fn cyclic_decay(t: usize, mu: usize, hidden: usize, memory_time: f64) -> f64 {
    (1.0 - 1.0 / memory_time).powf(cyclic_wins(t, mu, hidden, 1) as f64)
}

/// n_μ(t): how many of the steps 0 … t−1 present pattern μ under cyclic blocks of Δ steps.
pub fn cyclic_wins(t: usize, mu: usize, hidden: usize, block: usize) -> usize {
    let period = hidden * block;
    let full = t / period;
    let rest = t % period;
    full * block + rest.saturating_sub(mu * block).min(block)
}

/// τ_μ = τ_Ξ/p_μ: the time scale of a row that wins a fraction p_μ of the steps (§5.1).
pub fn time_scale(memory_time: f64, probability: f64) -> f64 {
    memory_time / probability
}

/// τ_μ of i.i.d. presentation from E[ln e_μ] = t p_μ ln(1 − 1/τ_Ξ):
/// `−1/(p_μ ln(1 − 1/τ_Ξ)) ≈ τ_Ξ/p_μ − 1/(2p_μ)` (§5.1).
pub fn iid_time_scale(memory_time: f64, probability: f64) -> f64 {
    -1.0 / (probability * (1.0 - 1.0 / memory_time).ln())
}

/// The exact one-hot cosine of row μ with its target at decay factor e (Λ = 0, §5.2):
/// `c = [eαa + (1−e)b] / √(e²a² + (1−e)²b² + 2e(1−e)αab)`, α = cos(ξ_μ, ξ'_μ), a = |ξ_μ|,
/// b = |ξ'_μ|.
pub fn exact_cosine(e: f64, alpha: f64, a: f64, b: f64) -> f64 {
    let num = e * alpha * a + (1.0 - e) * b;
    let den = (e * e * a * a + (1.0 - e) * (1.0 - e) * b * b + 2.0 * e * (1.0 - e) * alpha * a * b)
        .sqrt();
    num / den
}

/// The paper's cosine (equal norms, a = b): `[eα + (1−e)] / √(e² + (1−e)² + 2e(1−e)α)` with
/// e = exp(−t/τ_μ) (§5.2).
pub fn paper_cosine(e: f64, alpha: f64) -> f64 {
    exact_cosine(e, alpha, 1.0, 1.0)
}

/// Nominal α = 1/√(1 + σ²): the cosine of a pattern of squared norm N_v with its noisy copy.
pub fn nominal_alpha(target_noise: f64) -> f64 {
    1.0 / (1.0 + target_noise * target_noise).sqrt()
}

/// The covariance C = Σ_μ p_μ (v_μ − m)(v_μ − m)ᵀ of presented patterns v_μ (rows of
/// `targets`, `hidden × visible`) with m = Σ p_μ v_μ, through its nonzero spectrum: the
/// eigenvalues of the `N_h × N_h` matrix BᵀB, B's columns √p_μ (v_μ − m). Returns λ_max(C).
pub fn presented_covariance_max(targets: &[f64], visible: usize, p: &[f64]) -> f64 {
    let h = p.len();
    let mut mean = vec![0.0; visible];
    for (mu, &q) in p.iter().enumerate() {
        for (m, x) in mean
            .iter_mut()
            .zip(&targets[mu * visible..(mu + 1) * visible])
        {
            *m += q * x;
        }
    }
    let centered: Vec<Vec<f64>> = (0..h)
        .map(|mu| {
            targets[mu * visible..(mu + 1) * visible]
                .iter()
                .zip(&mean)
                .map(|(x, m)| p[mu].sqrt() * (x - m))
                .collect()
        })
        .collect();
    let gram = faer::Mat::<f64>::from_fn(h, h, |a, b| dot(&centered[a], &centered[b]));
    gram.self_adjoint_eigenvalues(faer::Side::Lower)
        .map(|v| v.into_iter().fold(f64::NEG_INFINITY, f64::max))
        .unwrap_or(f64::NAN)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// β_c = 1/λ_max(C): the collapsed state (all rows at m) is linearly stable iff β < β_c, and
/// hyperbolic iff 1/β ∉ spec(C) (§5.4; both softmax arguments).
pub fn critical_inverse_temperature(targets: &[f64], visible: usize, p: &[f64]) -> f64 {
    1.0 / presented_covariance_max(targets, visible, p)
}

/// β_c of orthogonal targets of squared norm P presented uniformly: N_h/P. With Gram–Schmidt
/// patterns of squared norm N_v and target noise σ, P ≈ N_v(1 + σ²) (the targets are then only
/// nearly orthogonal: the per-replica β_c of the table is exact).
pub fn nominal_critical_inverse_temperature(hidden: usize, visible: usize, sigma: f64) -> f64 {
    hidden as f64 / (visible as f64 * (1.0 + sigma * sigma))
}

/// The growth rate of the leading unstable mode of the collapsed state, per step:
/// `(β/β_c − 1)/(N_h τ_Ξ)` (negative: decay).
pub fn collapse_growth_rate(beta: f64, beta_c: f64, hidden: usize, memory_time: f64) -> f64 {
    (beta / beta_c - 1.0) / (hidden as f64 * memory_time)
}

/// The stationary variance per component of a row under fresh noise σ_f: `σ_f²/(2τ_Ξ − 1)`
/// (AR(1) around ξ'_μ + Λ_μ, one-hot, any p_μ; §5.5).
pub fn fresh_noise_variance(fresh_noise: f64, memory_time: f64) -> f64 {
    fresh_noise * fresh_noise / (2.0 * memory_time - 1.0)
}

/// The Marchenko–Pastur edges λ± = s²(1 ± √c)² of J = ΞᵀΞ/N_h, Ξ with i.i.d. entries of
/// variance s², c = N_v/N_h (§5.6).
pub fn marchenko_pastur_edges(variance: f64, load: f64) -> (f64, f64) {
    (
        variance * (1.0 - load.sqrt()).powi(2),
        variance * (1.0 + load.sqrt()).powi(2),
    )
}

/// The Marchenko–Pastur density √((λ₊−λ)(λ−λ₋))/(2πs²cλ) on [λ₋, λ₊] (0 outside; the atom
/// 1 − 1/c at 0 for c > 1 is not included).
pub fn marchenko_pastur_density(lambda: f64, variance: f64, load: f64) -> f64 {
    let (lo, hi) = marchenko_pastur_edges(variance, load);
    if lambda <= lo || lambda >= hi || lambda <= 0.0 {
        return 0.0;
    }
    ((hi - lambda) * (lambda - lo)).sqrt() / (2.0 * std::f64::consts::PI * variance * load * lambda)
}

/// The fraction of zero eigenvalues of J: 1 − 1/c for c > 1 (rank J = N_h), else 0.
pub fn zero_fraction(load: f64) -> f64 {
    if load > 1.0 {
        1.0 - 1.0 / load
    } else {
        0.0
    }
}

/// The state of v* = 0 of `τ_v dv/dt = −v + J g(v)` (γ = g'(0)) for random Ξ at large N
/// (§5.7, a reconstruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hyperbolicity {
    /// γ s²(1+√c)² < 1: a stable node, no retrieval.
    StableNode,
    /// γ s²(1−√c)² > 1 (c ≠ 1): every non-null direction unstable (for c > 1 the kernel of J
    /// keeps −1/τ_v: a saddle).
    Unstable,
    /// The bulk straddles 1/γ: hyperbolicity is lost as N → ∞.
    Straddles,
}

impl Hyperbolicity {
    pub fn name(self) -> &'static str {
        match self {
            Hyperbolicity::StableNode => "stable node",
            Hyperbolicity::Unstable => "unstable",
            Hyperbolicity::Straddles => "bulk straddles 1/γ",
        }
    }
}

/// [`Hyperbolicity`] of the origin at gain γ, entry variance s², load c.
pub fn hyperbolicity(gain: f64, variance: f64, load: f64) -> Hyperbolicity {
    let (lo, hi) = marchenko_pastur_edges(variance, load);
    if gain * hi < 1.0 {
        Hyperbolicity::StableNode
    } else if load != 1.0 && gain * lo > 1.0 {
        Hyperbolicity::Unstable
    } else {
        Hyperbolicity::Straddles
    }
}

/// The largest exponent of h = 0 of `h ← (1 − a) h + a g J tanh h`-type dynamics
/// (`DF = (1 − a)I + a g J`, §6): `ln|1 − a + a g λ|` maximised over λ ∈ {0 when J has a kernel,
/// λ_max}, i.e. over the ends of the spectrum of the PSD J (−∞ for a = 1 on the kernel alone).
pub fn origin_exponent(leak: f64, gain: f64, lambda_max: f64, lambda_min: f64) -> f64 {
    let at = |l: f64| (1.0 - leak + leak * gain * l).abs().ln();
    at(lambda_max).max(at(lambda_min))
}

/// The coupling scale of the Hebbian limit: J = ΞᵀΞ·`factor` (1/N_h, or 1/N_v at textbook
/// scale).
pub fn coupling_factor(scale: CouplingScale, hidden: usize, visible: usize) -> f64 {
    match scale {
        CouplingScale::Memory => 1.0 / hidden as f64,
        CouplingScale::Textbook => 1.0 / visible as f64,
    }
}

/// The predictions for a `"lotito"` config (`hebbnet theory`).
pub fn predictions(config: &Config) -> Vec<Prediction> {
    let l = &config.lotito;
    let (h, n) = (l.hidden, l.visible);
    let row =
        |key, name, symbol, value: f64, formula, source, applies_to: &str, note: Option<String>| {
            Prediction {
                key,
                name,
                symbol,
                value: if value.is_finite() {
                    Quantity::Number(value)
                } else {
                    Quantity::NotAvailable(format!("{value} (outside the formula's range)"))
                },
                formula,
                source,
                applies_to: applies_to.to_string(),
                note,
            }
        };
    let p = l.presentation_probabilities();
    let p_min = p.iter().copied().fold(f64::INFINITY, f64::min);
    let p_max = p.iter().copied().fold(0.0, f64::max);
    let one_hot = "one-hot regime (β S ≫ 1: every step moves only the winning row)";
    let mut out = vec![
        row(
            "lotito.time_scale_fastest",
            "memory time scale of the most presented pattern",
            "τ_μ = τ_Ξ/p_μ",
            time_scale(l.memory_time, p_max),
            "τ_Ξ / max p_μ",
            SOURCE_CODE,
            one_hot,
            None,
        ),
        row(
            "lotito.time_scale_slowest",
            "memory time scale of the least presented pattern",
            "τ_μ = τ_Ξ/p_μ",
            time_scale(l.memory_time, p_min),
            "τ_Ξ / min p_μ",
            SOURCE_CODE,
            one_hot,
            (l.presentation == Presentation::Iid).then(|| {
                format!(
                    "i.i.d. presentation: E[ln e_μ] gives −1/(p ln(1 − 1/τ_Ξ)) = {:.6}",
                    iid_time_scale(l.memory_time, p_min)
                )
            }),
        ),
    ];
    let alpha = nominal_alpha(l.target_noise);
    out.push(row(
        "lotito.nominal_alpha",
        "initial cosine of a memory with its target",
        "α",
        alpha,
        "1/√(1 + σ²)",
        SOURCE_DERIVED,
        "\"patterns\" initial memories, N_v → ∞ (per row: α = cos(ξ_μ, ξ'_μ))",
        None,
    ));
    let tau = time_scale(l.memory_time, p_max);
    let e_end = (-(l.steps as f64) / tau).exp();
    out.push(row(
        "lotito.final_cosine",
        "cosine of a memory with its target after T steps (paper's formula)",
        "c(T)",
        paper_cosine(e_end, alpha),
        "[eα + (1−e)] / √(e² + (1−e)² + 2e(1−e)α), e = exp(−T/τ_μ)",
        SOURCE_CODE,
        "one-hot, equal norms (the exact per-row curve is exact_cosine with a, b)",
        None,
    ));
    let beta_c = nominal_critical_inverse_temperature(h, n, l.target_noise);
    out.push(row(
        "lotito.critical_inverse_temperature",
        "β where the collapsed state (all memories at the mean) loses stability",
        "β_c",
        beta_c,
        "1/λ_max(C), C = ⟨vvᵀ⟩ − mmᵀ; orthogonal targets: N_h/(N_v(1+σ²))",
        SOURCE_DERIVED,
        "uniform presentation of nearly orthogonal targets (the table's critical_inverse_temperature is exact per replica)",
        (l.softmax != crate::config::SoftmaxArgument::Argmax).then(|| {
            format!(
                "β = {} is {:.3} β_c: the collapsed state is {}",
                l.inverse_temperature,
                l.inverse_temperature / beta_c,
                if l.inverse_temperature < beta_c {
                    "stable"
                } else {
                    "unstable"
                }
            )
        }),
    ));
    out.push(row(
        "lotito.collapse_growth_rate",
        "growth rate of the leading mode around the collapsed state, per step",
        "(β/β_c − 1)/(N_h τ_Ξ)",
        collapse_growth_rate(l.inverse_temperature, beta_c, h, l.memory_time),
        "(β/β_c − 1)/(N_h τ_Ξ)",
        SOURCE_DERIVED,
        "linearisation around Ξ_μ = m (models/lotito.md §5.4)",
        None,
    ));
    out.push(row(
        "lotito.collapsed_cosine",
        "cosine of a collapsed memory with a target",
        "1/√N_h",
        1.0 / (h as f64).sqrt(),
        "cos(m, ξ'_μ) for orthogonal targets of equal norm",
        SOURCE_DERIVED,
        if l.initial_memories == InitialMemories::Collapsed {
            "the collapsed start"
        } else {
            "a collapsed state, should the memories merge"
        },
        None,
    ));
    out.push(row(
        "lotito.fresh_noise_variance",
        "stationary variance per component of a memory under fresh noise",
        "σ_f²/(2τ_Ξ − 1)",
        fresh_noise_variance(l.fresh_noise, l.memory_time),
        "σ_f²/(2τ_Ξ − 1)",
        SOURCE_DERIVED,
        "one-hot, any p_μ",
        None,
    ));
    let load = n as f64 / h as f64;
    // Gaussian and ±1 patterns both have unit entry variance; the target noise adds σ².
    let (variance, variance_note) = (1.0 + l.target_noise.powi(2), "entries of variance 1 + σ²");
    let factor = coupling_factor(
        l.hebbian
            .as_ref()
            .map_or(CouplingScale::Memory, |hb| hb.scale),
        h,
        n,
    ) * h as f64;
    let (lo, hi) = marchenko_pastur_edges(variance * factor, load);
    let mp_applies = format!(
        "targets with i.i.d. {variance_note}, N → ∞ at c = N_v/N_h = {load}; Gram–Schmidt rows \
         are orthogonal, so their N_h nonzero eigenvalues sit near c(1 + σ²) instead"
    );
    out.push(row(
        "lotito.mp_lower_edge",
        "lower Marchenko–Pastur edge of the Hebbian J",
        "λ₋",
        lo,
        "s²(1 − √c)²",
        SOURCE_MP,
        &mp_applies,
        None,
    ));
    out.push(row(
        "lotito.mp_upper_edge",
        "upper Marchenko–Pastur edge of the Hebbian J",
        "λ₊",
        hi,
        "s²(1 + √c)²",
        SOURCE_MP,
        &mp_applies,
        None,
    ));
    out.push(row(
        "lotito.zero_fraction",
        "fraction of zero eigenvalues of J",
        "1 − 1/c",
        zero_fraction(load),
        "1 − 1/c for c > 1 (rank J = N_h), else 0",
        SOURCE_MP,
        "exact at any N",
        None,
    ));
    if let Some(hb) = &l.hebbian {
        let state = hyperbolicity(hb.gain, variance * factor, load);
        out.push(row(
            "lotito.origin_exponent",
            "largest exponent of h = 0 in the Hebbian limit (at the MP upper edge)",
            "ln|1 − a + a g λ₊|",
            origin_exponent(hb.leak, hb.gain, hi, if load > 1.0 { 0.0 } else { lo }),
            "DF(0) = (1 − a)I + a g J; stable iff g λ_max(J) < 1",
            SOURCE_RECONSTRUCTION,
            "random Ξ at large N (the table's origin_exponent_predicted uses each replica's λ_max)",
            Some(format!("hyperbolicity of v* = 0: {}", state.name())),
        ));
        out.push(row(
            "lotito.critical_gain",
            "gain above which h = 0 is unstable (MP upper edge)",
            "1/λ₊",
            1.0 / hi,
            "g λ₊ = 1",
            SOURCE_RECONSTRUCTION,
            "random Ξ at large N",
            None,
        ));
    }
    out
}
