// f16 (low 16 bits of h) → f32, exact: the hardware conversion. Used where the device offers
// WGSL's unpack2x16float (wgpu's DownlevelFlags::SHADER_F16_IN_F32: every Vulkan, Metal, DX12
// and desktop GL device except Mesa's llvmpipe without shader-f16).
fn f16_to_f32(h: u32) -> f32 {
    return unpack2x16float(h).x;
}
