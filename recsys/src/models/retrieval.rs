//! Top-K retrieval over factor models: exact by blocked matrix products,
//! and approximate through an HNSW graph (hnsw_rs).

use std::time::Instant;

use faer::MatRef;
use hnsw_rs::prelude::{DistL2, Hnsw};
use rayon::prelude::*;

use crate::metrics::ranking::masked_top_k;
use crate::models::mf::FactorModel;
use crate::{Error, Result};

/// Users scored together in one block of the exact search.
const USER_BLOCK: usize = 256;

impl FactorModel {
    /// The exact top `k` items `(item, score)` of every user, best first,
    /// training items excluded when `exclude_seen`. Users are scored in
    /// blocks of 256 against all items with one matrix product per block
    /// (faer's SIMD kernels), blocks in parallel.
    pub fn recommend_all(&self, k: usize, exclude_seen: bool) -> Vec<Vec<(u32, f32)>> {
        let users: Vec<u32> = (0..self.train.n_users() as u32).collect();
        self.recommend_users(&users, k, exclude_seen)
    }

    /// [`FactorModel::recommend_all`] for the given `users` (lists in the
    /// same order).
    pub fn recommend_users(
        &self,
        users: &[u32],
        k: usize,
        exclude_seen: bool,
    ) -> Vec<Vec<(u32, f32)>> {
        let (f, ni) = (self.factors, self.train.n_items());
        let items = MatRef::from_row_major_slice(&self.item, ni, f);
        users
            .par_chunks(USER_BLOCK)
            .flat_map_iter(|block| {
                let mut xs = Vec::with_capacity(block.len() * f);
                for &u in block {
                    xs.extend_from_slice(self.user_factors(u));
                }
                let xs = MatRef::from_row_major_slice(&xs, block.len(), f);
                let scores = xs * items.transpose();
                block
                    .iter()
                    .enumerate()
                    .map(|(r, &u)| {
                        let mut s: Vec<f32> = (0..ni).map(|i| scores[(r, i)]).collect();
                        if let Some(bias) = &self.item_bias {
                            s.iter_mut().zip(bias).for_each(|(a, b)| *a += b);
                        }
                        let seen: &[u32] = if exclude_seen {
                            self.train.user_items(u)
                        } else {
                            &[]
                        };
                        masked_top_k(&mut s, &[seen], k)
                            .into_iter()
                            .map(|i| (i, s[i as usize]))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Builds an HNSW index over the items for maximum-inner-product search
    /// (scores `x_u·y_i + b_i`, reduced to Euclidean search by one extra
    /// coordinate, Bachrach et al. 2014).
    pub fn ann_index(&self, params: AnnParams) -> Result<AnnIndex> {
        AnnIndex::build(self, params)
    }
}

/// HNSW construction and search settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnParams {
    /// Links per node. Defaults to 16.
    pub m: usize,
    /// Candidate list size while building. Defaults to 200.
    pub ef_construction: usize,
    /// Candidate list size while searching (≥ k). Defaults to 200.
    pub ef_search: usize,
}

impl Default for AnnParams {
    fn default() -> Self {
        AnnParams {
            m: 16,
            ef_construction: 200,
            ef_search: 200,
        }
    }
}

/// An approximate top-K index over a factor model's items.
pub struct AnnIndex {
    graph: Hnsw<'static, f32, DistL2>,
    params: AnnParams,
    dim: usize,
    /// The largest squared item norm (the MIPS augmentation constant M).
    max_norm: f32,
    /// Seconds spent building the graph.
    pub build_seconds: f64,
}

impl std::fmt::Debug for AnnIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AnnIndex {{ params: {:?}, dim: {} }}",
            self.params, self.dim
        )
    }
}

/// Recall of approximate against exact top-K lists.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnRecall {
    pub k: usize,
    /// Mean share of the exact top-K that the index returns.
    pub recall: f64,
    /// Seconds for all exact lists / all approximate lists.
    pub exact_seconds: f64,
    pub ann_seconds: f64,
    pub users: usize,
}

impl std::fmt::Display for AnnRecall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HNSW recall@{} = {:.4} over {} users (exact {:.1} ms, HNSW {:.1} ms)",
            self.k,
            self.recall,
            self.users,
            self.exact_seconds * 1e3,
            self.ann_seconds * 1e3
        )
    }
}

impl AnnIndex {
    fn build(model: &FactorModel, params: AnnParams) -> Result<AnnIndex> {
        if params.m == 0 || params.ef_construction == 0 || params.ef_search == 0 {
            return Err(Error::param(
                "m",
                "m, ef_construction and ef_search must be ≥ 1",
            ));
        }
        let t = Instant::now();
        let (f, ni) = (model.factors, model.train.n_items());
        let bias = |i: usize| model.item_bias.as_ref().map_or(0.0, |b| b[i]);
        let norms: Vec<f32> = (0..ni)
            .map(|i| {
                let y = model.item_factors(i as u32);
                crate::models::mf::dot_pub(y, y) + bias(i) * bias(i)
            })
            .collect();
        let max = norms.iter().copied().fold(0f32, f32::max);
        let dim = f + 2;
        let graph =
            Hnsw::<f32, DistL2>::new(params.m, ni.max(1), 16, params.ef_construction, DistL2 {});
        for i in 0..ni {
            let mut v = model.item_factors(i as u32).to_vec();
            v.push(bias(i));
            v.push((max - norms[i]).max(0.0).sqrt());
            graph.insert_slice((&v, i));
        }
        Ok(AnnIndex {
            graph,
            params,
            dim,
            max_norm: max,
            build_seconds: t.elapsed().as_secs_f64(),
        })
    }

    /// The approximate top `k` items for a user vector `x` (length
    /// `factors`), best first, as `(item, score)`; `exclude` items (sorted)
    /// are skipped.
    pub fn search(&self, x: &[f32], k: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
        let mut q = x.to_vec();
        q.push(1.0);
        q.push(0.0);
        let want = k + exclude.len();
        let found = self.graph.search(&q, want, self.params.ef_search.max(want));
        let qn: f32 = q.iter().map(|v| v * v).sum();
        // ‖q − v‖² = ‖q‖² + M − 2·score, so score = (‖q‖² + M − d²) / 2.
        let mut out: Vec<(u32, f32)> = found
            .into_iter()
            .filter(|n| exclude.binary_search(&(n.d_id as u32)).is_err())
            .map(|n| {
                (
                    n.d_id as u32,
                    (qn + self.max_norm - n.distance * n.distance) / 2.0,
                )
            })
            .collect();
        out.truncate(k);
        out
    }

    /// Recall@k of the index against exact search for `users` (all users
    /// when `None`), with training items excluded in both.
    pub fn recall(&self, model: &FactorModel, k: usize, users: Option<&[u32]>) -> AnnRecall {
        let all: Vec<u32> = (0..model.train.n_users() as u32).collect();
        let users = users.unwrap_or(&all);
        let t = Instant::now();
        let exact = model.recommend_all(k, true);
        let exact_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let approx: Vec<Vec<(u32, f32)>> = users
            .par_iter()
            .map(|&u| self.search(model.user_factors(u), k, model.train.user_items(u)))
            .collect();
        let ann_seconds = t.elapsed().as_secs_f64();
        let hits: f64 = users
            .iter()
            .zip(&approx)
            .map(|(&u, a)| {
                let e = &exact[u as usize];
                let n = a
                    .iter()
                    .filter(|(i, _)| e.iter().any(|(j, _)| j == i))
                    .count();
                n as f64 / e.len().max(1) as f64
            })
            .sum();
        AnnRecall {
            k,
            recall: hits / users.len().max(1) as f64,
            exact_seconds,
            ann_seconds,
            users: users.len(),
        }
    }
}
