//! The feature contract of CTR models: which fields exist, of which kind,
//! with which embedding size. Models read the schema; none hard-codes a
//! feature name.

use serde::{Deserialize, Serialize};

use crate::display::{html_table, text_table};

/// How the ids of a sequence field are pooled into one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean over the non-padding ids.
    Mean,
    /// Sum over the ids.
    Sum,
    /// Element-wise max over the non-padding ids.
    Max,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// One categorical id per row (index 0 = padding / out of vocabulary).
    Sparse,
    /// One number per row, scaled to [0, 1] on the training range.
    Dense,
    /// Up to `max_len` categorical ids per row (padded with 0, truncated),
    /// pooled into one vector.
    Sequence { max_len: usize, pooling: Pooling },
}

/// One field: name, kind, embedding size and (after encoders are fitted)
/// vocabulary size including the padding index 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSchema {
    pub name: String,
    pub kind: FieldKind,
    /// Embedding dimension of this field (dense fields: the size of their
    /// projection).
    pub dim: usize,
    /// Ids `0..vocab` (0 = padding/OOV); 1 for dense fields.
    pub vocab: usize,
}

impl FieldSchema {
    /// A categorical field embedded in `dim` dimensions.
    pub fn sparse(name: &str, dim: usize) -> Self {
        Self::new(name, FieldKind::Sparse, dim)
    }
    /// A numeric field (projected to `dim` dimensions by models that need a
    /// field vector).
    pub fn dense(name: &str, dim: usize) -> Self {
        Self::new(name, FieldKind::Dense, dim)
    }
    /// A multi-valued categorical field.
    pub fn sequence(name: &str, max_len: usize, pooling: Pooling, dim: usize) -> Self {
        Self::new(name, FieldKind::Sequence { max_len, pooling }, dim)
    }
    /// The field with its vocabulary size (from the fitted encoder).
    pub fn with_vocab(mut self, vocab: usize) -> Self {
        self.vocab = vocab;
        self
    }
    fn new(name: &str, kind: FieldKind, dim: usize) -> Self {
        FieldSchema {
            name: name.into(),
            kind,
            dim,
            vocab: 1,
        }
    }
}

/// All fields of a CTR dataset, in model input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSchema {
    pub fields: Vec<FieldSchema>,
}

impl DatasetSchema {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// Fields of one kind, in order.
    pub fn of_kind(&self, pick: impl Fn(&FieldKind) -> bool) -> Vec<&FieldSchema> {
        self.fields.iter().filter(|f| pick(&f.kind)).collect()
    }
    /// Number of sparse, dense and sequence fields.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |p: fn(&FieldKind) -> bool| self.fields.iter().filter(|f| p(&f.kind)).count();
        (
            n(|k| matches!(k, FieldKind::Sparse)),
            n(|k| matches!(k, FieldKind::Dense)),
            n(|k| matches!(k, FieldKind::Sequence { .. })),
        )
    }
    /// Sum of the fields' embedding dimensions (the flat input width).
    pub fn total_dim(&self) -> usize {
        self.fields.iter().map(|f| f.dim).sum()
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.fields
            .iter()
            .map(|f| {
                let kind = match f.kind {
                    FieldKind::Sparse => "sparse".to_string(),
                    FieldKind::Dense => "dense".to_string(),
                    FieldKind::Sequence { max_len, pooling } => {
                        format!("sequence (max_len {max_len}, {pooling:?} pooling)").to_lowercase()
                    }
                };
                vec![f.name.clone(), kind, f.dim.to_string(), f.vocab.to_string()]
            })
            .collect()
    }

    fn headers() -> Vec<String> {
        ["field", "kind", "dim", "vocabulary (incl. 0)"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// An HTML table of the fields.
    pub fn to_html(&self) -> String {
        html_table(Some("feature schema"), &Self::headers(), &self.rows())
    }

    /// Shows the schema in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for DatasetSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text_table(&Self::headers(), &self.rows()))
    }
}
