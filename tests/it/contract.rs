//! The shared model contract, for every model.

use recsys::models::cf::Weighting;
use recsys::models::contract;
use recsys::prelude::*;

fn passes(model: &dyn Fit, personalised: bool) {
    if let Err(why) = contract::check(model, personalised).unwrap() {
        panic!(
            "{} {:?} violates the contract: {why}",
            model.name(),
            model.params()
        );
    }
}

#[test]
fn baselines_pass_the_structural_contract() {
    passes(&Popularity::default(), false);
    passes(&Random::params().seed(7), false);
}

#[test]
fn every_named_model_builds_and_rejects_unknown_params() {
    for name in recsys::models::MODEL_NAMES {
        let m = model_from_name(name, &[]).unwrap();
        passes(m.as_ref(), false);
        let e = model_from_name(name, &[("no_such".into(), "1".into())])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no_such"), "{e}");
    }
    assert!(model_from_name("nope", &[]).is_err());
}

#[test]
fn random_is_seeded() {
    let (train, _) = contract::checkerboard(10, 10);
    let a = Random::params()
        .seed(1)
        .fit(&train)
        .unwrap()
        .recommend(0, 5, true);
    let b = Random::params()
        .seed(1)
        .fit(&train)
        .unwrap()
        .recommend(0, 5, true);
    let c = Random::params()
        .seed(2)
        .fit(&train)
        .unwrap()
        .recommend(0, 5, true);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn neighbourhood_models_pass_the_personalised_contract() {
    let bm25 = Weighting::Bm25 { k1: 1.2, b: 0.75 };
    let items: Vec<ItemCF> = vec![
        ItemCF::default(),
        ItemCF::params().k(15),
        ItemCF::params().similarity(Similarity::Dot).weighting(bm25),
        ItemCF::params().weighting(Weighting::TfIdf),
        ItemCF::params()
            .similarity(Similarity::Jaccard)
            .shrinkage(10.0),
        ItemCF::params().similarity(Similarity::Pearson),
        ItemCF::params().normalize(true),
    ];
    for m in &items {
        passes(m, true);
    }
    for m in [
        UserCF::default(),
        UserCF::params().k(10).weighting(bm25),
        UserCF::params().similarity(Similarity::Jaccard),
    ] {
        passes(&m, true);
    }
}

#[test]
fn similarities_are_symmetric_without_pruning() {
    let (train, _) = contract::checkerboard(30, 25);
    for s in [
        Similarity::Cosine,
        Similarity::Jaccard,
        Similarity::Pearson,
        Similarity::Dot,
    ] {
        let m = ItemCF::params()
            .k(1000)
            .similarity(s)
            .shrinkage(3.0)
            .fit(&train)
            .unwrap();
        let sim = m.similarity();
        for a in 0..25 {
            for b in 0..25 {
                let (x, y) = (sim.get(a, b), sim.get(b, a));
                assert!(
                    (x - y).abs() <= 1e-5 * x.abs().max(1.0),
                    "{s:?}: s({a},{b}) = {x} but s({b},{a}) = {y}"
                );
            }
        }
        let u = UserCF::params().k(1000).similarity(s).fit(&train).unwrap();
        assert!((u.similarity().get(0, 2) - u.similarity().get(2, 0)).abs() < 1e-5);
    }
}

#[test]
fn explicit_and_time_decayed_variants() {
    let rows: Vec<(String, String)> = (0..40)
        .flat_map(|u| (0..8).map(move |d| (format!("u{u}"), format!("i{}", (u + 3 * d) % 20))))
        .collect();
    let n = rows.len();
    let ratings: Vec<f32> = (0..n).map(|r| 1.0 + (r * 7 % 5) as f32).collect();
    let ts: Vec<i64> = (0..n as i64).map(|r| r * 3_600).collect();
    let x = Interactions::from_raw_rows(&rows, Some(ratings), Some(ts), &[]).unwrap();
    for sim in [
        Similarity::Pearson,
        Similarity::AdjustedCosine,
        Similarity::Cosine,
    ] {
        let m = ItemCF::params()
            .feedback(Feedback::Ratings)
            .similarity(sim)
            .normalize(true)
            .fit(&x)
            .unwrap();
        assert_eq!(m.recommend(0, 5, true).len(), 5, "{sim:?}");
        let u = UserCF::params()
            .feedback(Feedback::Ratings)
            .similarity(sim)
            .fit(&x)
            .unwrap();
        assert_eq!(u.recommend(0, 5, true).len(), 5, "{sim:?}");
    }
    let decayed = ItemCF::params()
        .time_decay(Some(TimeDecay {
            window_days: 1.0,
            half_life_days: 0.25,
        }))
        .fit(&x)
        .unwrap();
    assert!(decayed.similarity().nnz() > 0);
    // A shorter window never adds neighbours.
    let narrow = ItemCF::params()
        .time_decay(Some(TimeDecay {
            window_days: 0.1,
            half_life_days: 0.25,
        }))
        .fit(&x)
        .unwrap();
    assert!(narrow.similarity().nnz() <= decayed.similarity().nnz());
    // Errors instead of panics.
    let binary = x.without_ratings();
    assert!(
        ItemCF::params()
            .feedback(Feedback::Ratings)
            .fit(&binary)
            .is_err()
    );
    assert!(ItemCF::params().k(0).fit(&x).is_err());
    assert!(
        ItemCF::params()
            .feedback(Feedback::Ratings)
            .similarity(Similarity::Pearson)
            .weighting(Weighting::TfIdf)
            .fit(&x)
            .is_err()
    );
}

#[test]
fn mmr_with_lambda_one_changes_nothing() {
    let (train, _) = contract::checkerboard(30, 30);
    let split = Split::Random {
        test: 0.2,
        val: 0.0,
        seed: 1,
    };
    let plain = Pipeline::from_interactions(train.clone())
        .split(split.clone())
        .recall(ItemCF::default())
        .evaluate()
        .unwrap();
    let mmr = Pipeline::from_interactions(train)
        .split(split)
        .recall(ItemCF::default())
        .recall_pool(10)
        .rerank(Mmr::params().lambda(1.0))
        .evaluate()
        .unwrap();
    assert_eq!(plain.per_user, mmr.per_user);
}

#[test]
fn content_profiles_give_item_similarity() {
    let ids = IdMap::from_ordered(vec!["a".into(), "b".into(), "c".into()]);
    let f = Features::new(ids)
        .with_column(
            "genres",
            FeatureColumn::MultiLabel(vec![
                vec!["Action".into()],
                vec!["Action".into(), "Crime".into()],
                vec!["Comedy".into()],
            ]),
        )
        .with_column(
            "title",
            FeatureColumn::Text(vec!["Heat".into(), "Heat 2".into(), "Babe".into()]),
        );
    let p = ContentProfiles::from_features(&f, &[]).unwrap();
    assert!(p.tokens_of("b").contains(&"genres=Crime"));
    assert!(p.tokens_of("a").contains(&"title:heat"));
    let rows: Vec<(String, String)> = vec![("u".into(), "a".into()), ("v".into(), "c".into())];
    let train = Interactions::from_raw_rows(&rows, None, None, &["b".into()]).unwrap();
    let m = ItemCF::params()
        .content(Some(p.clone()))
        .fit(&train)
        .unwrap();
    let a = train.items().get("a").unwrap();
    let b = train.items().get("b").unwrap();
    assert_eq!(m.similar_items(a, 1)[0].0, b);
    // user u (has a) gets b first; the content kernel also drives MMR.
    assert_eq!(m.recommend(0, 1, true)[0].0, b);
    let mmr = Mmr::params()
        .kernel(DiversityKernel::Content(std::sync::Arc::new(p)))
        .fit(&train)
        .unwrap();
    assert!(mmr.similarity(a, b) > 0.3);
    assert!(ContentProfiles::from_features(&f, &["nope"]).is_err());
}

#[test]
fn factor_models_pass_the_personalised_contract() {
    passes(&Als::params().factors(8).iterations(10), true);
    passes(&Bpr::params().factors(8).epochs(60), true);
    passes(
        &Bpr::params()
            .factors(8)
            .epochs(60)
            .sampling(NegativeSampling::Popularity),
        true,
    );
}

#[test]
fn factor_models_are_seeded_and_learn() {
    let (train, _) = contract::checkerboard(30, 30);
    let a = Bpr::params()
        .factors(8)
        .epochs(30)
        .verbose(true)
        .fit(&train)
        .unwrap();
    let b = Bpr::params().factors(8).epochs(30).fit(&train).unwrap();
    assert_eq!(a.recommend(1, 5, true), b.recommend(1, 5, true));
    let h = a.learning_curve().losses();
    assert_eq!(h.len(), 30);
    assert!(h[29] < h[0], "BPR loss falls: {} -> {}", h[0], h[29]);
    let als = Als::params()
        .factors(8)
        .iterations(8)
        .verbose(true)
        .fit(&train)
        .unwrap();
    let l = als.learning_curve().losses();
    assert!(
        l.windows(2).all(|w| w[1] <= w[0] * 1.001),
        "ALS loss never rises: {l:?}"
    );
    assert!(
        als.similar_items(0, 3).iter().all(|(j, _)| j % 2 == 0),
        "same-parity items are similar"
    );
    assert!(Als::params().factors(0).fit(&train).is_err());
    assert!(Bpr::params().learning_rate(0.0).fit(&train).is_err());
}

/// The names a model lists after an unknown key (`known: a, b, c`).
fn known_keys(model: &mut dyn Fit) -> Vec<String> {
    let e = model.set_param("no_such_key", "1").unwrap_err().to_string();
    e.split("known: ")
        .nth(1)
        .map(|l| {
            l.trim_end_matches(')')
                .split(", ")
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn params_set_param_and_the_known_keys_agree_for_every_model() {
    let mut names: Vec<&str> = recsys::models::MODEL_NAMES.to_vec();
    if cfg!(feature = "deep") {
        names.extend(["deepfm", "xdeepfm", "attention_deepfm", "wide_deep", "dcn"]);
    }
    for name in names {
        let m = model_from_name(name, &[]).unwrap();
        let listed = m.params();
        // Every listed value is accepted back under its listed key, and
        // the result lists the same values.
        let again = model_from_name(name, &listed).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again.params(), listed, "{name}");
        // Every listed key is among the known ones (CtrParams lists its
        // known keys from its serde form, so they are the same by
        // construction).
        let mut fresh = model_from_name(name, &[]).unwrap();
        let known = known_keys(fresh.as_mut());
        for (k, _) in &listed {
            assert!(
                known.contains(k),
                "{name}: {k} listed but not known ({known:?})"
            );
        }
        // The stochastic and iterative models list their seed and how they
        // validate.
        if ["random", "als", "bpr", "svd", "svdpp", "deepfm"].contains(&name) {
            assert!(listed.iter().any(|(k, _)| k == "seed"), "{name}: no seed");
        }
        if ["als", "bpr"].contains(&name) {
            for key in ["early_stopping", "eval_every", "validation", "verbose"] {
                assert!(listed.iter().any(|(k, _)| k == key), "{name}: no {key}");
            }
        }
    }
}

#[test]
fn nested_hyper_parameters_are_listed_flat_and_set_back() {
    // BM25 (a tagged enum with fields), time decay (an optional struct),
    // ALS's solver: listed one level flat, every pair accepted back.
    for (name, set) in [
        ("itemcf", vec![("weighting", "bm25"), ("k1", "1.5")]),
        ("itemcf", vec![("window_days", "10.5")]),
        ("usercf", vec![("b", "0.5")]),
        ("als", vec![("solver", "cholesky")]),
        ("als", vec![("cg_steps", "5")]),
        (
            "bpr",
            vec![("early_stopping", "3"), ("sampling", "popularity")],
        ),
    ] {
        let set: Vec<(String, String)> = set
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let m = model_from_name(name, &set).unwrap_or_else(|e| panic!("{name}: {e}"));
        let listed = m.params();
        for (k, v) in &set {
            assert!(
                listed.iter().any(|(a, b)| a == k && b == v),
                "{name}: {k}={v} not in {listed:?}"
            );
        }
        let again = model_from_name(name, &listed).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(again.params(), listed, "{name}");
    }
    // k1 alone selects BM25; wrong types and values name the key.
    let m = model_from_name("itemcf", &[("k1".into(), "2".into())]).unwrap();
    assert!(m.params().contains(&("weighting".into(), "bm25".into())));
    for (name, k, v) in [
        ("itemcf", "k", "-1"),
        ("itemcf", "b", "2"),
        ("als", "alpha", "inf"),
        ("bpr", "early_stopping", "soon"),
        ("ease", "lambda", "0"),
    ] {
        let e = model_from_name(name, &[(k.into(), v.into())])
            .err()
            .unwrap_or_else(|| panic!("{name}: {k}={v} accepted"))
            .to_string();
        assert!(e.contains(k), "{name}: {e}");
    }
}
