//! `recsys train CONFIG.toml` and `recsys evaluate --checkpoint DIR`: the
//! deep CTR models from a TOML config (see `configs/*_movielens.toml`,
//! `configs/deepfm_criteo.toml`), on MovieLens CTR (sampled protocol) or
//! on any feature task: Criteo, Avazu (pointwise protocol).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, RawFrame};
use crate::features::{FeatureSpec, FeatureTask, MovieLensCtr, movielens_ctr_frames};
use crate::models::ctr::{
    Gbdt, GbdtModel, PartitionedLr, PartitionedLrModel, ShallowCtr, ShallowCtrModel, ShallowKind,
};
use crate::models::deep::{CtrModel, CtrParams};
use crate::models::{FitRows, RowScorer};
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
    /// The model: a deep network ([`CtrParams`], every field optional,
    /// defaults as documented there), or one of the CTR chain
    /// (`model = "lr" | "poly2" | "fm" | "ffm" | "lsplm" | "lsplm_kmeans" | "lsplm_tree" | "gbdt" | "gbdt_lr"` and any of
    /// [`ShallowCtr`]'s parameters by name, defaults those of the model).
    #[serde(default)]
    pub model: TrainModel,
    pub output: TrainOutput,
}

/// The model section of a [`TrainConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TrainModel {
    /// A deep CTR network.
    Deep(CtrParams),
    /// LR, Poly2, FM, FFM or LS-PLM.
    Shallow(ShallowCtr),
    /// The documents' partitioned LS-PLM (`lsplm_kmeans`, `lsplm_tree`).
    Partitioned(PartitionedLr),
    /// Boosted trees (`gbdt`) or GBDT+LR (`gbdt_lr`).
    Gbdt(Gbdt),
}

impl Default for TrainModel {
    fn default() -> Self {
        TrainModel::Deep(CtrParams::default())
    }
}

impl TrainModel {
    /// Checks the hyper-parameters.
    pub fn check(&self) -> Result<()> {
        match self {
            TrainModel::Deep(p) => p.check(),
            TrainModel::Shallow(p) => p.check(),
            TrainModel::Partitioned(p) => p.check(),
            TrainModel::Gbdt(p) => p.check(),
        }
    }
}

impl Serialize for TrainModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            TrainModel::Deep(p) => p.serialize(s),
            TrainModel::Shallow(p) => {
                // `model` names the kind, as the config spells it.
                p.serialize(s)
            }
            TrainModel::Partitioned(p) => {
                let mut v = serde_json::to_value(p).map_err(serde::ser::Error::custom)?;
                v["model"] = serde_json::Value::String(FitRows::name(p));
                v.serialize(s)
            }
            TrainModel::Gbdt(p) => {
                let mut v = serde_json::to_value(p).map_err(serde::ser::Error::custom)?;
                if let Some(o) = v.as_object_mut() {
                    o.remove("head");
                }
                v["model"] = serde_json::Value::String(FitRows::name(p));
                v.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for TrainModel {
    /// `model = "lr" | "poly2" | "fm" | "ffm" | "lsplm"` selects the CTR chain: its
    /// defaults, then every other key set by name (an unknown key or a bad
    /// value is an error naming it); anything else is a deep network.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        // Every key of `map` set by name on `p`, `first` before the others
        // (a tagged setting's own fields come after it).
        fn set_all<E: serde::de::Error>(
            p: &mut dyn FitRows,
            map: &serde_json::Map<String, serde_json::Value>,
            first: &str,
        ) -> std::result::Result<(), E> {
            let mut keys: Vec<&String> = map.keys().filter(|k| *k != "model").collect();
            keys.sort_by_key(|k| *k != first);
            for k in keys {
                let text = match &map[k] {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                p.set_param(k, &text)
                    .map_err(|e| E::custom(format!("model.{k}: {e}")))?;
            }
            Ok(())
        }
        let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let Some(name) = map.get("model").and_then(|v| v.as_str()) else {
            return serde_json::from_value(serde_json::Value::Object(map))
                .map(TrainModel::Deep)
                .map_err(D::Error::custom);
        };
        let partitioned = match name {
            "lsplm_kmeans" => Some(PartitionedLr::kmeans()),
            "lsplm_tree" => Some(PartitionedLr::tree()),
            _ => None,
        };
        if let Some(mut p) = partitioned {
            set_all::<D::Error>(&mut p, &map, "partitioner")?;
            return Ok(TrainModel::Partitioned(p));
        }
        let gbdt = match name {
            "gbdt" => Some(Gbdt::trees()),
            "gbdt_lr" => Some(Gbdt::lr()),
            _ => None,
        };
        if let Some(mut p) = gbdt {
            set_all::<D::Error>(&mut p, &map, "")?;
            return Ok(TrainModel::Gbdt(p));
        }
        let Some(kind) = ShallowKind::from_name(name) else {
            return Err(D::Error::custom(format!(
                "model = {name:?}: not one of lr, poly2, fm, ffm, lsplm, lsplm_kmeans, lsplm_tree, gbdt, gbdt_lr (a deep network is chosen by [model.net] arch)"
            )));
        };
        let mut p = ShallowCtr::new(kind);
        set_all::<D::Error>(&mut p, &map, "optimizer")?;
        Ok(TrainModel::Shallow(p))
    }
}

/// The data of a CTR run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CtrDataset {
    /// MovieLens 100K as the documents' CTR task (sampled protocol).
    #[serde(rename = "movielens_100k")]
    Movielens100k,
    /// MovieLens 100K as the peer harness's pointwise CTR task (every
    /// rating a row, label = rating ≥ 4, split per user by time; see
    /// `FeatureTask::movielens_ctr`).
    #[serde(rename = "movielens_100k_ctr")]
    Movielens100kCtr,
    /// The peer harness's learning-to-rank split files (`split_dir` with
    /// `train.tsv`, `val.tsv`, `test.tsv`: each user a query, graded
    /// relevance = rating; listwise protocol, NDCG@10; see
    /// `FeatureTask::movielens_ltr_dir`).
    #[serde(rename = "movielens_100k_ltr")]
    Movielens100kLtr,
    /// The session-rec YOOCHOOSE click sample (`split_dir`: the folder of
    /// its train_full and test files) as next-click ranking queries
    /// (listwise protocol; see `FeatureTask::yoochoose_sessions`).
    YoochooseSessions,
    /// The Criteo Kaggle format (pointwise protocol).
    Criteo,
    /// The Avazu format (pointwise protocol).
    Avazu,
    /// The documents' toy CTR log, generated (`data.rows`, `data.seed`;
    /// see `FeatureTask::toy_ctr`).
    ToyCtr,
}

impl CtrDataset {
    /// The name reports give the data.
    pub fn describe(self) -> &'static str {
        match self {
            CtrDataset::Movielens100k => "MovieLens CTR",
            CtrDataset::Movielens100kCtr => "MovieLens 100K CTR",
            CtrDataset::Movielens100kLtr => "MovieLens 100K LTR",
            CtrDataset::YoochooseSessions => "YOOCHOOSE sessions",
            CtrDataset::Criteo => "Criteo",
            CtrDataset::Avazu => "Avazu",
            CtrDataset::ToyCtr => "toy CTR",
        }
    }
}

/// Which CTR task.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtrDataConfig {
    pub dataset: CtrDataset,
    /// MovieLens: a folder with `train.tsv`, `val_candidates.tsv`,
    /// `test_candidates.tsv` (e.g. the peer harness's
    /// `splits/ml100k/loo_sampled`); without it the task samples its own
    /// candidates with `seed`. Criteo / Avazu: a folder with
    /// `train`, `val` and `test` files (`.txt` / `.csv`, e.g. the peer
    /// harness's `splits/ctr/criteo`). Relative to the config file.
    pub split_dir: Option<PathBuf>,
    /// Criteo / Avazu: one file, split at random into 80 % train, 10 %
    /// validation, 10 % test with `seed` (instead of `split_dir`).
    pub file: Option<PathBuf>,
    /// Seed of the candidates and of every epoch's negatives. Defaults to 42.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Embed every field in this many dimensions (the peer harness uses 16);
    /// without it the documents' per-field dims.
    pub field_dim: Option<usize>,
    /// `toy_ctr`: rows to generate. Defaults to 120,000 (the documents').
    pub rows: Option<usize>,
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
        for d in [&mut cfg.data.split_dir, &mut cfg.data.file]
            .into_iter()
            .flatten()
        {
            if d.is_relative() {
                *d = base.join(&*d);
            }
        }
        match (cfg.data.dataset, &cfg.data.split_dir, &cfg.data.file) {
            (CtrDataset::Movielens100kCtr, Some(_), _)
            | (CtrDataset::Movielens100kCtr, _, Some(_)) => {
                return Err(Error::param(
                    "data",
                    "movielens_100k_ctr is built from MovieLens 100K by its rule: give neither split_dir nor file",
                ));
            }
            (CtrDataset::ToyCtr, Some(_), _) | (CtrDataset::ToyCtr, _, Some(_)) => {
                return Err(Error::param(
                    "data",
                    "toy_ctr is generated: give rows and seed, neither split_dir nor file",
                ));
            }
            (CtrDataset::Movielens100k, _, Some(_)) => {
                return Err(Error::param(
                    "data.file",
                    "MovieLens is loaded by name: give split_dir or nothing",
                ));
            }
            (CtrDataset::Movielens100kLtr, None, _)
            | (CtrDataset::Movielens100kLtr, _, Some(_)) => {
                return Err(Error::param(
                    "data",
                    "movielens_100k_ltr reads the peer harness's split files: give split_dir (e.g. splits/ctr/ml100k_ltr), not file",
                ));
            }
            (CtrDataset::YoochooseSessions, None, _)
            | (CtrDataset::YoochooseSessions, _, Some(_)) => {
                return Err(Error::param(
                    "data",
                    "yoochoose_sessions reads a folder with yoochoose-clicks-100k_train_full.txt and yoochoose-clicks-100k_test.txt: give split_dir, not file",
                ));
            }
            (CtrDataset::Criteo | CtrDataset::Avazu, None, None)
            | (CtrDataset::Criteo | CtrDataset::Avazu, Some(_), Some(_)) => {
                return Err(Error::param(
                    "data",
                    "Criteo and Avazu need exactly one of split_dir (train/val/test files) or file",
                ));
            }
            _ => {}
        }
        if cfg.output.dir.is_relative() {
            cfg.output.dir = base.join(&cfg.output.dir);
        }
        cfg.model.check()?;
        Ok(cfg)
    }

    /// Builds the task the config names.
    pub fn task(&self) -> Result<CtrTask> {
        let d = &self.data;
        if d.dataset == CtrDataset::Movielens100k {
            let ml = Dataset::movielens_100k()?;
            let task = match &d.split_dir {
                Some(dir) => MovieLensCtr::from_dir(&ml, dir, d.seed)?,
                None => MovieLensCtr::new(&ml, d.seed)?,
            };
            return Ok(CtrTask::Pairs(match d.field_dim {
                Some(k) => task.uniform_dims(k),
                None => task,
            }));
        }
        let task = if d.dataset == CtrDataset::Movielens100kCtr {
            FeatureTask::movielens_ctr(&Dataset::movielens_100k()?)?
        } else if d.dataset == CtrDataset::ToyCtr {
            FeatureTask::toy_ctr(d.rows.unwrap_or(TOY_ROWS), d.seed)?
        } else {
            let [train, val, test] = self.frames()?;
            let spec = match d.dataset {
                // DLRM reads I1..I13 through its bottom MLP, as the DLRM
                // reference (and the peers' DLRM) preprocess them.
                CtrDataset::Criteo if self.is_dlrm() => FeatureSpec::criteo_dense(),
                CtrDataset::Criteo => FeatureSpec::criteo(),
                CtrDataset::Movielens100kLtr => FeatureSpec::movielens_ltr(6),
                CtrDataset::YoochooseSessions => self.sessions().spec(),
                _ => FeatureSpec::avazu(&train),
            };
            FeatureTask::new(d.dataset.describe(), spec, &train, Some(&val), &test)?
        };
        Ok(CtrTask::Rows(match d.field_dim {
            Some(k) => task.uniform_dims(k),
            None => task,
        }))
    }

    /// The raw train, validation and test rows of a Criteo / Avazu config.
    fn frames(&self) -> Result<[RawFrame; 3]> {
        let d = &self.data;
        if d.dataset == CtrDataset::Movielens100kCtr {
            return Ok(movielens_ctr_frames(&Dataset::movielens_100k()?)?.1);
        }
        if d.dataset == CtrDataset::ToyCtr {
            return crate::data::synthetic::toy_ctr_frame(d.rows.unwrap_or(TOY_ROWS), d.seed)?
                .split_random(0.1, 0.1, d.seed);
        }
        if let (CtrDataset::YoochooseSessions, Some(dir)) = (d.dataset, &d.split_dir) {
            return self.sessions().yoochoose_frames(dir);
        }
        let (read, ext): (fn(&Path) -> Result<RawFrame>, &str) = match d.dataset {
            CtrDataset::Criteo => (|p| RawFrame::read_criteo(p), "txt"),
            CtrDataset::Movielens100kLtr => (
                |p| RawFrame::read_delimited(p, crate::data::Separator::Tab),
                "tsv",
            ),
            _ => (|p| RawFrame::read_avazu(p), "csv"),
        };
        match (&d.split_dir, &d.file) {
            (Some(dir), _) => Ok([
                read(&dir.join(format!("train.{ext}")))?,
                read(&dir.join(format!("val.{ext}")))?,
                read(&dir.join(format!("test.{ext}")))?,
            ]),
            (None, Some(f)) => read(f)?.split_random(0.1, 0.1, d.seed),
            (None, None) => Err(Error::param("data", "give split_dir or file")),
        }
    }

    /// How a session dataset becomes queries: the defaults, under
    /// `data.seed`.
    fn sessions(&self) -> crate::features::SessionQueries {
        crate::features::SessionQueries {
            seed: self.data.seed,
            ..Default::default()
        }
    }

    /// True when the model is a DLRM.
    fn is_dlrm(&self) -> bool {
        matches!(&self.model, TrainModel::Deep(p) if p.net.arch == crate::models::deep::Arch::Dlrm)
    }

    /// Trains (resuming from `output.dir/checkpoints/last` when present),
    /// saves the best model and the test report; returns the report.
    pub fn run(&self) -> Result<Report> {
        let out = &self.output.dir;
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let toml = toml::to_string(self).map_err(|e| Error::Config(format!("config: {e}")))?;
        crate::io::write_atomic(&out.join("config.toml"), toml.as_bytes())?;
        let params = match &self.model {
            TrainModel::Deep(p) => p.clone(),
            TrainModel::Shallow(p) => {
                return self.run_rows(|task| {
                    let m = p.fit(task)?;
                    m.save(out.join(SHALLOW_MODEL))?;
                    Ok(Box::new(m))
                });
            }
            TrainModel::Partitioned(p) => {
                return self.run_rows(|task| {
                    let m = p.fit(task)?;
                    m.save(out.join(PARTITIONED_MODEL))?;
                    Ok(Box::new(m))
                });
            }
            TrainModel::Gbdt(p) => {
                return self.run_rows(|task| {
                    let m = p.fit(task)?;
                    m.save(out.join(GBDT_MODEL))?;
                    Ok(Box::new(m))
                });
            }
        };
        let params = params.checkpoint_dir(out.join("checkpoints")).resume(true);
        let (model, report) = match self.task()? {
            CtrTask::Pairs(task) => {
                let model = params.fit(&task)?;
                let report = model.evaluate(&task.test)?;
                (model, report)
            }
            CtrTask::Rows(task) => {
                let model = params.fit_features(&task)?;
                let report = crate::eval::evaluate_rows(&model, &task.test, &task.name)?;
                (model, report)
            }
        };
        model.save(out.join("model"))?;
        let report = report.named(run_name(out, &model));
        report.save_json(out.join("report.json"))?;
        Ok(report)
    }
}

impl TrainConfig {
    /// A run of a model of the CTR chain: `fit_and_save` fits on the task's
    /// training rows (early stopping on its validation rows) and saves the
    /// model with its encoders; then the test report is written.
    fn run_rows(
        &self,
        fit_and_save: impl FnOnce(&FeatureTask) -> Result<Box<dyn RowScorer>>,
    ) -> Result<Report> {
        let out = &self.output.dir;
        let CtrTask::Rows(task) = self.task()? else {
            return Err(Error::param(
                "data.dataset",
                "the CTR chain trains on feature rows: movielens_100k_ctr, criteo, avazu or toy_ctr",
            ));
        };
        let model = fit_and_save(&task)?;
        let report = crate::eval::evaluate_rows(model.as_ref(), &task.test, &task.name)?
            .named(run_label(out, model.as_ref()));
        report.save_json(out.join("report.json"))?;
        Ok(report)
    }
}

/// The file a CTR-chain run saves its model in.
const SHALLOW_MODEL: &str = "model.recsys";

/// The folder a partitioned LS-PLM run saves its model in.
const PARTITIONED_MODEL: &str = "model.partitioned";

/// The folder a GBDT or GBDT+LR run saves its model in.
const GBDT_MODEL: &str = "model.gbdt";

fn run_label(dir: &Path, model: &dyn RowScorer) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| model.name())
}

/// Rows of the generated toy CTR log by default (the documents').
const TOY_ROWS: usize = 120_000;

/// The task of a [`TrainConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CtrTask {
    /// MovieLens CTR: `(user, item)` pairs, sampled protocol.
    Pairs(MovieLensCtr),
    /// Feature rows (Criteo, Avazu): pointwise protocol.
    Rows(FeatureTask),
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
    // A CTR-chain run: the saved model and its encoders, never refitted.
    let saved: Option<(PathBuf, fn(&Path) -> Result<Box<dyn RowScorer>>)> = match cfg.model {
        TrainModel::Shallow(_) => Some((run.join(SHALLOW_MODEL), |p| {
            Ok(Box::new(ShallowCtrModel::load(p)?))
        })),
        TrainModel::Partitioned(_) => Some((run.join(PARTITIONED_MODEL), |p| {
            Ok(Box::new(PartitionedLrModel::load(p)?))
        })),
        TrainModel::Gbdt(_) => Some((run.join(GBDT_MODEL), |p| Ok(Box::new(GbdtModel::load(p)?)))),
        TrainModel::Deep(_) => None,
    };
    if let Some((path, load)) = saved {
        if full {
            return Err(Error::param(
                "--full",
                "full ranking needs (user, item) pairs: this run was trained on feature rows",
            ));
        }
        if !path.exists() {
            return Err(Error::Config(format!(
                "{}: no trained model here (the run did not finish)",
                path.display()
            )));
        }
        let model = load(&path)?;
        let [_, _, test] = cfg.frames()?;
        let rows = model.encode(&test)?;
        let dataset = cfg.data.dataset.describe();
        return Ok(vec![
            crate::eval::evaluate_rows(model.as_ref(), &rows, dataset)?
                .named(run_label(run, model.as_ref())),
        ]);
    }
    let weights = if dir.join("model.bpk").is_file() {
        dir.to_path_buf()
    } else {
        dir.join("model")
    };
    if !weights.join("model.bpk").is_file() {
        // An interrupted run has checkpoints but no final model yet.
        let saved: Vec<String> = ["checkpoints/best", "checkpoints/last"]
            .iter()
            .filter(|c| run.join(c).join("model.bpk").is_file())
            .map(|c| run.join(c).display().to_string())
            .collect();
        return Err(Error::Config(format!(
            "{}: no trained model here (model.bpk){}",
            weights.display(),
            if saved.is_empty() {
                " and no checkpoint either".to_string()
            } else {
                format!(
                    "; the run stopped before its end, its checkpoints are: {} (pass one to --checkpoint, or run `recsys train` again to resume)",
                    saved.join(", ")
                )
            }
        )));
    }
    if cfg.data.dataset != CtrDataset::Movielens100k {
        if full {
            return Err(Error::param(
                "--full",
                "full ranking needs (user, item) pairs: this run was trained on feature rows",
            ));
        }
        // The saved encoders, never refitted: the test rows are encoded
        // exactly as the model saw its training rows.
        let model = CtrModel::load_features(&weights)?;
        let [_, _, test] = cfg.frames()?;
        let rows = model.encode(&test)?;
        let name = run_name(run, &model);
        let dataset = cfg.data.dataset.describe();
        return Ok(vec![
            crate::eval::evaluate_rows(&model, &rows, dataset)?.named(name),
        ]);
    }
    let CtrTask::Pairs(task) = cfg.task()? else {
        unreachable!("MovieLens configs build pair tasks")
    };
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
