//! The GPU backend: WGSL compute shaders through wgpu.
//!
//! Per batch, every replica's `W`, input, state and recording sums live in storage buffers.
//! Each epoch is encoded entirely on the GPU — weight statistics, the transient and recorded
//! steps (in chunks of [`KernelShape::steps_per_dispatch`]), copies of the epoch's sums into a
//! readback buffer, the Hebbian update — and a group of epochs is submitted at once and read back
//! with one map, so the time loop never returns to the CPU.
//!
//! Kernels (`shaders/`): `neuron_update` (one workgroup per replica, signal in workgroup memory,
//! time loop in the shader), `hebbian_update` (one thread per synapse), `weight_stats`
//! (tree reduction). Parameters are per replica, so a batch may mix sweep points.
//!
//! **The split with the CPU-side analysis.** When an analysis is requested, the neuron kernel
//! streams, for every recorded step, `D(t)` (the activation derivative of the Jacobian) and the
//! state: 2N floats per replica and step, copied in chunks to double-buffered staging buffers so
//! the GPU computes chunk c while the CPU propagates tangents and does QRs on chunk c − 1. The
//! alternative — tangent vectors propagated on the GPU, only `Q` shipped for the QR — moves
//! N·k floats every m steps instead of 2N every step, and puts the N²k multiply-adds per step on
//! the GPU. Why this split for now: at N = 100 the tangent work for k = 1 (N² per step) equals
//! the dynamics' and the stream costs 800 bytes a step, so the CPU keeps pace for ensembles of a
//! few hundred replicas, and both backends share one analysis code path, which is what makes
//! them agree bitwise on lavapipe. At N = 1000 or k ≫ 1 the CPU side becomes the bottleneck
//! (N²k per step per replica) and GPU-side propagation wins; it is planned for when a real GPU
//! can measure the crossover (BENCHMARKS.md). Only what the analysis needs is traced: with
//! Lyapunov exponents off, just the last 2P steps of each window (period detection and the
//! Jacobian at the last state).
//!
//! **`W` in workgroup memory, f16 weights** (`backend.weights_in_workgroup`,
//! `backend.workgroup_memory_bytes`, `backend.weight_storage`). The local field reads all of a
//! replica's `W` at every step. Read from the storage buffer, a dispatch of T steps streams
//! R·N²·4 bytes of `W` per step from L2 or HBM (4 MB per step for R = 100, N = 100; L2 holds it
//! only while R·N²·4 fits): one multiply-add per 4 bytes loaded, so the kernel is bandwidth- and
//! load-latency-bound. When the replica's `W` fits the workgroup memory budget next to the
//! signal — the adapter's `max_compute_workgroup_storage_size`, or less with
//! `backend.workgroup_memory_bytes` (f32: 4N² + 4N bytes, N ≤ 110 in 48 KiB; f16 pairs:
//! 4⌈N²/2⌉ + 4N, N ≤ 155) — the workgroup copies it there once per dispatch (coalesced:
//! consecutive threads, consecutive words) and the T steps read it from on-chip memory, so
//! global traffic for `W` drops from T·R·N²·4 to R·N²·4 bytes per dispatch (T is up to ~1,100
//! steps at N = 100, see [`KernelShape::steps_per_dispatch`]).
//! The price is occupancy: a 40 KiB workgroup leaves room for only a few workgroups per SM (5
//! in the 228 KiB of an H100 SM, fewer on GPUs with less), against dozens with the 400-byte
//! signal alone, so fewer warps are resident to hide latency; and the copy costs one extra pass
//! over `W` per dispatch. Since every replica's time loop is a chain of dependent steps, shorter
//! load latency per step should matter more than occupancy, so we expect the resident variant
//! to win whenever it fits — reasoned, not measured: no GPU was available when this was written
//! (BENCHMARKS.md).
//!
//! **Partial residency, when all of `W` does not fit.** `W` is column-major per replica
//! (element e = j·N + i), so a prefix of columns j < c ([`KernelShape::resident_columns`],
//! `W_RES_COLS` in the shader) is a prefix of the replica's words: the workgroup copies those
//! c·N f32 words (c·N/2 f16 pairs; c·N is kept even so that no pair straddles the boundary) once
//! per dispatch as above, and the local field runs two loops over j — [0, c) from workgroup
//! memory, [c, N) from the storage buffer — each unrolled by 4, adding one product at a time in
//! ascending j as the CPU twin does, so the variant is still bitwise equal to it on lavapipe.
//! c = N is full residency and c = 0 reads everything from global memory; c is a compile-time
//! constant, so every variant compiles without run-time branches. `"auto"` takes c = N when it
//! fits, else the largest c that fits ([`resident_columns`]), else 0.
//! Why a resident prefix rather than staging the other columns through workgroup memory tile by
//! tile at every step (the classic tiled matrix product): each element of `W` is used exactly
//! once per step, by one thread (the one that owns row i), and the direct reads are already
//! coalesced — at fixed j, consecutive threads read consecutive i, i.e. consecutive words. A
//! per-step tile would load every word from global memory once, as the direct read does, then
//! store it to workgroup memory and read it back, with a barrier per tile: more instructions
//! and synchronisation for the same global traffic. There is no reuse for a tile to capture
//! within a step; the only reuse of `W` is across steps, and that is what the resident prefix
//! captures: it cuts `W`'s global traffic per step by the fraction c/N, at the occupancy price
//! of the workgroup memory it fills, plus one pass over the prefix per dispatch.
//! Whether that trade pays at a given c/N is for a real GPU to measure (BENCHMARKS.md, pending):
//! at N = 1000 and 48 KiB only 11 of 1,000 f32 columns fit, a 1% cut for a full workgroup's
//! worth of occupancy; `backend.workgroup_memory_bytes` (a smaller budget, down to a partial
//! tile or none) and `"never"` are the knobs for that measurement. Reasoned, not measured.
//!
//! f16 storage halves `W`'s bytes (bandwidth in the global variant; the N at which `W` still
//! fits workgroup memory grows by √2: N = 100 needs 20 KB instead of 40 KB). It is stored as f16
//! pairs in `u32` words (`weights_half`), which needs no `shader-f16` feature (f16 arithmetic
//! would not be wanted anyway: products and sums stay f32), and decoded exactly with
//! `unpack2x16float` where the device has it (wgpu's `SHADER_F16_IN_F32` downlevel flag: all
//! Vulkan, Metal, DX12 and desktop GL devices except llvmpipe without `shader-f16`), else with a
//! few integer operations (`shaders/f16_decode_portable.wgsl`) — so it runs everywhere. The
//! Hebbian update works on the f32 master `weights` and `pack_weights` refreshes the f16 copy
//! after it (and on upload), rounding with integer code so that every driver produces the CPU
//! twin's bits (`crate::model::f16`).
//!
//! Every variant (full, partial or no residency, f32 or f16) keeps the summation order of the
//! CPU twin, so on lavapipe all of them agree with the CPU backend bitwise (tests/backends.rs).

pub mod context;

use std::collections::HashMap;
use std::sync::mpsc;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

pub use context::AdapterSummary;

use rayon::prelude::*;

use super::{
    Backend, BackendInfo, BatchOutput, EpochOutput, FinalState, KernelVariant, Schedule,
    TraceObserver,
};
use crate::config::{Precision, WeightStorage, WeightsInWorkgroup};
use crate::ensemble::ReplicaInit;
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::model::f16::f16_bits_to_f32;

const COMMON: &str = include_str!("../../../shaders/common.wgsl");
const NEURON_UPDATE: &str = include_str!("../../../shaders/neuron_update.wgsl");
const HEBBIAN_UPDATE: &str = include_str!("../../../shaders/hebbian_update.wgsl");
const WEIGHT_STATS: &str = include_str!("../../../shaders/weight_stats.wgsl");
const PACK_WEIGHTS: &str = include_str!("../../../shaders/pack_weights.wgsl");
const F16_DECODE_NATIVE: &str = include_str!("../../../shaders/f16_decode_native.wgsl");
const F16_DECODE_PORTABLE: &str = include_str!("../../../shaders/f16_decode_portable.wgsl");

/// Back-edges one invocation may take per dispatch. lavapipe (llvmpipe) silently ends loops of
/// an invocation after 65,535 back-edges summed over all loops (engineering.md); half of that
/// leaves a wide margin. The same bound on real GPUs keeps each dispatch short.
pub const BACKEDGE_BUDGET: u64 = 32_768;
/// Per-epoch readback goes through buffers of at most this size.
const READBACK_BYTES: u64 = 64 << 20;
/// Trace chunks (D(t) and states for the analysis) are at most this size.
const TRACE_BYTES: u64 = 32 << 20;
const HEBBIAN_WG: u32 = 256;
const PACK_WG: u32 = 256;
const STATS_WG: u32 = 256;
/// Elements each thread of `weight_stats` sums at most.
const STATS_PER_THREAD: usize = 64;

/// Per-replica parameters as the shaders read them (`ReplicaParams` in `common.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct GpuReplicaParams {
    pub gain: f32,
    pub leak: f32,
    pub threshold: f32,
    pub learning_rate: f32,
    pub forgetting: f32,
    pub activity_threshold: f32,
    pub form: u32,
    pub activation: u32,
    pub flags: u32,
    pub _pad: [u32; 3],
}

impl GpuReplicaParams {
    pub fn of(init: &ReplicaInit) -> GpuReplicaParams {
        let (n, l) = (&init.params.neuron, &init.params.learning);
        GpuReplicaParams {
            gain: n.gain as f32,
            leak: n.leak as f32,
            threshold: n.threshold as f32,
            learning_rate: l.learning_rate as f32,
            forgetting: l.forgetting as f32,
            activity_threshold: l.activity_threshold as f32,
            form: n.form.gpu_code(),
            activation: n.activation.gpu_code(),
            flags: l.gpu_flags(),
            _pad: [0; 3],
        }
    }
}

/// One dispatch's parameters (`DispatchParams` in `common.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Pod, Zeroable)]
struct DispatchParams {
    steps: u32,
    mode: u32,
    replicas: u32,
    grid_x: u32,
    recorded_steps: u32,
    trace: u32,
    _pad: [u32; 2],
}

const MODE_TRANSIENT: u32 = 0;
const MODE_RECORD: u32 = 1;
const MODE_RECORD_BEGIN: u32 = 2;

/// The constants a network size compiles into the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelShape {
    pub neurons: usize,
    /// Threads per workgroup of `neuron_update`.
    pub workgroup: usize,
    /// Neurons per thread.
    pub rows_per_thread: usize,
    /// Workgroups per replica of `weight_stats`.
    pub stats_chunks: usize,
    /// Columns of `W` (`j < resident_columns`) that `neuron_update` copies into workgroup memory
    /// once per dispatch; the others are read from global memory at every step. `neurons`: full
    /// residency, 0: all of `W` from global memory. With f16 storage and partial residency,
    /// `resident_columns · N` is even (see [`KernelShape::with_weights`]).
    pub resident_columns: usize,
    /// The local field reads `W` rounded to f16 (`weights_half`).
    pub f16_weights: bool,
    /// f16 is decoded with `unpack2x16float` (needs wgpu's `DownlevelFlags::SHADER_F16_IN_F32`),
    /// else with integer operations; both are exact.
    pub native_f16_decode: bool,
}

impl KernelShape {
    /// The shape for N neurons with f32 weights read from global memory.
    pub fn new(neurons: usize, max_invocations: usize) -> KernelShape {
        let workgroup = neurons
            .next_power_of_two()
            .clamp(32, 256.min(max_invocations.max(32)));
        KernelShape {
            neurons,
            workgroup,
            rows_per_thread: neurons.div_ceil(workgroup),
            stats_chunks: (neurons * neurons).div_ceil(STATS_WG as usize * STATS_PER_THREAD),
            resident_columns: 0,
            f16_weights: false,
            native_f16_decode: false,
        }
    }

    /// This shape decoding f16 with `unpack2x16float` (`true`) or integer operations.
    pub fn with_native_f16_decode(self, native: bool) -> KernelShape {
        KernelShape {
            native_f16_decode: native,
            ..self
        }
    }

    /// This shape with another weight variant: `storage`, and the first `resident_columns`
    /// columns of `W` in workgroup memory (at most N). A partial f16 tile holds whole f16 pairs:
    /// with N odd an odd column count is rounded down by one, so that no pair straddles the
    /// boundary between the resident and the global columns.
    pub fn with_weights(self, storage: WeightStorage, resident_columns: usize) -> KernelShape {
        let n = self.neurons;
        let f16 = storage == WeightStorage::F16;
        let mut cols = resident_columns.min(n);
        if f16 && cols < n && (cols * n) % 2 == 1 {
            cols -= 1;
        }
        KernelShape {
            resident_columns: cols,
            f16_weights: f16,
            ..self
        }
    }

    /// This shape with all of `W` (`true`) or none of it (`false`) in workgroup memory.
    pub fn with_full_residency(self, storage: WeightStorage, resident: bool) -> KernelShape {
        self.with_weights(storage, if resident { self.neurons } else { 0 })
    }

    /// Whether every column of `W` is in workgroup memory.
    pub fn fully_resident(&self) -> bool {
        self.resident_columns == self.neurons
    }

    /// Where the local field reads `W`: `"workgroup"` (all of it resident), `"partial"` (a prefix
    /// of columns resident, the rest from global memory) or `"global"`.
    pub fn weights_read_from(&self) -> &'static str {
        match self.resident_columns {
            0 => "global",
            c if c == self.neurons => "workgroup",
            _ => "partial",
        }
    }

    /// `u32` words per replica of the f16 copy: ⌈N²/2⌉.
    pub fn half_words(&self) -> usize {
        (self.neurons * self.neurons).div_ceil(2)
    }

    /// `u32` words of `neuron_update`'s workgroup copy of `W`'s resident columns (1, unused,
    /// when all of `W` stays global): `resident_columns · N` f32 words, or f16 pairs — half as
    /// many (even by construction when partial), ⌈N²/2⌉ when full.
    pub fn tile_words(&self) -> usize {
        let elements = self.resident_columns * self.neurons;
        match (self.resident_columns, self.f16_weights) {
            (0, _) => 1,
            (_, false) => elements,
            (_, true) if self.fully_resident() => self.half_words(),
            (_, true) => elements / 2,
        }
    }

    /// Workgroup memory `neuron_update` declares: the signal and the copy of `W`.
    pub fn workgroup_bytes(&self) -> u64 {
        4 * (self.neurons + self.tile_words()) as u64
    }

    /// The most columns of `W` whose copy fits `limit` bytes of workgroup memory next to the
    /// signal (even times N with f16, unless all N fit), with a dispatch still advancing at
    /// least one step; 0 when not even one column fits.
    pub fn fitting_columns(&self, storage: WeightStorage, limit: u64) -> usize {
        let fits = |cols: usize| {
            let s = self.with_weights(storage, cols);
            s.workgroup_bytes() <= limit && s.steps_per_dispatch() > 0
        };
        // Largest first; skip the odd f16 counts that `with_weights` would round down.
        (1..=self.neurons)
            .rev()
            .find(|&c| self.with_weights(storage, c).resident_columns == c && fits(c))
            .unwrap_or(0)
    }

    /// WGSL source of a kernel family with this shape's constants in front.
    pub fn source(&self, kernel: &str) -> String {
        format!(
            "const N: u32 = {}u;\nconst WG: u32 = {}u;\nconst RPT: u32 = {}u;\n\
             const STATS_CHUNKS: u32 = {}u;\nconst W_F16: bool = {};\n\
             const W_RES_COLS: u32 = {}u;\nconst W_WORDS: u32 = {}u;\n\
             const W_TILE: u32 = {}u;\n{}\n{COMMON}\n{kernel}",
            self.neurons,
            self.workgroup,
            self.rows_per_thread,
            self.stats_chunks,
            self.f16_weights,
            self.resident_columns,
            self.half_words(),
            self.tile_words(),
            if self.native_f16_decode {
                F16_DECODE_NATIVE
            } else {
                F16_DECODE_PORTABLE
            },
        )
    }

    /// Loop back-edges of one `neuron_update` invocation per time step, counted as if the
    /// compiler unrolled nothing: per owned row, the local field's two column loops — c/4
    /// unrolled + c mod 4 scalar iterations over the c resident columns, the same over the
    /// N − c global ones (the plain N/4 + N mod 4 when c is 0 or N; a split adds at most 3) — and
    /// the row loops themselves, plus the time loop.
    pub fn backedges_per_step(&self) -> u64 {
        let n = self.neurons as u64;
        let c = self.resident_columns as u64;
        let columns = |m: u64| m / 4 + m % 4;
        let rows = self.rows_per_thread as u64;
        rows * (columns(c) + columns(n - c) + 1) + 2 * rows + 1
    }

    /// Back-edges of one invocation before the time loop: the row loops and, with resident
    /// columns, the copy loop (⌈tile words / WG⌉ iterations).
    pub fn setup_backedges(&self) -> u64 {
        let copy = if self.resident_columns > 0 {
            self.tile_words().div_ceil(self.workgroup) as u64
        } else {
            0
        };
        2 * self.rows_per_thread as u64 + copy
    }

    /// Steps one dispatch may advance within [`BACKEDGE_BUDGET`]; 0 if not even one fits.
    pub fn steps_per_dispatch(&self) -> u64 {
        BACKEDGE_BUDGET.saturating_sub(self.setup_backedges()) / self.backedges_per_step()
    }

    /// One line on where the local field reads `W`, for the manifest and the log, e.g.
    /// `W: 72 of 100 columns in workgroup memory (f32), 28 read from global memory`.
    pub fn placement(&self) -> String {
        let (n, c) = (self.neurons, self.resident_columns);
        let storage = if self.f16_weights { "f16" } else { "f32" };
        match c {
            0 => format!("W: all {n} columns read from global memory every step ({storage})"),
            _ if c == n => format!("W: all {n} columns in workgroup memory ({storage})"),
            _ => format!(
                "W: {c} of {n} columns in workgroup memory ({storage}), {} read from global \
                 memory",
                n - c
            ),
        }
    }
}

/// How many columns of `W` `placement` keeps in workgroup memory for `shape` (its N and
/// threads) with `storage` weights and `limit` bytes of workgroup memory: `"never"` 0; `"auto"`
/// N when all of `W` fits next to the signal, else the largest prefix that fits
/// ([`KernelShape::fitting_columns`], partial residency), else 0; `"always"` N, or `None` when
/// all of `W` does not fit.
pub fn resident_columns(
    placement: WeightsInWorkgroup,
    shape: &KernelShape,
    storage: WeightStorage,
    limit: u64,
) -> Option<usize> {
    let fitting = shape.fitting_columns(storage, limit);
    match placement {
        WeightsInWorkgroup::Never => Some(0),
        WeightsInWorkgroup::Auto => Some(fitting),
        WeightsInWorkgroup::Always => (fitting == shape.neurons).then_some(fitting),
    }
}

/// The largest N whose whole `W` (in `storage`) and signal fit `limit` bytes of workgroup
/// memory.
pub fn largest_resident_n(limit: u64, storage: WeightStorage) -> usize {
    let mut n = 0;
    while KernelShape::new(n + 1, 256)
        .with_full_residency(storage, true)
        .workgroup_bytes()
        <= limit
    {
        n += 1;
    }
    n
}

/// Every WGSL kernel family with its entry point, for validation (`pack_weights` only for f16).
pub fn kernel_sources(shape: &KernelShape) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("neuron_update", shape.source(NEURON_UPDATE)),
        ("hebbian_update", shape.source(HEBBIAN_UPDATE)),
        ("weight_stats", shape.source(WEIGHT_STATS)),
    ];
    if shape.f16_weights {
        out.push(("pack_weights", shape.source(PACK_WEIGHTS)));
    }
    out
}

struct Kernels {
    shape: KernelShape,
    neuron: wgpu::ComputePipeline,
    hebbian: wgpu::ComputePipeline,
    stats: wgpu::ComputePipeline,
    /// f16 storage: refreshes `weights_half` from the f32 master.
    pack: Option<wgpu::ComputePipeline>,
}

/// How the GPU backend stores and reads `W` (`backend.weights_in_workgroup`,
/// `backend.weight_storage`, `backend.workgroup_memory_bytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    pub weights_in_workgroup: WeightsInWorkgroup,
    pub weight_storage: WeightStorage,
    /// Workgroup memory, in bytes, `neuron_update` may declare for the signal and `W`'s resident
    /// columns; `None`: the adapter's `max_compute_workgroup_storage_size`. Must be positive and
    /// not above that limit ([`GpuBackend::with_options`] refuses otherwise).
    pub workgroup_memory_bytes: Option<u64>,
    /// Decode f16 with integer operations even where `unpack2x16float` is available (tests
    /// use it to check that path on a device that has both).
    pub portable_f16_decode: bool,
}

pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    limits: wgpu::Limits,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    kernels: HashMap<usize, Kernels>,
    summary: AdapterSummary,
    info: BackendInfo,
    options: GpuOptions,
    /// `unpack2x16float` for f16 weights (see [`KernelShape::native_f16_decode`]).
    native_f16_decode: bool,
}

impl GpuBackend {
    /// Open the best adapter (hardware first) with the default options. Errors name the fix
    /// when there is none.
    pub fn new() -> Result<GpuBackend> {
        GpuBackend::with_options(GpuOptions::default())
    }

    /// Open the best adapter with these weight options.
    pub fn with_options(options: GpuOptions) -> Result<GpuBackend> {
        let (adapter, device, queue, summary) = context::open_device()?;
        let limits = adapter.limits();
        let native_f16_decode = !options.portable_f16_decode && summary.f16_in_f32;
        let adapter_limit = limits.max_compute_workgroup_storage_size as u64;
        match options.workgroup_memory_bytes {
            Some(0) => {
                return Err(Error::config(
                    "backend.workgroup_memory_bytes",
                    "must be a positive number of bytes; remove the key to use the adapter's \
                     whole limit",
                ))
            }
            Some(cap) if cap > adapter_limit => {
                return Err(Error::config(
                    "backend.workgroup_memory_bytes",
                    format!(
                        "{cap} bytes is above what {} offers ({adapter_limit} bytes, \
                         max_compute_workgroup_storage_size); set it to at most {adapter_limit}, \
                         or remove the key to use the whole limit",
                        summary.name
                    ),
                ))
            }
            _ => {}
        }
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("hebbnet.bindings"),
            entries: &[
                storage(0, true),
                storage(1, false),
                storage(2, true),
                storage(3, false),
                storage(4, false),
                storage(5, false),
                storage(7, false),
                storage(8, false),
                wgpu::BindGroupLayoutEntry {
                    binding: 6,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: wgpu::BufferSize::new(
                            std::mem::size_of::<DispatchParams>() as u64,
                        ),
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("hebbnet.pipeline_layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let mut description = format!("GPU: {}", summary.line());
        if options.weight_storage == WeightStorage::F16 {
            description += ", f16 weights (f32 master copy for learning)";
        }
        if options.weights_in_workgroup != WeightsInWorkgroup::Auto {
            description += &format!(
                ", W in workgroup memory: {}",
                options.weights_in_workgroup.name()
            );
        }
        if let Some(cap) = options.workgroup_memory_bytes {
            description += &format!(", workgroup memory capped at {cap} bytes");
        }
        let info = BackendInfo {
            kind: "gpu",
            description,
            adapter: Some(summary.clone()),
            kernels: Vec::new(),
        };
        Ok(GpuBackend {
            device,
            queue,
            limits,
            layout,
            pipeline_layout,
            kernels: HashMap::new(),
            summary,
            info,
            options,
            native_f16_decode,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// Workgroup memory `neuron_update` may use: `backend.workgroup_memory_bytes`, else the
    /// adapter's limit.
    pub fn workgroup_memory_budget(&self) -> u64 {
        let adapter = self.limits.max_compute_workgroup_storage_size as u64;
        self.options.workgroup_memory_bytes.unwrap_or(adapter)
    }

    /// The kernel shape for N neurons, or why this adapter cannot run it. How many columns of
    /// `W` are resident follows [`GpuOptions`] and [`GpuBackend::workgroup_memory_budget`]:
    /// `"auto"` all of them when they fit, else the largest prefix that fits, else none;
    /// `"always"` all of them or an error naming the limit; `"never"` none.
    pub fn shape(&self, neurons: usize) -> Result<KernelShape> {
        let storage = self.options.weight_storage;
        let adapter_limit = self.limits.max_compute_workgroup_storage_size as u64;
        let limit = self.workgroup_memory_budget();
        let capped = limit < adapter_limit;
        let global = KernelShape::new(
            neurons,
            self.limits.max_compute_invocations_per_workgroup as usize,
        )
        .with_weights(storage, 0)
        .with_native_f16_decode(self.native_f16_decode);
        let resident_columns =
            match resident_columns(self.options.weights_in_workgroup, &global, storage, limit) {
                Some(columns) => columns,
                None => {
                    let hint = match storage {
                        WeightStorage::F32 => format!(
                            ", or weight_storage \"f16\" (fits up to N = {})",
                            largest_resident_n(limit, WeightStorage::F16)
                        ),
                        WeightStorage::F16 => String::new(),
                    };
                    let name = &self.summary.name;
                    let offered = if capped {
                        format!(
                            "backend.workgroup_memory_bytes allows {limit} ({name} offers \
                             {adapter_limit}, max_compute_workgroup_storage_size)"
                        )
                    } else {
                        format!("{name} offers {limit} (max_compute_workgroup_storage_size)")
                    };
                    let needed = global.with_full_residency(storage, true).workgroup_bytes();
                    let fitting = global.fitting_columns(storage, limit);
                    let largest = largest_resident_n(limit, storage);
                    return Err(Error::config(
                        "backend.weights_in_workgroup",
                        format!(
                            "\"always\": N = {neurons} with {} weights needs {needed} bytes of \
                             workgroup memory for W and the signal, but {offered}; all of W fits \
                             up to N = {largest}; use \"auto\" (keeps {fitting} of the \
                             {neurons} columns resident){hint}",
                            storage.name(),
                        ),
                    ));
                }
            };
        let shape = global.with_weights(storage, resident_columns);
        let shared = shape.workgroup_bytes();
        if shared > limit {
            if capped && shared <= adapter_limit {
                return Err(Error::config(
                    "backend.workgroup_memory_bytes",
                    format!(
                        "{limit} bytes cannot hold the signal of N = {neurons} neurons: \
                         {shared} bytes are needed; set it to at least {shared}, or remove the \
                         key"
                    ),
                ));
            }
            return Err(Error::TooLarge(format!(
                "N = {neurons} needs {shared} bytes of workgroup memory for the signal, but {} \
                 offers {adapter_limit}; use --backend cpu",
                self.summary.name
            )));
        }
        if shape.steps_per_dispatch() == 0 {
            return Err(Error::TooLarge(format!(
                "N = {neurons} needs {} loop iterations per step in one shader invocation, above \
                 the {BACKEDGE_BUDGET} that keeps a dispatch safe from lavapipe's silent loop cap; \
                 use --backend cpu",
                shape.backedges_per_step()
            )));
        }
        Ok(shape)
    }

    fn kernels(&mut self, neurons: usize) -> Result<&Kernels> {
        if !self.kernels.contains_key(&neurons) {
            let shape = self.shape(neurons)?;
            let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let make = |source: &str, entry: &str| {
                let module = self
                    .device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(entry),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    });
                self.device
                    .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(entry),
                        layout: Some(&self.pipeline_layout),
                        module: &module,
                        entry_point: Some(entry),
                        compilation_options: Default::default(),
                        cache: None,
                    })
            };
            let kernels = Kernels {
                shape,
                neuron: make(&shape.source(NEURON_UPDATE), "neuron_update"),
                hebbian: make(&shape.source(HEBBIAN_UPDATE), "hebbian_update"),
                stats: make(&shape.source(WEIGHT_STATS), "weight_stats"),
                pack: shape
                    .f16_weights
                    .then(|| make(&shape.source(PACK_WEIGHTS), "pack_weights")),
            };
            if let Some(e) = pollster::block_on(scope.pop()) {
                return Err(Error::Gpu(format!("shader compilation failed: {e}")));
            }
            self.kernels.insert(neurons, kernels);
        }
        Ok(&self.kernels[&neurons])
    }

    /// Workgroup grid covering `groups` workgroups within the per-dimension limit.
    fn grid(&self, groups: u64) -> (u32, u32) {
        let max = self.limits.max_compute_workgroups_per_dimension.max(1) as u64;
        let x = groups.clamp(1, max);
        (x as u32, groups.div_ceil(x).max(1) as u32)
    }
}

/// Bytes read back per epoch for a batch: reference, S1, S2, state, and the weight partials.
fn epoch_bytes(replicas: usize, shape: &KernelShape) -> u64 {
    (replicas * (4 * shape.neurons + 2 * shape.stats_chunks) * 4) as u64
}

impl Backend for GpuBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn batch_capacity(&self, neurons: usize, precision: Precision) -> Result<usize> {
        if precision != Precision::F32 {
            return Err(Error::config(
                "backend.precision",
                "the GPU backend computes in f32; use --backend cpu for f64 reference runs",
            ));
        }
        let shape = self.shape(neurons)?;
        let w_bytes = (neurons * neurons * 4) as u64;
        let binding = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        if w_bytes > binding {
            return Err(Error::TooLarge(format!(
                "one replica's weights at N = {neurons} take {}, more than the {} one buffer \
                 binding of {} may hold; use --backend cpu",
                memory::human(w_bytes),
                memory::human(binding),
                self.summary.name
            )));
        }
        let by_binding = binding / w_bytes;
        // Indices are u32 in the shaders.
        let by_index = (u32::MAX as u64) / (neurons * neurons) as u64;
        let by_readback = (READBACK_BYTES / epoch_bytes(1, &shape)).max(1);
        // The host keeps the batch's f64 initial conditions and its f32 upload copy.
        let host = memory::available_bytes().unwrap_or(8 << 30) / 2;
        let by_host = (host / (w_bytes * 3)).max(1);
        Ok(by_binding
            .min(by_index)
            .min(by_readback)
            .min(by_host)
            .clamp(1, 1 << 20) as usize)
    }

    fn kernel_variant(&self, neurons: usize) -> Result<KernelVariant> {
        let shape = self.shape(neurons)?;
        Ok(KernelVariant {
            neurons,
            weight_storage: self.options.weight_storage.name(),
            weights_read_from: shape.weights_read_from(),
            resident_columns: Some(shape.resident_columns),
            placement: Some(shape.placement()),
            workgroup_bytes: Some(shape.workgroup_bytes()),
            workgroup_limit: Some(self.limits.max_compute_workgroup_storage_size as u64),
            workgroup_cap: self.options.workgroup_memory_bytes,
            steps_per_dispatch: Some(shape.steps_per_dispatch()),
            f16_decode: shape.f16_weights.then_some(if shape.native_f16_decode {
                "unpack2x16float"
            } else {
                "integer"
            }),
        })
    }

    fn run_batch(
        &mut self,
        schedule: &Schedule,
        precision: Precision,
        replicas: &[ReplicaInit],
        keep_final: bool,
        observers: &mut [&mut dyn TraceObserver],
    ) -> Result<BatchOutput> {
        if replicas.is_empty() {
            return Ok(BatchOutput::default());
        }
        assert!(observers.is_empty() || observers.len() == replicas.len());
        let n = replicas[0].state.len();
        let capacity = self.batch_capacity(n, precision)?;
        if replicas.len() > capacity {
            return Err(Error::TooLarge(format!(
                "a batch of {} replicas exceeds this adapter's capacity of {capacity} at N = {n}",
                replicas.len()
            )));
        }
        let shape = self.kernels(n)?.shape;
        let r = replicas.len();
        let dev = &self.device;
        let oom = dev.push_error_scope(wgpu::ErrorFilter::OutOfMemory);

        // Upload.
        let params: Vec<GpuReplicaParams> = replicas.iter().map(GpuReplicaParams::of).collect();
        let f32s = |f: &dyn Fn(&ReplicaInit) -> &Vec<f64>| -> Vec<f32> {
            replicas
                .iter()
                .flat_map(|x| f(x).iter().map(|&v| v as f32))
                .collect()
        };
        let storage = |label: &str, contents: &[u8], extra: wgpu::BufferUsages| {
            dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE | extra,
            })
        };
        let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        let params_buf = storage("params", bytemuck::cast_slice(&params), copy);
        let weights_buf = storage(
            "weights",
            bytemuck::cast_slice(&f32s(&|x| &x.weights)),
            copy,
        );
        let inputs_buf = storage("inputs", bytemuck::cast_slice(&f32s(&|x| &x.input)), copy);
        let states_buf = storage("states", bytemuck::cast_slice(&f32s(&|x| &x.state)), copy);
        let zeros = |label: &str, floats: usize| {
            dev.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (floats.max(1) * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE | copy,
                mapped_at_creation: false,
            })
        };
        let accum_buf = zeros("accum", 3 * r * n);
        let partials_buf = zeros("partials", 2 * r * shape.stats_chunks);
        // f16 storage: the packed copy the local field reads (filled by `pack_weights`).
        let half_words = r * shape.half_words();
        let half_buf = zeros(
            "weights_half",
            if shape.f16_weights { half_words } else { 1 },
        );

        // Tracing: which recorded steps go to the observers, in chunks of at most `trace_chunk`.
        let tracing = !observers.is_empty();
        let traced_from = if !tracing {
            schedule.recorded_steps
        } else if observers.iter().any(|o| o.needs_full_window()) {
            0
        } else {
            let tail = observers.iter().map(|o| o.tail_steps()).max().unwrap_or(1);
            schedule.recorded_steps.saturating_sub(tail)
        };
        let step_bytes = (r * 2 * n * 4) as u64;
        let trace_chunk = (TRACE_BYTES / step_bytes).clamp(1, shape.steps_per_dispatch());
        let trace_buf = zeros(
            "trace",
            if tracing {
                trace_chunk as usize * r * 2 * n
            } else {
                1
            },
        );

        // The table of dispatch parameters, bound with dynamic offsets.
        let align = self.limits.min_uniform_buffer_offset_alignment.max(32) as usize;
        let mut table: Vec<DispatchParams> = Vec::new();
        let mut offset_of = |p: DispatchParams| -> u32 {
            let k = table.iter().position(|q| *q == p).unwrap_or_else(|| {
                table.push(p);
                table.len() - 1
            });
            (k * align) as u32
        };
        let dispatch = |steps: u64, mode: u32, grid_x: u32, trace: bool| DispatchParams {
            steps: steps as u32,
            mode,
            replicas: r as u32,
            grid_x,
            recorded_steps: schedule.recorded_steps as u32,
            trace: trace as u32,
            _pad: [0; 2],
        };
        let neuron_grid = self.grid(r as u64);
        let hebbian_grid = self.grid(((r * n * n) as u64).div_ceil(HEBBIAN_WG as u64));
        let stats_grid = self.grid((r * shape.stats_chunks) as u64);
        // Dispatches covering `steps` steps in chunks of `chunk`: (offset, steps).
        let mut chunks = |steps: usize, chunk: u64, mode_first: u32, mode: u32, trace: bool| {
            let mut out = Vec::new();
            let mut left = steps as u64;
            let mut first = true;
            while left > 0 {
                let s = left.min(chunk);
                let m = if first { mode_first } else { mode };
                out.push((offset_of(dispatch(s, m, neuron_grid.0, trace)), s));
                left -= s;
                first = false;
            }
            out
        };
        let full = shape.steps_per_dispatch();
        let transient = chunks(
            schedule.transient_steps,
            full,
            MODE_TRANSIENT,
            MODE_TRANSIENT,
            false,
        );
        let mut untraced = chunks(traced_from, full, MODE_RECORD_BEGIN, MODE_RECORD, false);
        let traced_first = if traced_from == 0 {
            MODE_RECORD_BEGIN
        } else {
            MODE_RECORD
        };
        let traced = chunks(
            schedule.recorded_steps - traced_from,
            trace_chunk,
            traced_first,
            MODE_RECORD,
            true,
        );
        if !tracing {
            untraced.extend(traced.iter().copied());
        }
        let stats_offset = offset_of(dispatch(0, 0, stats_grid.0, false));
        let hebbian_offset = offset_of(dispatch(0, 0, hebbian_grid.0, false));
        let pack_grid = self.grid((half_words as u64).div_ceil(PACK_WG as u64));
        let pack_offset = offset_of(dispatch(0, 0, pack_grid.0, false));
        let mut table_bytes = vec![0u8; table.len() * align];
        for (k, p) in table.iter().enumerate() {
            table_bytes[k * align..k * align + 32].copy_from_slice(bytemuck::bytes_of(p));
        }
        let table_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dispatch_table"),
            contents: &table_bytes,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("hebbnet.batch"),
            layout: &self.layout,
            entries: &[
                entry(0, &params_buf),
                entry(1, &weights_buf),
                entry(2, &inputs_buf),
                entry(3, &states_buf),
                entry(4, &accum_buf),
                entry(5, &partials_buf),
                wgpu::BindGroupEntry {
                    binding: 6,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &table_buf,
                        offset: 0,
                        size: wgpu::BufferSize::new(32),
                    }),
                },
                entry(7, &trace_buf),
                entry(8, &half_buf),
            ],
        });

        // Epochs, in groups that share one readback buffer (one epoch per group when tracing).
        let per_epoch = epoch_bytes(r, &shape);
        let group = if tracing {
            1
        } else {
            ((READBACK_BYTES / per_epoch).max(1) as usize).min(schedule.epochs)
        };
        let readback = staging(dev, "readback", per_epoch * group as u64);
        let trace_staging = [0, 1].map(|_| {
            staging(
                dev,
                "trace_staging",
                if tracing { trace_chunk * step_bytes } else { 4 },
            )
        });
        // The W observers see: the one the local field reads (the f16 copy with f16 storage).
        let (traced_w, traced_w_bytes) = if shape.f16_weights {
            (&half_buf, (half_words * 4) as u64)
        } else {
            (&weights_buf, (r * n * n * 4) as u64)
        };
        let weights_staging = staging(
            dev,
            "weights_staging",
            if tracing { traced_w_bytes } else { 4 },
        );
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(Error::Gpu(format!(
                "the GPU ran out of memory allocating a batch of {r} replicas at N = {n} ({e}); \
                 set backend.batch_replicas lower"
            )));
        }
        let kernels = &self.kernels[&n];
        let queue = &self.queue;
        let (rn4, accum_bytes) = ((r * n * 4) as u64, (3 * r * n * 4) as u64);
        let partial_bytes = (2 * r * shape.stats_chunks * 4) as u64;
        let neuron = |encoder: &mut wgpu::CommandEncoder, offsets: &[(u32, u64)]| {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&kernels.neuron);
            for &(o, _) in offsets {
                pass.set_bind_group(0, &bind_group, &[o]);
                pass.dispatch_workgroups(neuron_grid.0, neuron_grid.1, 1);
            }
        };
        // f16 storage: refresh the packed copy from the master.
        let pack = |encoder: &mut wgpu::CommandEncoder| {
            if let Some(pipeline) = &kernels.pack {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bind_group, &[pack_offset]);
                pass.dispatch_workgroups(pack_grid.0, pack_grid.1, 1);
            }
        };
        let stats = |encoder: &mut wgpu::CommandEncoder| {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&kernels.stats);
            pass.set_bind_group(0, &bind_group, &[stats_offset]);
            pass.dispatch_workgroups(stats_grid.0, stats_grid.1, 1);
        };
        // Copy the epoch's sums to the readback slot `base`, then learn.
        let finish_epoch = |encoder: &mut wgpu::CommandEncoder, base: u64| {
            encoder.copy_buffer_to_buffer(&accum_buf, 0, &readback, base, accum_bytes);
            encoder.copy_buffer_to_buffer(&states_buf, 0, &readback, base + accum_bytes, rn4);
            encoder.copy_buffer_to_buffer(
                &partials_buf,
                0,
                &readback,
                base + accum_bytes + rn4,
                partial_bytes,
            );
            if schedule.learning {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&kernels.hebbian);
                pass.set_bind_group(0, &bind_group, &[hebbian_offset]);
                pass.dispatch_workgroups(hebbian_grid.0, hebbian_grid.1, 1);
                drop(pass);
                pack(encoder);
            }
        };
        let submit = |encoder: wgpu::CommandEncoder| -> Result<()> {
            let validation = dev.push_error_scope(wgpu::ErrorFilter::Validation);
            queue.submit([encoder.finish()]);
            match pollster::block_on(validation.pop()) {
                Some(e) => Err(Error::Gpu(format!("GPU command failed: {e}"))),
                None => Ok(()),
            }
        };

        let mut outputs = Vec::with_capacity(schedule.epochs);
        let mut epoch = 0;
        while epoch < schedule.epochs {
            let in_group = group.min(schedule.epochs - epoch);
            let mut encoder = dev.create_command_encoder(&Default::default());
            if epoch == 0 {
                pack(&mut encoder); // the uploaded W
            }
            for g in 0..in_group {
                stats(&mut encoder);
                neuron(&mut encoder, &transient);
                neuron(&mut encoder, &untraced);
                if tracing {
                    encoder.copy_buffer_to_buffer(traced_w, 0, &weights_staging, 0, traced_w_bytes);
                    break;
                }
                finish_epoch(&mut encoder, g as u64 * per_epoch);
            }
            submit(encoder)?;
            if tracing {
                // W^(T) to the observers, then the traced chunks, double-buffered: the GPU runs
                // chunk c while the CPU analyses chunk c − 1.
                let w = read_buffer(dev, &weights_staging, traced_w_bytes)?;
                let half = shape.f16_weights.then_some(shape.half_words());
                observers.par_iter_mut().enumerate().for_each(|(k, o)| {
                    let wk: Vec<f64> = match half {
                        // Element e of replica k: half e mod 2 of word k·words + e/2.
                        Some(words) => {
                            let w: &[u32] = bytemuck::cast_slice(&w);
                            (0..n * n)
                                .map(|e| {
                                    let word = w[k * words + e / 2] >> (16 * (e % 2));
                                    f16_bits_to_f32(word as u16) as f64
                                })
                                .collect()
                        }
                        None => {
                            let w: &[f32] = bytemuck::cast_slice(&w);
                            w[k * n * n..(k + 1) * n * n]
                                .iter()
                                .map(|&v| v as f64)
                                .collect()
                        }
                    };
                    o.begin_epoch(epoch, &wk);
                });
                let mut pending: Option<(usize, u64)> = None;
                for (c, &(offset, steps)) in traced.iter().enumerate() {
                    let mut encoder = dev.create_command_encoder(&Default::default());
                    neuron(&mut encoder, &[(offset, steps)]);
                    encoder.copy_buffer_to_buffer(
                        &trace_buf,
                        0,
                        &trace_staging[c % 2],
                        0,
                        steps * step_bytes,
                    );
                    submit(encoder)?;
                    if let Some((p, s)) = pending.take() {
                        deliver(dev, &trace_staging[p % 2], s, r, n, observers)?;
                    }
                    pending = Some((c, steps));
                }
                if let Some((p, s)) = pending {
                    deliver(dev, &trace_staging[p % 2], s, r, n, observers)?;
                }
                let mut encoder = dev.create_command_encoder(&Default::default());
                finish_epoch(&mut encoder, 0);
                submit(encoder)?;
                observers.par_iter_mut().for_each(|o| o.end_epoch());
            }
            let bytes = read_buffer(dev, &readback, per_epoch * in_group as u64)?;
            let floats: &[f32] = bytemuck::cast_slice(&bytes);
            for g in 0..in_group {
                let e = &floats[g * per_epoch as usize / 4..(g + 1) * per_epoch as usize / 4];
                outputs.push(unpack_epoch(e, r, n, shape.stats_chunks));
            }
            epoch += in_group;
        }

        let mut finals = Vec::new();
        if keep_final {
            let w = read_copy(dev, &self.queue, &weights_buf, (r * n * n * 4) as u64)?;
            let s = read_copy(dev, &self.queue, &states_buf, rn4)?;
            let (w, s): (&[f32], &[f32]) = (bytemuck::cast_slice(&w), bytemuck::cast_slice(&s));
            for k in 0..r {
                finals.push(FinalState {
                    weights: w[k * n * n..(k + 1) * n * n]
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                    state: s[k * n..(k + 1) * n].iter().map(|&v| v as f64).collect(),
                });
            }
        }
        Ok(BatchOutput {
            epochs: outputs,
            finals,
        })
    }
}

/// A MAP_READ | COPY_DST buffer.
fn staging(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Read a trace chunk of `steps` steps and feed it to the observers, replicas in parallel.
fn deliver(
    device: &wgpu::Device,
    staging: &wgpu::Buffer,
    steps: u64,
    r: usize,
    n: usize,
    observers: &mut [&mut dyn TraceObserver],
) -> Result<()> {
    let bytes = read_buffer(device, staging, steps * (r * 2 * n * 4) as u64)?;
    let trace: &[f32] = bytemuck::cast_slice(&bytes);
    observers.par_iter_mut().enumerate().for_each(|(k, o)| {
        let (mut d, mut x) = (vec![0.0; n], vec![0.0; n]);
        for t in 0..steps as usize {
            let at = (t * r + k) * 2 * n;
            for i in 0..n {
                d[i] = trace[at + i] as f64;
                x[i] = trace[at + n + i] as f64;
            }
            o.step(&d, &x);
        }
    });
    Ok(())
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

fn unpack_epoch(e: &[f32], r: usize, n: usize, chunks: usize) -> EpochOutput {
    let rn = r * n;
    let widen = |s: &[f32]| s.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let partials = &e[4 * rn..4 * rn + 2 * r * chunks];
    let mut weight_sum = vec![0.0; r];
    let mut weight_sq_sum = vec![0.0; r];
    for k in 0..r {
        for c in 0..chunks {
            weight_sum[k] += partials[2 * (k * chunks + c)] as f64;
            weight_sq_sum[k] += partials[2 * (k * chunks + c) + 1] as f64;
        }
    }
    EpochOutput {
        reference: widen(&e[..rn]),
        shifted_sum: widen(&e[rn..2 * rn]),
        shifted_sq_sum: widen(&e[2 * rn..3 * rn]),
        state: widen(&e[3 * rn..4 * rn]),
        weight_sum,
        weight_sq_sum,
    }
}

/// Map a MAP_READ buffer after the queue's work and copy out `size` bytes.
fn read_buffer(device: &wgpu::Device, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
    let slice = buffer.slice(..size);
    let (tx, rx) = mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Error::Gpu(format!("reading GPU results failed: {e}"))),
        Err(_) => return Err(Error::Gpu("the GPU device was lost".into())),
    }
    let bytes = slice
        .get_mapped_range()
        .map_err(|e| Error::Gpu(format!("reading GPU results failed: {e:?}")))?
        .to_vec();
    buffer.unmap();
    Ok(bytes)
}

/// Copy a storage buffer to a fresh staging buffer and read it.
fn read_copy(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    source: &wgpu::Buffer,
    size: u64,
) -> Result<Vec<u8>> {
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("staging"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(source, 0, &staging, 0, size);
    queue.submit([encoder.finish()]);
    read_buffer(device, &staging, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_chunks_respect_the_loop_budget() {
        for n in [1, 3, 100, 257, 1000, 2000] {
            for storage in [WeightStorage::F32, WeightStorage::F16] {
                // Global, a third, a ragged split (N mod 4 ≠ 0 on both sides), and full.
                for cols in [0, n / 3, (n / 2) | 1, n] {
                    let s = KernelShape::new(n, 256).with_weights(storage, cols);
                    assert!(s.workgroup >= 32 && s.workgroup <= 256);
                    assert!(s.rows_per_thread * s.workgroup >= n);
                    let steps = s.steps_per_dispatch();
                    assert!(steps >= 1, "N = {n}");
                    assert!(
                        steps * s.backedges_per_step() + s.setup_backedges() <= BACKEDGE_BUDGET
                    );
                    assert!(
                        (n * n).div_ceil(s.stats_chunks) <= STATS_WG as usize * STATS_PER_THREAD
                    );
                }
            }
        }
        // At N = 100 (one row per thread): 25 + 0 + 1 + 2 + 1 = 29 back-edges a step, whether W
        // is global or resident.
        let s = KernelShape::new(100, 256);
        assert_eq!(s.backedges_per_step(), 29);
        assert_eq!(
            s.with_weights(WeightStorage::F32, 100).backedges_per_step(),
            29
        );
        // Split at 33: (8 + 1) + (16 + 3) + 1 + 2 + 1 = 32; at 32 the split costs nothing.
        assert_eq!(
            s.with_weights(WeightStorage::F32, 33).backedges_per_step(),
            32
        );
        assert_eq!(
            s.with_weights(WeightStorage::F32, 32).backedges_per_step(),
            29
        );
        // A split adds at most 3 back-edges per row and step.
        for n in [37, 91, 300] {
            let s = KernelShape::new(n, 256);
            for c in 0..=n {
                let split = s.with_weights(WeightStorage::F32, c).backedges_per_step();
                assert!(split <= s.backedges_per_step() + 3 * s.rows_per_thread as u64);
            }
        }
    }

    #[test]
    fn resident_columns_are_a_prefix_that_fits_the_limit() {
        let s = KernelShape::new(100, 256);
        // lavapipe's 32 KiB at N = 100, f32: 4·(100 + 100c) ≤ 32768 → c = 80 (32,400 bytes).
        assert_eq!(s.fitting_columns(WeightStorage::F32, 32 << 10), 80);
        let p = s.with_weights(WeightStorage::F32, 80);
        assert_eq!((p.tile_words(), p.workgroup_bytes()), (8000, 32_400));
        assert_eq!(p.weights_read_from(), "partial");
        assert_eq!(
            p.placement(),
            "W: 80 of 100 columns in workgroup memory (f32), 20 read from global memory"
        );
        // One byte short of a column boundary, and exactly on it.
        assert_eq!(s.fitting_columns(WeightStorage::F32, 32_399), 79);
        assert_eq!(s.fitting_columns(WeightStorage::F32, 32_400), 80);
        // The signal alone fits but not one column; not even the signal.
        assert_eq!(s.fitting_columns(WeightStorage::F32, 799), 0);
        assert_eq!(s.fitting_columns(WeightStorage::F32, 100), 0);
        // f16 at N = 100 (even): any column count, 50 words per column.
        assert_eq!(s.fitting_columns(WeightStorage::F16, 32 << 10), 100);
        assert_eq!(
            s.fitting_columns(WeightStorage::F16, 4 * (100 + 50 * 33)),
            33
        );
        let h = s.with_weights(WeightStorage::F16, 33);
        assert_eq!((h.resident_columns, h.tile_words()), (33, 1650));

        // Odd N with f16: a partial tile holds an even number of elements, so the column count
        // is even; full residency keeps ⌈N²/2⌉ words.
        let odd = KernelShape::new(37, 256);
        for c in 0..=37 {
            let t = odd.with_weights(WeightStorage::F16, c);
            if c < 37 {
                assert_eq!(t.resident_columns, c & !1, "c = {c}");
                assert_eq!((t.resident_columns * 37) % 2, 0);
            }
            if t.resident_columns > 0 {
                assert_eq!(
                    2 * t.tile_words(),
                    (t.resident_columns * 37).next_multiple_of(2)
                );
            }
            // f32 takes any count.
            assert_eq!(odd.with_weights(WeightStorage::F32, c).resident_columns, c);
        }
        let full = odd.with_weights(WeightStorage::F16, 37);
        assert_eq!((full.resident_columns, full.tile_words()), (37, 685)); // ⌈1369/2⌉
        assert_eq!(
            odd.with_weights(WeightStorage::F16, 40).resident_columns,
            37
        );
        // 13 columns' worth of f16 words (240.5 words): 12 columns.
        assert_eq!(odd.fitting_columns(WeightStorage::F16, 4 * (37 + 241)), 12);
        assert_eq!(odd.fitting_columns(WeightStorage::F16, 4 * (37 + 259)), 14);

        // Over a grid of sizes and limits: the choice fits, and one more column would not.
        for n in [1, 2, 3, 37, 64, 91, 100, 257] {
            let s = KernelShape::new(n, 256);
            for storage in [WeightStorage::F32, WeightStorage::F16] {
                for limit in (0..=64 << 10).step_by(997) {
                    let c = s.fitting_columns(storage, limit);
                    let t = s.with_weights(storage, c);
                    assert_eq!(t.resident_columns, c);
                    if c > 0 {
                        assert!(t.workgroup_bytes() <= limit, "N = {n}, {limit}");
                    }
                    if c < n {
                        let more = (c + 1..=n)
                            .map(|m| s.with_weights(storage, m))
                            .find(|m| m.resident_columns > c)
                            .expect("a larger count");
                        assert!(more.workgroup_bytes() > limit, "N = {n}, {limit}: {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn placement_modes_choose_full_partial_or_global() {
        use WeightsInWorkgroup::{Always, Auto, Never};
        let s = KernelShape::new(100, 256);
        let f32w = WeightStorage::F32;
        let full = s.with_weights(f32w, 100).workgroup_bytes(); // 40,400
        let cases = [
            // (limit, auto, always)
            (48 << 10, 100, Some(100)),
            (full, 100, Some(100)),
            (full - 1, 99, None),
            (32 << 10, 80, None),
            (4 * (100 + 3 * 100), 3, None),
            (799, 0, None), // the signal fits, not one column
        ];
        for (limit, auto, always) in cases {
            assert_eq!(resident_columns(Never, &s, f32w, limit), Some(0));
            assert_eq!(
                resident_columns(Auto, &s, f32w, limit),
                Some(auto),
                "{limit}"
            );
            assert_eq!(resident_columns(Always, &s, f32w, limit), always, "{limit}");
        }
        // f16 at N = 91 on lavapipe's 32 KiB: all of W fits (16,928 bytes); under a 6 KiB cap
        // a partial, even column count.
        let s = KernelShape::new(91, 256);
        let f16w = WeightStorage::F16;
        assert_eq!(resident_columns(Auto, &s, f16w, 32 << 10), Some(91));
        let c = resident_columns(Auto, &s, f16w, 6 << 10).unwrap();
        assert_eq!(c, 30); // 4·(91 + 91·30/2) = 5,824 ≤ 6,144 < 4·(91 + 91·32/2)
        assert_eq!(resident_columns(Always, &s, f16w, 6 << 10), None);
    }

    #[test]
    fn workgroup_memory_of_each_weight_variant() {
        let s = KernelShape::new(100, 256);
        assert_eq!(s.workgroup_bytes(), 404); // signal + the unused one-word tile
        let f32w = s.with_full_residency(WeightStorage::F32, true);
        assert_eq!(f32w.workgroup_bytes(), 40_400);
        let f16w = s.with_full_residency(WeightStorage::F16, true);
        assert_eq!(f16w.workgroup_bytes(), 20_400);
        // Odd N²: the last word holds one weight.
        let odd = KernelShape::new(7, 256).with_full_residency(WeightStorage::F16, true);
        assert_eq!((odd.half_words(), odd.tile_words()), (25, 25));
        // The copy loop counts against the loop budget: ⌈10000 / 128⌉ = 79 iterations at N = 100.
        assert_eq!(f32w.setup_backedges(), 2 + 79);
        // lavapipe (32 KiB) and a typical NVIDIA Vulkan limit (48 KiB).
        assert_eq!(largest_resident_n(32 << 10, WeightStorage::F32), 90);
        assert_eq!(largest_resident_n(32 << 10, WeightStorage::F16), 127);
        assert_eq!(largest_resident_n(48 << 10, WeightStorage::F32), 110);
        assert_eq!(largest_resident_n(48 << 10, WeightStorage::F16), 155);
    }

    #[test]
    fn struct_sizes_match_the_shaders() {
        assert_eq!(std::mem::size_of::<GpuReplicaParams>(), 48);
        assert_eq!(std::mem::size_of::<DispatchParams>(), 32);
    }
}
