//! Deep CTR models (feature `deep`): learning, reproducibility, every
//! architecture, bit-exact checkpoints and resume, on the MovieLens CTR task.

use recsys::prelude::*;

use crate::{data_dir, temp_dir};

fn task() -> Option<MovieLensCtr> {
    data_dir()?;
    let ml = Dataset::movielens_100k().unwrap();
    Some(MovieLensCtr::new(&ml, 42).unwrap())
}

fn quick(arch: Arch) -> CtrParams {
    CtrParams::new(arch)
        .max_epochs(2)
        .compute(Compute::Cpu)
        .verbose(false)
}

#[test]
fn deepfm_learns_and_the_same_seed_gives_the_same_numbers() {
    let Some(task) = task() else { return };
    let a = quick(Arch::DeepFm).fit(&task).unwrap();
    let b = quick(Arch::DeepFm).fit(&task).unwrap();
    let losses = |m: &CtrModel| m.epochs.iter().map(|e| e.loss).collect::<Vec<_>>();
    assert_eq!(losses(&a), losses(&b), "same seed, same losses");
    assert_eq!(a.epochs[1].val_ndcg10, b.epochs[1].val_ndcg10);
    assert!(a.epochs[1].loss < a.epochs[0].loss, "loss falls");
    assert!(
        a.epochs[1].val_auc > 0.75,
        "val AUC {}",
        a.epochs[1].val_auc
    );
    let c = quick(Arch::DeepFm).seed(7).fit(&task).unwrap();
    assert_ne!(losses(&a), losses(&c), "another seed, other numbers");
    let test = a.evaluate(&task.test).unwrap();
    for m in ["HR@10", "NDCG@10", "AUC", "LogLoss", "MRR"] {
        assert!(test.get(m).unwrap().is_finite(), "{m}");
    }
}

#[test]
fn every_architecture_trains() {
    let Some(task) = task() else { return };
    for arch in Arch::ALL {
        let m = CtrParams::new(arch)
            .max_epochs(1)
            .batch_size(4096)
            .lr(0.004)
            .compute(Compute::Cpu)
            .verbose(false)
            .fit(&task)
            .unwrap();
        let e = &m.epochs[0];
        assert!(
            e.loss.is_finite() && e.loss < 0.5,
            "{arch:?}: loss {}",
            e.loss
        );
        eprintln!(
            "{arch:?}: loss {:.4}, val AUC {:.4}, {:.2} s",
            e.loss, e.val_auc, e.train_seconds
        );
        assert!(e.val_auc > 0.6, "{arch:?}: val AUC {}", e.val_auc);
        assert!(m.n_params > 10_000, "{arch:?}");
    }
}

#[test]
fn checkpoints_round_trip_bit_for_bit_and_training_resumes() {
    let Some(task) = task() else { return };
    let dir = temp_dir("ctr-ckpt");
    let m = quick(Arch::DeepFm)
        .max_epochs(1)
        .checkpoint_dir(dir.join("run"))
        .fit(&task)
        .unwrap();
    // Save -> load -> the same predictions, bit for bit.
    m.save(dir.join("model")).unwrap();
    let back = CtrModel::load(dir.join("model"), &task).unwrap();
    let (a, b) = (
        m.predict_candidates(&task.test).unwrap(),
        back.predict_candidates(&task.test).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // Moved to another device (here the CPU again): the same predictions.
    let moved = m.to(Compute::Cpu).unwrap();
    assert_eq!(moved.predict_candidates(&task.test).unwrap(), a);
    // On a wgpu adapter when there is one (lavapipe in CI): agreement.
    if let Ok(gpu) = m.to(Compute::Wgpu) {
        let (users, items): (Vec<u32>, Vec<u32>) =
            (0..2000u32).map(|k| (k % 900, (k * 7) % 1600)).unzip();
        let (c, g) = (
            m.predict(&users, &items).unwrap(),
            gpu.predict(&users, &items).unwrap(),
        );
        let worst = c
            .iter()
            .zip(&g)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-5,
            "{}: probabilities differ by {worst}",
            gpu.device()
        );
    }
    // The trainer's best checkpoint holds the same weights.
    let best = CtrModel::load(dir.join("run/best"), &task).unwrap();
    assert_eq!(
        best.predict(&[0, 1], &[5, 6]).unwrap(),
        m.predict(&[0, 1], &[5, 6]).unwrap()
    );
    // Resume: a 2-epoch budget continues after epoch 1 and ends where an
    // uninterrupted 2-epoch run ends.
    let resumed = quick(Arch::DeepFm)
        .checkpoint_dir(dir.join("run"))
        .resume(true)
        .fit(&task)
        .unwrap();
    let straight = quick(Arch::DeepFm).fit(&task).unwrap();
    assert_eq!(resumed.epochs.len(), 2);
    assert_eq!(resumed.epochs[0], m.epochs[0]);
    assert_eq!(resumed.epochs[1].loss, straight.epochs[1].loss);
    assert_eq!(resumed.epochs[1].val_ndcg10, straight.epochs[1].val_ndcg10);
}

#[test]
fn bad_hyper_parameters_are_rejected() {
    assert!(DeepFm::params().lr(0.0).check().is_err());
    assert!(DeepFm::params().dropout(1.0).check().is_err());
    assert!(
        AttentionDeepFm::params()
            .attention_heads(3)
            .check()
            .is_err()
    );
    assert!(XDeepFm::params().cin_layers(vec![]).check().is_err());
    assert!(DeepFm::params().check().is_ok());
    assert_eq!(
        Arch::from_name("attention_deepfm"),
        Some(Arch::AttentionDeepFm)
    );
    assert_eq!(Arch::from_name("Wide&Deep"), Some(Arch::WideDeep));
    assert!(Compute::from_name("tpu").is_err());
}

#[test]
fn deepfm_ranks_an_itemcf_pool_in_the_pipeline() {
    if data_dir().is_none() {
        return;
    }
    // The README's headline pipeline, with a short epoch budget.
    let report = Pipeline::movielens_100k()
        .split_loo()
        .recall(ItemCF::default())
        .rank(
            DeepFM::params()
                .max_epochs(2)
                .compute(Compute::Cpu)
                .verbose(false),
        )
        .rerank(Mmr::default())
        .evaluate()
        .unwrap();
    assert_eq!(report.model, "itemcf → deepfm → mmr");
    let stages: Vec<&str> = report.stages.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(stages, ["recall", "rank", "rerank"]);
    let ndcg = report.get("NDCG@10").unwrap();
    assert!(ndcg > 0.01 && ndcg < 0.5, "NDCG@10 {ndcg}");
    assert!(
        report
            .params
            .iter()
            .any(|(k, v)| k == "deepfm.hidden" && v == "[128,64]")
    );

    // The same stage from the CLI's names, on ids alone (no side features).
    let ids_only = Pipeline::from_interactions(Dataset::movielens_100k().unwrap().interactions)
        .recall_boxed(model_from_name("popularity", &[]).unwrap())
        .rank_boxed(
            model_from_name(
                "deepfm",
                &[
                    ("max_epochs".into(), "1".into()),
                    ("compute".into(), "cpu".into()),
                    ("verbose".into(), "false".into()),
                ],
            )
            .unwrap(),
        )
        .evaluate()
        .unwrap();
    assert!(ids_only.get("HR@10").unwrap() > 0.0);
}

#[test]
fn eval_scores_deepfm_per_user_exactly_as_one_batched_pass() {
    // The sampled protocol now runs through `eval::sampled_metrics` over
    // the `PairScorer` view (one forward pass per user's candidates);
    // before, the model scored all candidate rows in large batches. The
    // numbers must not depend on that.
    let Some(peers) = crate::peer_splits() else {
        return;
    };
    let ml = Dataset::movielens_100k().unwrap();
    let task = MovieLensCtr::from_dir(&ml, peers.join("loo_sampled"), 42)
        .unwrap()
        .uniform_dims(16);
    let m = quick(Arch::DeepFm).fit(&task).unwrap();
    let report = m.evaluate(&task.test).unwrap();
    let scores = m.predict_candidates(&task.test).unwrap();
    let (mut hr, mut ndcg, mut users, mut at) = (0.0, 0.0, 0, 0);
    for (_, items, labels) in task.test.iter() {
        let s = &scores[at..at + items.len()];
        at += items.len();
        let pos: Vec<f32> = s
            .iter()
            .zip(labels)
            .filter(|(_, l)| **l)
            .map(|(x, _)| *x)
            .collect();
        if pos.is_empty() {
            continue;
        }
        let (mut h, mut n) = (0.0, 0.0);
        for p in &pos {
            let rank = 1 + s
                .iter()
                .zip(labels)
                .filter(|(x, l)| !**l && **x >= *p)
                .count();
            if rank <= 10 {
                h += 1.0;
                n += 1.0 / ((rank + 1) as f64).log2();
            }
        }
        hr += h / pos.len() as f64;
        ndcg += n / pos.len() as f64;
        users += 1;
    }
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(report.get("HR@10").unwrap(), hr / users as f64));
    assert!(close(report.get("NDCG@10").unwrap(), ndcg / users as f64));
    assert_eq!(report.users.len(), users);
}

/// A training run stopped at each step of each checkpoint write (an injected
/// I/O failure where a crash would stop it: before creating a generation
/// folder, writing each file, linking, renaming, cleaning up) resumes to
/// exactly the uninterrupted run's epochs and predictions.
#[test]
fn a_run_stopped_at_any_checkpoint_write_resumes_to_the_uninterrupted_result() {
    let task = FeatureTask::toy_ctr(1200, 3).unwrap();
    let params = || {
        DeepFm::params()
            .max_epochs(3)
            .batch_size(128)
            .compute(Compute::Cpu)
            .verbose(false)
    };
    let straight = params().fit_features(&task).unwrap();
    let want = straight.predict_rows(&task.test).unwrap();
    let numbers = |m: &CtrModel| -> Vec<[u64; 4]> {
        m.epochs
            .iter()
            .map(|e| [e.loss, e.val_auc, e.val_logloss, e.lr].map(f64::to_bits))
            .collect()
    };
    let dir = temp_dir("ckpt-faults");
    let mut stopped = 0;
    for at in 0.. {
        let run = dir.join(format!("run{at}"));
        recsys::io::inject_write_fault(Some(at));
        let first = params().checkpoint_dir(&run).fit_features(&task);
        if recsys::io::inject_write_fault(None).is_some() {
            // The fault never fired: every write boundary has been tried.
            first.unwrap();
            break;
        }
        let e = first
            .err()
            .expect("the injected fault stops the run")
            .to_string();
        assert!(e.contains("injected fault"), "step {at}: {e}");
        stopped += 1;
        let resumed = params()
            .checkpoint_dir(&run)
            .resume(true)
            .fit_features(&task)
            .unwrap_or_else(|e| panic!("step {at}: resume failed: {e}"));
        assert_eq!(numbers(&resumed), numbers(&straight), "step {at}");
        assert_eq!(resumed.best_epoch, straight.best_epoch, "step {at}");
        let got = resumed.predict_rows(&task.test).unwrap();
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "step {at}: predictions differ"
        );
    }
    // Three epochs, each writing `best/` (when it improves) and `last/`.
    assert!(stopped >= 3 * 7, "only {stopped} write steps were tried");
    eprintln!("{stopped} checkpoint write steps stopped and resumed");
}

/// Burn draws initial weights from one process-wide generator: two
/// trainings at once in one process still give each seed its own numbers.
#[test]
fn trainings_running_at_once_give_the_same_numbers_as_alone() {
    let task = FeatureTask::toy_ctr(800, 5).unwrap();
    let fit = |seed: u64| {
        DeepFm::params()
            .max_epochs(2)
            .batch_size(64)
            .seed(seed)
            .compute(Compute::Cpu)
            .verbose(false)
            .fit_features(&task)
            .unwrap()
            .predict_rows(&task.test)
            .unwrap()
    };
    let alone: Vec<Vec<f32>> = (1..=4).map(fit).collect();
    let together: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=4).map(|seed| s.spawn(move || fit(seed))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(together, alone);
}

/// Found by the long fuzz run: a saved model whose `params.json` holds a
/// dropout of 1 made burn panic while the network was built; it is refused.
#[test]
fn a_saved_model_with_invalid_parameters_is_refused() {
    let task = FeatureTask::toy_ctr(300, 1).unwrap();
    let m = DeepFm::params()
        .max_epochs(1)
        .compute(Compute::Cpu)
        .verbose(false)
        .fit_features(&task)
        .unwrap();
    let dir = temp_dir("bad-params").join("model");
    m.save(&dir).unwrap();
    let path = dir.join("params.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replacen("\"dropout\": 0.0", "\"dropout\": 1.0", 1);
    assert_ne!(bad, text, "the saved parameters name the dropout");
    let real = std::fs::canonicalize(&path).unwrap();
    std::fs::write(&real, bad).unwrap();
    let e = CtrModel::load_features(&dir)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("invalid") && e.contains("dropout"), "{e}");
}

#[test]
fn a_trained_network_is_measured_by_the_pipeline_steps_of_every_model() {
    // `CtrModel::evaluate` / `evaluate_full` (what `recsys train` and
    // `recsys evaluate --checkpoint` report) run `Pipeline::from_candidates`
    // with the network as a `TrainedCtr` stage: the same numbers as eval's
    // functions applied directly, and the stage refuses other data.
    let Some(task) = task() else { return };
    let m = quick(Arch::DeepFm).max_epochs(1).fit(&task).unwrap();
    let scorer = CtrScorer::new(m.clone()).unwrap();
    // Every metric of `series` has the report's value.
    let agree = |series: &[recsys::eval::MetricSeries], report: &Report| {
        for s in series {
            let direct = s
                .per_user
                .as_ref()
                .map_or(s.value, |v| v.iter().sum::<f64>() / v.len() as f64);
            let via = report.get(&s.name).unwrap();
            assert!(
                (direct - via).abs() < 1e-12,
                "{}: {direct} vs {via}",
                s.name
            );
        }
    };
    let sampled = m.evaluate(&task.test).unwrap();
    let (_, series) = recsys::eval::sampled_metrics(&scorer, &task.test, &[5, 10, 20]).unwrap();
    agree(&series, &sampled);
    assert!(
        sampled.protocol.contains("given candidates"),
        "{}",
        sampled.protocol
    );
    assert_eq!(
        sampled.fit_seconds,
        m.epochs
            .iter()
            .map(|e| e.train_seconds + e.eval_seconds)
            .sum::<f64>()
    );
    // Full ranking: the test positives relevant, training and validation
    // positives masked.
    let full = m.evaluate_full(&task.test, Some(&task.val)).unwrap();
    let relevant = recsys::eval::relevant_sets(&task.test.positives());
    let users: Vec<u32> = (0..relevant.len() as u32)
        .filter(|&u| relevant[u as usize].is_some())
        .collect();
    let val = task.val.positives();
    let lists: Vec<(u32, Vec<u32>)> = users
        .iter()
        .map(|&u| {
            let mut s = vec![0.0f32; scorer.n_items()];
            scorer.score_all(u, &mut s);
            let masked = [task.train.user_items(u), val.user_items(u)];
            (
                u,
                recsys::metrics::ranking::masked_top_k(&mut s, &masked, 20),
            )
        })
        .collect();
    let series = recsys::eval::full_ranking_metrics(&lists, &relevant, &task.train, &[5, 10, 20]);
    agree(&series, &full);
    assert_eq!(full.users.len(), users.len());
    // The stage scores only the data it was trained on.
    let rows = [("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")]
        .map(|(u, i)| (u.to_string(), i.to_string()));
    let other = Interactions::from_raw_rows(&rows, None, Some(vec![1, 2, 3, 4]), &[]).unwrap();
    let err = Pipeline::from_interactions(other)
        .recall(TrainedCtr::new(m).unwrap())
        .evaluate()
        .unwrap_err();
    assert!(
        err.to_string().contains("the data it was trained on"),
        "{err}"
    );
}
