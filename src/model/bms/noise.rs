//! The noise `B_i(t)` of the BMS network: one counter-based stream per replica, the same numbers
//! on every backend.
//!
//! `B_i(t)` is the standard normal of the Box–Muller transform of the first two words of
//! Philox4x32-10 (Salmon et al., SC'11) at counter `(t, i, stream, replica)` under key
//! `(seed_lo, seed_hi)`: a pure function of the seed, the replica, the trajectory's stream
//! (its initial condition; an ε-twin shares its original's) and `(t, i)` — never of the backend,
//! the batch or the thread that computes it. `shaders/bms_common.wgsl` holds the WGSL twin;
//! the GPU evaluates Box–Muller in `f32`, so its normals equal these to ~1e-7 relative (the
//! integer words are identical).

/// Philox4x32 multipliers and Weyl key increments.
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32-10 of `counter` under `key`.
pub fn philox(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// Where a trajectory's noise comes from (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoiseStream {
    pub seed: u64,
    /// The replica's index (below 2³²: `ensemble.replicas` is validated).
    pub replica: u64,
    /// The initial condition within the replica.
    pub stream: u32,
}

impl NoiseStream {
    /// `(seed_lo, seed_hi)`.
    pub fn key(&self) -> [u32; 2] {
        [self.seed as u32, (self.seed >> 32) as u32]
    }

    /// `B_i(t)`, standard normal: `√(−2 ln u₁) cos(2π u₂)` with `u₁ = (x₀ >> 8 + 1) 2⁻²⁴ ∈ (0, 1]`
    /// and `u₂ = (x₁ >> 8) 2⁻²⁴` from the Philox words `x`.
    pub fn normal(&self, t: u64, i: usize) -> f64 {
        let x = philox(
            [t as u32, i as u32, self.stream, self.replica as u32],
            self.key(),
        );
        let (u1, u2) = uniforms(x);
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The two uniforms of the Box–Muller transform, exactly representable in `f32` (24 bits).
pub fn uniforms(x: [u32; 4]) -> (f64, f64) {
    const SCALE: f64 = 1.0 / (1u32 << 24) as f64;
    (
        f64::from((x[0] >> 8) + 1) * SCALE,
        f64::from(x[1] >> 8) * SCALE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10).
    #[test]
    fn philox_matches_the_random123_known_answers() {
        assert_eq!(
            philox([0; 4], [0; 2]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn normals_have_unit_moments_and_depend_on_every_coordinate() {
        let s = NoiseStream {
            seed: 7,
            replica: 3,
            stream: 0,
        };
        let n = 200_000;
        let (mut m1, mut m2) = (0.0, 0.0);
        for k in 0..n {
            let z = s.normal(k as u64 / 100, k % 100);
            m1 += z;
            m2 += z * z;
        }
        let (mean, var) = (m1 / n as f64, m2 / n as f64 - (m1 / n as f64).powi(2));
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
        let base = s.normal(5, 9);
        assert_eq!(base, s.normal(5, 9));
        for other in [
            NoiseStream { seed: 8, ..s },
            NoiseStream { replica: 4, ..s },
            NoiseStream { stream: 1, ..s },
        ] {
            assert_ne!(base, other.normal(5, 9));
        }
        assert_ne!(base, s.normal(6, 9));
        assert_ne!(base, s.normal(5, 10));
    }
}
