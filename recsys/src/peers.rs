//! The peer harness's published results (`../shared/peers`, an independent
//! Python harness: implicit, LightFM, PyTorch, scikit-learn, LightGBM), read
//! from its JSON files so that notebooks show the peers' numbers as data,
//! never typed in.
//!
//! ```no_run
//! use recsys::peers::{PeerRun, Peers};
//! if let Some(peers) = Peers::locate() {
//!     let als = peers.ranking_test(PeerRun::FullRanking, "implicit_als", "NDCG@10")?;
//!     assert!(als > 0.0);
//! }
//! # Ok::<(), recsys::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::display::{Html, html_table};
use crate::report::Report;
use crate::{Error, Result};

/// The folder the peers' harness lives in.
pub const PEERS_VAR: &str = "RECSYS_PEERS_DIR";

/// One of the peers' ranking runs on MovieLens-100K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerRun {
    /// Protocol B (per-user 80/20 by time, full ranking), 2 threads.
    FullRanking,
    /// Protocol B, the 1-thread reference pass.
    FullRanking1Thread,
    /// Protocol A (leave-one-out, 1 + 999 sampled candidates), 2 threads.
    Sampled,
    /// Protocol A, the 1-thread reference pass.
    Sampled1Thread,
}

impl PeerRun {
    /// The results file, relative to the peers' folder.
    pub fn file(self) -> &'static str {
        match self {
            PeerRun::FullRanking => "results/protocol_B_full_ranking.json",
            PeerRun::FullRanking1Thread => "results/protocol_B_full_ranking_threads1.json",
            PeerRun::Sampled => "results/protocol_A_loo_sampled.json",
            PeerRun::Sampled1Thread => "results/protocol_A_loo_sampled_threads1.json",
        }
    }
}

/// The peers' harness on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peers {
    pub dir: PathBuf,
}

impl Peers {
    /// `RECSYS_PEERS_DIR`, else `../../shared/peers` (seen from
    /// `notebooks/`), else `../shared/peers`: the first that holds the
    /// harness's `results/` folder. `None` — after one printed line saying
    /// so — when none does, so that a notebook skips its peer columns and
    /// still runs its own parts.
    pub fn locate() -> Option<Peers> {
        let found = Self::find(std::env::var_os(PEERS_VAR).map(PathBuf::from));
        if found.is_none() {
            println!(
                "the peers' results were not found (set {PEERS_VAR} to the folder of ../shared/peers): \
                 their columns are left out"
            );
        }
        found
    }

    fn find(var: Option<PathBuf>) -> Option<Peers> {
        let candidates: Vec<PathBuf> = match var {
            Some(p) => vec![p],
            None => vec!["../../shared/peers".into(), "../shared/peers".into()],
        };
        candidates
            .into_iter()
            .find(|d| d.join("results").is_dir())
            .map(|dir| Peers { dir })
    }

    /// A path inside the peers' folder (e.g. `splits/ml100k/loo_sampled`).
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.join(rel)
    }

    /// A results file of the harness, parsed.
    pub fn json(&self, rel: impl AsRef<Path>) -> Result<serde_json::Value> {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::InvalidData(format!("{}: {e}", path.display())))
    }

    /// The test value of `metric` (our name: `NDCG@10`, `HR@10`, `MRR`,
    /// `UserAUC`, …) that the peers report for `model` (their key:
    /// `implicit_als`, `implicit_bpr`, `lightfm_warp`, `popularity`,
    /// `implicit_cosine_itemknn`, `implicit_bm25_itemknn`,
    /// `userknn_cosine_numpy`) in `run`.
    pub fn ranking_test(&self, run: PeerRun, model: &str, metric: &str) -> Result<f64> {
        let json = self.json(run.file())?;
        let key = peer_metric(metric);
        json["models"][model]["test"][&key].as_f64().ok_or_else(|| {
            Error::InvalidData(format!(
                "{}: no field `models.{model}.test.{key}` (the peers' name of {metric})",
                self.path(run.file()).display()
            ))
        })
    }
}

/// Our metric name as the peers' files spell it (`NDCG@10` → `ndcg@10`,
/// `UserAUC` → `user_auc`).
fn peer_metric(metric: &str) -> String {
    match metric {
        "UserAUC" => "user_auc".into(),
        m => m.to_lowercase(),
    }
}

/// A test table with a peer column: one row per report, each of `metrics`
/// as `mean [95 % CI]` (the mean alone where no CI was computed), then the
/// row's peer — `(name, its value of peer_metric)` — or `–` (pure).
pub fn table(
    caption: &str,
    rows: &[(&Report, Option<(&str, f64)>)],
    metrics: &[&str],
    peer_metric: &str,
) -> Html {
    let mut head: Vec<String> = vec!["model".into()];
    head.extend(metrics.iter().map(|m| m.to_string()));
    head.push("peer".into());
    head.push(format!("peer {peer_metric}"));
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|(r, peer)| {
            let mut row = vec![r.model.clone()];
            row.extend(metrics.iter().map(|m| match r.metric(m) {
                // An aggregate without a CI carries its mean as both bounds.
                Some(v)
                    if v.ci_low.is_finite() && v.ci_high.is_finite() && v.ci_high > v.ci_low =>
                {
                    format!("{:.4} [{:.4}, {:.4}]", v.mean, v.ci_low, v.ci_high)
                }
                Some(v) => format!("{:.4}", v.mean),
                None => "–".into(),
            }));
            row.push(peer.map_or("–".into(), |p| p.0.to_string()));
            row.push(cell(peer.map(|p| p.1)));
            row
        })
        .collect();
    Html(html_table(Some(caption), &head, &body))
}

/// A table cell for an optional peer value: 4 decimals, or `–`.
pub fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.4}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_results_file_and_names_missing_fields() {
        let dir = std::env::temp_dir().join(format!("recsys-peers-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("results")).unwrap();
        std::fs::write(
            dir.join(PeerRun::FullRanking.file()),
            r#"{"models": {"implicit_als": {"test": {"ndcg@10": 0.1739, "user_auc": 0.9}}}}"#,
        )
        .unwrap();
        let peers = Peers::find(Some(dir.clone())).unwrap();
        let v = peers.ranking_test(PeerRun::FullRanking, "implicit_als", "NDCG@10");
        assert_eq!(v.unwrap(), 0.1739);
        assert_eq!(
            peers
                .ranking_test(PeerRun::FullRanking, "implicit_als", "UserAUC")
                .unwrap(),
            0.9
        );
        let e = peers
            .ranking_test(PeerRun::FullRanking, "implicit_bpr", "NDCG@10")
            .unwrap_err()
            .to_string();
        assert!(e.contains("models.implicit_bpr.test.ndcg@10"), "{e}");
        assert!(Peers::find(Some(dir.join("missing"))).is_none());
        assert_eq!(cell(None), "–");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
