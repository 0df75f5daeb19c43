//! The predictions of §5–§6 for `hebbnet theory`.

use super::{critical_heteroassociation, ring, SequenceCouplings};
use crate::theory::{Prediction, Quantity};

const SOURCE: &str = "Jiang et al. 2023 (models/jiang.md §5)";
const SOURCE_STABILITY: &str = "Jiang et al. 2023 (models/jiang.md §5.1, §6)";

/// Keys of the masses in [`predictions`], loop by loop.
const MASS_KEYS: [(&str, &str); 6] = [
    (
        "jiang.loop_mass_1",
        "eigenvalue fraction inside boundary loop 1 (largest), zeros excluded",
    ),
    (
        "jiang.loop_mass_2",
        "eigenvalue fraction inside boundary loop 2, zeros excluded",
    ),
    (
        "jiang.loop_mass_3",
        "eigenvalue fraction inside boundary loop 3, zeros excluded",
    ),
    (
        "jiang.loop_mass_4",
        "eigenvalue fraction inside boundary loop 4, zeros excluded",
    ),
    (
        "jiang.loop_mass_5",
        "eigenvalue fraction inside boundary loop 5, zeros excluded",
    ),
    (
        "jiang.loop_mass_6",
        "eigenvalue fraction inside boundary loop 6, zeros excluded",
    ),
];

/// The predictions of §5–§6 for `couplings` and an Euler leak `a = dt/τ` (for `hebbnet theory`):
/// the right edge x_R, γ_c at (α, c, d, b), the growth rates of h = 0 per τ (`x_R − 1`) and per
/// step (`max ln|1 − a + aλ|`), the ring's radii (c = 0, d = 1, b = 0), the Wishart edge
/// `c(1+√α)²`, the number of boundary loops and the eigenvalue fraction inside each (up to 6).
pub fn predictions(couplings: &SequenceCouplings, leak: f64) -> Vec<Prediction> {
    let row =
        |key, name, symbol, value, formula, source, applies_to: &str, note: Option<String>| {
            Prediction {
                key,
                name,
                symbol,
                value,
                formula,
                source,
                applies_to: applies_to.to_string(),
                note,
            }
        };
    let limit = "N → ∞ with P = αN; ±1 or Gaussian patterns; periodic X, p = 1, J_ii kept";
    if let Err(why) = couplings.validate() {
        return vec![row(
            "jiang.right_edge",
            "right edge of the spectrum of J",
            "x_R",
            Quantity::NotAvailable(why),
            "max Re z(g), F(g) = 1, g real (eq 6)",
            SOURCE,
            "",
            None,
        )];
    }
    let SequenceCouplings {
        load: alpha,
        autoassociation: c,
        heteroassociation: gamma,
        depth,
        backward,
    } = *couplings;
    let support = couplings.support();
    let edge = couplings.right_edge();
    let number = |v: f64, why: &str| {
        if v.is_finite() {
            Quantity::Number(v)
        } else {
            Quantity::NotAvailable(why.to_string())
        }
    };
    let mut out = vec![row(
        "jiang.right_edge",
        "right edge of the spectrum of J",
        "x_R",
        number(edge, "no real root of F(x) = 1 found"),
        "max Re z(x) over real x with F(x) = 1 (eqs 6a, 6b)",
        SOURCE,
        limit,
        None,
    )];
    let critical = critical_heteroassociation(alpha, c, depth, backward);
    out.push(row(
        "jiang.critical_heteroassociation",
        "heteroassociation where h = 0 loses stability (γ > 0 branch)",
        "γ_c",
        match critical {
            Some(v) => Quantity::Number(v),
            None => Quantity::NotAvailable(if c * (1.0 + alpha.sqrt()).powi(2) >= 1.0 {
                "c(1+√α)² ≥ 1: h = 0 is unstable at every γ".into()
            } else {
                "x_R < 1 up to γ = 10⁴".into()
            }),
        },
        "x_R(γ_c) = 1; c = 0, d = 1: 1/√(1+α)",
        SOURCE_STABILITY,
        limit,
        Some("the paper's \"transition to chaos\" is only where the quiescent state loses stability (§6)".into()),
    ));
    out.push(row(
        "jiang.flow_growth_rate",
        "growth rate of perturbations of h = 0, per τ",
        "x_R − 1",
        number(edge - 1.0, "no right edge"),
        "x_R − 1 (flow Jacobian (J − I)/τ)",
        SOURCE_STABILITY,
        "the flow τ dh/dt = −h + Jφ(h), φ = tanh, at h = 0",
        Some(
            "exactly the largest exponent of an orbit converging to 0, for the sampled J (§6)"
                .into(),
        ),
    ));
    let step = if leak.is_finite() && leak > 0.0 {
        number(support.largest_step_growth(leak), "no boundary")
    } else {
        Quantity::NotAvailable(format!("leak a = {leak} must be positive"))
    };
    out.push(row(
        "jiang.step_growth_rate",
        "growth rate of perturbations of h = 0, per Euler step",
        "max ln|1 − a + aλ|",
        step,
        "max over the support (and the zeros) of ln|1 − a + aλ|",
        SOURCE_STABILITY,
        &format!("Euler map h ← (1−a)h + aJφ(h) with a = {leak}, at h = 0"),
        None,
    ));
    let ring = if c == 0.0 && depth == 1 && backward == 0.0 {
        ring::radii(alpha, gamma).ok_or_else(|| "invalid α or γ".to_string())
    } else {
        Err("closed form only for c = 0, d = 1, b = 0 (Λ = γe^{iθ})".to_string())
    };
    let (inner, outer) = match ring {
        Ok((r_in, r_out)) => (Quantity::Number(r_in), Quantity::Number(r_out)),
        Err(why) => (
            Quantity::NotAvailable(why.clone()),
            Quantity::NotAvailable(why),
        ),
    };
    out.push(row(
        "jiang.inner_radius",
        "inner radius of the ring (0: a disk)",
        "r_in",
        inner,
        "|γ|(1−α)^{3/2} for α < 1, else 0",
        "Jiang et al. 2023 (models/jiang.md §5.2)",
        limit,
        None,
    ));
    out.push(row(
        "jiang.outer_radius",
        "outer radius of the ring",
        "r_out",
        outer,
        "|γ|√(1+α)",
        "Jiang et al. 2023 (models/jiang.md §5.2)",
        limit,
        None,
    ));
    out.push(row(
        "jiang.wishart_edge",
        "right edge in the Wishart limit γ → 0",
        "c(1+√α)²",
        Quantity::Number(c * (1.0 + alpha.sqrt()).powi(2)),
        "J → cξᵀξ/N: support [c(1−√α)², c(1+√α)²] and zeros",
        SOURCE,
        limit,
        None,
    ));
    let masses = support.masses();
    out.push(row(
        "jiang.boundary_loops",
        "number of closed loops of the support's boundary",
        "loops",
        Quantity::Number(masses.len() as f64),
        "closed curves of F(g) = 1 mapped by z(g) (eq 6)",
        SOURCE,
        limit,
        None,
    ));
    for (k, &(key, name)) in MASS_KEYS.iter().enumerate() {
        let value = match masses.get(k) {
            Some(&m) => Quantity::Number(m),
            None => Quantity::NotAvailable(format!("the boundary has {} loops", masses.len())),
        };
        out.push(row(
            key,
            name,
            "(1/2πi)∮(g − (1−α)₊/z)dz",
            value,
            "(1/2πi)∮ g dz − (1−α)₊ [if around 0], along the loop (§5.1)",
            SOURCE,
            limit,
            (k == 0).then(|| {
                "loops are ordered by area; outer edge minus voids plus islands gives min(α, 1)"
                    .to_string()
            }),
        ));
    }
    out
}
