//! `recsys run` configuration files (TOML).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::{Duplicates, Encoding, InteractionsFile, Separator};
use crate::eval::Protocol;
use crate::models::model_from_name;
use crate::pipeline::{DataSource, Pipeline};
use crate::split::Split;
use crate::stages::rerank_from_name;
use crate::{Error, Result};

/// A whole experiment. Example (`configs/ml100k_popularity.toml`):
///
/// ```toml
/// [dataset]
/// kind = "movielens_100k"
/// [split]
/// kind = "leave_one_out"
/// by = "time"
/// [recall]
/// model = "popularity"
/// [metrics]
/// ks = [10]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub dataset: DatasetConfig,
    #[serde(default = "Split::loo")]
    pub split: Split,
    #[serde(default)]
    pub protocol: Protocol,
    pub recall: StageConfig,
    /// More recall sources fused into the pool (`pool` = quota).
    #[serde(default)]
    pub extra_recall: Vec<StageConfig>,
    pub rank: Option<StageConfig>,
    pub rerank: Option<StageConfig>,
    #[serde(default)]
    pub metrics: MetricsConfig,
    pub output: Option<OutputConfig>,
    pub seed: Option<u64>,
}

/// The data source.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DatasetConfig {
    #[serde(rename = "movielens_100k")]
    Movielens100k { implicit_threshold: Option<f32> },
    #[serde(rename = "movielens_1m")]
    Movielens1m { implicit_threshold: Option<f32> },
    File {
        path: PathBuf,
        #[serde(default)]
        separator: Separator,
        header: Option<bool>,
        #[serde(default)]
        encoding: Encoding,
        /// `last` (default), `sum` or `reject`: what a repeated (user, item)
        /// row becomes.
        #[serde(default)]
        duplicates: Duplicates,
        implicit_threshold: Option<f32>,
    },
    /// Predefined split files; `candidates` switches to the sampled protocol.
    Predefined {
        train: PathBuf,
        test: Option<PathBuf>,
        candidates: Option<PathBuf>,
        #[serde(default)]
        encoding: Encoding,
    },
}

/// One stage: a model name and its parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    pub model: String,
    /// Items this stage passes on per user.
    pub pool: Option<usize>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

/// Metric cut-offs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    #[serde(default = "default_ks")]
    pub ks: Vec<usize>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { ks: default_ks() }
    }
}

fn default_ks() -> Vec<usize> {
    vec![10]
}

/// Where results go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub json: Option<PathBuf>,
}

fn params_of(stage: &StageConfig) -> Vec<(String, String)> {
    stage
        .params
        .iter()
        .map(|(k, v)| {
            let s = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

fn relative(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Reads the TOML file at `path`, applies `overrides` (`dotted.key=value`,
/// the value in TOML syntax or a bare word, as the documents' `--override`),
/// and deserialises the result. An override whose parent is not a table is
/// an error naming the key.
pub(crate) fn load_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    overrides: &[String],
) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |message: String| Error::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    for o in overrides {
        let (key, value) = o
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("--set {o:?}: expected KEY=VALUE")))?;
        let value = value.trim();
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let parts: Vec<&str> = key.trim().split('.').collect();
        let mut at = &mut table;
        for p in &parts[..parts.len() - 1] {
            at = at
                .entry(p.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| Error::Config(format!("--set {key}: `{p}` is not a table")))?;
        }
        at.insert(parts[parts.len() - 1].to_string(), parsed);
    }
    toml::Value::Table(table).try_into().map_err(|e| {
        bad(format!(
            "{e}{}",
            if overrides.is_empty() {
                ""
            } else {
                " (after --set overrides)"
            }
        ))
    })
}

impl RunConfig {
    /// Reads and validates a config; relative paths are relative to the
    /// config file's folder.
    pub fn load(path: &Path) -> Result<RunConfig> {
        Self::load_with(path, &[])
    }

    /// [`RunConfig::load`] with `--set dotted.key=value` overrides applied
    /// before validation.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<RunConfig> {
        let mut cfg: RunConfig = load_toml(path, overrides)?;
        let base = path.parent().unwrap_or(Path::new("."));
        match &mut cfg.dataset {
            DatasetConfig::File { path, .. } => *path = relative(base, path),
            DatasetConfig::Predefined {
                train,
                test,
                candidates,
                ..
            } => {
                *train = relative(base, train);
                if let Some(t) = test {
                    *t = relative(base, t);
                }
                if let Some(c) = candidates {
                    *c = relative(base, c);
                }
            }
            _ => {}
        }
        if let Split::Predefined {
            train, val, test, ..
        } = &mut cfg.split
        {
            *train = relative(base, train);
            *test = relative(base, test);
            if let Some(v) = val {
                *v = relative(base, v);
            }
        }
        if let Some(OutputConfig { json: Some(j) }) = &mut cfg.output {
            *j = relative(base, j);
        }
        Ok(cfg)
    }

    /// The pipeline this config describes (no work done yet).
    pub fn pipeline(&self) -> Result<Pipeline> {
        let (mut p, threshold) = match &self.dataset {
            DatasetConfig::Movielens100k { implicit_threshold } => {
                (Pipeline::movielens_100k(), *implicit_threshold)
            }
            DatasetConfig::Movielens1m { implicit_threshold } => {
                (Pipeline::movielens_1m(), *implicit_threshold)
            }
            DatasetConfig::File {
                path,
                separator,
                header,
                encoding,
                duplicates,
                implicit_threshold,
            } => {
                let mut f = InteractionsFile::new(path)
                    .separator(separator.clone())
                    .encoding(*encoding)
                    .duplicates(*duplicates);
                if let Some(h) = header {
                    f = f.header(*h);
                }
                (Pipeline::new(DataSource::File(f)), *implicit_threshold)
            }
            DatasetConfig::Predefined {
                train,
                test,
                candidates,
                encoding,
            } => {
                let p = match (test, candidates) {
                    (_, Some(c)) => Pipeline::predefined_sampled(train, c),
                    (Some(t), None) => Pipeline::predefined(train, t),
                    (None, None) => {
                        return Err(Error::Config(
                            "predefined dataset needs `test` or `candidates`".into(),
                        ));
                    }
                };
                (p.encoding(*encoding), None)
            }
        };
        if let Some(t) = threshold {
            p = p.implicit(t);
        }
        if !matches!(self.dataset, DatasetConfig::Predefined { .. }) {
            p = p.split(self.split.clone()).protocol(self.protocol.clone());
        }
        if let Some(seed) = self.seed {
            p = p.seed(seed);
        }
        p = p.recall_boxed(model_from_name(
            &self.recall.model,
            &params_of(&self.recall),
        )?);
        if let Some(n) = self.recall.pool {
            p = p.recall_pool(n);
        }
        for e in &self.extra_recall {
            let quota = e.pool.ok_or_else(|| {
                Error::Config(format!(
                    "extra_recall {}: needs `pool` (its quota)",
                    e.model
                ))
            })?;
            p = p.recall_also_boxed(model_from_name(&e.model, &params_of(e))?, quota);
        }
        if let Some(r) = &self.rank {
            p = p.rank_boxed(model_from_name(&r.model, &params_of(r))?);
            if let Some(n) = r.pool {
                p = p.rank_pool(n);
            }
        }
        if let Some(r) = &self.rerank {
            p = p.rerank_boxed(rerank_from_name(&r.model, &params_of(r))?);
        }
        if self.metrics.ks.is_empty() || self.metrics.ks.contains(&0) {
            return Err(Error::Config("metrics.ks needs positive cut-offs".into()));
        }
        Ok(p.ks(&self.metrics.ks))
    }
}
