//! The Lotito family's GPU kernel (src/model/lotito; `shaders/lotito_update.wgsl`): not yet
//! written — the CPU twin is [`crate::model::lotito::dynamics`].

use crate::backend::gpu::GpuBackend;
use crate::config::Precision;
use crate::error::{Error, Result};
use crate::model::lotito::{Batch, Trace};

/// Advance `batch` on the device.
pub fn run(_gpu: &mut GpuBackend, _precision: Precision, _batch: &Batch) -> Result<Vec<Trace>> {
    Err(Error::Gpu(
        "the lotito kernel is not written yet: use --backend cpu".into(),
    ))
}
