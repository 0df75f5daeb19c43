//! Outputs of every bundled config, the embedded default and the bundled sweep against files
//! produced by the previous release (issue 13: restructuring into model families must not change
//! a single number).
//!
//! Each case runs the CLI on the CPU backend with the config as shipped; runs use 2 replicas
//! (`--set ensemble.replicas=2`): a replica's results depend on the seed and its index only, so
//! the first two replicas of a shipped run are these two, computed by the same code. The sweep
//! runs as shipped. `tests/golden/<case>/golden.json` holds a 64-bit FNV-1a hash of every output
//! file but the manifest (which names the version and the time), and the small CSV files are
//! kept whole beside it, so a failure shows the first differing cell.
//!
//! **Regenerate** (only when a change of results is intended and explained in the commit), with
//! the binary of the release whose outputs are the reference:
//!
//! ```sh
//! HEBBNET_GOLDEN_WRITE=1 HEBBNET_GOLDEN_BIN=path/to/hebbnet cargo test --release --test golden
//! ```
//!
//! **Other CPUs.** The dense linear algebra (eigenvalues, the QR of the Lyapunov analysis) is
//! faer's, which picks SIMD kernels at run time; a machine whose x86 SIMD class differs from the
//! one that wrote the files (recorded in `golden.json`) may round differently in the last bits.
//! There the kept CSV files are compared cell by cell to a relative 1e-9 and the hashes of the
//! binary arrays are not required (the test says so on stderr); on the same class every byte must
//! match.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// One reference run: its name (a folder of `tests/golden`), the CLI arguments (with `{out}`
/// for the output directory), and the CSV files kept whole.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    kept: &'static [&'static str],
}

const RUN_CSV: &[&str] = &["epochs.csv", "summary.csv"];

const CASES: &[Case] = &[
    Case {
        name: "default",
        args: &["run", "--set", "ensemble.replicas=2"],
        kept: RUN_CSV,
    },
    Case {
        name: "siri2008",
        args: &[
            "run",
            "configs/siri2008.json",
            "--set",
            "ensemble.replicas=2",
        ],
        kept: RUN_CSV,
    },
    Case {
        name: "plain_dynamics",
        args: &[
            "run",
            "configs/plain_dynamics.json",
            "--set",
            "ensemble.replicas=2",
        ],
        kept: RUN_CSV,
    },
    Case {
        name: "lyapunov_spectrum",
        args: &["run", "configs/lyapunov_spectrum.json"],
        kept: RUN_CSV,
    },
    Case {
        name: "siri2008_forgetting",
        args: &[
            "run",
            "configs/siri2008/forgetting.json",
            "--set",
            "ensemble.replicas=2",
        ],
        kept: RUN_CSV,
    },
    Case {
        name: "siri2008_learning_route",
        args: &[
            "run",
            "configs/siri2008/learning_route.json",
            "--set",
            "ensemble.replicas=2",
        ],
        kept: RUN_CSV,
    },
    Case {
        name: "siri2008_saturation",
        args: &[
            "run",
            "configs/siri2008/saturation.json",
            "--set",
            "ensemble.replicas=2",
        ],
        kept: RUN_CSV,
    },
    Case {
        name: "siri2008_sensitivity",
        args: &[
            "run",
            "configs/siri2008/sensitivity.json",
            "--set",
            "ensemble.replicas=2",
        ],
        kept: RUN_CSV,
    },
    Case {
        name: "sweep_phase_g_sigma",
        args: &["sweep", "configs/sweeps/phase_g_sigma.json"],
        kept: &["points.csv"],
    },
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// 64-bit FNV-1a: stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The x86 SIMD features that decide which kernels faer (and hebbnet) pick.
fn simd_class() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let f = [
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ];
        f.iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join("+")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}

/// Runs `case` with `binary` into a fresh directory; the output files but the manifest.
fn run_case(binary: &Path, case: &Case, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = dir.join(case.name);
    let mut cmd = Command::new(binary);
    cmd.current_dir(root())
        .args(case.args)
        .args(["--backend", "cpu", "--quiet", "--out"])
        .arg(&out);
    let output = cmd.output().expect("run hebbnet");
    assert!(
        output.status.success(),
        "{}: {:?} failed:\n{}",
        case.name,
        case.args,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_file() && name != "manifest.json" && name != "sweep.json" {
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
    files
}

fn golden_dir(case: &Case) -> PathBuf {
    root().join("tests").join("golden").join(case.name)
}

fn write_golden(case: &Case, files: &BTreeMap<String, Vec<u8>>, binary: &Path) {
    let dir = golden_dir(case);
    std::fs::create_dir_all(&dir).unwrap();
    let hashes: BTreeMap<&String, String> = files.iter().map(|(n, b)| (n, fnv1a(b))).collect();
    let version = Command::new(binary).arg("--version").output().unwrap();
    let doc = json!({
        "args": case.args,
        "written_by": String::from_utf8_lossy(&version.stdout).trim(),
        "simd_class": simd_class(),
        "files": hashes,
    });
    std::fs::write(
        dir.join("golden.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
    for name in case.kept {
        std::fs::write(dir.join(name), &files[*name]).unwrap();
    }
}

/// First difference between two CSV texts, cells compared exactly, or (`tolerant`) numbers to
/// a relative 1e-9.
fn csv_difference(name: &str, want: &str, got: &str, tolerant: bool) -> Option<String> {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    if w.len() != g.len() {
        return Some(format!("{name}: {} lines, expected {}", g.len(), w.len()));
    }
    let header: Vec<&str> = w.first().map_or(Vec::new(), |h| h.split(',').collect());
    for (row, (wl, gl)) in w.iter().zip(&g).enumerate() {
        let (wc, gc): (Vec<&str>, Vec<&str>) = (wl.split(',').collect(), gl.split(',').collect());
        if wc.len() != gc.len() {
            return Some(format!(
                "{name} line {}: {} cells, expected {}",
                row + 1,
                gc.len(),
                wc.len()
            ));
        }
        for (col, (a, b)) in wc.iter().zip(&gc).enumerate() {
            let same = a == b
                || (tolerant
                    && match (a.parse::<f64>(), b.parse::<f64>()) {
                        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                        _ => false,
                    });
            if !same {
                let column = header.get(col).copied().unwrap_or("?");
                return Some(format!(
                    "{name} line {}, column {column}: {b}, expected {a}",
                    row + 1
                ));
            }
        }
    }
    None
}

#[test]
fn every_bundled_config_gives_the_outputs_of_the_previous_release() {
    let write = std::env::var_os("HEBBNET_GOLDEN_WRITE").is_some();
    let binary = std::env::var_os("HEBBNET_GOLDEN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_hebbnet")),
        PathBuf::from,
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in CASES {
        let files = run_case(&binary, case, tmp.path());
        if write {
            write_golden(case, &files, &binary);
            continue;
        }
        let dir = golden_dir(case);
        let golden: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap())
                .unwrap();
        let same_class = golden["simd_class"].as_str() == Some(simd_class().as_str());
        if !same_class {
            eprintln!(
                "{}: golden files written on {}, this machine is {}: CSV numbers compared to \
                 1e-9, array hashes not required",
                case.name,
                golden["simd_class"],
                simd_class()
            );
        }
        let want: BTreeMap<String, String> =
            serde_json::from_value(golden["files"].clone()).unwrap();
        let names_want: Vec<&String> = want.keys().collect();
        let names_got: Vec<&String> = files.keys().collect();
        if names_want != names_got {
            failures.push(format!(
                "{}: files {names_got:?}, expected {names_want:?}",
                case.name
            ));
            continue;
        }
        for (name, bytes) in &files {
            if fnv1a(bytes) == want[name] {
                continue;
            }
            if case.kept.contains(&name.as_str()) {
                let reference = std::fs::read_to_string(dir.join(name)).unwrap();
                let got = String::from_utf8_lossy(bytes);
                match csv_difference(name, &reference, &got, !same_class) {
                    Some(d) => failures.push(format!("{}: {d}", case.name)),
                    None if same_class => {
                        failures.push(format!("{}: {name} differs (hash)", case.name))
                    }
                    None => {}
                }
            } else if same_class {
                failures.push(format!("{}: {name} differs", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn csv_comparison_finds_the_first_differing_cell() {
    let a = "x,y\n1,2.0\n3,4.0\n";
    assert_eq!(csv_difference("f", a, a, false), None);
    let b = "x,y\n1,2.0\n3,4.000000000001\n";
    assert_eq!(
        csv_difference("f", a, b, false).as_deref(),
        Some("f line 3, column y: 4.000000000001, expected 4.0")
    );
    assert_eq!(csv_difference("f", a, b, true), None);
    assert!(csv_difference("f", a, "x,y\n1,2.0\n3,4.1\n", true).is_some());
    assert!(csv_difference("f", a, "x,y\n1,2.0\n", true).is_some());
    assert_eq!(fnv1a(b""), "cbf29ce484222325");
    assert_eq!(fnv1a(b"a"), "af63dc4c8601ec8c");
}
