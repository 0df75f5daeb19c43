//! One BMS trajectory advanced over a transient and a recorded window: the CPU twin of the GPU
//! kernel (`src/backend/gpu/bms`, `shaders/bms_update.wgsl`), generic over the precision.
//!
//! The kernel and this twin produce the same [`Trace`]: the window's raster, bit-packed;
//! `min_i |V_i(t) − θ_i|` and its neuron at every window step (from which d̂, its checkpoints
//! and its argmin follow, [`super::observables`]); and the final state. Both compute, in the
//! precision `R`, in this order: `Z_i = V_i ≥ θ_i`; the synaptic input `s_i = Σ_j W_ij Z_j` as a
//! sum over the spiking columns in ascending `j`; `V_i ← ((γ V_i (1 − Z_i) + s_i) + I_i) +
//! σ_B B_i(t)`. So with σ_B = 0 the rasters agree exactly while every `V_i` stays farther from
//! `θ_i` than the rounding of the sums (cessac.md §10, anchor 5).

use super::noise::NoiseStream;
use super::{BmsParams, SpikeWords};
use crate::model::Real;

/// A network's data in the precision of the computation.
#[derive(Clone, Debug)]
pub struct Network<R> {
    pub neurons: usize,
    /// Column-major `W_ij` at `j N + i`.
    pub weights: Vec<R>,
    pub threshold: Vec<R>,
    pub input: Vec<R>,
    pub leak: R,
    pub noise: R,
}

impl<R: Real> Network<R> {
    /// Convert an `f64` network (column-major weights).
    pub fn new(weights: &[f64], params: &BmsParams) -> Network<R> {
        let conv = |x: &[f64]| x.iter().map(|&v| R::from_f64(v)).collect::<Vec<R>>();
        Network {
            neurons: params.threshold.len(),
            weights: conv(weights),
            threshold: conv(&params.threshold),
            input: conv(&params.input),
            leak: R::from_f64(params.leak),
            noise: R::from_f64(params.noise),
        }
    }
}

/// Steps of one call: `transient` unrecorded steps, then `window` recorded ones. `first_step`
/// is the time of the first (it keys the noise: a later epoch continues the stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steps {
    pub first_step: u64,
    pub transient: usize,
    pub window: usize,
}

/// What one trajectory produced over its window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// `window × ⌈N/32⌉` words: `Z(t)` of window step `t` at `t ⌈N/32⌉` ([`SpikeWords`] layout).
    pub raster: Vec<u32>,
    /// `min_i |V_i(t) − θ_i|` at each window step (`V(t)` before its spikes reset it).
    pub distance: Vec<f64>,
    /// The neuron at that minimum (the lowest index on ties).
    pub nearest: Vec<u32>,
    /// `V` after the last step.
    pub state: Vec<f64>,
}

impl Trace {
    /// Words per step.
    pub fn words(neurons: usize) -> usize {
        neurons.div_ceil(32)
    }

    /// `Z(t)` of window step `t`.
    pub fn spikes(&self, neurons: usize, t: usize) -> &[u32] {
        let w = Trace::words(neurons);
        &self.raster[t * w..(t + 1) * w]
    }
}

/// Advance `state` (`V` at time `steps.first_step`) and record the window (module doc).
/// `synaptic` is scratch of length N.
pub fn advance<R: Real>(
    net: &Network<R>,
    state: &mut [R],
    noise: &NoiseStream,
    steps: Steps,
    synaptic: &mut [R],
) -> Trace {
    let n = net.neurons;
    let words = Trace::words(n);
    let mut trace = Trace {
        raster: Vec::with_capacity(steps.window * words),
        distance: Vec::with_capacity(steps.window),
        nearest: Vec::with_capacity(steps.window),
        state: Vec::new(),
    };
    let mut z = SpikeWords::new(n);
    for k in 0..steps.transient + steps.window {
        for (i, (&v, &theta)) in state.iter().zip(&net.threshold).enumerate() {
            z.set(i, v >= theta);
        }
        if k >= steps.transient {
            let (mut best, mut at) = (R::ZERO, 0u32);
            for (i, (&v, &theta)) in state.iter().zip(&net.threshold).enumerate() {
                let d = if v >= theta { v - theta } else { theta - v };
                if i == 0 || d < best {
                    (best, at) = (d, i as u32);
                }
            }
            trace.distance.push(best.to_f64());
            trace.nearest.push(at);
            trace.raster.extend_from_slice(&z.0);
        }
        step(net, &z, state, synaptic, noise, steps.first_step + k as u64);
    }
    trace.state = state.iter().map(|v| v.to_f64()).collect();
    trace
}

/// One step `V(t) → V(t+1)` given `Z(t)` (module doc for the order of operations); the noise
/// is `B_i(t)` of `noise`.
pub fn step<R: Real>(
    net: &Network<R>,
    z: &SpikeWords,
    state: &mut [R],
    synaptic: &mut [R],
    noise: &NoiseStream,
    t: u64,
) {
    let n = net.neurons;
    synaptic.fill(R::ZERO);
    for j in z.spiking() {
        for (s, &w) in synaptic.iter_mut().zip(&net.weights[j * n..(j + 1) * n]) {
            *s += w;
        }
    }
    let noisy = net.noise.to_f64() > 0.0;
    for (i, v) in state.iter_mut().enumerate() {
        let kept = if z.get(i) { R::ZERO } else { net.leak * *v };
        let mut next = kept + synaptic[i] + net.input[i];
        if noisy {
            next += net.noise * R::from_f64(noise.normal(t, i));
        }
        *v = next;
    }
}

/// Where a trajectory starts: its network (an index into [`Batch::networks`]), `V` at
/// `steps.first_step`, and its noise stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    pub network: usize,
    pub state: Vec<f64>,
    pub noise: NoiseStream,
}

/// What a backend advances at once: networks of one size N, and trajectories on them (several
/// initial conditions and ε-twins share a network), all over the same [`Steps`].
#[derive(Clone, Debug)]
pub struct Batch<'a> {
    /// Column-major `W` and the parameters of each network.
    pub networks: Vec<(&'a [f64], &'a BmsParams)>,
    pub trajectories: Vec<Start>,
    pub steps: Steps,
}

impl Batch<'_> {
    pub fn neurons(&self) -> usize {
        self.networks.first().map_or(0, |(_, p)| p.threshold.len())
    }
}

/// The reference: every trajectory of `batch` in order on this thread, in precision `R`.
pub fn run_batch<R: Real>(batch: &Batch<'_>) -> Vec<Trace> {
    let nets: Vec<Network<R>> = batch
        .networks
        .iter()
        .map(|(w, p)| Network::new(w, p))
        .collect();
    batch
        .trajectories
        .iter()
        .map(|s| {
            let net = &nets[s.network];
            let mut state: Vec<R> = s.state.iter().map(|&v| R::from_f64(v)).collect();
            let mut synaptic = vec![R::ZERO; net.neurons];
            advance(net, &mut state, &s.noise, batch.steps, &mut synaptic)
        })
        .collect()
}
