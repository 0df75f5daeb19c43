//! `hebbnet bench`: the same workloads on every backend, timed against peaks measured on the
//! same machine, with the CPU–GPU agreement.
//!
//! Workloads are built through the library exactly as a run builds them — a [`Config`] (the
//! embedded Siri 2008 demo: rate form, `siri` activation, g = 10, f32) with N and R set, its
//! [`EnsembleSpec`], and [`Backend::run_batch`] in batches of the backend's capacity — so a
//! figure here is what `hebbnet run` gets, minus file output.
//!
//! Cases (each on every N × R × backend):
//! - `dynamics`: `E` epochs of `T₀ + τ` steps, learning off;
//! - `learning`: the same epochs with the Hebbian update after each;
//! - `lyapunov_1`, `lyapunov_full`: `dynamics` with the Lyapunov analysis attached
//!   ([`ReplicaAnalysis`] observers, k = 1 and k = N, QR every 10 steps), which runs on the CPU
//!   for both backends. k = N costs `2N³` per step and replica: R is capped so one repetition is
//!   estimated below `max_case_seconds` (the row says so), or the case is skipped.
//!
//! Each case is run once to warm up, then timed `repeat` times; the median and the minimum wall
//! time are reported, with steps/s (`E (T₀ + τ)` per median time: every replica advances that
//! many steps), synapse updates/s (`N² · R · steps / s`), effective GFLOP/s (operations counted
//! in [`flops`], over the median time) and its fraction of the backend's measured peak
//! ([`peak`]). A GPU row also gives the CPU's median time over its own (`vs_cpu`), and the
//! agreement: both backends run the first (at most [`AGREEMENT_REPLICAS`]) replicas from identical
//! initial conditions for `agreement_steps` steps and the largest absolute difference of the
//! final states (plus, per case, the weights after the learning epoch, or the exponents) is
//! reported. A software adapter (lavapipe) is labelled on every row it produced, and its ratio to
//! the CPU is called `software/CPU`, never a GPU speedup.

pub mod bms;
pub mod flops;
pub mod jiang;
pub mod lotito;
pub mod machine;
pub mod peak;
pub mod reservoir;
pub mod table;

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::observer::{AnalysisPlan, ReplicaAnalysis};
use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{context, AdapterSummary, GpuBackend};
use crate::backend::{Backend, BatchOutput, Schedule};
use crate::config::{Config, Precision};
use crate::ensemble::{EnsembleSpec, ReplicaInit};
use crate::error::{Error, Result};
use crate::experiment::memory;
use crate::output;

pub use flops::Work;
pub use machine::Machine;
pub use peak::Peak;

/// Replicas the agreement check compares at most.
pub const AGREEMENT_REPLICAS: usize = 64;
/// The QR interval m of the Lyapunov cases.
pub const REORTHONORMALIZE_EVERY: usize = 10;
/// Fraction of the measured CPU peak the estimate of a Lyapunov case's time assumes: the k = N
/// tangent propagation (faer products of 100 × 100 blocks, f64 QRs) measured 9% of the sgemm
/// peak at N = 100 on the 2-core build machine (BENCHMARKS.md), so the estimate takes 8%.
const ESTIMATE_EFFICIENCY: f64 = 0.08;

/// A bench case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    Dynamics,
    Learning,
    #[serde(rename = "lyapunov_1")]
    Lyapunov1,
    LyapunovFull,
    /// The BMS spiking network at a firing rate near 0.05 ([`bms`]).
    #[serde(rename = "bms_rate_0.05")]
    BmsSparse,
    /// The BMS spiking network at a firing rate near 0.5.
    #[serde(rename = "bms_rate_0.5")]
    BmsDense,
    /// The deep-Hebbian sequence network, factored local field ([`jiang`]).
    JiangFactored,
    /// The same network with the dense N × N field.
    JiangDense,
    /// Lotito's memory dynamics, Figure 1 with every step recorded ([`lotito`]).
    LotitoFigure1,
    /// Rivkind & Barak's trained reservoirs, one success-vs-g sweep ([`reservoir`]).
    ReservoirSuccess,
}

impl Case {
    pub const ALL: [Case; 4] = [
        Case::Dynamics,
        Case::Learning,
        Case::Lyapunov1,
        Case::LyapunovFull,
    ];

    /// The cases `--cases` accepts (`all` is [`Case::ALL`], the analog family's).
    pub const EVERY: [Case; 10] = [
        Case::Dynamics,
        Case::Learning,
        Case::Lyapunov1,
        Case::LyapunovFull,
        Case::BmsSparse,
        Case::BmsDense,
        Case::JiangFactored,
        Case::JiangDense,
        Case::LotitoFigure1,
        Case::ReservoirSuccess,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Case::Dynamics => "dynamics",
            Case::Learning => "learning",
            Case::Lyapunov1 => "lyapunov_1",
            Case::LyapunovFull => "lyapunov_full",
            Case::BmsSparse => "bms_rate_0.05",
            Case::BmsDense => "bms_rate_0.5",
            Case::JiangFactored => "jiang_factored",
            Case::JiangDense => "jiang_dense",
            Case::LotitoFigure1 => "lotito_figure1",
            Case::ReservoirSuccess => "reservoir_success",
        }
    }

    /// A case of the BMS family ([`bms`]).
    pub fn is_bms(self) -> bool {
        matches!(self, Case::BmsSparse | Case::BmsDense)
    }

    /// A case of the Lotito family ([`lotito`]).
    pub fn is_lotito(self) -> bool {
        self == Case::LotitoFigure1
    }

    /// A case of the reservoir family ([`reservoir`]).
    pub fn is_reservoir(self) -> bool {
        self == Case::ReservoirSuccess
    }

    /// A case of the Jiang family ([`jiang`]).
    pub fn is_jiang(self) -> bool {
        matches!(self, Case::JiangFactored | Case::JiangDense)
    }

    pub(crate) fn exponents(self, n: usize) -> usize {
        match self {
            Case::Lyapunov1 => 1,
            Case::LyapunovFull => n,
            _ => 0,
        }
    }

    fn learning(self) -> bool {
        self == Case::Learning
    }
}

/// A backend the bench can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendName {
    Cpu,
    Gpu,
}

impl BackendName {
    pub fn name(self) -> &'static str {
        match self {
            BackendName::Cpu => "cpu",
            BackendName::Gpu => "gpu",
        }
    }
}

/// Parse a comma-separated list of positive integers given to `flag` (`100,400`).
pub fn parse_sizes(flag: &str, text: &str) -> std::result::Result<Vec<usize>, String> {
    let what = match flag {
        "--n" => "network sizes N",
        "--replicas" => "replica counts R",
        _ => "positive integers",
    };
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().all(|s| s.is_empty()) {
        return Err(format!(
            "empty list: give one or more {what}, comma-separated, e.g. {flag} 100,400"
        ));
    }
    items
        .iter()
        .map(|s| match s.parse::<usize>() {
            Ok(0) => Err(format!("{what} must be at least 1 (got 0 in `{text}`)")),
            Ok(v) => Ok(v),
            Err(_) => Err(format!(
                "`{s}` in `{text}` is not a positive integer; write e.g. {flag} 100,400"
            )),
        })
        .collect()
}

/// Parse `--backends` (`cpu`, `gpu`, `cpu,gpu`).
pub fn parse_backends(text: &str) -> std::result::Result<Vec<BackendName>, String> {
    parse_names(text, "--backends", "cpu,gpu", |s| match s {
        "cpu" => Some(BackendName::Cpu),
        "gpu" => Some(BackendName::Gpu),
        _ => None,
    })
}

/// Parse `--cases` (`dynamics,learning,lyapunov_1,lyapunov_full`, `all` for those four;
/// `bms_rate_0.05,bms_rate_0.5` for the spiking network).
pub fn parse_cases(text: &str) -> std::result::Result<Vec<Case>, String> {
    if text.trim() == "all" {
        return Ok(Case::ALL.to_vec());
    }
    parse_names(
        text,
        "--cases",
        "dynamics,learning,lyapunov_1,lyapunov_full (or all), bms_rate_0.05,bms_rate_0.5",
        |s| Case::EVERY.into_iter().find(|c| c.name() == s),
    )
}

fn parse_names<T: PartialEq>(
    text: &str,
    flag: &str,
    valid: &str,
    find: impl Fn(&str) -> Option<T>,
) -> std::result::Result<Vec<T>, String> {
    let mut out = Vec::new();
    for s in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match find(s) {
            Some(v) if !out.contains(&v) => out.push(v),
            Some(_) => {}
            None => return Err(format!("unknown `{s}`; {flag} takes {valid}")),
        }
    }
    if out.is_empty() {
        return Err(format!("empty list; {flag} takes {valid}"));
    }
    Ok(out)
}

/// What to bench.
#[derive(Clone, Debug, Serialize)]
pub struct BenchOptions {
    /// Network sizes N.
    pub neurons: Vec<usize>,
    /// Replica counts R.
    pub replicas: Vec<usize>,
    /// Steps per replica in each case (`E` epochs of `steps / E` steps).
    pub steps: usize,
    /// Epochs E of each case; an epoch of L steps has `T₀ = ⌊L/3⌋` transient and `τ = L − T₀`
    /// recorded steps (the embedded config's 1 : 2).
    pub epochs: usize,
    /// `None`: the CPU, and the GPU when an adapter exists.
    pub backends: Option<Vec<BackendName>>,
    pub cases: Vec<Case>,
    /// Timed repetitions after the warm-up.
    pub repeat: usize,
    /// Steps of the agreement runs.
    pub agreement_steps: usize,
    /// A Lyapunov case whose repetition is estimated longer than this runs fewer replicas.
    pub max_case_seconds: f64,
    /// CPU threads (0: every core).
    pub threads: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            neurons: vec![100],
            replicas: vec![256],
            steps: 1000,
            epochs: 2,
            backends: None,
            cases: Case::ALL.to_vec(),
            repeat: 3,
            agreement_steps: 10,
            max_case_seconds: 30.0,
            threads: 0,
        }
    }
}

impl BenchOptions {
    /// Errors name the flag and the fix.
    pub fn validate(&self) -> Result<()> {
        let positive = |flag: &str, list: &[usize], eg: &str| -> Result<()> {
            if list.is_empty() {
                return Err(Error::config(
                    flag,
                    format!("empty list; give e.g. {flag} {eg}"),
                ));
            }
            if list.contains(&0) {
                return Err(Error::config(
                    flag,
                    format!("every value must be at least 1, e.g. {flag} {eg}"),
                ));
            }
            Ok(())
        };
        positive("--n", &self.neurons, "100,400")?;
        positive("--replicas", &self.replicas, "64,1024")?;
        if self.epochs == 0 {
            return Err(Error::config("--epochs", "must be at least 1"));
        }
        if self.steps < self.epochs.max(2) {
            return Err(Error::config(
                "--steps",
                format!(
                    "{} steps cannot make {} epochs of at least one transient and one recorded \
                     step; use --steps {} or more",
                    self.steps,
                    self.epochs,
                    2 * self.epochs
                ),
            ));
        }
        if self.steps / self.epochs < 2 {
            return Err(Error::config(
                "--steps",
                format!(
                    "each of the {} epochs needs at least 2 steps; use --steps {} or fewer \
                     --epochs",
                    self.epochs,
                    2 * self.epochs
                ),
            ));
        }
        if self.steps >= u32::MAX as usize {
            return Err(Error::config("--steps", "must be below 2³²"));
        }
        if self.cases.is_empty() {
            return Err(Error::config(
                "--cases",
                "empty list; give e.g. --cases dynamics,learning",
            ));
        }
        if self.repeat == 0 {
            return Err(Error::config(
                "--repeat",
                "must be at least 1 (3 or more for a median)",
            ));
        }
        if self.agreement_steps == 0 {
            return Err(Error::config("--agreement-steps", "must be at least 1"));
        }
        if matches!(&self.backends, Some(b) if b.is_empty()) {
            return Err(Error::config(
                "--backends",
                "empty list; give cpu, gpu or cpu,gpu",
            ));
        }
        if self.max_case_seconds.is_nan() || self.max_case_seconds <= 0.0 {
            return Err(Error::config("--max-case-seconds", "must be > 0"));
        }
        Ok(())
    }

    /// `(T₀, τ)` of one epoch.
    pub fn epoch_shape(&self) -> (usize, usize) {
        let l = self.steps / self.epochs;
        let t0 = l / 3;
        (t0, l - t0)
    }
}

/// One case × N × R × backend.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub case: Case,
    pub neurons: usize,
    /// Replicas run (fewer than asked when a Lyapunov case was capped: see `note`).
    pub replicas: usize,
    /// Steps per replica: `E (T₀ + τ)`.
    pub steps: usize,
    pub epochs: usize,
    /// k (0 without Lyapunov analysis).
    pub exponents: usize,
    pub backend: BackendName,
    /// The CPU backend's description or the adapter.
    pub device: String,
    /// The rows of a software adapter measure correctness, not GPU speed.
    pub software: bool,
    pub repeats: usize,
    pub median_s: f64,
    pub min_s: f64,
    /// Steps per second (each replica advances that many).
    pub steps_per_s: f64,
    /// `N² · R · steps / median_s`.
    pub synapse_updates_per_s: f64,
    /// Operations of one repetition / 1e9 ([`flops`]).
    pub gflop: f64,
    /// `gflop / median_s`.
    pub gflops: f64,
    /// The measured peak of this backend (GFLOP/s).
    pub peak_gflops: f64,
    /// `gflops / peak_gflops`.
    pub fraction_of_peak: f64,
    /// The CPU row's median time over this row's (NaN for CPU rows, or without a CPU row).
    pub vs_cpu: f64,
    /// `GPU/CPU` for a hardware adapter, `software/CPU` for a software one, empty otherwise.
    pub vs_cpu_kind: String,
    /// Largest |Δ| between the backends from identical initial conditions (NaN with one backend).
    pub agreement: f64,
    /// What `agreement` compares.
    pub agreement_of: String,
    /// Caps, skips, and the software label.
    pub note: String,
}

/// The bench's peaks.
#[derive(Clone, Debug, Serialize)]
pub struct Peaks {
    pub cpu: Peak,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Peak>,
}

/// Everything `bench.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub hebbnet_version: &'static str,
    pub date: String,
    pub command_line: Vec<String>,
    pub machine: Machine,
    pub workload: String,
    pub options: BenchOptions,
    pub peaks: Peaks,
    /// Lines for people: backends not run, caps, the software label.
    pub notes: Vec<String>,
    pub rows: Vec<BenchRow>,
}

/// The label of every row a software adapter produced.
pub fn software_label(adapter: &AdapterSummary) -> String {
    let lower = adapter.name.to_lowercase();
    let short = if lower.contains("llvmpipe") || lower.contains("lavapipe") {
        "lavapipe".to_string()
    } else {
        adapter.name.clone()
    };
    format!("software adapter ({short}): correctness only, not GPU speed")
}

/// The row of a one-epoch family case (BMS, Jiang, Lotito) timed on `b`: `times` the timed
/// repetitions of `steps` steps of `replicas` networks of `neurons`, `updates` synapse updates
/// and `gflop` the work per repetition; a software adapter is named in the note.
#[allow(clippy::too_many_arguments)]
fn family_row(
    case: Case,
    neurons: usize,
    replicas: usize,
    steps: usize,
    b: &Opened,
    times: &[f64],
    updates: f64,
    gflop: f64,
    mut note: String,
) -> BenchRow {
    let med = median(times);
    if let Some(a) = b.adapter.as_ref().filter(|a| a.software) {
        note.push_str("; ");
        note.push_str(&software_label(a));
    }
    BenchRow {
        case,
        neurons,
        replicas,
        steps,
        epochs: 1,
        exponents: 0,
        backend: b.name,
        device: b.device(),
        software: b.adapter.as_ref().is_some_and(|a| a.software),
        repeats: times.len(),
        median_s: med,
        min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
        steps_per_s: steps as f64 / med,
        synapse_updates_per_s: updates / med,
        gflop,
        gflops: gflop / med,
        peak_gflops: b.peak,
        fraction_of_peak: gflop / med / b.peak,
        vs_cpu: f64::NAN,
        vs_cpu_kind: String::new(),
        agreement: f64::NAN,
        agreement_of: String::new(),
        note,
    }
}

/// Each backend's row gets the CPU–GPU agreement `diff` (of `what`); a GPU row also its
/// speed-up over the CPU row `cpu`.
fn compare_rows(rows: &mut [BenchRow], backends: &[Opened], cpu: usize, diff: f64, what: &str) {
    let cpu_time = rows[cpu].median_s;
    for (row, b) in rows.iter_mut().zip(backends) {
        row.agreement = diff;
        row.agreement_of = what.to_string();
        if b.name == BackendName::Gpu {
            row.vs_cpu = cpu_time / row.median_s;
            row.vs_cpu_kind = if row.software {
                "software/CPU".into()
            } else {
                "GPU/CPU".into()
            };
        }
    }
}

impl Opened {
    /// The adapter's line, or the CPU backend's description.
    fn device(&self) -> String {
        match &self.adapter {
            Some(a) => a.line(),
            None => self.backend.info().description.clone(),
        }
    }
}

struct Opened {
    name: BackendName,
    backend: Box<dyn Backend>,
    adapter: Option<AdapterSummary>,
    peak: f64,
    /// The device the GPU peak is measured on.
    peak_device: Option<(wgpu::Device, wgpu::Queue)>,
}

/// Open the requested backends (or every available one) and measure their peaks.
fn open(
    options: &BenchOptions,
    notes: &mut Vec<String>,
    say: &mut dyn FnMut(String),
) -> Result<(Vec<Opened>, Peaks)> {
    let wanted = options
        .backends
        .clone()
        .unwrap_or_else(|| vec![BackendName::Cpu, BackendName::Gpu]);
    let explicit = options.backends.is_some();
    say(format!("measuring the CPU peak ({})…", peak::SGEMM_SIZE));
    let cpu_peak = peak::cpu_sgemm(options.threads);
    say(format!(
        "CPU peak: {:.1} GFLOP/s ({})",
        cpu_peak.gflops, cpu_peak.method
    ));
    let mut opened = Vec::new();
    let mut gpu_peak = None;
    for name in wanted {
        match name {
            BackendName::Cpu => opened.push(Opened {
                name,
                backend: Box::new(CpuBackend::new(options.threads)?),
                adapter: None,
                peak: cpu_peak.gflops,
                peak_device: None,
            }),
            BackendName::Gpu => {
                let gpu = match GpuBackend::new() {
                    Ok(g) => g,
                    Err(e) if !explicit => {
                        notes.push(format!("gpu: not run ({e})"));
                        continue;
                    }
                    Err(Error::Gpu(e)) => {
                        return Err(Error::Gpu(format!("{e} (here: --backends cpu)")))
                    }
                    Err(e) => return Err(e),
                };
                let adapter = gpu.adapter().clone();
                say(format!("measuring the GPU peak on {}…", adapter.line()));
                let (_, device, queue, _) = context::open_device()?;
                let p = peak::gpu_fma(&device, &queue)?;
                say(format!("GPU peak: {:.1} GFLOP/s ({})", p.gflops, p.method));
                if adapter.software {
                    notes.push(format!(
                        "gpu: {} — {}; its peak and times are CPU speed through a software \
                         rasteriser",
                        adapter.line(),
                        software_label(&adapter)
                    ));
                }
                opened.push(Opened {
                    name,
                    backend: Box::new(gpu),
                    adapter: Some(adapter),
                    peak: p.gflops,
                    peak_device: Some((device, queue)),
                });
                gpu_peak = Some(p);
            }
        }
    }
    Ok((
        opened,
        Peaks {
            cpu: cpu_peak,
            gpu: gpu_peak,
        },
    ))
}

/// The config of one case: the embedded demo with N, R, the schedule and the analysis set.
pub fn case_config(
    case: Case,
    neurons: usize,
    replicas: usize,
    epochs: usize,
    transient: usize,
    recorded: usize,
) -> Result<Config> {
    let k = case.exponents(neurons);
    let tangent_transient = (recorded / 4).min(100);
    Config::load(
        None,
        &[
            format!("network.neurons={neurons}"),
            format!("ensemble.replicas={replicas}"),
            format!("schedule.epochs={epochs}"),
            format!("schedule.transient_steps={transient}"),
            format!("schedule.recorded_steps={recorded}"),
            format!("learning.enabled={}", case.learning()),
            "backend.precision=f32".into(),
            format!("analysis.lyapunov.exponents={k}"),
            format!("analysis.lyapunov.reorthonormalize_every={REORTHONORMALIZE_EVERY}"),
            format!("analysis.lyapunov.tangent_transient={tangent_transient}"),
            "analysis.eigenvalues.weights=false".into(),
            "analysis.eigenvalues.jacobian=false".into(),
            "analysis.attractor.enabled=false".into(),
        ],
    )
}

fn schedule_of(config: &Config) -> Schedule {
    Schedule {
        epochs: config.schedule.epochs,
        transient_steps: config.schedule.transient_steps,
        recorded_steps: config.schedule.recorded_steps,
        learning: config.learning.enabled,
    }
}

/// Run `inits` through `backend` in batches of its capacity, with the analysis `plan` attached;
/// returns the wall time and, when `keep`, the outputs and the analyses.
fn run_all(
    backend: &mut dyn Backend,
    config: &Config,
    inits: &[ReplicaInit],
    keep: bool,
) -> Result<(f64, Vec<BatchOutput>, Vec<ReplicaAnalysis>)> {
    let schedule = schedule_of(config);
    let plan = AnalysisPlan::from_config(config);
    let n = config.network.neurons;
    let capacity = backend.batch_capacity(n, Precision::F32)?;
    let cores = crate::backend::cpus::or_usable(config.backend.threads);
    let mut outputs = Vec::new();
    let mut kept = Vec::new();
    let start = Instant::now();
    for chunk in inits.chunks(capacity.max(1)) {
        let tangent_threads = (cores / chunk.len().max(1)).max(1);
        let mut analyses: Vec<ReplicaAnalysis> = match &plan {
            Some(p) => chunk
                .iter()
                .map(|i| {
                    ReplicaAnalysis::new(p, config.ensemble.seed, i.index, i.params.neuron)
                        .with_threads(tangent_threads)
                })
                .collect(),
            None => Vec::new(),
        };
        let out = crate::experiment::analog::run_observed(
            backend,
            &schedule,
            Precision::F32,
            chunk,
            keep,
            &mut analyses,
        )?;
        if keep {
            outputs.push(out);
            kept.extend(analyses);
        }
    }
    Ok((start.elapsed().as_secs_f64(), outputs, kept))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            // Equal values agree (also ±∞: an exponent of a direction that collapsed to zero);
            // NaN on both sides agrees, on one side only it is a disagreement.
            if x == y || (x.is_nan() && y.is_nan()) {
                0.0
            } else {
                let d = (x - y).abs();
                if d.is_nan() {
                    f64::INFINITY
                } else {
                    d
                }
            }
        })
        .fold(0.0, f64::max)
}

/// Largest |Δ| between two backends on `inits` for a short version of `case`, and what it
/// compares.
fn agreement(
    case: Case,
    a: &mut dyn Backend,
    b: &mut dyn Backend,
    inits: &[ReplicaInit],
    steps: usize,
) -> Result<(f64, String)> {
    let n = inits[0].state.len();
    // Dynamics: `steps` recorded steps. Learning: one epoch of ⌊steps/3⌋ + the rest, then the
    // update. Lyapunov: the exponents of a window with no tangent transient.
    let (transient, recorded) = match case {
        Case::Learning => (steps / 3, steps - steps / 3),
        _ => (0, steps),
    };
    let mut config = case_config(case, n, inits.len(), 1, transient, recorded.max(1))?;
    config.analysis.lyapunov.tangent_transient = 0;
    config.analysis.lyapunov.reorthonormalize_every = REORTHONORMALIZE_EVERY.min(recorded.max(1));
    let (_, out_a, an_a) = run_all(a, &config, inits, true)?;
    let (_, out_b, an_b) = run_all(b, &config, inits, true)?;
    let finals = |o: &[BatchOutput], f: &dyn Fn(&crate::backend::FinalState) -> &[f64]| {
        o.iter()
            .flat_map(|b| b.finals.iter())
            .flat_map(|s| f(s).to_vec())
            .collect::<Vec<f64>>()
    };
    let mut diff = max_abs_diff(
        &finals(&out_a, &|s| &s.state),
        &finals(&out_b, &|s| &s.state),
    );
    let mut what = format!("state after {} steps", transient + recorded);
    match case {
        Case::Learning => {
            diff = diff.max(max_abs_diff(
                &finals(&out_a, &|s| &s.weights),
                &finals(&out_b, &|s| &s.weights),
            ));
            what = format!("state and W after one learning epoch of {steps} steps");
        }
        Case::Lyapunov1 | Case::LyapunovFull => {
            let exps = |an: &[ReplicaAnalysis]| -> Vec<f64> {
                an.iter()
                    .flat_map(|a| &a.epochs)
                    .flat_map(|e| e.lyapunov.as_ref().map(|l| l.exponents.clone()))
                    .flatten()
                    .collect()
            };
            diff = diff.max(max_abs_diff(&exps(&an_a), &exps(&an_b)));
            what = format!("state and exponents after {recorded} steps");
        }
        Case::Dynamics => {}
        Case::BmsSparse | Case::BmsDense => unreachable!("BMS cases agree in bench::bms"),
        Case::JiangFactored | Case::JiangDense => {
            unreachable!("Jiang cases agree in bench::jiang")
        }
        Case::LotitoFigure1 => unreachable!("the Lotito case agrees in bench::lotito"),
        Case::ReservoirSuccess => unreachable!("the reservoir case agrees in bench::reservoir"),
    }
    Ok((diff, what))
}

fn median(times: &[f64]) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    let m = t.len() / 2;
    if t.len() % 2 == 1 {
        t[m]
    } else {
        0.5 * (t[m - 1] + t[m])
    }
}

/// Run the bench. `say` receives progress lines.
pub fn run(
    options: &BenchOptions,
    command_line: Vec<String>,
    say: &mut dyn FnMut(String),
) -> Result<BenchReport> {
    options.validate()?;
    let date = machine::now();
    let mut notes = Vec::new();
    let (mut backends, mut peaks) = open(options, &mut notes, say)?;
    let adapter = backends.iter().find_map(|b| b.adapter.clone());
    let machine = Machine::detect(adapter);
    let (transient, recorded) = options.epoch_shape();
    let epochs = options.epochs;
    let cpu_rate = peaks.cpu.gflops * 1e9 * ESTIMATE_EFFICIENCY;
    let mut rows = Vec::new();

    for &n in &options.neurons {
        for &r in &options.replicas {
            let init_bytes = (r * (n * n + 2 * n) * 8) as u64;
            let available = memory::available_bytes().unwrap_or(8 << 30);
            if init_bytes > available / 3 {
                return Err(Error::TooLarge(format!(
                    "N = {n}, R = {r}: the initial conditions alone take {} of the {} available; \
                     use fewer --replicas",
                    memory::human(init_bytes),
                    memory::human(available)
                )));
            }
            // Drawn once, before any timing: the cases time the backends, not the draws.
            let inits: Vec<ReplicaInit> = if options
                .cases
                .iter()
                .any(|c| !c.is_bms() && !c.is_jiang() && !c.is_lotito() && !c.is_reservoir())
            {
                let spec = EnsembleSpec::from_config(&case_config(
                    Case::Dynamics,
                    n,
                    r,
                    epochs,
                    transient,
                    recorded,
                )?)?;
                (0..r as u64)
                    .into_par_iter()
                    .map(|i| {
                        let mut init = spec.replica(i);
                        init.weights.given_mut();
                        init
                    })
                    .collect()
            } else {
                Vec::new()
            };
            for &case in &options.cases {
                if case.is_bms() {
                    let steps = epochs * (transient + recorded);
                    let shape = bms::Shape {
                        neurons: n,
                        replicas: r,
                        steps,
                        window: recorded,
                    };
                    rows.extend(bms::rows(case, shape, options, &mut backends, say)?);
                    continue;
                }
                if case.is_lotito() {
                    let shape = lotito::Shape {
                        visible: n,
                        replicas: r,
                        steps: epochs * (transient + recorded),
                    };
                    rows.extend(lotito::rows(case, shape, options, &mut backends, say)?);
                    continue;
                }
                if case.is_reservoir() {
                    rows.extend(reservoir::rows(case, n, r, options, &mut backends, say)?);
                    continue;
                }
                if case.is_jiang() {
                    let shape = jiang::Shape {
                        neurons: n,
                        replicas: r,
                        steps: epochs * (transient + recorded),
                    };
                    rows.extend(jiang::rows(case, shape, options, &mut backends, say)?);
                    continue;
                }
                let k = case.exponents(n);
                let work = Work {
                    neurons: n,
                    steps_per_epoch: transient + recorded,
                    recorded_steps: recorded,
                    epochs,
                    learning: case.learning(),
                    exponents: k,
                    reorthonormalize_every: REORTHONORMALIZE_EVERY,
                };
                // The analysis runs on the CPU whatever the backend: cap R by its estimate.
                let mut replicas = r;
                let mut note = String::new();
                if k > 0 {
                    let estimate = work.total(r) / cpu_rate;
                    if estimate > options.max_case_seconds {
                        let fit = (options.max_case_seconds * cpu_rate / work.per_replica()).floor()
                            as usize;
                        let cores = machine.cores;
                        let fit = if fit >= cores {
                            fit / cores * cores
                        } else {
                            fit
                        };
                        if fit == 0 {
                            let msg = format!(
                                "{} at N = {n}: skipped; one replica is estimated at {:.0} s per \
                                 repetition (> --max-case-seconds {})",
                                case.name(),
                                work.per_replica() / cpu_rate,
                                options.max_case_seconds
                            );
                            say(msg.clone());
                            notes.push(msg);
                            continue;
                        }
                        replicas = fit.min(r);
                        note = format!(
                            "R capped from {r} to {replicas}: R = {r} is estimated at {estimate:.0} \
                             s per repetition (> --max-case-seconds {})",
                            options.max_case_seconds
                        );
                        say(format!("{} N = {n}: {note}", case.name()));
                    }
                }
                let config = case_config(case, n, replicas, epochs, transient, recorded)?;
                let case_inits = &inits[..replicas];
                let mut case_rows = Vec::new();
                for b in backends.iter_mut() {
                    let (_, _, _) = run_all(b.backend.as_mut(), &config, case_inits, false)?;
                    let mut times = Vec::with_capacity(options.repeat);
                    for _ in 0..options.repeat {
                        times.push(run_all(b.backend.as_mut(), &config, case_inits, false)?.0);
                    }
                    let med = median(&times);
                    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
                    let gflop = work.total(replicas) / 1e9;
                    let software = b.adapter.as_ref().is_some_and(|a| a.software);
                    let mut row_note = note.clone();
                    if let Some(a) = b.adapter.as_ref().filter(|a| a.software) {
                        if !row_note.is_empty() {
                            row_note.push_str("; ");
                        }
                        row_note.push_str(&software_label(a));
                    }
                    let row = BenchRow {
                        case,
                        neurons: n,
                        replicas,
                        steps: work.steps(),
                        epochs,
                        exponents: k,
                        backend: b.name,
                        device: b.device(),
                        software,
                        repeats: options.repeat,
                        median_s: med,
                        min_s: min,
                        steps_per_s: work.steps() as f64 / med,
                        synapse_updates_per_s: work.synapse_updates(replicas) / med,
                        gflop,
                        gflops: gflop / med,
                        peak_gflops: b.peak,
                        fraction_of_peak: gflop / med / b.peak,
                        vs_cpu: f64::NAN,
                        vs_cpu_kind: String::new(),
                        agreement: f64::NAN,
                        agreement_of: String::new(),
                        note: row_note,
                    };
                    say(format!(
                        "{} N = {n} R = {replicas} {}: median {} s, {:.3e} synapse updates/s",
                        case.name(),
                        b.name.name(),
                        table::sig3(med),
                        row.synapse_updates_per_s
                    ));
                    case_rows.push(row);
                }
                // Ratios and agreement where both backends ran.
                let cpu = backends.iter().position(|b| b.name == BackendName::Cpu);
                let gpu = backends.iter().position(|b| b.name == BackendName::Gpu);
                if let (Some(c), Some(g)) = (cpu, gpu) {
                    let count = replicas.min(AGREEMENT_REPLICAS);
                    let (lo, hi) = (c.min(g), c.max(g));
                    let (left, right) = backends.split_at_mut(hi);
                    let (diff, what) = agreement(
                        case,
                        left[lo].backend.as_mut(),
                        right[0].backend.as_mut(),
                        &case_inits[..count],
                        options.agreement_steps,
                    )?;
                    let what = format!("{what}, {count} replicas");
                    compare_rows(&mut case_rows, &backends, c, diff, &what);
                    say(format!(
                        "{} N = {n} R = {replicas}: CPU–GPU max |Δ| = {diff:.3e} ({what})",
                        case.name()
                    ));
                }
                rows.extend(case_rows);
            }
        }
    }
    jiang::note_speedups(&mut rows);
    // The peaks once more: the best of both measurements is the peak.
    say("measuring the peaks again…".into());
    peaks.cpu.merge(peak::cpu_sgemm(options.threads));
    for b in backends.iter_mut() {
        match (&b.peak_device, peaks.gpu.as_mut()) {
            (Some((device, queue)), Some(g)) => {
                g.merge(peak::gpu_fma(device, queue)?);
                b.peak = g.gflops;
            }
            _ => b.peak = peaks.cpu.gflops,
        }
    }
    for row in rows.iter_mut() {
        row.peak_gflops = match row.backend {
            BackendName::Cpu => peaks.cpu.gflops,
            BackendName::Gpu => peaks.gpu.as_ref().map_or(f64::NAN, |g| g.gflops),
        };
        row.fraction_of_peak = row.gflops / row.peak_gflops;
    }
    say(format!(
        "CPU peak: {:.1} GFLOP/s (best of {:?})",
        peaks.cpu.gflops, peaks.cpu.samples
    ));
    Ok(BenchReport {
        hebbnet_version: env!("CARGO_PKG_VERSION"),
        date,
        command_line,
        machine,
        workload: format!(
            "embedded config (rate form, siri activation, g = 10, learning λ = 0.9, α = 0.1), \
             f32; each case {epochs} epoch(s) of {transient} transient + {recorded} recorded \
             steps; Lyapunov: QR every {REORTHONORMALIZE_EVERY} steps, tangents in f32"
        ),
        options: options.clone(),
        peaks,
        notes,
        rows,
    })
}

/// Columns of `bench.csv`, in order.
pub const CSV_COLUMNS: [&str; 23] = [
    "case",
    "neurons",
    "replicas",
    "steps",
    "epochs",
    "exponents",
    "backend",
    "device",
    "software",
    "repeats",
    "median_s",
    "min_s",
    "steps_per_s",
    "synapse_updates_per_s",
    "gflop",
    "gflops",
    "peak_gflops",
    "fraction_of_peak",
    "vs_cpu",
    "vs_cpu_kind",
    "agreement",
    "agreement_of",
    "note",
];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else {
        format!("{x}")
    }
}

/// `bench.csv`: a header of [`CSV_COLUMNS`] and one line per row.
pub fn csv(rows: &[BenchRow]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in rows {
        let fields = [
            r.case.name().to_string(),
            r.neurons.to_string(),
            r.replicas.to_string(),
            r.steps.to_string(),
            r.epochs.to_string(),
            r.exponents.to_string(),
            r.backend.name().to_string(),
            csv_field(&r.device),
            r.software.to_string(),
            r.repeats.to_string(),
            num(r.median_s),
            num(r.min_s),
            num(r.steps_per_s),
            num(r.synapse_updates_per_s),
            num(r.gflop),
            num(r.gflops),
            num(r.peak_gflops),
            num(r.fraction_of_peak),
            num(r.vs_cpu),
            csv_field(&r.vs_cpu_kind),
            num(r.agreement),
            csv_field(&r.agreement_of),
            csv_field(&r.note),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Write `bench.csv` and `bench.json` into `dir` (atomically); returns their paths.
pub fn write(report: &BenchReport, dir: &std::path::Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    let csv_path = dir.join("bench.csv");
    output::write_atomic(&csv_path, csv(&report.rows).as_bytes())?;
    let json_path = dir.join("bench.json");
    // serde_json writes NaN as null: "not measured".
    output::write_json(&json_path, report)?;
    Ok(vec![csv_path, json_path])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_bad_input_names_the_fix() {
        assert_eq!(parse_sizes("--n", "100, 400").unwrap(), vec![100, 400]);
        let e = parse_sizes("--n", "").unwrap_err();
        assert!(e.contains("empty list") && e.contains("--n 100,400"), "{e}");
        let e = parse_sizes("--n", "100,0").unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        assert!(parse_sizes("--replicas", "x")
            .unwrap_err()
            .contains("not a positive"));
        assert_eq!(
            parse_backends("gpu,cpu,gpu").unwrap(),
            vec![BackendName::Gpu, BackendName::Cpu]
        );
        assert!(parse_backends("tpu").unwrap_err().contains("cpu,gpu"));
        assert!(parse_backends(",").unwrap_err().contains("empty"));
        assert_eq!(parse_cases("all").unwrap(), Case::ALL.to_vec());
        assert_eq!(
            parse_cases("learning,lyapunov_1").unwrap(),
            vec![Case::Learning, Case::Lyapunov1]
        );
        assert!(parse_cases("lyapunov")
            .unwrap_err()
            .contains("lyapunov_full"));
    }

    #[test]
    fn options_validate_with_the_flag_in_the_message() {
        let ok = BenchOptions::default();
        ok.validate().unwrap();
        assert_eq!(ok.epoch_shape(), (166, 334));
        let bad = |o: BenchOptions, flag: &str| {
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains(flag), "{e}");
        };
        bad(
            BenchOptions {
                neurons: vec![],
                ..ok.clone()
            },
            "--n",
        );
        bad(
            BenchOptions {
                replicas: vec![4, 0],
                ..ok.clone()
            },
            "--replicas",
        );
        bad(
            BenchOptions {
                steps: 3,
                ..ok.clone()
            },
            "--steps",
        );
        bad(
            BenchOptions {
                repeat: 0,
                ..ok.clone()
            },
            "--repeat",
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn nan_on_one_side_is_a_disagreement() {
        assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.0, 2.5]), 0.5);
        assert_eq!(max_abs_diff(&[f64::NAN], &[f64::NAN]), 0.0);
        assert_eq!(max_abs_diff(&[f64::NAN], &[1.0]), f64::INFINITY);
        assert_eq!(
            max_abs_diff(&[f64::NEG_INFINITY], &[f64::NEG_INFINITY]),
            0.0
        );
        assert_eq!(max_abs_diff(&[f64::NEG_INFINITY], &[-3.0]), f64::INFINITY);
    }

    #[test]
    fn csv_quotes_fields_with_commas() {
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv(&[]).trim_end(), CSV_COLUMNS.join(","));
    }
}
