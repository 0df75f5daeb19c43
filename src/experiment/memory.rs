//! Memory checks made before allocating, so a run too big is refused with its size named.

use crate::error::{Error, Result};

/// `MemAvailable` from `/proc/meminfo`, where the platform has it.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuse `bytes` for `what` if the machine does not have them available.
pub fn check_fits(bytes: u64, what: &str) -> Result<()> {
    if let Some(avail) = available_bytes() {
        if bytes > avail {
            return Err(Error::TooLarge(format!(
                "{what} needs {} but only {} of memory is available",
                human(bytes),
                human(avail)
            )));
        }
    }
    Ok(())
}

/// `1.5 GiB`-style sizes.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
