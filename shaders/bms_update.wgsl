// BMS update (src/backend/gpu/bms, CPU twin src/model/bms/trajectory.rs): one workgroup per
// trajectory advances it by `dispatch.steps` time steps.
//
//   Z_i = V_i >= θ_i
//   s_i = Σ_{j spiking, ascending} W_ij
//   V_i ← ((γ V_i (1 − Z_i) + s_i) + I_i) + σ_B B_i(t)     (γ V_i (1 − Z_i) taken as 0 when Z_i)
//
// The host prepends the constants
//   const N: u32      neurons per network
//   const WG: u32     threads per workgroup
//   const RPT: u32    neurons per thread, ceil(N / WG): thread `lid` owns i = lid + k*WG
//   const WORDS: u32  u32 words of one step's spike pattern, ceil(N / 32)
// and bms_common.wgsl (Philox and Box–Muller).
//
// Each thread keeps V, θ and I of its neurons in registers for the whole dispatch. The spike
// pattern of a step lives in workgroup memory, bit-packed (neuron i: bit i%32 of word i/32),
// built with atomicOr. The synaptic input walks the set bits of those words in ascending j
// (firstTrailingBit, then clear it): for each spiking column j, thread `lid` reads W[j*N + lid
// + k*WG], so consecutive threads read consecutive words of the column (coalesced), and the
// work of a step is (spiking neurons) × N loads — it falls with the firing rate. Every thread
// walks the same bits, so the loop is uniform across the workgroup (no divergence).
//
// Three rotating slots (t % 3) of the spike words and of the distance minimum let one barrier
// per step suffice: slot t%3 is written before the step's barrier and read after it, slot
// (t+2)%3 — last read during step t−1, next written during step t+2 — is cleared after it.
// The distance to threshold, min_i |V_i − θ_i| and its lowest neuron index, is reduced with
// two workgroup atomics: atomicMin of the f32 bits (non-negative floats order like their bits)
// before the barrier, then atomicMin of the index among the threads that hold that minimum
// after it; thread 0 writes step t's result during step t+1 (the next barrier orders it).

// Must match `TrajectoryParams` in src/backend/gpu/bms/mod.rs (32 bytes).
struct TrajectoryParams {
    network: u32,   // index of the network's W, θ and I in this batch
    leak: f32,      // γ
    noise: f32,     // σ_B
    noisy: u32,     // 1 when σ_B > 0 (the CPU's `noise > 0` test)
    key0: u32,      // Philox key: seed low and high words
    key1: u32,
    stream: u32,    // counter word 2
    replica: u32,   // counter word 3
}

// Must match `BmsDispatch` in src/backend/gpu/bms/mod.rs (32 bytes, dynamic offset).
struct BmsDispatch {
    steps: u32,         // time steps this dispatch advances
    record: u32,        // 1: record every step of this dispatch
    t0: u32,            // time of the first step, low 32 bits (the noise counter's word 0)
    rec_base: u32,      // slot of the first recorded step in the chunk's buffers
    trajectories: u32,  // trajectories in the batch
    grid_x: u32,        // workgroups along x (2-D grid)
    rec_stride: u32,    // steps per trajectory in the chunk's buffers
    _pad: u32,
}

const NONE: u32 = 0xFFFFFFFFu;

@group(0) @binding(0) var<storage, read> params: array<TrajectoryParams>;
// Column-major W of each network: W_ij of network m at m*N*N + j*N + i.
@group(0) @binding(1) var<storage, read> weights: array<f32>;
// Per network: θ (N floats), then I (N floats).
@group(0) @binding(2) var<storage, read> neurons: array<f32>;
@group(0) @binding(3) var<storage, read_write> states: array<f32>;
// [trajectory][rec_stride][WORDS]: the recorded spike words.
@group(0) @binding(4) var<storage, read_write> raster: array<u32>;
// [trajectory][rec_stride][2]: bits of min_i |V_i − θ_i| (f32), and its neuron.
@group(0) @binding(5) var<storage, read_write> nearest: array<u32>;
@group(0) @binding(6) var<uniform> dispatch: BmsDispatch;

var<workgroup> spikes: array<atomic<u32>, 3u * WORDS>;
var<workgroup> best_distance: array<atomic<u32>, 3>;
var<workgroup> best_neuron: array<atomic<u32>, 3>;

// B_i(t) of a trajectory (noise.rs: counter (t, i, stream, replica), key (seed_lo, seed_hi)).
fn noise_normal(p: TrajectoryParams, t: u32, i: u32) -> f32 {
    return box_muller(philox(vec4<u32>(t, i, p.stream, p.replica), vec2<u32>(p.key0, p.key1)));
}

@compute @workgroup_size(WG)
fn bms_update(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = wg.y * dispatch.grid_x + wg.x;
    if (r >= dispatch.trajectories) {
        return;
    }
    let p = params[r];
    let w_base = p.network * (N * N);
    let n_base = p.network * (2u * N);
    let s_base = r * N;
    let record = dispatch.record != 0u;
    let noisy = p.noisy != 0u;

    var v: array<f32, RPT>;
    var theta: array<f32, RPT>;
    var input: array<f32, RPT>;
    for (var k = 0u; k < RPT; k++) {
        let i = lid + k * WG;
        if (i < N) {
            v[k] = states[s_base + i];
            theta[k] = neurons[n_base + i];
            input[k] = neurons[n_base + N + i];
        }
    }
    for (var w = lid; w < 3u * WORDS; w += WG) {
        atomicStore(&spikes[w], 0u);
    }
    if (lid < 3u) {
        atomicStore(&best_distance[lid], NONE);
        atomicStore(&best_neuron[lid], NONE);
    }
    workgroupBarrier();

    for (var t = 0u; t < dispatch.steps; t++) {
        let slot = t % 3u;
        let sw = slot * WORDS;
        // Z(t) into the slot, and this thread's nearest neuron (lowest index on ties: i grows
        // with k, and only a strictly smaller distance replaces).
        var mine = NONE;
        var mine_at = NONE;
        for (var k = 0u; k < RPT; k++) {
            let i = lid + k * WG;
            if (i < N) {
                let spiking = v[k] >= theta[k];
                if (spiking) {
                    atomicOr(&spikes[sw + i / 32u], 1u << (i % 32u));
                }
                if (record) {
                    let d = select(theta[k] - v[k], v[k] - theta[k], spiking);
                    let bits = bitcast<u32>(d);
                    if (mine_at == NONE || bits < mine) {
                        mine = bits;
                        mine_at = i;
                    }
                }
            }
        }
        if (record && mine_at != NONE) {
            atomicMin(&best_distance[slot], mine);
        }
        workgroupBarrier();

        // s_i over the spiking columns in ascending j.
        var acc: array<f32, RPT>;
        for (var k = 0u; k < RPT; k++) {
            acc[k] = 0.0;
        }
        for (var w = 0u; w < WORDS; w++) {
            var bits = atomicLoad(&spikes[sw + w]);
            loop {
                if (bits == 0u) {
                    break;
                }
                let j = w * 32u + firstTrailingBit(bits);
                bits = bits & (bits - 1u);
                let column = w_base + j * N + lid;
                for (var k = 0u; k < RPT; k++) {
                    if (lid + k * WG < N) {
                        acc[k] = acc[k] + weights[column + k * WG];
                    }
                }
            }
        }
        let time = dispatch.t0 + t;
        for (var k = 0u; k < RPT; k++) {
            let i = lid + k * WG;
            if (i < N) {
                let spiking = v[k] >= theta[k];
                // 0, not γ·V·0: a spiking neuron forgets V exactly (no −0, no NaN from ±∞).
                let kept = select(p.leak * v[k], 0.0, spiking);
                var next = (kept + acc[k]) + input[k];
                if (noisy) {
                    next = next + p.noise * noise_normal(p, time, i);
                }
                v[k] = next;
            }
        }
        if (record) {
            if (mine_at != NONE && mine == atomicLoad(&best_distance[slot])) {
                atomicMin(&best_neuron[slot], mine_at);
            }
            let row = (r * dispatch.rec_stride + dispatch.rec_base + t) * WORDS;
            for (var w = lid; w < WORDS; w += WG) {
                raster[row + w] = atomicLoad(&spikes[sw + w]);
            }
        }
        // Slot (t+2)%3 = (t−1)%3: step t−1's minimum is final (every thread has passed this
        // step's barrier), so write it, then clear the slot for step t+2.
        let old = (t + 2u) % 3u;
        if (lid == 0u) {
            if (record && t > 0u) {
                let at = (r * dispatch.rec_stride + dispatch.rec_base + t - 1u) * 2u;
                nearest[at] = atomicLoad(&best_distance[old]);
                nearest[at + 1u] = atomicLoad(&best_neuron[old]);
            }
            atomicStore(&best_distance[old], NONE);
            atomicStore(&best_neuron[old], NONE);
        }
        for (var w = lid; w < WORDS; w += WG) {
            atomicStore(&spikes[old * WORDS + w], 0u);
        }
    }
    workgroupBarrier();
    if (record && lid == 0u && dispatch.steps > 0u) {
        let last = dispatch.steps - 1u;
        let at = (r * dispatch.rec_stride + dispatch.rec_base + last) * 2u;
        nearest[at] = atomicLoad(&best_distance[last % 3u]);
        nearest[at + 1u] = atomicLoad(&best_neuron[last % 3u]);
    }
    for (var k = 0u; k < RPT; k++) {
        let i = lid + k * WG;
        if (i < N) {
            states[s_base + i] = v[k];
        }
    }
}
