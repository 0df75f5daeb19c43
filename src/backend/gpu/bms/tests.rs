//! Host-side checks of the BMS kernel that need no adapter: the WGSL validates (naga) for every
//! shape, its workgroup memory is what the host budgets, dispatches respect the loop budget,
//! and batches split within the buffer limits.

use super::*;

fn parse(source: &str, what: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{what} does not parse:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{what} is invalid:\n{}", e.emit_to_string(source)));
    module
}

#[test]
fn the_kernels_validate_and_declare_the_budgeted_workgroup_memory() {
    for n in [1, 2, 31, 32, 33, 100, 300, 1000, 1025, 3000] {
        for max_invocations in [256, 1024] {
            let shape = BmsShape::new(n, max_invocations);
            let what = format!("bms_update N = {n}, {max_invocations} invocations");
            let module = parse(&shape.source(), &what);
            assert!(module.entry_points.iter().any(|e| e.name == "bms_update"));
            let declared: u64 = module
                .global_variables
                .iter()
                .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
                .map(|(_, g)| module.types[g.ty].inner.size(module.to_ctx()) as u64)
                .sum();
            assert_eq!(declared, shape.workgroup_bytes(), "{what}");
        }
    }
    let module = parse(&format!("{COMMON}\n{PROBE}"), "bms_noise_probe");
    assert!(module
        .entry_points
        .iter()
        .any(|e| e.name == "bms_noise_probe"));
}

#[test]
fn shapes_cover_every_neuron_and_respect_the_loop_budget() {
    for n in [1, 31, 32, 33, 100, 300, 1000, 1024, 1025, 2000] {
        for max_invocations in [256, 1024] {
            let s = BmsShape::new(n, max_invocations);
            assert!(s.workgroup >= 32 && s.workgroup <= max_invocations.max(32));
            assert!(s.workgroup.is_power_of_two());
            assert!(s.rows_per_thread * s.workgroup >= n, "N = {n}");
            assert!(
                (s.rows_per_thread - 1) * s.workgroup < n,
                "N = {n}: no idle row"
            );
            assert_eq!(s.words, n.div_ceil(32));
            let steps = s.steps_per_dispatch();
            assert!(steps >= 1, "N = {n}");
            assert!(steps * s.backedges_per_step() + s.setup_backedges() <= BACKEDGE_BUDGET);
        }
    }
    // Past the budget the shape advances no step (`bms_shape` refuses it): N = 4000 on a
    // 128-thread adapter needs up to 4000 · (1 + 32) back-edges a step.
    assert_eq!(BmsShape::new(4000, 128).steps_per_dispatch(), 0);
    assert!(BmsShape::new(4000, 1024).steps_per_dispatch() >= 1);
    // N = 1000 on a 1024-thread adapter: one row per thread; worst case 1 + 3 + 32 + 2000 + 2
    // back-edges a step, 16 steps per dispatch.
    let s = BmsShape::new(1000, 1024);
    assert_eq!((s.workgroup, s.rows_per_thread), (1024, 1));
    assert_eq!(s.backedges_per_step(), 2038);
    assert_eq!(s.steps_per_dispatch(), 16);
    assert_eq!(BmsShape::new(100, 1024).steps_per_dispatch(), 156);
}

#[test]
fn chunks_bound_the_records_of_a_readback() {
    let s = BmsShape::new(1000, 1024);
    assert_eq!(s.record_bytes(), 4 * 34);
    // 16 trajectories: 2176 bytes a step; 64 MiB holds 30,840 steps.
    assert_eq!(s.chunk_steps(16, 100_000, READBACK_BYTES), 30_840);
    assert_eq!(s.chunk_steps(16, 1_000, READBACK_BYTES), 1_000);
    // Never zero, even when one step does not fit.
    assert_eq!(s.chunk_steps(16, 1_000, 100), 1);
    assert_eq!(s.chunk_steps(16, 0, READBACK_BYTES), 1);
}

#[test]
fn batches_split_within_the_buffer_limits() {
    // Everything fits: one group, trajectories in network order.
    let nets = [1, 0, 1, 0, 2];
    let g = groups(&nets, 400, 40, 8, 1 << 20, 1 << 20).unwrap();
    assert_eq!(
        g,
        vec![Group {
            networks: vec![0, 1, 2],
            trajectories: vec![1, 3, 0, 2, 4],
        }]
    );
    // Two networks' W per binding.
    let g = groups(&nets, 400, 40, 8, 800, 1 << 20).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].networks, vec![0, 1]);
    assert_eq!(g[1].networks, vec![2]);
    // Two trajectories' records per readback: a network's trajectories split across groups.
    let g = groups(&nets, 400, 40, 8, 1 << 20, 16).unwrap();
    assert_eq!(g.len(), 3);
    assert!(g.iter().all(|x| x.trajectories.len() <= 2));
    // Every trajectory exactly once, each group's networks cover its trajectories.
    for limits in [(800, 1 << 20), (1 << 20, 16), (400, 8), (1 << 20, 1 << 20)] {
        let g = groups(&nets, 400, 40, 8, limits.0, limits.1).unwrap();
        let mut all: Vec<usize> = g.iter().flat_map(|x| x.trajectories.clone()).collect();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        for x in &g {
            assert!(x.networks.len() as u64 * 400 <= limits.0);
            assert!(x
                .trajectories
                .iter()
                .all(|&k| x.networks.contains(&nets[k])));
        }
    }
    // One network that does not fit is refused, naming the limit.
    let e = groups(&nets, 4000, 40, 8, 1000, 1 << 20).unwrap_err();
    assert!(
        e.to_string().contains("max_storage_buffer_binding_size"),
        "{e}"
    );
}

#[test]
fn struct_sizes_match_the_shaders() {
    assert_eq!(std::mem::size_of::<TrajectoryParams>(), 32);
    assert_eq!(std::mem::size_of::<BmsDispatch>(), 32);
}
