//! Feature tasks from CTR files (Criteo, Avazu) on the peer harness's split
//! files, and DeepFM trained on Criteo from a `recsys train` config under
//! the pointwise protocol.

use std::path::PathBuf;

use recsys::prelude::*;

use crate::{env_dir, temp_dir};

fn ctr_splits() -> Option<PathBuf> {
    env_dir("RECSYS_PEERS_DIR").map(|p| p.join("splits/ctr"))
}

/// The peers' per-field cardinalities (incl. OOV) of `protocol`.
fn peer_cardinalities(protocol: &str) -> Vec<(String, usize)> {
    let peers = env_dir("RECSYS_PEERS_DIR").unwrap();
    let path = peers.join(format!("ctr/results/{protocol}_threads1.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["field_cardinalities_incl_oov"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap() as usize))
        .collect()
}

fn check_cardinalities(task: &FeatureTask, protocol: &str) {
    let peers = peer_cardinalities(protocol);
    assert_eq!(
        task.schema().fields.len(),
        peers.len(),
        "{protocol}: fields"
    );
    for (name, n) in &peers {
        let f = task
            .schema()
            .field(name)
            .unwrap_or_else(|| panic!("{protocol}: no field {name}"));
        assert_eq!(f.vocab, *n, "{protocol}: {name}");
    }
}

#[test]
fn criteo_split_files_encode_with_the_peers_vocabularies() {
    let Some(dir) = ctr_splits() else { return };
    let task = FeatureTask::criteo_dir(dir.join("criteo")).unwrap();
    assert_eq!(
        (
            task.train.len(),
            task.validation.as_ref().unwrap().len(),
            task.test.len()
        ),
        (8_000, 1_000, 1_000)
    );
    check_cardinalities(&task, "criteo");
    let total: usize = task.schema().fields.iter().map(|f| f.vocab).sum();
    assert_eq!(total, 11_422, "the peers' one-hot width");
    let positives = task.test.positives().iter().filter(|&&p| p).count();
    assert_eq!(positives, 224);
}

#[test]
fn avazu_split_files_encode_with_the_peers_vocabularies() {
    let Some(dir) = ctr_splits() else { return };
    let task = FeatureTask::avazu_dir(dir.join("avazu")).unwrap();
    assert_eq!((task.train.len(), task.test.len()), (7_199, 901));
    check_cardinalities(&task, "avazu");
}

#[test]
fn the_criteo_and_avazu_samples_load_whole() {
    let Some(data) = crate::data_dir() else {
        return;
    };
    let criteo = RawFrame::read_criteo(data.join("criteo-kaggle-sample/sample.train")).unwrap();
    assert_eq!(criteo.len(), 10_000);
    let labels = criteo.column("label").unwrap();
    assert_eq!(labels.iter().filter(|l| &***l == "1").count(), 2_182);
    let avazu = RawFrame::read_avazu(data.join("avazu-sample/train")).unwrap();
    assert_eq!(avazu.len(), 8_999);
    assert_eq!(avazu.columns.len(), 1 + 24);
    let [train, val, test] = criteo.split_random(0.1, 0.1, 42).unwrap();
    assert_eq!((train.len(), val.len(), test.len()), (8_000, 1_000, 1_000));
}

#[test]
fn deepfm_trains_on_criteo_from_a_train_config_and_reloads_without_refitting() {
    let Some(dir) = ctr_splits() else { return };
    let out = temp_dir("deepfm-criteo");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let sets = [
        format!(
            "data.split_dir={:?}",
            dir.join("criteo").display().to_string()
        ),
        format!("output.dir={:?}", out.display().to_string()),
        "model.max_epochs=2".to_string(),
        "model.compute=cpu".to_string(),
        "model.verbose=false".to_string(),
    ];
    let cfg = recsys::cli::TrainConfig::load_with(&root.join("configs/deepfm_criteo.toml"), &sets)
        .unwrap();
    let report = cfg.run().unwrap();
    assert!(
        report.protocol.starts_with("pointwise"),
        "{}",
        report.protocol
    );
    let auc = report.metric("AUC").unwrap();
    let ll = report.metric("LogLoss").unwrap();
    assert!(auc.mean > 0.65, "test AUC {}", auc.mean);
    assert!(auc.ci_low < auc.mean && auc.mean < auc.ci_high, "{auc:?}");
    assert!(ll.ci_low < ll.mean && ll.mean < ll.ci_high, "{ll:?}");
    assert!(
        report.params.iter().any(|(k, _)| k == "validation"),
        "{:?}",
        report.params
    );
    assert!(out.join("model/encoders.json").is_file());
    let again = recsys::cli::evaluate_checkpoint(&out, false).unwrap();
    assert_eq!(
        again[0].get("AUC"),
        report.get("AUC"),
        "the saved encoders, not refitted"
    );
    assert_eq!(again[0].get("LogLoss"), report.get("LogLoss"));
    assert!(
        recsys::cli::evaluate_checkpoint(&out, true).is_err(),
        "no full ranking of rows"
    );
    // The checkpoints are whole folders (links to one generation each), and
    // a run interrupted before its final model names what it has.
    let best = recsys::cli::evaluate_checkpoint(&out.join("checkpoints/best"), false).unwrap();
    assert_eq!(
        best[0].get("AUC"),
        report.get("AUC"),
        "best = the kept epoch"
    );
    std::fs::remove_dir_all(out.join("model")).unwrap();
    let _ = std::fs::remove_file(out.join("model"));
    let e = recsys::cli::evaluate_checkpoint(&out, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("checkpoints/best") && e.contains("stopped before its end"),
        "{e}"
    );
}

/// `(user, item)` of every row of a peers' `ml100k_ctr` file, sorted.
fn peer_pairs(path: &std::path::Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split('\t');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn movielens_ctr_is_a_feature_task_equal_to_the_peers_split_files() {
    let (Some(dir), Some(_)) = (ctr_splits(), crate::data_dir()) else {
        return;
    };
    let ml = Dataset::movielens_100k().unwrap();
    let (_, frames) = recsys::features::movielens_ctr_frames(&ml).unwrap();
    for (frame, file) in frames.iter().zip(["train.tsv", "val.tsv", "test.tsv"]) {
        let users = frame.column("user_id").unwrap();
        let items = frame.column("item_id").unwrap();
        let mut ours: Vec<(String, String)> = users
            .iter()
            .zip(items)
            .map(|(u, i)| (u.to_string(), i.to_string()))
            .collect();
        ours.sort();
        assert_eq!(
            ours,
            peer_pairs(&dir.join("ml100k_ctr").join(file)),
            "{file}"
        );
    }
    let task = FeatureTask::movielens_ctr(&ml).unwrap();
    assert_eq!(
        (
            task.train.len(),
            task.validation.as_ref().unwrap().len(),
            task.test.len()
        ),
        (80_808, 9_596, 9_596)
    );
    let positives = |r: &FeatureRows| r.positives().iter().filter(|&&p| p).count();
    assert_eq!(positives(&task.train), 46_268);
    assert_eq!(positives(&task.test), 4_511);
    // The peers list the six token fields; genres is the multi-hot one.
    for (name, n) in peer_cardinalities("ml100k_ctr") {
        assert_eq!(task.schema().field(&name).unwrap().vocab, n, "{name}");
    }
    assert_eq!(
        task.schema().field("genres").unwrap().vocab,
        20,
        "19 genres + OOV"
    );
    assert!(task.test.groups.is_some(), "grouped by user for GAUC");
}

#[test]
fn row_models_share_one_contract_and_one_pointwise_protocol() {
    let Some(dir) = ctr_splits() else { return };
    let task = FeatureTask::criteo_dir(dir.join("criteo")).unwrap();
    let base = row_model_from_name("base_rate", &[]).unwrap();
    base.check().unwrap();
    let fitted = base.fit_rows(&task).unwrap();
    let report = recsys::eval::evaluate_rows(fitted.as_ref(), &task.test, &task.name).unwrap();
    assert!((report.get("AUC").unwrap() - 0.5).abs() < 1e-9);
    let rate = 1_749.0 / 8_000.0_f64;
    let ll = -(0.224 * rate.ln() + 0.776 * (1.0 - rate).ln());
    assert!(
        (report.get("LogLoss").unwrap() - ll).abs() < 1e-4,
        "{:?} vs {ll}",
        report.get("LogLoss")
    );
    let e = row_model_from_name("base_rate", &[("sead".into(), "1".into())])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("sead") && e.contains("seed"), "{e}");
    // Rows encoded by other encoders are refused.
    let avazu = FeatureTask::avazu_dir(dir.join("avazu")).unwrap();
    assert!(fitted.score_rows(&avazu.test).is_err());
    // Two models on the same rows: a paired comparison.
    let deep = row_model_from_name(
        "deepfm",
        &[
            ("max_epochs".into(), "1".into()),
            ("compute".into(), "cpu".into()),
            ("verbose".into(), "false".into()),
        ],
    )
    .unwrap()
    .fit_rows(&task)
    .unwrap();
    let cmp = recsys::eval::compare_rows(fitted.as_ref(), deep.as_ref(), &task.test).unwrap();
    assert!(cmp.auc.diff > 0.0, "{cmp:?}");
}
