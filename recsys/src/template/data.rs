//! Reading the template's files: interactions by column name, typed
//! feature files, the minimum-interaction filters. Every error names the
//! file, the line and the column.

use std::path::Path;
use std::sync::Arc;

use super::config::{DataConfig, FeatureFileConfig, Filters, UnknownIds};
use crate::data::{
    Dataset, Encoding, FeatureColumn, Features, IdMap, Interactions, InteractionsFile, Separator,
    Table,
};
use crate::{Error, Result};

/// `","`, `"\t"` (or `tab`), `";"`, `"|"`, `"::"`, `whitespace`; absent:
/// detected.
pub(crate) fn separator(text: Option<&str>) -> Result<Separator> {
    Ok(match text {
        None => Separator::Auto,
        Some(",") | Some("comma") => Separator::Comma,
        Some("\t") | Some("tab") | Some("\\t") => Separator::Tab,
        Some(";") | Some("semicolon") => Separator::Semicolon,
        Some("|") | Some("pipe") => Separator::Pipe,
        Some("::") => Separator::DoubleColon,
        Some(" ") | Some("whitespace") => Separator::Whitespace,
        Some(other) => {
            return Err(Error::Config(format!(
                "unknown separator {other:?} (\",\", \"\\t\", \";\", \"|\", \"::\", \"whitespace\")"
            )));
        }
    })
}

/// Opens a delimited file with a header and finds the named columns; a
/// missing one is an error at line 1 naming it and listing the header.
fn open(
    path: &Path,
    sep: Option<&str>,
    header: bool,
    encoding: Encoding,
    columns: &[&str],
) -> Result<(Table, Vec<usize>)> {
    let table = Table::read(path, separator(sep)?, Some(header), encoding)?;
    let header = table.header.clone().unwrap_or_else(|| {
        let width = table.records().next().map_or(0, |r| r.fields.len());
        (1..=width).map(|c| c.to_string()).collect()
    });
    let idx = columns
        .iter()
        .map(|c| {
            header.iter().position(|h| h == c).ok_or_else(|| Error::Parse {
                path: path.to_path_buf(),
                line: 1,
                field: c.to_string(),
                message: format!(
                    "no such column in the header (it has: {}); check the config's column names and separator",
                    header.join(", ")
                ),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((table, idx))
}

/// Reads the interactions file by column name (streamed, see
/// [`InteractionsFile`]): optional scores (numbers) and timestamps (Unix
/// seconds); repeated (user, item) rows merged by the config's
/// `duplicates`.
pub(crate) fn read_interactions(path: &Path, d: &DataConfig) -> Result<Interactions> {
    InteractionsFile::new(path)
        .separator(separator(d.separator.as_deref())?)
        .header(d.header)
        .encoding(d.encoding)
        .duplicates(d.duplicates)
        .columns(&d.user, &d.item, d.score.as_deref(), d.timestamp.as_deref())
        .load()
}

/// Reads a feature file's named columns, typed as the config says. Ids not
/// in `known` follow `unknown_ids`; the ids kept that are not in `known`
/// are returned too (cold start).
pub(crate) fn read_features(
    path: &Path,
    f: &FeatureFileConfig,
    known: &IdMap,
) -> Result<(Features, Vec<String>)> {
    let mut names: Vec<&str> = vec![f.id.as_str()];
    names.extend(f.categorical.iter().map(String::as_str));
    names.extend(f.numeric.iter().map(String::as_str));
    names.extend(f.multi_label.keys().map(String::as_str));
    names.extend(f.text.iter().map(String::as_str));
    let (table, idx) = open(path, f.separator.as_deref(), f.header, f.encoding, &names)?;
    let mut ids = Vec::new();
    let mut cold = Vec::new();
    let mut values: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    let mut seen = std::collections::HashSet::new();
    let mut numeric: Vec<Vec<f32>> = vec![Vec::new(); f.numeric.len()];
    let n_cat = f.categorical.len();
    for rec in table.records() {
        let id = rec.field(idx[0], &f.id)?.trim();
        if id.is_empty() {
            return Err(rec.error(&f.id, "empty id"));
        }
        if known.get(id).is_none() {
            match f.unknown_ids {
                UnknownIds::Error => {
                    return Err(rec.error(
                        &f.id,
                        format!(
                            "id {id:?} does not occur in the interactions (after the filters); \
                             set unknown_ids = \"keep\" to recommend from features alone (cold start) \
                             or \"drop\" to ignore such rows"
                        ),
                    ));
                }
                UnknownIds::Drop => continue,
                UnknownIds::Keep => cold.push(id.to_string()),
            }
        }
        if !seen.insert(id.to_string()) {
            return Err(rec.error(&f.id, format!("duplicate id {id:?}")));
        }
        ids.push(id.to_string());
        for (k, name) in names.iter().enumerate().skip(1) {
            let v = rec.field(idx[k], name)?.trim();
            let nk = k - 1;
            if nk >= n_cat && nk < n_cat + f.numeric.len() {
                let x = if v.is_empty() {
                    f32::NAN
                } else {
                    v.parse::<f32>()
                        .map_err(|_| rec.error(name, format!("cannot parse {v:?} as a number")))?
                };
                numeric[nk - n_cat].push(x);
            } else {
                values[k].push(v.to_string());
            }
        }
    }
    if ids.is_empty() {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            message: "no data rows after the header".into(),
        });
    }
    let mut out = Features::new(IdMap::from_ordered(ids));
    let mut k = 1;
    for c in &f.categorical {
        out = out.with_column(
            c,
            FeatureColumn::Categorical(std::mem::take(&mut values[k])),
        );
        k += 1;
    }
    for (c, v) in f.numeric.iter().zip(numeric) {
        out = out.with_column(c, FeatureColumn::Numeric(v));
        k += 1;
    }
    for (c, sep) in &f.multi_label {
        let labels = values[k]
            .iter()
            .map(|v| {
                v.split(sep.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .collect();
        out = out.with_column(c, FeatureColumn::MultiLabel(labels));
        k += 1;
    }
    for c in &f.text {
        out = out.with_column(c, FeatureColumn::Text(std::mem::take(&mut values[k])));
        k += 1;
    }
    Ok((out, cold))
}

/// The template's dataset: the interactions after the filters (id maps
/// compacted), with the feature tables, and the feature-only ids kept for
/// cold start appended to the id maps (no rows).
pub(crate) fn load_dataset(
    base: &dyn Fn(&Path) -> std::path::PathBuf,
    d: &DataConfig,
    filters: &Filters,
) -> Result<(Dataset, RowsRead)> {
    let path = base(&d.interactions);
    let raw = read_interactions(&path, d)?;
    let read = RowsRead {
        rows: raw.len() + raw.merged_duplicates(),
        merged: raw.merged_duplicates(),
    };
    let x = raw
        .k_core(
            filters.min_interactions_per_user,
            filters.min_interactions_per_item,
        )
        .compact();
    if x.is_empty() {
        return Err(Error::InvalidData(format!(
            "{}: no interactions are left after the filters (min {} per user, {} per item)",
            path.display(),
            filters.min_interactions_per_user,
            filters.min_interactions_per_item
        )));
    }
    let users = match &d.user_features {
        Some(f) => Some(read_features(&base(&f.path), f, x.users())?),
        None => None,
    };
    let items = match &d.item_features {
        Some(f) => Some(read_features(&base(&f.path), f, x.items())?),
        None => None,
    };
    let extend = |map: &Arc<IdMap>, extra: Option<&Vec<String>>| -> Arc<IdMap> {
        match extra {
            Some(e) if !e.is_empty() => {
                let mut ids = map.raw_ids().to_vec();
                ids.extend(e.iter().cloned());
                Arc::new(IdMap::from_ordered(ids))
            }
            _ => map.clone(),
        }
    };
    let um = extend(x.users(), users.as_ref().map(|u| &u.1));
    let im = extend(x.items(), items.as_ref().map(|i| &i.1));
    let x = Interactions::new(
        um,
        im,
        x.user_indices().to_vec(),
        x.item_indices().to_vec(),
        x.ratings().map(<[f32]>::to_vec),
        x.timestamps().map(<[i64]>::to_vec),
    )?;
    let ds = Dataset {
        name: path.file_name().map_or_else(
            || "interactions".into(),
            |n| n.to_string_lossy().into_owned(),
        ),
        interactions: x,
        users: users.map(|u| u.0),
        items: items.map(|i| i.0),
    };
    Ok((ds, read))
}

/// The interaction rows of the file, before the filters.
pub(crate) struct RowsRead {
    /// Data rows in the file.
    pub rows: usize,
    /// Of those, rows merged into another row of the same (user, item) pair.
    pub merged: usize,
}
