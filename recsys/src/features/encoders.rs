//! Encoders fitted on training rows only: categorical values to ids (0 =
//! padding and out-of-vocabulary, so unseen values contribute nothing),
//! min–max scaling, multi-hot sequences with padding and truncation, and
//! bucketing of numbers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Categorical value → id in `1..vocab`; anything not seen in training (or
/// rarer than the frequency threshold) → 0. With hashing, values map to
/// `1 + hash % buckets` and nothing is out of vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelEncoder {
    ids: HashMap<String, u32>,
    hash_buckets: Option<u32>,
}

impl LabelEncoder {
    /// Fits on training values: each value seen at least `min_count` times
    /// gets an id, in order of first appearance (deterministic).
    pub fn fit<'a>(values: impl IntoIterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut order = Vec::new();
        for v in values {
            let c = counts.entry(v).or_insert(0);
            if *c == 0 {
                order.push(v);
            }
            *c += 1;
        }
        let mut ids = HashMap::new();
        for v in order {
            if counts[v] >= min_count.max(1) {
                let id = ids.len() as u32 + 1;
                ids.insert(v.to_string(), id);
            }
        }
        LabelEncoder {
            ids,
            hash_buckets: None,
        }
    }

    /// The hashing trick: `buckets` ids (plus padding), no fitting, no OOV.
    pub fn hashing(buckets: u32) -> Self {
        LabelEncoder {
            ids: HashMap::new(),
            hash_buckets: Some(buckets.max(1)),
        }
    }

    /// The id of `value` (0 when unknown).
    pub fn encode(&self, value: &str) -> u32 {
        match self.hash_buckets {
            Some(b) => 1 + (fnv1a(value) % u64::from(b)) as u32,
            None => self.ids.get(value).copied().unwrap_or(0),
        }
    }

    /// Ids `0..vocab()`, 0 included.
    pub fn vocab(&self) -> usize {
        match self.hash_buckets {
            Some(b) => b as usize + 1,
            None => self.ids.len() + 1,
        }
    }
}

/// 64-bit FNV-1a: a fixed, platform-independent hash for the hashing trick.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Scales numbers to [0, 1] by the training minimum and maximum (clipped
/// outside it; missing values → 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    pub min: f32,
    pub max: f32,
}

impl MinMaxScaler {
    /// Fits on the finite training values.
    pub fn fit(values: impl IntoIterator<Item = f32>) -> Self {
        let (min, max) = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if min > max {
            return MinMaxScaler { min: 0.0, max: 1.0 };
        }
        MinMaxScaler { min, max }
    }

    /// The scaled value.
    pub fn transform(&self, v: f32) -> f32 {
        if !v.is_finite() {
            return 0.0;
        }
        let span = self.max - self.min;
        if span <= 0.0 {
            return 0.0;
        }
        ((v - self.min) / span).clamp(0.0, 1.0)
    }
}

/// Sets of labels → fixed-length id lists: ids from a [`LabelEncoder`]
/// fitted on the labels of the training rows, padded with 0 to `max_len`
/// and truncated beyond it (unknown labels are dropped, not padded in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiHotEncoder {
    pub labels: LabelEncoder,
    pub max_len: usize,
}

impl MultiHotEncoder {
    /// Fits on the label sets of the training rows.
    pub fn fit<'a>(
        rows: impl IntoIterator<Item = &'a [String]>,
        max_len: usize,
        min_count: usize,
    ) -> Self {
        let all: Vec<&str> = rows.into_iter().flatten().map(String::as_str).collect();
        MultiHotEncoder {
            labels: LabelEncoder::fit(all, min_count),
            max_len,
        }
    }

    /// `max_len` ids: the known labels in order, then zeros.
    pub fn encode(&self, labels: &[String]) -> Vec<u32> {
        let mut out: Vec<u32> = labels
            .iter()
            .map(|l| self.labels.encode(l))
            .filter(|&id| id != 0)
            .take(self.max_len)
            .collect();
        out.resize(self.max_len, 0);
        out
    }
}

/// Numbers → bucket ids by sorted edges: id `k + 1` for the k-th interval
/// `[edges[k], edges[k+1])`, 0 below the first edge or when missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucketizer {
    pub edges: Vec<f32>,
}

impl Bucketizer {
    /// Buckets with these lower edges (sorted ascending).
    pub fn new(edges: &[f32]) -> Self {
        let mut edges = edges.to_vec();
        edges.sort_by(f32::total_cmp);
        Bucketizer { edges }
    }

    /// The bucket id of `v`.
    pub fn encode(&self, v: f32) -> u32 {
        if !v.is_finite() {
            return 0;
        }
        self.edges.iter().take_while(|&&e| v >= e).count() as u32
    }

    /// Ids `0..vocab()`.
    pub fn vocab(&self) -> usize {
        self.edges.len() + 1
    }
}
