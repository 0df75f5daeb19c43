//! What the shared engine asks of a model family (docs/architecture.md).
//!
//! The engine — runs and sweeps, batching of replicas and of sweep points, atomic parts and
//! resume, shards and merge, the manifest — knows nothing of any model. It hands a family a batch
//! of [`Member`]s (a replica index and the config of its run or sweep point) and a backend; the
//! family advances them (its CPU twin or GPU kernels), measures them, and writes the batch's
//! arrays into the part through [`write_part_array`]; the engine then commits the rows the family
//! returns as the part's CSV, the completion marker. On merge the engine concatenates parts in
//! replica order, using only [`Family::columns`] and [`Family::arrays`], and asks the family for
//! its summaries.
//!
//! A family implements [`Family`] in `src/experiment/<family>.rs` and gets one arm in
//! [`family`]; its equations live in `src/model/<family>`, its kernels in `src/backend`, its
//! config sections in `src/config/<family>.rs` (selected by `"model"`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::Backend;
use crate::config::{Config, Model};
use crate::ensemble::EnsembleSpec;
use crate::error::{Error, Result};
use crate::{npy, output};

/// One replica of a batch: its index within its run or sweep point, and that run's or point's
/// config (members of one batch share everything but the parameters a sweep varies).
#[derive(Clone, Copy, Debug)]
pub struct Member<'a> {
    pub config: &'a Config,
    pub replica: u64,
}

/// An array a family writes, per replica: the shape of one replica's element as parts store it
/// (complex values as a trailing axis of 2), the dtype of the part files, and the dtype of the
/// merged file (complex pairs fold into `c16` there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayKind {
    pub shape: Vec<usize>,
    pub part_dtype: npy::Dtype,
    pub dtype: npy::Dtype,
}

impl ArrayKind {
    /// Real values of `dtype`, stored as they are in parts and merged file.
    pub fn real(shape: Vec<usize>, dtype: npy::Dtype) -> ArrayKind {
        ArrayKind {
            shape,
            part_dtype: dtype,
            dtype,
        }
    }

    /// Complex values of per-replica `shape`: (re, im) pairs of f64 in the parts (a trailing
    /// axis of 2), complex128 in the merged file.
    pub fn complex(mut shape: Vec<usize>) -> ArrayKind {
        shape.push(2);
        ArrayKind {
            shape,
            part_dtype: npy::Dtype::F64,
            dtype: npy::Dtype::C128,
        }
    }

    /// The per-replica shape of the merged file (complex pairs folded into one element).
    pub fn element_shape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        if self.dtype == npy::Dtype::C128 {
            s.pop();
        }
        s
    }
}

/// The interface of a model family to the shared engine.
pub trait Family: Send + Sync {
    /// The `"model"` value.
    fn name(&self) -> &'static str;

    /// Network size of a run of `config` (backend capacity and kernel choice depend on it).
    fn neurons(&self, config: &Config) -> usize;

    /// Time steps one replica advances (for throughput figures).
    fn steps_per_replica(&self, config: &Config) -> u64;

    /// One line for the log: what a replica of `config` does.
    fn describe(&self, config: &Config) -> String;

    /// Replicas of `config` one batch may hold on `backend`.
    fn batch_capacity(&self, config: &Config, backend: &dyn Backend) -> Result<usize> {
        backend.batch_capacity(self.neurons(config), config.backend.precision)
    }

    /// Sweep points whose replicas may share one batch have equal keys.
    fn batch_key(&self, config: &Config) -> String;

    /// Columns of the per-replica table (`epochs.csv` for the analog family), without the
    /// engine's leading columns (a sweep's point and axes).
    fn columns(&self) -> &'static [&'static str];

    /// Arrays a replica of `config` writes, in file order: stem → kind.
    fn arrays(&self, config: &Config) -> Vec<(String, ArrayKind)>;

    /// Run the `members` on `backend`, write their arrays into `parts` as `NAME.STEM.npy`
    /// ([`write_part_array`]), and return the table rows (each starting with
    /// `row_prefix(k)` for member `k`). The engine writes the rows last, as the part's marker.
    fn run_part(
        &self,
        backend: &mut dyn Backend,
        members: &[Member<'_>],
        parts: &Path,
        name: &str,
        row_prefix: &dyn Fn(usize) -> String,
    ) -> Result<String>;

    /// The run's summary file from its whole table (header included); by default the
    /// per-point summary with the whole run as one point, `run`.
    fn summarize(&self, table: &str) -> String {
        self.summarize_by(table, "run", &[])
    }

    /// Whether a row (its family columns, split at commas) is one a sweep summarises: one per
    /// replica (by default every row; the analog and BMS families: the final epoch's).
    fn is_summary_row(&self, _config: &Config, _fields: &[&str]) -> bool {
        true
    }

    /// The sweep's per-point summary from its summary rows (`group` the point column, `carry`
    /// the axis columns copied through).
    fn summarize_by(&self, rows: &str, group: &str, carry: &[&str]) -> String;
}

/// The family a config describes.
pub fn family(model: Model) -> Box<dyn Family> {
    match model {
        Model::Analog => Box::new(super::analog::Analog::default()),
        Model::Bms => Box::new(super::bms::Bms),
        Model::Jiang => Box::new(super::jiang::Jiang),
        Model::Lotito => Box::new(super::lotito::Lotito),
        Model::Reservoir => Box::new(super::reservoir::Reservoirs),
    }
}

/// Each distinct config of a batch with its ensemble.
pub type Ensembles<'a> = Vec<(&'a Config, EnsembleSpec)>;

/// One ensemble per distinct config among `members` (consecutive members of one run or sweep
/// point share it), and each member's index into that list.
pub fn ensembles_of<'a>(members: &[Member<'a>]) -> Result<(Ensembles<'a>, Vec<usize>)> {
    let mut ensembles: Vec<(&Config, EnsembleSpec)> = Vec::new();
    let mut of_member = Vec::with_capacity(members.len());
    for m in members {
        if !ensembles
            .last()
            .is_some_and(|(c, _)| std::ptr::eq(*c, m.config))
        {
            ensembles.push((m.config, EnsembleSpec::from_config(m.config)?));
        }
        of_member.push(ensembles.len() - 1);
    }
    Ok((ensembles, of_member))
}

/// Receives one member's element of an array, in order.
pub type Push<'a> = dyn FnMut(&[f64]) -> Result<()> + 'a;

/// Write one array of a part atomically: `parts/NAME.STEM.npy` of shape `(members, kind.shape…)`
/// in `kind.part_dtype`, filled by `fill`, which pushes each member's element in order.
pub fn write_part_array(
    parts: &Path,
    name: &str,
    stem: &str,
    kind: &ArrayKind,
    members: usize,
    fill: &mut dyn FnMut(&mut Push<'_>) -> Result<()>,
) -> Result<()> {
    let path = parts.join(format!("{name}.{stem}.npy"));
    let tmp = output::tmp_path(&path);
    let mut shape = vec![members];
    shape.extend(&kind.shape);
    let mut w = npy::Writer::create(&tmp, kind.part_dtype, &shape)?;
    fill(&mut |data: &[f64]| w.push(data).map_err(|e| Error::output(&tmp, e)))?;
    w.finish().map_err(|e| Error::output(&tmp, e))?;
    output::commit(&tmp, &path)
}

/// The arrays of `config` as a map (the sweep merges by stem).
pub fn arrays_by_stem(family: &dyn Family, config: &Config) -> BTreeMap<String, ArrayKind> {
    family.arrays(config).into_iter().collect()
}
