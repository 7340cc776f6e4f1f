//! Bayesian Personalised Ranking with stochastic gradient descent.

use std::time::Instant;

use rand::{RngExt, SeedableRng};

use rayon::prelude::*;

use super::factors::{FactorModel, dot};
#[cfg(target_arch = "x86_64")]
use super::simd::Fused;
use super::simd::{MulAdd, Plain, dot_inline};
use crate::data::Interactions;
use crate::models::params::{params_of, set_param_of};
use crate::models::training::{Monitor, Validation, Verdict};
use crate::models::{Fit, FitInput, Scorer, check_factor_memory, check_number};
use crate::sparse::Csr;
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
/// are training pairs. With one thread (the default) training is seeded and
/// deterministic; with more, the users are split into one range per thread
/// (about equal interactions), each thread trains its users' rows and its
/// own replica of the item rows on its share of the triples, and the
/// replicas' changes are summed into the item rows after each epoch
/// (parallel SGD with delta merging: no shared mutable memory, so no data
/// race; seeded and deterministic for a given thread count). implicit and
/// LightFM use Hogwild (Recht et al. 2011), lock-free updates of shared
/// memory, which in Rust would be a data race on non-atomic memory.
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(20, 20);
/// let model = Bpr::params().factors(8).epochs(60).learning_rate(0.05).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bpr {
    factors: usize,
    learning_rate: f32,
    regularization: f32,
    epochs: usize,
    sampling: NegativeSampling,
    threads: usize,
    seed: u64,
    verbose: bool,
    #[serde(flatten)]
    validation: Validation,
}

impl Default for Bpr {
    fn default() -> Self {
        Bpr {
            factors: 64,
            learning_rate: 0.05,
            regularization: 0.01,
            epochs: 50,
            sampling: NegativeSampling::Uniform,
            threads: 1,
            seed: 42,
            verbose: false,
            validation: Validation::default(),
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
    /// Print one line per epoch (loss, validation NDCG@10, time; a bar in
    /// terminals). Defaults to false.
    pub fn verbose(mut self, v: bool) -> Self {
        self.verbose = v;
        self
    }
    /// SGD threads: 1 runs sequential SGD; more run parallel SGD with
    /// per-thread item replicas merged after each epoch (both seeded and
    /// deterministic for a given thread count). Defaults to 1; 0 means all
    /// rayon threads.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }
    crate::models::training::validation_setters!("Bpr::fit_validated", "epoch");

    /// Checks every hyper-parameter (before any work; `fit` calls it):
    /// `factors` ≥ 1, `learning_rate` finite and > 0, `regularization`
    /// finite and ≥ 0.
    pub fn check(&self) -> Result<()> {
        if self.factors == 0 {
            return Err(Error::param("factors", "must be ≥ 1"));
        }
        let (lr, reg) = (
            f64::from(self.learning_rate),
            f64::from(self.regularization),
        );
        check_number("learning_rate", lr, lr > 0.0, "> 0")?;
        check_number("regularization", reg, reg >= 0.0, "≥ 0")?;
        self.validation.check()
    }

    /// Trains on the binary feedback of `train`.
    pub fn fit(&self, train: &Interactions) -> Result<FactorModel> {
        self.fit_validated(train, None)
    }

    /// Trains, checking NDCG@10 on `validation` (full ranking, training
    /// items masked) as configured; under early stopping the model keeps
    /// the best epoch.
    pub fn fit_validated(
        &self,
        train: &Interactions,
        validation: Option<&Interactions>,
    ) -> Result<FactorModel> {
        self.check()?;
        let f = self.factors;
        let (nu, ni) = (train.n_users(), train.n_items());
        // Factors, the early-stopping copy and one item replica per thread.
        let replicas = match self.threads {
            1 => 0,
            0 => rayon::current_num_threads() as u128,
            n => n as u128,
        };
        check_factor_memory(
            "factors",
            (2 * (nu + ni) as u128 + replicas * ni as u128) * f as u128,
        )?;
        let ui = train.csr();
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
        let threads = match self.threads {
            0 => rayon::current_num_threads(),
            n => n,
        };
        let mut bias = vec![0f32; ni];
        let seen = Seen::new(&ui, ni);
        let sgd = Sgd {
            seen: &seen,
            f,
            lr: self.learning_rate,
            reg: self.regularization,
            ui: &ui,
            entry_user: &entry_user,
            sampling: self.sampling,
            n_items: ni,
        };
        let mut monitor = Monitor::new(
            "bpr",
            self.epochs,
            self.verbose,
            train,
            validation,
            self.validation,
        );
        let mut best: Option<(Vec<f32>, Vec<f32>, Vec<f32>)> = None;
        // Parallel training: users split into `threads` ranges of about
        // equal entries, one item replica per thread.
        let user_ranges = user_ranges(&ui.indptr, threads);
        let mut replicas: Vec<(Vec<f32>, Vec<f32>)> = if threads > 1 {
            (0..threads).map(|_| (y.clone(), bias.clone())).collect()
        } else {
            Vec::new()
        };
        for epoch in 1..=self.epochs {
            let t = Instant::now();
            let (loss, used) = if threads <= 1 {
                let mut items = Owned {
                    y: &mut y,
                    bias: &mut bias,
                };
                sgd.run(nnz, &mut rng, &mut x, 0, 0..nnz, &mut items)
            } else {
                let seeds: Vec<u64> = (0..threads).map(|_| rng.random()).collect();
                let mut rngs: Vec<_> = seeds
                    .into_iter()
                    .map(rand::rngs::Xoshiro256PlusPlus::seed_from_u64)
                    .collect();
                let (mut loss, mut used) = (0.0, 0usize);
                for round in 0..SYNC_ROUNDS {
                    for (ry, rb) in replicas.iter_mut() {
                        ry.copy_from_slice(&y);
                        rb.copy_from_slice(&bias);
                    }
                    // Each thread: its users' rows of x (a disjoint slice),
                    // its replica of the items, its share of the triples.
                    let mut parts = Vec::with_capacity(threads);
                    let mut rest: &mut [f32] = &mut x;
                    for &(lo, hi) in &user_ranges {
                        let (mine, tail) = rest.split_at_mut((hi - lo) * f);
                        rest = tail;
                        let entries = ui.indptr[lo]..ui.indptr[hi];
                        let n = entries.len();
                        let share = n * (round + 1) / SYNC_ROUNDS - n * round / SYNC_ROUNDS;
                        parts.push((lo, entries, mine, share));
                    }
                    let out: Vec<(f64, usize)> = parts
                        .into_par_iter()
                        .zip(replicas.par_iter_mut())
                        .zip(rngs.par_iter_mut())
                        .map(|(((lo, entries, xs, share), (ry, rb)), r)| {
                            let mut items = Owned { y: ry, bias: rb };
                            sgd.run(share, r, xs, lo, entries, &mut items)
                        })
                        .collect();
                    for (l, n) in out {
                        loss += l;
                        used += n;
                    }
                    merge_deltas(&mut y, replicas.iter().map(|r| r.0.as_slice()));
                    merge_deltas(&mut bias, replicas.iter().map(|r| r.1.as_slice()));
                }
                (loss, used)
            };
            let secs = t.elapsed().as_secs_f64();
            let mean = loss / used.max(1) as f64;
            let verdict = monitor.epoch(epoch, Some(mean), secs, |u, out| {
                let xu = &x[u as usize * f..(u as usize + 1) * f];
                for ((o, yi), b) in out.iter_mut().zip(y.chunks_exact(f)).zip(&bias) {
                    *o = dot(xu, yi) + b;
                }
            });
            match verdict {
                Verdict::Improved if monitor.validates() => {
                    best = Some((x.clone(), y.clone(), bias.clone()))
                }
                Verdict::Stop => break,
                _ => {}
            }
        }
        if let Some((bx, by, bb)) = best {
            (x, y, bias) = (bx, by, bb);
        }
        Ok(FactorModel {
            train: train.clone(),
            factors: f,
            user: x,
            item: y,
            item_bias: Some(bias),
            curve: monitor.finish(),
        })
    }
}

/// The item rows and biases one thread updates (the model's own, or a
/// thread's replica).
struct Owned<'a> {
    y: &'a mut [f32],
    bias: &'a mut [f32],
}

impl Owned<'_> {
    #[inline(always)]
    /// Rows `i ≠ j` of the item factors (`f` floats each) and their
    /// biases, to update in place.
    fn load(
        &mut self,
        [i, j]: [usize; 2],
        f: usize,
    ) -> (&mut [f32], &mut [f32], &mut f32, &mut f32) {
        // i is a training item of u and j is not, so i ≠ j: two disjoint
        // rows, which lets the update loop vectorise.
        let (yi, yj) = rows_mut(self.y, f, i, j);
        let (bi, bj) = pair_mut(self.bias, i, j);
        (yi, yj, bi, bj)
    }
}

/// Merges of the threads' item replicas per epoch (1: at the end of each
/// epoch; more merges cost barriers and measured no faster or better).
const SYNC_ROUNDS: usize = 1;

/// `threads` ranges of users `[lo, hi)` covering all users, each holding
/// about the same number of entries (`indptr`: the CSR row pointers).
fn user_ranges(indptr: &[usize], threads: usize) -> Vec<(usize, usize)> {
    let nu = indptr.len() - 1;
    let nnz = indptr[nu];
    let mut out = Vec::with_capacity(threads);
    let mut lo = 0;
    for t in 0..threads {
        let goal = nnz * (t + 1) / threads;
        let mut hi = lo;
        while hi < nu && (indptr[hi + 1] <= goal || t + 1 == threads) {
            hi += 1;
        }
        out.push((lo, hi));
        lo = hi;
    }
    out
}

/// `base += Σ_t (replica_t − base)`: every thread's update applied once.
fn merge_deltas<'a>(base: &mut [f32], replicas: impl Iterator<Item = &'a [f32]>) {
    let start = base.to_vec();
    for r in replicas {
        for ((b, &s), &v) in base.iter_mut().zip(&start).zip(r) {
            *b += v - s;
        }
    }
}

/// Elements `a ≠ b` of `v`, both mutable.
#[inline(always)]
fn pair_mut(v: &mut [f32], a: usize, b: usize) -> (&mut f32, &mut f32) {
    let (x, y) = rows_mut(v, 1, a, b);
    (&mut x[0], &mut y[0])
}

/// Membership of (user, item) in the training data: a bit matrix when it
/// fits in 32 MiB (one memory access per negative), else a binary search in
/// the user's sorted items.
enum Seen<'a> {
    Bits {
        words_per_user: usize,
        bits: Vec<u64>,
    },
    Search(&'a Csr),
}

impl<'a> Seen<'a> {
    fn new(ui: &'a Csr, n_items: usize) -> Self {
        let words_per_user = n_items.div_ceil(64);
        let n_users = ui.indptr.len().saturating_sub(1);
        if n_users.saturating_mul(words_per_user) > (32 << 20) / 8 {
            return Seen::Search(ui);
        }
        let mut bits = vec![0u64; n_users * words_per_user];
        for u in 0..n_users {
            for &i in ui.row(u).0 {
                bits[u * words_per_user + i as usize / 64] |= 1 << (i % 64);
            }
        }
        Seen::Bits {
            words_per_user,
            bits,
        }
    }

    #[inline(always)]
    fn contains(&self, u: usize, i: u32) -> bool {
        match self {
            Seen::Bits {
                words_per_user,
                bits,
            } => bits[u * words_per_user + i as usize / 64] >> (i % 64) & 1 == 1,
            Seen::Search(ui) => ui.row(u).0.binary_search(&i).is_ok(),
        }
    }
}

/// One SGD pass over sampled triples.
struct Sgd<'a> {
    seen: &'a Seen<'a>,
    f: usize,
    lr: f32,
    reg: f32,
    ui: &'a Csr,
    entry_user: &'a [u32],
    sampling: NegativeSampling,
    n_items: usize,
}

impl Sgd<'_> {
    /// Draws `samples` triples whose positive entry lies in `entries` (the
    /// entries of users `x_lo..`, whose rows `x` holds) and updates;
    /// returns (summed loss, triples used). Runs the AVX2 + FMA build of
    /// the loop when the CPU has them.
    fn run(
        &self,
        samples: usize,
        rng: &mut rand::rngs::Xoshiro256PlusPlus,
        x: &mut [f32],
        x_lo: usize,
        entries: std::ops::Range<usize>,
        items: &mut Owned<'_>,
    ) -> (f64, usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { self.run_avx2(samples, rng, x, x_lo, entries, items) };
        }
        self.run_with::<Plain, 0>(samples, rng, x, x_lo, entries, items)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(
        &self,
        samples: usize,
        rng: &mut rand::rngs::Xoshiro256PlusPlus,
        x: &mut [f32],
        x_lo: usize,
        entries: std::ops::Range<usize>,
        items: &mut Owned<'_>,
    ) -> (f64, usize) {
        // Common factor counts get their own build (constant loop bounds
        // unroll and the row difference stays in registers).
        match self.f {
            32 => self.run_with::<Fused, 32>(samples, rng, x, x_lo, entries, items),
            64 => self.run_with::<Fused, 64>(samples, rng, x, x_lo, entries, items),
            128 => self.run_with::<Fused, 128>(samples, rng, x, x_lo, entries, items),
            _ => self.run_with::<Fused, 0>(samples, rng, x, x_lo, entries, items),
        }
    }

    /// `F > 0`: the factor count is a compile-time constant.
    #[inline(always)]
    fn run_with<M: MulAdd, const F: usize>(
        &self,
        samples: usize,
        rng: &mut rand::rngs::Xoshiro256PlusPlus,
        x: &mut [f32],
        x_lo: usize,
        entries: std::ops::Range<usize>,
        items: &mut Owned<'_>,
    ) -> (f64, usize) {
        let f = if F > 0 { F } else { self.f };
        let nnz = self.ui.indices.len();
        let mut heap = vec![0f32; if F > 0 { 0 } else { f }];
        let mut local = [0f32; F];
        let diff: &mut [f32] = if F > 0 { &mut local } else { &mut heap };
        let (mut loss, mut used) = (LogLoss::new(), 0usize);
        if entries.is_empty() {
            return (0.0, 0);
        }
        for _ in 0..samples {
            let e = rng.random_range(entries.clone());
            let u = self.entry_user[e] as usize;
            let i = self.ui.indices[e] as usize;
            let j = match self.sampling {
                NegativeSampling::Uniform => rng.random_range(0..self.n_items as u32),
                NegativeSampling::Popularity => self.ui.indices[rng.random_range(0..nnz)],
            };
            if self.seen.contains(u, j) {
                continue;
            }
            used += 1;
            let xu = &mut x[(u - x_lo) * f..(u - x_lo + 1) * f];
            self.step::<M>(xu, [i, j as usize], items, diff, &mut loss);
        }
        (loss.total(), used)
    }

    /// One SGD step on triple `(u, i, j)` (`i ≠ j`) with `xu` the row of
    /// `u`; `diff` holds `f` floats of scratch.
    #[inline(always)]
    fn step<M: MulAdd>(
        &self,
        xu: &mut [f32],
        [i, j]: [usize; 2],
        items: &mut Owned<'_>,
        diff: &mut [f32],
        loss: &mut LogLoss,
    ) {
        let (lr, reg) = (self.lr, self.reg);
        let f = diff.len();
        let (yi, yj, bi, bj) = items.load([i, j], f);
        let z = score::<M>(xu, yi, yj, diff) + *bi - *bj;
        let (g, p) = sigmoid_pair(z);
        loss.add(p);
        update::<M>(xu, yi, yj, diff, lr * g, 1.0 - lr * reg);
        *bi += lr * (g - reg * *bi);
        *bj += lr * (-g - reg * *bj);
    }
}

/// `x_u · (y_i − y_j)`, leaving `y_i − y_j` in `diff`.
#[inline(always)]
fn score<M: MulAdd>(xu: &[f32], yi: &[f32], yj: &[f32], diff: &mut [f32]) -> f32 {
    for ((d, a), b) in diff.iter_mut().zip(yi).zip(yj) {
        *d = a - b;
    }
    dot_inline::<M>(xu, diff)
}

/// The SGD update of a triple's rows given `step = lr · σ(−z)` and
/// `keep = 1 − lr · λ` (weight decay), all from the old values.
#[inline(always)]
fn update<M: MulAdd>(
    xu: &mut [f32],
    yi: &mut [f32],
    yj: &mut [f32],
    diff: &[f32],
    step: f32,
    keep: f32,
) {
    for (((a, b), xuk), d) in yi
        .iter_mut()
        .zip(yj.iter_mut())
        .zip(xu.iter_mut())
        .zip(diff)
    {
        let x0 = *xuk;
        *a = M::mul_add(step, x0, keep * *a);
        *b = M::mul_add(-step, x0, keep * *b);
        *xuk = M::mul_add(step, *d, keep * x0);
    }
}

/// Rows `i` and `j` (`i ≠ j`) of a row-major matrix with `f` columns, both
/// mutable.
#[inline(always)]
fn rows_mut(m: &mut [f32], f: usize, i: usize, j: usize) -> (&mut [f32], &mut [f32]) {
    debug_assert_ne!(i, j);
    if i < j {
        let (lo, hi) = m.split_at_mut(j * f);
        (&mut lo[i * f..(i + 1) * f], &mut hi[..f])
    } else {
        let (lo, hi) = m.split_at_mut(i * f);
        (&mut hi[..f], &mut lo[j * f..(j + 1) * f])
    }
}

/// `(σ(−z), σ(z))`: the BPR gradient scale and the triple's likelihood
/// (its loss is `−ln σ(z)`), from one exponential, stable for either sign
/// of `z`; the likelihood in f64 so that `σ(z)` near 1 keeps its distance
/// from 1.
#[inline(always)]
fn sigmoid_pair(z: f32) -> (f32, f64) {
    let e = (-z.abs()).exp();
    let e64 = f64::from(e);
    if z >= 0.0 {
        (e / (1.0 + e), 1.0 / (1.0 + e64))
    } else {
        (1.0 / (1.0 + e), e64 / (1.0 + e64))
    }
}

/// `Σ −ln pₖ` of many probabilities without a logarithm per term: their
/// product, kept as an f64 mantissa in [1, 2) and a separate binary
/// exponent, so it never underflows; one `ln` at the end.
struct LogLoss {
    mantissa: f64,
    exponent: i64,
}

impl LogLoss {
    fn new() -> Self {
        LogLoss {
            mantissa: 1.0,
            exponent: 0,
        }
    }

    /// Multiplies in `p` ∈ (0, 1].
    #[inline(always)]
    fn add(&mut self, p: f64) {
        let m = self.mantissa * p.max(f64::MIN_POSITIVE);
        let bits = m.to_bits();
        self.exponent += ((bits >> 52) & 0x7ff) as i64 - 1023;
        self.mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    }

    /// `Σ −ln pₖ`.
    fn total(&self) -> f64 {
        -(self.mantissa.ln() + self.exponent as f64 * std::f64::consts::LN_2)
    }
}

impl Fit for Bpr {
    fn name(&self) -> String {
        "bpr".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let mut aliases = vec![("lr", "learning_rate"), ("iterations", "epochs")];
        aliases.extend(Validation::ALIASES);
        set_param_of(self, "bpr", key, value, &aliases, Bpr::check)
    }
    fn check(&self) -> Result<()> {
        Bpr::check(self)
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit_validated(input.train, input.validation)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_loss_sums_negative_logs_without_underflow() {
        let ps: Vec<f64> = (1..=5000)
            .map(|k| (k as f64 * 0.618).fract().max(1e-30))
            .collect();
        let mut l = LogLoss::new();
        ps.iter().for_each(|&p| l.add(p));
        let direct: f64 = ps.iter().map(|p| -p.ln()).sum();
        assert!(
            (l.total() - direct).abs() < 1e-9 * direct,
            "{} vs {direct}",
            l.total()
        );
    }

    #[test]
    fn sigmoid_pair_is_stable_and_consistent() {
        for z in [-80.0f32, -20.0, -1.0, 0.0, 0.5, 3.0, 40.0, 100.0] {
            let (g, p) = sigmoid_pair(z);
            let exact = 1.0 / (1.0 + (-f64::from(z)).exp());
            assert!((p - exact).abs() <= 1e-6 * exact, "σ({z})");
            assert!((f64::from(g) - (1.0 - exact)).abs() < 1e-6, "σ(−{z})");
            assert!(g.is_finite() && p > 0.0);
        }
    }

    #[test]
    fn same_seed_same_factors_for_every_compiled_factor_count() {
        let (train, _) = crate::models::contract::checkerboard(12, 12);
        for f in [5, 32, 64] {
            let a = Bpr::params().factors(f).epochs(3).fit(&train).unwrap();
            let b = Bpr::params().factors(f).epochs(3).fit(&train).unwrap();
            assert_eq!(a.item, b.item);
            assert!(a.item.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn parallel_training_is_seeded_and_merges_every_threads_update() {
        let (train, _) = crate::models::contract::checkerboard(30, 30);
        let fit = |t| {
            Bpr::params()
                .factors(8)
                .epochs(5)
                .threads(t)
                .fit(&train)
                .unwrap()
        };
        let (a, b) = (fit(2), fit(2));
        assert_eq!(
            (&a.item, &a.user),
            (&b.item, &b.user),
            "same seed and threads, same factors"
        );
        assert_ne!(a.item, fit(1).item);
        // Ranges cover all users with about equal entries.
        assert_eq!(user_ranges(&[0, 5, 6, 10, 20], 2), vec![(0, 3), (3, 4)]);
        assert_eq!(user_ranges(&[0, 1, 2], 3), vec![(0, 0), (0, 1), (1, 2)]);
        // Two replicas' changes both land.
        let mut base = vec![1.0, 1.0];
        merge_deltas(&mut base, [[2.0, 1.0], [1.0, 0.5]].iter().map(|r| &r[..]));
        assert_eq!(base, vec![2.0, 0.5]);
    }
}
