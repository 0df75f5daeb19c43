//! IEEE 754 binary16 ("f16") conversions for `backend.weight_storage = "f16"`.
//!
//! With f16 storage the local field uses `W` rounded to f16, `u_i = b_i + Σ_j f16(W_ij) s_j`,
//! with the products and sums still in f32; the Hebbian update keeps an f32 master copy of `W`
//! and the f16 copy is refreshed from it after every update (so updates smaller than half an f16
//! ulp still accumulate in the master).
//!
//! The rounding is IEEE round-to-nearest, ties to even, with f16 subnormals kept (magnitudes
//! down to 2⁻²⁴ ≈ 6e-8), magnitudes from 65520 up to ±∞ and NaN kept NaN — what
//! `half::f16::from_f32` and hardware conversions in round-to-nearest mode do. It is written out
//! with integer operations, here and in `shaders/pack_weights.wgsl` (`f16_bits`), because WGSL
//! and Vulkan leave the rounding mode of f32 → f16 conversions to the implementation (round to
//! nearest or toward zero): integer code gives the same bits on every driver, so the CPU and GPU
//! backends use the same f16 weights. Decoding (f16 → f32) is exact.

/// The f16 bit pattern nearest to `x` (ties to even).
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = (b >> 16) & 0x8000;
    let exp = (b >> 23) & 0xff;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        // ±∞ stays ±∞; NaN stays a (quiet) NaN.
        let nan = if man != 0 { 0x200 | (man >> 13) } else { 0 };
        return (sign | 0x7c00 | nan) as u16;
    }
    // f16 biased exponent: exp − 127 + 15.
    let e = exp as i32 - 112;
    if e >= 31 {
        return (sign | 0x7c00) as u16;
    }
    if e <= 0 {
        // Subnormal f16 (or zero): value = k · 2⁻²⁴ with k = M · 2^(e − 14), M the 24-bit
        // significand. Below 2⁻²⁵ (shift > 24) everything rounds to zero.
        let shift = (14 - e) as u32;
        if shift > 24 {
            return sign as u16;
        }
        let m = man | 0x80_0000;
        let mut k = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let mid = 1 << (shift - 1);
        if rem > mid || (rem == mid && k & 1 == 1) {
            k += 1; // may carry into the exponent field: the smallest normal, correctly
        }
        return (sign | k) as u16;
    }
    let mut h = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    if rem > 0x1000 || (rem == 0x1000 && h & 1 == 1) {
        h += 1; // a carry out of the significand bumps the exponent (up to ∞ at 65520)
    }
    (sign | h) as u16
}

/// The f32 value of an f16 bit pattern (exact).
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let man = h & 0x3ff;
    match exp {
        0 => {
            // k · 2⁻²⁴, exact in f32.
            let v = man as f32 * f32::from_bits(0x3380_0000);
            if sign != 0 {
                -v
            } else {
                v
            }
        }
        31 => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// `x` rounded to the nearest f16, as an f32.
#[inline]
pub fn round_to_f16(x: f32) -> f32 {
    f16_bits_to_f32(f32_to_f16_bits(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_f16_decodes_and_encodes_back_to_itself() {
        for h in 0..=u16::MAX {
            let v = f16_bits_to_f32(h);
            let reference = half::f16::from_bits(h).to_f32();
            if v.is_nan() {
                // NaN payloads are not specified (the half crate quiets signalling NaNs).
                assert!(reference.is_nan());
                assert!(f16_bits_to_f32(f32_to_f16_bits(v)).is_nan());
            } else {
                assert_eq!(v.to_bits(), reference.to_bits(), "{h:#06x}");
                assert_eq!(f32_to_f16_bits(v), h, "{h:#06x}");
            }
        }
    }

    /// Every non-negative f32 up to 2¹⁷ (beyond it, everything is +∞), plus a stride through
    /// the rest of the bit patterns (negative values, ∞, NaN), against the `half` crate.
    #[test]
    fn rounding_matches_the_half_crate_on_every_relevant_f32() {
        let reference = |x: f32| half::f16::from_f32(x).to_bits();
        for b in 0..=0x4800_0000u32 {
            let x = f32::from_bits(b);
            assert_eq!(f32_to_f16_bits(x), reference(x), "{x:e} ({b:#010x})");
        }
        for b in (0..=u32::MAX).step_by(4099) {
            let x = f32::from_bits(b);
            let (mine, theirs) = (f32_to_f16_bits(x), reference(x));
            if x.is_nan() {
                assert!(f16_bits_to_f32(mine).is_nan() && f16_bits_to_f32(theirs).is_nan());
            } else {
                assert_eq!(mine, theirs, "{x:e} ({b:#010x})");
            }
        }
    }

    #[test]
    fn hand_picked_cases() {
        let ulp1 = 2f32.powi(-10);
        assert_eq!(round_to_f16(1.0 + ulp1 / 2.0), 1.0); // tie → even (1.0)
        assert_eq!(round_to_f16(1.0 + 1.5 * ulp1), 1.0 + 2.0 * ulp1); // tie → even
        assert_eq!(round_to_f16(65504.0), 65504.0);
        assert_eq!(round_to_f16(65519.99), 65504.0);
        assert_eq!(round_to_f16(65520.0), f32::INFINITY);
        assert_eq!(round_to_f16(-1e9), f32::NEG_INFINITY);
        assert_eq!(round_to_f16(2f32.powi(-25)), 0.0); // half the smallest subnormal: tie → 0
        assert_eq!(round_to_f16(2f32.powi(-25) * 1.0001), 2f32.powi(-24));
        assert_eq!(round_to_f16(3.0 * 2f32.powi(-25)), 2.0 * 2f32.powi(-24)); // tie → even
        assert_eq!(round_to_f16(-0.0).to_bits(), (-0.0f32).to_bits());
        assert!(round_to_f16(f32::NAN).is_nan());
        // Relative rounding error is at most 2⁻¹¹ in the normal range.
        let x = 0.123_456_79f32;
        assert!(((round_to_f16(x) - x) / x).abs() <= 2f32.powi(-11));
    }
}
