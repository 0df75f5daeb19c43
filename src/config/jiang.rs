//! The section of Jiang et al.'s deep-Hebbian sequence network (`"model": "jiang"`,
//! src/model/jiang; models/jiang.md): `jiang`, and its rules. The family also reads the shared
//! sections `initial_state` (h(0) when no cue is set), `schedule` (one epoch of T_tr + T steps)
//! and `ensemble`, `backend`, `output`, with the family's defaults ([`JIANG_DEFAULTS`]) under
//! what the config sets. `weights`, `input` and `learning` do not apply: the couplings are
//! J = ξᵀXξ/N, there is no input and no learning.

use serde::{Deserialize, Serialize};

use super::{check, finite, Config, Distribution, VectorSource};
use crate::error::Result;

/// The distribution of the pattern entries ξ^μ_i (`jiang.patterns`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    /// Unbiased ±1 (the paper).
    #[default]
    Binary,
    /// Standard normal (the same N → ∞ spectrum).
    Gaussian,
}

/// How the local field J φ(h) is computed (`jiang.couplings`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouplingPath {
    /// Factored where it is valid and cheaper (no dilution, 2P + d-terms < N), dense otherwise.
    #[default]
    Auto,
    /// `ξᵀ(X(ξ φ(h)))/N`: O(NP) per step (not with dilution).
    Factored,
    /// The N × N matrix J: O(N²) per step.
    Dense,
}

/// A start at a stored pattern (`jiang.cue`): `h_i(0) = s_i ξ^μ_i + ε n_i`, with `s_i = −1` with
/// probability q (else +1) and `n_i` standard normal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cue {
    /// μ (0-based: the paper's ξ¹ is pattern 0).
    pub pattern: usize,
    /// q ∈ [0, 1]: the fraction of flipped signs.
    pub flip_probability: f64,
    /// ε ≥ 0: the standard deviation of the added Gaussian noise.
    pub noise: f64,
}

impl Default for Cue {
    fn default() -> Self {
        Cue {
            pattern: 0,
            flip_probability: 0.0,
            noise: 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiangConfig {
    /// N.
    pub neurons: usize,
    /// α: P = ⌊αN + ½⌋ patterns (a project choice; the authors' code truncates).
    pub load: f64,
    pub patterns: PatternKind,
    /// c: the weight of each pattern onto itself (X_μμ).
    pub autoassociation: f64,
    /// γ: the weight of pattern ν onto ν + k, k = 1..d (the sequence runs forward); γ < 0 allowed.
    pub heteroassociation: f64,
    /// d ≥ 1: how many successors each pattern drives.
    pub depth: usize,
    /// b: the weight of each backward term, X_{ν, ν+k} = bγ (the paper: 0).
    pub backward: f64,
    /// s ≥ 1: independent sequences, circulant blocks of P/s patterns (P must divide).
    pub sequences: usize,
    /// With `true`, the chain has no wrap-around entries (the last pattern drives nothing).
    pub open_chain: bool,
    /// With `false`, J_ii = 0 (the paper keeps them).
    pub self_couplings: bool,
    /// p ∈ (0, 1]: J_ij ← M_ij J_ij / p with M_ij ~ Bernoulli(p) (the paper: 1). Forces the dense
    /// path.
    pub dilution: f64,
    /// a = dt/τ ∈ (0, 1]: h ← (1 − a) h + a J φ(h). Times are in τ: steps · a.
    pub leak: f64,
    pub couplings: CouplingPath,
    /// Patterns from this seed instead of `ensemble.seed` (the initial states keep theirs): the
    /// same networks under other starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_seed: Option<u64>,
    /// Start at a stored pattern instead of the `initial_state` draw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cue: Option<Cue>,
    /// Trajectories per network, each from its own h(0) (multistability is measured across
    /// them).
    pub initial_conditions: usize,
    /// ε > 0: every trajectory has a twin started at h(0) + ε n, n standard normal; their
    /// distance ‖h − h'‖/√N is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair_perturbation: Option<f64>,
    /// The overlaps and activity measures are recorded every this many steps (from t = 0 to the
    /// last step, both included).
    pub record_every: usize,
    /// The largest Lyapunov exponent over the recorded window (one tangent vector).
    pub lyapunov: bool,
    /// The eigenvalues of J (P × P reduction where valid) and `right_edge` = max Re λ(J).
    pub spectrum: bool,
    /// Steps at which the eigenvalues of the Jacobian J·diag(φ'(h)) of the first trajectory
    /// are computed (`jacobian_eigenvalues.npy`).
    pub jacobian_steps: Vec<usize>,
    /// A trajectory whose largest exponent exceeds this (per τ) is called chaotic; within
    /// ± it, marginal (a limit cycle, a torus or sequence retrieval).
    pub chaos_threshold: f64,
}

impl Default for JiangConfig {
    fn default() -> Self {
        JiangConfig {
            neurons: 1000,
            load: 0.1,
            patterns: PatternKind::Binary,
            autoassociation: 0.0,
            heteroassociation: 1.5,
            depth: 1,
            backward: 0.0,
            sequences: 1,
            open_chain: false,
            self_couplings: true,
            dilution: 1.0,
            leak: 0.05,
            couplings: CouplingPath::Auto,
            pattern_seed: None,
            cue: None,
            initial_conditions: 1,
            pair_perturbation: None,
            record_every: 10,
            lyapunov: true,
            spectrum: true,
            jacobian_steps: Vec::new(),
            chaos_threshold: 0.01,
        }
    }
}

/// The family's defaults for the shared sections, under the config's own values: one epoch of
/// 2,000 transient and 2,000 recorded steps (100 τ + 100 τ at a = 0.05), learning off, h(0) ~
/// N(0, 1).
pub const JIANG_DEFAULTS: &str = r#"{
    "schedule": {"epochs": 1, "transient_steps": 2000, "recorded_steps": 2000},
    "learning": {"enabled": false}
}"#;

/// Largest `jiang.initial_conditions`.
pub const MAX_JIANG_CONDITIONS: usize = 1024;

impl JiangConfig {
    /// P = ⌊αN + ½⌋.
    pub fn pattern_count(&self) -> usize {
        (self.load * self.neurons as f64 + 0.5).floor() as usize
    }

    /// Whether the local field is computed in factored form (`couplings` resolved: `auto` takes
    /// it when valid and when its 2NP + P(2d + 1) multiply-adds are fewer than the dense N²).
    pub fn factored(&self) -> bool {
        match self.couplings {
            CouplingPath::Factored => true,
            CouplingPath::Dense => false,
            CouplingPath::Auto => {
                let (n, p) = (self.neurons, self.pattern_count());
                self.dilution == 1.0 && 2 * n * p + p * (2 * self.depth + 1) < n * n
            }
        }
    }

    /// Whether the eigenvalues of J follow from the P × P reduction (models/jiang.md §4).
    pub fn reducible(&self) -> bool {
        self.dilution == 1.0 && self.self_couplings && self.pattern_count() < self.neurons
    }

    /// Samples of the recorded series over T steps: t = 0, k, 2k, … ≤ T.
    pub fn samples(&self, total_steps: usize) -> usize {
        total_steps / self.record_every + 1
    }
}

impl Config {
    /// The rules of the Jiang family (docs/config.md).
    pub(super) fn validate_jiang(&self) -> Result<()> {
        let j = &self.jiang;
        check(
            "jiang.neurons",
            j.neurons >= 2 && j.neurons <= 1 << 16,
            "must be between 2 and 65536",
        )?;
        finite("jiang.load", j.load)?;
        let p = j.pattern_count();
        check(
            "jiang.load",
            j.load > 0.0 && p > j.depth,
            &format!(
                "gives P = ⌊αN + ½⌋ = {p} patterns; P must exceed jiang.depth = {} (raise α or N)",
                j.depth
            ),
        )?;
        check(
            "jiang.load",
            p <= 4 * j.neurons,
            "must be at most 4 (P ≤ 4N patterns)",
        )?;
        finite("jiang.autoassociation", j.autoassociation)?;
        finite("jiang.heteroassociation", j.heteroassociation)?;
        finite("jiang.backward", j.backward)?;
        check("jiang.depth", j.depth >= 1, "must be ≥ 1")?;
        check(
            "jiang.sequences",
            j.sequences >= 1 && p.is_multiple_of(j.sequences),
            &format!("must be ≥ 1 and divide P = {p} (each sequence is a block of P/s patterns)"),
        )?;
        check(
            "jiang.sequences",
            p / j.sequences > j.depth,
            &format!(
                "leaves P/s = {} patterns per sequence; each must exceed jiang.depth = {}",
                p / j.sequences,
                j.depth
            ),
        )?;
        finite("jiang.dilution", j.dilution)?;
        check(
            "jiang.dilution",
            j.dilution > 0.0 && j.dilution <= 1.0,
            "must be in (0, 1] (the probability that a coupling is kept; 1: dense)",
        )?;
        check(
            "jiang.couplings",
            !(j.couplings == CouplingPath::Factored && j.dilution < 1.0),
            "\"factored\" cannot represent a diluted J: use \"dense\" or \"auto\"",
        )?;
        finite("jiang.leak", j.leak)?;
        check(
            "jiang.leak",
            j.leak > 0.0 && j.leak <= 1.0,
            "must be in (0, 1] (a = dt/τ; use ≤ 0.05 to compare with the flow)",
        )?;
        if let Some(cue) = &j.cue {
            check(
                "jiang.cue.pattern",
                cue.pattern < p,
                &format!("must be below P = {p}"),
            )?;
            finite("jiang.cue.flip_probability", cue.flip_probability)?;
            check(
                "jiang.cue.flip_probability",
                (0.0..=1.0).contains(&cue.flip_probability),
                "must be in [0, 1]",
            )?;
            finite("jiang.cue.noise", cue.noise)?;
            check("jiang.cue.noise", cue.noise >= 0.0, "must be ≥ 0")?;
            check(
                "initial_state",
                self.initial_state == Default::default(),
                "is replaced by jiang.cue: remove one of them",
            )?;
        }
        check(
            "jiang.initial_conditions",
            (1..=MAX_JIANG_CONDITIONS).contains(&j.initial_conditions),
            &format!("must be between 1 and {MAX_JIANG_CONDITIONS}"),
        )?;
        check(
            "jiang.initial_conditions",
            j.initial_conditions == 1 || self.initial_state.file.is_none(),
            "must be 1 with initial_state.file (the file gives one h(0) per replica)",
        )?;
        if let Some(e) = j.pair_perturbation {
            finite("jiang.pair_perturbation", e)?;
            check(
                "jiang.pair_perturbation",
                e > 0.0,
                "must be > 0 (ε, the std of the twin's perturbation); remove the key for no twins",
            )?;
        }
        check("jiang.record_every", j.record_every >= 1, "must be ≥ 1")?;
        let total = self.schedule.transient_steps + self.schedule.recorded_steps;
        check(
            "jiang.record_every",
            j.samples(total) <= 100_000,
            "records more than 100000 samples per trajectory: raise it",
        )?;
        for (k, &t) in j.jacobian_steps.iter().enumerate() {
            check(
                &format!("jiang.jacobian_steps[{k}]"),
                t <= total,
                &format!("must be at most the run's {total} steps"),
            )?;
        }
        finite("jiang.chaos_threshold", j.chaos_threshold)?;
        check(
            "jiang.chaos_threshold",
            j.chaos_threshold > 0.0,
            "must be > 0 (per τ)",
        )?;
        check(
            "schedule.epochs",
            self.schedule.epochs == 1,
            "must be 1 for \"jiang\" (no learning: one run of transient + recorded steps)",
        )?;
        check(
            "schedule.recorded_steps",
            self.schedule.recorded_steps >= 1,
            "must be ≥ 1 (the exponent and the window means are measured over it)",
        )?;
        check(
            "learning.enabled",
            !self.learning.enabled,
            "must be false for \"jiang\" (the couplings are fixed)",
        )?;
        check(
            "weights",
            self.weights == Default::default(),
            "does not apply to \"jiang\": the couplings are J = ξᵀXξ/N, set by the jiang section",
        )?;
        check(
            "input",
            self.input == Default::default(),
            "does not apply to \"jiang\" (no external input)",
        )?;
        check(
            "output.record",
            self.output.record.is_none(),
            "records analog-family states; \"jiang\" records overlaps every jiang.record_every steps",
        )?;
        self.jiang_initial_state_source()?;
        Ok(())
    }

    /// The draw rule of h(0) when no cue is set: Gaussian N(0, 1) unless set.
    pub fn jiang_initial_state_source(&self) -> Result<VectorSource> {
        self.initial_state.resolve(
            "initial_state",
            Distribution::Gaussian,
            (0.0, 1.0),
            (-1.0, 1.0),
        )
    }
}
