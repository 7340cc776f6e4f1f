//! The MovieLens loaders against the real files.

use recsys::prelude::*;

use crate::data_dir;

#[test]
fn movielens_100k_loads_with_features() {
    let Some(_) = data_dir() else { return };
    let d = Dataset::movielens_100k().unwrap();
    let x = &d.interactions;
    assert_eq!((x.len(), x.n_users(), x.n_items()), (100_000, 943, 1682));
    let s = x.summary();
    assert_eq!(s.ratings.iter().map(|r| r.1).sum::<usize>(), 100_000);
    assert_eq!(s.per_user[0], 20.0);
    let items = d.items.unwrap();
    assert_eq!(items.text("title", "1"), Some("Toy Story (1995)"));
    let users = d.users.unwrap();
    assert_eq!(users.len(), 943);
    assert_eq!(users.text("occupation", "1"), Some("technician"));
    let df = x.to_polars().unwrap();
    assert_eq!(df.height(), 100_000);
    assert_eq!(df.width(), 6);
    assert_eq!(items.to_polars().unwrap().height(), 1682);
}

#[test]
fn movielens_1m_side_files_decode_latin1() {
    let Some(_) = data_dir() else { return };
    let users = movielens_1m_users().unwrap();
    assert_eq!(users.len(), 6040);
    assert_eq!(users.text("occupation", "1"), Some("K-12 student"));
    let movies = movielens_1m_movies().unwrap();
    assert_eq!(movies.len(), 3883);
    let titles = movies
        .ids()
        .raw_ids()
        .iter()
        .filter_map(|id| movies.text("title", id));
    assert!(titles.clone().any(|t| t.contains("Misérables")));
    assert_eq!(movies.value_counts("genres")[0].0, "Drama");
}

#[test]
fn corrupted_file_fails_its_checksum() {
    let Some(src) = data_dir() else { return };
    let d = crate::temp_dir("checksum");
    std::fs::create_dir_all(d.join("ml-100k")).unwrap();
    for f in ["u.item", "u.user"] {
        std::fs::copy(src.join("ml-100k").join(f), d.join("ml-100k").join(f)).unwrap();
    }
    let mut bytes = std::fs::read(src.join("ml-100k/u.data")).unwrap();
    bytes[10] ^= 1;
    std::fs::write(d.join("ml-100k/u.data"), bytes).unwrap();
    // Point a child process at the corrupted copy (env vars are process-wide).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recsys"))
        .args(["run", "/dev/null"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let cfg = crate::write(
        &d,
        "c.toml",
        "[dataset]\nkind = \"movielens_100k\"\n[recall]\nmodel = \"popularity\"\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recsys"))
        .env("RECSYS_DATA_DIR", &d)
        .env("RECSYS_CACHE_DIR", d.join("cache"))
        .args(["run".as_ref(), cfg.as_os_str()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("u.data: checksum mismatch"), "{err}");
}
