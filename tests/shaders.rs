//! Every WGSL kernel parses and validates with naga (wgpu's own front end), for network sizes
//! that exercise each code path — no GPU needed, so this also runs where no adapter exists.

use hebbnet::backend::gpu::{kernel_sources, KernelShape};

#[test]
fn every_kernel_validates_for_several_network_sizes() {
    for n in [1usize, 3, 64, 100, 257, 1000] {
        let shape = KernelShape::new(n, 256);
        for (entry, source) in kernel_sources(&shape) {
            let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
                panic!(
                    "{entry} (N = {n}) does not parse:\n{}",
                    e.emit_to_string(&source)
                )
            });
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .unwrap_or_else(|e| {
                panic!(
                    "{entry} (N = {n}) is invalid:\n{}",
                    e.emit_to_string(&source)
                )
            });
            assert!(
                module.entry_points.iter().any(|e| e.name == entry),
                "{entry} has no entry point of that name"
            );
        }
    }
}
