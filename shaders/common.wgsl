// Declarations shared by every hebbnet kernel. The host prepends the per-network constants:
//   const N: u32             neurons per replica
//   const WG: u32            threads per workgroup of the neuron kernel
//   const RPT: u32           rows (neurons) per thread = ceil(N / WG)
//   const STATS_CHUNKS: u32  workgroups per replica in the weight-statistics kernel
//   const W_F16: bool        the local field reads W rounded to f16 from `weights_half`
//   const W_RES_COLS: u32    columns of W (j < W_RES_COLS) that neuron_update keeps in workgroup
//                            memory for the whole dispatch: N (full residency), 0 (W read from
//                            global memory at every step) or between (partial residency; the
//                            other columns are read from global memory); with W_F16 and
//                            0 < W_RES_COLS < N, W_RES_COLS*N is even
//   const W_WORDS: u32       u32 words per replica in `weights_half`: ceil(N*N / 2)
//   const W_TILE: u32        u32 words of that workgroup copy: W_RES_COLS*N f32 bit patterns, or
//                            f16 pairs (W_RES_COLS*N/2, W_WORDS when W_RES_COLS = N); 1 (unused)
//                            when W_RES_COLS = 0
// W_F16 and W_RES_COLS are constants, so each variant compiles without run-time branches.
// The host also prepends `fn f16_to_f32(h: u32) -> f32` (f16_decode_native.wgsl or
// f16_decode_portable.wgsl, by what the device offers).
//
// Weights are column-major per replica: W_ij of replica r at r*N*N + j*N + i. The f16 copy
// packs elements e = j*N + i in pairs: word r*W_WORDS + e/2, element e in the low half when e
// is even, the high half when odd (the last high half is 0 when N*N is odd).
// CPU twins: src/model/analog/network.rs, src/model/analog/hebbian.rs, src/backend/cpu.rs.

// Must match `GpuReplicaParams` in src/backend/gpu/analog/mod.rs (64 bytes).
struct ReplicaParams {
    gain: f32,
    leak: f32,
    threshold: f32,
    learning_rate: f32,
    forgetting: f32,
    activity_threshold: f32,
    form: u32,
    activation: u32,
    flags: u32,
    excitatory: u32,      // N_E of Dale's law (FLAG_DALE): columns j < N_E stay >= 0, the others <= 0
    // The drive (src/ensemble, Drive; neuron_update.wgsl): input ξ_i + ε d_i sin(ω t + φ0).
    drive_amplitude: f32, // ε; 0 without a drive
    driven: u32,          // 1: the replica has a drive (d in `inputs` after ξ, lock-in sums in `accum`)
    drive_frequency_lo: u32, // ω/2π in 2^-64 turns per step, low and high 32 bits
    drive_frequency_hi: u32,
    drive_phase_lo: u32,  // φ0/2π in 2^-64 turns, low and high 32 bits
    drive_phase_hi: u32,
}

// Must match `DispatchParams` in src/backend/gpu/analog/mod.rs (32 bytes, bound with a dynamic offset).
struct DispatchParams {
    steps: u32,           // time steps this dispatch advances
    mode: u32,            // MODE_*
    replicas: u32,        // replicas in the batch
    grid_x: u32,          // workgroups along x (the grid is 2-D to pass 65535 per dimension)
    recorded_steps: u32,  // τ, for the Hebbian kernel
    trace: u32,           // 1: neuron_update writes D(t) and the state of every step to `trace`
    start_lo: u32,        // run step t of this dispatch's first step (the drive's time), low and
    start_hi: u32,        // high 32 bits; 0 in batches without a drive
}

const FORM_RATE: u32 = 0u;
const FORM_CURRENT: u32 = 1u;
const ACT_SIRI: u32 = 0u;
const ACT_TANH: u32 = 1u;
const ACT_RELU: u32 = 2u;
const FLAG_HEAVISIDE: u32 = 1u;
const FLAG_SIGN_PRESERVING: u32 = 2u;
const FLAG_KEEP_ABSENT: u32 = 4u;
const FLAG_DALE: u32 = 8u;
const MODE_TRANSIENT: u32 = 0u;
const MODE_RECORD: u32 = 1u;
const MODE_RECORD_BEGIN: u32 = 2u;

@group(0) @binding(0) var<storage, read> params: array<ReplicaParams>;
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
// ξ (replicas*N); in batches with a drive, followed by the drive directions d (replicas*N).
@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;
// Three sections of replicas*N: reference activity, shifted sum, shifted sum of squares; in
// batches with a drive two more: the lock-in sums Σ s sin(ωt + φ0) and Σ s cos(ωt + φ0).
@group(0) @binding(4) var<storage, read_write> accum: array<f32>;
// Per (replica, chunk): partial sum of W and of W².
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<uniform> dispatch: DispatchParams;
// Trace of a dispatch, [step][replica][D(t) | state][N], for the CPU-side analysis.
@group(0) @binding(7) var<storage, read_write> trace: array<f32>;
// W rounded to f16 in u32 pairs (W_F16), written by pack_weights from the f32 master `weights`.
@group(0) @binding(8) var<storage, read_write> weights_half: array<u32>;

// tanh as the rational function of src/model/real.rs (`tanh_f32`), so every backend and driver
// computes the same activation: WGSL leaves the precision of the built-in tanh to the driver.
fn tanh_f32(x: f32) -> f32 {
    let c = clamp(x, -7.905311, 7.905311);
    let x2 = c * c;
    var p = x2 * -2.7607685e-16 + 2.000188e-13;
    p = x2 * p + -8.604672e-11;
    p = x2 * p + 5.122297e-8;
    p = x2 * p + 1.4857224e-5;
    p = x2 * p + 6.3726193e-4;
    p = x2 * p + 4.8935246e-3;
    p = p * c;
    var q = x2 * 1.1982584e-6 + 1.1853471e-4;
    q = x2 * q + 2.2684346e-3;
    q = x2 * q + 4.893525e-3;
    return select(p / q, c, abs(c) < 4e-4);
}

// f(u) with gain g (src/model/analog/activation.rs).
fn activation(kind: u32, gain: f32, u: f32) -> f32 {
    switch kind {
        case ACT_SIRI: { return 0.5 * (1.0 + tanh_f32(gain * u)); }
        case ACT_TANH: { return tanh_f32(gain * u); }
        default: { return max(gain * u, 0.0); }
    }
}

// f' through the value v = f(u) (src/model/analog/activation.rs, derivative_from_value).
fn derivative_from_value(kind: u32, gain: f32, v: f32) -> f32 {
    switch kind {
        case ACT_SIRI: { return 2.0 * gain * v * (1.0 - v); }
        case ACT_TANH: { return gain * (1.0 - v * v); }
        default: { return select(0.0, gain, v > 0.0); }
    }
}

// The activity a neuron in state v sends: x (rate form) or φ(h) (current form).
fn activity(p: ReplicaParams, v: f32) -> f32 {
    if (p.form == FORM_RATE) {
        return v;
    }
    return activation(p.activation, p.gain, v);
}
