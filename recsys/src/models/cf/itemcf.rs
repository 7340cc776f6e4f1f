//! Item-based collaborative filtering.

use std::sync::Arc;

use rayon::prelude::*;

use super::content::ContentProfiles;
use super::knn::{Csr, SparseSim, keep_top_k};
use super::neighbourhood::{ALIASES, Neighbourhood, NormBy, aggregate};
use super::{Feedback, Similarity, Weighting};
use crate::data::Interactions;
use crate::models::params::{params_of, updated};
use crate::models::{Fit, FitInput, Scorer};
use crate::{Error, Result};

/// Time-decayed co-occurrence: two interactions of a user count only when
/// at most `window_days` apart, with weight `2^(−Δt / half_life_days)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TimeDecay {
    /// Defaults to 30.
    pub window_days: f64,
    /// Defaults to 7.
    pub half_life_days: f64,
}

impl Default for TimeDecay {
    fn default() -> Self {
        TimeDecay {
            window_days: 30.0,
            half_life_days: 7.0,
        }
    }
}

/// Item-based CF hyper-parameters: a sparse top-k item–item similarity, and
/// `score(u, j) = Σ_{i ∈ I(u)} r_ui · s(i, j)` over the neighbours kept in
/// each row `i` (as implicit's ItemItemRecommender).
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(10, 10);
/// let model = ItemCF::params().k(50).weighting(Weighting::Bm25 { k1: 1.2, b: 0.75 }).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ItemCF {
    #[serde(flatten)]
    nb: Neighbourhood,
    /// Off (`null`, not listed) or `window_days` and `half_life_days`.
    time_decay: Option<TimeDecay>,
    /// Content similarity instead of co-occurrence (data, not a parameter:
    /// listed as `source = content`).
    #[serde(skip)]
    content: Option<Arc<ContentProfiles>>,
}

impl Default for ItemCF {
    fn default() -> Self {
        ItemCF {
            nb: Neighbourhood::with_k(100),
            time_decay: None,
            content: None,
        }
    }
}

impl ItemCF {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }

    /// Neighbours kept per item. Defaults to 100; must be ≥ 1.
    pub fn k(mut self, k: usize) -> Self {
        self.nb.k = k;
        self
    }

    /// Item–item similarity. Defaults to [`Similarity::Cosine`].
    pub fn similarity(mut self, s: Similarity) -> Self {
        self.nb.similarity = s;
        self
    }

    /// Weighting of the user–item matrix (items as documents, users as
    /// terms). Defaults to [`Weighting::None`]. BM25 with
    /// [`Similarity::Dot`] is implicit's `BM25Recommender`.
    pub fn weighting(mut self, w: Weighting) -> Self {
        self.nb.weighting = w;
        self
    }

    /// Shrinkage λ: similarities are multiplied by `n/(n+λ)`, `n` = number of
    /// co-interacting users. Defaults to 0 (off); must be ≥ 0.
    pub fn shrinkage(mut self, lambda: f32) -> Self {
        self.nb.shrinkage = lambda;
        self
    }

    /// Binary (implicit) or rating (explicit) values. Defaults to binary.
    pub fn feedback(mut self, f: Feedback) -> Self {
        self.nb.feedback = f;
        self
    }

    /// Divide each score by the sum of the similarities that produced it (a
    /// weighted average, for rating prediction). Defaults to false.
    pub fn normalize(mut self, yes: bool) -> Self {
        self.nb.normalize = yes;
        self
    }

    /// Time-decayed co-occurrence instead of the plain similarity (cosine
    /// normalisation by item popularity; needs timestamps). Defaults to off.
    pub fn time_decay(mut self, d: Option<TimeDecay>) -> Self {
        self.time_decay = d;
        self
    }

    /// Content-based item similarity (TF-IDF profiles from item features)
    /// instead of co-occurrence. Defaults to off.
    pub fn content(mut self, profiles: Option<ContentProfiles>) -> Self {
        self.content = profiles.map(Arc::new);
        self
    }

    /// Computes the item–item similarity and keeps the training matrix.
    pub fn fit(&self, train: &Interactions) -> Result<ItemCFModel> {
        self.nb.check(train)?;
        if let Some(d) = self.time_decay {
            if train.timestamps().is_none() {
                return Err(Error::param("time_decay", "needs timestamps"));
            }
            if !(d.window_days > 0.0 && d.half_life_days > 0.0) {
                return Err(Error::param(
                    "time_decay",
                    "window and half-life must be > 0",
                ));
            }
        }
        let user_items = self.nb.values(train.csr());
        let sim = if let Some(p) = &self.content {
            p.item_knn(train.items(), self.nb.k)?
        } else if let Some(d) = self.time_decay {
            decayed_knn(train, self.nb.k, d, self.nb.shrinkage)
        } else {
            self.nb.similarities(self.nb.values(train.csc()))
        };
        Ok(ItemCFModel {
            train: train.clone(),
            user_items,
            sim,
            normalize: self.nb.normalize,
        })
    }
}

/// Time-decayed, popularity-normalised co-occurrence top-k.
fn decayed_knn(train: &Interactions, k: usize, d: TimeDecay, shrinkage: f32) -> SparseSim {
    let ts = train.timestamps().expect("checked");
    let n_items = train.n_items();
    // Per user: (time, item) sorted, one entry per item (its latest time).
    let per_user: Vec<Vec<(i64, u32)>> = train
        .rows_by_user()
        .into_iter()
        .map(|rows| {
            let mut v: Vec<(i64, u32)> = rows
                .iter()
                .map(|&r| (ts[r], train.item_indices()[r]))
                .collect();
            v.sort_unstable_by_key(|&(t, i)| (i, std::cmp::Reverse(t)));
            v.dedup_by_key(|x| x.1);
            v.sort_unstable();
            v
        })
        .collect();
    let mut by_item: Vec<Vec<(u32, i64)>> = vec![Vec::new(); n_items];
    for (u, v) in per_user.iter().enumerate() {
        for &(t, i) in v {
            by_item[i as usize].push((u as u32, t));
        }
    }
    let pop: Vec<f32> = by_item.iter().map(|v| v.len() as f32).collect();
    let window = (d.window_days * 86_400.0) as i64;
    let half = d.half_life_days * 86_400.0;
    let rows = (0..n_items)
        .into_par_iter()
        .map_init(
            || (vec![0f32; n_items], vec![0u32; n_items], Vec::<u32>::new()),
            |(acc, cnt, touched), i| {
                for &(u, t) in &by_item[i] {
                    let v = &per_user[u as usize];
                    let lo = v.partition_point(|x| x.0 < t - window);
                    let hi = v.partition_point(|x| x.0 <= t + window);
                    for &(t2, j) in &v[lo..hi] {
                        if j as usize == i {
                            continue;
                        }
                        if cnt[j as usize] == 0 {
                            touched.push(j);
                        }
                        cnt[j as usize] += 1;
                        acc[j as usize] += 0.5f64.powf((t2 - t).abs() as f64 / half) as f32;
                    }
                }
                let cand = touched
                    .iter()
                    .map(|&j| {
                        let c = cnt[j as usize] as f32;
                        let mut s = acc[j as usize] / (pop[i] * pop[j as usize]).sqrt();
                        if shrinkage > 0.0 {
                            s *= c / (c + shrinkage);
                        }
                        acc[j as usize] = 0.0;
                        cnt[j as usize] = 0;
                        (j, s)
                    })
                    .collect();
                touched.clear();
                keep_top_k(cand, k)
            },
        )
        .collect();
    SparseSim::from_rows(rows)
}

/// A fitted [`ItemCF`].
#[derive(Debug, Clone)]
pub struct ItemCFModel {
    train: Interactions,
    user_items: Csr,
    sim: SparseSim,
    normalize: bool,
}

impl ItemCFModel {
    /// The item–item similarity (top-k per row).
    pub fn similarity(&self) -> &SparseSim {
        &self.sim
    }

    /// The `k` items most similar to `item`, best first.
    pub fn similar_items(&self, item: u32, k: usize) -> Vec<(u32, f32)> {
        self.sim.top(item, k)
    }
}

impl Scorer for ItemCFModel {
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        let (items, vals) = self.user_items.row(user as usize);
        let rows = items.iter().zip(vals).map(|(&i, &r)| {
            let (nb, sims) = self.sim.row(i);
            (nb, sims, r)
        });
        aggregate(rows, out, self.normalize.then_some(NormBy::Entries));
    }
}

impl Fit for ItemCF {
    fn name(&self) -> String {
        "itemcf".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        let mut p = params_of(self);
        if self.content.is_some() {
            p.push(("source".into(), "content".into()));
        }
        p
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let mut aliases = ALIASES.to_vec();
        aliases.extend([
            ("window_days", "time_decay.window_days"),
            ("half_life_days", "time_decay.half_life_days"),
        ]);
        let mut base = self.clone();
        base.nb.prepare(key);
        let mut next = updated(&base, "itemcf", key, value, &aliases)?;
        next.content = self.content.clone();
        next.nb.check_params()?;
        *self = next;
        Ok(())
    }
    fn check(&self) -> Result<()> {
        self.nb.check_params()
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(input.train)?))
    }
}
