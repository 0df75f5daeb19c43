//! The Jiang family's GPU kernel (src/model/jiang; `shaders/jiang_update.wgsl`):
//! `Backend::run_jiang` on the device, the twin of [`crate::model::jiang::trajectory`] (its
//! module doc gives the step order both follow).
//!
//! **Layout.** Every network of a [`Batch`] is uploaded once per run, shared by all of its
//! trajectories (initial conditions, twins): its patterns ξ (row-major P × N f32, `ξ^μ_i` at
//! `μN + i`), `J_ii` when self-couplings are off, and its taps (shift, weight) in one `data`
//! buffer; on the dense path its column-major J (`J_ij` at `jN + i`) in a second one. Per
//! network a [`NetParams`] record holds the leak, scale, block, chain ends and offsets, so the
//! networks of a batch may differ in leak, taps and chain; P and N are compile-time constants of
//! the kernel, so trajectories are run in one kernel per distinct (N, P, dense) — a batch that
//! mixes the factored and the dense path (or two sizes) simply runs as two groups. Each
//! trajectory's h, twin h' and tangent v live in a `states` buffer on the device for the whole
//! run; only recorded samples and per-dispatch window sums come back, in chunks.
//!
//! **One workgroup per trajectory, the time loop in the shader.** Thread `lid` owns neurons
//! `i = lid + k·WG` and keeps their h, h', v, φ', fields and signal in registers (RPT = ⌈N/WG⌉
//! each). WG is 256 above N = 64 and 64 up to it: with one trajectory per workgroup, 256
//! threads (8 warps, 4 wavefronts) give the scheduler enough warps to hide load latency within
//! one trajectory and keep RPT = 16 at N = 4000, so seven per-neuron arrays stay in registers
//! (64 threads would need RPT = 63 there and spill); the reductions take three fan-in-8 passes.
//! At N ≤ 64 a 256-thread workgroup would be three-quarters idle threads that still take part
//! in every barrier, so 64 it is (a real GPU then wants many trajectories for occupancy).
//!
//! **The factored field** `J s = scale · ξᵀ (X (ξ s)) − J_ii s_i`, O(NP) instead of O(N²):
//! 1. `y_μ = Σ_i ξ^μ_i s_i` for all μ: in tiles of TM rows ([`JiangShape::tile_rows`], up to
//!    16), each thread writes its partial sums over its own neurons into workgroup memory
//!    (`red[row][lid]`), then a fan-in-8 tree (256 → 32 → 4 → 1, one barrier per pass) leaves
//!    the row sums in `y`. The reads `ξ[μN + lid + kWG]` are coalesced: at fixed (μ, k),
//!    consecutive threads read consecutive words of pattern μ. A second, neuron-major copy of
//!    ξ (thread μ reading `ξ[iP + μ]`) would be coalesced too but gives one thread a loop of N
//!    serial steps per projection (4,000 at N = 4000, about the back-edge budget of a whole
//!    dispatch) and uses only P threads; the tiled partials spread the N·P multiply-adds over
//!    all WG threads and need no second copy. At recorded and window steps the five measure
//!    sums (Σh, Σh², Σφ', Σφ'², Σ(h − h')²) ride along as rows P..P+5 of the same tiles, so
//!    they cost no extra barriers; ‖v‖² and Σ(f − h)² are one-row reductions.
//! 2. `z = scale · X y`: thread μ sums its taps (at most 2d + 1) from `y` into `zs`.
//! 3. `f_i = Σ_μ zs_μ ξ^μ_i − J_ii s_i`, ascending μ; the reads `ξ[μN + i]` are coalesced
//!    across threads, `zs_μ` is a broadcast from workgroup memory.
//!
//! Per step: one field for h, one for the tangent vector and one for the twin when present.
//!
//! **The dense path** (dilution): `f_i = Σ_j J_ij s_j`, the signal in workgroup memory in tiles
//! of DT columns ([`JiangShape::dense_tile`]: all of N when it fits — N = 4000 needs 16 KB),
//! J column-major so that at fixed j consecutive threads read consecutive words; the j loop is
//! unrolled by 8. The overlaps are projected only at recorded steps, the measures only at
//! recorded and window steps.
//!
//! **Numerics.** tanh is the rational `tanh_f32` of `common.wgsl` (= [`crate::model::real`]'s),
//! X y, the scaling, the μ order of stage 3 and the update `(1 − a) h + a f` follow the twin;
//! only the order of the sums over neurons differs (a tree here, 16 interleaved partial sums
//! there), and a GPU may contract `a·b + c` into a fused multiply-add, so results agree to
//! f32 rounding (a few 1e-7 relative per step), not bitwise. Records carry the raw f32 sums;
//! the CPU turns them into overlaps and measures with the twin's f64 formulas. Window sums are
//! accumulated in f32 within one dispatch (at most a few thousand steps) and written as
//! per-dispatch partials that the CPU adds in f64; `ln ν` is `½ ln ‖v‖²` in f32.
//!
//! **Dispatches and the loop budget.** lavapipe silently ends an invocation's loops after
//! 65,535 back-edges (engineering.md); [`JiangShape::backedges_per_step`] counts every loop of
//! a step as written in the shader (no unrolling assumed), for the worst step (recorded, in the
//! window, with the batch's largest tap count, twin and tangent when any trajectory has them),
//! and a dispatch takes as many steps as fit within [`BACKEDGE_BUDGET`] (half the cap). At
//! N = 4000, P = 40 (d = 1): 19 steps per dispatch factored without twin or tangent, 6 with
//! both; dense, 3 and 1. Dispatches also break at snapshot steps (a snapshot is always a
//! dispatch's first step) and at readback-chunk ends. The count is an upper bound and not a
//! loose one: on lavapipe the N = 100, P = 10 kernel with twin and tangent still matched the
//! CPU over 1,500 steps with dispatches of twice the budget (65,520 counted back-edges) and
//! broke at four times it, so the real count is between half and all of ours and the budget
//! leaves a factor of 2 to the cap. When not even one step fits, a software adapter refuses
//! the run ([`dispatch_steps`]; at P = 40 that is beyond N ≈ 88,000 factored, 31,000 with twin
//! and tangent, 6,080 and 4,544 dense; at P = 400, beyond N ≈ 9,700 and 2,800 factored),
//! while a hardware GPU, which has no such cap, runs one step per dispatch.
//!
//! **Readback.** Recorded samples (P overlaps + 5 measure sums each) and the per-dispatch
//! partials of a chunk of steps are copied to one of two staging buffers; the GPU runs chunk
//! c + 1 while the CPU unpacks chunk c ([`READBACK_BYTES`] per chunk at most). The speed at
//! t = T and the snapshots of h go to a per-trajectory `out` buffer read once at the end, with
//! the final states.
//!
//! **Capacity.** A batch whose networks' data, dense J, states or snapshots exceed one storage
//! binding (`max_storage_buffer_binding_size`), or whose one-sample records exceed the readback
//! chunk, is split into groups run one after the other (the BMS kernel's [`groups`]); one
//! network that alone does not fit is refused with a clear error. Workgroup memory:
//! `4 (TM·WG + P + 6 + P + DT)` bytes, kept within 32 KiB (or the adapter's limit) by shrinking
//! TM and the dense tile; at N = 4000, P up to 3,960 fits lavapipe's 32 KiB.
//!
//! **Throughput** (`bench_factored_against_dense` in tests/jiang_gpu.rs; lavapipe on the
//! 2-core build machine, shared with other builds at a load average of 6–10, so only ratios
//! mean anything): N = 4000, P = 40, 32 trajectories, no twin or tangent, a step being all 32
//! trajectories: factored 2.06 steps/s (66 trajectory-steps/s), dense 0.021 steps/s — a ratio
//! of 98, as the work (2NP + taps against N² multiply-adds per field) predicts. The f32 CPU
//! twin on the same machine at the same time: 87 and 0.83 steps/s. lavapipe manages about
//! 2·10⁷ multiply-adds per second on this kernel (the BMS kernel's rate too), so on CI the
//! GPU tests stay at small N. Not measured on a real GPU yet. Reasoned for one: the factored
//! step reads ξ (640 KB per network at N = 4000, P = 40, L2-resident and shared by the
//! trajectories of a network) twice per field, while the dense step streams J (64 MB, not
//! L2-resident) once per field per trajectory, so the factored path should win by more than
//! the work ratio; with one workgroup per trajectory a batch wants at least as many
//! trajectories as the GPU has SMs (132 on an H100) to fill it.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::bms::groups;
pub use super::bms::RunLimits;
use crate::backend::gpu::{
    dispatch_each, dispatch_table, dispatch_table_entry, entry, read_buffer, staging, submit,
    GpuBackend, BACKEDGE_BUDGET,
};
use crate::config::Precision;
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::model::jiang::{Batch, Trace, MEASURES};

const COMMON: &str = include_str!("../../../../shaders/common.wgsl");
const UPDATE: &str = include_str!("../../../../shaders/jiang_update.wgsl");

/// Bytes of one chunk's records (samples and partials of every trajectory) read back at once.
pub const READBACK_BYTES: u64 = 64 << 20;
/// Workgroup memory the kernel aims to stay within (or the adapter's limit, when smaller):
/// more would cost occupancy on a real GPU for little gain.
pub const WORKGROUP_TARGET: u64 = 32 << 10;
/// Largest reduction tile (rows reduced together).
const MAX_TILE_ROWS: usize = 16;
/// Reduction fan-in per pass (`FAN` in the shader).
const FAN: u64 = 8;
const NONE: u32 = u32::MAX;
const HAS_TWIN: u32 = 1;
const HAS_TANGENT: u32 = 2;
/// Floats of a recorded sample besides the overlaps: the measure sums.
const MEASURE_SUMS: usize = 5;
/// Floats of one dispatch's window partials.
const PARTIALS: usize = 4;

/// Per-trajectory parameters as the shader reads them (`TrajParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct TrajParams {
    pub network: u32,
    pub flags: u32,
    pub _pad: [u32; 2],
}

/// Per-network parameters as the shader reads them (`NetParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct NetParams {
    pub leak: f32,
    pub keep: f32,
    pub scale: f32,
    pub block: u32,
    pub open_chain: u32,
    pub taps: u32,
    pub tap_base: u32,
    pub xi_base: u32,
    pub diag_base: u32,
    pub dense_base: u32,
    pub _pad: [u32; 2],
}

/// Run-wide constants (`RunParams`), at the head of the network buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct RunParams {
    pub total: u32,
    pub transient: u32,
    pub record_every: u32,
    pub rec_stride: u32,
    pub part_stride: u32,
    pub part_base: u32,
    pub out_stride: u32,
    pub _pad: u32,
}

/// One dispatch's parameters (`JiangDispatch`), bound with a dynamic offset.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct JiangDispatch {
    pub t0: u32,
    pub steps: u32,
    pub rec_first: u32,
    pub part_slot: u32,
    pub snapshot: u32,
    pub trajectories: u32,
    pub grid_x: u32,
    pub _pad: u32,
}

/// The constants one kernel compiles in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JiangShape {
    pub neurons: usize,
    pub patterns: usize,
    pub dense: bool,
    /// Threads per workgroup (64 or 256).
    pub workgroup: usize,
    /// Neurons per thread, ⌈N / WG⌉.
    pub rows_per_thread: usize,
    /// Rows of one reduction tile (TM, a power of two).
    pub tile_rows: usize,
    /// Signal columns in workgroup memory on the dense path (DT; 1 on the factored path).
    pub dense_tile: usize,
}

impl JiangShape {
    /// The shape for N neurons and P patterns on an adapter with `max_invocations` threads per
    /// workgroup, within `workgroup_limit` bytes of workgroup memory (capped at
    /// [`WORKGROUP_TARGET`]). [`JiangShape::fits`] says whether it fits at all.
    pub fn new(
        neurons: usize,
        patterns: usize,
        dense: bool,
        max_invocations: usize,
        workgroup_limit: u64,
    ) -> JiangShape {
        let wanted = if neurons <= 64 { 64 } else { 256 };
        let cap = 1usize << max_invocations.max(1).ilog2();
        let workgroup = wanted.min(cap);
        let budget = workgroup_limit.min(WORKGROUP_TARGET);
        let max_tile = if dense { 8 } else { MAX_TILE_ROWS };
        let mut shape = JiangShape {
            neurons,
            patterns,
            dense,
            workgroup,
            rows_per_thread: neurons.div_ceil(workgroup).max(1),
            tile_rows: (patterns + MEASURE_SUMS).next_power_of_two().min(max_tile),
            dense_tile: 1,
        };
        while shape.tile_rows > 1 && shape.fixed_bytes() + 4 > budget {
            shape.tile_rows /= 2;
        }
        if dense {
            let room = budget.saturating_sub(shape.fixed_bytes()) / 4;
            shape.dense_tile = (room as usize).clamp(1, neurons.max(1));
        }
        shape
    }

    /// `zs`'s length.
    fn z_rows(&self) -> usize {
        if self.dense {
            1
        } else {
            self.patterns.max(1)
        }
    }

    /// Workgroup memory besides the dense tile: reduction tile, y, zs.
    fn fixed_bytes(&self) -> u64 {
        4 * (self.tile_rows * self.workgroup + self.patterns + 6 + self.z_rows()) as u64
    }

    /// Workgroup memory the kernel declares.
    pub fn workgroup_bytes(&self) -> u64 {
        self.fixed_bytes() + 4 * self.dense_tile as u64
    }

    /// Whether the kernel fits `limit` bytes of workgroup memory.
    pub fn fits(&self, limit: u64) -> bool {
        self.workgroup_bytes() <= limit
    }

    /// WGSL source of `jiang_update` with this shape's constants.
    pub fn source(&self) -> String {
        format!(
            "const N: u32 = {}u;\nconst WG: u32 = {}u;\nconst RPT: u32 = {}u;\n\
             const P: u32 = {}u;\nconst TM: u32 = {}u;\nconst DENSE: bool = {};\n\
             const DT: u32 = {}u;\nconst ZROWS: u32 = {}u;\n{}\n{UPDATE}",
            self.neurons,
            self.workgroup,
            self.rows_per_thread,
            self.patterns,
            self.tile_rows,
            self.dense,
            self.dense_tile,
            self.z_rows(),
            tanh_source(),
        )
    }

    /// Back-edges of `reduce(rows)`: per pass the pass loop, and for the busiest thread
    /// ⌈rows·nw / WG⌉ iterations of the q loop with f − 1 inner ones each.
    fn reduce_backedges(&self, rows: u64) -> u64 {
        let wg = self.workgroup as u64;
        let mut w = wg;
        let mut count = 0;
        loop {
            let f = FAN.min(w);
            let nw = w / f;
            count += 1 + (rows * nw).div_ceil(wg) * f;
            w = nw;
            if w <= 1 {
                return count;
            }
        }
    }

    /// Back-edges of `project` over `rows` rows: per tile the tile loop, per row the row loop
    /// and the k loop of `partial_row`, and the reduction.
    fn project_backedges(&self, rows: u64) -> u64 {
        let (tm, rpt) = (self.tile_rows as u64, self.rows_per_thread as u64);
        let mut count = 0;
        let mut left = rows;
        while left > 0 {
            let r = left.min(tm);
            count += 1 + r * (1 + rpt) + self.reduce_backedges(r);
            left -= r;
        }
        count
    }

    /// Back-edges of `field` with `taps` taps.
    fn field_backedges(&self, taps: u64) -> u64 {
        let (n, p, rpt) = (
            self.neurons as u64,
            self.patterns as u64,
            self.rows_per_thread as u64,
        );
        let wg = self.workgroup as u64;
        let zero = rpt;
        if self.dense {
            let dt = self.dense_tile as u64;
            let tiles = n.div_ceil(dt);
            // Tile loop, the load, and per row the k loop, the j loop unrolled by 8 (+1 for its
            // exit test) and at most 7 remainder iterations.
            zero + tiles * (1 + rpt + rpt * (1 + dt / 8 + 1 + 7))
        } else {
            zero + p.div_ceil(wg) * (1 + taps) + p * (1 + rpt) + rpt
        }
    }

    /// Loop back-edges of one invocation in the worst step (recorded, in the window), counted
    /// as if the compiler unrolled nothing, with `taps` taps and a twin and/or a tangent.
    pub fn backedges_per_step(&self, taps: usize, twin: bool, tangent: bool) -> u64 {
        let rpt = self.rows_per_thread as u64;
        let p = self.patterns as u64;
        let taps = taps as u64;
        let row = p + MEASURE_SUMS as u64;
        let wg = self.workgroup as u64;
        let field = self.field_backedges(taps);
        let pattern_projection = if self.dense {
            0
        } else {
            self.project_backedges(p)
        };
        let scalar = self.project_backedges(1);
        // Time loop; zeroing the measures and the φ loop; the projection of φ with the
        // measures; the record copy; the snapshot; the field and its copy.
        let mut count = 1 + 5 + rpt + self.project_backedges(row) + row.div_ceil(wg) + rpt;
        count += field + rpt;
        // Either the speed at t = T (then stop) or the tangent, the twin and the update.
        let last = rpt + scalar;
        let mut rest = rpt;
        if tangent {
            rest += rpt + pattern_projection + field + rpt + scalar + rpt;
        }
        if twin {
            rest += rpt + pattern_projection + field + rpt;
        }
        count + last.max(rest)
    }

    /// Back-edges outside the time loop: loading and storing the states.
    pub fn setup_backedges(&self) -> u64 {
        2 * self.rows_per_thread as u64
    }

    /// Steps one dispatch may advance within [`BACKEDGE_BUDGET`]; 0 if not even one fits.
    pub fn steps_per_dispatch(&self, taps: usize, twin: bool, tangent: bool) -> u64 {
        BACKEDGE_BUDGET.saturating_sub(self.setup_backedges())
            / self.backedges_per_step(taps, twin, tangent)
    }

    /// Floats of one recorded sample: y and the measure sums.
    pub fn row(&self) -> usize {
        self.patterns + MEASURE_SUMS
    }
}

/// Steps per dispatch for `shape` with `taps` taps and a twin and/or tangent: as many as fit
/// [`BACKEDGE_BUDGET`]. When not even one step fits, a `software` adapter (lavapipe, whose
/// loops silently stop past 65,535 back-edges) refuses the run; a hardware adapter, which has
/// no such cap, runs one step per dispatch.
pub fn dispatch_steps(
    shape: &JiangShape,
    taps: usize,
    twin: bool,
    tangent: bool,
    software: bool,
) -> Result<usize> {
    match shape.steps_per_dispatch(taps, twin, tangent) {
        0 if software => Err(Error::TooLarge(format!(
            "the Jiang kernel at N = {}, P = {}{} needs {} loop iterations per step in one \
             shader invocation, above the {BACKEDGE_BUDGET} that keeps a dispatch safe from the \
             silent loop cap of this software adapter (lavapipe); use --backend cpu, or a \
             hardware GPU",
            shape.neurons,
            shape.patterns,
            if shape.dense { ", dense J" } else { "" },
            shape.backedges_per_step(taps, twin, tangent)
        ))),
        0 => Ok(1),
        steps => Ok(steps as usize),
    }
}

/// `fn tanh_f32` of `common.wgsl`, the one rational tanh every kernel (and the CPU twin)
/// uses; `common.wgsl` as a whole declares the analog kernels' bindings.
pub fn tanh_source() -> &'static str {
    let start = COMMON
        .find("fn tanh_f32(")
        .expect("common.wgsl defines tanh_f32");
    let len = COMMON[start..]
        .find("\n}\n")
        .expect("tanh_f32 ends with a closing brace")
        + 2;
    &COMMON[start..start + len]
}

/// The dispatches of one readback chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    pub dispatches: Vec<JiangDispatch>,
    /// Global index of the chunk's first sample.
    pub first_sample: usize,
    /// Samples the chunk records.
    pub samples: usize,
}

/// Split steps 0..=`total` into dispatches of at most `per_dispatch` steps, each snapshot step
/// (sorted, ≤ total) starting one, grouped in chunks of at most `rec_stride` recorded samples
/// (t a multiple of `record_every`) and `part_stride` dispatches.
pub fn plan(
    total: usize,
    record_every: usize,
    snapshots: &[usize],
    per_dispatch: usize,
    rec_stride: usize,
    part_stride: usize,
) -> Vec<ChunkPlan> {
    let (k, per_dispatch) = (record_every.max(1), per_dispatch.max(1));
    let (rec_stride, part_stride) = (rec_stride.max(1), part_stride.max(1));
    let mut chunks = Vec::new();
    let mut t = 0;
    let mut next_snap = 0;
    while t <= total {
        let first_sample = t.div_ceil(k);
        let limit = (first_sample + rec_stride) * k;
        let mut dispatches = Vec::new();
        while t <= total && t < limit && dispatches.len() < part_stride {
            while next_snap < snapshots.len() && snapshots[next_snap] < t {
                next_snap += 1;
            }
            let snapshot = if snapshots.get(next_snap) == Some(&t) {
                next_snap as u32
            } else {
                NONE
            };
            let mut end = (t + per_dispatch).min(total + 1).min(limit);
            if let Some(&s) = snapshots[next_snap..].iter().find(|&&s| s > t) {
                end = end.min(s);
            }
            dispatches.push(JiangDispatch {
                t0: t as u32,
                steps: (end - t) as u32,
                rec_first: first_sample as u32,
                part_slot: dispatches.len() as u32,
                snapshot,
                trajectories: 0,
                grid_x: 0,
                _pad: 0,
            });
            t = end;
        }
        chunks.push(ChunkPlan {
            dispatches,
            first_sample,
            samples: t.div_ceil(k) - first_sample,
        });
    }
    chunks
}

/// Samples and dispatch partials per trajectory in one chunk: as many samples as the whole
/// run records, or fewer so that `trajectories` trajectories' records fit `readback` bytes,
/// with room for the dispatches those samples span. At least one of each.
pub fn strides(
    trajectories: usize,
    row: usize,
    record_every: usize,
    per_dispatch: usize,
    snapshots: usize,
    samples: usize,
    readback: u64,
) -> (usize, usize) {
    let parts_for = |rs: usize| (rs * record_every).div_ceil(per_dispatch.max(1)) + 2 + snapshots;
    let bytes = |rs: usize| -> u64 {
        4 * trajectories as u64 * (rs * row + parts_for(rs) * PARTIALS) as u64
    };
    let mut rs = samples.max(1);
    while rs > 1 && bytes(rs) > readback {
        let scaled = (rs as u128 * readback as u128 / bytes(rs) as u128) as usize;
        rs = scaled.min(rs - 1).max(1);
    }
    (rs, parts_for(rs))
}

/// The compiled kernel of one shape.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
}

/// The Jiang pipelines of a [`GpuBackend`], compiled on first use for each shape.
#[derive(Default)]
pub struct Cache {
    layouts: Option<(wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    kernels: HashMap<JiangShape, Kernel>,
}

fn layouts(device: &wgpu::Device) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    super::family_layouts(
        device,
        "hebbnet.jiang",
        &[true, true, true, true, false, false, false],
        std::mem::size_of::<JiangDispatch>() as u64,
    )
}

impl GpuBackend {
    /// The Jiang kernel shape for N neurons and P patterns, or why this adapter cannot run it.
    pub fn jiang_shape(&self, neurons: usize, patterns: usize, dense: bool) -> Result<JiangShape> {
        let limit = self.limits.max_compute_workgroup_storage_size as u64;
        let shape = JiangShape::new(
            neurons,
            patterns,
            dense,
            self.limits.max_compute_invocations_per_workgroup as usize,
            limit,
        );
        if !shape.fits(limit) {
            return Err(Error::TooLarge(format!(
                "the Jiang kernel with P = {patterns} patterns needs {} bytes of workgroup \
                 memory, but {} offers {limit}; use --backend cpu",
                shape.workgroup_bytes(),
                self.summary.name
            )));
        }
        Ok(shape)
    }

    fn jiang_kernel(&mut self, shape: JiangShape) -> Result<()> {
        if self.jiang.kernels.contains_key(&shape) {
            return Ok(());
        }
        if self.jiang.layouts.is_none() {
            self.jiang.layouts = Some(layouts(&self.device));
        }
        let (_, pipeline_layout) = self.jiang.layouts.as_ref().expect("just set");
        let pipeline = super::compile_pipeline(
            &self.device,
            pipeline_layout,
            "jiang_update",
            shape.source(),
            "Jiang",
        )?;
        self.jiang.kernels.insert(shape, Kernel { pipeline });
        Ok(())
    }
}

/// Check that the batch is consistent and within the kernel's index ranges.
fn validate(batch: &Batch<'_>) -> Result<()> {
    let bad = |message: String| Err(Error::config("model", message));
    if batch.record_every == 0 {
        return bad("a Jiang batch needs record_every ≥ 1".into());
    }
    if batch.total_steps() >= u32::MAX as usize {
        return bad(format!(
            "the GPU kernel counts steps in 32 bits; {} steps are too many",
            batch.total_steps()
        ));
    }
    for (m, net) in batch.networks.iter().enumerate() {
        let c = net.couplings;
        let (n, p) = (c.neurons, c.patterns);
        if n == 0 || c.xi.len() != n * p {
            return bad(format!(
                "Jiang network {m} has {} pattern entries for N = {n}, P = {p}",
                c.xi.len()
            ));
        }
        if p > 0 && (c.block == 0 || p % c.block != 0) {
            return bad(format!(
                "Jiang network {m}: blocks of {} patterns do not divide P = {p}",
                c.block
            ));
        }
        if c.removed_diagonal.as_ref().is_some_and(|d| d.len() != n) {
            return bad(format!("Jiang network {m}: J_ii needs {n} values"));
        }
        if net.dense.is_some_and(|j| j.len() != n * n) {
            return bad(format!(
                "Jiang network {m}: a dense J needs N² = {} values",
                n * n
            ));
        }
        if c.taps.iter().any(|t| t.shift.unsigned_abs() >= 1 << 24) {
            return bad(format!("Jiang network {m}: a tap shift is beyond 2²⁴"));
        }
    }
    for (k, t) in batch.trajectories.iter().enumerate() {
        let Some(net) = batch.networks.get(t.network) else {
            return bad(format!(
                "Jiang trajectory {k} names network {} of {}",
                t.network,
                batch.networks.len()
            ));
        };
        let n = net.couplings.neurons;
        let wrong = |v: Option<&Vec<f64>>| v.is_some_and(|v| v.len() != n);
        if t.start.len() != n || wrong(t.twin.as_ref()) || wrong(t.tangent.as_ref()) {
            return bad(format!(
                "Jiang trajectory {k}: h(0), h'(0) and v(0) need N = {n} values each"
            ));
        }
    }
    Ok(())
}

/// Advance `batch` on the device (see the module doc): one [`Trace`] per trajectory, in order.
pub fn run(gpu: &mut GpuBackend, precision: Precision, batch: &Batch<'_>) -> Result<Vec<Trace>> {
    let binding = gpu
        .limits
        .max_storage_buffer_binding_size
        .min(gpu.limits.max_buffer_size);
    let limits = RunLimits {
        binding,
        readback: READBACK_BYTES.min(binding),
    };
    run_with_limits(gpu, precision, batch, limits)
}

/// [`run`] under `limits` (at most the adapter's): tests use small ones to split a batch into
/// groups and its steps into several readback chunks.
pub fn run_with_limits(
    gpu: &mut GpuBackend,
    precision: Precision,
    batch: &Batch<'_>,
    limits: RunLimits,
) -> Result<Vec<Trace>> {
    if precision != Precision::F32 {
        return Err(Error::config(
            "backend.precision",
            "the GPU backend computes Jiang networks in f32; use --backend cpu for f64 reference \
             runs",
        ));
    }
    validate(batch)?;
    if batch.trajectories.is_empty() {
        return Ok(Vec::new());
    }
    let adapter = gpu
        .limits
        .max_storage_buffer_binding_size
        .min(gpu.limits.max_buffer_size);
    let binding = limits.binding.min(adapter);
    let readback = limits.readback.min(binding);
    // One kernel per (N, P, dense): trajectories by their network's key, in first-seen order.
    let key = |net: usize| {
        let n = &batch.networks[net];
        (n.couplings.neurons, n.couplings.patterns, n.dense.is_some())
    };
    let mut keys: Vec<(usize, usize, bool)> = Vec::new();
    for t in &batch.trajectories {
        let k = key(t.network);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut out: Vec<Option<Trace>> = vec![None; batch.trajectories.len()];
    for (n, p, dense) in keys {
        let shape = gpu.jiang_shape(n, p, dense)?;
        gpu.jiang_kernel(shape)?;
        let members: Vec<usize> = (0..batch.trajectories.len())
            .filter(|&k| key(batch.trajectories[k].network) == (n, p, dense))
            .collect();
        let nets: Vec<usize> = members
            .iter()
            .map(|&k| batch.trajectories[k].network)
            .collect();
        let max_taps = nets
            .iter()
            .map(|&m| batch.networks[m].couplings.taps.len())
            .max()
            .unwrap_or(0);
        let net_bytes = nets
            .iter()
            .map(|&m| network_bytes(batch, m))
            .max()
            .unwrap_or(0);
        if net_bytes > binding {
            return Err(Error::TooLarge(format!(
                "one Jiang network (N = {n}, P = {p}{}) takes {}, more than the {} one GPU \
                 buffer binding may hold (max_storage_buffer_binding_size); use --backend cpu",
                if dense { ", dense J" } else { "" },
                memory::human(net_bytes),
                memory::human(binding)
            )));
        }
        let snapshots = snapshot_steps(batch).len();
        let state_bytes = 4 * (3 * n).max(1 + snapshots * n) as u64;
        if state_bytes > binding {
            return Err(Error::TooLarge(format!(
                "one Jiang trajectory's {snapshots} snapshots at N = {n} take {}, more than the \
                 {} one GPU buffer binding may hold (max_storage_buffer_binding_size); ask for \
                 fewer snapshot steps or use --backend cpu",
                memory::human(state_bytes),
                memory::human(binding)
            )));
        }
        let twin = members
            .iter()
            .any(|&k| batch.trajectories[k].twin.is_some());
        let tangent = members
            .iter()
            .any(|&k| batch.trajectories[k].tangent.is_some());
        let software = gpu.summary.software;
        let per_dispatch = dispatch_steps(&shape, max_taps, twin, tangent, software)?;
        let (_, parts) = strides(
            1,
            shape.row(),
            batch.record_every,
            per_dispatch,
            snapshots,
            1,
            u64::MAX,
        );
        let record_bytes = 4 * (shape.row() + parts * PARTIALS) as u64;
        let split = groups(
            &nets,
            net_bytes,
            state_bytes,
            record_bytes,
            binding,
            readback,
        )?;
        for group in split {
            let trajectories: Vec<usize> = group.trajectories.iter().map(|&j| members[j]).collect();
            let traces = run_group(
                gpu,
                shape,
                batch,
                &group.networks,
                &trajectories,
                readback,
                software,
            )?;
            for (&k, trace) in trajectories.iter().zip(traces) {
                out[k] = Some(trace);
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|t| t.expect("every trajectory is in a group"))
        .collect())
}

/// Bytes network `m` takes in its largest buffer (the data or the dense J).
fn network_bytes(batch: &Batch<'_>, m: usize) -> u64 {
    let net = &batch.networks[m];
    let c = net.couplings;
    let data = c.xi.len() + c.removed_diagonal.as_ref().map_or(0, |d| d.len()) + 2 * c.taps.len();
    let dense = net.dense.map_or(0, |j| j.len());
    4 * data.max(dense) as u64
}

/// The distinct snapshot steps ≤ T, ascending: the twin copies h(t) once at each.
fn snapshot_steps(batch: &Batch<'_>) -> Vec<usize> {
    let mut s: Vec<usize> = batch
        .snapshots
        .iter()
        .copied()
        .filter(|&t| t <= batch.total_steps())
        .collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// One group of a batch: `networks` (batch indices) uploaded, `trajectories` run.
fn run_group(
    gpu: &GpuBackend,
    shape: JiangShape,
    batch: &Batch<'_>,
    networks: &[usize],
    trajectories: &[usize],
    readback: u64,
    software: bool,
) -> Result<Vec<Trace>> {
    let (n, p) = (shape.neurons, shape.patterns);
    let row = shape.row();
    let r = trajectories.len();
    let dev = &gpu.device;
    let queue = &gpu.queue;
    let kernel = &gpu.jiang.kernels[&shape];
    let (layout, _) = gpu.jiang.layouts.as_ref().expect("compiled");
    let total = batch.total_steps();
    let snapshots = snapshot_steps(batch);
    let oom = dev.push_error_scope(wgpu::ErrorFilter::OutOfMemory);

    // Networks: data (ξ, J_ii, taps), dense J, parameters.
    let local: HashMap<usize, u32> = networks
        .iter()
        .enumerate()
        .map(|(m, &net)| (net, m as u32))
        .collect();
    let mut data: Vec<f32> = Vec::new();
    let mut dense: Vec<f32> = Vec::new();
    let mut params: Vec<NetParams> = Vec::with_capacity(networks.len());
    let mut max_taps = 0;
    for &m in networks {
        let net = &batch.networks[m];
        let c = net.couplings;
        let leak = net.leak as f32;
        let xi_base = data.len() as u32;
        data.extend(c.xi.iter().map(|&x| x as f32));
        let diag_base = match &c.removed_diagonal {
            Some(d) => {
                let at = data.len() as u32;
                data.extend(d.iter().map(|&x| x as f32));
                at
            }
            None => NONE,
        };
        let tap_base = data.len() as u32;
        for t in &c.taps {
            data.push(t.shift as f32);
            data.push(t.weight as f32);
        }
        max_taps = max_taps.max(c.taps.len());
        let dense_base = dense.len() as u32;
        if let Some(j) = net.dense {
            dense.extend(j.iter().map(|&x| x as f32));
        }
        params.push(NetParams {
            leak,
            keep: 1.0 - leak,
            scale: c.scale as f32,
            block: c.block.max(1) as u32,
            open_chain: c.open_chain as u32,
            taps: c.taps.len() as u32,
            tap_base,
            xi_base,
            diag_base,
            dense_base,
            _pad: [0; 2],
        });
    }
    if data.is_empty() {
        data.push(0.0);
    }
    if dense.is_empty() {
        dense.push(0.0);
    }

    // Trajectories: parameters and h, h', v.
    let mut trajs = Vec::with_capacity(r);
    let mut states: Vec<f32> = Vec::with_capacity(r * 3 * n);
    let (mut any_twin, mut any_tangent) = (false, false);
    for &k in trajectories {
        let t = &batch.trajectories[k];
        let flags =
            (t.twin.is_some() as u32 * HAS_TWIN) | (t.tangent.is_some() as u32 * HAS_TANGENT);
        any_twin |= t.twin.is_some();
        any_tangent |= t.tangent.is_some();
        trajs.push(TrajParams {
            network: local[&t.network],
            flags,
            _pad: [0; 2],
        });
        states.extend(t.start.iter().map(|&x| x as f32));
        for v in [&t.twin, &t.tangent] {
            match v {
                Some(v) => states.extend(v.iter().map(|&x| x as f32)),
                None => states.extend(std::iter::repeat_n(0.0f32, n)),
            }
        }
    }

    // Dispatches and chunks.
    let per_dispatch = dispatch_steps(&shape, max_taps, any_twin, any_tangent, software)?;
    let (rec_stride, part_stride) = strides(
        r,
        row,
        batch.record_every,
        per_dispatch,
        snapshots.len(),
        batch.samples(),
        readback,
    );
    let chunks = plan(
        total,
        batch.record_every,
        &snapshots,
        per_dispatch,
        rec_stride,
        part_stride,
    );
    let part_base = r * rec_stride * row;
    let chunk_floats = part_base + r * part_stride * PARTIALS;
    let out_stride = 1 + snapshots.len() * n;
    let run_params = RunParams {
        total: total as u32,
        transient: batch.transient as u32,
        record_every: batch.record_every as u32,
        rec_stride: rec_stride as u32,
        part_stride: part_stride as u32,
        part_base: part_base as u32,
        out_stride: out_stride as u32,
        _pad: 0,
    };
    let mut header: Vec<u8> = bytemuck::bytes_of(&run_params).to_vec();
    header.extend_from_slice(bytemuck::cast_slice(&params));

    let read_only = |label: &str, contents: &[u8]| {
        dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let trajs_buf = read_only("jiang.trajectories", bytemuck::cast_slice(&trajs));
    let header_buf = read_only("jiang.networks", &header);
    let data_buf = read_only("jiang.data", bytemuck::cast_slice(&data));
    drop(data);
    let dense_buf = read_only("jiang.dense", bytemuck::cast_slice(&dense));
    drop(dense);
    let states_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("jiang.states"),
        contents: bytemuck::cast_slice(&states),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let writable = |label: &str, bytes: u64| {
        dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    };
    let chunk_bytes = 4 * chunk_floats as u64;
    let chunk_buf = writable("jiang.chunk", chunk_bytes);
    let out_bytes = 4 * (r * out_stride) as u64;
    let out_buf = writable("jiang.out", out_bytes);
    let chunk_staging = [0, 1].map(|_| staging(dev, "jiang.readback", chunk_bytes));
    let state_bytes = 4 * (r * 3 * n) as u64;
    let state_staging = staging(dev, "jiang.state_readback", state_bytes);
    let out_staging = staging(dev, "jiang.out_readback", out_bytes);
    if let Some(e) = pollster::block_on(oom.pop()) {
        return Err(Error::Gpu(format!(
            "the GPU ran out of memory allocating a Jiang batch of {r} trajectories at N = {n} \
             ({e}); run fewer trajectories per batch"
        )));
    }

    let grid = gpu.grid(r as u64);
    let align = gpu.limits.min_uniform_buffer_offset_alignment.max(32) as usize;
    let encode = |encoder: &mut wgpu::CommandEncoder, list: &[JiangDispatch]| {
        if list.is_empty() {
            return;
        }
        let list: Vec<JiangDispatch> = list
            .iter()
            .map(|d| JiangDispatch {
                trajectories: r as u32,
                grid_x: grid.0,
                ..*d
            })
            .collect();
        let table = dispatch_table(dev, "jiang.dispatch_table", &list, align);
        let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("hebbnet.jiang"),
            layout,
            entries: &[
                entry(0, &trajs_buf),
                entry(1, &header_buf),
                entry(2, &data_buf),
                entry(3, &dense_buf),
                entry(4, &states_buf),
                entry(5, &chunk_buf),
                entry(6, &out_buf),
                dispatch_table_entry(7, &table),
            ],
        });
        dispatch_each(
            encoder,
            &kernel.pipeline,
            &bind_group,
            list.len(),
            align,
            grid,
        );
    };
    let submit = |encoder: wgpu::CommandEncoder| submit(dev, queue, encoder);

    let samples = batch.samples();
    let mut traces: Vec<Trace> = trajectories
        .iter()
        .map(|&k| Trace {
            overlaps: Vec::with_capacity(samples * p),
            measures: Vec::with_capacity(samples * MEASURES),
            log_growth: if batch.trajectories[k].tangent.is_some() {
                0.0
            } else {
                f64::NAN
            },
            ..Trace::default()
        })
        .collect();
    let twins: Vec<bool> = trajectories
        .iter()
        .map(|&k| batch.trajectories[k].twin.is_some())
        .collect();
    let nf = n as f64;
    let inv_n = 1.0 / nf;
    // Unpack chunk `c` from its staging buffer: the twin's f64 formulas on the f32 sums.
    let unpack = |traces: &mut [Trace], c: usize| -> Result<()> {
        let plan = &chunks[c];
        let bytes = read_buffer(dev, &chunk_staging[c % 2], chunk_bytes)?;
        let all: &[f32] = bytemuck::cast_slice(&bytes);
        for (j, trace) in traces.iter_mut().enumerate() {
            for s in 0..plan.samples {
                let at = (j * rec_stride + s) * row;
                let y = &all[at..at + row];
                trace
                    .overlaps
                    .extend(y[..p].iter().map(|&m| m as f64 * inv_n));
                let mean = y[p] as f64 / nf;
                let square = y[p + 1] as f64 / nf;
                let distance = if twins[j] {
                    (y[p + 4] as f64 / nf).sqrt()
                } else {
                    f64::NAN
                };
                trace.measures.extend([
                    square.sqrt(),
                    square - mean * mean,
                    y[p + 2] as f64 / nf,
                    y[p + 3] as f64 / nf,
                    distance,
                ]);
            }
            for d in 0..plan.dispatches.len() {
                let at = part_base + (j * part_stride + d) * PARTIALS;
                let w = &all[at..at + PARTIALS];
                for (m, &x) in trace.window_means.iter_mut().zip(w) {
                    *m += x as f64;
                }
                if !trace.log_growth.is_nan() {
                    trace.log_growth += w[3] as f64;
                }
            }
        }
        Ok(())
    };

    let mut pending: Option<usize> = None;
    for (c, chunk) in chunks.iter().enumerate() {
        let mut encoder = dev.create_command_encoder(&Default::default());
        encode(&mut encoder, &chunk.dispatches);
        encoder.copy_buffer_to_buffer(&chunk_buf, 0, &chunk_staging[c % 2], 0, chunk_bytes);
        submit(encoder)?;
        // The GPU runs chunk c while the CPU unpacks chunk c − 1.
        if let Some(prev) = pending.take() {
            unpack(&mut traces, prev)?;
        }
        pending = Some(c);
    }
    let mut encoder = dev.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(&states_buf, 0, &state_staging, 0, state_bytes);
    encoder.copy_buffer_to_buffer(&out_buf, 0, &out_staging, 0, out_bytes);
    submit(encoder)?;
    if let Some(prev) = pending {
        unpack(&mut traces, prev)?;
    }
    let state_words = read_buffer(dev, &state_staging, state_bytes)?;
    let states: &[f32] = bytemuck::cast_slice(&state_words);
    let out_words = read_buffer(dev, &out_staging, out_bytes)?;
    let outs: &[f32] = bytemuck::cast_slice(&out_words);
    for (j, trace) in traces.iter_mut().enumerate() {
        if batch.window > 0 {
            let w = batch.window as f64;
            trace.window_means.iter_mut().for_each(|m| *m /= w);
        }
        let o = &outs[j * out_stride..(j + 1) * out_stride];
        trace.speed = (o[0] as f64 / nf).sqrt();
        trace.snapshots = (0..snapshots.len())
            .map(|s| {
                o[1 + s * n..1 + (s + 1) * n]
                    .iter()
                    .map(|&x| x as f64)
                    .collect()
            })
            .collect();
        trace.state = states[j * 3 * n..j * 3 * n + n]
            .iter()
            .map(|&x| x as f64)
            .collect();
    }
    Ok(traces)
}

#[cfg(test)]
mod tests;
