//! Side information: user and item feature tables.

use std::sync::Arc;

use super::IdMap;

/// One feature column; row `r` belongs to id `r` of the table's [`IdMap`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FeatureColumn {
    /// A categorical value (gender, occupation, zip code).
    Categorical(Vec<String>),
    /// A number (age); `NaN` when missing.
    Numeric(Vec<f32>),
    /// A set of labels (genres).
    MultiLabel(Vec<Vec<String>>),
    /// Free text (titles).
    Text(Vec<String>),
}

impl FeatureColumn {
    fn len(&self) -> usize {
        match self {
            FeatureColumn::Categorical(v) | FeatureColumn::Text(v) => v.len(),
            FeatureColumn::Numeric(v) => v.len(),
            FeatureColumn::MultiLabel(v) => v.len(),
        }
    }
}

/// A feature table keyed by raw id: users' demographics, items' genres and
/// titles. Columns keep their insertion order.
#[derive(Debug, Clone)]
pub struct Features {
    ids: Arc<IdMap>,
    columns: Vec<(String, FeatureColumn)>,
}

impl std::fmt::Display for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Features: {} rows; columns {:?}",
            self.len(),
            self.names()
        )
    }
}

/// Features of users.
pub type UserFeatures = Features;
/// Features of items.
pub type ItemFeatures = Features;

impl Features {
    /// An empty table over `ids`.
    pub fn new(ids: IdMap) -> Self {
        Features {
            ids: Arc::new(ids),
            columns: Vec::new(),
        }
    }

    /// Adds a column; its length must equal the number of ids.
    pub fn with_column(mut self, name: &str, column: FeatureColumn) -> Self {
        assert_eq!(
            column.len(),
            self.ids.len(),
            "feature column {name} has the wrong length"
        );
        self.columns.push((name.to_string(), column));
        self
    }

    /// The ids (row order).
    pub fn ids(&self) -> &IdMap {
        &self.ids
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&FeatureColumn> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// All columns.
    pub fn columns(&self) -> &[(String, FeatureColumn)] {
        &self.columns
    }

    /// The text of column `name` for raw id `id` (categorical or text columns).
    pub fn text(&self, name: &str, id: &str) -> Option<&str> {
        let row = self.ids.get(id)? as usize;
        match self.column(name)? {
            FeatureColumn::Categorical(v) | FeatureColumn::Text(v) => Some(v[row].as_str()),
            _ => None,
        }
    }
}
