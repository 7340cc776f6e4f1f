//! The towers on burn: id embedding ‖ field embeddings ‖ numeric projection
//! → MLP → a shared output dimension, optionally L2-normalised.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::encode::{SideBatch, SideEncoding};
use crate::models::deep::{Dnn, DnnInit};

/// One tower (user or item).
#[derive(Module, Debug)]
pub struct Tower {
    id: Embedding,
    fields: Vec<Embedding>,
    numeric: Option<Linear>,
    mlp: Dnn,
    out: Linear,
}

/// Sizes of a tower.
#[derive(Debug, Clone)]
pub(crate) struct TowerShape {
    pub id_dim: usize,
    pub feature_dim: usize,
    pub hidden: Vec<usize>,
    pub out_dim: usize,
    pub init_std: f64,
}

impl Tower {
    /// A tower for `side` (ids `0..n`), every embedding N(0, `init_std`²).
    pub(crate) fn new(side: &SideEncoding, s: &TowerShape, device: &Device) -> Self {
        let init = Initializer::Normal {
            mean: 0.0,
            std: s.init_std,
        };
        let table = |rows: usize, dim: usize| {
            EmbeddingConfig::new(rows, dim)
                .with_initializer(init.clone())
                .init(device)
        };
        let fields: Vec<Embedding> = side
            .fields
            .iter()
            .map(|f| table(f.vocab, s.feature_dim))
            .collect();
        let numeric = (side.n_numeric > 0)
            .then(|| LinearConfig::new(side.n_numeric, s.feature_dim).init(device));
        let input = s.id_dim + s.feature_dim * (fields.len() + usize::from(numeric.is_some()));
        let last = s.hidden.last().copied().unwrap_or(input);
        Tower {
            id: table(side.n.max(1), s.id_dim),
            fields,
            numeric,
            mlp: Dnn::new(input, &s.hidden, false, 0.0, DnnInit::He, device),
            out: DnnInit::Xavier.linear(last, s.out_dim, device),
        }
    }

    /// `[B]` entities → `[B, out_dim]`.
    pub(crate) fn forward(&self, x: SideBatch) -> Tensor<2> {
        let [b, _] = x.ids.dims();
        let id = self.id.forward(x.ids);
        let d = id.dims()[2];
        let mut parts = vec![id.reshape([b, d]) * x.keep];
        for (emb, (tokens, weights)) in self.fields.iter().zip(x.fields) {
            // [B, W, D] ⊙ [B, W, 1] summed over W → [B, D].
            let e = (emb.forward(tokens) * weights).sum_dim(1);
            let fd = e.dims()[2];
            parts.push(e.reshape([b, fd]));
        }
        if let (Some(l), Some(v)) = (&self.numeric, x.numeric) {
            parts.push(l.forward(v));
        }
        self.out.forward(self.mlp.forward(Tensor::cat(parts, 1)))
    }
}

/// The two towers.
#[derive(Module, Debug)]
pub struct TwoTowerNet {
    pub(crate) user: Tower,
    pub(crate) item: Tower,
}

/// Rows scaled to unit L2 norm (`[N, D]` → `[N, D]`).
pub(crate) fn l2_normalised(x: Tensor<2>) -> Tensor<2> {
    let norm = (x.clone() * x.clone()).sum_dim(1).add_scalar(1e-12).sqrt();
    x / norm
}
