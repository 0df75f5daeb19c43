//! Every rule docs/config.md and docs/sweeps.md state, one malformed case each, through the real
//! `hebbnet` binary: exit code 2, a message naming the key (or, for bad JSON, the file, line and
//! column), no panic, and nothing written — the `--out` directory is not created and the
//! temporary directory holds only the inputs afterwards. No case starts a simulation.
//! `SHOW_CASES=1 cargo test --test validation -- --nocapture` prints every case's message.
//!
//! Each case is named after the rule it covers (`<key>.<rule>`), so a failure says which rule
//! broke. The cases, by section of the docs:
//!
//! - JSON and overrides (config.md intro): `json.syntax`, `json.number_beyond_f64`,
//!   `json.not_an_object`, `json.section_not_an_object`, `json.nested_section_not_an_object`,
//!   `json.unknown_key`, `json.unknown_section`, `config_file.missing`, `set.not_path_eq_value`,
//!   `set.empty_key`, `set.into_a_value`, `cli.unknown_flag`, `cli.epochs_zero`,
//!   `cli.replicas_zero`, `description.not_a_string`.
//! - `model`: `model.allowed_values`, `model.not_a_string`, `model.foreign_section`.
//! - `bms` (`"model": "bms"`): `bms.foreign_section`, `bms.section_in_analog`,
//!   `bms.neurons.at_least_1`, `bms.leak.below_1`, `bms.leak.non_negative`,
//!   `bms.threshold.finite`, `bms.threshold_std.non_negative`, `bms.noise.non_negative`,
//!   `bms.weight_scaling.allowed_values`, `bms.initial_conditions.at_least_1`,
//!   `bms.initial_conditions.at_most_256`, `bms.twin_perturbation.positive`,
//!   `bms.max_period.below_window`, `bms.max_period.at_least_1`, `bms.output.record.not_for_bms`,
//!   the shared sections through a BMS config (`bms.weights.std.non_negative`,
//!   `bms.learning.forgetting.positive`, `bms.initial_state.high.at_least_low`), and
//!   `output.save.raster_is_bms_only`.
//! - `jiang` (`"model": "jiang"`): `jiang.section_in_analog`, `jiang.weights.not_applicable`,
//!   `jiang.input.not_applicable`, `jiang.learning.off`, `jiang.schedule.epochs_1`,
//!   `jiang.neurons.at_least_2`, `jiang.load.more_patterns_than_depth`, `jiang.load.at_most_4`,
//!   `jiang.patterns.allowed_values`, `jiang.depth.at_least_1`, `jiang.sequences.divides_p`,
//!   `jiang.sequences.blocks_exceed_depth`, `jiang.dilution.in_0_1`,
//!   `jiang.couplings.factored_not_diluted`, `jiang.leak.in_0_1`, `jiang.cue.pattern.below_p`,
//!   `jiang.cue.flip_probability.in_0_1`, `jiang.cue.noise.non_negative`,
//!   `jiang.cue.exclusive_with_initial_state`, `jiang.initial_conditions.at_least_1`,
//!   `jiang.pair_perturbation.positive`, `jiang.record_every.at_least_1`,
//!   `jiang.jacobian_steps.within_run`, `jiang.chaos_threshold.positive`,
//!   `jiang.output.record.not_for_jiang`, `jiang.output.save.raster`.
//! - `lotito` (`"model": "lotito"`): `lotito.section_in_analog`, `lotito.visible.at_least_1`,
//!   `lotito.visible.at_most_65536`, `lotito.hidden.at_least_1`, `lotito.hidden.at_most_256`,
//!   `lotito.hidden.gram_schmidt_at_most_visible`, `lotito.memory_time.above_1`,
//!   `lotito.inverse_temperature.non_negative`, `lotito.target_noise.non_negative`,
//!   `lotito.fresh_noise.non_negative`, `lotito.bias.non_negative`,
//!   `lotito.collapse_noise.non_negative`, `lotito.softmax.allowed_values`,
//!   `lotito.patterns.allowed_values`, `lotito.initial_memories.allowed_values`,
//!   `lotito.presentation.allowed_values`, `lotito.probabilities.iid_only`,
//!   `lotito.probabilities.one_per_memory`, `lotito.probabilities.non_negative`,
//!   `lotito.probabilities.sum_to_1`, `lotito.block_length.at_least_1`,
//!   `lotito.steps.at_least_1`, `lotito.record_every.at_least_1`,
//!   `lotito.record_every.at_most_100000_samples`, `lotito.replace.pattern.below_hidden`,
//!   `lotito.replace.step.within_run`, `lotito.overwrite_cosine.in_open_interval`,
//!   `lotito.hebbian.gain.positive`, `lotito.hebbian.leak.in_0_1`,
//!   `lotito.hebbian.steps.at_least_1`, `lotito.hebbian.flip_probability.in_0_1`,
//!   `lotito.hebbian.noise.non_negative`, `lotito.hebbian.origin_noise.non_negative`,
//!   `lotito.hebbian.success_overlap.in_0_1`, `lotito.hebbian.scale.allowed_values`,
//!   `lotito.weights.not_applicable`, `lotito.input.not_applicable`,
//!   `lotito.initial_state.not_applicable`, `lotito.schedule.not_applicable`,
//!   `lotito.learning.off`, `lotito.output.record.not_for_lotito`, `lotito.output.save.raster`.
//! - `network`: `network.neurons.at_least_1`, `network.neurons.at_most_65536`,
//!   `network.neurons.integer`, `network.neurons.not_a_number`, `network.form.allowed_values`,
//!   `network.activation.allowed_values`, `network.gain.positive`, `network.gain.nan`,
//!   `network.gain.inf`, `network.gain.beyond_f64`, `network.leak.at_most_1`,
//!   `network.leak.positive`, `network.threshold.finite`.
//! - `weights`: `weights.mean.finite`, `weights.std.non_negative`,
//!   `weights.connectivity.positive`, `weights.connectivity.at_most_1`,
//!   `weights.autapses.boolean`, `weights.file.replaces_std`, `weights.file.replaces_mean`,
//!   `weights.file.replaces_connectivity`, `weights.file.replaces_autapses`,
//!   `weights.excitatory_fraction.in_0_1`, `weights.excitatory_fraction.not_with_mean`,
//!   `weights.inhibitory_scale.needs_populations`, `weights.inhibitory_scale.non_negative`,
//!   `weights.file.replaces_excitatory_fraction`, and for the file
//!   itself (as for `input.file` and `initial_state.file`): `<key>.missing`, `<key>.not_npy`,
//!   `<key>.truncated`, `<key>.dtype`, `<key>.shape`, `<key>.per_replica_shape`, `<key>.nan`,
//!   `<key>.inf`, `<key>.impossible_shape`.
//! - `input` / `initial_state`: `input.distribution.allowed_values`, `input.std.non_negative`,
//!   `input.mean.finite`, `input.high.at_least_low`, `input.low.finite`,
//!   `input.std.unused_by_uniform`, `input.low.unused_by_gaussian`,
//!   `input.file.no_other_key`, `initial_state.high.at_least_low`,
//!   `initial_state.std.non_negative`, `initial_state.mean.unused_by_uniform_default`,
//!   `initial_state.file.no_other_key`, + the file cases above.
//! - `schedule`: `schedule.epochs.at_least_1`, `schedule.recorded_steps.at_least_1`,
//!   `schedule.transient_steps.non_negative`, `schedule.total_steps_below_2_32`.
//! - `learning`: `learning.learning_rate.finite`, `learning.forgetting.positive`,
//!   `learning.forgetting.at_most_1`, `learning.activity_threshold.finite`,
//!   `learning.presynaptic_gate.allowed_values`, `learning.enabled.boolean`,
//!   `learning.sign_preserving.boolean`.
//! - `ensemble`: `ensemble.replicas.at_least_1`, `ensemble.replicas.addressable`,
//!   `ensemble.seed.non_negative_integer`.
//! - `backend`: `backend.kind.allowed_values`, `backend.precision.allowed_values`,
//!   `backend.precision.f64_not_on_gpu`, `backend.weight_storage.allowed_values`,
//!   `backend.weight_storage.f16_not_with_f64`, `backend.weights_in_workgroup.allowed_values`,
//!   `backend.workgroup_memory_bytes.positive`, `backend.workgroup_memory_bytes.integer`,
//!   `backend.batch_replicas.fits_one_batch`, `backend.threads.non_negative_integer`,
//!   `network.neurons.fits_memory` (skipped on machines with more than 200 GiB available). The
//!   GPU-only limits (`workgroup_memory_bytes` above the adapter's limit or below 4N + 4,
//!   `weights_in_workgroup = "always"` that does not fit) need an adapter: tests/cli.rs and
//!   tests/backends.rs cover them.
//! - `output`: `output.save.allowed_values`, `output.save.list`, `output.record.not_a_section`,
//!   `output.record.every.at_least_1`, `output.record.every.within_window`,
//!   `output.record.neurons.exist`, `output.record.records_something`,
//!   `output.record.unknown_key`, `output.record.at_most_values`.
//! - `analysis.lyapunov`: `analysis.lyapunov.exponents.at_most_n`,
//!   `analysis.lyapunov.exponents.count_or_all`, `analysis.lyapunov.exponents.integer`,
//!   `analysis.lyapunov.reorthonormalize_every.at_least_1`,
//!   `analysis.lyapunov.tangent_transient.below_recorded_steps`,
//!   `analysis.lyapunov.precision.allowed_values`, `analysis.lyapunov.trace_points.at_most_4096`.
//! - `analysis.eigenvalues`: `analysis.eigenvalues.weights.boolean`,
//!   `analysis.eigenvalues.jacobian.boolean`.
//! - `analysis.attractor`: `analysis.attractor.max_period.at_least_1`,
//!   `analysis.attractor.max_period.at_most_4096`, `analysis.attractor.tolerance.non_negative`,
//!   `analysis.attractor.tolerance.finite`, `analysis.attractor.zero_band.non_negative`,
//!   `analysis.attractor.enabled.boolean`.
//! - `analysis.sensitivity`: `analysis.sensitivity.epsilon.positive`,
//!   `analysis.sensitivity.epsilon.not_zero`, `analysis.sensitivity.epsilon.finite`,
//!   `analysis.sensitivity.directions.at_least_1`, `analysis.sensitivity.steps.at_least_1`,
//!   `analysis.sensitivity.transient.non_negative`.
//! - Sweep specs (docs/sweeps.md): `sweep.json.syntax`, `sweep.spec.missing`,
//!   `sweep.not_an_object`, `sweep.unknown_key`, `sweep.description.not_a_string`,
//!   `sweep.replicas.required`, `sweep.replicas.at_least_1`, `sweep.replicas.integer`,
//!   `sweep.seed.non_negative_integer`, `sweep.seeds.allowed_values`, `sweep.base.missing_file`,
//!   `sweep.base.path_or_object`, `sweep.base.invalid_config`, `sweep.base.unknown_key`,
//!   `sweep.set.unknown_key`, `sweep.set.object`, `sweep.set.invalid_value`,
//!   `sweep.set_flag.invalid_value`, `sweep.axes.required`, `sweep.axes.non_empty`,
//!   `sweep.axes.list`, `sweep.axis.object`, `sweep.axis.unknown_key`,
//!   `sweep.axis.exactly_one_range.none`, `sweep.axis.exactly_one_range.two`,
//!   `sweep.axis.values.non_empty`, `sweep.axis.values.numbers`, `sweep.axis.values.distinct`,
//!   `sweep.axis.linspace.num_at_least_1`, `sweep.axis.logspace.num_at_least_1`,
//!   `sweep.axis.geomspace.num_at_least_1`, `sweep.axis.linspace.three_numbers`,
//!   `sweep.axis.linspace.num_integer`, `sweep.axis.linspace.distinct`,
//!   `sweep.axis.geomspace.same_sign`, `sweep.axis.geomspace.nonzero`,
//!   `sweep.axis.logspace.finite`, `sweep.axis.at_most_1e6_values`,
//!   `sweep.grid.at_most_1e6_points`, `sweep.axis.key.known`, `sweep.axis.key.numeric`,
//!   `sweep.axis.key.once`, `sweep.axis.key.not_ensemble_replicas`,
//!   `sweep.axis.key.not_ensemble_seed`, `sweep.axis.key.not_backend`,
//!   `sweep.axis.key.not_output`, `sweep.point.integer_key_integral`,
//!   `sweep.point.value_the_config_rejects`, `sweep.point.exponents_at_most_n`,
//!   `sweep.point.weights_file_shape`, `sweep.base.npy_truncated`, `sweep.base.npy_nan`,
//!   `sweep.shard.syntax`, `sweep.shard.k_at_least_1`, `sweep.shard.k_at_most_count`,
//!   `sweep.shard.count_at_least_1`, `sweep.shard.slurm_task_id_number`,
//!   `sweep.shard.slurm_task_in_array`, `sweep.shard.slurm_count_set`,
//!   `sweep.shard.no_force`, `sweep.point.fits_memory` (skipped as above).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// A small, valid run config (N = 10, R = 2): cases add or change keys with `--set`.
const SMALL: &str = r#"{
  "network": {"neurons": 10},
  "schedule": {"epochs": 1, "transient_steps": 2, "recorded_steps": 20},
  "ensemble": {"replicas": 2},
  "analysis": {"lyapunov": {"exponents": 1, "tangent_transient": 5}}
}"#;

/// A small, valid BMS run config (N = 10, R = 2).
const BMS: &str = r#"{
  "model": "bms",
  "bms": {"neurons": 10, "initial_conditions": 2},
  "schedule": {"epochs": 1, "transient_steps": 2, "recorded_steps": 20},
  "ensemble": {"replicas": 2}
}"#;

/// A small, valid Jiang run config (N = 40, P = 4, R = 2).
const JIANG: &str = r#"{
  "model": "jiang",
  "jiang": {"neurons": 40, "load": 0.1},
  "schedule": {"epochs": 1, "transient_steps": 2, "recorded_steps": 20},
  "ensemble": {"replicas": 2}
}"#;

/// A small, valid Lotito run config (N_v = 8, N_h = 2, T = 20, R = 2).
const LOTITO: &str = r#"{
  "model": "lotito",
  "lotito": {"visible": 8, "hidden": 2, "steps": 20},
  "ensemble": {"replicas": 2}
}"#;

/// A small, valid reservoir run config (N = 20, R = 2, short runs).
const RESERVOIR: &str = r#"{
  "model": "reservoir",
  "network": {"neurons": 20},
  "weights": {"std": 0.5},
  "reservoir": {"open_loop": {"time": 20}, "kicks": {"time": 10, "samples": 5}},
  "ensemble": {"replicas": 2}
}"#;

/// A run of [`RESERVOIR`] with `--set` overrides.
fn reservoir(name: &'static str, sets: &[&str], expect: &[&'static str]) -> Case {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
    case(name, Cmd::Run, RESERVOIR, &args, expect)
}

/// A run of [`LOTITO`] with `--set` overrides.
fn lotito(name: &'static str, sets: &[&str], expect: &[&'static str]) -> Case {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
    case(name, Cmd::Run, LOTITO, &args, expect)
}

/// A run of [`JIANG`] with `--set` overrides.
fn jiang(name: &'static str, sets: &[&str], expect: &[&'static str]) -> Case {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
    case(name, Cmd::Run, JIANG, &args, expect)
}

/// A run of [`BMS`] with `--set` overrides.
fn bms(name: &'static str, sets: &[&str], expect: &[&'static str]) -> Case {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
    case(name, Cmd::Run, BMS, &args, expect)
}

/// A small, valid inline sweep base.
const BASE: &str = r#"{"network": {"neurons": 10},
  "schedule": {"epochs": 1, "transient_steps": 2, "recorded_steps": 20}}"#;

#[derive(Clone, Copy, PartialEq)]
enum Cmd {
    /// `hebbnet run c.json --backend cpu --out DIR ARGS` (`c.json` holds the case's text).
    Run,
    /// `hebbnet run --backend cpu --out DIR ARGS` (the embedded default config).
    RunDefault,
    /// `hebbnet run c.json --out DIR ARGS` (the case sets the backend itself).
    RunNoBackend,
    /// `hebbnet sweep s.json --backend cpu --out DIR ARGS` (`s.json` holds the case's text).
    Sweep,
}

struct Case {
    name: &'static str,
    cmd: Cmd,
    /// The config or spec text.
    text: String,
    args: Vec<String>,
    /// Substrings stderr must contain (the key path first).
    expect: Vec<&'static str>,
    /// Extra input files: name → bytes.
    files: Vec<(&'static str, Vec<u8>)>,
    env: Vec<(&'static str, &'static str)>,
}

fn case(name: &'static str, cmd: Cmd, text: &str, args: &[&str], expect: &[&'static str]) -> Case {
    Case {
        name,
        cmd,
        text: text.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
        expect: expect.to_vec(),
        files: Vec::new(),
        env: Vec::new(),
    }
}

/// A run of [`SMALL`] with `--set` overrides.
fn set(name: &'static str, sets: &[&str], expect: &[&'static str]) -> Case {
    let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
    case(name, Cmd::Run, SMALL, &args, expect)
}

/// A run of this config text.
fn file(name: &'static str, text: &str, expect: &[&'static str]) -> Case {
    case(name, Cmd::Run, text, &[], expect)
}

/// A sweep of this spec.
fn sweep(name: &'static str, spec: &str, expect: &[&'static str]) -> Case {
    case(name, Cmd::Sweep, spec, &[], expect)
}

/// A sweep spec over `network.gain` with this base and extra top-level entries.
fn spec_with(base: &str, extra: &str) -> String {
    format!(r#"{{"base": {base}, "axes": [{{"key": "network.gain", "values": [1, 2]}}]{extra}}}"#)
}

/// A `.npy` file: header (version 1.0) + raw data bytes.
fn npy(descr: &str, shape: &[u64], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn f64s(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
    values.into_iter().flat_map(f64::to_le_bytes).collect()
}

fn f32s(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

/// The malformed variants of a `.npy`-taking key, for N = 10 and R = 2 (`matrix`: shape (N, N)
/// or (R, N, N), else (N) or (R, N)).
fn npy_cases(key: &'static str, matrix: bool, names: [&'static str; 9]) -> Vec<Case> {
    let shape: Vec<u64> = if matrix { vec![10, 10] } else { vec![10] };
    let len: usize = shape.iter().product::<u64>() as usize;
    let small = |other: Option<&str>| {
        // The key's section gets `"file": "bad.npy"` (and nothing else).
        let (section, _) = key.split_once('.').unwrap();
        let mut tree: serde_json::Value = serde_json::from_str(SMALL).unwrap();
        tree[section] = serde_json::json!({"file": other.unwrap_or("bad.npy")});
        tree.to_string()
    };
    let with = |name: &'static str, bytes: Vec<u8>, expect: &'static str| {
        let mut c = file(name, &small(None), &[key, "bad.npy", expect]);
        c.files.push(("bad.npy", bytes));
        c
    };
    let mut bigger = shape.clone();
    bigger.insert(0, 3); // R = 2
    let smaller: Vec<u64> = shape.iter().map(|d| d - 1).collect();
    let mut nan = vec![0.5; len];
    nan[len - 1] = f64::NAN;
    let mut inf = vec![0.5f32; len];
    inf[3] = f32::INFINITY;
    vec![
        file(
            names[0],
            &small(Some("absent.npy")),
            &[key, "absent.npy", "cannot open"],
        ),
        with(
            names[1],
            b"not a numpy file at all".to_vec(),
            "not a readable .npy file",
        ),
        with(
            names[2],
            npy("<f8", &shape, &f64s(vec![0.5; len / 2])),
            "truncated",
        ),
        with(
            names[3],
            npy("<i4", &shape, &vec![0u8; 4 * len]),
            "dtype <i4 is not supported",
        ),
        with(
            names[4],
            npy(
                "<f8",
                &smaller,
                &f64s(vec![0.5; smaller.iter().product::<u64>() as usize]),
            ),
            "does not fit this run",
        ),
        with(
            names[5],
            npy("<f8", &bigger, &f64s(vec![0.5; 3 * len])),
            "does not fit this run",
        ),
        with(names[6], npy("<f8", &shape, &f64s(nan)), "is NaN"),
        with(names[7], npy("<f4", &shape, &f32s(inf)), "is inf"),
        with(
            names[8],
            npy("<f8", &[1 << 32, 1 << 32, 2], &[]),
            "larger than this machine can address",
        ),
    ]
}

fn cases() -> Vec<Case> {
    use Cmd::*;
    let mut c = vec![
        // JSON and overrides.
        file(
            "json.syntax",
            r#"{"network": {"neurons": 10,}}"#,
            &["c.json", "not valid JSON", "line 1 column"],
        ),
        file(
            "json.number_beyond_f64",
            r#"{"network": {"gain": 1e999}}"#,
            &["c.json", "line 1 column"],
        ),
        file(
            "json.not_an_object",
            "[1, 2]",
            &["c.json", "must hold a JSON object"],
        ),
        file(
            "json.section_not_an_object",
            r#"{"schedule": [3, 4, 5]}"#,
            &["`schedule`", "JSON object"],
        ),
        file(
            "json.nested_section_not_an_object",
            r#"{"analysis": {"attractor": [true, 0]}}"#,
            &["`analysis.attractor`", "JSON object"],
        ),
        file(
            "json.unknown_key",
            r#"{"learning": {"forgeting": 0.5}}"#,
            &["`learning.forgeting`", "unknown field"],
        ),
        file(
            "json.unknown_section",
            r#"{"netwrk": {}}"#,
            &["`netwrk`", "unknown field"],
        ),
        case(
            "config_file.missing",
            RunDefault,
            "",
            &["no_such_config.json"],
            &["no_such_config.json", "cannot read the config file"],
        ),
        set(
            "set.not_path_eq_value",
            &["network.gain"],
            &["network.gain", "path=value"],
        ),
        set(
            "set.empty_key",
            &["network..gain=1"],
            &["network..gain", "empty key"],
        ),
        set(
            "set.into_a_value",
            &["network.neurons.max=1"],
            &["`network.neurons`", "is not a section"],
        ),
        case(
            "cli.unknown_flag",
            Run,
            SMALL,
            &["--frobnicate"],
            &["--frobnicate"],
        ),
        case(
            "cli.epochs_zero",
            Run,
            SMALL,
            &["--epochs", "0"],
            &["`schedule.epochs`", "must be ≥ 1"],
        ),
        case(
            "cli.replicas_zero",
            Run,
            SMALL,
            &["--replicas", "0"],
            &["`ensemble.replicas`", "must be ≥ 1"],
        ),
        set(
            "description.not_a_string",
            &["description=3"],
            &["`description`", "invalid type"],
        ),
        // network
        set(
            "network.neurons.at_least_1",
            &["network.neurons=0"],
            &["`network.neurons`", "between 1 and 65536"],
        ),
        set(
            "network.neurons.at_most_65536",
            &["network.neurons=65537"],
            &["`network.neurons`", "between 1 and 65536"],
        ),
        set(
            "network.neurons.integer",
            &["network.neurons=10.5"],
            &["`network.neurons`", "invalid type"],
        ),
        set(
            "network.neurons.not_a_number",
            &["network.neurons=many"],
            &["`network.neurons`", "invalid type"],
        ),
        set(
            "model.allowed_values",
            &["model=spiking"],
            &[
                "`model`",
                "unknown variant `spiking`, expected one of `analog`, `bms`, `jiang`",
            ],
        ),
        set("model.not_a_string", &["model=3"], &["`model`", "expected"]),
        set(
            "model.foreign_section",
            &["model=bms"],
            &["`network`", "is a section of \"model\": \"analog\""],
        ),
        bms(
            "bms.foreign_section",
            &["network.gain=3"],
            &["`network`", "this config's model is \"bms\""],
        ),
        set(
            "bms.section_in_analog",
            &["bms.leak=0.5"],
            &["`bms`", "is a section of \"model\": \"bms\""],
        ),
        bms(
            "bms.neurons.at_least_1",
            &["bms.neurons=0"],
            &["`bms.neurons`", "between 1 and 65536"],
        ),
        bms(
            "bms.leak.below_1",
            &["bms.leak=1"],
            &["`bms.leak`", "[0, 1)"],
        ),
        bms(
            "bms.leak.non_negative",
            &["bms.leak=-0.1"],
            &["`bms.leak`", "[0, 1)"],
        ),
        bms(
            "bms.threshold.finite",
            &["bms.threshold=NaN"],
            &["`bms.threshold`"],
        ),
        bms(
            "bms.threshold_std.non_negative",
            &["bms.threshold_std=-1"],
            &["`bms.threshold_std`", "≥ 0"],
        ),
        bms(
            "bms.noise.non_negative",
            &["bms.noise=-0.1"],
            &["`bms.noise`", "≥ 0"],
        ),
        bms(
            "bms.weight_scaling.allowed_values",
            &["bms.weight_scaling=sqrt"],
            &["`bms.weight_scaling`", "unknown variant"],
        ),
        bms(
            "bms.initial_conditions.at_least_1",
            &["bms.initial_conditions=0"],
            &["`bms.initial_conditions`", "between 1 and 256"],
        ),
        bms(
            "bms.initial_conditions.at_most_256",
            &["bms.initial_conditions=257"],
            &["`bms.initial_conditions`", "between 1 and 256"],
        ),
        bms(
            "bms.twin_perturbation.positive",
            &["bms.twin_perturbation=0"],
            &["`bms.twin_perturbation`", "> 0"],
        ),
        bms(
            "bms.max_period.below_window",
            &["bms.max_period=20"],
            &["`bms.max_period`", "schedule.recorded_steps − 1 = 19"],
        ),
        bms(
            "bms.max_period.at_least_1",
            &["bms.max_period=0"],
            &["`bms.max_period`"],
        ),
        bms(
            "bms.output.record.not_for_bms",
            &["output.record.population=true"],
            &["`output.record`", "output.save = [\"raster\"]"],
        ),
        bms(
            "bms.weights.std.non_negative",
            &["weights.std=-1"],
            &["`weights.std`", "≥ 0"],
        ),
        bms(
            "bms.learning.forgetting.positive",
            &["learning.forgetting=0"],
            &["`learning.forgetting`"],
        ),
        bms(
            "bms.initial_state.high.at_least_low",
            &["bms.threshold=-1"],
            &["`initial_state.high`", "≥ low"],
        ),
        set(
            "lotito.section_in_analog",
            &["lotito.hidden=3"],
            &["`lotito`", "is a section of \"model\": \"lotito\""],
        ),
        set(
            "jiang.section_in_analog",
            &["jiang.leak=0.5"],
            &["`jiang`", "is a section of \"model\": \"jiang\""],
        ),
        jiang(
            "jiang.weights.not_applicable",
            &["weights.std=2"],
            &["`weights`", "does not apply"],
        ),
        jiang(
            "jiang.input.not_applicable",
            &["input.mean=1"],
            &["`input`", "no external input"],
        ),
        jiang(
            "jiang.learning.off",
            &["learning.enabled=true"],
            &["`learning.enabled`", "must be false"],
        ),
        jiang(
            "jiang.schedule.epochs_1",
            &["schedule.epochs=2"],
            &["`schedule.epochs`", "must be 1"],
        ),
        jiang(
            "jiang.neurons.at_least_2",
            &["jiang.neurons=1"],
            &["`jiang.neurons`", "between 2 and 65536"],
        ),
        jiang(
            "jiang.load.more_patterns_than_depth",
            &["jiang.load=0.01"],
            &[
                "`jiang.load`",
                "P = ⌊αN + ½⌋ = 0",
                "must exceed jiang.depth",
            ],
        ),
        jiang(
            "jiang.load.at_most_4",
            &["jiang.load=5"],
            &["`jiang.load`", "at most 4"],
        ),
        jiang(
            "jiang.patterns.allowed_values",
            &["jiang.patterns=\"ternary\""],
            &["`jiang.patterns`", "unknown variant"],
        ),
        jiang(
            "jiang.depth.at_least_1",
            &["jiang.depth=0"],
            &["`jiang.depth`", "≥ 1"],
        ),
        jiang(
            "jiang.sequences.divides_p",
            &["jiang.sequences=3"],
            &["`jiang.sequences`", "divide P = 4"],
        ),
        jiang(
            "jiang.sequences.blocks_exceed_depth",
            &["jiang.sequences=4"],
            &["`jiang.sequences`", "P/s = 1"],
        ),
        jiang(
            "jiang.dilution.in_0_1",
            &["jiang.dilution=0"],
            &["`jiang.dilution`", "(0, 1]"],
        ),
        jiang(
            "jiang.couplings.factored_not_diluted",
            &["jiang.dilution=0.5", "jiang.couplings=\"factored\""],
            &["`jiang.couplings`", "diluted"],
        ),
        jiang(
            "jiang.leak.in_0_1",
            &["jiang.leak=1.5"],
            &["`jiang.leak`", "(0, 1]"],
        ),
        jiang(
            "jiang.cue.pattern.below_p",
            &["jiang.cue={\"pattern\": 4}"],
            &["`jiang.cue.pattern`", "below P = 4"],
        ),
        jiang(
            "jiang.cue.flip_probability.in_0_1",
            &["jiang.cue={\"flip_probability\": 2}"],
            &["`jiang.cue.flip_probability`", "[0, 1]"],
        ),
        jiang(
            "jiang.cue.noise.non_negative",
            &["jiang.cue={\"noise\": -1}"],
            &["`jiang.cue.noise`", "≥ 0"],
        ),
        jiang(
            "jiang.cue.exclusive_with_initial_state",
            &["jiang.cue={}", "initial_state.std=2"],
            &["`initial_state`", "replaced by jiang.cue"],
        ),
        jiang(
            "jiang.initial_conditions.at_least_1",
            &["jiang.initial_conditions=0"],
            &["`jiang.initial_conditions`", "between 1 and 1024"],
        ),
        jiang(
            "jiang.pair_perturbation.positive",
            &["jiang.pair_perturbation=0"],
            &["`jiang.pair_perturbation`", "must be > 0"],
        ),
        jiang(
            "jiang.record_every.at_least_1",
            &["jiang.record_every=0"],
            &["`jiang.record_every`", "≥ 1"],
        ),
        jiang(
            "jiang.jacobian_steps.within_run",
            &["jiang.jacobian_steps=[23]"],
            &["`jiang.jacobian_steps[0]`", "at most the run's 22 steps"],
        ),
        jiang(
            "jiang.chaos_threshold.positive",
            &["jiang.chaos_threshold=0"],
            &["`jiang.chaos_threshold`", "> 0"],
        ),
        jiang(
            "jiang.output.record.not_for_jiang",
            &["output.record={\"every\": 1}"],
            &["`output.record`", "jiang.record_every"],
        ),
        reservoir(
            "reservoir.network.form.current",
            &["network.form=rate"],
            &["`network.form`", "current"],
        ),
        reservoir(
            "reservoir.network.gain.tanh_is_1",
            &["network.gain=2"],
            &["`network.gain`", "must be 1", "weights.std"],
        ),
        reservoir(
            "reservoir.network.gain.logistic_is_half",
            &["network.activation=siri"],
            &["`network.gain`", "must be 0.5"],
        ),
        reservoir(
            "reservoir.network.threshold.relu_only",
            &["network.threshold=0.2"],
            &["`network.threshold`", "relu"],
        ),
        reservoir(
            "reservoir.network.neurons.at_least_1",
            &["network.neurons=0"],
            &["`network.neurons`", "between 1 and 65536"],
        ),
        reservoir(
            "reservoir.network.leak.in_0_1",
            &["network.leak=1.5"],
            &["`network.leak`", "(0, 1]"],
        ),
        reservoir(
            "reservoir.weights.std.nonnegative",
            &["weights.std=-1"],
            &["`weights.std`", "≥ 0"],
        ),
        reservoir(
            "reservoir.learning.off",
            &["learning.enabled=true"],
            &["`learning.enabled`", "readout"],
        ),
        reservoir(
            "reservoir.targets.count",
            &["reservoir.targets=[]"],
            &["`reservoir.targets`", "between 1 and 8"],
        ),
        reservoir(
            "reservoir.targets.at_most_8",
            &["reservoir.targets=[1,2,3,4,5,6,7,8,9]"],
            &["`reservoir.targets`", "between 1 and 8"],
        ),
        reservoir(
            "reservoir.targets.index_in_range",
            &["reservoir.targets=[1]", "reservoir.targets.3=2"],
            &["`reservoir.targets.3`", "index it from 0 to 0"],
        ),
        reservoir(
            "reservoir.ridge.nonnegative",
            &["reservoir.ridge=-0.1"],
            &["`reservoir.ridge`", "≥ 0"],
        ),
        reservoir(
            "reservoir.open_loop.dt.in_0_1",
            &["reservoir.open_loop.dt=0"],
            &["`reservoir.open_loop.dt`", "(0, 1]"],
        ),
        reservoir(
            "reservoir.open_loop.time.one_step",
            &["reservoir.open_loop.time=0.01"],
            &["`reservoir.open_loop.time`", "at least one step"],
        ),
        reservoir(
            "reservoir.open_loop.settle_tolerance.positive",
            &["reservoir.open_loop.settle_tolerance=0"],
            &["`reservoir.open_loop.settle_tolerance`", "> 0"],
        ),
        reservoir(
            "reservoir.open_loop.lyapunov_time.shorter",
            &["reservoir.open_loop.lyapunov_time=20"],
            &[
                "`reservoir.open_loop.lyapunov_time`",
                "shorter than open_loop.time",
            ],
        ),
        reservoir(
            "reservoir.newton.tolerance.positive",
            &["reservoir.newton.tolerance=0"],
            &["`reservoir.newton.tolerance`", "> 0"],
        ),
        reservoir(
            "reservoir.newton.failure.above_tolerance",
            &["reservoir.newton.failure=1e-12"],
            &["`reservoir.newton.failure`", "≥ newton.tolerance"],
        ),
        reservoir(
            "reservoir.marginal_tolerance.nonnegative",
            &["reservoir.marginal_tolerance=-1"],
            &["`reservoir.marginal_tolerance`", "≥ 0"],
        ),
        reservoir(
            "reservoir.kicks.kinds.nonempty",
            &["reservoir.kicks.kinds=[]"],
            &["`reservoir.kicks.kinds`", "at least one"],
        ),
        reservoir(
            "reservoir.kicks.kinds.allowed_values",
            &[r#"reservoir.kicks.kinds=["sideways"]"#],
            &["`reservoir.kicks.kinds", "combined", "feedback"],
        ),
        reservoir(
            "reservoir.kicks.random_starts.at_least_1",
            &["reservoir.kicks.random_starts=0"],
            &["`reservoir.kicks.random_starts`", "≥ 1"],
        ),
        reservoir(
            "reservoir.kicks.along_state.nonnegative",
            &["reservoir.kicks.along_state=-0.1"],
            &["`reservoir.kicks.along_state`", "≥ 0"],
        ),
        reservoir(
            "reservoir.kicks.noise.nonnegative",
            &["reservoir.kicks.noise=-0.1"],
            &["`reservoir.kicks.noise`", "≥ 0"],
        ),
        reservoir(
            "reservoir.kicks.samples.within_steps",
            &["reservoir.kicks.samples=1000"],
            &["`reservoir.kicks.samples`", "100"],
        ),
        reservoir(
            "reservoir.kicks.tolerance.positive",
            &["reservoir.kicks.tolerance=0"],
            &["`reservoir.kicks.tolerance`", "> 0"],
        ),
        reservoir(
            "reservoir.kicks.floor.positive",
            &["reservoir.kicks.floor=0"],
            &["`reservoir.kicks.floor`", "> 0"],
        ),
        reservoir(
            "reservoir.response.amplitude.positive",
            &[r#"reservoir.response={"amplitude": 0}"#],
            &["`reservoir.response.amplitude`", "> 0"],
        ),
        reservoir(
            "reservoir.response.frequencies.nonempty",
            &[r#"reservoir.response={"frequencies": []}"#],
            &["`reservoir.response.frequencies`", "between 1 and 64"],
        ),
        reservoir(
            "reservoir.response.frequencies.below_nyquist",
            &[r#"reservoir.response={"frequencies": [40]}"#],
            &["`reservoir.response.frequencies`", "Nyquist"],
        ),
        reservoir(
            "reservoir.response.transient.shorter",
            &[r#"reservoir.response={"time": 100, "transient": 100}"#],
            &[
                "`reservoir.response.transient`",
                "shorter than response.time",
            ],
        ),
        reservoir(
            "reservoir.response.time.one_period",
            &[r#"reservoir.response={"frequencies": [0.01], "time": 200}"#],
            &["`reservoir.response.time`", "one period"],
        ),
        reservoir(
            "reservoir.initial_state.not_applicable",
            &["initial_state.std=2"],
            &["`initial_state`", r#"does not apply to "reservoir""#],
        ),
        reservoir(
            "reservoir.schedule.not_applicable",
            &["schedule.epochs=3"],
            &["`schedule`", r#"does not apply to "reservoir""#],
        ),
        reservoir(
            "reservoir.output.record.not_for_reservoir",
            &[r#"output.record={"every": 1}"#],
            &["`output.record`", "readout_series"],
        ),
        reservoir(
            "reservoir.analysis.not_for_reservoir",
            &["analysis.lyapunov.exponents=2"],
            &["`analysis`", r#""model": "analog""#],
        ),
        reservoir(
            "reservoir.output.save.raster_not_for_reservoir",
            &[r#"output.save=["raster"]"#],
            &["`output.save`", r#""raster""#],
        ),
        lotito(
            "lotito.visible.at_least_1",
            &["lotito.visible=0", "lotito.patterns=\"gaussian\""],
            &["`lotito.visible`", "between 1 and 65536"],
        ),
        lotito(
            "lotito.visible.at_most_65536",
            &["lotito.visible=70000"],
            &["`lotito.visible`", "between 1 and 65536"],
        ),
        lotito(
            "lotito.hidden.at_least_1",
            &["lotito.hidden=0"],
            &["`lotito.hidden`", "between 1 and 256"],
        ),
        lotito(
            "lotito.hidden.at_most_256",
            &["lotito.hidden=300", "lotito.visible=400"],
            &["`lotito.hidden`", "between 1 and 256"],
        ),
        lotito(
            "lotito.hidden.gram_schmidt_at_most_visible",
            &["lotito.hidden=9"],
            &["`lotito.hidden`", "gram_schmidt", "N_h ≤ N_v"],
        ),
        lotito(
            "lotito.memory_time.above_1",
            &["lotito.memory_time=1"],
            &["`lotito.memory_time`", "> 1"],
        ),
        lotito(
            "lotito.inverse_temperature.non_negative",
            &["lotito.inverse_temperature=-1"],
            &["`lotito.inverse_temperature`", "≥ 0"],
        ),
        lotito(
            "lotito.target_noise.non_negative",
            &["lotito.target_noise=-0.1"],
            &["`lotito.target_noise`", "≥ 0"],
        ),
        lotito(
            "lotito.fresh_noise.non_negative",
            &["lotito.fresh_noise=-0.1"],
            &["`lotito.fresh_noise`", "≥ 0"],
        ),
        lotito(
            "lotito.bias.non_negative",
            &["lotito.bias=-1"],
            &["`lotito.bias`", "≥ 0"],
        ),
        lotito(
            "lotito.collapse_noise.non_negative",
            &["lotito.collapse_noise=-1"],
            &["`lotito.collapse_noise`", "≥ 0"],
        ),
        lotito(
            "lotito.softmax.allowed_values",
            &["lotito.softmax=\"hard\""],
            &["`lotito.softmax`", "score", "gradient", "argmax"],
        ),
        lotito(
            "lotito.patterns.allowed_values",
            &["lotito.patterns=\"orthogonal\""],
            &["`lotito.patterns`", "gram_schmidt"],
        ),
        lotito(
            "lotito.initial_memories.allowed_values",
            &["lotito.initial_memories=\"zero\""],
            &["`lotito.initial_memories`", "collapsed"],
        ),
        lotito(
            "lotito.presentation.allowed_values",
            &["lotito.presentation=\"random\""],
            &["`lotito.presentation`", "cyclic", "iid"],
        ),
        lotito(
            "lotito.probabilities.iid_only",
            &["lotito.probabilities=[0.5,0.5]"],
            &["`lotito.probabilities`", "\"iid\""],
        ),
        lotito(
            "lotito.probabilities.one_per_memory",
            &["lotito.presentation=\"iid\"", "lotito.probabilities=[1.0]"],
            &["`lotito.probabilities`", "one per memory"],
        ),
        lotito(
            "lotito.probabilities.non_negative",
            &[
                "lotito.presentation=\"iid\"",
                "lotito.probabilities=[1.5,-0.5]",
            ],
            &["`lotito.probabilities[1]`", "≥ 0"],
        ),
        lotito(
            "lotito.probabilities.sum_to_1",
            &[
                "lotito.presentation=\"iid\"",
                "lotito.probabilities=[0.5,0.4]",
            ],
            &["`lotito.probabilities`", "sum to 1"],
        ),
        lotito(
            "lotito.block_length.at_least_1",
            &["lotito.block_length=0"],
            &["`lotito.block_length`", "≥ 1"],
        ),
        lotito(
            "lotito.steps.at_least_1",
            &["lotito.steps=0"],
            &["`lotito.steps`", "≥ 1"],
        ),
        lotito(
            "lotito.record_every.at_least_1",
            &["lotito.record_every=0"],
            &["`lotito.record_every`", "≥ 1"],
        ),
        lotito(
            "lotito.record_every.at_most_100000_samples",
            &["lotito.steps=200000"],
            &["`lotito.record_every`", "100000 samples"],
        ),
        lotito(
            "lotito.replace.pattern.below_hidden",
            &["lotito.replace={\"pattern\": 2, \"step\": 5}"],
            &["`lotito.replace.pattern`", "below N_h = 2"],
        ),
        lotito(
            "lotito.replace.step.within_run",
            &["lotito.replace={\"pattern\": 0, \"step\": 20}"],
            &["`lotito.replace.step`", "between 1 and 19"],
        ),
        lotito(
            "lotito.overwrite_cosine.in_open_interval",
            &["lotito.overwrite_cosine=1"],
            &["`lotito.overwrite_cosine`", "(−1, 1)"],
        ),
        lotito(
            "lotito.hebbian.gain.positive",
            &["lotito.hebbian={\"gain\": 0}"],
            &["`lotito.hebbian.gain`", "> 0"],
        ),
        lotito(
            "lotito.hebbian.leak.in_0_1",
            &["lotito.hebbian={\"leak\": 1.5}"],
            &["`lotito.hebbian.leak`", "(0, 1]"],
        ),
        lotito(
            "lotito.hebbian.steps.at_least_1",
            &["lotito.hebbian={\"steps\": 0}"],
            &["`lotito.hebbian.steps`", "≥ 1"],
        ),
        lotito(
            "lotito.hebbian.flip_probability.in_0_1",
            &["lotito.hebbian={\"flip_probability\": 2}"],
            &["`lotito.hebbian.flip_probability`", "[0, 1]"],
        ),
        lotito(
            "lotito.hebbian.noise.non_negative",
            &["lotito.hebbian={\"noise\": -1}"],
            &["`lotito.hebbian.noise`", "≥ 0"],
        ),
        lotito(
            "lotito.hebbian.origin_noise.non_negative",
            &["lotito.hebbian={\"origin_noise\": -1}"],
            &["`lotito.hebbian.origin_noise`", "≥ 0"],
        ),
        lotito(
            "lotito.hebbian.success_overlap.in_0_1",
            &["lotito.hebbian={\"success_overlap\": 1}"],
            &["`lotito.hebbian.success_overlap`", "(0, 1)"],
        ),
        lotito(
            "lotito.hebbian.scale.allowed_values",
            &["lotito.hebbian={\"scale\": \"unit\"}"],
            &["`lotito.hebbian.scale`", "memory", "textbook"],
        ),
        lotito(
            "lotito.weights.not_applicable",
            &["weights.std=2"],
            &["`weights`", "does not apply to \"lotito\""],
        ),
        lotito(
            "lotito.input.not_applicable",
            &["input.std=2"],
            &["`input`", "does not apply to \"lotito\""],
        ),
        lotito(
            "lotito.initial_state.not_applicable",
            &["initial_state.std=2"],
            &["`initial_state`", "does not apply to \"lotito\""],
        ),
        lotito(
            "lotito.schedule.not_applicable",
            &["schedule.recorded_steps=7"],
            &["`schedule`", "does not apply to \"lotito\""],
        ),
        lotito(
            "lotito.learning.off",
            &["learning.enabled=true"],
            &["`learning.enabled`", "must be false for \"lotito\""],
        ),
        lotito(
            "lotito.output.record.not_for_lotito",
            &["output.record={\"every\": 1}"],
            &["`output.record`", "lotito.record_every"],
        ),
        lotito(
            "lotito.output.save.raster",
            &["output.save=[\"raster\"]"],
            &["`output.save`", "\"raster\"", "\"lotito\""],
        ),
        jiang(
            "jiang.output.save.raster",
            &["output.save=[\"raster\"]"],
            &[
                "`output.save`",
                "\"raster\" is not an array of \"model\": \"jiang\"",
            ],
        ),
        set(
            "output.save.raster_is_bms_only",
            &["output.save=[\"raster\"]"],
            &[
                "`output.save`",
                "\"raster\" is not an array of \"model\": \"analog\"",
                "\"bms\"",
            ],
        ),
        set(
            "network.form.allowed_values",
            &["network.form=spiking"],
            &["`network.form`", "unknown variant"],
        ),
        set(
            "network.activation.allowed_values",
            &["network.activation=sigmoid"],
            &["`network.activation`", "unknown variant"],
        ),
        set(
            "network.gain.positive",
            &["network.gain=0"],
            &["`network.gain`", "must be > 0"],
        ),
        set(
            "network.gain.nan",
            &["network.gain=NaN"],
            &["`network.gain`", "finite"],
        ),
        set(
            "network.gain.inf",
            &["network.gain=inf"],
            &["`network.gain`", "finite"],
        ),
        set(
            "network.gain.beyond_f64",
            &["network.gain=1e999"],
            &["`network.gain`", "finite"],
        ),
        set(
            "network.leak.at_most_1",
            &["network.leak=1.5"],
            &["`network.leak`", "(0, 1]"],
        ),
        set(
            "network.leak.positive",
            &["network.leak=0"],
            &["`network.leak`", "(0, 1]"],
        ),
        set(
            "network.threshold.finite",
            &["network.threshold=-Infinity"],
            &["`network.threshold`", "finite"],
        ),
        // weights
        set(
            "weights.mean.finite",
            &["weights.mean=NaN"],
            &["`weights.mean`", "finite"],
        ),
        set(
            "weights.std.non_negative",
            &["weights.std=-1"],
            &["`weights.std`", "≥ 0"],
        ),
        set(
            "weights.connectivity.positive",
            &["weights.connectivity=0"],
            &["`weights.connectivity`", "(0, 1]"],
        ),
        set(
            "weights.connectivity.at_most_1",
            &["weights.connectivity=1.5"],
            &["`weights.connectivity`", "(0, 1]"],
        ),
        set(
            "weights.autapses.boolean",
            &["weights.autapses=no"],
            &["`weights.autapses`", "invalid type"],
        ),
        set(
            "weights.file.replaces_std",
            &["weights.file=w.npy", "weights.std=2"],
            &["`weights.std`", "weights.file replaces"],
        ),
        set(
            "weights.file.replaces_mean",
            &["weights.file=w.npy", "weights.mean=1"],
            &["`weights.mean`", "weights.file replaces"],
        ),
        set(
            "weights.file.replaces_connectivity",
            &["weights.file=w.npy", "weights.connectivity=0.5"],
            &["`weights.connectivity`", "weights.file replaces"],
        ),
        set(
            "weights.file.replaces_autapses",
            &["weights.file=w.npy", "weights.autapses=false"],
            &["`weights.autapses`", "weights.file replaces"],
        ),
        set(
            "weights.excitatory_fraction.in_0_1",
            &["weights.excitatory_fraction=1.2"],
            &["`weights.excitatory_fraction`", "[0, 1]"],
        ),
        set(
            "weights.excitatory_fraction.not_with_mean",
            &["weights.excitatory_fraction=0.8", "weights.mean=1"],
            &["`weights.mean`", "must be 0 with two populations"],
        ),
        set(
            "weights.inhibitory_scale.needs_populations",
            &["weights.inhibitory_scale=2"],
            &[
                "`weights.inhibitory_scale`",
                "set weights.excitatory_fraction",
            ],
        ),
        set(
            "weights.inhibitory_scale.non_negative",
            &[
                "weights.excitatory_fraction=0.8",
                "weights.inhibitory_scale=-1",
            ],
            &["`weights.inhibitory_scale`", "must be ≥ 0"],
        ),
        set(
            "weights.file.replaces_excitatory_fraction",
            &["weights.file=w.npy", "weights.excitatory_fraction=0.8"],
            &["`weights.excitatory_fraction`", "weights.file replaces"],
        ),
        // input and initial_state
        set(
            "input.distribution.allowed_values",
            &["input.distribution=cauchy"],
            &["`input.distribution`", "unknown variant"],
        ),
        set(
            "input.std.non_negative",
            &["input.std=-0.5"],
            &["`input.std`", "≥ 0"],
        ),
        set(
            "input.mean.finite",
            &["input.mean=inf"],
            &["`input.mean`", "finite"],
        ),
        set(
            "input.high.at_least_low",
            &["input.distribution=uniform", "input.low=1", "input.high=0"],
            &["`input.high`", "≥ low"],
        ),
        set(
            "input.low.finite",
            &["input.distribution=uniform", "input.low=-1e999"],
            &["`input.low`", "finite"],
        ),
        set(
            "input.std.unused_by_uniform",
            &["input.distribution=uniform", "input.std=1"],
            &["`input.std`", "not used by distribution \"uniform\""],
        ),
        set(
            "input.low.unused_by_gaussian",
            &["input.low=0"],
            &["`input.low`", "not used by distribution \"gaussian\""],
        ),
        set(
            "input.file.no_other_key",
            &["input.file=xi.npy", "input.mean=1"],
            &["`input.file`", "remove distribution"],
        ),
        set(
            "initial_state.high.at_least_low",
            &["initial_state.low=0.5", "initial_state.high=0.2"],
            &["`initial_state.high`", "≥ low"],
        ),
        set(
            "initial_state.std.non_negative",
            &["network.form=current", "initial_state.std=-1"],
            &["`initial_state.std`", "≥ 0"],
        ),
        set(
            "initial_state.mean.unused_by_uniform_default",
            &["initial_state.mean=0.5"],
            &[
                "`initial_state.mean`",
                "not used by distribution \"uniform\"",
            ],
        ),
        set(
            "initial_state.file.no_other_key",
            &["initial_state.file=x0.npy", "initial_state.low=0"],
            &["`initial_state.file`", "remove distribution"],
        ),
        // schedule
        set(
            "schedule.epochs.at_least_1",
            &["schedule.epochs=0"],
            &["`schedule.epochs`", "≥ 1"],
        ),
        set(
            "schedule.recorded_steps.at_least_1",
            &["schedule.recorded_steps=0"],
            &["`schedule.recorded_steps`", "≥ 1"],
        ),
        set(
            "schedule.transient_steps.non_negative",
            &["schedule.transient_steps=-1"],
            &["`schedule.transient_steps`", "invalid"],
        ),
        set(
            "schedule.total_steps_below_2_32",
            &["schedule.epochs=100000", "schedule.transient_steps=50000"],
            &["`schedule.transient_steps`", "below 2³²"],
        ),
        // learning
        set(
            "learning.learning_rate.finite",
            &["learning.learning_rate=NaN"],
            &["`learning.learning_rate`", "finite"],
        ),
        set(
            "learning.forgetting.positive",
            &["learning.forgetting=0"],
            &["`learning.forgetting`", "(0, 1]"],
        ),
        set(
            "learning.forgetting.at_most_1",
            &["learning.forgetting=1.5"],
            &["`learning.forgetting`", "(0, 1]"],
        ),
        set(
            "learning.activity_threshold.finite",
            &["learning.activity_threshold=inf"],
            &["`learning.activity_threshold`", "finite"],
        ),
        set(
            "learning.presynaptic_gate.allowed_values",
            &["learning.presynaptic_gate=maybe"],
            &["`learning.presynaptic_gate`", "unknown variant"],
        ),
        set(
            "learning.enabled.boolean",
            &["learning.enabled=yes"],
            &["`learning.enabled`", "invalid type"],
        ),
        set(
            "learning.sign_preserving.boolean",
            &["learning.sign_preserving=1"],
            &["`learning.sign_preserving`", "invalid type"],
        ),
        // ensemble
        set(
            "ensemble.replicas.at_least_1",
            &["ensemble.replicas=0"],
            &["`ensemble.replicas`", "≥ 1"],
        ),
        set(
            "ensemble.replicas.addressable",
            &["network.neurons=65536", "ensemble.replicas=1000000000"],
            &["`ensemble.replicas`", "address"],
        ),
        set(
            "ensemble.seed.non_negative_integer",
            &["ensemble.seed=-1"],
            &["`ensemble.seed`", "invalid"],
        ),
        // backend
        case(
            "backend.kind.allowed_values",
            RunNoBackend,
            r#"{"backend": {"kind": "tpu"}}"#,
            &[],
            &["`backend.kind`", "unknown variant"],
        ),
        set(
            "backend.precision.allowed_values",
            &["backend.precision=f16"],
            &["`backend.precision`", "unknown variant"],
        ),
        case(
            "backend.precision.f64_not_on_gpu",
            RunNoBackend,
            SMALL,
            &["--backend", "gpu", "--precision", "f64"],
            &["`backend.precision`", "CPU reference mode"],
        ),
        set(
            "backend.weight_storage.allowed_values",
            &["backend.weight_storage=bf16"],
            &["`backend.weight_storage`", "unknown variant"],
        ),
        set(
            "backend.weight_storage.f16_not_with_f64",
            &["backend.weight_storage=f16", "backend.precision=f64"],
            &["`backend.weight_storage`", "f32 mode"],
        ),
        set(
            "backend.weights_in_workgroup.allowed_values",
            &["backend.weights_in_workgroup=sometimes"],
            &["`backend.weights_in_workgroup`", "unknown variant"],
        ),
        set(
            "backend.workgroup_memory_bytes.positive",
            &["backend.workgroup_memory_bytes=0"],
            &["`backend.workgroup_memory_bytes`", "positive"],
        ),
        set(
            "backend.workgroup_memory_bytes.integer",
            &["backend.workgroup_memory_bytes=1.5"],
            &["`backend.workgroup_memory_bytes`", "invalid type"],
        ),
        case(
            "backend.batch_replicas.fits_one_batch",
            Run,
            SMALL,
            &["--batch", "100000000"],
            &["`backend.batch_replicas`", "do not fit one batch"],
        ),
        set(
            "backend.threads.non_negative_integer",
            &["backend.threads=-2"],
            &["`backend.threads`", "invalid"],
        ),
        // output
        set(
            "output.save.allowed_values",
            &[r#"output.save=["weights", "gradients"]"#],
            &["`output.save", "unknown variant"],
        ),
        set(
            "output.save.list",
            &["output.save=weights"],
            &["`output.save`", "invalid type"],
        ),
        set(
            "output.record.not_a_section",
            &["output.record=5"],
            &["`output.record`", "is a section"],
        ),
        set(
            "output.record.every.at_least_1",
            &[r#"output.record={"every": 0, "population": true}"#],
            &["`output.record.every`", "must be ≥ 1"],
        ),
        set(
            "output.record.every.within_window",
            &[
                "schedule.recorded_steps=10",
                r#"output.record={"every": 11, "population": true}"#,
            ],
            &["`output.record.every`", "longer than the recorded window"],
        ),
        set(
            "output.record.neurons.exist",
            &[r#"output.record={"neurons": [0, 100]}"#],
            &["`output.record.neurons`", "neuron 100 does not exist"],
        ),
        set(
            "output.record.records_something",
            &[r#"output.record={"every": 2}"#],
            &["`output.record`", "records nothing"],
        ),
        set(
            "output.record.unknown_key",
            &[r#"output.record={"steps": 2}"#],
            &["`output.record.steps`", "unknown field"],
        ),
        set(
            "output.record.at_most_values",
            &[
                "schedule.epochs=1000",
                "schedule.recorded_steps=100000",
                r#"output.record={"population": true}"#,
            ],
            &["`output.record`", "values per replica"],
        ),
        // analysis.lyapunov
        set(
            "analysis.lyapunov.exponents.at_most_n",
            &["analysis.lyapunov.exponents=11"],
            &["`analysis.lyapunov.exponents`", "at most 10"],
        ),
        set(
            "analysis.lyapunov.exponents.count_or_all",
            &["analysis.lyapunov.exponents=some"],
            &["`analysis.lyapunov.exponents`", "\"all\""],
        ),
        set(
            "analysis.lyapunov.exponents.integer",
            &["analysis.lyapunov.exponents=1.5"],
            &["`analysis.lyapunov.exponents`", "invalid type"],
        ),
        set(
            "analysis.lyapunov.reorthonormalize_every.at_least_1",
            &["analysis.lyapunov.reorthonormalize_every=0"],
            &["`analysis.lyapunov.reorthonormalize_every`", "≥ 1"],
        ),
        set(
            "analysis.lyapunov.tangent_transient.below_recorded_steps",
            &["analysis.lyapunov.tangent_transient=20"],
            &[
                "`analysis.lyapunov.tangent_transient`",
                "below schedule.recorded_steps",
            ],
        ),
        set(
            "analysis.lyapunov.precision.allowed_values",
            &["analysis.lyapunov.precision=f16"],
            &["`analysis.lyapunov.precision`", "unknown variant"],
        ),
        set(
            "analysis.lyapunov.trace_points.at_most_4096",
            &["analysis.lyapunov.trace_points=5000"],
            &["`analysis.lyapunov.trace_points`", "at most 4096"],
        ),
        // analysis.eigenvalues
        set(
            "analysis.eigenvalues.weights.boolean",
            &["analysis.eigenvalues.weights=yes"],
            &["`analysis.eigenvalues.weights`", "invalid type"],
        ),
        set(
            "analysis.eigenvalues.jacobian.boolean",
            &["analysis.eigenvalues.jacobian=1"],
            &["`analysis.eigenvalues.jacobian`", "invalid type"],
        ),
        // analysis.attractor
        set(
            "analysis.attractor.max_period.at_least_1",
            &["analysis.attractor.max_period=0"],
            &["`analysis.attractor.max_period`", "between 1 and 4096"],
        ),
        set(
            "analysis.attractor.max_period.at_most_4096",
            &["analysis.attractor.max_period=5000"],
            &["`analysis.attractor.max_period`", "between 1 and 4096"],
        ),
        set(
            "analysis.attractor.tolerance.non_negative",
            &["analysis.attractor.tolerance=-1e-5"],
            &["`analysis.attractor.tolerance`", "≥ 0"],
        ),
        set(
            "analysis.attractor.tolerance.finite",
            &["analysis.attractor.tolerance=NaN"],
            &["`analysis.attractor.tolerance`", "finite"],
        ),
        set(
            "analysis.attractor.zero_band.non_negative",
            &["analysis.attractor.zero_band=-0.01"],
            &["`analysis.attractor.zero_band`", "≥ 0"],
        ),
        set(
            "analysis.attractor.enabled.boolean",
            &["analysis.attractor.enabled=on"],
            &["`analysis.attractor.enabled`", "invalid type"],
        ),
        // analysis.sensitivity
        set(
            "analysis.sensitivity.epsilon.positive",
            &[
                "analysis.sensitivity.enabled=true",
                "analysis.sensitivity.epsilon=-0.01",
            ],
            &["`analysis.sensitivity.epsilon`", "> 0"],
        ),
        set(
            "analysis.sensitivity.epsilon.not_zero",
            &["analysis.sensitivity.epsilon=0"],
            &["`analysis.sensitivity.epsilon`", "> 0"],
        ),
        set(
            "analysis.sensitivity.epsilon.finite",
            &["analysis.sensitivity.epsilon=inf"],
            &["`analysis.sensitivity.epsilon`", "finite"],
        ),
        set(
            "analysis.sensitivity.directions.at_least_1",
            &[
                "analysis.sensitivity.enabled=true",
                "analysis.sensitivity.directions=0",
            ],
            &["`analysis.sensitivity.directions`", "≥ 1"],
        ),
        set(
            "analysis.sensitivity.steps.at_least_1",
            &[
                "analysis.sensitivity.enabled=true",
                "analysis.sensitivity.steps=0",
            ],
            &["`analysis.sensitivity.steps`", "≥ 1"],
        ),
        set(
            "analysis.sensitivity.transient.non_negative",
            &["analysis.sensitivity.transient=-5"],
            &["`analysis.sensitivity.transient`", "invalid"],
        ),
        // Sweep specs.
        sweep(
            "sweep.json.syntax",
            r#"{"axes": [}"#,
            &["s.json", "not valid JSON", "line 1 column"],
        ),
        case(
            "sweep.spec.missing",
            Sweep,
            "",
            &["--set", "network.gain=2"],
            &["no_such_spec.json", "cannot read the sweep spec"],
        ),
        sweep(
            "sweep.not_an_object",
            "[1, 2]",
            &["`sweep`", "must be a JSON object"],
        ),
        sweep(
            "sweep.unknown_key",
            &spec_with(BASE, r#", "replicas": 2, "replica": 2"#),
            &["`sweep.replica`", "unknown field"],
        ),
        sweep(
            "sweep.description.not_a_string",
            &spec_with(BASE, r#", "replicas": 2, "description": 5"#),
            &["`sweep.description`", "invalid type"],
        ),
        sweep(
            "sweep.replicas.required",
            &spec_with(BASE, ""),
            &["`sweep.replicas`", "missing field"],
        ),
        sweep(
            "sweep.replicas.at_least_1",
            &spec_with(BASE, r#", "replicas": 0"#),
            &["`sweep.replicas`", "≥ 1"],
        ),
        sweep(
            "sweep.replicas.integer",
            &spec_with(BASE, r#", "replicas": 2.5"#),
            &["`sweep.replicas`", "invalid type"],
        ),
        sweep(
            "sweep.seed.non_negative_integer",
            &spec_with(BASE, r#", "replicas": 2, "seed": -3"#),
            &["`sweep.seed`", "invalid"],
        ),
        sweep(
            "sweep.seeds.allowed_values",
            &spec_with(BASE, r#", "replicas": 2, "seeds": "random""#),
            &["`sweep.seeds`", "unknown variant"],
        ),
        sweep(
            "sweep.base.missing_file",
            &spec_with(r#""no_such_base.json""#, r#", "replicas": 2"#),
            &[
                "`sweep.base`",
                "no_such_base.json",
                "cannot read the config file",
            ],
        ),
        sweep(
            "sweep.base.path_or_object",
            &spec_with("3", r#", "replicas": 2"#),
            &["`sweep.base`", "config file path"],
        ),
        sweep(
            "sweep.base.invalid_config",
            &spec_with(r#"{"network": {"leak": 2}}"#, r#", "replicas": 2"#),
            &["`network.leak`", "(0, 1]"],
        ),
        sweep(
            "sweep.base.unknown_key",
            &spec_with(r#"{"network": {"gian": 2}}"#, r#", "replicas": 2"#),
            &["`network.gian`", "unknown field"],
        ),
        sweep(
            "sweep.set.unknown_key",
            &spec_with(BASE, r#", "replicas": 2, "set": {"network.gian": 2}"#),
            &["`network.gian`", "unknown field"],
        ),
        sweep(
            "sweep.set.object",
            &spec_with(BASE, r#", "replicas": 2, "set": ["network.gain=2"]"#),
            &["`sweep.set`", "invalid type"],
        ),
        sweep(
            "sweep.set.invalid_value",
            &spec_with(
                BASE,
                r#", "replicas": 2, "set": {"learning.forgetting": 2}"#,
            ),
            &["`learning.forgetting`", "(0, 1]"],
        ),
        case(
            "sweep.set_flag.invalid_value",
            Sweep,
            &spec_with(BASE, r#", "replicas": 2"#),
            &["--set", "weights.std=-1"],
            &["`weights.std`", "≥ 0"],
        ),
        sweep(
            "sweep.axes.required",
            &format!(r#"{{"base": {BASE}, "replicas": 2}}"#),
            &["`sweep.axes`", "missing field"],
        ),
        sweep(
            "sweep.axes.non_empty",
            &format!(r#"{{"base": {BASE}, "axes": [], "replicas": 2}}"#),
            &["`sweep.axes`", "is empty"],
        ),
        sweep(
            "sweep.axes.list",
            &format!(
                r#"{{"base": {BASE}, "axes": {{"key": "network.gain", "values": [1]}}, "replicas": 2}}"#
            ),
            &["`sweep.axes`", "invalid type"],
        ),
    ];
    let axis = |name: &'static str, axes: &str, expect: &[&'static str]| {
        sweep(
            name,
            &format!(r#"{{"base": {BASE}, "axes": [{axes}], "replicas": 2}}"#),
            expect,
        )
    };
    c.extend([
        axis("sweep.axis.object", r#"["network.gain", [1, 2]]"#, &["`sweep.axes[0]`", "must be a JSON object"]),
        axis("sweep.axis.unknown_key", r#"{"key": "network.gain", "vals": [1]}"#, &["`sweep.axes[0].vals`", "unknown field"]),
        axis("sweep.axis.exactly_one_range.none", r#"{"key": "network.gain"}"#, &["`sweep.axes[0]`", "exactly one of"]),
        axis("sweep.axis.exactly_one_range.two", r#"{"key": "network.gain", "values": [1], "linspace": [1, 2, 2]}"#, &["`sweep.axes[0]`", "exactly one of"]),
        axis("sweep.axis.values.non_empty", r#"{"key": "network.gain", "values": []}"#, &["`sweep.axes[0].values`", "empty range"]),
        axis("sweep.axis.values.numbers", r#"{"key": "network.gain", "values": [1, "2"]}"#, &["`sweep.axes[0].values[1]`", "invalid type"]),
        axis("sweep.axis.values.distinct", r#"{"key": "network.gain", "values": [1, 2, 1]}"#, &["`sweep.axes[0]`", "appears twice"]),
        axis("sweep.axis.linspace.num_at_least_1", r#"{"key": "network.gain", "linspace": [1, 2, 0]}"#, &["`sweep.axes[0].linspace`", "empty range"]),
        axis("sweep.axis.logspace.num_at_least_1", r#"{"key": "network.gain", "logspace": [0, 1, 0]}"#, &["`sweep.axes[0].logspace`", "empty range"]),
        axis("sweep.axis.geomspace.num_at_least_1", r#"{"key": "network.gain", "geomspace": [1, 2, 0]}"#, &["`sweep.axes[0].geomspace`", "empty range"]),
        axis("sweep.axis.linspace.three_numbers", r#"{"key": "network.gain", "linspace": [1, 2]}"#, &["`sweep.axes[0].linspace`", "invalid length"]),
        axis("sweep.axis.linspace.num_integer", r#"{"key": "network.gain", "linspace": [1, 2, 2.5]}"#, &["`sweep.axes[0].linspace", "invalid type"]),
        axis("sweep.axis.linspace.distinct", r#"{"key": "network.gain", "linspace": [2, 2, 3]}"#, &["`sweep.axes[0]`", "appears twice"]),
        axis("sweep.axis.geomspace.same_sign", r#"{"key": "network.gain", "geomspace": [-1, 4, 3]}"#, &["`sweep.axes[0].geomspace`", "same sign"]),
        axis("sweep.axis.geomspace.nonzero", r#"{"key": "network.gain", "geomspace": [0, 4, 3]}"#, &["`sweep.axes[0].geomspace`", "nonzero"]),
        axis("sweep.axis.logspace.finite", r#"{"key": "network.gain", "logspace": [0, 400, 3]}"#, &["`sweep.axes[0]`", "not a finite number"]),
        axis("sweep.axis.at_most_1e6_values", r#"{"key": "network.gain", "linspace": [1, 2, 1000000000000]}"#, &["`sweep.axes[0].linspace`", "more than a sweep may have"]),
        axis("sweep.grid.at_most_1e6_points", r#"{"key": "network.gain", "linspace": [1, 2, 1000]}, {"key": "weights.std", "linspace": [1, 2, 1001]}"#, &["`sweep.axes`", "1000 × 1001"]),
        axis("sweep.axis.key.known", r#"{"key": "network.gian", "values": [1]}"#, &["`sweep.axes[0]`", "unknown config key `network.gian`"]),
        axis("sweep.axis.key.numeric", r#"{"key": "network.form", "values": [1]}"#, &["`sweep.axes[0]`", "`network.form` is not a numeric config value"]),
        axis("sweep.axis.key.once", r#"{"key": "network.gain", "values": [1]}, {"key": "network.gain", "values": [2]}"#, &["`sweep.axes[1]`", "swept twice"]),
        axis("sweep.axis.key.not_ensemble_replicas", r#"{"key": "ensemble.replicas", "values": [1, 2]}"#, &["`sweep.axes[0]`", "`ensemble.replicas` cannot be swept"]),
        axis("sweep.axis.key.not_ensemble_seed", r#"{"key": "ensemble.seed", "values": [1, 2]}"#, &["`sweep.axes[0]`", "`ensemble.seed` cannot be swept"]),
        axis("sweep.axis.key.not_backend", r#"{"key": "backend.threads", "values": [1, 2]}"#, &["`sweep.axes[0]`", "`backend.threads` cannot be swept"]),
        axis("sweep.axis.key.not_output", r#"{"key": "output.save", "values": [1]}"#, &["`sweep.axes[0]`", "`output.save` cannot be swept"]),
        axis("sweep.point.integer_key_integral", r#"{"key": "network.neurons", "values": [10, 12.5]}"#, &["network.neurons", "point 1 (network.neurons=12.5)"]),
        axis("sweep.point.value_the_config_rejects", r#"{"key": "network.gain", "values": [1, -1]}"#, &["`network.gain`", "point 1 (network.gain=-1)", "must be > 0"]),
        sweep(
            "sweep.point.exponents_at_most_n",
            &format!(
                r#"{{"base": {BASE}, "set": {{"analysis.lyapunov.exponents": 8, "analysis.lyapunov.tangent_transient": 5}},
                   "axes": [{{"key": "network.neurons", "values": [10, 5]}}], "replicas": 2}}"#
            ),
            &["`analysis.lyapunov.exponents`", "point 1 (network.neurons=5)"],
        ),
    ]);
    // .npy files of a sweep's base: checked for every network size of the grid.
    let mut shape_at_a_point = sweep(
        "sweep.point.weights_file_shape",
        &format!(
            r#"{{"base": {BASE}, "set": {{"weights.file": "w.npy"}},
               "axes": [{{"key": "network.neurons", "values": [10, 5]}}], "replicas": 2}}"#
        ),
        &[
            "`weights.file`",
            "does not fit this run",
            "point 1: network.neurons=5",
        ],
    );
    shape_at_a_point
        .files
        .push(("w.npy", npy("<f8", &[10, 10], &f64s(vec![0.01; 100]))));
    let mut truncated = sweep(
        "sweep.base.npy_truncated",
        &spec_with(BASE, r#", "replicas": 2, "set": {"input.file": "xi.npy"}"#),
        &["`input.file`", "truncated"],
    );
    truncated
        .files
        .push(("xi.npy", npy("<f8", &[10], &f64s(vec![0.1; 7]))));
    let mut nan = sweep(
        "sweep.base.npy_nan",
        &spec_with(
            BASE,
            r#", "replicas": 2, "set": {"initial_state.file": "x0.npy"}"#,
        ),
        &["`initial_state.file`", "is NaN"],
    );
    nan.files.push((
        "x0.npy",
        npy(
            "<f4",
            &[2, 10],
            &f32s((0..20).map(|k| if k == 13 { f32::NAN } else { 0.5 })),
        ),
    ));
    c.extend([shape_at_a_point, truncated, nan]);
    // Shards.
    let valid = spec_with(BASE, r#", "replicas": 2"#);
    let shard = |name: &'static str, args: &[&str], expect: &[&'static str]| {
        case(name, Cmd::Sweep, &valid, args, expect)
    };
    c.extend([
        shard(
            "sweep.shard.syntax",
            &["--shard", "three"],
            &["--shard", "K/COUNT"],
        ),
        shard(
            "sweep.shard.k_at_least_1",
            &["--shard", "0/3"],
            &["--shard", "1 ≤ K ≤ COUNT"],
        ),
        shard(
            "sweep.shard.k_at_most_count",
            &["--shard", "4/3"],
            &["--shard", "1 ≤ K ≤ COUNT"],
        ),
        shard(
            "sweep.shard.count_at_least_1",
            &["--shard", "1/0"],
            &["--shard", "1 ≤ K ≤ COUNT"],
        ),
        shard(
            "sweep.shard.no_force",
            &["--shard", "1/2", "--force"],
            &["--force", "cannot be combined with --shard"],
        ),
    ]);
    let mut env =
        |name: &'static str, vars: Vec<(&'static str, &'static str)>, expect: &[&'static str]| {
            let mut k = shard(name, &[], expect);
            k.env = vars;
            c.push(k);
        };
    env(
        "sweep.shard.slurm_task_id_number",
        vec![
            ("SLURM_ARRAY_TASK_ID", "x"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &["SLURM_ARRAY_TASK_ID", "not a task number"],
    );
    env(
        "sweep.shard.slurm_task_in_array",
        vec![
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &["SLURM_ARRAY_TASK_ID", "outside the array"],
    );
    env(
        "sweep.shard.slurm_count_set",
        vec![("SLURM_ARRAY_TASK_ID", "1")],
        &["SLURM_ARRAY_TASK_COUNT", "is not set"],
    );
    // .npy files of a run, for each key that takes one.
    c.extend(npy_cases(
        "weights.file",
        true,
        [
            "weights.file.missing",
            "weights.file.not_npy",
            "weights.file.truncated",
            "weights.file.dtype",
            "weights.file.shape",
            "weights.file.per_replica_shape",
            "weights.file.nan",
            "weights.file.inf",
            "weights.file.impossible_shape",
        ],
    ));
    c.extend(npy_cases(
        "input.file",
        false,
        [
            "input.file.missing",
            "input.file.not_npy",
            "input.file.truncated",
            "input.file.dtype",
            "input.file.shape",
            "input.file.per_replica_shape",
            "input.file.nan",
            "input.file.inf",
            "input.file.impossible_shape",
        ],
    ));
    c.extend(npy_cases(
        "initial_state.file",
        false,
        [
            "initial_state.file.missing",
            "initial_state.file.not_npy",
            "initial_state.file.truncated",
            "initial_state.file.dtype",
            "initial_state.file.shape",
            "initial_state.file.per_replica_shape",
            "initial_state.file.nan",
            "initial_state.file.inf",
            "initial_state.file.impossible_shape",
        ],
    ));
    // A network that does not fit this machine's memory (N = 65536 in f64 needs ~100 GiB per
    // replica); skipped where that much is available.
    let avail = hebbnet::experiment::memory::available_bytes().unwrap_or(0);
    if avail < 200 << 30 {
        c.push(set(
            "network.neurons.fits_memory",
            &[
                "network.neurons=65536",
                "backend.precision=f64",
                "analysis.lyapunov.exponents=0",
            ],
            &["network.neurons", "N = 65536"],
        ));
        c.push(sweep(
            "sweep.point.fits_memory",
            &format!(
                r#"{{"base": {BASE}, "set": {{"backend.precision": "f64"}},
                   "axes": [{{"key": "network.neurons", "values": [10, 65536]}}], "replicas": 2}}"#
            ),
            &["network.neurons", "N = 65536"],
        ));
    }
    c
}

/// Every file and directory under `dir`, relative.
fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Run one case in a fresh directory; `Err` says what went wrong.
fn check(case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = match case.cmd {
        Cmd::Sweep => "s.json",
        _ => "c.json",
    };
    if !case.text.is_empty() {
        std::fs::write(d.join(input), &case.text).unwrap();
    }
    for (name, bytes) in &case.files {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    let before = listing(d);
    let out = d.join("out");
    let mut args: Vec<String> = match case.cmd {
        Cmd::Sweep if case.text.is_empty() => vec!["sweep".into(), "no_such_spec.json".into()],
        Cmd::Sweep => vec!["sweep".into(), input.into()],
        Cmd::RunDefault => vec!["run".into()],
        _ => vec!["run".into(), input.into()],
    };
    if case.cmd != Cmd::RunNoBackend {
        args.extend(["--backend".into(), "cpu".into()]);
    }
    args.extend(["--out".into(), out.display().to_string()]);
    args.extend(case.args.iter().cloned());
    let mut command = Command::new(env!("CARGO_BIN_EXE_hebbnet"));
    command
        .args(&args)
        .current_dir(d)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir());
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
    ] {
        command.env_remove(var);
    }
    for (k, v) in &case.env {
        command.env(k, v);
    }
    let o = command.output().expect("run hebbnet");
    let stderr = String::from_utf8_lossy(&o.stderr);
    if std::env::var("SHOW_CASES").is_ok() {
        println!("{:<58} {}", case.name, stderr.trim());
    }
    let mut problems = Vec::new();
    if o.status.code() != Some(2) {
        problems.push(format!("exit code {:?}, expected 2", o.status.code()));
    }
    for e in &case.expect {
        if !stderr.contains(e) {
            problems.push(format!("stderr lacks `{e}`"));
        }
    }
    if stderr.contains("panicked") {
        problems.push("panicked".into());
    }
    if out.exists() {
        problems.push("the --out directory was created".into());
    }
    let after = listing(d);
    if after != before {
        let new: Vec<_> = after.difference(&before).collect();
        problems.push(format!("wrote {new:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {} (hebbnet {})\n  stderr: {}",
            case.name,
            problems.join("; "),
            args.join(" "),
            stderr.trim().replace('\n', "\n          ")
        ))
    }
}

#[test]
fn every_documented_rule_is_enforced_before_any_work() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    // Two at a time: each case is one short process.
    let failures: Vec<String> = std::thread::scope(|s| {
        let (a, b) = cases.split_at(cases.len() / 2);
        let ha = s.spawn(|| a.iter().filter_map(|c| check(c).err()).collect::<Vec<_>>());
        let hb = s.spawn(|| b.iter().filter_map(|c| check(c).err()).collect::<Vec<_>>());
        let mut f = ha.join().unwrap();
        f.extend(hb.join().unwrap());
        f
    });
    assert!(
        failures.is_empty(),
        "{} of {} rules not enforced as documented:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
