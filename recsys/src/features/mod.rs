//! Features for CTR models: the schema contract (sparse, dense and sequence
//! fields with their own embedding sizes), encoders fitted on training rows
//! only, the generic feature task of any labelled rows (Criteo, Avazu, any
//! delimited file; graded labels with queries for learning to rank; click
//! sessions as next-click ranking queries), and the MovieLens CTR task of
//! the documents.

mod encoders;
mod interaction_rows;
mod movielens_ctr;
mod registry;
mod schema;
mod sessions;
mod task;

pub use encoders::{Bucketizer, LabelEncoder, MinMaxScaler, MultiHotEncoder};
pub use interaction_rows::{
    MULTI_LABEL_SEPARATOR, interaction_frame, movielens_ctr_frames, split_per_user_by_time,
};
pub use movielens_ctr::{AGE_EDGES, CtrBatch, MovieLensCtr, PairEncoder};
pub use registry::{
    DriftReport, FieldCheck, FieldDrift, HashDictionary, ServingCheck, ServingLimits,
};
pub use schema::{DatasetSchema, FieldKind, FieldSchema, Pooling};
pub use sessions::SessionQueries;
pub use task::{
    ColumnRule, ColumnSpec, FEATURE_HASH_SEED, FeatureEncoders, FeatureRows, FeatureSpec,
    FeatureTask, NumericTransform, REGISTRY_FORMAT, Vocabulary, hashed_id,
};
