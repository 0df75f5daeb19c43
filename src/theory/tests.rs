//! The report against known values (science.md §4) and its refusals.

use super::mean_field::SiriMeanField;
use super::*;
use crate::config::apply_override;

/// The embedded default (configs/siri2008.json) with `overrides`.
fn config(overrides: &[&str]) -> Config {
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    Config::load(None, &overrides).expect("a valid config")
}

fn find<'a>(predictions: &'a [Prediction], key: &str) -> &'a Prediction {
    predictions
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no {key} in {predictions:#?}"))
}

fn value(predictions: &[Prediction], key: &str) -> f64 {
    let p = find(predictions, key);
    p.value
        .number()
        .unwrap_or_else(|| panic!("{key} not available: {p:?}"))
}

fn reason(predictions: &[Prediction], key: &str) -> String {
    match &find(predictions, key).value {
        Quantity::NotAvailable(why) => why.clone(),
        Quantity::Number(v) => panic!("{key} = {v}, expected not available"),
    }
}

/// The current-form tanh network of science.md §4 with weights of std `sigma` and `gain`.
fn tanh_network(gain: f64, sigma: f64) -> Config {
    config(&[
        "network.form=current",
        "network.activation=tanh",
        &format!("network.gain={gain}"),
        &format!("weights.std={sigma}"),
        "weights.autapses=false",
        "learning.enabled=false",
        "input={}",
    ])
}

#[test]
fn tanh_network_known_values() {
    // science.md §4, to the printed 4 decimals.
    for &(g, delta, lambda) in &[
        (1.5, 0.7934, 0.0652),
        (2.0, 2.1215, 0.1547),
        (3.0, 6.3054, 0.3103),
    ] {
        let p = predictions::predictions(&tanh_network(1.0, g));
        assert!(
            (value(&p, "mean_field.delta") - delta).abs() < 6e-5,
            "g={g}"
        );
        let l = value(&p, "mean_field.largest_lyapunov");
        assert!((l - lambda).abs() < 6e-5, "g={g}: {l}");
        let chi = value(&p, "mean_field.chaos_indicator");
        assert!((0.5 * chi.ln() - l).abs() < 1e-14, "g={g}");
        // The critical coupling is 1, found by bisection; at this σ the critical gain is 1/σ.
        // Above 1 the indicator is 1 + O((g − 1)²) (chaos sets in continuously), so the
        // bisection's sign tests lose their meaning within ~√ε of g = 1: g_c is 1 to ~1e-8,
        // and the indicator there is 1 to rounding.
        let g_c = value(&p, "mean_field.critical_coupling");
        assert!((g_c - 1.0).abs() < 1e-7, "{g_c}");
        let at = (2.0 * super::mean_field::tanh_network_largest_lyapunov(g_c)).exp();
        assert!((at - 1.0).abs() < 1e-12, "{at}");
        let gain_c = value(&p, "mean_field.critical_gain");
        assert!((gain_c - 1.0 / g).abs() < 1e-7 / g, "{gain_c}");
        assert_eq!(value(&p, "mean_field.critical_weight_std"), g_c);
        assert!(find(&p, "mean_field.largest_lyapunov")
            .applies_to
            .contains("N → ∞"));
    }
    // Below the transition λ_max = ln g; at σ = 0, −∞ and no critical gain.
    let p = predictions::predictions(&tanh_network(1.0, 0.5));
    assert_eq!(value(&p, "mean_field.delta"), 0.0);
    assert_eq!(value(&p, "mean_field.largest_lyapunov"), 0.5f64.ln());
    let p = predictions::predictions(&tanh_network(1.0, 0.0));
    assert_eq!(value(&p, "mean_field.largest_lyapunov"), f64::NEG_INFINITY);
    assert!(reason(&p, "mean_field.critical_gain").contains("σ = 0"));
}

#[test]
fn tanh_gain_is_the_exact_rescaling() {
    // gain 2, σ = 0.75: h′ = 2h has unit gain and coupling g = 1.5.
    let p = predictions::predictions(&tanh_network(2.0, 0.75));
    assert_eq!(value(&p, "mean_field.coupling"), 1.5);
    let l = value(&p, "mean_field.largest_lyapunov");
    assert!((l - 0.0652).abs() < 6e-5, "{l}");
    assert!((value(&p, "mean_field.critical_weight_std") - 0.5).abs() < 1e-7);
    assert!(find(&p, "mean_field.delta").applies_to.contains("gain"));
}

#[test]
fn tanh_refuses_what_it_does_not_cover() {
    let cases: [(&[&str], &str); 5] = [
        (&["network.leak=0.1"], "requires a = 1"),
        (&["weights.mean=0.5"], "requires μ = 0"),
        (
            &["network.activation=relu"],
            "requires network.activation = tanh",
        ),
        (&["input.std=0.1"], "requires no input"),
        (&["network.threshold=0.2"], "requires no input"),
    ];
    for (extra, want) in cases {
        let mut c = tanh_network(1.0, 2.0);
        let mut tree = serde_json::to_value(&c).unwrap();
        for o in extra {
            apply_override(&mut tree, o).unwrap();
        }
        c = Config::from_value(tree).unwrap();
        let p = predictions::predictions(&c);
        for key in [
            "mean_field.delta",
            "mean_field.largest_lyapunov",
            "mean_field.critical_coupling",
        ] {
            let why = reason(&p, key);
            assert!(
                why.starts_with("not available") && why.contains(want),
                "{extra:?}: {why}"
            );
        }
    }
}

#[test]
fn siri_critical_values_make_the_indicator_one() {
    // The embedded default (g = 10, σ = 1, uniform input) and one with inhibition and a bias.
    for extra in [&[][..], &["weights.mean=-2", "network.threshold=0.05"][..]] {
        let c = config(extra);
        let p = predictions::predictions(&c);
        let params = SiriMeanField::from_config(&c).expect("applies");
        let sigma_c = value(&p, "mean_field.critical_weight_std");
        let at_sigma = SiriMeanField {
            weight_std: sigma_c,
            ..params
        }
        .chaos_indicator();
        assert!(
            (at_sigma - 1.0).abs() < 1e-9,
            "{extra:?}: σ_c = {sigma_c}: {at_sigma}"
        );
        let gain_c = value(&p, "mean_field.critical_gain");
        let at_gain = SiriMeanField {
            gain: gain_c,
            ..params
        }
        .chaos_indicator();
        assert!(
            (at_gain - 1.0).abs() < 1e-9,
            "{extra:?}: g_c = {gain_c}: {at_gain}"
        );
        // The other rows are the solver's.
        let s = params.solve().expect("solves");
        assert_eq!(value(&p, "mean_field.m"), s.m);
        assert_eq!(value(&p, "mean_field.q"), s.q);
        assert_eq!(value(&p, "mean_field.field_mean"), s.mean_field);
        assert_eq!(value(&p, "mean_field.field_variance"), s.variance);
        assert_eq!(value(&p, "mean_field.chaos_indicator"), s.chaos_indicator);
        assert_eq!(value(&p, "mean_field.largest_lyapunov"), s.largest_lyapunov);
        assert_eq!(
            value(&p, "mean_field.map_spectral_radius"),
            s.map_spectral_radius
        );
    }
    // Zero input and mean weight: the hyperbola σ_c g = K ≈ 5.0746 (mean-field tests).
    let c = config(&["input={}"]);
    let p = predictions::predictions(&c);
    let k = 10.0 * value(&p, "mean_field.critical_weight_std");
    assert!((k - 5.0746).abs() < 1e-3, "{k}");
    let k = value(&p, "mean_field.critical_gain") * 1.0;
    assert!((k - 5.0746).abs() < 1e-3, "{k}");
}

#[test]
fn siri_conditions_are_stated() {
    // The default learns for 25 epochs: W⁽⁰⁾ only; its input is uniform.
    let p = predictions::predictions(&config(&[]));
    let applies = &find(&p, "mean_field.largest_lyapunov").applies_to;
    assert!(applies.contains("W⁽⁰⁾ only"), "{applies}");
    assert!(applies.contains("uniform ξ"), "{applies}");
    assert!(find(&p, "mean_field.map_spectral_radius").note.is_some());
    let l = value(&p, "learning.random_bulk_radius");
    assert!((l - 0.9f64.powi(24)).abs() < 1e-15, "{l}");
    // One epoch of learning: the weights it measures are W⁽⁰⁾.
    let p = predictions::predictions(&config(&["schedule.epochs=1"]));
    assert!(!find(&p, "mean_field.m").applies_to.contains("W⁽⁰⁾"));

    let cases: [(&[&str], &str); 4] = [
        (&["network.leak=0.5"], "requires a = 1"),
        (
            &["network.activation=relu"],
            "requires network.activation = siri",
        ),
        (&["network.activation=tanh"], "(it is tanh)"),
        (&[r#"input={"distribution": "gaussian", "mean": 0.1}"#], ""),
    ];
    for (extra, want) in cases {
        let p = predictions::predictions(&config(extra));
        if want.is_empty() {
            assert!(value(&p, "mean_field.largest_lyapunov").is_finite());
            continue;
        }
        for row in p.iter().filter(|r| r.key.starts_with("mean_field.")) {
            let why = reason(&p, row.key);
            assert!(
                why.starts_with("not available") && why.contains(want),
                "{why}"
            );
        }
        // The circular law does not care about the neurons.
        assert_eq!(value(&p, "weights.spectral_radius"), 1.0);
    }
    // Sign-preserving learning has no closed form; strong mean weights have an outlier.
    let p = predictions::predictions(&config(&["learning.sign_preserving=true"]));
    assert!(reason(&p, "learning.random_bulk_radius").contains("sign_preserving"));
    assert!(reason(&p, "weights.outlier").starts_with("none"));
    let p = predictions::predictions(&config(&["weights.mean=-3"]));
    assert_eq!(value(&p, "weights.outlier"), -3.0);
    assert_eq!(value(&p, "weights.spectral_radius"), 3.0);
    // Strong inhibition: the solution is unstable for the population dynamics (ρ_T > 1), and
    // λ_max, σ²⟨f′²⟩ and the edges computed on such solutions say so.
    let p = predictions::predictions(&config(&["weights.mean=-8"]));
    assert!(value(&p, "mean_field.map_spectral_radius") > 1.0);
    for key in [
        "mean_field.largest_lyapunov",
        "mean_field.chaos_indicator",
        "mean_field.critical_weight_std",
        "mean_field.critical_gain",
    ] {
        let note = find(&p, key).note.clone().unwrap_or_default();
        assert!(note.contains("no attractor"), "{key}: {note}");
    }
}

#[test]
fn weights_from_a_file_are_not_predicted() {
    let mut c = config(&[]);
    c.weights.file = Some("w.npy".into());
    let p = predictions::predictions(&c);
    for row in &p {
        let why = reason(&p, row.key);
        assert!(why.contains("weights.file"), "{}: {why}", row.key);
    }
}

#[test]
fn numbers_for_people_and_for_json() {
    assert_eq!(format_number(0.152_324_1), "0.152324");
    assert_eq!(format_number(0.999_999_999_999_999_9), "1");
    assert_eq!(format_number(2.5), "2.5");
    assert_eq!(format_number(-1234.5678), "-1234.57");
    assert_eq!(format_number(1e-7), "1.00000e-7");
    assert_eq!(format_number(f64::NEG_INFINITY), "−∞");
    assert_eq!(format_number(0.0), "0");
    let p = Prediction {
        key: "k",
        name: "n",
        symbol: "s",
        value: Quantity::Number(f64::NEG_INFINITY),
        formula: "f",
        source: "src",
        applies_to: "always".into(),
        note: None,
    };
    let j = p.to_json();
    assert_eq!(j["value"], "-inf");
    assert_eq!(j["available"], true);
    assert!(j["reason"].is_null());
    let q = Prediction {
        value: Quantity::NotAvailable("why".into()),
        ..p
    };
    assert!(q.to_json()["value"].is_null());
    assert_eq!(q.to_json()["reason"], "why");
}

#[test]
fn sweep_report_has_the_planes_of_the_heat_maps() {
    let spec = serde_json::json!({
        "base": {"learning": {"enabled": false}, "schedule": {"epochs": 1},
                 "input": {"distribution": "gaussian"}},
        "axes": [
            {"key": "network.gain", "geomspace": [2, 16, 4]},
            {"key": "weights.std", "geomspace": [0.1, 4, 4]},
            {"key": "network.leak", "values": [1.0, 0.5]}
        ],
        "replicas": 1
    });
    let spec = SweepSpec::from_value(spec, None, &[]).expect("a valid spec");
    let report = Report::for_sweep(&spec, "inline");
    assert_eq!(report.critical_lines.len(), 2);
    let (a, b) = (&report.critical_lines[0], &report.critical_lines[1]);
    assert_eq!(a.fixed, vec![("network.leak".to_string(), 1.0)]);
    let Ok((legend, LineShape::Curves(curves))) = &a.line else {
        panic!("{a:?}");
    };
    assert_eq!(legend, "mean field: σ²⟨f′²⟩ = 1");
    assert!(!curves.is_empty());
    // The zero-input hyperbola σ g = K.
    for &(g, sigma) in curves.iter().flatten() {
        assert!((g * sigma - 5.0746).abs() < 1e-3, "({g}, {sigma})");
    }
    // The same call as the plane's own.
    let base = serde_json::to_value(&spec.base).unwrap();
    let plane = MeanFieldPlane::new(&base, &[("network.leak", 1.0)]);
    let direct = plane.critical_line(&PlaneAxis::of(&spec.axes[0]), &PlaneAxis::of(&spec.axes[1]));
    assert_eq!(curves, &direct);
    // a = 0.5: the theory does not apply, and says why.
    let why = b.line.as_ref().expect_err("leak 0.5");
    assert!(why.contains("network.leak = 0.5"), "{why}");
    let json = report.to_json();
    assert_eq!(json["critical_lines"][0]["x"], "network.gain");
    assert_eq!(json["critical_lines"][1]["available"], false);
    assert!(report
        .to_text()
        .contains("critical line over network.gain × weights.std"));
}

#[test]
fn two_populations_are_outside_the_gaussian_formulas() {
    let p = predictions::predictions(&config(&["weights.excitatory_fraction=0.8"]));
    for key in ["mean_field.chaos_indicator", "weights.spectral_radius"] {
        assert!(
            reason(&p, key).contains("weights.excitatory_fraction"),
            "{key}"
        );
    }
    // The same config with one population has them.
    let one = predictions::predictions(&config(&[]));
    assert!(value(&one, "mean_field.chaos_indicator") > 1.0);
}
