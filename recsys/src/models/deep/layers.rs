//! Layers of the deep CTR models: schema-driven field embeddings (padding
//! id 0 contributes exactly zero), the FM interaction, the DNN tower, the
//! compressed interaction network (xDeepFM), field self-attention
//! (AutoInt-style, in AttentionDeepFM) and the cross network (DCN).

use burn::module::{Module, Param};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer,
    LayerNorm, LayerNormConfig, Linear, LinearConfig, Relu,
};
use burn::tensor::{Device, Int, Tensor, TensorData};

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

/// How a schema's fields reach the network: sparse fields of equal `dim`
/// share one embedding table (each field at its own id offset), so a batch
/// needs one gather per distinct dim; sequence and dense fields follow. The
/// order of [`Embedded::fields`] and [`Embedded::flat`] is: the groups'
/// members, then sequences, then dense fields, each in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPlan {
    /// Per group: dim, and per member `(column in CtrBatch::sparse, id
    /// offset in the group table)`, and the table's total rows.
    pub groups: Vec<(usize, Vec<(usize, usize)>, usize)>,
    /// Per sequence field: `(dim, max_len, pooling, vocab)`.
    pub sequences: Vec<(usize, usize, Pooling, usize)>,
    /// Per dense field: its dim.
    pub dense: Vec<usize>,
    pub n_sparse: usize,
    /// DLRM: the schema and the embedding-bag tables its sparse and
    /// sequence fields are laid out for (as a keyed jagged batch) instead
    /// of the groups.
    pub bags: Option<(DatasetSchema, Vec<super::jagged::BagTable>)>,
}

impl InputPlan {
    pub fn new(schema: &DatasetSchema) -> Self {
        let mut groups: Vec<(usize, Vec<(usize, usize)>, usize)> = Vec::new();
        let (mut sequences, mut dense, mut col) = (Vec::new(), Vec::new(), 0);
        for f in &schema.fields {
            match f.kind {
                FieldKind::Sparse => {
                    let vocab = f.vocab.max(1);
                    match groups.iter_mut().find(|g| g.0 == f.dim) {
                        Some(g) => {
                            g.1.push((col, g.2));
                            g.2 += vocab;
                        }
                        None => groups.push((f.dim, vec![(col, 0)], vocab)),
                    }
                    col += 1;
                }
                FieldKind::Sequence { max_len, pooling } => {
                    sequences.push((f.dim, max_len, pooling, f.vocab.max(1)))
                }
                FieldKind::Dense => dense.push(f.dim),
            }
        }
        InputPlan {
            groups,
            sequences,
            dense,
            n_sparse: col,
            bags: None,
        }
    }

    /// The plan of a DLRM over `schema`: its sparse and sequence fields
    /// as embedding bags of tables `dim` wide, not as groups.
    pub fn bags(schema: &DatasetSchema, dim: usize) -> Self {
        let mut plan = InputPlan::new(schema);
        plan.groups.clear();
        plan.bags = Some((schema.clone(), super::dlrm::dlrm_tables(schema, dim)));
        plan
    }

    /// Number of fields.
    pub fn n_fields(&self) -> usize {
        self.groups.iter().map(|g| g.1.len()).sum::<usize>()
            + self.sequences.len()
            + self.dense.len()
    }

    /// Total flat width `Σ dim`.
    pub fn flat_dim(&self) -> usize {
        self.groups.iter().map(|g| g.0 * g.1.len()).sum::<usize>()
            + self.sequences.iter().map(|q| q.0).sum::<usize>()
            + self.dense.iter().sum::<usize>()
    }

    /// The network input of an encoded batch on `device`.
    pub fn input(&self, b: &crate::features::CtrBatch, device: &Device) -> CtrInput {
        let n = b.len;
        let groups = self
            .groups
            .iter()
            .map(|(_, members, _)| {
                let w = members.len();
                let (mut ids, mut mask) = (Vec::with_capacity(n * w), Vec::with_capacity(n * w));
                for r in 0..n {
                    let row = &b.sparse[r * self.n_sparse..(r + 1) * self.n_sparse];
                    for &(c, off) in members {
                        ids.push((off as u32 + row[c]) as i64);
                        mask.push(if row[c] == 0 { 0.0f32 } else { 1.0 });
                    }
                }
                (
                    Tensor::<2, Int>::from_data(TensorData::new(ids, [n, w]), device),
                    Tensor::<3>::from_data(TensorData::new(mask, [n, w, 1]), device),
                )
            })
            .collect();
        let seq_width: usize = self.sequences.iter().map(|q| q.1).sum();
        let jagged = self.bags.as_ref().map(|(schema, tables)| {
            let kjt = super::jagged::KeyedJagged::from_batch(b, schema);
            super::jagged::JaggedInput::new(&kjt, tables, device)
                .expect("encoded ids lie inside their vocabularies (checked by check_rows)")
        });
        CtrInput {
            jagged,
            groups,
            sequences: Tensor::<2, Int>::from_data(
                TensorData::new(
                    b.sequences.iter().map(|&x| x as i64).collect::<Vec<_>>(),
                    [n, seq_width],
                ),
                device,
            ),
            dense: Tensor::<2>::from_data(
                TensorData::new(b.dense.clone(), [n, self.dense.len()]),
                device,
            ),
        }
    }
}

/// Embeddings of every field of a schema (see [`InputPlan`]): a first-order
/// weight and a `dim`-sized vector per id, padding id 0 masked to exactly
/// zero; sequence fields pooled over their non-padding ids; dense fields as
/// `value · v_f` with a learned vector `v_f` and first-order weight. Field
/// vectors whose `dim` differs from the common `fm_dim` are projected to it
/// (one projection per sparse dim group, one per other field).
#[derive(Module, Debug)]
pub struct FieldEmbedding {
    group_vectors: Vec<Embedding>,
    group_first_order: Vec<Embedding>,
    group_projections: Vec<Option<Linear>>,
    seq_vectors: Vec<Embedding>,
    seq_first_order: Vec<Embedding>,
    seq_projections: Vec<Option<Linear>>,
    /// Per sequence field: 1 = mean, 2 = sum, 3 = max.
    seq_pooling: Vec<usize>,
    seq_lens: Vec<usize>,
    dense_vectors: Vec<Linear>,
    dense_first_order: Vec<Linear>,
    dense_projections: Vec<Option<Linear>>,
    n_fields: usize,
    fm_dim: usize,
}

/// The three views of one batch: first order `[B, 1]`, field vectors in the
/// common dimension `[B, F, fm_dim]`, and the concatenation of the fields'
/// own vectors `[B, Σ dim]`.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub first_order: Tensor<2>,
    pub fields: Tensor<3>,
    pub flat: Tensor<2>,
}

/// One batch of network inputs (built by [`InputPlan::input`]): per sparse
/// group the ids with offsets `[B, n_g]` and the padding mask `[B, n_g, 1]`
/// (0 where the id is 0); `sequences` `[B, Σ max_len]` ids; `dense` `[B,
/// n_dense]` values; DLRM: the sparse and sequence fields as embedding
/// bags.
#[derive(Debug, Clone)]
pub struct CtrInput {
    pub jagged: Option<super::jagged::JaggedInput>,
    pub groups: Vec<(Tensor<2, Int>, Tensor<3>)>,
    pub sequences: Tensor<2, Int>,
    pub dense: Tensor<2>,
}

impl FieldEmbedding {
    /// Layers for every field of `schema`, embedding vectors initialised
    /// N(0, `init_std`²), first-order weights 0.
    pub fn new(schema: &DatasetSchema, fm_dim: usize, init_std: f64, device: &Device) -> Self {
        let plan = InputPlan::new(schema);
        let init = Initializer::Normal {
            mean: 0.0,
            std: init_std,
        };
        let table = |rows: usize, dim: usize, init: &Initializer| {
            EmbeddingConfig::new(rows, dim)
                .with_initializer(init.clone())
                .init(device)
        };
        let project = |dim: usize| {
            (dim != fm_dim).then(|| LinearConfig::new(dim, fm_dim).with_bias(false).init(device))
        };
        let zeros = Initializer::Zeros;
        FieldEmbedding {
            group_vectors: plan.groups.iter().map(|g| table(g.2, g.0, &init)).collect(),
            group_first_order: plan.groups.iter().map(|g| table(g.2, 1, &zeros)).collect(),
            group_projections: plan.groups.iter().map(|g| project(g.0)).collect(),
            seq_vectors: plan
                .sequences
                .iter()
                .map(|q| table(q.3, q.0, &init))
                .collect(),
            seq_first_order: plan
                .sequences
                .iter()
                .map(|q| table(q.3, 1, &zeros))
                .collect(),
            seq_projections: plan.sequences.iter().map(|q| project(q.0)).collect(),
            seq_pooling: plan
                .sequences
                .iter()
                .map(|q| match q.2 {
                    Pooling::Mean => 1,
                    Pooling::Sum => 2,
                    Pooling::Max => 3,
                })
                .collect(),
            seq_lens: plan.sequences.iter().map(|q| q.1).collect(),
            dense_vectors: plan
                .dense
                .iter()
                .map(|&d| {
                    LinearConfig::new(1, d)
                        .with_bias(false)
                        .with_initializer(init.clone())
                        .init(device)
                })
                .collect(),
            dense_first_order: plan
                .dense
                .iter()
                .map(|_| {
                    LinearConfig::new(1, 1)
                        .with_bias(false)
                        .with_initializer(Initializer::Zeros)
                        .init(device)
                })
                .collect(),
            dense_projections: plan.dense.iter().map(|&d| project(d)).collect(),
            n_fields: plan.n_fields(),
            fm_dim,
        }
    }

    /// Number of fields `F`.
    pub fn n_fields(&self) -> usize {
        self.n_fields
    }

    /// The common field dimension `D` of [`Embedded::fields`].
    pub fn fm_dim(&self) -> usize {
        self.fm_dim
    }

    /// Embeds one batch.
    pub fn forward(&self, input: CtrInput) -> Embedded {
        let CtrInput {
            groups,
            sequences,
            dense,
            ..
        } = input;
        let b = sequences.dims()[0];
        let d = self.fm_dim;
        let (mut fields, mut flat, mut first) = (Vec::new(), Vec::new(), Vec::new());
        for (g, (ids, mask)) in groups.into_iter().enumerate() {
            let w = ids.dims()[1];
            let v = self.group_vectors[g].forward(ids.clone()) * mask.clone(); // [B, w, dim]
            let dim = v.dims()[2];
            first.push((self.group_first_order[g].forward(ids) * mask).reshape([b, w]));
            flat.push(v.clone().reshape([b, w * dim]));
            fields.push(match &self.group_projections[g] {
                Some(p) => p.forward(v),
                None => v,
            });
        }
        let mut at = 0;
        for (k, table) in self.seq_vectors.iter().enumerate() {
            let len = self.seq_lens[k];
            let ids = sequences.clone().narrow(1, at, len);
            at += len;
            // [B, len, 1]: 1 where the id is real, 0 for padding.
            let mask = ids.clone().not_equal_elem(0).float().reshape([b, len, 1]);
            let v = table.forward(ids.clone()) * mask.clone(); // [B, len, dim]
            let w = self.seq_first_order[k].forward(ids) * mask.clone(); // [B, len, 1]
            let dim = v.dims()[2];
            let (v, w) = match self.seq_pooling[k] {
                2 => (v.sum_dim(1).reshape([b, dim]), w.sum_dim(1).reshape([b, 1])),
                1 => {
                    let n = mask.sum_dim(1).clamp_min(1.0).reshape([b, 1]);
                    (
                        v.sum_dim(1).reshape([b, dim]) / n.clone(),
                        w.sum_dim(1).reshape([b, 1]) / n,
                    )
                }
                _ => {
                    // Max over the real ids only: padding positions are
                    // pushed far below any value before the max, and a bag
                    // of padding alone is zero (its gradient too).
                    let lift = (mask.clone() - 1.0) * 1e9; // 0 real, -1e9 padding
                    let any = mask.max_dim(1).reshape([b, 1]); // [B, 1]
                    (
                        (v + lift.clone()).max_dim(1).reshape([b, dim]) * any.clone(),
                        (w + lift).max_dim(1).reshape([b, 1]) * any,
                    )
                }
            };
            first.push(w);
            fields.push(
                match &self.seq_projections[k] {
                    Some(p) => p.forward(v.clone()),
                    None => v.clone(),
                }
                .reshape([b, 1, d]),
            );
            flat.push(v);
        }
        for (k, vec) in self.dense_vectors.iter().enumerate() {
            let x = dense.clone().narrow(1, k, 1); // [B, 1]
            let v = vec.forward(x.clone());
            first.push(self.dense_first_order[k].forward(x));
            fields.push(
                match &self.dense_projections[k] {
                    Some(p) => p.forward(v.clone()),
                    None => v.clone(),
                }
                .reshape([b, 1, d]),
            );
            flat.push(v);
        }
        Embedded {
            first_order: Tensor::cat(first, 1).sum_dim(1),
            fields: Tensor::cat(fields, 1),
            flat: Tensor::cat(flat, 1),
        }
    }

    /// Σ of the squared embedding weights (for an L2 penalty on embeddings);
    /// `None` for a schema without categorical fields.
    pub fn l2(&self) -> Option<Tensor<1>> {
        let mut total: Option<Tensor<1>> = None;
        for e in self.group_vectors.iter().chain(&self.seq_vectors) {
            let w = e.weight.val();
            let s = (w.clone() * w).sum();
            total = Some(match total {
                Some(t) => t + s,
                None => s,
            });
        }
        total
    }
}

/// A multilayer perceptron: per hidden layer Linear ([`DnnInit`]) → optional
/// BatchNorm → ReLU → Dropout; input `[B, in]`, output `[B, last hidden]`.
#[derive(Module, Debug)]
pub struct Dnn {
    linears: Vec<Linear>,
    norms: Vec<BatchNorm>,
    dropout: Dropout,
    activation: Relu,
}

/// How the DNN's Linear layers are initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DnnInit {
    /// He (Kaiming) normal, std √(2 / fan_in), weights and biases.
    #[default]
    He,
    /// PyTorch's `nn.Linear` default: weights and biases U(±1/√fan_in)
    /// (kaiming_uniform with a = √5), what the reference DeepFM uses.
    TorchDefault,
    /// Xavier (Glorot) normal weights, std √(2 / (fan_in + fan_out)),
    /// and zero biases: what the peer harness's DLRM uses.
    Xavier,
}

impl DnnInit {
    /// A `[fan_in → fan_out]` Linear layer initialised this way.
    pub fn linear(self, fan_in: usize, fan_out: usize, device: &Device) -> Linear {
        let initializer = match self {
            DnnInit::He => Initializer::KaimingNormal {
                gain: std::f64::consts::SQRT_2,
                fan_out_only: false,
            },
            DnnInit::TorchDefault => Initializer::KaimingUniform {
                gain: 1.0 / 3f64.sqrt(),
                fan_out_only: false,
            },
            DnnInit::Xavier => Initializer::XavierNormal { gain: 1.0 },
        };
        let mut l = LinearConfig::new(fan_in, fan_out)
            .with_initializer(initializer)
            .init(device);
        if self == DnnInit::Xavier {
            l.bias = l.bias.map(|b| b.map(|t| t.zeros_like()));
        }
        l
    }
}

impl Dnn {
    pub fn new(
        input: usize,
        hidden: &[usize],
        batch_norm: bool,
        dropout: f64,
        init: DnnInit,
        device: &Device,
    ) -> Self {
        let mut linears = Vec::new();
        let mut norms = Vec::new();
        let mut prev = input;
        for &h in hidden {
            linears.push(init.linear(prev, h, device));
            if batch_norm {
                norms.push(BatchNormConfig::new(h).init(device));
            }
            prev = h;
        }
        Dnn {
            linears,
            norms,
            dropout: DropoutConfig::new(dropout).init(),
            activation: Relu::new(),
        }
    }

    /// `[B, in]` → `[B, last hidden]` (the input itself without hidden layers).
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for (i, l) in self.linears.iter().enumerate() {
            x = l.forward(x);
            if let Some(n) = self.norms.get(i) {
                x = n.forward(x);
            }
            x = self.activation.forward(x);
            x = self.dropout.forward(x);
        }
        x
    }
}

/// The compressed interaction network of xDeepFM (Lian et al. 2018): layer
/// k forms the outer products of its input maps `[B, H_{k-1}, D]` with the
/// fields `[B, m, D]` and compresses the `H_{k-1}·m` maps to `H_k` with a
/// 1×1 convolution; with split-half, all but the last layer send half of
/// their maps to the output and half to the next layer. The output is the
/// sum over `D` of every output map, `[B, Σ out_k]`.
#[derive(Module, Debug)]
pub struct Cin {
    convs: Vec<Linear>,
    /// Maps of each layer that go to the output.
    out_maps: Vec<usize>,
    /// Maps of each layer that feed the next layer.
    next_maps: Vec<usize>,
}

impl Cin {
    pub fn new(fields: usize, layers: &[usize], split_half: bool, device: &Device) -> Self {
        let (mut convs, mut out_maps, mut next_maps) = (Vec::new(), Vec::new(), Vec::new());
        let mut prev = fields;
        for (k, &h) in layers.iter().enumerate() {
            convs.push(LinearConfig::new(prev * fields, h).init(device));
            let last = k + 1 == layers.len();
            let (out, next) = if split_half && !last {
                (h / 2, h - h / 2)
            } else {
                (h, h)
            };
            out_maps.push(out);
            next_maps.push(next);
            prev = next;
        }
        Cin {
            convs,
            out_maps,
            next_maps,
        }
    }

    /// Width of the output, `Σ out_k`.
    pub fn output_dim(&self) -> usize {
        self.out_maps.iter().sum()
    }

    /// `x0`: `[B, m, D]` → `[B, Σ out_k]`.
    pub fn forward(&self, x0: Tensor<3>) -> Tensor<2> {
        let [b, m, d] = x0.dims();
        let mut x = x0.clone();
        let mut pooled = Vec::new();
        let base = x0.reshape([b, 1, m, d]);
        for (k, conv) in self.convs.iter().enumerate() {
            let h = x.dims()[1];
            let z = (x.reshape([b, h, 1, d]) * base.clone()).reshape([b, h * m, d]);
            // 1×1 convolution over the maps = a linear map on the map axis.
            let y = conv.forward(z.swap_dims(1, 2)).swap_dims(1, 2); // [B, H_k, D]
            let y = burn::tensor::activation::relu(y);
            let hk = y.dims()[1];
            let (out, next) = (self.out_maps[k], self.next_maps[k]);
            if out == hk {
                pooled.push(y.clone().sum_dim(2).reshape([b, hk]));
                x = y;
            } else {
                pooled.push(y.clone().narrow(1, 0, out).sum_dim(2).reshape([b, out]));
                x = y.narrow(1, out, next);
            }
        }
        Tensor::cat(pooled, 1)
    }
}

/// Field self-attention as in AutoInt (Song et al. 2019): multi-head
/// attention over the `F` field vectors, residual connection, LayerNorm;
/// `[B, F, D]` → `[B, F, D]`.
#[derive(Module, Debug)]
pub struct FieldAttention {
    attention: MultiHeadAttention,
    norm: LayerNorm,
}

impl FieldAttention {
    pub fn new(dim: usize, heads: usize, dropout: f64, device: &Device) -> Self {
        FieldAttention {
            attention: MultiHeadAttentionConfig::new(dim, heads)
                .with_dropout(dropout)
                .init(device),
            norm: LayerNormConfig::new(dim).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let attended = self
            .attention
            .forward(MhaInput::self_attn(x.clone()))
            .context;
        self.norm.forward(x + attended)
    }
}

/// The cross network of DCN (Wang et al. 2017): `x_{l+1} = x_0 · (x_l w_l)
/// + b_l + x_l`; `[B, d]` → `[B, d]`.
#[derive(Module, Debug)]
pub struct CrossNet {
    weights: Vec<Linear>,
    biases: Vec<Param<Tensor<1>>>,
}

impl CrossNet {
    pub fn new(dim: usize, layers: usize, device: &Device) -> Self {
        let init = Initializer::Normal {
            mean: 0.0,
            std: (1.0 / dim as f64).sqrt(),
        };
        CrossNet {
            weights: (0..layers)
                .map(|_| {
                    LinearConfig::new(dim, 1)
                        .with_bias(false)
                        .with_initializer(init.clone())
                        .init(device)
                })
                .collect(),
            biases: (0..layers)
                .map(|_| Param::from_tensor(Tensor::zeros([dim], device)))
                .collect(),
        }
    }

    pub fn forward(&self, x0: Tensor<2>) -> Tensor<2> {
        let mut x = x0.clone();
        for (w, b) in self.weights.iter().zip(&self.biases) {
            let bias = b.val().unsqueeze::<2>();
            x = x0.clone() * w.forward(x.clone()) + bias + x;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FieldSchema;
    use burn::tensor::Distribution;

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
        let layer = FieldEmbedding::new(&schema, 8, 0.01, &device);
        let plan = InputPlan::new(&schema);
        let batch = |sparse: Vec<u32>, sequences: Vec<u32>| crate::features::CtrBatch {
            len: sparse.len(),
            sparse,
            sequences,
            ..Default::default()
        };
        let out = layer.forward(plan.input(&batch(vec![0, 3], vec![0, 0, 0, 2, 0, 0]), &device));
        assert_eq!(out.fields.dims(), [2, 2, 8]);
        assert_eq!(out.flat.dims(), [2, 12]);
        let flat: Vec<f32> = out.flat.into_data().try_to_vec::<f32>().unwrap();
        assert!(
            flat[..12].iter().all(|&v| v == 0.0),
            "row of padding ids is exactly zero"
        );
        assert!(flat[12..].iter().any(|&v| v != 0.0));
        // Mean pooling ignores padding: [2, 0, 0] embeds like [2].
        let one = layer.forward(plan.input(&batch(vec![3], vec![2, 0, 0]), &device));
        let one: Vec<f32> = one.flat.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&one[..], &flat[12..]);
    }

    /// Pooled vector of one sequence field over `ids` (`[len]`, 0 = padding),
    /// and the embedding rows of the table (`[vocab, dim]`).
    fn pooled(pooling: Pooling, ids: &[u32]) -> (Vec<f32>, Vec<Vec<f32>>) {
        let device = Device::flex();
        device.seed(11);
        let mut g = FieldSchema::sequence("g", ids.len(), pooling, 6);
        g.vocab = 5;
        let schema = DatasetSchema { fields: vec![g] };
        let layer = FieldEmbedding::new(&schema, 6, 0.5, &device);
        let plan = InputPlan::new(&schema);
        let batch = crate::features::CtrBatch {
            len: 1,
            sequences: ids.to_vec(),
            ..Default::default()
        };
        let out = layer.forward(plan.input(&batch, &device));
        let v: Vec<f32> = out.flat.into_data().try_to_vec::<f32>().unwrap();
        let table: Vec<f32> = layer.seq_vectors[0]
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        (v, table.chunks(6).map(<[f32]>::to_vec).collect())
    }

    #[test]
    fn sum_pooling_adds_the_real_ids() {
        let (v, t) = pooled(Pooling::Sum, &[2, 0, 4, 0]);
        for d in 0..6 {
            assert!((v[d] - (t[2][d] + t[4][d])).abs() < 1e-6, "{v:?}");
        }
        let (empty, _) = pooled(Pooling::Sum, &[0, 0, 0, 0]);
        assert!(empty.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn max_pooling_ignores_padding() {
        let (v, t) = pooled(Pooling::Max, &[2, 0, 4, 0]);
        for d in 0..6 {
            assert_eq!(v[d], t[2][d].max(t[4][d]), "dim {d}: {v:?}");
        }
        // Padding zeros must not win the max: with this seed some coordinate
        // of both real vectors is negative.
        assert!(v.iter().any(|&x| x < 0.0), "{v:?}");
        let (empty, _) = pooled(Pooling::Max, &[0, 0, 0, 0]);
        assert!(empty.iter().all(|&x| x == 0.0), "{empty:?}");
    }
}
