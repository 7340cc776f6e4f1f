//! Deep CTR benchmark on the peers' protocol A (ML-100K, 1 + 999 sampled
//! candidates): our DeepFM with the reference's sizes (7 fields × 16 dims,
//! DNN 128-64, Adam 1e-3, batch 1024, early stopping on validation NDCG@10,
//! patience 3, at most 20 epochs) for the reference's three seeds, beside
//! the PyTorch DeepFM of the harness (`deepfm.py`, same split files),
//! run in the same run through the peers venv (`./dev bench` installs
//! torch there), or its recorded results (`results/protocol_A_deepfm.json`)
//! when torch is missing. Seconds per training epoch (sampling + all batches),
//! seconds to score the 941,944 test rows, test HR@10 / NDCG@10.
//! `./dev bench deep`; results in benches/results/deep.md.
//! `RECSYS_DEEP_EPOCHS` caps the epochs; `RECSYS_DEEP_PARAMS` overrides
//! `CtrParams` as JSON (e.g. `{"lr": 0.002}`).

mod common;

use common::*;
use recsys::prelude::*;

fn main() {
    let epochs: usize = std::env::var("RECSYS_DEEP_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let Some(dir) = peers_dir() else {
        eprintln!("peer split files not found: set RECSYS_PEERS_DIR");
        return;
    };
    let ml = Dataset::movielens_100k().expect("ML-100K (set RECSYS_DATA_DIR)");
    let task = MovieLensCtr::from_dir(&ml, dir.join("splits/ml100k/loo_sampled"), 42)
        .unwrap()
        .uniform_dims(16);
    let base: CtrParams = match std::env::var("RECSYS_DEEP_PARAMS") {
        Ok(j) => serde_json::from_str(&j).expect("RECSYS_DEEP_PARAMS: CtrParams JSON"),
        Err(_) => DeepFm::params(),
    };
    let threads = rayon::current_num_threads();
    // The PyTorch reference in this run when the peers venv has torch,
    // else its recorded results.
    let (reference, same_run) = match run_pytorch_deepfm(&dir, epochs, threads) {
        Some(r) => (r, true),
        None => (
            std::fs::read_to_string(dir.join("results/protocol_A_deepfm.json"))
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            false,
        ),
    };
    let mut rows = Vec::new();
    // Adam's step size is chosen per seed on validation NDCG@10 (the best
    // epoch's); the reference's 1e-3 is one of the candidates.
    let lrs: Vec<f64> = std::env::var("RECSYS_DEEP_LRS")
        .unwrap_or_else(|_| "0.001,0.002".into())
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .expect("RECSYS_DEEP_LRS: comma-separated numbers")
        })
        .collect();
    let best_val = |m: &CtrModel| {
        m.epochs
            .iter()
            .map(|e| e.val_ndcg10)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    for seed in [42u64, 43, 44] {
        let mut fits: Vec<(f64, CtrModel)> = lrs
            .iter()
            .map(|&lr| {
                let p = base
                    .clone()
                    .seed(seed)
                    .max_epochs(epochs)
                    .compute(Compute::Cpu);
                (lr, p.lr(lr).fit(&task).unwrap())
            })
            .collect();
        fits.sort_by(|a, b| best_val(&b.1).total_cmp(&best_val(&a.1)));
        let (lr, model) = fits.swap_remove(0);
        let t = std::time::Instant::now();
        let test = model.evaluate(&task.test).unwrap();
        let eval = t.elapsed().as_secs_f64();
        let mut epoch_s: Vec<f64> = model.epochs.iter().map(|e| e.train_seconds).collect();
        epoch_s.sort_by(f64::total_cmp);
        let peer = reference["runs"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["seed"].as_u64() == Some(seed)));
        let pf = |k: &str| peer.and_then(|p| p[k].as_f64());
        let pt = |k: &str| peer.and_then(|p| p["test"][k].as_f64());
        let f4 = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.4}"));
        rows.push(vec![
            seed.to_string(),
            format!("{lr} (val NDCG@10 {:.4})", best_val(&model)),
            format!("{:.4} / {}", test.get("HR@10").unwrap(), f4(pt("hr@10"))),
            format!(
                "{:.4} / {}",
                test.get("NDCG@10").unwrap(),
                f4(pt("ndcg@10"))
            ),
            format!(
                "{} / {}",
                model.best_epoch,
                peer.map_or("–".into(), |p| p["best_epoch"].to_string())
            ),
            format!(
                "{:.2} / {}",
                epoch_s[epoch_s.len() / 2],
                pf("train_s_per_epoch_median").map_or("–".into(), |v| format!("{v:.2}"))
            ),
            format!(
                "{:.2} / {}",
                eval,
                pf("predict_test_s").map_or("–".into(), |v| format!("{v:.2}"))
            ),
            format!(
                "{} / {}",
                model.n_params,
                peer.and_then(|p| p["n_params"].as_u64())
                    .map_or("–".into(), |v| v.to_string())
            ),
        ]);
    }
    write_table(
        "deep",
        "DeepFM on protocol A: ours / PyTorch reference",
        &["seed", "Adam lr (by validation)", "test HR@10", "test NDCG@10", "best epoch", "s per epoch (median)", "s to score test", "parameters"],
        &rows,
        &[
            if same_run {
                format!(
                    "ours: burn-flex CPU backend, {threads} rayon threads; the reference: ../shared/peers/deepfm.py ({}, CPU, {} threads), run in the same run, before ours",
                    reference["config"]["torch"].as_str().unwrap_or("torch"),
                    reference["config"]["torch_threads"]
                )
            } else {
                format!("ours: burn-flex CPU backend, {threads} rayon threads; the reference: torch 2.15 CPU, 2 threads, recorded by ../shared/peers (results/protocol_A_deepfm.json): torch is not in the peers venv, so not timed in this run")
            },
            format!("ours: Adam's step size chosen per seed among {lrs:?} by the best epoch's validation NDCG@10 (the reference uses 1e-3); test metrics of that model"),
            "s per epoch: negative sampling + every training batch (both sides); s to score test: the 941,944 test rows".into(),
            "parameters differ by the genre table: ours has one more row (the padding id of the genre sequence)".into(),
        ],
    );
}

/// Runs the peers' PyTorch DeepFM (`deepfm.py`: seeds 42, 43, 44) with
/// `threads` torch threads and returns its result JSON; `None` when the
/// peers Python has no torch.
fn run_pytorch_deepfm(
    dir: &std::path::Path,
    epochs: usize,
    threads: usize,
) -> Option<serde_json::Value> {
    let Some(py) = peers_python_with_torch() else {
        return None;
    };
    eprintln!("running the PyTorch reference (deepfm.py, 3 seeds, {threads} threads)");
    let code = format!(
        "import json, deepfm; print(json.dumps(deepfm.run(3, {epochs}, threads={threads})))"
    );
    let out = std::process::Command::new(&py)
        .current_dir(dir)
        .args(["-c", &code])
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.starts_with('[')) {
        eprintln!("{line}");
    }
    if !out.status.success() {
        eprintln!("the PyTorch reference failed; using its recorded results");
        return None;
    }
    serde_json::from_str(stdout.lines().last()?).ok()
}
