//! Matrix factorisation benchmark: fit time (same factors and iterations)
//! and NDCG@10 on the peers' protocol-B split of ML-100K, ours against
//! implicit's ALS and BPR and LightFM's WARP in the same run; then ALS on a
//! synthetic 20M-interaction log (time and peak memory, in a child process).
//! `./dev bench mf` runs it; results in benches/results/mf.md.

mod common;

use common::*;
use recsys::prelude::*;

fn synthetic() {
    let t = std::time::Instant::now();
    let x = recsys::data::synthetic::power_law(1_000_000, 200_000, 20_000_000, 0.9, 42);
    let _ = x.csr();
    let generate = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let m = Als::params().factors(64).iterations(15).fit(&x).unwrap();
    let fit = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let users: Vec<u32> = (0..10_000).collect();
    let n: usize = m
        .recommend_users(&users, 10, true)
        .iter()
        .map(Vec::len)
        .sum();
    let rec = t.elapsed().as_secs_f64();
    println!(
        "{{\"gen_s\": {generate}, \"fit_s\": {fit}, \"recommend_10k_users_s\": {rec}, \"lists\": {n}, \"nnz\": {}, \"peak_rss_mib\": {}}}",
        x.len(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
}

fn main() {
    if std::env::args().any(|a| a == "synthetic") {
        return synthetic();
    }
    let threads = rayon::current_num_threads();
    let mut rows = Vec::new();
    let mut notes = vec![format!(
        "fit time, median of 5 (ours) / 3 (peers) fits, same machine, same run; ours with {threads} rayon threads unless the row says otherwise; peers with 1 and {threads} threads (OpenMP; LightFM's wheel-less build may run single-threaded)"
    )];
    match peers_dir() {
        None => notes.push("peer split files not found: set RECSYS_PEERS_DIR".into()),
        Some(dir) => {
            let s = dir.join("splits/ml100k/full_ranking");
            let split =
                recsys::split::predefined(&s.join("train.tsv"), None, &s.join("test.tsv")).unwrap();
            // (label, ours, peer key, peer params)
            let cases: Vec<(&str, Box<dyn Fit>, &str, &str)> = vec![
                (
                    "ALS f=64, 15 it, α=1 (CG) vs implicit ALS",
                    Box::new(Als::params().alpha(1.0)),
                    "als",
                    r#"{"alpha":1.0}"#,
                ),
                (
                    "ALS f=64, 15 it, α=1, 2 CG steps vs implicit ALS (3)",
                    Box::new(Als::params().alpha(1.0).cg_steps(2)),
                    "als",
                    r#"{"alpha":1.0}"#,
                ),
                (
                    "BPR f=64, 100 ep, 1 thread vs implicit BPR (100 it)",
                    Box::new(Bpr::params().epochs(100)),
                    "bpr",
                    r#"{}"#,
                ),
                (
                    "BPR f=64, 30 ep (≥ implicit's NDCG), 1 thread vs implicit BPR (100 it)",
                    Box::new(Bpr::params().epochs(30)),
                    "bpr",
                    r#"{}"#,
                ),
                (
                    "BPR f=64, 100 ep, 1 thread vs LightFM WARP (30 ep)",
                    Box::new(Bpr::params().epochs(100)),
                    "lightfm",
                    r#"{"epochs":30}"#,
                ),
                (
                    "BPR f=64, 100 ep, Hogwild (all threads) vs implicit BPR (100 it, Hogwild)",
                    Box::new(Bpr::params().epochs(100).threads(0)),
                    "bpr",
                    r#"{}"#,
                ),
                (
                    "BPR f=64, 100 ep, Hogwild (all threads) vs LightFM WARP (30 ep)",
                    Box::new(Bpr::params().epochs(100).threads(0)),
                    "lightfm",
                    r#"{"epochs":30}"#,
                ),
                (
                    "EASE λ=200 (no peer)",
                    Box::new(Ease::params().lambda(200.0)),
                    "",
                    "",
                ),
            ];
            for (label, model, key, params) in cases {
                let (fit, _) = median_secs(5, || model.fit_scorer((&split.train).into()).unwrap());
                let ndcg = Pipeline::predefined(s.join("train.tsv"), s.join("test.tsv"))
                    .recall_boxed(
                        recsys::models::model_from_name(&model.name(), &model.params()).unwrap(),
                    )
                    .evaluate()
                    .unwrap()
                    .get("NDCG@10")
                    .unwrap();
                let mut row = vec![label.to_string(), format!("{ndcg:.4}"), ms(fit)];
                for t in [1, threads] {
                    match (!key.is_empty())
                        .then(|| time_peer(key, params, t))
                        .flatten()
                    {
                        Some(v) => {
                            let pf = v["fit_s"].as_f64().unwrap();
                            row.push(format!("{:.4}", v["ndcg@10"].as_f64().unwrap_or(f64::NAN)));
                            row.push(ms(pf));
                            row.push(format!("{:.1}×", pf / fit));
                        }
                        None => row.extend(["–".into(), "–".into(), "–".into()]),
                    }
                }
                rows.push(row);
            }
            if peers_python().is_none() {
                notes.push("peer Python not found: ./dev bench creates it".into());
            }
        }
    }
    if std::env::var("RECSYS_BENCH_SKIP_SYNTHETIC").is_err() {
        let v = run_synthetic_child();
        notes.push(format!(
            "synthetic {} interactions, 1M users, 200k items (Zipf 0.9): generate {:.1} s; ALS f=64, 15 iterations fit {:.1} s; exact top-10 for 10k users (blocked) {:.2} s; peak RSS {:.0} MiB",
            v["nnz"],
            v["gen_s"].as_f64().unwrap_or(f64::NAN),
            v["fit_s"].as_f64().unwrap_or(f64::NAN),
            v["recommend_10k_users_s"].as_f64().unwrap_or(f64::NAN),
            v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN)
        ));
    }
    let t = threads.to_string();
    let head = [
        "model (protocol B, ML-100K)",
        "ours NDCG@10",
        "ours fit",
        "peer 1 thread: NDCG@10",
        "fit",
        "speed-up",
        &format!("peer {t} threads: NDCG@10"),
        "fit",
        "speed-up",
    ];
    write_table(
        "mf",
        "Matrix factorisation: recsys vs implicit / LightFM (fit time at the same factors and iterations)",
        &head,
        &rows,
        &notes,
    );
}
