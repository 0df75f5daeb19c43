// f16 (low 16 bits of h) → f32, exact, with integer operations: for devices without
// unpack2x16float (see f16_decode_native.wgsl); the CPU twin is f16_bits_to_f32 in
// src/model/f16.rs. Subnormal f16 values (man · 2⁻²⁴) are normal f32 numbers, so no driver
// flushes them.
fn f16_to_f32(h: u32) -> f32 {
    let sign = (h & 0x8000u) << 16u;
    let ex = (h >> 10u) & 0x1fu;
    let man = h & 0x3ffu;
    let normal = bitcast<f32>(sign | ((ex + 112u) << 23u) | (man << 13u));
    let sub = bitcast<f32>(sign | bitcast<u32>(f32(man) * 5.9604645e-8));
    let special = bitcast<f32>(sign | 0x7f800000u | (man << 13u));
    return select(select(normal, special, ex == 31u), sub, ex == 0u);
}
