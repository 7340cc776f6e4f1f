//! The core user–item interaction log and its sparse views.

use std::sync::{Arc, OnceLock};

use super::IdMap;
use crate::sparse::Csr;
use crate::{Error, Result};

/// A log of user–item interactions with dense `u32` indices.
///
/// Rows are `(user, item, rating?, timestamp?)`. Users and items are indices
/// into shared [`IdMap`]s, so a train/test split of one dataset keeps the same
/// indices everywhere. Cloning is cheap (the data is behind an `Arc`).
///
/// Sparse views: [`Interactions::csr`] is the users × items matrix (value =
/// rating when present, else 1; a repeated pair keeps its largest value);
/// [`Interactions::csc`] is the same matrix in column-major form.
#[derive(Clone)]
pub struct Interactions {
    inner: Arc<Inner>,
}

struct Inner {
    users: Arc<IdMap>,
    items: Arc<IdMap>,
    user: Vec<u32>,
    item: Vec<u32>,
    rating: Option<Vec<f32>>,
    timestamp: Option<Vec<i64>>,
    csr: OnceLock<Csr>,
    csc: OnceLock<Csr>,
}

impl std::fmt::Debug for Interactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Interactions {{ rows: {}, users: {}, items: {}, ratings: {}, timestamps: {} }}",
            self.len(),
            self.n_users(),
            self.n_items(),
            self.ratings().is_some(),
            self.timestamps().is_some()
        )
    }
}

/// `100000 interactions of 943 users on 1682 items (ratings, timestamps)`.
impl std::fmt::Display for Interactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let with: Vec<&str> = [
            self.ratings().is_some().then_some("ratings"),
            self.timestamps().is_some().then_some("timestamps"),
        ]
        .into_iter()
        .flatten()
        .collect();
        write!(
            f,
            "{} interactions of {} users on {} items",
            self.len(),
            self.n_users(),
            self.n_items()
        )?;
        if !with.is_empty() {
            write!(f, " ({})", with.join(", "))?;
        }
        Ok(())
    }
}

impl Interactions {
    /// Builds interactions from index columns. All columns must have the same
    /// length and indices must be inside the maps.
    pub fn new(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        user: Vec<u32>,
        item: Vec<u32>,
        rating: Option<Vec<f32>>,
        timestamp: Option<Vec<i64>>,
    ) -> Result<Self> {
        let n = user.len();
        let same = item.len() == n
            && rating.as_ref().is_none_or(|r| r.len() == n)
            && timestamp.as_ref().is_none_or(|t| t.len() == n);
        if !same {
            return Err(Error::InvalidData(
                "interaction columns have different lengths".into(),
            ));
        }
        if let Some(&u) = user.iter().find(|&&u| u as usize >= users.len()) {
            return Err(Error::InvalidData(format!(
                "user index {u} outside the user map ({} users)",
                users.len()
            )));
        }
        if let Some(&i) = item.iter().find(|&&i| i as usize >= items.len()) {
            return Err(Error::InvalidData(format!(
                "item index {i} outside the item map ({} items)",
                items.len()
            )));
        }
        Ok(Interactions {
            inner: Arc::new(Inner {
                users,
                items,
                user,
                item,
                rating,
                timestamp,
                csr: OnceLock::new(),
                csc: OnceLock::new(),
            }),
        })
    }

    /// Builds interactions from raw-id rows, creating the id maps. Items in
    /// `extra_items` join the item universe even without interactions (e.g.
    /// every movie of a catalogue).
    pub fn from_raw_rows(
        rows: &[(String, String)],
        rating: Option<Vec<f32>>,
        timestamp: Option<Vec<i64>>,
        extra_items: &[String],
    ) -> Result<Self> {
        let users = IdMap::from_raw(rows.iter().map(|r| r.0.as_str()));
        let items = IdMap::from_raw(
            rows.iter()
                .map(|r| r.1.as_str())
                .chain(extra_items.iter().map(String::as_str)),
        );
        let user = rows.iter().map(|r| users.get(&r.0).unwrap()).collect();
        let item = rows.iter().map(|r| items.get(&r.1).unwrap()).collect();
        Self::new(
            Arc::new(users),
            Arc::new(items),
            user,
            item,
            rating,
            timestamp,
        )
    }

    /// Number of interaction rows.
    pub fn len(&self) -> usize {
        self.inner.user.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.inner.user.is_empty()
    }

    /// Size of the user universe (the map), not only users with rows.
    pub fn n_users(&self) -> usize {
        self.inner.users.len()
    }

    /// Size of the item universe (the map), not only items with rows.
    pub fn n_items(&self) -> usize {
        self.inner.items.len()
    }

    /// The user id map.
    pub fn users(&self) -> &Arc<IdMap> {
        &self.inner.users
    }

    /// The item id map.
    pub fn items(&self) -> &Arc<IdMap> {
        &self.inner.items
    }

    /// User index of every row.
    pub fn user_indices(&self) -> &[u32] {
        &self.inner.user
    }

    /// Item index of every row.
    pub fn item_indices(&self) -> &[u32] {
        &self.inner.item
    }

    /// Rating of every row, if the data has ratings.
    pub fn ratings(&self) -> Option<&[f32]> {
        self.inner.rating.as_deref()
    }

    /// Timestamp (seconds) of every row, if the data has timestamps.
    pub fn timestamps(&self) -> Option<&[i64]> {
        self.inner.timestamp.as_deref()
    }

    /// True when both interactions share the same id maps (same indices).
    pub fn same_universe(&self, other: &Interactions) -> bool {
        Arc::ptr_eq(&self.inner.users, &other.inner.users)
            && Arc::ptr_eq(&self.inner.items, &other.inner.items)
    }

    /// Users × items CSR matrix (shape `n_users × n_items`; value = rating
    /// when present, else 1; a repeated pair keeps its largest value).
    pub fn csr(&self) -> &Csr {
        self.inner.csr.get_or_init(|| {
            let pairs: Vec<(u32, u32, f32)> = (0..self.len())
                .map(|r| {
                    let v = self.inner.rating.as_ref().map_or(1.0, |x| x[r]);
                    (self.inner.user[r], self.inner.item[r], v)
                })
                .collect();
            Csr::from_triplets(self.n_users(), self.n_items(), pairs)
        })
    }

    /// The transpose of [`Interactions::csr`] (items × users): row `i` lists
    /// the users of item `i`.
    pub fn csc(&self) -> &Csr {
        self.inner.csc.get_or_init(|| self.csr().transpose())
    }

    /// Sorted item indices of one user (deduplicated).
    pub fn user_items(&self, user: u32) -> &[u32] {
        self.csr().row_indices(user as usize)
    }

    /// Number of distinct interacting users per item (length `n_items`).
    pub fn item_counts(&self) -> Vec<u32> {
        let csc = self.csc();
        (0..self.n_items()).map(|i| csc.row_len(i) as u32).collect()
    }

    /// Number of distinct items per user (length `n_users`).
    pub fn user_counts(&self) -> Vec<u32> {
        let csr = self.csr();
        (0..self.n_users()).map(|u| csr.row_len(u) as u32).collect()
    }

    /// Keeps the given rows (in the given order), sharing the id maps.
    pub fn select(&self, rows: &[usize]) -> Interactions {
        let pick_u = |v: &Vec<u32>| rows.iter().map(|&r| v[r]).collect::<Vec<_>>();
        let inner = &self.inner;
        Interactions::new(
            inner.users.clone(),
            inner.items.clone(),
            pick_u(&inner.user),
            pick_u(&inner.item),
            inner
                .rating
                .as_ref()
                .map(|v| rows.iter().map(|&r| v[r]).collect()),
            inner
                .timestamp
                .as_ref()
                .map(|v| rows.iter().map(|&r| v[r]).collect()),
        )
        .expect("selected rows stay valid")
    }

    /// Keeps the rows for which `keep(row)` is true.
    pub fn filter_rows(&self, keep: impl Fn(usize) -> bool) -> Interactions {
        let rows: Vec<usize> = (0..self.len()).filter(|&r| keep(r)).collect();
        self.select(&rows)
    }

    /// Rows with rating ≥ `threshold`, as implicit feedback (ratings dropped).
    /// Data without ratings is returned unchanged.
    pub fn implicit(&self, threshold: f32) -> Interactions {
        let Some(r) = self.ratings() else {
            return self.clone();
        };
        let kept = self.filter_rows(|i| r[i] >= threshold);
        kept.without_ratings()
    }

    /// The same rows without the rating column (binary implicit feedback).
    pub fn without_ratings(&self) -> Interactions {
        let i = &self.inner;
        Interactions::new(
            i.users.clone(),
            i.items.clone(),
            i.user.clone(),
            i.item.clone(),
            None,
            i.timestamp.clone(),
        )
        .expect("valid")
    }

    /// Drops users with fewer than `min_user` rows and items with fewer than
    /// `min_item` rows, once (counts taken before dropping).
    pub fn filter_min_counts(&self, min_user: usize, min_item: usize) -> Interactions {
        let mut uc = vec![0usize; self.n_users()];
        let mut ic = vec![0usize; self.n_items()];
        for r in 0..self.len() {
            uc[self.inner.user[r] as usize] += 1;
            ic[self.inner.item[r] as usize] += 1;
        }
        self.filter_rows(|r| {
            uc[self.inner.user[r] as usize] >= min_user
                && ic[self.inner.item[r] as usize] >= min_item
        })
    }

    /// Iterated k-core: repeats [`Interactions::filter_min_counts`] until every
    /// remaining user has ≥ `min_user` rows and every item ≥ `min_item`.
    pub fn k_core(&self, min_user: usize, min_item: usize) -> Interactions {
        let mut cur = self.clone();
        loop {
            let next = cur.filter_min_counts(min_user, min_item);
            if next.len() == cur.len() {
                return next;
            }
            cur = next;
        }
    }

    /// Rebuilds the id maps so that they hold only users and items with rows.
    pub fn compact(&self) -> Interactions {
        let rows: Vec<(String, String)> = (0..self.len())
            .map(|r| {
                (
                    self.inner.users.raw(self.inner.user[r]).to_string(),
                    self.inner.items.raw(self.inner.item[r]).to_string(),
                )
            })
            .collect();
        Interactions::from_raw_rows(
            &rows,
            self.inner.rating.clone(),
            self.inner.timestamp.clone(),
            &[],
        )
        .expect("valid")
    }

    /// Per-user row lists: `result[u]` holds the row numbers of user `u`.
    pub fn rows_by_user(&self) -> Vec<Vec<usize>> {
        let mut by = vec![Vec::new(); self.n_users()];
        for (r, &u) in self.inner.user.iter().enumerate() {
            by[u as usize].push(r);
        }
        by
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tiny() -> Interactions {
        let rows: Vec<(String, String)> =
            [("1", "a"), ("1", "b"), ("2", "a"), ("3", "c"), ("1", "a")]
                .iter()
                .map(|(u, i)| (u.to_string(), i.to_string()))
                .collect();
        Interactions::from_raw_rows(
            &rows,
            Some(vec![5.0, 3.0, 4.0, 1.0, 2.0]),
            None,
            &["z".into()],
        )
        .unwrap()
    }

    #[test]
    fn csr_dedups_keeping_max() {
        let x = tiny();
        assert_eq!(x.n_items(), 4);
        let csr = x.csr();
        assert_eq!(csr.nnz(), 4);
        assert_eq!(csr.get(0, 0), Some(5.0));
        assert_eq!(x.user_items(0), &[0, 1]);
        assert_eq!(x.item_counts(), vec![2, 1, 1, 0]);
    }

    #[test]
    fn implicit_threshold_and_kcore() {
        let x = tiny();
        let imp = x.implicit(4.0);
        assert_eq!(imp.len(), 2);
        assert!(imp.ratings().is_none());
        let core = x.k_core(2, 2);
        // user 1 has 3 rows, item a has 3 rows -> only (1,a) rows survive (2 of them), then user1 count 2, item a count 2
        assert_eq!(core.len(), 2);
        assert!(core.same_universe(&x));
        assert_eq!(core.compact().n_items(), 1);
    }

    #[test]
    fn rejects_mismatched_columns() {
        let m = Arc::new(IdMap::from_raw(["1"]));
        assert!(Interactions::new(m.clone(), m.clone(), vec![0], vec![], None, None).is_err());
        assert!(Interactions::new(m.clone(), m, vec![1], vec![0], None, None).is_err());
    }
}
