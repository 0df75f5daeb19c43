//! Trajectories of `h ← (1 − a) h + a J φ(h)` with their measurements: the CPU twin of the GPU
//! kernel (`src/backend/gpu/jiang`, `shaders/jiang_update.wgsl`), generic over the precision.
//!
//! Both compute, for t = 0, 1, …, T (T = transient + window), in this order:
//!
//! 1. `φ_i = tanh h_i(t)`, `φ'_i = 1 − φ_i²`, and `y = ξ φ` (so `m^μ(t) = y_μ / N`; on the dense
//!    path only at recorded steps);
//! 2. at t = 0, k, 2k, … (k = `record_every`): the overlaps m^μ(t) and the [`MEASURES`]
//!    `(‖h‖/√N, σ_r² = Var_i h_i, ⟨φ'⟩, ⟨φ'²⟩, ‖h − h'‖/√N)` (the last NaN without a twin);
//!    in the window (transient ≤ t < T) σ_r², ⟨φ'⟩, ⟨φ'²⟩ enter the window means;
//!    at each of `snapshots`, a copy of h(t);
//! 3. the field `f = J φ` (factored: `scale · ξᵀ (X y) − J_ii φ_i` when self-couplings are off;
//!    dense: `Σ_j J_ij φ_j`); at t = T the speed `‖f − h‖/√N` (= ‖dh/dt‖ τ/√N) and stop;
//! 4. the tangent vector: `v ← (1 − a) v + a J (φ' ⊙ v)`, `ν = ‖v‖`, `v ← v/ν`, and in the
//!    window `Σ ln ν` (the largest exponent per step is its mean; per τ, divided by a);
//! 5. the twin: `h' ← (1 − a) h' + a J φ(h')`;
//! 6. `h ← (1 − a) h + a f`.

use rayon::prelude::*;

use super::LowRank;
use crate::model::analog::local_field::local_field;
use crate::model::Real;

/// Activity measures recorded per sample (module doc, step 2).
pub const MEASURES: usize = 5;

/// A network of the batch: its couplings and leak (each member its own).
#[derive(Clone, Copy, Debug)]
pub struct Network<'a> {
    /// The patterns and X (overlaps always come from them).
    pub couplings: &'a LowRank,
    /// J itself (column-major): the field is computed from it instead of the factors.
    pub dense: Option<&'a [f64]>,
    /// a.
    pub leak: f64,
}

/// One trajectory: its network, h(0), and optionally a twin's h'(0) and a unit tangent v(0).
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    pub network: usize,
    pub start: Vec<f64>,
    pub twin: Option<Vec<f64>>,
    pub tangent: Option<Vec<f64>>,
}

/// Everything one call advances.
#[derive(Clone, Debug)]
pub struct Batch<'a> {
    pub networks: Vec<Network<'a>>,
    pub trajectories: Vec<Trajectory>,
    pub transient: usize,
    pub window: usize,
    pub record_every: usize,
    /// Steps whose h(t) is copied out (ascending).
    pub snapshots: Vec<usize>,
}

impl Batch<'_> {
    /// T.
    pub fn total_steps(&self) -> usize {
        self.transient + self.window
    }

    /// Recorded samples: t = 0, k, 2k, … ≤ T.
    pub fn samples(&self) -> usize {
        self.total_steps() / self.record_every + 1
    }
}

/// What one trajectory produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// `samples × P`: m^μ at each recorded step.
    pub overlaps: Vec<f64>,
    /// `samples × MEASURES`.
    pub measures: Vec<f64>,
    /// `Σ ln ν` over the window (NaN without a tangent vector).
    pub log_growth: f64,
    /// Window means of σ_r², ⟨φ'⟩, ⟨φ'²⟩.
    pub window_means: [f64; 3],
    /// `‖J φ(h) − h‖/√N` at t = T.
    pub speed: f64,
    /// h(T).
    pub state: Vec<f64>,
    /// h(t) at each of the batch's snapshot steps.
    pub snapshots: Vec<Vec<f64>>,
}

/// A network in the precision of the computation.
struct Factors<'a, R> {
    couplings: &'a LowRank,
    xi: Vec<R>,
    taps: Vec<(i64, R)>,
    scale: R,
    removed_diagonal: Option<Vec<R>>,
    dense: Option<Vec<R>>,
    leak: R,
}

fn convert<R: Real>(x: &[f64]) -> Vec<R> {
    x.iter().map(|&v| R::from_f64(v)).collect()
}

/// `Σ_i a_i b_i` with 16 interleaved partial sums (so that it vectorises), then their sum in
/// index order, then the tail.
#[inline]
fn dot<R: Real>(a: &[R], b: &[R]) -> R {
    const L: usize = 16;
    let mut acc = [R::ZERO; L];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..L {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = R::ZERO;
    for v in acc {
        s += v;
    }
    for (x, y) in ra.iter().zip(rb) {
        s += *x * *y;
    }
    s
}

impl<'a, R: Real> Factors<'a, R> {
    fn new(net: &Network<'a>) -> Self {
        let c = net.couplings;
        Factors {
            couplings: c,
            xi: convert(&c.xi),
            taps: c
                .taps
                .iter()
                .map(|t| (t.shift, R::from_f64(t.weight)))
                .collect(),
            scale: R::from_f64(c.scale),
            removed_diagonal: c.removed_diagonal.as_deref().map(convert),
            dense: net.dense.map(convert),
            leak: R::from_f64(net.leak),
        }
    }

    /// `y_μ = Σ_i ξ^μ_i s_i`.
    fn project(&self, signal: &[R], y: &mut [R]) {
        let n = signal.len();
        for (mu, ym) in y.iter_mut().enumerate() {
            *ym = dot(&self.xi[mu * n..(mu + 1) * n], signal);
        }
    }

    /// `out = J s`, given `y = ξ s` on the factored path (unused on the dense one).
    fn field(&self, signal: &[R], y: &[R], z: &mut [R], out: &mut [R]) {
        let n = signal.len();
        if let Some(w) = &self.dense {
            out.fill(R::ZERO);
            let zero = vec![R::ZERO; n];
            local_field(n, w, signal, &zero, out);
            return;
        }
        self.couplings.apply_chain(&self.taps, y, z);
        out.fill(R::ZERO);
        for (mu, &zm) in z.iter().enumerate() {
            let c = self.scale * zm;
            for (o, &x) in out.iter_mut().zip(&self.xi[mu * n..(mu + 1) * n]) {
                *o += c * x;
            }
        }
        if let Some(d) = &self.removed_diagonal {
            for ((o, &di), &s) in out.iter_mut().zip(d).zip(signal) {
                *o = *o - di * s;
            }
        }
    }
}

/// Advance every trajectory of `batch` in precision `R` (trajectories in parallel).
pub fn run<R: Real>(batch: &Batch<'_>) -> Vec<Trace> {
    let factors: Vec<Factors<R>> = batch.networks.iter().map(Factors::new).collect();
    batch
        .trajectories
        .par_iter()
        .map(|t| advance(&factors[t.network], t, batch))
        .collect()
}

/// `Σ_i` of `f(i)` over `0..n`, accumulated in `R`, returned as `f64`.
fn mean_of<R: Real>(n: usize, f: impl Fn(usize) -> R) -> f64 {
    let mut s = R::ZERO;
    for i in 0..n {
        s += f(i);
    }
    s.to_f64() / n as f64
}

fn advance<R: Real>(f: &Factors<'_, R>, traj: &Trajectory, batch: &Batch<'_>) -> Trace {
    let n = f.couplings.neurons;
    let p = f.couplings.patterns;
    let total = batch.total_steps();
    let (a, keep) = (f.leak, R::ONE - f.leak);
    let factored = f.dense.is_none();
    let mut h: Vec<R> = convert(&traj.start);
    let mut twin: Option<Vec<R>> = traj.twin.as_deref().map(convert);
    let mut v: Option<Vec<R>> = traj.tangent.as_deref().map(convert);
    let (mut phi, mut dphi) = (vec![R::ZERO; n], vec![R::ZERO; n]);
    let (mut y, mut z) = (vec![R::ZERO; p], vec![R::ZERO; p]);
    let (mut field, mut other, mut scratch) =
        (vec![R::ZERO; n], vec![R::ZERO; n], vec![R::ZERO; n]);
    let samples = batch.samples();
    let mut trace = Trace {
        overlaps: Vec::with_capacity(samples * p),
        measures: Vec::with_capacity(samples * MEASURES),
        log_growth: if v.is_some() { 0.0 } else { f64::NAN },
        ..Trace::default()
    };
    let inv_n = 1.0 / n as f64;
    for t in 0..=total {
        for i in 0..n {
            let s = h[i].tanh();
            phi[i] = s;
            dphi[i] = R::ONE - s * s;
        }
        let record = t % batch.record_every == 0;
        if factored || record {
            f.project(&phi, &mut y);
        }
        let in_window = t >= batch.transient && t < total;
        if record || in_window {
            let mean = mean_of(n, |i| h[i]);
            let square = mean_of(n, |i| h[i] * h[i]);
            let variance = square - mean * mean;
            let slope = mean_of(n, |i| dphi[i]);
            let slope_sq = mean_of(n, |i| dphi[i] * dphi[i]);
            if record {
                trace.overlaps.extend(y.iter().map(|&m| m.to_f64() * inv_n));
                let distance = match &twin {
                    Some(w) => mean_of(n, |i| (h[i] - w[i]) * (h[i] - w[i])).sqrt(),
                    None => f64::NAN,
                };
                trace
                    .measures
                    .extend([square.sqrt(), variance, slope, slope_sq, distance]);
            }
            if in_window {
                let m = &mut trace.window_means;
                m[0] += variance;
                m[1] += slope;
                m[2] += slope_sq;
            }
        }
        if batch.snapshots.contains(&t) {
            trace.snapshots.push(h.iter().map(|x| x.to_f64()).collect());
        }
        f.field(&phi, &y, &mut z, &mut field);
        if t == total {
            trace.speed = mean_of(n, |i| (field[i] - h[i]) * (field[i] - h[i])).sqrt();
            break;
        }
        if let Some(v) = v.as_mut() {
            for i in 0..n {
                scratch[i] = dphi[i] * v[i];
            }
            if factored {
                f.project(&scratch, &mut y);
            }
            f.field(&scratch, &y, &mut z, &mut other);
            for i in 0..n {
                v[i] = keep * v[i] + a * other[i];
            }
            let norm = (mean_of(n, |i| v[i] * v[i]) * n as f64).sqrt();
            let inv = R::from_f64(1.0 / norm);
            v.iter_mut().for_each(|x| *x = *x * inv);
            if in_window {
                trace.log_growth += norm.ln();
            }
        }
        if let Some(w) = twin.as_mut() {
            for i in 0..n {
                scratch[i] = w[i].tanh();
            }
            if factored {
                f.project(&scratch, &mut y);
            }
            f.field(&scratch, &y, &mut z, &mut other);
            for i in 0..n {
                w[i] = keep * w[i] + a * other[i];
            }
        }
        for i in 0..n {
            h[i] = keep * h[i] + a * field[i];
        }
    }
    if batch.window > 0 {
        let w = batch.window as f64;
        trace.window_means.iter_mut().for_each(|m| *m /= w);
    }
    trace.state = h.iter().map(|x| x.to_f64()).collect();
    trace
}

/// `J s` of one network computed as the kernel computes it (for tests of the factored field).
pub fn field_of<R: Real>(network: &Network<'_>, signal: &[f64]) -> Vec<f64> {
    let f = Factors::<R>::new(network);
    let s: Vec<R> = convert(signal);
    let p = network.couplings.patterns;
    let (mut y, mut z) = (vec![R::ZERO; p], vec![R::ZERO; p]);
    let mut out = vec![R::ZERO; s.len()];
    if f.dense.is_none() {
        f.project(&s, &mut y);
    }
    f.field(&s, &y, &mut z, &mut out);
    out.iter().map(|x| x.to_f64()).collect()
}
