//! The BMS spiking family's GPU kernels (src/model/bms; `shaders/bms_update.wgsl`).

use crate::backend::gpu::GpuBackend;
use crate::config::Precision;
use crate::error::{Error, Result};
use crate::model::bms::{Batch, Trace};

/// Advance `batch` on the device (see the module doc).
pub(crate) fn run(
    backend: &mut GpuBackend,
    precision: Precision,
    batch: &Batch<'_>,
) -> Result<Vec<Trace>> {
    let _ = (backend, precision, batch);
    Err(Error::config(
        "backend",
        "the BMS GPU kernel is not built yet; use --backend cpu",
    ))
}
