//! The analog family's GPU kernels (`shaders/neuron_update.wgsl`, `hebbian_update.wgsl`,
//! `weight_stats.wgsl`, `pack_weights.wgsl`): their parameters as the shaders read them, the
//! constants a network size compiles into them ([`KernelShape`]), and where `W` is read from.
//! [`batch`] runs a batch of replicas through them (`Backend::run_batch`).

mod batch;

use bytemuck::{Pod, Zeroable};

use crate::config::{WeightStorage, WeightsInWorkgroup};
use crate::ensemble::ReplicaInit;

pub(super) const COMMON: &str = include_str!("../../../../shaders/common.wgsl");
pub(super) const NEURON_UPDATE: &str = include_str!("../../../../shaders/neuron_update.wgsl");
pub(super) const HEBBIAN_UPDATE: &str = include_str!("../../../../shaders/hebbian_update.wgsl");
pub(super) const WEIGHT_STATS: &str = include_str!("../../../../shaders/weight_stats.wgsl");
pub(super) const PACK_WEIGHTS: &str = include_str!("../../../../shaders/pack_weights.wgsl");
pub(super) const F16_DECODE_NATIVE: &str =
    include_str!("../../../../shaders/f16_decode_native.wgsl");
pub(super) const F16_DECODE_PORTABLE: &str =
    include_str!("../../../../shaders/f16_decode_portable.wgsl");

/// Back-edges one invocation may take per dispatch. lavapipe (llvmpipe) silently ends loops of
/// an invocation after 65,535 back-edges summed over all loops (engineering.md); half of that
/// leaves a wide margin. The same bound on real GPUs keeps each dispatch short.
pub const BACKEDGE_BUDGET: u64 = 32_768;
/// Per-epoch readback goes through buffers of at most this size.
pub(super) const READBACK_BYTES: u64 = 64 << 20;
/// Trace chunks (D(t) and states for the analysis) are at most this size.
pub(super) const TRACE_BYTES: u64 = 32 << 20;
pub(super) const HEBBIAN_WG: u32 = 256;
pub(super) const PACK_WG: u32 = 256;
pub(super) const STATS_WG: u32 = 256;
/// Elements each thread of `weight_stats` sums at most.
pub(super) const STATS_PER_THREAD: usize = 64;

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
    /// N_E of Dale's law (with flag 8), else 0.
    pub excitatory: u32,
    /// ε of the replica's drive ([`crate::ensemble::Drive`]), 0 without one.
    pub drive_amplitude: f32,
    /// 1: the replica has a drive (its direction is in the `inputs` buffer after ξ).
    pub driven: u32,
    /// `ω / 2π` in 2⁻⁶⁴ turns per step ([`crate::ensemble::Drive::frequency_fixed`]): low and
    /// high 32 bits.
    pub drive_frequency: [u32; 2],
    /// `φ0 / 2π` in 2⁻⁶⁴ turns (the phase at t = 0): low and high 32 bits.
    pub drive_phase: [u32; 2],
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
            excitatory: l.excitatory_neurons.unwrap_or(0),
            drive_amplitude: init.drive.as_ref().map_or(0.0, |d| d.amplitude as f32),
            driven: init.drive.is_some() as u32,
            drive_frequency: split(init.drive.as_ref().map_or(0, |d| d.frequency_fixed())),
            drive_phase: split(init.drive.as_ref().map_or(0, |d| d.phase_at(0))),
        }
    }
}

/// A `u64` as the `[low, high]` 32-bit halves the shaders read.
pub(super) fn split(v: u64) -> [u32; 2] {
    [v as u32, (v >> 32) as u32]
}

/// One dispatch's parameters (`DispatchParams` in `common.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Pod, Zeroable)]
pub(super) struct DispatchParams {
    pub(super) steps: u32,
    pub(super) mode: u32,
    pub(super) replicas: u32,
    pub(super) grid_x: u32,
    pub(super) recorded_steps: u32,
    pub(super) trace: u32,
    /// The run step `t` of the dispatch's first step (`[low, high]`), the drive's time
    /// ([`crate::ensemble::Drive`]); 0 in batches without a drive (so their dispatches repeat
    /// from epoch to epoch and share table entries).
    pub(super) start: [u32; 2],
}

pub(super) const MODE_TRANSIENT: u32 = 0;
pub(super) const MODE_RECORD: u32 = 1;
pub(super) const MODE_RECORD_BEGIN: u32 = 2;

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

pub(super) struct Kernels {
    pub(super) shape: KernelShape,
    pub(super) neuron: wgpu::ComputePipeline,
    pub(super) hebbian: wgpu::ComputePipeline,
    pub(super) stats: wgpu::ComputePipeline,
    /// f16 storage: refreshes `weights_half` from the f32 master.
    pub(super) pack: Option<wgpu::ComputePipeline>,
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
        assert_eq!(std::mem::size_of::<GpuReplicaParams>(), 64);
        assert_eq!(std::mem::size_of::<DispatchParams>(), 32);
    }
}
