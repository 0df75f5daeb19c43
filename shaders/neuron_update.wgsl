// Neuron update: one workgroup per replica advances it by `dispatch.steps` time steps.
//
//   u_i = (ξ_i − θ) + Σ_j W_ij s_j                 (summed j = 0..N−1, as on the CPU)
//   rate:    x_i ← (1 − a) x_i + a f(u_i),  s_i = x_i
//   current: h_i ← (1 − a) h_i + a u_i,     s_i = φ(h_i)
//
// The signal s lives in workgroup memory; each thread owns RPT neurons and keeps their state
// and recording sums in registers for the whole dispatch. When recording, the shifted sums
// S1_i += s_i − ref_i and S2_i += (s_i − ref_i)² are accumulated (src/model/analog/hebbian.rs).
//
// With `dispatch.trace`, every step also writes D(t) (f'(u(t)) rate, φ'(h(t)) current) and the
// new state to `trace` for the Lyapunov/attractor analysis on the CPU.
//
// The host bounds `dispatch.steps` so that the loop back-edges of one invocation stay far below
// lavapipe's silent cap of 65,535 (see KernelShape::steps_per_dispatch).
//
// W variants (constants, see common.wgsl): the first W_RES_COLS columns of the replica's W
// (elements e < W_RES_COLS*N, column-major) are resident: the workgroup copies them (f32 bits or
// f16 pairs) into `w_tile` once per dispatch, all threads together with consecutive threads on
// consecutive words, and the time loop reads them from there; the columns j ≥ W_RES_COLS are
// read from the storage buffer at every step. W_RES_COLS = N is full residency, 0 reads all of
// W from global memory, anything between is partial residency. The resident prefix starts at
// element 0, so word k of `w_tile` is word k of the replica's W in global memory. With W_F16
// the weight is the f16 value decoded exactly to f32 (`f16_to_f32`, which the host prepends:
// unpack2x16float where the device has it, else integer operations); a partial f16 tile holds
// an even number of elements, so no f16 pair straddles the boundary.
// The local field runs two loops over j — [0, W_RES_COLS) from `w_tile`, then [W_RES_COLS, N)
// from global memory — adding one product at a time in ascending j, so each product and the
// summation order are the same in every variant and every variant computes the same numbers as
// the CPU twin.

var<workgroup> signal: array<f32, N>;
var<workgroup> w_tile: array<u32, W_TILE>;

// Element e = j*N + i (j < W_RES_COLS) of the replica's W, from the resident tile.
fn resident_weight(e: u32) -> f32 {
    if (W_F16) {
        return f16_to_f32(w_tile[e >> 1u] >> ((e & 1u) * 16u));
    }
    return bitcast<f32>(w_tile[e]);
}

// Element e = j*N + i of replica r's W, from the storage buffer.
fn global_weight(r: u32, e: u32) -> f32 {
    if (W_F16) {
        return f16_to_f32(weights_half[r * W_WORDS + (e >> 1u)] >> ((e & 1u) * 16u));
    }
    return weights[r * (N * N) + e];
}

@compute @workgroup_size(WG)
fn neuron_update(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = wg.y * dispatch.grid_x + wg.x;
    if (r >= dispatch.replicas) {
        return;
    }
    let p = params[r];
    let base = r * N;
    let section = dispatch.replicas * N;
    let mode = dispatch.mode;
    let recording = mode != MODE_TRANSIENT;
    let tracing = dispatch.trace != 0u;
    let a = p.leak;
    let one_minus_a = 1.0 - a;

    var state: array<f32, RPT>;
    var bias: array<f32, RPT>;
    var reference: array<f32, RPT>;
    var s1: array<f32, RPT>;
    var s2: array<f32, RPT>;
    for (var k = 0u; k < RPT; k++) {
        let i = lid + k * WG;
        if (i < N) {
            let v = states[base + i];
            state[k] = v;
            bias[k] = inputs[base + i] - p.threshold;
            let s = activity(p, v);
            signal[i] = s;
            if (mode == MODE_RECORD_BEGIN) {
                reference[k] = s;
                s1[k] = 0.0;
                s2[k] = 0.0;
            } else if (mode == MODE_RECORD) {
                reference[k] = accum[base + i];
                s1[k] = accum[section + base + i];
                s2[k] = accum[2u * section + base + i];
            }
        }
    }
    if (W_RES_COLS > 0u) {
        // The resident prefix, once per dispatch; the barrier below orders it before the time
        // loop.
        for (var e = lid; e < W_TILE; e += WG) {
            if (W_F16) {
                w_tile[e] = weights_half[r * W_WORDS + e];
            } else {
                w_tile[e] = bitcast<u32>(weights[r * (N * N) + e]);
            }
        }
    }
    workgroupBarrier();

    for (var t = 0u; t < dispatch.steps; t++) {
        var field: array<f32, RPT>;
        for (var k = 0u; k < RPT; k++) {
            let i = lid + k * WG;
            if (i < N) {
                var acc = bias[k];
                var w = i; // e = j*N + i
                var j = 0u;
                // Unrolled by 4 (same summation order) to quarter the loop back-edges.
                if (W_RES_COLS > 0u) {
                    // Resident columns j < W_RES_COLS.
                    loop {
                        if (j + 4u > W_RES_COLS) {
                            break;
                        }
                        acc = acc + resident_weight(w) * signal[j];
                        acc = acc + resident_weight(w + N) * signal[j + 1u];
                        acc = acc + resident_weight(w + 2u * N) * signal[j + 2u];
                        acc = acc + resident_weight(w + 3u * N) * signal[j + 3u];
                        w = w + 4u * N;
                        j = j + 4u;
                    }
                    for (; j < W_RES_COLS; j++) {
                        acc = acc + resident_weight(w) * signal[j];
                        w = w + N;
                    }
                }
                if (W_RES_COLS < N) {
                    // Columns j ≥ W_RES_COLS, from the storage buffer.
                    loop {
                        if (j + 4u > N) {
                            break;
                        }
                        acc = acc + global_weight(r, w) * signal[j];
                        acc = acc + global_weight(r, w + N) * signal[j + 1u];
                        acc = acc + global_weight(r, w + 2u * N) * signal[j + 2u];
                        acc = acc + global_weight(r, w + 3u * N) * signal[j + 3u];
                        w = w + 4u * N;
                        j = j + 4u;
                    }
                    for (; j < N; j++) {
                        acc = acc + global_weight(r, w) * signal[j];
                        w = w + N;
                    }
                }
                field[k] = acc;
            }
        }
        workgroupBarrier();
        for (var k = 0u; k < RPT; k++) {
            let i = lid + k * WG;
            if (i < N) {
                var s: f32;
                var d: f32;
                if (p.form == FORM_RATE) {
                    let f = activation(p.activation, p.gain, field[k]);
                    let x = one_minus_a * state[k] + a * f;
                    state[k] = x;
                    s = x;
                    d = f;
                } else {
                    d = signal[i]; // φ(h(t)), this thread's own entry
                    let h = one_minus_a * state[k] + a * field[k];
                    state[k] = h;
                    s = activation(p.activation, p.gain, h);
                }
                signal[i] = s;
                if (tracing) {
                    let at = (t * dispatch.replicas + r) * 2u * N;
                    trace[at + i] = derivative_from_value(p.activation, p.gain, d);
                    trace[at + N + i] = state[k];
                }
                if (recording) {
                    let d = s - reference[k];
                    s1[k] = s1[k] + d;
                    s2[k] = s2[k] + d * d;
                }
            }
        }
        workgroupBarrier();
    }

    for (var k = 0u; k < RPT; k++) {
        let i = lid + k * WG;
        if (i < N) {
            states[base + i] = state[k];
            if (recording) {
                accum[base + i] = reference[k];
                accum[section + base + i] = s1[k];
                accum[2u * section + base + i] = s2[k];
            }
        }
    }
}
