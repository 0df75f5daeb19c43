//! Initial ensembles: per replica, the weights `W`, the input `ξ` and the initial state, drawn
//! from seeded per-replica streams or loaded from `.npy` files (science.md §1).
//!
//! Replica `r` of seed `s` depends on `(s, r)` only: each replica owns independent ChaCha8
//! streams keyed by `(seed, replica, purpose)` (see [`stream`]), and all draws happen on the CPU
//! in `f64` before a backend sees them. So the network is the same whatever the backend, the
//! batch size, the thread count or the shard.
//!
//! A replica's `W` is drawn when a backend asks for it ([`ReplicaWeights::get`]), on the thread
//! that runs the replica, not when the batch is assembled: a batch never holds every replica's
//! `W` in `f64` beside the copy the backend computes with (BENCHMARKS.md, host memory).

use std::borrow::Cow;
use std::sync::Arc;

use rand::RngExt;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::config::{Config, VectorSource};
use crate::error::{Error, Result};
use crate::model::analog::ReplicaParams;
use crate::npy;

/// What a stream is used for; part of its key, so one draw never shifts another.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Purpose {
    Weights = 1,
    Connectivity = 2,
    Input = 3,
    InitialState = 4,
    /// The initial tangent basis of the Lyapunov analysis (one stream per epoch).
    Tangent = 5,
    /// A novel input pattern ξ' of the same statistics (sensitivity analysis).
    NovelInput = 6,
    /// Random unit perturbation directions η of the input (sensitivity analysis); the signs of
    /// a BMS twin's perturbation.
    Perturbation = 7,
    /// Per-neuron thresholds θ_i (BMS: `bms.threshold_std`).
    Threshold = 8,
}

/// The random stream `purpose` of replica `replica` under `seed`.
///
/// The 256-bit ChaCha key is `(seed, replica, purpose, "hebbnet1")` laid out little-endian, so
/// distinct triples give distinct, independent streams (no hashing, no collisions).
pub fn stream(seed: u64, replica: u64, purpose: Purpose) -> ChaCha8Rng {
    numbered_stream(seed, replica, purpose, 0)
}

/// Stream number `counter` of a purpose (e.g. one per epoch); counter 0 is [`stream`].
pub fn numbered_stream(seed: u64, replica: u64, purpose: Purpose, counter: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&replica.to_le_bytes());
    key[16..24].copy_from_slice(&(purpose as u64).to_le_bytes());
    let tag = u64::from_le_bytes(*b"hebbnet1") ^ counter;
    key[24..32].copy_from_slice(&tag.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// The initial condition of one replica, in `f64` (backends convert to their precision).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaInit {
    /// Index of the replica in the ensemble.
    pub index: u64,
    pub params: ReplicaParams,
    /// `W`, column-major (`W_ij` at `j * N + i`), drawn on demand.
    pub weights: ReplicaWeights,
    /// `ξ`.
    pub input: Vec<f64>,
    /// `x(0)` (rate form) or `h(0)` (current form).
    pub state: Vec<f64>,
    /// A sinusoidal input added to `ξ` ([`Drive`]); `None`: the constant input `ξ` alone (the
    /// arithmetic of a run without drives, bit for bit).
    pub drive: Option<Drive>,
}

/// A time-dependent sinusoidal input ("drive") added to a replica's constant input `ξ`: the
/// input of the step from state `t` to state `t + 1` is
///
/// `ξ_i + ε d_i sin(ω t + φ0)`
///
/// in both forms (rate: `u_i(t) = Σ_j W_ij x_j(t) + ξ_i + ε d_i sin(ω t + φ0) − θ`; current: the
/// same sum inside the bracket of `h_i(t+1)`), where `t` counts the steps of one
/// [`crate::backend::Backend::run_batch`] call from 0: state 0 is [`ReplicaInit::state`], and `t`
/// runs on through every epoch's transient and recorded window (the weight update between
/// epochs takes no step), so epoch `e` starts at `t = e (T_0 + τ)`. A new `run_batch` call starts
/// again at `t = 0`.
///
/// The backends hold the phase `(ω t + φ0) / 2π` as a 64-bit fixed-point fraction of a turn
/// ([`Drive::phase_at`]): `ω` and `φ0` are rounded once to multiples of `2π · 2⁻⁶⁴` (relative
/// error ~1e-16, from `f64`), and from there the phase of step `t` is exact integer arithmetic,
/// so its error does not grow with `t` (1e-6 rad would take ~10¹⁰ steps at ω ~ 1). The sine
/// is then taken in the run's precision (`f64`: `f64::sin_cos` of the exact phase; `f32` CPU
/// and GPU: [`crate::model::analog::network::drive_sin_cos_f32`], abs error < 2e-7).
/// The backends report the response through lock-in sums ([`crate::backend::EpochOutput`]'s
/// `lockin_sin`, `lockin_cos`).
#[derive(Clone, Debug, PartialEq)]
pub struct Drive {
    /// `ε`.
    pub amplitude: f64,
    /// `ω`, radians per time step.
    pub angular_frequency: f64,
    /// `φ0`, radians: the phase at `t = 0`.
    pub phase: f64,
    /// `d`, length N.
    pub direction: Vec<f64>,
}

impl Drive {
    /// `ω / 2π` in units of 2⁻⁶⁴ turns per step (the phase increment of one step).
    pub fn frequency_fixed(&self) -> u64 {
        turns_fixed(self.angular_frequency)
    }

    /// `(ω t + φ0) / 2π mod 1` in units of 2⁻⁶⁴ turns: `φ0 + t ω` in wrapping `u64` arithmetic
    /// of the rounded [`Drive::frequency_fixed`] and `φ0`.
    pub fn phase_at(&self, t: u64) -> u64 {
        turns_fixed(self.phase).wrapping_add(self.frequency_fixed().wrapping_mul(t))
    }

    /// An error unless the direction has `n` entries and every number is finite.
    pub fn check(&self, n: usize) -> Result<()> {
        if self.direction.len() != n {
            return Err(Error::config(
                "drive.direction",
                format!(
                    "has {} entries; the network has N = {n} neurons",
                    self.direction.len()
                ),
            ));
        }
        let finite = [self.amplitude, self.angular_frequency, self.phase]
            .iter()
            .chain(&self.direction)
            .all(|v| v.is_finite());
        if !finite {
            return Err(Error::config(
                "drive",
                "amplitude, angular_frequency, phase and direction must be finite",
            ));
        }
        Ok(())
    }
}

/// `angle / 2π mod 1` in units of 2⁻⁶⁴ (rounded to nearest).
fn turns_fixed(angle: f64) -> u64 {
    let turns = (angle / std::f64::consts::TAU).rem_euclid(1.0);
    // `turns` may round up to 1.0, which wraps to 0 (the same angle).
    ((turns * 18_446_744_073_709_551_616.0).round() as u128) as u64
}

/// One replica's `W`: given as values, or drawn from its ensemble's rule when asked for.
#[derive(Clone, Debug)]
pub enum ReplicaWeights {
    /// Column-major values.
    Given(Vec<f64>),
    /// Column-major values held once for several replicas (a trained reservoir's closed loop
    /// started from several kicks).
    Shared(Arc<Vec<f64>>),
    /// Replica `index` of the rule `source` under `seed`, `n` neurons.
    Drawn {
        source: Arc<WeightSource>,
        seed: u64,
        index: u64,
        n: usize,
    },
}

impl ReplicaWeights {
    /// The column-major values (drawn now for [`ReplicaWeights::Drawn`]: every call draws again,
    /// the same numbers).
    pub fn get(&self) -> Cow<'_, [f64]> {
        match self {
            ReplicaWeights::Given(w) => Cow::Borrowed(w),
            ReplicaWeights::Shared(w) => Cow::Borrowed(w),
            ReplicaWeights::Drawn {
                source,
                seed,
                index,
                n,
            } => Cow::Owned(source.replica(*seed, *index, *n)),
        }
    }

    /// The values, made [`ReplicaWeights::Given`] so they can be edited (tests).
    pub fn given_mut(&mut self) -> &mut Vec<f64> {
        if !matches!(self, ReplicaWeights::Given(_)) {
            *self = ReplicaWeights::Given(self.get().into_owned());
        }
        match self {
            ReplicaWeights::Given(w) => w,
            _ => unreachable!("made Given above"),
        }
    }
}

impl From<Vec<f64>> for ReplicaWeights {
    fn from(w: Vec<f64>) -> Self {
        ReplicaWeights::Given(w)
    }
}

impl PartialEq for ReplicaWeights {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// Rule for the weights of every replica.
#[derive(Clone, Debug)]
pub enum WeightSource {
    /// `W_ij ~ N(μ/(cN), σ²/(cN))` where the synapse exists (probability c), else 0.
    Gaussian {
        mean: f64,
        std: f64,
        connectivity: f64,
        autapses: bool,
        /// `(N_E, g_I)`: two populations (see [`gaussian_weights`]).
        populations: Option<(usize, f64)>,
        /// `false`: `N(μ, σ²)` without the `1/(cN)` (BMS `weight_scaling = "none"`).
        scaled: bool,
    },
    Loaded(Loaded),
}

#[derive(Clone, Debug)]
enum VectorRule {
    Gaussian { mean: f64, std: f64 },
    Uniform { low: f64, high: f64 },
    Loaded(Loaded),
}

/// Array loaded from file: shared by all replicas, or one slice per replica.
#[derive(Clone, Debug)]
/// An `.npy` loaded for the ensemble: one array shared by all replicas, or one per replica.
pub struct Loaded {
    per_replica: bool,
    /// C order: row-major `W[i, j]` or the vector.
    data: Vec<f64>,
}

impl Loaded {
    fn slice(&self, replica: u64, len: usize) -> &[f64] {
        if self.per_replica {
            let r = replica as usize;
            &self.data[r * len..(r + 1) * len]
        } else {
            &self.data
        }
    }
}

/// Everything needed to produce any replica's initial condition on demand.
#[derive(Clone, Debug)]
pub struct EnsembleSpec {
    pub neurons: usize,
    pub replicas: usize,
    pub seed: u64,
    pub params: ReplicaParams,
    weights: Arc<WeightSource>,
    input: VectorRule,
    state: VectorRule,
}

impl EnsembleSpec {
    /// Build from a validated config; loads and checks the `.npy` files it names.
    pub fn from_config(config: &Config) -> Result<EnsembleSpec> {
        let n = config.neurons();
        let r = config.ensemble.replicas;
        let w = &config.weights;
        let scaled = !(config.model == crate::config::Model::Bms
            && config.bms.weight_scaling == crate::config::WeightScaling::None);
        let weights = match &w.file {
            Some(path) => WeightSource::Loaded(load("weights.file", path, n, r, true)?),
            None => WeightSource::Gaussian {
                mean: w.mean,
                std: w.std,
                connectivity: w.connectivity,
                autapses: w.autapses,
                populations: w.populations(n),
                scaled,
            },
        };
        let vector = |key: &str, source: VectorSource| -> Result<VectorRule> {
            Ok(match source {
                VectorSource::Gaussian { mean, std } => VectorRule::Gaussian { mean, std },
                VectorSource::Uniform { low, high } => VectorRule::Uniform { low, high },
                VectorSource::File(path) => VectorRule::Loaded(load(key, &path, n, r, false)?),
            })
        };
        Ok(EnsembleSpec {
            neurons: n,
            replicas: r,
            seed: config.ensemble.seed,
            params: config.replica_params(),
            weights: Arc::new(weights),
            input: vector("input.file", config.input_source()?)?,
            state: vector("initial_state.file", config.initial_state_source()?)?,
        })
    }

    /// A novel input pattern ξ' for replica `index`, drawn like ξ from its own stream (for an
    /// input loaded from file: a random permutation of the replica's ξ, which keeps its
    /// statistics).
    pub fn novel_input(&self, index: u64) -> Vec<f64> {
        match &self.input {
            VectorRule::Loaded(l) => {
                let mut xi = l.slice(index, self.neurons).to_vec();
                let mut rng = stream(self.seed, index, Purpose::NovelInput);
                for i in (1..xi.len()).rev() {
                    let j = (rng.random::<u64>() % (i as u64 + 1)) as usize;
                    xi.swap(i, j);
                }
                xi
            }
            rule => draw_vector(rule, self.seed, index, self.neurons, Purpose::NovelInput),
        }
    }

    /// The initial condition of replica `index`.
    pub fn replica(&self, index: u64) -> ReplicaInit {
        let n = self.neurons;
        let weights = ReplicaWeights::Drawn {
            source: Arc::clone(&self.weights),
            seed: self.seed,
            index,
            n,
        };
        ReplicaInit {
            index,
            params: self.params,
            weights,
            input: draw_vector(&self.input, self.seed, index, n, Purpose::Input),
            state: draw_vector(&self.state, self.seed, index, n, Purpose::InitialState),
            drive: None,
        }
    }

    /// Initial state number `condition` of replica `index` (number 0 is the replica's
    /// [`ReplicaInit::state`]; the others come from streams of their own, so adding conditions
    /// never changes the first).
    pub fn initial_state(&self, index: u64, condition: u64) -> Vec<f64> {
        if condition == 0 {
            return draw_vector(
                &self.state,
                self.seed,
                index,
                self.neurons,
                Purpose::InitialState,
            );
        }
        let mut rng = numbered_stream(self.seed, index, Purpose::InitialState, condition);
        draw_with(&self.state, &mut rng, index, self.neurons)
    }

    /// A vector of replica `index` drawn from `N(mean, std²)` on the stream of `purpose`.
    pub fn gaussian_vector(&self, index: u64, purpose: Purpose, mean: f64, std: f64) -> Vec<f64> {
        let rule = VectorRule::Gaussian { mean, std };
        draw_vector(&rule, self.seed, index, self.neurons, purpose)
    }
}

impl WeightSource {
    /// Replica `index`'s column-major `W` under `seed`.
    fn replica(&self, seed: u64, index: u64, n: usize) -> Vec<f64> {
        match self {
            WeightSource::Gaussian {
                mean,
                std,
                connectivity,
                autapses,
                populations,
                scaled,
            } => {
                let scale = if *scaled {
                    connectivity * n as f64
                } else {
                    1.0
                };
                let mut w = gaussian_weights(
                    seed,
                    index,
                    n,
                    (mean / scale, std / scale.sqrt()),
                    *connectivity,
                    *autapses,
                );
                if let Some((excitatory, inhibitory_scale)) = *populations {
                    apply_populations(n, excitatory, inhibitory_scale, &mut w);
                }
                w
            }
            WeightSource::Loaded(l) => {
                let rows = l.slice(index, n * n);
                let mut w = vec![0.0; n * n];
                for i in 0..n {
                    for j in 0..n {
                        w[j * n + i] = rows[i * n + j];
                    }
                }
                w
            }
        }
    }
}

/// Dense or sparse Gaussian weights `N(mu, sigma²)` where present, drawn in row-major order
/// `(i, j)`; the caller scales: `(μ/(cN), σ/√(cN))` by default (below).
///
/// Every `(i, j)` consumes one normal from the weight stream and (when `c < 1`) one uniform from
/// the connectivity stream, whether or not the synapse exists, so changing `c` or the autapse
/// option never reshuffles the other weights. With sparse connectivity both mean and variance are
/// divided by `c` (`μ/(cN)`, `σ²/(cN)`), keeping the statistics of the summed input of the dense
/// network (science.md gives the variance; the mean follows the same rationale).
fn gaussian_weights(
    seed: u64,
    replica: u64,
    n: usize,
    (mu, sigma): (f64, f64),
    connectivity: f64,
    autapses: bool,
) -> Vec<f64> {
    let mut values = stream(seed, replica, Purpose::Weights);
    let mut links = stream(seed, replica, Purpose::Connectivity);
    let mut w = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let z: f64 = values.sample(StandardNormal);
            let present = connectivity >= 1.0 || links.random::<f64>() < connectivity;
            if present && (autapses || i != j) {
                w[j * n + i] = mu + sigma * z;
            }
        }
    }
    w
}

/// Two populations (Dale's law, `weights.excitatory_fraction`): from the draw above (with
/// μ = 0), `W_ij = |W_ij|` for an excitatory presynaptic neuron `j < N_E` and
/// `W_ij = −g_I |W_ij|` for an inhibitory one, so each column has one sign; the magnitudes are
/// half-normal, mean `σ √(2/(πcN))` and second moment `σ²/(cN)` (times g_I² for inhibitory
/// columns). With g_I = N_E/N_I (the default) the expected summed input `Σ_j W_ij` is 0.
/// A reconstruction of Siri et al. 2007's excitatory/inhibitory option: the general form is
/// "signs by presynaptic population, magnitudes of the Gaussian draw".
fn apply_populations(n: usize, excitatory: usize, inhibitory_scale: f64, w: &mut [f64]) {
    for (j, column) in w.chunks_exact_mut(n).enumerate() {
        let sign = if j < excitatory {
            1.0
        } else {
            -inhibitory_scale
        };
        for x in column {
            *x = sign * x.abs();
        }
    }
}

fn draw_vector(rule: &VectorRule, seed: u64, replica: u64, n: usize, purpose: Purpose) -> Vec<f64> {
    draw_with(rule, &mut stream(seed, replica, purpose), replica, n)
}

fn draw_with(rule: &VectorRule, rng: &mut ChaCha8Rng, replica: u64, n: usize) -> Vec<f64> {
    match rule {
        VectorRule::Gaussian { mean, std } => (0..n)
            .map(|_| mean + std * rng.sample::<f64, _>(StandardNormal))
            .collect(),
        VectorRule::Uniform { low, high } => (0..n)
            .map(|_| low + (high - low) * rng.random::<f64>())
            .collect(),
        VectorRule::Loaded(l) => l.slice(replica, n).to_vec(),
    }
}

/// Check every `.npy` file a validated config names — it exists, is a `.npy` of float32 or
/// float64, has a shape that fits this N and R, holds all its data, and every value is finite —
/// without keeping the data. `hebbnet run` and `hebbnet sweep` call it before any work starts
/// (a run loads the files again when it starts). Errors name the key, e.g. `weights.file`.
pub fn check_files(config: &Config) -> Result<()> {
    let (n, r) = (config.neurons(), config.ensemble.replicas);
    if let Some(path) = &config.weights.file {
        check_file("weights.file", path, n, r, true)?;
    }
    for (key, source) in [
        ("input.file", config.input_source()?),
        ("initial_state.file", config.initial_state_source()?),
    ] {
        if let VectorSource::File(path) = source {
            check_file(key, &path, n, r, false)?;
        }
    }
    Ok(())
}

/// Whether a config names any `.npy` file.
pub fn has_files(config: &Config) -> bool {
    config.weights.file.is_some()
        || config.input.file.is_some()
        || config.initial_state.file.is_some()
}

fn check_file(
    key: &str,
    path: &std::path::Path,
    n: usize,
    replicas: usize,
    matrix: bool,
) -> Result<()> {
    let header = npy::header(path).map_err(|e| keyed(key, e))?;
    check_shape(key, path, &header.shape, n, replicas, matrix)?;
    npy::check_finite(path).map_err(|e| keyed(key, e))?;
    Ok(())
}

/// An error about a file, named with the config key that names the file.
fn keyed(key: &str, e: Error) -> Error {
    match e {
        Error::Input { path, message } => {
            Error::config(key, format!("{}: {message}", path.display()))
        }
        other => other,
    }
}

/// Whether the array is shared (`Ok(false)`) or per replica (`Ok(true)`).
fn check_shape(
    key: &str,
    path: &std::path::Path,
    shape: &[usize],
    n: usize,
    replicas: usize,
    matrix: bool,
) -> Result<bool> {
    let (shared, per): (Vec<usize>, Vec<usize>) = if matrix {
        (vec![n, n], vec![replicas, n, n])
    } else {
        (vec![n], vec![replicas, n])
    };
    if shape == shared {
        Ok(false)
    } else if shape == per {
        Ok(true)
    } else {
        Err(Error::config(
            key,
            format!(
                "{}: shape {shape:?} does not fit this run: expected {shared:?} (shared by all \
                 replicas) or {per:?} (one per replica) for network.neurons = {n}, \
                 ensemble.replicas = {replicas}",
                path.display()
            ),
        ))
    }
}

/// Load a `.npy` of shape (N, N)/(R, N, N) for a matrix or (N)/(R, N) for a vector; errors name
/// `key`.
fn load(
    key: &str,
    path: &std::path::Path,
    n: usize,
    replicas: usize,
    matrix: bool,
) -> Result<Loaded> {
    let header = npy::header(path).map_err(|e| keyed(key, e))?;
    let per_replica = check_shape(key, path, &header.shape, n, replicas, matrix)?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| keyed(key, Error::input(path, format!("cannot open: {e}"))))?
        .len();
    crate::experiment::memory::check_fits(
        bytes.saturating_mul(2),
        &format!("loading {} ({key})", path.display()),
    )?;
    let a = npy::read_finite(path).map_err(|e| keyed(key, e))?;
    Ok(Loaded {
        per_replica,
        data: a.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> EnsembleSpec {
        let mut c = Config::from_value(serde_json::from_str(text).unwrap()).unwrap();
        c.ensemble.replicas = 4;
        c.validate().unwrap();
        EnsembleSpec::from_config(&c).unwrap()
    }

    #[test]
    fn replicas_depend_on_seed_and_index_only() {
        let s = spec(r#"{"network": {"neurons": 20}}"#);
        assert_eq!(s.replica(2), s.replica(2));
        assert_ne!(s.replica(1).weights, s.replica(2).weights);
        let mut other_seed = s.clone();
        other_seed.seed += 1;
        assert_ne!(s.replica(1).weights, other_seed.replica(1).weights);
    }

    #[test]
    fn gaussian_weights_have_the_requested_moments() {
        // N = 400: 160000 weights, mean μ/N = 0.005, variance σ²/N = 0.0025.
        let w = gaussian_weights(7, 0, 400, (2.0 / 400.0, 1.0 / 20.0), 1.0, true);
        let m = w.iter().sum::<f64>() / w.len() as f64;
        let v = w.iter().map(|x| (x - m).powi(2)).sum::<f64>() / w.len() as f64;
        assert!(
            (m - 0.005).abs() < 4.0 * (0.0025f64 / 160000.0).sqrt(),
            "mean {m}"
        );
        assert!((v / 0.0025 - 1.0).abs() < 0.02, "variance {v}");
    }

    #[test]
    fn two_populations_have_one_sign_per_column_and_balance() {
        let n = 400;
        let mut w = gaussian_weights(5, 2, n, (0.0, 1.0 / (n as f64).sqrt()), 1.0, true);
        let magnitudes: Vec<f64> = w.iter().map(|x| x.abs()).collect();
        // 80% excitatory, balanced: g_I = 320 / 80 = 4.
        apply_populations(n, 320, 4.0, &mut w);
        for (j, column) in w.chunks_exact(n).enumerate() {
            let (lo, hi) = column
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            if j < 320 {
                assert!(lo >= 0.0, "excitatory column {j}: {lo}");
            } else {
                assert!(hi <= 0.0, "inhibitory column {j}: {hi}");
            }
        }
        // Magnitudes are the Gaussian draw's, scaled by g_I for inhibitory columns.
        assert_eq!(w[5 * n + 7], magnitudes[5 * n + 7]);
        assert_eq!(w[390 * n + 7], -4.0 * magnitudes[390 * n + 7]);
        // Balanced: the mean summed input is 0 within sampling error (per row: std of Σ_j ≈ 1.3).
        let row_sums: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| w[j * n + i]).sum::<f64>())
            .collect();
        let mean = row_sums.iter().sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.3, "mean summed input {mean}");
        // Half-normal magnitudes: E|W| = σ √(2/(πN)) in excitatory columns.
        let e_mean = w[..320 * n].iter().sum::<f64>() / (320 * n) as f64;
        let expect = (2.0 / (std::f64::consts::PI * n as f64)).sqrt();
        assert!((e_mean / expect - 1.0).abs() < 0.02, "{e_mean} vs {expect}");
    }

    #[test]
    fn sparse_and_autapse_options() {
        let n = 300;
        let w = gaussian_weights(3, 1, n, (0.0, 1.0 / (0.2 * n as f64).sqrt()), 0.2, false);
        assert!((0..n).all(|i| w[i * n + i] == 0.0));
        let present = w.iter().filter(|&&x| x != 0.0).count() as f64 / (n * (n - 1)) as f64;
        assert!((present - 0.2).abs() < 0.01, "{present}");
        let v = w.iter().filter(|&&x| x != 0.0).map(|x| x * x).sum::<f64>()
            / w.iter().filter(|&&x| x != 0.0).count() as f64;
        assert!(
            (v * 0.2 * n as f64 - 1.0).abs() < 0.05,
            "variance × cN = {}",
            v * 60.0
        );
        // Present synapses keep the values they have in the dense network.
        let dense = gaussian_weights(3, 1, n, (0.0, 1.0 / (n as f64).sqrt()), 1.0, true);
        let k = w.iter().position(|&x| x != 0.0).unwrap();
        assert!((w[k] - dense[k] * (1.0f64 / 0.2).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn loaded_arrays_are_checked_and_transposed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.npy");
        let mut wr = npy::Writer::create(&p, npy::Dtype::F32, &[2, 2]).unwrap();
        wr.push(&[1.0, 2.0, 3.0, 4.0]).unwrap(); // W = [[1, 2], [3, 4]]
        wr.finish().unwrap();
        let l = load("weights.file", &p, 2, 4, true).unwrap();
        assert!(!l.per_replica);
        let text = format!(
            r#"{{"network": {{"neurons": 2}}, "weights": {{"file": "{}"}}}}"#,
            p.display()
        );
        let s = spec(&text);
        assert_eq!(
            s.replica(3).weights.get().to_vec(),
            vec![1.0, 3.0, 2.0, 4.0]
        ); // column-major
        let e = load("weights.file", &p, 3, 4, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`weights.file`") && e.contains("shape [2, 2] does not fit"),
            "{e}"
        );
    }
}
