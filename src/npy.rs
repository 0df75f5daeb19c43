//! `.npy` files NumPy reads and writes, via `npyz`: typed loading with clear errors, and a
//! streaming writer so an (R, N, N) array is written batch by batch without holding it whole.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use npyz::{DType, NpyFile, Order, WriterBuilder};

use crate::error::{Error, Result};

/// An array loaded from `.npy`, converted to `f64`, in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Load a user's float32/float64 `.npy` as `f64`, refusing NaN and infinities.
pub fn read_finite(path: &Path) -> Result<Array> {
    let a = read(path)?;
    if let Some(bad) = a.data.iter().position(|x| !x.is_finite()) {
        return Err(Error::input(
            path,
            format!(
                "element {bad} is {} (NaN or infinite values are not allowed)",
                a.data[bad]
            ),
        ));
    }
    Ok(a)
}

/// Load a float32/float64 `.npy` (either byte order, C or Fortran order) as `f64`.
pub fn read(path: &Path) -> Result<Array> {
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let npy = NpyFile::new(BufReader::new(file)).map_err(|e| {
        Error::input(
            path,
            format!("not a readable .npy file ({e}); save it with numpy.save"),
        )
    })?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let order = npy.order();
    let descr = match npy.dtype() {
        DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    };
    let bad_dtype = || {
        Error::input(
            path,
            format!(
                "dtype {descr} is not supported: hebbnet reads float32 or float64 \
                 (convert with numpy.save(path, a.astype(numpy.float64)))"
            ),
        )
    };
    let read_err =
        |e: std::io::Error| Error::input(path, format!("truncated or corrupt data: {e}"));
    let data: Vec<f64> = match descr.as_str() {
        "<f8" | ">f8" => npy.into_vec::<f64>().map_err(read_err)?,
        "<f4" | ">f4" => npy
            .into_vec::<f32>()
            .map_err(read_err)?
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => return Err(bad_dtype()),
    };
    let data = match order {
        Order::C => data,
        Order::Fortran => fortran_to_c(&shape, &data),
    };
    Ok(Array { shape, data })
}

fn fortran_to_c(shape: &[usize], data: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; data.len()];
    let mut index = vec![0usize; shape.len()];
    for (c_pos, slot) in out.iter_mut().enumerate() {
        // decompose the C position into an index, then recompose in Fortran order
        let mut rem = c_pos;
        for d in (0..shape.len()).rev() {
            index[d] = rem % shape[d];
            rem /= shape[d];
        }
        let mut f_pos = 0;
        for d in (0..shape.len()).rev() {
            f_pos = f_pos * shape[d] + index[d];
        }
        *slot = data[f_pos];
    }
    out
}

/// Element type of a written array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    /// complex128, written from (re, im) pairs.
    C128,
}

/// Writes one C-order array of a known shape, appended in pieces.
pub struct Writer {
    inner: WriterInner,
    expected: usize,
    written: usize,
}

enum WriterInner {
    F32(npyz::NpyWriter<f32, BufWriter<File>>),
    F64(npyz::NpyWriter<f64, BufWriter<File>>),
    C128(npyz::NpyWriter<num_complex::Complex<f64>, BufWriter<File>>),
}

impl Writer {
    pub fn create(path: &Path, dtype: Dtype, shape: &[usize]) -> Result<Writer> {
        let file = File::create(path).map_err(|e| Error::output(path, e))?;
        let shape64: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let out = BufWriter::new(file);
        let inner = match dtype {
            Dtype::F32 => WriterInner::F32(
                npyz::WriteOptions::new()
                    .default_dtype()
                    .shape(&shape64)
                    .writer(out)
                    .begin_nd()
                    .map_err(|e| Error::output(path, e))?,
            ),
            Dtype::F64 => WriterInner::F64(
                npyz::WriteOptions::new()
                    .default_dtype()
                    .shape(&shape64)
                    .writer(out)
                    .begin_nd()
                    .map_err(|e| Error::output(path, e))?,
            ),
            Dtype::C128 => WriterInner::C128(
                npyz::WriteOptions::new()
                    .default_dtype()
                    .shape(&shape64)
                    .writer(out)
                    .begin_nd()
                    .map_err(|e| Error::output(path, e))?,
            ),
        };
        Ok(Writer {
            inner,
            expected: shape.iter().product(),
            written: 0,
        })
    }

    /// Append elements (converted to the file's dtype; f64 → f32 rounds to nearest; a complex
    /// file takes (re, im) pairs).
    pub fn push(&mut self, values: &[f64]) -> std::io::Result<()> {
        match &mut self.inner {
            WriterInner::F32(w) => {
                self.written += values.len();
                w.extend(values.iter().map(|&v| v as f32))
            }
            WriterInner::F64(w) => {
                self.written += values.len();
                w.extend(values.iter().copied())
            }
            WriterInner::C128(w) => {
                self.written += values.len() / 2;
                w.extend(
                    values
                        .chunks_exact(2)
                        .map(|p| num_complex::Complex::new(p[0], p[1])),
                )
            }
        }
    }

    pub fn finish(self) -> std::io::Result<()> {
        if self.written != self.expected {
            return Err(std::io::Error::other(format!(
                "wrote {} elements into an array of {}",
                self.written, self.expected
            )));
        }
        match self.inner {
            WriterInner::F32(w) => w.finish(),
            WriterInner::F64(w) => w.finish(),
            WriterInner::C128(w) => w.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fortran_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let mut w = Writer::create(&p, Dtype::F64, &[2, 3]).unwrap();
        w.push(&[1.0, 2.0, 3.0]).unwrap();
        w.push(&[4.0, 5.0, 6.0]).unwrap();
        w.finish().unwrap();
        let a = read(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // Fortran data of [[1,2,3],[4,5,6]] is 1,4,2,5,3,6.
        assert_eq!(
            fortran_to_c(&[2, 3], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
    }

    #[test]
    fn wrong_dtype_and_garbage_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.npy");
        npyz::to_file_1d(&p, vec![1i32, 2, 3]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("dtype <i4 is not supported"), "{e}");
        let g = dir.path().join("g.npy");
        std::fs::write(&g, b"not numpy").unwrap();
        let e = read(&g).unwrap_err().to_string();
        assert!(e.contains("not a readable .npy file"), "{e}");
        let e = read(&dir.path().join("missing.npy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot open"), "{e}");
    }
}
