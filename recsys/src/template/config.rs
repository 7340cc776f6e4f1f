//! The template's one config (TOML): where the data is and what its columns
//! mean, the filters, the validation split, the model and the outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{Duplicates, Encoding};
use crate::split::{Order, Split};
use crate::{Error, Result};

/// The whole template config. Paths are relative to the config file's
/// folder. Unknown keys are an error (a typo is not silently ignored).
///
/// ```toml
/// [data]
/// interactions = "ratings.csv"       # any delimited file with a header
/// user = "user_id"                   # column names
/// item = "item_id"
/// score = "rating"                   # optional
/// timestamp = "ts"                   # optional
///
/// [data.user_features]               # optional; so is [data.item_features]
/// path = "users.csv"
/// id = "user_id"
/// categorical = ["gender", "occupation"]
/// numeric = ["age"]
/// multi_label = { genres = "|" }
/// unknown_ids = "error"              # or "keep" (cold start) / "drop"
///
/// [filters]
/// min_interactions_per_user = 5
/// min_interactions_per_item = 5
///
/// [validation]
/// split = "random"                   # or "user_time" / "global_time"
/// fraction = 0.1
///
/// [model]
/// name = "two_tower"                 # any model of the workbench
/// params = { temperature = 0.2 }
///
/// [output]
/// dir = "template_run"
/// top_n = 10
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub data: DataConfig,
    #[serde(default)]
    pub filters: Filters,
    #[serde(default)]
    pub validation: ValidationConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub output: OutputConfig,
    /// The config file's folder (relative paths start there).
    #[serde(skip)]
    pub base: PathBuf,
}

/// The interactions file and its columns, and the optional feature files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub interactions: PathBuf,
    /// Field separator (`","`, `"\t"`, `";"`, `"|"`, `"::"`); detected from
    /// the header when absent.
    #[serde(default)]
    pub separator: Option<String>,
    /// `utf8` (the default) or `latin1`.
    #[serde(default)]
    pub encoding: Encoding,
    /// What a repeated (user, item) row becomes: `last` (the default: the
    /// latest row), `sum` (scores summed, or counted) or `reject`.
    #[serde(default)]
    pub duplicates: Duplicates,
    /// Whether the first line names the columns. Defaults to true; without
    /// a header, columns are named by position: `"1"`, `"2"`, …
    #[serde(default = "yes")]
    pub header: bool,
    pub user: String,
    pub item: String,
    #[serde(default)]
    pub score: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub user_features: Option<FeatureFileConfig>,
    #[serde(default)]
    pub item_features: Option<FeatureFileConfig>,
}

/// What to do with feature rows whose id is not in the interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownIds {
    /// An error naming the file, line and id column (the default: a wrong
    /// file or a wrong id column is caught early).
    #[default]
    Error,
    /// Keep them: such users get recommendations (and such items are
    /// recommended) from their features alone — cold start.
    Keep,
    /// Ignore those rows.
    Drop,
}

/// A feature file with typed columns; columns not named are not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureFileConfig {
    pub path: PathBuf,
    #[serde(default)]
    pub separator: Option<String>,
    /// As for the interactions. Defaults to true.
    #[serde(default = "yes")]
    pub header: bool,
    /// As for the interactions. Defaults to `utf8`.
    #[serde(default)]
    pub encoding: Encoding,
    /// The id column.
    pub id: String,
    #[serde(default)]
    pub categorical: Vec<String>,
    #[serde(default)]
    pub numeric: Vec<String>,
    /// Column → the separator of its labels (`genres = "|"`).
    #[serde(default)]
    pub multi_label: BTreeMap<String, String>,
    /// Free text (shown, not modelled).
    #[serde(default)]
    pub text: Vec<String>,
    #[serde(default)]
    pub unknown_ids: UnknownIds,
}

/// Minimum interactions per user and per item, applied together and
/// iterated until both hold (k-core). Interactions are counted as rows: a
/// repeated (user, item) row (a second click) counts again. Both default
/// to 1 (no filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    pub min_interactions_per_user: usize,
    pub min_interactions_per_item: usize,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            min_interactions_per_user: 1,
            min_interactions_per_item: 1,
        }
    }
}

/// How the validation model's data is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Rows shuffled with the seed (no timestamp needed).
    #[default]
    Random,
    /// Per user, the latest rows (needs `timestamp`).
    UserTime,
    /// One cut in time over all rows (needs `timestamp`).
    GlobalTime,
}

/// The validation split: `fraction` of the rows are held out and reported
/// on; as many again, before them, are the early-stopping data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    #[serde(default)]
    pub split: SplitKind,
    #[serde(default = "default_fraction")]
    pub fraction: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Cut-offs of the report.
    #[serde(default = "default_ks")]
    pub ks: Vec<usize>,
}

fn yes() -> bool {
    true
}
fn default_fraction() -> f64 {
    0.1
}
fn default_seed() -> u64 {
    42
}
fn default_ks() -> Vec<usize> {
    vec![10, 20]
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            split: SplitKind::Random,
            fraction: default_fraction(),
            seed: default_seed(),
            ks: default_ks(),
        }
    }
}

/// The model by name (`recsys evaluate --model` names) and its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    #[serde(default)]
    pub params: toml::Table,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            name: "two_tower".into(),
            params: toml::Table::new(),
        }
    }
}

/// Where the outputs go: `figures/`, `validation/`, `production/`,
/// `recommendations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_top_n")]
    pub top_n: usize,
}

fn default_dir() -> PathBuf {
    PathBuf::from("template_run")
}
fn default_top_n() -> usize {
    10
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            dir: default_dir(),
            top_n: default_top_n(),
        }
    }
}

impl TemplateConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<TemplateConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut c: TemplateConfig = toml::from_str(&text).map_err(|e| Error::BadFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        c.base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        c.check()?;
        Ok(c)
    }

    /// Parses a config from text; relative paths start at `base`.
    pub fn from_toml(text: &str, base: impl Into<PathBuf>) -> Result<TemplateConfig> {
        let mut c: TemplateConfig =
            toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        c.base = base.into();
        c.check()?;
        Ok(c)
    }

    /// Checks the settings before any work.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let v = &self.validation;
        if !(v.fraction > 0.0 && v.fraction < 0.5) {
            return bad(format!(
                "validation.fraction must be in (0, 0.5), got {}",
                v.fraction
            ));
        }
        if v.ks.is_empty() || v.ks.contains(&0) {
            return bad(format!(
                "validation.ks must be positive cut-offs, got {:?}",
                v.ks
            ));
        }
        if v.split != SplitKind::Random && self.data.timestamp.is_none() {
            return bad(format!(
                "validation.split = {:?} needs data.timestamp (a time column)",
                v.split
            ));
        }
        if self.output.top_n == 0 {
            return bad("output.top_n must be ≥ 1".into());
        }
        if self.filters.min_interactions_per_user == 0
            || self.filters.min_interactions_per_item == 0
        {
            return bad("filters: the minimum interactions must be ≥ 1".into());
        }
        crate::models::model_from_name(&self.model.name, &self.model_params())?.check()
    }

    /// A path of the config: `${VAR}` replaced by the environment
    /// variable (e.g. `${RECSYS_DATA_DIR}/ml-100k/u.data`), then resolved
    /// against the config's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        let text = p.to_string_lossy();
        let mut out = String::new();
        let mut rest: &str = &text;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let var = &rest[start + 2..start + len];
            out.push_str(&std::env::var(var).unwrap_or_default());
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        let p = PathBuf::from(out);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }

    /// The output folder.
    pub fn out_dir(&self) -> PathBuf {
        self.resolve(&self.output.dir)
    }

    /// The model parameters as `key=value` text pairs.
    pub fn model_params(&self) -> Vec<(String, String)> {
        self.model
            .params
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }

    /// The validation split: `fraction` held out for the report, as much
    /// again for early stopping.
    pub fn split(&self) -> Split {
        let v = &self.validation;
        let f = v.fraction;
        match v.split {
            SplitKind::Random => Split::Random {
                test: f,
                val: f,
                seed: v.seed,
            },
            SplitKind::UserTime => Split::UserRatio {
                test: f,
                val: f,
                by: Order::Time,
            },
            SplitKind::GlobalTime => Split::GlobalTime { test: f, val: f },
        }
    }
}
