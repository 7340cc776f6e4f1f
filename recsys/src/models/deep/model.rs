//! A fitted CTR network: scoring, sampled and full-ranking evaluation,
//! save/load, and its training history.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use burn::module::Module;

use super::device::{Compute, ResolvedDevice};
use super::net::CtrNet;
use super::train::{CtrEpoch, CtrParams, score_candidates, score_pairs};
use crate::data::Interactions;
use crate::display::{evcxr_emit, html_table, text_table};
use crate::eval::{MetricSeries, full_ranking_metrics, sampled_metrics};
use crate::features::{MovieLensCtr, PairEncoder};
use crate::models::Scorer;
use crate::models::training::{EpochLog, LearningCurve};
use crate::report::Report;
use crate::split::Candidates;
use crate::{Error, Result};

/// A trained CTR network with the feature tables it scores with.
#[derive(Debug)]
pub struct CtrModel {
    net: CtrNet,
    pub params: CtrParams,
    encoder: PairEncoder,
    train: Interactions,
    /// One record per epoch trained.
    pub epochs: Vec<CtrEpoch>,
    /// The epoch whose weights the model holds (best validation NDCG@10).
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
        encoder: PairEncoder,
        train: Interactions,
        epochs: Vec<CtrEpoch>,
        best_epoch: usize,
        stopped_early: bool,
        n_params: usize,
        device: ResolvedDevice,
    ) -> Self {
        CtrModel {
            net,
            params,
            encoder,
            train,
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

    /// The device the model runs on, in words.
    pub fn device(&self) -> &str {
        &self.device.description
    }

    /// A copy of the model on another device (e.g. trained on a GPU, served
    /// on the CPU), with its training history.
    pub fn to(&self, compute: Compute) -> Result<CtrModel> {
        let dev = compute.resolve()?;
        let net = transfer(&self.net, &self.encoder.schema, &self.params.net, &dev)?;
        Ok(CtrModel {
            net,
            params: CtrParams {
                compute,
                ..self.params.clone()
            },
            encoder: self.encoder.clone(),
            train: self.train.clone(),
            epochs: self.epochs.clone(),
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
            n_params: self.n_params,
            device: dev,
        })
    }

    /// Click probabilities of `(user, item)` pairs (dense indices of the
    /// task's universe).
    pub fn predict(&self, users: &[u32], items: &[u32]) -> Vec<f32> {
        score_pairs(
            &self.net,
            &self.encoder,
            users,
            items,
            self.params.eval_batch,
            &self.device.device,
        )
    }

    /// Probabilities of every row of `cands`, in [`Candidates::iter`] order.
    pub fn predict_candidates(&self, cands: &Candidates) -> Vec<f32> {
        score_candidates(
            &self.net,
            &self.encoder,
            cands,
            self.params.eval_batch,
            &self.device.device,
        )
    }

    /// The sampled protocol on `cands` (1 positive + N negatives per user):
    /// HR/NDCG@5/10/20, MRR and user AUC with 95 % CIs over users, global
    /// AUC and LogLoss over rows.
    pub fn evaluate(&self, cands: &Candidates) -> Result<Report> {
        let t = std::time::Instant::now();
        let scores = self.predict_candidates(cands);
        let seconds = t.elapsed().as_secs_f64();
        let scorer = CandidateScores::new(cands, scores, &self.train);
        let (users, series) = sampled_metrics(&scorer, cands, &[5, 10, 20]);
        Ok(self.report(
            users,
            series,
            format!(
                "sampled: 1 positive + {} negatives per user",
                negatives_of(cands)
            ),
            seconds,
        ))
    }

    /// Full ranking: every item except the user's training positives and
    /// the items in `exclude` (e.g. the validation positive) is ranked; the
    /// positives of `cands` are the relevant items. HR/NDCG/… @5/10/20.
    pub fn evaluate_full(
        &self,
        cands: &Candidates,
        exclude: Option<&Candidates>,
    ) -> Result<Report> {
        let t = std::time::Instant::now();
        let n_items = self.encoder.n_items();
        let mut relevant: Vec<Option<Vec<u32>>> = vec![None; self.train.n_users()];
        for (u, items, labels) in cands.iter() {
            let pos: Vec<u32> = items
                .iter()
                .zip(labels)
                .filter(|(_, l)| **l)
                .map(|(i, _)| *i)
                .collect();
            if !pos.is_empty() {
                relevant[u as usize] = Some(pos);
            }
        }
        let mut hidden: HashMap<u32, Vec<u32>> = HashMap::new();
        if let Some(ex) = exclude {
            for (u, items, labels) in ex.iter() {
                hidden.entry(u).or_default().extend(
                    items
                        .iter()
                        .zip(labels)
                        .filter(|(_, l)| **l)
                        .map(|(i, _)| *i),
                );
            }
        }
        let users: Vec<u32> = (0..relevant.len() as u32)
            .filter(|&u| relevant[u as usize].is_some())
            .collect();
        let all_items: Vec<u32> = (0..n_items as u32).collect();
        let mut lists = Vec::with_capacity(users.len());
        // Users in blocks: one forward pass per block of users × all items.
        let block = (self.params.eval_batch / n_items.max(1)).max(1);
        for chunk in users.chunks(block) {
            let us: Vec<u32> = chunk
                .iter()
                .flat_map(|&u| std::iter::repeat_n(u, n_items))
                .collect();
            let is: Vec<u32> = chunk
                .iter()
                .flat_map(|_| all_items.iter().copied())
                .collect();
            let scores = self.predict(&us, &is);
            for (k, &u) in chunk.iter().enumerate() {
                let mut s = scores[k * n_items..(k + 1) * n_items].to_vec();
                for &i in self.train.user_items(u) {
                    s[i as usize] = f32::NEG_INFINITY;
                }
                for &i in hidden.get(&u).map(Vec::as_slice).unwrap_or(&[]) {
                    s[i as usize] = f32::NEG_INFINITY;
                }
                lists.push((u, crate::metrics::ranking::top_k_indices(&s, 20)));
            }
        }
        let seconds = t.elapsed().as_secs_f64();
        let series = full_ranking_metrics(&lists, &relevant, &self.train, &[5, 10, 20]);
        Ok(self.report(
            users,
            series,
            "full ranking over all items not among the user's training positives".into(),
            seconds,
        ))
    }

    fn report(
        &self,
        users: Vec<u32>,
        series: Vec<MetricSeries>,
        protocol: String,
        seconds: f64,
    ) -> Report {
        let fit: f64 = self
            .epochs
            .iter()
            .map(|e| e.train_seconds + e.eval_seconds)
            .sum::<f64>()
            .max(0.0);
        Report::from_series(
            self.name().to_string(),
            self.param_pairs(),
            "MovieLens CTR".into(),
            protocol,
            users
                .iter()
                .map(|&u| self.train.users().raw(u).to_string())
                .collect(),
            series,
            Vec::new(),
            fit,
            seconds,
            self.params.seed,
        )
    }

    fn param_pairs(&self) -> Vec<(String, String)> {
        let n = &self.params.net;
        let mut v = vec![
            ("fm_dim".to_string(), n.fm_dim.to_string()),
            ("hidden".to_string(), format!("{:?}", n.hidden)),
            ("lr".to_string(), self.params.lr.to_string()),
            ("batch_size".to_string(), self.params.batch_size.to_string()),
        ];
        if self.best_epoch > 0 {
            v.push(("best_epoch".into(), self.best_epoch.to_string()));
        }
        if n.dropout > 0.0 {
            v.push(("dropout".into(), n.dropout.to_string()));
        }
        v
    }

    /// Mean seconds of one training epoch (sampling + all batches).
    pub fn epoch_seconds(&self) -> f64 {
        if self.epochs.is_empty() {
            return f64::NAN;
        }
        self.epochs.iter().map(|e| e.train_seconds).sum::<f64>() / self.epochs.len() as f64
    }

    /// The history as a [`LearningCurve`] (loss and validation NDCG@10 per
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
                    val_ndcg: Some(e.val_ndcg10),
                    seconds: e.train_seconds,
                })
                .collect(),
            kept_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
        }
    }

    /// Saves the weights (`model.bpk`, a burn record) and the
    /// hyper-parameters (`params.json`) into `dir`, each written atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        save_weights(&self.net, dir)?;
        let json = serde_json::to_string_pretty(&self.params)
            .map_err(|e| Error::Config(format!("params: {e}")))?;
        crate::io::write_atomic(&dir.join("params.json"), json.as_bytes())
    }

    /// Loads a model saved by [`CtrModel::save`] (or a trainer checkpoint
    /// folder, `best/` or `last/`) for `task`, whose schema must be the one
    /// it was trained with.
    pub fn load(dir: impl AsRef<Path>, task: &MovieLensCtr) -> Result<CtrModel> {
        let dir = dir.as_ref();
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
        let dev = params.compute.resolve()?;
        let net = CtrNet::new(&task.schema, &params.net, &dev.device)
            .try_load_file(dir.join("model.bpk"))
            .map_err(|e| Error::Config(format!("{}: {e}", dir.join("model.bpk").display())))?;
        let n_params = net.num_params();
        Ok(CtrModel::new(
            net,
            params,
            task.encoder.clone(),
            task.train.clone(),
            Vec::new(),
            0,
            false,
            n_params,
            dev,
        ))
    }

    /// Summary and per-epoch table as HTML.
    pub fn to_html(&self) -> String {
        let head: Vec<String> = [
            "epoch",
            "lr",
            "loss",
            "val AUC",
            "val HR@10",
            "val NDCG@10",
            "train s",
            "eval s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let rows = self.epoch_rows();
        html_table(Some(&self.caption()), &head, &rows)
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
                    format!("{:.4}", e.val_auc),
                    format!("{:.4}", e.val_hr10),
                    format!("{:.4}", e.val_ndcg10),
                    format!("{:.2}", e.train_seconds),
                    format!("{:.2}", e.eval_seconds),
                ]
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
        let head: Vec<String> = [
            "epoch", "lr", "loss", "AUC", "HR@10", "NDCG@10", "train s", "eval s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        writeln!(f, "{}", self.caption())?;
        write!(f, "{}", text_table(&head, &self.epoch_rows()))
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

/// Writes `net`'s weights (a burnpack record) to `dir/model.bpk`
/// atomically, creating `dir`.
pub(crate) fn save_weights(net: &CtrNet, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let bytes =
        net.clone().into_record().into_bytes().map_err(|e| {
            Error::Config(format!("encoding the weights for {}: {e}", dir.display()))
        })?;
    crate::io::write_atomic(&dir.join("model.bpk"), &bytes)
}

fn negatives_of(c: &Candidates) -> usize {
    c.iter()
        .map(|(_, items, labels)| items.len() - labels.iter().filter(|l| **l).count())
        .max()
        .unwrap_or(0)
}

/// Precomputed scores of candidate rows as a [`Scorer`] for the shared
/// sampled-metric code.
pub(crate) struct CandidateScores<'a> {
    offsets: HashMap<u32, usize>,
    scores: Vec<f32>,
    train: &'a Interactions,
}

impl<'a> CandidateScores<'a> {
    pub(crate) fn new(cands: &Candidates, scores: Vec<f32>, train: &'a Interactions) -> Self {
        let mut offsets = HashMap::new();
        let mut at = 0;
        for (u, items, _) in cands.iter() {
            offsets.insert(u, at);
            at += items.len();
        }
        CandidateScores {
            offsets,
            scores,
            train,
        }
    }
}

impl Scorer for CandidateScores<'_> {
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        self.train
    }
    fn score_all(&self, _user: u32, out: &mut [f32]) {
        out.fill(f32::NAN);
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        let at = self.offsets[&user];
        out.copy_from_slice(&self.scores[at..at + items.len()]);
    }
    fn outputs_probabilities(&self) -> bool {
        true
    }
}
