//! `recommendations.json`: every user's top-N unseen items, from any
//! fitted model, streamed to disk in blocks of users.

use std::path::Path;
use std::time::Instant;

use crate::models::Scorer;
use crate::{Error, Result};

/// Users whose lists are computed (in parallel) and written together.
const USER_BLOCK: usize = 4096;

/// What [`write_recommendations`] wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PredictSummary {
    /// Users written (every user of the model).
    pub users: usize,
    /// Items per user (fewer for a user with fewer unseen items).
    pub top_n: usize,
    /// Wall-clock seconds, scoring and writing.
    pub seconds: f64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

impl std::fmt::Display for PredictSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recommendations for {} users (top {}) in {:.2} s, {:.1} MB",
            self.users,
            self.top_n,
            self.seconds,
            self.bytes as f64 / 1e6
        )
    }
}

/// Writes `path` as one JSON object: each user's raw id → its top `top_n`
/// items `[{"item": raw id, "score": s}, …]`, best first, never an item the
/// user has in the model's training data. Users are scored in blocks of
/// 4,096 ([`Scorer::recommend_many`]: one matrix product per block for
/// factor models) and each block is written before the next is scored, so
/// memory does not grow with the number of users. The file is replaced
/// atomically: a reader sees the old file or the whole new one.
pub fn write_recommendations(
    scorer: &dyn Scorer,
    top_n: usize,
    path: &Path,
) -> Result<PredictSummary> {
    if top_n == 0 {
        return Err(Error::param("top_n", "must be ≥ 1"));
    }
    let started = Instant::now();
    let train = scorer.train();
    let users: Vec<u32> = (0..train.n_users() as u32).collect();
    let io = |e: std::io::Error| Error::io(path, e);
    crate::io::write_atomic_with(path, |w| {
        w.write_all(b"{").map_err(io)?;
        let mut first = true;
        for block in users.chunks(USER_BLOCK) {
            let lists = scorer.recommend_many(block, top_n, true);
            for (&u, list) in block.iter().zip(&lists) {
                if !first {
                    w.write_all(b",").map_err(io)?;
                }
                first = false;
                w.write_all(b"\n").map_err(io)?;
                serde_json::to_writer(&mut *w, train.users().raw(u))?;
                w.write_all(b": [").map_err(io)?;
                for (k, &(i, s)) in list.iter().enumerate() {
                    if k > 0 {
                        w.write_all(b", ").map_err(io)?;
                    }
                    w.write_all(b"{\"item\": ").map_err(io)?;
                    serde_json::to_writer(&mut *w, train.items().raw(i))?;
                    write!(w, ", \"score\": {}}}", json_number(s)).map_err(io)?;
                }
                w.write_all(b"]").map_err(io)?;
            }
        }
        w.write_all(b"\n}\n").map_err(io)?;
        Ok(())
    })?;
    let bytes = std::fs::metadata(path).map_err(io)?.len();
    Ok(PredictSummary {
        users: users.len(),
        top_n,
        seconds: started.elapsed().as_secs_f64(),
        bytes,
    })
}

/// A score as JSON (non-finite scores, which JSON cannot hold, as null).
fn json_number(s: f32) -> String {
    if s.is_finite() {
        format!("{s}")
    } else {
        "null".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Fit, Popularity};

    #[test]
    fn every_user_gets_unseen_items_as_valid_json() {
        let (train, _) = crate::models::contract::checkerboard(9, 8);
        let m = Popularity::default().fit_scorer((&train).into()).unwrap();
        let dir = std::env::temp_dir().join(format!("recsys-recs-{}", std::process::id()));
        let path = dir.join("recommendations.json");
        let s = write_recommendations(m.as_ref(), 3, &path).unwrap();
        assert_eq!(s.users, 9);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 9);
        for u in 0..9u32 {
            let list = obj[train.users().raw(u)].as_array().unwrap();
            assert_eq!(list.len(), 3);
            for e in list {
                let i = train.items().get(e["item"].as_str().unwrap()).unwrap();
                assert!(!train.user_items(u).contains(&i));
            }
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
