//! Implicit-feedback ALS with a conjugate-gradient solver.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use super::factors::{FactorModel, dot};
use crate::data::Interactions;
use crate::models::cf::knn_csr::Csr;
use crate::models::{Fit, Scorer, parse_param, unknown_param};
use crate::{Error, Result};

/// Implicit ALS hyper-parameters (Hu, Koren & Volinsky 2008): minimises
/// `Σ_{u,i} c_ui (p_ui − x_u·y_i)² + λ(‖X‖² + ‖Y‖²)` with `p_ui = 1` for
/// observed pairs (else 0) and confidence `c_ui = 1 + α·r_ui` (r = 1 for
/// binary data). Each half-step solves every user's (item's) normal
/// equations with a few conjugate-gradient steps warm-started from the
/// previous factors, as implicit's CPU solver does.
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(20, 20);
/// let model = Als::params().factors(8).iterations(10).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Als {
    factors: usize,
    regularization: f32,
    alpha: f32,
    iterations: usize,
    cg_steps: usize,
    seed: u64,
    verbose: bool,
}

impl Default for Als {
    fn default() -> Self {
        Als {
            factors: 64,
            regularization: 0.05,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            seed: 42,
            verbose: false,
        }
    }
}

impl Als {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }
    /// Latent factors. Defaults to 64; must be ≥ 1.
    pub fn factors(mut self, f: usize) -> Self {
        self.factors = f;
        self
    }
    /// L2 regularisation λ. Defaults to 0.05; must be ≥ 0.
    pub fn regularization(mut self, l: f32) -> Self {
        self.regularization = l;
        self
    }
    /// Confidence slope α (`c = 1 + α·r`). Defaults to 1; must be ≥ 0.
    pub fn alpha(mut self, a: f32) -> Self {
        self.alpha = a;
        self
    }
    /// Alternating iterations (each updates users, then items). Defaults to
    /// 15; this is the bound on training time.
    pub fn iterations(mut self, n: usize) -> Self {
        self.iterations = n;
        self
    }
    /// Conjugate-gradient steps per solve. Defaults to 3.
    pub fn cg_steps(mut self, n: usize) -> Self {
        self.cg_steps = n;
        self
    }
    /// Seed of the initial factors. Defaults to 42.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Print one line per iteration (loss, time) and keep the loss curve
    /// ([`FactorModel::history`]; computing it costs about a third of an
    /// iteration). Defaults to false.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }

    /// Trains the factors on binary (or count) feedback of `train`.
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel> {
        if self.factors == 0 || self.cg_steps == 0 {
            return Err(Error::param("factors", "factors and cg_steps must be ≥ 1"));
        }
        if !(self.regularization >= 0.0 && self.alpha >= 0.0) {
            return Err(Error::param(
                "regularization",
                "regularization and alpha must be ≥ 0",
            ));
        }
        let f = self.factors;
        let (nu, ni) = (train.n_users(), train.n_items());
        let mut cui = Csr::from_sprs(train.csr(), nu, ni);
        cui.data
            .iter_mut()
            .for_each(|x| *x = 1.0 + self.alpha * x.max(0.0).min(1.0));
        let ciu = cui.transpose();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(self.seed);
        let mut init = |n: usize| {
            (0..n * f)
                .map(|_| rng.random::<f32>() * 0.01)
                .collect::<Vec<f32>>()
        };
        let mut x = init(nu);
        let mut y = init(ni);
        let mut history = Vec::with_capacity(self.iterations);
        for it in 0..self.iterations {
            let t = Instant::now();
            solve_side(&cui, &mut x, &y, f, self.regularization, self.cg_steps);
            solve_side(&ciu, &mut y, &x, f, self.regularization, self.cg_steps);
            if self.verbose {
                let loss = loss(&cui, &x, &y, f, self.regularization);
                history.push(loss);
                println!(
                    "als iteration {}/{}: loss {loss:.5}, {:.0} ms",
                    it + 1,
                    self.iterations,
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        Ok(FactorModel {
            train: train.clone(),
            factors: f,
            user: x,
            item: y,
            item_bias: None,
            history,
        })
    }
}

/// `Yᵀ Y + λ I` (f × f, row-major).
fn gram(y: &[f32], f: usize, reg: f32) -> Vec<f32> {
    let mut g = y
        .par_chunks(f * 256)
        .map(|block| {
            let mut g = vec![0f32; f * f];
            for row in block.chunks(f) {
                for a in 0..f {
                    let ra = row[a];
                    for b in a..f {
                        g[a * f + b] += ra * row[b];
                    }
                }
            }
            g
        })
        .reduce(
            || vec![0f32; f * f],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    for a in 0..f {
        for b in 0..a {
            g[a * f + b] = g[b * f + a];
        }
        g[a * f + a] += reg;
    }
    g
}

fn matvec(g: &[f32], v: &[f32], out: &mut [f32]) {
    let f = v.len();
    for (a, o) in out.iter_mut().enumerate() {
        *o = dot(&g[a * f..(a + 1) * f], v);
    }
}

/// Updates every row of `x` given the fixed other side `y` and confidences
/// `c` (rows of `c` index rows of `x`, columns rows of `y`).
fn solve_side(c: &Csr, x: &mut [f32], y: &[f32], f: usize, reg: f32, cg_steps: usize) {
    let yty = gram(y, f, reg);
    x.par_chunks_mut(f).enumerate().for_each_init(
        || (vec![0f32; f], vec![0f32; f], vec![0f32; f]),
        |(r, p, ap), (u, xu)| {
            let (idx, conf) = c.row(u);
            // r = Yᵀ C_u p_u − (Yᵀ C_u Y + λI) x_u, without forming Yᵀ C_u Y
            matvec(&yty, xu, r);
            r.iter_mut().for_each(|v| *v = -*v);
            for (&i, &cu) in idx.iter().zip(conf) {
                let yi = &y[i as usize * f..(i as usize + 1) * f];
                let w = cu - (cu - 1.0) * dot(yi, xu);
                r.iter_mut().zip(yi).for_each(|(a, b)| *a += w * b);
            }
            p.copy_from_slice(r);
            let mut rs_old = dot(r, r);
            for _ in 0..cg_steps {
                if rs_old < 1e-20 {
                    break;
                }
                matvec(&yty, p, ap);
                for (&i, &cu) in idx.iter().zip(conf) {
                    let yi = &y[i as usize * f..(i as usize + 1) * f];
                    let w = (cu - 1.0) * dot(yi, p);
                    ap.iter_mut().zip(yi).for_each(|(a, b)| *a += w * b);
                }
                let step = rs_old / dot(p, ap);
                xu.iter_mut()
                    .zip(p.iter())
                    .for_each(|(a, b)| *a += step * b);
                r.iter_mut()
                    .zip(ap.iter())
                    .for_each(|(a, b)| *a -= step * b);
                let rs_new = dot(r, r);
                p.iter_mut()
                    .zip(r.iter())
                    .for_each(|(a, b)| *a = b + (rs_new / rs_old) * *a);
                rs_old = rs_new;
            }
        },
    );
}

/// The objective divided by the number of cells: `Σ_u [x_uᵀ(YᵀY)x_u +
/// Σ_{i∈I(u)} ((c−1)(x_u·y_i)² − 2c x_u·y_i + c)] + λ(‖X‖² + ‖Y‖²)`.
fn loss(c: &Csr, x: &[f32], y: &[f32], f: usize, reg: f32) -> f64 {
    let yty = gram(y, f, 0.0);
    let total: f64 = x
        .par_chunks(f)
        .enumerate()
        .map(|(u, xu)| {
            let mut tmp = vec![0f32; f];
            matvec(&yty, xu, &mut tmp);
            let mut l = f64::from(dot(xu, &tmp));
            let (idx, conf) = c.row(u);
            for (&i, &cu) in idx.iter().zip(conf) {
                let s = dot(xu, &y[i as usize * f..(i as usize + 1) * f]);
                l += f64::from((cu - 1.0) * s * s - 2.0 * cu * s + cu);
            }
            l + f64::from(reg) * f64::from(dot(xu, xu))
        })
        .sum();
    let ry: f64 = y.chunks(f).map(|v| f64::from(dot(v, v))).sum::<f64>() * f64::from(reg);
    (total + ry) / (c.n_rows() * c.n_cols).max(1) as f64
}

impl Fit for Als {
    fn name(&self) -> String {
        "als".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("factors".into(), self.factors.to_string()),
            ("regularization".into(), self.regularization.to_string()),
            ("alpha".into(), self.alpha.to_string()),
            ("iterations".into(), self.iterations.to_string()),
        ]
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "factors" => self.factors = parse_param(key, value)?,
            "regularization" => self.regularization = parse_param(key, value)?,
            "alpha" => self.alpha = parse_param(key, value)?,
            "iterations" => self.iterations = parse_param(key, value)?,
            "cg_steps" => self.cg_steps = parse_param(key, value)?,
            "seed" => self.seed = parse_param(key, value)?,
            "verbose" => self.verbose = parse_param(key, value)?,
            _ => {
                return Err(unknown_param(
                    "als",
                    key,
                    &[
                        "factors",
                        "regularization",
                        "alpha",
                        "iterations",
                        "cg_steps",
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
