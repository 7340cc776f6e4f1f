//! Where the deep models run: the pure-Rust CPU backend (burn's `flex`)
//! everywhere. The GPU choices (burn-wgpu: Vulkan, Metal, DX12) are part of
//! the API but not built yet: asking for one is a clear error, `Auto` runs
//! on the CPU.

use std::fmt;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The compute device of a deep model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compute {
    /// A hardware GPU once the burn-wgpu path is built (not yet: the CPU). `RECSYS_DEVICE`
    /// (`cpu`, `gpu`, `wgpu`) overrides the choice.
    #[default]
    Auto,
    /// The pure-Rust CPU backend (burn-flex: SIMD + rayon).
    Cpu,
    /// The first hardware GPU through burn-wgpu (not built yet: an error).
    Gpu,
    /// wgpu's default adapter whatever it is, software renderers such as
    /// Mesa lavapipe included (not built yet: an error).
    Wgpu,
}

impl Compute {
    /// Parses `auto`, `cpu`, `gpu`, `wgpu`.
    pub fn from_name(s: &str) -> Result<Compute> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => Compute::Auto,
            "cpu" | "flex" => Compute::Cpu,
            "gpu" => Compute::Gpu,
            "wgpu" => Compute::Wgpu,
            other => {
                return Err(Error::Config(format!(
                    "unknown device {other:?} (auto, cpu, gpu, wgpu)"
                )));
            }
        })
    }

    /// Resolves the choice to a burn device and a description of it.
    pub fn resolve(self) -> Result<ResolvedDevice> {
        let choice = match (self, std::env::var("RECSYS_DEVICE").ok()) {
            (Compute::Auto, Some(v)) if !v.is_empty() => Compute::from_name(&v)?,
            (c, _) => c,
        };
        match choice {
            Compute::Gpu | Compute::Wgpu => Err(Error::Config(
                "the GPU path (burn-wgpu) is not built into this version of recsys yet; \
                 use Compute::Cpu or Compute::Auto"
                    .into(),
            )),
            _ => Ok(ResolvedDevice::cpu()),
        }
    }
}

/// A burn device with a human-readable description.
#[derive(Debug, Clone)]
pub struct ResolvedDevice {
    pub device: Device,
    pub description: String,
}

impl ResolvedDevice {
    fn cpu() -> Self {
        ResolvedDevice {
            device: Device::flex(),
            description: format!("CPU (burn-flex, {} threads)", rayon::current_num_threads()),
        }
    }
}

impl fmt::Display for ResolvedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}
