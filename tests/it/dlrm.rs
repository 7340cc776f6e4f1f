//! DLRM, embedding bags and the listwise (learning-to-rank) protocol on the
//! peer harness's files: the LTR task, NDCG@10 measured by eval on the
//! peers' own saved predictions (it must give their number), and the DLRM
//! configs trained from `recsys train` and reloaded.

use std::path::{Path, PathBuf};

use recsys::eval::evaluate_scores;
use recsys::features::FeatureTask;

use super::{env_dir, temp_dir};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn peer_scores(peers: &Path, model: &str) -> Vec<f32> {
    let file = peers.join(format!(
        "ctr/results/ml100k_ltr_threads1_test_preds/{model}.txt"
    ));
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[test]
fn the_ltr_files_are_graded_queries_and_eval_gives_the_peers_ndcg() {
    let Some(peers) = env_dir("RECSYS_PEERS_DIR") else {
        return;
    };
    let task = FeatureTask::movielens_ltr_dir(peers.join("splits/ctr/ml100k_ltr")).unwrap();
    assert_eq!(
        (
            task.train.len(),
            task.validation.as_ref().unwrap().len(),
            task.test.len()
        ),
        (70_771, 9_596, 19_633)
    );
    let grades = task.test.grades.as_ref().unwrap();
    assert!(grades.iter().all(|&g| (1.0..=5.0).contains(&g)));
    // The 0/1 label is rel ≥ 4, as the files' `label` column.
    assert_eq!(
        task.test.positives().iter().filter(|&&p| p).count(),
        grades.iter().filter(|&&g| g >= 4.0).count()
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(peers.join("ctr/results/ml100k_ltr_threads1.json")).unwrap(),
    )
    .unwrap();
    for model in ["dlrm_lambdarank", "dlrm_bce", "dlrm_mse"] {
        let r = evaluate_scores(model, &peer_scores(&peers, model), &task.test, "LTR", 42).unwrap();
        let theirs = results["models"][model]["test"]["ndcg@10"]
            .as_f64()
            .unwrap();
        assert!(
            (r.get("NDCG@10").unwrap() - theirs).abs() < 1e-6,
            "{model}: {} vs the peers' {theirs}",
            r.get("NDCG@10").unwrap()
        );
        assert_eq!(r.users.len(), 911);
        assert!(
            r.protocol.contains("32 with all grades equal"),
            "{}",
            r.protocol
        );
    }
}

#[test]
fn dlrm_trains_with_lambdarank_from_its_config_and_reloads() {
    let Some(peers) = env_dir("RECSYS_PEERS_DIR") else {
        return;
    };
    let out = temp_dir("dlrm-ltr");
    let sets = [
        format!(
            "data.split_dir={:?}",
            peers.join("splits/ctr/ml100k_ltr").display().to_string()
        ),
        format!("output.dir={:?}", out.display().to_string()),
        "model.max_epochs=2".to_string(),
        "model.verbose=false".to_string(),
    ];
    let cfg =
        recsys::cli::TrainConfig::load_with(&root().join("configs/dlrm_movielens_ltr.toml"), &sets)
            .unwrap();
    let report = cfg.run().unwrap();
    let ndcg = report.metric("NDCG@10").unwrap();
    // The peers' pop baseline is 0.7645, their DLRM + LambdaRank 0.8086.
    assert!(ndcg.mean > 0.78, "test NDCG@10 {ndcg:?}");
    assert!(
        report.protocol.starts_with("listwise"),
        "{}",
        report.protocol
    );
    assert!(
        report
            .params
            .iter()
            .any(|(k, v)| k == "loss" && v.contains("lambdarank"))
            && report
                .params
                .iter()
                .any(|(k, v)| k == "improvement" && v.contains("significant")),
        "{:?}",
        report.params
    );
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(again[0].get("NDCG@10"), report.get("NDCG@10"));
}

#[test]
fn dlrm_trains_on_criteo_with_dense_features_from_its_config() {
    let Some(peers) = env_dir("RECSYS_PEERS_DIR") else {
        return;
    };
    let out = temp_dir("dlrm-criteo");
    let sets = [
        format!(
            "data.split_dir={:?}",
            peers.join("splits/ctr/criteo").display().to_string()
        ),
        format!("output.dir={:?}", out.display().to_string()),
        "model.max_epochs=3".to_string(),
        "model.verbose=false".to_string(),
    ];
    let cfg = recsys::cli::TrainConfig::load_with(&root().join("configs/dlrm_criteo.toml"), &sets)
        .unwrap();
    let report = cfg.run().unwrap();
    let auc = report.metric("AUC").unwrap();
    assert!(auc.mean > 0.70, "Criteo test AUC {auc:?}");
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(again[0].get("AUC"), report.get("AUC"));
}

/// A generated learning-to-rank task: 300 queries of 12 items each; an
/// item's grade is its "quality" (0..4, a function of its id) plus noise,
/// and a numeric feature reveals half of it.
fn toy_ltr() -> FeatureTask {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut cols: [Vec<Box<str>>; 4] = Default::default();
    for q in 0..300 {
        for _ in 0..12 {
            let item = rng.random_range(0..60u32);
            let quality = (item * 7 % 5) as f32;
            let grade = (quality + rng.random_range(-0.6..0.6f32))
                .round()
                .clamp(0.0, 4.0);
            cols[0].push(q.to_string().into());
            cols[1].push(format!("{grade}").into());
            cols[2].push(item.to_string().into());
            cols[3].push(format!("{:.3}", quality / 2.0 + rng.random_range(0.0..1.0f32)).into());
        }
    }
    let names = ["query", "grade", "item", "signal"].map(String::from);
    let frame =
        recsys::data::RawFrame::from_columns("toy_ltr", names.into_iter().zip(cols).collect())
            .unwrap();
    let rows = |a: usize, b: usize| frame.select(&(a * 12..b * 12).collect::<Vec<_>>());
    use recsys::features::{ColumnRule, ColumnSpec, FeatureSpec, NumericTransform};
    let spec = FeatureSpec {
        label: "grade".into(),
        group: Some("query".into()),
        graded: Some(3.0),
        columns: vec![
            ColumnSpec::new("item", ColumnRule::Categorical { min_count: 1 }),
            ColumnSpec::new(
                "signal",
                ColumnRule::Numeric {
                    transform: NumericTransform::None,
                },
            ),
        ],
        dim: 8,
    };
    FeatureTask::new(
        "toy LTR",
        spec,
        &rows(0, 200),
        Some(&rows(200, 250)),
        &rows(250, 300),
    )
    .unwrap()
}

#[test]
fn dlrm_learns_to_rank_a_generated_task_and_is_seeded() {
    use recsys::models::FitRows;
    use recsys::prelude::*;
    let task = toy_ltr();
    let fit = |loss: Loss| {
        let mut p = Dlrm::params()
            .max_epochs(8)
            .patience(0)
            .verbose(false)
            .loss(loss);
        p = p.fm_dim(8).bottom(vec![16]).hidden(vec![16]).lr(0.01);
        p.fit_rows(&task).unwrap()
    };
    let lambdarank = fit(Loss::lambdarank());
    let report = recsys::eval::evaluate_rows(lambdarank.as_ref(), &task.test, "toy").unwrap();
    let random: Vec<f32> = (0..task.test.len())
        .map(|i| ((i * 7919) % 101) as f32)
        .collect();
    let floor = evaluate_scores("random", &random, &task.test, "toy", 42).unwrap();
    let (ours, theirs) = (
        report.get("NDCG@10").unwrap(),
        floor.get("NDCG@10").unwrap(),
    );
    assert!(
        ours > theirs + 0.1,
        "LambdaRank NDCG@10 {ours:.4} vs random {theirs:.4}"
    );
    // Same seed, same numbers.
    let again = fit(Loss::lambdarank());
    assert_eq!(
        again.score_rows(&task.test).unwrap(),
        lambdarank.score_rows(&task.test).unwrap()
    );
    // The pointwise losses train on the same task.
    for loss in [Loss::Bce, Loss::Mse] {
        let m = fit(loss);
        let r = recsys::eval::evaluate_rows(m.as_ref(), &task.test, "toy").unwrap();
        assert!(r.get("NDCG@10").unwrap() > theirs, "{loss:?}");
    }
}

#[test]
fn listwise_losses_need_queries() {
    use recsys::models::FitRows;
    use recsys::prelude::*;
    let mut task = FeatureTask::toy_ctr(400, 1).unwrap();
    task.train.groups = None;
    let e = Dlrm::params()
        .loss(Loss::lambdarank())
        .verbose(false)
        .fit_rows(&task)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no group"), "{e}");
}

#[test]
fn a_significant_improvement_needs_per_query_validation_values() {
    // A task that validates on AUC has no per-query values to test.
    let task = FeatureTask::toy_ctr(1200, 3).unwrap();
    assert!(task.validation.is_some());
    let err = recsys::models::deep::Dlrm::params()
        .max_epochs(1)
        .improvement(recsys::models::deep::Improvement::significant())
        .verbose(false)
        .fit_features(&task)
        .unwrap_err();
    assert!(err.to_string().contains("validates on AUC"), "{err}");
}
