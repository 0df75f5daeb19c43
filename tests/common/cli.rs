//! Running the `hebbnet` binary from the integration tests, and checking the figures it
//! writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `hebbnet ARGS` with its own `XDG_RUNTIME_DIR` (wgpu's loader wants one).
pub fn hebbnet(args: &[&str], runtime_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebbnet"))
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .output()
        .expect("the hebbnet binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The standard output of a command that must have succeeded (else its stderr in the panic).
pub fn ok(out: &Output, what: &str) -> String {
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed: {}\n{stdout}",
        text(&out.stderr)
    );
    stdout
}

/// A temporary directory and a runtime directory inside it.
pub fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("xdg");
    std::fs::create_dir_all(&runtime).unwrap();
    (tmp, runtime)
}

/// A bundled config, `configs/DIR/NAME.json`, as JSON.
pub fn bundled(dir: &str, name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(dir)
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Cut a sweep spec's axes to `values` (one list per axis, in axis order), in place of their
/// `linspace` or `geomspace`.
pub fn set_axis_values(spec: &mut serde_json::Value, values: &[serde_json::Value]) {
    let axes = spec["axes"].as_array_mut().expect("a sweep spec has axes");
    for (axis, v) in axes.iter_mut().zip(values) {
        let object = axis.as_object_mut().expect("an axis is an object");
        object.remove("linspace");
        object.remove("geomspace");
        object.insert("values".into(), v.clone());
    }
}

/// `DIR/STEM.svg` holds each of `svg_text`; `DIR/STEM.png` is a PNG of at least 1200×500.
pub fn check_figure(dir: &Path, stem: &str, svg_text: &[&str]) {
    let svg_path = dir.join(format!("{stem}.svg"));
    let svg = std::fs::read_to_string(&svg_path)
        .unwrap_or_else(|e| panic!("{}: {e}", svg_path.display()));
    assert!(svg.starts_with("<svg"), "{stem}.svg is not an SVG");
    for want in svg_text {
        assert!(svg.contains(want), "{stem}.svg has no text `{want}`");
    }
    let png_path = dir.join(format!("{stem}.png"));
    let png = std::fs::read(&png_path).unwrap_or_else(|e| panic!("{}: {e}", png_path.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{stem}.png has no PNG signature"
    );
    assert!(png.len() > 10_000, "{stem}.png is only {} bytes", png.len());
    // The IHDR chunk: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        width >= 1200 && height >= 500,
        "{stem}.png is {width}×{height}"
    );
}
