//! Sparse all-pairs k-nearest-neighbour similarity (the core of ItemCF and
//! UserCF), computed row by row in parallel with one dense accumulator per
//! thread: cost Σ over shared features of the product of their lengths,
//! memory O(n) per thread plus the k neighbours kept per row.

use rayon::prelude::*;

use super::{Similarity, Weighting};

pub(crate) use crate::sparse::Csr;

impl Csr {
    /// Applies a term weighting: rows are documents, columns terms.
    pub fn weight(&mut self, w: Weighting) {
        let n_docs = self.n_rows() as f32;
        let mut df = vec![0u32; self.n_cols];
        for &c in &self.indices {
            df[c as usize] += 1;
        }
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| n_docs.ln() - (1.0 + d as f32).ln())
            .collect();
        match w {
            Weighting::None => {}
            Weighting::TfIdf => {
                for (c, v) in self.indices.iter().zip(self.data.iter_mut()) {
                    *v = v.sqrt() * idf[*c as usize];
                }
            }
            Weighting::Bm25 { k1, b } => {
                let sums: Vec<f32> = (0..self.n_rows())
                    .map(|r| self.row(r).1.iter().sum())
                    .collect();
                let avg = sums.iter().sum::<f32>() / sums.len().max(1) as f32;
                for r in 0..self.n_rows() {
                    let norm = (1.0 - b) + b * sums[r] / avg;
                    let (a, e) = (self.indptr[r], self.indptr[r + 1]);
                    for p in a..e {
                        let x = self.data[p];
                        self.data[p] =
                            x * (k1 + 1.0) / (k1 * norm + x) * idf[self.indices[p] as usize];
                    }
                }
            }
        }
    }
}

/// A sparse similarity matrix: row `e` holds the top-k neighbours of `e`
/// (excluding `e`), sorted by index. Not necessarily symmetric (pruning is
/// per row).
#[derive(Debug, Clone)]
pub struct SparseSim {
    pub(crate) m: Csr,
}

impl SparseSim {
    /// Number of rows (entities).
    pub fn len(&self) -> usize {
        self.m.n_rows()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stored neighbour pairs.
    pub fn nnz(&self) -> usize {
        self.m.indices.len()
    }

    /// Neighbours of `e` and their similarities (sorted by index).
    pub fn row(&self, e: u32) -> (&[u32], &[f32]) {
        self.m.row(e as usize)
    }

    /// Similarity of `a` to `b` (0 when `b` is not among `a`'s neighbours).
    pub fn get(&self, a: u32, b: u32) -> f32 {
        let (idx, val) = self.row(a);
        idx.binary_search(&b).map_or(0.0, |p| val[p])
    }

    /// The `k` most similar neighbours of `e`, best first.
    pub fn top(&self, e: u32, k: usize) -> Vec<(u32, f32)> {
        let (idx, val) = self.row(e);
        let mut v: Vec<(u32, f32)> = idx.iter().copied().zip(val.iter().copied()).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(k);
        v
    }

    /// The similarities as a sparse `n × n` matrix (row `e`: the kept
    /// neighbours of `e`).
    pub fn matrix(&self) -> &Csr {
        &self.m
    }

    pub(crate) fn from_rows(rows: Vec<Vec<(u32, f32)>>) -> SparseSim {
        let n = rows.len();
        let mut indptr = Vec::with_capacity(n + 1);
        indptr.push(0);
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for r in rows {
            for (i, v) in r {
                indices.push(i);
                data.push(v);
            }
            indptr.push(indices.len());
        }
        SparseSim {
            m: Csr {
                indptr,
                indices,
                data,
                n_cols: n,
            },
        }
    }
}

/// What the all-pairs computation needs to know.
pub(crate) struct KnnSpec {
    pub k: usize,
    pub similarity: Similarity,
    pub shrinkage: f32,
    /// Values are centred ratings (co-rated normalisation for Pearson and
    /// adjusted cosine) rather than binary / weighted values.
    pub centred: bool,
    /// Number of features (for the binary phi coefficient).
    pub n_features: usize,
}

struct Buffers {
    dot: Vec<f32>,
    cnt: Vec<u32>,
    sq1: Vec<f32>,
    sq2: Vec<f32>,
    touched: Vec<u32>,
}

/// Keeps the `k` largest positive similarities, returned sorted by index.
pub(crate) fn keep_top_k(mut cand: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    cand.retain(|(_, s)| s.is_finite() && *s > 0.0);
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if cand.len() > k {
        if k == 0 {
            return Vec::new();
        }
        cand.select_nth_unstable_by(k - 1, better);
        cand.truncate(k);
    }
    cand.sort_unstable_by_key(|x| x.0);
    cand
}

/// Top-k neighbours of every row of `a` (entities × features) among all
/// rows, using `at` = transpose of `a`.
pub(crate) fn all_pairs_knn(a: &Csr, at: &Csr, spec: &KnnSpec) -> SparseSim {
    let n = a.n_rows();
    let norms: Vec<f32> = (0..n)
        .map(|e| a.row(e).1.iter().map(|x| x * x).sum::<f32>().sqrt())
        .collect();
    let counts: Vec<u32> = (0..n)
        .map(|e| (a.indptr[e + 1] - a.indptr[e]) as u32)
        .collect();
    let co_rated = spec.centred
        && matches!(
            spec.similarity,
            Similarity::Pearson | Similarity::AdjustedCosine
        );
    let rows: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .map_init(
            || Buffers {
                dot: vec![0.0; n],
                cnt: vec![0; n],
                sq1: if co_rated { vec![0.0; n] } else { Vec::new() },
                sq2: if co_rated { vec![0.0; n] } else { Vec::new() },
                touched: Vec::new(),
            },
            |buf, e| {
                let (feats, vals) = a.row(e);
                for (&f, &w) in feats.iter().zip(vals) {
                    let (others, ovals) = at.row(f as usize);
                    for (&e2, &w2) in others.iter().zip(ovals) {
                        let j = e2 as usize;
                        if buf.cnt[j] == 0 {
                            buf.touched.push(e2);
                        }
                        buf.cnt[j] += 1;
                        buf.dot[j] += w * w2;
                        if co_rated {
                            buf.sq1[j] += w * w;
                            buf.sq2[j] += w2 * w2;
                        }
                    }
                }
                let mut cand = Vec::with_capacity(buf.touched.len());
                for &e2 in &buf.touched {
                    let j = e2 as usize;
                    if j != e {
                        let c = buf.cnt[j] as f32;
                        let mut s = match spec.similarity {
                            Similarity::Dot => buf.dot[j],
                            Similarity::Jaccard => {
                                c / ((counts[e] + counts[j]) as f32 - c).max(1.0)
                            }
                            Similarity::Cosine => {
                                buf.dot[j] / (norms[e] * norms[j]).max(f32::MIN_POSITIVE)
                            }
                            Similarity::Pearson | Similarity::AdjustedCosine if co_rated => {
                                buf.dot[j] / (buf.sq1[j] * buf.sq2[j]).sqrt().max(f32::MIN_POSITIVE)
                            }
                            Similarity::Pearson => {
                                // phi coefficient of binary vectors over all features
                                let nf = spec.n_features as f32;
                                let (ni, nj) = (counts[e] as f32, counts[j] as f32);
                                let den = (ni * (nf - ni) * nj * (nf - nj)).sqrt();
                                if den > 0.0 {
                                    (nf * c - ni * nj) / den
                                } else {
                                    0.0
                                }
                            }
                            Similarity::AdjustedCosine => {
                                buf.dot[j] / (norms[e] * norms[j]).max(f32::MIN_POSITIVE)
                            }
                        };
                        if spec.shrinkage > 0.0 {
                            s *= c / (c + spec.shrinkage);
                        }
                        cand.push((e2, s));
                    }
                    buf.dot[j] = 0.0;
                    buf.cnt[j] = 0;
                    if co_rated {
                        buf.sq1[j] = 0.0;
                        buf.sq2[j] = 0.0;
                    }
                }
                buf.touched.clear();
                keep_top_k(cand, spec.k)
            },
        )
        .collect();
    SparseSim::from_rows(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(rows: &[&[(u32, f32)]], n_cols: usize) -> Csr {
        let mut m = Csr {
            indptr: vec![0],
            n_cols,
            ..Default::default()
        };
        for r in rows {
            for &(c, v) in *r {
                m.indices.push(c);
                m.data.push(v);
            }
            m.indptr.push(m.indices.len());
        }
        m
    }

    fn spec(similarity: Similarity, shrinkage: f32) -> KnnSpec {
        KnnSpec {
            k: 10,
            similarity,
            shrinkage,
            centred: false,
            n_features: 4,
        }
    }

    #[test]
    fn cosine_is_symmetric_and_matches_hand_computation() {
        // rows: e0 = (1,1,0,0), e1 = (1,0,1,0), e2 = (0,0,0,1)
        let a = csr(
            &[&[(0, 1.0), (1, 1.0)], &[(0, 1.0), (2, 1.0)], &[(3, 1.0)]],
            4,
        );
        let s = all_pairs_knn(&a, &a.transpose(), &spec(Similarity::Cosine, 0.0));
        assert!((s.get(0, 1) - 0.5).abs() < 1e-6);
        assert_eq!(s.get(0, 1), s.get(1, 0));
        assert_eq!(s.get(0, 2), 0.0);
        assert_eq!(s.get(0, 0), 0.0, "self excluded");
        let j = all_pairs_knn(&a, &a.transpose(), &spec(Similarity::Jaccard, 0.0));
        assert!((j.get(0, 1) - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn shrinkage_only_lowers_similarities() {
        let a = csr(
            &[
                &[(0, 1.0), (1, 1.0), (2, 1.0)],
                &[(0, 1.0), (1, 1.0)],
                &[(2, 1.0), (3, 1.0)],
            ],
            4,
        );
        let at = a.transpose();
        let base = all_pairs_knn(&a, &at, &spec(Similarity::Cosine, 0.0));
        let mut prev = base.clone();
        for lambda in [1.0, 10.0, 100.0] {
            let s = all_pairs_knn(&a, &at, &spec(Similarity::Cosine, lambda));
            for e in 0..3 {
                for f in 0..3 {
                    assert!(s.get(e, f) <= prev.get(e, f) + 1e-7);
                    assert!(s.get(e, f) <= base.get(e, f) + 1e-7);
                }
            }
            prev = s;
        }
    }

    #[test]
    fn top_k_prunes_rows() {
        let a = csr(&[&[(0, 1.0)], &[(0, 2.0)], &[(0, 3.0)], &[(0, 4.0)]], 1);
        let s = all_pairs_knn(
            &a,
            &a.transpose(),
            &KnnSpec {
                k: 2,
                ..spec(Similarity::Dot, 0.0)
            },
        );
        assert_eq!(s.top(0, 5), vec![(3, 4.0), (2, 3.0)]);
        assert_eq!(s.nnz(), 8);
    }

    #[test]
    fn bm25_and_tfidf_weights() {
        let mut m = csr(&[&[(0, 1.0), (1, 1.0)], &[(0, 1.0)]], 2);
        m.weight(Weighting::TfIdf);
        // idf(col0) = ln 2 - ln 3 < 0 (every doc has it), idf(col1) = 0
        assert!((m.data[0] - (2f32.ln() - 3f32.ln())).abs() < 1e-6);
        let mut b = csr(&[&[(0, 1.0), (1, 1.0)], &[(0, 1.0)]], 2);
        b.weight(Weighting::Bm25 { k1: 1.2, b: 0.75 });
        let norm0 = 0.25 + 0.75 * 2.0 / 1.5;
        let expect = 2.2 / (1.2 * norm0 + 1.0) * (2f32.ln() - 3f32.ln());
        assert!((b.data[0] - expect).abs() < 1e-6);
    }
}
