//! Data: interactions, id maps, features, loaders and EDA.

mod delimited;
pub mod download;
mod eda;
mod features;
mod idmap;
mod interactions;
mod loader;
pub mod movielens;

pub use delimited::{Encoding, Separator};
pub use eda::Summary;
pub use features::{FeatureColumn, Features, ItemFeatures, UserFeatures};
pub use idmap::IdMap;
pub use interactions::Interactions;
pub(crate) use loader::read_triples;
pub use loader::InteractionsFile;

/// A dataset: interactions plus optional user and item features.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Human-readable name (`MovieLens-100K`).
    pub name: String,
    /// The interaction log.
    pub interactions: Interactions,
    /// User side information, when the dataset has it.
    pub users: Option<UserFeatures>,
    /// Item side information, when the dataset has it.
    pub items: Option<ItemFeatures>,
}

impl Dataset {
    /// MovieLens 100K, see [`movielens::movielens_100k`].
    pub fn movielens_100k() -> crate::Result<Dataset> {
        movielens::movielens_100k()
    }

    /// MovieLens 1M, see [`movielens::movielens_1m`].
    pub fn movielens_1m() -> crate::Result<Dataset> {
        movielens::movielens_1m()
    }

    /// Interactions from a delimited file, without features.
    pub fn from_file(file: InteractionsFile) -> crate::Result<Dataset> {
        Ok(Dataset {
            name: "file".into(),
            interactions: file.load()?,
            users: None,
            items: None,
        })
    }
}
