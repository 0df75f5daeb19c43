// Test probe of the BMS noise (src/backend/gpu/bms `noise_probe`): for each counter, the
// Philox4x32-10 words and the bits of the f32 Box–Muller normal of bms_common.wgsl.
// probe_in: key (2 words), then 4 words per counter; probe_out: 5 words per counter.

@group(0) @binding(0) var<storage, read> probe_in: array<u32>;
@group(0) @binding(1) var<storage, read_write> probe_out: array<u32>;

@compute @workgroup_size(64)
fn bms_noise_probe(@builtin(global_invocation_id) g: vec3<u32>) {
    let count = (arrayLength(&probe_in) - 2u) / 4u;
    let k = g.x;
    if (k >= count) {
        return;
    }
    let key = vec2<u32>(probe_in[0], probe_in[1]);
    let at = 2u + 4u * k;
    let counter = vec4<u32>(probe_in[at], probe_in[at + 1u], probe_in[at + 2u], probe_in[at + 3u]);
    let x = philox(counter, key);
    probe_out[5u * k] = x.x;
    probe_out[5u * k + 1u] = x.y;
    probe_out[5u * k + 2u] = x.z;
    probe_out[5u * k + 3u] = x.w;
    probe_out[5u * k + 4u] = bitcast<u32>(box_muller(x));
}
