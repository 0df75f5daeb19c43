// Peak FP32 fused multiply-add rate of an adapter (`hebbnet bench`, src/bench/peak.rs).
//
// Each invocation runs ITERATIONS iterations of 32 independent vec4 FMAs (8 accumulators, 4
// rounds): 128 scalar FMAs = 256 FLOP per iteration, ITERATIONS · 256 FLOP per invocation. The
// constants ITERATIONS and WG are prepended by the host. ITERATIONS stays far below lavapipe's
// cap of 65,535 loop back-edges per invocation (engineering.md), so every iteration runs.
//
// a ← a · b + c with b just below 1 converges to c / (1 − b) = 1: no overflow, no denormals.
// The result is stored only when it equals an impossible value, so the compiler must keep the
// arithmetic but the store (and memory traffic) never happens.

@group(0) @binding(0) var<storage, read_write> sink: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = f32(gid.x & 1023u) * 1e-4;
    var a0 = vec4<f32>(x, x + 0.1, x + 0.2, x + 0.3);
    var a1 = a0 + vec4<f32>(0.01);
    var a2 = a0 + vec4<f32>(0.02);
    var a3 = a0 + vec4<f32>(0.03);
    var a4 = a0 + vec4<f32>(0.04);
    var a5 = a0 + vec4<f32>(0.05);
    var a6 = a0 + vec4<f32>(0.06);
    var a7 = a0 + vec4<f32>(0.07);
    let b = vec4<f32>(0.999);
    let c = vec4<f32>(0.001);
    for (var i = 0u; i < ITERATIONS; i++) {
        // Four rounds, unrolled by hand.
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
        a0 = fma(a0, b, c);
        a1 = fma(a1, b, c);
        a2 = fma(a2, b, c);
        a3 = fma(a3, b, c);
        a4 = fma(a4, b, c);
        a5 = fma(a5, b, c);
        a6 = fma(a6, b, c);
        a7 = fma(a7, b, c);
    }
    let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    if (s.x == -1.0) {
        sink[gid.x & 63u] = s;
    }
}
