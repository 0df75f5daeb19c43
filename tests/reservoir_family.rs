//! The reservoir family end to end (`"model": "reservoir"`, models/rivkind_barak.md): the
//! trained closed loop on both backends, the anchors that hold at any N through the whole
//! pipeline, the bundled configs and `hebbnet theory` from the CLI, and independence of batch
//! and threads.
mod common;
use hebbnet::backend::cpu::CpuBackend;
use hebbnet::backend::Backend;
use hebbnet::config::{Config, Precision};
use hebbnet::experiment::family::Member;
use hebbnet::experiment::reservoir::{train, Trained};
use serde_json::{json, Value};

/// A reservoir config from the family's defaults and `extra` (merged over them).
fn config(extra: Value) -> Config {
    let mut tree = json!({
        "model": "reservoir",
        "network": {"neurons": 60},
        "weights": {"std": 0.8},
        "reservoir": {"open_loop": {"time": 100}, "kicks": {"time": 60, "samples": 12}},
        "ensemble": {"replicas": 3, "seed": 5}
    });
    merge(&mut tree, extra);
    let c = Config::from_value(tree).unwrap();
    c.validate().unwrap();
    c
}

fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, top) => *slot = top,
    }
}

fn trained(backend: &mut dyn Backend, c: &Config) -> Vec<Trained> {
    let members: Vec<Member<'_>> = (0..c.ensemble.replicas as u64)
        .map(|replica| Member { config: c, replica })
        .collect();
    train(backend, &members).unwrap()
}

/// tanh, g = 0.8, targets ±1 (R has rank 1: r(−A) = −r(A), the pseudo-inverse's case): every
/// replica trains, the closed loop holds z = A_k at x^k to
/// rounding, every attractor is eig-stable, every kick returns, in f32 and f64; the f32
/// relaxation polished by Newton in f64 lands on the f64 run's fixed point.
#[test]
fn tanh_attractors_train_hold_and_return() {
    let c64 =
        config(json!({"reservoir": {"targets": [-1.0, 1.0]}, "backend": {"precision": "f64"}}));
    let c32 = config(json!({"reservoir": {"targets": [-1.0, 1.0]}}));
    let mut cpu = CpuBackend::new(2).unwrap();
    let a = trained(&mut cpu, &c64);
    let b = trained(&mut cpu, &c32);
    for (t, u) in a.iter().zip(&b) {
        assert!(t.trained && u.trained);
        for (k, (at, bt)) in t.attractors.iter().zip(&u.attractors).enumerate() {
            assert!((at.fixed_readout - at.target).abs() < 1e-12, "{k}");
            let field = t.network.closed_loop_field(&t.readout, &at.state);
            assert!(field.iter().all(|f| f.abs() < 1e-9));
            assert!(at.leading().re < -0.05, "{:?}", at.leading());
            assert!(at.kicks.iter().all(|k| k.returned && !k.diverged));
            let d = common::max_diff(&at.state, &bt.state);
            assert!(d < 1e-9, "f32 relaxation + f64 Newton vs f64: {d}");
        }
    }
}

/// Homogeneous ReLU (θ = 0): M_k x^k = 0 at any N, so the pipeline reports every attractor
/// marginal (max Re λ = 0 to rounding), H_k(0) = 1, and the kick along x^k stays on the ray
/// (return ratio ≈ 1: z(T) = (1 + κ) A_k); ReLU θ = 0.3 recruits (H0 > 1) and is unstable.
#[test]
fn relu_threshold_decides_marginal_and_unstable() {
    let mut cpu = CpuBackend::new(2).unwrap();
    let homogeneous = config(json!({
        "network": {"activation": "relu"},
        "backend": {"precision": "f64"},
        "reservoir": {"kicks": {"kinds": ["state"]}}
    }));
    for t in trained(&mut cpu, &homogeneous) {
        assert!(t.trained);
        let at = &t.attractors[0];
        assert!(at.leading().re.abs() < 1e-9, "{:?}", at.leading());
        assert!(
            (at.open_loop_gain - 1.0).abs() < 1e-9,
            "{}",
            at.open_loop_gain
        );
        let ratio = at.kicks[0].return_ratio;
        assert!((ratio - 1.0).abs() < 1e-6, "the ray: {ratio}");
    }
    let recruiting = config(json!({
        "network": {"activation": "relu", "threshold": 0.3},
        "backend": {"precision": "f64"}
    }));
    for t in trained(&mut cpu, &recruiting) {
        let at = &t.attractors[0];
        assert!(at.open_loop_gain > 1.1, "{}", at.open_loop_gain);
        assert!(at.leading().re > 0.05, "{:?}", at.leading());
        assert!(at.kicks.iter().any(|k| !k.returned));
    }
}

/// The closed loop on the GPU (lavapipe in CI) against the CPU twin, both f32: the relaxed
/// states polished by Newton in f64 agree to 1e-9 (same fixed point), so readouts, spectra and
/// H_k(0) agree to rounding; the kicked runs' readout z(t) agree within 1e-4 (f32 steps, tanh
/// of the driver, contraction towards the attractor keeps the differences bounded), and every
/// success flag is the same.
#[test]
fn closed_loop_runs_agree_on_cpu_and_gpu() {
    let Some(mut gpu) = common::gpu() else {
        return;
    };
    let c = config(json!({"reservoir": {"targets": [1.0, -0.5]}, "weights": {"std": 1.1}}));
    let mut cpu = CpuBackend::new(2).unwrap();
    let a = trained(&mut cpu, &c);
    let b = trained(&mut gpu, &c);
    let mut worst: f64 = 0.0;
    for (t, u) in a.iter().zip(&b) {
        assert_eq!(t.trained, u.trained);
        assert!(common::max_diff(&t.readout, &u.readout) < 1e-7);
        for (at, bt) in t.attractors.iter().zip(&u.attractors) {
            assert!(common::max_diff(&at.state, &bt.state) < 1e-9);
            assert!((at.leading().re - bt.leading().re).abs() < 1e-9);
            let d = common::max_diff(&at.series, &bt.series);
            worst = worst.max(d);
            assert!(d < 1e-4, "z(t) differs by {d}");
            for (x, y) in at.kicks.iter().zip(&bt.kicks) {
                assert_eq!(x.returned, y.returned);
            }
        }
    }
    eprintln!("closed loop z(t): CPU vs GPU, worst |Δz| = {worst:.2e}");
}

fn hebbnet(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

/// Every bundled config through the CLI as users run it, smaller (`--set`): `hebbnet theory`
/// prints the family's predictions, runs and sweeps complete, and their tables carry the
/// theory beside the measurement.
#[test]
fn bundled_reservoir_configs_run_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let configs = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/rivkind2017");
    let mut count = 0;
    for entry in std::fs::read_dir(configs).unwrap().flatten() {
        let path = entry.path();
        let p = path.to_str().unwrap();
        let out = hebbnet(&["theory", p]);
        assert!(
            out.status.success(),
            "theory {p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("trained reservoir"), "{text}");
        let text_json = std::fs::read_to_string(&path).unwrap();
        let cmd = if text_json.contains("\"axes\"") {
            "sweep"
        } else {
            "run"
        };
        let out_dir = dir.path().join(path.file_stem().unwrap());
        let o = out_dir.to_str().unwrap();
        let out = hebbnet(&[
            cmd,
            p,
            "--out",
            o,
            "--backend",
            "cpu",
            "--quiet",
            "--set",
            "network.neurons=30",
            "--set",
            "reservoir.open_loop.time=40",
            "--set",
            "reservoir.open_loop.lyapunov_time=10",
            "--set",
            "reservoir.kicks.time=20",
            "--set",
            "reservoir.kicks.samples=4",
        ]);
        assert!(
            out.status.success(),
            "{cmd} {p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let table = if cmd == "sweep" {
            "points.csv"
        } else {
            "summary.csv"
        };
        let t = std::fs::read_to_string(out_dir.join(table)).unwrap();
        assert!(
            t.lines().next().unwrap().contains("predicted_success_mean"),
            "{p}"
        );
        for array in ["attractors.npy", "readout_series.npy", "readout.npy"] {
            assert!(out_dir.join(array).is_file(), "{p}: {array}");
        }
        count += 1;
    }
    assert!(count >= 6, "{count} bundled configs");
}

/// A replica's results depend on the seed and its index only: byte-identical whatever the
/// batch size and thread count.
#[test]
fn results_do_not_depend_on_batch_or_threads() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.json");
    std::fs::write(
        &c,
        r#"{"model": "reservoir", "network": {"neurons": 40}, "weights": {"std": 1.2},
            "reservoir": {"targets": [1, -0.5], "open_loop": {"time": 60},
                          "kicks": {"time": 30, "samples": 6, "random_starts": 2}},
            "ensemble": {"replicas": 5, "seed": 9}}"#,
    )
    .unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            c.to_str().unwrap(),
            "--backend",
            "cpu",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = hebbnet(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let a = run("a", &[]);
    let b = run("b", &["--batch", "2", "--threads", "1"]);
    for file in [
        "epochs.csv",
        "attractors.npy",
        "readout_series.npy",
        "spectrum.npy",
        "readout.npy",
    ] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// The precision of the relaxation does not reach the f64 results of Newton: the f32 run's
/// trained attractors are those of the f64 run.
#[test]
fn f32_relaxation_is_polished_to_the_f64_fixed_point() {
    let mut cpu = CpuBackend::new(1).unwrap();
    let mut c = config(json!({"weights": {"std": 1.4}}));
    let a = trained(&mut cpu, &c);
    c.backend.precision = Precision::F64;
    let b = trained(&mut cpu, &c);
    for (t, u) in a.iter().zip(&b) {
        assert!(common::max_diff(&t.attractors[0].state, &u.attractors[0].state) < 1e-9);
    }
}

/// The driven closed loop (rivkind_barak.md §5.4): logistic, two stable attractors with
/// different outliers; the lock-in |T_k(iω)| of N = 200 networks, averaged over replicas, is
/// within 12% of the theory's at the Euler map's s, and the two attractors differ (state-
/// dependent selectivity: at ω = 0.2 attractor 1's gain is twice attractor 2's).
#[test]
fn driven_response_follows_the_theory_per_attractor() {
    let c = config(json!({
        "network": {"neurons": 200, "activation": "siri", "gain": 0.5},
        "weights": {"std": 2.0},
        "backend": {"precision": "f64"},
        "ensemble": {"replicas": 4},
        "reservoir": {"targets": [-1.0, 1.5], "kicks": {"kinds": ["combined"]},
                      "response": {"frequencies": [0.2, 1.0], "time": 300, "transient": 60}}
    }));
    let mut cpu = CpuBackend::new(2).unwrap();
    let t = trained(&mut cpu, &c);
    let theory = hebbnet::theory::reservoir::predictions::solve(&c).unwrap();
    let mut gains = [[0.0; 2]; 2];
    for (k, row) in gains.iter_mut().enumerate() {
        for (f, &omega) in [0.2, 1.0].iter().enumerate() {
            let measured: f64 = t
                .iter()
                .map(|r| r.attractors[k].response[f].norm())
                .sum::<f64>()
                / t.len() as f64;
            let predicted =
                hebbnet::theory::reservoir::predictions::response_of_map(&theory, k, omega, 0.1)
                    .norm();
            assert!(
                (measured / predicted - 1.0).abs() < 0.12,
                "attractor {k}, ω = {omega}: {measured} vs {predicted}"
            );
            row[f] = measured;
        }
    }
    assert!(gains[0][0] > 1.8 * gains[1][0], "{gains:?}");
}

/// Three tanh targets (configs/rivkind2017/resonance.json at N = 200): the theory puts an
/// unstable real outlier at A = −2, a complex pair −0.07 ± 0.38i at A = −1 and a real −0.20 at
/// A = 3. Only the attractors the judge finds stable are driven (the others' T is NaN); where
/// A = −1 is stable its gain peaks near ω = 0.4, and A = 3 is a low-pass filter.
#[test]
fn only_stable_attractors_are_driven_and_a_complex_outlier_resonates() {
    let c = config(json!({
        "network": {"neurons": 200, "activation": "tanh"},
        "weights": {"std": 1.25},
        "backend": {"precision": "f64"},
        "ensemble": {"replicas": 4},
        "reservoir": {"targets": [-2.0, -1.0, 3.0], "kicks": {"kinds": ["combined"]},
                      "response": {"amplitude": 0.005, "frequencies": [0.05, 0.4],
                                   "time": 400, "transient": 100}}
    }));
    let mut cpu = CpuBackend::new(2).unwrap();
    let t = trained(&mut cpu, &c);
    let tolerance = c.reservoir.marginal_tolerance;
    let mut driven = [0; 3];
    let mut mean = [[0.0; 2]; 3];
    for r in &t {
        assert!(r.trained);
        for (k, a) in r.attractors.iter().enumerate() {
            let stable = a.is_stable(tolerance);
            for g in &a.response {
                assert_eq!(
                    g.norm().is_finite(),
                    stable,
                    "attractor {k}: {g}, stable {stable}"
                );
            }
            if stable {
                driven[k] += 1;
                for (f, g) in a.response.iter().enumerate() {
                    mean[k][f] += g.norm();
                }
            }
        }
    }
    assert_eq!(driven[0], 0, "A = −2 is unstable: {driven:?}");
    assert!(driven[1] >= 2 && driven[2] == 4, "{driven:?}");
    let m = |k: usize, f: usize| mean[k][f] / driven[k] as f64;
    assert!(
        m(1, 1) > 1.8 * m(1, 0),
        "A = −1 resonates: {mean:?} over {driven:?}"
    );
    assert!(
        m(2, 1) < 0.7 * m(2, 0),
        "A = 3 is low-pass: {mean:?} over {driven:?}"
    );
}

/// `hebbnet theory` lists every eigenvalue of L_k with K ≥ 2: for the bundled resonance, the
/// A = −1 attractor's complex pair (−0.072 ± 0.376i, the resonance) and a real third mode.
#[test]
fn theory_lists_every_eigenvalue_of_the_local_system() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/rivkind2017/resonance.json"
    );
    let out = hebbnet(&["theory", path, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let note = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "reservoir.outlier_real_2")
        .and_then(|p| p["note"].as_str())
        .expect("a note on attractor 2's outlier")
        .to_string();
    let eig: Vec<(f64, f64)> = note
        .split("eig L_k = ")
        .nth(1)
        .unwrap()
        .split(", ")
        .map(|z| {
            let z = z.trim_end_matches('i');
            let cut = z[1..].find(['+', '-']).unwrap() + 1;
            (z[..cut].parse().unwrap(), z[cut..].parse().unwrap())
        })
        .collect();
    assert_eq!(eig.len(), 3, "{note}");
    assert!(
        (eig[0].0 + 0.0721).abs() < 2e-3 && (eig[0].1 - 0.3762).abs() < 2e-3,
        "{note}"
    );
    assert!(
        eig[1].0 == eig[0].0 && eig[1].1 == -eig[0].1,
        "a conjugate pair: {note}"
    );
    assert!(eig[2].1 == 0.0 && eig[2].0 < eig[0].0, "{note}");
}
