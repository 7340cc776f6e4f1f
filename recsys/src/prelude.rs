//! Everything a notebook needs: `use recsys::prelude::*;`.

pub use crate::data::movielens::{movielens_1m_movies, movielens_1m_users};
pub use crate::data::{
    CriteoStream, Dataset, Duplicates, Encoding, FeatureColumn, Features, FeaturesFile, IdMap,
    Interactions, InteractionsFile, ItemFeatures, RawFrame, Separator, Summary, UserFeatures,
};
pub use crate::eval::Protocol;
pub use crate::features::{
    ColumnRule, ColumnSpec, DatasetSchema, FeatureEncoders, FeatureRows, FeatureSpec, FeatureTask,
    FieldKind, FieldSchema, MovieLensCtr, NumericTransform, Pooling, ServingLimits, SessionQueries,
};
pub use crate::models::cf::{ContentProfiles, Feedback, Similarity, TimeDecay, Weighting};
pub use crate::models::ctr::{
    CtrCurve, CtrOptimizer, Gbdt, GbdtHead, GbdtModel, GbdtTuned, PartitionedLr,
    PartitionedLrModel, Partitioner, ShallowCtr, ShallowCtrModel, ShallowKind, StopOn, Tuned,
};
#[cfg(feature = "deep")]
pub use crate::models::deep::{
    Arch, AttentionDeepFM, AttentionDeepFm, Compute, CtrModel, CtrParams, CtrScorer, Dcn, DeepFM,
    DeepFm, Dlrm, DnnInit, Improvement, Interaction, Loss, LrSchedule, OptimizerKind, PairScorer,
    ValidationMetric, WideDeep, XDeepFM, XDeepFm,
};
pub use crate::models::mf::{
    Als, AlsSolver, Bpr, Ease, EaseModel, FactorModel, NegativeSampling, Svd, SvdModel,
};
pub use crate::models::retrieval::{AnnIndex, AnnParams, AnnRecall};
#[cfg(feature = "deep")]
pub use crate::models::tower::{TowerLoss, TwoTower, TwoTowerModel};
pub use crate::models::training::{EpochLog, LearningCurve};
pub use crate::models::{
    Fit, FitInput, ItemCF, ItemCFModel, Popularity, PopularityModel, Random, RandomModel, Scorer,
    UserCF, UserCFModel, model_from_name,
};
pub use crate::template::{Template, TemplateConfig, write_recommendations};
// `FitRows` is not here: `CtrParams` implements it and `Fit` with the same
// method names (use `recsys::models::FitRows` to implement a row model).
pub use crate::display::FrameHtml;
pub use crate::models::{BaseRate, BaseRateModel, RowScorer, row_model_from_name};
pub use crate::notebook::{Environment, Profile};
pub use crate::peers::{PeerRun, Peers};
#[cfg(feature = "deep")]
pub use crate::pipeline::TrainedCtr;
pub use crate::pipeline::{DataSource, EvalOn, Pipeline};
pub use crate::plot::{Chart, Scale};
pub use crate::report::{Comparison, Leaderboard, Report};
pub use crate::split::{Candidates, Group, NegativeSampler, Order, Split, SplitData};
pub use crate::stages::{DiversityKernel, KeepOrder, Mmr, Rerank, Reranker};
pub use crate::tune::{best_by, grid};
pub use crate::{Error, Result};
