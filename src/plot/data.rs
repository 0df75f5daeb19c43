//! Reading a finished run directory for the figures: the manifest, `epochs.csv` and
//! `summary.csv` by column name, and the `.npy` arrays (float64 and complex128); and a sweep
//! directory: `sweep.json` and `points.csv`.
//!
//! A missing optional input is `None` (the figure is skipped with a note); a file that is
//! present but malformed is an [`Error::Input`] naming the file and the problem.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use npyz::{DType, NpyFile, Order};
use num_complex::Complex;
use serde_json::Value;

use crate::error::{Error, Result};

/// Per replica, `(epoch, value)` points sorted by epoch.
pub type PerReplica = BTreeMap<usize, Vec<(f64, f64)>>;

/// A finished run: its manifest and the two CSV tables.
pub struct Run {
    pub dir: PathBuf,
    pub manifest: Value,
    pub epochs: Table,
    pub summary: Table,
}

impl Run {
    /// Open `dir`, refusing anything that is not a finished `hebbnet run`.
    pub fn open(dir: &Path) -> Result<Run> {
        if !dir.is_dir() {
            return Err(Error::input(
                dir,
                "no such directory: give the --out directory of a finished `hebbnet run`",
            ));
        }
        let manifest_path = dir.join("manifest.json");
        if !manifest_path.is_file() {
            return Err(Error::input(
                dir,
                "not a hebbnet run directory (no manifest.json); make one with \
                 `hebbnet run --out DIR`",
            ));
        }
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| Error::input(&manifest_path, format!("cannot read: {e}")))?;
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| Error::input(&manifest_path, format!("not valid JSON: {e}")))?;
        match manifest.get("status").and_then(Value::as_str) {
            Some("complete") => {}
            status => {
                let status = status.unwrap_or("missing");
                return Err(Error::input(
                    dir,
                    format!(
                        "the run is not finished (manifest status: {status}); rerun the same \
                         `hebbnet run` command to resume and complete it, then plot"
                    ),
                ));
            }
        }
        let epochs = Table::read(&dir.join("epochs.csv"))?;
        let summary = Table::read(&dir.join("summary.csv"))?;
        // The Jiang family runs one epoch: its rows are (replica, initial condition) and its
        // summary has no epoch column.
        // The Lotito and reservoir families' rows are replicas, with no epoch column either.
        let model = manifest
            .get("config")
            .and_then(|c| c.get("model"))
            .and_then(Value::as_str);
        if model == Some("jiang") {
            epochs.require(&["replica", "condition"])?;
            summary.require(&[])?;
        } else if model == Some("lotito") || model == Some("reservoir") {
            epochs.require(&["replica"])?;
            summary.require(&[])?;
        } else {
            epochs.require(&["replica", "epoch"])?;
            summary.require(&["epoch"])?;
        }
        Ok(Run {
            dir: dir.to_path_buf(),
            manifest,
            epochs,
            summary,
        })
    }

    /// The run's resolved config (the manifest's `config`).
    pub fn config(&self) -> Result<crate::config::Config> {
        let value =
            self.manifest.get("config").cloned().ok_or_else(|| {
                Error::input(self.dir.join("manifest.json"), "no `config` object")
            })?;
        crate::config::Config::from_value(value)
    }

    /// A value of the resolved config, e.g. `config_str(&["network", "form"])`.
    pub fn config_value(&self, path: &[&str]) -> Option<&Value> {
        path.iter()
            .try_fold(self.manifest.get("config")?, |v, key| v.get(key))
    }

    /// Number of replicas R (from `epochs.csv`).
    pub fn replicas(&self) -> Result<usize> {
        Ok(self
            .epochs
            .usize_column("replica")?
            .iter()
            .max()
            .map_or(0, |&r| r + 1))
    }

    /// `(epoch, value)` per replica, sorted by epoch, for a column of `epochs.csv`; `None`
    /// when the column is absent.
    pub fn per_replica(&self, column: &str) -> Result<Option<PerReplica>> {
        let Some(values) = self.epochs.f64_column(column)? else {
            return Ok(None);
        };
        let replica = self.epochs.usize_column("replica")?;
        let epoch = self.epochs.usize_column("epoch")?;
        let mut out = PerReplica::new();
        for ((r, e), v) in replica.iter().zip(&epoch).zip(&values) {
            out.entry(*r).or_default().push((*e as f64, *v));
        }
        for line in out.values_mut() {
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Ok(Some(out))
    }

    /// The path of an array of the run, if the file exists.
    pub fn array_path(&self, name: &str) -> Option<PathBuf> {
        let path = self.dir.join(name);
        path.is_file().then_some(path)
    }
}

/// A CSV file with a header line, parsed by column name. Values are kept as text and parsed on
/// request, so a string column (`attractor`) costs nothing.
pub struct Table {
    pub path: PathBuf,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table> {
        if !path.is_file() {
            return Err(Error::input(
                path,
                "missing: the directory is not a complete hebbnet run",
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(path, format!("cannot read: {e}")))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Table> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header = lines
            .next()
            .ok_or_else(|| Error::input(path, "empty file (no header line)"))?;
        let columns: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
        let mut rows = Vec::new();
        for (k, line) in lines.enumerate() {
            let row: Vec<String> = line.split(',').map(|s| s.trim().to_string()).collect();
            if row.len() != columns.len() {
                return Err(Error::input(
                    path,
                    format!(
                        "line {}: {} fields, but the header has {} columns",
                        k + 2,
                        row.len(),
                        columns.len()
                    ),
                ));
            }
            rows.push(row);
        }
        Ok(Table {
            path: path.to_path_buf(),
            columns,
            rows,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The column names, in the order of the header.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c == name)
    }

    fn require(&self, names: &[&str]) -> Result<()> {
        for name in names {
            if !self.has(name) {
                return Err(Error::input(&self.path, format!("no `{name}` column")));
            }
        }
        if self.is_empty() {
            return Err(Error::input(&self.path, "no data rows"));
        }
        Ok(())
    }

    fn column<T>(
        &self,
        name: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(j) = self.columns.iter().position(|c| c == name) else {
            return Ok(None);
        };
        self.rows
            .iter()
            .enumerate()
            .map(|(k, row)| {
                parse(&row[j]).ok_or_else(|| {
                    Error::input(
                        &self.path,
                        format!(
                            "line {}, column `{name}`: `{}` is not {what}",
                            k + 2,
                            row[j]
                        ),
                    )
                })
            })
            .collect::<Result<Vec<T>>>()
            .map(Some)
    }

    /// A numeric column (`NaN`, `inf` and exponents accepted); `None` when absent.
    pub fn f64_column(&self, name: &str) -> Result<Option<Vec<f64>>> {
        self.column(name, "a number", |s| s.parse::<f64>().ok())
    }

    /// A numeric column that must be present (it was checked when the table was opened).
    pub fn usize_column(&self, name: &str) -> Result<Vec<usize>> {
        self.column(name, "a non-negative integer", |s| s.parse::<usize>().ok())?
            .ok_or_else(|| Error::input(&self.path, format!("no `{name}` column")))
    }
}

pub use crate::experiment::sweep::{Axis, Spacing, SWEEP_KIND};

/// A finished `hebbnet sweep` directory: `sweep.json` (the grid) and `points.csv` (one row per
/// grid point: the axis values, then the summary columns of the last epoch).
pub struct Sweep {
    pub dir: PathBuf,
    pub axes: Vec<Axis>,
    /// R, the replicas per point (`replicas` of `sweep.json`), when given.
    pub replicas: Option<usize>,
    /// The config every point starts from (before its axis values are set).
    pub base_config: Value,
    pub points: Table,
}

impl Sweep {
    /// Whether `dir` is meant as a sweep directory: it holds a `sweep.json` of kind
    /// `hebbnet-sweep`, or one that cannot be read as JSON (so that [`Sweep::open`] reports
    /// what is wrong with it). A `sweep.json` of another kind is not a sweep.
    pub fn is_sweep(dir: &Path) -> bool {
        let path = dir.join("sweep.json");
        if !path.is_file() {
            return false;
        }
        match std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            Some(v) => v.get("kind").and_then(Value::as_str) == Some(SWEEP_KIND),
            None => true,
        }
    }

    /// Open a sweep directory: `sweep.json` must have `kind`, `axes` (each with `key`,
    /// numeric `values` and `spacing`), `base_config`; `points.csv` a `point` column and one
    /// column per axis key.
    pub fn open(dir: &Path) -> Result<Sweep> {
        let path = dir.join("sweep.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::input(&path, format!("cannot read: {e}")))?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| Error::input(&path, format!("not valid JSON: {e}")))?;
        let bad = |message: String| Error::input(&path, message);
        if json.get("kind").and_then(Value::as_str) != Some(SWEEP_KIND) {
            return Err(bad(format!("`kind` is not \"{SWEEP_KIND}\"")));
        }
        let axes_json = json
            .get("axes")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad("`axes` must be a non-empty array".into()))?;
        let mut axes = Vec::with_capacity(axes_json.len());
        for (k, a) in axes_json.iter().enumerate() {
            let key = a
                .get("key")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| bad(format!("axes[{k}]: no `key` string")))?
                .to_string();
            let values = a
                .get("values")
                .and_then(Value::as_array)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad(format!("axis `{key}`: `values` must be a non-empty array")))?
                .iter()
                .map(|v| v.as_f64().filter(|x| x.is_finite()))
                .collect::<Option<Vec<f64>>>()
                .ok_or_else(|| {
                    bad(format!(
                        "axis `{key}`: the figures need numeric values (a heat map has numeric \
                         axes)"
                    ))
                })?;
            let spacing = match a.get("spacing").and_then(Value::as_str) {
                Some("linear") | None => Spacing::Linear,
                Some("log") => Spacing::Log,
                Some("list") => Spacing::List,
                Some(other) => {
                    return Err(bad(format!(
                        "axis `{key}`: spacing \"{other}\" (expected linear, log or list)"
                    )))
                }
            };
            if spacing == Spacing::Log && values.iter().any(|&v| v <= 0.0) {
                return Err(bad(format!(
                    "axis `{key}`: spacing \"log\" needs values > 0"
                )));
            }
            if values
                .iter()
                .enumerate()
                .any(|(k, v)| values[..k].contains(v))
            {
                return Err(bad(format!("axis `{key}`: a value appears twice")));
            }
            if axes.iter().any(|b: &Axis| b.key == key) {
                return Err(bad(format!("axis `{key}` appears twice")));
            }
            axes.push(Axis {
                key,
                values,
                spacing,
            });
        }
        let replicas = json
            .get("replicas")
            .and_then(Value::as_u64)
            .map(|r| r as usize);
        let base_config = json
            .get("base_config")
            .filter(|v| v.is_object())
            .cloned()
            .ok_or_else(|| bad("no `base_config` object".into()))?;
        let points = Table::read(&dir.join("points.csv"))?;
        let mut needed = vec!["point"];
        needed.extend(axes.iter().map(|a| a.key.as_str()));
        points.require(&needed)?;
        Ok(Sweep {
            dir: dir.to_path_buf(),
            axes,
            replicas,
            base_config,
            points,
        })
    }

    /// The numeric columns of `points.csv` that can be plotted: all but `point`, the axis
    /// keys and `replicas`.
    pub fn observables(&self) -> Vec<&str> {
        self.points
            .columns()
            .iter()
            .map(String::as_str)
            .filter(|c| *c != "point" && *c != "replicas" && !self.axes.iter().any(|a| a.key == *c))
            .collect()
    }

    /// For each row of `points.csv`, the index of its value on every axis; a value that is not
    /// on its axis, or a point given twice, is an [`Error::Input`].
    pub fn grid_indices(&self) -> Result<Vec<Vec<usize>>> {
        let mut columns = Vec::with_capacity(self.axes.len());
        for axis in &self.axes {
            columns.push(self.points.f64_column(&axis.key)?.ok_or_else(|| {
                Error::input(&self.points.path, format!("no `{}` column", axis.key))
            })?);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut rows = Vec::with_capacity(self.points.len());
        for row in 0..self.points.len() {
            let mut index = Vec::with_capacity(self.axes.len());
            for (axis, column) in self.axes.iter().zip(&columns) {
                let v = column[row];
                index.push(axis.index_of(v).ok_or_else(|| {
                    Error::input(
                        &self.points.path,
                        format!(
                            "line {}: {} = {v} is not one of the values of that axis in \
                             sweep.json",
                            row + 2,
                            axis.key
                        ),
                    )
                })?);
            }
            if !seen.insert(index.clone()) {
                return Err(Error::input(
                    &self.points.path,
                    format!("line {}: this grid point appears twice", row + 2),
                ));
            }
            rows.push(index);
        }
        Ok(rows)
    }

    /// The config of the point with these axis values: `base_config` with each `key=value`
    /// applied ([`crate::config::apply_override`]), parsed and validated.
    pub fn point_config(&self, values: &[(&str, f64)]) -> Result<crate::config::Config> {
        let mut tree = self.base_config.clone();
        for (key, v) in values {
            crate::config::apply_override(&mut tree, &format!("{key}={v}"))?;
        }
        let config = crate::config::Config::from_value(tree)?;
        config.validate()?;
        Ok(config)
    }
}

/// A float64 (or float32) array in C order, as `f64`.
pub use crate::npy::Array;

/// Read a real `.npy` array and check its number of dimensions.
pub fn read_real(path: &Path, ndim: usize, layout: &str) -> Result<Array> {
    let a = crate::npy::read(path)?;
    if a.shape.len() != ndim {
        return Err(Error::input(
            path,
            format!("shape {:?}: expected {ndim} dimensions {layout}", a.shape),
        ));
    }
    Ok(a)
}

/// The shape of a `uint8` (`|u1`) C-order `.npy` array with `ndim` dimensions, and
/// `len` of its elements from flat index `start` (read without loading the rest of the file).
pub fn read_u8_block(
    path: &Path,
    ndim: usize,
    layout: &str,
    block: impl FnOnce(&[usize]) -> (usize, usize),
) -> Result<(Vec<usize>, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let mut reader = BufReader::new(file);
    let header = npyz::NpyHeader::from_reader(&mut reader)
        .map_err(|e| Error::input(path, format!("not a readable .npy file ({e})")))?;
    let shape: Vec<usize> = header.shape().iter().map(|&d| d as usize).collect();
    if header.order() != Order::C {
        return Err(Error::input(
            path,
            "Fortran-ordered array: expected C order",
        ));
    }
    let descr = match header.dtype() {
        DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    };
    if descr != "|u1" {
        return Err(Error::input(
            path,
            format!("dtype {descr}: expected uint8 ('|u1')"),
        ));
    }
    if shape.len() != ndim {
        return Err(Error::input(
            path,
            format!("shape {shape:?}: expected {ndim} dimensions {layout}"),
        ));
    }
    let (start, len) = block(&shape);
    let total: usize = shape.iter().product();
    if start + len > total {
        return Err(Error::input(
            path,
            format!(
                "elements {start}..{} are outside shape {shape:?}",
                start + len
            ),
        ));
    }
    let read_err =
        |e: std::io::Error| Error::input(path, format!("truncated or corrupt data: {e}"));
    reader
        .seek(SeekFrom::Current(start as i64))
        .map_err(read_err)?;
    let mut data = vec![0u8; len];
    reader.read_exact(&mut data).map_err(read_err)?;
    Ok((shape, data))
}

/// A complex array in C order.
pub struct ComplexArray {
    pub shape: Vec<usize>,
    pub data: Vec<Complex<f64>>,
}

/// Read a complex128 (or complex64) `.npy` array in C order and check its number of dimensions.
pub fn read_complex(path: &Path, ndim: usize, layout: &str) -> Result<ComplexArray> {
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let npy = NpyFile::new(BufReader::new(file))
        .map_err(|e| Error::input(path, format!("not a readable .npy file ({e})")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() != Order::C {
        return Err(Error::input(
            path,
            "Fortran-ordered array: expected C order",
        ));
    }
    if shape.len() != ndim {
        return Err(Error::input(
            path,
            format!("shape {shape:?}: expected {ndim} dimensions {layout}"),
        ));
    }
    let descr = match npy.dtype() {
        DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    };
    let read_err =
        |e: std::io::Error| Error::input(path, format!("truncated or corrupt data: {e}"));
    let data = match descr.as_str() {
        "<c16" | ">c16" => npy.into_vec::<Complex<f64>>().map_err(read_err)?,
        "<c8" | ">c8" => npy
            .into_vec::<Complex<f32>>()
            .map_err(read_err)?
            .into_iter()
            .map(|z| Complex::new(f64::from(z.re), f64::from(z.im)))
            .collect(),
        _ => {
            return Err(Error::input(
                path,
                format!("dtype {descr}: expected complex128 ('<c16')"),
            ))
        }
    };
    Ok(ComplexArray { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_by_header_name() {
        let t = Table::parse(
            Path::new("x.csv"),
            "replica,epoch,attractor,lyapunov_max\n0,0,chaotic,0.25\n0,1,fixed_point,NaN\n1,0,periodic,-1e-7\n",
        )
        .unwrap();
        assert_eq!(t.len(), 3);
        let l = t.f64_column("lyapunov_max").unwrap().unwrap();
        assert_eq!(l[0], 0.25);
        assert!(l[1].is_nan());
        assert_eq!(l[2], -1e-7);
        assert!(t.f64_column("susceptibility").unwrap().is_none());
        assert!(t.f64_column("attractor").is_err());
        assert_eq!(t.usize_column("replica").unwrap(), vec![0, 0, 1]);
    }

    #[test]
    fn ragged_rows_are_refused() {
        let err = Table::parse(Path::new("x.csv"), "a,b\n1,2\n3\n")
            .err()
            .unwrap();
        assert!(err.to_string().contains("line 3"), "{err}");
    }
}
