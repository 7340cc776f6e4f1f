//! The long fuzz run of every parser (the CI test runs a bounded one):
//! `RECSYS_FUZZ_SECONDS` of mutated inputs per parser (default: 600 s
//! shared by all parsers), seed `RECSYS_FUZZ_SEED` (default 1). Writes
//! `recsys/benches/results/fuzz.md`; fails on any panic or slow input.

#[path = "../../tests/fuzz/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

fn main() {
    let root = harness::repo_root();
    let targets = harness::targets(&root);
    let total: f64 = std::env::var("RECSYS_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600.0);
    let seed: u64 = std::env::var("RECSYS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let each = Duration::from_secs_f64(total / targets.len() as f64);
    let dir = std::env::temp_dir().join(format!("recsys-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp");
    let t = Instant::now();
    let outcomes = harness::run(&targets, usize::MAX, Some(each), seed, &dir);
    let inputs: usize = outcomes.iter().map(|o| o.inputs).sum();
    let panics: usize = outcomes.iter().map(|o| o.panics.len()).sum();
    let report = format!(
        "# Fuzzing every parser\n\n{:.0} s ({:.0} s per parser), seed {seed}: {inputs} inputs, {panics} panics.\n\n{}",
        t.elapsed().as_secs_f64(),
        each.as_secs_f64(),
        harness::table(&outcomes)
    );
    println!("{report}");
    let out = root.join("recsys/benches/results/fuzz.md");
    std::fs::write(&out, &report).expect("results");
    for o in &outcomes {
        for p in &o.panics {
            eprintln!("{}: {p}", o.name);
        }
    }
    assert_eq!(panics, 0, "panics");
    assert!(
        outcomes.iter().all(|o| o.slowest < harness::HANG),
        "slow inputs"
    );
}
