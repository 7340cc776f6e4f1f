//! The MovieLens CTR task of the documents' DeepFM project: label = rating
//! ≥ 4; user fields user_id (16), gender (4), age bucket (4), occupation
//! (8), zip prefix (8); item fields movie_id (16) and genres (a mean-pooled
//! sequence, max_len 6, dim 8). Leave-one-out by time on the positives;
//! training rows are the observed positives plus 4 negatives per positive
//! drawn from never-rated items, re-drawn every epoch; validation and test
//! are 1 positive + 999 fixed never-rated items per user.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use super::encoders::{Bucketizer, LabelEncoder, MultiHotEncoder};
use super::schema::{DatasetSchema, FieldSchema, Pooling};
use crate::data::{Dataset, FeatureColumn, Features, Interactions};
use crate::split::{Candidates, NegativeSampler, Split};
use crate::{Error, Result};

/// The documents' age bucket edges.
pub const AGE_EDGES: [f32; 7] = [1.0, 18.0, 25.0, 35.0, 45.0, 50.0, 56.0];

/// Rows of a batch, encoded for a model: `sparse` is `[B × n_sparse]` ids
/// in schema order of the sparse fields, `sequences` `[B × n_seq ×
/// max_len]` ids (0-padded), `dense` `[B × n_dense]`, `labels` `[B]` (1 =
/// click / positive).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CtrBatch {
    pub sparse: Vec<u32>,
    pub sequences: Vec<u32>,
    pub dense: Vec<f32>,
    pub labels: Vec<f32>,
    pub len: usize,
}

/// Encodes `(user, item)` pairs into model batches from per-user and
/// per-item feature tables (dense indices of the task's universe): the
/// user's sparse ids, then the item's sparse ids, then the item's sequence
/// ids, in the order of [`PairEncoder::schema`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairEncoder {
    pub schema: DatasetSchema,
    /// `[n_users × user_width]`.
    user_sparse: Vec<u32>,
    user_width: usize,
    /// `[n_items × item_width]`.
    item_sparse: Vec<u32>,
    item_width: usize,
    /// `[n_items × seq_width]` (0-padded).
    item_sequences: Vec<u32>,
    seq_width: usize,
}

impl PairEncoder {
    /// Users the tables cover.
    pub fn n_users(&self) -> usize {
        self.user_sparse.len() / self.user_width.max(1)
    }

    /// Items the tables cover.
    pub fn n_items(&self) -> usize {
        self.item_sparse.len() / self.item_width.max(1)
    }

    /// Encodes `(user, item)` pairs with their labels into a model batch.
    pub fn encode(&self, users: &[u32], items: &[u32], labels: &[f32]) -> CtrBatch {
        let n = users.len().min(items.len());
        let mut b = CtrBatch {
            sparse: Vec::with_capacity(n * (self.user_width + self.item_width)),
            sequences: Vec::with_capacity(n * self.seq_width),
            dense: Vec::new(),
            labels: labels.iter().take(n).copied().collect(),
            len: n,
        };
        let (uw, iw, sw) = (self.user_width, self.item_width, self.seq_width);
        for (&u, &i) in users.iter().zip(items).take(n) {
            let (u, i) = (u as usize, i as usize);
            b.sparse
                .extend_from_slice(&self.user_sparse[u * uw..(u + 1) * uw]);
            b.sparse
                .extend_from_slice(&self.item_sparse[i * iw..(i + 1) * iw]);
            b.sequences
                .extend_from_slice(&self.item_sequences[i * sw..(i + 1) * sw]);
        }
        b
    }

    /// Sets every field's embedding dimension to `dim` (the peer
    /// harness's DeepFM embeds all seven fields in 16 dimensions).
    pub fn uniform_dims(mut self, dim: usize) -> Self {
        for f in &mut self.schema.fields {
            f.dim = dim;
        }
        self
    }
}

/// The MovieLens CTR data: schema, encoded side features, positives split
/// leave-one-out, fixed evaluation candidates, and per-epoch training rows.
#[derive(Debug, Clone)]
pub struct MovieLensCtr {
    pub schema: DatasetSchema,
    /// Training positives (rating ≥ 4, all but each user's last two).
    pub train: Interactions,
    /// Every rating of every user (negatives are drawn outside it).
    pub rated: Interactions,
    /// 1 validation positive + 999 never-rated items per user.
    pub val: Candidates,
    /// 1 test positive + 999 never-rated items per user.
    pub test: Candidates,
    /// Feature tables: user_id, gender, age bucket, occupation, zip3 per
    /// user; movie_id and genres per item.
    pub encoder: PairEncoder,
    negatives: usize,
    seed: u64,
}

const USER_FIELDS: usize = 5;

fn categorical<'a>(f: &'a Features, name: &str) -> Result<&'a [String]> {
    match f.column(name) {
        Some(FeatureColumn::Categorical(v)) => Ok(v),
        _ => Err(Error::InvalidData(format!(
            "user features lack the categorical column {name:?}"
        ))),
    }
}

impl MovieLensCtr {
    /// Builds the task from MovieLens with user and item features
    /// (`Dataset::movielens_100k()`); `seed` fixes the candidates and the
    /// negatives of every epoch.
    pub fn new(data: &Dataset, seed: u64) -> Result<Self> {
        let positives = data.interactions.implicit(4.0);
        let split = Split::loo().apply(&positives)?;
        let (train, val_pos, test_pos) = (
            split.train.clone(),
            split
                .val
                .clone()
                .ok_or_else(|| Error::InvalidData("no validation positives".into()))?,
            split.test.clone(),
        );
        let rated = data.interactions.clone();
        let val = Candidates::sample(
            &val_pos,
            &rated,
            &train,
            999,
            NegativeSampler::Uniform,
            seed,
        )?;
        let test = Candidates::sample(
            &test_pos,
            &rated,
            &train,
            999,
            NegativeSampler::Uniform,
            seed.wrapping_add(1),
        )?;
        Self::build(data, train, rated, val, test, seed)
    }

    /// The task on predefined files (the peer harness's
    /// `splits/ml100k/loo_sampled`): `train.tsv` (`user item timestamp`
    /// positives) and `val_candidates.tsv`/`test_candidates.tsv` (`user item
    /// label`), raw MovieLens ids; negatives for training are drawn outside
    /// every rating of `data`.
    pub fn from_files(
        data: &Dataset,
        train: impl AsRef<std::path::Path>,
        val: impl AsRef<std::path::Path>,
        test: impl AsRef<std::path::Path>,
        seed: u64,
    ) -> Result<Self> {
        let all = &data.interactions;
        let tr = crate::data::InteractionsFile::new(train.as_ref()).load()?;
        let train = crate::split::reindex(&tr, all.users(), all.items())?;
        let val = Candidates::load(val, all)?;
        let test = Candidates::load(test, all)?;
        Self::build(data, train, all.clone(), val, test, seed)
    }

    /// [`MovieLensCtr::from_files`] on a folder holding `train.tsv`,
    /// `val_candidates.tsv` and `test_candidates.tsv`.
    pub fn from_dir(data: &Dataset, dir: impl AsRef<std::path::Path>, seed: u64) -> Result<Self> {
        let d = dir.as_ref();
        Self::from_files(
            data,
            d.join("train.tsv"),
            d.join("val_candidates.tsv"),
            d.join("test_candidates.tsv"),
            seed,
        )
    }

    /// The task on a split made elsewhere (a [`crate::Pipeline`]'s): the
    /// rows of `train` are the positives; training negatives are drawn
    /// outside `train` ∪ `validation`; `validation`, when given, becomes 1
    /// positive + 999 sampled items per user that pick the early-stopping
    /// epoch (without it every epoch is kept, the last one wins). With
    /// `data` holding MovieLens user and item features the fields are the
    /// documents' (see the module docs); without side features they are
    /// `user_id` and `item_id` (16 dimensions each). There is no test part.
    pub fn from_split(
        data: Option<&Dataset>,
        train: &Interactions,
        validation: Option<&Interactions>,
        seed: u64,
    ) -> Result<Self> {
        let (rated, val) = match validation {
            Some(v) => {
                if !v.same_universe(train) {
                    return Err(Error::InvalidData(
                        "CTR task: train and validation must share id maps".into(),
                    ));
                }
                let rated = crate::split::concat(train, v);
                let val =
                    Candidates::sample(v, &rated, train, 999, NegativeSampler::Uniform, seed)?;
                (rated, val)
            }
            None => (
                train.clone(),
                Candidates::empty(train.users().clone(), train.items().clone()),
            ),
        };
        let test = Candidates::empty(train.users().clone(), train.items().clone());
        match data {
            Some(d) if d.users.is_some() && d.items.is_some() => {
                Self::build(d, train.clone(), rated, val, test, seed)
            }
            _ => Self::build_ids(train.clone(), rated, val, test, seed),
        }
    }

    /// Fields `user_id` and `item_id` only (data without side features).
    fn build_ids(
        train: Interactions,
        rated: Interactions,
        val: Candidates,
        test: Candidates,
        seed: u64,
    ) -> Result<Self> {
        let enc_user = LabelEncoder::fit(
            train.user_indices().iter().map(|&u| train.users().raw(u)),
            1,
        );
        let n_items = train.n_items() as u32;
        let enc_item = LabelEncoder::fit((0..n_items).map(|i| train.items().raw(i)), 1);
        let user_sparse = (0..train.n_users() as u32)
            .map(|u| enc_user.encode(train.users().raw(u)))
            .collect();
        let item_sparse = (0..n_items)
            .map(|i| enc_item.encode(train.items().raw(i)))
            .collect();
        let schema = DatasetSchema {
            fields: vec![
                FieldSchema::sparse("user_id", 16).with_vocab(enc_user.vocab()),
                FieldSchema::sparse("item_id", 16).with_vocab(enc_item.vocab()),
            ],
        };
        let encoder = PairEncoder {
            schema,
            user_sparse,
            user_width: 1,
            item_sparse,
            item_width: 1,
            item_sequences: Vec::new(),
            seq_width: 0,
        };
        Ok(Self::assemble(encoder, train, rated, val, test, seed))
    }

    fn build(
        data: &Dataset,
        train: Interactions,
        rated: Interactions,
        val: Candidates,
        test: Candidates,
        seed: u64,
    ) -> Result<Self> {
        let (users, items) = match (&data.users, &data.items) {
            (Some(u), Some(i)) => (u, i),
            _ => {
                return Err(Error::InvalidData(
                    "the MovieLens CTR task needs user and item features".into(),
                ));
            }
        };
        // User side: raw values per dense user index.
        let n_users = train.n_users();
        let urow = |u: u32| users.ids().get(train.users().raw(u));
        let (gender, occupation, zip) = (
            categorical(users, "gender")?,
            categorical(users, "occupation")?,
            categorical(users, "zip_code")?,
        );
        let age: Vec<f32> = match users.column("age") {
            Some(FeatureColumn::Numeric(v)) => v.clone(),
            Some(FeatureColumn::Categorical(v)) => {
                v.iter().map(|a| a.parse().unwrap_or(f32::NAN)).collect()
            }
            _ => {
                return Err(Error::InvalidData(
                    "user features lack an age column".into(),
                ));
            }
        };
        let value =
            |col: &[String], u: u32| urow(u).map(|r| col[r as usize].clone()).unwrap_or_default();
        let zip3 = |u: u32| value(zip, u).chars().take(3).collect::<String>();
        // Encoders fitted on the training rows only.
        let rows_u = train.user_indices();
        let fit = |f: &dyn Fn(u32) -> String| {
            let vals: Vec<String> = rows_u.iter().map(|&u| f(u)).collect();
            LabelEncoder::fit(vals.iter().map(String::as_str), 1)
        };
        let enc_user = fit(&|u| train.users().raw(u).to_string());
        let enc_gender = fit(&|u| value(gender, u));
        let enc_occ = fit(&|u| value(occupation, u));
        let enc_zip = fit(&|u| zip3(u));
        let ages = Bucketizer::new(&AGE_EDGES);
        let mut user_fields = Vec::with_capacity(n_users * USER_FIELDS);
        for u in 0..n_users as u32 {
            user_fields.push(enc_user.encode(train.users().raw(u)));
            user_fields.push(enc_gender.encode(&value(gender, u)));
            user_fields.push(ages.encode(urow(u).map_or(f32::NAN, |r| age[r as usize])));
            user_fields.push(enc_occ.encode(&value(occupation, u)));
            user_fields.push(enc_zip.encode(&zip3(u)));
        }

        // Item side.
        let genres = match items.column("genres") {
            Some(FeatureColumn::MultiLabel(v)) => v,
            _ => {
                return Err(Error::InvalidData(
                    "item features lack the genres column".into(),
                ));
            }
        };
        let irow = |i: u32| items.ids().get(train.items().raw(i));
        let empty: Vec<String> = Vec::new();
        let genres_of = |i: u32| irow(i).map_or(&empty, |r| &genres[r as usize]);
        // The item vocabulary is the catalog the training negatives are
        // drawn from: every catalog item occurs in training rows (as a
        // negative at least), so each gets its own id, as in the reference
        // harness. Fitting on the positives alone sent ~250 never-liked items
        // to the OOV id, where they all share one zero vector and rank as
        // "average" among the sampled test candidates. No validation or test
        // label is read.
        let n_items = train.n_items();
        let catalog: Vec<u32> = (0..n_items as u32).collect();
        let enc_item = LabelEncoder::fit(catalog.iter().map(|&i| train.items().raw(i)), 1);
        let max_len = 6;
        let enc_genres =
            MultiHotEncoder::fit(catalog.iter().map(|&i| genres_of(i).as_slice()), max_len, 1);
        let item_ids = (0..n_items as u32)
            .map(|i| enc_item.encode(train.items().raw(i)))
            .collect();
        let item_genres = (0..n_items as u32)
            .flat_map(|i| enc_genres.encode(genres_of(i)))
            .collect();

        let item_width = 1;
        let schema = DatasetSchema {
            fields: vec![
                FieldSchema::sparse("user_id", 16).with_vocab(enc_user.vocab()),
                FieldSchema::sparse("gender", 4).with_vocab(enc_gender.vocab()),
                FieldSchema::sparse("age", 4).with_vocab(ages.vocab()),
                FieldSchema::sparse("occupation", 8).with_vocab(enc_occ.vocab()),
                FieldSchema::sparse("zip3", 8).with_vocab(enc_zip.vocab()),
                FieldSchema::sparse("movie_id", 16).with_vocab(enc_item.vocab()),
                FieldSchema::sequence("genres", max_len, Pooling::Mean, 8)
                    .with_vocab(enc_genres.labels.vocab()),
            ],
        };
        let encoder = PairEncoder {
            schema,
            user_sparse: user_fields,
            user_width: USER_FIELDS,
            item_sparse: item_ids,
            item_width,
            item_sequences: item_genres,
            seq_width: max_len,
        };
        Ok(Self::assemble(encoder, train, rated, val, test, seed))
    }

    fn assemble(
        encoder: PairEncoder,
        train: Interactions,
        rated: Interactions,
        val: Candidates,
        test: Candidates,
        seed: u64,
    ) -> Self {
        MovieLensCtr {
            schema: encoder.schema.clone(),
            train,
            rated,
            val,
            test,
            encoder,
            negatives: 4,
            seed,
        }
    }

    /// Negatives drawn per positive each epoch. Defaults to 4.
    pub fn negatives(mut self, n: usize) -> Self {
        self.negatives = n;
        self
    }

    /// The training rows of `epoch`: every positive plus `negatives` items
    /// the user never rated (uniform), shuffled; the same `epoch` gives the
    /// same rows. Returns `(users, items, labels)`.
    pub fn epoch_rows(&self, epoch: usize) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(
            self.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let n_items = self.train.n_items() as u32;
        let (pu, pi) = (self.train.user_indices(), self.train.item_indices());
        let mut rows: Vec<(u32, u32, f32)> = Vec::with_capacity(pu.len() * (1 + self.negatives));
        for (&u, &i) in pu.iter().zip(pi) {
            rows.push((u, i, 1.0));
            let seen = self.rated.user_items(u);
            let mut drawn = 0;
            while drawn < self.negatives && seen.len() < n_items as usize {
                let j = rng.random_range(0..n_items);
                if seen.binary_search(&j).is_err() {
                    rows.push((u, j, 0.0));
                    drawn += 1;
                }
            }
        }
        rows.shuffle(&mut rng);
        (
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
        )
    }

    /// Encodes `(user, item)` pairs (dense indices of [`Self::train`]) with
    /// their labels into a model batch.
    pub fn encode(&self, users: &[u32], items: &[u32], labels: &[f32]) -> CtrBatch {
        self.encoder.encode(users, items, labels)
    }

    /// Sets every field's embedding dimension to `dim` (see
    /// [`PairEncoder::uniform_dims`]).
    pub fn uniform_dims(mut self, dim: usize) -> Self {
        self.encoder = self.encoder.uniform_dims(dim);
        self.schema = self.encoder.schema.clone();
        self
    }
}
