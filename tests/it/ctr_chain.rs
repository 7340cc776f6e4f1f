//! The CTR chain (LR, Poly2, FM, FFM): the documents' configs run end to
//! end through `recsys train`'s code, saved models give the same numbers,
//! and on the peers' MovieLens CTR files FM and LR reach their peers.

use std::path::PathBuf;

use recsys::eval::{ScoredRows, compare_pointwise, evaluate_rows};
use recsys::prelude::*;

use crate::{env_dir, temp_dir};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_documents_toy_ctr_fm_config_trains_saves_and_reloads() {
    let out = temp_dir("toy-ctr-fm");
    let sets = [
        "data.rows=20000".to_string(),
        "model.epochs=3".to_string(),
        format!("output.dir={:?}", out.display().to_string()),
    ];
    let cfg = recsys::cli::TrainConfig::load_with(&root().join("configs/toy_ctr_fm.toml"), &sets)
        .unwrap();
    let report = cfg.run().unwrap();
    assert!(
        report.protocol.starts_with("pointwise"),
        "{}",
        report.protocol
    );
    let auc = report.metric("AUC").unwrap();
    assert!(auc.mean > 0.6 && auc.ci_low < auc.mean, "{auc:?}");
    assert!(
        report
            .params
            .iter()
            .any(|(k, v)| k == "optimizer" && v == "adagrad"),
        "{:?}",
        report.params
    );
    assert!(out.join("model.recsys").is_file());
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(
        again[0].get("AUC"),
        report.get("AUC"),
        "the saved model and encoders"
    );
    assert_eq!(again[0].get("LogLoss"), report.get("LogLoss"));
    assert!(recsys::cli::evaluate_checkpoint(&out, true).is_err());
    // A bad override names its key; an unknown model names the choices.
    let bad = |set: &str| {
        recsys::cli::TrainConfig::load_with(
            &root().join("configs/toy_ctr_fm.toml"),
            &[set.to_string()],
        )
        .unwrap_err()
        .to_string()
    };
    let e = bad("model.alpa=1");
    assert!(e.contains("alpa"), "{e}");
    let e = bad("model.learning_rate=-1");
    assert!(e.contains("learning_rate"), "{e}");
    let e = bad("model.model=\"svm\"");
    assert!(e.contains("svm") && e.contains("ffm"), "{e}");
}

#[test]
fn the_lsplm_config_trains_and_reloads() {
    let out = temp_dir("toy-ctr-lsplm");
    let sets = [
        "data.rows=20000".to_string(),
        "model.epochs=2".to_string(),
        format!("output.dir={:?}", out.display().to_string()),
    ];
    let cfg =
        recsys::cli::TrainConfig::load_with(&root().join("configs/toy_ctr_lsplm.toml"), &sets)
            .unwrap();
    let report = cfg.run().unwrap();
    assert!(
        report
            .params
            .iter()
            .any(|(k, v)| k == "model" && v == "lsplm"),
        "{:?}",
        report.params
    );
    assert!(report.get("AUC").unwrap() > 0.6);
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(again[0].get("AUC"), report.get("AUC"));
}

#[test]
fn the_documents_lsplm_tree_config_trains_and_reloads() {
    let out = temp_dir("toy-ctr-lsplm-tree");
    let sets = [
        "data.rows=20000".to_string(),
        "model.epochs=2".to_string(),
        "model.min_region_size=300".to_string(),
        format!("output.dir={:?}", out.display().to_string()),
    ];
    let cfg =
        recsys::cli::TrainConfig::load_with(&root().join("configs/toy_ctr_lsplm_tree.toml"), &sets)
            .unwrap();
    let report = cfg.run().unwrap();
    assert!(report.get("AUC").unwrap() > 0.6, "{:?}", report.get("AUC"));
    assert!(
        report.params.iter().any(|(k, _)| k == "fallback_regions"),
        "{:?}",
        report.params
    );
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(
        again[0].get("AUC"),
        report.get("AUC"),
        "the saved tree and LRs"
    );
    let e = recsys::cli::TrainConfig::load_with(
        &root().join("configs/toy_ctr_lsplm_tree.toml"),
        &["model.max_leaves=0".to_string()],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("max_leaves"), "{e}");
}

#[test]
fn the_documents_gbdt_lr_config_trains_and_reloads() {
    let out = temp_dir("toy-ctr-gbdt-lr");
    let sets = [
        "data.rows=20000".to_string(),
        "model.max_trees=30".to_string(),
        "model.epochs=2".to_string(),
        format!("output.dir={:?}", out.display().to_string()),
    ];
    let path = root().join("configs/toy_ctr_gbdt_lr.toml");
    let cfg = recsys::cli::TrainConfig::load_with(&path, &sets).unwrap();
    let report = cfg.run().unwrap();
    assert!(report.get("AUC").unwrap() > 0.6, "{:?}", report.get("AUC"));
    for key in ["trees_fitted", "lr_rows", "tree_fraction"] {
        assert!(
            report.params.iter().any(|(k, _)| k == key),
            "{key}: {:?}",
            report.params
        );
    }
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(
        again[0].get("AUC"),
        report.get("AUC"),
        "the saved trees and LR"
    );
    assert_eq!(again[0].get("LogLoss"), report.get("LogLoss"));
    let e = recsys::cli::TrainConfig::load_with(&path, &["model.tree_fraction=1.5".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("tree_fraction"), "{e}");
}

#[test]
fn the_documents_criteo_fm_config_runs_on_the_peers_split() {
    let Some(peers) = env_dir("RECSYS_PEERS_DIR") else {
        return;
    };
    let out = temp_dir("criteo-fm");
    let sets = [
        format!(
            "data.split_dir={:?}",
            peers.join("splits/ctr/criteo").display().to_string()
        ),
        format!("output.dir={:?}", out.display().to_string()),
    ];
    let cfg =
        recsys::cli::TrainConfig::load_with(&root().join("configs/criteo_fm.toml"), &sets).unwrap();
    let report = cfg.run().unwrap();
    let auc = report.metric("AUC").unwrap();
    assert!(auc.mean > 0.70, "Criteo test AUC {auc:?}");
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(again[0].get("AUC"), report.get("AUC"));
}

/// Ours against the peer's saved test predictions: the AUC difference and
/// its paired p-value.
fn against_peer(
    peers: &std::path::Path,
    peer: &str,
    task: &FeatureTask,
    m: &dyn RowScorer,
) -> (f64, f64, f64) {
    let file = peers.join(format!(
        "ctr/results/ml100k_ctr_threads1_test_preds/{peer}.txt"
    ));
    let theirs: Vec<f32> = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let ours = m.score_rows(&task.test).unwrap();
    let labels = task.test.positives();
    let rows = |s| ScoredRows {
        scores: s,
        labels: &labels,
        groups: None,
        probabilities: true,
    };
    let c = compare_pointwise(rows(&theirs), rows(&ours), 42).unwrap();
    let report = evaluate_rows(m, &task.test, &task.name).unwrap();
    (report.get("AUC").unwrap(), c.auc.diff, c.auc.p_value)
}

#[test]
fn fm_and_lr_reach_their_peers_on_movielens_ctr() {
    let Some(peers) = env_dir("RECSYS_PEERS_DIR") else {
        return;
    };
    let task = FeatureTask::movielens_ctr_dir(peers.join("splits/ctr/ml100k_ctr")).unwrap();
    assert_eq!((task.train.len(), task.test.len()), (80_808, 9_596));
    // The settings the bench selects on validation (benches/results/ctr.md).
    let fm = ShallowCtr::fm()
        .optimizer(CtrOptimizer::Adagrad {
            learning_rate: 0.05,
        })
        .threads(1)
        .fit(&task)
        .unwrap();
    let (auc, diff, p) = against_peer(&peers, "fm", &task, &fm);
    // The peers' PyTorch FM: 0.7843.
    assert!(
        diff > 0.0 && p < 0.05,
        "FM test AUC {auc:.4}: {diff:+.4} (p {p:.3}) against the peer"
    );
    let lr = ShallowCtr::lr()
        .optimizer(CtrOptimizer::Ftrl {
            alpha: 0.5,
            beta: 1.0,
        })
        .l2(3.0)
        .threads(1)
        .fit(&task)
        .unwrap();
    let (auc, diff, p) = against_peer(&peers, "sk_lr", &task, &lr);
    // scikit-learn's converged L2 LR: 0.7874.
    assert!(
        diff > -0.003 && p > 0.05,
        "LR test AUC {auc:.4}: {diff:+.4} (p {p:.3}) against sk_lr"
    );
}
