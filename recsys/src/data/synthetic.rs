//! Synthetic interaction logs for scale tests and benchmarks.

use std::sync::Arc;

use rand::{RngExt, SeedableRng};

use super::{IdMap, Interactions};

/// `n_interactions` rows over `n_users` users and `n_items` items: users
/// uniformly at random, items from a Zipf law with exponent `zipf` (≈0.8 to
/// 1.0 resembles real catalogues), timestamps increasing with the row.
/// A pair drawn again is merged into one row (its last draw, as
/// [`super::Duplicates::Last`] does), so the log can be shorter than
/// `n_interactions`. Seeded.
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

/// The documents' toy CTR log (`gen_toy_ctr.py` of recsys_factory):
/// `user_id` (5,000), `ad_id` (10,000), `device` (ios / android / web at
/// 0.4 / 0.5 / 0.1), `country` (six), `age` (18–64), `price`
/// (log-normal, μ 3, σ 0.7), and `click` drawn from a logistic model of
/// them with two explicit pairwise terms (log price × iOS, age × US).
/// Seeded; about 25 % clicks.
pub fn toy_ctr_frame(rows: usize, seed: u64) -> crate::Result<super::RawFrame> {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    const DEVICES: [(&str, f64, f64); 3] =
        [("ios", 0.4, 1.0), ("android", 0.5, 0.5), ("web", 0.1, -0.3)];
    const COUNTRIES: [(&str, f64); 6] = [
        ("US", 0.6),
        ("CN", 0.4),
        ("IN", 0.2),
        ("BR", 0.1),
        ("DE", 0.3),
        ("GB", 0.5),
    ];
    let names = [
        "user_id", "ad_id", "device", "country", "age", "price", "click",
    ];
    let mut cols: Vec<Vec<Box<str>>> = vec![Vec::with_capacity(rows); names.len()];
    for _ in 0..rows {
        let user = rng.random_range(0..5000u32);
        let ad = rng.random_range(0..10_000u32);
        let u: f64 = rng.random();
        let d = if u < DEVICES[0].1 {
            0
        } else if u < DEVICES[0].1 + DEVICES[1].1 {
            1
        } else {
            2
        };
        let c = rng.random_range(0..COUNTRIES.len());
        let age = rng.random_range(18..65u32) as f64;
        // Box–Muller.
        let (a, b): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        let normal = (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos();
        let price = (3.0 + 0.7 * normal).exp();
        let (lp, ag) = (price.ln_1p(), (age - 18.0) / 47.0);
        let mut lin = -2.0
            + 0.3 * lp
            + 0.4 * ag
            + 0.6 * DEVICES[d].2
            + 0.2 * COUNTRIES[c].1
            + 0.05 * (f64::from(user % 7) - 3.0);
        lin += 0.15 * lp * f64::from(u8::from(d == 0));
        lin += 0.10 * ag * f64::from(u8::from(c == 0));
        let click = rng.random::<f64>() < 1.0 / (1.0 + (-lin).exp());
        let cells = [
            user.to_string(),
            ad.to_string(),
            DEVICES[d].0.to_string(),
            COUNTRIES[c].0.to_string(),
            format!("{age}"),
            format!("{price:.4}"),
            u8::from(click).to_string(),
        ];
        for (col, cell) in cols.iter_mut().zip(cells) {
            col.push(cell.into_boxed_str());
        }
    }
    super::RawFrame::from_columns(
        format!("toy_ctr({rows}, seed {seed})"),
        names.iter().map(|n| n.to_string()).zip(cols).collect(),
    )
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shape_and_skew() {
        let x = super::power_law(100, 50, 5_000, 1.0, 42);
        assert_eq!((x.n_users(), x.n_items()), (100, 50));
        // 5,000 draws over 5,000 cells: the repeated pairs are merged.
        assert_eq!(x.len() + x.merged_duplicates(), 5_000);
        assert!(x.len() < 5_000);
        let mut c = vec![0u32; 50];
        x.item_indices().iter().for_each(|&i| c[i as usize] += 1);
        c.sort_unstable();
        assert!(c[49] > 3 * c[0].max(1), "head much heavier than tail");
        let again = super::power_law(100, 50, 5_000, 1.0, 42);
        assert_eq!(again.item_indices(), x.item_indices());
    }
}
