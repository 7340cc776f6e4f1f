//! The two-tower model and the template workflow.

use std::sync::Arc;

use recsys::data::FeatureColumn;
use recsys::models::contract;
use recsys::prelude::*;
use recsys::template::Template;

use crate::{temp_dir, write};

fn small() -> TwoTower {
    TwoTower::params()
        .epochs(60)
        .batch_size(64)
        .compute(Compute::Cpu)
}

#[test]
fn two_tower_passes_the_personalised_contract_with_every_loss() {
    for loss in [
        TowerLoss::InBatchSoftmax { log_q: true },
        TowerLoss::FullSoftmax,
        TowerLoss::SampledBce { negatives: 4 },
    ] {
        let m = small().loss(loss);
        if let Err(why) = contract::check(&m, true).unwrap() {
            panic!("{loss:?}: {why}");
        }
    }
}

#[test]
fn two_tower_is_seeded_and_refuses_bad_parameters() {
    let (train, _) = contract::checkerboard(12, 12);
    let a = small().epochs(3).seed(1).fit(&train).unwrap();
    let b = small().epochs(3).seed(1).fit(&train).unwrap();
    let c = small().epochs(3).seed(2).fit(&train).unwrap();
    assert_eq!(a.factors().user_factors(0), b.factors().user_factors(0));
    assert_ne!(a.factors().user_factors(0), c.factors().user_factors(0));
    for (k, v) in [
        ("temperature", "0"),
        ("batch_size", "0"),
        ("id_dropout", "1"),
    ] {
        let e = model_from_name("two_tower", &[(k.into(), v.into())])
            .err()
            .unwrap();
        assert!(e.to_string().contains(k), "{e}");
    }
}

/// Two tastes: users who like `a` interact with `a` items, users who like
/// `b` with `b` items; `b` items are three times as popular. A user with
/// features and no interactions (`cold`, likes `a`) must get `a` items,
/// which popularity does not give.
#[test]
fn a_feature_only_user_gets_recommendations_from_its_features() {
    let items: Vec<String> = (0..20).map(|i| format!("i{i}")).collect();
    let taste = |i: usize| if i < 10 { "a" } else { "b" };
    let mut rows = Vec::new();
    let mut users = Vec::new();
    for u in 0..40 {
        let likes = if u < 10 { "a" } else { "b" };
        users.push((format!("u{u}"), likes));
        for i in 0..20 {
            if taste(i) == likes && (u + i) % 3 != 0 {
                rows.push((format!("u{u}"), items[i].clone()));
            }
        }
    }
    let x = Interactions::from_raw_rows(&rows, None, None, &items).unwrap();
    // The cold user joins the user universe with no rows.
    let mut ids = x.users().raw_ids().to_vec();
    ids.push("cold".into());
    let x = Interactions::new(
        Arc::new(IdMap::from_ordered(ids.clone())),
        x.items().clone(),
        x.user_indices().to_vec(),
        x.item_indices().to_vec(),
        None,
        None,
    )
    .unwrap();
    let likes: Vec<String> = ids
        .iter()
        .map(|id| {
            users
                .iter()
                .find(|(u, _)| u == id)
                .map_or("a".to_string(), |(_, l)| l.to_string())
        })
        .collect();
    let user_features = Features::new(IdMap::from_ordered(ids.clone()))
        .with_column("likes", FeatureColumn::Categorical(likes));
    let item_features = Features::new(IdMap::from_ordered(items.clone())).with_column(
        "taste",
        FeatureColumn::Categorical((0..20).map(|i| taste(i).to_string()).collect()),
    );
    let ds = Dataset {
        name: "tastes".into(),
        interactions: x.clone(),
        users: Some(user_features),
        items: Some(item_features),
    };
    let m = small()
        .epochs(30)
        .id_dropout(0.3)
        .fit_validated(&x, None, Some(&ds))
        .unwrap();
    assert_eq!(m.cold(), (1, 0));
    let cold = x.users().get("cold").unwrap();
    let recs: Vec<usize> = m
        .recommend(cold, 5, true)
        .iter()
        .map(|(i, _)| i as &u32)
        .map(|&i| x.items().raw(i)[1..].parse().unwrap())
        .collect();
    assert!(recs.iter().all(|&i| i < 10), "cold user got {recs:?}");
    let pop = Popularity::default().fit_scorer((&x).into()).unwrap();
    let pop_recs: Vec<u32> = pop.recommend(cold, 5, true).iter().map(|r| r.0).collect();
    let tt: Vec<u32> = m.recommend(cold, 5, true).iter().map(|r| r.0).collect();
    assert_ne!(tt, pop_recs);
}

/// A practitioner's file: string ids, a header, scores, a feature file.
fn practitioner_files(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("customer,product,stars,when\n");
    for u in 0..60 {
        for j in 0..12 {
            let item = (u * 7 + j * 5) % 40;
            text.push_str(&format!(
                "cust-{u},sku-{item},{},{}\n",
                1 + (u + j) % 5,
                1_600_000_000 + u * 1000 + j * 86_400
            ));
        }
    }
    write(dir, "orders.csv", &text);
    let mut items = String::from("sku;colour;price;tags\n");
    for i in 0..40 {
        items.push_str(&format!(
            "sku-{i};{};{}.5;t{}|t{}\n",
            ["red", "blue"][i % 2],
            i,
            i % 3,
            i % 4
        ));
    }
    write(dir, "products.csv", &items);
    let cfg = r#"
[data]
interactions = "orders.csv"
user = "customer"
item = "product"
score = "stars"
timestamp = "when"

[data.item_features]
path = "products.csv"
id = "sku"
categorical = ["colour"]
numeric = ["price"]
multi_label = { tags = "|" }

[filters]
min_interactions_per_user = 3
min_interactions_per_item = 3

[validation]
split = "user_time"
fraction = 0.2

[model]
name = "two_tower"
params = { epochs = 5, batch_size = 64 }

[output]
dir = "run"
top_n = 5
"#;
    write(dir, "template.toml", cfg)
}

#[test]
fn the_template_runs_end_to_end_on_a_file_nobody_prepared() {
    let dir = temp_dir("template");
    let cfg = practitioner_files(&dir);
    let t = Template::load(&cfg).unwrap();
    let eda = t.eda().unwrap();
    assert_eq!(eda.raw_rows, 720);
    assert_eq!(eda.figures.len(), 5);
    for f in &eda.figures {
        let html = std::fs::read_to_string(f).unwrap();
        assert!(
            html.contains("plotly.js") && !html.contains("<script src"),
            "{}",
            f.display()
        );
    }
    let val = t.train_validation().unwrap();
    assert!(val.report.get("NDCG@10").is_some());
    assert!(val.kept_epoch.is_some_and(|e| (1..=5).contains(&e)));
    let prod = t.train_production().unwrap();
    assert!(prod.saved);
    assert!(
        prod.params
            .iter()
            .any(|(k, v)| k == "epochs" && Some(v.parse().unwrap()) == val.kept_epoch)
    );
    let s = t.predict().unwrap();
    assert_eq!(s.users, 60);
    let recs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run/recommendations.json")).unwrap())
            .unwrap();
    let data = t.dataset().unwrap().interactions;
    let obj = recs.as_object().unwrap();
    assert_eq!(obj.len(), 60);
    for (user, list) in obj {
        let u = data.users().get(user).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 5);
        for e in list {
            let i = data.items().get(e["item"].as_str().unwrap()).unwrap();
            assert!(!data.user_items(u).contains(&i), "{user} got a seen item");
        }
    }
}

#[test]
fn any_model_can_write_recommendations_through_the_template() {
    let dir = temp_dir("template-itemcf");
    let cfg = practitioner_files(&dir);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "name = \"two_tower\"\nparams = { epochs = 5, batch_size = 64 }",
        "name = \"itemcf\"",
    );
    let cfg = write(&dir, "itemcf.toml", &text);
    let t = Template::load(&cfg).unwrap();
    t.train_validation().unwrap();
    let prod = t.train_production().unwrap();
    assert!(!prod.saved, "itemcf has no file format: predict refits");
    assert_eq!(t.predict().unwrap().users, 60);
}

fn error_of(dir: &std::path::Path, cfg: &str) -> String {
    let p = write(dir, "bad.toml", cfg);
    match Template::load(&p).and_then(|t| t.eda()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_template_input_names_file_line_and_column() {
    let dir = temp_dir("template-bad");
    practitioner_files(&dir);
    // A column the file does not have.
    let e = error_of(
        &dir,
        "[data]\ninteractions = \"orders.csv\"\nuser = \"customer\"\nitem = \"item_id\"\n",
    );
    assert!(
        e.contains("orders.csv:1") && e.contains("item_id") && e.contains("customer, product"),
        "{e}"
    );
    // A feature file with an id the interactions do not have.
    write(&dir, "extra.csv", "sku;colour\nsku-1;red\nsku-999;blue\n");
    let e = error_of(
        &dir,
        "[data]\ninteractions = \"orders.csv\"\nuser = \"customer\"\nitem = \"product\"\n[data.item_features]\npath = \"extra.csv\"\nid = \"sku\"\ncategorical = [\"colour\"]\n",
    );
    assert!(
        e.contains("extra.csv:3") && e.contains("`sku`") && e.contains("sku-999"),
        "{e}"
    );
    // An empty file, and a header without rows.
    write(&dir, "empty.csv", "");
    let e = error_of(
        &dir,
        "[data]\ninteractions = \"empty.csv\"\nuser = \"a\"\nitem = \"b\"\n",
    );
    assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
    write(&dir, "header.csv", "a,b\n");
    let e = error_of(
        &dir,
        "[data]\ninteractions = \"header.csv\"\nuser = \"a\"\nitem = \"b\"\n",
    );
    assert!(
        e.contains("header.csv") && e.contains("no data rows"),
        "{e}"
    );
    // A score that is not a number.
    write(&dir, "text.csv", "a,b,s\nx,y,1\nx,z,lots\n");
    let e = error_of(
        &dir,
        "[data]\ninteractions = \"text.csv\"\nuser = \"a\"\nitem = \"b\"\nscore = \"s\"\n",
    );
    assert!(e.contains("text.csv:3") && e.contains("`s`"), "{e}");
    // A typo in the config is an error, not ignored.
    let e = error_of(
        &dir,
        "[data]\ninteractions = \"orders.csv\"\nuser = \"customer\"\nitem = \"product\"\n[filters]\nmin_interactions_per_usr = 3\n",
    );
    assert!(e.contains("min_interactions_per_usr"), "{e}");
}

#[test]
fn movielens_recommendations_have_no_seen_item() {
    let Some(_) = crate::data_dir() else { return };
    let ml = Dataset::movielens_100k().unwrap();
    let dir = temp_dir("template-ml");
    ml.export_tsv(&dir).unwrap();
    let cfg = write(
        &dir,
        "ml.toml",
        "[data]\ninteractions = \"interactions.tsv\"\nuser = \"user\"\nitem = \"item\"\nscore = \"score\"\ntimestamp = \"timestamp\"\n[model]\nname = \"als\"\n[output]\ndir = \"run\"\n",
    );
    let t = Template::load(&cfg).unwrap();
    t.train_production().unwrap();
    assert_eq!(t.predict().unwrap().users, 943);
    let recs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run/recommendations.json")).unwrap())
            .unwrap();
    let x = &ml.interactions;
    for (user, list) in recs.as_object().unwrap() {
        let u = x.users().get(user).unwrap();
        for e in list.as_array().unwrap() {
            let i = x.items().get(e["item"].as_str().unwrap()).unwrap();
            assert!(!x.user_items(u).contains(&i), "user {user}: seen item {i}");
        }
    }
}

#[test]
fn cold_user_split_holds_whole_users_out() {
    let (x, _) = contract::checkerboard(30, 10);
    let s = Split::ColdUsers { test: 0.2, seed: 7 }.apply(&x).unwrap();
    let held: Vec<u32> = (0..30)
        .filter(|&u| !s.test.user_items(u).is_empty())
        .collect();
    assert_eq!(held.len(), 6);
    for &u in &held {
        assert!(s.train.user_items(u).is_empty());
        assert_eq!(s.test.user_items(u), x.user_items(u));
    }
    assert_eq!(s.train.len() + s.test.len(), x.len());
    assert_eq!(s.train.n_users(), 30);
}

#[test]
fn factorized_top_k_counts_test_pairs_in_the_unmasked_top_k() {
    // Item 0 is the most popular; users 1 and 2 hold out items 0 and 3.
    let rows: Vec<(String, String)> = [("a", "0"), ("b", "0"), ("c", "0"), ("a", "1"), ("b", "2")]
        .iter()
        .map(|(u, i)| (u.to_string(), i.to_string()))
        .collect();
    let items: Vec<String> = (0..4).map(|i| i.to_string()).collect();
    let train = Interactions::from_raw_rows(&rows, None, None, &items).unwrap();
    let test = Interactions::new(
        train.users().clone(),
        train.items().clone(),
        vec![1, 2],
        vec![0, 3],
        None,
        None,
    )
    .unwrap();
    let pop = Popularity::default().fit_scorer((&train).into()).unwrap();
    // Top 1 of all items is item 0 for everyone, seen or not: one of two pairs.
    assert_eq!(recsys::eval::factorized_top_k(pop.as_ref(), &test, 1), 0.5);
    assert_eq!(recsys::eval::factorized_top_k(pop.as_ref(), &test, 4), 1.0);
}

#[test]
fn the_production_model_trains_the_kept_iterations_of_als() {
    let dir = temp_dir("template-als");
    let cfg = practitioner_files(&dir);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "name = \"two_tower\"\nparams = { epochs = 5, batch_size = 64 }",
        "name = \"als\"\nparams = { iterations = 4, factors = 8 }",
    );
    let cfg = write(&dir, "als.toml", &text);
    let t = Template::load(&cfg).unwrap();
    let val = t.train_validation().unwrap();
    let kept = val.kept_epoch.unwrap();
    let prod = t.train_production().unwrap();
    assert!(prod.saved);
    assert!(
        prod.params
            .iter()
            .any(|(k, v)| k == "iterations" && v == &kept.to_string()),
        "{:?}",
        prod.params
    );
    assert_eq!(t.predict().unwrap().users, 60);
}

#[test]
fn predict_refits_a_model_without_file_format_from_the_recorded_run_and_keeps_it() {
    // ItemCF has no file format: `predict` refits it with the parameters
    // `production/run.json` recorded (not the config's, edited since) and
    // leaves the production run's files as they are.
    let dir = temp_dir("template-itemcf");
    let cfg = practitioner_files(&dir);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "name = \"two_tower\"\nparams = { epochs = 5, batch_size = 64 }",
        "name = \"itemcf\"\nparams = { k = 5 }",
    );
    let cfg = write(&dir, "itemcf.toml", &text);
    let t = Template::load(&cfg).unwrap();
    let prod = t.train_production().unwrap();
    assert!(!prod.saved);
    let run_json = dir.join("run/production/run.json");
    let before = std::fs::read(&run_json).unwrap();
    let first = t.predict().unwrap();
    let recs = std::fs::read(dir.join("run/recommendations.json")).unwrap();
    // The config's k changes after production: predict still uses k = 5.
    let edited = write(&dir, "itemcf.toml", &text.replace("k = 5", "k = 50"));
    let t2 = Template::load(&edited).unwrap();
    assert_eq!(t2.predict().unwrap().users, first.users);
    assert_eq!(
        std::fs::read(dir.join("run/recommendations.json")).unwrap(),
        recs
    );
    assert_eq!(
        std::fs::read(&run_json).unwrap(),
        before,
        "predict rewrote production/run.json"
    );
    // Another model named in the config than the production run trained.
    let other = write(
        &dir,
        "itemcf.toml",
        &text.replace("name = \"itemcf\"", "name = \"usercf\""),
    );
    let e = Template::load(&other)
        .unwrap()
        .predict()
        .unwrap_err()
        .to_string();
    assert!(e.contains("run train-production again"), "{e}");
}
