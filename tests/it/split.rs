//! Our splits and candidate sampler against the peers' split files.

use std::collections::BTreeSet;

use recsys::prelude::*;

use crate::{data_dir, peer_splits};

fn pairs(x: &Interactions) -> BTreeSet<(String, String)> {
    x.user_indices()
        .iter()
        .zip(x.item_indices())
        .map(|(&u, &i)| (x.users().raw(u).to_string(), x.items().raw(i).to_string()))
        .collect()
}

#[test]
fn loo_on_positives_matches_peer_protocol_a() {
    let (Some(_), Some(peers)) = (data_dir(), peer_splits()) else {
        return;
    };
    let all = Dataset::movielens_100k().unwrap().interactions;
    let pos = all.implicit(4.0);
    assert_eq!(pos.len(), 55_375);
    let s = Split::loo().apply(&pos).unwrap();
    assert_eq!(s.train.len(), 53_491);
    assert_eq!(s.val.as_ref().unwrap().len(), 942);
    assert_eq!(s.test.len(), 942);
    let peer_train = InteractionsFile::new(peers.join("loo_sampled/train.tsv"))
        .load()
        .unwrap();
    assert_eq!(
        pairs(&s.train),
        pairs(&peer_train),
        "same train rows as the peers"
    );

    // Our sampler: same row counts as the peers' candidate files.
    let val = Candidates::sample(
        s.val.as_ref().unwrap(),
        &all,
        &s.train,
        999,
        NegativeSampler::Uniform,
        42,
    )
    .unwrap();
    let test =
        Candidates::sample(&s.test, &all, &s.train, 999, NegativeSampler::Uniform, 42).unwrap();
    for c in [&val, &test] {
        assert_eq!(c.n_users(), 942);
        assert_eq!(c.len(), 941_944);
        let short: Vec<(String, usize)> = c
            .iter()
            .filter(|(_, items, _)| items.len() < 1000)
            .map(|(u, items, _)| (c.universe().0.raw(u).to_string(), items.len()))
            .collect();
        assert_eq!(
            short,
            vec![("405".to_string(), 946), ("655".to_string(), 998)]
        );
    }
    // No negative was ever rated, and no duplicates within a user.
    for (u, items, labels) in test.iter() {
        let rated = all.user_items(u);
        let mut seen = BTreeSet::new();
        for (i, l) in items.iter().zip(labels) {
            assert!(seen.insert(*i));
            if !l {
                assert!(rated.binary_search(i).is_err());
            }
        }
    }
    // Same seed, same candidates; saved and loaded, identical.
    let again =
        Candidates::sample(&s.test, &all, &s.train, 999, NegativeSampler::Uniform, 42).unwrap();
    assert!(again.iter().eq(test.iter()));
    let dir = crate::temp_dir("cands");
    test.save(dir.join("c.tsv")).unwrap();
    let back = Candidates::load(dir.join("c.tsv"), &s.train).unwrap();
    assert!(back.iter().eq(test.iter()));
    let pop = Candidates::sample(
        &s.test,
        &all,
        &s.train,
        999,
        NegativeSampler::Popularity,
        42,
    )
    .unwrap();
    assert_eq!(pop.len(), 941_944);
}

#[test]
fn user_ratio_by_time_matches_peer_protocol_b() {
    let (Some(_), Some(peers)) = (data_dir(), peer_splits()) else {
        return;
    };
    let all = Dataset::movielens_100k().unwrap().interactions;
    let s = Split::UserRatio {
        test: 0.2,
        val: 0.0,
        by: Order::Time,
    }
    .apply(&all)
    .unwrap();
    assert_eq!((s.train.len(), s.test.len()), (80_367, 19_633));
    assert!(s.val.is_none());
    let peer_test = InteractionsFile::new(peers.join("full_ranking/test.tsv"))
        .load()
        .unwrap();
    assert_eq!(pairs(&s.test), pairs(&peer_test));
}

#[test]
fn other_splits_partition_the_rows() {
    let (x, _) = recsys::models::contract::checkerboard(30, 30);
    let ts: Vec<i64> = (0..x.len() as i64).rev().collect();
    let x = Interactions::new(
        x.users().clone(),
        x.items().clone(),
        x.user_indices().to_vec(),
        x.item_indices().to_vec(),
        None,
        Some(ts),
    )
    .unwrap();
    for split in [
        Split::GlobalTime {
            test: 0.2,
            val: 0.1,
        },
        Split::Random {
            test: 0.2,
            val: 0.1,
            seed: 42,
        },
        Split::UserRatio {
            test: 0.2,
            val: 0.1,
            by: Order::Random { seed: 42 },
        },
        Split::loo(),
    ] {
        let s = split.apply(&x).unwrap();
        let n = s.train.len() + s.test.len() + s.val.as_ref().map_or(0, |v| v.len());
        assert_eq!(n, x.len(), "{split:?}");
        let mut all = pairs(&s.train);
        all.extend(pairs(&s.test));
        all.extend(s.val.as_ref().map(pairs).unwrap_or_default());
        assert_eq!(all, pairs(&x), "{split:?}");
        // Same seed, same split.
        assert_eq!(pairs(&split.apply(&x).unwrap().test), pairs(&s.test));
    }
    let g = Split::GlobalTime {
        test: 0.2,
        val: 0.0,
    }
    .apply(&x)
    .unwrap();
    let max_train = g.train.timestamps().unwrap().iter().max().unwrap();
    let min_test = g.test.timestamps().unwrap().iter().min().unwrap();
    assert!(max_train <= min_test);
    assert!(
        Split::GlobalTime {
            test: 1.5,
            val: 0.0
        }
        .apply(&x)
        .is_err()
    );
    let no_time = x.without_ratings();
    let no_time = Interactions::new(
        no_time.users().clone(),
        no_time.items().clone(),
        no_time.user_indices().to_vec(),
        no_time.item_indices().to_vec(),
        None,
        None,
    )
    .unwrap();
    assert!(
        Split::loo()
            .apply(&no_time)
            .unwrap_err()
            .to_string()
            .contains("timestamps")
    );
}
