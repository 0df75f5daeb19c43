// Weight statistics: per replica, partial sums of W_ij and W_ij² over STATS_CHUNKS workgroups
// (a tree reduction in workgroup memory). The host adds the partials in f64.
// Each thread loops over at most 64 elements, far below lavapipe's loop cap.

const STATS_WG: u32 = 256u;
var<workgroup> part_sum: array<f32, STATS_WG>;
var<workgroup> part_sq: array<f32, STATS_WG>;

@compute @workgroup_size(256)
fn weight_stats(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let lin = wg.y * dispatch.grid_x + wg.x;
    let r = lin / STATS_CHUNKS;
    if (r >= dispatch.replicas) {
        return;
    }
    let c = lin - r * STATS_CHUNKS;
    let nn = N * N;
    let per = (nn + STATS_CHUNKS - 1u) / STATS_CHUNKS;
    let start = c * per;
    let end = min(start + per, nn);
    var s = 0.0;
    var q = 0.0;
    for (var e = start + lid; e < end; e += STATS_WG) {
        let w = weights[r * nn + e];
        s = s + w;
        q = q + w * w;
    }
    part_sum[lid] = s;
    part_sq[lid] = q;
    workgroupBarrier();
    for (var stride = STATS_WG / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            part_sum[lid] = part_sum[lid] + part_sum[lid + stride];
            part_sq[lid] = part_sq[lid] + part_sq[lid + stride];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        partials[2u * lin] = part_sum[0];
        partials[2u * lin + 1u] = part_sq[0];
    }
}
