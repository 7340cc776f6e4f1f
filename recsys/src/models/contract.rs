//! The contract every model must pass (used by the test suite of each model
//! family; public so that user models can be checked too).
//!
//! Data: implicit's checkerboard. User `u` interacted with every item `j`
//! with `(u + j)` even, except item `u` itself, which is withheld. A
//! personalised model must return the withheld item first.

use super::Fit;
use crate::Result;
use crate::data::Interactions;

/// The checkerboard training data (`n_users × n_items`, diagonal withheld)
/// and the withheld item of each user (`None` when `u >= n_items`).
pub fn checkerboard(n_users: usize, n_items: usize) -> (Interactions, Vec<Option<u32>>) {
    let mut rows = Vec::new();
    for u in 0..n_users {
        for j in 0..n_items {
            if (u + j) % 2 == 0 && u != j {
                rows.push((format!("{u}"), format!("{j}")));
            }
        }
    }
    let all_items: Vec<String> = (0..n_items).map(|j| j.to_string()).collect();
    let x = Interactions::from_raw_rows(&rows, None, None, &all_items).expect("valid");
    let withheld = (0..n_users)
        .map(|u| (u < n_items).then_some(u as u32))
        .collect();
    (x, withheld)
}

/// Checks the structural contract (scores and lists are consistent, seen
/// items are excluded, same input gives the same output) and, when
/// `personalised`, that every user's withheld item comes back top-1.
/// Returns a description of the first violation.
pub fn check(model: &dyn Fit, personalised: bool) -> Result<Result<(), String>> {
    let (train, withheld) = checkerboard(20, 20);
    let a = model.fit_scorer((&train).into())?;
    let b = model.fit_scorer((&train).into())?;
    for u in 0..train.n_users() as u32 {
        let recs = a.recommend(u, 5, true);
        if recs.len() != 5 {
            return Ok(Err(format!(
                "user {u}: asked for 5 items, got {}",
                recs.len()
            )));
        }
        let seen = train.user_items(u);
        if let Some((i, _)) = recs.iter().find(|(i, _)| seen.binary_search(i).is_ok()) {
            return Ok(Err(format!("user {u}: recommended seen item {i}")));
        }
        if recs.windows(2).any(|w| w[0].1 < w[1].1) {
            return Ok(Err(format!("user {u}: list not sorted by score")));
        }
        if recs != b.recommend(u, 5, true) {
            return Ok(Err(format!("user {u}: two fits with the same seed differ")));
        }
        let mut all = vec![0.0; a.n_items()];
        a.score_all(u, &mut all);
        let items: Vec<u32> = recs.iter().map(|r| r.0).collect();
        let mut some = vec![0.0; items.len()];
        a.score_items(u, &items, &mut some);
        for (k, &i) in items.iter().enumerate() {
            if (some[k] - all[i as usize]).abs() > 1e-5 * all[i as usize].abs().max(1.0) {
                return Ok(Err(format!(
                    "user {u}: score_items differs from score_all for item {i}"
                )));
            }
        }
        if personalised {
            if let Some(w) = withheld[u as usize] {
                if recs[0].0 != w {
                    return Ok(Err(format!(
                        "user {u}: withheld item {w} not top-1 (got {:?})",
                        &recs[..3]
                    )));
                }
            }
        }
    }
    Ok(Ok(()))
}
