//! The CPU backend: the reference implementation, and fast.
//!
//! Replica-major: each replica runs its whole schedule on one thread, so its `W` (40 kB at
//! N = 100 in `f32`) stays in L1/L2 for every step of every epoch; rayon spreads replicas over
//! cores. The local field is vectorised with AVX-512 or AVX2 when the CPU has them (chosen at run
//! time, see [`crate::model::analog::local_field::Simd`]); results are bitwise equal whichever is used.
//!
//! With `backend.weight_storage = "f16"` (the twin of the GPU's f16 storage) each replica keeps
//! two copies of `W`: the f32 master that the Hebbian rule updates, and the master rounded to
//! f16 ([`crate::model::f16::round_to_f16`], held as f32 values) that the local field reads,
//! refreshed after every update. Products and sums stay in f32 and in the same order, so the
//! GPU, which decodes its packed f16 exactly, computes the same numbers. Observers (the
//! analysis) see the rounded `W` the dynamics used; weight statistics and saved final weights
//! are the master's.

use rayon::prelude::*;

use super::{
    Backend, BackendInfo, BatchOutput, EpochOutput, FinalState, KernelVariant, Schedule,
    TraceObserver,
};
use crate::config::{Precision, WeightStorage};
use crate::ensemble::ReplicaInit;
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::model::analog::local_field;
use crate::model::analog::network::{self, TypedNeuronParams};
use crate::model::f16::round_to_f16;
use crate::model::{bms, jiang, lotito, Real};

pub struct CpuBackend {
    pool: rayon::ThreadPool,
    info: BackendInfo,
    weight_storage: WeightStorage,
    /// Tests: take the machine as saturated (or not) instead of asking [`super::cpus`].
    assume_saturated: Option<bool>,
}

impl CpuBackend {
    /// `threads = 0` uses every CPU this process may use ([`super::cpus::usable`]).
    pub fn new(threads: usize) -> Result<CpuBackend> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(super::cpus::or_usable(threads))
            .thread_name(|i| format!("hebbnet-cpu-{i}"))
            .build()
            .map_err(|e| Error::config("backend.threads", format!("cannot start threads: {e}")))?;
        let simd = local_field::simd_level();
        let info = BackendInfo {
            kind: "cpu",
            description: format!("CPU, {} threads, {simd}", pool.current_num_threads()),
            adapter: None,
            kernels: Vec::new(),
        };
        Ok(CpuBackend {
            pool,
            info,
            weight_storage: WeightStorage::F32,
            assume_saturated: None,
        })
    }

    /// The same backend with `W` stored as `storage` in the local field (see the module doc).
    pub fn with_weight_storage(mut self, storage: WeightStorage) -> CpuBackend {
        self.weight_storage = storage;
        if storage == WeightStorage::F16 {
            self.info.description += ", f16 weights (f32 master copy for learning)";
        }
        self
    }

    /// For tests of the saturated-machine path (see `SATURATED_SERIAL_BELOW`): decide as if
    /// every CPU were (or were not) busy with other work.
    #[doc(hidden)]
    pub fn assume_saturated(mut self, saturated: bool) -> CpuBackend {
        self.assume_saturated = Some(saturated);
        self
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

impl Backend for CpuBackend {
    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn batch_capacity(&self, neurons: usize, precision: Precision) -> Result<usize> {
        let (n, b) = (neurons as u64, precision.bytes() as u64);
        // Per replica in flight (one per thread; src/ensemble draws W on that thread): the f64
        // draw until it is cast, the working W, its padded copy and, with f16 storage, the
        // rounded copy.
        let in_flight = n * n * (8 + 3 * b);
        // Per replica held for the whole batch: the f64 final W (only with `--save weights`,
        // counted always) and O(N) vectors.
        let held = n * n * 8 + 64 * n;
        let available = memory::available_bytes().unwrap_or(8 << 30) / 2;
        let threads = self.threads() as u64;
        if in_flight + held > available {
            return Err(Error::TooLarge(format!(
                "one replica of N = {neurons} needs {} but only {} of memory is available; \
                 reduce network.neurons",
                memory::human(in_flight + held),
                memory::human(available * 2)
            )));
        }
        let by_memory = (available.saturating_sub(in_flight * threads) / held).max(1) as usize;
        Ok(by_memory.clamp(1, 4096).max(self.threads().min(by_memory)))
    }

    fn kernel_variant(&self, neurons: usize) -> Result<KernelVariant> {
        Ok(KernelVariant::cpu(neurons, self.weight_storage))
    }

    fn run_batch(
        &mut self,
        schedule: &Schedule,
        precision: Precision,
        replicas: &[ReplicaInit],
        keep_final: bool,
        observers: &mut [&mut dyn TraceObserver],
    ) -> Result<BatchOutput> {
        assert!(observers.is_empty() || observers.len() == replicas.len());
        for init in replicas {
            if let Some(d) = &init.drive {
                d.check(init.state.len())?;
            }
        }
        let half = self.weight_storage == WeightStorage::F16;
        if half && precision == Precision::F64 {
            return Err(Error::config(
                "backend.weight_storage",
                "\"f16\" weight storage is an f32 mode; use precision \"f32\"",
            ));
        }
        let one = |init: &ReplicaInit, observer: Option<&mut &mut dyn TraceObserver>| {
            let observer = observer.map(|o| &mut **o as &mut dyn TraceObserver);
            match precision {
                Precision::F32 => run_replica::<f32>(schedule, init, keep_final, half, observer),
                Precision::F64 => run_replica::<f64>(schedule, init, keep_final, false, observer),
            }
        };
        let mut slots: Vec<Option<&mut &mut dyn TraceObserver>> = if observers.is_empty() {
            replicas.iter().map(|_| None).collect()
        } else {
            observers.iter_mut().map(Some).collect()
        };
        let saturated = self.threads() > 1
            && replicas.len() > 1
            && self.assume_saturated.unwrap_or_else(super::cpus::saturated);
        let per_replica: Vec<(Vec<ReplicaEpoch>, Option<FinalState>)> = self.pool.install(|| {
            let mut done = Vec::with_capacity(replicas.len());
            // On a saturated machine a short batch runs on one pool thread, in order (see
            // `SATURATED_SERIAL_BELOW`); replica 0 runs first and measures how long one takes.
            if saturated {
                let started = std::time::Instant::now();
                done.push(one(&replicas[0], slots[0].take()));
                let rest = started.elapsed().as_secs_f64() * (replicas.len() - 1) as f64;
                if rest < SATURATED_SERIAL_BELOW {
                    for (init, slot) in replicas.iter().zip(slots.iter_mut()).skip(1) {
                        done.push(one(init, slot.take()));
                    }
                }
            }
            let first = done.len();
            if first < replicas.len() {
                let left: Vec<_> = replicas[first..]
                    .par_iter()
                    .zip(slots[first..].par_iter_mut())
                    .map(|(init, slot)| one(init, slot.take()))
                    .collect();
                done.extend(left);
            }
            done
        });
        Ok(gather(schedule.epochs, replicas, per_replica))
    }

    fn run_bms(&mut self, precision: Precision, batch: &bms::Batch<'_>) -> Result<Vec<bms::Trace>> {
        Ok(self.pool.install(|| match precision {
            Precision::F32 => run_bms::<f32>(batch),
            Precision::F64 => run_bms::<f64>(batch),
        }))
    }

    fn run_jiang(
        &mut self,
        precision: Precision,
        batch: &jiang::Batch<'_>,
    ) -> Result<Vec<jiang::Trace>> {
        Ok(self.pool.install(|| match precision {
            Precision::F32 => jiang::run::<f32>(batch),
            Precision::F64 => jiang::run::<f64>(batch),
        }))
    }

    fn run_lotito(
        &mut self,
        precision: Precision,
        batch: &lotito::Batch,
    ) -> Result<Vec<lotito::Trace>> {
        Ok(self.pool.install(|| match precision {
            Precision::F32 => lotito::run::<f32>(batch),
            Precision::F64 => lotito::run::<f64>(batch),
        }))
    }
}

/// [`bms::trajectory::run_batch`] with the networks converted and the trajectories advanced in
/// parallel (each trajectory is independent: the result never depends on the threads).
fn run_bms<R: Real>(batch: &bms::Batch<'_>) -> Vec<bms::Trace> {
    let nets: Vec<bms::Network<R>> = batch
        .networks
        .par_iter()
        .map(|(w, p)| bms::Network::new(w, p))
        .collect();
    batch
        .trajectories
        .par_iter()
        .map(|s| {
            let net = &nets[s.network];
            let mut state: Vec<R> = s.state.iter().map(|&v| R::from_f64(v)).collect();
            let mut synaptic = vec![R::ZERO; net.neurons];
            bms::advance(net, &mut state, &s.noise, batch.steps, &mut synaptic)
        })
        .collect()
}

/// Seconds of serial work below which a batch on a saturated machine
/// ([`super::cpus::saturated`]: every CPU already has another runnable task) runs on one pool
/// thread. Threads that only take turns with other processes gain their share of the machine
/// only over a long run; over a short one, the join that waits for a preempted thread costs
/// more than they bring (measured: 10–30 ms batches of 8 replicas ran 1.35–1.69× slower on two
/// threads than on one, under two competing processes on two cores; BENCHMARKS.md). One *pool*
/// thread, not the caller: a thread woken for the batch is scheduled like the one thread of
/// `--threads 1`. Longer batches still spread over the pool. Results never depend on the
/// choice: replicas are independent.
const SATURATED_SERIAL_BELOW: f64 = 0.25;

/// One replica's results for one epoch.
pub(crate) struct ReplicaEpoch {
    reference: Vec<f64>,
    shifted_sum: Vec<f64>,
    shifted_sq_sum: Vec<f64>,
    state: Vec<f64>,
    weight_sum: f64,
    weight_sq_sum: f64,
    /// `(Σ s sin, Σ s cos)` of a driven replica.
    lockin: Option<(Vec<f64>, Vec<f64>)>,
}

/// One replica's drive in precision `T` ([`crate::ensemble::Drive`]): the driven bias of each
/// step and the lock-in sums of the recorded window.
struct DriveTwin<T: Real> {
    direction: Vec<T>,
    amplitude: T,
    /// `ω` and `φ0` in 2⁻⁶⁴ turns ([`crate::ensemble::Drive::phase_at`]).
    frequency: u64,
    phase0: u64,
    /// Scratch: the bias of the current step.
    bias: Vec<T>,
    lockin_sin: Vec<T>,
    lockin_cos: Vec<T>,
}

impl<T: Real> DriveTwin<T> {
    fn new(drive: &crate::ensemble::Drive, n: usize) -> Self {
        DriveTwin {
            direction: cast(&drive.direction),
            amplitude: T::from_f64(drive.amplitude),
            frequency: drive.frequency_fixed(),
            phase0: drive.phase_at(0),
            bias: vec![T::ZERO; n],
            lockin_sin: vec![T::ZERO; n],
            lockin_cos: vec![T::ZERO; n],
        }
    }

    /// `(sin, cos)` of `ω t + φ0`.
    fn sin_cos(&self, t: u64) -> (T, T) {
        network::drive_sin_cos::<T>(self.phase0.wrapping_add(self.frequency.wrapping_mul(t)))
    }

    /// The bias of the step from state `t`: `bias` itself without a drive (the undriven
    /// arithmetic, bit for bit), else `b_i + d_i (ε sin(ω t + φ0))`.
    fn bias_at<'a>(drive: &'a mut Option<Self>, bias: &'a [T], t: u64) -> &'a [T] {
        match drive {
            None => bias,
            Some(d) => {
                let (sin, _) = d.sin_cos(t);
                network::driven_bias(bias, &d.direction, d.amplitude * sin, &mut d.bias);
                &d.bias
            }
        }
    }

    /// Add the recorded state `t` (`signal` = s(t)) to the lock-in sums.
    fn accumulate(&mut self, signal: &[T], t: u64) {
        let (sin, cos) = self.sin_cos(t);
        for ((a, b), &s) in self
            .lockin_sin
            .iter_mut()
            .zip(self.lockin_cos.iter_mut())
            .zip(signal)
        {
            *a += s * sin;
            *b += s * cos;
        }
    }
}

fn gather(
    epochs: usize,
    replicas: &[ReplicaInit],
    per_replica: Vec<(Vec<ReplicaEpoch>, Option<FinalState>)>,
) -> BatchOutput {
    let n = replicas.first().map_or(0, |r| r.state.len());
    let mut out: Vec<EpochOutput> = (0..epochs)
        .map(|_| EpochOutput::with_capacity(replicas.len(), n))
        .collect();
    let driven = replicas.iter().any(|r| r.drive.is_some());
    let mut finals = Vec::new();
    for (rep_epochs, fin) in per_replica {
        for (o, e) in out.iter_mut().zip(rep_epochs) {
            if driven {
                match e.lockin {
                    Some((sin, cos)) => {
                        o.lockin_sin.extend(sin);
                        o.lockin_cos.extend(cos);
                    }
                    None => {
                        o.lockin_sin.extend(std::iter::repeat_n(0.0, n));
                        o.lockin_cos.extend(std::iter::repeat_n(0.0, n));
                    }
                }
            }
            o.reference.extend(e.reference);
            o.shifted_sum.extend(e.shifted_sum);
            o.shifted_sq_sum.extend(e.shifted_sq_sum);
            o.state.extend(e.state);
            o.weight_sum.push(e.weight_sum);
            o.weight_sq_sum.push(e.weight_sq_sum);
        }
        finals.extend(fin);
    }
    BatchOutput {
        epochs: out,
        finals,
    }
}

fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

fn widen<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// `W` rounded to f16, in `T` (only called with `T = f32`: f16 storage is an f32 mode, so the
/// detour through f32 is exact).
fn refresh_f16<T: Real>(master: &[T], rounded: &mut [T]) {
    for (r, &w) in rounded.iter_mut().zip(master) {
        *r = T::from_f64(round_to_f16(w.to_f64() as f32) as f64);
    }
}

/// Run the full schedule on one replica in precision `T`, feeding `observer` (if any) the
/// recorded window of every epoch. With `half`, the local field reads `W` rounded to f16 (the
/// module doc).
pub(crate) fn run_replica<T: Real>(
    schedule: &Schedule,
    init: &ReplicaInit,
    keep_final: bool,
    half: bool,
    mut observer: Option<&mut dyn TraceObserver>,
) -> (Vec<ReplicaEpoch>, Option<FinalState>) {
    let n = init.state.len();
    let params: TypedNeuronParams<T> = init.params.neuron.typed();
    let rule = init.params.learning;
    // Drawn here, on the replica's thread; the f64 values are dropped once cast.
    let mut weights: Vec<T> = cast(&init.weights.get());
    // The f16-rounded copy the local field reads (empty in f32 storage).
    let mut rounded: Vec<T> = if half {
        vec![T::ZERO; n * n]
    } else {
        Vec::new()
    };
    if half {
        refresh_f16(&weights, &mut rounded);
    }
    // The steps read an aligned, padded copy of the W they use (refreshed after each update).
    let mut padded = local_field::PaddedWeights::new(n, if half { &rounded } else { &weights });
    let input: Vec<T> = cast(&init.input);
    let mut bias = vec![T::ZERO; n];
    network::bias(&params, &input, &mut bias);
    let mut state: Vec<T> = cast(&init.state);
    let mut signal: Vec<T> = state.iter().map(|&v| params.activity(v)).collect();
    let mut field = vec![T::ZERO; n];
    let mut reference = vec![T::ZERO; n];
    let mut s1 = vec![T::ZERO; n];
    let mut s2 = vec![T::ZERO; n];
    let mut m = vec![T::ZERO; n];
    let mut epochs = Vec::with_capacity(schedule.epochs);
    let mut derivative = vec![T::ZERO; n];
    let (mut d64, mut x64) = (vec![0.0; n], vec![0.0; n]);
    // The drive: the step from state t to t + 1 reads `DriveTwin::bias_at(.., t)` instead of `bias`.
    let mut drive = init.drive.as_ref().map(|d| DriveTwin::<T>::new(d, n));
    // The drive's time t: steps taken since the start of the run.
    let mut t: u64 = 0;
    let traced_from = observer.as_ref().map_or(usize::MAX, |o| {
        if o.needs_full_window() {
            0
        } else {
            schedule.recorded_steps.saturating_sub(o.tail_steps())
        }
    });

    // Σ W and Σ W² of the weights in use: computed again only after a learning update (frozen
    // weights over many short epochs would otherwise pay N² per epoch).
    let sums = |w: &[T]| {
        w.iter().fold((0.0, 0.0), |(s, q), w| {
            let w = w.to_f64();
            (s + w, q + w * w)
        })
    };
    let (mut weight_sum, mut weight_sq_sum) = sums(&weights);
    for epoch in 0..schedule.epochs {
        let matvec: &[T] = if half { &rounded } else { &weights };
        for _ in 0..schedule.transient_steps {
            let b = DriveTwin::bias_at(&mut drive, &bias, t);
            network::step_padded(
                &params,
                &padded,
                b,
                &mut state,
                &mut signal,
                &mut field,
                None,
            );
            t += 1;
        }
        reference.copy_from_slice(&signal);
        s1.fill(T::ZERO);
        s2.fill(T::ZERO);
        if let Some(d) = drive.as_mut() {
            d.lockin_sin.fill(T::ZERO);
            d.lockin_cos.fill(T::ZERO);
        }
        if let Some(o) = observer.as_mut() {
            o.begin_epoch(epoch, &widen(matvec));
        }
        for k in 0..schedule.recorded_steps {
            let b = DriveTwin::bias_at(&mut drive, &bias, t);
            match observer.as_mut() {
                Some(o) if k >= traced_from => {
                    network::step_padded(
                        &params,
                        &padded,
                        b,
                        &mut state,
                        &mut signal,
                        &mut field,
                        Some(&mut derivative),
                    );
                    for i in 0..n {
                        d64[i] = derivative[i].to_f64();
                        x64[i] = state[i].to_f64();
                    }
                    o.step(&d64, &x64);
                }
                _ => network::step_padded(
                    &params,
                    &padded,
                    b,
                    &mut state,
                    &mut signal,
                    &mut field,
                    None,
                ),
            }
            t += 1;
            local_field::accumulate_shifted(&signal, &reference, &mut s1, &mut s2);
            if let Some(d) = drive.as_mut() {
                d.accumulate(&signal, t);
            }
        }
        if let Some(o) = observer.as_mut() {
            o.end_epoch();
        }
        epochs.push(ReplicaEpoch {
            reference: widen(&reference),
            shifted_sum: widen(&s1),
            shifted_sq_sum: widen(&s2),
            state: widen(&state),
            weight_sum,
            weight_sq_sum,
            lockin: drive
                .as_ref()
                .map(|d| (widen(&d.lockin_sin), widen(&d.lockin_cos))),
        });
        if schedule.learning {
            rule.deviation(&reference, &s1, schedule.recorded_steps, &mut m);
            rule.update(&m, &mut weights);
            if half {
                refresh_f16(&weights, &mut rounded);
            }
            padded.set(if half { &rounded } else { &weights });
            (weight_sum, weight_sq_sum) = sums(&weights);
        }
    }
    let fin = keep_final.then(|| FinalState {
        weights: widen(&weights),
        state: widen(&state),
    });
    (epochs, fin)
}
