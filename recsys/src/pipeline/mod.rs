//! The fluent experiment builder. It describes the work; only
//! [`Pipeline::evaluate`] runs it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::data::{Dataset, Interactions, InteractionsFile};
use crate::eval::{self, MetricSeries, Protocol};
use crate::models::{Fit, FitInput, Scorer};
use crate::report::{MetricValue, Report, ReportParts, StageReport};
use crate::split::{Candidates, Split, SplitData, concat};
use crate::stages::Rerank;
use crate::{Error, Result};

#[cfg(feature = "deep")]
mod trained;
#[cfg(feature = "deep")]
pub use trained::TrainedCtr;

/// Where the interactions come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DataSource {
    MovieLens100K,
    MovieLens1M,
    File(InteractionsFile),
    Interactions(Interactions),
    /// A split given as training interactions and candidate lists (see
    /// [`Pipeline::from_candidates`]).
    Candidates {
        train: Interactions,
        validation: Option<Candidates>,
        test: Candidates,
    },
}

struct Prepared {
    dataset: String,
    train: Interactions,
    heldout: Option<Interactions>,
    /// The split's validation part when the test part is scored (iterative
    /// models validate and early-stop on it).
    validation: Option<Interactions>,
    mask: Interactions,
    candidates: Option<Candidates>,
    /// The dataset's user and item features, when it has them.
    side: Option<Dataset>,
}

/// Which held-out part is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvalOn {
    #[default]
    Test,
    Validation,
}

/// An experiment: data → split → recall → rank → rerank → metrics.
///
/// ```no_run
/// # use recsys::prelude::*;
/// let report = Pipeline::movielens_100k().split_loo().recall(Popularity::default()).evaluate()?;
/// println!("{report}");
/// # Ok::<(), recsys::Error>(())
/// ```
pub struct Pipeline {
    source: DataSource,
    implicit: Option<f32>,
    split: Split,
    protocol: Protocol,
    candidates_file: Option<PathBuf>,
    recall: Option<(Box<dyn Fit>, Option<usize>)>,
    /// `recall_pool` / `rank_pool` as asked, checked against the stages at
    /// `evaluate` (whatever order the builder calls came in).
    recall_pool: Option<usize>,
    rank_pool: Option<usize>,
    extra_recall: Vec<(Box<dyn Fit>, usize)>,
    rank: Option<(Box<dyn Fit>, Option<usize>)>,
    rerank: Option<Box<dyn Rerank>>,
    ks: Vec<usize>,
    on: EvalOn,
    seed: u64,
    name: Option<String>,
    side: Option<Dataset>,
    /// True for [`Pipeline::predefined`]: the split's files are the data.
    files_are_the_data: bool,
    /// True when [`Pipeline::encoding`] was given for a split that reads no
    /// files (a contradiction, reported at `evaluate`).
    encoding_without_files: bool,
    /// An item file whose items join full ranking's universe.
    catalogue: Option<PathBuf>,
    /// True once [`Pipeline::split`] was called (a given split cannot take
    /// another).
    split_set: bool,
}

impl Pipeline {
    /// A pipeline over `source`. Defaults: all interactions as implicit
    /// feedback, leave-one-out by time, full ranking, K = 10, test set.
    pub fn new(source: DataSource) -> Self {
        Pipeline {
            source,
            implicit: None,
            split: Split::loo(),
            protocol: Protocol::FullRanking,
            candidates_file: None,
            recall: None,
            recall_pool: None,
            rank_pool: None,
            extra_recall: Vec::new(),
            rank: None,
            rerank: None,
            ks: vec![10],
            on: EvalOn::Test,
            seed: 42,
            name: None,
            side: None,
            files_are_the_data: false,
            encoding_without_files: false,
            catalogue: None,
            split_set: false,
        }
    }

    /// MovieLens 100K.
    pub fn movielens_100k() -> Self {
        Self::new(DataSource::MovieLens100K)
    }

    /// MovieLens 1M.
    pub fn movielens_1m() -> Self {
        Self::new(DataSource::MovieLens1M)
    }

    /// A delimited interactions file.
    pub fn from_file(file: InteractionsFile) -> Self {
        Self::new(DataSource::File(file))
    }

    /// Interactions already in memory.
    pub fn from_interactions(x: Interactions) -> Self {
        Self::new(DataSource::Interactions(x))
    }

    /// A dataset already in memory (its name labels the report; its user
    /// and item features reach feature-based stages such as DeepFM).
    pub fn from_dataset(d: &Dataset) -> Self {
        let mut p = Self::new(DataSource::Interactions(d.interactions.clone()));
        p.name = Some(d.name.clone());
        p.side = (d.users.is_some() || d.items.is_some()).then(|| d.clone());
        p
    }

    /// Predefined split files (train/test, header optional), full ranking.
    pub fn predefined(train: impl Into<PathBuf>, test: impl Into<PathBuf>) -> Self {
        let empty = Interactions::from_raw_rows(&[], None, None, &[]).expect("empty");
        let mut p = Self::new(DataSource::Interactions(empty));
        p.split = Split::Predefined {
            train: train.into(),
            val: None,
            test: test.into(),
            encoding: crate::data::Encoding::Utf8,
        };
        p.files_are_the_data = true;
        p
    }

    /// A split made elsewhere, given as training interactions and candidate
    /// lists in their id maps (e.g. a [`crate::features::MovieLensCtr`]
    /// task's: 1 positive + 999 negatives per user). Scored as given (the
    /// sampled protocol); with `.protocol(Protocol::FullRanking)` every item
    /// is ranked instead, the test positives relevant, each user's training
    /// and validation positives masked. `validation`, when given, is the
    /// data iterative models early-stop on and what
    /// [`Pipeline::on_validation`] scores.
    pub fn from_candidates(
        train: Interactions,
        validation: Option<Candidates>,
        test: Candidates,
    ) -> Self {
        let negatives = test.negatives();
        let mut p = Self::new(DataSource::Candidates {
            train,
            validation,
            test,
        });
        p.protocol = Protocol::Sampled {
            negatives,
            sampler: crate::split::NegativeSampler::Uniform,
            seed: p.seed,
        };
        p
    }

    /// The name the report gives the data. Defaults to the source's
    /// (`movielens-100k`, `file`, `interactions`, `candidates`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Full ranking over the items of an item file too (the first column of
    /// a delimited file, header auto-detected, e.g. the item features):
    /// with split files, items nobody interacted with are ranked as well,
    /// as they are against a dataset's catalogue. Full ranking only.
    pub fn catalogue(mut self, items: impl Into<PathBuf>) -> Self {
        self.catalogue = Some(items.into());
        self
    }

    /// A predefined train file and a `user item label` candidates file
    /// (sampled protocol, e.g. the peers' protocol A).
    pub fn predefined_sampled(train: impl Into<PathBuf>, candidates: impl Into<PathBuf>) -> Self {
        let candidates = candidates.into();
        Self::predefined(train, candidates.clone()).candidates_file(candidates)
    }

    /// The text encoding of predefined split files (kept by the split, so
    /// [`Split::apply`] reads them the same way). Defaults to UTF-8; an
    /// error at `evaluate` for a pipeline whose split reads no files.
    pub fn encoding(mut self, e: crate::data::Encoding) -> Self {
        match &mut self.split {
            Split::Predefined { encoding, .. } => *encoding = e,
            _ => self.encoding_without_files = true,
        }
        self
    }

    /// Keeps interactions with rating ≥ `threshold` as implicit positives.
    /// Sampled negatives are still drawn from items never rated at all.
    pub fn implicit(mut self, threshold: f32) -> Self {
        self.implicit = Some(threshold);
        self
    }

    /// The split. Defaults to [`Split::loo`].
    pub fn split(mut self, split: Split) -> Self {
        self.split = split;
        self.split_set = true;
        self
    }

    /// Leave-one-out by time.
    pub fn split_loo(self) -> Self {
        self.split(Split::loo())
    }

    /// Rating prediction (RMSE, MAE on the held-out ratings) instead of
    /// ranking: for explicit models such as [`crate::models::Svd`].
    pub fn rating(self) -> Self {
        self.protocol(Protocol::Rating)
    }

    /// The protocol. Defaults to [`Protocol::FullRanking`].
    pub fn protocol(mut self, p: Protocol) -> Self {
        self.protocol = p;
        self
    }

    /// Sampled protocol: each held-out item among `negatives` uniformly
    /// sampled never-interacted items (seeded).
    pub fn sampled(self, negatives: usize) -> Self {
        let seed = self.seed;
        self.protocol(Protocol::Sampled {
            negatives,
            sampler: Default::default(),
            seed,
        })
    }

    /// Sampled protocol with candidates read from a `user item label` file.
    pub fn candidates_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.candidates_file = Some(path.into());
        self
    }

    /// The first stage: a model that proposes candidates (or the only model).
    pub fn recall(mut self, model: impl Fit + 'static) -> Self {
        self.recall = Some((Box::new(model), None));
        self
    }

    /// Recall stage from a boxed model (CLI, configs).
    pub fn recall_boxed(mut self, model: Box<dyn Fit>) -> Self {
        self.recall = Some((model, None));
        self
    }

    /// Candidates per user out of recall. Defaults to 100 when a rank stage
    /// follows, else K.
    pub fn recall_pool(mut self, n: usize) -> Self {
        self.recall_pool = Some(n);
        self
    }

    /// Another recall source fused into the pool: after the main recall's
    /// items, up to `quota` of this source's best items not already in the
    /// pool (union with per-source quotas). Without a rank stage the pool is
    /// ordered by reciprocal-rank fusion, `Σ_s 1/(60 + rank_s)`.
    pub fn recall_also(mut self, model: impl Fit + 'static, quota: usize) -> Self {
        self.extra_recall.push((Box::new(model), quota));
        self
    }

    /// [`Pipeline::recall_also`] with a boxed model.
    pub fn recall_also_boxed(mut self, model: Box<dyn Fit>, quota: usize) -> Self {
        self.extra_recall.push((model, quota));
        self
    }

    /// A model that re-scores the recall pool.
    pub fn rank(mut self, model: impl Fit + 'static) -> Self {
        self.rank = Some((Box::new(model), None));
        self
    }

    /// Rank stage from a boxed model.
    pub fn rank_boxed(mut self, model: Box<dyn Fit>) -> Self {
        self.rank = Some((model, None));
        self
    }

    /// Items kept after ranking (the re-ranker's input). Defaults to 50
    /// when a rerank stage follows, else K.
    pub fn rank_pool(mut self, n: usize) -> Self {
        self.rank_pool = Some(n);
        self
    }

    /// A re-ranker applied to the ranked list.
    pub fn rerank(mut self, r: impl Rerank + 'static) -> Self {
        self.rerank = Some(Box::new(r));
        self
    }

    /// Rerank stage from a boxed re-ranker.
    pub fn rerank_boxed(mut self, r: Box<dyn Rerank>) -> Self {
        self.rerank = Some(r);
        self
    }

    /// Cut-offs reported. Defaults to `[10]`; the final list length is the
    /// largest.
    pub fn ks(mut self, ks: &[usize]) -> Self {
        self.ks = ks.to_vec();
        self
    }

    /// Evaluate on the validation part instead of test (model selection).
    pub fn on_validation(mut self) -> Self {
        self.on = EvalOn::Validation;
        self
    }

    /// Seed for candidate sampling and bootstrap CIs. Defaults to 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        if let Protocol::Sampled { seed: s, .. } = &mut self.protocol {
            *s = seed;
        }
        self
    }

    /// The data's name, interactions and (MovieLens, or a dataset given
    /// with features) the dataset with its user and item features.
    fn load(&self) -> Result<(String, Interactions, Option<Dataset>)> {
        let with_side = |d: Dataset| (d.name.clone(), d.interactions.clone(), Some(d));
        Ok(match &self.source {
            DataSource::MovieLens100K => with_side(Dataset::movielens_100k()?),
            DataSource::MovieLens1M => with_side(Dataset::movielens_1m()?),
            DataSource::File(f) => ("file".into(), f.load()?, None),
            DataSource::Interactions(x) => (
                self.name.clone().unwrap_or_else(|| "interactions".into()),
                x.clone(),
                self.side.clone(),
            ),
            DataSource::Candidates { train, .. } => (
                self.name.clone().unwrap_or_else(|| "candidates".into()),
                train.clone(),
                self.side.clone(),
            ),
        })
    }

    fn describe(&self) -> String {
        let split = match &self.split {
            Split::LeaveOneOut { .. } => "leave-one-out".to_string(),
            Split::UserRatio { test, .. } => format!("per-user ratio (test {test})"),
            Split::GlobalTime { test, .. } => format!("global time (test {test})"),
            Split::Random { test, .. } => format!("random (test {test})"),
            Split::Stratified { train, by, .. } => {
                format!("stratified by {by:?} (train {train})").to_lowercase()
            }
            Split::ColdUsers { test, .. } => format!("cold-start users (test {test})"),
            Split::Predefined { .. } => "predefined files".into(),
            #[allow(unreachable_patterns)]
            _ => "custom".into(),
        };
        let split = match &self.source {
            DataSource::Candidates { .. } => "given candidates".to_string(),
            _ => split,
        };
        let protocol = match (&self.protocol, &self.candidates_file) {
            (_, Some(_)) => "sampled (candidates file)".to_string(),
            (Protocol::FullRanking, _) => "full ranking".into(),
            (Protocol::Sampled { negatives, .. }, _) => format!("sampled 1+{negatives}"),
            (Protocol::Rating, _) => "rating prediction".into(),
        };
        let on = if self.on == EvalOn::Validation {
            ", validation"
        } else {
            ""
        };
        format!("{split}, {protocol}{on}")
    }

    /// Loads and splits: training data, the held-out part, what to mask
    /// when ranking, and sampled candidates when the protocol asks for them.
    fn prepare(&self) -> Result<Prepared> {
        if let DataSource::Candidates {
            train,
            validation,
            test,
        } = &self.source
        {
            return self.prepare_given(train, validation.as_ref(), test);
        }
        if let (
            Split::Predefined {
                train: path,
                encoding,
                ..
            },
            Some(cands),
        ) = (&self.split, &self.candidates_file)
        {
            let (train, candidates) = crate::split::predefined_sampled(path, cands, *encoding)?;
            return Ok(Prepared {
                dataset: path.display().to_string(),
                mask: train.clone(),
                heldout: None,
                validation: None,
                train,
                candidates: Some(candidates),
                side: None,
            });
        }
        let (dataset, all, side) = self.load()?;
        let dataset = match &self.split {
            Split::Predefined { train, .. } => train.display().to_string(),
            _ => dataset,
        };
        let data = match self.implicit {
            Some(t) => all.implicit(t),
            None => all.clone(),
        };
        let mut split: SplitData = self.split.apply(&data)?;
        if let Some(path) = &self.catalogue {
            split = with_catalogue(split, path)?;
        }
        let (train, heldout, mask) = match self.on {
            EvalOn::Test => (
                split.train.clone(),
                split.test.clone(),
                split.train_and_val(),
            ),
            EvalOn::Validation => {
                let val = split
                    .val
                    .clone()
                    .ok_or_else(|| Error::Config("this split has no validation part".into()))?;
                (split.train.clone(), val, split.train.clone())
            }
        };
        let candidates = match (&self.candidates_file, &self.protocol) {
            (Some(path), _) => Some(Candidates::load(path, &train)?),
            (
                None,
                Protocol::Sampled {
                    negatives,
                    sampler,
                    seed,
                },
            ) => {
                let exclude = match &self.split {
                    Split::Predefined { .. } => concat(&mask, &heldout),
                    _ => all.clone(),
                };
                Some(Candidates::sample(
                    &heldout, &exclude, &train, *negatives, *sampler, *seed,
                )?)
            }
            _ => None,
        };
        let validation = match self.on {
            EvalOn::Test => split.val.clone(),
            EvalOn::Validation => None,
        };
        Ok(Prepared {
            dataset,
            train,
            validation,
            heldout: Some(heldout),
            mask,
            candidates,
            side,
        })
    }

    /// [`Pipeline::prepare`] for a split given as candidate lists: the
    /// scored list, its positives (full ranking's relevant items), what is
    /// masked and what iterative models validate on.
    fn prepare_given(
        &self,
        train: &Interactions,
        validation: Option<&Candidates>,
        test: &Candidates,
    ) -> Result<Prepared> {
        let (dataset, _, side) = self.load()?;
        let (scored, validation, mask) = match self.on {
            EvalOn::Test => {
                let val = validation.map(Candidates::positives);
                let mask = match &val {
                    Some(v) => concat(train, v),
                    None => train.clone(),
                };
                (test, val, mask)
            }
            EvalOn::Validation => {
                let v = validation.ok_or_else(|| {
                    Error::Config(
                        "on_validation: the given split has no validation candidates".into(),
                    )
                })?;
                (v, None, train.clone())
            }
        };
        Ok(Prepared {
            dataset,
            train: train.clone(),
            heldout: Some(scored.positives()),
            validation,
            mask,
            candidates: matches!(self.protocol, Protocol::Sampled { .. }).then(|| scored.clone()),
            side,
        })
    }

    /// Checks that the plan is consistent before any work: every stage and
    /// setting the builder was given is one the protocol uses. A
    /// contradiction is an error naming it, never silently dropped.
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.recall.is_none() {
            return bad("the pipeline has no model: add .recall(model)".into());
        }
        // Every model's hyper-parameters, before any data is read.
        let models = self
            .recall
            .iter()
            .map(|(m, _)| m)
            .chain(self.extra_recall.iter().map(|(m, _)| m))
            .chain(self.rank.iter().map(|(m, _)| m));
        for m in models {
            m.check()
                .map_err(|e| Error::Config(format!("{}: {e}", m.name())))?;
        }
        if self.ks.is_empty() || self.ks.contains(&0) {
            return bad(format!("ks must be positive cut-offs, got {:?}", self.ks));
        }
        let fixed_candidates =
            self.candidates_file.is_some() || matches!(self.protocol, Protocol::Sampled { .. });
        let rating = self.protocol == Protocol::Rating;
        if rating && self.candidates_file.is_some() {
            return bad(
                "rating prediction scores held-out ratings; it cannot use a candidates file".into(),
            );
        }
        if (fixed_candidates || rating) && self.rerank.is_some() {
            return bad(format!(
                "a re-ranker orders a recommendation list; the {} protocol scores {} and would ignore it",
                if rating { "rating" } else { "sampled" },
                if rating {
                    "ratings"
                } else {
                    "a fixed candidate set"
                }
            ));
        }
        if (fixed_candidates || rating) && !self.extra_recall.is_empty() {
            return bad("fused recall sources build a candidate pool; the sampled and rating protocols score fixed rows and would ignore them".into());
        }
        if (fixed_candidates || rating) && (self.recall_pool.is_some() || self.rank_pool.is_some())
        {
            return bad("recall_pool / rank_pool size the lists of full ranking; the sampled and rating protocols score fixed rows".into());
        }
        if (fixed_candidates || rating) && self.rank.is_some() {
            return bad("with the sampled and rating protocols only one model scores the rows: give it as .recall(model), without .rank".into());
        }
        if self.catalogue.is_some() && (fixed_candidates || rating) {
            return bad("a catalogue widens the item universe of full ranking; the sampled and rating protocols score fixed rows".into());
        }
        if self.recall_pool == Some(0) || self.rank_pool == Some(0) {
            return bad("recall_pool and rank_pool must be at least 1".into());
        }
        if self.rank_pool.is_some() && self.rank.is_none() {
            return bad(
                "rank_pool without a rank stage: add .rank(model) or drop rank_pool".into(),
            );
        }
        if self.recall_pool.is_some()
            && self.rank.is_none()
            && self.rerank.is_none()
            && self.extra_recall.is_empty()
        {
            return bad("recall_pool sizes the pool a rank or rerank stage (or fused recall) reads; with recall alone the list is the top max(ks)".into());
        }
        if let DataSource::Candidates {
            train,
            validation,
            test,
        } = &self.source
        {
            if self.split_set {
                return bad("the split is given by the candidate lists: drop .split(...)".into());
            }
            if self.implicit.is_some() || self.candidates_file.is_some() || self.catalogue.is_some()
            {
                return bad("the split is given by the candidate lists: implicit, candidates_file and catalogue do not apply".into());
            }
            if rating {
                return bad("the given candidate lists have labels, not ratings: use the sampled or full-ranking protocol".into());
            }
            if let Protocol::Sampled { negatives, .. } = self.protocol {
                if negatives != test.negatives() {
                    return bad(format!(
                        "the candidate lists are given (up to {} negatives per user): .sampled({negatives}) would draw others",
                        test.negatives()
                    ));
                }
            }
            let same = |c: &Candidates| {
                let (u, i) = c.universe();
                Arc::ptr_eq(u, train.users()) && Arc::ptr_eq(i, train.items())
            };
            if !same(test) || validation.as_ref().is_some_and(|v| !same(v)) {
                return bad(
                    "the candidate lists must share the training interactions' id maps".into(),
                );
            }
        }
        if self.encoding_without_files {
            return bad("encoding(...) is the text encoding of predefined split files; this pipeline's split reads none (a file source takes InteractionsFile::encoding)".into());
        }
        if matches!(self.split, Split::Predefined { .. }) && !self.files_are_the_data {
            return bad("a predefined split reads its own files, so the pipeline's data source would be ignored: use Pipeline::predefined(train, test)".into());
        }
        if self.files_are_the_data && self.implicit.is_some() {
            return bad("implicit(threshold) filters the pipeline's data source; a predefined split's files are used as they are".into());
        }
        if self.files_are_the_data
            && self.candidates_file.is_some()
            && self.on == EvalOn::Validation
        {
            return bad(
                "on_validation with a candidates file: give the validation candidates file itself"
                    .into(),
            );
        }
        Ok(())
    }

    /// Loads, splits, fits every stage, scores and computes the metrics, in
    /// named steps: [`Pipeline::validate`] the plan → prepare the data →
    /// fit the stages → score under the protocol → build the report.
    pub fn evaluate(self) -> Result<Report> {
        self.evaluate_keeping().map(|(report, _)| report)
    }

    /// [`Pipeline::evaluate`], also returning the fitted model of the last
    /// scoring stage (rank, else recall): its learning curve says which
    /// epoch early stopping kept, and it can recommend.
    pub fn evaluate_keeping(mut self) -> Result<(Report, Box<dyn Scorer>)> {
        self.validate()?;
        let (recall_pool, rank_pool) = (self.recall_pool, self.rank_pool);
        if let Some(r) = self.recall.as_mut() {
            r.1 = recall_pool;
        }
        if let Some(r) = self.rank.as_mut() {
            r.1 = rank_pool;
        }
        let prepared = self.prepare()?;
        let fitted = self.fit_stages(&prepared)?;
        let scored = if self.protocol == Protocol::Rating {
            self.score_ratings(&prepared, &fitted)?
        } else if prepared.candidates.is_some() {
            self.score_sampled(&prepared, &fitted)?
        } else {
            self.score_full(&prepared, &fitted)
        };
        let model = fitted.model_name();
        let report = Report::from_parts(ReportParts {
            model,
            params: fitted.params,
            dataset: prepared.dataset,
            protocol: self.describe_with(&prepared.train),
            users: scored.users,
            series: scored.series,
            stages: scored.stages,
            fit_seconds: fitted.fit_seconds,
            recommend_seconds: scored.seconds,
            seed: self.seed,
        });
        let scorer = match fitted.rank {
            Some(r) => r.0,
            None => fitted.recall.expect("fitted recall stage"),
        };
        Ok((report, scorer))
    }

    /// The protocol in words, with the item universe full ranking ranks.
    fn describe_with(&self, train: &Interactions) -> String {
        let d = self.describe();
        if self.protocol != Protocol::FullRanking || self.candidates_file.is_some() {
            return d;
        }
        let universe = match &self.source {
            DataSource::MovieLens100K | DataSource::MovieLens1M => "the catalogue",
            DataSource::Interactions(_)
                if self.side.as_ref().is_some_and(|s| s.items.is_some()) =>
            {
                "the catalogue"
            }
            DataSource::Interactions(_) => "the items of the interactions",
            DataSource::File(_) => "the items of the given files",
            DataSource::Candidates { .. } => "the items of the given split",
        };
        let universe = if self.catalogue.is_some() {
            "the items of the given files and the catalogue file"
        } else if self.files_are_the_data {
            "the items of the given files"
        } else {
            universe
        };
        format!("{d} over {} items ({universe})", train.n_items())
    }

    /// Fits the recall source(s), the rank stage and the re-ranker on the
    /// training part, collecting their names, parameters and fit times.
    fn fit_stages(&self, p: &Prepared) -> Result<Fitted> {
        let (train, validation, side) = (&p.train, p.validation.as_ref(), p.side.as_ref());
        let input = || FitInput::new(train).validation(validation).side(side);
        let (recall_model, _) = self
            .recall
            .as_ref()
            .ok_or_else(|| Error::Config("the pipeline has no model: add .recall(model)".into()))?;
        let mut f = Fitted::default();
        let prefixed = |m: &dyn Fit| -> Vec<(String, String)> {
            m.params()
                .into_iter()
                .map(|(k, v)| (format!("{}.{k}", m.name()), v))
                .collect()
        };
        let t = Instant::now();
        let recall = recall_model.fit_scorer(input())?;
        f.recall_fit = t.elapsed().as_secs_f64();
        f.fit_seconds += f.recall_fit;
        f.names.push(recall_model.name());
        f.params.extend(prefixed(recall_model.as_ref()));
        f.recall = Some(recall);
        for (m, quota) in &self.extra_recall {
            let t = Instant::now();
            let s = m.fit_scorer(input())?;
            f.fit_seconds += t.elapsed().as_secs_f64();
            f.names.push(m.name());
            f.params.extend(prefixed(m.as_ref()));
            f.extra.push((s, *quota));
        }
        if let Some((m, pool)) = &self.rank {
            let t = Instant::now();
            let s = m.fit_scorer(input())?;
            let secs = t.elapsed().as_secs_f64();
            f.fit_seconds += secs;
            f.names.push(m.name());
            f.params.extend(prefixed(m.as_ref()));
            f.rank = Some((s, *pool, secs, m.name()));
        }
        if let Some(r) = &self.rerank {
            let t = Instant::now();
            let fitted = r.fit_reranker(train)?;
            let secs = t.elapsed().as_secs_f64();
            f.fit_seconds += secs;
            f.names.push(r.name());
            f.params.extend(
                r.params()
                    .into_iter()
                    .map(|(k, v)| (format!("{}.{k}", r.name()), v)),
            );
            f.rerank = Some((fitted, secs, r.name()));
        }
        if f.names.len() == 1 {
            f.params = recall_model.params();
        }
        Ok(f)
    }

    /// The rating protocol: the last scoring stage predicts the held-out
    /// ratings.
    fn score_ratings(&self, p: &Prepared, f: &Fitted) -> Result<Scored> {
        let heldout = p
            .heldout
            .as_ref()
            .expect("rating prediction has a held-out part");
        let t = Instant::now();
        let series = eval::rating_metrics(f.last_scorer(), heldout, self.seed)?;
        Ok(Scored {
            users: Vec::new(),
            series,
            stages: Vec::new(),
            seconds: t.elapsed().as_secs_f64(),
        })
    }

    /// The sampled protocol: the last scoring stage scores the candidates
    /// (re-ranking does not apply to a fixed candidate set).
    fn score_sampled(&self, p: &Prepared, f: &Fitted) -> Result<Scored> {
        let candidates = p
            .candidates
            .as_ref()
            .expect("sampled protocol has candidates");
        let t = Instant::now();
        let (users, series) = eval::sampled_metrics(f.last_scorer(), candidates, &self.ks)?;
        Ok(Scored {
            users: users
                .iter()
                .map(|&u| p.train.users().raw(u).to_string())
                .collect(),
            series,
            stages: Vec::new(),
            seconds: t.elapsed().as_secs_f64(),
        })
    }

    /// Full ranking through the stages: recall (fused sources) → rank →
    /// re-rank, each stage's pool recall recorded, then the metrics of the
    /// final top-k lists.
    fn score_full(&self, p: &Prepared, f: &Fitted) -> Scored {
        let (train, mask) = (&p.train, &p.mask);
        let k_final = self.ks.iter().copied().max().unwrap_or(10);
        let recall_pool = self.recall.as_ref().and_then(|r| r.1);
        let recall = f.recall.as_deref().expect("fitted recall stage");
        let (extra, rank, rerank) = (&f.extra, &f.rank, &f.rerank);
        let n_recall = 1 + extra.len();
        let mut stages = Vec::new();
        let heldout = p
            .heldout
            .as_ref()
            .expect("full ranking has a held-out part");
        let relevant = eval::relevant_sets(heldout);
        let users: Vec<u32> = (0..heldout.n_users() as u32)
            .filter(|&u| relevant[u as usize].is_some())
            .collect();
        let recall_n = recall_pool.unwrap_or(if rank.is_some() { 100 } else { k_final });
        let masked = |s: &dyn Scorer, u: u32, n: usize| -> Vec<(u32, f32)> {
            let mut scores = vec![0.0; s.n_items()];
            s.score_all(u, &mut scores);
            crate::metrics::ranking::masked_top_k(&mut scores, &[mask.user_items(u)], n)
                .into_iter()
                .map(|i| (i, scores[i as usize]))
                .collect()
        };
        let t = Instant::now();
        let mut lists: Vec<Vec<(u32, f32)>> = users
            .par_iter()
            .map(|&u| {
                let main = masked(recall, u, recall_n);
                if extra.is_empty() {
                    return main;
                }
                let others = extra
                    .iter()
                    .map(|(s, q)| (masked(s.as_ref(), u, recall_n + q), *q))
                    .collect();
                fuse(main, others)
            })
            .collect();
        let recall_n = recall_n + extra.iter().map(|e| e.1).sum::<usize>();
        let recall_run = t.elapsed().as_secs_f64();
        let pool_recall = |lists: &[Vec<(u32, f32)>], name: String| {
            let v: Vec<f64> = users
                .iter()
                .zip(lists)
                .map(|(&u, l)| {
                    let rel = relevant[u as usize].as_deref().unwrap_or(&[]);
                    let hits = l
                        .iter()
                        .filter(|(i, _)| rel.binary_search(i).is_ok())
                        .count();
                    hits as f64 / rel.len().max(1) as f64
                })
                .collect();
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            MetricValue {
                name,
                mean,
                ci_low: mean,
                ci_high: mean,
            }
        };
        let mut run_total = recall_run;
        stages.push(StageReport {
            stage: "recall".into(),
            model: f.names[..n_recall].join(" + "),
            output_size: recall_n,
            fit_seconds: f.recall_fit,
            run_seconds: recall_run,
            metrics: vec![pool_recall(&lists, format!("Recall@{recall_n}"))],
        });
        if let Some((scorer, pool, fit_s, name)) = rank {
            let keep = pool.unwrap_or(if rerank.is_some() { 50 } else { k_final });
            let t = Instant::now();
            lists = users
                .par_iter()
                .zip(lists.par_iter())
                .map(|(&u, l)| {
                    let items: Vec<u32> = l.iter().map(|x| x.0).collect();
                    let mut s = vec![0.0; items.len()];
                    scorer.score_items(u, &items, &mut s);
                    let mut out: Vec<(u32, f32)> = items.into_iter().zip(s).collect();
                    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    out.truncate(keep);
                    out
                })
                .collect();
            let secs = t.elapsed().as_secs_f64();
            run_total += secs;
            stages.push(StageReport {
                stage: "rank".into(),
                model: name.clone(),
                output_size: keep,
                fit_seconds: *fit_s,
                run_seconds: secs,
                metrics: vec![pool_recall(&lists, format!("Recall@{keep}"))],
            });
        }
        if let Some((reranker, fit_s, name)) = rerank {
            let t = Instant::now();
            lists = users
                .par_iter()
                .zip(lists.par_iter())
                .map(|(&u, l)| reranker.rerank(u, l, k_final))
                .collect();
            let secs = t.elapsed().as_secs_f64();
            run_total += secs;
            stages.push(StageReport {
                stage: "rerank".into(),
                model: name.clone(),
                output_size: k_final,
                fit_seconds: *fit_s,
                run_seconds: secs,
                metrics: vec![pool_recall(&lists, format!("Recall@{k_final}"))],
            });
        }
        let final_lists: Vec<(u32, Vec<u32>)> = users
            .iter()
            .zip(&lists)
            .map(|(&u, l)| (u, l.iter().take(k_final).map(|x| x.0).collect()))
            .collect();
        let series: Vec<MetricSeries> =
            eval::full_ranking_metrics(&final_lists, &relevant, train, &self.ks);
        Scored {
            users: users
                .iter()
                .map(|&u| train.users().raw(u).to_string())
                .collect(),
            series,
            stages,
            seconds: run_total,
        }
    }
}

/// The fitted stages of a pipeline.
#[derive(Default)]
struct Fitted {
    recall: Option<Box<dyn Scorer>>,
    recall_fit: f64,
    /// Further recall sources with their quotas.
    extra: Vec<(Box<dyn Scorer>, usize)>,
    /// Scorer, pool, fit seconds, name.
    rank: Option<(Box<dyn Scorer>, Option<usize>, f64, String)>,
    /// Re-ranker, fit seconds, name.
    rerank: Option<(Box<dyn crate::stages::Reranker>, f64, String)>,
    /// Stage names in order (recall sources first).
    names: Vec<String>,
    params: Vec<(String, String)>,
    fit_seconds: f64,
}

impl Fitted {
    /// The scorer of the last scoring stage (rank, else recall).
    fn last_scorer(&self) -> &dyn Scorer {
        match &self.rank {
            Some(r) => r.0.as_ref(),
            None => self.recall.as_deref().expect("fitted recall stage"),
        }
    }

    /// `itemcf → deepfm → mmr`, fused sources in parentheses.
    fn model_name(&self) -> String {
        let n_recall = 1 + self.extra.len();
        if n_recall > 1 {
            format!("({})", self.names[..n_recall].join(" + "))
                + &self.names[n_recall..]
                    .iter()
                    .map(|n| format!(" → {n}"))
                    .collect::<String>()
        } else {
            self.names.join(" → ")
        }
    }
}

/// What scoring under the protocol produced.
struct Scored {
    users: Vec<String>,
    series: Vec<MetricSeries>,
    stages: Vec<StageReport>,
    seconds: f64,
}

/// Union with quotas: `main` first, then up to `quota` new items of each
/// other list; ordered by reciprocal-rank fusion over all lists.
fn fuse(main: Vec<(u32, f32)>, others: Vec<(Vec<(u32, f32)>, usize)>) -> Vec<(u32, f32)> {
    let rrf = |rank: usize| 1.0 / (60.0 + rank as f32 + 1.0);
    let mut score: std::collections::HashMap<u32, f32> = main
        .iter()
        .enumerate()
        .map(|(r, x)| (x.0, rrf(r)))
        .collect();
    let mut order: Vec<u32> = main.iter().map(|x| x.0).collect();
    for (list, quota) in others {
        let mut added = 0;
        for (r, (item, _)) in list.iter().enumerate() {
            match score.get_mut(item) {
                Some(s) => *s += rrf(r),
                None if added < quota => {
                    score.insert(*item, rrf(r));
                    order.push(*item);
                    added += 1;
                }
                None => {}
            }
        }
    }
    let mut out: Vec<(u32, f32)> = order.into_iter().map(|i| (i, score[&i])).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fusion_respects_quotas_and_ranks() {
        let main = vec![(1, 9.0), (2, 8.0)];
        let other = vec![(2, 5.0), (3, 4.0), (4, 3.0), (5, 2.0)];
        let fused = super::fuse(main, vec![(other, 2)]);
        let items: Vec<u32> = fused.iter().map(|x| x.0).collect();
        assert_eq!(items.len(), 4, "2 main + quota 2");
        assert_eq!(items[0], 2, "in both lists: highest fused score");
        assert!(items.contains(&3) && items.contains(&4) && !items.contains(&5));
    }
}

/// `split` re-expressed in the item universe of its own items plus the
/// items of the item file `path` (its first column).
fn with_catalogue(split: SplitData, path: &std::path::Path) -> Result<SplitData> {
    let extra = crate::data::FeaturesFile::new(path).load()?;
    let users = split.train.users().clone();
    let items = std::sync::Arc::new(crate::data::IdMap::from_raw(
        split
            .train
            .items()
            .raw_ids()
            .iter()
            .chain(extra.ids().raw_ids()),
    ));
    let remap = |p: &Interactions| crate::split::reindex(p, &users, &items);
    Ok(SplitData {
        train: remap(&split.train)?,
        test: remap(&split.test)?,
        val: split.val.as_ref().map(remap).transpose()?,
    })
}
