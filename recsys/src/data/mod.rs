//! Data: interactions, id maps, features, loaders and EDA.

mod delimited;
pub mod download;
mod eda;
mod features;
mod frame;
mod idmap;
mod interactions;
mod loader;
pub mod movielens;
pub mod synthetic;

pub use delimited::{Encoding, Separator};
pub use eda::Summary;
pub use features::{FeatureColumn, Features, ItemFeatures, UserFeatures};
pub use frame::{CRITEO_CATEGORICAL_COLUMNS, CRITEO_INTEGER_COLUMNS, CriteoStream, RawFrame};
pub use idmap::IdMap;
pub use interactions::Interactions;
pub(crate) use loader::read_triples;
pub use loader::{FeaturesFile, InteractionsFile};

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

impl std::fmt::Display for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: {}", self.name, self.interactions)?;
        if let Some(u) = &self.users {
            writeln!(f, "users: {u}")?;
        }
        if let Some(i) = &self.items {
            write!(f, "items: {i}")?;
        }
        Ok(())
    }
}

impl Dataset {
    /// Jupyter display: the interaction summary.
    pub fn evcxr_display(&self) {
        self.interactions.evcxr_display();
    }

    /// MovieLens 100K, see [`movielens::movielens_100k`].
    pub fn movielens_100k() -> crate::Result<Dataset> {
        movielens::movielens_100k()
    }

    /// MovieLens 1M, see [`movielens::movielens_1m`].
    pub fn movielens_1m() -> crate::Result<Dataset> {
        movielens::movielens_1m()
    }

    /// Interactions from a delimited file with optional user and item
    /// feature files. Every item of the item file joins the item universe.
    pub fn from_files(
        interactions: InteractionsFile,
        users: Option<FeaturesFile>,
        items: Option<FeaturesFile>,
    ) -> crate::Result<Dataset> {
        let users = users.map(|f| f.load()).transpose()?;
        let items = items.map(|f| f.load()).transpose()?;
        let file = match &items {
            Some(i) => interactions.with_items(i),
            None => interactions,
        };
        Ok(Dataset {
            name: "file".into(),
            interactions: file.load()?,
            users,
            items,
        })
    }
}
