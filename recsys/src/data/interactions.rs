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
/// Every (user, item) pair appears at most once: repeated rows are merged
/// when the interactions are built, by the [`Duplicates`] policy (the last
/// row by default), so a popularity count, the matrix, a split and every
/// model see the same data.
///
/// Sparse views: [`Interactions::csr`] is the users × items matrix (value =
/// rating when present, else 1); [`Interactions::csc`] is the same matrix in
/// column-major form.
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
    /// Rows merged into an earlier or later row of the same pair when these
    /// interactions were built (0 for data derived from merged data).
    merged: usize,
    csr: OnceLock<Csr>,
    csc: OnceLock<Csr>,
}

/// What a repeated (user, item) pair becomes when interactions are built
/// (`last`, `sum` or `reject` in configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Duplicates {
    /// One row per pair: the latest (largest timestamp, then the later row of
    /// the file), with its rating and timestamp. The default: a re-rating
    /// replaces the earlier one.
    #[default]
    Last,
    /// One row per pair whose rating is the sum of the pair's ratings, and 1
    /// per row when the data has no ratings (the value becomes a count, as
    /// implicit-feedback libraries sum repeated clicks); the latest
    /// timestamp.
    Sum,
    /// A repeated pair is an error naming both rows.
    Reject,
}

impl Duplicates {
    /// Parses `last`, `sum` or `reject`.
    pub fn from_name(name: &str) -> Result<Duplicates> {
        match name.trim().to_ascii_lowercase().as_str() {
            "last" => Ok(Duplicates::Last),
            "sum" => Ok(Duplicates::Sum),
            "reject" => Ok(Duplicates::Reject),
            other => Err(Error::Config(format!(
                "unknown duplicates policy {other:?} (last, sum, reject)"
            ))),
        }
    }
}

/// The columns of an interaction log (indices into id maps).
pub(crate) struct Columns {
    pub user: Vec<u32>,
    pub item: Vec<u32>,
    pub rating: Option<Vec<f32>>,
    pub timestamp: Option<Vec<i64>>,
}

impl Columns {
    /// The columns, checked: equal lengths and every index inside its map.
    fn checked(
        users: &IdMap,
        items: &IdMap,
        user: Vec<u32>,
        item: Vec<u32>,
        rating: Option<Vec<f32>>,
        timestamp: Option<Vec<i64>>,
    ) -> Result<Columns> {
        let c = Columns {
            user,
            item,
            rating,
            timestamp,
        };
        let n = c.user.len();
        let same = c.item.len() == n
            && c.rating.as_ref().is_none_or(|r| r.len() == n)
            && c.timestamp.as_ref().is_none_or(|t| t.len() == n);
        if !same {
            return Err(Error::InvalidData(
                "interaction columns have different lengths".into(),
            ));
        }
        if let Some(&u) = c.user.iter().find(|&&u| u as usize >= users.len()) {
            return Err(Error::InvalidData(format!(
                "user index {u} outside the user map ({} users)",
                users.len()
            )));
        }
        if let Some(&i) = c.item.iter().find(|&&i| i as usize >= items.len()) {
            return Err(Error::InvalidData(format!(
                "item index {i} outside the item map ({} items)",
                items.len()
            )));
        }
        Ok(c)
    }
}

/// The first repeated pair [`Duplicates::Reject`] met: its two rows (0-based,
/// earlier first) and its user and item indices.
pub(crate) struct Repeated {
    pub first: usize,
    pub second: usize,
    pub user: u32,
    pub item: u32,
}

/// Merges the rows that repeat a (user, item) pair by `policy`, keeping the
/// surviving rows in their order. Returns the columns and how many rows were
/// merged away. Extra memory: one `u32` per row plus one `usize` per user
/// (and one flag per row when something is merged).
pub(crate) fn merge_duplicates(
    mut c: Columns,
    n_users: usize,
    policy: Duplicates,
) -> std::result::Result<(Columns, usize), Repeated> {
    let n = c.user.len();
    // Rows grouped by user (a counting sort), then by item within a user.
    let mut start = vec![0usize; n_users + 1];
    for &u in &c.user {
        start[u as usize + 1] += 1;
    }
    for u in 0..n_users {
        start[u + 1] += start[u];
    }
    let mut order = vec![0u32; n];
    let mut next = start.clone();
    for (r, &u) in c.user.iter().enumerate() {
        order[next[u as usize]] = r as u32;
        next[u as usize] += 1;
    }
    drop(next);
    let mut drop_row: Vec<bool> = Vec::new();
    let mut merged = 0usize;
    for u in 0..n_users {
        let seg = &mut order[start[u]..start[u + 1]];
        if seg.len() < 2 {
            continue;
        }
        // Stable by row within an item: `seg` is in row order already.
        seg.sort_by_key(|&r| c.item[r as usize]);
        let mut a = 0;
        while a < seg.len() {
            let item = c.item[seg[a] as usize];
            let mut b = a + 1;
            while b < seg.len() && c.item[seg[b] as usize] == item {
                b += 1;
            }
            if b - a > 1 {
                let group = &seg[a..b];
                if policy == Duplicates::Reject {
                    return Err(Repeated {
                        first: group[0] as usize,
                        second: group[1] as usize,
                        user: u as u32,
                        item,
                    });
                }
                if drop_row.is_empty() {
                    drop_row = vec![false; n];
                }
                let key = |r: u32| (c.timestamp.as_ref().map_or(0, |t| t[r as usize]), r);
                let keep = *group
                    .iter()
                    .max_by_key(|&&r| key(r))
                    .expect("non-empty group");
                if policy == Duplicates::Sum {
                    let ratings = c.rating.get_or_insert_with(|| vec![1.0; n]);
                    let total: f32 = group.iter().map(|&r| ratings[r as usize]).sum();
                    ratings[keep as usize] = total;
                }
                for &r in group {
                    if r != keep {
                        drop_row[r as usize] = true;
                        merged += 1;
                    }
                }
            }
            a = b;
        }
    }
    if merged == 0 {
        return Ok((c, 0));
    }
    retain_rows(&mut c.user, &drop_row);
    retain_rows(&mut c.item, &drop_row);
    if let Some(v) = c.rating.as_mut() {
        retain_rows(v, &drop_row);
    }
    if let Some(v) = c.timestamp.as_mut() {
        retain_rows(v, &drop_row);
    }
    Ok((c, merged))
}

/// Keeps the entries whose `dropped` flag is false, in order.
fn retain_rows<T>(v: &mut Vec<T>, dropped: &[bool]) {
    let mut k = 0;
    v.retain(|_| {
        k += 1;
        !dropped[k - 1]
    });
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
        if self.merged_duplicates() > 0 {
            write!(
                f,
                "; {} repeated (user, item) rows merged",
                self.merged_duplicates()
            )?;
        }
        Ok(())
    }
}

impl Interactions {
    /// Builds interactions from index columns. All columns must have the same
    /// length and indices must be inside the maps. Rows repeating a (user,
    /// item) pair are merged by [`Duplicates::Last`] (see
    /// [`Interactions::with_duplicates`] for the other policies).
    pub fn new(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        user: Vec<u32>,
        item: Vec<u32>,
        rating: Option<Vec<f32>>,
        timestamp: Option<Vec<i64>>,
    ) -> Result<Self> {
        Self::with_duplicates(
            users,
            items,
            user,
            item,
            rating,
            timestamp,
            Duplicates::Last,
        )
    }

    /// [`Interactions::new`] with a [`Duplicates`] policy; `Reject` names the
    /// two rows (0-based) of the first repeated pair.
    pub fn with_duplicates(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        user: Vec<u32>,
        item: Vec<u32>,
        rating: Option<Vec<f32>>,
        timestamp: Option<Vec<i64>>,
        policy: Duplicates,
    ) -> Result<Self> {
        let cols = Columns::checked(&users, &items, user, item, rating, timestamp)?;
        let (u, i) = (users.clone(), items.clone());
        Self::from_columns(users, items, cols, policy).map_err(|d| {
            Error::InvalidData(format!(
                "rows {} and {} repeat the pair (user {:?}, item {:?}) and duplicates = \"reject\"",
                d.first,
                d.second,
                u.raw(d.user),
                i.raw(d.item),
            ))
        })
    }

    /// Interactions from columns inside the maps (the caller's invariant, not
    /// checked), with repeated pairs merged by `policy` (`Err`: the first
    /// repeated pair's two rows, for `Reject`). Merges in place: no copy of
    /// the columns.
    pub(crate) fn from_columns(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        cols: Columns,
        policy: Duplicates,
    ) -> std::result::Result<Interactions, Repeated> {
        let (mut c, merged) = merge_duplicates(cols, users.len(), policy)?;
        if policy == Duplicates::Sum && c.rating.is_none() {
            c.rating = Some(vec![1.0; c.user.len()]);
        }
        Ok(Self::assemble(users, items, c, merged))
    }

    /// Rows merged into another row of the same pair when these interactions
    /// were built (see [`Duplicates`]).
    pub fn merged_duplicates(&self) -> usize {
        self.inner.merged
    }

    /// Builds interactions from columns known not to repeat a pair (rows
    /// selected from merged data).
    pub(crate) fn unmerged(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        user: Vec<u32>,
        item: Vec<u32>,
        rating: Option<Vec<f32>>,
        timestamp: Option<Vec<i64>>,
    ) -> Result<Self> {
        let cols = Columns::checked(&users, &items, user, item, rating, timestamp)?;
        Ok(Self::assemble(users, items, cols, 0))
    }

    /// The value itself, from columns already checked; `merged` rows were
    /// merged away while building them.
    fn assemble(users: Arc<IdMap>, items: Arc<IdMap>, c: Columns, merged: usize) -> Self {
        let Columns {
            user,
            item,
            rating,
            timestamp,
        } = c;
        Interactions {
            inner: Arc::new(Inner {
                users,
                items,
                user,
                item,
                rating,
                timestamp,
                merged,
                csr: OnceLock::new(),
                csc: OnceLock::new(),
            }),
        }
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
        Interactions::unmerged(
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
        Interactions::unmerged(
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
    fn a_repeated_pair_keeps_its_last_row_everywhere() {
        let x = tiny();
        assert_eq!(x.n_items(), 4);
        assert_eq!(x.len(), 4);
        assert_eq!(x.merged_duplicates(), 1);
        assert!(
            x.to_string()
                .contains("1 repeated (user, item) rows merged")
        );
        // The later row of (1, a) wins: rating 2, not the larger 5.
        assert_eq!(x.csr().get(0, 0), Some(2.0));
        assert_eq!(x.ratings().unwrap(), &[3.0, 4.0, 1.0, 2.0]);
        assert_eq!(x.user_items(0), &[0, 1]);
        assert_eq!(x.item_counts(), vec![2, 1, 1, 0]);
        // Rows counted one by one agree with the matrix (popularity's count).
        let mut rows = vec![0u32; x.n_items()];
        x.item_indices().iter().for_each(|&i| rows[i as usize] += 1);
        assert_eq!(rows, x.item_counts());
    }

    fn pairs(
        rows: &[(u32, u32)],
        ts: Option<Vec<i64>>,
        r: Option<Vec<f32>>,
        p: Duplicates,
    ) -> Result<Interactions> {
        let m = Arc::new(IdMap::from_raw(["0", "1", "2"]));
        Interactions::with_duplicates(
            m.clone(),
            m,
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            r,
            ts,
            p,
        )
    }

    #[test]
    fn duplicate_policies() {
        let rows = [(0, 1), (1, 1), (0, 1), (0, 2), (0, 1)];
        // Last: the largest timestamp wins (not the last line), order kept.
        let ts = Some(vec![10, 5, 30, 7, 20]);
        let r = Some(vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let last = pairs(&rows, ts.clone(), r.clone(), Duplicates::Last).unwrap();
        assert_eq!(last.user_indices(), &[1, 0, 0]);
        assert_eq!(last.item_indices(), &[1, 1, 2]);
        assert_eq!(last.ratings().unwrap(), &[2.0, 3.0, 4.0]);
        assert_eq!(last.timestamps().unwrap(), &[5, 30, 7]);
        assert_eq!(last.merged_duplicates(), 2);
        // Without timestamps the later row wins.
        let last = pairs(&rows, None, r.clone(), Duplicates::Last).unwrap();
        assert_eq!(last.ratings().unwrap(), &[2.0, 4.0, 5.0]);
        // Sum: ratings summed, or counted when there are none.
        let sum = pairs(&rows, ts, r, Duplicates::Sum).unwrap();
        assert_eq!(sum.ratings().unwrap(), &[2.0, 9.0, 4.0]);
        assert_eq!(sum.timestamps().unwrap(), &[5, 30, 7]);
        let count = pairs(&rows, None, None, Duplicates::Sum).unwrap();
        assert_eq!(count.ratings().unwrap(), &[1.0, 1.0, 3.0]);
        let once = pairs(&[(0, 1), (1, 1)], None, None, Duplicates::Sum).unwrap();
        assert_eq!(once.ratings().unwrap(), &[1.0, 1.0]);
        // Reject names the first repeated pair.
        let e = pairs(&rows, None, None, Duplicates::Reject)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rows 0 and 2") && e.contains("reject"), "{e}");
        assert!(pairs(&[(0, 1), (1, 1)], None, None, Duplicates::Reject).is_ok());
        assert_eq!(Duplicates::from_name("SUM").unwrap(), Duplicates::Sum);
        assert!(Duplicates::from_name("first").is_err());
    }

    #[test]
    fn implicit_threshold_and_kcore() {
        let x = tiny();
        let imp = x.implicit(3.0);
        assert_eq!(imp.len(), 2);
        assert!(imp.ratings().is_none());
        let core = x.k_core(1, 2);
        // Item a has two users (1 and 2); b and c one each.
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
