//! A batch of analog replicas on the GPU: the whole epoch schedule encoded on the device, read
//! back once per group of epochs, the analysis fed from streamed trace chunks.

use super::*;
use crate::backend::gpu::{
    dispatch_table, dispatch_table_entry, entry, read_buffer, read_copy, staging, submit,
    GpuBackend,
};

use wgpu::util::DeviceExt;

use rayon::prelude::*;

use crate::backend::{
    Backend, BackendInfo, BatchOutput, EpochOutput, FinalState, KernelVariant, Schedule,
    TraceObserver,
};
use crate::config::Precision;
use crate::ensemble::ReplicaInit;
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::model::f16::f16_bits_to_f32;

/// Bytes read back per epoch for a batch: reference, S1, S2 (and, in a batch with a drive, the
/// two lock-in sums: `sections` = 3 or 5 of these per-neuron sums), state, and the weight
/// partials.
fn epoch_bytes(replicas: usize, shape: &KernelShape, sections: usize) -> u64 {
    (replicas * ((sections + 1) * shape.neurons + 2 * shape.stats_chunks) * 4) as u64
}

impl Backend for GpuBackend {
    /// The BMS family's kernels live in `gpu/bms`; this impl block is shared by every family.
    fn run_bms(
        &mut self,
        precision: Precision,
        batch: &crate::model::bms::Batch<'_>,
    ) -> Result<Vec<crate::model::bms::Trace>> {
        crate::backend::gpu::bms::run(self, precision, batch)
    }

    /// The Jiang family's kernels live in `gpu/jiang`.
    fn run_jiang(
        &mut self,
        precision: Precision,
        batch: &crate::model::jiang::Batch<'_>,
    ) -> Result<Vec<crate::model::jiang::Trace>> {
        crate::backend::gpu::jiang::run(self, precision, batch)
    }

    /// The Lotito family's kernels live in `gpu/lotito`.
    fn run_lotito(
        &mut self,
        precision: Precision,
        batch: &crate::model::lotito::Batch,
    ) -> Result<Vec<crate::model::lotito::Trace>> {
        crate::backend::gpu::lotito::run(self, precision, batch)
    }

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
        // Counted without the lock-in sums: a batch with a drive may read back up to 1.5 times
        // READBACK_BYTES per epoch (a soft bound), and undriven capacities stay as they were.
        let by_readback = (READBACK_BYTES / epoch_bytes(1, &shape, 3)).max(1);
        // Host memory per replica (src/ensemble draws each W straight into the f32 upload
        // buffer): the upload copy, then, with `--save weights`, the f32 readback and the f64
        // final copy — at most three times W in f32.
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
        for init in replicas {
            if let Some(d) = &init.drive {
                d.check(n)?;
            }
        }
        // A batch with a drive also uploads the directions, keeps two lock-in sums, and gives
        // every dispatch its run step (`DispatchParams::start`).
        let driven = replicas.iter().any(|x| x.drive.is_some());
        let sections = if driven { 5 } else { 3 };
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
        // Each replica's W drawn on a worker thread straight into its slot of the upload
        // buffer: the batch's W exists once on the host, in f32 (no f64 copy of the batch).
        let nn = n * n;
        let mut host_weights = vec![0f32; replicas.len() * nn];
        host_weights
            .par_chunks_mut(nn.max(1))
            .zip(replicas.par_iter())
            .for_each(|(slot, x)| {
                for (d, &v) in slot.iter_mut().zip(x.weights.get().iter()) {
                    *d = v as f32;
                }
            });
        let weights_buf = storage("weights", bytemuck::cast_slice(&host_weights), copy);
        drop(host_weights);
        let mut inputs = f32s(&|x| &x.input);
        if driven {
            // The drive directions after ξ (zeros for replicas without a drive).
            for x in replicas {
                match &x.drive {
                    Some(d) => inputs.extend(d.direction.iter().map(|&v| v as f32)),
                    None => inputs.extend(std::iter::repeat_n(0f32, n)),
                }
            }
        }
        let inputs_buf = storage("inputs", bytemuck::cast_slice(&inputs), copy);
        drop(inputs);
        let states_buf = storage("states", bytemuck::cast_slice(&f32s(&|x| &x.state)), copy);
        let zeros = |label: &str, floats: usize| {
            dev.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (floats.max(1) * 4) as u64,
                usage: wgpu::BufferUsages::STORAGE | copy,
                mapped_at_creation: false,
            })
        };
        let accum_buf = zeros("accum", sections * r * n);
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
        let dispatch =
            |steps: u64, mode: u32, grid_x: u32, trace: bool, start: u64| DispatchParams {
                steps: steps as u32,
                mode,
                replicas: r as u32,
                grid_x,
                recorded_steps: schedule.recorded_steps as u32,
                trace: trace as u32,
                start: split(start),
            };
        let neuron_grid = self.grid(r as u64);
        let hebbian_grid = self.grid(((r * n * n) as u64).div_ceil(HEBBIAN_WG as u64));
        let stats_grid = self.grid((r * shape.stats_chunks) as u64);
        // Dispatches covering `steps` steps in chunks of `chunk` from run step `start` (counted
        // only in a batch with a drive, else 0): (offset, steps).
        let mut chunks =
            |steps: usize, chunk: u64, mode_first: u32, mode: u32, trace: bool, start: u64| {
                let mut out = Vec::new();
                let mut left = steps as u64;
                let mut first = true;
                let mut t = start;
                while left > 0 {
                    let s = left.min(chunk);
                    let m = if first { mode_first } else { mode };
                    let at = if driven { t } else { 0 };
                    out.push((offset_of(dispatch(s, m, neuron_grid.0, trace, at)), s));
                    left -= s;
                    t += s;
                    first = false;
                }
                out
            };
        let full = shape.steps_per_dispatch();
        let traced_first = if traced_from == 0 {
            MODE_RECORD_BEGIN
        } else {
            MODE_RECORD
        };
        // The dispatches of each epoch: one plan for all epochs without a drive; with one, a
        // plan per epoch, since each dispatch carries its run step (the dispatch table then
        // grows with the run: one entry per dispatch).
        let period = (schedule.transient_steps + schedule.recorded_steps) as u64;
        let plans: Vec<EpochPlan> = (0..if driven { schedule.epochs } else { 1 })
            .map(|e| {
                let t0 = e as u64 * period;
                let recording = t0 + schedule.transient_steps as u64;
                let transient = chunks(
                    schedule.transient_steps,
                    full,
                    MODE_TRANSIENT,
                    MODE_TRANSIENT,
                    false,
                    t0,
                );
                let mut untraced = chunks(
                    traced_from,
                    full,
                    MODE_RECORD_BEGIN,
                    MODE_RECORD,
                    false,
                    recording,
                );
                let traced = chunks(
                    schedule.recorded_steps - traced_from,
                    trace_chunk,
                    traced_first,
                    MODE_RECORD,
                    true,
                    recording + traced_from as u64,
                );
                if !tracing {
                    untraced.extend(traced.iter().copied());
                }
                EpochPlan {
                    transient,
                    untraced,
                    traced,
                }
            })
            .collect();
        let plan = |epoch: usize| &plans[if driven { epoch } else { 0 }];
        let stats_offset = offset_of(dispatch(0, 0, stats_grid.0, false, 0));
        let hebbian_offset = offset_of(dispatch(0, 0, hebbian_grid.0, false, 0));
        let pack_grid = self.grid((half_words as u64).div_ceil(PACK_WG as u64));
        let pack_offset = offset_of(dispatch(0, 0, pack_grid.0, false, 0));
        let table_buf = dispatch_table(dev, "dispatch_table", &table, align);
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
                dispatch_table_entry(6, &table_buf),
                entry(7, &trace_buf),
                entry(8, &half_buf),
            ],
        });

        // Epochs, in groups that share one readback buffer (one epoch per group when tracing).
        let per_epoch = epoch_bytes(r, &shape, sections);
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
        let (rn4, accum_bytes) = ((r * n * 4) as u64, (sections * r * n * 4) as u64);
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
        let submit = |encoder: wgpu::CommandEncoder| submit(dev, queue, encoder);

        let mut outputs = Vec::with_capacity(schedule.epochs);
        let mut epoch = 0;
        while epoch < schedule.epochs {
            let in_group = group.min(schedule.epochs - epoch);
            let mut encoder = dev.create_command_encoder(&Default::default());
            if epoch == 0 {
                pack(&mut encoder); // the uploaded W
            }
            for g in 0..in_group {
                let plan = plan(epoch + g);
                stats(&mut encoder);
                neuron(&mut encoder, &plan.transient);
                neuron(&mut encoder, &plan.untraced);
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
                for (c, &(offset, steps)) in plan(epoch).traced.iter().enumerate() {
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
                outputs.push(unpack_epoch(e, r, n, shape.stats_chunks, sections));
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

/// The dispatches (table offset, steps) of one epoch.
struct EpochPlan {
    transient: Vec<(u32, u64)>,
    /// The recorded steps not traced (all of them without observers).
    untraced: Vec<(u32, u64)>,
    traced: Vec<(u32, u64)>,
}

/// One epoch's readback: `sections` per-neuron sums (3, or 5 with the lock-in sums), the state,
/// the weight partials.
fn unpack_epoch(e: &[f32], r: usize, n: usize, chunks: usize, sections: usize) -> EpochOutput {
    let rn = r * n;
    let widen = |s: &[f32]| s.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let at = sections * rn;
    let partials = &e[at + rn..at + rn + 2 * r * chunks];
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
        state: widen(&e[at..at + rn]),
        weight_sum,
        weight_sq_sum,
        lockin_sin: if sections == 5 {
            widen(&e[3 * rn..4 * rn])
        } else {
            Vec::new()
        },
        lockin_cos: if sections == 5 {
            widen(&e[4 * rn..5 * rn])
        } else {
            Vec::new()
        },
    }
}
