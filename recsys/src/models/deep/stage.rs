//! CTR networks as pipeline stages: [`Fit`] for [`CtrParams`] and the
//! architecture types, so that `Pipeline::...rank(DeepFm::default())`
//! trains a network on the pipeline's split and scores its candidates.

use super::model::CtrModel;
use super::net::Arch;
use super::train::CtrParams;
use super::train::score_pairs;
use super::{AttentionDeepFm, Dcn, DeepFm, Dlrm, WideDeep, XDeepFm};
use crate::data::Interactions;
use crate::features::MovieLensCtr;
use crate::features::PairEncoder;
use crate::models::{Fit, FitInput, Scorer};
use crate::{Error, Result};

/// The CLI / report name of an architecture (`deepfm`, ...).
pub(crate) fn arch_key(arch: Arch) -> &'static str {
    match arch {
        Arch::DeepFm => "deepfm",
        Arch::XDeepFm => "xdeepfm",
        Arch::AttentionDeepFm => "attention_deepfm",
        Arch::WideDeep => "wide_deep",
        Arch::Dcn => "dcn",
        Arch::Dlrm => "dlrm",
    }
}

use crate::models::params::updated;

impl Fit for CtrParams {
    fn name(&self) -> String {
        arch_key(self.net.arch).into()
    }

    /// The fields of [`CtrParams`] and of its `net` that the architecture
    /// uses (`fm_dim`, `hidden`, ...), as the CLI spells them.
    fn params(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let json = serde_json::to_value(self).unwrap_or_default();
        let mut push = |obj: &serde_json::Value, skip: &[&str]| {
            if let Some(map) = obj.as_object() {
                for (k, v) in map {
                    if skip.contains(&k.as_str()) || v.is_null() {
                        continue;
                    }
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.push((k.clone(), text));
                }
            }
        };
        // The architecture's own knobs only.
        let mut skip = vec!["arch"];
        if self.net.arch != Arch::XDeepFm {
            skip.extend(["cin_layers", "cin_split_half"]);
        }
        if self.net.arch != Arch::AttentionDeepFm {
            skip.extend(["attention_layers", "attention_heads"]);
        }
        if self.net.arch != Arch::Dcn {
            skip.push("cross_layers");
        }
        if self.net.arch == Arch::Dlrm {
            skip.extend(["batch_norm", "dropout"]);
        } else {
            skip.extend(["bottom", "interaction"]);
        }
        push(&json["net"], &skip);
        let mut skip = vec!["net", "resume"];
        if !self.loss.is_listwise() {
            skip.extend(["queries_per_batch", "max_batch_rows"]);
        }
        push(&json, &skip);
        out
    }

    /// Sets a field of [`CtrParams`] or of its `net` by name; the value in
    /// TOML syntax (`hidden=[256,128]`, `optimizer={kind="sgd",
    /// momentum=0.9}`) or a bare word (`compute=cpu`). `epochs` is
    /// `max_epochs`.
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        // The fields of `net` by their own names (not `arch`: the model's
        // name says it), through the builders' shared serde path.
        let json = serde_json::to_value(&*self)
            .map_err(|e| Error::param(key, format!("cannot encode the parameters: {e}")))?;
        let paths: Vec<(String, String)> = json["net"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .filter(|k| *k != "arch")
            .map(|k| (k.clone(), format!("net.{k}")))
            .collect();
        let mut aliases: Vec<(&str, &str)> =
            vec![("epochs", "max_epochs"), ("learning_rate", "lr")];
        aliases.extend(paths.iter().map(|(k, p)| (k.as_str(), p.as_str())));
        let name = Fit::name(self);
        if matches!(key, "net" | "arch") {
            return Err(Error::param(
                key,
                format!("{name}: set the network's fields by their names (hidden, fm_dim, ...)"),
            ));
        }
        let next = updated(&*self, &name, key, value, &aliases)?;
        next.check().map_err(|e| Error::param(key, e.to_string()))?;
        *self = next;
        Ok(())
    }

    fn check(&self) -> Result<()> {
        CtrParams::check(self)
    }

    /// Trains on [`MovieLensCtr::from_split`]: the documents' fields when
    /// `input.side` has MovieLens user and item features, `user_id` +
    /// `item_id` otherwise; early stopping on `input.validation` when given.
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        let FitInput {
            train,
            validation,
            side,
            ..
        } = input;
        let task = MovieLensCtr::from_split(side, train, validation, self.seed)?;
        Ok(Box::new(CtrScorer::new(self.fit(&task)?)?))
    }
}

/// A fitted MovieLens CTR network as a [`Scorer`]: click probabilities of
/// every `(user, item)`; `train()` is the data the stage was given.
#[derive(Debug)]
pub struct CtrScorer {
    model: CtrModel,
}

impl CtrScorer {
    /// The scorer of a model trained on `(user, item)` pairs; an error for
    /// a model trained on feature rows.
    pub fn new(model: CtrModel) -> Result<Self> {
        model.pairs()?;
        Ok(CtrScorer { model })
    }

    /// The network with its training history.
    pub fn model(&self) -> &CtrModel {
        &self.model
    }

    fn view(&self) -> PairScorer<'_> {
        PairScorer::new(&self.model).expect("checked in CtrScorer::new")
    }
}

/// A borrowed [`Scorer`] view of a MovieLens CTR network, so that
/// `eval` measures it with the code every other model goes
/// through.
#[derive(Debug, Clone, Copy)]
pub struct PairScorer<'a> {
    model: &'a CtrModel,
    encoder: &'a PairEncoder,
    train: &'a Interactions,
}

impl<'a> PairScorer<'a> {
    /// The view, or an error for a model trained on feature rows.
    pub fn new(model: &'a CtrModel) -> Result<Self> {
        let (encoder, train) = model.pairs()?;
        Ok(PairScorer {
            model,
            encoder,
            train,
        })
    }
}

impl Scorer for PairScorer<'_> {
    fn n_items(&self) -> usize {
        self.encoder.n_items()
    }
    fn train(&self) -> &Interactions {
        self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        let items: Vec<u32> = (0..out.len() as u32).collect();
        self.score_items(user, &items, out);
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        let users = vec![user; items.len()];
        out.copy_from_slice(&score_pairs(
            &self.model.net,
            self.encoder,
            &users,
            items,
            self.model.params.eval_batch,
            &self.model.device_handle().device,
        ));
    }
    fn outputs_probabilities(&self) -> bool {
        true
    }
}

impl Scorer for CtrScorer {
    fn n_items(&self) -> usize {
        self.view().n_items()
    }
    fn train(&self) -> &Interactions {
        self.model.pairs().expect("checked in CtrScorer::new").1
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        self.view().score_all(user, out)
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        self.view().score_items(user, items, out)
    }
    fn outputs_probabilities(&self) -> bool {
        true
    }
}

macro_rules! fit_by_params {
    ($($name:ident),*) => {$(
        /// Fits with the defaults of [`Self::params`]; for other values
        /// use `params()` (its setters) instead.
        impl Fit for $name {
            fn name(&self) -> String {
                Fit::name(&$name::params())
            }
            fn params(&self) -> Vec<(String, String)> {
                Fit::params(&$name::params())
            }
            fn set_param(&mut self, key: &str, _value: &str) -> Result<()> {
                Err(Error::param(
                    key,
                    format!(
                        "{} has no parameters of its own: set them on {}::params()",
                        stringify!($name),
                        stringify!($name)
                    ),
                ))
            }
            fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
                $name::params().fit_scorer(input)
            }
        }
    )*};
}

fit_by_params!(DeepFm, XDeepFm, AttentionDeepFm, WideDeep, Dcn, Dlrm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_through_set_param() {
        let mut p = DeepFm::params();
        p.set_param("hidden", "[32, 16]").unwrap();
        p.set_param("epochs", "3").unwrap();
        p.set_param("compute", "cpu").unwrap();
        p.set_param("optimizer", "{ kind = \"adam_w\", weight_decay = 0.01 }")
            .unwrap();
        assert_eq!(p.net.hidden, vec![32, 16]);
        assert_eq!(p.max_epochs, 3);
        assert_eq!(p.compute, super::super::Compute::Cpu);
        let mut r = DeepFm::params();
        r.set_param("schedule", "constant").unwrap();
        r.set_param("optimizer", "adam").unwrap();
        assert_eq!(r, DeepFm::params());
        let listed = Fit::params(&p);
        assert!(listed.contains(&("hidden".into(), "[32,16]".into())));
        assert!(listed.contains(&("max_epochs".into(), "3".into())));
        let mut q = DeepFm::params();
        for (k, v) in &listed {
            q.set_param(k, v).unwrap();
        }
        assert_eq!(p, q);
    }

    #[test]
    fn bad_params_are_errors_naming_the_key() {
        let mut p = DeepFm::params();
        let e = p.set_param("hiden", "[1]").unwrap_err().to_string();
        assert!(e.contains("hiden") && e.contains("hidden"), "{e}");
        let e = p.set_param("lr", "-1").unwrap_err().to_string();
        assert!(e.contains("lr"), "{e}");
        let e = p.set_param("batch_size", "many").unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
        assert_eq!(p, DeepFm::params());
    }

    #[test]
    fn passes_the_contract_on_ids_alone() {
        let p = DeepFm::params()
            .compute(super::super::Compute::Cpu)
            .hidden(vec![16])
            .batch_size(64)
            .lr(0.01)
            .max_epochs(40)
            .verbose(false);
        let verdict = crate::models::contract::check(&p, true).unwrap();
        assert_eq!(verdict, Ok(()));
    }
}

/// The networks on feature rows (Criteo, Avazu, MovieLens CTR): the same
/// hyper-parameters as [`Fit`], fitted by [`CtrParams::fit_features`].
impl crate::models::FitRows for CtrParams {
    fn name(&self) -> String {
        Fit::name(self)
    }
    fn params(&self) -> Vec<(String, String)> {
        Fit::params(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        Fit::set_param(self, key, value)
    }
    fn check(&self) -> Result<()> {
        CtrParams::check(self)
    }
    fn fit_rows(
        &self,
        task: &crate::features::FeatureTask,
    ) -> Result<Box<dyn crate::models::RowScorer>> {
        Ok(Box::new(self.fit_features(task)?))
    }
}

impl crate::models::RowScorer for CtrModel {
    fn name(&self) -> String {
        CtrModel::name(self).to_string()
    }
    fn params(&self) -> Vec<(String, String)> {
        self.report_params()
    }
    fn encoders(&self) -> Option<&crate::features::FeatureEncoders> {
        CtrModel::encoders(self)
    }
    fn score_rows(&self, rows: &crate::features::FeatureRows) -> Result<Vec<f32>> {
        self.predict_rows(rows)
    }
    fn fit_seconds(&self) -> f64 {
        CtrModel::fit_seconds(self)
    }
    /// Probabilities only when trained with BCE (MSE and the listwise
    /// losses order rows; their sigmoid is not calibrated).
    fn outputs_probabilities(&self) -> bool {
        self.params.loss == super::Loss::Bce
    }
    fn seed(&self) -> u64 {
        self.params.seed
    }
}
