//! MovieLens 100K and 1M (GroupLens), with user and item features.

use std::path::Path;

use super::delimited::{Encoding, Separator, Table};
use super::download::{Checksum, Source, locate};
use super::{Dataset, FeatureColumn, Features, IdMap, InteractionsFile};
use crate::Result;

const ML100K: Source = Source {
    name: "MovieLens 100K",
    dir: "ml-100k",
    url: "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
};
const ML1M: Source = Source {
    name: "MovieLens 1M",
    dir: "ml-1m",
    url: "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
};

const U_DATA: Checksum =
    Checksum::Sha256("06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490");
const U_ITEM: Checksum =
    Checksum::Sha256("553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701");
const U_USER: Checksum =
    Checksum::Sha256("f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c");
const M1_RATINGS: Checksum = Checksum::GitBlob("77a7c4b150f588c23bb9e1f068aa996c0b413695");
const M1_USERS: Checksum =
    Checksum::Sha256("1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3");
const M1_MOVIES: Checksum =
    Checksum::Sha256("0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9");

/// The 19 genre flags of `u.item`, in column order.
pub const ML100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// ML-1M occupation codes 0..=20.
const ML1M_OCCUPATIONS: [&str; 21] = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
];

/// MovieLens 100K: 100,000 ratings (1–5) of 1,682 movies by 943 users, with
/// timestamps, user demographics and movie titles/genres.
pub fn movielens_100k() -> Result<Dataset> {
    let items = ml100k_items()?;
    let users = ml100k_users()?;
    let interactions = InteractionsFile::new(locate(&ML100K, "u.data", U_DATA)?)
        .separator(Separator::Tab)
        .header(false)
        .with_items(&items)
        .load()?;
    Ok(Dataset {
        name: "MovieLens-100K".into(),
        interactions,
        users: Some(users),
        items: Some(items),
    })
}

/// MovieLens 1M: 1,000,209 ratings of 3,706 movies by 6,040 users.
/// Needs `ratings.dat` (downloaded when missing).
pub fn movielens_1m() -> Result<Dataset> {
    let items = movielens_1m_movies()?;
    let users = movielens_1m_users()?;
    let interactions = InteractionsFile::new(locate(&ML1M, "ratings.dat", M1_RATINGS)?)
        .separator(Separator::DoubleColon)
        .header(false)
        .with_items(&items)
        .load()?;
    Ok(Dataset {
        name: "MovieLens-1M".into(),
        interactions,
        users: Some(users),
        items: Some(items),
    })
}

fn table(path: &Path, sep: Separator, enc: Encoding) -> Result<Table> {
    Table::read(path, sep, Some(false), enc)
}

fn ml100k_users() -> Result<Features> {
    let t = table(
        &locate(&ML100K, "u.user", U_USER)?,
        Separator::Pipe,
        Encoding::Utf8,
    )?;
    let (mut ids, mut age, mut gender, mut occ, mut zip) = (vec![], vec![], vec![], vec![], vec![]);
    for r in t.records() {
        ids.push(r.field(0, "user_id")?.to_string());
        age.push(r.parse::<f32>(1, "age")?);
        gender.push(r.field(2, "gender")?.to_string());
        occ.push(r.field(3, "occupation")?.to_string());
        zip.push(r.field(4, "zip_code")?.to_string());
    }
    Ok(Features::new(IdMap::from_ordered(ids))
        .with_column("age", FeatureColumn::Numeric(age))
        .with_column("gender", FeatureColumn::Categorical(gender))
        .with_column("occupation", FeatureColumn::Categorical(occ))
        .with_column("zip_code", FeatureColumn::Categorical(zip)))
}

fn ml100k_items() -> Result<Features> {
    let t = table(
        &locate(&ML100K, "u.item", U_ITEM)?,
        Separator::Pipe,
        Encoding::Latin1,
    )?;
    let (mut ids, mut title, mut date, mut genres) = (vec![], vec![], vec![], vec![]);
    for r in t.records() {
        ids.push(r.field(0, "movie_id")?.to_string());
        title.push(r.field(1, "title")?.to_string());
        date.push(r.field(2, "release_date")?.to_string());
        let mut g = Vec::new();
        for (k, name) in ML100K_GENRES.iter().enumerate() {
            if r.parse::<u8>(5 + k, name)? == 1 {
                g.push(name.to_string());
            }
        }
        genres.push(g);
    }
    Ok(Features::new(IdMap::from_ordered(ids))
        .with_column("title", FeatureColumn::Text(title))
        .with_column("release_date", FeatureColumn::Categorical(date))
        .with_column("genres", FeatureColumn::MultiLabel(genres)))
}

/// ML-1M `users.dat`: gender, age group (`1`, `18`, `25`, `35`, `45`, `50`, `56`: the
/// lower bound of the group),
/// occupation (named) and zip code.
pub fn movielens_1m_users() -> Result<Features> {
    let t = table(
        &locate(&ML1M, "users.dat", M1_USERS)?,
        Separator::DoubleColon,
        Encoding::Utf8,
    )?;
    let (mut ids, mut gender, mut age, mut occ, mut zip) = (vec![], vec![], vec![], vec![], vec![]);
    for r in t.records() {
        ids.push(r.field(0, "user_id")?.to_string());
        gender.push(r.field(1, "gender")?.to_string());
        let a: u8 = r.parse(2, "age")?;
        age.push(a.to_string());
        let code: usize = r.parse(3, "occupation")?;
        let name = ML1M_OCCUPATIONS
            .get(code)
            .ok_or_else(|| r.error("occupation", format!("unknown occupation code {code}")))?;
        occ.push(name.to_string());
        zip.push(r.field(4, "zip_code")?.to_string());
    }
    Ok(Features::new(IdMap::from_ordered(ids))
        .with_column("gender", FeatureColumn::Categorical(gender))
        .with_column("age_group", FeatureColumn::Categorical(age))
        .with_column("occupation", FeatureColumn::Categorical(occ))
        .with_column("zip_code", FeatureColumn::Categorical(zip)))
}

/// ML-1M `movies.dat` (Latin-1): title and `|`-separated genres.
pub fn movielens_1m_movies() -> Result<Features> {
    let t = table(
        &locate(&ML1M, "movies.dat", M1_MOVIES)?,
        Separator::DoubleColon,
        Encoding::Latin1,
    )?;
    let (mut ids, mut title, mut genres) = (vec![], vec![], vec![]);
    for r in t.records() {
        ids.push(r.field(0, "movie_id")?.to_string());
        title.push(r.field(1, "title")?.to_string());
        genres.push(
            r.field(2, "genres")?
                .split('|')
                .map(str::to_string)
                .collect(),
        );
    }
    Ok(Features::new(IdMap::from_ordered(ids))
        .with_column("title", FeatureColumn::Text(title))
        .with_column("genres", FeatureColumn::MultiLabel(genres)))
}
