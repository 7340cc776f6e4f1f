//! User-based collaborative filtering.

use super::knn::{Csr, KnnSpec, SparseSim, all_pairs_knn};
use super::{
    Feedback, Similarity, Weighting, parse_feedback, parse_similarity, parse_weighting,
    similarity_name, weighting_name,
};
use crate::data::Interactions;
use crate::models::{Fit, Scorer, parse_param, unknown_param};
use crate::{Error, Result};

/// User-based CF hyper-parameters: a sparse top-k user–user similarity, and
/// `score(u, j) = Σ_{v ∈ N(u)} s(u, v) · r_vj`.
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(10, 10);
/// let model = UserCF::params().k(5).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UserCF {
    k: usize,
    similarity: Similarity,
    weighting: Weighting,
    shrinkage: f32,
    feedback: Feedback,
    normalize: bool,
}

impl Default for UserCF {
    fn default() -> Self {
        UserCF {
            k: 50,
            similarity: Similarity::Cosine,
            weighting: Weighting::None,
            shrinkage: 0.0,
            feedback: Feedback::Binary,
            normalize: false,
        }
    }
}

impl UserCF {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }

    /// Neighbours kept per user. Defaults to 50; must be ≥ 1.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// User–user similarity. Defaults to [`Similarity::Cosine`].
    pub fn similarity(mut self, s: Similarity) -> Self {
        self.similarity = s;
        self
    }

    /// Weighting (users as documents, items as terms: TF-IDF / BM25
    /// down-weight popular items). Defaults to [`Weighting::None`].
    pub fn weighting(mut self, w: Weighting) -> Self {
        self.weighting = w;
        self
    }

    /// Shrinkage λ (`n/(n+λ)`, n = co-interacted items). Defaults to 0.
    pub fn shrinkage(mut self, lambda: f32) -> Self {
        self.shrinkage = lambda;
        self
    }

    /// Binary or rating values. Defaults to binary.
    pub fn feedback(mut self, f: Feedback) -> Self {
        self.feedback = f;
        self
    }

    /// Divide scores by the sum of neighbour similarities. Defaults to false.
    pub fn normalize(mut self, yes: bool) -> Self {
        self.normalize = yes;
        self
    }

    /// Computes the user–user similarity.
    pub fn fit(&self, train: &Interactions) -> Result<UserCFModel> {
        if self.k == 0 {
            return Err(Error::param("k", "must be at least 1"));
        }
        if !(self.shrinkage >= 0.0) {
            return Err(Error::param("shrinkage", "must be ≥ 0"));
        }
        if self.feedback == Feedback::Ratings && train.ratings().is_none() {
            return Err(Error::param(
                "feedback",
                "ratings requested but the data has no rating column",
            ));
        }
        let centred = self.feedback == Feedback::Ratings
            && matches!(
                self.similarity,
                Similarity::Pearson | Similarity::AdjustedCosine
            );
        if centred && self.weighting != Weighting::None {
            return Err(Error::param(
                "weighting",
                "cannot weight mean-centred ratings (Pearson / adjusted cosine)",
            ));
        }
        let mut user_items = Csr::from_sprs(train.csr(), train.n_users(), train.n_items());
        if self.feedback == Feedback::Binary {
            user_items.data.iter_mut().for_each(|x| *x = 1.0);
        }
        let mut a = user_items.clone();
        match self.similarity {
            Similarity::Pearson if centred => a.center_rows(),
            Similarity::AdjustedCosine if centred => a.center_cols(),
            _ => {}
        }
        a.weight(self.weighting);
        let sim = all_pairs_knn(
            &a,
            &a.transpose(),
            &KnnSpec {
                k: self.k,
                similarity: self.similarity,
                shrinkage: self.shrinkage,
                centred,
                n_features: train.n_items(),
            },
        );
        Ok(UserCFModel {
            train: train.clone(),
            user_items,
            sim,
            normalize: self.normalize,
        })
    }
}

/// A fitted [`UserCF`].
#[derive(Debug, Clone)]
pub struct UserCFModel {
    train: Interactions,
    user_items: Csr,
    sim: SparseSim,
    normalize: bool,
}

impl UserCFModel {
    /// The user–user similarity (top-k per row).
    pub fn similarity(&self) -> &SparseSim {
        &self.sim
    }

    /// The `k` users most similar to `user`, best first.
    pub fn similar_users(&self, user: u32, k: usize) -> Vec<(u32, f32)> {
        self.sim.top(user, k)
    }
}

impl Scorer for UserCFModel {
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        out.fill(0.0);
        let mut den = if self.normalize {
            vec![0f32; out.len()]
        } else {
            Vec::new()
        };
        let (nb, sims) = self.sim.row(user);
        for (&v, &s) in nb.iter().zip(sims) {
            let (items, vals) = self.user_items.row(v as usize);
            for (&j, &r) in items.iter().zip(vals) {
                out[j as usize] += s * r;
                if self.normalize {
                    den[j as usize] += s.abs();
                }
            }
        }
        if self.normalize {
            for (o, d) in out.iter_mut().zip(den) {
                if d > 0.0 {
                    *o /= d;
                }
            }
        }
    }
}

impl Fit for UserCF {
    fn name(&self) -> String {
        "usercf".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("k".into(), self.k.to_string()),
            ("similarity".into(), similarity_name(self.similarity).into()),
            ("weighting".into(), weighting_name(self.weighting)),
            ("shrinkage".into(), self.shrinkage.to_string()),
        ];
        if let Weighting::Bm25 { k1, b } = self.weighting {
            p.push(("k1".into(), k1.to_string()));
            p.push(("b".into(), b.to_string()));
        }
        if self.feedback == Feedback::Ratings {
            p.push(("feedback".into(), "ratings".into()));
        }
        if self.normalize {
            p.push(("normalize".into(), "true".into()));
        }
        p
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let (k1, b) = match self.weighting {
            Weighting::Bm25 { k1, b } => (k1, b),
            _ => (1.2, 0.75),
        };
        match key {
            "k" => self.k = parse_param(key, value)?,
            "similarity" => self.similarity = parse_similarity(value)?,
            "weighting" => self.weighting = parse_weighting(value, k1, b)?,
            "k1" => {
                self.weighting = Weighting::Bm25 {
                    k1: parse_param(key, value)?,
                    b,
                }
            }
            "b" => {
                self.weighting = Weighting::Bm25 {
                    k1,
                    b: parse_param(key, value)?,
                }
            }
            "shrinkage" => self.shrinkage = parse_param(key, value)?,
            "feedback" => self.feedback = parse_feedback(value)?,
            "normalize" => self.normalize = parse_param(key, value)?,
            _ => {
                return Err(unknown_param(
                    "usercf",
                    key,
                    &[
                        "k",
                        "similarity",
                        "weighting",
                        "k1",
                        "b",
                        "shrinkage",
                        "feedback",
                        "normalize",
                    ],
                ));
            }
        }
        Ok(())
    }
    fn fit_scorer(&self, train: &Interactions) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(train)?))
    }
}
