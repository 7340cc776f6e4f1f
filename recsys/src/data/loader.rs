//! The generic delimited interactions loader.

use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::sync::Arc;

use super::delimited::{Encoding, Record, Separator, Stream, Table};
use super::interactions::{Columns, Duplicates};
use super::{FeatureColumn, Features, IdMap, Interactions};
use crate::{Error, Result};

/// Loads `user item [rating [timestamp]]` files of any separator, with or
/// without a header line.
///
/// With a header, columns are found by name (`user`/`user_id`/`userId`/
/// `SessionId`, `item`/`item_id`/`movie_id`/`ItemId`, `rating`/`score`,
/// `timestamp`/`time`/`ts`); without one, by position. Nothing is read until
/// [`InteractionsFile::load`], which streams the file line by line straight
/// into the id maps and index columns (peak memory: about the loaded
/// interactions plus one copy of the distinct ids). Repeated (user, item)
/// rows are merged by [`InteractionsFile::duplicates`].
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
    duplicates: Duplicates,
    columns: Option<[Option<String>; 4]>,
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
            duplicates: Duplicates::Last,
            columns: None,
            extra_items: Vec::new(),
        }
    }

    /// The columns by exact name: user, item, and optionally score (a
    /// number) and timestamp (Unix seconds). Without a header the names are
    /// positions, `"1"`, `"2"`, … A name the header lacks is an error at
    /// line 1 listing the header. Defaults to the names (or positions) of
    /// the type's description.
    pub fn columns(
        mut self,
        user: &str,
        item: &str,
        score: Option<&str>,
        timestamp: Option<&str>,
    ) -> Self {
        self.columns = Some([
            Some(user.to_string()),
            Some(item.to_string()),
            score.map(str::to_string),
            timestamp.map(str::to_string),
        ]);
        self
    }

    /// What a repeated (user, item) pair becomes. Defaults to
    /// [`Duplicates::Last`]; [`Duplicates::Reject`] names both lines.
    pub fn duplicates(mut self, d: Duplicates) -> Self {
        self.duplicates = d;
        self
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
        let stream = Stream::open(
            &self.path,
            self.separator.clone(),
            self.header,
            self.encoding,
        )?;
        let (u, i, r, t, width) = match (&self.columns, &stream.header) {
            (Some(names), header) => {
                let header = header
                    .clone()
                    .unwrap_or_else(|| (1..=stream.first_width()).map(|c| c.to_string()).collect());
                let find = |name: &Option<String>| -> Result<Option<usize>> {
                    let Some(name) = name else { return Ok(None) };
                    header.iter().position(|h| h == name).map(Some).ok_or_else(|| Error::Parse {
                        path: self.path.clone(),
                        line: 1,
                        field: name.clone(),
                        message: format!(
                            "no such column in the header (it has: {}); check the column names and the separator",
                            header.join(", ")
                        ),
                    })
                };
                let (u, i) = (
                    find(&names[0])?.expect("named"),
                    find(&names[1])?.expect("named"),
                );
                (u, i, find(&names[2])?, find(&names[3])?, header.len())
            }
            (None, Some(h)) => {
                let need = |names: &[&str], what: &str| {
                    column(h, names).ok_or_else(|| Error::BadFile {
                        path: self.path.clone(),
                        message: format!("header {h:?} has no {what} column (one of {names:?})"),
                    })
                };
                let (u, i) = (need(USER, "user")?, need(ITEM, "item")?);
                (u, i, column(h, RATING), column(h, TIME), h.len())
            }
            (None, None) => {
                let width = stream.first_width();
                if width < 2 {
                    return Err(Error::BadFile {
                        path: self.path.clone(),
                        message: "expected at least two fields (user, item) per line".into(),
                    });
                }
                let (r, t) = match (width, self.rating.unwrap_or(true)) {
                    (2, _) => (None, None),
                    (3, true) => (Some(2), None),
                    (3, false) => (None, Some(2)),
                    _ => (Some(2), Some(3)),
                };
                (0, 1, r, t, width)
            }
        };
        // Errors name the column as the config or header does.
        let named = |k: usize, default: &'static str| -> String {
            self.columns
                .as_ref()
                .and_then(|c| c[k].clone())
                .unwrap_or_else(|| default.to_string())
        };
        let names = [
            named(0, "user"),
            named(1, "item"),
            named(2, "rating"),
            named(3, "timestamp"),
        ];
        let whose_width = if stream.header.is_some() {
            "header"
        } else {
            "first line"
        };
        let (mut users, mut items) = (Interner::default(), Interner::default());
        let mut cols = Columns {
            user: Vec::new(),
            item: Vec::new(),
            rating: r.map(|_| Vec::new()),
            timestamp: t.map(|_| Vec::new()),
        };
        // Line numbers, kept only to name both lines of a rejected pair.
        let mut lines: Option<Vec<usize>> = (self.duplicates == Duplicates::Reject).then(Vec::new);
        stream.for_each(|rec| {
            // A short line is reported by the field it lacks (below); a
            // long one here, as its extra fields would be dropped unseen.
            if rec.fields.len() > width {
                return Err(rec.error(
                    "(line)",
                    format!(
                        "{} fields, but the {whose_width} has {width}: every line needs the same columns",
                        rec.fields.len(),
                    ),
                ));
            }
            let user = nonempty(rec, u, &names[0])?;
            let item = nonempty(rec, i, &names[1])?;
            if let (Some(col), Some(v)) = (r, cols.rating.as_mut()) {
                let x: f32 = rec.parse(col, &names[2])?;
                if !x.is_finite() {
                    return Err(rec.error(&names[2], format!("{x} is not a finite number")));
                }
                v.push(x);
            }
            if let (Some(col), Some(v)) = (t, cols.timestamp.as_mut()) {
                v.push(parse_timestamp(rec, col, &names[3])?);
            }
            cols.user.push(users.id(user));
            cols.item.push(items.id(item));
            if let Some(l) = lines.as_mut() {
                l.push(rec.line);
            }
            Ok(())
        })?;
        if cols.user.is_empty() {
            return Err(Error::BadFile {
                path: self.path.clone(),
                message: "no data rows".into(),
            });
        }
        for extra in &self.extra_items {
            items.id(extra);
        }
        let (users, user_at) = users.finish();
        let (items, item_at) = items.finish();
        cols.user.iter_mut().for_each(|x| *x = user_at[*x as usize]);
        cols.item.iter_mut().for_each(|x| *x = item_at[*x as usize]);
        let (users, items) = (Arc::new(users), Arc::new(items));
        Interactions::from_columns(users.clone(), items.clone(), cols, self.duplicates).map_err(|d| {
            let lines = lines.as_deref().unwrap_or_default();
            Error::Parse {
                path: self.path.clone(),
                line: lines.get(d.second).copied().unwrap_or(d.second + 1),
                field: names[1].clone(),
                message: format!(
                    "repeats the pair (user {:?}, item {:?}) of line {}; duplicates = \"reject\" \
                     refuses repeated pairs (\"last\" or \"sum\" merge them)",
                    users.raw(d.user),
                    items.raw(d.item),
                    lines.get(d.first).copied().unwrap_or(d.first + 1),
                ),
            }
        })
    }
}

/// Index of the first header column whose lower-cased name is in `names`.
fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.contains(&h.to_ascii_lowercase().as_str()))
}

/// Raw ids interned in order of appearance while a file streams by; one copy
/// of each distinct id.
#[derive(Default)]
struct Interner {
    index: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, raw: &str) -> u32 {
        if let Some(&i) = self.index.get(raw) {
            return i;
        }
        let i = self.index.len() as u32;
        self.index.insert(raw.to_string(), i);
        i
    }

    /// The id map in natural order and, per interned index, its index there.
    fn finish(self) -> (IdMap, Vec<u32>) {
        let mut ids = vec![String::new(); self.index.len()];
        for (raw, i) in self.index {
            ids[i as usize] = raw;
        }
        let order = IdMap::natural_order(&ids);
        let mut at = vec![0u32; ids.len()];
        for (k, &t) in order.iter().enumerate() {
            at[t as usize] = k as u32;
        }
        let mut slots: Vec<Option<String>> = ids.into_iter().map(Some).collect();
        let map = IdMap::from_ordered(
            order
                .iter()
                .map(|&t| slots[t as usize].take().expect("a permutation"))
                .collect(),
        );
        (map, at)
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
pub(crate) fn parse_timestamp(rec: &Record<'_>, col: usize, name: &str) -> Result<i64> {
    let raw = rec.field(col, name)?.trim();
    raw.parse::<i64>()
        .or_else(|_| {
            raw.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(|x| x.floor() as i64)
                .ok_or(())
        })
        .map_err(|_| rec.error(name, format!("cannot parse {raw:?} as Unix seconds")))
}

/// Loads `user item label` candidate files (and similar 3-column files).
pub(crate) fn read_triples(
    path: &Path,
    encoding: Encoding,
) -> Result<Vec<(String, String, String, usize)>> {
    let table = Table::read(path, Separator::Auto, None, encoding)?;
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
