//! Integration tests (one binary, modules by concern). Tests that need the
//! real datasets read them through `RECSYS_DATA_DIR` (and the peer harness
//! through `RECSYS_PEERS_DIR`); without them they are skipped with a note,
//! unless `RECSYS_REQUIRE_DATA=1` (CI), where a missing folder fails.

mod bad_input;
mod cli;
mod contract;
#[cfg(feature = "deep")]
mod ctr;
mod ctr_chain;
mod data;
#[cfg(feature = "deep")]
mod deep;
#[cfg(feature = "deep")]
mod dlrm;
mod features;
mod fuzz;
mod mf;
mod peers;
mod pipeline;
mod split;
#[cfg(feature = "deep")]
mod two_tower;

use std::path::PathBuf;

/// A folder named by `var`, or `None` (test skipped) when unset.
pub fn env_dir(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_dir() => Some(p),
        other => {
            if std::env::var("RECSYS_REQUIRE_DATA").as_deref() == Ok("1") {
                panic!("{var} must point at a folder (got {other:?})");
            }
            eprintln!("skipped: set {var} to run this test");
            None
        }
    }
}

/// `RECSYS_DATA_DIR`, or skip.
pub fn data_dir() -> Option<PathBuf> {
    env_dir("RECSYS_DATA_DIR")
}

/// The peers' ML-100K split folder, or skip.
pub fn peer_splits() -> Option<PathBuf> {
    env_dir("RECSYS_PEERS_DIR").map(|p| p.join("splits/ml100k"))
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("recsys-it-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
