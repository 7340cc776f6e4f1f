//! Neighbourhood CF benchmark: fit + top-10 for all users on the peers'
//! protocol-B split of ML-100K, ours against implicit's ItemKNN and the
//! numpy UserKNN in the same run; then ItemCF on a synthetic
//! 10M-interaction, 100k-item log (time and peak memory, in a child
//! process). `./dev bench cf` runs it; results in benches/results/cf.md.

mod common;

use common::*;
use recsys::prelude::*;

fn top10_all(model: &dyn Scorer) -> usize {
    (0..model.train().n_users() as u32)
        .map(|u| model.recommend(u, 10, true).len())
        .sum()
}

fn synthetic() {
    let t = std::time::Instant::now();
    let x = recsys::data::synthetic::power_law(500_000, 100_000, 10_000_000, 0.9, 42);
    let _ = x.csr();
    let _ = x.csc();
    let generate = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let m = ItemCF::params()
        .k(100)
        .similarity(Similarity::Dot)
        .weighting(Weighting::Bm25 { k1: 1.2, b: 0.75 })
        .fit(&x)
        .unwrap();
    let fit = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let users = 10_000u32;
    let n: usize = (0..users).map(|u| m.recommend(u, 10, true).len()).sum();
    let rec = t.elapsed().as_secs_f64();
    println!(
        "{{\"gen_s\": {generate}, \"fit_s\": {fit}, \"recommend_10k_users_s\": {rec}, \"lists\": {n}, \"nnz_sim\": {}, \"peak_rss_mib\": {}}}",
        m.similarity().nnz(),
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
        "ours: recsys with {threads} rayon threads; implicit with 1 and {threads} threads (OMP), numpy single-threaded; median of 5 (ours) / 3 (peers) runs, same machine, same run"
    )];
    match peers_dir() {
        None => notes.push("peer split files not found: set RECSYS_PEERS_DIR".into()),
        Some(dir) => {
            let s = dir.join("splits/ml100k/full_ranking");
            let split =
                recsys::split::predefined(&s.join("train.tsv"), None, &s.join("test.tsv")).unwrap();
            let cases: Vec<(&str, Box<dyn Fit>, &str, &str)> = vec![
                (
                    "ItemCF BM25, K=200",
                    Box::new(
                        ItemCF::params()
                            .k(199)
                            .similarity(Similarity::Dot)
                            .weighting(Weighting::Bm25 { k1: 1.2, b: 0.75 }),
                    ),
                    "bm25",
                    r#"{"kind":"bm25","K":200}"#,
                ),
                (
                    "ItemCF cosine, K=100",
                    Box::new(ItemCF::params().k(99)),
                    "cosine",
                    r#"{"kind":"cosine","K":100}"#,
                ),
                (
                    "UserCF cosine, k=50",
                    Box::new(UserCF::params().k(50)),
                    "userknn",
                    r#"{"k":50}"#,
                ),
            ];
            for (label, model, key, params) in cases {
                let (fit, scorer) =
                    median_secs(5, || model.fit_scorer((&split.train).into()).unwrap());
                let (rec, _) = median_secs(5, || top10_all(scorer.as_ref()));
                let ours = fit + rec;
                let ndcg = Pipeline::predefined(s.join("train.tsv"), s.join("test.tsv"))
                    .recall_boxed(
                        recsys::models::model_from_name(&model.name(), &model.params()).unwrap(),
                    )
                    .evaluate()
                    .unwrap()
                    .get("NDCG@10")
                    .unwrap();
                let mut row = vec![
                    label.to_string(),
                    format!("{ndcg:.4}"),
                    ms(fit),
                    ms(rec),
                    ms(ours),
                ];
                for t in [1, threads] {
                    match time_peer(key, params, t) {
                        Some(v) => {
                            let (pf, pp) = (
                                v["fit_s"].as_f64().unwrap(),
                                v["predict_s"].as_f64().unwrap(),
                            );
                            row.push(format!("{:.4}", v["ndcg@10"].as_f64().unwrap_or(f64::NAN)));
                            row.push(ms(pf + pp));
                            row.push(format!("{:.1}×", (pf + pp) / ours));
                        }
                        None => row.extend(["–".into(), "–".into(), "–".into()]),
                    }
                }
                rows.push(row);
            }
            if peers_python().is_none() {
                notes.push(
                    "peer Python not found: ./dev bench creates it (numpy, scipy, implicit 0.7.3)"
                        .into(),
                );
            }
        }
    }
    let v = run_synthetic_child();
    notes.push(format!(
        "synthetic 10M interactions, 500k users, 100k items (Zipf 0.9): generate + sparse views {:.1} s; ItemCF BM25 k=100 fit {:.1} s ({} neighbour pairs); top-10 for 10k users {:.2} s; peak RSS {:.0} MiB",
        v["gen_s"].as_f64().unwrap_or(f64::NAN),
        v["fit_s"].as_f64().unwrap_or(f64::NAN),
        v["nnz_sim"],
        v["recommend_10k_users_s"].as_f64().unwrap_or(f64::NAN),
        v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN)
    ));
    let t = threads.to_string();
    let head_peer_1 = "implicit/numpy 1 thread: NDCG@10";
    let head = [
        "model (protocol B, ML-100K)",
        "ours NDCG@10",
        "ours fit",
        "ours top-10 all users",
        "ours total",
        head_peer_1,
        "total",
        "speed-up",
        &format!("{t} threads: NDCG@10"),
        "total",
        "speed-up",
    ];
    write_table(
        "cf",
        "Neighbourhood CF: recsys vs implicit / numpy (fit + top-10 for all 943 users)",
        &head,
        &rows,
        &notes,
    );
}
