//! EASE: embarrassingly shallow autoencoder (Steck 2019), closed form.

use faer::{Mat, Side};
use rayon::prelude::*;

use crate::data::Interactions;
use crate::metrics::ranking::masked_top_k;
use crate::models::params::{params_of, set_param_of};
use crate::models::{Fit, FitInput, Scorer, check_number};
use crate::{Error, Result};

/// The largest catalogue EASE accepts: its weights are a dense
/// items × items matrix (20k items ≈ 1.6 GB of f32 plus the f64 inverse).
pub const EASE_MAX_ITEMS: usize = 20_000;

/// EASE hyper-parameters: `B = argmin ‖X − XB‖² + λ‖B‖²` subject to
/// `diag(B) = 0`, solved in closed form: `P = (XᵀX + λI)⁻¹`,
/// `B_ij = −P_ij / P_jj`. Scores are `x_u B`. Dense items × items (by
/// design), so it is meant for catalogues up to [`EASE_MAX_ITEMS`].
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(20, 20);
/// let model = Ease::params().lambda(10.0).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ease {
    lambda: f64,
}

impl Default for Ease {
    fn default() -> Self {
        Ease { lambda: 500.0 }
    }
}

/// A fitted EASE model: the items × items weights.
#[derive(Debug, Clone)]
pub struct EaseModel {
    pub(crate) train: Interactions,
    /// Row-major `n_items × n_items`, zero diagonal.
    pub(crate) weights: Vec<f32>,
    pub(crate) lambda: f64,
}

impl Ease {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }
    /// L2 regularisation λ added to the Gram diagonal. Defaults to 500
    /// (Steck's value for ML-20M-sized data); must be > 0.
    pub fn lambda(mut self, l: f64) -> Self {
        self.lambda = l;
        self
    }

    /// Checks `lambda` (finite and > 0) before any work.
    pub fn check(&self) -> Result<()> {
        check_number("lambda", self.lambda, self.lambda > 0.0, "> 0")
    }

    /// Solves for the item weights on the binary feedback of `train`.
    pub fn fit(&self, train: &Interactions) -> Result<EaseModel> {
        self.check()?;
        let n = train.n_items();
        if n > EASE_MAX_ITEMS {
            return Err(Error::param(
                "lambda",
                format!("EASE is dense in items; {n} items exceed the limit of {EASE_MAX_ITEMS}"),
            ));
        }
        let x = train.csr().with_values(1.0);
        let xt = x.transpose();
        // G = XᵀX + λI, row by row: G[i, :] = Σ_{u ∈ users(i)} X[u, :].
        let rows: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut g = vec![0f64; n];
                for &u in xt.row(i).0 {
                    for &j in x.row(u as usize).0 {
                        g[j as usize] += 1.0;
                    }
                }
                g[i] += self.lambda;
                g
            })
            .collect();
        let g = Mat::<f64>::from_fn(n, n, |i, j| rows[i][j]);
        drop(rows);
        let llt = g.llt(Side::Lower).map_err(|e| {
            Error::InvalidData(format!("EASE: Gram matrix not positive definite: {e:?}"))
        })?;
        let p = faer::linalg::solvers::DenseSolveCore::inverse(&llt);
        let mut weights = vec![0f32; n * n];
        weights
            .par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(i, row)| {
                for (j, w) in row.iter_mut().enumerate() {
                    *w = if i == j {
                        0.0
                    } else {
                        (-p[(i, j)] / p[(j, j)]) as f32
                    };
                }
            });
        Ok(EaseModel {
            train: train.clone(),
            weights,
            lambda: self.lambda,
        })
    }
}

impl EaseModel {
    /// The weight row of item `i` (how much having `i` adds to each item).
    pub fn weights_of(&self, i: u32) -> &[f32] {
        let n = self.train.n_items();
        &self.weights[i as usize * n..(i as usize + 1) * n]
    }

    /// The `k` items `item` adds the most weight to (`B[item, :]`, best
    /// first).
    pub fn similar_items(&self, item: u32, k: usize) -> Vec<(u32, f32)> {
        let mut s = self.weights_of(item).to_vec();
        masked_top_k(&mut s, &[&[item]], k)
            .into_iter()
            .map(|j| (j, s[j as usize]))
            .collect()
    }
}

impl Scorer for EaseModel {
    fn has_file_format(&self) -> bool {
        true
    }

    fn save_model(&self, path: &std::path::Path) -> crate::Result<()> {
        EaseModel::save(self, path)
    }
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        out.fill(0.0);
        for &i in self.train.user_items(user) {
            let w = self.weights_of(i as u32);
            out.iter_mut().zip(w).for_each(|(o, w)| *o += w);
        }
    }
}

impl Fit for Ease {
    fn name(&self) -> String {
        "ease".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        set_param_of(
            self,
            "ease",
            key,
            value,
            &[("regularization", "lambda")],
            Ease::check,
        )
    }
    fn check(&self) -> Result<()> {
        Ease::check(self)
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(input.train)?))
    }
}
