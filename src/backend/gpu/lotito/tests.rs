//! Host-side checks of the Lotito kernel that need no adapter: the WGSL validates (naga) for
//! every shape and softmax kind, declares the workgroup memory the host budgets, and the loop
//! budget gives the Figure 1 shape long dispatches.

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

const KINDS: [SoftmaxArgument; 3] = [
    SoftmaxArgument::Score,
    SoftmaxArgument::Gradient,
    SoftmaxArgument::Argmax,
];

#[test]
fn the_kernel_validates_and_declares_the_budgeted_workgroup_memory() {
    for n in [1, 50, 64, 65, 1000, 3000, 65536] {
        for h in [1, 4, 70, 256] {
            for kind in KINDS {
                for (max_invocations, limit) in [(256, 32 << 10), (1024, 48 << 10), (256, 16 << 10)]
                {
                    let shape = LotitoShape::new(n, h, kind, max_invocations, limit);
                    let what = format!("N_v = {n}, N_h = {h}, {kind:?}, {limit} bytes");
                    assert!(shape.fits(limit), "{what}: {}", shape.workgroup_bytes());
                    assert!(shape.workgroup_bytes() <= WORKGROUP_TARGET, "{what}");
                    assert!(shape.rows_per_thread * shape.workgroup >= n, "{what}");
                    // Ξ is resident when it is small and the memory allows.
                    assert!(!shape.resident || h * n <= RESIDENT_FLOATS, "{what}");
                    if limit >= 32 << 10 {
                        assert_eq!(shape.resident, h * n <= RESIDENT_FLOATS, "{what}");
                    }
                    let module = parse(&shape.source(), &what);
                    assert!(module
                        .entry_points
                        .iter()
                        .any(|e| e.name == "lotito_update"));
                    assert_eq!(
                        declared_workgroup_bytes(&module),
                        shape.workgroup_bytes(),
                        "{what}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_figure_1_shape_takes_long_dispatches() {
    let shape = LotitoShape::new(50, 4, SoftmaxArgument::Score, 256, 32 << 10);
    assert_eq!(shape.workgroup, 64);
    assert!(shape.resident);
    assert_eq!(shape.tile_rows, 2 * 16 + 4);
    let steps = shape.steps_per_dispatch();
    assert_eq!(steps, 174, "steps per dispatch (the module doc)");
    assert_eq!(dispatch_steps(&shape, true).unwrap(), steps as usize);
}

#[test]
fn a_step_beyond_the_loop_budget_is_refused_only_on_a_software_adapter() {
    let shape = LotitoShape::new(65536, 256, SoftmaxArgument::Score, 256, 32 << 10);
    assert_eq!(shape.steps_per_dispatch(), 0);
    assert!(matches!(
        dispatch_steps(&shape, true),
        Err(Error::TooLarge(_))
    ));
    assert_eq!(dispatch_steps(&shape, false).unwrap(), 1);
}
