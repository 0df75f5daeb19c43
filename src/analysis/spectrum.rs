//! Eigenvalue spectra of the weights and of the Jacobian (science.md §3), with faer in `f64`.

use faer::{c64, Mat};

use crate::model::analog::Form;

/// Complex eigenvalues of the N × N column-major matrix `m` (NaN if the decomposition fails).
pub fn eigenvalues(n: usize, column_major: &[f64]) -> Vec<c64> {
    let m = Mat::<f64>::from_fn(n, n, |i, j| column_major[j * n + i]);
    m.eigenvalues()
        .unwrap_or_else(|_| vec![c64::new(f64::NAN, f64::NAN); n])
}

/// `max |z|`.
pub fn spectral_radius(eigenvalues: &[c64]) -> f64 {
    eigenvalues.iter().map(|z| z.norm()).fold(0.0, f64::max)
}

/// The Jacobian `DF = (1 − a) I + a diag(D) W` (rate form) or `(1 − a) I + a W diag(D)`
/// (current form), column-major, with `D` the activation derivative at that step.
pub fn jacobian(form: Form, leak: f64, weights: &[f64], derivative: &[f64]) -> Vec<f64> {
    let n = derivative.len();
    let mut j = vec![0.0; n * n];
    for col in 0..n {
        for row in 0..n {
            let w = weights[col * n + row];
            let scaled = match form {
                Form::Rate => derivative[row] * w,
                Form::Current => w * derivative[col],
            };
            j[col * n + row] = leak * scaled + if row == col { 1.0 - leak } else { 0.0 };
        }
    }
    j
}

/// Eigenvalues sorted by decreasing modulus (ties by argument), for stable files.
pub fn sorted_by_modulus(mut z: Vec<c64>) -> Vec<c64> {
    z.sort_by(|a, b| {
        b.norm()
            .total_cmp(&a.norm())
            .then(b.arg().total_cmp(&a.arg()))
    });
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_has_eigenvalues_on_the_unit_circle() {
        let (c, s) = (0.6, 0.8);
        let z = eigenvalues(2, &[c, s, -s, c]); // column-major [[c, −s], [s, c]]
        assert!((spectral_radius(&z) - 1.0).abs() < 1e-12);
        assert!(z
            .iter()
            .all(|z| (z.re - c).abs() < 1e-12 && (z.im.abs() - s).abs() < 1e-12));
    }

    #[test]
    fn jacobian_by_hand() {
        // W = [[1, 2], [3, 4]] (column-major [1, 3, 2, 4]), D = (0.5, 2), a = 0.25.
        let w = [1.0, 3.0, 2.0, 4.0];
        let d = [0.5, 2.0];
        let rate = jacobian(Form::Rate, 0.25, &w, &d);
        assert_eq!(rate, vec![0.75 + 0.125, 1.5, 0.25, 0.75 + 2.0]);
        let current = jacobian(Form::Current, 0.25, &w, &d);
        assert_eq!(current, vec![0.75 + 0.125, 0.375, 1.0, 0.75 + 2.0]);
    }
}
