//! Bayesian Personalised Ranking with stochastic gradient descent.

use std::time::Instant;

use rand::{RngExt, SeedableRng};

use super::factors::{FactorModel, dot};
use crate::data::Interactions;
use crate::models::cf::knn_csr::Csr;
use crate::models::{Fit, Scorer, parse_param, unknown_param};
use crate::{Error, Result};

/// How BPR draws the negative item of a triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSampling {
    /// Uniformly over all items (Rendle et al.).
    Uniform,
    /// Proportionally to item popularity (implicit's sampler).
    Popularity,
}

/// BPR hyper-parameters (Rendle et al. 2009): maximises
/// `Σ ln σ(x_u·(y_i − y_j) + b_i − b_j) − λ‖Θ‖²` over triples (u, i, j) with
/// i observed and j not, by SGD. Each epoch draws as many triples as there
/// are training pairs. Single-threaded and seeded, so the same seed gives
/// the same model.
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(20, 20);
/// let model = Bpr::params().factors(8).epochs(60).learning_rate(0.05).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Bpr {
    factors: usize,
    learning_rate: f32,
    regularization: f32,
    epochs: usize,
    sampling: NegativeSampling,
    seed: u64,
    verbose: bool,
}

impl Default for Bpr {
    fn default() -> Self {
        Bpr {
            factors: 64,
            learning_rate: 0.05,
            regularization: 0.01,
            epochs: 50,
            sampling: NegativeSampling::Uniform,
            seed: 42,
            verbose: false,
        }
    }
}

impl Bpr {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }
    /// Latent factors. Defaults to 64; must be ≥ 1.
    pub fn factors(mut self, f: usize) -> Self {
        self.factors = f;
        self
    }
    /// SGD step size. Defaults to 0.05; must be > 0.
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.learning_rate = lr;
        self
    }
    /// L2 regularisation λ. Defaults to 0.01; must be ≥ 0.
    pub fn regularization(mut self, l: f32) -> Self {
        self.regularization = l;
        self
    }
    /// Epochs (the bound on training time). Defaults to 50.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// Negative sampling. Defaults to [`NegativeSampling::Uniform`].
    pub fn sampling(mut self, s: NegativeSampling) -> Self {
        self.sampling = s;
        self
    }
    /// Seed of the initial factors and the sampler. Defaults to 42.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Print one line per epoch (loss, ranking accuracy, time). Defaults to false.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }

    /// Trains on the binary feedback of `train`.
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel> {
        if self.factors == 0 {
            return Err(Error::param("factors", "must be ≥ 1"));
        }
        if !(self.learning_rate > 0.0 && self.regularization >= 0.0) {
            return Err(Error::param(
                "learning_rate",
                "learning_rate must be > 0 and regularization ≥ 0",
            ));
        }
        let f = self.factors;
        let (nu, ni) = (train.n_users(), train.n_items());
        let ui = Csr::from_sprs(train.csr(), nu, ni);
        let nnz = ui.indices.len();
        if nnz == 0 {
            return Err(Error::InvalidData(
                "BPR needs at least one interaction".into(),
            ));
        }
        let entry_user: Vec<u32> = (0..nu)
            .flat_map(|u| std::iter::repeat_n(u as u32, ui.indptr[u + 1] - ui.indptr[u]))
            .collect();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let scale = 1.0 / f as f32;
        let mut init = |n: usize| {
            (0..n * f)
                .map(|_| (rng.random::<f32>() - 0.5) * scale)
                .collect::<Vec<f32>>()
        };
        let mut x = init(nu);
        let mut y = init(ni);
        let mut bias = vec![0f32; ni];
        let (lr, reg) = (self.learning_rate, self.regularization);
        let mut history = Vec::with_capacity(self.epochs);
        let mut grad_u = vec![0f32; f];
        for epoch in 0..self.epochs {
            let t = Instant::now();
            let (mut loss, mut correct, mut skipped) = (0f64, 0usize, 0usize);
            for _ in 0..nnz {
                let e = rng.random_range(0..nnz);
                let u = entry_user[e] as usize;
                let i = ui.indices[e] as usize;
                let liked = ui.row(u).0;
                let j = match self.sampling {
                    NegativeSampling::Uniform => rng.random_range(0..ni as u32),
                    NegativeSampling::Popularity => ui.indices[rng.random_range(0..nnz)],
                };
                if liked.binary_search(&j).is_ok() {
                    skipped += 1;
                    continue;
                }
                let j = j as usize;
                let (xu, yi, yj) = (
                    &x[u * f..(u + 1) * f],
                    &y[i * f..(i + 1) * f],
                    &y[j * f..(j + 1) * f],
                );
                let z = dot(xu, yi) - dot(xu, yj) + bias[i] - bias[j];
                let g = 1.0 / (1.0 + z.exp()); // σ(−z) = ∂ ln σ(z) / ∂z
                loss += f64::from((1.0 + (-z).exp()).ln());
                correct += usize::from(z > 0.0);
                for k in 0..f {
                    grad_u[k] = g * (yi[k] - yj[k]) - reg * xu[k];
                }
                for k in 0..f {
                    let xuk = x[u * f + k];
                    y[i * f + k] += lr * (g * xuk - reg * y[i * f + k]);
                    y[j * f + k] += lr * (-g * xuk - reg * y[j * f + k]);
                    x[u * f + k] += lr * grad_u[k];
                }
                bias[i] += lr * (g - reg * bias[i]);
                bias[j] += lr * (-g - reg * bias[j]);
            }
            let used = (nnz - skipped).max(1);
            let mean = loss / used as f64;
            history.push(mean);
            if self.verbose {
                println!(
                    "bpr epoch {}/{}: loss {mean:.4}, correct {:.1}%, {:.0} ms",
                    epoch + 1,
                    self.epochs,
                    100.0 * correct as f64 / used as f64,
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        Ok(FactorModel {
            train: train.clone(),
            factors: f,
            user: x,
            item: y,
            item_bias: Some(bias),
            history,
        })
    }
}

impl Fit for Bpr {
    fn name(&self) -> String {
        "bpr".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        let sampling = match self.sampling {
            NegativeSampling::Uniform => "uniform",
            NegativeSampling::Popularity => "popularity",
        };
        vec![
            ("factors".into(), self.factors.to_string()),
            ("learning_rate".into(), self.learning_rate.to_string()),
            ("regularization".into(), self.regularization.to_string()),
            ("epochs".into(), self.epochs.to_string()),
            ("sampling".into(), sampling.into()),
        ]
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "factors" => self.factors = parse_param(key, value)?,
            "learning_rate" | "lr" => self.learning_rate = parse_param(key, value)?,
            "regularization" => self.regularization = parse_param(key, value)?,
            "epochs" | "iterations" => self.epochs = parse_param(key, value)?,
            "seed" => self.seed = parse_param(key, value)?,
            "verbose" => self.verbose = parse_param(key, value)?,
            "sampling" => {
                self.sampling = match value.trim() {
                    "uniform" => NegativeSampling::Uniform,
                    "popularity" => NegativeSampling::Popularity,
                    o => {
                        return Err(Error::param(
                            key,
                            format!("{o:?}: expected uniform or popularity"),
                        ));
                    }
                }
            }
            _ => {
                return Err(unknown_param(
                    "bpr",
                    key,
                    &[
                        "factors",
                        "learning_rate",
                        "regularization",
                        "epochs",
                        "sampling",
                        "seed",
                        "verbose",
                    ],
                ));
            }
        }
        Ok(())
    }
    fn fit_scorer(&self, train: &Interactions) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(train)?))
    }
}
