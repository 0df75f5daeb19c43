// Jiang update (src/backend/gpu/jiang, CPU twin src/model/jiang/trajectory.rs): one workgroup
// per trajectory advances `h ← (1 − a) h + a J φ(h)` by `dispatch.steps` time steps, with the
// twin's measurements, tangent vector and twin replica, in the twin's order (its module doc):
//
//   1. φ = tanh h, φ' = 1 − φ², y = ξ φ (dense path: only at recorded steps), and the measure
//      sums Σh, Σh², Σφ', Σφ'², Σ(h − h')² (recorded or window steps);
//   2. record y and the measure sums; window sums of Var h, ⟨φ'⟩, ⟨φ'²⟩; the snapshot of h;
//   3. f = J φ (factored: scale ξᵀ (X y) − J_ii φ; dense: Σ_j J_ij φ_j); at t = T Σ(f − h)², stop;
//   4. v ← (1 − a) v + a J (φ' ⊙ v), v ← v/‖v‖, window sum of ln ‖v‖;
//   5. h' ← (1 − a) h' + a J φ(h');
//   6. h ← (1 − a) h + a f.
//
// The host prepends the constants
//   const N: u32      neurons
//   const WG: u32     threads per workgroup (64 or 256)
//   const RPT: u32    neurons per thread, ceil(N / WG): thread `lid` owns i = lid + k*WG
//   const P: u32      patterns
//   const TM: u32     rows of one reduction tile (a power of two)
//   const DENSE: bool the field comes from the dense J, not the factors
//   const DT: u32     columns of the signal tile in workgroup memory (dense path; 1 otherwise)
//   const ZROWS: u32  size of `zs` (P on the factored path, at least 1; 1 on the dense path)
// and the shared rational `fn tanh_f32` (common.wgsl, = model::real::tanh_f32).
//
// Rows of a projection: row μ < P is Σ_i ξ^μ_i s_i; rows P..P+5 are the measure sums; row
// P+5 is a scalar (‖v‖², Σ(f − h)²). A projection sums rows [first, end) over the workgroup in
// tiles of TM rows: each thread writes its partial sums (over its own neurons; reading
// ξ[μN + lid + kWG], consecutive threads at consecutive addresses) to red[row][lid], then a
// fan-in-8 reduction (256 → 32 → 4 → 1) leaves the row sums in y. Loops are written so that
// `backedges_per_step` on the host counts them (lavapipe silently ends loops past 65,535
// back-edges per invocation).

struct TrajParams {
    network: u32,   // index into nets
    flags: u32,     // HAS_TWIN | HAS_TANGENT
    _pad0: u32,
    _pad1: u32,
}

struct NetParams {
    leak: f32,        // a
    keep: f32,        // 1 − a (in f32, as the twin)
    scale: f32,       // 1/N
    block: u32,       // patterns per circulant block
    open_chain: u32,  // 1: no wrap-around
    taps: u32,        // number of taps
    tap_base: u32,    // taps at data[tap_base + 2q] (shift, as f32) and data[tap_base + 2q + 1] (weight)
    xi_base: u32,     // ξ^μ_i at data[xi_base + μN + i]
    diag_base: u32,   // J_ii at data[diag_base + i], or NONE when self-couplings are kept
    dense_base: u32,  // J_ij at dense[dense_base + jN + i] (dense path)
    _pad0: u32,
    _pad1: u32,
}

struct RunParams {
    total: u32,         // T
    transient: u32,
    record_every: u32,
    rec_stride: u32,    // samples per trajectory in the chunk buffer
    part_stride: u32,   // dispatch partials per trajectory in the chunk buffer
    part_base: u32,     // offset of the partials section in `chunk`
    out_stride: u32,    // floats per trajectory in `out`: 1 + snapshots·N
    _pad: u32,
}

struct Header {
    run: RunParams,
    nets: array<NetParams>,
}

// Must match `JiangDispatch` in src/backend/gpu/jiang/mod.rs (32 bytes, dynamic offset).
struct JiangDispatch {
    t0: u32,            // first step (absolute)
    steps: u32,         // steps this dispatch advances
    rec_first: u32,     // global index of the chunk's first sample
    part_slot: u32,     // this dispatch's slot in the chunk's partials
    snapshot: u32,      // index of the snapshot taken at step t0, or NONE
    trajectories: u32,
    grid_x: u32,
    _pad: u32,
}

const NONE: u32 = 0xFFFFFFFFu;
const HAS_TWIN: u32 = 1u;
const HAS_TANGENT: u32 = 2u;
const FAN: u32 = 8u;
const ROW: u32 = P + 5u;       // one record: y (P) and the five measure sums
const SCALAR: u32 = P + 5u;    // the row of a scalar reduction

@group(0) @binding(0) var<storage, read> trajs: array<TrajParams>;
@group(0) @binding(1) var<storage, read> header: Header;
// Per network: ξ (P×N row-major), J_ii, taps.
@group(0) @binding(2) var<storage, read> data: array<f32>;
// Per network: column-major J (dense path; a placeholder otherwise).
@group(0) @binding(3) var<storage, read> dense: array<f32>;
// Per trajectory: h, h', v (3N).
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
// One readback chunk: records [trajectory][rec_stride][ROW], then at part_base the window
// partials [trajectory][part_stride][4] (Σ Var h, Σ⟨φ'⟩, Σ⟨φ'²⟩, Σ ln ν of one dispatch).
@group(0) @binding(5) var<storage, read_write> chunk: array<f32>;
// Per trajectory (out_stride floats): Σ(f − h)² at t = T, then the snapshots of h.
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<uniform> dispatch: JiangDispatch;

var<workgroup> red: array<f32, TM * WG>;
var<workgroup> y: array<f32, P + 6u>;
var<workgroup> zs: array<f32, ZROWS>;
var<workgroup> sig: array<f32, DT>;

var<private> tid: u32;
var<private> h: array<f32, RPT>;
var<private> hp: array<f32, RPT>;
var<private> v: array<f32, RPT>;
var<private> dphi: array<f32, RPT>;
var<private> fld: array<f32, RPT>;   // J φ(h), kept until the update
var<private> s: array<f32, RPT>;     // the signal of the current projection and field
var<private> g: array<f32, RPT>;     // the field of the tangent or the twin
var<private> meas: array<f32, 5>;    // this thread's measure sums
var<private> scalar: f32;            // this thread's part of a scalar reduction

// This thread's part of row `row` (see the header).
fn partial_row(row: u32, xi_base: u32) -> f32 {
    if (row < P) {
        var acc = 0.0;
        let base = xi_base + row * N + tid;
        for (var k = 0u; k < RPT; k++) {
            if (tid + k * WG < N) {
                acc = acc + data[base + k * WG] * s[k];
            }
        }
        return acc;
    }
    if (row == SCALAR) {
        return scalar;
    }
    return meas[row - P];
}

// Reduce red[row][0..WG] for rows < `rows` into y[dest + row], fan-in FAN per pass.
fn reduce(rows: u32, dest: u32) {
    var w = WG;
    loop {
        let f = min(FAN, w);
        let nw = w / f;
        for (var q = tid; q < rows * nw; q += WG) {
            let row = q / nw;
            let at = row * WG + (q - row * nw);
            var acc = red[at];
            for (var j = 1u; j < f; j++) {
                acc = acc + red[at + j * nw];
            }
            if (nw == 1u) {
                y[dest + row] = acc;
            } else {
                red[at] = acc;
            }
        }
        workgroupBarrier();
        w = nw;
        if (w == 1u) {
            break;
        }
    }
}

// y[first..end) = workgroup sums of rows [first, end), TM rows at a time.
fn project(first: u32, end: u32, xi_base: u32) {
    for (var r0 = first; r0 < end; r0 += TM) {
        let rows = min(TM, end - r0);
        for (var r = 0u; r < rows; r++) {
            red[r * WG + tid] = partial_row(r0 + r, xi_base);
        }
        workgroupBarrier();
        reduce(rows, r0);
    }
}

// The workgroup sum of every thread's `scalar`.
fn reduce_scalar() -> f32 {
    project(SCALAR, SCALAR + 1u, 0u);
    return y[SCALAR];
}

// g = J s, given y = ξ s on the factored path.
fn field(net: NetParams) {
    for (var k = 0u; k < RPT; k++) {
        g[k] = 0.0;
    }
    if (DENSE) {
        for (var j0 = 0u; j0 < N; j0 += DT) {
            let cols = min(DT, N - j0);
            for (var k = 0u; k < RPT; k++) {
                let i = tid + k * WG;
                if (i >= j0 && i < j0 + cols) {
                    sig[i - j0] = s[k];
                }
            }
            workgroupBarrier();
            for (var k = 0u; k < RPT; k++) {
                let i = tid + k * WG;
                if (i < N) {
                    var acc = g[k];
                    var e = net.dense_base + j0 * N + i;
                    var j = 0u;
                    // Unrolled by 8 (ascending j) to cut the loop back-edges eightfold.
                    loop {
                        if (j + 8u > cols) {
                            break;
                        }
                        acc = acc + dense[e] * sig[j];
                        acc = acc + dense[e + N] * sig[j + 1u];
                        acc = acc + dense[e + 2u * N] * sig[j + 2u];
                        acc = acc + dense[e + 3u * N] * sig[j + 3u];
                        acc = acc + dense[e + 4u * N] * sig[j + 4u];
                        acc = acc + dense[e + 5u * N] * sig[j + 5u];
                        acc = acc + dense[e + 6u * N] * sig[j + 6u];
                        acc = acc + dense[e + 7u * N] * sig[j + 7u];
                        e = e + 8u * N;
                        j = j + 8u;
                    }
                    for (; j < cols; j++) {
                        acc = acc + dense[e] * sig[j];
                        e = e + N;
                    }
                    g[k] = acc;
                }
            }
            workgroupBarrier();
        }
        return;
    }
    // zs = scale · X y: (X y)_μ = Σ_taps w y_{μ − shift} within μ's block.
    let block = i32(net.block);
    for (var mu = tid; mu < P; mu += WG) {
        let start = mu - mu % net.block;
        let local = i32(mu % net.block);
        var acc = 0.0;
        for (var q = 0u; q < net.taps; q++) {
            let shift = i32(data[net.tap_base + 2u * q]);
            let w = data[net.tap_base + 2u * q + 1u];
            var src = local - shift;
            if (net.open_chain != 0u) {
                if (src < 0 || src >= block) {
                    continue;
                }
            } else {
                src = ((src % block) + block) % block;
            }
            acc = acc + w * y[start + u32(src)];
        }
        zs[mu] = net.scale * acc;
    }
    workgroupBarrier();
    // g_i = Σ_μ zs_μ ξ^μ_i in ascending μ: at fixed μ, consecutive threads read consecutive i.
    for (var mu = 0u; mu < P; mu++) {
        let c = zs[mu];
        let base = net.xi_base + mu * N + tid;
        for (var k = 0u; k < RPT; k++) {
            if (tid + k * WG < N) {
                g[k] = g[k] + c * data[base + k * WG];
            }
        }
    }
    if (net.diag_base != NONE) {
        for (var k = 0u; k < RPT; k++) {
            let i = tid + k * WG;
            if (i < N) {
                g[k] = g[k] - data[net.diag_base + i] * s[k];
            }
        }
    }
}

@compute @workgroup_size(WG)
fn jiang_update(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = wg.y * dispatch.grid_x + wg.x;
    if (r >= dispatch.trajectories) {
        return;
    }
    tid = lid;
    let tp = trajs[r];
    let net = header.nets[tp.network];
    let run = header.run;
    let twin = (tp.flags & HAS_TWIN) != 0u;
    let tangent = (tp.flags & HAS_TANGENT) != 0u;
    let a = net.leak;
    let keep = net.keep;
    let sb = r * 3u * N;
    for (var k = 0u; k < RPT; k++) {
        let i = lid + k * WG;
        if (i < N) {
            h[k] = states[sb + i];
            hp[k] = states[sb + N + i];
            v[k] = states[sb + 2u * N + i];
        }
    }
    // This dispatch's window sums: Var h, ⟨φ'⟩, ⟨φ'²⟩, ln ν.
    var sums = vec4<f32>(0.0);
    let inv_n = 1.0 / f32(N);

    for (var step = 0u; step < dispatch.steps; step++) {
        let t = dispatch.t0 + step;
        // 1. φ, φ' and the measure sums of this thread.
        for (var m = 0u; m < 5u; m++) {
            meas[m] = 0.0;
        }
        for (var k = 0u; k < RPT; k++) {
            if (lid + k * WG < N) {
                let phi = tanh_f32(h[k]);
                let d = 1.0 - phi * phi;
                s[k] = phi;
                dphi[k] = d;
                let gap = h[k] - hp[k];
                meas[0] = meas[0] + h[k];
                meas[1] = meas[1] + h[k] * h[k];
                meas[2] = meas[2] + d;
                meas[3] = meas[3] + d * d;
                meas[4] = meas[4] + gap * gap;
            }
        }
        let record = t % run.record_every == 0u;
        let in_window = t >= run.transient && t < run.total;
        // Rows: the patterns (always on the factored path, at recorded steps on the dense one),
        // then the measures (recorded or window steps).
        let first = select(0u, P, DENSE && !record);
        let end = select(P, P + 5u, record || in_window);
        project(first, end, net.xi_base);

        // 2. Records, window sums, snapshot.
        if (record) {
            let at = (r * run.rec_stride + t / run.record_every - dispatch.rec_first) * ROW;
            for (var q = lid; q < ROW; q += WG) {
                chunk[at + q] = y[q];
            }
        }
        if (in_window) {
            let mean = y[P] * inv_n;
            sums.x = sums.x + (y[P + 1u] * inv_n - mean * mean);
            sums.y = sums.y + y[P + 2u] * inv_n;
            sums.z = sums.z + y[P + 3u] * inv_n;
        }
        if (step == 0u && dispatch.snapshot != NONE) {
            let at = r * run.out_stride + 1u + dispatch.snapshot * N;
            for (var k = 0u; k < RPT; k++) {
                let i = lid + k * WG;
                if (i < N) {
                    out[at + i] = h[k];
                }
            }
        }

        // 3. The field; at t = T the speed, and stop.
        field(net);
        for (var k = 0u; k < RPT; k++) {
            fld[k] = g[k];
        }
        if (t == run.total) {
            scalar = 0.0;
            for (var k = 0u; k < RPT; k++) {
                if (lid + k * WG < N) {
                    let e = fld[k] - h[k];
                    scalar = scalar + e * e;
                }
            }
            let speed = reduce_scalar();
            if (lid == 0u) {
                out[r * run.out_stride] = speed;
            }
            break;
        }

        // 4. The tangent vector.
        if (tangent) {
            for (var k = 0u; k < RPT; k++) {
                s[k] = dphi[k] * v[k];
            }
            if (!DENSE) {
                project(0u, P, net.xi_base);
            }
            field(net);
            scalar = 0.0;
            for (var k = 0u; k < RPT; k++) {
                if (lid + k * WG < N) {
                    let x = keep * v[k] + a * g[k];
                    v[k] = x;
                    scalar = scalar + x * x;
                }
            }
            let norm2 = reduce_scalar();
            let inv = 1.0 / sqrt(norm2);
            for (var k = 0u; k < RPT; k++) {
                v[k] = v[k] * inv;
            }
            if (in_window) {
                sums.w = sums.w + 0.5 * log(norm2);
            }
        }

        // 5. The twin.
        if (twin) {
            for (var k = 0u; k < RPT; k++) {
                s[k] = tanh_f32(hp[k]);
            }
            if (!DENSE) {
                project(0u, P, net.xi_base);
            }
            field(net);
            for (var k = 0u; k < RPT; k++) {
                hp[k] = keep * hp[k] + a * g[k];
            }
        }

        // 6. The state.
        for (var k = 0u; k < RPT; k++) {
            h[k] = keep * h[k] + a * fld[k];
        }
    }

    for (var k = 0u; k < RPT; k++) {
        let i = lid + k * WG;
        if (i < N) {
            states[sb + i] = h[k];
            states[sb + N + i] = hp[k];
            states[sb + 2u * N + i] = v[k];
        }
    }
    if (lid == 0u) {
        let at = run.part_base + (r * run.part_stride + dispatch.part_slot) * 4u;
        chunk[at] = sums.x;
        chunk[at + 1u] = sums.y;
        chunk[at + 2u] = sums.z;
        chunk[at + 3u] = sums.w;
    }
}
