//! The memory dynamics of a batch on the CPU: the twin of the GPU kernel
//! (`src/backend/gpu/lotito`, `shaders/lotito_update.wgsl`), generic over the precision.
//!
//! Both compute, for t = 0, 1, …, T, in this order:
//!
//! 1. at t = 0, k, 2k, … (k = `record_every`): the Gram matrix `Ξ_μ·Ξ_ν`, the cross products
//!    `Ξ_μ·f_ν` with the observed fixed points (set 1 from `switch_step` on), `Ξ_μ·d_μ`, and the
//!    softmax statistics of the step that produced Ξ(t) (NaN at t = 0); at t = T stop;
//! 2. `v = target[presented[t]] + σ_f n(t)` (no noise term when σ_f = 0);
//! 3. the scores `S_μ = Ξ_μ·v` (`"gradient"`: minus `½|Ξ_μ − Λ_μ|²`);
//! 4. `w`: `x_μ = β(S_μ − max S)`, `w_μ = e^{x_μ}/Z`, `Z = Σ e^{x_ν}`; then `max w = 1/Z` and
//!    `H = Σ w_μ (ln Z − x_μ)` (`"argmax"`: one-hot on the first largest score, H = 0);
//! 5. `Ξ_μi ← Ξ_μi + (w_μ/τ_Ξ)((Λ_μi + v_i) − Ξ_μi)`.
//!
//! Sums over i are accumulated in the compute precision (here in 8 interleaved partial sums; the
//! GPU reduces in a tree), so the backends agree to rounding.

use rayon::prelude::*;

use super::{Batch, Replica, Trace, SOFTMAX_STATS};
use crate::config::SoftmaxArgument;
use crate::model::Real;

/// Advance every replica of `batch` in precision `R` (replicas in parallel: a replica's result
/// never depends on the threads).
pub fn run<R: Real>(batch: &Batch) -> Vec<Trace> {
    batch
        .replicas
        .par_iter()
        .map(|r| advance::<R>(batch, r))
        .collect()
}

fn convert<R: Real>(x: &[f64]) -> Vec<R> {
    x.iter().map(|&v| R::from_f64(v)).collect()
}

/// `Σ a_i b_i` in 8 interleaved partial sums.
#[inline]
fn dot<R: Real>(a: &[R], b: &[R]) -> R {
    let mut acc = [R::ZERO; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[l] += *x * *y;
    }
    let s0 = (acc[0] + acc[4]) + (acc[2] + acc[6]);
    let s1 = (acc[1] + acc[5]) + (acc[3] + acc[7]);
    s0 + s1
}

/// One replica over T steps (module doc).
pub fn advance<R: Real>(batch: &Batch, r: &Replica) -> Trace {
    let (h, n, steps, k) = (batch.hidden, batch.visible, batch.steps, batch.record_every);
    let samples = batch.samples();
    let mut xi: Vec<R> = convert(&r.initial);
    let targets: Vec<R> = convert(&r.targets);
    let bias: Option<Vec<R>> = r.bias.as_deref().map(convert);
    let fixed: Vec<R> = convert(&r.fixed_points);
    let directions: Vec<R> = convert(&r.decay_directions);
    let beta = R::from_f64(r.inverse_temperature);
    let tau = R::from_f64(r.memory_time);
    let sigma = R::from_f64(r.fresh_noise);
    let mut trace = Trace {
        gram: Vec::with_capacity(samples * h * h),
        cross: Vec::with_capacity(samples * h * h),
        decay: Vec::with_capacity(samples * h),
        softmax: Vec::with_capacity(samples * SOFTMAX_STATS),
        memories: Vec::new(),
    };
    let mut v = vec![R::ZERO; n];
    let mut scores = vec![R::ZERO; h];
    let mut w = vec![R::ZERO; h];
    let mut stats = [f64::NAN; SOFTMAX_STATS];
    for t in 0..=steps {
        if t % k == 0 {
            let set = usize::from(t as u64 >= u64::from(r.switch_step));
            let fixed = &fixed[set * h * n..(set + 1) * h * n];
            // The Gram matrix is symmetric: the upper triangle, mirrored.
            let base = trace.gram.len();
            trace.gram.resize(base + h * h, 0.0);
            for mu in 0..h {
                let row = &xi[mu * n..(mu + 1) * n];
                for nu in mu..h {
                    let g = dot(row, &xi[nu * n..(nu + 1) * n]).to_f64();
                    trace.gram[base + mu * h + nu] = g;
                    trace.gram[base + nu * h + mu] = g;
                }
            }
            for mu in 0..h {
                let row = &xi[mu * n..(mu + 1) * n];
                for nu in 0..h {
                    trace
                        .cross
                        .push(dot(row, &fixed[nu * n..(nu + 1) * n]).to_f64());
                }
            }
            for mu in 0..h {
                let row = &xi[mu * n..(mu + 1) * n];
                trace
                    .decay
                    .push(dot(row, &directions[mu * n..(mu + 1) * n]).to_f64());
            }
            trace.softmax.extend_from_slice(&stats);
        }
        if t == steps {
            break;
        }
        let slot = r.presented[t] as usize;
        v.copy_from_slice(&targets[slot * n..(slot + 1) * n]);
        if r.fresh_noise != 0.0 {
            for (i, x) in v.iter_mut().enumerate() {
                *x += sigma * R::from_f64(r.noise.normal(t as u64, i));
            }
        }
        for mu in 0..h {
            let row = &xi[mu * n..(mu + 1) * n];
            let mut s = dot(row, &v);
            if batch.softmax == SoftmaxArgument::Gradient {
                let mut sq = [R::ZERO; 8];
                for (i, &x) in row.iter().enumerate() {
                    let d = match &bias {
                        Some(b) => x - b[mu * n + i],
                        None => x,
                    };
                    sq[i % 8] += d * d;
                }
                let total = (sq[0] + sq[4]) + (sq[2] + sq[6]) + ((sq[1] + sq[5]) + (sq[3] + sq[7]));
                s = s - R::HALF * total;
            }
            scores[mu] = s;
        }
        let top = (0..h).fold(
            0,
            |best, mu| {
                if scores[mu] > scores[best] {
                    mu
                } else {
                    best
                }
            },
        );
        if batch.softmax == SoftmaxArgument::Argmax {
            w.iter_mut().for_each(|x| *x = R::ZERO);
            w[top] = R::ONE;
            stats = [1.0, 0.0];
        } else {
            let max = scores[top];
            let mut z = R::ZERO;
            for mu in 0..h {
                let x = beta * (scores[mu] - max);
                scores[mu] = x;
                w[mu] = x.exp();
                z += w[mu];
            }
            let ln_z = z.ln();
            let mut entropy = R::ZERO;
            for mu in 0..h {
                w[mu] = w[mu] / z;
                entropy += w[mu] * (ln_z - scores[mu]);
            }
            stats = [(R::ONE / z).to_f64(), entropy.to_f64()];
        }
        for mu in 0..h {
            let c = w[mu] / tau;
            if c == R::ZERO {
                continue;
            }
            let row = &mut xi[mu * n..(mu + 1) * n];
            match &bias {
                Some(b) => {
                    let b = &b[mu * n..(mu + 1) * n];
                    for i in 0..n {
                        row[i] += c * ((b[i] + v[i]) - row[i]);
                    }
                }
                None => {
                    for i in 0..n {
                        row[i] += c * (v[i] - row[i]);
                    }
                }
            }
        }
    }
    trace.memories = xi.iter().map(|x| x.to_f64()).collect();
    trace
}
