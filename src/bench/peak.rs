//! The peaks the bench's figures are a fraction of, measured on the machine that runs them.
//!
//! - CPU: single-precision matrix multiplication (sgemm) with faer, `C = A B` of
//!   [`SGEMM_SIZE`]² `f32` matrices, the columns of `B` split over every core (one faer call per
//!   thread, faer's own parallelism off), `2 n³` operations per product. faer picks its SIMD
//!   microkernels at run time (AVX-512 with FMA where the CPU has it), so this is the rate of
//!   fused multiply-adds a well-tuned BLAS-3 kernel reaches here — the same kind of figure as
//!   NumPy/OpenBLAS sgemm.
//! - GPU: `shaders/fma_peak.wgsl`, independent chains of `vec4` FMAs with no memory traffic,
//!   `256 · ITERATIONS` operations per invocation, sized until one measurement takes about
//!   [`TARGET_SECONDS`].
//!
//! Each peak is the best of [`ROUNDS`] timed rounds after a warm-up.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use serde::Serialize;

use crate::error::{Error, Result};

/// Matrix size of the CPU sgemm.
pub const SGEMM_SIZE: usize = 1024;
/// Timed rounds; the peak is the best.
pub const ROUNDS: usize = 3;
/// Roughly how long one timed round takes.
pub const TARGET_SECONDS: f64 = 0.3;

const FMA_PEAK: &str = include_str!("../../shaders/fma_peak.wgsl");
/// Iterations of the shader's loop: 256 · 256 = 65,536 operations per invocation.
const ITERATIONS: u32 = 256;
const WG: u32 = 256;

/// A measured peak.
#[derive(Clone, Debug, Serialize)]
pub struct Peak {
    /// Operations per second / 1e9: the best of `samples`.
    pub gflops: f64,
    /// What was measured, for people.
    pub method: String,
    /// Each measurement (the bench measures before and after its cases, so that a machine
    /// busy at one moment does not lower the peak and flatter the fractions).
    pub samples: Vec<f64>,
}

impl Peak {
    /// Add a later measurement of the same peak.
    pub fn merge(&mut self, later: Peak) {
        self.samples.extend(later.samples);
        self.gflops = self.samples.iter().copied().fold(0.0, f64::max);
    }
}

/// The CPU's sgemm rate on `threads` threads (0: every core).
pub fn cpu_sgemm(threads: usize) -> Peak {
    let threads = crate::backend::cpus::or_usable(threads);
    let n = SGEMM_SIZE;
    let a = Mat::<f32>::from_fn(n, n, |i, j| ((i * 7 + j * 13) % 17) as f32 * 0.01 - 0.08);
    // Column blocks of B and C, one per thread.
    let widths: Vec<usize> = (0..threads)
        .map(|t| (t + 1) * n / threads - t * n / threads)
        .collect();
    let mut blocks: Vec<(Mat<f32>, Mat<f32>)> = widths
        .iter()
        .map(|&w| {
            (
                Mat::<f32>::from_fn(n, w, |i, j| ((i * 5 + j * 3) % 11) as f32 * 0.02 - 0.1),
                Mat::<f32>::zeros(n, w),
            )
        })
        .collect();
    let round = |blocks: &mut Vec<(Mat<f32>, Mat<f32>)>, reps: usize| -> f64 {
        let start = Instant::now();
        std::thread::scope(|s| {
            for (b, c) in blocks.iter_mut() {
                let a = a.as_ref();
                s.spawn(move || {
                    for _ in 0..reps {
                        matmul(c.as_mut(), Accum::Replace, a, b.as_ref(), 1.0, Par::Seq);
                    }
                });
            }
        });
        start.elapsed().as_secs_f64()
    };
    let once = round(&mut blocks, 1); // warm-up, and the size of a round
    let reps = ((TARGET_SECONDS / once.max(1e-6)).ceil() as usize).clamp(1, 1000);
    let best = (0..ROUNDS)
        .map(|_| round(&mut blocks, reps))
        .fold(f64::INFINITY, f64::min);
    let ops = 2.0 * (n as f64).powi(3) * reps as f64;
    Peak {
        gflops: ops / best / 1e9,
        samples: vec![ops / best / 1e9],
        method: format!(
            "faer sgemm {n}×{n}×{n} f32, {threads} threads (columns split), best of {ROUNDS} \
             rounds of {reps}"
        ),
    }
}

/// WGSL source of the peak kernel with its constants.
pub fn fma_peak_source() -> String {
    format!("const ITERATIONS: u32 = {ITERATIONS}u;\nconst WG: u32 = {WG}u;\n{FMA_PEAK}")
}

/// The adapter's FP32 FMA rate from `shaders/fma_peak.wgsl`.
pub fn gpu_fma(device: &wgpu::Device, queue: &wgpu::Queue) -> Result<Peak> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("fma_peak"),
        source: wgpu::ShaderSource::Wgsl(fma_peak_source().into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("fma_peak"),
        layout: None,
        module: &module,
        entry_point: Some("fma_peak"),
        compilation_options: Default::default(),
        cache: None,
    });
    let sink = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("fma_peak.sink"),
        size: 64 * 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("fma_peak"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: sink.as_entire_binding(),
        }],
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(Error::Gpu(format!(
            "the FMA peak kernel failed to build: {e}"
        )));
    }
    let max_groups = device.limits().max_compute_workgroups_per_dimension.max(1);
    // `dispatches` dispatches of `groups` workgroups, timed from submission to completion.
    let run = |groups: u32, dispatches: u32| -> Result<f64> {
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            for _ in 0..dispatches {
                pass.dispatch_workgroups(groups, 1, 1);
            }
        }
        let start = Instant::now();
        queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        Ok(start.elapsed().as_secs_f64())
    };
    let ops = |groups: u32, dispatches: u32| {
        groups as f64 * dispatches as f64 * WG as f64 * ITERATIONS as f64 * 256.0
    };
    // Grow the work until a round takes a sizeable fraction of the target.
    let (mut groups, mut dispatches) = (16u32.min(max_groups), 1u32);
    run(groups, dispatches)?; // compile and warm up
    loop {
        let t = run(groups, dispatches)?;
        if t >= TARGET_SECONDS / 4.0 || dispatches >= 4096 {
            let scale = (TARGET_SECONDS / t.max(1e-6)).clamp(1.0, 64.0);
            let wanted = (groups as f64 * dispatches as f64 * scale).ceil();
            groups = (wanted.min(max_groups as f64) as u32).max(1);
            dispatches = ((wanted / groups as f64).ceil() as u32).clamp(1, 4096);
            break;
        }
        let scale = (TARGET_SECONDS / 2.0 / t.max(1e-6)).clamp(2.0, 64.0);
        let wanted = groups as f64 * dispatches as f64 * scale;
        groups = (wanted.min(max_groups as f64) as u32).max(1);
        dispatches = ((wanted / groups as f64).ceil() as u32).clamp(1, 4096);
    }
    let mut best = f64::INFINITY;
    for _ in 0..ROUNDS {
        best = best.min(run(groups, dispatches)?);
    }
    Ok(Peak {
        gflops: ops(groups, dispatches) / best / 1e9,
        samples: vec![ops(groups, dispatches) / best / 1e9],
        method: format!(
            "shaders/fma_peak.wgsl: {dispatches} dispatch(es) of {groups} workgroups × {WG} \
             invocations × {} FMA, best of {ROUNDS} rounds",
            ITERATIONS * 128
        ),
    })
}
