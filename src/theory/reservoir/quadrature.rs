//! Gauss quadrature rules by Golub–Welsch: the nodes are the eigenvalues of the symmetric
//! tridiagonal Jacobi matrix of the orthogonal polynomials, the weights `μ₀ v₀²` from the first
//! components of its normalised eigenvectors (faer's self-adjoint eigensolver).

use faer::{Mat, Side};

/// A rule: `∫ f dμ ≈ Σ_i weights[i] f(nodes[i])`, exact for polynomials of degree ≤ 2n − 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub nodes: Vec<f64>,
    pub weights: Vec<f64>,
}

/// Golub–Welsch for the monic recurrence `p_{j+1} = (x − diagonal_j) p_j − off_j² p_{j−1}`:
/// `off[j]` (j = 0..n−2) couples rows j and j + 1; `mu0` is the total mass of the measure.
fn golub_welsch(diagonal: &[f64], off: &[f64], mu0: f64) -> Rule {
    let n = diagonal.len();
    let jacobi = Mat::<f64>::from_fn(n, n, |i, j| {
        if i == j {
            diagonal[i]
        } else if i == j + 1 {
            off[j]
        } else if j == i + 1 {
            off[i]
        } else {
            0.0
        }
    });
    let eigen = jacobi
        .self_adjoint_eigen(Side::Lower)
        .expect("a symmetric tridiagonal matrix has an eigendecomposition");
    let values = eigen.S().column_vector();
    let vectors = eigen.U();
    let nodes: Vec<f64> = (0..n).map(|j| values[j]).collect();
    let weights: Vec<f64> = (0..n).map(|j| mu0 * vectors[(0, j)].powi(2)).collect();
    Rule { nodes, weights }
}

/// Probabilists' Gauss–Hermite rule with `n` nodes: `E[f(Z)]`, `Z ~ N(0, 1)` (weights sum to 1).
/// Golub–Welsch on the recurrence `He_{j+1} = x He_j − j He_{j−1}`, then each node polished by
/// Newton on the orthonormal `p_n` (`p_n' = √n p_{n−1}`) and its weight taken as the Christoffel
/// number `1/Σ_{j<n} p_j(x)²` (more accurate than the eigenvector components at large n); the
/// rule is made exactly symmetric about 0.
pub fn gauss_hermite(n: usize) -> Rule {
    assert!(n >= 1, "a rule needs at least one node");
    let diagonal = vec![0.0; n];
    let off: Vec<f64> = (1..n).map(|j| (j as f64).sqrt()).collect();
    let mut rule = golub_welsch(&diagonal, &off, 1.0);
    // Orthonormal p_0..p_n at x: (p_n, p_{n−1}, Σ_{j<n} p_j²).
    let evaluate = |x: f64| {
        let (mut prev, mut cur) = (0.0, 1.0);
        let mut sum = 0.0;
        for j in 0..n {
            sum += cur * cur;
            let next = (x * cur - (j as f64).sqrt() * prev) / ((j + 1) as f64).sqrt();
            prev = cur;
            cur = next;
        }
        (cur, prev, sum)
    };
    for i in 0..n {
        let mut x = rule.nodes[i];
        for _ in 0..3 {
            let (p, q, _) = evaluate(x);
            let step = p / ((n as f64).sqrt() * q);
            if step.is_finite() {
                x -= step;
            }
        }
        rule.nodes[i] = x;
        rule.weights[i] = 1.0 / evaluate(x).2;
    }
    let (nodes, weights) = (rule.nodes.clone(), rule.weights.clone());
    for i in 0..n {
        let j = n - 1 - i;
        rule.nodes[i] = 0.5 * (nodes[i] - nodes[j]);
        rule.weights[i] = 0.5 * (weights[i] + weights[j]);
    }
    rule
}

/// Gauss–Legendre rule with `n` nodes on `[−1, 1]` (weights sum to 2).
/// Recurrence `(j + 1) P_{j+1} = (2j + 1) x P_j − j P_{j−1}`.
pub fn gauss_legendre(n: usize) -> Rule {
    assert!(n >= 1, "a rule needs at least one node");
    let diagonal = vec![0.0; n];
    let off: Vec<f64> = (1..n)
        .map(|j| {
            let j = j as f64;
            j / (4.0 * j * j - 1.0).sqrt()
        })
        .collect();
    golub_welsch(&diagonal, &off, 2.0)
}
