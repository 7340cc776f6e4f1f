//! Shared helpers of the bench binaries: timing, peak memory, the peer
//! harness, and the results table.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Median wall seconds of `reps` runs of `f` (its last result is returned).
pub fn median_secs<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[reps / 2], last.unwrap())
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The peer harness folder (`RECSYS_PEERS_DIR`, default `../shared/peers`).
pub fn peers_dir() -> Option<PathBuf> {
    let d = std::env::var_os("RECSYS_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/peers"))
        });
    d.join("splits/ml100k").is_dir().then_some(d)
}

/// The Python with the peers' libraries (`RECSYS_PEERS_PYTHON`, default the
/// venv `./dev bench` creates).
pub fn peers_python() -> Option<PathBuf> {
    let p = std::env::var_os("RECSYS_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("RECSYS_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/recsys")
                });
            cache.join("peers-venv/bin/python")
        });
    p.is_file().then_some(p)
}

/// [`peers_python`] when it can import torch (the PyTorch references).
pub fn peers_python_with_torch() -> Option<PathBuf> {
    let py = peers_python()?;
    Command::new(&py)
        .args(["-c", "import torch"])
        .status()
        .is_ok_and(|s| s.success())
        .then_some(py)
}

/// Runs the peers' `time_b.py KEY PARAMS --threads N` and returns its JSON.
pub fn time_peer(key: &str, params: &str, threads: usize) -> Option<serde_json::Value> {
    let (dir, py) = (peers_dir()?, peers_python()?);
    let out = Command::new(py)
        .current_dir(&dir)
        .arg("time_b.py")
        .args([key, params, "--threads", &threads.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "peer {key} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()?
            .as_bytes(),
    )
    .ok()
}

/// Runs this bench binary again with the argument `synthetic` (a child
/// process, so its peak memory is its own) and parses the JSON object it
/// prints last (`null` fields when it failed).
pub fn run_synthetic_child() -> serde_json::Value {
    let out = std::env::current_exe().and_then(|exe| Command::new(exe).arg("synthetic").output());
    let Ok(out) = out else {
        return serde_json::Value::Null;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or_default()
}

/// Milliseconds with 1 decimal.
pub fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1e3)
}

/// Prints a markdown table and writes it to `benches/results/NAME.md`.
pub fn write_table(name: &str, title: &str, head: &[&str], rows: &[Vec<String>], notes: &[String]) {
    let mut s = format!(
        "## {title}\n\n| {} |\n|{}|\n",
        head.join(" | "),
        head.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s.push('\n');
    for n in notes {
        s.push_str(&format!("- {n}\n"));
    }
    println!("{s}");
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/results"));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{name}.md"));
    let tmp = path.with_extension("md.tmp");
    if std::fs::write(&tmp, &s)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .is_ok()
    {
        eprintln!("wrote {}", path.display());
    }
}
