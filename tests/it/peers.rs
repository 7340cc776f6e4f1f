//! Popularity reproduces the peer harness's numbers on both protocols,
//! through the CLI and through the builder.

use std::path::Path;

use recsys::prelude::*;

use crate::peer_splits;

/// The peer harness's test metrics of `model` for protocol `file`.
fn peer_metrics(file: &str, model: &str) -> Vec<(String, f64)> {
    let dir = std::env::var("RECSYS_PEERS_DIR").unwrap();
    let text = std::fs::read_to_string(Path::new(&dir).join("results").join(file)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rename = |k: &str| {
        let (name, at) = k.split_once('@').map_or((k, None), |(a, b)| (a, Some(b)));
        let ours = match name {
            "precision" => "Precision",
            "recall" => "Recall",
            "ndcg" => "NDCG",
            "map" => "MAP",
            "hr" => "HR",
            "coverage" => "Coverage",
            "mrr" => "MRR",
            "user_auc" => "UserAUC",
            _ => return None,
        };
        Some(match at {
            Some(k) => format!("{ours}@{k}"),
            None => ours.to_string(),
        })
    };
    v["models"][model]["test"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, x)| Some((rename(k)?, x.as_f64()?)))
        .collect()
}

fn assert_matches(report: &Report, expected: &[(String, f64)]) {
    assert!(expected.len() >= 6);
    for (name, value) in expected {
        let ours = report
            .get(name)
            .unwrap_or_else(|| panic!("report lacks {name}"));
        assert!(
            (ours - value).abs() < 5e-4,
            "{name}: ours {ours:.5}, peers {value:.5}"
        );
    }
}

#[test]
fn popularity_protocol_b_builder() {
    let Some(s) = peer_splits() else { return };
    let r = Pipeline::predefined(
        s.join("full_ranking/train.tsv"),
        s.join("full_ranking/test.tsv"),
    )
    .recall(Popularity::default())
    .evaluate()
    .unwrap();
    assert_eq!(r.users.len(), 943);
    assert_matches(
        &r,
        &peer_metrics("protocol_B_full_ranking_threads1.json", "popularity"),
    );
}

#[test]
fn popularity_protocol_a_builder() {
    let Some(s) = peer_splits() else { return };
    let r = Pipeline::predefined_sampled(
        s.join("loo_sampled/train.tsv"),
        s.join("loo_sampled/test_candidates.tsv"),
    )
    .recall(Popularity::default())
    .ks(&[5, 10, 20])
    .evaluate()
    .unwrap();
    assert_eq!(r.users.len(), 942);
    assert_matches(
        &r,
        &peer_metrics("protocol_A_loo_sampled_threads1.json", "popularity"),
    );
}

fn cli(args: &[&str]) -> Report {
    let dir = crate::temp_dir("peers-cli");
    let json = dir.join(format!("{}.json", args.len()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recsys"))
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Report::load_json(&json).unwrap()
}

#[test]
fn popularity_both_protocols_cli() {
    let Some(s) = peer_splits() else { return };
    let p = |f: &str| s.join(f).to_string_lossy().into_owned();
    let b = cli(&[
        "evaluate",
        "--train",
        &p("full_ranking/train.tsv"),
        "--test",
        &p("full_ranking/test.tsv"),
        "--model",
        "popularity",
        "--k",
        "10",
    ]);
    assert_matches(
        &b,
        &peer_metrics("protocol_B_full_ranking_threads1.json", "popularity"),
    );
    let a = cli(&[
        "evaluate",
        "--train",
        &p("loo_sampled/train.tsv"),
        "--candidates",
        &p("loo_sampled/test_candidates.tsv"),
        "--model",
        "popularity",
        "--k",
        "5,10,20",
    ]);
    assert_matches(
        &a,
        &peer_metrics("protocol_A_loo_sampled_threads1.json", "popularity"),
    );
    assert_eq!(a.model, "popularity");
    assert!(a.fit_seconds >= 0.0 && a.recommend_seconds > 0.0);
}
