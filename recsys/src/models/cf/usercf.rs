//! User-based collaborative filtering.

use super::knn::{Csr, SparseSim};
use super::neighbourhood::{ALIASES, Neighbourhood, NormBy, aggregate};
use super::{Feedback, Similarity, Weighting};
use crate::Result;
use crate::data::Interactions;
use crate::models::params::{params_of, set_param_of};
use crate::models::{Fit, FitInput, Scorer};

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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserCF {
    #[serde(flatten)]
    nb: Neighbourhood,
}

impl Default for UserCF {
    fn default() -> Self {
        UserCF {
            nb: Neighbourhood::with_k(50),
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
        self.nb.k = k;
        self
    }

    /// User–user similarity. Defaults to [`Similarity::Cosine`].
    pub fn similarity(mut self, s: Similarity) -> Self {
        self.nb.similarity = s;
        self
    }

    /// Weighting (users as documents, items as terms: TF-IDF / BM25
    /// down-weight popular items). Defaults to [`Weighting::None`].
    pub fn weighting(mut self, w: Weighting) -> Self {
        self.nb.weighting = w;
        self
    }

    /// Shrinkage λ (`n/(n+λ)`, n = co-interacted items). Defaults to 0.
    pub fn shrinkage(mut self, lambda: f32) -> Self {
        self.nb.shrinkage = lambda;
        self
    }

    /// Binary or rating values. Defaults to binary.
    pub fn feedback(mut self, f: Feedback) -> Self {
        self.nb.feedback = f;
        self
    }

    /// Divide scores by the sum of neighbour similarities. Defaults to false.
    pub fn normalize(mut self, yes: bool) -> Self {
        self.nb.normalize = yes;
        self
    }

    /// Computes the user–user similarity.
    pub fn fit(&self, train: &Interactions) -> Result<UserCFModel> {
        self.nb.check(train)?;
        let user_items = self.nb.values(train.csr());
        let sim = self.nb.similarities(user_items.clone());
        Ok(UserCFModel {
            train: train.clone(),
            user_items,
            sim,
            normalize: self.nb.normalize,
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
        let (nb, sims) = self.sim.row(user);
        let rows = nb.iter().zip(sims).map(|(&v, &s)| {
            let (items, vals) = self.user_items.row(v as usize);
            (items, vals, s)
        });
        aggregate(rows, out, self.normalize.then_some(NormBy::RowWeights));
    }
}

impl Fit for UserCF {
    fn name(&self) -> String {
        "usercf".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let mut next = self.clone();
        next.nb.prepare(key);
        set_param_of(&mut next, "usercf", key, value, &ALIASES, |m| {
            m.nb.check_params()
        })?;
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
