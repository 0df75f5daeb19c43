//! The BMS spiking family's GPU kernel (src/model/bms; `shaders/bms_update.wgsl`, noise in
//! `shaders/bms_common.wgsl`): `Backend::run_bms` on the device, the twin of
//! [`crate::model::bms::trajectory`].
//!
//! **Layout.** Every network of a [`Batch`] uploads its `W` once (column-major f32, `W_ij` at
//! `j N + i`, networks one after the other) with its θ and I; trajectories carry only their
//! network's index, γ, σ_B and noise stream ([`TrajectoryParams`]), so the initial conditions
//! and ε-twins that share a network share its `W` in memory. States stay on the device for the
//! whole call; the window's raster and per-step distance to threshold go to storage buffers
//! that are read back once per chunk of steps ([`BmsShape::chunk_steps`]: at most
//! [`READBACK_BYTES`]), double-buffered, so the GPU runs chunk c + 1 while the CPU unpacks
//! chunk c, and the time loop never returns to the CPU between steps.
//!
//! **One workgroup per trajectory, the time loop in the shader.** Each thread owns
//! `RPT = ⌈N / WG⌉` neurons (`i = lid + k WG`) and keeps their V, θ and I in registers for the
//! whole dispatch. A step's spike pattern is built in workgroup memory, bit-packed
//! (⌈N/32⌉ words, the [`crate::model::bms::SpikeWords`] layout) with `atomicOr`. Three
//! rotating slots of those words (step t uses slot t mod 3) make one barrier per step enough:
//! slot t mod 3 is written before the barrier and read after it, and slot (t + 2) mod 3 —
//! last read in step t − 1, next written in step t + 2 — is cleared after it. Workgroup memory:
//! 12⌈N/32⌉ + 24 bytes (408 bytes at N = 1000), so workgroup memory never limits N.
//!
//! **Why the cost falls with the firing rate.** The synaptic input `s_i = Σ_j W_ij Z_j` walks the
//! set bits of the spike words in ascending j (`firstTrailingBit`, then clear the bit), and for
//! each spiking column j every thread adds `W[j N + i]` of its own rows: a step costs
//! (spiking neurons) × N loads and adds instead of N², so at rate ρ it is ρ N² — ten times less
//! work at ρ = 0.05 than at 0.5. The loads are coalesced: at fixed j, consecutive threads read
//! consecutive words of the column. Every thread walks the same bits, so the loop is uniform
//! across the workgroup (no divergence on a GPU). There is no reuse of `W` within a step for
//! workgroup memory to capture (each element is used once, by its row's thread); across steps
//! `W` stays in L2 when the batch's networks fit there.
//! Measured on lavapipe (2 shared cores, so only the ratio means anything), N = 1000, 16
//! trajectories: 16.7 steps/s at rate 0.05, 2.6 steps/s at rate 0.5 (tests/bms_gpu.rs,
//! `bench_steps_per_second_falls_with_the_rate`).
//!
//! **Distance to threshold.** At every recorded step, `min_i |V_i − θ_i|` and its lowest
//! index: each thread takes the minimum of its rows (lowest index on ties), then two workgroup
//! atomics replace a tree reduction — `atomicMin` of the f32 bit pattern (non-negative floats
//! order like their bits) before the step's barrier, `atomicMin` of the index among the threads
//! that hold that minimum after it — and thread 0 writes the result during the next step.
//!
//! **Bitwise equal to the CPU twin.** The order of operations is the twin's: `Z_i = V_i ≥ θ_i`;
//! `s_i` summed over spiking j ascending from +0; `V_i ← ((kept + s_i) + I_i) + σ_B B_i(t)` with
//! `kept = 0` for a spiking neuron (not `γ V 0`). With σ_B = 0 the GPU therefore reproduces
//! `run_batch::<f32>` bit for bit (rasters, distances, nearest neurons, final states; tested on
//! lavapipe, tests/bms_gpu.rs). The noise words are Philox4x32-10's, identical on both sides
//! (mulhi from 16-bit halves: WGSL has no u64); Box–Muller runs in f32 on the GPU and in f64 on
//! the CPU, so with σ_B > 0 the normals differ by a few ulps and trajectories agree in
//! statistics, not bitwise.
//!
//! **Dispatches.** lavapipe silently ends an invocation's loops after 65,535 back-edges
//! (engineering.md); the walk over spikes makes a step's back-edges depend on the data, so
//! [`BmsShape::steps_per_dispatch`] bounds them for the worst case (every neuron spiking)
//! within [`BACKEDGE_BUDGET`]. Steps per dispatch: 16 at N = 1000, 156 at N = 100.
//!
//! **Capacity.** A batch whose networks' `W` exceed one storage binding
//! (`max_storage_buffer_binding_size`), or whose trajectories' states or one step's records do,
//! is split into groups of networks run one after the other ([`groups`]); one network whose
//! `W` alone does not fit is refused with a clear error.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::backend::gpu::{
    dispatch_each, dispatch_table, dispatch_table_entry, entry, read_buffer, staging, submit,
    GpuBackend, BACKEDGE_BUDGET,
};
use crate::config::Precision;
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::model::bms::{Batch, Trace};

const COMMON: &str = include_str!("../../../../shaders/bms_common.wgsl");
const UPDATE: &str = include_str!("../../../../shaders/bms_update.wgsl");
const PROBE: &str = include_str!("../../../../shaders/bms_probe.wgsl");

/// Bytes of one chunk's records (raster and distances of every trajectory) read back at once.
pub const READBACK_BYTES: u64 = 64 << 20;
/// Most threads per workgroup (fewer where the adapter offers fewer).
const MAX_WORKGROUP: usize = 1024;

/// Per-trajectory parameters as the shader reads them (`TrajectoryParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct TrajectoryParams {
    pub network: u32,
    pub leak: f32,
    pub noise: f32,
    pub noisy: u32,
    pub key: [u32; 2],
    pub stream: u32,
    pub replica: u32,
}

/// One dispatch's parameters (`BmsDispatch`), bound with a dynamic offset.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
struct BmsDispatch {
    steps: u32,
    record: u32,
    t0: u32,
    rec_base: u32,
    trajectories: u32,
    grid_x: u32,
    rec_stride: u32,
    _pad: u32,
}

/// The constants a network size compiles into `bms_update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BmsShape {
    pub neurons: usize,
    /// Threads per workgroup.
    pub workgroup: usize,
    /// Neurons per thread.
    pub rows_per_thread: usize,
    /// Spike words per step, ⌈N/32⌉.
    pub words: usize,
}

impl BmsShape {
    /// The shape for N neurons on an adapter with `max_invocations` threads per workgroup: one
    /// thread per neuron up to 1024 (a power of two, at least 32).
    pub fn new(neurons: usize, max_invocations: usize) -> BmsShape {
        let workgroup = neurons
            .next_power_of_two()
            .clamp(32, MAX_WORKGROUP.min(max_invocations.max(32)));
        BmsShape {
            neurons,
            workgroup,
            rows_per_thread: neurons.div_ceil(workgroup).max(1),
            words: Trace::words(neurons),
        }
    }

    /// WGSL source of `bms_update` with this shape's constants.
    pub fn source(&self) -> String {
        format!(
            "const N: u32 = {}u;\nconst WG: u32 = {}u;\nconst RPT: u32 = {}u;\n\
             const WORDS: u32 = {}u;\n{COMMON}\n{UPDATE}",
            self.neurons,
            self.workgroup,
            self.rows_per_thread,
            self.words.max(1),
        )
    }

    /// Workgroup memory the kernel declares: three slots of spike words, three distance and
    /// three index slots.
    pub fn workgroup_bytes(&self) -> u64 {
        4 * (3 * self.words.max(1) + 6) as u64
    }

    /// Loop back-edges of one invocation per step in the worst case (every neuron spiking),
    /// counted as if the compiler unrolled nothing: the time loop; three loops over the
    /// thread's rows (spikes and distance, zeroing the sums, the update); the word loop; one
    /// back-edge per spiking column and, inside it, one per row; the raster copy and the slot
    /// clear (⌈words / WG⌉ each). The Philox rounds are written out (no loop).
    pub fn backedges_per_step(&self) -> u64 {
        let (n, rpt) = (self.neurons as u64, self.rows_per_thread as u64);
        let words = self.words as u64;
        let strided = words.div_ceil(self.workgroup as u64);
        1 + 3 * rpt + words + n * (1 + rpt) + 2 * strided
    }

    /// Back-edges outside the time loop: loading and storing the rows, clearing the slots.
    pub fn setup_backedges(&self) -> u64 {
        let words = 3 * self.words.max(1) as u64;
        2 * self.rows_per_thread as u64 + words.div_ceil(self.workgroup as u64)
    }

    /// Steps one dispatch may advance within [`BACKEDGE_BUDGET`]; 0 if not even one fits.
    pub fn steps_per_dispatch(&self) -> u64 {
        BACKEDGE_BUDGET.saturating_sub(self.setup_backedges()) / self.backedges_per_step()
    }

    /// Bytes one recorded step takes per trajectory: its spike words and (distance, neuron).
    pub fn record_bytes(&self) -> u64 {
        4 * (self.words + 2) as u64
    }

    /// Recorded steps per readback chunk for `trajectories` trajectories within `limit` bytes
    /// (at least 1, at most `window`).
    pub fn chunk_steps(&self, trajectories: usize, window: usize, limit: u64) -> usize {
        let per_step = self.record_bytes() * trajectories.max(1) as u64;
        ((limit / per_step).max(1) as usize).min(window.max(1))
    }
}

/// A group of a batch run in one go: the networks it uploads and the trajectories it runs
/// (indices into the batch's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub networks: Vec<usize>,
    pub trajectories: Vec<usize>,
}

/// Split a batch's trajectories (their networks, in order: `trajectory_networks[k]`) into
/// groups whose buffers fit `binding` bytes each: the group's networks' `W`
/// (`weight_bytes` each), its trajectories' states (`state_bytes` each) and one recorded step
/// of every trajectory (`record_bytes` each, within `readback` bytes). Trajectories of one
/// network stay together as far as the per-trajectory limits allow. Errors when one network's
/// `W` alone does not fit.
pub fn groups(
    trajectory_networks: &[usize],
    weight_bytes: u64,
    state_bytes: u64,
    record_bytes: u64,
    binding: u64,
    readback: u64,
) -> Result<Vec<Group>> {
    if weight_bytes > binding {
        return Err(Error::TooLarge(format!(
            "one BMS network's weights take {}, more than the {} one GPU buffer binding may \
             hold (max_storage_buffer_binding_size); use --backend cpu",
            memory::human(weight_bytes),
            memory::human(binding)
        )));
    }
    let max_networks = (binding / weight_bytes.max(1)).max(1) as usize;
    // Indices into W are u32 in the shader.
    let max_networks =
        max_networks.min((u32::MAX as u64 / weight_bytes.div_ceil(4).max(1)) as usize);
    let max_trajectories = (binding / state_bytes.max(1))
        .min(readback.min(binding) / record_bytes.max(1))
        .max(1) as usize;
    let mut order: Vec<usize> = (0..trajectory_networks.len()).collect();
    order.sort_by_key(|&k| trajectory_networks[k]);
    let mut out: Vec<Group> = Vec::new();
    let mut current = Group::default();
    for k in order {
        let net = trajectory_networks[k];
        let new_network = current.networks.last() != Some(&net);
        let full = current.trajectories.len() == max_trajectories
            || (new_network && current.networks.len() == max_networks);
        if full {
            out.push(std::mem::take(&mut current));
        }
        if current.networks.last() != Some(&net) {
            current.networks.push(net);
        }
        current.trajectories.push(k);
    }
    if !current.trajectories.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// The compiled kernel of one network size.
struct Kernel {
    shape: BmsShape,
    pipeline: wgpu::ComputePipeline,
}

/// The BMS pipelines of a [`GpuBackend`], compiled on first use for each N.
#[derive(Default)]
pub struct Cache {
    layouts: Option<(wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    kernels: HashMap<usize, Kernel>,
}

fn layouts(device: &wgpu::Device) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    super::family_layouts(
        device,
        "hebbnet.bms",
        &[true, true, true, false, false, false],
        std::mem::size_of::<BmsDispatch>() as u64,
    )
}

impl GpuBackend {
    /// The BMS kernel shape for N neurons, or why this adapter cannot run it.
    pub fn bms_shape(&self, neurons: usize) -> Result<BmsShape> {
        let shape = BmsShape::new(
            neurons,
            self.limits.max_compute_invocations_per_workgroup as usize,
        );
        let limit = self.limits.max_compute_workgroup_storage_size as u64;
        if shape.workgroup_bytes() > limit {
            return Err(Error::TooLarge(format!(
                "the BMS kernel at N = {neurons} needs {} bytes of workgroup memory for its spike \
                 words, but {} offers {limit}; use --backend cpu",
                shape.workgroup_bytes(),
                self.summary.name
            )));
        }
        if shape.steps_per_dispatch() == 0 {
            return Err(Error::TooLarge(format!(
                "the BMS kernel at N = {neurons} may need {} loop iterations per step in one \
                 shader invocation, above the {BACKEDGE_BUDGET} that keeps a dispatch safe from \
                 lavapipe's silent loop cap; use --backend cpu",
                shape.backedges_per_step()
            )));
        }
        Ok(shape)
    }

    fn bms_kernel(&mut self, neurons: usize) -> Result<BmsShape> {
        if let Some(k) = self.bms.kernels.get(&neurons) {
            return Ok(k.shape);
        }
        let shape = self.bms_shape(neurons)?;
        if self.bms.layouts.is_none() {
            self.bms.layouts = Some(layouts(&self.device));
        }
        let (_, pipeline_layout) = self.bms.layouts.as_ref().expect("just set");
        let pipeline = super::compile_pipeline(
            &self.device,
            pipeline_layout,
            "bms_update",
            shape.source(),
            "BMS",
        )?;
        self.bms.kernels.insert(neurons, Kernel { shape, pipeline });
        Ok(shape)
    }
}

/// Check that the batch is consistent (sizes, network indices).
fn validate(batch: &Batch<'_>, n: usize) -> Result<()> {
    let bad = |message: String| Err(Error::config("model", message));
    for (m, (w, p)) in batch.networks.iter().enumerate() {
        if p.threshold.len() != n || p.input.len() != n || w.len() != n * n {
            return bad(format!(
                "BMS network {m} has {} thresholds, {} inputs and {} weights; N = {n} needs \
                 {n}, {n} and {}",
                p.threshold.len(),
                p.input.len(),
                w.len(),
                n * n
            ));
        }
    }
    for (k, s) in batch.trajectories.iter().enumerate() {
        if s.network >= batch.networks.len() {
            return bad(format!(
                "BMS trajectory {k} names network {} of {}",
                s.network,
                batch.networks.len()
            ));
        }
        if s.state.len() != n {
            return bad(format!(
                "BMS trajectory {k} starts from {} values; N = {n}",
                s.state.len()
            ));
        }
    }
    Ok(())
}

/// Buffer limits a run splits its batch and its readback by: the adapter's, or smaller ones
/// for tests that exercise the splitting on a small batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Bytes one storage binding may hold (`max_storage_buffer_binding_size`).
    pub binding: u64,
    /// Bytes of records read back at once ([`READBACK_BYTES`]).
    pub readback: u64,
}

/// Advance `batch` on the device (see the module doc): one [`Trace`] per trajectory, in order.
pub(crate) fn run(
    backend: &mut GpuBackend,
    precision: Precision,
    batch: &Batch<'_>,
) -> Result<Vec<Trace>> {
    let binding = backend
        .limits
        .max_storage_buffer_binding_size
        .min(backend.limits.max_buffer_size);
    let limits = RunLimits {
        binding,
        readback: READBACK_BYTES.min(binding),
    };
    run_with_limits(backend, precision, batch, limits)
}

/// [`run`] under `limits` (at most the adapter's): tests use small ones to split a batch into
/// groups and its window into several readback chunks.
pub fn run_with_limits(
    backend: &mut GpuBackend,
    precision: Precision,
    batch: &Batch<'_>,
    limits: RunLimits,
) -> Result<Vec<Trace>> {
    if precision != Precision::F32 {
        return Err(Error::config(
            "backend.precision",
            "the GPU backend computes BMS networks in f32; use --backend cpu for f64 reference \
             runs",
        ));
    }
    if batch.trajectories.is_empty() {
        return Ok(Vec::new());
    }
    let n = batch.neurons();
    validate(batch, n)?;
    if n == 0 {
        // What the twin records for an empty network: distance 0 at neuron 0 every step.
        let window = batch.steps.window;
        let empty = Trace {
            raster: Vec::new(),
            distance: vec![0.0; window],
            nearest: vec![0; window],
            state: Vec::new(),
        };
        return Ok(vec![empty; batch.trajectories.len()]);
    }
    let shape = backend.bms_kernel(n)?;
    let adapter = backend
        .limits
        .max_storage_buffer_binding_size
        .min(backend.limits.max_buffer_size);
    let binding = limits.binding.min(adapter);
    let readback = limits.readback.min(binding);
    let nets: Vec<usize> = batch.trajectories.iter().map(|s| s.network).collect();
    let groups = groups(
        &nets,
        (n * n * 4) as u64,
        (n * 4) as u64,
        shape.record_bytes(),
        binding,
        readback,
    )?;
    let mut out: Vec<Option<Trace>> = vec![None; batch.trajectories.len()];
    for group in &groups {
        let traces = run_group(backend, shape, batch, group, readback)?;
        for (&k, trace) in group.trajectories.iter().zip(traces) {
            out[k] = Some(trace);
        }
    }
    Ok(out
        .into_iter()
        .map(|t| t.expect("every trajectory is in a group"))
        .collect())
}

/// One group of a batch (its networks and trajectories; see [`groups`]).
fn run_group(
    backend: &GpuBackend,
    shape: BmsShape,
    batch: &Batch<'_>,
    group: &Group,
    readback: u64,
) -> Result<Vec<Trace>> {
    let n = shape.neurons;
    let words = shape.words;
    let r = group.trajectories.len();
    let steps = batch.steps;
    let window = steps.window;
    let dev = &backend.device;
    let queue = &backend.queue;
    let kernel = &backend.bms.kernels[&n];
    let (layout, _) = backend.bms.layouts.as_ref().expect("compiled");
    let oom = dev.push_error_scope(wgpu::ErrorFilter::OutOfMemory);

    // Upload: W, θ and I of the group's networks, the trajectories' parameters and states.
    let local: HashMap<usize, u32> = group
        .networks
        .iter()
        .enumerate()
        .map(|(m, &net)| (net, m as u32))
        .collect();
    let mut weights = Vec::with_capacity(group.networks.len() * n * n);
    let mut neurons = Vec::with_capacity(group.networks.len() * 2 * n);
    for &net in &group.networks {
        let (w, p) = batch.networks[net];
        weights.extend(w.iter().map(|&x| x as f32));
        neurons.extend(p.threshold.iter().map(|&x| x as f32));
        neurons.extend(p.input.iter().map(|&x| x as f32));
    }
    let mut params = Vec::with_capacity(r);
    let mut states = Vec::with_capacity(r * n);
    for &k in &group.trajectories {
        let s = &batch.trajectories[k];
        let p = batch.networks[s.network].1;
        let noise = p.noise as f32;
        params.push(TrajectoryParams {
            network: local[&s.network],
            leak: p.leak as f32,
            noise,
            // The twin's test: the noise converted to the precision, then `> 0`.
            noisy: (noise > 0.0) as u32,
            key: s.noise.key(),
            stream: s.noise.stream,
            replica: s.noise.replica as u32,
        });
        states.extend(s.state.iter().map(|&x| x as f32));
    }
    let read_only = |label: &str, contents: &[u8]| {
        dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let params_buf = read_only("bms.params", bytemuck::cast_slice(&params));
    let weights_buf = read_only("bms.weights", bytemuck::cast_slice(&weights));
    drop(weights);
    let neurons_buf = read_only("bms.neurons", bytemuck::cast_slice(&neurons));
    let states_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("bms.states"),
        contents: bytemuck::cast_slice(&states),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    // Records of one chunk: [trajectory][chunk][words] spike words, [trajectory][chunk][2].
    let chunk = shape.chunk_steps(r, window, readback);
    let raster_bytes = (r * chunk * words * 4) as u64;
    let nearest_bytes = (r * chunk * 2 * 4) as u64;
    let record = |label: &str, bytes: u64| {
        dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    };
    let raster_buf = record("bms.raster", raster_bytes);
    let nearest_buf = record("bms.nearest", nearest_bytes);
    let record_bytes = raster_bytes + nearest_bytes;
    let readback = [0, 1].map(|_| staging(dev, "bms.readback", record_bytes));
    let state_bytes = (r * n * 4) as u64;
    let state_staging = staging(dev, "bms.state_readback", state_bytes);
    if let Some(e) = pollster::block_on(oom.pop()) {
        return Err(Error::Gpu(format!(
            "the GPU ran out of memory allocating a BMS batch of {r} trajectories at N = {n} \
             ({e}); run fewer trajectories per batch"
        )));
    }

    // Dispatches: the transient, then the window in chunks of `chunk` recorded steps, each
    // split into dispatches of at most `steps_per_dispatch` steps.
    let per_dispatch = shape.steps_per_dispatch() as usize;
    let grid = backend.grid(r as u64);
    let align = backend.limits.min_uniform_buffer_offset_alignment.max(32) as usize;
    let t_start = steps.first_step as u32; // the noise counter keeps the low 32 bits
    let table = |list: &[BmsDispatch]| -> wgpu::BindGroup {
        let buf = dispatch_table(dev, "bms.dispatch_table", list, align);
        dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("hebbnet.bms"),
            layout,
            entries: &[
                entry(0, &params_buf),
                entry(1, &weights_buf),
                entry(2, &neurons_buf),
                entry(3, &states_buf),
                entry(4, &raster_buf),
                entry(5, &nearest_buf),
                dispatch_table_entry(6, &buf),
            ],
        })
    };
    // Dispatches covering `count` steps from step `from` (relative to `first_step`).
    let split = |from: usize, count: usize, record: bool, list: &mut Vec<BmsDispatch>| {
        let mut done = 0;
        while done < count {
            let s = per_dispatch.min(count - done);
            let rec_base = if record {
                (from + done - steps.transient) % chunk
            } else {
                0
            };
            list.push(BmsDispatch {
                steps: s as u32,
                record: record as u32,
                t0: t_start.wrapping_add((from + done) as u32),
                rec_base: rec_base as u32,
                trajectories: r as u32,
                grid_x: grid.0,
                rec_stride: chunk as u32,
                _pad: 0,
            });
            done += s;
        }
    };
    let encode = |encoder: &mut wgpu::CommandEncoder, list: &[BmsDispatch]| {
        if list.is_empty() {
            return;
        }
        let bind_group = table(list);
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
            raster: Vec::with_capacity(window * words),
            distance: Vec::with_capacity(window),
            nearest: Vec::with_capacity(window),
            state: Vec::new(),
        })
        .collect();
    // Unpack chunk `c` (`len` steps) from its readback buffer.
    let unpack = |traces: &mut [Trace], c: usize, len: usize| -> Result<()> {
        let bytes = read_buffer(dev, &readback[c % 2], record_bytes)?;
        let all: &[u32] = bytemuck::cast_slice(&bytes);
        let (raster, nearest) = all.split_at(r * chunk * words);
        for (k, trace) in traces.iter_mut().enumerate() {
            let at = k * chunk * words;
            trace
                .raster
                .extend_from_slice(&raster[at..at + len * words]);
            for t in 0..len {
                let e = 2 * (k * chunk + t);
                trace.distance.push(f32::from_bits(nearest[e]) as f64);
                trace.nearest.push(nearest[e + 1]);
            }
        }
        Ok(())
    };

    let mut encoder = dev.create_command_encoder(&Default::default());
    let mut list = Vec::new();
    split(0, steps.transient, false, &mut list);
    encode(&mut encoder, &list);
    let chunks = window.div_ceil(chunk);
    let mut pending: Option<(usize, usize)> = None;
    for c in 0..chunks {
        let len = chunk.min(window - c * chunk);
        let mut list = Vec::new();
        split(steps.transient + c * chunk, len, true, &mut list);
        encode(&mut encoder, &list);
        encoder.copy_buffer_to_buffer(&raster_buf, 0, &readback[c % 2], 0, raster_bytes);
        encoder.copy_buffer_to_buffer(
            &nearest_buf,
            0,
            &readback[c % 2],
            raster_bytes,
            nearest_bytes,
        );
        submit(std::mem::replace(
            &mut encoder,
            dev.create_command_encoder(&Default::default()),
        ))?;
        // The GPU runs chunk c while the CPU unpacks chunk c − 1.
        if let Some((p, plen)) = pending.take() {
            unpack(&mut traces, p, plen)?;
        }
        pending = Some((c, len));
    }
    encoder.copy_buffer_to_buffer(&states_buf, 0, &state_staging, 0, state_bytes);
    submit(encoder)?;
    if let Some((p, plen)) = pending {
        unpack(&mut traces, p, plen)?;
    }
    let bytes = read_buffer(dev, &state_staging, state_bytes)?;
    let v: &[f32] = bytemuck::cast_slice(&bytes);
    for (k, trace) in traces.iter_mut().enumerate() {
        trace.state = v[k * n..(k + 1) * n].iter().map(|&x| x as f64).collect();
    }
    Ok(traces)
}

/// The noise kernel's view of `counters` under `key`, for tests and diagnostics: the
/// Philox4x32-10 words (`bms_common.wgsl`, equal to [`crate::model::bms::noise::philox`]) and
/// the f32 Box–Muller normal the update kernel adds, per counter.
pub fn noise_probe(
    backend: &GpuBackend,
    key: [u32; 2],
    counters: &[[u32; 4]],
) -> Result<Vec<([u32; 4], f32)>> {
    if counters.is_empty() {
        return Ok(Vec::new());
    }
    let dev = &backend.device;
    let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("bms_noise_probe"),
        source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{PROBE}").into()),
    });
    let pipeline = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("bms_noise_probe"),
        layout: None,
        module: &module,
        entry_point: Some("bms_noise_probe"),
        compilation_options: Default::default(),
        cache: None,
    });
    let mut input: Vec<u32> = key.to_vec();
    input.extend(counters.iter().flatten());
    let input_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("bms.probe_in"),
        contents: bytemuck::cast_slice(&input),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let out_bytes = (counters.len() * 5 * 4) as u64;
    let output_buf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: Some("bms.probe_out"),
        size: out_bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("bms.probe"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[entry(0, &input_buf), entry(1, &output_buf)],
    });
    let readback = staging(dev, "bms.probe_readback", out_bytes);
    let mut encoder = dev.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((counters.len() as u32).div_ceil(64), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&output_buf, 0, &readback, 0, out_bytes);
    backend.queue.submit([encoder.finish()]);
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(Error::Gpu(format!("the BMS noise probe failed: {e}")));
    }
    let bytes = read_buffer(dev, &readback, out_bytes)?;
    let out: &[u32] = bytemuck::cast_slice(&bytes);
    Ok(out
        .chunks_exact(5)
        .map(|w| ([w[0], w[1], w[2], w[3]], f32::from_bits(w[4])))
        .collect())
}

#[cfg(test)]
mod tests;
