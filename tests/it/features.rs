//! CTR features: encoders and the MovieLens CTR task.

use recsys::features::*;
use recsys::prelude::*;

use crate::data_dir;

#[test]
fn label_encoder_maps_unknown_and_rare_values_to_padding() {
    let e = LabelEncoder::fit(["a", "b", "a", "c", "a", "b"], 2);
    assert_eq!((e.encode("a"), e.encode("b")), (1, 2));
    assert_eq!(e.encode("c"), 0, "rarer than min_count");
    assert_eq!(e.encode("zzz"), 0, "out of vocabulary");
    assert_eq!(e.vocab(), 3);
    let h = LabelEncoder::hashing(10);
    assert_eq!(h.encode("x"), h.encode("x"));
    assert!((1..=10).contains(&h.encode("anything")));
    assert_eq!(h.vocab(), 11);
}

#[test]
fn scaler_multihot_and_buckets() {
    let s = MinMaxScaler::fit([2.0, 4.0, f32::NAN, 6.0]);
    assert_eq!(
        (s.transform(2.0), s.transform(4.0), s.transform(6.0)),
        (0.0, 0.5, 1.0)
    );
    assert_eq!(
        (s.transform(10.0), s.transform(-1.0), s.transform(f32::NAN)),
        (1.0, 0.0, 0.0)
    );
    let rows: Vec<Vec<String>> = vec![vec!["x".into(), "y".into()], vec!["z".into()]];
    let m = MultiHotEncoder::fit(rows.iter().map(|r| r.as_slice()), 2, 1);
    assert_eq!(m.encode(&["y".into()]), vec![2, 0], "padded with 0");
    assert_eq!(
        m.encode(&["x".into(), "new".into(), "z".into(), "y".into()]),
        vec![1, 3],
        "unknown dropped, truncated"
    );
    let b = Bucketizer::new(&AGE_EDGES);
    assert_eq!(
        [0.0, 7.0, 18.0, 24.0, 56.0, 73.0].map(|a| b.encode(a)),
        [0, 1, 2, 2, 7, 7]
    );
    assert_eq!(b.vocab(), 8);
}

#[test]
fn movielens_ctr_task_matches_the_documents() {
    if data_dir().is_none() {
        return;
    }
    let ml = Dataset::movielens_100k().unwrap();
    let task = MovieLensCtr::new(&ml, 42).unwrap();
    let dims: Vec<(&str, usize)> = task
        .schema
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.dim))
        .collect();
    assert_eq!(
        dims,
        [
            ("user_id", 16),
            ("gender", 4),
            ("age", 4),
            ("occupation", 8),
            ("zip3", 8),
            ("movie_id", 16),
            ("genres", 8)
        ]
    );
    assert_eq!(task.schema.counts(), (6, 0, 1));
    assert_eq!(task.schema.field("gender").unwrap().vocab, 3);
    assert_eq!(task.schema.field("age").unwrap().vocab, 8);
    assert!(task.schema.to_html().contains("genres"));
    // The peers' protocol A: 53,491 training positives, 1 + 999 candidates per user.
    assert_eq!(task.train.len(), 53_491);
    assert_eq!((task.test.n_users(), task.test.len()), (942, 941_944));
    assert_eq!(task.val.n_users(), 942);
    let (u, i, y) = task.epoch_rows(0);
    assert_eq!(u.len(), 5 * 53_491);
    assert_eq!(y.iter().filter(|&&v| v == 1.0).count(), 53_491);
    for k in (0..u.len()).step_by(997) {
        if y[k] == 0.0 {
            assert!(
                task.rated.user_items(u[k]).binary_search(&i[k]).is_err(),
                "negative was rated"
            );
        }
    }
    assert_eq!(task.epoch_rows(0).1, i, "same epoch, same rows");
    assert_ne!(task.epoch_rows(1).1, i, "negatives re-drawn every epoch");
    let b = task.encode(&u[..8], &i[..8], &y[..8]);
    assert_eq!(
        (b.len, b.sparse.len(), b.sequences.len(), b.labels.len()),
        (8, 8 * 6, 8 * 6, 8)
    );
}
