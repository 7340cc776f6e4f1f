//! The GPU code path agrees with the CPU backend: every architecture, from
//! the same weights, gives the same logits on burn-wgpu as on burn-flex, and
//! after the same steps of the trainer's update still does, within float tolerance.
//!
//! Runs on whatever wgpu adapter the machine has: CI uses Mesa lavapipe, a
//! software Vulkan driver (`mesa-vulkan-drivers`), so the GPU kernels run
//! there too. Without any adapter the test says so and passes, unless
//! `RECSYS_REQUIRE_WGPU=1` (set by `.ci/run`) makes that a failure.

use burn::tensor::Device;
use rand::{RngExt, SeedableRng};

use super::device::{Compute, ResolvedDevice};
use super::layers::InputPlan;
use super::model::transfer;
use super::net::{Arch, CtrNet, NetConfig};
use super::train::{CtrParams, Targets, train_step};
use crate::features::{CtrBatch, DatasetSchema, FieldKind, FieldSchema, Pooling};

fn schema() -> DatasetSchema {
    let sparse = |name: &str, dim: usize, vocab: usize| {
        let mut f = FieldSchema::sparse(name, dim);
        f.vocab = vocab;
        f
    };
    let mut genres = FieldSchema::sequence("genres", 4, Pooling::Mean, 8);
    genres.vocab = 12;
    DatasetSchema {
        fields: vec![
            sparse("user", 16, 60),
            sparse("gender", 4, 3),
            sparse("item", 16, 90),
            genres,
        ],
    }
}

/// `n` random rows (ids may be 0, the padding id), labels 0/1.
fn batch(schema: &DatasetSchema, n: usize, seed: u64) -> CtrBatch {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut sparse, mut sequences, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        for f in &schema.fields {
            if let FieldKind::Sparse = f.kind {
                sparse.push(rng.random_range(0..f.vocab as u32));
            }
        }
        for f in &schema.fields {
            if let FieldKind::Sequence { max_len, .. } = f.kind {
                let len = rng.random_range(0..=max_len);
                for k in 0..max_len {
                    sequences.push(if k < len {
                        rng.random_range(1..f.vocab as u32)
                    } else {
                        0
                    });
                }
            }
        }
        labels.push(rng.random_range(0..2u32) as f32);
    }
    CtrBatch {
        sparse,
        sequences,
        labels,
        len: n,
        ..Default::default()
    }
}

fn logits(net: &CtrNet, plan: &InputPlan, b: &CtrBatch, device: &Device) -> Vec<f32> {
    net.forward(plan.input(b, device))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

/// Largest |a − b| / max(1, |b|).
fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

/// Three steps of the trainer's own update (Adam, lr 1e-2) on `b`.
fn train(mut net: CtrNet, plan: &InputPlan, b: &CtrBatch, device: &Device) -> CtrNet {
    let params = CtrParams::new(Arch::DeepFm).lr(1e-2);
    let mut optim = params.build_optimizer();
    for _ in 0..3 {
        let targets = Targets::default();
        (net, _) = train_step(
            net, &mut optim, params.lr, &params, plan, b, &targets, device,
        );
    }
    net
}

#[test]
fn wgpu_agrees_with_the_cpu_backend() {
    let gpu = match Compute::Wgpu.resolve() {
        Ok(d) => d,
        Err(e) => {
            assert!(
                std::env::var("RECSYS_REQUIRE_WGPU").as_deref() != Ok("1"),
                "RECSYS_REQUIRE_WGPU=1 but {e}"
            );
            eprintln!("skipped: {e}");
            return;
        }
    };
    eprintln!("wgpu device: {gpu}");
    let schema = schema();
    let b = batch(&schema, 256, 1);
    let cpu = Device::flex().autodiff();
    let gdev = gpu.device.clone().autodiff();
    for arch in Arch::ALL {
        let cfg = NetConfig {
            arch,
            ..NetConfig::default()
        };
        cpu.seed(42);
        let net_cpu = CtrNet::new(&schema, &cfg, &cpu);
        let plan = net_cpu.input_plan(&schema);
        let on_gpu = ResolvedDevice {
            device: gdev.clone(),
            description: gpu.description.clone(),
        };
        let net_gpu = transfer(&net_cpu, &schema, &cfg, &on_gpu).unwrap();
        let (a, g) = (
            logits(&net_cpu, &plan, &b, &cpu),
            logits(&net_gpu, &plan, &b, &gdev),
        );
        let d0 = max_rel_diff(&g, &a);
        assert!(d0 < 1e-4, "{arch:?}: forward differs by {d0}");
        let net_cpu = train(net_cpu, &plan, &b, &cpu);
        let net_gpu = train(net_gpu, &plan, &b, &gdev);
        let (a1, g1) = (
            logits(&net_cpu, &plan, &b, &cpu),
            logits(&net_gpu, &plan, &b, &gdev),
        );
        let moved = max_rel_diff(&a1, &a);
        let d1 = max_rel_diff(&g1, &a1);
        eprintln!(
            "{arch:?}: forward diff {d0:.2e}; after 3 Adam steps diff {d1:.2e} (weights moved the logits by {moved:.2e})"
        );
        assert!(moved > 1e-3, "{arch:?}: training changed nothing");
        assert!(
            d1 < 1e-3,
            "{arch:?}: after 3 Adam steps the backends differ by {d1}"
        );
    }
}
