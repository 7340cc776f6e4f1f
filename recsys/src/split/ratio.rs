//! Per-user ordered splits (leave-one-out, ratio), global time and random.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::{Group, Order, SplitData};
use crate::data::Interactions;
use crate::{Error, Result};

pub(crate) type Rng = rand::rngs::Xoshiro256PlusPlus;

/// For each user, their row numbers in split order.
pub(super) fn user_orders(data: &Interactions, by: Order) -> Result<Vec<Vec<usize>>> {
    let mut by_user = data.rows_by_user();
    match by {
        Order::Time => {
            let ts = data.timestamps().ok_or_else(|| {
                Error::InvalidData("a split by time needs timestamps; this data has none".into())
            })?;
            let items = data.item_indices();
            for rows in &mut by_user {
                rows.sort_by_key(|&r| (ts[r], items[r], r));
            }
        }
        Order::Random { seed } => {
            let mut rng = Rng::seed_from_u64(seed);
            for rows in &mut by_user {
                rows.shuffle(&mut rng);
            }
        }
    }
    Ok(by_user)
}

/// Assigns each user's ordered rows: the last `n_test` → test, the `n_val`
/// before → val, the rest → train. `sizes(n) = (n_test, n_val)`.
pub(super) fn assign(
    data: &Interactions,
    orders: &[Vec<usize>],
    sizes: impl Fn(usize) -> (usize, usize),
) -> SplitData {
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for rows in orders {
        let n = rows.len();
        let (n_test, n_val) = sizes(n);
        let n_test = n_test.min(n);
        let n_val = n_val.min(n - n_test);
        let n_train = n - n_test - n_val;
        tr.extend_from_slice(&rows[..n_train]);
        va.extend_from_slice(&rows[n_train..n_train + n_val]);
        te.extend_from_slice(&rows[n_train + n_val..]);
    }
    SplitData {
        train: data.select(&tr),
        val: (!va.is_empty()).then(|| data.select(&va)),
        test: data.select(&te),
    }
}

/// The latest `test` share of rows → test, the `val` share before → val.
pub(super) fn global_time(data: &Interactions, test: f64, val: f64) -> Result<SplitData> {
    let ts = data
        .timestamps()
        .ok_or_else(|| Error::InvalidData("a global time split needs timestamps".into()))?;
    let mut rows: Vec<usize> = (0..data.len()).collect();
    rows.sort_by_key(|&r| (ts[r], data.user_indices()[r], data.item_indices()[r]));
    Ok(cut(data, &rows, test, val))
}

/// Rows shuffled with `seed`, then cut by shares.
pub(super) fn random(data: &Interactions, test: f64, val: f64, seed: u64) -> SplitData {
    let mut rows: Vec<usize> = (0..data.len()).collect();
    rows.shuffle(&mut Rng::seed_from_u64(seed));
    cut(data, &rows, test, val)
}

/// A seeded `test` share of the users (those with rows) → test with all
/// their rows; the rest → train.
pub(super) fn cold_users(data: &Interactions, test: f64, seed: u64) -> SplitData {
    let mut users: Vec<u32> = (0..data.n_users() as u32)
        .filter(|&u| !data.user_items(u).is_empty())
        .collect();
    users.shuffle(&mut Rng::seed_from_u64(seed));
    let n_test = (users.len() as f64 * test).round() as usize;
    let mut held = vec![false; data.n_users()];
    for &u in &users[..n_test.min(users.len())] {
        held[u as usize] = true;
    }
    let (te, tr): (Vec<usize>, Vec<usize>) =
        (0..data.len()).partition(|&r| held[data.user_indices()[r] as usize]);
    SplitData {
        train: data.select(&tr),
        val: None,
        test: data.select(&te),
    }
}

fn cut(data: &Interactions, rows: &[usize], test: f64, val: f64) -> SplitData {
    let n = rows.len();
    let n_test = (n as f64 * test).round() as usize;
    let n_val = (n as f64 * val).round() as usize;
    let n_train = n.saturating_sub(n_test + n_val);
    let val_rows = &rows[n_train..(n_train + n_val).min(n)];
    SplitData {
        train: data.select(&rows[..n_train]),
        val: (!val_rows.is_empty()).then(|| data.select(val_rows)),
        test: data.select(&rows[(n_train + n_val).min(n)..]),
    }
}

/// Per group, a seeded shuffle; the first `round_half_even(train·n)` rows
/// → train, the rest → test.
pub(super) fn stratified(data: &Interactions, train: f64, by: Group, seed: u64) -> SplitData {
    let (keys, n_groups) = match by {
        Group::User => (data.user_indices(), data.n_users()),
        Group::Item => (data.item_indices(), data.n_items()),
    };
    let mut groups = vec![Vec::new(); n_groups];
    for (r, &k) in keys.iter().enumerate() {
        groups[k as usize].push(r);
    }
    let mut rng = Rng::seed_from_u64(seed);
    let (mut tr, mut te) = (Vec::new(), Vec::new());
    for rows in &mut groups {
        rows.shuffle(&mut rng);
        let n_train = ((rows.len() as f64) * train).round_ties_even() as usize;
        tr.extend_from_slice(&rows[..n_train.min(rows.len())]);
        te.extend_from_slice(&rows[n_train.min(rows.len())..]);
    }
    SplitData {
        train: data.select(&tr),
        val: None,
        test: data.select(&te),
    }
}
