//! The section of Lotito's memory dynamics (`"model": "lotito"`, src/model/lotito;
//! models/lotito.md): `lotito`, and its rules. The family also reads the shared sections
//! `ensemble`, `backend` and `output`; `network`, `weights`, `input`, `initial_state`,
//! `schedule` and `learning` do not apply (the memories, their targets, the presentation
//! schedule and the run length are all set here).

use serde::{Deserialize, Serialize};

use super::{check, finite, Config};
use crate::error::Result;

/// The patterns ξ_μ the memories start from and the targets are noisy copies of
/// (`lotito.patterns`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryPatterns {
    /// The paper: Gram–Schmidt, in order, on N_h draws of N(0, I), rows normalised and scaled
    /// to √N_v (needs N_h ≤ N_v).
    #[default]
    GramSchmidt,
    /// i.i.d. standard normal entries (rows of squared norm ≈ N_v, not orthogonal).
    Gaussian,
    /// Unbiased ±1 entries.
    Binary,
}

/// Where the memories Ξ(0) start (`lotito.initial_memories`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialMemories {
    /// The paper: Ξ_μ(0) = ξ_μ, so the targets ξ'_μ = ξ_μ + σ η_μ are noisy copies of them.
    #[default]
    Patterns,
    /// Ξ_μ(0) = ξ'_μ + Λ_μ: the one-hot fixed point itself.
    Targets,
    /// Fresh i.i.d. N(0, 1) entries, unrelated to the targets.
    Random,
    /// Ξ_μ(0) = m + ε n_μ: every row at the mean presented pattern m = Σ_ν p_ν ξ'_ν, plus noise
    /// of standard deviation ε = `lotito.collapse_noise` (models/lotito.md §5.4).
    Collapsed,
}

/// The argument of the softmax (`lotito.softmax`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SoftmaxArgument {
    /// The paper: w = softmax(β Ξ v).
    #[default]
    Score,
    /// w = softmax(β (Ξ_μ·v − ½|Ξ_μ − Λ_μ|²)): the update is then exact gradient ascent of
    /// β⁻¹ ln Σ_ν exp(β(Ξ_ν·v − ½|Ξ_ν − Λ_ν|²)).
    Gradient,
    /// The β → ∞ limit: w is one-hot on the largest Ξ_μ·v (the lowest μ on ties).
    Argmax,
}

/// The order in which the targets are presented (`lotito.presentation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presentation {
    /// The paper: v(t) = ξ'_{⌊t/Δ⌋ mod N_h} (Δ = `lotito.block_length`, 1 in the paper).
    #[default]
    Cyclic,
    /// Each block of Δ steps presents target μ with probability p_μ (`lotito.probabilities`),
    /// independently, from the replica's own stream.
    Iid,
}

/// Replacing one target part-way (`lotito.replace`): from step `step` on, target `pattern` is a
/// fresh draw of the same kind (a new pattern plus σ noise), so the time its memory takes to
/// move over is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Replacement {
    /// μ (0-based).
    pub pattern: usize,
    /// The first presentation step that shows the new target.
    pub step: usize,
}

impl Default for Replacement {
    fn default() -> Self {
        Replacement {
            pattern: 0,
            step: 1000,
        }
    }
}

/// The scale of the learned couplings used by the Hebbian limit (`lotito.hebbian.scale`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouplingScale {
    /// J = ΞᵀΞ/N_h (O(1) entries; models/lotito.md §2).
    #[default]
    Memory,
    /// The textbook Hebbian scale ΞᵀΞ/N_v = (N_h/N_v) J.
    Textbook,
}

/// The Hebbian limit (`lotito.hebbian`, models/lotito.md §6): after the memory dynamics, the
/// learned couplings become the weights of a current-form network
/// `h ← (1 − a) h + a J tanh(g h)`, started at corrupted targets (one start per target) and at
/// small noise around h = 0 (the stability of the origin).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HebbianLimit {
    pub scale: CouplingScale,
    /// g: the gain of tanh.
    pub gain: f64,
    /// a = dt/τ_v ∈ (0, 1].
    pub leak: f64,
    /// Steps of the retrieval dynamics.
    pub steps: usize,
    /// The fraction of signs of the cued target that are flipped in h(0).
    pub flip_probability: f64,
    /// The standard deviation of Gaussian noise added to h(0).
    pub noise: f64,
    /// The size ‖h(0)‖/√N_v of the start near the origin.
    pub origin_noise: f64,
    /// A start has retrieved its target when its final overlap with it exceeds this and is
    /// the largest.
    pub success_overlap: f64,
}

impl Default for HebbianLimit {
    fn default() -> Self {
        HebbianLimit {
            scale: CouplingScale::Memory,
            gain: 1.0,
            leak: 1.0,
            steps: 50,
            flip_probability: 0.1,
            noise: 0.0,
            origin_noise: 1e-3,
            success_overlap: 0.9,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LotitoConfig {
    /// N_v: the length of a pattern.
    pub visible: usize,
    /// N_h: the number of memories (hidden units).
    pub hidden: usize,
    /// τ_Ξ, in presentation steps (> 1).
    pub memory_time: f64,
    /// β ≥ 0.
    pub inverse_temperature: f64,
    pub softmax: SoftmaxArgument,
    pub patterns: MemoryPatterns,
    /// σ: targets ξ'_μ = ξ_μ + σ η_μ, drawn once (after the patterns) and fixed.
    pub target_noise: f64,
    /// σ_f: each presentation shows ξ'_μ + σ_f n(t), n(t) fresh standard normal noise
    /// (0 in the paper).
    pub fresh_noise: f64,
    /// The scale of the synaptic bias: Λ_μi ~ N(0, bias²), drawn per replica (0 in the paper).
    pub bias: f64,
    pub initial_memories: InitialMemories,
    /// ε of `"collapsed"` initial memories.
    pub collapse_noise: f64,
    pub presentation: Presentation,
    /// p_μ of `"iid"` presentation (N_h values summing to 1; uniform when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f64>>,
    /// Δ: each presentation lasts this many steps.
    pub block_length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<Replacement>,
    /// A replaced memory has moved over when its cosine with the new target reaches this.
    pub overwrite_cosine: f64,
    /// T: presentation steps (memory updates).
    pub steps: usize,
    /// Observables are recorded at t = 0, k, 2k, … ≤ T.
    pub record_every: usize,
    /// Patterns, targets and bias from this seed instead of `ensemble.seed` (schedules, noise
    /// and initial memories keep theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_seed: Option<u64>,
    /// The Hebbian limit's retrieval dynamics; absent: not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hebbian: Option<HebbianLimit>,
}

impl Default for LotitoConfig {
    /// Figure 1 of the paper (models/lotito.md §4).
    fn default() -> Self {
        LotitoConfig {
            visible: 50,
            hidden: 4,
            memory_time: 250.0,
            inverse_temperature: 2.0,
            softmax: SoftmaxArgument::Score,
            patterns: MemoryPatterns::GramSchmidt,
            target_noise: 0.4,
            fresh_noise: 0.0,
            bias: 0.0,
            initial_memories: InitialMemories::Patterns,
            collapse_noise: 0.01,
            presentation: Presentation::Cyclic,
            probabilities: None,
            block_length: 1,
            replace: None,
            overwrite_cosine: 0.9,
            steps: 2000,
            record_every: 1,
            pattern_seed: None,
            hebbian: None,
        }
    }
}

/// The family's defaults for the shared sections: learning (the analog family's) off.
pub const LOTITO_DEFAULTS: &str = r#"{
    "learning": {"enabled": false}
}"#;

/// Largest `lotito.hidden` (the GPU kernel reduces N_h scores in workgroup memory).
pub const MAX_HIDDEN: usize = 256;

impl LotitoConfig {
    /// p_μ of the schedule: `probabilities`, else uniform 1/N_h (cyclic schedules too).
    pub fn presentation_probabilities(&self) -> Vec<f64> {
        match (&self.probabilities, self.presentation) {
            (Some(p), Presentation::Iid) => p.clone(),
            _ => vec![1.0 / self.hidden as f64; self.hidden],
        }
    }

    /// Recorded samples: t = 0, k, 2k, … ≤ T.
    pub fn samples(&self) -> usize {
        self.steps / self.record_every + 1
    }

    /// Targets held per replica: N_h, plus the replacement.
    pub fn target_slots(&self) -> usize {
        self.hidden + usize::from(self.replace.is_some())
    }
}

impl Config {
    /// The rules of the Lotito family (docs/config.md).
    pub(super) fn validate_lotito(&self) -> Result<()> {
        let l = &self.lotito;
        check(
            "lotito.visible",
            (1..=1 << 16).contains(&l.visible),
            "must be between 1 and 65536",
        )?;
        check(
            "lotito.hidden",
            (1..=MAX_HIDDEN).contains(&l.hidden),
            &format!("must be between 1 and {MAX_HIDDEN}"),
        )?;
        check(
            "lotito.hidden",
            l.patterns != MemoryPatterns::GramSchmidt || l.hidden <= l.visible,
            &format!(
                "\"gram_schmidt\" patterns need N_h ≤ N_v = {} (at most N_v orthogonal rows): \
                 lower it, or set lotito.patterns to \"gaussian\"",
                l.visible
            ),
        )?;
        finite("lotito.memory_time", l.memory_time)?;
        check(
            "lotito.memory_time",
            l.memory_time > 1.0,
            "must be > 1 (τ_Ξ in steps: each step moves a memory by w/τ_Ξ of the way)",
        )?;
        finite("lotito.inverse_temperature", l.inverse_temperature)?;
        check(
            "lotito.inverse_temperature",
            l.inverse_temperature >= 0.0,
            "must be ≥ 0 (β; use \"softmax\": \"argmax\" for β → ∞)",
        )?;
        for (key, x) in [
            ("lotito.target_noise", l.target_noise),
            ("lotito.fresh_noise", l.fresh_noise),
            ("lotito.bias", l.bias),
            ("lotito.collapse_noise", l.collapse_noise),
        ] {
            finite(key, x)?;
            check(key, x >= 0.0, "must be ≥ 0 (a standard deviation)")?;
        }
        if let Some(p) = &l.probabilities {
            check(
                "lotito.probabilities",
                l.presentation == Presentation::Iid,
                "apply to \"presentation\": \"iid\" only (cyclic presentation gives p_μ = 1/N_h): \
                 set it, or remove the key",
            )?;
            check(
                "lotito.probabilities",
                p.len() == l.hidden,
                &format!(
                    "has {} values; it needs one per memory (N_h = {})",
                    p.len(),
                    l.hidden
                ),
            )?;
            for (k, &x) in p.iter().enumerate() {
                let key = format!("lotito.probabilities[{k}]");
                finite(&key, x)?;
                check(&key, x >= 0.0, "must be ≥ 0")?;
            }
            let sum: f64 = p.iter().sum();
            check(
                "lotito.probabilities",
                (sum - 1.0).abs() <= 1e-9,
                &format!("sum to {sum}; they must sum to 1"),
            )?;
        }
        check("lotito.block_length", l.block_length >= 1, "must be ≥ 1")?;
        check("lotito.steps", l.steps >= 1, "must be ≥ 1")?;
        check("lotito.record_every", l.record_every >= 1, "must be ≥ 1")?;
        check(
            "lotito.record_every",
            l.samples() <= 100_000,
            "records more than 100000 samples per replica: raise it",
        )?;
        if let Some(r) = &l.replace {
            check(
                "lotito.replace.pattern",
                r.pattern < l.hidden,
                &format!("must be below N_h = {}", l.hidden),
            )?;
            check(
                "lotito.replace.step",
                r.step >= 1 && r.step < l.steps,
                &format!(
                    "must be between 1 and {} (a step of the run, lotito.steps = {})",
                    l.steps.saturating_sub(1),
                    l.steps
                ),
            )?;
        }
        finite("lotito.overwrite_cosine", l.overwrite_cosine)?;
        check(
            "lotito.overwrite_cosine",
            l.overwrite_cosine > -1.0 && l.overwrite_cosine < 1.0,
            "must be in (−1, 1)",
        )?;
        if let Some(h) = &l.hebbian {
            finite("lotito.hebbian.gain", h.gain)?;
            check("lotito.hebbian.gain", h.gain > 0.0, "must be > 0")?;
            finite("lotito.hebbian.leak", h.leak)?;
            check(
                "lotito.hebbian.leak",
                h.leak > 0.0 && h.leak <= 1.0,
                "must be in (0, 1] (a = dt/τ_v)",
            )?;
            check("lotito.hebbian.steps", h.steps >= 1, "must be ≥ 1")?;
            finite("lotito.hebbian.flip_probability", h.flip_probability)?;
            check(
                "lotito.hebbian.flip_probability",
                (0.0..=1.0).contains(&h.flip_probability),
                "must be in [0, 1]",
            )?;
            for (key, x) in [
                ("lotito.hebbian.noise", h.noise),
                ("lotito.hebbian.origin_noise", h.origin_noise),
            ] {
                finite(key, x)?;
                check(key, x >= 0.0, "must be ≥ 0")?;
            }
            finite("lotito.hebbian.success_overlap", h.success_overlap)?;
            check(
                "lotito.hebbian.success_overlap",
                h.success_overlap > 0.0 && h.success_overlap < 1.0,
                "must be in (0, 1)",
            )?;
        }
        for (section, differs) in [
            ("weights", self.weights != Default::default()),
            ("input", self.input != Default::default()),
            ("initial_state", self.initial_state != Default::default()),
            ("schedule", self.schedule != Default::default()),
        ] {
            check(
                section,
                !differs,
                "does not apply to \"lotito\": the memories, targets, presentation schedule and \
                 run length are set in the lotito section (docs/config.md)",
            )?;
        }
        check(
            "learning.enabled",
            !self.learning.enabled,
            "must be false for \"lotito\" (the memory dynamics is the family's own learning)",
        )?;
        check(
            "output.record",
            self.output.record.is_none(),
            "records analog-family states; \"lotito\" records its observables every \
             lotito.record_every steps",
        )?;
        Ok(())
    }
}
