//! The Pipeline builder on synthetic data: stages, protocols, determinism.

use recsys::prelude::*;

/// 60 users × 40 items with timestamps; user u has items (7u + 3d) % 40, d = 0..12, in order of d.
fn synthetic() -> Interactions {
    let mut rows = Vec::new();
    let mut ts = Vec::new();
    for u in 0..60 {
        for d in 0..12 {
            let i = (u * 7 + d * 3) % 40;
            rows.push((format!("u{u}"), format!("i{i}")));
            ts.push((u * 100 + d) as i64);
        }
    }
    let n = rows.len();
    Interactions::from_raw_rows(&rows, Some(vec![4.0; n]), Some(ts), &[]).unwrap()
}

#[test]
fn multi_stage_reports_every_stage() {
    let r = Pipeline::from_interactions(synthetic())
        .recall(Popularity::default())
        .recall_pool(20)
        .rank(Random::default())
        .rank_pool(15)
        .rerank(KeepOrder)
        .ks(&[5, 10])
        .evaluate()
        .unwrap();
    assert_eq!(r.stages.len(), 3);
    assert_eq!(
        r.stages.iter().map(|s| s.output_size).collect::<Vec<_>>(),
        vec![20, 15, 10]
    );
    let pool = r.stages[0].metrics[0].mean;
    let final_recall = r.get("Recall@10").unwrap();
    assert!(pool >= final_recall, "{pool} < {final_recall}");
    assert_eq!(r.model, "popularity → random → keep_order");
    assert!(r.to_html().contains("Stages"));
    assert!(r.to_string().contains("rerank"));
}

#[test]
fn same_seed_same_numbers() {
    let run = || {
        Pipeline::from_interactions(synthetic())
            .sampled(20)
            .recall(Random::default())
            .evaluate()
            .unwrap()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.per_user, b.per_user);
    let c = Pipeline::from_interactions(synthetic())
        .sampled(20)
        .seed(7)
        .recall(Random::default())
        .evaluate()
        .unwrap();
    assert_ne!(a.per_user, c.per_user);
}

#[test]
fn sampled_protocol_and_validation() {
    let r = Pipeline::from_interactions(synthetic())
        .sampled(30)
        .recall(Popularity::default())
        .ks(&[5, 10])
        .evaluate()
        .unwrap();
    assert_eq!(r.users.len(), 60);
    for m in [
        "HR@5", "HR@10", "NDCG@5", "NDCG@10", "MRR", "UserAUC", "AUC",
    ] {
        assert!(r.get(m).is_some(), "{m}");
    }
    assert!(r.get("HR@10").unwrap() >= r.get("HR@5").unwrap());
    let v = Pipeline::from_interactions(synthetic())
        .on_validation()
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert!(v.protocol.contains("validation"));
    let cmp = r.compare(&r);
    assert!(cmp.rows.iter().all(|(_, _, _, p)| p.diff == 0.0));
}

#[test]
fn errors_instead_of_panics() {
    let e = Pipeline::from_interactions(synthetic())
        .evaluate()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no model"), "{e}");
    let e = Pipeline::from_interactions(synthetic())
        .split(Split::UserRatio {
            test: 2.0,
            val: 0.0,
            by: Order::Time,
        })
        .recall(Popularity::default())
        .evaluate()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("invalid parameter `test`"), "{e}");
}

#[test]
fn contradictory_plans_are_errors_before_any_work() {
    let err = |p: Pipeline| p.evaluate().err().expect("a contradiction").to_string();
    let base = || Pipeline::from_interactions(synthetic());
    let cases: Vec<(Pipeline, &str)> = vec![
        (base().recall(Popularity::default()).ks(&[]), "ks"),
        (base().recall(Popularity::default()).ks(&[10, 0]), "ks"),
        (
            base().recall(Popularity::default()).recall_pool(50),
            "recall_pool",
        ),
        (
            base().recall(Popularity::default()).rank_pool(5),
            "rank_pool",
        ),
        (
            base()
                .recall(Popularity::default())
                .rank(Random::default())
                .rank_pool(0),
            "at least 1",
        ),
        (
            base()
                .sampled(20)
                .recall(Popularity::default())
                .rerank(Mmr::default()),
            "re-ranker",
        ),
        (
            base()
                .sampled(20)
                .recall(Popularity::default())
                .rank(Random::default()),
            "without .rank",
        ),
        (
            base()
                .sampled(20)
                .recall(Popularity::default())
                .recall_also(Random::default(), 5),
            "fused",
        ),
        (
            base()
                .rating()
                .recall(Popularity::default())
                .rerank(Mmr::default()),
            "rating",
        ),
        (
            Pipeline::movielens_100k()
                .split(Split::Predefined {
                    train: "train.tsv".into(),
                    val: None,
                    test: "test.tsv".into(),
                    encoding: Encoding::Utf8,
                })
                .recall(Popularity::default()),
            "Pipeline::predefined",
        ),
        (
            Pipeline::predefined("train.tsv", "test.tsv")
                .implicit(4.0)
                .recall(Popularity::default()),
            "implicit",
        ),
    ];
    for (p, words) in cases {
        let e = err(p);
        assert!(e.contains(words), "expected {words:?} in: {e}");
    }
    // Every model's hyper-parameters are checked before any data is read:
    // the files below do not exist.
    let e = err(Pipeline::predefined("no/train.tsv", "no/test.tsv")
        .recall(Popularity::default())
        .rank(Als::default().factors(0)));
    assert!(e.contains("als") && e.contains("factors"), "{e}");
    // The order of the builder calls does not matter.
    let r = base()
        .recall_pool(20)
        .recall(Popularity::default())
        .rank(Random::default())
        .evaluate()
        .unwrap();
    assert_eq!(r.stages[0].output_size, 20);
}

#[test]
fn personalised_toy_model_beats_popularity() {
    // A user-defined model plugs in through the Fit/Scorer contract.
    struct Oracle;
    struct OracleModel(Interactions);
    impl Scorer for OracleModel {
        fn n_items(&self) -> usize {
            self.0.n_items()
        }
        fn train(&self) -> &Interactions {
            &self.0
        }
        fn score_all(&self, user: u32, out: &mut [f32]) {
            // Items u*7 + 3d mod 40 (the generator's rule), favouring larger d.
            let u: usize = self.0.users().raw(user)[1..].parse().unwrap();
            out.fill(0.0);
            for d in 0..12 {
                let name = format!("i{}", (u * 7 + d * 3) % 40);
                if let Some(i) = self.0.items().get(&name) {
                    out[i as usize] += 1.0 + d as f32;
                }
            }
        }
    }
    impl Fit for Oracle {
        fn name(&self) -> String {
            "oracle".into()
        }
        fn params(&self) -> Vec<(String, String)> {
            vec![]
        }
        fn set_param(&mut self, key: &str, _: &str) -> Result<()> {
            Err(Error::InvalidParam {
                name: key.into(),
                message: "none".into(),
            })
        }
        fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
            Ok(Box::new(OracleModel(input.train.clone())))
        }
    }
    let pop = Pipeline::from_interactions(synthetic())
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    let oracle = Pipeline::from_interactions(synthetic())
        .recall(Oracle)
        .evaluate()
        .unwrap();
    assert!(oracle.get("NDCG@10").unwrap() > pop.get("NDCG@10").unwrap());
    let c = pop.compare(&oracle);
    let ndcg = c.rows.iter().find(|r| r.0 == "NDCG@10").unwrap();
    assert!(ndcg.3.p_value < 0.05);
}

#[test]
fn fused_recall_pools_both_sources() {
    let r = Pipeline::from_interactions(synthetic())
        .recall(ItemCF::default())
        .recall_pool(5)
        .recall_also(UserCF::default(), 5)
        .rank(Popularity::default())
        .evaluate()
        .unwrap();
    assert_eq!(r.stages[0].model, "itemcf + usercf");
    assert_eq!(r.stages[0].output_size, 10);
    assert!(
        r.model.starts_with("(itemcf + usercf) → popularity"),
        "{}",
        r.model
    );
}

#[test]
fn full_ranking_states_its_item_universe() {
    let r = Pipeline::from_interactions(synthetic())
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert!(
        r.protocol
            .ends_with("full ranking over 40 items (the items of the interactions)"),
        "{}",
        r.protocol
    );
    let dir = crate::temp_dir("universe");
    let train = crate::write(
        &dir,
        "train.tsv",
        "u1\ti1\nu1\ti2\nu2\ti2\nu2\ti3\nu3\ti1\n",
    );
    let test = crate::write(&dir, "test.tsv", "u1\ti3\nu2\ti4\nu3\ti2\n");
    let r = Pipeline::predefined(&train, &test)
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert!(
        r.protocol
            .ends_with("over 4 items (the items of the given files)"),
        "{}",
        r.protocol
    );
    // A catalogue file widens the universe: its items are ranked too.
    let items = crate::write(&dir, "items.tsv", "item\ttitle\ni1\ta\ni5\tb\ni6\tc\n");
    let r = Pipeline::predefined(&train, &test)
        .catalogue(&items)
        .recall(Random::default())
        .evaluate()
        .unwrap();
    assert!(
        r.protocol
            .ends_with("over 6 items (the items of the given files and the catalogue file)"),
        "{}",
        r.protocol
    );
    let e = Pipeline::predefined(&train, &test)
        .catalogue(&items)
        .sampled(2)
        .recall(Random::default())
        .evaluate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("catalogue"), "{e}");
    let Some(_) = crate::data_dir() else { return };
    let r = Pipeline::movielens_100k()
        .split_loo()
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert!(
        r.protocol.ends_with("over 1682 items (the catalogue)"),
        "{}",
        r.protocol
    );
}

#[test]
fn protocols_refuse_what_they_cannot_measure() {
    // Popularity's scores are rankings, not ratings.
    let e = Pipeline::from_interactions(synthetic())
        .rating()
        .recall(Popularity::default())
        .evaluate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("predicts ratings"), "{e}");
    // Candidates without a single positive: an error, not NaN metrics.
    let dir = crate::temp_dir("no-positives");
    let train = crate::write(&dir, "train.tsv", "u1\ti1\nu2\ti2\nu3\ti3\n");
    let none = crate::write(&dir, "none.tsv", "u1\ti2\t0\nu1\ti3\t0\nu2\ti1\t0\n");
    let e = Pipeline::predefined_sampled(&train, &none)
        .recall(Popularity::default())
        .evaluate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("no positive"), "{e}");
    // Some users without a positive: counted in the report.
    let some = crate::write(
        &dir,
        "some.tsv",
        "u1\ti2\t1\nu1\ti3\t0\nu2\ti1\t0\nu2\ti3\t0\n",
    );
    let r = Pipeline::predefined_sampled(&train, &some)
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert_eq!(r.get("UsersWithoutPositive"), Some(1.0));
    assert_eq!(r.users.len(), 1);
}

#[test]
fn a_split_given_as_candidate_lists_is_scored_as_given_or_by_full_ranking() {
    let data = synthetic();
    let split = Split::loo().apply(&data).unwrap();
    let cands = |heldout: &Interactions, seed| {
        Candidates::sample(
            heldout,
            &data,
            &split.train,
            20,
            NegativeSampler::Uniform,
            seed,
        )
        .unwrap()
    };
    let (val, test) = (None::<Candidates>, cands(&split.test, 1));
    let given = || Pipeline::from_candidates(split.train.clone(), val.clone(), test.clone());
    let sampled = given().recall(Popularity::default()).evaluate().unwrap();
    assert!(
        sampled.protocol.contains("given candidates") && sampled.protocol.contains("1+20"),
        "{}",
        sampled.protocol
    );
    // The given lists, not new draws: the numbers eval computes on them.
    let pop = Popularity::default()
        .fit_scorer(FitInput::new(&split.train))
        .unwrap();
    let (_, series) = recsys::eval::sampled_metrics(pop.as_ref(), &test, &[10]).unwrap();
    let ndcg = series.iter().find(|s| s.name == "NDCG@10").unwrap();
    let direct = ndcg
        .per_user
        .as_ref()
        .map_or(ndcg.value, |v| v.iter().sum::<f64>() / v.len() as f64);
    assert!((sampled.get("NDCG@10").unwrap() - direct).abs() < 1e-12);
    // Full ranking: the test positives are the relevant items.
    let full = given()
        .protocol(Protocol::FullRanking)
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert!(
        full.protocol.starts_with("given candidates, full ranking"),
        "{}",
        full.protocol
    );
    assert_eq!(full.users.len(), test.n_users());
    // Contradictions are errors before any work.
    let err = |p: Pipeline| {
        p.recall(Popularity::default())
            .evaluate()
            .err()
            .expect("a contradiction")
            .to_string()
    };
    for (p, words) in [
        (given().split_loo(), "drop .split"),
        (given().sampled(5), "would draw others"),
        (given().rating(), "not ratings"),
        (given().on_validation(), "no validation candidates"),
    ] {
        let e = err(p);
        assert!(e.contains(words), "expected {words:?} in: {e}");
    }
    // Lists in other id maps than the training data's.
    let e = err(Pipeline::from_candidates(synthetic(), None, test.clone()));
    assert!(
        e.contains("share the training interactions' id maps"),
        "{e}"
    );
}

#[test]
fn a_predefined_split_reads_its_files_in_its_own_encoding() {
    // User ids with an é in Latin-1 (byte 0xE9, not UTF-8).
    let dir = crate::temp_dir("latin1-split");
    let latin1 = |text: &str| text.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>();
    let (mut train, mut test, mut cands) = (String::new(), String::new(), String::new());
    for u in 0..6 {
        for i in 0..5 {
            let line = format!("caf\u{e9}{u}\titem{i}\n");
            if i == 4 {
                test.push_str(&line)
            } else {
                train.push_str(&line)
            }
        }
        cands.push_str(&format!("caf\u{e9}{u}\titem4\t1\ncaf\u{e9}{u}\titem9\t0\n"));
    }
    let (tr, te, ca) = (
        dir.join("train.tsv"),
        dir.join("test.tsv"),
        dir.join("cands.tsv"),
    );
    std::fs::write(&tr, latin1(&train)).unwrap();
    std::fs::write(&te, latin1(&test)).unwrap();
    std::fs::write(&ca, latin1(&cands)).unwrap();
    // The split itself, applied outside a pipeline, reads Latin-1.
    let split = Split::Predefined {
        train: tr.clone(),
        val: None,
        test: te.clone(),
        encoding: Encoding::Latin1,
    };
    let empty = Interactions::from_raw_rows(&[], None, None, &[]).unwrap();
    let parts = split.apply(&empty).unwrap();
    assert_eq!(parts.train.len(), 24);
    assert!(parts.train.users().get("caf\u{e9}0").is_some());
    // Full ranking and the sampled protocol through the pipeline.
    let full = Pipeline::predefined(&tr, &te)
        .encoding(Encoding::Latin1)
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert_eq!(full.users.len(), 6);
    let sampled = Pipeline::predefined_sampled(&tr, &ca)
        .encoding(Encoding::Latin1)
        .recall(Popularity::default())
        .evaluate()
        .unwrap();
    assert_eq!(sampled.users.len(), 6);
    assert!(sampled.users.contains(&"caf\u{e9}0".to_string()));
    // Without the encoding the files are an error naming the line.
    let e = Pipeline::predefined_sampled(&tr, &ca)
        .recall(Popularity::default())
        .evaluate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("train.tsv:1"), "{e}");
    // An encoding for a split that reads no files is a contradiction.
    let e = Pipeline::from_interactions(synthetic())
        .encoding(Encoding::Latin1)
        .recall(Popularity::default())
        .evaluate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("reads none"), "{e}");
}
