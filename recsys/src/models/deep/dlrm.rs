//! DLRM (Naumov et al. 2019): a bottom MLP over the dense features,
//! embedding bags over the sparse and multi-hot ones
//! ([`EmbeddingBagCollection`], jagged, no padding), an interaction layer,
//! and a top MLP to one logit.
//!
//! Interaction `dot`: the pairwise dot products of `[x, e₁ … e_k]` (`x` the
//! bottom output, present when the data has dense fields), strictly lower
//! triangle (or with the diagonal), concatenated with `x` — the
//! reference's `interact_features`; `cat`: the vectors concatenated.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::jagged::{BagTable, EmbeddingBagCollection, JaggedInput};
use super::layers::{Dnn, DnnInit};
use crate::features::DatasetSchema;

/// How DLRM combines its vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Interaction {
    /// Pairwise dot products, strictly lower triangle, ‖ bottom output.
    #[default]
    Dot,
    /// Pairwise dot products with the diagonal (each vector's squared
    /// norm), ‖ bottom output.
    DotSelf,
    /// The vectors concatenated.
    Cat,
}

/// The DLRM part of a CTR network (see the module docs).
#[derive(Module, Debug)]
pub struct DlrmNet {
    bags: EmbeddingBagCollection,
    /// Dense `[B, n_dense]` → `[B, D]` (ReLU after every layer), absent
    /// without dense fields.
    bottom: Option<Dnn>,
    top: Dnn,
    /// The top MLP's last layer to the logit (the network's bias is added
    /// outside).
    head: Linear,
    /// 0 = dot, 1 = dot with the diagonal, 2 = concatenation.
    interaction: usize,
    /// Vectors that interact (bottom output + keys).
    vectors: usize,
    /// Width of every table and of the bottom output.
    dim: usize,
}

/// The embedding tables of a DLRM over `schema`: one per sparse or
/// sequence field, every one `dim` wide (the dot interaction needs one
/// width).
pub fn dlrm_tables(schema: &DatasetSchema, dim: usize) -> Vec<BagTable> {
    let mut t = BagTable::per_field(schema);
    t.iter_mut().for_each(|t| t.dim = dim);
    t
}

/// Checks that `schema` gives `interaction` something to combine: the dot
/// products need at least two vectors (the bottom output of the dense
/// fields, and one per sparse or sequence field).
pub fn check_schema(schema: &DatasetSchema, interaction: Interaction) -> crate::Result<()> {
    let (_, n_dense, _) = schema.counts();
    let vectors = dlrm_tables(schema, 1).len() + usize::from(n_dense > 0);
    let needed = if interaction == Interaction::Cat {
        1
    } else {
        2
    };
    if vectors < needed {
        return Err(crate::Error::param(
            "interaction",
            format!(
                "DLRM's {interaction:?} interaction needs at least {needed} vectors (the dense fields' bottom output and one per categorical field); this data gives {vectors}"
            ),
        ));
    }
    Ok(())
}

impl DlrmNet {
    /// Layers for `schema`: tables of `dim`, bottom MLP `bottom` then
    /// `dim` (when the schema has dense fields), top MLP `top` then 1.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        schema: &DatasetSchema,
        dim: usize,
        bottom: &[usize],
        top: &[usize],
        interaction: Interaction,
        init: DnnInit,
        init_std: f64,
        device: &Device,
    ) -> Self {
        let tables = dlrm_tables(schema, dim);
        let (_, n_dense, _) = schema.counts();
        let bottom = (n_dense > 0).then(|| {
            let mut sizes = bottom.to_vec();
            sizes.push(dim);
            Dnn::new(n_dense, &sizes, false, 0.0, init, device)
        });
        let keys = tables.len();
        let vectors = keys + usize::from(bottom.is_some());
        let x = if bottom.is_some() { dim } else { 0 };
        let top_in = match interaction {
            Interaction::Dot => x + vectors * vectors.saturating_sub(1) / 2,
            Interaction::DotSelf => x + vectors * (vectors + 1) / 2,
            Interaction::Cat => vectors * dim,
        };
        let top_dnn = Dnn::new(top_in, top, false, 0.0, init, device);
        DlrmNet {
            bags: EmbeddingBagCollection::new(&tables, init_std, device),
            bottom,
            head: {
                let mut h = init.linear(top.last().copied().unwrap_or(top_in), 1, device);
                h.bias = None;
                h
            },
            top: top_dnn,
            interaction: match interaction {
                Interaction::Dot => 0,
                Interaction::DotSelf => 1,
                Interaction::Cat => 2,
            },
            vectors,
            dim,
        }
    }

    /// Width of every table and of the bottom output.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Logits without the bias, `[B, 1]`, of dense values `[B, n_dense]`
    /// and the bags of a batch.
    pub fn forward(&self, dense: Tensor<2>, bags: &JaggedInput) -> Tensor<2> {
        let x = self.bottom.as_ref().map(|m| m.forward(dense));
        let e = self.bags.forward(bags);
        self.head.forward(self.top.forward(self.interact(x, e)))
    }

    /// The top MLP's input from the bottom output `x` `[B, D]` and the
    /// pooled bags `[B, D]` each: `[B, D + pairs]` (dot) or `[B, F·D]`
    /// (cat).
    fn interact(&self, x: Option<Tensor<2>>, e: Vec<Tensor<2>>) -> Tensor<2> {
        let mut vecs: Vec<Tensor<2>> = x.iter().cloned().collect();
        vecs.extend(e);
        if self.interaction == 2 {
            return Tensor::cat(vecs, 1);
        }
        let b = vecs[0].dims()[0];
        let f = self.vectors;
        let device = vecs[0].device();
        let z: Tensor<3> = Tensor::stack(vecs, 1); // [B, F, D]
        let zz = z.clone().matmul(z.swap_dims(1, 2)); // [B, F, F]
        let diag = usize::from(self.interaction == 1);
        // Row-major lower triangle: (1,0), (2,0), (2,1), … as the reference.
        let idx: Vec<i64> = (0..f)
            .flat_map(|i| (0..i + diag).map(move |j| (i * f + j) as i64))
            .collect();
        let n = idx.len();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [n]), &device);
        let dots = zz.reshape([b, f * f]).select(1, idx); // [B, pairs]
        match x {
            Some(x) => Tensor::cat(vec![x, dots], 1),
            None => dots,
        }
    }

    /// Σ of the squared embedding weights.
    pub fn embedding_l2(&self) -> Option<Tensor<1>> {
        self.bags.l2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{CtrBatch, FieldSchema, Pooling};

    fn schema() -> DatasetSchema {
        let mut a = FieldSchema::sparse("a", 4);
        a.vocab = 6;
        let mut g = FieldSchema::sequence("g", 3, Pooling::Mean, 4);
        g.vocab = 5;
        DatasetSchema {
            fields: vec![a, FieldSchema::dense("x", 4), FieldSchema::dense("y", 4), g],
        }
    }

    fn batch() -> CtrBatch {
        CtrBatch {
            len: 2,
            sparse: vec![1, 5],
            sequences: vec![2, 0, 0, 0, 0, 0],
            dense: vec![0.5, 0.1, 0.9, 0.0],
            labels: vec![1.0, 0.0],
        }
    }

    #[test]
    fn a_dot_interaction_needs_two_vectors() {
        let mut a = FieldSchema::sparse("a", 4);
        a.vocab = 6;
        let one = DatasetSchema { fields: vec![a] };
        let e = check_schema(&one, Interaction::Dot)
            .unwrap_err()
            .to_string();
        assert!(e.contains("interaction") && e.contains("gives 1"), "{e}");
        assert!(check_schema(&one, Interaction::Cat).is_ok());
        assert!(check_schema(&schema(), Interaction::Dot).is_ok());
    }

    #[test]
    fn dot_interaction_is_the_lower_triangle_of_the_gram_matrix() {
        let device = Device::flex();
        device.seed(5);
        let s = schema();
        for (inter, pairs) in [
            (Interaction::Dot, 3),
            (Interaction::DotSelf, 6),
            (Interaction::Cat, 12),
        ] {
            let net = DlrmNet::new(&s, 4, &[8], &[6], inter, DnnInit::He, 0.3, &device);
            let kjt = super::super::jagged::KeyedJagged::from_batch(&batch(), &s);
            let bags = JaggedInput::new(&kjt, &dlrm_tables(&s, 4), &device).unwrap();
            let dense = Tensor::<2>::from_data(TensorData::new(batch().dense, [2, 2]), &device);
            let out = net.forward(dense.clone(), &bags);
            assert_eq!(out.dims(), [2, 1]);
            let x = net.bottom.as_ref().unwrap().forward(dense);
            let e = net.bags.forward(&bags);
            let top_in = net.interact(Some(x.clone()), e.clone());
            let width = if inter == Interaction::Cat {
                pairs
            } else {
                4 + pairs
            };
            assert_eq!(top_in.dims(), [2, width]);
            let got: Vec<f32> = top_in
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            let v: Vec<Vec<f32>> = [x, e[0].clone(), e[1].clone()]
                .into_iter()
                .map(|t| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap())
                .collect();
            let dot = |i: usize, j: usize, r: usize| -> f32 {
                (0..4).map(|d| v[i][r * 4 + d] * v[j][r * 4 + d]).sum()
            };
            let want: Vec<(usize, usize)> = match inter {
                Interaction::Dot => vec![(1, 0), (2, 0), (2, 1)],
                Interaction::DotSelf => vec![(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2)],
                _ => vec![],
            };
            for r in 0..2 {
                for (p, &(i, j)) in want.iter().enumerate() {
                    let g = got[r * width + 4 + p];
                    assert!(
                        (g - dot(i, j, r)).abs() < 1e-5,
                        "{inter:?} row {r} pair {p}"
                    );
                }
            }
            // The second row's bag of `g` is empty: its vector is 0.
            assert!(v[2][4..].iter().all(|&z| z == 0.0));
        }
    }
}
