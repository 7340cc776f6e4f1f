//! Where the deep models run: a hardware GPU through burn-wgpu (Vulkan on
//! Linux and Windows, Metal on macOS, DX12) when the `gpu` feature is built
//! and one is present, else the pure-Rust CPU backend (burn's `flex`).
//! `RECSYS_DEVICE` (`auto`, `cpu`, `gpu`, `wgpu`) overrides `Auto`.

use std::fmt;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The compute device of a deep model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compute {
    /// The first hardware GPU (discrete, then integrated) when the `gpu`
    /// feature is built and one answers, else the CPU. `RECSYS_DEVICE`
    /// (`cpu`, `gpu`, `wgpu`) overrides the choice.
    #[default]
    Auto,
    /// The pure-Rust CPU backend (burn-flex: SIMD + rayon).
    Cpu,
    /// The first hardware GPU through burn-wgpu; an error when there is
    /// none (or the `gpu` feature is not built).
    Gpu,
    /// wgpu's default adapter whatever it is, software renderers such as
    /// Mesa lavapipe included (how CI checks the GPU code path on a machine
    /// without a GPU); an error when wgpu finds no adapter.
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

    /// Resolves the choice to a burn device and a description of it. A GPU
    /// is opened once per process and shared by every later model.
    pub fn resolve(self) -> Result<ResolvedDevice> {
        let choice = match (self, std::env::var("RECSYS_DEVICE").ok()) {
            (Compute::Auto, Some(v)) if !v.is_empty() => Compute::from_name(&v)?,
            (c, _) => c,
        };
        match choice {
            Compute::Cpu => Ok(ResolvedDevice::cpu()),
            Compute::Auto => Ok(gpu::hardware().unwrap_or_else(|_| ResolvedDevice::cpu())),
            Compute::Gpu => gpu::hardware(),
            Compute::Wgpu => gpu::any_adapter(),
        }
    }
}

#[cfg(feature = "gpu")]
mod gpu {
    use std::sync::OnceLock;

    use burn::tensor::{Device, DeviceKind};

    use super::ResolvedDevice;
    use crate::{Error, Result};

    type Opened = std::result::Result<ResolvedDevice, String>;

    /// Opens `kinds` in order through wgpu and keeps the first that answers.
    fn open(kinds: &[DeviceKind]) -> Opened {
        let mut why = Vec::new();
        for kind in kinds {
            match Device::wgpu_options().device_kind(kind.clone()).init() {
                Ok(device) => {
                    let (name, card) = device.identity().map_or_else(
                        || (format!("{kind:?}"), false),
                        |id| (id.name, id.physical.is_some()),
                    );
                    let what = match kind {
                        DeviceKind::DiscreteGpu(_) | DeviceKind::IntegratedGpu(_) => "GPU",
                        _ if card => "GPU",
                        _ => "software adapter",
                    };
                    return Ok(ResolvedDevice {
                        device,
                        description: format!("{what} {name} (burn-wgpu)"),
                    });
                }
                Err(e) => why.push(reason(&e.to_string())),
            }
        }
        Err(why.join("; "))
    }

    /// wgpu's refusal in one clause: `No Discrete GPU device found`, not
    /// the `Debug` dump of every adapter it saw.
    fn reason(e: &str) -> String {
        let head = e.split(", adapters [").next().unwrap_or(e);
        head.rsplit(": ").next().unwrap_or(head).trim().to_string()
    }

    fn get(
        cell: &'static OnceLock<Opened>,
        kinds: &[DeviceKind],
        what: &str,
    ) -> Result<ResolvedDevice> {
        cell.get_or_init(|| open(kinds))
            .clone()
            .map_err(|e| Error::Config(format!("no {what} found through wgpu ({e})")))
    }

    #[test]
    fn refusal_is_one_clause() {
        let e = "No adapter available for WgpuDevice { kind: DiscreteGpu(0), backend: Auto }: \
                 No Discrete GPU device found, adapters [AdapterInfo { name: \"llvmpipe\" }]";
        assert_eq!(reason(e), "No Discrete GPU device found");
        assert_eq!(reason("driver lost"), "driver lost");
    }

    /// The first discrete, else integrated, GPU.
    pub(super) fn hardware() -> Result<ResolvedDevice> {
        static CELL: OnceLock<Opened> = OnceLock::new();
        get(
            &CELL,
            &[DeviceKind::DiscreteGpu(0), DeviceKind::IntegratedGpu(0)],
            "hardware GPU",
        )
    }

    /// wgpu's default adapter, software ones (lavapipe) included.
    pub(super) fn any_adapter() -> Result<ResolvedDevice> {
        static CELL: OnceLock<Opened> = OnceLock::new();
        get(
            &CELL,
            &[DeviceKind::DefaultDevice, DeviceKind::Cpu],
            "wgpu adapter",
        )
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::ResolvedDevice;
    use crate::{Error, Result};

    fn missing() -> Result<ResolvedDevice> {
        Err(Error::Config(
            "this build of recsys has no GPU path: enable the `gpu` feature \
             (recsys = { features = [\"gpu\"] }) or use Compute::Cpu"
                .into(),
        ))
    }

    pub(super) fn hardware() -> Result<ResolvedDevice> {
        missing()
    }

    pub(super) fn any_adapter() -> Result<ResolvedDevice> {
        missing()
    }
}

/// A burn device with a human-readable description.
#[derive(Debug, Clone)]
pub struct ResolvedDevice {
    /// The burn device.
    pub device: Device,
    /// What it is, e.g. `CPU (burn-flex, 2 threads)`,
    /// `GPU NVIDIA H100 (burn-wgpu)` or
    /// `software adapter llvmpipe (LLVM 15.0.6, 256 bits) (burn-wgpu)`.
    pub description: String,
}

impl ResolvedDevice {
    /// The pure-Rust CPU backend.
    pub(crate) fn cpu() -> Self {
        tune_allocator();
        ResolvedDevice {
            device: Device::flex(),
            description: format!("CPU (burn-flex, {} threads)", rayon::current_num_threads()),
        }
    }
}

/// burn-flex returns every op's result in a freshly allocated buffer and
/// frees its inputs' buffers: a DLRM training step on 1,024 rows allocates
/// and frees a few thousand buffers of 4 KiB to 3 MiB. Under glibc's
/// defaults the larger ones come from `mmap` (fresh pages, each one a page
/// fault) and every free of 64 KiB or more consolidates the fast bins: a
/// third of a CPU epoch went to the allocator and the kernel. So, once per
/// process, before the first CPU model, this keeps blocks up to 64 MiB in
/// the heap (`M_MMAP_THRESHOLD`), returns its top to the system above 256
/// MiB free (`M_TRIM_THRESHOLD`), and turns the fast bins off (`M_MXFAST`
/// 0; the per-thread cache still serves small blocks). It changes where
/// memory comes from, never a number; `RECSYS_MALLOC_TUNING=off` keeps
/// glibc's defaults. Other C libraries: nothing to do.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var("RECSYS_MALLOC_TUNING").is_ok_and(|v| v == "off") {
                return;
            }
            // SAFETY: `mallopt` only sets glibc allocator parameters, under
            // the allocator's own lock; it touches no Rust-visible memory.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
                libc::mallopt(libc::M_MXFAST, 0);
            }
        });
    }
}

impl fmt::Display for ResolvedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// Burn's backends draw every random tensor (initial weights, dropout masks)
/// from one process-wide generator that `Device::seed` resets. Two trainings
/// at once in one process would interleave their draws, and the same seed
/// would no longer give the same numbers; so every seeded training holds
/// this lock from its seeding to its end (trainings in one process run one
/// after another).
static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Seeds `device`'s generator and returns the guard that keeps other
/// trainings out until it is dropped.
pub(crate) fn seeded(device: &Device, seed: u64) -> std::sync::MutexGuard<'static, ()> {
    let guard = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    device.seed(seed);
    guard
}
