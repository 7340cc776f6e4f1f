//! Click sessions (YOOCHOOSE, RecSys Challenge 2015, in session-rec's
//! `SessionId ItemId Time` format) as a learning-to-rank task.
//!
//! **The ranking target: the session's next click.** Every click after a
//! session's first is a query: its candidates are the clicked item (grade
//! 1) and `negatives` items drawn uniformly from the training items
//! (grade 0, never the clicked item), each row carrying the session so far
//! as a multi-hot bag (the last `max_history` items, a jagged feature),
//! the candidate item, the click's position in the session (capped at 20)
//! and its hour of day (UTC; `Time` is fractional Unix seconds). NDCG@10 of
//! such a query is `1 / log₂(1 + rank)` of the clicked item when it ranks
//! in the top 10. The last day of the training file is the validation
//! part (sessions by their first click), the test file the test part.

use std::path::Path;

use rand::{RngExt, SeedableRng};

use super::schema::Pooling;
use super::task::{ColumnRule, ColumnSpec, FeatureSpec, FeatureTask};
use crate::data::{RawFrame, Separator};
use crate::{Error, Result};

/// How clicks become ranking queries (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionQueries {
    /// Sampled items per query beside the clicked one. Defaults to 19.
    pub negatives: usize,
    /// Items of the session so far kept in the history bag (the most
    /// recent). Defaults to 10.
    pub max_history: usize,
    /// Seed of the negatives. Defaults to 42.
    pub seed: u64,
}

impl Default for SessionQueries {
    fn default() -> Self {
        SessionQueries {
            negatives: 19,
            max_history: 10,
            seed: 42,
        }
    }
}

/// One click: session, item, Unix seconds.
struct Click {
    session: Box<str>,
    item: Box<str>,
    time: f64,
}

fn read_clicks(path: &Path) -> Result<(Vec<Click>, RawFrame)> {
    let f = RawFrame::read_delimited(path, Separator::Tab)?;
    let (s, i, t) = (
        f.column("SessionId")?,
        f.column("ItemId")?,
        f.column("Time")?,
    );
    let mut out = Vec::with_capacity(f.len());
    for r in 0..f.len() {
        let time: f64 = t[r]
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| f.error(r, "Time", format!("{:?} is not Unix seconds", t[r])))?;
        if s[r].is_empty() || i[r].is_empty() {
            let field = if s[r].is_empty() {
                "SessionId"
            } else {
                "ItemId"
            };
            return Err(f.error(r, field, "empty"));
        }
        out.push(Click {
            session: s[r].clone(),
            item: i[r].clone(),
            time,
        });
    }
    Ok((out, f))
}

/// Clicks grouped by session (first-appearance order), each in time order.
fn sessions(clicks: &[Click]) -> Vec<Vec<&Click>> {
    let mut index = std::collections::HashMap::new();
    let mut out: Vec<Vec<&Click>> = Vec::new();
    for c in clicks {
        let k = *index.entry(&*c.session).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[k].push(c);
    }
    for s in &mut out {
        s.sort_by(|a, b| a.time.total_cmp(&b.time));
    }
    out
}

impl SessionQueries {
    /// The query rows of `sessions` as a frame (columns `query`, `grade`,
    /// `item`, `history`, `position`, `hour`).
    fn frame(
        &self,
        name: &Path,
        sessions: &[Vec<&Click>],
        items: &[Box<str>],
        rng: &mut rand::rngs::StdRng,
    ) -> Result<RawFrame> {
        let mut cols: [Vec<Box<str>>; 6] = Default::default();
        for s in sessions {
            for t in 1..s.len() {
                let query: Box<str> = format!("{}:{t}", s[0].session).into();
                let from = t.saturating_sub(self.max_history);
                let history: Box<str> = s[from..t]
                    .iter()
                    .map(|c| &*c.item)
                    .collect::<Vec<_>>()
                    .join("|")
                    .into();
                let position: Box<str> = t.min(20).to_string().into();
                let hour: Box<str> = ((s[t].time.rem_euclid(86_400.0) / 3600.0) as u32)
                    .to_string()
                    .into();
                let mut push = |item: &str, grade: &str| {
                    cols[0].push(query.clone());
                    cols[1].push(grade.into());
                    cols[2].push(item.into());
                    cols[3].push(history.clone());
                    cols[4].push(position.clone());
                    cols[5].push(hour.clone());
                };
                push(&s[t].item, "1");
                let mut drawn = 0;
                while drawn < self.negatives && items.len() > 1 {
                    let it = &items[rng.random_range(0..items.len())];
                    if **it != *s[t].item {
                        push(it, "0");
                        drawn += 1;
                    }
                }
            }
        }
        let names = ["query", "grade", "item", "history", "position", "hour"];
        RawFrame::from_columns(
            name,
            names
                .iter()
                .map(|n| n.to_string())
                .zip(cols)
                .collect::<Vec<_>>(),
        )
    }

    /// The spec of the query rows: item, position and hour as tokens, the
    /// history as a mean-pooled bag of up to `max_history` items; grade
    /// 0/1 (graded, positive at 1), queries by `query`.
    pub fn spec(&self) -> FeatureSpec {
        FeatureSpec {
            label: "grade".into(),
            group: Some("query".into()),
            graded: Some(1.0),
            columns: vec![
                ColumnSpec::new("item", ColumnRule::Categorical { min_count: 1 }),
                ColumnSpec::new(
                    "history",
                    ColumnRule::MultiHot {
                        separator: "|".into(),
                        max_len: self.max_history.max(1),
                        pooling: Pooling::Mean,
                        min_count: 1,
                    },
                ),
                ColumnSpec::new("position", ColumnRule::Categorical { min_count: 1 }),
                ColumnSpec::new("hour", ColumnRule::Categorical { min_count: 1 }),
            ],
            dim: 16,
        }
    }
}

impl SessionQueries {
    /// The query rows of the session-rec YOOCHOOSE sample in `dir`
    /// (`yoochoose-clicks-100k_train_full.txt`,
    /// `yoochoose-clicks-100k_test.txt`): train, validation (the training
    /// file's last day) and test frames, before encoding.
    pub fn yoochoose_frames(&self, dir: impl AsRef<Path>) -> Result<[RawFrame; 3]> {
        if self.negatives == 0 || self.max_history == 0 {
            return Err(Error::param(
                "sessions",
                "negatives and max_history must be at least 1",
            ));
        }
        let d = dir.as_ref();
        let train_path = d.join("yoochoose-clicks-100k_train_full.txt");
        let test_path = d.join("yoochoose-clicks-100k_test.txt");
        let (train_clicks, train_frame) = read_clicks(&train_path)?;
        let (test_clicks, _) = read_clicks(&test_path)?;
        if train_clicks.is_empty() {
            return Err(Error::BadFile {
                path: train_path,
                message: "no clicks".into(),
            });
        }
        let last = train_clicks
            .iter()
            .map(|c| c.time)
            .fold(f64::NEG_INFINITY, f64::max);
        let (train, val): (Vec<_>, Vec<_>) = sessions(&train_clicks)
            .into_iter()
            .partition(|s| s[0].time < last - 86_400.0);
        // Negatives come from the items of the training part.
        let mut items: Vec<Box<str>> = train.iter().flatten().map(|c| c.item.clone()).collect();
        items.sort_unstable();
        items.dedup();
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        Ok([
            self.frame(&train_frame.source, &train, &items, &mut rng)?,
            self.frame(
                &train_frame.source.with_extension("last-day"),
                &val,
                &items,
                &mut rng,
            )?,
            self.frame(&test_path, &sessions(&test_clicks), &items, &mut rng)?,
        ])
    }
}

impl FeatureTask {
    /// The session-rec YOOCHOOSE sample in `dir` as next-click ranking
    /// queries ([`SessionQueries`]; see the module docs for the target).
    pub fn yoochoose_sessions(dir: impl AsRef<Path>, q: SessionQueries) -> Result<FeatureTask> {
        let [train, val, test] = q.yoochoose_frames(dir)?;
        FeatureTask::new("YOOCHOOSE sessions", q.spec(), &train, Some(&val), &test)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_click_after_the_first_is_a_query_with_its_history() {
        let dir = std::env::temp_dir().join(format!("recsys-sessions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Two training sessions before the last day, one on it; a test one.
        let day = 86_400.0;
        let train = format!(
            "SessionId\tItemId\tTime\n1\t10\t{}\n1\t11\t{}\n1\t12\t{}\n2\t11\t{}\n2\t13\t{}\n3\t10\t{}\n3\t12\t{}\n",
            1.0,
            2.5,
            3.0,
            10.0,
            11.0,
            3.0 * day,
            3.0 * day + 5.0
        );
        std::fs::write(dir.join("yoochoose-clicks-100k_train_full.txt"), train).unwrap();
        std::fs::write(
            dir.join("yoochoose-clicks-100k_test.txt"),
            "SessionId\tItemId\tTime\n9\t12\t7200.5\n9\t10\t7300.25\n",
        )
        .unwrap();
        let q = SessionQueries {
            negatives: 2,
            max_history: 1,
            seed: 1,
        };
        let task = FeatureTask::yoochoose_sessions(&dir, q).unwrap();
        // Queries: session 1 steps 1, 2; session 2 step 1 → 3 × 3 rows.
        assert_eq!(task.train.len(), 9);
        assert_eq!(task.validation.as_ref().unwrap().len(), 3);
        assert_eq!(task.test.len(), 3);
        let g = task.train.grades.as_ref().unwrap();
        assert_eq!(g.iter().filter(|&&x| x == 1.0).count(), 3);
        let groups = task.train.groups.as_ref().unwrap();
        assert_eq!(groups, &[0, 0, 0, 1, 1, 1, 2, 2, 2]);
        let e = FeatureTask::yoochoose_sessions(&dir.join("missing"), q).unwrap_err();
        assert!(
            e.to_string()
                .contains("yoochoose-clicks-100k_train_full.txt"),
            "{e}"
        );
    }
}
