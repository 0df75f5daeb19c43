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

/// Serialise to pretty JSON and write atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::output(path, std::io::Error::other(e)))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}
