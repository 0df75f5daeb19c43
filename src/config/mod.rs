//! The run configuration: JSON with every key documented in `docs/config.md`.
//!
//! Parsing is strict (unknown keys are rejected with their full path), every value is validated
//! by [`Config::validate`], and `--set path=value` overrides apply to the JSON tree before it is
//! parsed, so an override is checked exactly like the file.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

mod analog;
mod analysis;
mod backend;
mod bms;
mod jiang;
mod lotito;
mod reservoir;

pub use analog::*;
pub use analysis::*;
pub use backend::*;
pub use bms::*;
pub use jiang::*;
pub use lotito::*;
pub use reservoir::*;

/// The embedded default: the Siri-style learning demo (`configs/siri2008.json`).
pub const DEFAULT_CONFIG: &str = include_str!("../../configs/siri2008.json");
/// Name under which the embedded default is reported.
pub const DEFAULT_CONFIG_NAME: &str = "configs/siri2008.json (embedded default)";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Free text: where the parameters come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The model family (docs/architecture.md); its sections follow.
    pub model: Model,
    pub network: NetworkConfig,
    pub weights: WeightsConfig,
    pub input: VectorInit,
    pub initial_state: VectorInit,
    pub schedule: ScheduleConfig,
    pub learning: LearningConfig,
    pub ensemble: EnsembleConfig,
    pub backend: BackendConfig,
    pub output: OutputConfig,
    pub analysis: AnalysisConfig,
    /// Cessac's spiking network (`"model": "bms"`); absent from other models' configs.
    #[serde(skip_serializing_if = "is_default")]
    pub bms: BmsConfig,
    /// Jiang et al.'s deep-Hebbian sequence network (`"model": "jiang"`); absent from other
    /// models' configs.
    #[serde(skip_serializing_if = "is_default")]
    pub jiang: JiangConfig,
    /// Lotito's memory dynamics (`"model": "lotito"`); absent from other models' configs.
    #[serde(skip_serializing_if = "is_default")]
    pub lotito: LotitoConfig,
    /// Rivkind & Barak's trained reservoirs (`"model": "reservoir"`); absent from other models'
    /// configs.
    #[serde(skip_serializing_if = "is_default")]
    pub reservoir: ReservoirConfig,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The model family a config describes (`"model"`): which equations the replicas follow, and so
/// which sections apply. One variant per folder of `src/model`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Analog (firing-rate) recurrent networks, rate and current forms, Hebbian learning
    /// (Siri et al. 2008; science.md §1–2): sections `network`, `weights`, `input`,
    /// `initial_state`, `schedule`, `learning`.
    #[default]
    Analog,
    /// Cessac's discrete-time spiking network, BMS (Cessac 2008, 2010; models/cessac.md):
    /// sections `bms`, `weights`, `input`, `initial_state`, `schedule`, `learning`.
    Bms,
    /// Deep-Hebbian sequence couplings J = ξᵀXξ/N in the current form (Jiang et al. 2023;
    /// models/jiang.md): sections `jiang`, `initial_state`, `schedule`.
    Jiang,
    /// Memories Ξ learned by softmax-gated Hebbian dynamics from clamped patterns, and the
    /// Hebbian limit J = ΞᵀΞ/N_h (Lotito 2025; models/lotito.md): section `lotito`.
    Lotito,
    /// Reservoirs J + u wᵀ whose readout w is trained to hold fixed points, their closed-loop
    /// stability and the mean-field theory (Rivkind & Barak 2017; models/rivkind_barak.md):
    /// sections `reservoir`, and `network`, `weights` (J), `input` (u) read as that note maps
    /// them.
    Reservoir,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Analog => "analog",
            Model::Bms => "bms",
            Model::Jiang => "jiang",
            Model::Lotito => "lotito",
            Model::Reservoir => "reservoir",
        }
    }

    /// Every model's `"model"` value.
    pub const ALL: [Model; 5] = [
        Model::Analog,
        Model::Bms,
        Model::Jiang,
        Model::Lotito,
        Model::Reservoir,
    ];

    /// The sections only this model reads (a config of another model may not set them to
    /// anything but their defaults).
    fn own_sections(self) -> &'static [&'static str] {
        match self {
            Model::Analog => &["network", "analysis"],
            Model::Bms => &["bms"],
            Model::Jiang => &["jiang"],
            Model::Lotito => &["lotito"],
            Model::Reservoir => &["reservoir"],
        }
    }

    /// Sections another model owns that this one reads too (the reservoir's network is the
    /// analog family's `network`).
    fn borrowed_sections(self) -> &'static [&'static str] {
        match self {
            Model::Reservoir => &["network"],
            _ => &[],
        }
    }

    /// The model's defaults for shared sections, under the config's values (JSON).
    fn defaults(self) -> Option<&'static str> {
        match self {
            Model::Analog => None,
            Model::Bms => Some(BMS_DEFAULTS),
            Model::Jiang => Some(JIANG_DEFAULTS),
            Model::Lotito => Some(LOTITO_DEFAULTS),
            Model::Reservoir => Some(RESERVOIR_DEFAULTS),
        }
    }

    /// The model a JSON tree names (`None` when the value is not a known model: the strict
    /// parse then reports it).
    fn of_tree(tree: &Value) -> Option<Model> {
        match tree.get("model") {
            None => Some(Model::Analog),
            Some(v) => serde_json::from_value(v.clone()).ok(),
        }
    }

    /// Number of neurons of a config of this model.
    pub fn neurons(self, config: &Config) -> usize {
        match self {
            Model::Analog => config.network.neurons,
            Model::Bms => config.bms.neurons,
            Model::Jiang => config.jiang.neurons,
            Model::Lotito => config.lotito.visible,
            Model::Reservoir => config.network.neurons,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnsembleConfig {
    /// R: independent replicas (networks, inputs and initial states).
    pub replicas: usize,
    /// Replica r of seed s is the same network whatever the backend, batch or thread count.
    pub seed: u64,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        EnsembleConfig {
            replicas: 32,
            seed: 1,
        }
    }
}

impl Config {
    /// Parse a config file, apply `--set` overrides, validate.
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Config> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p)
                    .map_err(|e| Error::input(p, format!("cannot read the config file: {e}")))?,
                p.display().to_string(),
            ),
            None => (DEFAULT_CONFIG.to_string(), DEFAULT_CONFIG_NAME.to_string()),
        };
        let mut tree: Value = serde_json::from_str(&text).map_err(|e| {
            Error::config(
                "(file)",
                format!("{origin} is not valid JSON: {e} — check commas and quotes at that line"),
            )
        })?;
        if !tree.is_object() {
            return Err(Error::config(
                "(file)",
                format!(
                    "{origin} must hold a JSON object ({{\"network\": {{…}}, …}}), not {}",
                    json_kind(&tree)
                ),
            ));
        }
        for o in overrides {
            apply_override(&mut tree, o)?;
        }
        let mut config = Config::from_value(tree)?;
        // Relative file paths in a config are relative to the config file.
        if let Some(base) = path.and_then(Path::parent) {
            config.resolve_paths(base);
        }
        config.validate()?;
        Ok(config)
    }

    /// Parse a JSON tree, naming the key path of any error.
    pub fn from_value(mut tree: Value) -> Result<Config> {
        check_sections(&tree)?;
        if let Some(model) = Model::of_tree(&tree) {
            check_model_sections(model, &tree)?;
            if let Some(defaults) = model.defaults() {
                let mut merged: Value = serde_json::from_str(defaults).expect("valid defaults");
                merge_under(&mut merged, tree);
                tree = merged;
            }
        }
        serde_path_to_error::deserialize(tree).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            let hint = non_finite_hint(&message);
            Error::config(
                if path.is_empty() || path == "." {
                    "(top level)"
                } else {
                    &path
                }
                .to_string(),
                format!("{message}{hint} (see docs/config.md)"),
            )
        })
    }

    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        for file in [
            &mut self.weights.file,
            &mut self.input.file,
            &mut self.initial_state.file,
        ]
        .into_iter()
        .flatten()
        {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
    }

    /// Check every value; the first violation is reported with its key path and the rule.
    pub fn validate(&self) -> Result<()> {
        match self.model {
            Model::Analog => self.validate_analog()?,
            Model::Bms => self.validate_bms()?,
            Model::Jiang => self.validate_jiang()?,
            Model::Lotito => self.validate_lotito()?,
            Model::Reservoir => self.validate_reservoir()?,
        }
        for s in &self.output.save {
            let models = s.models();
            check(
                "output.save",
                models.contains(&self.model),
                &format!(
                    "\"{}\" is not an array of \"model\": \"{}\" (it is written by {})",
                    s.file_stem(),
                    self.model.name(),
                    models
                        .iter()
                        .map(|m| format!("\"{}\"", m.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )?;
        }
        self.validate_ensemble_and_backend()?;
        match self.model {
            Model::Analog => self.validate_analysis(),
            Model::Bms | Model::Jiang | Model::Lotito | Model::Reservoir => Ok(()),
        }
    }

    /// N of this config's networks, whatever the model.
    pub fn neurons(&self) -> usize {
        self.model.neurons(self)
    }

    /// The rules that concern every family: the ensemble and the backend.
    fn validate_ensemble_and_backend(&self) -> Result<()> {
        check(
            "ensemble.replicas",
            self.ensemble.replicas >= 1,
            "must be ≥ 1",
        )?;
        check(
            "backend.precision",
            !(self.backend.kind == BackendKind::Gpu && self.backend.precision == Precision::F64),
            "f64 is a CPU reference mode; use \"f32\" with the GPU backend or --backend cpu",
        )?;
        check(
            "backend.weight_storage",
            !(self.backend.weight_storage == WeightStorage::F16
                && self.backend.precision == Precision::F64),
            "\"f16\" weight storage is an f32 mode (f16 weights, f32 arithmetic); use precision \"f32\"",
        )?;
        check(
            "backend.workgroup_memory_bytes",
            self.backend.workgroup_memory_bytes != Some(0),
            "must be a positive number of bytes (at most the adapter's \
             max_compute_workgroup_storage_size, which `hebbnet devices` lists); remove the key \
             to use the whole limit",
        )?;
        Ok(())
    }
}

/// Largest `analysis.lyapunov.trace_points`: the trace array is (R, E, P, 2).
pub const MAX_TRACE_POINTS: usize = 4096;
/// Largest `analysis.attractor.max_period`: the last 2P states of every replica are kept.
pub const MAX_PERIOD: usize = 4096;

/// Sections of a config (serde would also read a JSON array positionally into them).
const SECTIONS: [&str; 26] = [
    "network",
    "weights",
    "input",
    "initial_state",
    "schedule",
    "learning",
    "ensemble",
    "backend",
    "output",
    "analysis",
    "analysis.lyapunov",
    "analysis.eigenvalues",
    "analysis.attractor",
    "analysis.sensitivity",
    "output.record",
    "bms",
    "jiang",
    "jiang.cue",
    "lotito",
    "lotito.replace",
    "lotito.hebbian",
    "reservoir",
    "reservoir.open_loop",
    "reservoir.newton",
    "reservoir.kicks",
    "reservoir.response",
];

/// A config may set only its own model's sections (and the shared ones).
fn check_model_sections(model: Model, tree: &Value) -> Result<()> {
    for other in Model::ALL.into_iter().filter(|&m| m != model) {
        for &section in other.own_sections() {
            if model.borrowed_sections().contains(&section) {
                continue;
            }
            // Configs that hebbnet writes (manifests, a sweep's points) carry every section at
            // its default: those are not settings.
            if tree
                .get(section)
                .is_some_and(|v| !section_is_default(section, v))
            {
                return Err(Error::config(
                    section,
                    format!(
                        "is a section of \"model\": \"{}\", but this config's model is \"{}\": \
                         remove it, or set \"model\" (docs/config.md lists each model's sections)",
                        other.name(),
                        model.name()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `value` reads as the default of the model section `section`.
fn section_is_default(section: &str, value: &Value) -> bool {
    fn is<T: serde::de::DeserializeOwned + Default + PartialEq>(v: &Value) -> bool {
        serde_json::from_value::<T>(v.clone()).is_ok_and(|x| x == T::default())
    }
    match section {
        "network" => is::<NetworkConfig>(value),
        "analysis" => is::<AnalysisConfig>(value),
        "bms" => is::<BmsConfig>(value),
        "jiang" => is::<JiangConfig>(value),
        "lotito" => is::<LotitoConfig>(value),
        "reservoir" => is::<ReservoirConfig>(value),
        _ => false,
    }
}

/// `top` over `base`: objects merge key by key, any other value of `top` replaces `base`'s.
fn merge_under(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => merge_under(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, top) => *slot = top,
    }
}

/// The config and each of its sections, where present, must be JSON objects.
fn check_sections(tree: &Value) -> Result<()> {
    if !tree.is_object() {
        return Err(Error::config(
            "(top level)",
            format!(
                "a config must be a JSON object ({{\"network\": {{…}}, …}}), not {}",
                json_kind(tree)
            ),
        ));
    }
    for section in SECTIONS {
        let value = section
            .split('.')
            .try_fold(tree, |node, key| node.as_object()?.get(key));
        if let Some(v) = value.filter(|v| !v.is_object()) {
            return Err(Error::config(
                section,
                format!(
                    "is a section: it must be a JSON object ({{\"key\": value, …}}), not {}",
                    json_kind(v)
                ),
            ));
        }
    }
    Ok(())
}

/// `an array`, `a string`, … for messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A hint when a number arrived as a non-finite string (`--set key=NaN`, `inf`, `1e999`).
fn non_finite_hint(message: &str) -> &'static str {
    let quoted = message
        .strip_prefix("invalid type: string \"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(s, _)| s);
    match quoted.and_then(|s| s.trim().parse::<f64>().ok()) {
        Some(x) if !x.is_finite() => {
            " — numbers must be finite (NaN, infinity and values beyond ±1.8e308 are not allowed)"
        }
        _ => "",
    }
}

fn check(path: &str, ok: bool, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::config(path, rule))
    }
}

fn finite(path: &str, x: f64) -> Result<()> {
    check(path, x.is_finite(), &format!("{x} is not a finite number"))
}

/// Apply one `path=value` override to a JSON tree. The value is parsed as JSON when it can be
/// (`3`, `true`, `[1,2]`, `"x"`), else taken as a string (`rate`). Missing objects are created;
/// an unknown key is then rejected by the strict parse, naming its path.
pub fn apply_override(tree: &mut Value, assignment: &str) -> Result<()> {
    let (path, raw) = assignment.split_once('=').ok_or_else(|| {
        Error::config(
            assignment,
            "an override must look like path=value, e.g. --set learning.forgetting=0.8",
        )
    })?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(Error::config(
            path,
            "empty key in override path (write e.g. network.gain=5)",
        ));
    }
    let value = serde_json::from_str::<Value>(raw.trim())
        .unwrap_or_else(|_| Value::String(raw.trim().to_string()));
    let mut node = tree;
    let keys: Vec<&str> = path.split('.').collect();
    for (depth, key) in keys.iter().enumerate() {
        // An element of a list: `reservoir.targets.1=0.5` (sweep axes use it too).
        if let Value::Array(items) = node {
            let len = items.len();
            let slot = key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| {
                    Error::config(
                        keys[..=depth].join("."),
                        format!(
                            "`{key}` is not an element of the list `{}`, which has {len}:                              index it from 0 to {}",
                            keys[..depth].join("."),
                            len.saturating_sub(1)
                        ),
                    )
                })?;
            if depth + 1 == keys.len() {
                *slot = value;
                return Ok(());
            }
            node = slot;
            continue;
        }
        if !node.is_object() {
            return Err(Error::config(
                keys[..depth].join("."),
                format!("is not a section, so `{path}` cannot be set"),
            ));
        }
        let map = node.as_object_mut().expect("checked object");
        if depth + 1 == keys.len() {
            map.insert(key.to_string(), value);
            return Ok(());
        }
        node = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    unreachable!("the loop returns at the last key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::analog::Form;

    fn load_str(text: &str, overrides: &[&str]) -> Result<Config> {
        let mut tree: Value = serde_json::from_str(text).unwrap();
        for o in overrides {
            apply_override(&mut tree, o)?;
        }
        let c = Config::from_value(tree)?;
        c.validate()?;
        Ok(c)
    }

    fn path_of(e: Error) -> String {
        match e {
            Error::Config { path, .. } => path,
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn embedded_default_parses_and_validates() {
        let c = Config::load(None, &[]).unwrap();
        assert_eq!(c.network.neurons, 100);
        assert!(c.learning.enabled);
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        let e = load_str(r#"{"learning": {"forgeting": 0.5}}"#, &[]).unwrap_err();
        assert_eq!(path_of(e), "learning.forgeting");
        let e = load_str(r#"{"netwrk": {}}"#, &[]).unwrap_err();
        assert_eq!(path_of(e), "netwrk");
    }

    #[test]
    fn invalid_values_name_the_key() {
        for (text, key) in [
            (r#"{"network": {"leak": 0}}"#, "network.leak"),
            (r#"{"network": {"neurons": 0}}"#, "network.neurons"),
            (
                r#"{"learning": {"forgetting": 1.5}}"#,
                "learning.forgetting",
            ),
            (r#"{"weights": {"std": -1}}"#, "weights.std"),
            (
                r#"{"schedule": {"recorded_steps": 0}}"#,
                "schedule.recorded_steps",
            ),
            (
                r#"{"input": {"distribution": "uniform", "low": 1, "high": 0}}"#,
                "input.high",
            ),
            (
                r#"{"input": {"distribution": "uniform", "std": 1}}"#,
                "input.std",
            ),
            (r#"{"network": {"form": "spiking"}}"#, "network.form"),
            (
                r#"{"backend": {"kind": "gpu", "precision": "f64"}}"#,
                "backend.precision",
            ),
            (
                r#"{"backend": {"weight_storage": "f16", "precision": "f64"}}"#,
                "backend.weight_storage",
            ),
            (
                r#"{"backend": {"weight_storage": "bf16"}}"#,
                "backend.weight_storage",
            ),
            (
                r#"{"backend": {"weights_in_workgroup": true}}"#,
                "backend.weights_in_workgroup",
            ),
            (
                r#"{"backend": {"weights_in_workgroup": "sometimes"}}"#,
                "backend.weights_in_workgroup",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": 0}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": -1}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": 1.5}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (
                r#"{"backend": {"workgroup_memory_bytes": "32k"}}"#,
                "backend.workgroup_memory_bytes",
            ),
            (r#"{"schedule": [1, 2, 3]}"#, "schedule"),
            (r#"{"analysis": {"lyapunov": 3}}"#, "analysis.lyapunov"),
            (
                r#"{"network": {"neurons": 10}, "analysis": {"lyapunov": {"exponents": 11}}}"#,
                "analysis.lyapunov.exponents",
            ),
            (
                r#"{"analysis": {"lyapunov": {"reorthonormalize_every": 0}}}"#,
                "analysis.lyapunov.reorthonormalize_every",
            ),
            (
                r#"{"schedule": {"recorded_steps": 50}, "analysis": {"lyapunov": {"exponents": 1, "tangent_transient": 50}}}"#,
                "analysis.lyapunov.tangent_transient",
            ),
            (
                r#"{"analysis": {"lyapunov": {"trace_points": 4097}}}"#,
                "analysis.lyapunov.trace_points",
            ),
            (
                r#"{"analysis": {"attractor": {"max_period": 0}}}"#,
                "analysis.attractor.max_period",
            ),
            (
                r#"{"analysis": {"attractor": {"tolerance": -1}}}"#,
                "analysis.attractor.tolerance",
            ),
            (
                r#"{"analysis": {"attractor": {"zero_band": -1}}}"#,
                "analysis.attractor.zero_band",
            ),
            (
                r#"{"analysis": {"sensitivity": {"epsilon": 0}}}"#,
                "analysis.sensitivity.epsilon",
            ),
            (
                r#"{"analysis": {"sensitivity": {"directions": 0}}}"#,
                "analysis.sensitivity.directions",
            ),
            (
                r#"{"analysis": {"sensitivity": {"steps": 0}}}"#,
                "analysis.sensitivity.steps",
            ),
            (
                r#"{"weights": {"file": "w.npy", "autapses": false}}"#,
                "weights.autapses",
            ),
            (
                r#"{"network": {"neurons": 65536}, "ensemble": {"replicas": 300000000}}"#,
                "ensemble.replicas",
            ),
        ] {
            let e = load_str(text, &[]).unwrap_err();
            assert_eq!(path_of(e), key, "{text}");
        }
    }

    #[test]
    fn edge_values_the_docs_allow_are_accepted() {
        // Without exponents the tangent transient is not checked against the window.
        load_str(
            r#"{"schedule": {"recorded_steps": 20}, "analysis": {"lyapunov": {"exponents": 0}}}"#,
            &[],
        )
        .unwrap();
        load_str(
            r#"{"network": {"neurons": 10}, "analysis": {"lyapunov": {"exponents": 10, "trace_points": 0}, "attractor": {"max_period": 1, "tolerance": 0, "zero_band": 0}}}"#,
            &[],
        )
        .unwrap();
        // A non-finite number given on the command line says why it is refused.
        match load_str("{}", &["network.leak=-inf"]).unwrap_err() {
            Error::Config { path, message } => {
                assert_eq!(path, "network.leak");
                assert!(message.contains("must be finite"), "{message}");
            }
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn overrides_set_values_and_are_validated() {
        let c = load_str("{}", &["learning.epochs=3", "network.form=current"]);
        // `learning.epochs` does not exist: it is `schedule.epochs`.
        assert_eq!(path_of(c.unwrap_err()), "learning.epochs");
        let c = load_str("{}", &["schedule.epochs=3", "network.form=current"]).unwrap();
        assert_eq!(c.schedule.epochs, 3);
        assert_eq!(c.network.form, Form::Current);
        assert_eq!(
            path_of(load_str("{}", &["network.gain=NaN"]).unwrap_err()),
            "network.gain"
        );
        assert_eq!(
            path_of(load_str("{}", &["network.gain"]).unwrap_err()),
            "network.gain"
        );
    }

    #[test]
    fn weight_keys_default_parse_and_override() {
        let c = load_str("{}", &[]).unwrap();
        assert_eq!(c.backend.weights_in_workgroup, WeightsInWorkgroup::Auto);
        assert_eq!(c.backend.weight_storage, WeightStorage::F32);
        let c = load_str(
            r#"{"backend": {"weights_in_workgroup": "never", "weight_storage": "f16"}}"#,
            &["backend.weights_in_workgroup=always"],
        )
        .unwrap();
        assert_eq!(c.backend.weights_in_workgroup, WeightsInWorkgroup::Always);
        assert_eq!(c.backend.weight_storage, WeightStorage::F16);
        // f16 storage with the (default) f32 precision on the CPU is fine.
        load_str(
            r#"{"backend": {"kind": "cpu", "weight_storage": "f16"}}"#,
            &[],
        )
        .unwrap();
        let e = load_str(
            "{}",
            &["backend.weight_storage=f16", "backend.precision=f64"],
        );
        assert_eq!(path_of(e.unwrap_err()), "backend.weight_storage");
    }

    #[test]
    fn workgroup_memory_cap_defaults_to_the_adapter_and_must_be_positive() {
        let c = load_str("{}", &[]).unwrap();
        assert_eq!(c.backend.workgroup_memory_bytes, None);
        // Absent from the resolved config when unset, so old manifests and configs compare equal.
        let tree = serde_json::to_value(&c).unwrap();
        assert!(tree["backend"].get("workgroup_memory_bytes").is_none());
        let c = load_str(
            r#"{"backend": {"workgroup_memory_bytes": 8192}}"#,
            &["backend.workgroup_memory_bytes=12000"],
        )
        .unwrap();
        assert_eq!(c.backend.workgroup_memory_bytes, Some(12_000));
        let c = load_str(r#"{"backend": {"workgroup_memory_bytes": null}}"#, &[]).unwrap();
        assert_eq!(c.backend.workgroup_memory_bytes, None);
        match load_str("{}", &["backend.workgroup_memory_bytes=0"]).unwrap_err() {
            Error::Config { path, message } => {
                assert_eq!(path, "backend.workgroup_memory_bytes");
                assert!(message.contains("remove the key"), "{message}");
            }
            other => panic!("expected a config error, got {other}"),
        }
    }

    #[test]
    fn initial_state_defaults_follow_the_form() {
        let c = load_str("{}", &[]).unwrap();
        assert_eq!(
            c.initial_state_source().unwrap(),
            VectorSource::Uniform {
                low: 0.0,
                high: 1.0
            }
        );
        let c = load_str(r#"{"network": {"form": "current"}}"#, &[]).unwrap();
        assert_eq!(
            c.initial_state_source().unwrap(),
            VectorSource::Gaussian {
                mean: 0.0,
                std: 1.0
            }
        );
    }
}
