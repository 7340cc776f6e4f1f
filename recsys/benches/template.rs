//! The template workflow's speed: `predict` (recommendations.json) for
//! MovieLens-100K's 943 users and for a synthetic file of 1,000,000 users
//! (string ids, a header), each step in its own child process so that its
//! peak memory is its own. `./dev bench template` runs it; results in
//! benches/results/template.md.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use recsys::prelude::*;

/// Runs one template step in this process and prints a JSON line.
fn child(step: &str, cfg: &Path) {
    let t = Template::load(cfg).unwrap();
    let started = std::time::Instant::now();
    let users = match step {
        "train-production" => t.train_production().unwrap().users,
        "predict" => t.predict().unwrap().users,
        other => panic!("unknown step {other}"),
    };
    println!(
        "{{\"seconds\": {}, \"users\": {users}, \"peak_rss_mib\": {}}}",
        started.elapsed().as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
}

fn run_child(step: &str, cfg: &Path) -> serde_json::Value {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["child", step])
        .arg(cfg)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("{step} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or_default()
}

/// 1M users in 50 taste clusters of 100 items each (5,000 items), 3 to 7
/// clicks per user, 80 % in the user's cluster; seeded.
fn synthetic_file(dir: &Path) -> (PathBuf, usize) {
    use rand::{RngExt, SeedableRng};
    let path = dir.join("clicks.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "visitor,product,ts").unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut rows = 0;
    for u in 0..1_000_000u32 {
        let cluster = u % 50;
        let n = rng.random_range(3..=7);
        for k in 0..n {
            let item = if rng.random::<f32>() < 0.8 {
                let r: f32 = rng.random();
                cluster * 100 + (r * r * 100.0) as u32
            } else {
                rng.random_range(0..5000)
            };
            writeln!(
                w,
                "v{u:07},sku-{item:04},{}",
                1_600_000_000 + u as u64 * 10 + k
            )
            .unwrap();
            rows += 1;
        }
    }
    w.flush().unwrap();
    (path, rows)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(&args[2], Path::new(&args[3]));
    }
    let dir = std::env::temp_dir().join(format!("recsys-bench-template-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows = Vec::new();
    let mut notes = vec![format!(
        "each step in its own process ({} rayon threads); peak memory = that process's VmHWM",
        rayon::current_num_threads()
    )];
    let row =
        |name: &str, data: &str, train: &serde_json::Value, pred: &serde_json::Value, size: u64| {
            vec![
                name.to_string(),
                data.to_string(),
                format!("{:.1} s", train["seconds"].as_f64().unwrap_or(f64::NAN)),
                format!(
                    "{:.0} MiB",
                    train["peak_rss_mib"].as_f64().unwrap_or(f64::NAN)
                ),
                format!("{:.2} s", pred["seconds"].as_f64().unwrap_or(f64::NAN)),
                format!(
                    "{:.0} MiB",
                    pred["peak_rss_mib"].as_f64().unwrap_or(f64::NAN)
                ),
                format!("{:.1} MB", size as f64 / 1e6),
            ]
        };
    match Dataset::movielens_100k() {
        Ok(ml) => {
            let d = dir.join("ml");
            ml.export_tsv(&d).unwrap();
            let cfg = d.join("ml.toml");
            std::fs::write(
                &cfg,
                "[data]\ninteractions = \"interactions.tsv\"\nuser = \"user\"\nitem = \"item\"\nscore = \"score\"\ntimestamp = \"timestamp\"\n\
                 [data.user_features]\npath = \"users.tsv\"\nid = \"id\"\nnumeric = [\"age\"]\ncategorical = [\"gender\", \"occupation\"]\n\
                 [data.item_features]\npath = \"items.tsv\"\nid = \"id\"\nmulti_label = { genres = \"|\" }\n\
                 [model]\nname = \"two_tower\"\nparams = { epochs = 16 }\n[output]\ndir = \"run\"\n",
            )
            .unwrap();
            let train = run_child("train-production", &cfg);
            let pred = run_child("predict", &cfg);
            let size = std::fs::metadata(d.join("run/recommendations.json")).map_or(0, |m| m.len());
            rows.push(row(
                "two-tower (16 epochs), top 10",
                "MovieLens-100K: 943 users, 1,682 items, 100,000 rows",
                &train,
                &pred,
                size,
            ));
        }
        Err(e) => notes.push(format!(
            "MovieLens-100K not available ({e}): set RECSYS_DATA_DIR"
        )),
    }
    let d = dir.join("synthetic");
    std::fs::create_dir_all(&d).unwrap();
    let (_, n) = synthetic_file(&d);
    let cfg = d.join("clicks.toml");
    std::fs::write(
        &cfg,
        "[data]\ninteractions = \"clicks.csv\"\nuser = \"visitor\"\nitem = \"product\"\ntimestamp = \"ts\"\n\
         [model]\nname = \"als\"\nparams = { factors = 64, iterations = 15 }\n[output]\ndir = \"run\"\n",
    )
    .unwrap();
    let train = run_child("train-production", &cfg);
    let pred = run_child("predict", &cfg);
    let size = std::fs::metadata(d.join("run/recommendations.json")).map_or(0, |m| m.len());
    rows.push(row(
        "ALS (64 factors, 15 iterations), top 10",
        &format!("synthetic: 1,000,000 users, 5,000 items, {n} rows"),
        &train,
        &pred,
        size,
    ));
    notes.push("train-production: load + filters + fit + save; predict: load the saved model + score every user + write recommendations.json (streamed in blocks of 4,096 users, replaced atomically)".into());
    let _ = std::fs::remove_dir_all(&dir);
    write_table(
        "template",
        "Template workflow: train-production and predict",
        &[
            "model",
            "data",
            "train-production",
            "peak memory",
            "predict",
            "peak memory",
            "recommendations.json",
        ],
        &rows,
        &notes,
    );
}
