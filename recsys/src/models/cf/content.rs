//! Content-based item profiles: TF-IDF vectors over item features.

use std::collections::HashMap;

use super::Similarity;
use super::knn::{Csr, KnnSpec, SparseSim, all_pairs_knn};
use crate::data::{FeatureColumn, Features, IdMap};
use crate::{Error, Result};

/// L2-normalised TF-IDF item profiles built from feature columns: each
/// categorical value (`occupation=writer`), label (`genres=Comedy`) and
/// lower-cased word of a text column (`title:star`) is a token; numeric
/// columns are skipped. `idf = ln((1+N)/(1+df)) + 1` (scikit-learn's smooth
/// idf). Cosine similarity of two profiles is their dot product.
#[derive(Debug, Clone)]
pub struct ContentProfiles {
    ids: IdMap,
    vectors: Csr,
    vocabulary: Vec<String>,
}

fn tokens(name: &str, col: &FeatureColumn, row: usize, out: &mut Vec<String>) {
    match col {
        FeatureColumn::Categorical(v) => out.push(format!("{name}={}", v[row])),
        FeatureColumn::MultiLabel(v) => out.extend(v[row].iter().map(|l| format!("{name}={l}"))),
        FeatureColumn::Text(v) => out.extend(
            v[row]
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 2 && !w.chars().all(|c| c.is_ascii_digit()))
                .map(|w| format!("{name}:{}", w.to_lowercase())),
        ),
        FeatureColumn::Numeric(_) => {}
    }
}

impl ContentProfiles {
    /// Profiles from `columns` of `features` (all non-numeric columns when
    /// empty).
    pub fn from_features(features: &Features, columns: &[&str]) -> Result<Self> {
        for c in columns {
            if features.column(c).is_none() {
                return Err(Error::param(
                    "columns",
                    format!("no feature column {c:?} (have {:?})", features.names()),
                ));
            }
        }
        let use_col = |n: &str| columns.is_empty() || columns.contains(&n);
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut vocabulary = Vec::new();
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(features.len());
        let mut toks = Vec::new();
        for r in 0..features.len() {
            toks.clear();
            for (name, col) in features.columns() {
                if use_col(name) {
                    tokens(name, col, r, &mut toks);
                }
            }
            let mut ids: Vec<u32> = toks
                .iter()
                .map(|t| {
                    *vocab.entry(t.clone()).or_insert_with(|| {
                        vocabulary.push(t.clone());
                        (vocabulary.len() - 1) as u32
                    })
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            rows.push(ids);
        }
        let n = rows.len() as f32;
        let mut df = vec![0u32; vocabulary.len()];
        rows.iter().flatten().for_each(|&t| df[t as usize] += 1);
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let mut m = Csr {
            indptr: vec![0],
            n_cols: vocabulary.len(),
            ..Default::default()
        };
        for r in rows {
            let norm = r
                .iter()
                .map(|&t| idf[t as usize].powi(2))
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            for t in r {
                m.indices.push(t);
                m.data.push(idf[t as usize] / norm);
            }
            m.indptr.push(m.indices.len());
        }
        Ok(ContentProfiles {
            ids: features.ids().clone(),
            vectors: m,
            vocabulary,
        })
    }

    /// Number of distinct tokens.
    pub fn vocabulary_len(&self) -> usize {
        self.vocabulary.len()
    }

    /// The tokens of one item (raw id), e.g. `genres=Comedy`.
    pub fn tokens_of(&self, raw_id: &str) -> Vec<&str> {
        self.ids
            .get(raw_id)
            .map(|r| {
                self.vectors
                    .row(r as usize)
                    .0
                    .iter()
                    .map(|&t| self.vocabulary[t as usize].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Profiles re-ordered to `items`' indices (items without features get
    /// an empty profile).
    pub(crate) fn aligned(&self, items: &IdMap) -> Csr {
        let mut m = Csr {
            indptr: vec![0],
            n_cols: self.vectors.n_cols,
            ..Default::default()
        };
        for raw in items.raw_ids() {
            if let Some(r) = self.ids.get(raw) {
                let (idx, val) = self.vectors.row(r as usize);
                m.indices.extend_from_slice(idx);
                m.data.extend_from_slice(val);
            }
            m.indptr.push(m.indices.len());
        }
        m
    }

    /// Top-k content neighbours of every item of `items`.
    pub(crate) fn item_knn(&self, items: &IdMap, k: usize) -> Result<SparseSim> {
        let a = self.aligned(items);
        if a.indices.is_empty() {
            return Err(Error::InvalidData(
                "no item of the data has content features (ids differ?)".into(),
            ));
        }
        Ok(all_pairs_knn(
            &a,
            &a.transpose(),
            &KnnSpec {
                k,
                similarity: Similarity::Dot,
                shrinkage: 0.0,
                centred: false,
                n_features: self.vocabulary.len(),
            },
        ))
    }
}
