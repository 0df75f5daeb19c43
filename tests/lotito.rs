//! Lotito's memory dynamics (`"model": "lotito"`): the anchors of models/lotito.md §8, each a
//! comparison that can fail — the exact discrete one-hot formula per row in f64 and f32, the
//! decay factor, τ_μ of i.i.d. presentation, the Λ fixed point, the collapsed state and β_c,
//! the fresh-noise variance, the Marchenko–Pastur edges, and the f32 softmax at βS ≈ 100.

use hebbnet::analysis::memories::{series, Series, MEMORY_MEASURES};
use hebbnet::config::Config;
use hebbnet::experiment::lotito::{draw, Drawn};
use hebbnet::model::lotito::{self, dot, Batch, Trace};
use hebbnet::theory::lotito as theory;
use serde_json::json;

/// A lotito config from the `lotito` section's JSON (Figure 1 defaults under it).
fn config(lotito: serde_json::Value, replicas: usize) -> Config {
    let c = Config::from_value(json!({
        "model": "lotito",
        "lotito": lotito,
        "ensemble": {"replicas": replicas, "seed": 7},
    }))
    .expect("parses");
    c.validate().expect("valid");
    c
}

/// Draw every replica of `c` and run them in precision `R`.
fn simulate<R: hebbnet::model::Real>(c: &Config) -> (Vec<Drawn>, Vec<Trace>, Vec<Series>) {
    let l = &c.lotito;
    let drawn: Vec<Drawn> = (0..c.ensemble.replicas as u64)
        .map(|r| draw(c, r))
        .collect();
    let batch = Batch {
        hidden: l.hidden,
        visible: l.visible,
        steps: l.steps,
        record_every: l.record_every,
        softmax: l.softmax,
        replicas: drawn.iter().map(|d| d.replica.clone()).collect(),
    };
    let traces = lotito::run::<R>(&batch);
    let s = traces
        .iter()
        .zip(&drawn)
        .map(|(t, d)| series(t, &d.observed))
        .collect();
    (drawn, traces, s)
}

fn row(v: &[f64], mu: usize, n: usize) -> &[f64] {
    &v[mu * n..(mu + 1) * n]
}

/// Worst |simulated − exact| and |simulated − paper| of the per-row cosines over all samples.
fn against_closed_forms(c: &Config, drawn: &[Drawn], s: &[Series]) -> (f64, f64) {
    let l = &c.lotito;
    let (h, n) = (l.hidden, l.visible);
    let (mut exact_worst, mut paper_worst) = (0.0f64, 0.0f64);
    for (d, s) in drawn.iter().zip(s) {
        for mu in 0..h {
            let (xi, target) = (row(&d.patterns, mu, n), row(&d.replica.targets, mu, n));
            let (a, b) = (dot(xi, xi).sqrt(), dot(target, target).sqrt());
            let alpha = dot(xi, target) / (a * b);
            for k in 0..s.cosines.len() / h {
                let t = k * l.record_every;
                let e = theory::cyclic_decay(t, mu, h, l.memory_time);
                let sim = s.cosines[k * h + mu];
                exact_worst = exact_worst.max((sim - theory::exact_cosine(e, alpha, a, b)).abs());
                let tau = theory::time_scale(l.memory_time, 1.0 / h as f64);
                let paper = theory::paper_cosine((-(t as f64) / tau).exp(), alpha);
                paper_worst = paper_worst.max((sim - paper).abs());
            }
        }
    }
    (exact_worst, paper_worst)
}

#[test]
fn figure1_rows_follow_the_exact_discrete_formula_in_f64_and_f32() {
    let c = config(json!({}), 4);
    let (drawn, _, s64) = simulate::<f64>(&c);
    let (exact, paper) = against_closed_forms(&c, &drawn, &s64);
    assert!(exact < 1e-12, "f64: worst |sim − exact| = {exact:e}");
    // The paper's formula assumes equal norms: a few 1e-3 off, never 1e-2.
    assert!(
        paper > 1e-4 && paper < 1e-2,
        "f64: worst |sim − paper| = {paper:e}"
    );
    let (_, _, s32) = simulate::<f32>(&c);
    let (exact32, _) = against_closed_forms(&c, &drawn, &s32);
    assert!(exact32 < 1e-5, "f32: worst |sim − exact| = {exact32:e}");
}

#[test]
fn f32_softmax_survives_beta_s_near_100_and_agrees_with_f64() {
    let c = config(json!({"steps": 400}), 8);
    let (drawn, _, s32) = simulate::<f32>(&c);
    // The premise: β S exceeds ln(FLT_MAX) ≈ 88.7 at the first presentation, so exp without the
    // max subtraction would overflow in f32.
    let d = &drawn[0];
    let n = c.lotito.visible;
    let s0 = dot(row(&d.replica.initial, 0, n), row(&d.replica.targets, 0, n));
    assert!(
        c.lotito.inverse_temperature * s0 > 88.7,
        "β S = {}",
        c.lotito.inverse_temperature * s0
    );
    let (_, _, s64) = simulate::<f64>(&c);
    for (a, b) in s32.iter().zip(&s64) {
        assert!(a
            .measures
            .iter()
            .skip(MEMORY_MEASURES.len())
            .all(|x| !x.is_nan()));
        for (x, y) in a.cosines.iter().zip(&b.cosines) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }
}

#[test]
fn decay_factor_is_the_discrete_power_and_argmax_is_the_same_limit() {
    let c = config(json!({"steps": 600, "record_every": 3}), 3);
    let (_, _, s) = simulate::<f64>(&c);
    let h = c.lotito.hidden;
    for s in &s {
        for k in 0..s.decay.len() / h {
            for mu in 0..h {
                let e = theory::cyclic_decay(k * 3, mu, h, 250.0);
                assert!((s.decay[k * h + mu] - e).abs() < 1e-10);
            }
        }
    }
    // Hand value of models/lotito.md §5.1: 0.996⁵⁰⁰.
    assert!((theory::cyclic_decay(2000, 3, 4, 250.0) - 0.134_794).abs() < 1e-6);
    assert!((theory::cyclic_decay(2000, 0, 4, 250.0) - 0.996f64.powi(500)).abs() < 1e-15);
    let argmax = config(
        json!({"steps": 600, "record_every": 3, "softmax": "argmax"}),
        3,
    );
    let (_, _, a) = simulate::<f64>(&argmax);
    for (x, y) in a.iter().zip(&s) {
        for (p, q) in x.cosines.iter().zip(&y.cosines) {
            assert!((p - q).abs() < 1e-12);
        }
    }
}

#[test]
fn with_bias_rows_reach_target_plus_bias_with_the_same_factor() {
    let c = config(json!({"steps": 3000, "record_every": 100, "bias": 0.3}), 3);
    let (drawn, traces, s) = simulate::<f64>(&c);
    let (h, n) = (c.lotito.hidden, c.lotito.visible);
    for ((d, t), s) in drawn.iter().zip(&traces).zip(&s) {
        let last = s.decay.len() / h - 1;
        let bias = d.replica.bias.as_ref().expect("Λ drawn");
        for mu in 0..h {
            let e = theory::cyclic_decay(3000, mu, h, 250.0);
            assert!((s.decay[last * h + mu] - e).abs() < 1e-9);
            // Ξ_μ(T) = e ξ_μ + (1 − e)(ξ'_μ + Λ_μ), entry by entry.
            for i in 0..n {
                let want = e * d.patterns[mu * n + i]
                    + (1.0 - e) * (d.replica.targets[mu * n + i] + bias[mu * n + i]);
                assert!((t.memories[mu * n + i] - want).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn iid_presentation_gives_tau_over_p() {
    let p = [0.4, 0.3, 0.2, 0.1];
    let c = config(
        json!({"presentation": "iid", "probabilities": p, "memory_time": 100,
               "steps": 2000, "record_every": 2000}),
        64,
    );
    let (_, _, s) = simulate::<f64>(&c);
    let h = 4;
    for (mu, &pm) in p.iter().enumerate() {
        // ln e_μ(T) = n_μ ln(1 − 1/τ), n_μ ~ Binomial(T, p_μ): average over replicas.
        let mean_ln: f64 = s.iter().map(|s| s.decay[h + mu].ln()).sum::<f64>() / s.len() as f64;
        let fitted = -2000.0 / mean_ln;
        let want = theory::iid_time_scale(100.0, pm);
        // The binomial spread of the win count over 64 replicas, 4σ.
        let rel = 4.0 * ((1.0 - pm) / (2000.0 * pm * 64.0)).sqrt();
        assert!(
            (fitted / want - 1.0).abs() < rel,
            "row {mu}: fitted τ = {fitted}, theory {want} (tolerance {rel})"
        );
        // τ_Ξ/p_μ and the i.i.d. form differ by about 1/(2p_μ).
        assert!((theory::time_scale(100.0, pm) - want - 0.5 / pm).abs() < 0.01 / pm);
    }
}

#[test]
fn collapsed_state_is_stable_below_beta_c_and_separates_above() {
    let base = json!({"initial_memories": "collapsed", "memory_time": 50, "steps": 12000,
                      "record_every": 1000, "collapse_noise": 0.01});
    let probe = config(base.clone(), 1);
    let beta_c = draw(&probe, 0).critical_inverse_temperature;
    // Orthogonal-target estimate N_h/(N_v(1 + σ²)) within 15% (the targets are nearly orthogonal).
    let nominal = theory::nominal_critical_inverse_temperature(4, 50, 0.4);
    assert!(
        (beta_c / nominal - 1.0).abs() < 0.15,
        "{beta_c} vs {nominal}"
    );
    let run = |beta: f64| {
        let mut l = base.clone();
        l["inverse_temperature"] = json!(beta);
        let (_, _, s) = simulate::<f64>(&config(l, 1));
        s.into_iter().next().expect("one replica")
    };
    let below = run(0.7 * beta_c);
    assert!(below.last("pairwise_cosine") > 0.999);
    // Collapsed memories sit at the mean: cos ≈ 1/√N_h with every target.
    assert!((below.last("cosine_mean") - 0.5).abs() < 0.05);
    assert!((below.last("coverage") - 0.25).abs() < 1e-12);
    let above = run(2.0 * beta_c);
    assert!(above.last("pairwise_cosine") < 0.2);
    assert_eq!(above.last("coverage"), 1.0);
    assert!(above.last("best_match") > 0.99);
}

#[test]
fn critical_inverse_temperature_of_orthogonal_targets_is_n_h_over_p() {
    // Four orthogonal targets of squared norm 9 in R^6, uniform p: β_c = N_h/P = 4/9.
    let n = 6;
    let mut t = vec![0.0; 4 * n];
    for mu in 0..4 {
        t[mu * n + mu] = 3.0;
    }
    let beta_c = theory::critical_inverse_temperature(&t, n, &[0.25; 4]);
    assert!((beta_c - 4.0 / 9.0).abs() < 1e-12, "{beta_c}");
}

#[test]
fn fresh_noise_variance_is_sigma_squared_over_two_tau_minus_one() {
    let c = config(
        json!({"initial_memories": "targets", "fresh_noise": 0.3, "memory_time": 25,
               "steps": 6000, "record_every": 10}),
        8,
    );
    let (_, _, s) = simulate::<f64>(&c);
    let samples = s[0].measures.len() / MEMORY_MEASURES.len();
    let measured: f64 = s
        .iter()
        .map(|s| s.mean_from("deviation", samples / 2))
        .sum::<f64>()
        / s.len() as f64;
    let want = theory::fresh_noise_variance(0.3, 25.0);
    assert!((measured / want - 1.0).abs() < 0.1, "{measured} vs {want}");
}

#[test]
fn learned_couplings_follow_marchenko_pastur() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    // Ξ: N_h = 800 rows of N_v = 400 i.i.d. N(0, 1) entries: c = 1/2, J = ΞᵀΞ/N_h.
    let (h, n) = (800, 400);
    let xi: Vec<f64> = (0..h * n)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let j = faer::Mat::<f64>::from_fn(n, n, |a, b| {
        (0..h)
            .map(|mu| xi[mu * n + a] * xi[mu * n + b])
            .sum::<f64>()
            / h as f64
    });
    let ev = j
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .expect("eigenvalues");
    let (lo, hi) = theory::marchenko_pastur_edges(1.0, n as f64 / h as f64);
    let min = ev.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ev.iter().copied().fold(0.0, f64::max);
    // Finite N: the extremes lie slightly inside the edges.
    assert!(
        (min / lo - 1.0).abs() < 0.15 && min > lo * 0.9,
        "{min} vs {lo}"
    );
    assert!(
        (max / hi - 1.0).abs() < 0.05 && max < hi * 1.01,
        "{max} vs {hi}"
    );
    // c = 2: rank J = N_h, a fraction 1 − 1/c of exact zeros.
    let (h, n) = (100, 200);
    let j = faer::Mat::<f64>::from_fn(n, n, |a, b| {
        (0..h)
            .map(|mu| xi[mu * n + a] * xi[mu * n + b])
            .sum::<f64>()
            / h as f64
    });
    let ev = j
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .expect("eigenvalues");
    let zeros = ev.iter().filter(|x| x.abs() < 1e-9).count();
    assert_eq!(zeros as f64 / n as f64, theory::zero_fraction(2.0));
}

#[test]
fn replaced_target_is_observed_from_its_step_and_learned() {
    let c = config(
        json!({"replace": {"pattern": 1, "step": 800}, "memory_time": 50, "steps": 3000,
               "record_every": 10, "softmax": "argmax"}),
        4,
    );
    let (drawn, _, s) = simulate::<f64>(&c);
    for (d, s) in drawn.iter().zip(&s) {
        assert_eq!(d.replica.targets.len(), 5 * 50);
        assert!(d.replica.presented[800..].iter().all(|&x| x != 1));
        assert!(d.replica.presented[..800].iter().all(|&x| x != 4));
        // Row 1's decay factor is undefined once its target changed.
        assert!(s.decay[(800 / 10) * 4 + 1].is_nan() && !s.decay[(790 / 10) * 4 + 1].is_nan());
        assert!(!s.capture.is_empty());
    }
}

/// The bundled run configs as users run them (CLI, embedded defaults of the family), with their
/// documented outcomes; `hebbnet theory` on every bundled config.
#[test]
fn bundled_lotito_configs_run_from_the_cli() {
    let bin = env!("CARGO_BIN_EXE_hebbnet");
    let dir = tempfile::tempdir().unwrap();
    let configs = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/lotito2025");
    for entry in std::fs::read_dir(configs).unwrap().flatten() {
        let path = entry.path();
        let out = std::process::Command::new(bin)
            .args(["theory", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "theory {path:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("memory dynamics") && text.contains("β_c"),
            "{text}"
        );
    }
    let run = |name: &str| {
        let out = dir.path().join(name);
        let status = std::process::Command::new(bin)
            .args([
                "run",
                &format!("{configs}/{name}.json"),
                "--backend",
                "cpu",
                "--quiet",
            ])
            .args(["--out", out.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success(), "{name}");
        out
    };
    let column = |dir: &std::path::Path, name: &str| -> f64 {
        let text = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        values[header.iter().position(|h| *h == name).unwrap()]
            .parse()
            .unwrap()
    };
    // Figure 1: the rows end at the one-hot cosine (≈ 0.9989, e = 0.996⁵⁰⁰), coverage 1.
    let figure1 = run("figure1");
    let final_cosine = column(&figure1, "cosine_mean_mean");
    assert!((final_cosine - 0.9989).abs() < 5e-4, "{final_cosine}");
    assert_eq!(column(&figure1, "coverage_mean"), 1.0);
    // τ̂ = −T/ln e_μ(T) averages τ_Ξ/p_μ = 1000 over the rows.
    let tau = column(&figure1, "decay_time_mean_mean");
    assert!((tau / 1000.0 - 1.0).abs() < 0.01, "{tau}");
    for array in ["cosines", "decay", "measures", "gram", "spectrum"] {
        assert!(figure1.join(format!("{array}.npy")).is_file(), "{array}");
    }
    let time_scales = run("time_scales");
    assert!(column(&time_scales, "best_match_mean") > 0.99);
}

/// A replica's results depend on the seed and its index only: byte-identical whatever the
/// batch size and thread count (i.i.d. presentation and fresh noise included).
#[test]
fn results_do_not_depend_on_batch_or_threads() {
    let bin = env!("CARGO_BIN_EXE_hebbnet");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        r#"{"model": "lotito", "lotito": {"steps": 300, "record_every": 7, "presentation": "iid",
            "fresh_noise": 0.2, "bias": 0.1}, "ensemble": {"replicas": 7, "seed": 3}}"#,
    )
    .unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let status = std::process::Command::new(bin)
            .args([
                "run",
                config.to_str().unwrap(),
                "--backend",
                "cpu",
                "--quiet",
            ])
            .args(["--out", out.to_str().unwrap()])
            .args(extra)
            .status()
            .unwrap();
        assert!(status.success());
        out
    };
    let a = run("a", &[]);
    let b = run("b", &["--batch", "3", "--threads", "1"]);
    for file in [
        "epochs.csv",
        "cosines.npy",
        "measures.npy",
        "gram.npy",
        "decay.npy",
    ] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
}
