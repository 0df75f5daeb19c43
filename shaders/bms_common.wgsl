// The BMS noise B_i(t): Philox4x32-10 and the Box–Muller transform, the WGSL twin of
// src/model/bms/noise.rs. The integer words equal the CPU's exactly (WGSL has no u64, so the
// 32×32 → 64-bit products are built from 16-bit halves); Box–Muller runs in f32, so the normals
// equal the CPU's f64 ones rounded to f32 only to a few ulps (the driver's log/sin/cos).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The high 32 bits of the 64-bit product a·b (the low ones are the wrapping a * b).
fn mulhi32(a: u32, b: u32) -> u32 {
    let a0 = a & 0xFFFFu;
    let a1 = a >> 16u;
    let b0 = b & 0xFFFFu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Bits 16..47 of the product: each term < 2^16, so the sum < 3·2^16 (no overflow).
    let mid = (p00 >> 16u) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
    return p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// One Philox round: c ← (hi(M1·c₂) ⊕ c₁ ⊕ k₀, lo(M1·c₂), hi(M0·c₀) ⊕ c₃ ⊕ k₁, lo(M0·c₀)).
fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    return vec4<u32>(
        mulhi32(PHILOX_M1, c.z) ^ c.y ^ k.x,
        PHILOX_M1 * c.z,
        mulhi32(PHILOX_M0, c.x) ^ c.w ^ k.y,
        PHILOX_M0 * c.x,
    );
}

// Philox4x32-10 of `counter` under `key` (noise.rs `philox`). The ten rounds are written out:
// no loop, so no back-edges count against lavapipe's loop cap.
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let w = vec2<u32>(PHILOX_W0, PHILOX_W1);
    var k = key;
    var c = philox_round(counter, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    c = philox_round(c, k);
    k += w;
    return philox_round(c, k);
}

// The standard normal of the Philox words x (noise.rs `NoiseStream::normal`):
// √(−2 ln u₁) cos(2π u₂), u₁ = ((x₀ >> 8) + 1) 2⁻²⁴ ∈ (0, 1], u₂ = (x₁ >> 8) 2⁻²⁴, both exact in
// f32. The cosine is taken by quadrant — the top two bits of u₂ pick cos or sin and the sign,
// the angle left is 2π r with r < 1/4 exact — so the driver's sin/cos only see [0, π/2).
fn box_muller(x: vec4<u32>) -> f32 {
    let scale = 1.0 / 16777216.0;
    let u1 = f32((x.x >> 8u) + 1u) * scale;
    let m = x.y >> 8u;
    let quadrant = m >> 22u;
    let a = 6.2831855 * (f32(m & 0x3FFFFFu) * scale);
    var c: f32;
    switch quadrant {
        case 0u: { c = cos(a); }
        case 1u: { c = -sin(a); }
        case 2u: { c = -cos(a); }
        default: { c = sin(a); }
    }
    return sqrt(-2.0 * log(u1)) * c;
}
