//! The `recsys` binary: configs, evaluate, compare, and errors.

use std::process::{Command, Output};

use crate::{data_dir, temp_dir, write};

fn recsys(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recsys"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_configs_write_reports_and_compare_reads_them() {
    let Some(_) = data_dir() else { return };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = temp_dir("cli-run");
    for cfg in ["ml100k_popularity", "ml100k_sampled_popularity"] {
        let json = dir.join(format!("{cfg}.json"));
        let o = recsys(&[
            "run",
            &format!("{root}/configs/{cfg}.toml"),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{cfg}: {}", stderr(&o));
        let r = recsys::Report::load_json(&json).unwrap();
        assert!(r.get("NDCG@10").unwrap() > 0.0, "{cfg}");
    }
    let o = recsys(&["compare", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("popularity") && out.contains("NDCG@10"),
        "{out}"
    );
}

#[test]
fn set_overrides_config_values() {
    let Some(_) = data_dir() else { return };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = temp_dir("cli-set");
    let json = dir.join("pop.json");
    let cfg = format!("{root}/configs/ml100k_popularity.toml");
    let o = recsys(&[
        "run",
        &cfg,
        "--json",
        json.to_str().unwrap(),
        "--set",
        "metrics.ks=[3]",
        "--set",
        "recall.model=random",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = recsys::Report::load_json(&json).unwrap();
    assert!(r.get("NDCG@3").is_some() && r.get("NDCG@10").is_none());
    assert_eq!(r.model, "random");
    // An override of a key the config does not have is an error naming it.
    let o = recsys(&["run", &cfg, "--set", "metrics.kz=[3]"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("kz"), "{}", stderr(&o));
    let o = recsys(&["run", &cfg, "--set", "seed.x=1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("seed"), "{}", stderr(&o));
}

#[test]
fn evaluate_errors_are_clear_and_exit_2() {
    let d = temp_dir("cli-err");
    let train = write(&d, "train.tsv", "1\t1\n1\t2\n2\t2\n");
    let test = write(&d, "test.tsv", "1\t3\n2\t1\n");
    let (t, s) = (train.to_str().unwrap(), test.to_str().unwrap());
    let ok = recsys(&[
        "evaluate",
        "--train",
        t,
        "--test",
        s,
        "--model",
        "popularity",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));

    let o = recsys(&[
        "evaluate",
        "--train",
        t,
        "--test",
        s,
        "--model",
        "popularity",
        "--param",
        "k=5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid parameter `k`: popularity has no such parameter"),
        "{}",
        stderr(&o)
    );

    let o = recsys(&["evaluate", "--train", t, "--test", s, "--model", "lightgcn"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown model \"lightgcn\""),
        "{}",
        stderr(&o)
    );

    let o = recsys(&[
        "evaluate",
        "--train",
        "/nope/train.tsv",
        "--test",
        s,
        "--model",
        "popularity",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nope/train.tsv"), "{}", stderr(&o));

    let bad = write(&d, "bad.tsv", "1\t1\t4\n1\tx\toops\n");
    let o = recsys(&[
        "evaluate",
        "--train",
        bad.to_str().unwrap(),
        "--test",
        s,
        "--model",
        "popularity",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.tsv:2: field `rating`"),
        "{}",
        stderr(&o)
    );

    let cfg = write(
        &d,
        "c.toml",
        "[dataset]\nkind = \"movielens_100k\"\n[recall]\nmodel = \"popularity\"\ntypo = 1\n",
    );
    let o = recsys(&["run", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("c.toml") && stderr(&o).contains("typo"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn multi_stage_configs_of_the_documents_run() {
    let Some(_) = data_dir() else { return };
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = temp_dir("cli-multistage");
    for cfg in [
        "ml100k_itemcf_bpr",
        "ml100k_usercf_als",
        "ml100k_cf_fusion_mmr",
    ] {
        let json = dir.join(format!("{cfg}.json"));
        let o = recsys(&[
            "run",
            &format!("{root}/configs/{cfg}.toml"),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{cfg}: {}", stderr(&o));
        let r = recsys::Report::load_json(&json).unwrap();
        assert!(r.stages.len() >= 2, "{cfg}");
        assert!(
            r.get("NDCG@10").unwrap() > 0.15,
            "{cfg}: {}",
            r.get("NDCG@10").unwrap()
        );
    }
}

#[test]
fn train_writes_a_run_that_evaluate_and_compare_read() {
    let Some(_) = data_dir() else { return };
    let dir = temp_dir("cli-train");
    let cfg = write(
        &dir,
        "deepfm.toml",
        "[data]\ndataset = \"movielens_100k\"\nseed = 42\n\n\
         [model]\nlr = 0.004\nbatch_size = 4096\nmax_epochs = 1\ncompute = \"cpu\"\n\n\
         [model.net]\narch = \"deepfm\"\n\n\
         [output]\ndir = \"runs/deepfm\"\n",
    );
    let o = recsys(&["train", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "train: {}", stderr(&o));
    let run = dir.join("runs/deepfm");
    for f in [
        "config.toml",
        "report.json",
        "model/model.bpk",
        "checkpoints/best/model.bpk",
    ] {
        assert!(run.join(f).is_file(), "{f} missing after train");
    }
    let o = recsys(&["evaluate", "--checkpoint", run.to_str().unwrap()]);
    assert!(o.status.success(), "evaluate --checkpoint: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("NDCG@10"), "{out}");
    let o = recsys(&["compare", dir.join("runs").to_str().unwrap()]);
    assert!(o.status.success(), "compare: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("deepfm") && out.contains("NDCG@10"), "{out}");
    // A config with a typo is an error naming the file and the field.
    let bad = write(&dir, "bad.toml", "[model]\nlearning_rate = 0.1\n");
    let o = recsys(&["train", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.toml"), "{}", stderr(&o));
}

#[test]
fn latin1_split_files_need_and_take_an_encoding() {
    let dir = temp_dir("cli-latin1");
    // User ids with an é in Latin-1 (byte 0xE9), which is not UTF-8.
    let mut train = Vec::new();
    let mut test = Vec::new();
    for u in 0..6 {
        for i in 0..5 {
            let text = format!("caf\u{e9}{u}\titem{i}\n");
            let line: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
            if i == 4 {
                test.extend(line);
            } else {
                train.extend(line);
            }
        }
    }
    let (tr, te) = (dir.join("train.tsv"), dir.join("test.tsv"));
    std::fs::write(&tr, &train).unwrap();
    std::fs::write(&te, &test).unwrap();
    let args = [
        "evaluate",
        "--train",
        tr.to_str().unwrap(),
        "--test",
        te.to_str().unwrap(),
        "--model",
        "popularity",
    ];
    let o = recsys(&args);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("train.tsv:1") && e.contains("--encoding latin1"),
        "{e}"
    );
    let mut with = args.to_vec();
    with.extend(["--encoding", "latin1"]);
    let o = recsys(&with);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut bad = args.to_vec();
    bad.extend(["--encoding", "ebcdic"]);
    let o = recsys(&bad);
    assert!(stderr(&o).contains("unknown encoding"), "{}", stderr(&o));
}
