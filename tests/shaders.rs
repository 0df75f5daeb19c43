//! Every WGSL kernel parses and validates with naga (wgpu's own front end), for network sizes
//! and weight variants that exercise each code path — no GPU needed, so this also runs where no
//! adapter exists.

use hebbnet::backend::gpu::{kernel_sources, KernelShape};
use hebbnet::config::WeightStorage;

/// Sizes: tiny, a ragged unroll, powers of two, several rows per thread, and 127/128 around
/// lavapipe's f16 workgroup-memory limit; N² odd (3, 127, 257) leaves a half-empty f16 word.
const SIZES: [usize; 8] = [1, 3, 64, 100, 127, 128, 257, 1000];

#[test]
fn every_kernel_validates_for_several_network_sizes_and_weight_variants() {
    for n in SIZES {
        for storage in [WeightStorage::F32, WeightStorage::F16] {
            // Resident columns: none, a ragged partial prefix (odd counts round down to even
            // with f16 and odd N), all.
            for resident in [0, n / 3, n] {
                for native in [false, true] {
                    let shape = KernelShape::new(n, 256)
                        .with_weights(storage, resident)
                        .with_native_f16_decode(native);
                    let what = format!(
                        "N = {n}, {} W, {} ({} columns resident), {} f16 decode",
                        storage.name(),
                        shape.weights_read_from(),
                        shape.resident_columns,
                        if native { "unpack2x16float" } else { "integer" }
                    );
                    validate(&shape, native, &what);
                }
            }
        }
    }
}

/// Parse and validate every kernel of `shape`. The integer f16 decode must need no capability;
/// `unpack2x16float` needs SHADER_FLOAT16_IN_FLOAT32 (wgpu's `SHADER_F16_IN_F32` downlevel flag).
fn validate(shape: &KernelShape, native: bool, what: &str) {
    let capabilities = if native {
        naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32
    } else {
        naga::valid::Capabilities::empty()
    };
    let entries = kernel_sources(shape);
    assert_eq!(
        entries.iter().any(|(e, _)| *e == "pack_weights"),
        shape.f16_weights,
        "{what}: pack_weights exactly with f16 storage"
    );
    for (entry, source) in entries {
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
            panic!(
                "{entry} ({what}) does not parse:\n{}",
                e.emit_to_string(&source)
            )
        });
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
            .validate(&module)
            .unwrap_or_else(|e| {
                panic!(
                    "{entry} ({what}) is invalid:\n{}",
                    e.emit_to_string(&source)
                )
            });
        assert!(
            module.entry_points.iter().any(|e| e.name == entry),
            "{entry} has no entry point of that name"
        );
        if entry == "neuron_update" {
            // The workgroup memory the host checks against the adapter's limit is what the
            // shader declares.
            let declared: u64 = module
                .global_variables
                .iter()
                .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
                .map(|(_, g)| module.types[g.ty].inner.size(module.to_ctx()) as u64)
                .sum();
            assert_eq!(declared, shape.workgroup_bytes(), "{what}");
        }
    }
}

#[test]
fn the_unpack2x16float_decode_needs_its_capability() {
    // Without the capability, the native decode must be rejected (so the host's choice
    // matters) and the integer decode accepted (checked above).
    let shape = KernelShape::new(100, 256)
        .with_full_residency(WeightStorage::F16, true)
        .with_native_f16_decode(true);
    let (_, source) = kernel_sources(&shape)
        .into_iter()
        .find(|(e, _)| *e == "neuron_update")
        .expect("neuron_update");
    let module = naga::front::wgsl::parse_str(&source).expect("parses");
    let result = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module);
    assert!(
        result.is_err(),
        "unpack2x16float validated without SHADER_FLOAT16_IN_FLOAT32"
    );
}

/// The Jiang kernel (shaders/jiang_update.wgsl with the shared tanh) for both field paths, tiny
/// to large N, few to many patterns, and the workgroup limits of lavapipe and a small adapter.
#[test]
fn the_jiang_kernel_validates_for_both_paths_and_several_sizes() {
    use hebbnet::backend::gpu::jiang::JiangShape;
    for n in [1, 33, 64, 65, 300, 4000] {
        for p in [0, 3, 40, 1000] {
            for dense in [false, true] {
                for limit in [16 << 10, 32 << 10] {
                    let shape = JiangShape::new(n, p, dense, 256, limit);
                    let what = format!("jiang_update N = {n}, P = {p}, dense {dense}");
                    if !shape.fits(limit) {
                        continue;
                    }
                    let source = shape.source();
                    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
                        panic!("{what} does not parse:\n{}", e.emit_to_string(&source))
                    });
                    naga::valid::Validator::new(
                        naga::valid::ValidationFlags::all(),
                        naga::valid::Capabilities::empty(),
                    )
                    .validate(&module)
                    .unwrap_or_else(|e| {
                        panic!("{what} is invalid:\n{}", e.emit_to_string(&source))
                    });
                    assert!(module.entry_points.iter().any(|e| e.name == "jiang_update"));
                }
            }
        }
    }
}

/// The Lotito kernel (shaders/lotito_update.wgsl with bms_common.wgsl's Philox) for every
/// softmax argument, Ξ in workgroup memory and in the storage buffer, one to many memories.
#[test]
fn the_lotito_kernel_validates_for_every_softmax_argument_and_several_sizes() {
    use hebbnet::backend::gpu::lotito::LotitoShape;
    use hebbnet::config::SoftmaxArgument;
    for n in [1, 50, 64, 65, 3000, 65536] {
        for h in [1, 4, 70, 256] {
            for softmax in [
                SoftmaxArgument::Score,
                SoftmaxArgument::Gradient,
                SoftmaxArgument::Argmax,
            ] {
                let shape = LotitoShape::new(n, h, softmax, 256, 32 << 10);
                let what = format!("lotito_update N_v = {n}, N_h = {h}, {softmax:?}");
                assert!(shape.fits(32 << 10), "{what}");
                let source = shape.source();
                let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
                    panic!("{what} does not parse:\n{}", e.emit_to_string(&source))
                });
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::empty(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{what} is invalid:\n{}", e.emit_to_string(&source)));
                assert!(module
                    .entry_points
                    .iter()
                    .any(|e| e.name == "lotito_update"));
            }
        }
    }
}
