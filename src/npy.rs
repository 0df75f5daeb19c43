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

/// What a float32/float64 `.npy` holds, from its header, after checking that the file is long
/// enough for the data the header promises (a truncated file is refused without reading it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub shape: Vec<usize>,
    /// `<f4`, `>f8`, …
    pub descr: String,
}

/// Open a `.npy`, parse its header, check its dtype (float32 or float64) and that the file holds
/// all the data the header promises; the reader is left at the start of the data.
fn open_checked(path: &Path) -> Result<(Header, NpyFile<BufReader<File>>)> {
    use std::io::Seek;
    let file = File::open(path).map_err(|e| Error::input(path, format!("cannot open: {e}")))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::input(path, format!("cannot open: {e}")))?
        .len();
    let mut reader = BufReader::new(file);
    let not_npy = |e: std::io::Error| {
        Error::input(
            path,
            format!("not a readable .npy file ({e}); save it with numpy.save"),
        )
    };
    if let Some(shape) = raw_shape(&mut reader) {
        // npyz multiplies the dimensions without checking: refuse an overflowing shape first.
        if shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .is_none()
        {
            return Err(Error::input(
                path,
                format!("shape {shape:?} is larger than this machine can address"),
            ));
        }
    }
    reader.rewind().map_err(not_npy)?;
    let header = npyz::NpyHeader::from_reader(&mut reader).map_err(not_npy)?;
    let offset = reader.stream_position().map_err(not_npy)?;
    let descr = match header.dtype() {
        DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    };
    let item: u64 = match descr.as_str() {
        "<f8" | ">f8" => 8,
        "<f4" | ">f4" => 4,
        _ => {
            return Err(Error::input(
                path,
                format!(
                    "dtype {descr} is not supported: hebbnet reads float32 or float64 \
                     (convert with numpy.save(path, a.astype(numpy.float64)))"
                ),
            ))
        }
    };
    let shape: Vec<u64> = header.shape().to_vec();
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&e| usize::try_from(e).is_ok());
    let data_bytes = elements.and_then(|e| e.checked_mul(item));
    let Some(data_bytes) = data_bytes else {
        return Err(Error::input(
            path,
            format!("shape {shape:?} is larger than this machine can address"),
        ));
    };
    let held = file_len.saturating_sub(offset);
    if held < data_bytes {
        return Err(Error::input(
            path,
            format!(
                "truncated: the header promises shape {shape:?} of {descr} ({data_bytes} bytes of \
                 data) but the file holds {held}; write it again with numpy.save"
            ),
        ));
    }
    let shape = shape.iter().map(|&d| d as usize).collect();
    Ok((
        Header { shape, descr },
        NpyFile::with_header(header, reader),
    ))
}

/// The `shape` tuple of a `.npy` header, read leniently (`None` when it cannot be found; npyz
/// then reports what is wrong).
fn raw_shape(reader: &mut impl std::io::Read) -> Option<Vec<u64>> {
    let mut preamble = [0u8; 8];
    reader.read_exact(&mut preamble).ok()?;
    if &preamble[..6] != b"\x93NUMPY" {
        return None;
    }
    let len = if preamble[6] == 1 {
        let mut b = [0u8; 2];
        reader.read_exact(&mut b).ok()?;
        u16::from_le_bytes(b) as usize
    } else {
        let mut b = [0u8; 4];
        reader.read_exact(&mut b).ok()?;
        u32::from_le_bytes(b) as usize
    };
    let mut text = vec![0u8; len.min(1 << 20)];
    reader.read_exact(&mut text).ok()?;
    let text = String::from_utf8_lossy(&text);
    let after = &text[text.find("'shape'")? + "'shape'".len()..];
    let open = after.find('(')?;
    let close = after[open..].find(')')? + open;
    after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<u64>().ok())
        .collect()
}

/// The header of a float32/float64 `.npy` (see [`Header`]); reads no data.
pub fn header(path: &Path) -> Result<Header> {
    open_checked(path).map(|(h, _)| h)
}

/// Check a float32/float64 `.npy` completely without keeping it: its header (as [`header`]),
/// then every element, refusing NaN and infinities as [`read_finite`] does.
pub fn check_finite(path: &Path) -> Result<Header> {
    let (header, npy) = open_checked(path)?;
    let read_err =
        |e: std::io::Error| Error::input(path, format!("truncated or corrupt data: {e}"));
    let bad = |k: usize, x: f64| {
        Error::input(
            path,
            format!("element {k} is {x} (NaN or infinite values are not allowed)"),
        )
    };
    if header.descr.ends_with("f8") {
        let data = npy
            .data::<f64>()
            .map_err(|e| read_err(std::io::Error::other(e)))?;
        for (k, x) in data.enumerate() {
            let x = x.map_err(read_err)?;
            if !x.is_finite() {
                return Err(bad(k, x));
            }
        }
    } else {
        let data = npy
            .data::<f32>()
            .map_err(|e| read_err(std::io::Error::other(e)))?;
        for (k, x) in data.enumerate() {
            let x = x.map_err(read_err)?;
            if !x.is_finite() {
                return Err(bad(k, x as f64));
            }
        }
    }
    Ok(header)
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
        "|u1" => npy
            .into_vec::<u8>()
            .map_err(read_err)?
            .into_iter()
            .map(f64::from)
            .collect(),
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
    /// uint8 (0/1 rasters), written from values rounded to 0..=255.
    U8,
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
    U8(npyz::NpyWriter<u8, BufWriter<File>>),
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
            Dtype::U8 => WriterInner::U8(
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
            WriterInner::U8(w) => {
                self.written += values.len();
                w.extend(values.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8))
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
            WriterInner::U8(w) => w.finish(),
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
