//! The generic delimited interactions loader.

use std::path::{Path, PathBuf};

use super::delimited::{Encoding, Record, Separator, Table};
use super::{FeatureColumn, Features, Interactions};
use crate::{Error, Result};

/// Loads `user item [rating [timestamp]]` files of any separator, with or
/// without a header line.
///
/// With a header, columns are found by name (`user`/`user_id`/`userId`/
/// `SessionId`, `item`/`item_id`/`movie_id`/`ItemId`, `rating`/`score`,
/// `timestamp`/`time`/`ts`); without one, by position. Nothing is read until
/// [`InteractionsFile::load`].
///
/// ```no_run
/// # use recsys::prelude::*;
/// let data = InteractionsFile::new("ratings.csv").separator(Separator::Comma).load()?;
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InteractionsFile {
    path: PathBuf,
    separator: Separator,
    header: Option<bool>,
    encoding: Encoding,
    rating: Option<bool>,
    extra_items: Vec<String>,
}

const USER: &[&str] = &[
    "user",
    "user_id",
    "userid",
    "sessionid",
    "session_id",
    "uid",
];
const ITEM: &[&str] = &["item", "item_id", "itemid", "movie_id", "movieid", "iid"];
const RATING: &[&str] = &["rating", "score", "value", "weight"];
const TIME: &[&str] = &["timestamp", "time", "ts", "datetime"];

impl InteractionsFile {
    /// A loader for `path`; defaults: separator auto-detected, header
    /// auto-detected, UTF-8.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        InteractionsFile {
            path: path.into(),
            separator: Separator::Auto,
            header: None,
            encoding: Encoding::Utf8,
            rating: None,
            extra_items: Vec::new(),
        }
    }

    /// The field separator. Defaults to [`Separator::Auto`].
    pub fn separator(mut self, s: Separator) -> Self {
        self.separator = s;
        self
    }

    /// Whether the first line is a header. Defaults to auto-detection.
    pub fn header(mut self, has_header: bool) -> Self {
        self.header = Some(has_header);
        self
    }

    /// Text encoding. Defaults to UTF-8.
    pub fn encoding(mut self, e: Encoding) -> Self {
        self.encoding = e;
        self
    }

    /// Without a header: whether the third column is a rating (`true`) or a
    /// timestamp (`false`). Defaults to rating.
    pub fn third_column_is_rating(mut self, yes: bool) -> Self {
        self.rating = Some(yes);
        self
    }

    /// Items that join the item universe even without interactions.
    pub fn with_items(mut self, items: &Features) -> Self {
        self.extra_items = items.ids().raw_ids().to_vec();
        self
    }

    /// Reads and parses the file.
    pub fn load(&self) -> Result<Interactions> {
        let table = Table::read(
            &self.path,
            self.separator.clone(),
            self.header,
            self.encoding,
        )?;
        let (u, i, r, t) = match &table.header {
            Some(h) => {
                let need = |names: &[&str], what: &str| {
                    table.column(names).ok_or_else(|| Error::BadFile {
                        path: self.path.clone(),
                        message: format!("header {h:?} has no {what} column (one of {names:?})"),
                    })
                };
                (
                    need(USER, "user")?,
                    need(ITEM, "item")?,
                    table.column(RATING),
                    table.column(TIME),
                )
            }
            None => {
                let width = table.records().next().map_or(0, |r| r.fields.len());
                if width < 2 {
                    return Err(Error::BadFile {
                        path: self.path.clone(),
                        message: "expected at least two fields (user, item) per line".into(),
                    });
                }
                match (width, self.rating.unwrap_or(true)) {
                    (2, _) => (0, 1, None, None),
                    (3, true) => (0, 1, Some(2), None),
                    (3, false) => (0, 1, None, Some(2)),
                    _ => (0, 1, Some(2), Some(3)),
                }
            }
        };
        let width = match &table.header {
            Some(h) => h.len(),
            None => table.records().next().map_or(0, |r| r.fields.len()),
        };
        let mut rows = Vec::new();
        let mut ratings = r.map(|_| Vec::new());
        let mut times = t.map(|_| Vec::new());
        for rec in table.records() {
            // A short line is reported by the field it lacks (below); a
            // long one here, as its extra fields would be dropped unseen.
            if rec.fields.len() > width {
                return Err(rec.error(
                    "(line)",
                    format!(
                        "{} fields, but the {} has {width}: every line needs the same columns",
                        rec.fields.len(),
                        if table.header.is_some() {
                            "header"
                        } else {
                            "first line"
                        }
                    ),
                ));
            }
            let user = nonempty(&rec, u, "user")?;
            let item = nonempty(&rec, i, "item")?;
            if let (Some(col), Some(v)) = (r, ratings.as_mut()) {
                let x: f32 = rec.parse(col, "rating")?;
                if !x.is_finite() {
                    return Err(rec.error("rating", format!("{x} is not a finite number")));
                }
                v.push(x);
            }
            if let (Some(col), Some(v)) = (t, times.as_mut()) {
                v.push(parse_timestamp(&rec, col)?);
            }
            rows.push((user.to_string(), item.to_string()));
        }
        if rows.is_empty() {
            return Err(Error::BadFile {
                path: self.path.clone(),
                message: "no data rows".into(),
            });
        }
        Interactions::from_raw_rows(&rows, ratings, times, &self.extra_items)
    }
}

fn nonempty<'a>(rec: &Record<'a>, idx: usize, name: &str) -> Result<&'a str> {
    let v = rec.field(idx, name)?.trim();
    if v.is_empty() {
        return Err(rec.error(name, "empty"));
    }
    Ok(v)
}

/// Parses integer or fractional Unix seconds (fractions are floored).
pub(crate) fn parse_timestamp(rec: &Record<'_>, col: usize) -> Result<i64> {
    let raw = rec.field(col, "timestamp")?.trim();
    raw.parse::<i64>()
        .or_else(|_| {
            raw.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| x.floor() as i64)
                .ok_or(())
        })
        .map_err(|_| rec.error("timestamp", format!("cannot parse {raw:?} as Unix seconds")))
}

/// Loads `user item label` candidate files (and similar 3-column files).
pub(crate) fn read_triples(path: &Path) -> Result<Vec<(String, String, String, usize)>> {
    let table = Table::read(path, Separator::Auto, None, Encoding::Utf8)?;
    let mut out = Vec::new();
    for rec in table.records() {
        let u = nonempty(&rec, 0, "user")?;
        let i = nonempty(&rec, 1, "item")?;
        let l = nonempty(&rec, 2, "label")?;
        out.push((u.to_string(), i.to_string(), l.to_string(), rec.line));
    }
    if out.is_empty() {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            message: "no data rows".into(),
        });
    }
    Ok(out)
}

/// Loads a feature table (users or items): one row per id. With a header,
/// columns keep their names; without one they are named `f1`, `f2`, ...
/// Column types: those named in [`FeaturesFile::multi_label`] are label
/// sets, those in [`FeaturesFile::text`] free text; otherwise a column whose
/// non-empty values all parse as numbers is numeric (empty → NaN), else
/// categorical.
///
/// ```no_run
/// # use recsys::prelude::*;
/// let items = FeaturesFile::new("items.csv").id_column("item_id").multi_label("genres", '|').load()?;
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FeaturesFile {
    path: PathBuf,
    separator: Separator,
    header: Option<bool>,
    encoding: Encoding,
    id_column: Option<String>,
    multi_label: Vec<(String, char)>,
    text: Vec<String>,
}

impl FeaturesFile {
    /// A loader for `path`; defaults: separator and header auto-detected,
    /// UTF-8, the id in the first column.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FeaturesFile {
            path: path.into(),
            separator: Separator::Auto,
            header: None,
            encoding: Encoding::Utf8,
            id_column: None,
            multi_label: Vec::new(),
            text: Vec::new(),
        }
    }

    /// The field separator. Defaults to [`Separator::Auto`].
    pub fn separator(mut self, s: Separator) -> Self {
        self.separator = s;
        self
    }

    /// Whether the first line is a header. Defaults to auto-detection.
    pub fn header(mut self, has_header: bool) -> Self {
        self.header = Some(has_header);
        self
    }

    /// Text encoding. Defaults to UTF-8.
    pub fn encoding(mut self, e: Encoding) -> Self {
        self.encoding = e;
        self
    }

    /// The id column by header name. Defaults to the first column.
    pub fn id_column(mut self, name: &str) -> Self {
        self.id_column = Some(name.to_string());
        self
    }

    /// Treats `column` as a set of labels separated by `sep` (genres).
    pub fn multi_label(mut self, column: &str, sep: char) -> Self {
        self.multi_label.push((column.to_string(), sep));
        self
    }

    /// Treats `column` as free text (titles).
    pub fn text(mut self, column: &str) -> Self {
        self.text.push(column.to_string());
        self
    }

    /// Reads and types the table.
    pub fn load(&self) -> Result<Features> {
        let table = Table::read(
            &self.path,
            self.separator.clone(),
            self.header,
            self.encoding,
        )?;
        let width = table.records().next().map_or(0, |r| r.fields.len());
        let names: Vec<String> = match &table.header {
            Some(h) => h.clone(),
            None => (0..width).map(|i| format!("f{}", i + 1)).collect(),
        };
        let id_col = match &self.id_column {
            None => 0,
            Some(n) => names
                .iter()
                .position(|h| h == n)
                .ok_or_else(|| Error::BadFile {
                    path: self.path.clone(),
                    message: format!("no id column {n:?} in {names:?}"),
                })?,
        };
        let mut ids = Vec::new();
        let mut cols: Vec<Vec<String>> = vec![Vec::new(); names.len()];
        let mut seen = std::collections::HashSet::new();
        for rec in table.records() {
            if rec.fields.len() != names.len() {
                return Err(rec.error(
                    "(line)",
                    format!(
                        "{} fields, expected {} like the first line",
                        rec.fields.len(),
                        names.len()
                    ),
                ));
            }
            let id = nonempty(&rec, id_col, &names[id_col])?;
            if !seen.insert(id.to_string()) {
                return Err(rec.error(&names[id_col], format!("duplicate id {id:?}")));
            }
            ids.push(id.to_string());
            for (c, v) in cols.iter_mut().enumerate() {
                v.push(rec.fields[c].trim().to_string());
            }
        }
        if ids.is_empty() {
            return Err(Error::BadFile {
                path: self.path.clone(),
                message: "no data rows".into(),
            });
        }
        let mut f = Features::new(super::IdMap::from_ordered(ids));
        for (c, values) in cols.into_iter().enumerate() {
            if c == id_col {
                continue;
            }
            let name = &names[c];
            let column = if let Some((_, sep)) = self.multi_label.iter().find(|(n, _)| n == name) {
                FeatureColumn::MultiLabel(
                    values
                        .iter()
                        .map(|v| {
                            v.split(*sep)
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect()
                        })
                        .collect(),
                )
            } else if self.text.contains(name) {
                FeatureColumn::Text(values)
            } else if values
                .iter()
                .all(|v| v.is_empty() || v.parse::<f32>().is_ok())
            {
                FeatureColumn::Numeric(
                    values
                        .iter()
                        .map(|v| v.parse().unwrap_or(f32::NAN))
                        .collect(),
                )
            } else {
                FeatureColumn::Categorical(values)
            };
            f = f.with_column(name, column);
        }
        Ok(f)
    }
}
