//! `recsys train CONFIG.toml` and `recsys evaluate --checkpoint DIR`: the
//! deep CTR models from a TOML config (see `configs/*_movielens.toml`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::features::MovieLensCtr;
use crate::models::deep::{CtrModel, CtrParams};
use crate::report::Report;
use crate::{Error, Result};

/// A training run. Example (`configs/deepfm_movielens.toml`):
///
/// ```toml
/// [data]
/// dataset = "movielens_100k"
/// [model]
/// max_epochs = 20
/// [model.net]
/// arch = "deepfm"
/// [output]
/// dir = "runs/deepfm"
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub data: CtrDataConfig,
    /// [`CtrParams`]: every field optional, defaults as documented there.
    #[serde(default)]
    pub model: CtrParams,
    pub output: TrainOutput,
}

/// Which CTR task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtrDataConfig {
    /// `movielens_100k` (the only CTR task so far).
    pub dataset: String,
    /// A folder with `train.tsv`, `val_candidates.tsv`,
    /// `test_candidates.tsv` (e.g. the peer harness's
    /// `splits/ml100k/loo_sampled`), relative to the config file; without
    /// it the task samples its own candidates with `seed`.
    pub split_dir: Option<PathBuf>,
    /// Seed of the candidates and of every epoch's negatives. Defaults to 42.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Embed every field in this many dimensions (the peer harness uses 16);
    /// without it the documents' per-field dims.
    pub field_dim: Option<usize>,
}

fn default_seed() -> u64 {
    42
}

/// Where the run writes: `checkpoints/{best,last}`, `model/`,
/// `report.json` (test metrics), `config.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOutput {
    pub dir: PathBuf,
}

impl TrainConfig {
    /// Reads a config; relative paths are resolved against its folder.
    pub fn load(path: &Path) -> Result<TrainConfig> {
        Self::load_with(path, &[])
    }

    /// [`TrainConfig::load`] with `--set dotted.key=value` overrides (e.g.
    /// `model.max_epochs=3`) applied first.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<TrainConfig> {
        let mut cfg: TrainConfig = super::config::load_toml(path, overrides)?;
        // Absolute paths, so the copy saved with a run works from anywhere.
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::fs::canonicalize(base).map_err(|e| Error::io(base, e))?;
        if let Some(d) = &cfg.data.split_dir {
            if d.is_relative() {
                cfg.data.split_dir = Some(base.join(d));
            }
        }
        if cfg.output.dir.is_relative() {
            cfg.output.dir = base.join(&cfg.output.dir);
        }
        cfg.model.check()?;
        Ok(cfg)
    }

    /// Builds the task the config names.
    pub fn task(&self) -> Result<MovieLensCtr> {
        let ml = match self.data.dataset.as_str() {
            "movielens_100k" => Dataset::movielens_100k()?,
            other => {
                return Err(Error::Config(format!(
                    "unknown CTR dataset {other:?} (movielens_100k)"
                )));
            }
        };
        let task = match &self.data.split_dir {
            Some(dir) => MovieLensCtr::from_dir(&ml, dir, self.data.seed)?,
            None => MovieLensCtr::new(&ml, self.data.seed)?,
        };
        Ok(match self.data.field_dim {
            Some(d) => task.uniform_dims(d),
            None => task,
        })
    }

    /// Trains (resuming from `output.dir/checkpoints/last` when present),
    /// saves the best model and the test report; returns the report.
    pub fn run(&self) -> Result<Report> {
        let out = &self.output.dir;
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let toml = toml::to_string(self).map_err(|e| Error::Config(format!("config: {e}")))?;
        crate::io::write_atomic(&out.join("config.toml"), toml.as_bytes())?;
        let task = self.task()?;
        let model = self
            .model
            .clone()
            .checkpoint_dir(out.join("checkpoints"))
            .resume(true)
            .fit(&task)?;
        model.save(out.join("model"))?;
        let report = model.evaluate(&task.test)?.named(run_name(out, &model));
        report.save_json(out.join("report.json"))?;
        Ok(report)
    }
}

fn run_name(dir: &Path, model: &CtrModel) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| model.name().to_string())
}

/// Evaluates a trained run folder (or a `checkpoints/best|last` folder or a
/// saved `model/` folder inside one) on the test candidates; with `full`,
/// also by full ranking.
pub fn evaluate_checkpoint(dir: &Path, full: bool) -> Result<Vec<Report>> {
    let run = dir
        .ancestors()
        .take(3)
        .find(|d| d.join("config.toml").is_file())
        .ok_or_else(|| {
            Error::Config(format!(
                "{}: no config.toml here or in the two folders above (is it a `recsys train` output?)",
                dir.display()
            ))
        })?;
    let cfg = TrainConfig::load(&run.join("config.toml"))?;
    let weights = if dir.join("model.bpk").is_file() {
        dir.to_path_buf()
    } else {
        dir.join("model")
    };
    let task = cfg.task()?;
    let model = CtrModel::load(&weights, &task)?;
    let name = run_name(run, &model);
    let mut out = vec![model.evaluate(&task.test)?.named(name.clone())];
    if full {
        out.push(
            model
                .evaluate_full(&task.test, Some(&task.val))?
                .named(format!("{name} (full ranking)")),
        );
    }
    Ok(out)
}
