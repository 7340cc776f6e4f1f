//! Deep CTR benchmark on the peers' protocol A (ML-100K, 1 + 999 sampled
//! candidates): our DeepFM with the reference's sizes (7 fields × 16 dims,
//! DNN 128-64, Adam 1e-3, batch 1024) against the PyTorch DeepFM of
//! `../shared/peers/deepfm.py` in the same run: seconds per training epoch
//! (sampling + all batches), seconds to score the 941,944 test rows, test
//! HR@10/NDCG@10. `./dev bench deep`; results in benches/results/deep.md.
//! `RECSYS_DEEP_EPOCHS` caps the epochs (default 20, as the reference).

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
    let threads = rayon::current_num_threads();
    // RECSYS_DEEP_PARAMS: JSON overrides of CtrParams (e.g. {"lr": 0.002}).
    let params: CtrParams = match std::env::var("RECSYS_DEEP_PARAMS") {
        Ok(j) => serde_json::from_str(&j).expect("RECSYS_DEEP_PARAMS: CtrParams JSON"),
        Err(_) => DeepFm::params(),
    };
    let model = params
        .max_epochs(epochs)
        .compute(Compute::Cpu)
        .fit(&task)
        .unwrap();
    let t = std::time::Instant::now();
    let test = model.evaluate(&task.test).unwrap();
    let eval = t.elapsed().as_secs_f64();
    println!("{model}");
    println!(
        "best val NDCG@10 {:.4}",
        model
            .epochs
            .iter()
            .map(|e| e.val_ndcg10)
            .fold(f64::NAN, f64::max)
    );
    println!(
        "ours: {} params, {threads} threads, epoch {:.3} s (median {:.3} s), test eval {:.2} s, HR@10 {:.4}, NDCG@10 {:.4}, AUC {:.4}",
        model.n_params,
        model.epoch_seconds(),
        median(model.epochs.iter().map(|e| e.train_seconds).collect()),
        eval,
        test.get("HR@10").unwrap(),
        test.get("NDCG@10").unwrap(),
        test.get("AUC").unwrap_or(f64::NAN),
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
