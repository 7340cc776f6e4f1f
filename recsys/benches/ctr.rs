//! The CTR chain (LR, Poly2, FM, FFM) on the peer harness's CTR protocols
//! (`../shared/peers/ctr`: ML-100K CTR, Criteo and Avazu samples, the same
//! split files): each model's grid tuned on validation AUC only, the
//! selected setting scored once on test (AUC, LogLoss, 95 % bootstrap
//! CIs), and a paired test against the peer of the same family on the
//! peers' saved per-row test predictions (`results/<protocol>_threads1_test_preds`).
//! `./dev bench ctr`; results in benches/results/ctr.md.
//! `RECSYS_CTR_PROTOCOLS` (comma list of `ml100k_ctr,criteo,avazu`) and
//! `RECSYS_CTR_MODELS` (`lr,poly2,fm,ffm,lsplm,gbdt,gbdt_lr`) narrow the
//! run; a narrowed run writes `ctr_partial.md`, or `RECSYS_CTR_TABLE.md`.

mod common;

use std::path::Path;
use std::time::Instant;

use common::*;
use recsys::eval::{ScoredRows, compare_pointwise, evaluate_rows};
use recsys::models::ctr::Trial;
use recsys::prelude::*;

/// The peer of the same family whose saved predictions we pair with.
fn peer_of(kind: ShallowKind) -> &'static [&'static str] {
    match kind {
        ShallowKind::Lr => &["sk_lr", "lr"],
        ShallowKind::Poly2 | ShallowKind::Lsplm => &["sk_lr"],
        ShallowKind::Fm => &["fm"],
        ShallowKind::Ffm => &["ffm"],
        _ => &[],
    }
}

fn task_of(dir: &Path, protocol: &str) -> FeatureTask {
    let s = dir.join("splits/ctr").join(protocol);
    match protocol {
        "ml100k_ctr" => FeatureTask::movielens_ctr_dir(s),
        "criteo" => FeatureTask::criteo_dir(s),
        _ => FeatureTask::avazu_dir(s),
    }
    .unwrap_or_else(|e| panic!("{protocol}: {e}"))
}

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The peers' speed protocol's Criteo processing: min_count 10 (BARS').
fn speed_spec() -> FeatureSpec {
    let mut spec = FeatureSpec::criteo();
    for c in &mut spec.columns {
        c.rule = match c.rule {
            ColumnRule::LogBucket { .. } => ColumnRule::LogBucket { min_count: 10 },
            _ => ColumnRule::Categorical { min_count: 10 },
        };
    }
    spec
}

/// One epoch of LR-FTRL, FM and FFM on the first 1M rows of the peers'
/// synthetic Criteo file (`RECSYS_CTR_SPEED_FILE`, written by
/// `gen_synth_criteo.py --rows 1100000`), the last 100,000 rows as
/// holdout, min_count 10 (the peers' speed protocol), beside the peers'
/// recorded speed run (`ctr/results/speed_threads1.json`).
fn speed(file: &Path, dir: &Path) {
    let t = Instant::now();
    let frame = RawFrame::read_criteo(file).unwrap_or_else(|e| panic!("{e}"));
    let read_s = t.elapsed().as_secs_f64();
    let n = frame.len();
    let holdout = 100_000.min(n / 10);
    let train: Vec<usize> = (0..n - holdout).collect();
    let test: Vec<usize> = (n - holdout..n).collect();
    let spec = speed_spec();
    let t = Instant::now();
    let task = FeatureTask::new(
        "synthetic Criteo",
        spec,
        &frame.select(&train),
        None,
        &frame.select(&test),
    )
    .unwrap();
    let prep_s = t.elapsed().as_secs_f64();
    drop(frame);
    let peers: serde_json::Value =
        std::fs::read_to_string(dir.join("ctr/results/speed_threads1.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
    let vocab: usize = task.schema().fields.iter().map(|f| f.vocab).sum();
    let mut rows = Vec::new();
    let settings: Vec<(&str, ShallowCtr, &str)> = vec![
        (
            "lr",
            ShallowCtr::lr().threads(1),
            "FTRL, per sample, 1 thread",
        ),
        (
            "fm",
            ShallowCtr::fm().threads(1),
            "Adagrad, k 16, per sample, 1 thread",
        ),
        (
            "fm",
            ShallowCtr::fm()
                .batch_size(1024)
                .optimizer(CtrOptimizer::Adagrad { learning_rate: 0.2 })
                .threads(2),
            "Adagrad 0.2, k 16, batch 1024, 2 threads",
        ),
        (
            "ffm",
            ShallowCtr::ffm().threads(1),
            "Adagrad, k 4, per sample, 1 thread",
        ),
    ];
    // `RECSYS_CTR_SPEED_DLRM`: DLRM against the peers' PyTorch DLRM
    // instead (its own table, ctr_speed_dlrm.md).
    if std::env::var_os("RECSYS_CTR_SPEED_DLRM").is_some() {
        drop(task);
        return speed_dlrm(file, dir, &peers);
    }
    // `RECSYS_CTR_SPEED_GBDT`: the boosted trees against LightGBM instead
    // (their own table, ctr_speed_gbdt.md).
    let gbdt = std::env::var_os("RECSYS_CTR_SPEED_GBDT").is_some();
    let settings = if gbdt { Vec::new() } else { settings };
    for (name, p, how) in settings {
        let m = p.epochs(1).early_stopping(None).fit(&task).unwrap();
        let epoch = m.learning_curve().epochs[0].seconds;
        let probs = m.score_rows(&task.test).unwrap();
        let auc =
            recsys::metrics::pointwise::auc(&probs, &task.test.positives()).unwrap_or(f64::NAN);
        let peer = &peers["models"][name];
        rows.push(vec![
            name.to_string(),
            how.to_string(),
            format!("{:.2} s", epoch),
            format!("{:.0}k", train.len() as f64 / epoch / 1e3),
            format!("{auc:.4}"),
            m.n_parameters().to_string(),
            peak_rss_mib().map_or("–".into(), |r| format!("{r:.0} MiB")),
            peer["epoch_s"].as_f64().map_or(
                if name == "ffm" {
                    "did not finish in 5 min (peers' README)".into()
                } else {
                    "not in the peers' speed run".to_string()
                },
                |s| {
                    format!(
                        "{s:.2} s, AUC {:.4}",
                        peer["holdout_auc"].as_f64().unwrap_or(f64::NAN)
                    )
                },
            ),
            peer["epoch_s"]
                .as_f64()
                .map_or("–".into(), |s| format!("{:.1}×", s / epoch)),
        ]);
        eprintln!("{:?}", rows.last().unwrap());
    }
    if gbdt {
        // The peers' LightGBM run: 100 trees × 31 leaves, learning rate
        // 0.1, min_data_in_leaf 20, max_bin 255, 1 thread, no early stop.
        let m = Gbdt::trees()
            .learning_rate(0.1)
            .num_leaves(31)
            .min_data_in_leaf(20)
            .max_trees(100)
            .threads(1)
            .fit(&task)
            .unwrap();
        let secs = m.tree_seconds();
        let probs = m.score_rows(&task.test).unwrap();
        let auc =
            recsys::metrics::pointwise::auc(&probs, &task.test.positives()).unwrap_or(f64::NAN);
        let peer = &peers["models"]["lgbm"];
        let theirs = peer["train_100_trees_s"].as_f64();
        rows.push(vec![
            "gbdt".into(),
            format!(
                "lr 0.1, {} trees, 31 leaves, min_data_in_leaf 20, 1 thread",
                m.n_trees()
            ),
            format!("{secs:.2} s"),
            format!("{:.0}k", train.len() as f64 / secs / 1e3),
            format!("{auc:.4}"),
            format!("{} leaves", m.n_leaves()),
            peak_rss_mib().map_or("–".into(), |r| format!("{r:.0} MiB")),
            theirs.map_or("–".into(), |s| {
                format!(
                    "LightGBM 100 trees × 31 leaves: {s:.2} s (+ {:.2} s Dataset), AUC {:.4}",
                    peer["dataset_construct_s"].as_f64().unwrap_or(f64::NAN),
                    peer["holdout_auc"].as_f64().unwrap_or(f64::NAN)
                )
            }),
            theirs.map_or("–".into(), |s| {
                format!("{:.2}× (LightGBM / ours)", s / secs)
            }),
        ]);
        eprintln!("{:?}", rows.last().unwrap());
    }
    write_table(
        if gbdt { "ctr_speed_gbdt" } else { "ctr_speed" },
        &if gbdt {
            format!("100 boosted trees on {} synthetic Criteo rows (holdout {holdout}; vocabulary after min_count 10: {vocab})", train.len())
        } else {
            format!("One training epoch on {} synthetic Criteo rows (holdout {holdout}; vocabulary after min_count 10: {vocab})", train.len())
        },
        &if gbdt {
            ["model", "setting", "training (trees)", "rows/s", "holdout AUC", "size", "peak RSS (process)", "peers' LightGBM (1 thread, recorded)", "speed-up"]
        } else {
            ["model", "setting", "epoch", "rows/s", "holdout AUC", "parameters", "peak RSS (process)", "peers' PyTorch (1 thread, recorded)", "speed-up"]
        },
        &rows,
        &[
            format!("read {read_s:.1} s, encoders fitted and rows encoded {prep_s:.1} s (the peers: read {:.1} s, preprocess {:.1} s).", peers["read_s"].as_f64().unwrap_or(f64::NAN), peers["preprocess_s"].as_f64().unwrap_or(f64::NAN)),
            "The peers' numbers are from their recorded run (load average 5–10 on this 2-core machine, see their README), not this run: torch and LightGBM are not installed here.".into(),
        ],
    );
}

/// One DLRM epoch on the speed protocol's rows (the peers' DLRM: I1..I13
/// as `ln(1 + x)` min–max through the bottom MLP, C1..C26 with min_count
/// 10 as 16-dim bags; bottom 64-64-64 → 16, top 64-64-64 → 1; Adam 1e-3,
/// batch 1,024), with 1 and with 2 threads, and the scoring throughput of
/// the holdout rows.
fn speed_dlrm(file: &Path, _dir: &Path, peers: &serde_json::Value) {
    let t = Instant::now();
    let frame = RawFrame::read_criteo(file).unwrap_or_else(|e| panic!("{e}"));
    let read_s = t.elapsed().as_secs_f64();
    let n = frame.len();
    let holdout = 100_000.min(n / 10);
    let mut spec = FeatureSpec::criteo_dense();
    for c in &mut spec.columns {
        if let ColumnRule::Categorical { .. } = c.rule {
            c.rule = ColumnRule::Categorical { min_count: 10 };
        }
    }
    let t = Instant::now();
    let task = FeatureTask::new(
        "synthetic Criteo",
        spec,
        &frame.select(&(0..n - holdout).collect::<Vec<_>>()),
        None,
        &frame.select(&(n - holdout..n).collect::<Vec<_>>()),
    )
    .unwrap();
    let prep_s = t.elapsed().as_secs_f64();
    drop(frame);
    let peer = &peers["models"]["dlrm"];
    // The PyTorch DLRM on the same encoded rows, in this run.
    let torch_dir = std::env::temp_dir().join(format!("recsys-dlrm-speed-{}", std::process::id()));
    let torch_runs: Vec<Option<serde_json::Value>> = match dump_rows(&task, &torch_dir) {
        Ok(()) => [1usize, 2]
            .iter()
            .map(|&t| run_torch_dlrm(&torch_dir, t))
            .collect(),
        Err(e) => {
            eprintln!("could not write the rows for PyTorch: {e}");
            vec![None, None]
        }
    };
    let _ = std::fs::remove_dir_all(&torch_dir);
    let mut rows = Vec::new();
    for (threads, torch) in [1usize, 2].into_iter().zip(&torch_runs) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (m, score_s) = pool.install(|| {
            let m = Dlrm::params()
                .batch_size(1024)
                .max_epochs(1)
                .patience(0)
                .verbose(false)
                .compute(Compute::Cpu)
                .fit_features(&task)
                .unwrap();
            let t = Instant::now();
            let _ = m.predict_rows(&task.test).unwrap();
            (m, t.elapsed().as_secs_f64())
        });
        let epoch = m.epochs[0].train_seconds;
        let probs = m.predict_rows(&task.test).unwrap();
        let auc =
            recsys::metrics::pointwise::auc(&probs, &task.test.positives()).unwrap_or(f64::NAN);
        let field = |k: &str| torch.as_ref().and_then(|t| t[k].as_f64());
        rows.push(vec![
            threads.to_string(),
            format!(
                "{epoch:.2} s ({:.0}k rows/s)",
                task.train.len() as f64 / epoch / 1e3
            ),
            field("epoch_s").map_or("–".into(), |s| {
                format!(
                    "{s:.2} s ({:.0}k rows/s)",
                    task.train.len() as f64 / s / 1e3
                )
            }),
            field("epoch_s").map_or("–".into(), |s| format!("**{:.2}×**", s / epoch)),
            format!("{:.0}k rows/s", holdout as f64 / score_s / 1e3),
            field("score_rows_per_s").map_or("–".into(), |r| format!("{:.0}k rows/s", r / 1e3)),
            format!("{auc:.4}"),
            field("holdout_auc").map_or("–".into(), |a| format!("{a:.4}")),
            format!(
                "{} / {}",
                m.n_params,
                torch
                    .as_ref()
                    .and_then(|t| t["params"].as_u64())
                    .map_or("–".into(), |p| p.to_string())
            ),
            peak_rss_mib().map_or("–".into(), |r| format!("{r:.0} MiB")),
        ]);
        eprintln!("{:?}", rows.last().unwrap());
    }
    let recorded = peer["epoch_s"].as_f64().map_or("–".into(), |s| {
        format!(
            "{s:.2} s, holdout AUC {:.4}, {} parameters",
            peer["holdout_auc"].as_f64().unwrap_or(f64::NAN),
            peer["params"]
                .as_u64()
                .map_or("?".into(), |p| p.to_string())
        )
    });
    let torch_version = torch_runs
        .iter()
        .flatten()
        .find_map(|t| t["torch"].as_str().map(String::from))
        .unwrap_or_else(|| "not run (no torch in the peers' Python)".into());
    // The shared dev profile (`cargo test --bench`: debug assertions and
    // overflow checks on, in burn too) and the release profile (`cargo
    // bench`, as PyTorch's own build) each keep a table.
    let (table, profile) = if cfg!(debug_assertions) {
        (
            "ctr_speed_dlrm",
            "the shared dev profile, debug assertions on",
        )
    } else {
        ("ctr_speed_dlrm_release", "the release profile")
    };
    write_table(
        table,
        &format!(
            "One DLRM training epoch on {} synthetic Criteo rows (holdout {holdout}), ours ({profile}) and PyTorch in the same run",
            task.train.len()
        ),
        &[
            "threads",
            "epoch, ours",
            "epoch, PyTorch",
            "speed (PyTorch epoch / ours)",
            "scoring, ours",
            "scoring, PyTorch",
            "holdout AUC, ours",
            "holdout AUC, PyTorch",
            "parameters, ours / PyTorch",
            "peak RSS (process)",
        ],
        &rows,
        &[
            format!(
                "read {read_s:.1} s, encoders fitted and rows encoded {prep_s:.1} s (not timed in either epoch)."
            ),
            format!(
                "PyTorch {torch_version}: `recsys/benches/peers/dlrm_torch.py`, a DLRM written to the peer harness's published recipe (their `torch_models.py` is not in `../shared/peers/ctr`), trained on the rows this bench encoded (same ids, same dense values), in its own process with `torch.set_num_threads` and OMP/MKL threads set; batch 1,024, Adam 1e-3, one shuffled pass, each run once."
            ),
            format!(
                "The peers' own recorded run (1 thread, their README: load average 5–10 on this 2-core machine): {recorded}."
            ),
        ],
    );
}

/// Writes the encoded rows of `task` (train, then its test part as the
/// holdout) for `dlrm_torch.py`: `meta.json` (categorical vocabularies,
/// dense width) and little-endian `u32` / `f32` arrays.
fn dump_rows(task: &FeatureTask, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let schema = task.schema();
    let vocab: Vec<usize> = schema
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::Sparse)
        .map(|f| f.vocab)
        .collect();
    let n_dense = schema
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::Dense)
        .count();
    let meta = serde_json::json!({ "vocab": vocab, "n_dense": n_dense });
    std::fs::write(dir.join("meta.json"), meta.to_string())?;
    let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    for (name, rows) in [("train", &task.train), ("test", &task.test)] {
        let b = &rows.rows;
        assert!(
            b.sequences.is_empty(),
            "the synthetic Criteo rows have no sequences"
        );
        assert_eq!(b.sparse.len(), b.len * vocab.len());
        assert_eq!(b.dense.len(), b.len * n_dense);
        std::fs::write(dir.join(format!("{name}_sparse.u32")), u32s(&b.sparse))?;
        std::fs::write(dir.join(format!("{name}_dense.f32")), f32s(&b.dense))?;
        std::fs::write(dir.join(format!("{name}_labels.f32")), f32s(&b.labels))?;
    }
    Ok(())
}

/// One epoch of `dlrm_torch.py` on the rows in `dir` with `threads`
/// threads; `None` without torch in the peers' Python.
fn run_torch_dlrm(dir: &Path, threads: usize) -> Option<serde_json::Value> {
    let Some(py) = peers_python_with_torch() else {
        eprintln!("no Python with torch for the peers: the table has no PyTorch columns");
        return None;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/dlrm_torch.py");
    eprintln!("running the PyTorch DLRM ({threads} thread(s))");
    let out = std::process::Command::new(&py)
        .arg(script)
        .arg(dir)
        .arg(threads.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("the PyTorch DLRM failed");
        return None;
    }
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last()?).ok()?;
    eprintln!("{v}");
    Some(v)
}

/// FM streamed from disk (`ShallowCtr::fit_streamed`): the first
/// `RECSYS_CTR_STREAM_ROWS` rows (default 10,000,000) of the synthetic
/// Criteo file `RECSYS_CTR_STREAM_FILE` (written by `gen_synth_criteo.py
/// --rows 10100000`) in chunks of 100,000, the next 100,000 rows as
/// holdout; encoders fitted in one streamed pass (min_count 10, the
/// speed protocol's). Reports time, rows per second and the process's peak
/// RSS, which stays bounded by one chunk, the vocabularies and the model.
fn stream(file: &Path) {
    let rows: usize = std::env::var("RECSYS_CTR_STREAM_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let train = CriteoStream::new(file, 0, rows);
    let spec = speed_spec();
    let t = Instant::now();
    let enc = FeatureEncoders::fit_streamed(spec, &train).unwrap();
    let fit_enc_s = t.elapsed().as_secs_f64();
    let rss_enc = peak_rss_mib();
    let mut hold = None;
    CriteoStream::new(file, rows, 100_000)
        .chunk_rows(100_000)
        .for_each_chunk(&mut |f| {
            hold = Some(enc.encode(&f)?);
            Ok(())
        })
        .unwrap();
    let hold = hold.expect("the file has holdout rows after the training rows");
    let t = Instant::now();
    let m = ShallowCtr::fm()
        .epochs(1)
        .early_stopping(None)
        .threads(1)
        .fit_streamed(&enc, &train, Some(&hold))
        .unwrap();
    let epoch_s = t.elapsed().as_secs_f64();
    let auc = m.learning_curve().epochs[0].val_auc.unwrap_or(f64::NAN);
    let vocab: usize = enc.schema.fields.iter().map(|f| f.vocab).sum();
    let row = vec![
        format!("{rows}"),
        format!("{fit_enc_s:.1} s"),
        format!("{epoch_s:.1} s"),
        format!("{:.0}k", rows as f64 / epoch_s / 1e3),
        format!("{auc:.4}"),
        format!("{vocab}"),
        m.n_parameters().to_string(),
        rss_enc.map_or("–".into(), |r| format!("{r:.0} MiB")),
        peak_rss_mib().map_or("–".into(), |r| format!("{r:.0} MiB")),
    ];
    eprintln!("{row:?}");
    write_table(
        "ctr_stream",
        "FM streamed from disk: one epoch on synthetic Criteo rows (Adagrad, k 16, per sample, 1 thread)",
        &[
            "training rows",
            "encoders (one streamed pass)",
            "FM epoch (streamed: read + encode + train)",
            "rows/s",
            "holdout AUC (next 100,000 rows)",
            "vocabulary (min_count 10)",
            "parameters",
            "peak RSS after the encoders",
            "peak RSS (process)",
        ],
        &[row],
        &[format!(
            "{}: chunks of 100,000 rows; the file is read twice (encoders, then the epoch) and never held whole.",
            file.display()
        )],
    );
}

fn main() {
    if let Some(file) = std::env::var_os("RECSYS_CTR_STREAM_FILE") {
        stream(Path::new(&file));
        return;
    }
    if let Some(file) = std::env::var_os("RECSYS_CTR_SPEED_FILE") {
        let dir = peers_dir().expect("RECSYS_PEERS_DIR");
        speed(Path::new(&file), &dir);
        return;
    }
    let Some(dir) = peers_dir() else {
        eprintln!("peer split files not found: set RECSYS_PEERS_DIR");
        return;
    };
    let protocols = list("RECSYS_CTR_PROTOCOLS", "ml100k_ctr,criteo,avazu");
    let models = list("RECSYS_CTR_MODELS", "lr,poly2,fm,ffm,lsplm");
    let mut rows = Vec::new();
    let mut notes = vec![format!(
        "{} rayon threads available; every fit here runs with 1 thread (per-sample updates). Selection on validation AUC only; test scored once.",
        rayon::current_num_threads()
    )];
    for protocol in &protocols {
        let task = task_of(&dir, protocol);
        let results = dir.join(format!("ctr/results/{protocol}_threads1.json"));
        let peers: serde_json::Value = std::fs::read_to_string(&results)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let labels = task.test.positives();
        for name in &models {
            let t = Instant::now();
            // (model, trials, best, epochs "kept/run", epoch seconds, size, peers)
            let (model, trials, best, epochs, epoch_s, size, peers_of): (
                Box<dyn RowScorer>,
                Vec<Trial>,
                usize,
                String,
                String,
                String,
                &[&str],
            ) = match name.as_str() {
                "gbdt" | "gbdt_lr" => {
                    let head = if name == "gbdt" {
                        GbdtHead::Trees
                    } else {
                        GbdtHead::Lr
                    };
                    let grid: Vec<Gbdt> =
                        Gbdt::grid(head).into_iter().map(|p| p.threads(1)).collect();
                    let tuned = Gbdt::tune(&grid, &task).unwrap();
                    let m = tuned.model;
                    let epochs = m.head_lr().map_or("–".into(), |l| {
                        let c = l.learning_curve();
                        format!("{}/{}", c.kept_epoch, c.epochs.len())
                    });
                    let size = format!("{} trees, {} leaves", m.n_trees(), m.n_leaves());
                    let trees_s = format!("trees {}", ms(m.tree_seconds()));
                    let peers: &[&str] = if name == "gbdt" {
                        &["lgbm"]
                    } else {
                        &["gbdt_lr"]
                    };
                    (
                        Box::new(m),
                        tuned.trials,
                        tuned.best,
                        epochs,
                        trees_s,
                        size,
                        peers,
                    )
                }
                _ => {
                    let kind = ShallowKind::from_name(name)
                        .expect("RECSYS_CTR_MODELS: lr, poly2, fm, ffm, lsplm, gbdt, gbdt_lr");
                    let grid: Vec<ShallowCtr> = ShallowCtr::grid(kind, 40)
                        .into_iter()
                        .map(|p| p.threads(1))
                        .collect();
                    let tuned = recsys::models::ctr::tune(&grid, &task).unwrap();
                    let m = tuned.model;
                    let c = m.learning_curve();
                    let epoch_s =
                        c.epochs.iter().map(|e| e.seconds).sum::<f64>() / c.epochs.len() as f64;
                    let epochs = format!("{}/{}", c.kept_epoch, c.epochs.len());
                    let size = m.n_parameters().to_string();
                    (
                        Box::new(m),
                        tuned.trials,
                        tuned.best,
                        epochs,
                        ms(epoch_s),
                        size,
                        peer_of(kind),
                    )
                }
            };
            for tr in &trials {
                eprintln!(
                    "{protocol} {name} {}: val AUC {:.4} (epoch {}/{})",
                    tr.setting, tr.val_auc, tr.kept_epoch, tr.epochs_run
                );
            }
            let grid_s = t.elapsed().as_secs_f64();
            let (val, setting) = (trials[best].val_auc, trials[best].setting.clone());
            let model = model.as_ref();
            let report = evaluate_rows(model, &task.test, &task.name).unwrap();
            let scores = model.score_rows(&task.test).unwrap();
            let ci = |m: &str| {
                report.metric(m).map_or("–".into(), |v| {
                    format!("{:.4} [{:.4}, {:.4}]", v.mean, v.ci_low, v.ci_high)
                })
            };
            let mut paired = Vec::new();
            for peer in peers_of {
                let file = dir.join(format!(
                    "ctr/results/{protocol}_threads1_test_preds/{peer}.txt"
                ));
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                let theirs: Vec<f32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
                if theirs.len() != scores.len() {
                    notes.push(format!(
                        "{}: {} rows, our test has {}",
                        file.display(),
                        theirs.len(),
                        scores.len()
                    ));
                    continue;
                }
                let rows_of = |s| ScoredRows {
                    scores: s,
                    labels: &labels,
                    groups: None,
                    probabilities: true,
                };
                let cmp = compare_pointwise(rows_of(&theirs), rows_of(&scores), 42).unwrap();
                let peer_auc = peers["models"][peer]["test"]["auc"]
                    .as_f64()
                    .unwrap_or(f64::NAN);
                let peer_ll = peers["models"][peer]["test"]["logloss"]
                    .as_f64()
                    .unwrap_or(f64::NAN);
                paired.push(format!(
                    "{peer} {peer_auc:.4} / {peer_ll:.4}: ΔAUC {:+.4} (p {:.3}), ΔLogLoss {:+.4} (p {:.3})",
                    cmp.auc.diff,
                    cmp.auc.p_value,
                    cmp.log_loss.as_ref().map_or(f64::NAN, |l| l.diff),
                    cmp.log_loss.as_ref().map_or(f64::NAN, |l| l.p_value),
                ));
            }
            rows.push(vec![
                protocol.clone(),
                name.clone(),
                setting,
                format!("{val:.4}"),
                ci("AUC"),
                ci("LogLoss"),
                epochs,
                epoch_s,
                format!("{:.1} s", grid_s),
                size,
                paired.join("; "),
            ]);
            eprintln!("{:?}", rows.last().unwrap());
        }
    }
    // A narrowed run does not overwrite the full table.
    let partial = std::env::var_os("RECSYS_CTR_PROTOCOLS").is_some()
        || std::env::var_os("RECSYS_CTR_MODELS").is_some();
    write_table(
        &if partial {
            std::env::var("RECSYS_CTR_TABLE").unwrap_or_else(|_| "ctr_partial".into())
        } else {
            "ctr".into()
        },
        "CTR chain on the peers' CTR protocols (same split files)",
        &[
            "protocol",
            "model",
            "selected on val",
            "val AUC",
            "test AUC [95% CI]",
            "test LogLoss [95% CI]",
            "kept / run epochs",
            "epoch (1 thread)",
            "grid total",
            "parameters",
            "peer of the family: test AUC / LogLoss, paired difference ours − theirs",
        ],
        &rows,
        &notes,
    );
}
