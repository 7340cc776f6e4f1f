//! Non-personalised baselines: Popularity and Random.

use super::params::{params_of, set_param_of};
use super::{Fit, FitInput, Scorer};
use crate::Result;
use crate::data::Interactions;

/// Recommends the items with the most training interactions.
///
/// ```
/// # use recsys::prelude::*;
/// # let train = recsys::models::contract::checkerboard(6, 6).0;
/// let model = Popularity::params().fit(&train)?;
/// assert_eq!(model.recommend(0, 3, true).len(), 3);
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Popularity {}

impl Popularity {
    /// Hyper-parameters (none).
    pub fn params() -> Self {
        Self::default()
    }

    /// Counts interactions per item.
    pub fn fit(&self, train: &Interactions) -> Result<PopularityModel> {
        let mut counts = vec![0f32; train.n_items()];
        for &i in train.item_indices() {
            counts[i as usize] += 1.0;
        }
        Ok(PopularityModel {
            train: train.clone(),
            counts,
        })
    }
}

/// A fitted [`Popularity`]: score = number of training interactions.
#[derive(Debug, Clone)]
pub struct PopularityModel {
    train: Interactions,
    counts: Vec<f32>,
}

impl PopularityModel {
    /// Interactions per item (length `n_items`).
    pub fn counts(&self) -> &[f32] {
        &self.counts
    }
}

impl Scorer for PopularityModel {
    fn n_items(&self) -> usize {
        self.counts.len()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, _user: u32, out: &mut [f32]) {
        out.copy_from_slice(&self.counts);
    }
    fn score_items(&self, _user: u32, items: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(items) {
            *o = self.counts[i as usize];
        }
    }
}

impl Fit for Popularity {
    fn name(&self) -> String {
        "popularity".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        set_param_of(self, "popularity", key, value, &[], |_| Ok(()))
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(input.train)?))
    }
}

/// Scores items uniformly at random (a floor every model must beat).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Random {
    seed: u64,
}

impl Default for Random {
    fn default() -> Self {
        Random { seed: 42 }
    }
}

impl Random {
    /// Hyper-parameters.
    pub fn params() -> Self {
        Self::default()
    }

    /// Seed of the scores. Defaults to 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// "Fits" (remembers the training data for `exclude_seen`).
    pub fn fit(&self, train: &Interactions) -> Result<RandomModel> {
        Ok(RandomModel {
            train: train.clone(),
            seed: self.seed,
        })
    }
}

/// A fitted [`Random`]: score(user, item) is a fixed pseudo-random number in
/// `[0, 1)` derived from the seed, user and item.
#[derive(Debug, Clone)]
pub struct RandomModel {
    train: Interactions,
    seed: u64,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl RandomModel {
    fn score(&self, user: u32, item: u32) -> f32 {
        let h = splitmix(self.seed ^ splitmix((u64::from(user) << 32) | u64::from(item)));
        (h >> 40) as f32 / (1u64 << 24) as f32
    }
}

impl Scorer for RandomModel {
    fn n_items(&self) -> usize {
        self.train.n_items()
    }
    fn train(&self) -> &Interactions {
        &self.train
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.score(user, i as u32);
        }
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(items) {
            *o = self.score(user, i);
        }
    }
}

impl Fit for Random {
    fn name(&self) -> String {
        "random".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        set_param_of(self, "random", key, value, &[], |_| Ok(()))
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit(input.train)?))
    }
}
