//! The GPU backend: WGSL compute shaders through wgpu.
//!
//! Per batch, every replica's `W`, input, state and recording sums live in storage buffers.
//! Each epoch is encoded entirely on the GPU — weight statistics, the transient and recorded
//! steps (in chunks of [`GpuBackend::steps_per_dispatch`]), copies of the epoch's sums into a
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

pub mod context;

use std::collections::HashMap;
use std::sync::mpsc;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

pub use context::AdapterSummary;

use rayon::prelude::*;

use super::{Backend, BackendInfo, BatchOutput, EpochOutput, FinalState, Schedule, TraceObserver};
use crate::config::Precision;
use crate::ensemble::ReplicaInit;
use crate::error::{Error, Result};
use crate::experiment::memory;

const COMMON: &str = include_str!("../../../shaders/common.wgsl");
const NEURON_UPDATE: &str = include_str!("../../../shaders/neuron_update.wgsl");
const HEBBIAN_UPDATE: &str = include_str!("../../../shaders/hebbian_update.wgsl");
const WEIGHT_STATS: &str = include_str!("../../../shaders/weight_stats.wgsl");

/// Back-edges one invocation may take per dispatch. lavapipe (llvmpipe) silently ends loops of
/// an invocation after 65,535 back-edges summed over all loops (engineering.md); half of that
/// leaves a wide margin. The same bound on real GPUs keeps each dispatch short.
pub const BACKEDGE_BUDGET: u64 = 32_768;
/// Per-epoch readback goes through buffers of at most this size.
const READBACK_BYTES: u64 = 64 << 20;
/// Trace chunks (D(t) and states for the analysis) are at most this size.
const TRACE_BYTES: u64 = 32 << 20;
const HEBBIAN_WG: u32 = 256;
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
}

impl KernelShape {
    pub fn new(neurons: usize, max_invocations: usize) -> KernelShape {
        let workgroup = neurons
            .next_power_of_two()
            .clamp(32, 256.min(max_invocations.max(32)));
        KernelShape {
            neurons,
            workgroup,
            rows_per_thread: neurons.div_ceil(workgroup),
            stats_chunks: (neurons * neurons).div_ceil(STATS_WG as usize * STATS_PER_THREAD),
        }
    }

    /// WGSL source of a kernel family with this shape's constants in front.
    pub fn source(&self, kernel: &str) -> String {
        format!(
            "const N: u32 = {}u;\nconst WG: u32 = {}u;\nconst RPT: u32 = {}u;\n\
             const STATS_CHUNKS: u32 = {}u;\n{COMMON}\n{kernel}",
            self.neurons, self.workgroup, self.rows_per_thread, self.stats_chunks
        )
    }

    /// Loop back-edges of one `neuron_update` invocation per time step, counted as if the
    /// compiler unrolled nothing: per owned row, N/4 unrolled + N mod 4 scalar iterations and
    /// the row loops themselves, plus the time loop.
    pub fn backedges_per_step(&self) -> u64 {
        let n = self.neurons as u64;
        let rows = self.rows_per_thread as u64;
        rows * (n / 4 + n % 4 + 1) + 2 * rows + 1
    }

    /// Steps one dispatch may advance within [`BACKEDGE_BUDGET`]; 0 if not even one fits.
    pub fn steps_per_dispatch(&self) -> u64 {
        let setup = 2 * self.rows_per_thread as u64;
        BACKEDGE_BUDGET.saturating_sub(setup) / self.backedges_per_step()
    }
}

/// Every WGSL kernel family with its entry point, for validation.
pub fn kernel_sources(shape: &KernelShape) -> Vec<(&'static str, String)> {
    vec![
        ("neuron_update", shape.source(NEURON_UPDATE)),
        ("hebbian_update", shape.source(HEBBIAN_UPDATE)),
        ("weight_stats", shape.source(WEIGHT_STATS)),
    ]
}

struct Kernels {
    shape: KernelShape,
    neuron: wgpu::ComputePipeline,
    hebbian: wgpu::ComputePipeline,
    stats: wgpu::ComputePipeline,
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
}

impl GpuBackend {
    /// Open the best adapter (hardware first). Errors name the fix when there is none.
    pub fn new() -> Result<GpuBackend> {
        let (adapter, device, queue, summary) = context::open_device()?;
        let limits = adapter.limits();
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
        let info = BackendInfo {
            kind: "gpu",
            description: format!("GPU: {}", summary.line()),
            adapter: Some(summary.clone()),
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
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The kernel shape for N neurons, or why this adapter cannot run it.
    pub fn shape(&self, neurons: usize) -> Result<KernelShape> {
        let shape = KernelShape::new(
            neurons,
            self.limits.max_compute_invocations_per_workgroup as usize,
        );
        let shared = neurons as u64 * 4;
        if shared > self.limits.max_compute_workgroup_storage_size as u64 {
            return Err(Error::TooLarge(format!(
                "N = {neurons} needs {shared} bytes of workgroup memory for the signal, but {} \
                 offers {}; use --backend cpu",
                self.summary.name, self.limits.max_compute_workgroup_storage_size
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
        let weights_staging = staging(
            dev,
            "weights_staging",
            if tracing { (r * n * n * 4) as u64 } else { 4 },
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
            for g in 0..in_group {
                stats(&mut encoder);
                neuron(&mut encoder, &transient);
                neuron(&mut encoder, &untraced);
                if tracing {
                    encoder.copy_buffer_to_buffer(
                        &weights_buf,
                        0,
                        &weights_staging,
                        0,
                        (r * n * n * 4) as u64,
                    );
                    break;
                }
                finish_epoch(&mut encoder, g as u64 * per_epoch);
            }
            submit(encoder)?;
            if tracing {
                // W^(T) to the observers, then the traced chunks, double-buffered: the GPU runs
                // chunk c while the CPU analyses chunk c − 1.
                let w = read_buffer(dev, &weights_staging, (r * n * n * 4) as u64)?;
                let w: &[f32] = bytemuck::cast_slice(&w);
                observers.par_iter_mut().enumerate().for_each(|(k, o)| {
                    let wk: Vec<f64> = w[k * n * n..(k + 1) * n * n]
                        .iter()
                        .map(|&v| v as f64)
                        .collect();
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
            let s = KernelShape::new(n, 256);
            assert!(s.workgroup >= 32 && s.workgroup <= 256);
            assert!(s.rows_per_thread * s.workgroup >= n);
            let steps = s.steps_per_dispatch();
            assert!(steps >= 1, "N = {n}");
            assert!(
                steps * s.backedges_per_step() + 2 * s.rows_per_thread as u64 <= BACKEDGE_BUDGET
            );
            assert!((n * n).div_ceil(s.stats_chunks) <= STATS_WG as usize * STATS_PER_THREAD);
        }
        // At N = 100 (one row per thread): 25 + 0 + 1 + 2 + 1 = 29 back-edges a step.
        assert_eq!(KernelShape::new(100, 256).backedges_per_step(), 29);
    }

    #[test]
    fn struct_sizes_match_the_shaders() {
        assert_eq!(std::mem::size_of::<GpuReplicaParams>(), 48);
        assert_eq!(std::mem::size_of::<DispatchParams>(), 32);
    }
}
