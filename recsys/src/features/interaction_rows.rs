//! Feature tasks from a [`Dataset`]: every interaction becomes a labelled
//! row with the user's and the item's feature columns joined by id, split
//! per user by time, and encoded by a [`FeatureSpec`] like any other
//! labelled rows. MovieLens CTR (the peer harness's `ml100k_ctr`) is one
//! such task.

use super::movielens_ctr::AGE_EDGES;
use super::schema::Pooling;
use super::task::{ColumnRule, ColumnSpec, FeatureSpec, FeatureTask, NumericTransform};
use crate::data::{Dataset, FeatureColumn, Features, RawFrame};
use crate::{Error, Result};

/// The separator of multi-label cells (genres) in the joined rows.
pub const MULTI_LABEL_SEPARATOR: &str = "|";

/// Labelled rows of `ds`'s interactions, in interaction order: `user_id`,
/// `item_id` (raw ids), `label` (`1` when the rating is at least
/// `threshold`, else `0`), then every user feature column and every item
/// feature column joined by id (categorical cells as they are, numbers as
/// text, multi-label cells joined by [`MULTI_LABEL_SEPARATOR`]; free-text
/// columns such as titles are left out). A user or item the feature table
/// lacks gets empty (missing) cells. A column name that the user and item
/// tables share is prefixed `user_` / `item_`.
pub fn interaction_frame(ds: &Dataset, threshold: f32) -> Result<RawFrame> {
    let x = &ds.interactions;
    let ratings = x.ratings().ok_or_else(|| {
        Error::InvalidData(format!(
            "{}: labelled rows need ratings (label = rating ≥ {threshold})",
            ds.name
        ))
    })?;
    let cells = |f: &dyn Fn(usize) -> String| -> Vec<Box<str>> {
        (0..x.len()).map(|r| f(r).into_boxed_str()).collect()
    };
    let (users, items) = (x.user_indices(), x.item_indices());
    let mut columns = vec![
        (
            "user_id".to_string(),
            cells(&|r| x.users().raw(users[r]).to_string()),
        ),
        (
            "item_id".to_string(),
            cells(&|r| x.items().raw(items[r]).to_string()),
        ),
        (
            "label".to_string(),
            cells(&|r| if ratings[r] >= threshold { "1" } else { "0" }.to_string()),
        ),
    ];
    let shared = |a: &Option<Features>, b: &Option<Features>, name: &str| {
        b.as_ref().is_some_and(|b| b.column(name).is_some())
            && a.as_ref().is_some_and(|a| a.column(name).is_some())
    };
    for (table, side, other) in [
        (&ds.users, "user", &ds.items),
        (&ds.items, "item", &ds.users),
    ] {
        let Some(t) = table else { continue };
        // Row of the feature table for every interaction (None: absent).
        let ids = if side == "user" { x.users() } else { x.items() };
        let idx = if side == "user" { users } else { items };
        let row: Vec<Option<usize>> = idx
            .iter()
            .map(|&i| t.ids().get(ids.raw(i)).map(|r| r as usize))
            .collect();
        for (name, col) in t.columns() {
            let text = |r: Option<usize>| -> String {
                let Some(r) = r else { return String::new() };
                match col {
                    FeatureColumn::Categorical(v) => v[r].clone(),
                    FeatureColumn::Numeric(v) if v[r].is_nan() => String::new(),
                    FeatureColumn::Numeric(v) => v[r].to_string(),
                    FeatureColumn::MultiLabel(v) => v[r].join(MULTI_LABEL_SEPARATOR),
                    _ => String::new(),
                }
            };
            if matches!(col, FeatureColumn::Text(_)) {
                continue;
            }
            let key = if shared(table, other, name) || name == "user_id" || name == "item_id" {
                format!("{side}_{name}")
            } else {
                name.clone()
            };
            columns.push((key, cells(&|r| text(row[r]))));
        }
    }
    RawFrame::from_columns(format!("{} interactions", ds.name), columns)
}

/// Per-user chronological split of `ds`'s interactions, the peer harness's
/// rule: each user's interactions sorted by (timestamp, item id — numeric
/// when the raw ids are numbers); with `n` of them, the last `⌊n·test⌋`
/// are test, the `⌊n·val⌋` before them validation, the rest train.
/// Returns the interaction row indices of train, validation and test, each
/// in interaction order.
pub fn split_per_user_by_time(ds: &Dataset, val: f64, test: f64) -> Result<[Vec<usize>; 3]> {
    if !(val >= 0.0 && test > 0.0 && val + test < 1.0) {
        return Err(Error::Config(format!(
            "split fractions: need val ≥ 0, test > 0 and val + test < 1, got val {val}, test {test}"
        )));
    }
    let x = &ds.interactions;
    let ts = x.timestamps().ok_or_else(|| {
        Error::InvalidData(format!("{}: a split by time needs timestamps", ds.name))
    })?;
    let item_key = |r: usize| {
        let raw = x.items().raw(x.item_indices()[r]);
        (raw.parse::<u64>().unwrap_or(u64::MAX), raw.to_string())
    };
    let mut parts: [Vec<usize>; 3] = Default::default();
    for mut rows in x.rows_by_user() {
        rows.sort_by_cached_key(|&r| (ts[r], item_key(r)));
        let n = rows.len();
        let n_test = (n as f64 * test).floor() as usize;
        let n_val = (n as f64 * val).floor() as usize;
        let n_train = n - n_test - n_val;
        parts[0].extend(&rows[..n_train]);
        parts[1].extend(&rows[n_train..n_train + n_val]);
        parts[2].extend(&rows[n_train + n_val..]);
    }
    for p in &mut parts {
        p.sort_unstable();
    }
    Ok(parts)
}

impl FeatureSpec {
    /// The peer harness's MovieLens CTR fields (`ml100k_ctr`): user_id,
    /// item_id, gender, age_bucket, occupation, zip3 as tokens
    /// (`min_count` 1) and genres as a mean-pooled multi-hot field of up to
    /// `max_genres` ids; label `label`, grouped by user for GAUC; every
    /// field embedded in 16 dimensions.
    pub fn movielens_ctr(max_genres: usize) -> FeatureSpec {
        let mut columns: Vec<ColumnSpec> = [
            "user_id",
            "item_id",
            "gender",
            "age_bucket",
            "occupation",
            "zip3",
        ]
        .iter()
        .map(|c| ColumnSpec::new(c, ColumnRule::Categorical { min_count: 1 }))
        .collect();
        columns.push(ColumnSpec::new(
            "genres",
            ColumnRule::MultiHot {
                separator: MULTI_LABEL_SEPARATOR.into(),
                max_len: max_genres.max(1),
                pooling: Pooling::Mean,
                min_count: 1,
            },
        ));
        FeatureSpec {
            label: "label".into(),
            group: Some("user_id".into()),
            graded: None,
            columns,
            dim: 16,
        }
    }
}

impl FeatureSpec {
    /// The peer harness's learning-to-rank fields (`ml100k_ltr`): each user
    /// a query (`qid`, also a field, as the peers' `user_id`), the
    /// MovieLens CTR fields, and the item's train statistics as dense
    /// fields (`item_train_count` as `ln(1 + x)`, `item_train_mean_rating`,
    /// both min–max scaled on train); label `rel` graded 1..5, positive
    /// (for BCE and AUC) at 4, as the files' `label` column.
    pub fn movielens_ltr(max_genres: usize) -> FeatureSpec {
        let mut spec = FeatureSpec::movielens_ctr(max_genres);
        spec.columns[0].name = "qid".into();
        spec.columns.push(ColumnSpec::new(
            "item_train_count",
            ColumnRule::Numeric {
                transform: NumericTransform::Log1p,
            },
        ));
        spec.columns.push(ColumnSpec::new(
            "item_train_mean_rating",
            ColumnRule::Numeric {
                transform: NumericTransform::None,
            },
        ));
        spec.label = "rel".into();
        spec.group = Some("qid".into());
        spec.graded = Some(4.0);
        spec
    }
}

impl FeatureTask {
    /// The peer harness's learning-to-rank split files `train.tsv`,
    /// `val.tsv`, `test.tsv` in `dir` (`splits/ctr/ml100k_ltr`: each user
    /// a query, graded relevance = rating), processed by
    /// [`FeatureSpec::movielens_ltr`]; rows in the files' order, so that
    /// per-row predictions pair with the peers' saved ones.
    pub fn movielens_ltr_dir(dir: impl AsRef<std::path::Path>) -> Result<FeatureTask> {
        let d = dir.as_ref();
        let read = |f: &str| RawFrame::read_delimited(d.join(f), crate::data::Separator::Tab);
        FeatureTask::new(
            "MovieLens 100K LTR",
            FeatureSpec::movielens_ltr(6),
            &read("train.tsv")?,
            Some(&read("val.tsv")?),
            &read("test.tsv")?,
        )
    }
}

impl FeatureTask {
    /// A pointwise task from any dataset with ratings and timestamps: every
    /// interaction a row ([`interaction_frame`]: user and item ids, label =
    /// rating ≥ `threshold`, the user and item feature columns joined),
    /// split per user by time ([`split_per_user_by_time`]), encoded by
    /// `spec` fitted on the training rows. The spec names the columns it
    /// uses (e.g. `genres` as a multi-hot field from the item file).
    pub fn from_interactions(
        ds: &Dataset,
        spec: FeatureSpec,
        threshold: f32,
        val: f64,
        test: f64,
    ) -> Result<FeatureTask> {
        let frame = interaction_frame(ds, threshold)?;
        let [train, va, te] = split_per_user_by_time(ds, val, test)?;
        FeatureTask::new(
            &format!("{} (label = rating ≥ {threshold})", ds.name),
            spec,
            &frame.select(&train),
            Some(&frame.select(&va)),
            &frame.select(&te),
        )
    }

    /// The peer harness's pointwise MovieLens CTR protocol (`ml100k_ctr`)
    /// built from a MovieLens dataset: every rating a row, label = rating
    /// ≥ 4, split per user by time (10 % validation, 10 % test, see
    /// [`split_per_user_by_time`]), the fields of
    /// [`FeatureSpec::movielens_ctr`] (age → the ML-1M age bucket, zip code
    /// → its first 3 characters) fitted on train. On MovieLens 100K this is
    /// row for row the peers' split files (80,808 / 9,596 / 9,596 rows).
    pub fn movielens_ctr(ds: &Dataset) -> Result<FeatureTask> {
        let (spec, [train, val, test]) = movielens_ctr_frames(ds)?;
        FeatureTask::new(&format!("{} CTR", ds.name), spec, &train, Some(&val), &test)
    }
}

/// The raw train, validation and test rows of [`FeatureTask::movielens_ctr`]
/// and its spec (to encode them with a saved model's encoders).
pub fn movielens_ctr_frames(ds: &Dataset) -> Result<(FeatureSpec, [RawFrame; 3])> {
    {
        let frame = interaction_frame(ds, 4.0)?;
        let age = frame.column("age")?;
        let age_bucket: Vec<Box<str>> = age
            .iter()
            .enumerate()
            .map(|(r, a)| {
                if a.is_empty() {
                    return Ok("".into());
                }
                let a: f32 = a
                    .parse()
                    .map_err(|_| frame.error(r, "age", format!("{a:?} is not a number")))?;
                // ML-1M's ages are already bucket codes; ML-100K's are years.
                let b = AGE_EDGES
                    .iter()
                    .rev()
                    .find(|&&e| e <= a)
                    .unwrap_or(&AGE_EDGES[0]);
                Ok(format!("{b}").into_boxed_str())
            })
            .collect::<Result<_>>()?;
        let zip3: Vec<Box<str>> = frame
            .column("zip_code")?
            .iter()
            .map(|z| z.chars().take(3).collect::<String>().into_boxed_str())
            .collect();
        let max_genres = frame
            .column("genres")?
            .iter()
            .map(|g| g.split(MULTI_LABEL_SEPARATOR).count())
            .max()
            .unwrap_or(1);
        let mut columns: Vec<(String, Vec<Box<str>>)> = frame
            .columns
            .iter()
            .map(|c| Ok((c.clone(), frame.column(c)?.to_vec())))
            .collect::<Result<_>>()?;
        columns.push(("age_bucket".into(), age_bucket));
        columns.push(("zip3".into(), zip3));
        let frame = RawFrame::from_columns(frame.source.clone(), columns)?;
        let [train, val, test] = split_per_user_by_time(ds, 0.1, 0.1)?;
        Ok((
            FeatureSpec::movielens_ctr(max_genres),
            [
                frame.select(&train),
                frame.select(&val),
                frame.select(&test),
            ],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{IdMap, Interactions};
    use crate::features::{FieldKind, NumericTransform};

    /// 3 users × 10 ratings each, with user and item features.
    fn dataset() -> Dataset {
        let mut rows = Vec::new();
        let (mut ratings, mut ts) = (Vec::new(), Vec::new());
        for u in 0..3 {
            for k in 0..10 {
                let i = (u * 3 + k) % 10;
                rows.push((format!("u{u}"), format!("{i}")));
                ratings.push(1.0 + ((u + k) % 5) as f32);
                ts.push(1000 - k as i64); // newest first in file order
            }
        }
        let x = Interactions::from_raw_rows(&rows, Some(ratings), Some(ts), &[]).unwrap();
        let users = Features::new(IdMap::from_ordered(vec![
            "u0".into(),
            "u1".into(),
            "u2".into(),
        ]))
        .with_column(
            "gender",
            FeatureColumn::Categorical(vec!["F".into(), "M".into(), "F".into()]),
        )
        .with_column("age", FeatureColumn::Numeric(vec![20.0, f32::NAN, 40.0]));
        let items = Features::new(IdMap::from_ordered(
            (0..10).map(|i| i.to_string()).collect(),
        ))
        .with_column(
            "genres",
            FeatureColumn::MultiLabel(
                (0..10)
                    .map(|i| {
                        if i % 2 == 0 {
                            vec!["Drama".to_string()]
                        } else {
                            vec!["Comedy".to_string(), "Drama".to_string()]
                        }
                    })
                    .collect(),
            ),
        )
        .with_column(
            "title",
            FeatureColumn::Text((0..10).map(|i| format!("t{i}")).collect()),
        );
        Dataset {
            name: "toy".into(),
            interactions: x,
            users: Some(users),
            items: Some(items),
        }
    }

    #[test]
    fn interactions_become_labelled_rows_with_both_sides_features() {
        let ds = dataset();
        let f = interaction_frame(&ds, 4.0).unwrap();
        assert_eq!(
            f.columns,
            ["user_id", "item_id", "label", "gender", "age", "genres"],
            "text columns are left out"
        );
        assert_eq!(f.len(), 30);
        let r = ds.interactions.ratings().unwrap();
        for (row, l) in f.column("label").unwrap().iter().enumerate() {
            assert_eq!(&**l, if r[row] >= 4.0 { "1" } else { "0" });
        }
        assert_eq!(&*f.column("age").unwrap()[10], "", "NaN → missing");
        assert_eq!(&*f.column("genres").unwrap()[1], "Comedy|Drama");
    }

    #[test]
    fn the_split_by_time_keeps_each_users_future_for_test() {
        let ds = dataset();
        let [train, val, test] = split_per_user_by_time(&ds, 0.1, 0.2).unwrap();
        // n = 10 per user: 1 validation, 2 test, 7 train.
        assert_eq!((train.len(), val.len(), test.len()), (21, 3, 6));
        let ts = ds.interactions.timestamps().unwrap();
        let users = ds.interactions.user_indices();
        for u in 0..3 {
            let newest_train = train
                .iter()
                .filter(|&&r| users[r] == u)
                .map(|&r| ts[r])
                .max();
            let oldest_test = test
                .iter()
                .filter(|&&r| users[r] == u)
                .map(|&r| ts[r])
                .min();
            assert!(newest_train < oldest_test, "user {u}");
        }
        assert!(split_per_user_by_time(&ds, 0.5, 0.5).is_err());
    }

    #[test]
    fn a_generic_task_takes_sequence_and_dense_fields_from_the_feature_files() {
        let ds = dataset();
        let spec = FeatureSpec {
            label: "label".into(),
            group: Some("user_id".into()),
            graded: None,
            columns: vec![
                ColumnSpec::new("user_id", ColumnRule::Categorical { min_count: 1 }),
                ColumnSpec::new("gender", ColumnRule::Categorical { min_count: 1 }),
                ColumnSpec::new(
                    "age",
                    ColumnRule::Numeric {
                        transform: NumericTransform::None,
                    },
                ),
                ColumnSpec::new(
                    "genres",
                    ColumnRule::MultiHot {
                        separator: MULTI_LABEL_SEPARATOR.into(),
                        max_len: 2,
                        pooling: Pooling::Mean,
                        min_count: 1,
                    },
                ),
            ],
            dim: 4,
        };
        let task = FeatureTask::from_interactions(&ds, spec, 4.0, 0.1, 0.2).unwrap();
        let kinds: Vec<&FieldKind> = task.schema().fields.iter().map(|f| &f.kind).collect();
        assert!(
            matches!(
                kinds[..],
                [
                    FieldKind::Sparse,
                    FieldKind::Sparse,
                    FieldKind::Dense,
                    FieldKind::Sequence { max_len: 2, .. }
                ]
            ),
            "{kinds:?}"
        );
        assert_eq!(
            task.schema().field("genres").unwrap().vocab,
            3,
            "2 genres + OOV"
        );
        assert_eq!(task.train.len(), 21);
        assert!(task.test.groups.is_some());
    }
}
