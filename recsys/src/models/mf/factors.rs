//! A fitted factor model: `score(u, i) = x_u · y_i (+ b_i)`.

use crate::data::Interactions;
use crate::metrics::ranking::top_k_indices;
use crate::models::Scorer;

/// User and item factors (row-major, `factors` columns) with optional item
/// biases. Produced by [`super::Als`] and [`super::Bpr`].
#[derive(Debug, Clone)]
pub struct FactorModel {
    pub(crate) train: Interactions,
    pub(crate) factors: usize,
    pub(crate) user: Vec<f32>,
    pub(crate) item: Vec<f32>,
    pub(crate) item_bias: Option<Vec<f32>>,
    /// Loss per epoch / iteration, as training reported it.
    pub(crate) history: Vec<f64>,
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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

    /// The training loss of every epoch / iteration (the learning curve).
    pub fn history(&self) -> &[f64] {
        &self.history
    }

    /// The `k` items with the most similar factors (cosine) to `item`.
    pub fn similar_items(&self, item: u32, k: usize) -> Vec<(u32, f32)> {
        let q = self.item_factors(item);
        let qn = dot(q, q).sqrt().max(f32::MIN_POSITIVE);
        let mut s: Vec<f32> = (0..self.train.n_items() as u32)
            .map(|j| {
                let y = self.item_factors(j);
                dot(q, y) / (qn * dot(y, y).sqrt().max(f32::MIN_POSITIVE))
            })
            .collect();
        s[item as usize] = f32::NEG_INFINITY;
        top_k_indices(&s, k)
            .into_iter()
            .map(|j| (j, s[j as usize]))
            .collect()
    }
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
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        let x = self.user_factors(user);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = dot(x, self.item_factors(i))
                + self.item_bias.as_ref().map_or(0.0, |b| b[i as usize]);
        }
    }
}
