//! What every figure shares: the bundled font, sizes, colours, the SVG + PNG rendering, and
//! small helpers for axes and NaN-broken lines.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::output::{commit, write_atomic};

/// DejaVu Sans (license in `assets/DejaVuSans.LICENSE`), registered as `sans-serif`: PNG text is
/// rasterised from it, and SVG viewers use their own sans-serif.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub const FONT: &str = "sans-serif";

/// Figure size in pixels (SVG user units and PNG pixels).
pub const SIZE: (u32, u32) = (1200, 800);

pub const TITLE_SIZE: u32 = 30;
pub const PANEL_TITLE_SIZE: u32 = 22;
pub const AXIS_SIZE: u32 = 22;
pub const TICK_SIZE: u32 = 18;
pub const LEGEND_SIZE: u32 = 18;

/// Okabe–Ito colours (distinguishable with colour-vision deficiencies).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(120, 120, 120), // grey
];
pub const BLUE: RGBColor = PALETTE[0];
pub const VERMILLION: RGBColor = PALETTE[1];
pub const GREY: RGBColor = RGBColor(110, 110, 110);

pub fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// A plotting failure, converted to [`Error::Output`] with the file it was writing.
pub struct DrawError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

pub type DrawResult = std::result::Result<(), DrawError>;

/// A chart with f64 axes.
pub type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A figure drawn the same way on the SVG and the PNG backend.
pub trait Figure {
    fn size(&self) -> (u32, u32) {
        SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::output(
            "assets/DejaVuSans.ttf",
            std::io::Error::other("the bundled font could not be loaded"),
        ))
    }
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &impl Figure) -> DrawResult {
    root.fill(&WHITE)?;
    fig.draw(&root)?;
    root.present()?;
    Ok(())
}

/// Write `DIR/STEM.svg` and `DIR/STEM.png` (each atomically) and return their paths.
pub fn render(fig: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    register_font()?;
    let size = fig.size();
    let failed = |path: &Path, e: DrawError| Error::output(path, std::io::Error::other(e.0));

    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    draw_on(
        SVGBackend::with_string(&mut svg, size).into_drawing_area(),
        fig,
    )
    .map_err(|e| failed(&svg_path, e))?;
    write_atomic(&svg_path, svg.as_bytes())?;

    let png_path = dir.join(format!("{stem}.png"));
    // The bitmap backend picks the encoder from the extension, hence `.tmp.png`.
    let tmp = dir.join(format!("{stem}.tmp.png"));
    if let Err(e) = draw_on(BitMapBackend::new(&tmp, size).into_drawing_area(), fig) {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed(&png_path, e));
    }
    commit(&tmp, &png_path)?;
    Ok(vec![svg_path, png_path])
}

/// `root` with the figure title on top (and a little space above it).
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> std::result::Result<DrawingArea<DB, Shift>, DrawError> {
    Ok(root.margin(10, 0, 0, 0).titled(title, font(TITLE_SIZE))?)
}

/// [`titled`], with the font shrunk (down to [`PANEL_TITLE_SIZE`]) until the title fits the
/// width.
pub fn titled_to_fit<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> std::result::Result<DrawingArea<DB, Shift>, DrawError> {
    let width = root.dim_in_pixel().0.saturating_sub(40);
    let mut size = TITLE_SIZE;
    while size > PANEL_TITLE_SIZE && root.estimate_text_size(title, &font(size))?.0 > width {
        size -= 1;
    }
    Ok(root.margin(10, 0, 0, 0).titled(title, font(size))?)
}

/// Tick label of a value axis: three significant digits, no trailing zeros.
pub fn number_tick(v: &f64) -> String {
    if *v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    s.replace('-', "−")
}

/// Tick label of an epoch axis: integers only (fractional ticks are left blank).
pub fn epoch_tick(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

/// The epoch axis range, widened when there is a single epoch.
pub fn epoch_range(epochs: &[f64]) -> std::ops::Range<f64> {
    let (lo, hi) = bounds(epochs.iter().copied()).unwrap_or((0.0, 1.0));
    if hi > lo {
        lo..hi
    } else {
        lo - 0.5..hi + 0.5
    }
}

/// Number of x tick labels for an epoch axis: at most one per epoch.
pub fn epoch_ticks(epochs: &[f64]) -> usize {
    let r = epoch_range(epochs);
    ((r.end - r.start).round() as usize + 1).clamp(2, 12)
}

/// Smallest and largest finite value.
pub fn bounds(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// `lo..hi` padded by `pad` of its width on both sides (never empty).
pub fn padded(lo: f64, hi: f64, pad: f64) -> std::ops::Range<f64> {
    let width = hi - lo;
    let margin = if width > 0.0 {
        width * pad
    } else {
        lo.abs().max(1.0) * 0.1
    };
    lo - margin..hi + margin
}

/// The pieces of a line between NaN values (a NaN breaks the line).
pub fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            out.last_mut().expect("never empty").push((x, y));
        } else if out.last().is_some_and(|s| !s.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The corner of the plot where a legend of `width` × `height` (fractions of the plot) hides
/// the fewest of `points` (given in plot fractions, 0 to 1 from the lower left). Upper right
/// wins ties.
pub fn legend_corner(
    points: impl IntoIterator<Item = (f64, f64)>,
    width: f64,
    height: f64,
) -> SeriesLabelPosition {
    let mut counts = [0usize; 4];
    for (u, v) in points {
        let right = u >= 1.0 - width;
        let left = u <= width;
        let top = v >= 1.0 - height;
        let bottom = v <= height;
        for (k, hit) in [right && top, left && top, left && bottom, right && bottom]
            .into_iter()
            .enumerate()
        {
            counts[k] += usize::from(hit);
        }
    }
    let best = (0..4).min_by_key(|&k| counts[k]).unwrap_or(0);
    [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::LowerRight,
    ][best]
        .clone()
}

/// Points along a polyline, `per_segment` per segment, so lines count in [`legend_corner`].
pub fn densify(line: &[(f64, f64)], per_segment: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(line.len() * per_segment + 1);
    for pair in line.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        for k in 0..per_segment {
            let t = k as f64 / per_segment as f64;
            out.push((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t));
        }
    }
    out.extend(line.last().copied());
    out
}

/// Where `v` lies in `range`, as a fraction.
pub fn fraction(v: f64, range: &std::ops::Range<f64>) -> f64 {
    (v - range.start) / (range.end - range.start)
}

/// Viridis colour map, `t` in [0, 1] (matplotlib's default; readable in grey scale).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (72, 40, 120),
        (62, 73, 137),
        (49, 104, 142),
        (38, 130, 142),
        (31, 158, 137),
        (53, 183, 121),
        (109, 205, 89),
        (180, 222, 44),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Diverging colour map for signed values, `t` in [−1, 1]: blue below 0, near-white at 0, red
/// above (ColorBrewer RdBu, reversed; readable with colour-vision deficiencies). NaN gives the
/// centre colour; callers draw NaN differently.
pub fn diverging(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 11] = [
        (5, 48, 97),
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
        (103, 0, 31),
    ];
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let x = (t + 1.0) / 2.0 * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_breaks_lines() {
        let s = segments(&[(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0), (3.0, 4.0)]);
        assert_eq!(s, vec![vec![(0.0, 1.0)], vec![(2.0, 3.0), (3.0, 4.0)]]);
        assert!(segments(&[(0.0, f64::NAN)]).is_empty());
    }

    #[test]
    fn legend_goes_where_the_data_is_not() {
        let falling = densify(&[(0.0, 1.0), (1.0, 0.0)], 20);
        assert!(matches!(
            legend_corner(falling, 0.3, 0.2),
            SeriesLabelPosition::UpperRight
        ));
        let rising = densify(&[(0.0, 0.0), (1.0, 1.0)], 20);
        assert!(matches!(
            legend_corner(rising, 0.3, 0.2),
            SeriesLabelPosition::UpperLeft
        ));
    }

    #[test]
    fn diverging_map_is_blue_white_red() {
        let (neg, zero, pos) = (diverging(-1.0), diverging(0.0), diverging(1.0));
        assert!(neg.2 > neg.0 && pos.0 > pos.2, "{neg:?} {pos:?}");
        assert_eq!(zero, RGBColor(247, 247, 247));
        assert_eq!(diverging(-7.0), neg);
        assert_eq!(diverging(f64::NAN), zero);
        // Symmetric in lightness: ±t are equally far from white.
        let light = |c: RGBColor| c.0 as i32 + c.1 as i32 + c.2 as i32;
        assert!((light(diverging(-0.5)) - light(diverging(0.5))).abs() < 60);
    }

    #[test]
    fn epoch_ticks_are_integers() {
        assert_eq!(epoch_tick(&3.0), "3");
        assert_eq!(epoch_tick(&2.5), "");
        assert_eq!(epoch_range(&[4.0]), 3.5..4.5);
        assert_eq!(number_tick(&100.0), "100");
        assert_eq!(number_tick(&0.25), "0.25");
        assert_eq!(number_tick(&-1.5), "−1.5");
        assert_eq!(number_tick(&0.000123), "0.000123");
    }
}
