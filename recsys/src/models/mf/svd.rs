//! Explicit-feedback matrix factorisation: biased MF ("FunkSVD", Koren,
//! Bell & Volinsky 2009) and SVD++ (Koren 2008), trained by SGD on ratings.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use super::factors::dot;
use crate::data::Interactions;
use crate::models::params::{params_of, updated};
use crate::models::{Fit, FitInput, Scorer, check_number};
use crate::{Error, Result};

/// Biased MF / SVD++ hyper-parameters. Predicts
/// `r̂_ui = μ + b_u + b_i + q_i · (p_u + |N(u)|^{-1/2} Σ_{j∈N(u)} y_j)`;
/// the implicit term (the `y_j`) is present only for SVD++
/// ([`Svd::plus_plus`]). Minimises squared error + `λ(b² + ‖p‖² + ‖q‖² +
/// ‖y‖²)` by SGD over the ratings in a seeded random order (defaults as in
/// Surprise). SVD++ accumulates the `y` gradient over a user's ratings and
/// applies it once per user and epoch (the usual fast variant).
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, _) = recsys::models::contract::checkerboard(20, 20);
/// let model = Svd::params().factors(8).epochs(5).fit(&train)?;
/// assert!((model.predict(0, 2) - 1.0).abs() < 0.1); // every rating is 1
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Svd {
    factors: usize,
    epochs: usize,
    learning_rate: f32,
    regularization: f32,
    init_std: f32,
    /// SVD++ (the model's name says which; not a parameter).
    #[serde(skip)]
    plus_plus: bool,
    seed: u64,
    verbose: bool,
}

impl Default for Svd {
    fn default() -> Self {
        Svd {
            factors: 100,
            epochs: 20,
            learning_rate: 0.005,
            regularization: 0.02,
            init_std: 0.1,
            plus_plus: false,
            seed: 42,
            verbose: false,
        }
    }
}

/// A fitted rating model (from [`Svd`]): predictions on the rating scale.
#[derive(Debug, Clone)]
pub struct SvdModel {
    pub(crate) train: Interactions,
    pub(crate) factors: usize,
    pub(crate) mean: f32,
    pub(crate) user_bias: Vec<f32>,
    pub(crate) item_bias: Vec<f32>,
    /// Users × factors: `p_u` plus, for SVD++, the implicit term.
    pub(crate) user: Vec<f32>,
    pub(crate) item: Vec<f32>,
    pub(crate) clip: (f32, f32),
    pub(crate) plus_plus: bool,
    /// Training RMSE per epoch.
    pub(crate) history: Vec<f64>,
}

impl Svd {
    /// Biased MF hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }
    /// SVD++ hyper-parameters: [`Svd::params`] with the implicit term and
    /// 20 factors (Surprise's defaults).
    pub fn plus_plus() -> Self {
        Svd {
            plus_plus: true,
            factors: 20,
            ..Self::default()
        }
    }
    /// Latent factors. Defaults to 100 (20 for SVD++); must be ≥ 1.
    pub fn factors(mut self, f: usize) -> Self {
        self.factors = f;
        self
    }
    /// Passes over the ratings (the bound on training time). Defaults to 20.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// SGD step. Defaults to 0.005; must be > 0.
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.learning_rate = lr;
        self
    }
    /// L2 regularisation λ of biases and factors. Defaults to 0.02.
    pub fn regularization(mut self, l: f32) -> Self {
        self.regularization = l;
        self
    }
    /// Standard deviation of the initial factors. Defaults to 0.1.
    pub fn init_std(mut self, s: f32) -> Self {
        self.init_std = s;
        self
    }
    /// Seed of the initial factors and the rating order. Defaults to 42.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Print one line per epoch (training RMSE, time). Defaults to false.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }

    /// Checks every hyper-parameter (before any work; `fit` calls it):
    /// `factors` ≥ 1, `learning_rate` finite and > 0, `regularization` and
    /// `init_std` finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        if self.factors == 0 {
            return Err(Error::param("factors", "must be ≥ 1"));
        }
        let (lr, reg, std) = (
            f64::from(self.learning_rate),
            f64::from(self.regularization),
            f64::from(self.init_std),
        );
        check_number("learning_rate", lr, lr > 0.0, "> 0")?;
        check_number("regularization", reg, reg >= 0.0, "≥ 0")?;
        check_number("init_std", std, std >= 0.0, "≥ 0")
    }

    /// Trains on the ratings of `train` (value 1 where there are none).
    pub fn fit(&self, train: &Interactions) -> Result<SvdModel> {
        self.check()?;
        let (nu, ni, f) = (train.n_users(), train.n_items(), self.factors);
        let n = train.len();
        if n == 0 {
            return Err(Error::InvalidData("SVD needs at least one rating".into()));
        }
        let ones = vec![1f32; n];
        let r = train.ratings().unwrap_or(&ones);
        let items = train.item_indices();
        let mean = (r.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64) as f32;
        let clip = r
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut normal = |n: usize, std: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    // Box–Muller
                    let (a, b): (f32, f32) = (rng.random::<f32>().max(1e-12), rng.random());
                    std * (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
                })
                .collect()
        };
        let mut p = normal(nu * f, self.init_std);
        let mut q = normal(ni * f, self.init_std);
        let mut y = if self.plus_plus {
            normal(ni * f, self.init_std)
        } else {
            Vec::new()
        };
        let (mut bu, mut bi) = (vec![0f32; nu], vec![0f32; ni]);
        let (lr, reg) = (self.learning_rate, self.regularization);
        let by_user = train.rows_by_user();
        let seen: Vec<&[u32]> = (0..nu as u32).map(|u| train.user_items(u)).collect();
        let mut user_order: Vec<usize> = (0..nu).collect();
        let mut history = Vec::with_capacity(self.epochs);
        let (mut z, mut gz, mut pz) = (vec![0f32; f], vec![0f32; f], vec![0f32; f]);
        for epoch in 0..self.epochs {
            let t = Instant::now();
            let mut sse = 0f64;
            user_order.shuffle(&mut rng);
            for &u in &user_order {
                let mut rows = by_user[u].clone();
                rows.shuffle(&mut rng);
                let nrm = if self.plus_plus && !seen[u].is_empty() {
                    (seen[u].len() as f32).powf(-0.5)
                } else {
                    0.0
                };
                if self.plus_plus {
                    z.fill(0.0);
                    for j in seen[u].iter().map(|&j| j as usize) {
                        z.iter_mut()
                            .zip(&y[j * f..(j + 1) * f])
                            .for_each(|(a, b)| *a += nrm * b);
                    }
                    gz.fill(0.0);
                }
                for row in rows {
                    let i = items[row] as usize;
                    let pu = &mut p[u * f..(u + 1) * f];
                    pz.iter_mut()
                        .zip(pu.iter())
                        .zip(&z)
                        .for_each(|((o, a), b)| *o = a + if self.plus_plus { *b } else { 0.0 });
                    let qi = &mut q[i * f..(i + 1) * f];
                    let e = r[row] - (mean + bu[u] + bi[i] + dot(qi, &pz));
                    sse += f64::from(e * e);
                    bu[u] += lr * (e - reg * bu[u]);
                    bi[i] += lr * (e - reg * bi[i]);
                    for k in 0..f {
                        let (pk, qk) = (pu[k], qi[k]);
                        pu[k] += lr * (e * qk - reg * pk);
                        qi[k] += lr * (e * pz[k] - reg * qk);
                        gz[k] += e * qk;
                    }
                }
                if self.plus_plus {
                    for j in seen[u].iter().map(|&j| j as usize) {
                        y[j * f..(j + 1) * f]
                            .iter_mut()
                            .zip(&gz)
                            .for_each(|(a, g)| *a += lr * (nrm * g - reg * *a));
                    }
                }
            }
            let rmse = (sse / n as f64).sqrt();
            history.push(rmse);
            if self.verbose {
                println!(
                    "{} epoch {}/{}: train RMSE {rmse:.4}, {:.0} ms",
                    self.name(),
                    epoch + 1,
                    self.epochs,
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        // Fold the implicit term into the user vectors for scoring.
        if self.plus_plus {
            for u in 0..nu {
                if seen[u].is_empty() {
                    continue;
                }
                let nrm = (seen[u].len() as f32).powf(-0.5);
                for j in seen[u].iter().map(|&j| j as usize) {
                    for k in 0..f {
                        p[u * f + k] += nrm * y[j * f + k];
                    }
                }
            }
        }
        Ok(SvdModel {
            train: train.clone(),
            factors: f,
            mean,
            user_bias: bu,
            item_bias: bi,
            user: p,
            item: q,
            clip,
            plus_plus: self.plus_plus,
            history,
        })
    }
}

impl SvdModel {
    /// Predicted rating of `item` by `user`, clipped to the training range.
    pub fn predict(&self, user: u32, item: u32) -> f32 {
        let f = self.factors;
        let (u, i) = (user as usize, item as usize);
        let s = self.mean
            + self.user_bias[u]
            + self.item_bias[i]
            + dot(
                &self.user[u * f..(u + 1) * f],
                &self.item[i * f..(i + 1) * f],
            );
        s.clamp(self.clip.0, self.clip.1)
    }

    /// Training RMSE per epoch (the learning curve).
    pub fn history(&self) -> &[f64] {
        &self.history
    }

    /// The `k` items with the most similar factors (cosine) to `item`.
    pub fn similar_items(&self, item: u32, k: usize) -> Vec<(u32, f32)> {
        super::factors::cosine_neighbours(&self.item, self.factors, item, k)
    }
}

impl Scorer for SvdModel {
    fn has_file_format(&self) -> bool {
        true
    }

    fn save_model(&self, path: &std::path::Path) -> crate::Result<()> {
        SvdModel::save(self, path)
    }
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.predict(user, i as u32);
        }
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(items) {
            *o = self.predict(user, i);
        }
    }
    fn predicts_ratings(&self) -> bool {
        true
    }
}

impl Fit for Svd {
    fn name(&self) -> String {
        if self.plus_plus { "svdpp" } else { "svd" }.into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let aliases = [("lr", "learning_rate"), ("iterations", "epochs")];
        let mut next = updated(self, &self.name(), key, value, &aliases)?;
        next.plus_plus = self.plus_plus;
        next.check()?;
        *self = next;
        Ok(())
    }
    fn check(&self) -> Result<()> {
        Svd::check(self)
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(input.train)?))
    }
}
