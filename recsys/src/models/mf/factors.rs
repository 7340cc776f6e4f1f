//! A fitted factor model: `score(u, i) = x_u · y_i (+ b_i)`.

use crate::data::Interactions;
use crate::metrics::ranking::masked_top_k;
use crate::models::Scorer;
use crate::models::training::LearningCurve;

/// User and item factors (row-major, `factors` columns) with optional item
/// biases. Produced by [`super::Als`] and [`super::Bpr`].
#[derive(Debug, Clone)]
pub struct FactorModel {
    pub(crate) train: Interactions,
    pub(crate) factors: usize,
    pub(crate) user: Vec<f32>,
    pub(crate) item: Vec<f32>,
    pub(crate) item_bias: Option<Vec<f32>>,
    /// The learning curve of the fit.
    pub(crate) curve: LearningCurve,
}

/// Dot product (the portable build of [`super::simd::dot_inline`]).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    super::simd::dot_inline::<super::simd::Plain>(a, b)
}

impl FactorModel {
    /// Number of latent factors.
    pub fn factors(&self) -> usize {
        self.factors
    }

    /// Factors of one user (length `factors`).
    pub fn user_factors(&self, u: u32) -> &[f32] {
        let f = self.factors;
        &self.user[u as usize * f..(u as usize + 1) * f]
    }

    /// Factors of one item (length `factors`).
    pub fn item_factors(&self, i: u32) -> &[f32] {
        let f = self.factors;
        &self.item[i as usize * f..(i as usize + 1) * f]
    }

    /// The learning curve: loss (when computed) and validation NDCG@10 (when
    /// validated) per epoch / iteration, as a table, chart or DataFrame.
    pub fn learning_curve(&self) -> &LearningCurve {
        &self.curve
    }

    /// The `k` items with the most similar factors (cosine) to `item`.
    pub fn similar_items(&self, item: u32, k: usize) -> Vec<(u32, f32)> {
        cosine_neighbours(&self.item, self.factors, item, k)
    }
}

/// The `k` rows of `rows` (row-major, `f` columns) with the highest cosine
/// to row `item`, excluding `item` itself; best first.
pub(crate) fn cosine_neighbours(rows: &[f32], f: usize, item: u32, k: usize) -> Vec<(u32, f32)> {
    let q = &rows[item as usize * f..(item as usize + 1) * f];
    let qn = dot(q, q).sqrt().max(f32::MIN_POSITIVE);
    let mut s: Vec<f32> = rows
        .chunks_exact(f)
        .map(|y| dot(q, y) / (qn * dot(y, y).sqrt().max(f32::MIN_POSITIVE)))
        .collect();
    masked_top_k(&mut s, &[&[item]], k)
        .into_iter()
        .map(|j| (j, s[j as usize]))
        .collect()
}

impl Scorer for FactorModel {
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        let x = self.user_factors(user);
        for (i, o) in out.iter_mut().enumerate() {
            *o =
                dot(x, self.item_factors(i as u32)) + self.item_bias.as_ref().map_or(0.0, |b| b[i]);
        }
    }
    fn learning_curve(&self) -> Option<&LearningCurve> {
        Some(&self.curve)
    }
    fn has_file_format(&self) -> bool {
        true
    }

    fn save_model(&self, path: &std::path::Path) -> crate::Result<()> {
        FactorModel::save(self, path)
    }
    fn recommend_many(&self, users: &[u32], k: usize, exclude_seen: bool) -> Vec<Vec<(u32, f32)>> {
        self.recommend_users(users, k, exclude_seen)
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        let x = self.user_factors(user);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = dot(x, self.item_factors(i))
                + self.item_bias.as_ref().map_or(0.0, |b| b[i as usize]);
        }
    }
}
