//! Sampled evaluation candidates: each held-out positive with N negatives.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::index;

use super::ratio::Rng;
use crate::data::{IdMap, Interactions, read_triples};
use crate::{Error, Result};

/// How negatives are drawn from the items a user never interacted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSampler {
    /// Uniformly, without replacement.
    #[default]
    Uniform,
    /// Proportionally to (train popularity + 1), without replacement.
    Popularity,
}

/// Materialised candidate lists: for every evaluated user, its held-out
/// positives followed by sampled negatives. Sample once, save, and every
/// model faces the same candidates.
#[derive(Debug, Clone)]
pub struct Candidates {
    users: Arc<IdMap>,
    items: Arc<IdMap>,
    user: Vec<u32>,
    offsets: Vec<usize>,
    item: Vec<u32>,
    label: Vec<bool>,
}

impl Candidates {
    /// Draws `n_neg` negatives (default protocol: 999) per user of `heldout`
    /// from the items the user has no row for in `exclude` (usually all
    /// data, any rating). Users in ascending index order; a user whose pool
    /// is smaller than `n_neg` gets the whole pool. `popularity` provides
    /// item counts for [`NegativeSampler::Popularity`].
    pub fn sample(
        heldout: &Interactions,
        exclude: &Interactions,
        popularity: &Interactions,
        n_neg: usize,
        sampler: NegativeSampler,
        seed: u64,
    ) -> Result<Candidates> {
        if !heldout.same_universe(exclude) {
            return Err(Error::InvalidData(
                "candidates: held-out and excluded interactions must share id maps".into(),
            ));
        }
        let mut rng = Rng::seed_from_u64(seed);
        let n_items = heldout.n_items();
        let weights: Vec<f64> = popularity
            .item_counts()
            .iter()
            .map(|&c| f64::from(c) + 1.0)
            .collect();
        let mut out = Candidates::empty(heldout.users().clone(), heldout.items().clone());
        let mut seen = vec![false; n_items];
        for (u, rows) in heldout.rows_by_user().iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let excluded = exclude.user_items(u as u32);
            for &i in excluded {
                seen[i as usize] = true;
            }
            let pool: Vec<u32> = (0..n_items as u32).filter(|&i| !seen[i as usize]).collect();
            for &i in excluded {
                seen[i as usize] = false;
            }
            let positives: Vec<u32> = rows.iter().map(|&r| heldout.item_indices()[r]).collect();
            let take = n_neg.min(pool.len());
            let negatives: Vec<u32> = match sampler {
                NegativeSampler::Uniform => index::sample(&mut rng, pool.len(), take)
                    .into_iter()
                    .map(|k| pool[k])
                    .collect(),
                NegativeSampler::Popularity => index::sample_weighted(
                    &mut rng,
                    pool.len(),
                    |k| weights[pool[k] as usize],
                    take,
                )
                .map_err(|e| Error::InvalidData(format!("popularity sampling: {e}")))?
                .into_iter()
                .map(|k| pool[k])
                .collect(),
            };
            out.push_user(u as u32, &positives, &negatives);
        }
        Ok(out)
    }

    /// No candidates, in the universe of `users` × `items`.
    pub(crate) fn empty(users: Arc<IdMap>, items: Arc<IdMap>) -> Self {
        Candidates {
            users,
            items,
            user: Vec::new(),
            offsets: vec![0],
            item: Vec::new(),
            label: Vec::new(),
        }
    }

    fn push_user(&mut self, u: u32, positives: &[u32], negatives: &[u32]) {
        self.user.push(u);
        self.item.extend_from_slice(positives);
        self.item.extend_from_slice(negatives);
        self.label
            .extend(std::iter::repeat_n(true, positives.len()));
        self.label
            .extend(std::iter::repeat_n(false, negatives.len()));
        self.offsets.push(self.item.len());
    }

    /// Number of users with a candidate list.
    pub fn n_users(&self) -> usize {
        self.user.len()
    }

    /// Total number of candidate rows.
    pub fn len(&self) -> usize {
        self.item.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.item.is_empty()
    }

    /// The positive rows as interactions in the same id maps (what a user's
    /// relevant set is under full ranking).
    pub fn positives(&self) -> Interactions {
        let (mut user, mut item) = (Vec::new(), Vec::new());
        for (u, items, labels) in self.iter() {
            for (&i, &l) in items.iter().zip(labels) {
                if l {
                    user.push(u);
                    item.push(i);
                }
            }
        }
        Interactions::new(
            self.users.clone(),
            self.items.clone(),
            user,
            item,
            None,
            None,
        )
        .expect("candidate indices lie inside their id maps")
    }

    /// The largest number of negatives of a user's list.
    pub fn negatives(&self) -> usize {
        self.iter()
            .map(|(_, _, labels)| labels.iter().filter(|l| !**l).count())
            .max()
            .unwrap_or(0)
    }

    /// The id maps the indices refer to.
    pub fn universe(&self) -> (&Arc<IdMap>, &Arc<IdMap>) {
        (&self.users, &self.items)
    }

    /// `(user, items, labels)` per user, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u32], &[bool])> + '_ {
        self.user.iter().enumerate().map(move |(k, &u)| {
            let r = self.offsets[k]..self.offsets[k + 1];
            (u, &self.item[r.clone()], &self.label[r])
        })
    }

    /// Writes `user\titem\tlabel` (raw ids, one header line) atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut s = String::from("user\titem\tlabel\n");
        for (u, items, labels) in self.iter() {
            let ru = self.users.raw(u);
            for (i, l) in items.iter().zip(labels) {
                s.push_str(ru);
                s.push('\t');
                s.push_str(self.items.raw(*i));
                s.push('\t');
                s.push(if *l { '1' } else { '0' });
                s.push('\n');
            }
        }
        crate::io::write_atomic(path.as_ref(), s.as_bytes())
    }

    /// Reads `user item label` rows (header optional, labels 0/1) as raw ids.
    pub fn read_raw(path: impl AsRef<Path>) -> Result<Vec<(String, String, bool)>> {
        Self::read_raw_encoded(path, crate::data::Encoding::Utf8)
    }

    /// [`Candidates::read_raw`] for a file in `encoding`.
    pub fn read_raw_encoded(
        path: impl AsRef<Path>,
        encoding: crate::data::Encoding,
    ) -> Result<Vec<(String, String, bool)>> {
        let path = path.as_ref();
        read_triples(path, encoding)?
            .into_iter()
            .map(|(u, i, l, line)| {
                let label = match l.as_str() {
                    "1" | "1.0" => true,
                    "0" | "0.0" => false,
                    other => {
                        return Err(Error::Parse {
                            path: path.to_path_buf(),
                            line,
                            field: "label".into(),
                            message: format!("expected 0 or 1, got {other:?}"),
                        });
                    }
                };
                Ok((u, i, label))
            })
            .collect()
    }

    /// Builds candidates from raw rows in the given universe. Rows of one
    /// user keep their order; users are ordered by index.
    pub fn from_raw(
        rows: &[(String, String, bool)],
        users: &Arc<IdMap>,
        items: &Arc<IdMap>,
    ) -> Result<Self> {
        let mut by_user: BTreeMap<u32, (Vec<u32>, Vec<u32>)> = BTreeMap::new();
        for (u, i, l) in rows {
            let ui = users
                .get(u)
                .ok_or_else(|| Error::InvalidData(format!("candidate user {u} unknown")))?;
            let ii = items
                .get(i)
                .ok_or_else(|| Error::InvalidData(format!("candidate item {i} unknown")))?;
            let e = by_user.entry(ui).or_default();
            if *l { e.0.push(ii) } else { e.1.push(ii) }
        }
        let mut out = Candidates::empty(users.clone(), items.clone());
        for (u, (pos, neg)) in by_user {
            out.push_user(u, &pos, &neg);
        }
        Ok(out)
    }

    /// Reads a file written by [`Candidates::save`] into `universe`'s id maps.
    pub fn load(path: impl AsRef<Path>, universe: &Interactions) -> Result<Self> {
        Self::from_raw(&Self::read_raw(path)?, universe.users(), universe.items())
    }
}
