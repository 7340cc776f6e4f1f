//! Matrix factorisation: EASE, SVD/SVD++, ALS solvers, BPR threads, early
//! stopping, save/load, retrieval, and the Microsoft Recommenders protocol.

use recsys::models::contract;
use recsys::prelude::*;

use crate::{data_dir, temp_dir};

fn passes(model: &dyn Fit, personalised: bool) {
    if let Err(why) = contract::check(model, personalised).unwrap() {
        panic!("{} violates the contract: {why}", model.name());
    }
}

#[test]
fn ease_and_hogwild_bpr_pass_the_personalised_contract() {
    passes(&Ease::params().lambda(10.0), true);
    passes(
        &Als::params()
            .factors(8)
            .iterations(10)
            .solver(AlsSolver::Cholesky),
        true,
    );
    // Rating models only predict ratings: the structural contract.
    passes(&Svd::params().factors(4).epochs(3), false);
    passes(&Svd::plus_plus().factors(4).epochs(3), false);
    let (train, withheld) = contract::checkerboard(20, 20);
    let m = Bpr::params()
        .factors(8)
        .epochs(80)
        .threads(2)
        .fit(&train)
        .unwrap();
    let hits = (0..20u32)
        .filter(|&u| m.recommend(u, 1, true)[0].0 == withheld[u as usize].unwrap())
        .count();
    assert!(hits >= 18, "hogwild BPR: {hits}/20 withheld items top-1");
}

#[test]
fn non_finite_and_oversized_hyper_parameters_are_refused_by_name() {
    let (train, _) = contract::checkerboard(20, 20);
    let msg = |r: Result<FactorModel>| r.err().expect("refused").to_string();
    for (e, name) in [
        (
            msg(Als::params().alpha(f32::INFINITY).fit(&train)),
            "`alpha`",
        ),
        (msg(Als::params().alpha(f32::NAN).fit(&train)), "`alpha`"),
        (
            msg(Als::params().regularization(-1.0).fit(&train)),
            "`regularization`",
        ),
        (
            msg(Bpr::params().learning_rate(f32::INFINITY).fit(&train)),
            "`learning_rate`",
        ),
        (
            msg(Bpr::params().regularization(f32::NAN).fit(&train)),
            "`regularization`",
        ),
        // 40 rows × 1e11 factors: far beyond any machine's memory, refused
        // before allocating.
        (
            msg(Als::params().factors(100_000_000_000).fit(&train)),
            "`factors`",
        ),
    ] {
        assert!(e.contains(name), "expected {name} in: {e}");
    }
    let e = Ease::params()
        .lambda(f64::INFINITY)
        .fit(&train)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("`lambda`"), "{e}");
}

#[test]
fn ease_weights_have_zero_diagonal_and_reject_bad_lambda() {
    let (train, _) = contract::checkerboard(12, 12);
    let m = Ease::params().lambda(5.0).fit(&train).unwrap();
    for i in 0..12u32 {
        assert_eq!(m.weights_of(i)[i as usize], 0.0);
    }
    assert!(Ease::params().lambda(0.0).fit(&train).is_err());
}

/// A low-rank rating matrix: SVD and SVD++ recover held-out ratings far
/// better than the global mean.
#[test]
fn svd_and_svdpp_learn_low_rank_ratings() {
    use std::sync::Arc;
    let (nu, ni) = (60usize, 40usize);
    let (mut u, mut i, mut r) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tu, mut ti, mut tr) = (Vec::new(), Vec::new(), Vec::new());
    for a in 0..nu {
        for b in 0..ni {
            let val = 3.0 + ((a % 3) as f32 - 1.0) * ((b % 3) as f32 - 1.0) * 1.5;
            if (a * 7 + b * 3) % 5 == 0 {
                tu.push(a as u32);
                ti.push(b as u32);
                tr.push(val);
            } else {
                u.push(a as u32);
                i.push(b as u32);
                r.push(val);
            }
        }
    }
    let users = Arc::new(IdMap::from_ordered(
        (0..nu).map(|x| x.to_string()).collect(),
    ));
    let items = Arc::new(IdMap::from_ordered(
        (0..ni).map(|x| x.to_string()).collect(),
    ));
    let train = Interactions::new(users.clone(), items.clone(), u, i, Some(r), None).unwrap();
    for params in [
        Svd::params().factors(8).epochs(60).learning_rate(0.02),
        Svd::plus_plus().factors(8).epochs(60).learning_rate(0.02),
    ] {
        let m = params.fit(&train).unwrap();
        let rmse = (tu
            .iter()
            .zip(&ti)
            .zip(&tr)
            .map(|((&a, &b), &t)| (m.predict(a, b) - t).powi(2))
            .sum::<f32>()
            / tr.len() as f32)
            .sqrt();
        assert!(rmse < 0.3, "held-out RMSE {rmse}");
        let h = m.history();
        assert!(
            h[h.len() - 1] < 0.5 * h[0],
            "training RMSE should fall: {h:?}"
        );
    }
}

#[test]
fn als_cg_objective_is_within_one_percent_of_cholesky() {
    let x = recsys::data::synthetic::power_law(300, 200, 6_000, 0.8, 7);
    let cg = Als::params().factors(16).iterations(10);
    let exact = Als::params()
        .factors(16)
        .iterations(10)
        .solver(AlsSolver::Cholesky);
    let (a, b) = (cg.fit(&x).unwrap(), exact.fit(&x).unwrap());
    let (la, lb) = (cg.objective(&x, &a), exact.objective(&x, &b));
    assert!((la - lb).abs() / lb < 0.01, "CG {la} vs Cholesky {lb}");
}

#[test]
fn early_stopping_keeps_the_best_epoch_and_the_curve() {
    let x = recsys::data::synthetic::power_law(400, 150, 8_000, 0.8, 3);
    let s = Split::Random {
        test: 0.2,
        val: 0.0,
        seed: 1,
    }
    .apply(&x)
    .unwrap();
    let m = Bpr::params()
        .factors(8)
        .epochs(40)
        .early_stopping(2)
        .fit_validated(&s.train, Some(&s.test))
        .unwrap();
    let c = m.learning_curve();
    assert!(!c.epochs.is_empty() && c.epochs.len() <= 40);
    let best = c
        .epochs
        .iter()
        .filter_map(|e| e.val_ndcg)
        .fold(f64::NEG_INFINITY, f64::max);
    let kept = c.epochs.iter().find(|e| e.epoch == c.kept_epoch).unwrap();
    assert_eq!(kept.val_ndcg, Some(best));
    assert!(c.to_html().contains("val NDCG@10"));
    assert_eq!(c.to_polars().unwrap().height(), c.epochs.len());
    // Through the pipeline: the split's validation part is used.
    let r = Pipeline::from_interactions(x)
        .split(Split::UserRatio {
            test: 0.2,
            val: 0.1,
            by: Order::Random { seed: 1 },
        })
        .recall(Als::params().factors(8).iterations(6).early_stopping(2))
        .evaluate()
        .unwrap();
    assert!(r.get("NDCG@10").unwrap() > 0.0);
}

#[test]
fn saved_models_load_bit_for_bit() {
    let dir = temp_dir("models");
    let (train, _) = contract::checkerboard(16, 16);
    let scores = |s: &dyn Scorer| -> Vec<u32> {
        (0..16u32)
            .flat_map(|u| {
                let mut v = vec![0f32; s.n_items()];
                s.score_all(u, &mut v);
                v.into_iter().map(f32::to_bits)
            })
            .collect()
    };
    let bpr = Bpr::params().factors(4).epochs(5).fit(&train).unwrap();
    bpr.save(dir.join("bpr.model")).unwrap();
    let back = FactorModel::load(dir.join("bpr.model")).unwrap();
    assert_eq!(scores(&bpr), scores(&back));
    assert_eq!(bpr.learning_curve(), back.learning_curve());
    let ease = Ease::params().lambda(3.0).fit(&train).unwrap();
    ease.save(dir.join("ease.model")).unwrap();
    assert_eq!(
        scores(&ease),
        scores(&EaseModel::load(dir.join("ease.model")).unwrap())
    );
    let svd = Svd::plus_plus().factors(4).epochs(2).fit(&train).unwrap();
    svd.save(dir.join("svd.model")).unwrap();
    assert_eq!(
        scores(&svd),
        scores(&SvdModel::load(dir.join("svd.model")).unwrap())
    );
    // Wrong kind and garbage are clear errors.
    let e = EaseModel::load(dir.join("bpr.model"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("factors model"), "{e}");
    std::fs::write(dir.join("junk.model"), b"hello").unwrap();
    assert!(
        FactorModel::load(dir.join("junk.model"))
            .unwrap_err()
            .to_string()
            .contains("junk.model")
    );
}

#[test]
fn exact_and_hnsw_retrieval_agree() {
    let x = recsys::data::synthetic::power_law(500, 800, 20_000, 0.8, 5);
    let m = Als::params().factors(16).iterations(5).fit(&x).unwrap();
    let all = m.recommend_all(10, true);
    for u in [0u32, 17, 321] {
        assert_eq!(
            all[u as usize].iter().map(|p| p.0).collect::<Vec<_>>(),
            m.recommend(u, 10, true)
                .iter()
                .map(|p| p.0)
                .collect::<Vec<_>>()
        );
    }
    let index = m
        .ann_index(AnnParams {
            m: 32,
            ef_construction: 200,
            ef_search: 400,
        })
        .unwrap();
    let r = index.recall(&m, 10, None);
    assert!(r.recall > 0.95, "{r}");
    let quick = m
        .ann_index(AnnParams::default())
        .unwrap()
        .recall(&m, 10, None);
    assert!(
        quick.recall > 0.85 && quick.recall <= r.recall + 0.02,
        "{quick}"
    );
    let sims = m.similar_items(3, 5);
    assert_eq!(sims.len(), 5);
    assert!(sims.iter().all(|(i, _)| *i != 3));
}

#[test]
fn ms_recommenders_split_and_bpr_bar() {
    if data_dir().is_none() {
        return;
    }
    let all = Dataset::movielens_100k().unwrap().interactions;
    let s = Split::ms_recommenders().apply(&all).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (75_066, 24_934));
    // Every item keeps at least one training row.
    let counts = s.train.item_counts();
    assert!(
        all.item_counts()
            .iter()
            .zip(&counts)
            .all(|(a, t)| *a == 0 || *t > 0)
    );
    // BPR as in Rendle et al. (uniform negatives, item biases), cornac's
    // benchmark factors and step (200, 0.01). Tuned on validation only: an
    // inner 80/20 item-stratified split of train picks λ and, by early
    // stopping, the epochs; then one refit on all of train.
    let inner = Split::Stratified {
        train: 0.8,
        by: Group::Item,
        seed: 7,
    }
    .apply(&s.train)
    .unwrap();
    let bpr = || Bpr::params().factors(200).learning_rate(0.01);
    let (reg, epochs, _) = [0.001f32, 0.003, 0.01]
        .into_iter()
        .map(|reg| {
            let m = bpr()
                .regularization(reg)
                .epochs(400)
                .early_stopping(5)
                .eval_every(10)
                .fit_validated(&inner.train, Some(&inner.test))
                .unwrap();
            let c = m.learning_curve();
            let best = c
                .epochs
                .iter()
                .filter_map(|e| e.val_ndcg)
                .fold(0.0, f64::max);
            (reg, c.kept_epoch, best)
        })
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap();
    let r = Pipeline::from_interactions(all)
        .split(Split::ms_recommenders())
        .recall(bpr().regularization(reg).epochs(epochs))
        .evaluate()
        .unwrap();
    assert!(
        r.get("NDCG@10").unwrap() >= 0.44,
        "MS Recommenders protocol: BPR(λ={reg}, {epochs} epochs) NDCG@10 {:?}",
        r.get("NDCG@10")
    );
}

#[test]
fn als_gives_the_same_bits_with_one_and_two_threads() {
    // Enough items for several 1,024-row blocks in every Gram reduce.
    let (nu, ni) = (3_000, 4_500);
    let mut rows = Vec::new();
    let mut state = 12_345u64;
    for u in 0..nu {
        for _ in 0..12 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let i = (state >> 33) as usize % ni;
            rows.push((format!("u{u}"), format!("i{i}")));
        }
    }
    let x = Interactions::from_raw_rows(&rows, None, None, &[]).unwrap();
    let fit = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| Als::params().factors(16).iterations(3).fit(&x).unwrap())
    };
    let (one, two) = (fit(1), fit(2));
    for u in (0..nu as u32).step_by(97) {
        let (a, b) = (one.user_factors(u), two.user_factors(u));
        assert!(
            a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()),
            "user {u}: {a:?} vs {b:?}"
        );
    }
    for i in (0..x.n_items() as u32).step_by(89) {
        let (a, b) = (one.item_factors(i), two.item_factors(i));
        assert!(
            a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()),
            "item {i}"
        );
    }
}

#[test]
fn a_saved_svd_model_with_an_impossible_rating_range_is_refused() {
    // Found by the fuzz bench: a header whose clip range was reversed made
    // every prediction panic in f32::clamp.
    let rows: Vec<(String, String)> = (0..30)
        .map(|r| (format!("u{}", r % 6), format!("i{}", r % 7)))
        .collect();
    let x = Interactions::from_raw_rows(
        &rows,
        Some((0..30).map(|r| 1.0 + (r % 5) as f32).collect()),
        None,
        &[],
    )
    .unwrap();
    let dir = crate::temp_dir("svd-clip");
    let path = dir.join("svd.bin");
    Svd::params()
        .factors(2)
        .epochs(2)
        .fit(&x)
        .unwrap()
        .save(&path)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (from, to) = (&b"\"clip\":[1.0,5.0]"[..], &b"\"clip\":[9.0,5.0]"[..]);
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the clip range in the header");
    let mut bad = bytes.clone();
    bad[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&path, &bad).unwrap();
    let e = SvdModel::load(&path).err().expect("refused").to_string();
    assert!(e.contains("rating range"), "{e}");
}
