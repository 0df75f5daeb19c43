//! Host-side checks of the Jiang kernel that need no adapter: the WGSL validates (naga) for
//! every shape, declares the workgroup memory the host budgets, dispatches respect the loop
//! budget, and the plan covers every step once within the chunk limits.

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

fn declared_workgroup_bytes(module: &naga::Module) -> u64 {
    module
        .global_variables
        .iter()
        .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
        .map(|(_, g)| module.types[g.ty].inner.size(module.to_ctx()) as u64)
        .sum()
}

#[test]
fn the_kernel_validates_and_declares_the_budgeted_workgroup_memory() {
    for n in [1, 33, 64, 65, 100, 300, 4000, 9000] {
        for p in [0, 1, 3, 30, 40, 700] {
            for dense in [false, true] {
                for (max_invocations, limit) in [(256, 32 << 10), (1024, 48 << 10), (256, 16 << 10)]
                {
                    let shape = JiangShape::new(n, p, dense, max_invocations, limit);
                    let what = format!("N = {n}, P = {p}, dense {dense}, {limit} bytes");
                    let module = parse(&shape.source(), &what);
                    assert!(module.entry_points.iter().any(|e| e.name == "jiang_update"));
                    assert_eq!(
                        declared_workgroup_bytes(&module),
                        shape.workgroup_bytes(),
                        "{what}"
                    );
                    assert!(shape.fits(limit), "{what}: {}", shape.workgroup_bytes());
                    assert!(shape.workgroup_bytes() <= WORKGROUP_TARGET, "{what}");
                }
            }
        }
    }
}

#[test]
fn shapes_cover_every_neuron_and_shrink_to_fit() {
    for n in [1, 33, 64, 65, 100, 300, 4000] {
        let s = JiangShape::new(n, 40, false, 1024, 32 << 10);
        assert_eq!(s.workgroup, if n <= 64 { 64 } else { 256 }, "N = {n}");
        assert!(s.rows_per_thread * s.workgroup >= n);
        assert!(
            (s.rows_per_thread - 1) * s.workgroup < n,
            "N = {n}: no idle row"
        );
    }
    // An adapter with fewer threads per workgroup gets a power of two within its limit.
    assert_eq!(
        JiangShape::new(4000, 40, false, 192, 32 << 10).workgroup,
        128
    );
    // P = 40: 45 rows, tiles of 16; 16 KiB of tile + y + zs.
    let s = JiangShape::new(4000, 40, false, 1024, 48 << 10);
    assert_eq!((s.tile_rows, s.dense_tile), (16, 1));
    assert_eq!(s.workgroup_bytes(), 4 * (16 * 256 + 46 + 40 + 1));
    // Few patterns: the tile is just large enough.
    assert_eq!(JiangShape::new(100, 2, false, 1024, 32 << 10).tile_rows, 8);
    // Dense: all of N = 4000 in one tile within lavapipe's 32 KiB; a larger N is tiled.
    let d = JiangShape::new(4000, 40, true, 1024, 32 << 10);
    assert_eq!((d.tile_rows, d.dense_tile), (8, 4000));
    let d = JiangShape::new(9000, 40, true, 1024, 32 << 10);
    assert!(d.dense_tile < 9000 && d.dense_tile > 1000, "{d:?}");
    // Many patterns shrink the tile; too many do not fit.
    let s = JiangShape::new(4000, 3500, false, 1024, 32 << 10);
    assert!(s.fits(32 << 10) && s.tile_rows < 8, "{s:?}");
    assert!(JiangShape::new(4000, 3960, false, 1024, 32 << 10).fits(32 << 10));
    assert!(!JiangShape::new(4000, 3970, false, 1024, 32 << 10).fits(32 << 10));
}

#[test]
fn dispatches_respect_the_loop_budget() {
    for n in [1, 33, 100, 300, 1000, 4000] {
        for p in [2, 30, 40, 200] {
            for dense in [false, true] {
                let s = JiangShape::new(n, p, dense, 1024, 32 << 10);
                for (twin, tangent) in [(false, false), (true, false), (false, true), (true, true)]
                {
                    let steps = s.steps_per_dispatch(5, twin, tangent);
                    let per = s.backedges_per_step(5, twin, tangent);
                    assert!(steps * per + s.setup_backedges() <= BACKEDGE_BUDGET);
                    if n <= 1000 {
                        assert!(steps >= 1, "N = {n}, P = {p}, dense {dense}");
                    }
                }
                // More work per step, fewer steps per dispatch.
                assert!(
                    s.steps_per_dispatch(3, true, true) <= s.steps_per_dispatch(3, false, false)
                );
                assert!(
                    s.steps_per_dispatch(9, false, false) <= s.steps_per_dispatch(1, false, false)
                );
            }
        }
    }
    // The figures of the module doc (N = 4000, P = 40, d = 1: taps (1, γ) only).
    let f = JiangShape::new(4000, 40, false, 1024, 32 << 10);
    let d = JiangShape::new(4000, 40, true, 1024, 32 << 10);
    let figures = [
        f.steps_per_dispatch(1, false, false),
        f.steps_per_dispatch(1, true, true),
        d.steps_per_dispatch(1, false, false),
        d.steps_per_dispatch(1, true, true),
    ];
    assert_eq!(figures, [19, 6, 3, 1]);
}

#[test]
fn the_reduction_count_follows_the_passes() {
    // 256 threads: passes 256 → 32 → 4 → 1. One row: each pass one q iteration of f − 1 inner
    // back-edges, plus the pass loop (counted with the q iteration: 1 + f per pass).
    let s = JiangShape::new(1000, 10, false, 1024, 32 << 10);
    assert_eq!(s.reduce_backedges(1), (1 + 8) + (1 + 8) + (1 + 4));
    // 16 rows: the first pass has 16·32 = 512 pairs, two per thread.
    assert_eq!(s.reduce_backedges(16), (1 + 2 * 8) + (1 + 8) + (1 + 4));
    let small = JiangShape::new(10, 10, false, 1024, 32 << 10);
    assert_eq!(small.workgroup, 64);
    assert_eq!(small.reduce_backedges(1), (1 + 8) + (1 + 8));
}

/// Every step 0..=T exactly once, in order; chunks within their strides; snapshots start
/// dispatches; each chunk's samples are the multiples of k among its steps.
fn check_plan(total: usize, k: usize, snaps: &[usize], per: usize, rs: usize, ps: usize) {
    let chunks = plan(total, k, snaps, per, rs, ps);
    let what = format!("T = {total}, k = {k}, snapshots {snaps:?}, {per}/dispatch, {rs}, {ps}");
    let mut t = 0;
    let mut sample = 0;
    let mut seen_snaps = Vec::new();
    for c in &chunks {
        assert!(!c.dispatches.is_empty(), "{what}");
        assert!(c.dispatches.len() <= ps, "{what}");
        assert!(c.samples <= rs, "{what}");
        assert_eq!(c.first_sample, sample, "{what}");
        let start = t;
        for (slot, d) in c.dispatches.iter().enumerate() {
            assert_eq!(d.t0 as usize, t, "{what}");
            assert!(d.steps >= 1 && d.steps as usize <= per, "{what}");
            assert_eq!(d.part_slot as usize, slot);
            assert_eq!(d.rec_first as usize, c.first_sample);
            if d.snapshot != NONE {
                assert_eq!(snaps[d.snapshot as usize], t, "{what}");
                seen_snaps.push(t);
            }
            // No snapshot inside a dispatch but at its start.
            let end = t + d.steps as usize;
            assert!(!snaps.iter().any(|&s| s > t && s < end), "{what}");
            t = end;
        }
        let multiples = (start..t).filter(|s| s % k == 0).count();
        assert_eq!(c.samples, multiples, "{what}");
        if multiples > 0 {
            assert_eq!(c.first_sample, start.div_ceil(k), "{what}");
        }
        sample += c.samples;
    }
    assert_eq!(t, total + 1, "{what}");
    assert_eq!(sample, total / k + 1, "{what}");
    let expected: Vec<usize> = snaps.iter().copied().filter(|&s| s <= total).collect();
    assert_eq!(seen_snaps, expected, "{what}");
}

#[test]
fn plans_cover_every_step_once_within_the_chunk_limits() {
    for total in [0, 1, 5, 37, 100, 1001] {
        for k in [1, 3, 7, 50] {
            for per in [1, 4, 19, 500] {
                for (rs, ps) in [(1, 1), (2, 3), (5, 100), (10_000, 10_000)] {
                    for snaps in [vec![], vec![0], vec![3, 4, 36], vec![total]] {
                        check_plan(total, k, &snaps, per, rs, ps);
                    }
                }
            }
        }
    }
}

#[test]
fn strides_fit_the_readback() {
    // Everything in one chunk when it fits.
    let (rs, ps) = strides(32, 45, 1, 19, 0, 1001, READBACK_BYTES);
    assert_eq!(rs, 1001);
    assert_eq!(ps, 1001usize.div_ceil(19) + 2);
    // A small readback: several chunks, each within it.
    for readback in [1_000, 50_000, 1 << 20] {
        let (rs, ps) = strides(32, 45, 2, 19, 3, 10_001, readback);
        assert!(rs >= 1 && ps >= 1);
        if rs > 1 {
            assert!(4 * 32 * (rs * 45 + ps * 4) as u64 <= readback, "{readback}");
        }
    }
    assert_eq!(strides(32, 45, 2, 19, 3, 10_001, 10).0, 1);
}

#[test]
fn struct_sizes_match_the_shader() {
    assert_eq!(std::mem::size_of::<TrajParams>(), 16);
    assert_eq!(std::mem::size_of::<NetParams>(), 48);
    assert_eq!(std::mem::size_of::<RunParams>(), 32);
    assert_eq!(std::mem::size_of::<JiangDispatch>(), 32);
}

#[test]
fn the_kernel_uses_the_shared_tanh() {
    let t = tanh_source();
    assert!(t.starts_with("fn tanh_f32(x: f32) -> f32 {"), "{t}");
    assert!(t.ends_with('}'), "{t}");
    // The CPU twin's clamp constant (model::real::tanh_f32).
    assert!(t.contains("7.905311"));
    assert!(!t.contains("fn activation"));
    assert!(JiangShape::new(10, 3, false, 256, 32 << 10)
        .source()
        .contains(t));
}

#[test]
fn over_the_budget_software_refuses_and_hardware_runs_one_step_a_dispatch() {
    // P = 400 with a twin and a tangent fits the budget up to N ≈ 2,800.
    let fits = JiangShape::new(2000, 400, false, 1024, 32 << 10);
    let over = JiangShape::new(4000, 400, false, 1024, 32 << 10);
    assert!(fits.steps_per_dispatch(3, true, true) >= 1);
    assert_eq!(over.steps_per_dispatch(3, true, true), 0);
    for software in [false, true] {
        let steps = dispatch_steps(&fits, 3, true, true, software).unwrap();
        assert_eq!(steps as u64, fits.steps_per_dispatch(3, true, true));
    }
    assert_eq!(dispatch_steps(&over, 3, true, true, false).unwrap(), 1);
    let e = dispatch_steps(&over, 3, true, true, true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("N = 4000, P = 400") && e.contains("--backend cpu") && e.contains("lavapipe"),
        "{e}"
    );
    // The dense path: N = 4,544 is the largest multiple of 64 with a twin and a tangent,
    // 6,080 without.
    let d = |n| JiangShape::new(n, 40, true, 1024, 32 << 10);
    assert!(d(4544).steps_per_dispatch(3, true, true) >= 1);
    assert_eq!(d(4608).steps_per_dispatch(3, true, true), 0);
    assert!(d(6080).steps_per_dispatch(3, false, false) >= 1);
    assert_eq!(d(6144).steps_per_dispatch(3, false, false), 0);
}
