//! Files a run writes, always atomically (write to `NAME.tmp`, then rename), so a reader never
//! sees half a file and a killed run leaves only whole files behind.
//!
//! Layout of `--out DIR`:
//! - `manifest.json`: resolved config, seed, version, backend and adapter, wall times, status;
//! - `epochs.csv`: one row per replica × epoch ([`crate::analysis::EPOCH_COLUMNS`]);
//! - `weights.npy` (R, N, N), `input.npy` (R, N), `state.npy` (R, N) when requested;
//! - `parts/`: finished batches while the run is in progress (removed when it completes); a
//!   rerun with the same config resumes from them.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::output(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::output(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, e))
}

/// `path` with `.tmp` appended.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Rename a finished temporary file into place.
pub fn commit(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| Error::output(path, e))
}

/// `value` as a reader of its JSON text gets it back: a run's or a sweep's identity is compared
/// with what an earlier invocation wrote to disk, so it is compared as stored, never as computed.
/// (serde_json writes the shortest text that reads back to the same `f64` and, with its
/// `float_roundtrip` feature, reads it back exactly; this makes the comparison like with like
/// whatever the parser does with a 17-digit number such as a `geomspace` axis value.)
pub fn as_stored(value: &serde_json::Value) -> serde_json::Value {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| value.clone())
}

/// Serialise to pretty JSON and write atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::output(path, std::io::Error::other(e)))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Any finite `f64` written to disk and read back is the same number, so an identity
    /// compared as stored can never differ from the one on disk (issue: `geomspace` axes made
    /// every resume of the bundled phase sweep a "different sweep").
    #[test]
    fn every_finite_number_survives_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("numbers.json");
        // A deterministic spread of bit patterns: every exponent, scrambled mantissas.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut numbers = vec![
            0.1 + 0.2,
            1.0 / 3.0,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            -0.0,
        ];
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bits = (x & !(0x7ffu64 << 52)) | ((i % 2047) << 52);
            numbers.push(f64::from_bits(bits));
        }
        let value = json!({ "values": numbers });
        write_json(&path, &value).unwrap();
        let read: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let back: Vec<f64> = serde_json::from_value(read["values"].clone()).unwrap();
        for (a, b) in numbers.iter().zip(&back) {
            assert_eq!(a.to_bits(), b.to_bits(), "{a:e} read back as {b:e}");
        }
        assert_eq!(as_stored(&value), read);
    }
}
