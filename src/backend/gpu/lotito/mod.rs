//! The Lotito family's GPU kernel (src/model/lotito; `shaders/lotito_update.wgsl`): the twin of
//! [`crate::model::lotito::dynamics`] (its module doc gives the step order both follow).
//!
//! **Layout.** Per replica, one `data` buffer holds its targets (slots × N_v), Λ when present,
//! its fixed points (sets × N_h × N_v) and decay directions (N_h × N_v), f32, row-major; a
//! `presented` buffer its T slots (u32); a [`LotitoParams`] record its β, τ, σ_f, switch step,
//! noise key and counter words and the offsets into those buffers, so replicas of a batch may
//! differ in every parameter. N_v, N_h and the softmax argument are compile-time constants of
//! the kernel (one [`LotitoShape`] per batch). Ξ lives in an `xi` buffer (N_h × N_v per
//! replica) on the device for the whole run, next to the statistics (max w, H) of the last
//! update (a 2-float `stats` buffer, NaN before the first update); only recorded samples come
//! back during the run, and Ξ(T) at the end.
//!
//! **One workgroup per replica, the time loop in the shader.** Thread `lid` owns the columns
//! `i = lid + k·WG` (RPT = ⌈N_v/WG⌉ of them) of every memory and of v: it computes its v_i
//! (target plus the Philox normal of `bms_common.wgsl`, the twin of
//! [`crate::model::bms::noise`], counter `(t, i, 0, replica)`), its partial sums and its part
//! of the update, so Ξ itself needs no barrier, and all reads of Ξ, targets, Λ and fixed
//! points are coalesced (consecutive threads, consecutive words). WG is 64 up to N_v = 64 (the
//! Figure 1 case, N_v = 50, has one column per thread) and 256 above. When N_h·N_v ≤
//! [`RESIDENT_FLOATS`] (16 KB) and the workgroup memory allows, Ξ is copied to workgroup memory
//! at the start of a dispatch and back at its end, so the steps read and write it on-chip;
//! larger Ξ (e.g. N_v = 3000) is read and written in the storage buffer in place.
//!
//! **Reductions.** Each sum over i (the scores Ξ_μ·v, with `"gradient"` also |Ξ_μ − Λ_μ|²; at
//! recorded steps the N_h² Gram, N_h² cross and N_h decay products) is a row: every thread
//! writes its partial sums of TM rows at once to `red[row][lid]`, then a fan-in-8 tree
//! (64 → 8 → 1, 256 → 32 → 4 → 1; one barrier per pass, the 8 adds written out) leaves the row
//! sums in workgroup memory (scores) or writes them straight into the readback chunk (records).
//! TM is all the rows when they fit ([`LotitoShape::new`]: 36 at Figure 1, 16 KB of tile at
//! most), so a Figure 1 step takes three barriers (scores, softmax) and a recorded one three
//! more; N_h = 70 takes 155 tiles per record. Thread 0 then takes the softmax (N_h is small)
//! and leaves `w_μ/τ` in workgroup memory for the update.
//!
//! **Numerics.** The step order, the max subtraction, `x_μ = β(S_μ − max S)`, Z summed in
//! ascending μ, `w = e^x / Z` then `w/τ` (two divisions, as the twin), `H = Σ w (ln Z − x)`,
//! the argmax on the first largest score, the skipped noise term when σ_f = 0 and the skipped
//! row when `w_μ/τ = 0` all follow the twin. What differs: the order of the sums over i (a
//! tree here, 8 interleaved partial sums there), the driver's `exp`/`log` and Box–Muller in f32
//! (a few ulps), and possible fused multiply-adds. Each step therefore differs by a few 1e-7
//! relative; β amplifies score differences into the weights (β·S ≈ 100 in Figure 1: 1e-5
//! relative), and the update contracts Ξ towards its targets, so the differences do not grow:
//! tests/lotito_gpu.rs measures at most 8e-6 (score, argmax) and 7e-5 (gradient, whose score
//! cancels two O(N_v) terms) relative over 300 steps.
//!
//! **Dispatches and the loop budget.** lavapipe silently ends an invocation's loops after
//! 65,535 back-edges; [`LotitoShape::backedges_per_step`] counts every loop of a recorded step
//! as written in the shader (no unrolling assumed) and a dispatch takes as many steps as fit
//! within [`BACKEDGE_BUDGET`] (half the cap): 174 steps at Figure 1 (N_v = 50, N_h = 4), so
//! T = 2000 takes 12 dispatches; one step at N_h = 70, N_v = 20 (the records dominate). When
//! not even one step fits (N_h² rows of a record times RPT: e.g. N_h = 256, N_v = 65,536), a
//! software adapter refuses the run ([`dispatch_steps`]) and a hardware GPU runs one step per
//! dispatch. Dispatches also break at readback-chunk ends (the Jiang kernel's [`plan`]).
//!
//! **Readback.** Records (`2N_h² + N_h + 2` f32 per sample: Gram, cross, decay, statistics)
//! of a chunk of samples are copied to one of two staging buffers; the GPU runs chunk c + 1
//! while the CPU unpacks chunk c ([`READBACK_BYTES`] per chunk at most).
//!
//! **Capacity.** Replicas are run in groups whose data, Ξ and presented slots each fit one
//! storage binding (`max_storage_buffer_binding_size`) and whose one-sample records fit the
//! readback chunk; one replica that alone does not fit is refused with [`Error::TooLarge`].
//! Workgroup memory: `4 (TM·WG + 3 N_h + N_h·N_v if resident)` bytes, within 32 KiB (or the
//! adapter's limit); above N_h ≈ 2,700 not even one tile row fits and the shape is refused.
//!
//! **Throughput** (`figure_1_throughput` in tests/lotito_gpu.rs, `--ignored`; lavapipe on the
//! 2-core build machine, opt-level 2): Figure 1 with 1024 replicas, 200 steps: recording every
//! step 3.9·10³ replica-steps/s, every 10th 1.2·10⁴; the f32 CPU twin 2.9·10⁵ and 1.2·10⁶ on
//! the same 2 cores. A software rasteriser runs each of the 64 threads of a workgroup (and each
//! barrier) serially, so on CI the kernel is for checking, not speed. Not measured on a real
//! GPU yet. Reasoned for one: 1024 replicas are 1024 workgroups of 64 threads (65,536 threads,
//! a quarter of an H100/H200's resident capacity), every step's data is on-chip (Ξ in
//! workgroup memory, the target read from L2), and a step is a handful of barriers, so the
//! step latency, not bandwidth, bounds it; several replicas per workgroup (N_v = 50 leaves 14 of
//! 64 threads idle) was not done, as it would complicate the reductions for a < 30 % gain.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

pub use super::bms::RunLimits;
use super::jiang::plan;
use crate::backend::gpu::{
    dispatch_each, dispatch_table, dispatch_table_entry, entry, read_buffer, staging, submit,
    GpuBackend, BACKEDGE_BUDGET,
};
use crate::config::{Precision, SoftmaxArgument};
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::model::lotito::{Batch, Trace, SOFTMAX_STATS};

const PHILOX: &str = include_str!("../../../../shaders/bms_common.wgsl");
const UPDATE: &str = include_str!("../../../../shaders/lotito_update.wgsl");

/// Bytes of one chunk's records (every replica's samples) read back at once.
pub const READBACK_BYTES: u64 = 64 << 20;
/// Workgroup memory the kernel aims to stay within (or the adapter's limit, when smaller).
pub const WORKGROUP_TARGET: u64 = 32 << 10;
/// Ξ is kept in workgroup memory during a dispatch when it has at most this many floats.
pub const RESIDENT_FLOATS: usize = 4096;
/// Workgroup memory of the reduction tile at most (rows × threads × 4 bytes).
const TILE_BYTES: u64 = 16 << 10;
/// Reduction fan-in per pass (`FAN` in the shader).
const FAN: u64 = 8;
const NONE: u32 = u32::MAX;

/// Per-replica parameters as the shader reads them (`LotitoParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct LotitoParams {
    pub beta: f32,
    pub tau: f32,
    pub sigma: f32,
    pub noisy: u32,
    pub switch_step: u32,
    pub key0: u32,
    pub key1: u32,
    pub stream: u32,
    pub replica: u32,
    pub targets: u32,
    pub bias: u32,
    pub fixed: u32,
    pub directions: u32,
    pub presented: u32,
    pub _pad: [u32; 2],
}

/// One dispatch's parameters (`LotitoDispatch`), bound with a dynamic offset.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct LotitoDispatch {
    pub t0: u32,
    pub steps: u32,
    pub rec_first: u32,
    pub rec_stride: u32,
    pub replicas: u32,
    pub grid_x: u32,
    pub total: u32,
    pub record_every: u32,
}

/// The constants one kernel compiles in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LotitoShape {
    /// N_v.
    pub visible: usize,
    /// N_h.
    pub hidden: usize,
    pub softmax: SoftmaxArgument,
    /// Threads per workgroup (64 or 256).
    pub workgroup: usize,
    /// Columns per thread, ⌈N_v / WG⌉.
    pub rows_per_thread: usize,
    /// Rows of one reduction tile (TM); 0 when not even one fits the workgroup memory.
    pub tile_rows: usize,
    /// Ξ in workgroup memory during a dispatch.
    pub resident: bool,
}

impl std::hash::Hash for LotitoShape {
    fn hash<S: std::hash::Hasher>(&self, state: &mut S) {
        (self.visible, self.hidden, self.softmax as u8).hash(state);
        (self.workgroup, self.rows_per_thread, self.tile_rows).hash(state);
        self.resident.hash(state);
    }
}

impl LotitoShape {
    /// The shape for N_v, N_h on an adapter with `max_invocations` threads per workgroup, within
    /// `workgroup_limit` bytes of workgroup memory (capped at [`WORKGROUP_TARGET`]).
    /// [`LotitoShape::fits`] says whether it fits at all.
    pub fn new(
        visible: usize,
        hidden: usize,
        softmax: SoftmaxArgument,
        max_invocations: usize,
        workgroup_limit: u64,
    ) -> LotitoShape {
        let wanted = if visible <= 64 { 64 } else { 256 };
        let cap = 1usize << max_invocations.max(1).ilog2();
        let workgroup = wanted.min(cap);
        let budget = workgroup_limit.min(WORKGROUP_TARGET);
        let mut shape = LotitoShape {
            visible,
            hidden,
            softmax,
            workgroup,
            rows_per_thread: visible.div_ceil(workgroup).max(1),
            tile_rows: 0,
            resident: hidden * visible <= RESIDENT_FLOATS,
        };
        let rows = shape.stats_row().max(shape.score_rows());
        let tile_cap = (TILE_BYTES / (4 * workgroup as u64)).max(1) as usize;
        let room =
            |s: &LotitoShape| budget.saturating_sub(s.fixed_bytes()) / (4 * workgroup as u64);
        if shape.resident && room(&shape) == 0 {
            shape.resident = false;
        }
        shape.tile_rows = rows.min(tile_cap).min(room(&shape) as usize);
        shape
    }

    /// Rows of the record sums: Gram, cross, decay (the statistics' offset in a record).
    fn stats_row(&self) -> usize {
        2 * self.hidden * self.hidden + self.hidden
    }

    /// Floats of one record.
    pub fn row(&self) -> usize {
        self.stats_row() + SOFTMAX_STATS
    }

    /// Rows of the score sums.
    fn score_rows(&self) -> usize {
        if self.softmax == SoftmaxArgument::Gradient {
            2 * self.hidden
        } else {
            self.hidden
        }
    }

    /// Size of the workgroup copy of Ξ (`XS`).
    fn xs(&self) -> usize {
        if self.resident {
            self.hidden * self.visible
        } else {
            1
        }
    }

    /// Workgroup memory besides the reduction tile: y, coef, Ξ.
    fn fixed_bytes(&self) -> u64 {
        4 * (3 * self.hidden + self.xs()) as u64
    }

    /// Workgroup memory the kernel declares.
    pub fn workgroup_bytes(&self) -> u64 {
        self.fixed_bytes() + 4 * (self.tile_rows * self.workgroup) as u64
    }

    /// Whether the kernel fits `limit` bytes of workgroup memory.
    pub fn fits(&self, limit: u64) -> bool {
        self.tile_rows > 0 && self.workgroup_bytes() <= limit
    }

    /// WGSL source of `lotito_update` with this shape's constants.
    pub fn source(&self) -> String {
        format!(
            "const NV: u32 = {}u;\nconst H: u32 = {}u;\nconst WG: u32 = {}u;\n\
             const RPT: u32 = {}u;\nconst TM: u32 = {}u;\nconst RESIDENT: bool = {};\n\
             const XS: u32 = {}u;\nconst GRADIENT: bool = {};\nconst ARGMAX: bool = {};\n\
             {PHILOX}\n{UPDATE}",
            self.visible,
            self.hidden,
            self.workgroup,
            self.rows_per_thread,
            self.tile_rows.max(1),
            self.resident,
            self.xs(),
            self.softmax == SoftmaxArgument::Gradient,
            self.softmax == SoftmaxArgument::Argmax,
        )
    }

    /// Back-edges of `reduce` over `rows` rows.
    fn reduce_backedges(&self, rows: u64) -> u64 {
        let wg = self.workgroup as u64;
        let mut w = wg;
        let mut count = 0;
        loop {
            let f = FAN.min(w);
            let nw = w / f;
            let inner = if f == FAN { 0 } else { f };
            count += 1 + (rows * nw).div_ceil(wg) * (1 + inner);
            w = nw;
            if w <= 1 {
                return count;
            }
        }
    }

    /// Back-edges of `project` over `rows` rows.
    fn project_backedges(&self, rows: u64) -> u64 {
        let tm = self.tile_rows.max(1) as u64;
        let rpt = self.rows_per_thread as u64;
        rows.div_ceil(tm) * (1 + tm * (1 + rpt) + self.reduce_backedges(tm))
    }

    /// Loop back-edges of one invocation in the worst step (recorded), counted as if the
    /// compiler unrolled nothing: the time loop, the record's projection, v, the scores'
    /// projection, thread 0's softmax loops and the update. The Philox rounds are written out.
    pub fn backedges_per_step(&self) -> u64 {
        let (h, rpt) = (self.hidden as u64, self.rows_per_thread as u64);
        1 + self.project_backedges(self.stats_row() as u64)
            + rpt
            + self.project_backedges(self.score_rows() as u64)
            + 4 * h
            + h * (1 + rpt)
    }

    /// Back-edges outside the time loop: loading and storing a resident Ξ.
    pub fn setup_backedges(&self) -> u64 {
        2 * self.hidden as u64 * (1 + self.rows_per_thread as u64)
    }

    /// Steps one dispatch may advance within [`BACKEDGE_BUDGET`]; 0 if not even one fits.
    pub fn steps_per_dispatch(&self) -> u64 {
        BACKEDGE_BUDGET.saturating_sub(self.setup_backedges()) / self.backedges_per_step()
    }
}

/// Steps per dispatch for `shape`: as many as fit [`BACKEDGE_BUDGET`]. When not even one step
/// fits, a `software` adapter (lavapipe, whose loops silently stop past 65,535 back-edges)
/// refuses the run; a hardware adapter, which has no such cap, runs one step per dispatch.
pub fn dispatch_steps(shape: &LotitoShape, software: bool) -> Result<usize> {
    match shape.steps_per_dispatch() {
        0 if software => Err(Error::TooLarge(format!(
            "the Lotito kernel at N_v = {}, N_h = {} needs {} loop iterations per step in one \
             shader invocation, above the {BACKEDGE_BUDGET} that keeps a dispatch safe from the \
             silent loop cap of this software adapter (lavapipe); use --backend cpu, or a \
             hardware GPU",
            shape.visible,
            shape.hidden,
            shape.backedges_per_step()
        ))),
        0 => Ok(1),
        steps => Ok(steps as usize),
    }
}

/// The compiled kernel of one shape.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
}

/// The Lotito pipelines of a [`GpuBackend`], compiled on first use for each shape.
#[derive(Default)]
pub struct Cache {
    layouts: Option<(wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    kernels: HashMap<LotitoShape, Kernel>,
}

fn layouts(device: &wgpu::Device) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    super::family_layouts(
        device,
        "hebbnet.lotito",
        &[true, true, true, false, false, false],
        std::mem::size_of::<LotitoDispatch>() as u64,
    )
}

impl GpuBackend {
    /// The Lotito kernel shape for `batch`, or why this adapter cannot run it.
    pub fn lotito_shape(
        &self,
        visible: usize,
        hidden: usize,
        softmax: SoftmaxArgument,
    ) -> Result<LotitoShape> {
        let limit = self.limits.max_compute_workgroup_storage_size as u64;
        let shape = LotitoShape::new(
            visible,
            hidden,
            softmax,
            self.limits.max_compute_invocations_per_workgroup as usize,
            limit,
        );
        if !shape.fits(limit) {
            return Err(Error::TooLarge(format!(
                "the Lotito kernel with N_h = {hidden} memories needs more than the {limit} bytes \
                 of workgroup memory {} offers; use --backend cpu",
                self.summary.name
            )));
        }
        Ok(shape)
    }

    fn lotito_kernel(&mut self, shape: LotitoShape) -> Result<()> {
        if self.lotito.kernels.contains_key(&shape) {
            return Ok(());
        }
        if self.lotito.layouts.is_none() {
            self.lotito.layouts = Some(layouts(&self.device));
        }
        let (_, pipeline_layout) = self.lotito.layouts.as_ref().expect("just set");
        let pipeline = super::compile_pipeline(
            &self.device,
            pipeline_layout,
            "lotito_update",
            shape.source(),
            "Lotito",
        )?;
        self.lotito.kernels.insert(shape, Kernel { pipeline });
        Ok(())
    }
}

/// Check that the batch is consistent and within the kernel's index ranges.
fn validate(batch: &Batch) -> Result<()> {
    let bad = |message: String| Err(Error::config("model", message));
    let (h, n, steps) = (batch.hidden, batch.visible, batch.steps);
    if batch.record_every == 0 {
        return bad("a Lotito batch needs record_every ≥ 1".into());
    }
    if h == 0 || n == 0 {
        return bad(format!("a Lotito batch needs N_h, N_v ≥ 1 (got {h}, {n})"));
    }
    if steps >= u32::MAX as usize {
        return bad(format!(
            "the GPU kernel counts steps in 32 bits; {steps} steps are too many"
        ));
    }
    let hn = h * n;
    for (k, r) in batch.replicas.iter().enumerate() {
        let slots = r.targets.len() / n;
        let sets = r.fixed_points.len() / hn;
        let wrong = r.initial.len() != hn
            || r.decay_directions.len() != hn
            || r.bias.as_ref().is_some_and(|b| b.len() != hn)
            || slots == 0
            || r.targets.len() != slots * n
            || sets == 0
            || r.fixed_points.len() != sets * hn
            || (sets < 2 && (r.switch_step as usize) <= steps)
            || r.presented.len() < steps
            || r.presented[..steps].iter().any(|&s| s as usize >= slots);
        if wrong {
            return bad(format!(
                "Lotito replica {k} does not match N_h = {h}, N_v = {n}, T = {steps}: Ξ(0), Λ \
                 and d need N_h·N_v values, targets whole slots, fixed points whole sets (two \
                 when switching at step {} ≤ T), and T presented slots below {slots}",
                r.switch_step
            ));
        }
    }
    Ok(())
}

/// Advance `batch` on the device (see the module doc): one [`Trace`] per replica, in order.
pub fn run(gpu: &mut GpuBackend, precision: Precision, batch: &Batch) -> Result<Vec<Trace>> {
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

/// Floats of replica `r`'s data: targets, Λ, fixed points, decay directions.
fn data_floats(r: &crate::model::lotito::Replica) -> usize {
    r.targets.len()
        + r.bias.as_ref().map_or(0, |b| b.len())
        + r.fixed_points.len()
        + r.decay_directions.len()
}

/// [`run`] under `limits` (at most the adapter's): tests use small ones to split a batch into
/// groups and its steps into several readback chunks.
pub fn run_with_limits(
    gpu: &mut GpuBackend,
    precision: Precision,
    batch: &Batch,
    limits: RunLimits,
) -> Result<Vec<Trace>> {
    if precision != Precision::F32 {
        return Err(Error::config(
            "backend.precision",
            "the GPU backend computes Lotito memories in f32; use --backend cpu for f64 \
             reference runs",
        ));
    }
    validate(batch)?;
    if batch.replicas.is_empty() {
        return Ok(Vec::new());
    }
    let adapter = gpu
        .limits
        .max_storage_buffer_binding_size
        .min(gpu.limits.max_buffer_size);
    let binding = limits.binding.min(adapter);
    let readback = limits.readback.min(binding);
    let shape = gpu.lotito_shape(batch.visible, batch.hidden, batch.softmax)?;
    gpu.lotito_kernel(shape)?;
    let per_dispatch = dispatch_steps(&shape, gpu.summary.software)?;

    // Groups of replicas whose buffers fit one binding each and whose one-sample records fit
    // the readback chunk.
    let xi_bytes = 4 * (batch.hidden * batch.visible) as u64;
    let presented_bytes = 4 * batch.steps.max(1) as u64;
    let record_bytes = 4 * shape.row() as u64;
    let mut split: Vec<Vec<usize>> = Vec::new();
    let (mut data, mut count) = (0u64, 0u64);
    for (k, r) in batch.replicas.iter().enumerate() {
        let bytes = 4 * data_floats(r) as u64;
        let one = [bytes, xi_bytes, presented_bytes];
        if one.iter().any(|&b| b > binding) || record_bytes > readback {
            let what = one.iter().copied().chain([record_bytes]).max().unwrap_or(0);
            return Err(Error::TooLarge(format!(
                "one Lotito replica (N_h = {}, N_v = {}, T = {}) needs {} in one GPU buffer, more \
                 than the {} one binding may hold (max_storage_buffer_binding_size); use \
                 --backend cpu",
                batch.hidden,
                batch.visible,
                batch.steps,
                memory::human(what),
                memory::human(binding.min(readback))
            )));
        }
        let fits = count > 0
            && data + bytes <= binding
            && (count + 1) * xi_bytes.max(presented_bytes) <= binding
            && (count + 1) * record_bytes <= readback;
        if fits {
            split.last_mut().expect("a group").push(k);
            data += bytes;
            count += 1;
        } else {
            split.push(vec![k]);
            data = bytes;
            count = 1;
        }
    }
    let mut out = Vec::with_capacity(batch.replicas.len());
    for group in split {
        out.extend(run_group(
            gpu,
            shape,
            batch,
            &group,
            per_dispatch,
            readback,
        )?);
    }
    Ok(out)
}

/// One group of a batch: replicas `members` (batch indices).
fn run_group(
    gpu: &GpuBackend,
    shape: LotitoShape,
    batch: &Batch,
    members: &[usize],
    per_dispatch: usize,
    readback: u64,
) -> Result<Vec<Trace>> {
    let (h, n, steps, k) = (batch.hidden, batch.visible, batch.steps, batch.record_every);
    let hn = h * n;
    let row = shape.row();
    let r = members.len();
    let dev = &gpu.device;
    let queue = &gpu.queue;
    let kernel = &gpu.lotito.kernels[&shape];
    let (layout, _) = gpu.lotito.layouts.as_ref().expect("compiled");
    let oom = dev.push_error_scope(wgpu::ErrorFilter::OutOfMemory);

    // Replicas: parameters, data, presented slots, Ξ(0), statistics.
    let mut params = Vec::with_capacity(r);
    let mut data: Vec<f32> = Vec::new();
    let mut presented: Vec<u32> = Vec::with_capacity(r * steps);
    let mut xi: Vec<f32> = Vec::with_capacity(r * hn);
    let f32s = |data: &mut Vec<f32>, x: &[f64]| -> u32 {
        let at = data.len() as u32;
        data.extend(x.iter().map(|&v| v as f32));
        at
    };
    for &m in members {
        let rep = &batch.replicas[m];
        let targets = f32s(&mut data, &rep.targets);
        let bias = match &rep.bias {
            Some(b) => f32s(&mut data, b),
            None => NONE,
        };
        let fixed = f32s(&mut data, &rep.fixed_points);
        let directions = f32s(&mut data, &rep.decay_directions);
        let key = rep.noise.key();
        params.push(LotitoParams {
            beta: rep.inverse_temperature as f32,
            tau: rep.memory_time as f32,
            sigma: rep.fresh_noise as f32,
            noisy: u32::from(rep.fresh_noise != 0.0),
            switch_step: rep.switch_step,
            key0: key[0],
            key1: key[1],
            stream: rep.noise.stream,
            replica: rep.noise.replica as u32,
            targets,
            bias,
            fixed,
            directions,
            presented: presented.len() as u32,
            _pad: [0; 2],
        });
        presented.extend_from_slice(&rep.presented[..steps]);
        xi.extend(rep.initial.iter().map(|&x| x as f32));
    }
    if data.is_empty() {
        data.push(0.0);
    }
    if presented.is_empty() {
        presented.push(0);
    }
    let stats = vec![f32::NAN; 2 * r];

    // Chunks of samples, dispatches within them.
    let samples = batch.samples();
    let rec_stride = ((readback / (4 * (r * row) as u64)).max(1) as usize).min(samples);
    let chunks = plan(steps, k, &[], per_dispatch, rec_stride, usize::MAX);
    let chunk_bytes = 4 * (r * rec_stride * row) as u64;

    let read_only = |label: &str, contents: &[u8]| {
        dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let params_buf = read_only("lotito.params", bytemuck::cast_slice(&params));
    let data_buf = read_only("lotito.data", bytemuck::cast_slice(&data));
    drop(data);
    let presented_buf = read_only("lotito.presented", bytemuck::cast_slice(&presented));
    drop(presented);
    let xi_bytes = 4 * (r * hn) as u64;
    let xi_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("lotito.xi"),
        contents: bytemuck::cast_slice(&xi),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    drop(xi);
    let stats_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("lotito.stats"),
        contents: bytemuck::cast_slice(&stats),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let chunk_buf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: Some("lotito.chunk"),
        size: chunk_bytes.max(4),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let chunk_staging = [0, 1].map(|_| staging(dev, "lotito.readback", chunk_bytes));
    let xi_staging = staging(dev, "lotito.xi_readback", xi_bytes);
    if let Some(e) = pollster::block_on(oom.pop()) {
        return Err(Error::Gpu(format!(
            "the GPU ran out of memory allocating a Lotito batch of {r} replicas at N_h = {h}, \
             N_v = {n} ({e}); run fewer replicas per batch"
        )));
    }

    let grid = gpu.grid(r as u64);
    let align = gpu.limits.min_uniform_buffer_offset_alignment.max(32) as usize;
    let encode = |encoder: &mut wgpu::CommandEncoder, list: &[LotitoDispatch]| {
        if list.is_empty() {
            return;
        }
        let table = dispatch_table(dev, "lotito.dispatch_table", list, align);
        let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("hebbnet.lotito"),
            layout,
            entries: &[
                entry(0, &params_buf),
                entry(1, &data_buf),
                entry(2, &presented_buf),
                entry(3, &xi_buf),
                entry(4, &stats_buf),
                entry(5, &chunk_buf),
                dispatch_table_entry(6, &table),
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

    let mut traces: Vec<Trace> = (0..r)
        .map(|_| Trace {
            gram: Vec::with_capacity(samples * h * h),
            cross: Vec::with_capacity(samples * h * h),
            decay: Vec::with_capacity(samples * h),
            softmax: Vec::with_capacity(samples * SOFTMAX_STATS),
            memories: Vec::new(),
        })
        .collect();
    let hh = h * h;
    // Unpack chunk `c` from its staging buffer.
    let unpack = |traces: &mut [Trace], c: usize| -> Result<()> {
        let bytes = read_buffer(dev, &chunk_staging[c % 2], chunk_bytes)?;
        let all: &[f32] = bytemuck::cast_slice(&bytes);
        for (j, trace) in traces.iter_mut().enumerate() {
            for s in 0..chunks[c].samples {
                let at = (j * rec_stride + s) * row;
                let y = &all[at..at + row];
                let wide = |x: &[f32]| x.iter().map(|&v| v as f64).collect::<Vec<_>>();
                trace.gram.extend(wide(&y[..hh]));
                trace.cross.extend(wide(&y[hh..2 * hh]));
                trace.decay.extend(wide(&y[2 * hh..2 * hh + h]));
                trace.softmax.extend(wide(&y[2 * hh + h..]));
            }
        }
        Ok(())
    };

    let mut pending: Option<usize> = None;
    for (c, chunk) in chunks.iter().enumerate() {
        let list: Vec<LotitoDispatch> = chunk
            .dispatches
            .iter()
            .map(|d| LotitoDispatch {
                t0: d.t0,
                steps: d.steps,
                rec_first: d.rec_first,
                rec_stride: rec_stride as u32,
                replicas: r as u32,
                grid_x: grid.0,
                total: steps as u32,
                record_every: k as u32,
            })
            .collect();
        let mut encoder = dev.create_command_encoder(&Default::default());
        encode(&mut encoder, &list);
        encoder.copy_buffer_to_buffer(&chunk_buf, 0, &chunk_staging[c % 2], 0, chunk_bytes);
        submit(encoder)?;
        // The GPU runs chunk c while the CPU unpacks chunk c − 1.
        if let Some(prev) = pending.take() {
            unpack(&mut traces, prev)?;
        }
        pending = Some(c);
    }
    let mut encoder = dev.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(&xi_buf, 0, &xi_staging, 0, xi_bytes);
    submit(encoder)?;
    if let Some(prev) = pending {
        unpack(&mut traces, prev)?;
    }
    let xi_words = read_buffer(dev, &xi_staging, xi_bytes)?;
    let xi: &[f32] = bytemuck::cast_slice(&xi_words);
    for (j, trace) in traces.iter_mut().enumerate() {
        trace.memories = xi[j * hn..(j + 1) * hn].iter().map(|&x| x as f64).collect();
    }
    Ok(traces)
}

#[cfg(test)]
mod tests;
