//! Train / validation / test splits.

mod candidates;
mod ratio;

use std::path::PathBuf;
use std::sync::Arc;

pub use candidates::{Candidates, NegativeSampler};

use crate::data::{IdMap, Interactions, InteractionsFile};
use crate::{Error, Result};

/// The order in which a user's interactions are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// By timestamp; ties by item id ascending (needs timestamps).
    Time,
    /// A seeded random permutation.
    Random { seed: u64 },
}

/// The grouping of a stratified split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    User,
    Item,
}

/// How to split interactions. Builders ([`crate::Pipeline`]) keep the enum;
/// [`Split::apply`] does the work.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Split {
    /// Per user: last → test, second-to-last → validation, the rest → train.
    /// Users with fewer than 3 interactions go entirely to train (and are
    /// not evaluated).
    LeaveOneOut { by: Order },
    /// Per user: the last `floor(n·test)` interactions → test and the
    /// `floor(n·val)` before them → validation (with [`Order::Random`]:
    /// a per-user stratified random split).
    UserRatio { test: f64, val: f64, by: Order },
    /// One global cut in time: the latest `test` share of all interactions
    /// → test, the `val` share before it → validation.
    GlobalTime { test: f64, val: f64 },
    /// Rows shuffled globally with a seed, then cut by shares.
    Random { test: f64, val: f64, seed: u64 },
    /// Per group (user or item), rows shuffled with a seed; the first
    /// `round_half_even(train·n)` → train, the rest → test. Microsoft
    /// Recommenders' `python_stratified_split(ratio=train, filter_by=...)`
    /// (the same row counts; its pandas shuffle is not reproduced row for
    /// row). ML-100K by item at 0.75: 75,066 / 24,934 rows.
    Stratified { train: f64, by: Group, seed: u64 },
    /// Cold-start users: a seeded `test` share of the users is held out
    /// with all their rows (they stay in the user universe, with no
    /// training rows, so feature-based models place them from their
    /// features alone); the other users' rows are the training part.
    ColdUsers { test: f64, seed: u64 },
    /// Read from files (`user item [rating [timestamp]]`, header optional)
    /// in `encoding` (UTF-8 unless given).
    Predefined {
        train: PathBuf,
        val: Option<PathBuf>,
        test: PathBuf,
        #[serde(default)]
        encoding: crate::data::Encoding,
    },
}

/// The result of a split: three logs over the same id maps.
#[derive(Debug, Clone)]
pub struct SplitData {
    pub train: Interactions,
    pub val: Option<Interactions>,
    pub test: Interactions,
}

impl SplitData {
    /// Train + validation, for refitting after model selection.
    pub fn train_and_val(&self) -> Interactions {
        match &self.val {
            None => self.train.clone(),
            Some(v) => concat(&self.train, v),
        }
    }
}

/// Rows of `a` then rows of `b` (same universe).
pub(crate) fn concat(a: &Interactions, b: &Interactions) -> Interactions {
    let cat = |x: &[u32], y: &[u32]| [x, y].concat();
    let rating = match (a.ratings(), b.ratings()) {
        (Some(x), Some(y)) => Some([x, y].concat()),
        _ => None,
    };
    let ts = match (a.timestamps(), b.timestamps()) {
        (Some(x), Some(y)) => Some([x, y].concat()),
        _ => None,
    };
    Interactions::new(
        a.users().clone(),
        a.items().clone(),
        cat(a.user_indices(), b.user_indices()),
        cat(a.item_indices(), b.item_indices()),
        rating,
        ts,
    )
    .expect("same universe")
}

fn check_share(name: &str, x: f64) -> Result<()> {
    if !(0.0..1.0).contains(&x) {
        return Err(Error::param(name, format!("must be in [0, 1), got {x}")));
    }
    Ok(())
}

impl Split {
    /// Microsoft Recommenders' benchmark split: 75 / 25 stratified by item,
    /// seed 42.
    pub fn ms_recommenders() -> Split {
        Split::Stratified {
            train: 0.75,
            by: Group::Item,
            seed: 42,
        }
    }

    /// Leave-one-out by time, the default evaluation split.
    pub fn loo() -> Split {
        Split::LeaveOneOut { by: Order::Time }
    }

    /// Splits `data` (ignored for [`Split::Predefined`], which reads files).
    pub fn apply(&self, data: &Interactions) -> Result<SplitData> {
        match self {
            Split::LeaveOneOut { by } => {
                let orders = ratio::user_orders(data, *by)?;
                Ok(ratio::assign(data, &orders, |n| {
                    if n < 3 { (0, 0) } else { (1, 1) }
                }))
            }
            Split::UserRatio { test, val, by } => {
                check_share("test", *test)?;
                check_share("val", *val)?;
                let orders = ratio::user_orders(data, *by)?;
                let f = |n: usize, s: f64| ((n as f64) * s + 1e-9).floor() as usize;
                Ok(ratio::assign(data, &orders, |n| (f(n, *test), f(n, *val))))
            }
            Split::GlobalTime { test, val } => {
                check_share("test", *test)?;
                check_share("val", *val)?;
                ratio::global_time(data, *test, *val)
            }
            Split::Random { test, val, seed } => {
                check_share("test", *test)?;
                check_share("val", *val)?;
                Ok(ratio::random(data, *test, *val, *seed))
            }
            Split::Stratified { train, by, seed } => {
                if !(*train > 0.0 && *train <= 1.0) {
                    return Err(Error::param(
                        "train",
                        format!("must be in (0, 1], got {train}"),
                    ));
                }
                Ok(ratio::stratified(data, *train, *by, *seed))
            }
            Split::ColdUsers { test, seed } => {
                check_share("test", *test)?;
                Ok(ratio::cold_users(data, *test, *seed))
            }
            Split::Predefined {
                train,
                val,
                test,
                encoding,
            } => predefined_encoded(train, val.as_ref(), test, *encoding),
        }
    }
}

/// Reads predefined split files into one shared universe (the union of ids).
pub fn predefined(train: &PathBuf, val: Option<&PathBuf>, test: &PathBuf) -> Result<SplitData> {
    predefined_encoded(train, val, test, crate::data::Encoding::Utf8)
}

/// [`predefined`] for files in `encoding`.
pub fn predefined_encoded(
    train: &PathBuf,
    val: Option<&PathBuf>,
    test: &PathBuf,
    encoding: crate::data::Encoding,
) -> Result<SplitData> {
    let load = |p: &PathBuf| InteractionsFile::new(p).encoding(encoding).load();
    let tr = load(train)?;
    let te = load(test)?;
    let va = val.map(load).transpose()?;
    let mut parts = vec![tr, te];
    parts.extend(va);
    let users = IdMap::from_raw(parts.iter().flat_map(|p| p.users().raw_ids().iter()));
    let items = IdMap::from_raw(parts.iter().flat_map(|p| p.items().raw_ids().iter()));
    let (users, items) = (Arc::new(users), Arc::new(items));
    let remap = |p: &Interactions| -> Result<Interactions> { reindex(p, &users, &items) };
    Ok(SplitData {
        train: remap(&parts[0])?,
        test: remap(&parts[1])?,
        val: parts.get(2).map(remap).transpose()?,
    })
}

/// The same rows expressed in another (super-set) universe.
pub fn reindex(p: &Interactions, users: &Arc<IdMap>, items: &Arc<IdMap>) -> Result<Interactions> {
    let map = |from: &IdMap, to: &IdMap, idx: &[u32], what: &str| -> Result<Vec<u32>> {
        idx.iter()
            .map(|&i| {
                to.get(from.raw(i)).ok_or_else(|| {
                    Error::InvalidData(format!(
                        "{what} {} is not in the target universe",
                        from.raw(i)
                    ))
                })
            })
            .collect()
    };
    Interactions::new(
        users.clone(),
        items.clone(),
        map(p.users(), users, p.user_indices(), "user")?,
        map(p.items(), items, p.item_indices(), "item")?,
        p.ratings().map(<[f32]>::to_vec),
        p.timestamps().map(<[i64]>::to_vec),
    )
}

/// A train file and a `user item label` candidates file, both in
/// `encoding`, in one universe (the union of their ids).
pub fn predefined_sampled(
    train: &std::path::Path,
    candidates: &std::path::Path,
    encoding: crate::data::Encoding,
) -> Result<(Interactions, Candidates)> {
    let tr = InteractionsFile::new(train).encoding(encoding).load()?;
    let raw = Candidates::read_raw_encoded(candidates, encoding)?;
    let users = Arc::new(IdMap::from_raw(
        tr.users()
            .raw_ids()
            .iter()
            .map(String::as_str)
            .chain(raw.iter().map(|r| r.0.as_str())),
    ));
    let items = Arc::new(IdMap::from_raw(
        tr.items()
            .raw_ids()
            .iter()
            .map(String::as_str)
            .chain(raw.iter().map(|r| r.1.as_str())),
    ));
    let train = reindex(&tr, &users, &items)?;
    let cands = Candidates::from_raw(&raw, &users, &items)?;
    Ok((train, cands))
}
