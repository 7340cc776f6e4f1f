//! Training the shallow CTR models, the fitted model, and its learning
//! curve.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kernel::{
    Geometry, Grads, Scratch, Step, apply, backward, initial_state, logit, step_in_place,
};
use super::layout::Layout;
use super::{CtrOptimizer, ShallowCtr, ShallowKind, StopOn};
use crate::data::CriteoStream;
use crate::display::{html_table, text_table};
use crate::features::{CtrBatch, FeatureEncoders, FeatureRows, FeatureTask};
use crate::metrics::pointwise::{auc, log_loss};
use crate::models::rows::{RowScorer, check_rows};
use crate::plot::{Chart, Scale, line_chart};
use crate::{Error, Result};

/// One training epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtrEpoch {
    /// 1-based.
    pub epoch: usize,
    /// Mean training LogLoss of the epoch's steps (each row scored just
    /// before its update).
    pub loss: f64,
    /// Validation AUC and LogLoss after the epoch (when the task has
    /// validation rows).
    pub val_auc: Option<f64>,
    pub val_logloss: Option<f64>,
    /// Seconds of training (validation excluded).
    pub seconds: f64,
}

/// The learning curve of a fit and the epoch the model keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CtrCurve {
    pub model: String,
    pub epochs: Vec<CtrEpoch>,
    /// The best validation epoch (the last without validation rows).
    pub kept_epoch: usize,
    pub stopped_early: bool,
}

impl CtrCurve {
    fn headers() -> Vec<String> {
        [
            "epoch",
            "train LogLoss",
            "val AUC",
            "val LogLoss",
            "ms",
            "kept",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let opt = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.4}"));
        self.epochs
            .iter()
            .map(|e| {
                vec![
                    e.epoch.to_string(),
                    format!("{:.4}", e.loss),
                    opt(e.val_auc),
                    opt(e.val_logloss),
                    format!("{:.0}", e.seconds * 1e3),
                    if e.epoch == self.kept_epoch {
                        "✓".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect()
    }
    /// An HTML table of the curve.
    pub fn to_html(&self) -> String {
        html_table(
            Some(&format!("{}: learning curve", self.model)),
            &Self::headers(),
            &self.rows(),
        )
    }
    /// Training LogLoss, validation LogLoss and validation AUC per epoch.
    pub fn chart(&self) -> Chart {
        let x: Vec<f64> = self.epochs.iter().map(|e| e.epoch as f64).collect();
        let mut series = vec![(
            "train LogLoss".to_string(),
            x.clone(),
            self.epochs.iter().map(|e| e.loss).collect(),
        )];
        type Get = fn(&CtrEpoch) -> Option<f64>;
        let picks: [(&str, Get); 2] = [
            ("validation LogLoss", |e| e.val_logloss),
            ("validation AUC", |e| e.val_auc),
        ];
        for (name, get) in picks {
            let (vx, vy): (Vec<f64>, Vec<f64>) = self
                .epochs
                .iter()
                .filter_map(|e| get(e).map(|v| (e.epoch as f64, v)))
                .unzip();
            if !vx.is_empty() {
                series.push((name.to_string(), vx, vy));
            }
        }
        line_chart(
            &format!("{}: learning curve", self.model),
            "epoch",
            "AUC / LogLoss",
            series,
            (Scale::Linear, Scale::Linear),
            false,
        )
    }
    /// Shows the table in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for CtrCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: learning curve", self.model)?;
        f.write_str(&text_table(&Self::headers(), &self.rows()))
    }
}

/// A fitted LR, Poly2, FM or FFM.
#[derive(Debug, Clone)]
pub struct ShallowCtrModel {
    pub(crate) params: ShallowCtr,
    pub(crate) encoders: FeatureEncoders,
    pub(crate) geo: Geometry,
    pub(crate) layout: Layout,
    pub(crate) theta: Vec<f32>,
    pub(crate) curve: CtrCurve,
    pub(crate) seconds: f64,
}

#[inline]
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[inline]
fn row_loss(p: f32, y: f32) -> f64 {
    let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
    if y > 0.5 { -p.ln() } else { -(1.0 - p).ln() }
}

/// P(click) of every row of `b`, in parallel.
fn predict(geo: &Geometry, layout: &Layout, theta: &[f32], b: &CtrBatch) -> Vec<f32> {
    (0..b.len)
        .into_par_iter()
        .with_min_len(256)
        .map_init(Scratch::default, |s, r| {
            layout.row(b, r, &mut s.feats);
            sigmoid(logit(geo, theta, s))
        })
        .collect()
}

/// The row layout and parameter geometry of `p` over `schema`'s fields.
fn shape(p: &ShallowCtr, schema: &crate::features::DatasetSchema) -> (Layout, Geometry) {
    let layout = Layout::new(schema);
    let geo = Geometry::new(
        p.model,
        layout.n_features,
        layout.n_fields(),
        p.factors,
        p.cross_buckets,
    );
    (layout, geo)
}

/// Refuses a model whose parameters (θ, the optimizer's two states, the
/// gradient buffer and the early-stopping copy) would not fit in memory.
fn check_size(geo: &Geometry) -> Result<()> {
    let n = geo
        .checked_n_params()
        .ok_or_else(|| Error::param("factors", "the model's size overflows"))?;
    let what = if geo.kind == ShallowKind::Poly2 {
        "cross_buckets"
    } else {
        "factors"
    };
    super::super::check_factor_memory(what, 5 * n as u128)
}

/// Normal draws by Box–Muller.
fn normal(rng: &mut rand::rngs::Xoshiro256PlusPlus) -> f32 {
    let (a, b): (f32, f32) = (rng.random::<f32>().max(1e-12), rng.random());
    (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
}

/// [`ShallowCtr::fit`] starting from `init`'s parameters (a model over the
/// same encoders: a warm start), FTRL's `z` set so that its weights are
/// `init`'s at the first step.
pub(crate) fn warm_fit(
    p: &ShallowCtr,
    task: &FeatureTask,
    init: Option<&ShallowCtrModel>,
) -> Result<ShallowCtrModel> {
    p.check()?;
    fit(p, task, init)
}

pub(super) fn fit(
    p: &ShallowCtr,
    task: &FeatureTask,
    init: Option<&ShallowCtrModel>,
) -> Result<ShallowCtrModel> {
    if task.train.is_empty() {
        return Err(Error::InvalidData(format!(
            "{}: no training rows",
            task.name
        )));
    }
    train(
        p,
        &task.encoders,
        Source::Rows(&task.train.rows),
        task.validation.as_ref(),
        init,
    )
}

/// Where an epoch's training rows come from.
pub(super) enum Source<'a> {
    /// One encoded batch, shuffled as a whole every epoch.
    Rows(&'a CtrBatch),
    /// A file read and encoded chunk by chunk, each chunk shuffled.
    Stream(&'a CriteoStream),
}

/// One pass over `order` of `b` (per sample or in mini-batches); returns
/// the summed training LogLoss.
#[allow(clippy::too_many_arguments)]
fn pass(
    p: &ShallowCtr,
    geo: &Geometry,
    layout: &Layout,
    step: &Step,
    (theta, s1, s2): (&mut Vec<f32>, &mut Vec<f32>, &mut Vec<f32>),
    grads: &mut Grads,
    s: &mut Scratch,
    b: &CtrBatch,
    order: &[usize],
) -> f64 {
    let mut loss = 0.0f64;
    if p.batch_size == 1 {
        // FM's and FFM's rows touch many coordinates once each: updated
        // in place (a sequence field could repeat an id: buffered).
        let direct = matches!(geo.kind, ShallowKind::Fm | ShallowKind::Ffm)
            && !layout.has_sequences()
            && !p.buffered;
        for &r in order {
            layout.row(b, r, &mut s.feats);
            let prob = sigmoid(logit(geo, theta, s));
            let y = b.labels[r];
            loss += row_loss(prob, y);
            if direct {
                step_in_place(geo, step, theta, s1, s2, s, prob - y);
                continue;
            }
            backward(geo, theta, s, prob - y, grads);
            apply(geo, step, theta, s1, s2, grads, 1.0);
        }
    } else {
        for chunk in order.chunks(p.batch_size) {
            // Scored in parallel against the same θ, in row order.
            let probs: Vec<f32> = chunk
                .par_iter()
                .with_min_len(64)
                .map_init(Scratch::default, |s, &r| {
                    layout.row(b, r, &mut s.feats);
                    sigmoid(logit(geo, theta, s))
                })
                .collect();
            for (&r, &prob) in chunk.iter().zip(&probs) {
                let y = b.labels[r];
                loss += row_loss(prob, y);
                layout.row(b, r, &mut s.feats);
                logit(geo, theta, s);
                backward(geo, theta, s, prob - y, grads);
            }
            let scale = 1.0 / chunk.len() as f32;
            apply(geo, step, theta, s1, s2, grads, scale);
        }
    }
    loss
}

/// The training loop: epochs over `source`, validation after each one,
/// early stopping, the best epoch's parameters kept.
pub(super) fn train(
    p: &ShallowCtr,
    encoders: &FeatureEncoders,
    source: Source<'_>,
    validation: Option<&FeatureRows>,
    init: Option<&ShallowCtrModel>,
) -> Result<ShallowCtrModel> {
    let t0 = Instant::now();
    let (layout, geo) = shape(p, &encoders.schema);
    check_size(&geo)?;
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let mut theta = vec![0.0f32; geo.n_params()];
    for v in &mut theta[geo.lin_end()..] {
        *v = p.init_std * normal(&mut rng);
    }
    let (mut s1, mut s2) = initial_state(&geo, p.optimizer);
    if let Some(m) = init {
        if m.geo != geo {
            return Err(Error::Config(
                "a warm start needs a model of the same shape".into(),
            ));
        }
        theta.copy_from_slice(&m.theta);
        if let CtrOptimizer::Ftrl { alpha, beta } = p.optimizer {
            // w = −(z − sgn(z)λ1) / (β/α + λ2) at n = 0, solved for z.
            for c in 0..geo.lin_end() {
                let w = theta[c];
                let (l1, l2) = if c == 0 { (0.0, 0.0) } else { (p.l1, p.l2) };
                s1[c] = if w == 0.0 {
                    0.0
                } else {
                    -w * (beta / alpha + l2) - w.signum() * l1
                };
            }
        }
    }
    let mut grads = Grads::new(&geo);
    let step = Step {
        optimizer: p.optimizer,
        l1: p.l1,
        l2: p.l2,
        factor_l2: p.factor_l2,
        l21: p.l21,
    };
    let mut order: Vec<usize> = match source {
        Source::Rows(b) => (0..b.len).collect(),
        Source::Stream(_) => Vec::new(),
    };
    let mut curve = CtrCurve {
        model: p.model.name().into(),
        ..CtrCurve::default()
    };
    let val = validation.filter(|v| !v.is_empty());
    let val_labels = val.map(FeatureRows::positives);
    let mut best: Option<(f64, Vec<f32>)> = None;
    let mut since_best = 0;
    let mut s = Scratch::default();
    for epoch in 1..=p.epochs {
        let te = Instant::now();
        let (loss, rows) = match source {
            Source::Rows(b) => {
                order.shuffle(&mut rng);
                let st = (&mut theta, &mut s1, &mut s2);
                (
                    pass(p, &geo, &layout, &step, st, &mut grads, &mut s, b, &order),
                    b.len,
                )
            }
            Source::Stream(stream) => {
                let mut loss = 0.0;
                let rows = stream.for_each_chunk(&mut |frame| {
                    let chunk = encoders.encode(&frame)?;
                    order.clear();
                    order.extend(0..chunk.len());
                    order.shuffle(&mut rng);
                    let st = (&mut theta, &mut s1, &mut s2);
                    loss += pass(
                        p,
                        &geo,
                        &layout,
                        &step,
                        st,
                        &mut grads,
                        &mut s,
                        &chunk.rows,
                        &order,
                    );
                    Ok(())
                })?;
                (loss, rows)
            }
        };
        if rows == 0 {
            return Err(Error::InvalidData(format!(
                "{}: no training rows",
                match source {
                    Source::Rows(_) => "the task".to_string(),
                    Source::Stream(st) => st.path.display().to_string(),
                }
            )));
        }
        let seconds = te.elapsed().as_secs_f64();
        if theta.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "{}: training diverged in epoch {epoch} (a parameter is not finite); lower the learning rate",
                p.model.name()
            )));
        }
        let (mut val_auc, mut val_logloss) = (None, None);
        if let (Some(v), Some(labels)) = (val, &val_labels) {
            let probs = predict(&geo, &layout, &theta, &v.rows);
            val_auc = auc(&probs, labels);
            val_logloss = Some(log_loss(&probs, labels));
        }
        curve.epochs.push(CtrEpoch {
            epoch,
            loss: loss / rows as f64,
            val_auc,
            val_logloss,
            seconds,
        });
        if p.verbose {
            let e = curve.epochs.last().expect("pushed");
            println!(
                "{} epoch {epoch}: train LogLoss {:.4}, val AUC {}, val LogLoss {} ({:.2} s)",
                p.model.name(),
                e.loss,
                val_auc.map_or("–".into(), |v| format!("{v:.4}")),
                val_logloss.map_or("–".into(), |v| format!("{v:.4}")),
                seconds
            );
        }
        let score = match p.stop_on {
            StopOn::Auc => val_auc,
            StopOn::Logloss => val_logloss.map(|l| -l),
        };
        match score {
            Some(m) if best.as_ref().is_none_or(|(b, _)| m > *b) => {
                best = Some((m, theta.clone()));
                curve.kept_epoch = epoch;
                since_best = 0;
            }
            Some(_) => since_best += 1,
            None => curve.kept_epoch = epoch,
        }
        if p.early_stopping.is_some_and(|pat| since_best >= pat) && epoch < p.epochs {
            curve.stopped_early = true;
            break;
        }
    }
    if let Some((_, t)) = best {
        theta = t;
    }
    Ok(ShallowCtrModel {
        params: p.clone(),
        encoders: encoders.clone(),
        geo,
        layout,
        theta,
        curve,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

impl ShallowCtrModel {
    /// A model of `params` over `encoders`' fields with every parameter 0
    /// (the geometry derived from the two, as at fit time).
    pub(crate) fn assemble(
        params: ShallowCtr,
        encoders: FeatureEncoders,
        curve: CtrCurve,
        seconds: f64,
    ) -> Result<ShallowCtrModel> {
        let (layout, geo) = shape(&params, &encoders.schema);
        check_size(&geo)?;
        Ok(ShallowCtrModel {
            theta: vec![0.0; geo.n_params()],
            params,
            encoders,
            geo,
            layout,
            curve,
            seconds,
        })
    }

    /// `(length of θ, end of its linear part)` of a model of `params` over
    /// `encoders`' fields (`None` when it overflows), without allocating.
    pub(crate) fn expected_size(
        params: &ShallowCtr,
        encoders: &FeatureEncoders,
    ) -> Option<(usize, usize)> {
        let (_, geo) = shape(params, &encoders.schema);
        Some((
            geo.checked_n_params()?,
            geo.n_features.checked_add(1 + geo.cross_buckets)?,
        ))
    }

    /// Which model.
    pub fn kind(&self) -> ShallowKind {
        self.geo.kind
    }
    /// The learning curve.
    pub fn learning_curve(&self) -> &CtrCurve {
        &self.curve
    }
    /// Linear weights (bias excluded) that are not exactly zero.
    pub fn nonzero_weights(&self) -> usize {
        self.theta[1..self.geo.lin_end()]
            .iter()
            .filter(|w| **w != 0.0)
            .count()
    }
    /// Parameters stored: the non-zero linear weights, the bias and the
    /// latent vectors.
    pub fn n_parameters(&self) -> usize {
        1 + self.nonzero_weights() + self.geo.n_blocks() * self.geo.k
    }
    /// P(click) of every row (`[rows.len()]`).
    pub fn predict(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        check_rows(&self.encoders, rows)?;
        Ok(predict(&self.geo, &self.layout, &self.theta, &rows.rows))
    }
}

impl RowScorer for ShallowCtrModel {
    fn name(&self) -> String {
        self.geo.kind.name().into()
    }
    fn params(&self) -> Vec<(String, String)> {
        let mut out = crate::models::params::params_of(&self.params);
        let validation = match self.params.stop_on {
            StopOn::Auc => "AUC on the validation rows (pointwise)",
            StopOn::Logloss => "LogLoss on the validation rows (pointwise)",
        };
        out.push(("validation".into(), validation.into()));
        out.push(("kept_epoch".into(), self.curve.kept_epoch.to_string()));
        out.push(("nonzero_weights".into(), self.nonzero_weights().to_string()));
        out.push(("parameters".into(), self.n_parameters().to_string()));
        out
    }
    fn encoders(&self) -> Option<&FeatureEncoders> {
        Some(&self.encoders)
    }
    fn score_rows(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        self.predict(rows)
    }
    fn fit_seconds(&self) -> f64 {
        self.seconds
    }
    fn seed(&self) -> u64 {
        self.params.seed
    }
}

#[cfg(test)]
mod tests {
    use super::super::CtrOptimizer;
    use super::*;
    use crate::models::rows::FitRows;

    fn task() -> FeatureTask {
        FeatureTask::toy_ctr(4_000, 7).unwrap()
    }

    /// A Criteo-format file of `n` rows whose clicks follow I1 and C1.
    fn criteo_file(n: usize, name: &str) -> std::path::PathBuf {
        use std::fmt::Write;
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        let mut text = String::new();
        for _ in 0..n {
            let i1: u32 = rng.random_range(0..20);
            let c1: u32 = rng.random_range(0..30);
            let z = (i1 as f32 - 10.0) / 4.0 + if c1 < 10 { 1.0 } else { -0.5 };
            let y = u8::from(rng.random::<f32>() < sigmoid(z));
            write!(text, "{y}\t{i1}").unwrap();
            for k in 1..13 {
                write!(
                    text,
                    "\t{}",
                    if k % 4 == 0 {
                        String::new()
                    } else {
                        rng.random_range(0..5u32).to_string()
                    }
                )
                .unwrap();
            }
            write!(text, "\t{c1:x}").unwrap();
            for _ in 1..26 {
                write!(text, "\t{:x}", rng.random_range(0..8u32)).unwrap();
            }
            text.push('\n');
        }
        let path = std::env::temp_dir().join(format!("recsys-{name}-{}.txt", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn streamed_training_matches_the_in_memory_fit_and_learns() {
        let path = criteo_file(6_000, "stream");
        let spec = crate::features::FeatureSpec::criteo();
        let whole = crate::data::RawFrame::read_criteo(&path).unwrap();
        let train = CriteoStream::new(&path, 0, 5_000).chunk_rows(700);
        // Encoders fitted chunk by chunk are the in-memory ones.
        let enc = FeatureEncoders::fit_streamed(spec.clone(), &train).unwrap();
        let idx: Vec<usize> = (0..5_000).collect();
        assert_eq!(
            enc,
            FeatureEncoders::fit(spec, &whole.select(&idx)).unwrap()
        );
        let holdout = enc
            .encode(&whole.select(&(5_000..6_000).collect::<Vec<_>>()))
            .unwrap();
        // One chunk, one epoch: the in-memory fit's bits.
        let p = ShallowCtr::fm().epochs(1).threads(1);
        let one = p
            .fit_streamed(&enc, &train.clone().chunk_rows(5_000), None)
            .unwrap();
        let task = FeatureTask {
            name: "criteo".into(),
            encoders: enc.clone(),
            train: enc.encode(&whole.select(&idx)).unwrap(),
            validation: None,
            test: holdout.clone(),
        };
        assert_eq!(one.theta, p.fit(&task).unwrap().theta);
        // Many chunks, with validation and early stopping.
        let m = ShallowCtr::fm()
            .epochs(3)
            .threads(1)
            .fit_streamed(&enc, &train, Some(&holdout))
            .unwrap();
        let a = m.learning_curve().epochs[m.learning_curve().kept_epoch - 1]
            .val_auc
            .unwrap();
        assert!(a > 0.7, "holdout AUC {a}");
        // A bad line is named by its file line.
        std::fs::write(&path, "1\tx\n").unwrap();
        let e = ShallowCtr::lr()
            .fit_streamed(&enc, &CriteoStream::new(&path, 0, 10), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(".txt:1: field"), "{e}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn every_model_learns_the_toy_task_and_is_deterministic() {
        let task = task();
        for p in [
            ShallowCtr::lr(),
            ShallowCtr::poly2(),
            ShallowCtr::fm(),
            ShallowCtr::ffm(),
            ShallowCtr::lsplm(),
        ] {
            let p = p.epochs(4);
            let a = p.fit(&task).unwrap();
            let b = p.fit(&task).unwrap();
            assert_eq!(a.theta, b.theta, "{:?}", p.kind());
            let probs = a.predict(&task.test).unwrap();
            let auc = auc(&probs, &task.test.positives()).unwrap();
            eprintln!(
                "{:?}: test AUC {auc:.4}, kept {}",
                p.kind(),
                a.curve.kept_epoch
            );
        }
    }

    #[test]
    fn in_place_steps_give_the_buffered_bits() {
        // Dense and one-hot fields only (the in-place path's condition).
        let frame = crate::data::synthetic::toy_ctr_frame(3_000, 9).unwrap();
        let [tr, va, te] = frame.split_random(0.1, 0.1, 9).unwrap();
        let task = FeatureTask::new(
            "toy",
            crate::features::FeatureSpec::toy_ctr(),
            &tr,
            Some(&va),
            &te,
        )
        .unwrap();
        for o in [
            CtrOptimizer::Sgd {
                learning_rate: 0.05,
            },
            CtrOptimizer::Adagrad {
                learning_rate: 0.05,
            },
            CtrOptimizer::Ftrl {
                alpha: 0.05,
                beta: 1.0,
            },
        ] {
            let p = ShallowCtr::ffm()
                .optimizer(o)
                .l2(0.01)
                .factor_l2(0.001)
                .epochs(2);
            let mut buffered = p.clone();
            buffered.buffered = true;
            assert_eq!(
                p.fit(&task).unwrap().theta,
                buffered.fit(&task).unwrap().theta,
                "{o:?}"
            );
        }
    }

    #[test]
    fn mini_batches_give_the_same_bits_with_one_and_two_threads() {
        let task = task();
        let p = ShallowCtr::fm().epochs(2).batch_size(64);
        let a = p.clone().threads(1).fit(&task).unwrap();
        let b = p.threads(2).fit(&task).unwrap();
        assert_eq!(a.theta, b.theta);
    }

    #[test]
    fn ftrl_with_a_large_l1_yields_exact_zeros() {
        let task = task();
        let sparse = ShallowCtr::lr().epochs(2).l1(1e3).fit(&task).unwrap();
        assert_eq!(sparse.nonzero_weights(), 0);
        let dense = ShallowCtr::lr().epochs(2).fit(&task).unwrap();
        assert!(dense.nonzero_weights() > 100);
        let some = ShallowCtr::lr().epochs(2).l1(2.0).fit(&task).unwrap();
        assert!(some.nonzero_weights() < dense.nonzero_weights());
    }

    #[test]
    fn every_optimizer_trains_and_reports_its_settings() {
        let task = task();
        for o in [
            CtrOptimizer::Sgd {
                learning_rate: 0.05,
            },
            CtrOptimizer::Adagrad {
                learning_rate: 0.05,
            },
            CtrOptimizer::Ftrl {
                alpha: 0.05,
                beta: 1.0,
            },
        ] {
            let m = ShallowCtr::fm().optimizer(o).epochs(2).fit(&task).unwrap();
            let p = RowScorer::params(&m);
            assert!(p.iter().any(|(k, _)| k == "kept_epoch"), "{p:?}");
            assert!(m.learning_curve().epochs.len() <= 2);
        }
        let boxed = ShallowCtr::ffm().epochs(1).fit_rows(&task).unwrap();
        assert_eq!(boxed.score_rows(&task.test).unwrap().len(), task.test.len());
    }

    #[test]
    fn a_saved_model_predicts_the_same_bits_and_skips_zero_weights() {
        let task = task();
        let dir = std::env::temp_dir().join(format!("recsys-shallow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for p in [
            ShallowCtr::lr().l1(2.0),
            ShallowCtr::poly2().cross_buckets(1 << 12),
            ShallowCtr::ffm(),
        ] {
            let m = p.epochs(2).fit(&task).unwrap();
            let path = dir.join(format!("{}.recsys", m.kind().name()));
            m.save(&path).unwrap();
            let back = ShallowCtrModel::load(&path).unwrap();
            assert_eq!(
                back.predict(&task.test).unwrap(),
                m.predict(&task.test).unwrap()
            );
            assert_eq!(back.curve, m.curve);
            if m.kind() == ShallowKind::Lr {
                let zeros = m.geo.lin_end() - 1 - m.nonzero_weights();
                assert!(zeros > 0);
                let full = 4 * (m.geo.lin_end() as u64);
                let len = std::fs::metadata(&path).unwrap().len();
                assert!(len < full + 200_000, "{len}");
            }
        }
        std::fs::write(dir.join("bad.recsys"), b"RECSYSM1garbage").unwrap();
        assert!(ShallowCtrModel::load(dir.join("bad.recsys")).is_err());
    }
}
