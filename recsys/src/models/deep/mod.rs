//! Deep CTR building blocks on burn (feature `deep`): field embeddings that
//! follow a [`DatasetSchema`] (padding id 0 contributes exactly zero) and the
//! factorisation-machine interaction. The models (DeepFM, xDeepFM,
//! AttentionDeepFM) build on these.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

use crate::features::{DatasetSchema, FieldKind, Pooling};

/// The FM second-order term in its O(F·D) form:
/// `½ Σ_d [(Σ_f e_fd)² − Σ_f e_fd²]` for field vectors `e` of shape
/// `[B, F, D]`; returns `[B, 1]`.
pub fn fm_interaction(e: Tensor<3>) -> Tensor<2> {
    let [b, _, _] = e.dims();
    let s = e.clone().sum_dim(1); // [B, 1, D]
    let sq = (e.clone() * e).sum_dim(1); // [B, 1, D]
    (s.clone() * s - sq)
        .sum_dim(2)
        .mul_scalar(0.5)
        .reshape([b, 1])
}

/// The same term as the explicit sum over field pairs `Σ_{i<j} ⟨e_i, e_j⟩`
/// (O(F²·D); for testing the fast form).
pub fn fm_interaction_naive(e: Tensor<3>) -> Tensor<2> {
    let [b, f, _] = e.dims();
    let mut out = Tensor::<2>::zeros([b, 1], &e.device());
    for i in 0..f {
        for j in i + 1..f {
            let ei = e.clone().narrow(1, i, 1);
            let ej = e.clone().narrow(1, j, 1);
            out = out + (ei * ej).sum_dim(2).reshape([b, 1]);
        }
    }
    out
}

/// Embeddings of every field of a schema: a first-order weight and a
/// `dim`-sized vector per id, id 0 masked to exactly zero; sequence fields
/// pooled over their non-padding ids; every field vector projected to a
/// common `fm_dim` (for FM and attention) when its `dim` differs.
#[derive(Module, Debug)]
pub struct FieldEmbedding {
    vectors: Vec<Embedding>,
    first_order: Vec<Embedding>,
    projections: Vec<Option<Linear>>,
    /// Per field: 0 = sparse, 1 = sequence mean, 2 = sequence sum, 3 = max.
    kinds: Vec<usize>,
    max_lens: Vec<usize>,
}

/// The three views of one batch: first order `[B, 1]`, field vectors in the
/// common dimension `[B, F, fm_dim]`, and the concatenation of the fields'
/// own vectors `[B, Σ dim]`.
pub struct Embedded {
    pub first_order: Tensor<2>,
    pub fields: Tensor<3>,
    pub flat: Tensor<2>,
}

impl FieldEmbedding {
    /// Layers for the sparse and sequence fields of `schema` (dense fields
    /// are not handled yet).
    pub fn new(schema: &DatasetSchema, fm_dim: usize, device: &Device) -> Self {
        let mut s = FieldEmbedding {
            vectors: Vec::new(),
            first_order: Vec::new(),
            projections: Vec::new(),
            kinds: Vec::new(),
            max_lens: Vec::new(),
        };
        for f in &schema.fields {
            let (kind, max_len) = match f.kind {
                FieldKind::Sparse => (0, 1),
                FieldKind::Sequence { max_len, pooling } => (
                    match pooling {
                        Pooling::Mean => 1,
                        Pooling::Sum => 2,
                        Pooling::Max => 3,
                    },
                    max_len,
                ),
                FieldKind::Dense => continue,
            };
            let init = burn::nn::Initializer::Normal {
                mean: 0.0,
                std: 0.01,
            };
            s.vectors.push(
                EmbeddingConfig::new(f.vocab.max(1), f.dim)
                    .with_initializer(init.clone())
                    .init(device),
            );
            s.first_order.push(
                EmbeddingConfig::new(f.vocab.max(1), 1)
                    .with_initializer(burn::nn::Initializer::Zeros)
                    .init(device),
            );
            s.projections.push((f.dim != fm_dim).then(|| {
                LinearConfig::new(f.dim, fm_dim)
                    .with_bias(false)
                    .init(device)
            }));
            s.kinds.push(kind);
            s.max_lens.push(max_len);
        }
        s
    }

    /// Embeds one batch: `sparse` `[B, n_sparse]` ids and `sequences`
    /// `[B, n_seq · max_len]` ids, in schema order within each kind.
    pub fn forward(&self, sparse: Tensor<2, Int>, sequences: Tensor<2, Int>) -> Embedded {
        let [b, _] = sparse.dims();
        let (mut fields, mut flat, mut first) = (Vec::new(), Vec::new(), Vec::new());
        let (mut si, mut qi) = (0usize, 0usize);
        for k in 0..self.kinds.len() {
            let (ids, len) = if self.kinds[k] == 0 {
                si += 1;
                (sparse.clone().narrow(1, si - 1, 1), 1)
            } else {
                let len = self.max_lens[k];
                qi += len;
                (sequences.clone().narrow(1, qi - len, len), len)
            };
            // [B, len, 1]: 1 where the id is real, 0 for padding.
            let mask = ids.clone().not_equal_elem(0).float().reshape([b, len, 1]);
            let v = self.vectors[k].forward(ids.clone()) * mask.clone(); // [B, len, dim]
            let w = self.first_order[k].forward(ids) * mask.clone(); // [B, len, 1]
            let (v, w) = match self.kinds[k] {
                0 | 2 => (v.sum_dim(1), w.sum_dim(1)),
                1 => {
                    let n = mask.sum_dim(1).clamp_min(1.0); // [B, 1, 1]
                    (v.sum_dim(1) / n.clone(), w.sum_dim(1) / n)
                }
                _ => (v.max_dim(1), w.max_dim(1)),
            }; // [B, 1, dim], [B, 1, 1]
            let dim = v.dims()[2];
            let own = v.reshape([b, dim]);
            let common = match &self.projections[k] {
                Some(p) => p.forward(own.clone()),
                None => own.clone(),
            };
            let fm_dim = common.dims()[1];
            fields.push(common.reshape([b, 1, fm_dim]));
            flat.push(own);
            first.push(w.reshape([b, 1]));
        }
        Embedded {
            first_order: Tensor::cat(first, 1).sum_dim(1),
            fields: Tensor::cat(fields, 1),
            flat: Tensor::cat(flat, 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FieldSchema;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn fm_fast_form_equals_the_pairwise_sum() {
        let device = Device::flex();
        device.seed(42);
        let e = Tensor::<3>::random([32, 7, 8], Distribution::Normal(0.0, 1.0), &device);
        let fast: Vec<f32> = fm_interaction(e.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let naive: Vec<f32> = fm_interaction_naive(e)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (a, b) in fast.iter().zip(&naive) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn padding_ids_contribute_exactly_zero() {
        let device = Device::flex();
        device.seed(7);
        let mut a = FieldSchema::sparse("a", 4);
        a.vocab = 10;
        let mut g = FieldSchema::sequence("g", 3, Pooling::Mean, 8);
        g.vocab = 5;
        let schema = DatasetSchema { fields: vec![a, g] };
        let layer = FieldEmbedding::new(&schema, 8, &device);
        let sparse = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 3], [2, 1]), &device);
        let seq = Tensor::<2, Int>::from_data(
            TensorData::new(vec![0i64, 0, 0, 2, 0, 0], [2, 3]),
            &device,
        );
        let out = layer.forward(sparse, seq);
        assert_eq!(out.fields.dims(), [2, 2, 8]);
        assert_eq!(out.flat.dims(), [2, 12]);
        let flat: Vec<f32> = out.flat.into_data().try_to_vec::<f32>().unwrap();
        assert!(
            flat[..12].iter().all(|&v| v == 0.0),
            "row of padding ids is exactly zero"
        );
        assert!(flat[12..].iter().any(|&v| v != 0.0));
        // Mean pooling ignores padding: [2, 0, 0] embeds like [2].
        let one = layer.forward(
            Tensor::<2, Int>::from_data(TensorData::new(vec![3i64], [1, 1]), &device),
            Tensor::<2, Int>::from_data(TensorData::new(vec![2i64, 0, 0], [1, 3]), &device),
        );
        let one: Vec<f32> = one.flat.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&one[..], &flat[12..]);
    }
}
