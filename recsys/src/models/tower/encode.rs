//! The features of one side (users or items) as a tower reads them: every
//! categorical and multi-label column becomes a field of token ids (0 =
//! missing or unseen), every numeric column one standardised value.

use std::collections::HashMap;

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::{FeatureColumn, Features, IdMap};

/// One categorical or multi-label column: `width` token slots per entity
/// (a multi-label value's labels weighted `1/n`, i.e. mean pooling; empty
/// slots token 0, weight 0).
#[derive(Debug, Clone)]
pub(crate) struct TokenField {
    /// Tokens including 0 (missing).
    pub vocab: usize,
    pub width: usize,
    /// `[n, width]` token ids.
    pub tokens: Vec<i64>,
    /// `[n, width]` pooling weights.
    pub weights: Vec<f32>,
}

/// The encoded features of every entity of one side (`n` = the
/// interactions' id universe, in its index order).
#[derive(Debug, Clone)]
pub(crate) struct SideEncoding {
    pub n: usize,
    /// Entities that have an id embedding (interactions in training).
    pub known: Vec<bool>,
    pub fields: Vec<TokenField>,
    pub n_numeric: usize,
    /// `[n, n_numeric]`, standardised, 0 when missing.
    pub numeric: Vec<f32>,
    /// Names of the columns used, in order (fields, then numeric).
    pub columns: Vec<String>,
}

/// One batch of one side: `[B]` entities as tensors.
pub(crate) struct SideBatch {
    /// `[B, 1]` id rows.
    pub ids: Tensor<2, Int>,
    /// `[B, 1]` 1 = use the id embedding, 0 = features alone.
    pub keep: Tensor<2>,
    /// Per field `[B, width]` tokens and `[B, width, 1]` weights.
    pub fields: Vec<(Tensor<2, Int>, Tensor<3>)>,
    /// `[B, n_numeric]`.
    pub numeric: Option<Tensor<2>>,
}

impl SideEncoding {
    /// Encodes `features` (rows matched to `ids` by raw id; text columns
    /// skipped) for the `n = ids.len()` entities; `known[e]` marks the
    /// entities with training interactions. Without features: ids only.
    pub fn new(ids: &IdMap, known: Vec<bool>, features: Option<&Features>) -> Self {
        let n = ids.len();
        let mut enc = SideEncoding {
            n,
            known,
            fields: Vec::new(),
            n_numeric: 0,
            numeric: Vec::new(),
            columns: Vec::new(),
        };
        let Some(features) = features else {
            return enc;
        };
        let rows: Vec<Option<usize>> = (0..n as u32)
            .map(|e| features.ids().get(ids.raw(e)).map(|r| r as usize))
            .collect();
        let mut numeric_cols: Vec<Vec<f32>> = Vec::new();
        for (name, col) in features.columns() {
            match col {
                FeatureColumn::Categorical(v) => {
                    enc.fields.push(token_field(&rows, |r| vec![v[r].as_str()]));
                    enc.columns.push(name.clone());
                }
                FeatureColumn::MultiLabel(v) => {
                    enc.fields.push(token_field(&rows, |r| {
                        v[r].iter().map(String::as_str).collect()
                    }));
                    enc.columns.push(name.clone());
                }
                FeatureColumn::Numeric(v) => {
                    let vals: Vec<f32> =
                        rows.iter().map(|r| r.map_or(f32::NAN, |r| v[r])).collect();
                    numeric_cols.push(standardised(&vals));
                }
                FeatureColumn::Text(_) => {}
            }
        }
        for (name, col) in features.columns() {
            if matches!(col, FeatureColumn::Numeric(_)) {
                enc.columns.push(name.clone());
            }
        }
        enc.n_numeric = numeric_cols.len();
        enc.numeric = (0..n)
            .flat_map(|e| numeric_cols.iter().map(move |c| c[e]))
            .collect();
        enc
    }

    /// True when the side has features besides its ids.
    pub fn has_features(&self) -> bool {
        !self.fields.is_empty() || self.n_numeric > 0
    }

    /// The tensors of entities `idx`; `drop(e)` true hides an entity's id
    /// embedding (id dropout while training).
    pub fn batch(&self, idx: &[u32], drop: impl Fn(usize) -> bool, device: &Device) -> SideBatch {
        let b = idx.len();
        let ids: Vec<i64> = idx.iter().map(|&e| e as i64).collect();
        let keep: Vec<f32> = idx
            .iter()
            .enumerate()
            .map(|(k, &e)| f32::from(u8::from(self.known[e as usize] && !drop(k))))
            .collect();
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let w = f.width;
                let mut t = Vec::with_capacity(b * w);
                let mut ws = Vec::with_capacity(b * w);
                for &e in idx {
                    let e = e as usize;
                    t.extend_from_slice(&f.tokens[e * w..(e + 1) * w]);
                    ws.extend_from_slice(&f.weights[e * w..(e + 1) * w]);
                }
                (
                    Tensor::<2, Int>::from_data(TensorData::new(t, [b, w]), device),
                    Tensor::<3>::from_data(TensorData::new(ws, [b, w, 1]), device),
                )
            })
            .collect();
        let numeric = (self.n_numeric > 0).then(|| {
            let m = self.n_numeric;
            let v: Vec<f32> = idx
                .iter()
                .flat_map(|&e| {
                    self.numeric[e as usize * m..(e as usize + 1) * m]
                        .iter()
                        .copied()
                })
                .collect();
            Tensor::<2>::from_data(TensorData::new(v, [b, m]), device)
        });
        SideBatch {
            ids: Tensor::<2, Int>::from_data(TensorData::new(ids, [b, 1]), device),
            keep: Tensor::<2>::from_data(TensorData::new(keep, [b, 1]), device),
            fields,
            numeric,
        }
    }
}

/// A field from each entity's labels (`None` row: no labels).
fn token_field<'a>(rows: &[Option<usize>], labels: impl Fn(usize) -> Vec<&'a str>) -> TokenField {
    let mut vocab: HashMap<&str, i64> = HashMap::new();
    let per: Vec<Vec<i64>> = rows
        .iter()
        .map(|r| {
            let Some(r) = *r else { return Vec::new() };
            let mut t: Vec<i64> = labels(r)
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let next = vocab.len() as i64 + 1;
                    *vocab.entry(l).or_insert(next)
                })
                .collect();
            t.sort_unstable();
            t.dedup();
            t
        })
        .collect();
    let width = per.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut tokens = Vec::with_capacity(rows.len() * width);
    let mut weights = Vec::with_capacity(rows.len() * width);
    for t in &per {
        let w = if t.is_empty() {
            0.0
        } else {
            1.0 / t.len() as f32
        };
        for s in 0..width {
            tokens.push(t.get(s).copied().unwrap_or(0));
            weights.push(if s < t.len() { w } else { 0.0 });
        }
    }
    TokenField {
        vocab: vocab.len() + 1,
        width,
        tokens,
        weights,
    }
}

/// `(x − mean) / std` over the finite values; missing (`NaN`) → 0.
fn standardised(v: &[f32]) -> Vec<f32> {
    let finite: Vec<f64> = v
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| x as f64)
        .collect();
    let n = finite.len().max(1) as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let var = finite.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
    v.iter()
        .map(|&x| {
            if x.is_finite() {
                ((x as f64 - mean) / sd) as f32
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_mean_pool_and_missing_rows_are_empty() {
        let ids = IdMap::from_ordered(vec!["a".into(), "b".into(), "c".into()]);
        let f = Features::new(IdMap::from_ordered(vec!["b".into(), "a".into()]))
            .with_column(
                "g",
                FeatureColumn::MultiLabel(vec![vec!["x".into(), "y".into()], vec!["y".into()]]),
            )
            .with_column("age", FeatureColumn::Numeric(vec![10.0, 30.0]));
        let e = SideEncoding::new(&ids, vec![true; 3], Some(&f));
        assert_eq!(e.fields.len(), 1);
        let g = &e.fields[0];
        assert_eq!((g.vocab, g.width), (3, 2));
        // a → row 1 (y), b → row 0 (x, y), c → none.
        assert_eq!(&g.weights[0..2], &[1.0, 0.0]);
        assert_eq!(&g.weights[2..4], &[0.5, 0.5]);
        assert_eq!(&g.tokens[4..6], &[0, 0]);
        assert_eq!(e.numeric, vec![1.0, -1.0, 0.0]);
        assert_eq!(e.columns, vec!["g", "age"]);
    }
}
