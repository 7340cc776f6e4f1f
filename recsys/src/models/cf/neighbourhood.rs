//! What ItemCF and UserCF share: the neighbourhood settings, their checks
//! and text form, the similarity computation and the score aggregation.

use super::knn::{Csr, KnnSpec, SparseSim, all_pairs_knn};
use super::{Feedback, Similarity, Weighting};
use crate::data::Interactions;
use crate::{Error, Result};

/// Neighbourhood settings (see the builders of ItemCF and UserCF; in them
/// with `#[serde(flatten)]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Neighbourhood {
    pub k: usize,
    pub similarity: Similarity,
    pub weighting: Weighting,
    pub shrinkage: f32,
    pub feedback: Feedback,
    pub normalize: bool,
}

/// The names `params()` lists for BM25's settings, and their paths.
pub(crate) const ALIASES: [(&str, &str); 2] = [("k1", "weighting.k1"), ("b", "weighting.b")];

impl Neighbourhood {
    pub fn with_k(k: usize) -> Self {
        Neighbourhood {
            k,
            similarity: Similarity::Cosine,
            weighting: Weighting::None,
            shrinkage: 0.0,
            feedback: Feedback::Binary,
            normalize: false,
        }
    }

    fn centred(&self) -> bool {
        self.feedback == Feedback::Ratings
            && matches!(
                self.similarity,
                Similarity::Pearson | Similarity::AdjustedCosine
            )
    }

    /// Before `set_param(key)`: setting `k1` or `b` selects BM25 (the other
    /// at its default), as a user writing `k1=…` means.
    pub fn prepare(&mut self, key: &str) {
        if matches!(key, "k1" | "b") && !matches!(self.weighting, Weighting::Bm25 { .. }) {
            self.weighting = Weighting::bm25();
        }
    }

    /// The checks that need no data, then that ratings exist when used.
    pub fn check(&self, train: &Interactions) -> Result<()> {
        self.check_params()?;
        if self.feedback == Feedback::Ratings && train.ratings().is_none() {
            return Err(Error::param(
                "feedback",
                "ratings requested but the data has no rating column",
            ));
        }
        Ok(())
    }

    /// `k` ≥ 1, `shrinkage` ≥ 0, BM25's `k1` ≥ 0 and `b` in [0, 1], no
    /// weighting of mean-centred ratings.
    pub fn check_params(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::param("k", "must be at least 1"));
        }
        if !(self.shrinkage >= 0.0) {
            return Err(Error::param("shrinkage", "must be ≥ 0"));
        }
        if let Weighting::Bm25 { k1, b } = self.weighting {
            if !(k1 >= 0.0) || !(0.0..=1.0).contains(&b) {
                return Err(Error::param("weighting", "BM25 needs k1 ≥ 0 and 0 ≤ b ≤ 1"));
            }
        }
        if self.centred() && self.weighting != Weighting::None {
            return Err(Error::param(
                "weighting",
                "cannot weight mean-centred ratings (Pearson / adjusted cosine)",
            ));
        }
        Ok(())
    }

    /// The values the model uses (1 for binary feedback) of a sparse view.
    pub fn values(&self, m: &Csr) -> Csr {
        match self.feedback {
            Feedback::Binary => m.with_values(1.0),
            _ => m.clone(),
        }
    }

    /// Top-k similarities between the rows of `a` (entities × features):
    /// centring, weighting, then the all-pairs computation.
    pub fn similarities(&self, mut a: Csr) -> SparseSim {
        let centred = self.centred();
        match self.similarity {
            Similarity::Pearson if centred => a.center_rows(),
            Similarity::AdjustedCosine if centred => a.center_cols(),
            _ => {}
        }
        a.weight(self.weighting);
        let spec = KnnSpec {
            k: self.k,
            similarity: self.similarity,
            shrinkage: self.shrinkage,
            centred,
            n_features: a.n_cols,
        };
        all_pairs_knn(&a, &a.transpose(), &spec)
    }
}

/// What a normalised score is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NormBy {
    /// Σ |s_j| of the entries that reached item j (ItemCF: similarities).
    Entries,
    /// Σ |w| of the rows that reached item j (UserCF: neighbour similarities).
    RowWeights,
}

/// `out[j] = Σ w · s_j` over `(indices, values s, row weight w)` rows; with
/// `norm`, divided by the sum of what [`NormBy`] names over the contributions.
pub(crate) fn aggregate<'a>(
    rows: impl Iterator<Item = (&'a [u32], &'a [f32], f32)>,
    out: &mut [f32],
    norm: Option<NormBy>,
) {
    out.fill(0.0);
    let mut den = if norm.is_some() {
        vec![0f32; out.len()]
    } else {
        Vec::new()
    };
    for (idx, vals, w) in rows {
        for (&j, &s) in idx.iter().zip(vals) {
            out[j as usize] += w * s;
            match norm {
                Some(NormBy::Entries) => den[j as usize] += s.abs(),
                Some(NormBy::RowWeights) => den[j as usize] += w.abs(),
                None => {}
            }
        }
    }
    if norm.is_some() {
        for (o, d) in out.iter_mut().zip(den) {
            if d > 0.0 {
                *o /= d;
            }
        }
    }
}
