//! The parsers' fuzz harness, shared by the bounded CI test
//! (`tests/it/fuzz.rs`) and the long run (`recsys/benches/fuzz.rs`): every
//! parser of the workbench is fed valid inputs mutated at random (bytes
//! flipped, inserted, deleted, duplicated; numbers replaced by extremes;
//! truncation; two inputs spliced; invalid UTF-8) and must return `Ok` or
//! an error, never panic, and never take long. On stable Rust, seeded.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use recsys::prelude::*;

type FuzzRng = rand::rngs::StdRng;

/// One parser under fuzzing: its valid seed inputs, the file name the
/// input is written to inside a fresh folder (the folder may hold other
/// valid files, `extra`), and the call.
pub struct Target {
    pub name: &'static str,
    pub file: &'static str,
    pub seeds: Vec<Vec<u8>>,
    /// Valid files written beside the mutated one (a model folder).
    pub extra: Vec<(String, Vec<u8>)>,
    /// Parses (and lightly uses) the input; true when it was accepted.
    pub call: Box<dyn Fn(&Path) -> bool>,
}

/// What a target's run found.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub inputs: usize,
    /// Inputs parsed without error (the rest were rejected with one).
    pub accepted: usize,
    pub panics: Vec<String>,
    pub slowest: Duration,
}

/// Inputs slower than this count as hangs.
pub const HANG: Duration = Duration::from_secs(5);

/// Mutates `seed` (and sometimes splices `other` in) into a new input of
/// at most 16 KiB.
pub fn mutate(rng: &mut FuzzRng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    const SPECIAL: &[&[u8]] = &[
        b"\t",
        b",",
        b"\n",
        b"\r\n",
        b"\"",
        b"|",
        b"::",
        b"-1",
        b"0",
        b"NaN",
        b"inf",
        b"-inf",
        b"1e309",
        b"18446744073709551616",
        b"4294967296",
        b"",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"\x00",
        b"{",
        b"}",
        b"[",
        b"]",
        b"=",
        b"#",
        b"true",
        b"null",
    ];
    let mut v = seed.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let n = v.len();
        match rng.random_range(0..8) {
            0 if n > 0 => {
                let i = rng.random_range(0..n);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let i = rng.random_range(0..=n);
                let s = *SPECIAL.choose(rng).expect("non-empty");
                v.splice(i..i, s.iter().copied());
            }
            2 if n > 0 => {
                let a = rng.random_range(0..n);
                let b = (a + rng.random_range(1..=32)).min(n);
                v.drain(a..b);
            }
            3 if n > 0 => {
                let a = rng.random_range(0..n);
                let b = (a + rng.random_range(1..=64)).min(n);
                let copy = v[a..b].to_vec();
                let at = rng.random_range(0..=v.len());
                v.splice(at..at, copy);
            }
            4 => {
                // A digit run replaced by an extreme number.
                if let Some(i) = (0..n).find(|&i| v[i].is_ascii_digit() && rng.random_bool(0.05)) {
                    let j = (i..n).find(|&j| !v[j].is_ascii_digit()).unwrap_or(n);
                    let s = *[&b"99999999999999999999"[..], b"-0", b"1e-45", b"nan", b"-7"]
                        .choose(rng)
                        .expect("non-empty");
                    v.splice(i..j, s.iter().copied());
                }
            }
            5 if n > 0 => v.truncate(rng.random_range(0..n)),
            6 if !other.is_empty() => {
                let cut = rng.random_range(0..=n);
                let from = rng.random_range(0..other.len());
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            _ => {
                let i = rng.random_range(0..=n);
                let k = rng.random_range(1..=8);
                let bytes: Vec<u8> = (0..k).map(|_| rng.random()).collect();
                v.splice(i..i, bytes);
            }
        }
    }
    v.truncate(16 * 1024);
    v
}

/// Runs every target on `per_target` mutated inputs (or until `budget` of
/// wall time per target is spent), from `seed`.
pub fn run(
    targets: &[Target],
    per_target: usize,
    budget: Option<Duration>,
    seed: u64,
    dir: &Path,
) -> Vec<Outcome> {
    targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let mut rng = FuzzRng::seed_from_u64(seed ^ (t as u64) << 32);
            let mut out = Outcome {
                name: target.name,
                ..Outcome::default()
            };
            let folder = dir.join(format!("fuzz-{t}"));
            let started = Instant::now();
            for n in 0.. {
                if budget.map_or(n >= per_target, |b| started.elapsed() >= b) {
                    break;
                }
                let seed_input = target.seeds.choose(&mut rng).expect("seeds");
                let other = target.seeds.choose(&mut rng).expect("seeds");
                // A few unmutated seeds: they must be accepted.
                let input = if n < target.seeds.len() {
                    target.seeds[n].clone()
                } else {
                    mutate(&mut rng, seed_input, other)
                };
                let _ = std::fs::remove_dir_all(&folder);
                std::fs::create_dir_all(&folder).expect("temp folder");
                let write = |name: &Path, bytes: &[u8]| {
                    if let Some(parent) = name.parent() {
                        std::fs::create_dir_all(parent).expect("temp folder");
                    }
                    std::fs::write(name, bytes).expect("write");
                };
                for (name, bytes) in &target.extra {
                    write(&folder.join(name), bytes);
                }
                let path = folder.join(target.file);
                write(&path, &input);
                let t0 = Instant::now();
                let result = catch_unwind(AssertUnwindSafe(|| (target.call)(&path)));
                let took = t0.elapsed();
                out.slowest = out.slowest.max(took);
                out.inputs += 1;
                match result {
                    Ok(accepted) => out.accepted += usize::from(accepted),
                    Err(p) => {
                        let msg = p
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "(panic)".into());
                        let kept = folder.with_extension(format!("panic-{}", out.panics.len()));
                        let _ = std::fs::write(&kept, &input);
                        out.panics
                            .push(format!("{msg} (input kept at {})", kept.display()));
                    }
                }
            }
            let _ = std::fs::remove_dir_all(&folder);
            out
        })
        .collect()
}

/// The outcomes as a Markdown table.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "| parser | inputs | accepted | rejected with an error | panics | slowest input |\n|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} ms |\n",
            o.name,
            o.inputs,
            o.accepted,
            o.inputs - o.accepted - o.panics.len(),
            o.panics.len(),
            o.slowest.as_secs_f64() * 1e3
        ));
    }
    s
}

fn read(root: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Whether the parse succeeded; panics are what the harness catches.
fn quietly<T>(r: recsys::Result<T>) -> bool {
    r.is_ok()
}

/// Every parser of the workbench, with seeds built here (and the repo's
/// configs); `root` is the repository root.
pub fn targets(root: &Path) -> Vec<Target> {
    let mut t = Vec::new();
    let interactions: Vec<Vec<u8>> = vec![
        b"user\titem\trating\ttimestamp\nu1\ti1\t4\t100\nu1\ti2\t3.5\t101\nu2\ti1\t5\t99\n"
            .to_vec(),
        b"1 2 3\n1 3 4\n2 2 5\n".to_vec(),
        b"user_id,item_id,score\n\"a\",\"b\",1\n\"a\",\"c\",0.5\n".to_vec(),
        b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n".to_vec(),
    ];
    t.push(Target {
        name: "interactions (delimited)",
        file: "x.tsv",
        seeds: interactions.clone(),
        extra: vec![],
        call: Box::new(|p| {
            let Ok(x) = InteractionsFile::new(p).load() else {
                return false;
            };
            let _ = x.summary();
            true
        }),
    });
    t.push(Target {
        name: "user / item features",
        file: "f.tsv",
        seeds: vec![
            b"id|title|genres\n1|Toy Story (1995)|Animation|Comedy\n2|Jumanji|Adventure\n".to_vec(),
            b"item\tcolour\tprice\ni1\tred\t3.5\ni2\tblue\t\n".to_vec(),
            b"1::Toy Story (1995)::Animation|Children's\n".to_vec(),
        ],
        extra: vec![],
        call: Box::new(|p| quietly(FeaturesFile::new(p).load())),
    });
    t.push(Target {
        name: "candidates",
        file: "c.tsv",
        seeds: vec![
            b"user\titem\tlabel\nu1\ti1\t1\nu1\ti2\t0\nu1\ti3\t0\n".to_vec(),
            b"1 10 1\n1 11 0\n2 10 0\n2 12 1\n".to_vec(),
        ],
        extra: vec![],
        call: Box::new(|p| quietly(Candidates::read_raw(p))),
    });
    let cfgs = |names: &[&str]| -> Vec<Vec<u8>> {
        names
            .iter()
            .map(|n| read(root, &format!("configs/{n}")))
            .collect()
    };
    t.push(Target {
        name: "run configs (TOML)",
        file: "run.toml",
        seeds: cfgs(&[
            "ml100k_popularity.toml",
            "ml100k_itemcf_bpr.toml",
            "ml100k_cf_fusion_mmr.toml",
            "peers_protocol_b_popularity.toml",
        ]),
        extra: vec![],
        call: Box::new(|p| {
            let Ok(c) = recsys::cli::RunConfig::load(p) else {
                return false;
            };
            let _ = c.pipeline();
            true
        }),
    });
    #[cfg(feature = "deep")]
    t.push(Target {
        name: "train configs (TOML)",
        file: "train.toml",
        seeds: cfgs(&[
            "deepfm_movielens.toml",
            "deepfm_criteo.toml",
            "deepfm_movielens_ctr.toml",
        ]),
        extra: vec![],
        call: Box::new(|p| quietly(recsys::cli::TrainConfig::load(p))),
    });
    let (train, _) = recsys::models::contract::checkerboard(12, 10);
    let timed = Interactions::from_raw_rows(
        &(0..60)
            .map(|r| (format!("u{}", r % 6), format!("i{}", r % 11)))
            .collect::<Vec<_>>(),
        None,
        Some((0..60).collect()),
        &[],
    )
    .expect("rows");
    let report = Pipeline::from_interactions(timed)
        .recall(Popularity::default())
        .evaluate()
        .expect("a report")
        .to_json()
        .expect("json");
    t.push(Target {
        name: "reports (JSON)",
        file: "report.json",
        seeds: vec![report.into_bytes()],
        extra: vec![],
        call: Box::new(|p| {
            let Ok(r) = Report::load_json(p) else {
                return false;
            };
            let _ = (r.to_string(), r.to_html());
            true
        }),
    });
    let tmp = std::env::temp_dir().join(format!("recsys-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp");
    let saved = |name: &str, save: &dyn Fn(&Path)| -> Vec<u8> {
        let p = tmp.join(name);
        save(&p);
        std::fs::read(&p).expect("saved model")
    };
    let als = saved("als.bin", &|p| {
        Als::params()
            .factors(4)
            .iterations(2)
            .fit(&train)
            .unwrap()
            .save(p)
            .unwrap()
    });
    let bpr = saved("bpr.bin", &|p| {
        Bpr::params()
            .factors(4)
            .epochs(2)
            .fit(&train)
            .unwrap()
            .save(p)
            .unwrap()
    });
    t.push(Target {
        name: "saved factor models (ALS, BPR)",
        file: "model.bin",
        seeds: vec![als, bpr],
        extra: vec![],
        call: Box::new(|p| {
            let Ok(m) = FactorModel::load(p) else {
                return false;
            };
            for u in 0..m.train().n_users().min(3) as u32 {
                let _ = m.recommend(u, 5, true);
            }
            true
        }),
    });
    let ease = saved("ease.bin", &|p| {
        Ease::params()
            .lambda(10.0)
            .fit(&train)
            .unwrap()
            .save(p)
            .unwrap()
    });
    t.push(Target {
        name: "saved EASE models",
        file: "model.bin",
        seeds: vec![ease],
        extra: vec![],
        call: Box::new(|p| {
            let Ok(m) = EaseModel::load(p) else {
                return false;
            };
            if m.train().n_users() > 0 {
                let _ = m.recommend(0, 5, true);
            }
            true
        }),
    });
    let rated = Interactions::from_raw_rows(
        &(0..30)
            .map(|r| (format!("u{}", r % 6), format!("i{}", r % 7)))
            .collect::<Vec<_>>(),
        Some((0..30).map(|r| 1.0 + (r % 5) as f32).collect()),
        None,
        &[],
    )
    .expect("rows");
    let svd = saved("svd.bin", &|p| {
        Svd::params()
            .factors(3)
            .epochs(2)
            .fit(&rated)
            .unwrap()
            .save(p)
            .unwrap()
    });
    t.push(Target {
        name: "saved SVD models",
        file: "model.bin",
        seeds: vec![svd],
        extra: vec![],
        call: Box::new(|p| {
            let Ok(m) = SvdModel::load(p) else {
                return false;
            };
            if m.train().n_users() > 0 {
                let _ = m.recommend(0, 5, true);
            }
            true
        }),
    });
    let criteo_line = |label: u8, k: usize| -> String {
        let ints: Vec<String> = (0..13)
            .map(|i| {
                if (i + k) % 5 == 0 {
                    String::new()
                } else {
                    ((i * 7 + k) % 40).to_string()
                }
            })
            .collect();
        let cats: Vec<String> = (0..26)
            .map(|c| {
                if (c + k) % 7 == 0 {
                    String::new()
                } else {
                    format!("{:08x}", c * 977 + k)
                }
            })
            .collect();
        format!("{label}\t{}\t{}\n", ints.join("\t"), cats.join("\t"))
    };
    let criteo: Vec<u8> = (0..6)
        .map(|k| criteo_line((k % 2) as u8, k))
        .collect::<String>()
        .into_bytes();
    t.push(Target {
        name: "Criteo rows",
        file: "criteo.txt",
        seeds: vec![criteo.clone()],
        extra: vec![],
        call: Box::new(|p| {
            let Ok(f) = RawFrame::read_criteo(p) else {
                return false;
            };
            let _ = f.split_random(0.1, 0.1, 1);
            true
        }),
    });
    let avazu = b"id,click,hour,C1,banner_pos,site_id\n1,0,14102100,1005,0,1fbe01fe\n2,1,14102100,1005,1,fe8cc448\n3,0,14102213,1002,0,1fbe01fe\n".to_vec();
    t.push(Target {
        name: "Avazu rows",
        file: "avazu.csv",
        seeds: vec![avazu],
        extra: vec![],
        call: Box::new(|p| quietly(RawFrame::read_avazu(p))),
    });
    t.push(Target {
        name: "delimited labelled rows",
        file: "rows.tsv",
        seeds: vec![
            b"label\tuser_id\tgenres\tage\n1\tu1\ta|b\t20\n0\tu2\tb\t\n".to_vec(),
            interactions[2].clone(),
        ],
        extra: vec![],
        call: Box::new(|p| quietly(RawFrame::read_delimited(p, Separator::Auto))),
    });
    // Encoders saved with a row model, then used on rows.
    let rows = tmp.join("rows.tsv");
    std::fs::write(
        &rows,
        "label\tuser_id\tgenres\tage\n1\tu1\ta|b\t20\n0\tu2\tb\t31\n1\tu1\tc\t5\n",
    )
    .expect("rows");
    let frame = RawFrame::read_delimited(&rows, Separator::Auto).expect("frame");
    let spec = FeatureSpec {
        label: "label".into(),
        group: Some("user_id".into()),
        graded: None,
        columns: vec![
            ColumnSpec::new("user_id", ColumnRule::Categorical { min_count: 1 }),
            ColumnSpec::new(
                "genres",
                ColumnRule::MultiHot {
                    separator: "|".into(),
                    max_len: 2,
                    pooling: Pooling::Mean,
                    min_count: 1,
                },
            ),
            ColumnSpec::new(
                "age",
                ColumnRule::Numeric {
                    transform: NumericTransform::Log1p,
                },
            ),
        ],
        dim: 4,
    };
    let encoders = FeatureEncoders::fit(spec, &frame).expect("encoders");
    let json = serde_json::to_vec(&encoders).expect("json");
    t.push(Target {
        name: "saved feature encoders (encoders.json)",
        file: "encoders.json",
        seeds: vec![json],
        extra: vec![],
        call: Box::new(move |p| {
            let Ok(bytes) = std::fs::read(p) else {
                return false;
            };
            let Ok(e) = serde_json::from_slice::<FeatureEncoders>(&bytes) else {
                return false;
            };
            let _ = e.encode(&frame);
            true
        }),
    });
    let toy = recsys::data::synthetic::toy_ctr_frame(300, 1).expect("toy rows");
    let toy_task = FeatureTask::toy_ctr(300, 1).expect("toy task");
    let shallow: Vec<Vec<u8>> = [
        ShallowCtr::ffm().epochs(1),
        ShallowCtr::poly2().cross_buckets(64).l1(0.5).epochs(1),
    ]
    .iter()
    .enumerate()
    .map(|(k, p)| {
        saved(&format!("shallow{k}.recsys"), &|path| {
            p.fit(&toy_task).unwrap().save(path).unwrap()
        })
    })
    .collect();
    t.push(Target {
        name: "saved CTR-chain models (FFM, Poly2)",
        file: "model.recsys",
        seeds: shallow,
        extra: vec![],
        call: Box::new(move |p| {
            let Ok(m) = ShallowCtrModel::load(p) else {
                return false;
            };
            if let Ok(rows) = m.encode(&toy) {
                let _ = m.score_rows(&rows);
            }
            true
        }),
    });
    t.push(Target {
        name: "template configs (TOML)",
        file: "template.toml",
        seeds: cfgs(&["template_movielens.toml", "template_yoochoose.toml"]),
        extra: vec![],
        call: Box::new(|p| quietly(TemplateConfig::load(p))),
    });
    #[cfg(feature = "deep")]
    deep_targets(&mut t, &tmp, &toy_task);
    let _ = std::fs::remove_dir_all(&tmp);
    t
}

/// Saved deep models (weights, parameters) and the trainer's checkpoints
/// (resumed from a mutated `last/state.json` or weights).
#[cfg(feature = "deep")]
fn deep_targets(t: &mut Vec<Target>, tmp: &Path, task: &FeatureTask) {
    let params = || {
        DeepFm::params()
            .max_epochs(1)
            .fm_dim(4)
            .hidden(vec![8])
            .compute(Compute::Cpu)
            .verbose(false)
    };
    let run = tmp.join("deep-run");
    let model = params()
        .checkpoint_dir(&run)
        .fit_features(task)
        .expect("deep model");
    model.save(tmp.join("deep-model")).expect("save");
    let files = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        [
            "model.bpk",
            "params.json",
            "encoders.json",
            "optimizer.bin",
            "state.json",
        ]
        .iter()
        .filter_map(|f| Some((f.to_string(), std::fs::read(dir.join(f)).ok()?)))
        .collect()
    };
    let saved = files(&tmp.join("deep-model"));
    let last = files(&run.join("last"));
    let rows = task.test.clone();
    for (name, file) in [
        ("saved deep models: weights (model.bpk)", "model.bpk"),
        ("saved deep models: parameters (params.json)", "params.json"),
    ] {
        let rows = rows.clone();
        t.push(Target {
            name,
            file,
            seeds: saved
                .iter()
                .filter(|f| f.0 == file)
                .map(|f| f.1.clone())
                .collect(),
            extra: saved.iter().filter(|f| f.0 != file).cloned().collect(),
            call: Box::new(move |p| {
                let Ok(m) = CtrModel::load_features(p.parent().expect("folder")) else {
                    return false;
                };
                let _ = m.predict_rows(&rows);
                true
            }),
        });
    }
    let task = task.clone();
    for (name, file) in [
        ("deep checkpoints: state (last/state.json)", "state.json"),
        ("deep checkpoints: weights (last/model.bpk)", "model.bpk"),
    ] {
        let task = task.clone();
        t.push(Target {
            name,
            file: if file == "state.json" {
                "run/last/state.json"
            } else {
                "run/last/model.bpk"
            },
            seeds: last
                .iter()
                .filter(|f| f.0 == file)
                .map(|f| f.1.clone())
                .collect(),
            extra: last
                .iter()
                .filter(|f| f.0 != file)
                .map(|(n, b)| (format!("run/last/{n}"), b.clone()))
                .collect(),
            call: Box::new(move |p| {
                let run = p.parent().and_then(Path::parent).expect("run folder");
                quietly(
                    params()
                        .checkpoint_dir(run)
                        .resume(true)
                        .fit_features(&task),
                )
            }),
        });
    }
}

/// The repository root (from the library's manifest folder).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
