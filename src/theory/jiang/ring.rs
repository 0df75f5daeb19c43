//! Closed forms for c = 0, d = 1, b = 0 (models/jiang.md §5.2): `Λ = γe^{iθ}`, the spectrum is
//! rotation invariant, an annulus `r_in < |z| < r_out` (α < 1, with the N − P zeros at 0) or a disk
//! (α ≥ 1).

/// `(r_in, r_out) = (|γ|(1−α)^{3/2}, |γ|√(1+α))`, `r_in = 0` for α ≥ 1 (§5.2); `None` for α ≤ 0 or
/// non-finite arguments.
pub fn radii(load: f64, heteroassociation: f64) -> Option<(f64, f64)> {
    if !(load.is_finite() && load > 0.0 && heteroassociation.is_finite()) {
        return None;
    }
    let gamma = heteroassociation.abs();
    let inner = if load < 1.0 {
        gamma * (1.0 - load).powf(1.5)
    } else {
        0.0
    };
    Some((inner, gamma * (1.0 + load).sqrt()))
}

/// `r²/γ² = F(2F + α − 1)²/(F + α)`, the right side of eq (9).
fn radius_squared_over_gamma_squared(load: f64, fraction: f64) -> f64 {
    fraction * (2.0 * fraction + load - 1.0).powi(2) / (fraction + load)
}

/// `F(r)`, the fraction of all N eigenvalues (zeros included) with `|λ| < r`, from eq (9):
/// `r²/γ² = F(2F + α − 1)²/(F + α)`, F ∈ [max(0, 1−α), 1], monotone in r (bisection, 200
/// halvings). `max(0, 1−α)` below r_in, 1 from r_out. `None` for α ≤ 0, γ = 0, r < 0 or
/// non-finite arguments.
pub fn radial_cdf(load: f64, heteroassociation: f64, radius: f64) -> Option<f64> {
    let (inner, outer) = radii(load, heteroassociation)?;
    if heteroassociation == 0.0 || !(radius.is_finite() && radius >= 0.0) {
        return None;
    }
    let floor = (1.0 - load).max(0.0);
    if radius <= inner {
        return Some(floor);
    }
    if radius >= outer {
        return Some(1.0);
    }
    let target = (radius / heteroassociation).powi(2);
    let (mut low, mut high) = (floor, 1.0);
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if radius_squared_over_gamma_squared(load, middle) < target {
            low = middle;
        } else {
            high = middle;
        }
        if high - low <= f64::EPSILON * high {
            break;
        }
    }
    Some(0.5 * (low + high))
}

/// `ρ(r) = (F + α)² / (πγ²(2F + α − 1)[α(2F + α − 1) + 4F(F + α)])`, eq (9) with `F = F(r)`: the
/// density per unit area of the nonzero eigenvalues (fraction of N) at |z| = r; 0 outside
/// `[r_in, r_out]` (the endpoints included: `ρ(r_out) = 1/(πγ²(4+α))`, and for α > 1
/// `ρ(0) = α/(πγ²(α−1)²)`). `None` as [`radial_cdf`].
pub fn radial_density(load: f64, heteroassociation: f64, radius: f64) -> Option<f64> {
    let fraction = radial_cdf(load, heteroassociation, radius)?;
    let (inner, outer) = radii(load, heteroassociation)?;
    if radius > outer || (load < 1.0 && radius < inner) {
        return Some(0.0);
    }
    let (a, f) = (load, fraction);
    let gamma2 = heteroassociation * heteroassociation;
    Some(
        (f + a).powi(2)
            / (std::f64::consts::PI
                * gamma2
                * (2.0 * f + a - 1.0)
                * (a * (2.0 * f + a - 1.0) + 4.0 * f * (f + a))),
    )
}
