//! Deep CTR models on burn (feature `deep`): DeepFM, xDeepFM,
//! AttentionDeepFM, Wide&Deep and DCN over a [`crate::features::DatasetSchema`],
//! trained on MovieLens CTR pairs ([`CtrParams::fit`]) or on the rows of any
//! feature task ([`CtrParams::fit_features`]: Criteo, Avazu, any file) with
//! early stopping on one [`ValidationMetric`], on the CPU (burn-flex) or a
//! GPU (burn-wgpu, feature `gpu`). Evaluation is `eval`'s.
//!
//! ```no_run
//! # use recsys::prelude::*;
//! # fn main() -> recsys::Result<()> {
//! let ml = Dataset::movielens_100k()?;
//! let task = MovieLensCtr::new(&ml, 42)?;
//! let model = DeepFm::params().max_epochs(5).fit(&task)?;
//! println!("{}", model.evaluate(&task.test)?);
//! # Ok(()) }
//! ```

pub(crate) mod device;
mod dlrm;
#[cfg(all(test, feature = "gpu"))]
mod gpu_agreement;
pub mod jagged;
pub mod layers;
pub mod listwise;
mod model;
mod net;
mod stage;
mod train;

pub use device::{Compute, ResolvedDevice};
pub use dlrm::{DlrmNet, Interaction, dlrm_tables};
pub use jagged::{BagTable, EmbeddingBagCollection, JaggedInput, KeyedJagged};
pub use layers::{
    Cin, CrossNet, CtrInput, Dnn, DnnInit, Embedded, FieldAttention, FieldEmbedding, InputPlan,
    fm_interaction, fm_interaction_naive,
};
pub use listwise::{Loss, session_batches};
pub use model::CtrModel;
pub use net::{Arch, CtrNet, NetConfig};
pub use stage::{CtrScorer, PairScorer};
pub use train::{
    CtrEpoch, CtrParams, Improvement, LrSchedule, OptimizerKind, ValidationMetric, bce_with_logits,
};

macro_rules! arch_type {
    ($(#[$doc:meta])* $name:ident => $arch:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $name {
            /// Hyper-parameters with their defaults (see [`CtrParams`]).
            pub fn params() -> CtrParams {
                CtrParams::new($arch)
            }
        }
    };
}

arch_type!(/// DeepFM (Guo et al. 2017): first order + FM + DNN on shared embeddings.
    DeepFm => Arch::DeepFm);
arch_type!(/// xDeepFM (Lian et al. 2018): first order + CIN + DNN.
    XDeepFm => Arch::XDeepFm);
arch_type!(/// DeepFM whose DNN reads the fields after multi-head self-attention
    /// layers (residual + LayerNorm, as in AutoInt).
    AttentionDeepFm => Arch::AttentionDeepFm);
arch_type!(/// Wide & Deep (Cheng et al. 2016): first order over every id + DNN.
    WideDeep => Arch::WideDeep);
arch_type!(/// Deep & Cross Network (Wang et al. 2017): cross network ‖ DNN.
    Dcn => Arch::Dcn);

arch_type!(/// DLRM (Naumov et al. 2019): bottom MLP over the dense fields,
    /// embedding bags over the sparse and multi-hot ones, dot interaction,
    /// top MLP; the peer harness's sizes by default (see [`CtrParams::new`]).
    Dlrm => Arch::Dlrm);

/// [`DeepFm`] as the paper spells it.
pub type DeepFM = DeepFm;
/// [`XDeepFm`] as the paper spells it.
pub type XDeepFM = XDeepFm;
/// [`AttentionDeepFm`] spelled like [`DeepFM`].
pub type AttentionDeepFM = AttentionDeepFm;
