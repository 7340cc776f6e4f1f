//! The CTR networks: one burn module whose parts are switched on by the
//! architecture, all sharing one [`FieldEmbedding`].

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::dlrm::{DlrmNet, Interaction};
use super::layers::{
    Cin, CrossNet, CtrInput, Dnn, DnnInit, FieldAttention, FieldEmbedding, InputPlan,
    fm_interaction,
};
use crate::features::DatasetSchema;

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Arch {
    /// First order + FM + DNN on shared embeddings (Guo et al. 2017).
    #[serde(rename = "deepfm")]
    DeepFm,
    /// First order + CIN + DNN (Lian et al. 2018).
    #[serde(rename = "xdeepfm")]
    XDeepFm,
    /// First order + FM + a DNN over the fields after multi-head
    /// self-attention layers (AutoInt-style attention in DeepFM).
    #[serde(rename = "attention_deepfm")]
    AttentionDeepFm,
    /// Wide (first order over every id) + deep (DNN); no crossed features.
    WideDeep,
    /// First order + cross network ‖ DNN → linear (Wang et al. 2017).
    Dcn,
    /// Bottom MLP over the dense fields, embedding bags over the sparse
    /// and multi-hot ones, pairwise dot interaction, top MLP (Naumov et
    /// al. 2019); `hidden` is the top MLP.
    Dlrm,
}

impl Arch {
    /// Every architecture, in the notebook's order.
    pub const ALL: [Arch; 6] = [
        Arch::DeepFm,
        Arch::XDeepFm,
        Arch::AttentionDeepFm,
        Arch::WideDeep,
        Arch::Dcn,
        Arch::Dlrm,
    ];

    /// Display name (`DeepFM`, `xDeepFM`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Arch::DeepFm => "DeepFM",
            Arch::XDeepFm => "xDeepFM",
            Arch::AttentionDeepFm => "AttentionDeepFM",
            Arch::WideDeep => "Wide&Deep",
            Arch::Dcn => "DCN",
            Arch::Dlrm => "DLRM",
        }
    }

    /// Parses `deepfm`, `xdeepfm`, `attention_deepfm`, `wide_deep`, `dcn`.
    pub fn from_name(name: &str) -> Option<Arch> {
        let n: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match n.as_str() {
            "deepfm" => Arch::DeepFm,
            "xdeepfm" => Arch::XDeepFm,
            "attentiondeepfm" | "autoint" => Arch::AttentionDeepFm,
            "widedeep" | "wd" => Arch::WideDeep,
            "dcn" => Arch::Dcn,
            "dlrm" => Arch::Dlrm,
            _ => return None,
        })
    }
}

/// Sizes of a network. Defaults: the reference DeepFM of the peer harness
/// (hidden 128-64, no BatchNorm, no dropout), CIN 32-32 split-half, 2
/// attention layers of 2 heads, 3 cross layers. (DeepCTR's CIN default,
/// 128-128, costs about 40× the DNN on 7 fields of 16 dims: ~90 s per
/// MovieLens epoch on 2 cores, against ~3 s for 32-32.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetConfig {
    pub arch: Arch,
    /// Common field dimension for FM, CIN and attention; fields of another
    /// `dim` are projected to it.
    pub fm_dim: usize,
    /// Hidden sizes of the DNN.
    pub hidden: Vec<usize>,
    /// Initialisation of the DNN's Linear layers.
    pub dnn_init: DnnInit,
    /// BatchNorm after each hidden Linear.
    pub batch_norm: bool,
    /// Dropout after each hidden ReLU (probability).
    pub dropout: f64,
    /// Feature maps per CIN layer.
    pub cin_layers: Vec<usize>,
    pub cin_split_half: bool,
    pub attention_layers: usize,
    pub attention_heads: usize,
    pub cross_layers: usize,
    /// Standard deviation of the embedding initialisation.
    pub init_std: f64,
    /// DLRM: hidden sizes of the bottom MLP over the dense fields (a last
    /// layer to `fm_dim` follows).
    pub bottom: Vec<usize>,
    /// DLRM: how the bottom output and the bags interact.
    pub interaction: Interaction,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            arch: Arch::DeepFm,
            fm_dim: 16,
            hidden: vec![128, 64],
            dnn_init: DnnInit::He,
            batch_norm: false,
            dropout: 0.0,
            cin_layers: vec![32, 32],
            cin_split_half: true,
            attention_layers: 2,
            attention_heads: 2,
            cross_layers: 3,
            init_std: 0.01,
            bottom: vec![64, 64, 64],
            interaction: Interaction::Dot,
        }
    }
}

/// A CTR network: logit `[B, 1]` of a batch of fields.
#[derive(Module, Debug)]
pub struct CtrNet {
    embedding: FieldEmbedding,
    bias: Param<Tensor<1>>,
    fm: bool,
    attention: Vec<FieldAttention>,
    dnn: Option<Dnn>,
    cin: Option<Cin>,
    cross: Option<CrossNet>,
    /// The output layer of the deep part(s): DNN → 1, CIN → 1, or
    /// `[cross ‖ DNN]` → 1 for DCN.
    heads: Vec<Linear>,
    /// DLRM's bottom MLP, embedding bags, interaction and top MLP (the
    /// field embedding is then empty).
    dlrm: Option<DlrmNet>,
}

impl CtrNet {
    /// A freshly initialised network for `schema` on `device` (seed the
    /// device first for reproducible weights).
    pub fn new(schema: &DatasetSchema, cfg: &NetConfig, device: &Device) -> Self {
        if cfg.arch == Arch::Dlrm {
            return CtrNet {
                embedding: FieldEmbedding::new(
                    &DatasetSchema { fields: Vec::new() },
                    cfg.fm_dim,
                    cfg.init_std,
                    device,
                ),
                bias: Param::from_tensor(Tensor::zeros([1], device)),
                fm: false,
                attention: Vec::new(),
                dnn: None,
                cin: None,
                cross: None,
                heads: Vec::new(),
                dlrm: Some(DlrmNet::new(
                    schema,
                    cfg.fm_dim,
                    &cfg.bottom,
                    &cfg.hidden,
                    cfg.interaction,
                    cfg.dnn_init,
                    cfg.init_std,
                    device,
                )),
            };
        }
        let embedding = FieldEmbedding::new(schema, cfg.fm_dim, cfg.init_std, device);
        let f = embedding.n_fields();
        let d = cfg.fm_dim;
        let flat = match cfg.arch {
            // The DNN of AttentionDeepFM reads the attended fields.
            Arch::AttentionDeepFm => f * d,
            _ => schema.total_dim(),
        };
        let dnn = Dnn::new(
            flat,
            &cfg.hidden,
            cfg.batch_norm,
            cfg.dropout,
            cfg.dnn_init,
            device,
        );
        let dnn_width = cfg.hidden.last().copied().unwrap_or(flat);
        let head = |i: usize| LinearConfig::new(i, 1).init(device);
        let (mut cin, mut cross, mut heads) = (None, None, Vec::new());
        match cfg.arch {
            Arch::XDeepFm => {
                let c = Cin::new(f, &cfg.cin_layers, cfg.cin_split_half, device);
                heads.push(head(c.output_dim()));
                cin = Some(c);
                heads.push(head(dnn_width));
            }
            Arch::Dcn => {
                cross = Some(CrossNet::new(flat, cfg.cross_layers, device));
                heads.push(head(flat + dnn_width));
            }
            _ => heads.push(head(dnn_width)),
        }
        let attention = if cfg.arch == Arch::AttentionDeepFm {
            (0..cfg.attention_layers)
                .map(|_| FieldAttention::new(d, cfg.attention_heads, cfg.dropout, device))
                .collect()
        } else {
            Vec::new()
        };
        CtrNet {
            embedding,
            bias: Param::from_tensor(Tensor::zeros([1], device)),
            fm: matches!(cfg.arch, Arch::DeepFm | Arch::AttentionDeepFm),
            attention,
            dnn: Some(dnn),
            cin,
            cross,
            heads,
            dlrm: None,
        }
    }

    /// Logits `[B, 1]`.
    pub fn forward(&self, input: CtrInput) -> Tensor<2> {
        if let Some(dlrm) = &self.dlrm {
            let bags = input
                .jagged
                .as_ref()
                .expect("a DLRM's input plan lays out its bags");
            return dlrm.forward(input.dense, bags) + self.bias.val().unsqueeze::<2>();
        }
        let e = self.embedding.forward(input);
        let [b, _] = e.first_order.dims();
        let mut logit = e.first_order + self.bias.val().unsqueeze::<2>();
        // AttentionDeepFM: the DNN reads the fields after self-attention;
        // FM stays on the raw field vectors (LayerNorm'd vectors have unit
        // scale, which would blow up the pairwise sum).
        let (fields, flat) = if self.attention.is_empty() {
            (e.fields, e.flat)
        } else {
            let mut x = e.fields.clone();
            for layer in &self.attention {
                x = layer.forward(x);
            }
            let [_, f, d] = x.dims();
            (e.fields, x.reshape([b, f * d]))
        };
        if self.fm {
            logit = logit + fm_interaction(fields.clone());
        }
        let deep = self.dnn.as_ref().map(|d| d.forward(flat.clone()));
        match (&self.cin, &self.cross, deep) {
            (Some(cin), _, Some(deep)) => {
                logit = logit
                    + self.heads[0].forward(cin.forward(fields))
                    + self.heads[1].forward(deep);
            }
            (_, Some(cross), Some(deep)) => {
                let both = Tensor::cat(vec![cross.forward(flat), deep], 1);
                logit = logit + self.heads[0].forward(both);
            }
            (_, _, Some(deep)) => logit = logit + self.heads[0].forward(deep),
            _ => {}
        }
        logit
    }

    /// How a batch of `schema`'s rows reaches this network.
    pub fn input_plan(&self, schema: &DatasetSchema) -> InputPlan {
        match &self.dlrm {
            Some(d) => InputPlan::bags(schema, d.dim()),
            None => InputPlan::new(schema),
        }
    }

    /// Σ of squared embedding weights (the L2 penalty's base).
    pub fn embedding_l2(&self) -> Option<Tensor<1>> {
        if let Some(d) = &self.dlrm {
            return d.embedding_l2();
        }
        self.embedding.l2()
    }
}
