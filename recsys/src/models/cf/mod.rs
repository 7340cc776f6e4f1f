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

use crate::{Error, Result};

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
    AdjustedCosine,
}

/// Weighting of the interaction matrix before comparing, with the compared
/// entities as documents and the other side as terms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Values as they are.
    None,
    /// `sqrt(x) · idf`, `idf = ln N − ln(1 + df)` (implicit's TF-IDF).
    TfIdf,
    /// Okapi BM25 with `k1` and `b` (implicit's BM25).
    Bm25 { k1: f32, b: f32 },
}

/// Which interaction values the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// Every interaction counts 1 (implicit feedback).
    Binary,
    /// Ratings as values (explicit feedback; needs a rating column).
    Ratings,
}

pub(crate) fn parse_similarity(v: &str) -> Result<Similarity> {
    Ok(match v.trim().to_ascii_lowercase().as_str() {
        "cosine" => Similarity::Cosine,
        "dot" => Similarity::Dot,
        "jaccard" => Similarity::Jaccard,
        "pearson" => Similarity::Pearson,
        "adjusted_cosine" | "adjusted-cosine" => Similarity::AdjustedCosine,
        o => {
            return Err(Error::param(
                "similarity",
                format!("{o:?}: expected cosine, dot, jaccard, pearson or adjusted_cosine"),
            ));
        }
    })
}

pub(crate) fn parse_weighting(v: &str, k1: f32, b: f32) -> Result<Weighting> {
    Ok(match v.trim().to_ascii_lowercase().as_str() {
        "none" => Weighting::None,
        "tfidf" | "tf-idf" => Weighting::TfIdf,
        "bm25" => Weighting::Bm25 { k1, b },
        o => {
            return Err(Error::param(
                "weighting",
                format!("{o:?}: expected none, tfidf or bm25"),
            ));
        }
    })
}

pub(crate) fn parse_feedback(v: &str) -> Result<Feedback> {
    Ok(match v.trim().to_ascii_lowercase().as_str() {
        "binary" | "implicit" => Feedback::Binary,
        "ratings" | "explicit" => Feedback::Ratings,
        o => {
            return Err(Error::param(
                "feedback",
                format!("{o:?}: expected binary or ratings"),
            ));
        }
    })
}

pub(crate) fn weighting_name(w: Weighting) -> String {
    match w {
        Weighting::None => "none".into(),
        Weighting::TfIdf => "tfidf".into(),
        Weighting::Bm25 { .. } => "bm25".into(),
    }
}

pub(crate) fn similarity_name(s: Similarity) -> &'static str {
    match s {
        Similarity::Cosine => "cosine",
        Similarity::Dot => "dot",
        Similarity::Jaccard => "jaccard",
        Similarity::Pearson => "pearson",
        Similarity::AdjustedCosine => "adjusted_cosine",
    }
}
