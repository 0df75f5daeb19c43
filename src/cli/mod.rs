//! The `hebbnet` command line: cheap argument parsing, then one validated plan.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::gpu::context;
use crate::config::{BackendKind, Config, Precision, SavedArray, DEFAULT_CONFIG_NAME};
use crate::experiment::{self, RunOptions};

#[derive(Parser, Debug)]
#[command(
    name = "hebbnet",
    version,
    about = "Ensembles of random recurrent neural networks with Hebbian learning, on CPU and GPU",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an ensemble (the embedded Siri 2008 demo when no config is given).
    Run(RunArgs),
    /// List GPU adapters, their type and the limits that matter.
    Devices,
    /// Print the resolved config (defaults filled in, overrides applied) as JSON.
    Config(ConfigArgs),
    /// Every analytic prediction for a config or sweep spec: mean field, edge of chaos,
    /// critical lines (docs/theory.md).
    Theory(TheoryArgs),
    /// Run a parameter sweep: a grid of config values × replicas (docs/sweeps.md).
    Sweep(SweepArgs),
    /// Merge the finished shards of a sweep into its summary files.
    Merge(MergeArgs),
    /// Draw the figures of a finished run or sweep (SVG and PNG, default into DIR/figures).
    Plot(crate::plot::PlotArgs),
    /// Time the same workloads on every backend against peaks measured here (CSV + JSON).
    Bench(BenchArgs),
}

/// `hebbnet bench`: see [`crate::bench`].
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Network sizes N, comma-separated.
    #[arg(long = "n", value_name = "LIST", default_value = "100", value_parser = sizes_n)]
    pub neurons: SizeList,
    /// Replica counts R, comma-separated.
    #[arg(long, value_name = "LIST", default_value = "256", value_parser = sizes_r)]
    pub replicas: SizeList,
    /// Steps per replica in each case.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Epochs per case (each of steps/epochs steps, 1/3 transient, 2/3 recorded).
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// cpu, gpu or cpu,gpu (default: the CPU, and the GPU when an adapter exists).
    #[arg(long, value_name = "LIST", value_parser = backend_list)]
    pub backends: Option<BackendList>,
    /// Cases, comma-separated: dynamics, learning, lyapunov_1, lyapunov_full (the analog family; all: these four), bms_rate_0.05, bms_rate_0.5, jiang_factored, jiang_dense, lotito_figure1.
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = case_list)]
    pub cases: CaseList,
    /// Timed repetitions after one warm-up (median and minimum reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Steps of the CPU–GPU agreement runs.
    #[arg(long, default_value_t = 10)]
    pub agreement_steps: usize,
    /// Lyapunov cases estimated longer than this per repetition run fewer replicas.
    #[arg(long, default_value_t = 30.0)]
    pub max_case_seconds: f64,
    /// CPU threads (0: the CPUs this process may use: affinity mask, cgroup quota, SLURM_CPUS_PER_TASK).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Directory of bench.csv and bench.json.
    #[arg(long, default_value = "runs/bench")]
    pub out: PathBuf,
    /// Only the table on stdout (no progress on stderr).
    #[arg(long, short)]
    pub quiet: bool,
}

/// A parsed `--n` / `--replicas` list.
#[derive(Clone, Debug)]
pub struct SizeList(pub Vec<usize>);
/// A parsed `--backends` list.
#[derive(Clone, Debug)]
pub struct BackendList(pub Vec<crate::bench::BackendName>);
/// A parsed `--cases` list.
#[derive(Clone, Debug)]
pub struct CaseList(pub Vec<crate::bench::Case>);

fn sizes_n(s: &str) -> std::result::Result<SizeList, String> {
    crate::bench::parse_sizes("--n", s).map(SizeList)
}

fn sizes_r(s: &str) -> std::result::Result<SizeList, String> {
    crate::bench::parse_sizes("--replicas", s).map(SizeList)
}

fn backend_list(s: &str) -> std::result::Result<BackendList, String> {
    crate::bench::parse_backends(s).map(BackendList)
}

fn case_list(s: &str) -> std::result::Result<CaseList, String> {
    crate::bench::parse_cases(s).map(CaseList)
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Sweep spec (JSON: base config, axes, replicas; see docs/sweeps.md).
    pub spec: PathBuf,
    /// Override a value of the base config, e.g. --set schedule.epochs=1 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Output directory (default: runs/<spec name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only shard K of COUNT (1-based), e.g. 3/16; default: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT inside a Slurm job array, else the whole sweep.
    #[arg(long, value_name = "K/COUNT")]
    pub shard: Option<String>,
    /// Continue a sweep that was interrupted (Ctrl-C, kill, a lost node).
    #[arg(long)]
    pub resume: bool,
    /// Discard whatever --out holds and start over.
    #[arg(long)]
    pub force: bool,
    /// auto: a hardware GPU if there is one, else the CPU.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// CPU threads (0: the CPUs this process may use: affinity mask, cgroup quota, SLURM_CPUS_PER_TASK).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Replicas per batch (0: derived from the device).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Only errors on stderr (no progress bar or log lines).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The --out directory of the sweep.
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConfigSource {
    /// Config file (JSON, keys in docs/config.md); default: the embedded configs/siri2008.json.
    pub config: Option<PathBuf>,
    /// Override a config value, e.g. --set learning.forgetting=0.8 (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

/// `hebbnet theory`: see [`crate::theory`].
#[derive(Args, Debug)]
pub struct TheoryArgs {
    /// Config file or sweep spec (JSON; docs/config.md, docs/sweeps.md); default: the embedded
    /// configs/siri2008.json.
    pub config: Option<PathBuf>,
    /// Override a config value (of a sweep's base config), e.g. --set network.gain=5
    /// (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// One JSON object ({"config", "predictions", "critical_lines", …}) instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub source: ConfigSource,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    Auto,
    Cpu,
    Gpu,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PrecisionArg {
    F32,
    F64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SaveArg {
    Weights,
    Input,
    State,
    /// The spike raster (`"model": "bms"`).
    Raster,
    /// The stored patterns (`"model": "jiang"`).
    Patterns,
    /// The eigenvalues of J (`"model": "jiang"`).
    Eigenvalues,
    /// The eigenvalues of the Jacobian at `jiang.jacobian_steps` (`"model": "jiang"`).
    JacobianEigenvalues,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: ConfigSource,
    /// Output directory (default: runs/<config name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// auto: a hardware GPU if there is one, else the CPU.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Number of replicas (ensemble.replicas).
    #[arg(long)]
    pub replicas: Option<usize>,
    /// Ensemble seed (ensemble.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of epochs (schedule.epochs).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// f64 is a CPU-only reference mode.
    #[arg(long, value_enum)]
    pub precision: Option<PrecisionArg>,
    /// CPU threads (0: the CPUs this process may use: affinity mask, cgroup quota, SLURM_CPUS_PER_TASK).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Replicas per batch (0: derived from the device).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Arrays to save at the end, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub save: Vec<SaveArg>,
    /// Replace the results of a different run in --out instead of refusing.
    #[arg(long)]
    pub force: bool,
    /// Only errors on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl ConfigSource {
    fn load(&self, extra: Vec<String>) -> crate::error::Result<Config> {
        let mut overrides = self.overrides.clone();
        overrides.extend(extra);
        Config::load(self.config.as_deref(), &overrides)
    }
}

/// Run the parsed command.
pub fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Devices => devices(),
        Command::Config(args) => {
            let config = args.source.load(Vec::new())?;
            println!("{}", serde_json::to_string_pretty(&config)?);
            Ok(())
        }
        Command::Theory(args) => {
            let report = crate::theory::report(args.config.as_deref(), &args.overrides)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report.to_json())?);
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
        Command::Sweep(args) => sweep(args),
        Command::Merge(args) => {
            let report = experiment::sweep::merge(&args.dir)?;
            if report.already_merged {
                println!("{} is already merged", args.dir.display());
            } else {
                for f in &report.files {
                    println!("wrote {}", args.dir.join(f).display());
                }
            }
            Ok(())
        }
        Command::Plot(args) => {
            let (dir, options) = args.into_parts();
            print!("{}", crate::plot::plot_run(&dir, &options)?);
            Ok(())
        }
        Command::Bench(args) => bench(args),
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let options = crate::bench::BenchOptions {
        neurons: args.neurons.0,
        replicas: args.replicas.0,
        steps: args.steps,
        epochs: args.epochs,
        backends: args.backends.map(|b| b.0),
        cases: args.cases.0,
        repeat: args.repeat,
        agreement_steps: args.agreement_steps,
        max_case_seconds: args.max_case_seconds,
        threads: args.threads,
    };
    let quiet = args.quiet;
    let mut say = |line: String| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let report = crate::bench::run(&options, std::env::args().collect(), &mut say)?;
    let files = crate::bench::write(&report, &args.out)?;
    print!("{}", crate::bench::table::render(&report));
    if !quiet {
        for f in files {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok(())
}

fn run(args: RunArgs) -> Result<()> {
    // Flags are overrides like any other, so they are validated the same way.
    let mut extra = Vec::new();
    if let Some(b) = args.backend {
        extra.push(format!("backend.kind={}", format!("{b:?}").to_lowercase()));
    }
    if let Some(r) = args.replicas {
        extra.push(format!("ensemble.replicas={r}"));
    }
    if let Some(s) = args.seed {
        extra.push(format!("ensemble.seed={s}"));
    }
    if let Some(e) = args.epochs {
        extra.push(format!("schedule.epochs={e}"));
    }
    if let Some(p) = args.precision {
        extra.push(format!(
            "backend.precision={}",
            format!("{p:?}").to_lowercase()
        ));
    }
    if let Some(t) = args.threads {
        extra.push(format!("backend.threads={t}"));
    }
    if let Some(b) = args.batch {
        extra.push(format!("backend.batch_replicas={b}"));
    }
    let mut config = args.source.load(extra)?;
    for s in &args.save {
        let a = match s {
            SaveArg::Weights => SavedArray::Weights,
            SaveArg::Input => SavedArray::Input,
            SaveArg::State => SavedArray::State,
            SaveArg::Raster => SavedArray::Raster,
            SaveArg::Patterns => SavedArray::Patterns,
            SaveArg::Eigenvalues => SavedArray::Eigenvalues,
            SaveArg::JacobianEigenvalues => SavedArray::JacobianEigenvalues,
        };
        if !config.output.save.contains(&a) {
            config.output.save.push(a);
        }
    }
    if !args.save.is_empty() {
        config.validate()?;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .source
            .config
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "siri2008".into());
        PathBuf::from("runs").join(stem)
    });
    // The .npy files the config names are checked before the backend opens and before any
    // output is written, so bad input is refused with its key (exit code 2) before any work.
    crate::ensemble::check_files(&config)?;
    let kind = config.backend.kind;
    if kind != BackendKind::Cpu && config.backend.precision == Precision::F64 {
        // auto with f64: the CPU is the only backend that can.
        config.backend.kind = BackendKind::Cpu;
    }
    let (mut backend, note) = experiment::open_backend(&config.backend)?;
    let options = RunOptions {
        out,
        config_source: args
            .source
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| DEFAULT_CONFIG_NAME.to_string()),
        command_line: std::env::args().collect(),
        quiet: args.quiet,
        force: args.force,
    };
    stop_cleanly_on_interrupt(&options.out, "the same command (it resumes)");
    experiment::run(&config, backend.as_mut(), &note, &options)?;
    Ok(())
}

fn sweep(args: SweepArgs) -> Result<()> {
    use experiment::progress::ProgressMode;
    use experiment::sweep::{Shard, SweepOptions, SweepSpec};
    let mut overrides = args.overrides.clone();
    if let Some(b) = args.backend {
        overrides.push(format!("backend.kind={}", format!("{b:?}").to_lowercase()));
    }
    if let Some(t) = args.threads {
        overrides.push(format!("backend.threads={t}"));
    }
    if let Some(b) = args.batch {
        overrides.push(format!("backend.batch_replicas={b}"));
    }
    let mut spec = SweepSpec::load(&args.spec, &overrides)?;
    let shard = match &args.shard {
        Some(s) => Some(Shard::parse(s)?),
        None => {
            let from_env = Shard::from_slurm(|k| std::env::var(k).ok())?;
            if let (Some(s), false) = (from_env, args.quiet) {
                eprintln!(
                    "shard {}/{} (from SLURM_ARRAY_TASK_ID; --shard overrides it)",
                    s.index, s.count
                );
            }
            from_env
        }
    };
    if spec.base.backend.kind != BackendKind::Cpu && spec.base.backend.precision == Precision::F64 {
        spec.base.backend.kind = BackendKind::Cpu;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .spec
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "sweep".into());
        PathBuf::from("runs").join(stem)
    });
    let (mut backend, note) = experiment::open_backend(&spec.base.backend)?;
    let options = SweepOptions {
        out: out.clone(),
        spec_source: args.spec.display().to_string(),
        command_line: std::env::args().collect(),
        shard,
        resume: args.resume,
        force: args.force,
        progress: ProgressMode::detect(args.quiet),
    };
    stop_cleanly_on_interrupt(&out, "the same command and --resume");
    experiment::sweep::run_sweep(&spec, backend.as_mut(), &note, &options)?;
    Ok(())
}

/// Ctrl-C (SIGINT, and SIGTERM as Slurm sends at the time limit) ends the process at once:
/// every finished batch is already on disk (written atomically as it completed), and the batch
/// in flight leaves only `.tmp` files, which a rerun ignores.
fn stop_cleanly_on_interrupt(out: &std::path::Path, how: &'static str) {
    let out = out.to_path_buf();
    let installed = ctrlc::set_handler(move || {
        eprintln!(
            "\ninterrupted: finished work is saved in {}; the batch in flight is discarded. \
             Continue with {how}.",
            out.display()
        );
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("note: cannot catch Ctrl-C ({e}); finished work is still saved as it completes");
    }
}

fn devices() -> Result<()> {
    let adapters = context::adapters();
    if adapters.is_empty() {
        println!("no GPU adapter found: {}", context::NO_ADAPTER_HINT);
    }
    for (k, (_, a)) in adapters.iter().enumerate() {
        let chosen = if k == 0 {
            "  ← --backend gpu uses this"
        } else {
            ""
        };
        println!("[{k}] {}{chosen}", a.line());
        println!("    driver: {} {}", a.driver, a.driver_info);
        println!(
            "    max storage binding: {} MiB, max buffer: {} MiB, workgroup memory: {} KiB, \
             invocations/workgroup: {}, workgroups/dimension: {}, subgroup size: {}–{}, \
             shader-f16: {}, unpack2x16float: {}",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_workgroup_storage_size >> 10,
            a.max_compute_invocations_per_workgroup,
            a.max_compute_workgroups_per_dimension,
            a.subgroup_min_size,
            a.subgroup_max_size,
            if a.shader_f16 { "yes" } else { "no" },
            if a.f16_in_f32 { "yes" } else { "no" },
        );
    }
    let auto = if adapters.iter().any(|(_, a)| !a.software) {
        "gpu"
    } else {
        "cpu (no hardware adapter)"
    };
    println!("--backend auto would use: {auto}");
    println!(
        "cpu backend: {} threads (the CPUs this process may use: affinity mask, cgroup quota, \
         SLURM_CPUS_PER_TASK)",
        crate::backend::cpus::usable()
    );
    Ok(())
}
