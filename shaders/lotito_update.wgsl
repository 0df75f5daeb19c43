// Lotito update (src/backend/gpu/lotito, CPU twin src/model/lotito/dynamics.rs): one workgroup
// per replica advances its memories Ξ by `dispatch.steps` time steps, in the twin's order:
//
//   1. at t % k == 0: Gram Ξ_μ·Ξ_ν, cross Ξ_μ·f_ν (set 1 from switch_step on), decay Ξ_μ·d_μ and
//      the softmax statistics of the previous update; at t = T stop;
//   2. v = target[presented[t]] + σ_f n(t)   (no noise term when σ_f = 0);
//   3. S_μ = Ξ_μ·v   (GRADIENT: minus ½|Ξ_μ − Λ_μ|²);
//   4. w = softmax(β(S − max S)), or one-hot on the first largest S (ARGMAX);
//   5. Ξ_μi ← Ξ_μi + (w_μ/τ)((Λ_μi + v_i) − Ξ_μi).
//
// The host prepends the constants
//   const NV: u32        N_v, the length of a memory
//   const H: u32         N_h, the number of memories
//   const WG: u32        threads per workgroup (64 or 256)
//   const RPT: u32       columns per thread, ceil(NV / WG): thread `lid` owns i = lid + k*WG
//   const TM: u32        rows of one reduction tile
//   const RESIDENT: bool Ξ lives in workgroup memory during a dispatch (else in `xi`)
//   const XS: u32        size of the workgroup copy of Ξ (H*NV when RESIDENT, else 1)
//   const GRADIENT: bool the softmax argument subtracts ½|Ξ_μ − Λ_μ|²
//   const ARGMAX: bool   one-hot on the largest score
// and bms_common.wgsl (Philox and Box–Muller, the twin of model::bms::noise).
//
// Every thread only ever reads and writes its own columns of Ξ (and of v), so Ξ needs no
// barrier; sums over i go through workgroup memory: each thread writes its partial sums of TM
// rows to red[row][lid], then a fan-in-8 tree (256 → 32 → 4 → 1, 64 → 8 → 1) leaves the row
// sums in `y` (scores) or in the readback chunk (records). The softmax is thread 0's (H is
// small); it leaves the coefficients w_μ/τ in `coef`. Loops are written so that
// `backedges_per_step` on the host counts them (lavapipe silently ends loops past 65,535
// back-edges per invocation).

// Must match `LotitoParams` in src/backend/gpu/lotito/mod.rs (64 bytes).
struct LotitoParams {
    beta: f32,          // β
    tau: f32,           // τ_Ξ
    sigma: f32,         // σ_f
    noisy: u32,         // 1 when σ_f ≠ 0 (the twin's test)
    switch_step: u32,   // first step observed against fixed-point set 1
    key0: u32,          // Philox key: seed low and high words
    key1: u32,
    stream: u32,        // counter word 2
    replica: u32,       // counter word 3
    targets: u32,       // target slot s at data[targets + s*NV + i]
    bias: u32,          // Λ_μi at data[bias + μ*NV + i], or NONE
    fixed: u32,         // f_ν of set q at data[fixed + (q*H + ν)*NV + i]
    directions: u32,    // d_μ at data[directions + μ*NV + i]
    presented: u32,     // slot of step t at presented[presented + t]
    _pad0: u32,
    _pad1: u32,
}

// Must match `LotitoDispatch` in src/backend/gpu/lotito/mod.rs (32 bytes, dynamic offset).
struct LotitoDispatch {
    t0: u32,            // first step (absolute)
    steps: u32,         // steps this dispatch advances
    rec_first: u32,     // global index of the chunk's first sample
    rec_stride: u32,    // samples per replica in the chunk buffer
    replicas: u32,      // replicas in the group
    grid_x: u32,        // workgroups along x (2-D grid)
    total: u32,         // T
    record_every: u32,  // k
}

const NONE: u32 = 0xFFFFFFFFu;
const FAN: u32 = 8u;
const GRAM: u32 = H * H;
const STATS: u32 = 2u * H * H + H;   // offset of the softmax statistics in a record
const ROW: u32 = STATS + 2u;        // floats of one record
const SCORE_ROWS: u32 = select(H, 2u * H, GRADIENT);
const KIND_RECORD: u32 = 0u;
const KIND_SCORE: u32 = 1u;

@group(0) @binding(0) var<storage, read> params: array<LotitoParams>;
// Per replica: targets, Λ, fixed points, decay directions.
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read> presented: array<u32>;
// Per replica: Ξ, H×NV row-major, at r*H*NV.
@group(0) @binding(3) var<storage, read_write> xi: array<f32>;
// Per replica: (max w, H) of the last update (NaN before the first).
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
// One readback chunk: records [replica][rec_stride][ROW].
@group(0) @binding(5) var<storage, read_write> chunk: array<f32>;
@group(0) @binding(6) var<uniform> dispatch: LotitoDispatch;

var<workgroup> red: array<f32, TM * WG>;
var<workgroup> y: array<f32, 2u * H>;
var<workgroup> coef: array<f32, H>;
var<workgroup> xs: array<f32, XS>;

var<private> tid: u32;
var<private> xbase: u32;            // r*H*NV
var<private> p: LotitoParams;
var<private> fbase: u32;            // the observed fixed-point set of this record
var<private> v: array<f32, RPT>;

// Ξ_μi for i = tid + k*WG.
fn xi_get(mu: u32, k: u32) -> f32 {
    let e = mu * NV + tid + k * WG;
    if (RESIDENT) {
        return xs[e];
    }
    return xi[xbase + e];
}

fn xi_set(mu: u32, k: u32, x: f32) {
    let e = mu * NV + tid + k * WG;
    if (RESIDENT) {
        xs[e] = x;
    } else {
        xi[xbase + e] = x;
    }
}

// This thread's part of row `row` of a record (Gram, cross, decay) or of the scores
// (Ξ_μ·v, then the squares |Ξ_μ − Λ_μ|²).
fn partial_row(kind: u32, row: u32) -> f32 {
    var acc = 0.0;
    if (kind == KIND_SCORE) {
        if (row < H) {
            for (var k = 0u; k < RPT; k++) {
                if (tid + k * WG < NV) {
                    acc = acc + xi_get(row, k) * v[k];
                }
            }
        } else {
            let mu = row - H;
            for (var k = 0u; k < RPT; k++) {
                let i = tid + k * WG;
                if (i < NV) {
                    var d = xi_get(mu, k);
                    if (p.bias != NONE) {
                        d = d - data[p.bias + mu * NV + i];
                    }
                    acc = acc + d * d;
                }
            }
        }
        return acc;
    }
    if (row < GRAM) {
        let mu = row / H;
        let nu = row - mu * H;
        for (var k = 0u; k < RPT; k++) {
            if (tid + k * WG < NV) {
                acc = acc + xi_get(mu, k) * xi_get(nu, k);
            }
        }
    } else if (row < 2u * GRAM) {
        let q = row - GRAM;
        let mu = q / H;
        let nu = q - mu * H;
        let base = fbase + nu * NV + tid;
        for (var k = 0u; k < RPT; k++) {
            if (tid + k * WG < NV) {
                acc = acc + xi_get(mu, k) * data[base + k * WG];
            }
        }
    } else {
        let mu = row - 2u * GRAM;
        let base = p.directions + mu * NV + tid;
        for (var k = 0u; k < RPT; k++) {
            if (tid + k * WG < NV) {
                acc = acc + xi_get(mu, k) * data[base + k * WG];
            }
        }
    }
    return acc;
}

// Reduce red[row][0..WG] for rows < `rows`, fan-in FAN per pass; row sum `row` goes to
// y[first + row] (scores) or chunk[at + first + row] (records).
fn reduce(kind: u32, rows: u32, first: u32, at: u32) {
    var w = WG;
    loop {
        let f = min(FAN, w);
        let nw = w / f;
        for (var q = tid; q < rows * nw; q += WG) {
            let row = q / nw;
            let e = row * WG + (q - row * nw);
            var acc = red[e];
            if (f == FAN) {
                // Written out: no back-edges for the common fan-in.
                acc = acc + red[e + nw];
                acc = acc + red[e + 2u * nw];
                acc = acc + red[e + 3u * nw];
                acc = acc + red[e + 4u * nw];
                acc = acc + red[e + 5u * nw];
                acc = acc + red[e + 6u * nw];
                acc = acc + red[e + 7u * nw];
            } else {
                for (var j = 1u; j < f; j++) {
                    acc = acc + red[e + j * nw];
                }
            }
            if (nw == 1u) {
                if (kind == KIND_SCORE) {
                    y[first + row] = acc;
                } else {
                    chunk[at + first + row] = acc;
                }
            } else {
                red[e] = acc;
            }
        }
        workgroupBarrier();
        w = nw;
        if (w == 1u) {
            break;
        }
    }
}

// Sums of rows [0, end) over the workgroup, TM rows at a time.
fn project(kind: u32, end: u32, at: u32) {
    for (var r0 = 0u; r0 < end; r0 += TM) {
        let rows = min(TM, end - r0);
        for (var r = 0u; r < rows; r++) {
            red[r * WG + tid] = partial_row(kind, r0 + r);
        }
        workgroupBarrier();
        reduce(kind, rows, r0, at);
    }
}

// n_i(t) (noise.rs: counter (t, i, stream, replica), key (seed_lo, seed_hi)).
fn noise_normal(t: u32, i: u32) -> f32 {
    return box_muller(philox(vec4<u32>(t, i, p.stream, p.replica), vec2<u32>(p.key0, p.key1)));
}

// Thread 0: the weights from the scores in y, as coef[μ] = w_μ/τ; returns (max w, H).
fn softmax() -> vec2<f32> {
    if (GRADIENT) {
        for (var mu = 0u; mu < H; mu++) {
            y[mu] = y[mu] - 0.5 * y[H + mu];
        }
    }
    // The first largest score (strictly larger replaces).
    var top = 0u;
    for (var mu = 1u; mu < H; mu++) {
        if (y[mu] > y[top]) {
            top = mu;
        }
    }
    if (ARGMAX) {
        for (var mu = 0u; mu < H; mu++) {
            coef[mu] = 0.0;
        }
        coef[top] = 1.0 / p.tau;
        return vec2<f32>(1.0, 0.0);
    }
    let m = y[top];
    var z = 0.0;
    for (var mu = 0u; mu < H; mu++) {
        let x = p.beta * (y[mu] - m);
        y[mu] = x;
        let e = exp(x);
        coef[mu] = e;
        z = z + e;
    }
    let ln_z = log(z);
    var entropy = 0.0;
    for (var mu = 0u; mu < H; mu++) {
        let w = coef[mu] / z;
        entropy = entropy + w * (ln_z - y[mu]);
        coef[mu] = w / p.tau;
    }
    return vec2<f32>(1.0 / z, entropy);
}

@compute @workgroup_size(WG)
fn lotito_update(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = wg.y * dispatch.grid_x + wg.x;
    if (r >= dispatch.replicas) {
        return;
    }
    tid = lid;
    p = params[r];
    xbase = r * H * NV;
    if (RESIDENT) {
        for (var mu = 0u; mu < H; mu++) {
            for (var k = 0u; k < RPT; k++) {
                let e = mu * NV + lid + k * WG;
                if (lid + k * WG < NV) {
                    xs[e] = xi[xbase + e];
                }
            }
        }
    }
    var st = vec2<f32>(stats[2u * r], stats[2u * r + 1u]);
    let noisy = p.noisy != 0u;

    for (var step = 0u; step < dispatch.steps; step++) {
        let t = dispatch.t0 + step;
        // 1. The record.
        if (t % dispatch.record_every == 0u) {
            fbase = p.fixed + select(0u, H * NV, t >= p.switch_step);
            let at = (r * dispatch.rec_stride + t / dispatch.record_every - dispatch.rec_first)
                * ROW;
            project(KIND_RECORD, STATS, at);
            if (lid == 0u) {
                chunk[at + STATS] = st.x;
                chunk[at + STATS + 1u] = st.y;
            }
        }
        if (t == dispatch.total) {
            break;
        }
        // 2. The presented pattern.
        let slot = presented[p.presented + t];
        let tb = p.targets + slot * NV;
        for (var k = 0u; k < RPT; k++) {
            let i = lid + k * WG;
            if (i < NV) {
                var x = data[tb + i];
                if (noisy) {
                    x = x + p.sigma * noise_normal(t, i);
                }
                v[k] = x;
            }
        }
        // 3. The scores; 4. the weights.
        project(KIND_SCORE, SCORE_ROWS, 0u);
        if (lid == 0u) {
            st = softmax();
        }
        workgroupBarrier();
        // 5. The update of this thread's columns.
        for (var mu = 0u; mu < H; mu++) {
            let c = coef[mu];
            if (c == 0.0) {
                continue;
            }
            for (var k = 0u; k < RPT; k++) {
                let i = lid + k * WG;
                if (i < NV) {
                    let x = xi_get(mu, k);
                    var goal = v[k];
                    if (p.bias != NONE) {
                        goal = data[p.bias + mu * NV + i] + v[k];
                    }
                    xi_set(mu, k, x + c * (goal - x));
                }
            }
        }
    }

    if (RESIDENT) {
        for (var mu = 0u; mu < H; mu++) {
            for (var k = 0u; k < RPT; k++) {
                let e = mu * NV + lid + k * WG;
                if (lid + k * WG < NV) {
                    xi[xbase + e] = xs[e];
                }
            }
        }
    }
    if (lid == 0u) {
        stats[2u * r] = st.x;
        stats[2u * r + 1u] = st.y;
    }
}
