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
// The drive (src/ensemble, Drive), for replicas with `p.driven`: the step from run step t reads
// the bias (ξ_i − θ) + d_i (ε sin(ω t + φ0)) (d: `inputs` after ξ), and the recorded states s(t+1)
// add s sin(ω (t+1) + φ0) and s cos(…) to the lock-in sums (`accum` sections 3 and 4). The
// phase is a 64-bit fixed-point fraction of a turn, advanced exactly in integer arithmetic from
// φ0 + t0 ω at the dispatch's first step t0 = `dispatch.start` (so its error never grows with
// t); `drive_sin_cos` turns it into f32 sin and cos. CPU twin: src/backend/cpu.rs (DriveTwin),
// src/model/analog/network.rs (driven_bias, drive_sin_cos_f32).
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

// The full 64-bit product x·y of two u32, as (low, high) words.
fn mul_wide(x: u32, y: u32) -> vec2<u32> {
    let x0 = x & 0xFFFFu;
    let x1 = x >> 16u;
    let y0 = y & 0xFFFFu;
    let y1 = y >> 16u;
    let p00 = x0 * y0;
    let p01 = x0 * y1;
    let p10 = x1 * y0;
    let mid = (p00 >> 16u) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    return vec2<u32>((p00 & 0xFFFFu) | (mid << 16u), x1 * y1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// a + b mod 2^64, (low, high) words.
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// a · b mod 2^64, (low, high) words.
fn mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let low = mul_wide(a.x, b.x);
    return vec2<u32>(low.x, low.y + a.x * b.y + a.y * b.x);
}

// (sin, cos) of the drive phase whose upper 32 bits are `p` (in 2^-32 turns): the twin of
// drive_sin_cos_f32 in src/model/analog/network.rs, the same operations in the same order. The
// quadrant comes exactly from the integer; the rest is an angle in [−π/4, π/4) for Cephes'
// sinf/cosf polynomials (max abs error 1.0e-7), in Horner form: Mesa (lavapipe) would refactor
// a·z·z − 0.5·z into z·(a·z − 0.5) and round differently from the CPU twin.
fn drive_sin_cos(p: u32) -> vec2<f32> {
    let q = (p + 0x20000000u) >> 30u;
    let x = f32(bitcast<i32>(p - (q << 30u))) * 1.4629181e-9;
    let z = x * x;
    let s = ((-0.00019515296 * z + 0.008332161) * z + -0.16666655) * z * x + x;
    let c = (((2.4433157e-5 * z + -0.0013887316) * z + 0.041666646) * z - 0.5) * z + 1.0;
    switch q & 3u {
        case 0u: { return vec2<f32>(s, c); }
        case 1u: { return vec2<f32>(c, -s); }
        case 2u: { return vec2<f32>(-s, -c); }
        default: { return vec2<f32>(-c, s); }
    }
}
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
    let driven = p.driven != 0u;
    let frequency = vec2<u32>(p.drive_frequency_lo, p.drive_frequency_hi);
    // The phase of the run step of this dispatch's first step, φ0 + t0 ω (mod one turn).
    var phase = add64(
        vec2<u32>(p.drive_phase_lo, p.drive_phase_hi),
        mul64(vec2<u32>(dispatch.start_lo, dispatch.start_hi), frequency),
    );
    var sin_cos = vec2<f32>(0.0, 1.0);
    if (driven) {
        sin_cos = drive_sin_cos(phase.y);
    }

    var state: array<f32, RPT>;
    var bias: array<f32, RPT>;
    var reference: array<f32, RPT>;
    var s1: array<f32, RPT>;
    var s2: array<f32, RPT>;
    var direction: array<f32, RPT>;
    var lockin_sin: array<f32, RPT>;
    var lockin_cos: array<f32, RPT>;
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
            if (driven) {
                direction[k] = inputs[section + base + i];
                if (mode == MODE_RECORD) {
                    lockin_sin[k] = accum[3u * section + base + i];
                    lockin_cos[k] = accum[4u * section + base + i];
                }
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
        // ε sin(ω t + φ0) of this step's input.
        let amplitude = p.drive_amplitude * sin_cos.x;
        for (var k = 0u; k < RPT; k++) {
            let i = lid + k * WG;
            if (i < N) {
                var acc = bias[k];
                if (driven) {
                    acc = acc + direction[k] * amplitude;
                }
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
        if (driven) {
            // The phase of the state this step produces (and of the next step's input).
            phase = add64(phase, frequency);
            sin_cos = drive_sin_cos(phase.y);
        }
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
                    if (driven) {
                        lockin_sin[k] = lockin_sin[k] + s * sin_cos.x;
                        lockin_cos[k] = lockin_cos[k] + s * sin_cos.y;
                    }
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
                if (driven) {
                    accum[3u * section + base + i] = lockin_sin[k];
                    accum[4u * section + base + i] = lockin_cos[k];
                }
            }
        }
    }
}
