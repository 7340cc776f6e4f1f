//! Synthetic interaction logs for scale tests and benchmarks.

use std::sync::Arc;

use rand::{RngExt, SeedableRng};

use super::{IdMap, Interactions};

/// `n_interactions` rows over `n_users` users and `n_items` items: users
/// uniformly at random, items from a Zipf law with exponent `zipf` (≈0.8 to
/// 1.0 resembles real catalogues), timestamps increasing with the row.
/// Repeated pairs are allowed (the sparse views merge them). Seeded.
pub fn power_law(
    n_users: usize,
    n_items: usize,
    n_interactions: usize,
    zipf: f64,
    seed: u64,
) -> Interactions {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut cdf: Vec<f64> = (1..=n_items).map(|r| (r as f64).powf(-zipf)).collect();
    let mut acc = 0.0;
    for x in cdf.iter_mut() {
        acc += *x;
        *x = acc;
    }
    // Popularity rank r is mapped to a scattered item id so that ids carry no order.
    let stride = (n_items / 2 + 1..n_items)
        .find(|s| gcd(*s, n_items) == 1)
        .unwrap_or(1);
    let mut user = Vec::with_capacity(n_interactions);
    let mut item = Vec::with_capacity(n_interactions);
    for _ in 0..n_interactions {
        user.push(rng.random_range(0..n_users as u32));
        let x = rng.random::<f64>() * acc;
        let rank = cdf.partition_point(|&c| c < x).min(n_items - 1);
        item.push(((rank * stride) % n_items) as u32);
    }
    let ids = |n: usize| Arc::new(IdMap::from_ordered((0..n).map(|i| i.to_string()).collect()));
    let ts = (0..n_interactions as i64).collect();
    Interactions::new(ids(n_users), ids(n_items), user, item, None, Some(ts)).expect("valid")
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape_and_skew() {
        let x = super::power_law(100, 50, 5_000, 1.0, 42);
        assert_eq!((x.len(), x.n_users(), x.n_items()), (5_000, 100, 50));
        let mut c = vec![0u32; 50];
        x.item_indices().iter().for_each(|&i| c[i as usize] += 1);
        c.sort_unstable();
        assert!(c[49] > 10 * c[0].max(1), "head much heavier than tail");
        let again = super::power_law(100, 50, 5_000, 1.0, 42);
        assert_eq!(again.item_indices(), x.item_indices());
    }
}
