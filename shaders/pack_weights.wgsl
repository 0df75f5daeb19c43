// f16 copy of the weights (W_F16): one thread per u32 word of `weights_half`, packing elements
// e = 2k (low half) and 2k + 1 (high half) of a replica's f32 master `weights`. Run on upload
// and after every Hebbian update.
//
// The rounding is written with integer operations (IEEE round to nearest, ties to even, f16
// subnormals kept, overflow to ±∞, NaN stays NaN) because WGSL and Vulkan leave the rounding
// mode of f32 → f16 conversions (pack2x16float) to the implementation; this gives the same bits
// on every driver as the CPU twin, `f32_to_f16_bits` in src/model/f16.rs.

fn f16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let ex = (b >> 23u) & 0xffu;
    let man = b & 0x7fffffu;
    if (ex == 0xffu) {
        return sign | 0x7c00u | select(0u, 0x200u | (man >> 13u), man != 0u);
    }
    let e = i32(ex) - 112;
    if (e >= 31) {
        return sign | 0x7c00u;
    }
    if (e <= 0) {
        let shift = u32(14 - e);
        if (shift > 24u) {
            return sign;
        }
        let m = man | 0x800000u;
        var k = m >> shift;
        let rem = m & ((1u << shift) - 1u);
        let mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (k & 1u) == 1u)) {
            k = k + 1u;
        }
        return sign | k;
    }
    var h = (u32(e) << 10u) | (man >> 13u);
    let rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) {
        h = h + 1u;
    }
    return sign | h;
}

@compute @workgroup_size(256)
fn pack_weights(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let k = (wg.y * dispatch.grid_x + wg.x) * 256u + lid;
    if (k >= dispatch.replicas * W_WORDS) {
        return;
    }
    let r = k / W_WORDS;
    let e = (k - r * W_WORDS) * 2u;
    let base = r * (N * N);
    let lo = f16_bits(weights[base + e]);
    var hi = 0u;
    if (e + 1u < N * N) {
        hi = f16_bits(weights[base + e + 1u]);
    }
    weights_half[k] = lo | (hi << 16u);
}
