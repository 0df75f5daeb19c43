//! Finding a GPU: adapters, their kind, the device with the adapter's own limits.

use serde::Serialize;

use crate::error::{Error, Result};

/// An adapter as the manifest and `hebbnet devices` describe it.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterSummary {
    pub name: String,
    /// Vulkan, Metal, Dx12, Gl.
    pub api: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other.
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    /// A software rasteriser (lavapipe/llvmpipe, SwiftShader): correct, never fast.
    pub software: bool,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    /// The adapter offers WGSL's `f16` type (`shader-f16`). hebbnet does not need it: f16
    /// weights are stored in `u32` pairs and decoded with `unpack2x16float` everywhere.
    pub shader_f16: bool,
    /// WGSL's `unpack2x16float` works (wgpu's `DownlevelFlags::SHADER_F16_IN_F32`; llvmpipe
    /// has it only with `shader-f16`). Without it, f16 weights are decoded with integer code.
    pub f16_in_f32: bool,
}

impl AdapterSummary {
    pub fn of(adapter: &wgpu::Adapter) -> AdapterSummary {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let lower = info.name.to_lowercase();
        let software = info.device_type == wgpu::DeviceType::Cpu
            || ["llvmpipe", "lavapipe", "swiftshader", "softpipe"]
                .iter()
                .any(|s| lower.contains(s));
        AdapterSummary {
            name: info.name.clone(),
            api: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            software,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
            shader_f16: adapter.features().contains(wgpu::Features::SHADER_F16),
            f16_in_f32: adapter
                .get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::SHADER_F16_IN_F32),
        }
    }

    /// One line: `NVIDIA H100 (Vulkan, DiscreteGpu)`, with a software label where it applies.
    pub fn line(&self) -> String {
        let soft = if self.software {
            ", software adapter: correct but slower than the CPU backend"
        } else {
            ""
        };
        format!("{} ({}, {}{soft})", self.name, self.api, self.device_type)
    }

    /// Ranking for the choice of adapter: hardware before software, discrete first, Vulkan
    /// before GL.
    fn rank(&self) -> (u8, u8, u8) {
        let kind = match self.device_type.as_str() {
            "DiscreteGpu" => 0,
            "IntegratedGpu" => 1,
            "VirtualGpu" => 2,
            _ => 3,
        };
        let api = if self.api == "Gl" { 1 } else { 0 };
        (self.software as u8, kind, api)
    }
}

fn instance() -> wgpu::Instance {
    // Honours WGPU_BACKEND (e.g. WGPU_BACKEND=vulkan) and the other WGPU_* variables.
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu can see, best first.
pub fn adapters() -> Vec<(wgpu::Adapter, AdapterSummary)> {
    let instance = instance();
    let mut all: Vec<(wgpu::Adapter, AdapterSummary)> =
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .into_iter()
            .map(|a| {
                let s = AdapterSummary::of(&a);
                (a, s)
            })
            .collect();
    all.sort_by_key(|(_, s)| s.rank());
    all
}

/// Whether a hardware (non-software) adapter exists; `auto` picks the GPU backend only then.
pub fn hardware_adapter() -> Option<AdapterSummary> {
    adapters().into_iter().map(|(_, s)| s).find(|s| !s.software)
}

pub const NO_ADAPTER_HINT: &str = "install a Vulkan driver (Debian/Ubuntu: `apt-get install \
     mesa-vulkan-drivers libvulkan1`; NVIDIA: the proprietary driver with its Vulkan ICD), \
     or run on the CPU with --backend cpu";

/// The best adapter and a device that has all of its limits.
pub fn open_device() -> Result<(wgpu::Adapter, wgpu::Device, wgpu::Queue, AdapterSummary)> {
    let (adapter, summary) = match adapters().into_iter().next() {
        Some(found) => found,
        None => {
            // Ask once more through request_adapter: its error names the backends tried.
            let why = match pollster::block_on(
                instance().request_adapter(&wgpu::RequestAdapterOptions::default()),
            ) {
                Ok(_) => "no adapter was listed".to_string(),
                Err(e) => e.to_string(),
            };
            return Err(Error::Gpu(format!(
                "no GPU adapter found ({why}): {NO_ADAPTER_HINT}"
            )));
        }
    };
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("hebbnet"),
        required_features: wgpu::Features::empty(),
        required_limits: adapter.limits(),
        memory_hints: wgpu::MemoryHints::Performance,
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
        .map_err(|e| Error::Gpu(format!("cannot open {}: {e}", summary.line())))?;
    Ok((adapter, device, queue, summary))
}
