//! The Jiang family's GPU kernel (src/model/jiang; `shaders/jiang_update.wgsl`).

use super::GpuBackend;
use crate::config::Precision;
use crate::error::{Error, Result};
use crate::model::jiang::{Batch, Trace};

/// `Backend::run_jiang` on the device.
pub fn run(_gpu: &mut GpuBackend, _precision: Precision, _batch: &Batch<'_>) -> Result<Vec<Trace>> {
    Err(Error::Gpu("the jiang GPU kernel is being written".into()))
}
