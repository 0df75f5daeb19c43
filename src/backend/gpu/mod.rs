//! The GPU backend: WGSL compute shaders through wgpu.
//!
//! This module is the device every family shares (adapter, limits, bind-group layout,
//! buffers, readback); [`analog`] holds the analog family's kernels and batch runner. The design
//! notes below are the analog kernels'.
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

pub mod analog;
pub mod bms;
pub mod context;
pub mod jiang;
pub mod lotito;

use std::collections::HashMap;
use std::sync::mpsc;

pub use context::AdapterSummary;

use super::BackendInfo;
use crate::config::{WeightStorage, WeightsInWorkgroup};
use crate::error::{Error, Result};

use analog::*;
pub use analog::{
    kernel_sources, largest_resident_n, resident_columns, GpuReplicaParams, KernelShape,
    BACKEDGE_BUDGET,
};

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
    /// The BMS family's pipelines (`gpu/bms`), compiled on first use.
    bms: bms::Cache,
    /// The Jiang family's pipelines (`gpu/jiang`), compiled on first use.
    jiang: jiang::Cache,
    /// The Lotito family's pipelines (`gpu/lotito`), compiled on first use.
    lotito: lotito::Cache,
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
            bms: bms::Cache::default(),
            jiang: jiang::Cache::default(),
            lotito: lotito::Cache::default(),
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

/// A MAP_READ | COPY_DST buffer.
/// The bind group and pipeline layouts of a family kernel: storage buffers at bindings 0, 1, …
/// (`read_only[k]` for binding k), then a uniform dispatch record of `uniform_size` bytes with a
/// dynamic offset at the next binding (`label`: `hebbnet.<family>`).
pub(crate) fn family_layouts(
    device: &wgpu::Device,
    label: &str,
    read_only: &[bool],
    uniform_size: u64,
) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
    let mut entries: Vec<wgpu::BindGroupLayoutEntry> = read_only
        .iter()
        .enumerate()
        .map(|(binding, &read_only)| wgpu::BindGroupLayoutEntry {
            binding: binding as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    entries.push(wgpu::BindGroupLayoutEntry {
        binding: read_only.len() as u32,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: wgpu::BufferSize::new(uniform_size),
        },
        count: None,
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(&format!("{label}.bindings")),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&format!("{label}.pipeline_layout")),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    (layout, pipeline_layout)
}

/// Compile `source` into a compute pipeline with entry point `entry` under `layout`; a shader
/// validation error becomes [`Error::Gpu`] naming `what` (the family).
pub(crate) fn compile_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    entry: &str,
    source: String,
    what: &str,
) -> Result<wgpu::ComputePipeline> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(entry),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(layout),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(Error::Gpu(format!("{what} shader compilation failed: {e}")));
    }
    Ok(pipeline)
}

fn staging(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// The 32-byte dispatch table (a uniform: step range and offsets of one dispatch) at `binding`,
/// shared by every family's kernels.
fn dispatch_table_entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: 0,
            size: wgpu::BufferSize::new(32),
        }),
    }
}

/// The dispatch table of `list`: one 32-byte record per dispatch, each at a multiple of
/// `align` bytes (the device's uniform offset alignment), read through a dynamic offset.
fn dispatch_table<T: bytemuck::Pod>(
    device: &wgpu::Device,
    label: &str,
    list: &[T],
    align: usize,
) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    debug_assert_eq!(
        std::mem::size_of::<T>(),
        32,
        "a dispatch record is 32 bytes"
    );
    let mut bytes = vec![0u8; list.len().max(1) * align];
    for (k, d) in list.iter().enumerate() {
        bytes[k * align..k * align + 32].copy_from_slice(bytemuck::bytes_of(d));
    }
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &bytes,
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// One compute pass running `pipeline` once per dispatch-table record (`count` of them,
/// `align` bytes apart), each over `grid` workgroups.
fn dispatch_each(
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    bind_group: &wgpu::BindGroup,
    count: usize,
    align: usize,
    grid: (u32, u32),
) {
    let mut pass = encoder.begin_compute_pass(&Default::default());
    pass.set_pipeline(pipeline);
    for k in 0..count {
        pass.set_bind_group(0, bind_group, &[(k * align) as u32]);
        pass.dispatch_workgroups(grid.0, grid.1, 1);
    }
}

/// Submit `encoder`'s commands; a validation error becomes [`Error::Gpu`].
fn submit(device: &wgpu::Device, queue: &wgpu::Queue, encoder: wgpu::CommandEncoder) -> Result<()> {
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    queue.submit([encoder.finish()]);
    match pollster::block_on(validation.pop()) {
        Some(e) => Err(Error::Gpu(format!("GPU command failed: {e}"))),
        None => Ok(()),
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
