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

pub(crate) use delimited::Table;
pub use delimited::{Encoding, Separator};
pub use eda::Summary;
pub use features::{FeatureColumn, Features, ItemFeatures, UserFeatures};
pub use frame::{CRITEO_CATEGORICAL_COLUMNS, CRITEO_INTEGER_COLUMNS, CriteoStream, RawFrame};
pub use idmap::IdMap;
pub use interactions::{Duplicates, Interactions};
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

    /// Writes the dataset as tab-separated files with a header, the shape a
    /// practitioner's export has: `interactions.tsv` (`user`, `item`, then
    /// `score` and `timestamp` when present), `users.tsv` and `items.tsv`
    /// (`id`, then every feature column; labels joined by `|`), each
    /// atomically. Returns the paths written.
    pub fn export_tsv(&self, dir: &std::path::Path) -> crate::Result<Vec<std::path::PathBuf>> {
        let x = &self.interactions;
        let mut text = String::from("user\titem");
        if x.ratings().is_some() {
            text.push_str("\tscore");
        }
        if x.timestamps().is_some() {
            text.push_str("\ttimestamp");
        }
        text.push('\n');
        for r in 0..x.len() {
            text.push_str(x.users().raw(x.user_indices()[r]));
            text.push('\t');
            text.push_str(x.items().raw(x.item_indices()[r]));
            if let Some(s) = x.ratings() {
                text.push_str(&format!("\t{}", s[r]));
            }
            if let Some(t) = x.timestamps() {
                text.push_str(&format!("\t{}", t[r]));
            }
            text.push('\n');
        }
        let mut out = vec![dir.join("interactions.tsv")];
        crate::io::write_atomic(&out[0], text.as_bytes())?;
        for (name, f) in [("users.tsv", &self.users), ("items.tsv", &self.items)] {
            let Some(f) = f else { continue };
            let mut text = String::from("id");
            for (c, _) in f.columns() {
                text.push('\t');
                text.push_str(c);
            }
            text.push('\n');
            for r in 0..f.len() {
                text.push_str(f.ids().raw(r as u32));
                for (_, col) in f.columns() {
                    text.push('\t');
                    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
                    match col {
                        FeatureColumn::Categorical(v) | FeatureColumn::Text(v) => {
                            text.push_str(&clean(&v[r]))
                        }
                        FeatureColumn::Numeric(v) if v[r].is_finite() => {
                            text.push_str(&v[r].to_string())
                        }
                        FeatureColumn::Numeric(_) => {}
                        FeatureColumn::MultiLabel(v) => text.push_str(&clean(&v[r].join("|"))),
                    }
                }
                text.push('\n');
            }
            let p = dir.join(name);
            crate::io::write_atomic(&p, text.as_bytes())?;
            out.push(p);
        }
        Ok(out)
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
