//! Maximal Marginal Relevance re-ranking (Carbonell & Goldstein 1998).

use std::sync::Arc;

use super::{Rerank, Reranker};
use crate::data::Interactions;
use crate::models::cf::ContentProfiles;
use crate::models::parse_param;
use crate::sparse::Csr;
use crate::{Error, Result};

/// The item–item similarity MMR uses to penalise redundancy.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum DiversityKernel {
    /// Cosine of the items' binary training columns (co-occurrence).
    #[default]
    CoOccurrence,
    /// Cosine of content TF-IDF profiles (genres, titles, ...).
    Content(Arc<ContentProfiles>),
}

/// MMR: picks, one at a time, the item maximising
/// `λ · rel(i) − (1 − λ) · max_{s ∈ picked} sim(i, s)`, where `rel` is the
/// previous stage's score min–max scaled to [0, 1] over the candidate list.
/// λ = 1 keeps the input order. Each pick updates every remaining item's
/// max-similarity once (O(n·k) similarities per user, no re-computation).
#[derive(Debug, Clone)]
pub struct Mmr {
    lambda: f32,
    kernel: DiversityKernel,
}

impl Default for Mmr {
    fn default() -> Self {
        Mmr {
            lambda: 0.7,
            kernel: DiversityKernel::CoOccurrence,
        }
    }
}

impl Mmr {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }

    /// Relevance weight λ in [0, 1]. Defaults to 0.7.
    pub fn lambda(mut self, lambda: f32) -> Self {
        self.lambda = lambda;
        self
    }

    /// Similarity for the redundancy term. Defaults to co-occurrence.
    pub fn kernel(mut self, kernel: DiversityKernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// Sets a parameter from text (`lambda`).
    pub fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "lambda" => self.lambda = parse_param(key, value)?,
            _ => return Err(crate::models::unknown_param("mmr", key, &["lambda"])),
        }
        Ok(())
    }

    /// Prepares the kernel for the training items.
    pub fn fit(&self, train: &Interactions) -> Result<MmrModel> {
        if !(0.0..=1.0).contains(&self.lambda) {
            return Err(Error::param("lambda", "must be in [0, 1]"));
        }
        let rows = match &self.kernel {
            DiversityKernel::CoOccurrence => {
                let mut c = train.csc().clone();
                for r in 0..c.n_rows() {
                    let (a, b) = (c.indptr[r], c.indptr[r + 1]);
                    let v = 1.0 / ((b - a).max(1) as f32).sqrt();
                    c.data[a..b].iter_mut().for_each(|x| *x = v);
                }
                c
            }
            DiversityKernel::Content(p) => p.aligned(train.items()),
        };
        Ok(MmrModel {
            lambda: self.lambda,
            rows,
        })
    }
}

/// A fitted [`Mmr`].
#[derive(Debug, Clone)]
pub struct MmrModel {
    lambda: f32,
    rows: Csr,
}

impl MmrModel {
    /// Similarity of two items under the kernel (cosine, in [0, 1]).
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        let (ia, va) = self.rows.row(a as usize);
        let (ib, vb) = self.rows.row(b as usize);
        let (mut p, mut q, mut s) = (0, 0, 0.0);
        while p < ia.len() && q < ib.len() {
            match ia[p].cmp(&ib[q]) {
                std::cmp::Ordering::Less => p += 1,
                std::cmp::Ordering::Greater => q += 1,
                std::cmp::Ordering::Equal => {
                    s += va[p] * vb[q];
                    p += 1;
                    q += 1;
                }
            }
        }
        s
    }
}

impl Reranker for MmrModel {
    fn rerank(&self, _user: u32, ranked: &[(u32, f32)], k: usize) -> Vec<(u32, f32)> {
        let n = ranked.len();
        let k = k.min(n);
        let (lo, hi) = ranked
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| {
                (a.min(x.1), b.max(x.1))
            });
        let rel: Vec<f32> = ranked
            .iter()
            .map(|x| if hi > lo { (x.1 - lo) / (hi - lo) } else { 1.0 })
            .collect();
        let mut max_sim = vec![0f32; n];
        let mut picked = vec![false; n];
        let mut out = Vec::with_capacity(k);
        for step in 0..k {
            let mut best = usize::MAX;
            let mut best_v = f32::NEG_INFINITY;
            for c in 0..n {
                if picked[c] {
                    continue;
                }
                let v = self.lambda * rel[c] - (1.0 - self.lambda) * max_sim[c];
                if v > best_v {
                    best_v = v;
                    best = c;
                }
            }
            picked[best] = true;
            out.push(ranked[best]);
            if step + 1 < k && self.lambda < 1.0 {
                let item = ranked[best].0;
                for c in 0..n {
                    if !picked[c] {
                        max_sim[c] = max_sim[c].max(self.similarity(ranked[c].0, item));
                    }
                }
            }
        }
        out
    }
}

impl Rerank for Mmr {
    fn name(&self) -> String {
        "mmr".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        let kernel = match self.kernel {
            DiversityKernel::CoOccurrence => "cooccurrence",
            DiversityKernel::Content(_) => "content",
        };
        vec![
            ("lambda".into(), self.lambda.to_string()),
            ("kernel".into(), kernel.into()),
        ]
    }
    fn fit_reranker(&self, train: &Interactions) -> Result<Box<dyn Reranker>> {
        Ok(Box::new(self.fit(train)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> (Interactions, MmrModel) {
        let (x, _) = crate::models::contract::checkerboard(12, 12);
        let m = Mmr::params().lambda(0.5).fit(&x).unwrap();
        (x, m)
    }

    #[test]
    fn lambda_one_keeps_input_order() {
        let (x, _) = model();
        let m = Mmr::params().lambda(1.0).fit(&x).unwrap();
        let ranked: Vec<(u32, f32)> = (0..10).map(|i| (i, 10.0 - i as f32)).collect();
        assert_eq!(m.rerank(0, &ranked, 10), ranked);
        let ties: Vec<(u32, f32)> = (0..6).map(|i| (i, 1.0)).collect();
        assert_eq!(m.rerank(0, &ties, 6), ties);
    }

    #[test]
    fn diversifies_away_from_redundant_items() {
        // Checkerboard: items of the same parity are co-consumed (similar),
        // items of different parity never are.
        let (x, _) = model();
        let m = Mmr::params().lambda(0.3).fit(&x).unwrap();
        assert!(m.similarity(0, 2) > 0.5);
        assert_eq!(m.similarity(0, 1), 0.0);
        let ranked = vec![(0, 1.0), (2, 0.99), (4, 0.98), (1, 0.9), (3, 0.89)];
        let out: Vec<u32> = m.rerank(0, &ranked, 3).into_iter().map(|x| x.0).collect();
        assert_eq!(out[0], 0);
        assert_eq!(out[1], 1, "the dissimilar item moves up");
        let all = m.rerank(0, &ranked, 10);
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn rejects_bad_lambda() {
        let (x, _) = model();
        assert!(Mmr::params().lambda(1.5).fit(&x).is_err());
    }
}
