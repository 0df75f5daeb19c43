//! The Lotito family's side of the engine (`"model": "lotito"`, src/model/lotito;
//! models/lotito.md).
//!
//! A batch holds its members' memories, targets and presentation schedules; the backend
//! advances them all at once ([`Backend::run_lotito`]); here the Gram products become the
//! series `cosines`, `decay`, `measures` and `gram` (every `lotito.record_every` steps,
//! [`crate::analysis::memories`]), the `spectrum` of the learned J and one `epochs.csv` row
//! per replica ([`MEMORY_COLUMNS`]). With `lotito.hebbian` the learned J = ΞᵀΞ/N_h becomes the
//! weights of a current-form network `h ← (1 − a) h + a J tanh(g h)`, run through the Jiang
//! family's factored kernels ([`Backend::run_jiang`], J = scale·ξᵀXξ with ξ = Ξ and X = I; in
//! u = g h it is `u ← (1 − a) u + a (g J) tanh u`): one start per target (a corrupted copy)
//! and one near the origin, whose exponent is compared with `ln|1 − a + a g λ_max(J)|`.
//!
//! Random streams of replica r: patterns ξ_μ then the target noise η_μ from `Weights` (stream
//! 0, under `lotito.pattern_seed` when set, else `ensemble.seed`), a replacement target from
//! `Weights` stream 1, Λ from `Weights` stream 2; random or collapsed initial memories from
//! `InitialState` stream 0; i.i.d. presentation from `Input`; fresh noise from the
//! counter-based [`NoiseStream`] (the same numbers on both backends); the Hebbian limit's
//! corrupted starts from `InitialState` stream 1 + μ, the origin start from `Perturbation`,
//! tangent vectors from `Tangent`.

use std::path::Path;

use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::analog::saved;
use super::family::{write_part_array, ArrayKind, Family, Member};
use crate::analysis::memories::{self, Observed, Series, MEMORY_COLUMNS, MEMORY_MEASURES};
use crate::backend::Backend;
use crate::config::{Config, InitialMemories, Presentation, SavedArray};
use crate::ensemble::{numbered_stream, Purpose};
use crate::error::Result;
use crate::model::bms::noise::NoiseStream;
use crate::model::jiang::{self, Chain, LowRank, Trajectory};
use crate::model::lotito::{self, dot, draw_patterns, presentation, Trace};
use crate::npy;
use crate::theory::lotito as theory;

/// The Lotito family (see the module doc).
#[derive(Default)]
pub struct Lotito;

/// One member as drawn: what the kernel needs, and what the analysis needs besides.
pub struct Drawn {
    pub index: u64,
    pub replica: lotito::Replica,
    /// ξ_μ, `N_h × N_v`.
    pub patterns: Vec<f64>,
    pub observed: Observed,
    /// β_c = 1/λ_max(C) of the replica's presented targets.
    pub critical_inverse_temperature: f64,
}

impl Family for Lotito {
    fn name(&self) -> &'static str {
        "lotito"
    }

    fn neurons(&self, config: &Config) -> usize {
        config.lotito.visible
    }

    fn steps_per_replica(&self, config: &Config) -> u64 {
        config.lotito.steps as u64
    }

    fn describe(&self, config: &Config) -> String {
        let l = &config.lotito;
        format!(
            "memory dynamics N_v = {}, N_h = {}, τ_Ξ = {}, β = {} ({:?} softmax), σ = {}, σ_f = {}, \
             {:?} presentation (Δ = {}), {:?} initial memories, R = {}, T = {} steps, {}{}",
            l.visible,
            l.hidden,
            l.memory_time,
            l.inverse_temperature,
            l.softmax,
            l.target_noise,
            l.fresh_noise,
            l.presentation,
            l.block_length,
            l.initial_memories,
            config.ensemble.replicas,
            l.steps,
            config.backend.precision.name(),
            if l.hebbian.is_some() {
                ", then the Hebbian limit's retrieval"
            } else {
                ""
            }
        )
    }

    fn batch_capacity(&self, config: &Config, _backend: &dyn Backend) -> Result<usize> {
        // A replica's series: samples × (2N_h² + N_h + 2) f64 on the host, twice (trace and
        // series); keep a batch within ~512 MiB of them and its schedules.
        let l = &config.lotito;
        let per = (l.samples() * (3 * l.hidden * l.hidden + 2 * l.hidden + 14) * 8
            + l.steps * 4
            + 6 * l.hidden * l.visible * 8) as u64;
        Ok(((512u64 << 20) / per.max(1)).clamp(1, 65_536) as usize)
    }

    fn batch_key(&self, config: &Config) -> String {
        let l = &config.lotito;
        serde_json::json!({
            "visible": l.visible,
            "hidden": l.hidden,
            "steps": l.steps,
            "record_every": l.record_every,
            "softmax": l.softmax,
            "slots": l.target_slots(),
            "hebbian_steps": l.hebbian.as_ref().map(|h| h.steps),
            "precision": config.backend.precision,
            "save": saved(config),
        })
        .to_string()
    }

    fn columns(&self) -> &'static [&'static str] {
        &MEMORY_COLUMNS
    }

    fn arrays(&self, config: &Config) -> Vec<(String, ArrayKind)> {
        let l = &config.lotito;
        let (h, n, s) = (l.hidden, l.visible, l.samples());
        let real = |shape: Vec<usize>, dtype: npy::Dtype| (ArrayKind::real(shape, dtype), dtype);
        let mut out = vec![
            ("cosines", real(vec![s, h], npy::Dtype::F64)),
            ("decay", real(vec![s, h], npy::Dtype::F64)),
            (
                "measures",
                real(vec![s, MEMORY_MEASURES.len()], npy::Dtype::F64),
            ),
            ("gram", real(vec![s, h, h], npy::Dtype::F32)),
            ("spectrum", real(vec![h], npy::Dtype::F64)),
        ];
        if l.hebbian.is_some() {
            out.push(("retrieval", real(vec![h, h], npy::Dtype::F64)));
        }
        for a in saved(config) {
            let shape = match a {
                SavedArray::Weights => vec![n, n],
                SavedArray::State => vec![h, n],
                SavedArray::Patterns => vec![h + l.target_slots(), n],
                other => unreachable!("validated: {} is not a lotito array", other.file_stem()),
            };
            // Ξ and the patterns in f64 (small: the exact formulas need them); J in f32.
            let dtype = match a {
                SavedArray::Weights => npy::Dtype::F32,
                _ => npy::Dtype::F64,
            };
            out.push((a.file_stem(), real(shape, dtype)));
        }
        out.into_iter()
            .map(|(stem, (kind, _))| (stem.to_string(), kind))
            .collect()
    }

    fn run_part(
        &self,
        backend: &mut dyn Backend,
        members: &[Member<'_>],
        parts: &Path,
        name: &str,
        row_prefix: &dyn Fn(usize) -> String,
    ) -> Result<String> {
        let config = members[0].config;
        let l = &config.lotito;
        let drawn: Vec<Drawn> = members
            .par_iter()
            .map(|m| draw(m.config, m.replica))
            .collect();
        let batch = lotito::Batch {
            hidden: l.hidden,
            visible: l.visible,
            steps: l.steps,
            record_every: l.record_every,
            softmax: l.softmax,
            replicas: drawn.iter().map(|d| d.replica.clone()).collect(),
        };
        let traces = backend.run_lotito(config.backend.precision, &batch)?;
        let series: Vec<Series> = traces
            .par_iter()
            .zip(&drawn)
            .map(|(t, d)| memories::series(t, &d.observed))
            .collect();
        let finals: Vec<Final> = traces
            .par_iter()
            .zip(&drawn)
            .zip(members)
            .map(|((t, d), m)| Final::of(m.config, t, d))
            .collect();
        let hebbian = match &l.hebbian {
            Some(_) => Some(hebbian_limit(backend, members, &drawn, &finals)?),
            None => None,
        };
        let mut csv = String::new();
        for (k, m) in members.iter().enumerate() {
            csv.push_str(&row_prefix(k));
            csv.push_str(&row(
                m.config,
                &drawn[k],
                &series[k],
                &finals[k],
                hebbian.as_ref().map(|h| &h[k]),
            ));
            csv.push('\n');
        }
        let count = members.len();
        for (stem, kind) in &self.arrays(config) {
            write_part_array(parts, name, stem, kind, count, &mut |push| {
                for k in 0..count {
                    match stem.as_str() {
                        "cosines" => push(&series[k].cosines)?,
                        "decay" => push(&series[k].decay)?,
                        "measures" => push(&series[k].measures)?,
                        "gram" => push(&traces[k].gram)?,
                        "spectrum" => push(&finals[k].spectrum)?,
                        "retrieval" => push(&hebbian.as_ref().expect("hebbian run")[k].overlaps)?,
                        "weights" => push(&finals[k].couplings(l.hidden, l.visible))?,
                        "state" => push(&traces[k].memories)?,
                        "patterns" => {
                            let mut both = drawn[k].patterns.clone();
                            both.extend_from_slice(&drawn[k].replica.targets);
                            push(&both)?
                        }
                        other => unreachable!("no array {other} in Lotito::arrays"),
                    }
                }
                Ok(())
            })?;
        }
        Ok(csv)
    }

    fn summarize_by(&self, rows: &str, group: &str, carry: &[&str]) -> String {
        memories::summarize_by(rows, group, carry)
    }
}

/// A standard normal vector of length `n` from `rng`.
fn normals(rng: &mut impl RngExt, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// Replica `index` of `config` as it starts (module doc for the streams).
pub fn draw(config: &Config, index: u64) -> Drawn {
    let l = &config.lotito;
    let (h, n) = (l.hidden, l.visible);
    let seed = config.ensemble.seed;
    let pattern_seed = l.pattern_seed.unwrap_or(seed);
    let mut rng = numbered_stream(pattern_seed, index, Purpose::Weights, 0);
    let patterns = draw_patterns(l.patterns, h, n, &mut rng);
    let noise = normals(&mut rng, h * n);
    let mut targets: Vec<f64> = patterns
        .iter()
        .zip(&noise)
        .map(|(x, e)| x + l.target_noise * e)
        .collect();
    if l.replace.is_some() {
        let mut rng = numbered_stream(pattern_seed, index, Purpose::Weights, 1);
        let fresh = draw_patterns(l.patterns, 1, n, &mut rng);
        let noise = normals(&mut rng, n);
        targets.extend(
            fresh
                .iter()
                .zip(&noise)
                .map(|(x, e)| x + l.target_noise * e),
        );
    }
    let bias = (l.bias > 0.0).then(|| {
        let mut rng = numbered_stream(pattern_seed, index, Purpose::Weights, 2);
        normals(&mut rng, h * n)
            .into_iter()
            .map(|x| l.bias * x)
            .collect::<Vec<f64>>()
    });
    let fixed_row = |slot: usize, row: usize| -> Vec<f64> {
        let t = &targets[slot * n..(slot + 1) * n];
        match &bias {
            Some(b) => t
                .iter()
                .zip(&b[row * n..(row + 1) * n])
                .map(|(x, y)| x + y)
                .collect(),
            None => t.to_vec(),
        }
    };
    let mut fixed_points: Vec<f64> = (0..h).flat_map(|mu| fixed_row(mu, mu)).collect();
    if let Some(r) = &l.replace {
        let mut after = fixed_points.clone();
        after[r.pattern * n..(r.pattern + 1) * n].copy_from_slice(&fixed_row(h, r.pattern));
        fixed_points.extend(after);
    }
    let p = l.presentation_probabilities();
    let initial: Vec<f64> = match l.initial_memories {
        InitialMemories::Patterns => patterns.clone(),
        InitialMemories::Targets => fixed_points[..h * n].to_vec(),
        InitialMemories::Random => {
            let mut rng = numbered_stream(seed, index, Purpose::InitialState, 0);
            normals(&mut rng, h * n)
        }
        InitialMemories::Collapsed => {
            let mut mean = vec![0.0; n];
            for (mu, q) in p.iter().enumerate() {
                for (m, x) in mean.iter_mut().zip(&targets[mu * n..(mu + 1) * n]) {
                    *m += q * x;
                }
            }
            let mut rng = numbered_stream(seed, index, Purpose::InitialState, 0);
            let noise = normals(&mut rng, h * n);
            (0..h * n)
                .map(|k| mean[k % n] + l.collapse_noise * noise[k])
                .collect()
        }
    };
    let decay_directions: Vec<f64> = initial
        .iter()
        .zip(&fixed_points[..h * n])
        .map(|(x, f)| x - f)
        .collect();
    let mut schedule_rng = numbered_stream(seed, index, Purpose::Input, 0);
    let presented = presentation(
        (l.presentation == Presentation::Iid).then_some((p.as_slice(), &mut schedule_rng)),
        h,
        l.steps,
        l.block_length,
        l.replace.as_ref().map(|r| (r.pattern, r.step)),
    );
    let sets = fixed_points.len() / (h * n);
    let row_of = |v: &[f64], k: usize| v[k * n..(k + 1) * n].to_vec();
    let mut fixed_gram = Vec::with_capacity(sets * h * h);
    for s in 0..sets {
        let f = &fixed_points[s * h * n..(s + 1) * h * n];
        for mu in 0..h {
            for nu in 0..h {
                fixed_gram.push(dot(&row_of(f, mu), &row_of(f, nu)));
            }
        }
    }
    let observed = Observed {
        hidden: h,
        fixed_gram,
        fixed_dot_direction: (0..h)
            .map(|mu| dot(&row_of(&fixed_points, mu), &row_of(&decay_directions, mu)))
            .collect(),
        direction_norm: (0..h)
            .map(|mu| {
                dot(
                    &row_of(&decay_directions, mu),
                    &row_of(&decay_directions, mu),
                )
            })
            .collect(),
        switch: l.replace.as_ref().map(|r| (r.step, r.pattern)),
        record_every: l.record_every,
        visible: n,
    };
    let critical_inverse_temperature =
        theory::critical_inverse_temperature(&targets[..h * n], n, &p);
    Drawn {
        index,
        replica: lotito::Replica {
            initial,
            targets,
            bias,
            fixed_points,
            decay_directions,
            presented,
            switch_step: l.replace.as_ref().map_or(u32::MAX, |r| r.step as u32),
            inverse_temperature: l.inverse_temperature,
            memory_time: l.memory_time,
            fresh_noise: l.fresh_noise,
            noise: NoiseStream {
                seed,
                replica: index,
                stream: 0,
            },
        },
        patterns,
        observed,
        critical_inverse_temperature,
    }
}

/// What the end state gives: the spectrum of the learned J and ‖J − J_Hebb‖_F in f64.
struct Final {
    /// The N_h largest eigenvalues of J (those of ΞΞᵀ·factor), descending.
    spectrum: Vec<f64>,
    /// ‖J − J_Hebb‖_F from Ξ(T) in f64 (J at the memory scale 1/N_h).
    hebb_distance: f64,
    /// Ξ(T).
    memories: Vec<f64>,
    factor: f64,
}

impl Final {
    fn of(config: &Config, trace: &Trace, drawn: &Drawn) -> Final {
        let l = &config.lotito;
        let (h, n) = (l.hidden, l.visible);
        let xi = &trace.memories;
        let factor = theory::coupling_factor(
            l.hebbian.as_ref().map_or(Default::default(), |hb| hb.scale),
            h,
            n,
        );
        let gram = faer::Mat::<f64>::from_fn(h, h, |a, b| {
            dot(&xi[a * n..(a + 1) * n], &xi[b * n..(b + 1) * n]) * factor
        });
        let mut spectrum = gram
            .self_adjoint_eigenvalues(faer::Side::Lower)
            .unwrap_or_else(|_| vec![f64::NAN; h]);
        spectrum.sort_by(|a, b| b.total_cmp(a));
        // The fixed points observed at T (after a replacement, the new one).
        let set = drawn
            .observed
            .switch
            .map_or(0, |(at, _)| usize::from(l.steps >= at));
        let f = &drawn.replica.fixed_points[set * h * n..(set + 1) * h * n];
        let mut sq = 0.0;
        for i in 0..n {
            for j in 0..n {
                let mut d = 0.0;
                for mu in 0..h {
                    d += xi[mu * n + i] * xi[mu * n + j] - f[mu * n + i] * f[mu * n + j];
                }
                sq += d * d;
            }
        }
        Final {
            spectrum,
            hebb_distance: sq.sqrt() / h as f64,
            memories: xi.clone(),
            factor,
        }
    }

    /// J = ΞᵀΞ·factor, `N_v × N_v`.
    fn couplings(&self, h: usize, n: usize) -> Vec<f64> {
        let xi = &self.memories;
        let mut j = vec![0.0; n * n];
        for a in 0..n {
            for b in 0..n {
                j[a * n + b] = (0..h)
                    .map(|mu| xi[mu * n + a] * xi[mu * n + b])
                    .sum::<f64>()
                    * self.factor;
            }
        }
        j
    }
}

/// The Hebbian limit of one replica.
struct Retrieval {
    /// `N_h × N_h`: the overlap m_ν = ξ'_ν·φ/(|ξ'_ν| √N_v), φ = tanh(g h(T)), of the start cued
    /// at target μ (row μ): cos(ξ'_ν, φ) times the activity ‖φ‖/√N_v.
    overlaps: Vec<f64>,
    /// Mean over starts of the overlap with the cued target.
    overlap: f64,
    /// Fraction of starts that retrieved their target.
    success: f64,
    predicted: f64,
    measured: f64,
    origin_stable_measured: bool,
}

/// Run every member's Hebbian-limit starts as one Jiang batch (module doc).
fn hebbian_limit(
    backend: &mut dyn Backend,
    members: &[Member<'_>],
    drawn: &[Drawn],
    finals: &[Final],
) -> Result<Vec<Retrieval>> {
    let config = members[0].config;
    let l = &config.lotito;
    let (h, n) = (l.hidden, l.visible);
    let steps = l.hebbian.as_ref().map_or(1, |hb| hb.steps);
    let chain = Chain {
        autoassociation: 1.0,
        heteroassociation: 0.0,
        depth: 1,
        backward: 0.0,
        sequences: 1,
        open_chain: false,
    };
    let couplings: Vec<LowRank> = members
        .iter()
        .zip(finals)
        .map(|(m, f)| {
            let hb = m.config.lotito.hebbian.clone().unwrap_or_default();
            let mut j = LowRank::new(f.memories.clone(), h, &chain, true);
            j.scale = hb.gain * f.factor;
            j
        })
        .collect();
    let mut trajectories = Vec::with_capacity(members.len() * (h + 1));
    for (r, (m, d)) in members.iter().zip(drawn).enumerate() {
        let hb = m.config.lotito.hebbian.clone().unwrap_or_default();
        let seed = m.config.ensemble.seed;
        let tangent = |c: u64| {
            let mut rng = numbered_stream(seed, d.index, Purpose::Tangent, c);
            let mut v = normals(&mut rng, n);
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        };
        for mu in 0..h {
            let mut rng = numbered_stream(seed, d.index, Purpose::InitialState, 1 + mu as u64);
            let target = &d.replica.targets[mu * n..(mu + 1) * n];
            let start = target
                .iter()
                .map(|&x| {
                    let flip = rng.random::<f64>() < hb.flip_probability;
                    let noise: f64 = rng.sample(StandardNormal);
                    hb.gain * ((if flip { -x } else { x }) + hb.noise * noise)
                })
                .collect();
            trajectories.push(Trajectory {
                network: r,
                start,
                twin: None,
                tangent: Some(tangent(1 + mu as u64)),
            });
        }
        let mut rng = numbered_stream(seed, d.index, Purpose::Perturbation, 0);
        let e = normals(&mut rng, n);
        let norm = (e.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
        trajectories.push(Trajectory {
            network: r,
            start: e
                .iter()
                .map(|x| hb.gain * hb.origin_noise * x / norm)
                .collect(),
            twin: None,
            tangent: Some(tangent(0)),
        });
    }
    let batch = jiang::Batch {
        networks: members
            .iter()
            .zip(&couplings)
            .map(|(m, c)| jiang::Network {
                couplings: c,
                dense: None,
                leak: m.config.lotito.hebbian.as_ref().map_or(1.0, |hb| hb.leak),
            })
            .collect(),
        trajectories,
        transient: 0,
        window: steps,
        record_every: steps,
        snapshots: Vec::new(),
    };
    let traces = backend.run_jiang(config.backend.precision, &batch)?;
    Ok(members
        .iter()
        .enumerate()
        .map(|(r, m)| {
            let hb = m.config.lotito.hebbian.clone().unwrap_or_default();
            let own = &traces[r * (h + 1)..(r + 1) * (h + 1)];
            let targets = &drawn[r].replica.targets;
            let mut overlaps = Vec::with_capacity(h * h);
            let (mut overlap, mut success) = (0.0, 0.0);
            for (mu, t) in own[..h].iter().enumerate() {
                let phi: Vec<f64> = t.state.iter().map(|u| u.tanh()).collect();
                // m_ν = ξ'_ν·φ / (|ξ'_ν| √N_v): cos(ξ'_ν, φ) times the activity ‖φ‖/√N_v, so a
                // start that decays towards h = 0 retrieves nothing.
                let row: Vec<f64> = (0..h)
                    .map(|nu| {
                        let x = &targets[nu * n..(nu + 1) * n];
                        dot(x, &phi) / (dot(x, x).sqrt() * (n as f64).sqrt())
                    })
                    .collect();
                let best = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                overlap += row[mu] / h as f64;
                if row[mu] >= hb.success_overlap && row[mu] == best {
                    success += 1.0 / h as f64;
                }
                overlaps.extend(row);
            }
            let origin = &own[h];
            let spectrum = &finals[r].spectrum;
            let lambda_max = spectrum.first().copied().unwrap_or(f64::NAN) * hb.gain;
            // J has a kernel when N_h < N_v; otherwise its smallest eigenvalue is the last.
            let lambda_min = if h < n {
                0.0
            } else {
                spectrum.last().copied().unwrap_or(f64::NAN) * hb.gain
            };
            let start_norm = hb.gain * hb.origin_noise * (n as f64).sqrt();
            let end_norm = dot(&origin.state, &origin.state).sqrt();
            Retrieval {
                overlaps,
                overlap,
                success,
                predicted: theory::origin_exponent(hb.leak, 1.0, lambda_max, lambda_min),
                measured: origin.log_growth / steps as f64,
                origin_stable_measured: end_norm < start_norm,
            }
        })
        .collect())
}

/// One replica's row of `epochs.csv` ([`MEMORY_COLUMNS`]).
fn row(
    config: &Config,
    drawn: &Drawn,
    series: &Series,
    last: &Final,
    hebbian: Option<&Retrieval>,
) -> String {
    let l = &config.lotito;
    let h = l.hidden;
    let beta_c = drawn.critical_inverse_temperature;
    let pairwise = series.last("pairwise_cosine");
    // τ̂_μ = −T/ln e_μ(T) over the rows whose decay factor is in (0, 1).
    let samples = series.decay.len() / h;
    let t_last = (samples - 1) * l.record_every;
    let taus: Vec<f64> = series.decay[(samples - 1) * h..]
        .iter()
        .filter(|e| **e > 0.0 && **e < 1.0)
        .map(|e| -(t_last as f64) / e.ln())
        .collect();
    let decay_time = if taus.is_empty() {
        f64::NAN
    } else {
        taus.iter().sum::<f64>() / taus.len() as f64
    };
    // Overwrite: the first recorded step after the replacement at which some row's cosine with
    // the new target reaches lotito.overwrite_cosine, and that row.
    let (overwrite, overwrite_row) = l.replace.as_ref().map_or((f64::NAN, f64::NAN), |r| {
        let first = r.step.div_ceil(l.record_every);
        series
            .capture
            .iter()
            .enumerate()
            .find(|(_, c)| c.1 >= l.overwrite_cosine)
            .map_or((f64::NAN, f64::NAN), |(k, c)| {
                (((first + k) * l.record_every - r.step) as f64, c.0 as f64)
            })
    });
    let lambda_max = last.spectrum.first().copied().unwrap_or(f64::NAN);
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let (overlap, success, predicted, measured, stable_pred, stable_meas) = match hebbian {
        Some(r) => (
            r.overlap,
            r.success,
            r.predicted,
            r.measured,
            flag(r.predicted < 0.0),
            flag(r.origin_stable_measured),
        ),
        None => (f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN),
    };
    let values = [
        l.inverse_temperature,
        beta_c,
        l.inverse_temperature / beta_c,
        series.last("cosine_mean"),
        series.last("cosine_min"),
        series.last("best_match"),
        series.last("coverage"),
        last.hebb_distance,
        series.last("max_weight"),
        series.last("entropy"),
        series.last("effective_number"),
        pairwise,
        flag(pairwise > 0.9),
        series.last("norm_mean"),
        decay_time,
        series.mean_from("deviation", samples / 2),
        overwrite,
        overwrite_row,
        lambda_max,
        overlap,
        success,
        predicted,
        measured,
        stable_pred,
        stable_meas,
    ];
    let mut out = drawn.index.to_string();
    for v in values {
        out.push(',');
        out.push_str(&v.to_string());
    }
    out
}
