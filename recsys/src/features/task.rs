//! The generic feature task: labelled rows of any data ([`RawFrame`]: the
//! Criteo and Avazu formats, or any delimited file with a header) turned
//! into model rows by encoders fitted on the training rows only, and
//! described by a [`DatasetSchema`].
//!
//! A [`FeatureSpec`] says how every column becomes a field (categorical
//! vocabulary with a frequency cut, the Criteo winners' log² bucketing,
//! numbers scaled to [0, 1] with an optional log transform, multi-hot
//! token lists); [`FeatureEncoders`] are the fitted result, saved with a
//! model and never refitted at load time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::movielens_ctr::CtrBatch;
use super::schema::{DatasetSchema, FieldKind, FieldSchema, Pooling};
use crate::data::RawFrame;
use crate::{Error, Result};

/// How one raw column becomes a model field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ColumnRule {
    /// The hashing trick: token → `1 + xxh3(token) mod buckets` under a
    /// fixed seed (the same token gets the same id on every machine and
    /// every version; nothing is fitted and nothing is out of vocabulary),
    /// 0 for a missing (empty) cell.
    Hashed { buckets: usize },
    /// Text token → id. Tokens seen at least `min_count` times in the
    /// training rows get ids `1..=V` by (count descending, token
    /// ascending), as FuxiCTR's tokenizer orders them; id 0 is everything
    /// else: rare, unseen, or missing (an empty cell).
    Categorical { min_count: usize },
    /// An integer bucketed as FuxiCTR's `convert_to_bucket` (the Criteo
    /// winners' rule): missing → 0, `x > 2` → `⌊ln(x)²⌋`, else `x`; the
    /// bucket is then a categorical token with `min_count`.
    LogBucket { min_count: usize },
    /// A number as a dense field: `transform`, then min–max scaled with
    /// the training rows' range and clipped to [0, 1]; missing → 0.
    Numeric { transform: NumericTransform },
    /// Tokens joined by `separator` → up to `max_len` ids (vocabulary as
    /// [`ColumnRule::Categorical`]), pooled by `pooling`.
    MultiHot {
        separator: String,
        max_len: usize,
        pooling: Pooling,
        min_count: usize,
    },
}

/// A transform of a numeric column before scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NumericTransform {
    /// The value itself.
    None,
    /// `ln(1 + max(x, 0))`, as the DLRM reference preprocesses Criteo.
    Log1p,
}

/// One column of a [`FeatureSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub name: String,
    pub rule: ColumnRule,
    /// Embedding dimension of the field. Defaults to the spec's `dim`.
    #[serde(default)]
    pub dim: Option<usize>,
}

/// Which columns are the label, the group (for GAUC) and the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// The label column: 0 or 1, or a graded relevance (see `graded`).
    pub label: String,
    /// Rows with the same value form a group (user, query) for GAUC and
    /// for listwise ranking.
    #[serde(default)]
    pub group: Option<String>,
    /// The label is a graded relevance (any finite number, e.g. a rating
    /// 1..5) and a row counts as positive when its grade is at least this
    /// (the 0/1 label of BCE, AUC and LogLoss); the grades themselves are
    /// kept for listwise training and NDCG. Needs a `group` (the queries).
    /// Defaults to none: 0/1 labels.
    #[serde(default)]
    pub graded: Option<f32>,
    pub columns: Vec<ColumnSpec>,
    /// Embedding dimension of every field without its own. Defaults to 16.
    #[serde(default = "default_dim")]
    pub dim: usize,
}

fn default_dim() -> usize {
    16
}

impl FeatureSpec {
    /// The peer harness's (FuxiCTR / BARS `Criteo_x4`) Criteo processing:
    /// I1..I13 log² bucketed, C1..C26 as tokens, both with `min_count` 2,
    /// every field embedded in 16 dimensions.
    pub fn criteo() -> FeatureSpec {
        let mut columns: Vec<ColumnSpec> = (1..=crate::data::CRITEO_INTEGER_COLUMNS)
            .map(|i| ColumnSpec::new(&format!("I{i}"), ColumnRule::LogBucket { min_count: 2 }))
            .collect();
        columns.extend(
            (1..=crate::data::CRITEO_CATEGORICAL_COLUMNS).map(|i| {
                ColumnSpec::new(&format!("C{i}"), ColumnRule::Categorical { min_count: 2 })
            }),
        );
        FeatureSpec {
            label: "label".into(),
            group: None,
            graded: None,
            columns,
            dim: 16,
        }
    }

    /// Criteo as the DLRM reference sees it: I1..I13 dense (`ln(1 + x)`,
    /// min–max), C1..C26 tokens with `min_count` 2.
    pub fn criteo_dense() -> FeatureSpec {
        let mut spec = FeatureSpec::criteo();
        for c in spec.columns.iter_mut().filter(|c| c.name.starts_with('I')) {
            c.rule = ColumnRule::Numeric {
                transform: NumericTransform::Log1p,
            };
        }
        spec
    }

    /// The documents' toy CTR columns (see [`FeatureTask::toy_ctr`]).
    pub fn toy_ctr() -> FeatureSpec {
        let cat = |n: &str| ColumnSpec::new(n, ColumnRule::Categorical { min_count: 2 });
        let num = |n: &str, transform| ColumnSpec::new(n, ColumnRule::Numeric { transform });
        FeatureSpec {
            label: "click".into(),
            group: Some("user_id".into()),
            graded: None,
            columns: vec![
                cat("user_id"),
                cat("ad_id"),
                cat("device"),
                cat("country"),
                num("age", NumericTransform::None),
                num("price", NumericTransform::Log1p),
            ],
            dim: 16,
        }
    }

    /// The peer harness's (BARS `Avazu_x4`) Avazu processing: every column
    /// of [`RawFrame::read_avazu`] but the label as a token, `min_count` 2.
    pub fn avazu(frame: &RawFrame) -> FeatureSpec {
        FeatureSpec {
            label: "label".into(),
            group: None,
            graded: None,
            columns: frame
                .columns
                .iter()
                .filter(|c| *c != "label")
                .map(|c| ColumnSpec::new(c, ColumnRule::Categorical { min_count: 2 }))
                .collect(),
            dim: 16,
        }
    }

    fn check(&self) -> Result<()> {
        if self.columns.is_empty() {
            return Err(Error::Config("feature spec: no columns".into()));
        }
        if self.dim == 0 || self.columns.iter().any(|c| c.dim == Some(0)) {
            return Err(Error::Config("feature spec: dims must be positive".into()));
        }
        if let Some(t) = self.graded {
            if !t.is_finite() {
                return Err(Error::param("graded", format!("must be finite, got {t}")));
            }
            if self.group.is_none() {
                return Err(Error::param(
                    "graded",
                    "graded labels are ranked within queries: name the query column as group",
                ));
            }
        }
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|d| d.name == c.name) || c.name == self.label {
                return Err(Error::param(
                    &c.name,
                    "named twice in the feature spec (or it is the label)",
                ));
            }
            if let ColumnRule::Hashed { buckets } = c.rule {
                if buckets == 0 || buckets >= u32::MAX as usize {
                    return Err(Error::param(&c.name, "hashed: buckets must be in 1..2³²−1"));
                }
            }
            if let ColumnRule::MultiHot {
                separator, max_len, ..
            } = &c.rule
            {
                if separator.is_empty() || *max_len == 0 {
                    return Err(Error::param(
                        &c.name,
                        "multi-hot needs a separator and max_len ≥ 1",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl ColumnSpec {
    /// A column with the spec's default dimension.
    pub fn new(name: &str, rule: ColumnRule) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            rule,
            dim: None,
        }
    }
}

/// Tokens with ids `1..=len` (index + 1); 0 = out of vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct Vocabulary {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

impl From<Vec<String>> for Vocabulary {
    fn from(tokens: Vec<String>) -> Self {
        let ids = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32 + 1))
            .collect();
        Vocabulary { tokens, ids }
    }
}

impl From<Vocabulary> for Vec<String> {
    fn from(v: Vocabulary) -> Self {
        v.tokens
    }
}

impl Vocabulary {
    /// Counts `tokens` into `counts` (empty ones are missing and never
    /// counted).
    fn count<'a>(counts: &mut HashMap<String, usize>, tokens: impl Iterator<Item = &'a str>) {
        for t in tokens.filter(|t| !t.is_empty()) {
            match counts.get_mut(t) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(t.to_string(), 1);
                }
            }
        }
    }

    #[cfg(test)]
    fn fit<'a>(tokens: impl Iterator<Item = &'a str>, min_count: usize) -> Vocabulary {
        let mut counts = HashMap::new();
        Vocabulary::count(&mut counts, tokens);
        Vocabulary::from_counts(counts, min_count)
    }

    /// The tokens counted at least `min_count` times, the most frequent
    /// first (ties by token).
    fn from_counts(counts: HashMap<String, usize>, min_count: usize) -> Vocabulary {
        let mut kept: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count.max(1))
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Vocabulary::from(kept.into_iter().map(|(t, _)| t).collect::<Vec<_>>())
    }

    /// The id of `token` (0 when unknown or empty).
    pub fn id(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(0)
    }

    /// Ids including the out-of-vocabulary 0.
    pub fn size(&self) -> usize {
        self.tokens.len() + 1
    }
}

/// A fitted column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Fitted {
    Hashed { buckets: usize },
    Tokens { vocab: Vocabulary },
    Buckets { vocab: Vocabulary },
    Scale { min: f64, max: f64 },
    MultiHot { vocab: Vocabulary },
}

/// The seed of the hashing trick's xxh3 (fixed: ids are stable across
/// machines and versions).
pub const FEATURE_HASH_SEED: u64 = 0x7265_6373_7973_0002;

/// The hashed id of a token: 0 when empty, else `1 + xxh3 mod buckets`.
pub fn hashed_id(token: &str, buckets: usize) -> u32 {
    if token.is_empty() || buckets == 0 {
        return 0;
    }
    1 + (xxhash_rust::xxh3::xxh3_64_with_seed(token.as_bytes(), FEATURE_HASH_SEED) % buckets as u64)
        as u32
}

/// The FuxiCTR / Criteo-winners bucket of an integer cell.
pub(super) fn log_bucket(frame: &RawFrame, r: usize, field: &str, cell: &str) -> Result<String> {
    if cell.is_empty() {
        return Ok("0".into());
    }
    let x: f64 = cell
        .parse()
        .map_err(|_| frame.error(r, field, format!("{cell:?} is not a number")))?;
    Ok(if x > 2.0 {
        (x.ln().powi(2)).floor() as i64
    } else {
        x as i64
    }
    .to_string())
}

pub(super) fn number(
    frame: &RawFrame,
    r: usize,
    field: &str,
    cell: &str,
    t: NumericTransform,
) -> Result<f64> {
    if cell.is_empty() {
        return Ok(0.0);
    }
    let x: f64 = cell
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite())
        .ok_or_else(|| frame.error(r, field, format!("{cell:?} is not a finite number")))?;
    Ok(match t {
        NumericTransform::None => x,
        NumericTransform::Log1p => x.max(0.0).ln_1p(),
    })
}

/// The encoders of a [`FeatureSpec`] fitted on training rows, and the
/// schema of the fields they produce.
///
/// Saved (inside every model file) as one versioned artefact: the registry
/// format, the hash settings, the spec, the schema and the fitted encoders.
/// A file of a newer format, or hashed with other settings, is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EncodersData", into = "EncodersData")]
pub struct FeatureEncoders {
    pub spec: FeatureSpec,
    pub schema: DatasetSchema,
    pub(super) fitted: Vec<Fitted>,
}

/// [`FeatureEncoders`] as read from a file, before its parts are checked
/// against each other (a saved `encoders.json` may have been edited or
/// damaged).
#[derive(Serialize, Deserialize)]
struct EncodersData {
    /// The registry format (absent in files written before it was
    /// recorded: format 1).
    #[serde(default = "first_format")]
    format: u32,
    /// How hashed columns were hashed (absent before it was recorded: the
    /// only settings there have been).
    #[serde(default)]
    hash: Option<HashSettings>,
    spec: FeatureSpec,
    schema: DatasetSchema,
    fitted: Vec<Fitted>,
}

/// The registry format this version writes and reads.
pub const REGISTRY_FORMAT: u32 = 1;

fn first_format() -> u32 {
    1
}

/// The hash function of [`ColumnRule::Hashed`] columns, as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct HashSettings {
    algorithm: String,
    seed: u64,
}

impl HashSettings {
    fn ours() -> HashSettings {
        HashSettings {
            algorithm: "xxh3_64".into(),
            seed: FEATURE_HASH_SEED,
        }
    }
}

impl From<FeatureEncoders> for EncodersData {
    fn from(e: FeatureEncoders) -> Self {
        EncodersData {
            format: REGISTRY_FORMAT,
            hash: Some(HashSettings::ours()),
            spec: e.spec,
            schema: e.schema,
            fitted: e.fitted,
        }
    }
}

impl TryFrom<EncodersData> for FeatureEncoders {
    type Error = String;

    /// Every column's rule, fitted encoder and field must agree.
    fn try_from(d: EncodersData) -> std::result::Result<Self, String> {
        if d.format > REGISTRY_FORMAT {
            return Err(format!(
                "feature registry format {} (written by a newer recsys; this one reads format {REGISTRY_FORMAT})",
                d.format
            ));
        }
        if let Some(h) = d.hash.as_ref().filter(|h| **h != HashSettings::ours()) {
            return Err(format!(
                "hashed columns were hashed with {} seed {:#x}, this recsys hashes with xxh3_64 seed {FEATURE_HASH_SEED:#x}: the ids would not be the training ids",
                h.algorithm, h.seed
            ));
        }
        d.spec.check().map_err(|e| e.to_string())?;
        if d.fitted.len() != d.spec.columns.len() || d.schema.fields.len() != d.spec.columns.len() {
            return Err(format!(
                "{} columns, {} fitted encoders, {} fields",
                d.spec.columns.len(),
                d.fitted.len(),
                d.schema.fields.len()
            ));
        }
        for ((c, f), field) in d.spec.columns.iter().zip(&d.fitted).zip(&d.schema.fields) {
            let ok = field.name == c.name
                && match (&c.rule, f, &field.kind) {
                    (
                        ColumnRule::Categorical { .. },
                        Fitted::Tokens { vocab },
                        FieldKind::Sparse,
                    )
                    | (
                        ColumnRule::LogBucket { .. },
                        Fitted::Buckets { vocab },
                        FieldKind::Sparse,
                    ) => field.vocab == vocab.size(),
                    (
                        ColumnRule::Hashed { buckets },
                        Fitted::Hashed { buckets: b },
                        FieldKind::Sparse,
                    ) => buckets == b && *b > 0 && *b < u32::MAX as usize && field.vocab == b + 1,
                    (ColumnRule::Numeric { .. }, Fitted::Scale { min, max }, FieldKind::Dense) => {
                        min <= max || (min.is_infinite() && max.is_infinite())
                    }
                    (
                        ColumnRule::MultiHot { max_len, .. },
                        Fitted::MultiHot { vocab },
                        FieldKind::Sequence { max_len: m, .. },
                    ) => max_len == m && field.vocab == vocab.size(),
                    _ => false,
                };
            if !ok {
                return Err(format!(
                    "column {:?}: its rule, fitted encoder and field do not agree",
                    c.name
                ));
            }
        }
        Ok(FeatureEncoders {
            spec: d.spec,
            schema: d.schema,
            fitted: d.fitted,
        })
    }
}

impl FeatureEncoders {
    /// Fits every column's encoder on `train`.
    pub fn fit(spec: FeatureSpec, train: &RawFrame) -> Result<FeatureEncoders> {
        spec.check()?;
        let mut acc = Accumulators::new(&spec);
        acc.add(&spec, train)?;
        acc.finish(spec)
    }

    /// Fits every column's encoder in one pass over a file read chunk by
    /// chunk (memory bounded by one chunk and the distinct values): the
    /// same encoders [`FeatureEncoders::fit`] gives on the whole file.
    pub fn fit_streamed(
        spec: FeatureSpec,
        train: &crate::data::CriteoStream,
    ) -> Result<FeatureEncoders> {
        spec.check()?;
        let mut acc = Accumulators::new(&spec);
        train.for_each_chunk(&mut |chunk| acc.add(&spec, &chunk))?;
        acc.finish(spec)
    }

    /// Encodes `frame` (which must have the label and every field's
    /// column) into model rows.
    pub fn encode(&self, frame: &RawFrame) -> Result<FeatureRows> {
        let n = frame.len();
        let (n_sparse, n_dense, _) = self.schema.counts();
        let seq_width: usize = self
            .schema
            .fields
            .iter()
            .map(|f| match f.kind {
                FieldKind::Sequence { max_len, .. } => max_len,
                _ => 0,
            })
            .sum();
        let mut rows = CtrBatch {
            sparse: vec![0; n * n_sparse],
            sequences: vec![0; n * seq_width],
            dense: vec![0.0; n * n_dense],
            labels: Vec::with_capacity(n),
            len: n,
        };
        let mut grades = self.spec.graded.map(|_| Vec::with_capacity(n));
        for (r, v) in frame.column(&self.spec.label)?.iter().enumerate() {
            rows.labels
                .push(match (&**v, self.spec.graded, grades.as_mut()) {
                    (text, Some(positive_at), Some(grades)) => {
                        let g: f32 = text
                            .trim()
                            .parse()
                            .ok()
                            .filter(|g: &f32| g.is_finite())
                            .ok_or_else(|| {
                                frame.error(
                                    r,
                                    &self.spec.label,
                                    format!("{text:?} is not a grade (a finite number)"),
                                )
                            })?;
                        grades.push(g);
                        if g >= positive_at { 1.0 } else { 0.0 }
                    }
                    ("0", ..) => 0.0,
                    ("1", ..) => 1.0,
                    (other, ..) => {
                        return Err(frame.error(
                            r,
                            &self.spec.label,
                            format!("{other:?} is not a label (0 or 1)"),
                        ));
                    }
                });
        }
        let (mut s_col, mut d_col, mut q_col) = (0, 0, 0);
        for ((c, f), field) in self
            .spec
            .columns
            .iter()
            .zip(&self.fitted)
            .zip(&self.schema.fields)
        {
            let cells = frame.column(&c.name)?;
            match (f, &c.rule) {
                (Fitted::Hashed { buckets }, _) => {
                    for (r, s) in cells.iter().enumerate() {
                        rows.sparse[r * n_sparse + s_col] = hashed_id(s, *buckets);
                    }
                    s_col += 1;
                }
                (Fitted::Tokens { vocab }, _) => {
                    for (r, s) in cells.iter().enumerate() {
                        rows.sparse[r * n_sparse + s_col] = vocab.id(s);
                    }
                    s_col += 1;
                }
                (Fitted::Buckets { vocab }, _) => {
                    for (r, s) in cells.iter().enumerate() {
                        rows.sparse[r * n_sparse + s_col] =
                            vocab.id(&log_bucket(frame, r, &c.name, s)?);
                    }
                    s_col += 1;
                }
                (Fitted::Scale { min, max }, ColumnRule::Numeric { transform }) => {
                    let span = max - min;
                    for (r, s) in cells.iter().enumerate() {
                        let x = number(frame, r, &c.name, s, *transform)?;
                        let v = if span > 0.0 { (x - min) / span } else { 0.0 };
                        rows.dense[r * n_dense + d_col] = v.clamp(0.0, 1.0) as f32;
                    }
                    d_col += 1;
                }
                (Fitted::MultiHot { vocab }, ColumnRule::MultiHot { separator, .. }) => {
                    let FieldKind::Sequence { max_len, .. } = field.kind else {
                        unreachable!("multi-hot fields are sequences")
                    };
                    for (r, s) in cells.iter().enumerate() {
                        let base = r * seq_width + q_col;
                        let ids = s
                            .split(separator.as_str())
                            .map(|t| vocab.id(t))
                            .filter(|&i| i > 0);
                        for (k, id) in ids.take(max_len).enumerate() {
                            rows.sequences[base + k] = id;
                        }
                    }
                    q_col += max_len;
                }
                _ => unreachable!("fitted kinds follow their rules"),
            }
        }
        let groups = match &self.spec.group {
            Some(g) => {
                let mut ids: HashMap<&str, u32> = HashMap::new();
                Some(
                    frame
                        .column(g)?
                        .iter()
                        .map(|v| {
                            let next = ids.len() as u32;
                            *ids.entry(&**v).or_insert(next)
                        })
                        .collect(),
                )
            }
            None => None,
        };
        Ok(FeatureRows {
            rows,
            groups,
            grades,
            source: frame.source.clone(),
        })
    }

    /// An error naming the first field where `other` differs (a model
    /// loaded against data with another schema).
    /// The encoders of a model stacked on another model's categorical
    /// outputs (GBDT+LR's leaf indices): the fields `extra` (`(name, ids)`,
    /// ids `1..=ids`, 0 out of vocabulary) appended as sparse fields after
    /// these encoders' fields (`keep`) or alone. Rows for them hold the
    /// kept fields' values, then one id per extra field, in this order.
    pub(crate) fn stacked(&self, extra: &[(String, usize)], keep: bool) -> Result<FeatureEncoders> {
        let mut out = if keep {
            self.clone()
        } else {
            FeatureEncoders {
                spec: FeatureSpec {
                    columns: Vec::new(),
                    group: None,
                    graded: None,
                    ..self.spec.clone()
                },
                schema: DatasetSchema { fields: Vec::new() },
                fitted: Vec::new(),
            }
        };
        for (name, ids) in extra {
            if out.spec.columns.iter().any(|c| &c.name == name) || *name == out.spec.label {
                return Err(Error::param(
                    name,
                    "a stacked field has the name of one of the task's columns",
                ));
            }
            let rule = ColumnRule::Categorical { min_count: 1 };
            out.spec.columns.push(ColumnSpec::new(name, rule));
            out.fitted.push(Fitted::Tokens {
                vocab: Vocabulary::from((0..*ids).map(|i| i.to_string()).collect::<Vec<_>>()),
            });
            out.schema
                .fields
                .push(FieldSchema::sparse(name, self.spec.dim).with_vocab(ids + 1));
        }
        Ok(out)
    }

    pub fn check_same(&self, other: &DatasetSchema) -> Result<()> {
        check_schema(&self.schema, other)
    }
}

/// What fitting a spec's encoders has seen so far, per column.
enum Accumulator {
    Nothing,
    Counts(HashMap<String, usize>),
    Range(f64, f64),
}

struct Accumulators(Vec<Accumulator>);

impl Accumulators {
    fn new(spec: &FeatureSpec) -> Accumulators {
        Accumulators(
            spec.columns
                .iter()
                .map(|c| match c.rule {
                    ColumnRule::Hashed { .. } => Accumulator::Nothing,
                    ColumnRule::Numeric { .. } => {
                        Accumulator::Range(f64::INFINITY, f64::NEG_INFINITY)
                    }
                    _ => Accumulator::Counts(HashMap::new()),
                })
                .collect(),
        )
    }

    /// Counts (or ranges) the columns of `train`, checking every cell.
    fn add(&mut self, spec: &FeatureSpec, train: &RawFrame) -> Result<()> {
        train.column(&spec.label)?;
        for (c, acc) in spec.columns.iter().zip(&mut self.0) {
            let cells = train.column(&c.name)?;
            match (&c.rule, acc) {
                (ColumnRule::Categorical { .. }, Accumulator::Counts(counts)) => {
                    Vocabulary::count(counts, cells.iter().map(|s| &**s));
                }
                (ColumnRule::LogBucket { .. }, Accumulator::Counts(counts)) => {
                    let b = cells
                        .iter()
                        .enumerate()
                        .map(|(r, s)| log_bucket(train, r, &c.name, s))
                        .collect::<Result<Vec<_>>>()?;
                    Vocabulary::count(counts, b.iter().map(String::as_str));
                }
                (ColumnRule::MultiHot { separator, .. }, Accumulator::Counts(counts)) => {
                    Vocabulary::count(
                        counts,
                        cells.iter().flat_map(|s| s.split(separator.as_str())),
                    );
                }
                (ColumnRule::Numeric { transform }, Accumulator::Range(min, max)) => {
                    for (r, s) in cells.iter().enumerate() {
                        let x = number(train, r, &c.name, s, *transform)?;
                        *min = min.min(x);
                        *max = max.max(x);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn finish(self, spec: FeatureSpec) -> Result<FeatureEncoders> {
        let mut fitted = Vec::with_capacity(spec.columns.len());
        let mut fields = Vec::with_capacity(spec.columns.len());
        for (c, acc) in spec.columns.iter().zip(self.0) {
            let dim = c.dim.unwrap_or(spec.dim);
            let f = match (&c.rule, acc) {
                (ColumnRule::Hashed { buckets }, _) => Fitted::Hashed { buckets: *buckets },
                (ColumnRule::Categorical { min_count }, Accumulator::Counts(n)) => Fitted::Tokens {
                    vocab: Vocabulary::from_counts(n, *min_count),
                },
                (ColumnRule::LogBucket { min_count }, Accumulator::Counts(n)) => Fitted::Buckets {
                    vocab: Vocabulary::from_counts(n, *min_count),
                },
                (ColumnRule::MultiHot { min_count, .. }, Accumulator::Counts(n)) => {
                    Fitted::MultiHot {
                        vocab: Vocabulary::from_counts(n, *min_count),
                    }
                }
                (ColumnRule::Numeric { .. }, Accumulator::Range(min, max)) => {
                    Fitted::Scale { min, max }
                }
                _ => unreachable!("accumulators follow the rules"),
            };
            fields.push(match (&c.rule, &f) {
                (ColumnRule::Numeric { .. }, _) => FieldSchema::dense(&c.name, dim),
                (
                    ColumnRule::MultiHot {
                        max_len, pooling, ..
                    },
                    Fitted::MultiHot { vocab },
                ) => {
                    FieldSchema::sequence(&c.name, *max_len, *pooling, dim).with_vocab(vocab.size())
                }
                (_, Fitted::Tokens { vocab } | Fitted::Buckets { vocab }) => {
                    FieldSchema::sparse(&c.name, dim).with_vocab(vocab.size())
                }
                (_, Fitted::Hashed { buckets }) => {
                    FieldSchema::sparse(&c.name, dim).with_vocab(buckets + 1)
                }
                _ => unreachable!("rule and fitted kind agree"),
            });
            fitted.push(f);
        }
        Ok(FeatureEncoders {
            spec,
            schema: DatasetSchema { fields },
            fitted,
        })
    }
}

/// An error naming the first field where `found` differs from `expected`.
pub(crate) fn check_schema(expected: &DatasetSchema, found: &DatasetSchema) -> Result<()> {
    for (a, b) in expected.fields.iter().zip(&found.fields) {
        if a != b {
            return Err(Error::param(
                &a.name,
                format!(
                    "the data's field is {:?} ({:?}, vocabulary {}) but the model was trained with {:?} ({:?}, vocabulary {})",
                    b.name, b.kind, b.vocab, a.name, a.kind, a.vocab
                ),
            ));
        }
    }
    if expected.fields.len() != found.fields.len() {
        return Err(Error::Config(format!(
            "the data has {} fields but the model was trained with {}",
            found.fields.len(),
            expected.fields.len()
        )));
    }
    Ok(())
}

/// Encoded labelled rows: `rows` in the [`CtrBatch`] layout, the group of
/// every row (GAUC, queries) when the spec names one, the grades of graded
/// labels, and the file they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRows {
    pub rows: CtrBatch,
    pub groups: Option<Vec<u32>>,
    /// The graded label of every row, when the spec's labels are graded
    /// (`rows.labels` then holds grade ≥ the positive grade as 0/1).
    pub grades: Option<Vec<f32>>,
    pub source: PathBuf,
}

impl FeatureRows {
    /// Rows.
    pub fn len(&self) -> usize {
        self.rows.len
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.rows.len == 0
    }

    /// Labels as booleans (1 = positive).
    pub fn positives(&self) -> Vec<bool> {
        self.rows.labels.iter().map(|&l| l > 0.5).collect()
    }

    /// The rows `idx` as one batch.
    pub fn gather(&self, idx: &[usize]) -> CtrBatch {
        let b = &self.rows;
        let n = b.len.max(1);
        let (ws, wq, wd) = (b.sparse.len() / n, b.sequences.len() / n, b.dense.len() / n);
        let mut out = CtrBatch {
            sparse: Vec::with_capacity(idx.len() * ws),
            sequences: Vec::with_capacity(idx.len() * wq),
            dense: Vec::with_capacity(idx.len() * wd),
            labels: Vec::with_capacity(idx.len()),
            len: idx.len(),
        };
        for &r in idx {
            out.sparse
                .extend_from_slice(&b.sparse[r * ws..(r + 1) * ws]);
            out.sequences
                .extend_from_slice(&b.sequences[r * wq..(r + 1) * wq]);
            out.dense.extend_from_slice(&b.dense[r * wd..(r + 1) * wd]);
            out.labels.push(b.labels[r]);
        }
        out
    }
}

/// A feature task: fitted encoders and the encoded train / validation /
/// test rows.
#[derive(Debug, Clone)]
pub struct FeatureTask {
    /// Human-readable name (`Criteo`, `Avazu`, the file's name).
    pub name: String,
    pub encoders: FeatureEncoders,
    pub train: FeatureRows,
    pub validation: Option<FeatureRows>,
    pub test: FeatureRows,
}

impl FeatureTask {
    /// Fits `spec`'s encoders on `train` and encodes all three parts.
    pub fn new(
        name: &str,
        spec: FeatureSpec,
        train: &RawFrame,
        validation: Option<&RawFrame>,
        test: &RawFrame,
    ) -> Result<FeatureTask> {
        let encoders = FeatureEncoders::fit(spec, train)?;
        Ok(FeatureTask {
            name: name.into(),
            train: encoders.encode(train)?,
            validation: validation.map(|v| encoders.encode(v)).transpose()?,
            test: encoders.encode(test)?,
            encoders,
        })
    }

    /// Criteo split files `train.txt`, `val.txt`, `test.txt` in `dir`
    /// (e.g. the peer harness's `splits/ctr/criteo`), processed by
    /// [`FeatureSpec::criteo`].
    pub fn criteo_dir(dir: impl AsRef<Path>) -> Result<FeatureTask> {
        let d = dir.as_ref();
        let read = |f: &str| RawFrame::read_criteo(d.join(f));
        FeatureTask::new(
            "Criteo",
            FeatureSpec::criteo(),
            &read("train.txt")?,
            Some(&read("val.txt")?),
            &read("test.txt")?,
        )
    }

    /// The peer harness's MovieLens CTR split files `train.tsv`, `val.tsv`,
    /// `test.tsv` in `dir` (`splits/ctr/ml100k_ctr`), processed by
    /// [`FeatureSpec::movielens_ctr`] (up to 6 genres, the most any
    /// ML-100K item has); rows in the files' order, so that per-row
    /// predictions pair with the peers' saved ones.
    pub fn movielens_ctr_dir(dir: impl AsRef<Path>) -> Result<FeatureTask> {
        let d = dir.as_ref();
        let read = |f: &str| RawFrame::read_delimited(d.join(f), crate::data::Separator::Tab);
        FeatureTask::new(
            "MovieLens 100K CTR",
            FeatureSpec::movielens_ctr(6),
            &read("train.tsv")?,
            Some(&read("val.tsv")?),
            &read("test.tsv")?,
        )
    }

    /// Avazu split files `train.csv`, `val.csv`, `test.csv` in `dir`,
    /// processed by [`FeatureSpec::avazu`].
    pub fn avazu_dir(dir: impl AsRef<Path>) -> Result<FeatureTask> {
        let d = dir.as_ref();
        let read = |f: &str| RawFrame::read_avazu(d.join(f));
        let train = read("train.csv")?;
        FeatureTask::new(
            "Avazu",
            FeatureSpec::avazu(&train),
            &train,
            Some(&read("val.csv")?),
            &read("test.csv")?,
        )
    }

    /// The documents' toy CTR task: [`crate::data::synthetic::toy_ctr_frame`]
    /// rows split at random 80 / 10 / 10 under `seed`, processed as the
    /// documents' `toy_ctr_fm` config does (ids, device and country as
    /// tokens with `min_count` 2; age scaled, price `ln(1 + x)` then
    /// scaled).
    pub fn toy_ctr(rows: usize, seed: u64) -> Result<FeatureTask> {
        let frame = crate::data::synthetic::toy_ctr_frame(rows, seed)?;
        let [train, val, test] = frame.split_random(0.1, 0.1, seed)?;
        FeatureTask::new("toy CTR", FeatureSpec::toy_ctr(), &train, Some(&val), &test)
    }

    /// The schema of the encoded fields.
    pub fn schema(&self) -> &DatasetSchema {
        &self.encoders.schema
    }

    /// The task with every field embedded in `dim` dimensions.
    pub fn uniform_dims(mut self, dim: usize) -> FeatureTask {
        self.encoders.spec.dim = dim;
        for c in &mut self.encoders.spec.columns {
            c.dim = None;
        }
        for f in &mut self.encoders.schema.fields {
            f.dim = dim;
        }
        self
    }
}

impl std::fmt::Display for FeatureTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pos = |r: &FeatureRows| r.rows.labels.iter().filter(|&&l| l > 0.5).count();
        writeln!(
            f,
            "{}: {} fields; train {} rows ({} positive), validation {} rows, test {} rows ({} positive)",
            self.name,
            self.encoders.schema.fields.len(),
            self.train.len(),
            pos(&self.train),
            self.validation.as_ref().map_or(0, FeatureRows::len),
            self.test.len(),
            pos(&self.test)
        )?;
        write!(f, "{}", self.encoders.schema)
    }
}

impl FeatureTask {
    /// Shows the summary and schema in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit(
            "text/html",
            &format!(
                "<p>{}</p>{}",
                crate::display::escape(&self.to_string().lines().next().unwrap_or_default()),
                self.encoders.schema.to_html()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Separator;

    fn frame(text: &str) -> RawFrame {
        let dir = std::env::temp_dir().join(format!("recsys-task-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!(
            "{:x}.tsv",
            text.len() * 31 + text.bytes().map(usize::from).sum::<usize>()
        ));
        std::fs::write(&p, text).unwrap();
        RawFrame::read_delimited(&p, Separator::Tab).unwrap()
    }

    #[test]
    fn vocabulary_is_ordered_by_count_then_token_with_a_frequency_cut() {
        let v = Vocabulary::fit(["b", "a", "c", "b", "a", "d", "", "", ""].into_iter(), 1);
        assert_eq!((v.id("a"), v.id("b"), v.id("c"), v.id("d")), (1, 2, 3, 4));
        assert_eq!(v.id(""), 0);
        let v = Vocabulary::fit(["b", "a", "c", "b", "a"].into_iter(), 2);
        assert_eq!((v.id("a"), v.id("b"), v.id("c"), v.size()), (1, 2, 0, 3));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"["a","b"]"#);
        assert_eq!(serde_json::from_str::<Vocabulary>(&json).unwrap(), v);
    }

    #[test]
    fn hashed_columns_are_stable_and_fit_nothing() {
        // Pinned: the same token gets this id on every machine and version.
        assert_eq!(hashed_id("68fd1e64", 1 << 20), PINNED_ID);
        assert_eq!(hashed_id("", 1 << 20), 0);
        let spec = FeatureSpec {
            label: "y".into(),
            group: None,
            graded: None,
            columns: vec![ColumnSpec::new("c", ColumnRule::Hashed { buckets: 1000 })],
            dim: 4,
        };
        let train = frame("y\tc\n1\ta\n0\tb\n");
        let enc = FeatureEncoders::fit(spec, &train).unwrap();
        assert_eq!(enc.schema.field("c").unwrap().vocab, 1001);
        let rows = enc.encode(&frame("y\tc\n1\tunseen\n0\t\n")).unwrap();
        assert_eq!(rows.rows.sparse, [hashed_id("unseen", 1000), 0]);
        assert!(rows.rows.sparse[0] > 0);
        let back: FeatureEncoders =
            serde_json::from_str(&serde_json::to_string(&enc).unwrap()).unwrap();
        assert_eq!(back, enc);
    }

    const PINNED_ID: u32 = 954_720;

    #[test]
    fn log_buckets_follow_fuxictr() {
        let f = frame("label\tx\n0\t\n0\t-1\n1\t2\n1\t3\n0\t100\n");
        let b: Vec<String> = (0..5)
            .map(|r| log_bucket(&f, r, "x", &f.column("x").unwrap()[r]).unwrap())
            .collect();
        // ln(3)² = 1.207, ln(100)² = 21.2.
        assert_eq!(b, ["0", "-1", "2", "1", "21"]);
    }

    #[test]
    fn encodes_every_kind_fitted_on_train_only() {
        let spec = FeatureSpec {
            label: "y".into(),
            group: Some("u".into()),
            graded: None,
            columns: vec![
                ColumnSpec::new("u", ColumnRule::Categorical { min_count: 1 }),
                ColumnSpec::new(
                    "x",
                    ColumnRule::Numeric {
                        transform: NumericTransform::None,
                    },
                ),
                ColumnSpec::new(
                    "g",
                    ColumnRule::MultiHot {
                        separator: "|".into(),
                        max_len: 2,
                        pooling: Pooling::Mean,
                        min_count: 1,
                    },
                ),
            ],
            dim: 4,
        };
        let train = frame("y\tu\tx\tg\n1\ta\t2\tp|q|r\n0\tb\t4\tq\n1\ta\t6\t\n");
        let test = frame("y\tu\tx\tg\n0\tz\t8\tr|z|p\n");
        let enc = FeatureEncoders::fit(spec, &train).unwrap();
        let (s, d, q) = enc.schema.counts();
        assert_eq!((s, d, q), (1, 1, 1));
        assert_eq!(enc.schema.field("u").unwrap().vocab, 3);
        let tr = enc.encode(&train).unwrap();
        assert_eq!(tr.rows.sparse, [1, 2, 1]);
        assert_eq!(tr.rows.dense, [0.0, 0.5, 1.0]);
        assert_eq!(tr.rows.sequences, [2, 1, 1, 0, 0, 0]);
        assert_eq!(tr.groups.as_deref(), Some(&[0, 1, 0][..]));
        let te = enc.encode(&test).unwrap();
        // Unseen user → 0; 8 is above the train range → clipped to 1; the
        // unknown token is skipped, not padded in the middle.
        assert_eq!(te.rows.sparse, [0]);
        assert_eq!(te.rows.dense, [1.0]);
        assert_eq!(te.rows.sequences, [3, 2]);
        assert_eq!(te.rows.labels, [0.0]);
        let back: FeatureEncoders =
            serde_json::from_str(&serde_json::to_string(&enc).unwrap()).unwrap();
        assert_eq!(back.encode(&test).unwrap(), te);
    }

    #[test]
    fn bad_cells_and_missing_columns_name_file_line_and_field() {
        let spec = FeatureSpec {
            label: "y".into(),
            group: None,
            graded: None,
            columns: vec![ColumnSpec::new(
                "x",
                ColumnRule::Numeric {
                    transform: NumericTransform::Log1p,
                },
            )],
            dim: 4,
        };
        let e = FeatureEncoders::fit(spec.clone(), &frame("y\tx\n1\t1\n0\tabc\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(".tsv:3:") && e.contains("`x`"), "{e}");
        let enc = FeatureEncoders::fit(spec, &frame("y\tx\n1\t1\n0\t2\n")).unwrap();
        let e = enc.encode(&frame("y\tz\n1\t1\n")).unwrap_err().to_string();
        assert!(e.contains("no column \"x\""), "{e}");
        let e = enc
            .encode(&frame("y\tx\nyes\t1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(".tsv:2:") && e.contains("not a label"), "{e}");
    }

    #[test]
    fn a_different_schema_is_an_error_naming_the_field() {
        let a = DatasetSchema {
            fields: vec![FieldSchema::sparse("C1", 16).with_vocab(10)],
        };
        let b = DatasetSchema {
            fields: vec![FieldSchema::sparse("C1", 16).with_vocab(12)],
        };
        let e = check_schema(&a, &b).unwrap_err().to_string();
        assert!(e.contains("C1") && e.contains("12"), "{e}");
        assert!(check_schema(&a, &a).is_ok());
    }
}
