//! Loading a large interactions file: wall time and peak memory against the
//! memory the loaded interactions keep.
//!
//! Generates (once) a tab-separated `user item rating timestamp` file of
//! `RECSYS_LOAD_ROWS` rows (default 5,000,000; string ids, 1,000,000 users,
//! 50,000 items with a long tail, seed 7) under the system's temp folder,
//! then loads it with `InteractionsFile` in fresh child processes (so each
//! peak is its own) and writes `recsys/benches/results/load.md`.
//!
//! `kept` is the resident memory the loaded `Interactions` holds (resident
//! size after loading, with freed memory returned by `malloc_trim`, minus
//! before); `peak` is the process's high-water mark
//! minus the same baseline. The goal is peak ≤ 2 × kept.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use rand::{RngExt, SeedableRng};
use recsys::prelude::*;

fn status_mib(key: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

unsafe extern "C" {
    /// glibc: returns freed heap memory to the system.
    fn malloc_trim(pad: usize) -> i32;
}

/// The child: loads `path` once and prints one JSON line.
fn child(path: &Path) {
    let base = status_mib("VmRSS:");
    let t = Instant::now();
    let x = InteractionsFile::new(path).load().expect("load");
    let secs = t.elapsed().as_secs_f64();
    // Freed memory the allocator still holds is not kept by the data.
    // SAFETY: glibc's malloc_trim takes a size and touches only the
    // allocator's own free lists; no Rust value is involved.
    unsafe { malloc_trim(0) };
    let kept = status_mib("VmRSS:") - base;
    let peak = status_mib("VmHWM:") - base;
    println!(
        "{}",
        serde_json::json!({
            "secs": secs, "kept_mib": kept, "peak_mib": peak, "rows": x.len(),
            "users": x.n_users(), "items": x.n_items(), "text": x.to_string(),
        })
    );
}

fn generate(path: &Path, rows: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let tmp = path.with_extension("tmp");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("create"));
    writeln!(w, "user\titem\trating\ttimestamp").unwrap();
    for r in 0..rows {
        let u: u32 = rng.random_range(0..1_000_000);
        // A long tail: the square of a uniform number favours small ids.
        let f: f64 = rng.random();
        let i = (f * f * 50_000.0) as u32;
        let rating: u8 = rng.random_range(1..=5);
        writeln!(
            w,
            "user_{u:07}\titem_{i:05}\t{rating}\t{}",
            1_600_000_000 + r as u64
        )
        .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(&tmp, path).expect("rename");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(p) = args.iter().position(|a| a == "child") {
        child(Path::new(&args[p + 1]));
        return;
    }
    let rows: usize = std::env::var("RECSYS_LOAD_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let path = PathBuf::from(std::env::temp_dir()).join(format!("recsys-load-{rows}.tsv"));
    if !path.is_file() {
        eprintln!("generating {}", path.display());
        generate(&path, rows);
    }
    let size_mib = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1048576.0);
    let exe = std::env::current_exe().expect("exe");
    let mut runs: Vec<serde_json::Value> = (0..3)
        .map(|_| {
            let out = Command::new(&exe)
                .arg("child")
                .arg(&path)
                .output()
                .expect("child");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str(text.lines().last().unwrap_or("{}")).expect("json")
        })
        .collect();
    runs.sort_by(|a, b| {
        a["secs"]
            .as_f64()
            .unwrap()
            .total_cmp(&b["secs"].as_f64().unwrap())
    });
    let m = &runs[1];
    let f = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
    let row = vec![
        format!("{rows}"),
        format!("{size_mib:.0} MiB"),
        format!("{:.2} s", f("secs")),
        format!("{:.0} MiB", f("kept_mib")),
        format!("{:.0} MiB", f("peak_mib")),
        format!("{:.2}", f("peak_mib") / f("kept_mib")),
    ];
    common::write_table(
        "load",
        "Loading a large interactions file (median of 3 processes)",
        &["rows", "file", "time", "kept", "peak", "peak / kept"],
        &[row],
        &[
            format!("Loaded: {}.", m["text"].as_str().unwrap_or("")),
            format!("Threads: {}; machine: `{}`.", rayon::current_num_threads(), std::env::consts::ARCH),
            "kept = resident memory after loading minus before; peak = high-water mark minus the same baseline.".into(),
        ],
    );
}
