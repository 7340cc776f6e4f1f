//! Bad input gives a clear error naming the file, line and field.

use recsys::prelude::*;

use crate::{temp_dir, write};

fn err(text: &str, f: impl FnOnce(InteractionsFile) -> InteractionsFile) -> String {
    let d = temp_dir("bad");
    let p = write(&d, "x.tsv", text);
    f(InteractionsFile::new(&p)).load().unwrap_err().to_string()
}

#[test]
fn truncated_line_names_line_and_field() {
    let e = err("1\t10\t5\t100\n2\t20\t3\t200\n3\n", |f| f);
    assert!(e.contains("x.tsv:3"), "{e}");
    assert!(e.contains("`item`"), "{e}");
}

#[test]
fn non_numeric_rating() {
    let e = err("1\t10\t5\n2\t20\tfive\n", |f| f);
    assert!(
        e.contains("x.tsv:2: field `rating`: cannot parse \"five\" as f32"),
        "{e}"
    );
}

#[test]
fn non_numeric_timestamp_with_header() {
    let e = err("user,item,timestamp\n1,2,3\n1,3,yesterday\n", |f| f);
    assert!(e.contains("x.tsv:3: field `timestamp`"), "{e}");
}

#[test]
fn unknown_separator() {
    let e = err("1/10/5\n2/20/3\n", |f| f);
    assert!(e.contains("cannot detect the separator"), "{e}");
}

#[test]
fn empty_file() {
    let e = err("", |f| f);
    assert!(e.contains("x.tsv: file is empty"), "{e}");
    let e = err("user\titem\n", |f| f);
    assert!(e.contains("no data rows"), "{e}");
}

#[test]
fn missing_file() {
    let e = InteractionsFile::new("/nonexistent/ratings.tsv")
        .load()
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/nonexistent/ratings.tsv:"), "{e}");
}

#[test]
fn header_without_item_column() {
    let e = err("user,thing\n1,2\n", |f| f);
    assert!(e.contains("no item column"), "{e}");
}

#[test]
fn candidates_with_bad_label() {
    let d = temp_dir("badcand");
    let p = write(&d, "c.tsv", "user\titem\tlabel\n1\t2\t1\n1\t3\tmaybe\n");
    let e = Candidates::read_raw(&p).unwrap_err().to_string();
    assert!(e.contains("c.tsv:3: field `label`: expected 0 or 1"), "{e}");
}

#[test]
fn formats_are_detected() {
    let d = temp_dir("formats");
    for (name, text) in [
        ("a.dat", "1::10::5::100\n2::20::3::200\n"),
        (
            "b.csv",
            "userId,movieId,rating,timestamp\n1,10,5,100\n2,20,3,200\n",
        ),
        ("c.txt", "1 10 5 100\n2 20 3 200\n"),
    ] {
        let x = InteractionsFile::new(write(&d, name, text)).load().unwrap();
        assert_eq!((x.len(), x.n_users(), x.n_items()), (2, 2, 2), "{name}");
        assert_eq!(x.ratings(), Some(&[5.0, 3.0][..]), "{name}");
        assert_eq!(x.timestamps(), Some(&[100, 200][..]), "{name}");
    }
}

#[test]
fn feature_files_are_typed_and_checked() {
    let d = temp_dir("features");
    let items = write(
        &d,
        "items.csv",
        "item_id,title,genres,year,studio\n10,Heat,Action|Crime,1995,WB\n20,Babe,Comedy,,Universal\n",
    );
    let f = FeaturesFile::new(&items)
        .id_column("item_id")
        .multi_label("genres", '|')
        .text("title")
        .load()
        .unwrap();
    assert_eq!(f.names(), vec!["title", "genres", "year", "studio"]);
    assert_eq!(f.text("title", "20"), Some("Babe"));
    assert!(
        matches!(f.column("genres"), Some(FeatureColumn::MultiLabel(g)) if g[0] == ["Action", "Crime"])
    );
    assert!(
        matches!(f.column("year"), Some(FeatureColumn::Numeric(y)) if y[0] == 1995.0 && y[1].is_nan())
    );
    assert!(matches!(
        f.column("studio"),
        Some(FeatureColumn::Categorical(_))
    ));
    let inter = write(&d, "r.csv", "user,item\n1,10\n");
    let ds = Dataset::from_files(
        InteractionsFile::new(&inter),
        None,
        Some(FeaturesFile::new(&items).id_column("item_id")),
    )
    .unwrap();
    assert_eq!(
        ds.interactions.n_items(),
        2,
        "catalogue items join the universe"
    );

    let dup = write(&d, "dup.csv", "id,x\n1,a\n1,b\n");
    let e = FeaturesFile::new(&dup).load().unwrap_err().to_string();
    assert!(e.contains("dup.csv:3: field `id`: duplicate id"), "{e}");
    let short = write(&d, "short.csv", "id,x,y\n1,a,b\n2,a\n");
    let e = FeaturesFile::new(&short).load().unwrap_err().to_string();
    assert!(e.contains("short.csv:3"), "{e}");
}

#[test]
fn ragged_lines_are_errors_and_a_byte_order_mark_is_not_a_column_name() {
    let dir = crate::temp_dir("ragged");
    let p = crate::write(&dir, "ragged.tsv", "1\t10\t5\n2\t20\t3\textra\n");
    let e = InteractionsFile::new(&p).load().unwrap_err().to_string();
    assert!(e.contains("ragged.tsv:2:") && e.contains("4 fields"), "{e}");
    let p = crate::write(
        &dir,
        "bom.csv",
        "\u{feff}userId,movieId,rating\n1,10,5\n2,20,3\n",
    );
    let x = InteractionsFile::new(&p).load().unwrap();
    assert_eq!(x.len(), 2);
    assert_eq!(x.ratings(), Some(&[5.0, 3.0][..]));
}

#[test]
fn repeated_pairs_follow_one_policy_in_the_matrix_popularity_and_the_split() {
    let dir = crate::temp_dir("dups");
    // (1, 10) three times: ratings 5, 1, 3 at times 100, 300, 200.
    let text = "user\titem\trating\ttimestamp\n1\t10\t5\t100\n2\t10\t4\t150\n1\t10\t1\t300\n1\t20\t2\t50\n1\t10\t3\t200\n";
    let p = crate::write(&dir, "dups.tsv", text);
    // The default keeps the latest row of each pair.
    let x = InteractionsFile::new(&p).load().unwrap();
    assert_eq!(x.len(), 3);
    assert_eq!(x.merged_duplicates(), 2);
    assert!(
        x.to_string()
            .contains("2 repeated (user, item) rows merged"),
        "{x}"
    );
    assert_eq!(x.csr().get(0, 0), Some(1.0));
    // Popularity counts each (user, item) once, as the matrix does.
    let pop = Popularity::params().fit(&x).unwrap();
    assert_eq!(pop.counts(), &[2.0, 1.0]);
    // A repeated pair cannot sit on both sides of a split.
    let s = Split::UserRatio {
        test: 0.5,
        val: 0.0,
        by: Order::Time,
    }
    .apply(&x)
    .unwrap();
    let train: std::collections::HashSet<(u32, u32)> = s
        .train
        .user_indices()
        .iter()
        .copied()
        .zip(s.train.item_indices().iter().copied())
        .collect();
    assert!(
        s.test
            .user_indices()
            .iter()
            .zip(s.test.item_indices())
            .all(|(&u, &i)| !train.contains(&(u, i)))
    );
    // Sum adds the ratings; reject names both lines.
    let sum = InteractionsFile::new(&p)
        .duplicates(Duplicates::Sum)
        .load()
        .unwrap();
    assert_eq!(sum.csr().get(0, 0), Some(9.0));
    let e = InteractionsFile::new(&p)
        .duplicates(Duplicates::Reject)
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dups.tsv:4: field `item`") && e.contains("of line 2"),
        "{e}"
    );
}

#[test]
fn named_columns_and_streamed_lines_name_the_file_and_line() {
    let dir = crate::temp_dir("named");
    let p = crate::write(
        &dir,
        "n.csv",
        "when,who,what,stars\n5,a,x,4\n6,b,y,3\n\n7,a,y,2\n",
    );
    let x = InteractionsFile::new(&p)
        .columns("who", "what", Some("stars"), Some("when"))
        .load()
        .unwrap();
    assert_eq!(x.len(), 3);
    assert_eq!(x.ratings(), Some(&[4.0, 3.0, 2.0][..]));
    assert_eq!(x.timestamps(), Some(&[5, 6, 7][..]));
    let e = InteractionsFile::new(&p)
        .columns("who", "sku", None, None)
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("n.csv:1: field `sku`") && e.contains("when, who, what, stars"),
        "{e}"
    );
    // Bad bytes on line 3 of a streamed file are named there.
    let bad = dir.join("bad.tsv");
    std::fs::write(&bad, b"1\t10\n2\t20\n3\t\xff\n").unwrap();
    let e = InteractionsFile::new(&bad).load().unwrap_err().to_string();
    assert!(e.contains("bad.tsv:3") && e.contains("latin1"), "{e}");
    let x = InteractionsFile::new(&bad)
        .encoding(Encoding::Latin1)
        .load()
        .unwrap();
    assert_eq!(x.items().raw(2), "\u{ff}");
}

#[test]
fn a_first_row_with_a_string_id_is_data_not_a_header() {
    let dir = crate::temp_dir("strid");
    let p = crate::write(&dir, "s.tsv", "alice\t10\t5\n42\t11\t3\n7\t10\t4\n");
    let x = InteractionsFile::new(&p).load().unwrap();
    assert_eq!(x.len(), 3, "the first row is data");
    assert!(x.users().get("alice").is_some());
    // A header of names the loader does not know is still a header.
    let p = crate::write(&dir, "h.tsv", "user_name\tmovie\n42\t11\n7\t10\n");
    assert!(
        InteractionsFile::new(&p).load().is_err(),
        "no user column among the names"
    );
    let p = crate::write(&dir, "h2.tsv", "uid\tmovie_id\n42\t11\n7\t10\n");
    assert_eq!(InteractionsFile::new(&p).load().unwrap().len(), 2);
}
