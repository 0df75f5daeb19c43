// Hebbian update with passive forgetting, one thread per synapse (src/model/analog/hebbian.rs):
//
//   m_i = ref_i + S1_i / τ − d
//   W_ij ← λ W_ij + c_j (m_i m_j),   c_j = α/N, or 0 when gated off by H(m_j)
//
// then, by flag: a weight never changes sign (set to 0 instead), absent synapses (W = 0)
// stay absent, and Dale's law: a weight from an excitatory neuron (j < N_E) is never negative,
// one from an inhibitory neuron never positive (set to 0 instead).

@compute @workgroup_size(256)
fn hebbian_update(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let idx = (wg.y * dispatch.grid_x + wg.x) * 256u + lid;
    let nn = N * N;
    if (idx >= dispatch.replicas * nn) {
        return;
    }
    let r = idx / nn;
    let e = idx - r * nn;
    let j = e / N;
    let i = e - j * N;
    let p = params[r];
    let section = dispatch.replicas * N;
    let tau = f32(dispatch.recorded_steps);
    let m_i = accum[r * N + i] + accum[section + r * N + i] / tau - p.activity_threshold;
    let m_j = accum[r * N + j] + accum[section + r * N + j] / tau - p.activity_threshold;
    var coef = p.learning_rate / f32(N);
    if ((p.flags & FLAG_HEAVISIDE) != 0u && !(m_j > 0.0)) {
        coef = 0.0;
    }
    let old = weights[idx];
    var w = p.forgetting * old + coef * (m_i * m_j);
    if ((p.flags & FLAG_SIGN_PRESERVING) != 0u && ((old > 0.0 && w < 0.0) || (old < 0.0 && w > 0.0))) {
        w = 0.0;
    }
    if ((p.flags & FLAG_KEEP_ABSENT) != 0u && old == 0.0) {
        w = 0.0;
    }
    if ((p.flags & FLAG_DALE) != 0u) {
        let excitatory = j < p.excitatory;
        if ((excitatory && w < 0.0) || (!excitatory && w > 0.0)) {
            w = 0.0;
        }
    }
    weights[idx] = w;
}
