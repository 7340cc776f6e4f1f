//! Implicit-feedback ALS with a conjugate-gradient solver.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use faer::{Mat, Side};

use super::factors::{FactorModel, dot};
#[cfg(target_arch = "x86_64")]
use super::simd::Fused;
use super::simd::{MulAdd, Plain, axpy, dot_inline};
use crate::data::Interactions;
use crate::models::params::{params_of, set_param_of};
use crate::models::training::{Monitor, Validation, Verdict};
use crate::models::{Fit, FitInput, Scorer, check_factor_memory, check_number};
use crate::sparse::Csr;
use crate::{Error, Result};

/// How ALS solves each user's (item's) normal equations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlsSolver {
    /// A few conjugate-gradient steps warm-started from the previous factors
    /// (implicit's solver; `O(nnz·f)` per step). Listed as `cg_steps`.
    #[serde(alias = "cg")]
    ConjugateGradient {
        #[serde(rename = "cg_steps", default = "default_cg_steps")]
        steps: usize,
    },
    /// The exact solution by Cholesky factorisation of `YᵀC_uY + λI`
    /// (`O(nnz·f² + f³)` per row; for checking the CG solver).
    Cholesky,
}

fn default_cg_steps() -> usize {
    3
}

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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Als {
    factors: usize,
    regularization: f32,
    alpha: f32,
    iterations: usize,
    solver: AlsSolver,
    seed: u64,
    verbose: bool,
    #[serde(flatten)]
    validation: Validation,
}

impl Default for Als {
    fn default() -> Self {
        Als {
            factors: 64,
            regularization: 0.05,
            alpha: 1.0,
            iterations: 15,
            solver: AlsSolver::ConjugateGradient { steps: 3 },
            seed: 42,
            verbose: false,
            validation: Validation::default(),
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
    /// Conjugate-gradient steps per solve (selects the CG solver). Defaults
    /// to 3.
    pub fn cg_steps(mut self, n: usize) -> Self {
        self.solver = AlsSolver::ConjugateGradient { steps: n };
        self
    }
    /// The solver. Defaults to `ConjugateGradient { steps: 3 }`.
    pub fn solver(mut self, s: AlsSolver) -> Self {
        self.solver = s;
        self
    }
    crate::models::training::validation_setters!("Als::fit_validated", "iteration");

    /// Checks every hyper-parameter (before any work; `fit` calls it):
    /// `factors`, `cg_steps`, `iterations` ≥ 1, `regularization` and
    /// `alpha` finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        if self.factors == 0 {
            return Err(Error::param("factors", "must be ≥ 1"));
        }
        if self.solver == (AlsSolver::ConjugateGradient { steps: 0 }) {
            return Err(Error::param("cg_steps", "must be ≥ 1"));
        }
        let (reg, alpha) = (f64::from(self.regularization), f64::from(self.alpha));
        check_number("regularization", reg, reg >= 0.0, "≥ 0")?;
        check_number("alpha", alpha, alpha >= 0.0, "≥ 0")?;
        self.validation.check()
    }
    /// Seed of the initial factors. Defaults to 42.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Print one line per iteration (loss, validation NDCG@10, time; a bar
    /// in terminals) and record the loss in the learning curve
    /// ([`FactorModel::learning_curve`]; computing the loss costs about a
    /// third of an iteration). Defaults to false.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }

    /// Trains the factors on the binary feedback of `train`.
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel> {
        self.fit_validated(train, None)
    }

    /// Trains, checking NDCG@10 on `validation` (full ranking, training
    /// items masked) as configured; under early stopping the model keeps
    /// the best iteration.
    pub fn fit_validated(
        &self,
        train: &Interactions,
        validation: Option<&Interactions>,
    ) -> Result<FactorModel> {
        self.check()?;
        let f = self.factors;
        let (nu, ni) = (train.n_users(), train.n_items());
        // Users' and items' factors, and a copy of each for early stopping.
        check_factor_memory("factors", 2 * (nu + ni) as u128 * f as u128)?;
        let mut cui = train.csr().clone();
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
        let mut monitor = Monitor::new(
            "als",
            self.iterations,
            self.verbose,
            train,
            validation,
            self.validation,
        );
        let mut best: Option<(Vec<f32>, Vec<f32>)> = None;
        for it in 1..=self.iterations {
            let t = Instant::now();
            self.solve_side(&cui, &mut x, &y, f);
            self.solve_side(&ciu, &mut y, &x, f);
            let secs = t.elapsed().as_secs_f64();
            let loss = self
                .verbose
                .then(|| loss(&cui, &x, &y, f, self.regularization));
            let verdict = monitor.epoch(it, loss, secs, |u, out| {
                let xu = &x[u as usize * f..(u as usize + 1) * f];
                for (o, yi) in out.iter_mut().zip(y.chunks_exact(f)) {
                    *o = dot(xu, yi);
                }
            });
            match verdict {
                Verdict::Improved if monitor.validates() => best = Some((x.clone(), y.clone())),
                Verdict::Stop => break,
                _ => {}
            }
        }
        if let Some((bx, by)) = best {
            (x, y) = (bx, by);
        }
        Ok(FactorModel {
            train: train.clone(),
            factors: f,
            user: x,
            item: y,
            item_bias: None,
            curve: monitor.finish(),
        })
    }

    /// The objective of `(x, y)` on `train` divided by the number of cells
    /// (for checking solvers against each other).
    pub fn objective(&self, train: &Interactions, model: &FactorModel) -> f64 {
        let mut cui = train.csr().clone();
        cui.data
            .iter_mut()
            .for_each(|x| *x = 1.0 + self.alpha * x.max(0.0).min(1.0));
        loss(
            &cui,
            &model.user,
            &model.item,
            model.factors,
            self.regularization,
        )
    }

    fn solve_side(&self, c: &Csr, x: &mut [f32], y: &[f32], f: usize) {
        match self.solver {
            AlsSolver::ConjugateGradient { steps } => {
                solve_side(c, x, y, f, self.regularization, steps)
            }
            AlsSolver::Cholesky => solve_side_exact(c, x, y, f, self.regularization),
        }
    }
}

/// Exact solves: `x_u = (YᵀY + λI + Σ_i (c−1) y_i y_iᵀ)⁻¹ Σ_i c y_i`.
fn solve_side_exact(c: &Csr, x: &mut [f32], y: &[f32], f: usize, reg: f32) {
    let yty = gram(y, f, reg);
    x.par_chunks_mut(f).enumerate().for_each(|(u, xu)| {
        let (idx, conf) = c.row(u);
        let mut a = Mat::<f64>::from_fn(f, f, |i, j| f64::from(yty[i * f + j]));
        let mut b = Mat::<f64>::zeros(f, 1);
        for (&i, &cu) in idx.iter().zip(conf) {
            let yi = &y[i as usize * f..(i as usize + 1) * f];
            for p in 0..f {
                b[(p, 0)] += f64::from(cu * yi[p]);
                let w = f64::from((cu - 1.0) * yi[p]);
                for q in 0..f {
                    a[(p, q)] += w * f64::from(yi[q]);
                }
            }
        }
        if let Ok(llt) = a.llt(Side::Lower) {
            let sol = faer::linalg::solvers::Solve::solve(&llt, &b);
            for (p, v) in xu.iter_mut().enumerate() {
                *v = sol[(p, 0)] as f32;
            }
        }
    });
}

/// `Yᵀ Y + λ I` (f × f, row-major).
fn gram(y: &[f32], f: usize, reg: f32) -> Vec<f32> {
    // One SIMD matrix product (faer) per block of 1,024 rows, in parallel;
    // the blocks' products are then summed in block order, so the result
    // is the same bits whatever the number of threads (a parallel reduce
    // would add them in an order that depends on how rayon split the work).
    let partials: Vec<Vec<f32>> = y
        .par_chunks(f * 1024)
        .map(|block| {
            let m = faer::MatRef::from_row_major_slice(block, block.len() / f, f);
            let p = m.transpose() * m;
            let mut out = vec![0f32; f * f];
            for a in 0..f {
                for b in 0..f {
                    out[a * f + b] = p[(a, b)];
                }
            }
            out
        })
        .collect();
    let mut g = vec![0f32; f * f];
    for p in partials {
        g.iter_mut().zip(p).for_each(|(x, y)| *x += y);
    }
    for a in 0..f {
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
    #[cfg(target_arch = "x86_64")]
    let wide =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    x.par_chunks_mut(f)
        .enumerate()
        .with_min_len(8)
        .for_each_init(
            || (vec![0f32; f], vec![0f32; f], vec![0f32; f], Vec::new()),
            |(r, p, ap, w), (u, xu)| {
                let (idx, conf) = c.row(u);
                let rows = Rows { idx, conf, y, f };
                #[cfg(target_arch = "x86_64")]
                if wide {
                    // SAFETY: the CPU supports AVX2 and FMA (checked above).
                    unsafe { cg_row_avx2(&yty, &rows, xu, r, p, ap, w, cg_steps) };
                    return;
                }
                cg_row::<Plain, 0>(&yty, &rows, xu, r, p, ap, w, cg_steps);
            },
        );
}

/// One row's confidences and the other side's factors.
struct Rows<'a> {
    idx: &'a [u32],
    conf: &'a [f32],
    y: &'a [f32],
    f: usize,
}

/// `cg_row` compiled for AVX2 + FMA (chosen at run time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn cg_row_avx2(
    yty: &[f32],
    rows: &Rows,
    xu: &mut [f32],
    r: &mut [f32],
    p: &mut [f32],
    ap: &mut [f32],
    w: &mut Vec<f32>,
    cg_steps: usize,
) {
    // Common factor counts get their own build (constant loop bounds unroll).
    match rows.f {
        32 => cg_row::<Fused, 32>(yty, rows, xu, r, p, ap, w, cg_steps),
        64 => cg_row::<Fused, 64>(yty, rows, xu, r, p, ap, w, cg_steps),
        128 => cg_row::<Fused, 128>(yty, rows, xu, r, p, ap, w, cg_steps),
        _ => cg_row::<Fused, 0>(yty, rows, xu, r, p, ap, w, cg_steps),
    }
}

/// Conjugate-gradient steps on one row's normal equations
/// `(YᵀY + λI + Σ_i (c_i − 1) y_i y_iᵀ) x = Σ_i c_i y_i`, warm-started at `xu`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn cg_row<M: MulAdd, const F: usize>(
    yty: &[f32],
    rows: &Rows,
    xu: &mut [f32],
    r: &mut [f32],
    p: &mut [f32],
    ap: &mut [f32],
    w: &mut Vec<f32>,
    cg_steps: usize,
) {
    // F > 0: the factor count is a compile-time constant.
    let f = if F > 0 { F } else { rows.f };
    let (xu, r, p, ap) = (&mut xu[..f], &mut r[..f], &mut p[..f], &mut ap[..f]);
    // r = Yᵀ C_u p_u − (Yᵀ C_u Y + λI) x_u, without forming Yᵀ C_u Y
    matvec_inline::<M, F>(yty, xu, r);
    for v in r.iter_mut() {
        *v = -*v;
    }
    w.clear();
    for (&i, &cu) in rows.idx.iter().zip(rows.conf) {
        w.push(
            cu - (cu - 1.0) * dot_inline::<M>(&rows.y[i as usize * f..(i as usize + 1) * f], xu),
        );
    }
    gather_axpy::<M, F>(rows, w, r);
    p.copy_from_slice(r);
    let mut rs_old = dot_inline::<M>(r, r);
    for _ in 0..cg_steps {
        if rs_old < 1e-20 {
            break;
        }
        matvec_inline::<M, F>(yty, p, ap);
        // All dots first (independent, so they pipeline), then the updates.
        // (plain loops, no closures: closures do not inherit target features)
        w.clear();
        for (&i, &cu) in rows.idx.iter().zip(rows.conf) {
            w.push((cu - 1.0) * dot_inline::<M>(&rows.y[i as usize * f..(i as usize + 1) * f], p));
        }
        gather_axpy::<M, F>(rows, w, ap);
        let step = rs_old / dot_inline::<M>(p, ap);
        axpy::<M>(step, p, xu);
        axpy::<M>(-step, ap, r);
        let rs_new = dot_inline::<M>(r, r);
        let beta = rs_new / rs_old;
        for (a, b) in p.iter_mut().zip(r.iter()) {
            *a = M::mul_add(beta, *a, *b);
        }
        rs_old = rs_new;
    }
}

/// `out += Σ_k w_k · y_{idx_k}`. With the factor count known at compile
/// time the sum runs in a local array, which the compiler keeps in vector
/// registers across the rows instead of reloading and storing `out`.
#[inline(always)]
fn gather_axpy<M: MulAdd, const F: usize>(rows: &Rows, w: &[f32], out: &mut [f32]) {
    let f = out.len();
    if F > 0 && F <= 64 {
        let mut acc = [0f32; 64];
        let acc = &mut acc[..F];
        for (&i, &wi) in rows.idx.iter().zip(w) {
            let yi = &rows.y[i as usize * F..(i as usize + 1) * F];
            for k in 0..F {
                acc[k] = M::mul_add(wi, yi[k], acc[k]);
            }
        }
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            *o += *a;
        }
    } else {
        for (&i, &wi) in rows.idx.iter().zip(w) {
            axpy::<M>(wi, &rows.y[i as usize * f..(i as usize + 1) * f], out);
        }
    }
}

/// `out = M v` for a symmetric M (row-major), as a sum of rows scaled by
/// `v` (no horizontal reductions), always inlined.
#[inline(always)]
fn matvec_inline<M: MulAdd, const F: usize>(m: &[f32], v: &[f32], out: &mut [f32]) {
    let f = v.len();
    if F > 0 && F <= 64 && f == F {
        // In a local array, kept in registers (as in `gather_axpy`).
        let mut acc = [0f32; 64];
        let acc = &mut acc[..F];
        for (b, &vb) in v.iter().enumerate() {
            let mb = &m[b * F..(b + 1) * F];
            for k in 0..F {
                acc[k] = M::mul_add(vb, mb[k], acc[k]);
            }
        }
        out[..F].copy_from_slice(acc);
        return;
    }
    out.fill(0.0);
    for (b, &vb) in v.iter().enumerate() {
        axpy::<M>(vb, &m[b * f..(b + 1) * f], out);
    }
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
        params_of(self)
    }
    /// Any field by name (`solver = cg | cholesky`, `cg_steps`,
    /// `early_stopping = off | N`, ...), through serde.
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let mut aliases = vec![("cg_steps", "solver.cg_steps")];
        aliases.extend(Validation::ALIASES);
        let mut next = self.clone();
        if key == "cg_steps" && next.solver == AlsSolver::Cholesky {
            // Setting the steps selects the CG solver.
            next.solver = AlsSolver::ConjugateGradient { steps: 3 };
        }
        set_param_of(&mut next, "als", key, value, &aliases, Als::check)?;
        *self = next;
        Ok(())
    }
    fn check(&self) -> Result<()> {
        Als::check(self)
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit_validated(input.train, input.validation)?))
    }
}
