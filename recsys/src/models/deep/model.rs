//! A fitted CTR network: scoring of `(user, item)` pairs or of encoded
//! feature rows, save/load with its inputs' encoders, and its training
//! history. Evaluation is the harness's: `CtrModel::evaluate_rows` in
//! `eval`, `CtrModel::evaluate` / `evaluate_full` through the
//! [`crate::Pipeline`] (`pipeline::trained`).

use std::fmt;
use std::path::Path;

use burn::module::Module;

use super::device::{Compute, ResolvedDevice};
use super::net::CtrNet;
use super::train::{
    CtrEpoch, CtrParams, ValidationMetric, score_candidates, score_pairs, score_rows,
};
use crate::data::{Interactions, RawFrame};
use crate::display::{evcxr_emit, html_table, text_table};
use crate::features::{DatasetSchema, FeatureEncoders, FeatureRows, MovieLensCtr, PairEncoder};
use crate::models::training::{EpochLog, LearningCurve};
use crate::split::Candidates;
use crate::{Error, Result};

/// What a network reads: `(user, item)` pairs through per-user and
/// per-item feature tables (MovieLens CTR), or feature rows encoded by
/// fitted encoders (any feature task).
#[derive(Debug, Clone)]
pub(crate) enum CtrInputs {
    Pairs {
        encoder: PairEncoder,
        train: Interactions,
    },
    Rows {
        encoders: FeatureEncoders,
    },
}

impl CtrInputs {
    fn schema(&self) -> &DatasetSchema {
        match self {
            CtrInputs::Pairs { encoder, .. } => &encoder.schema,
            CtrInputs::Rows { encoders } => &encoders.schema,
        }
    }

    /// The fitted encoders of a row model (`encoders.json`) as a file to
    /// save beside its weights; pair models rebuild their tables from the
    /// task.
    pub(crate) fn file(&self) -> Result<Option<(&'static str, Vec<u8>)>> {
        match self {
            CtrInputs::Rows { encoders } => {
                let json = serde_json::to_vec(encoders)
                    .map_err(|e| Error::Config(format!("encoders: {e}")))?;
                Ok(Some((ENCODERS, json)))
            }
            CtrInputs::Pairs { .. } => Ok(None),
        }
    }
}

/// The fitted encoders saved beside a row model's weights.
const ENCODERS: &str = "encoders.json";

/// A trained CTR network with the feature tables or encoders it scores with.
#[derive(Debug, Clone)]
pub struct CtrModel {
    pub(super) net: CtrNet,
    pub params: CtrParams,
    pub(super) inputs: CtrInputs,
    /// What early stopping maximised.
    pub validation: ValidationMetric,
    /// One record per epoch trained.
    pub epochs: Vec<CtrEpoch>,
    /// The epoch whose weights the model holds (best validation value).
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub n_params: usize,
    device: ResolvedDevice,
}

impl CtrModel {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        net: CtrNet,
        params: CtrParams,
        inputs: CtrInputs,
        validation: ValidationMetric,
        epochs: Vec<CtrEpoch>,
        best_epoch: usize,
        stopped_early: bool,
        n_params: usize,
        device: ResolvedDevice,
    ) -> Self {
        CtrModel {
            net,
            params,
            inputs,
            validation,
            epochs,
            best_epoch,
            stopped_early,
            n_params,
            device,
        }
    }

    /// Architecture name (`DeepFM`, ...).
    pub fn name(&self) -> &'static str {
        self.params.net.arch.name()
    }

    pub(super) fn device_handle(&self) -> &ResolvedDevice {
        &self.device
    }

    /// The device the model runs on, in words.
    pub fn device(&self) -> &str {
        &self.device.description
    }

    /// A copy of the model on another device (e.g. trained on a GPU, served
    /// on the CPU), with its training history.
    pub fn to(&self, compute: Compute) -> Result<CtrModel> {
        let dev = compute.resolve()?;
        let net = transfer(&self.net, self.inputs.schema(), &self.params.net, &dev)?;
        Ok(CtrModel {
            net,
            params: CtrParams {
                compute,
                ..self.params.clone()
            },
            inputs: self.inputs.clone(),
            validation: self.validation,
            epochs: self.epochs.clone(),
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
            n_params: self.n_params,
            device: dev,
        })
    }

    /// The schema of the fields the network reads.
    pub fn schema(&self) -> &DatasetSchema {
        self.inputs.schema()
    }

    /// The fitted encoders of a model trained on a feature task.
    pub fn encoders(&self) -> Option<&FeatureEncoders> {
        match &self.inputs {
            CtrInputs::Rows { encoders } => Some(encoders),
            CtrInputs::Pairs { .. } => None,
        }
    }

    /// The pair tables and training interactions of a MovieLens CTR model.
    pub(crate) fn pairs(&self) -> Result<(&PairEncoder, &Interactions)> {
        match &self.inputs {
            CtrInputs::Pairs { encoder, train } => Ok((encoder, train)),
            CtrInputs::Rows { .. } => Err(Error::Config(format!(
                "this {} was trained on feature rows: score rows (predict_rows), not (user, item) pairs",
                self.name()
            ))),
        }
    }

    /// Click probabilities of `(user, item)` pairs (dense indices of the
    /// task's universe); an error for a model trained on feature rows.
    pub fn predict(&self, users: &[u32], items: &[u32]) -> Result<Vec<f32>> {
        let (encoder, _) = self.pairs()?;
        Ok(score_pairs(
            &self.net,
            encoder,
            users,
            items,
            self.params.eval_batch,
            &self.device.device,
        ))
    }

    /// Probabilities of every row of `cands`, in [`Candidates::iter`] order.
    pub fn predict_candidates(&self, cands: &Candidates) -> Result<Vec<f32>> {
        let (encoder, _) = self.pairs()?;
        Ok(score_candidates(
            &self.net,
            encoder,
            cands,
            self.params.eval_batch,
            &self.device.device,
        ))
    }

    /// Click probabilities of encoded rows, in row order; the rows' schema
    /// must be the model's (same encoders).
    pub fn predict_rows(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        let encoders = self.encoders().ok_or_else(|| {
            Error::Config(format!(
                "this {} scores (user, item) pairs of MovieLens CTR, not feature rows",
                self.name()
            ))
        })?;
        crate::models::rows::check_rows(encoders, rows)?;
        Ok(score_rows(
            &self.net,
            &encoders.schema,
            rows,
            self.params.eval_batch,
            &self.device.device,
        ))
    }

    /// Encodes raw rows with the encoders the model was trained with
    /// (never refitted).
    pub fn encode(&self, frame: &RawFrame) -> Result<FeatureRows> {
        self.encoders()
            .ok_or_else(|| Error::Config(format!("this {} has no feature encoders", self.name())))?
            .encode(frame)
    }

    /// Mean seconds of one training epoch (sampling + all batches).
    pub fn epoch_seconds(&self) -> f64 {
        if self.epochs.is_empty() {
            return f64::NAN;
        }
        self.epochs.iter().map(|e| e.train_seconds).sum::<f64>() / self.epochs.len() as f64
    }

    /// The history as a [`LearningCurve`] (loss and validation value per
    /// epoch), for its table and chart.
    pub fn learning_curve(&self) -> LearningCurve {
        LearningCurve {
            model: self.name().to_string(),
            epochs: self
                .epochs
                .iter()
                .map(|e| EpochLog {
                    epoch: e.epoch,
                    loss: Some(e.loss),
                    val_ndcg: Some(match self.validation {
                        ValidationMetric::SampledNdcg10 | ValidationMetric::QueryNdcg10 => {
                            e.val_ndcg10
                        }
                        _ => e.val_auc,
                    }),
                    seconds: e.train_seconds,
                })
                .collect(),
            kept_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
        }
    }

    /// Saves the weights (`model.bpk`, a burn record), the
    /// hyper-parameters (`params.json`) and, for a row model, the fitted
    /// encoders (`encoders.json`) as one folder `dir`, written
    /// all-or-nothing ([`crate::io::write_folder_atomic`]).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let json = serde_json::to_vec_pretty(&self.params)
            .map_err(|e| Error::Config(format!("params: {e}")))?;
        let mut files = vec![
            ("model.bpk", weight_bytes(&self.net)?),
            ("params.json", json),
        ];
        files.extend(self.inputs.file()?);
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        crate::io::write_folder_atomic(dir.as_ref(), &refs)
    }

    /// Loads a model saved by [`CtrModel::save`] (or a trainer checkpoint
    /// folder, `best/` or `last/`) for `task`, whose schema must be the one
    /// it was trained with.
    pub fn load(dir: impl AsRef<Path>, task: &MovieLensCtr) -> Result<CtrModel> {
        let inputs = CtrInputs::Pairs {
            encoder: task.encoder.clone(),
            train: task.train.clone(),
        };
        Self::load_inputs(dir.as_ref(), inputs, ValidationMetric::SampledNdcg10)
    }

    /// Loads a model trained on a feature task, with the encoders saved
    /// beside it (`encoders.json`; never refitted).
    pub fn load_features(dir: impl AsRef<Path>) -> Result<CtrModel> {
        let dir = dir.as_ref();
        let path = dir.join(ENCODERS);
        let encoders: FeatureEncoders =
            serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let validation = if encoders.spec.graded.is_some() {
            ValidationMetric::QueryNdcg10
        } else {
            ValidationMetric::Auc
        };
        Self::load_inputs(dir, CtrInputs::Rows { encoders }, validation)
    }

    fn load_inputs(
        dir: &Path,
        inputs: CtrInputs,
        validation: ValidationMetric,
    ) -> Result<CtrModel> {
        let params: CtrParams = if dir.join("params.json").is_file() {
            let path = dir.join("params.json");
            serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
        } else {
            let path = dir.join("state.json");
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?,
            )
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            serde_json::from_value(v["params"].clone())
                .map_err(|e| Error::Config(format!("{}: params: {e}", path.display())))?
        };
        // Parameters edited or damaged on disk are refused before the
        // network is built from them (burn panics on, e.g., a dropout of 1).
        params.check().map_err(|e| {
            Error::Config(format!(
                "{}: the saved parameters are invalid: {e}",
                dir.display()
            ))
        })?;
        let dev = params.compute.resolve()?;
        let net = load_weights(
            CtrNet::new(inputs.schema(), &params.net, &dev.device),
            &dir.join("model.bpk"),
        )?;
        let n_params = net.num_params();
        Ok(CtrModel::new(
            net,
            params,
            inputs,
            validation,
            Vec::new(),
            0,
            false,
            n_params,
            dev,
        ))
    }

    /// Summary and per-epoch table as HTML.
    pub fn to_html(&self) -> String {
        html_table(
            Some(&self.caption()),
            &self.epoch_head(),
            &self.epoch_rows(),
        )
    }

    fn epoch_head(&self) -> Vec<String> {
        let val: &[&str] = match self.validation {
            ValidationMetric::SampledNdcg10 => &["val AUC", "val HR@10", "val NDCG@10"],
            ValidationMetric::QueryNdcg10 => &["val NDCG@10", "val AUC"],
            _ => &["val AUC", "val LogLoss"],
        };
        ["epoch", "lr", "loss"]
            .iter()
            .chain(val)
            .chain(&["train s", "eval s"])
            .map(|s| s.to_string())
            .collect()
    }

    fn caption(&self) -> String {
        format!(
            "{} · {} parameters · {} · kept epoch {} of {}{}",
            self.name(),
            self.n_params,
            self.device.description,
            self.best_epoch,
            self.epochs.len(),
            if self.stopped_early {
                " (stopped early)"
            } else {
                ""
            }
        )
    }

    fn epoch_rows(&self) -> Vec<Vec<String>> {
        self.epochs
            .iter()
            .map(|e| {
                vec![
                    format!(
                        "{}{}",
                        e.epoch,
                        if e.epoch == self.best_epoch { " *" } else { "" }
                    ),
                    format!("{:.2e}", e.lr),
                    format!("{:.4}", e.loss),
                ]
                .into_iter()
                .chain(match self.validation {
                    ValidationMetric::SampledNdcg10 => vec![
                        format!("{:.4}", e.val_auc),
                        format!("{:.4}", e.val_hr10),
                        format!("{:.4}", e.val_ndcg10),
                    ],
                    ValidationMetric::QueryNdcg10 => {
                        vec![format!("{:.4}", e.val_ndcg10), format!("{:.4}", e.val_auc)]
                    }
                    _ => vec![format!("{:.4}", e.val_auc), format!("{:.4}", e.val_logloss)],
                })
                .chain([
                    format!("{:.2}", e.train_seconds),
                    format!("{:.2}", e.eval_seconds),
                ])
                .collect()
            })
            .collect()
    }

    /// Renders [`CtrModel::to_html`] in a notebook.
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html());
    }
}

impl fmt::Display for CtrModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.caption())?;
        write!(f, "{}", text_table(&self.epoch_head(), &self.epoch_rows()))
    }
}

/// A copy of `net` (built for `schema` and `cfg`) on `dev`, through its
/// record: burn tensors do not move between backends.
pub(crate) fn transfer(
    net: &CtrNet,
    schema: &crate::features::DatasetSchema,
    cfg: &super::net::NetConfig,
    dev: &ResolvedDevice,
) -> Result<CtrNet> {
    let bytes =
        net.clone().into_record().into_bytes().map_err(|e| {
            Error::Config(format!("encoding the weights to move them to {dev}: {e}"))
        })?;
    let record = burn::store::ModuleRecord::from_bytes(bytes)
        .map_err(|e| Error::Config(format!("decoding the weights: {e}")))?;
    CtrNet::new(schema, cfg, &dev.device)
        .try_load_record(record)
        .map_err(|e| Error::Config(format!("loading the weights on {dev}: {e}")))
}

/// Loads `path` (a burnpack `model.bpk`) into `net`, read whole into memory
/// first: burn's file loader reads tensors lazily, so a file replaced or
/// removed afterwards (an older checkpoint generation) would fail at first
/// use, in a worker thread, instead of here.
pub(crate) fn load_weights(net: CtrNet, path: &Path) -> Result<CtrNet> {
    let fail = |e: String| Error::Config(format!("{}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| fail(e.to_string()))?;
    net.try_load_record(record).map_err(|e| fail(e.to_string()))
}

/// `net`'s weights as a burnpack record (the bytes of `model.bpk`).
pub(crate) fn weight_bytes(net: &CtrNet) -> Result<Vec<u8>> {
    net.clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| Error::Config(format!("encoding the weights: {e}")))
}
