//! Neighbourhood collaborative filtering: ItemCF and UserCF on sparse
//! similarity matrices (no dense users × items or items × items matrix is
//! ever built), plus content-based item similarity.

mod content;
mod itemcf;
mod knn;
mod neighbourhood;
mod usercf;

pub use content::ContentProfiles;
pub use itemcf::{ItemCF, ItemCFModel, TimeDecay};
pub use knn::SparseSim;
pub use usercf::{UserCF, UserCFModel};

/// How two entities (items for ItemCF, users for UserCF) are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Similarity {
    /// Cosine of the (weighted) vectors.
    Cosine,
    /// Raw dot product of the weighted vectors (implicit's BM25 ItemKNN).
    Dot,
    /// |A ∩ B| / |A ∪ B| of the interaction sets.
    Jaccard,
    /// Pearson correlation: mean-centred by the compared entity (item for
    /// ItemCF) over co-rated entries with ratings; the phi coefficient of
    /// the binary vectors without.
    Pearson,
    /// Cosine after centring by the *other* side's mean (the user mean for
    /// ItemCF, Sarwar et al. 2001), over co-rated entries. Binary input:
    /// same as cosine.
    #[serde(alias = "adjusted-cosine")]
    AdjustedCosine,
}

/// Weighting of the interaction matrix before comparing, with the compared
/// entities as documents and the other side as terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Weighting {
    /// Values as they are.
    None,
    /// `sqrt(x) · idf`, `idf = ln N − ln(1 + df)` (implicit's TF-IDF).
    #[serde(rename = "tfidf", alias = "tf-idf", alias = "tf_idf")]
    TfIdf,
    /// Okapi BM25 with `k1` and `b` (implicit's BM25; defaults 1.2 and
    /// 0.75 as there).
    Bm25 {
        #[serde(default = "bm25_k1")]
        k1: f32,
        #[serde(default = "bm25_b")]
        b: f32,
    },
}

fn bm25_k1() -> f32 {
    1.2
}

fn bm25_b() -> f32 {
    0.75
}

impl Weighting {
    /// BM25 with implicit's defaults (`k1` 1.2, `b` 0.75).
    pub fn bm25() -> Weighting {
        Weighting::Bm25 {
            k1: bm25_k1(),
            b: bm25_b(),
        }
    }
}

/// Which interaction values the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Every interaction counts 1 (implicit feedback).
    #[serde(alias = "implicit")]
    Binary,
    /// Ratings as values (explicit feedback; needs a rating column).
    #[serde(alias = "explicit")]
    Ratings,
}
