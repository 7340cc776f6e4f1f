//! Every parser fuzzed, bounded for CI (the long run is the `fuzz` bench
//! binary: `./dev bench fuzz`, `RECSYS_FUZZ_SECONDS` per parser, 600 s in
//! all by default): mutated valid inputs, 0 panics and no slow input.

#[path = "../fuzz/harness.rs"]
mod harness;

#[test]
fn every_parser_survives_mutated_inputs() {
    let dir = crate::temp_dir("fuzz");
    let targets = harness::targets(&harness::repo_root());
    let per_target: usize = std::env::var("RECSYS_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let outcomes = harness::run(&targets, per_target, None, 42, &dir);
    println!("{}", harness::table(&outcomes));
    let total: usize = outcomes.iter().map(|o| o.inputs).sum();
    let panics: Vec<&String> = outcomes.iter().flat_map(|o| &o.panics).collect();
    println!(
        "fuzz: {total} inputs over {} parsers, {} panics",
        outcomes.len(),
        panics.len()
    );
    assert!(panics.is_empty(), "panics: {panics:#?}");
    for o in &outcomes {
        assert!(
            o.slowest < harness::HANG,
            "{}: an input took {:?}",
            o.name,
            o.slowest
        );
        assert!(o.accepted > 0, "{}: not even the seeds parsed", o.name);
    }
}
