//! What a model's fitted encoders know about their training data, used
//! against new data: a train/serve consistency check (every field of a
//! scoring batch against what training saw: columns, types, value ranges,
//! vocabulary coverage), drift between two datasets (PSI per field), and
//! the hash dictionary of hashed fields (raw value → bucket, collisions).

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::task::{Fitted, hashed_id, log_bucket, number};
use super::{ColumnRule, FeatureEncoders};
use crate::data::RawFrame;
use crate::display::{html_table, text_table};
use crate::plot::{Chart, bar_chart};
use crate::{Error, Result};

/// One field of a [`ServingCheck`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldCheck {
    pub field: String,
    /// Share of empty cells.
    pub missing: f64,
    /// Categorical fields: share of non-empty values the vocabulary does not
    /// know (they all score as out-of-vocabulary).
    pub unknown: Option<f64>,
    /// Numeric fields: share of values outside the training range (they are
    /// clipped to it).
    pub out_of_range: Option<f64>,
    /// Cells that cannot be read as this field's type.
    pub bad_cells: usize,
    /// What differs from training, in words (empty: nothing).
    pub issues: Vec<String>,
}

/// A scoring batch checked field by field against training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServingCheck {
    pub source: PathBuf,
    pub rows: usize,
    pub fields: Vec<FieldCheck>,
}

/// Limits of [`FeatureEncoders::check_serving`]: a field is reported when
/// its share of unknown values, missing values or values outside the
/// training range exceeds the training share (or 0 without a reference)
/// by more than these.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ServingLimits {
    /// Defaults to 0.10.
    pub unknown: f64,
    /// Defaults to 0.10.
    pub missing: f64,
    /// Defaults to 0.01.
    pub out_of_range: f64,
}

impl Default for ServingLimits {
    fn default() -> Self {
        ServingLimits {
            unknown: 0.10,
            missing: 0.10,
            out_of_range: 0.01,
        }
    }
}

/// The shares of one column of a frame.
struct Shares {
    missing: f64,
    unknown: Option<f64>,
    out_of_range: Option<f64>,
    bad: usize,
}

fn shares(enc: &FeatureEncoders, k: usize, frame: &RawFrame) -> Option<Shares> {
    let c = &enc.spec.columns[k];
    let cells = frame.column(&c.name).ok()?;
    let n = cells.len().max(1) as f64;
    let missing = cells.iter().filter(|s| s.is_empty()).count() as f64 / n;
    let present = cells.iter().filter(|s| !s.is_empty()).count().max(1) as f64;
    let mut out = Shares {
        missing,
        unknown: None,
        out_of_range: None,
        bad: 0,
    };
    match (&enc.fitted[k], &c.rule) {
        (Fitted::Tokens { vocab }, _) => {
            let unknown = cells
                .iter()
                .filter(|s| !s.is_empty() && vocab.id(s) == 0)
                .count();
            out.unknown = Some(unknown as f64 / present);
        }
        (Fitted::Buckets { vocab }, _) => {
            let mut unknown = 0;
            for (r, s) in cells.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
                match log_bucket(frame, r, &c.name, s) {
                    Ok(b) if vocab.id(&b) == 0 => unknown += 1,
                    Ok(_) => {}
                    Err(_) => out.bad += 1,
                }
            }
            out.unknown = Some(unknown as f64 / present);
        }
        (Fitted::MultiHot { vocab }, ColumnRule::MultiHot { separator, .. }) => {
            let (mut all, mut unknown) = (0usize, 0usize);
            for s in cells.iter().filter(|s| !s.is_empty()) {
                for t in s.split(separator.as_str()).filter(|t| !t.is_empty()) {
                    all += 1;
                    unknown += usize::from(vocab.id(t) == 0);
                }
            }
            out.unknown = Some(unknown as f64 / all.max(1) as f64);
        }
        (Fitted::Scale { min, max }, ColumnRule::Numeric { transform }) => {
            let mut outside = 0;
            for (r, s) in cells.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
                match number(frame, r, &c.name, s, *transform) {
                    Ok(x) if x < *min || x > *max => outside += 1,
                    Ok(_) => {}
                    Err(_) => out.bad += 1,
                }
            }
            out.out_of_range = Some(outside as f64 / present);
        }
        _ => {}
    }
    Some(out)
}

impl FeatureEncoders {
    /// Checks a scoring batch field by field against what these encoders
    /// were fitted on, and against `reference` (the training rows) when
    /// given: a missing column, cells of the wrong type, and shares of
    /// unknown values, missing values or values outside the training range
    /// beyond `limits` are each reported naming the field. Nothing is
    /// encoded or scored here: a batch with issues would still score, on
    /// out-of-vocabulary ids and clipped values.
    pub fn check_serving(
        &self,
        batch: &RawFrame,
        reference: Option<&RawFrame>,
        limits: ServingLimits,
    ) -> ServingCheck {
        let mut fields = Vec::with_capacity(self.spec.columns.len());
        for (k, c) in self.spec.columns.iter().enumerate() {
            let Some(now) = shares(self, k, batch) else {
                fields.push(FieldCheck {
                    field: c.name.clone(),
                    missing: 1.0,
                    unknown: None,
                    out_of_range: None,
                    bad_cells: 0,
                    issues: vec![format!("no column {:?} in the batch", c.name)],
                });
                continue;
            };
            let base = reference.and_then(|r| shares(self, k, r));
            let mut issues = Vec::new();
            if now.bad > 0 {
                issues.push(format!("{} cells are not of the field's type", now.bad));
            }
            let pct = |v: f64| format!("{:.1} %", 100.0 * v);
            let was =
                |b: Option<f64>| b.map_or(String::new(), |b| format!(" (training {})", pct(b)));
            let b_missing = base.as_ref().map(|b| b.missing);
            if now.missing > b_missing.unwrap_or(0.0) + limits.missing {
                issues.push(format!("{} missing{}", pct(now.missing), was(b_missing)));
            }
            if let Some(u) = now.unknown {
                let b = base.as_ref().and_then(|b| b.unknown);
                if u > b.unwrap_or(0.0) + limits.unknown {
                    issues.push(format!(
                        "{} of the values are not in the training vocabulary{}",
                        pct(u),
                        was(b)
                    ));
                }
            }
            if let Some(o) = now.out_of_range {
                let b = base.as_ref().and_then(|b| b.out_of_range);
                if o > b.unwrap_or(0.0) + limits.out_of_range {
                    let range = match &self.fitted[k] {
                        Fitted::Scale { min, max } => format!(" [{min}, {max}]"),
                        _ => String::new(),
                    };
                    issues.push(format!(
                        "{} of the values outside the training range{range}",
                        pct(o)
                    ));
                }
            }
            fields.push(FieldCheck {
                field: c.name.clone(),
                missing: now.missing,
                unknown: now.unknown,
                out_of_range: now.out_of_range,
                bad_cells: now.bad,
                issues,
            });
        }
        ServingCheck {
            source: batch.source.clone(),
            rows: batch.len(),
            fields,
        }
    }

    /// Population stability index of every field between `reference` and
    /// `current`: numbers binned on the reference's deciles, categorical
    /// and bucketed fields over the reference's 20 most frequent values
    /// plus one bin for the rest (unknown values included), multi-hot
    /// fields over their tokens the same way; hashed fields over their
    /// buckets' 20 most frequent.
    pub fn drift(&self, reference: &RawFrame, current: &RawFrame) -> Result<DriftReport> {
        let mut fields = Vec::new();
        for (k, c) in self.spec.columns.iter().enumerate() {
            let keys = |frame: &RawFrame| -> Result<Vec<String>> {
                let cells = frame.column(&c.name)?;
                let mut out = Vec::with_capacity(cells.len());
                for (r, s) in cells.iter().enumerate() {
                    match (&self.fitted[k], &c.rule) {
                        (Fitted::Buckets { .. }, _) => out.push(log_bucket(frame, r, &c.name, s)?),
                        (Fitted::Hashed { buckets }, _) => {
                            out.push(hashed_id(s, *buckets).to_string())
                        }
                        (Fitted::MultiHot { .. }, ColumnRule::MultiHot { separator, .. }) => {
                            out.extend(s.split(separator.as_str()).map(str::to_string))
                        }
                        _ => out.push(s.to_string()),
                    }
                }
                Ok(out)
            };
            let (psi, bins, kind) = match (&self.fitted[k], &c.rule) {
                (Fitted::Scale { .. }, ColumnRule::Numeric { transform }) => {
                    let nums = |frame: &RawFrame| -> Result<Vec<f64>> {
                        let cells = frame.column(&c.name)?;
                        cells
                            .iter()
                            .enumerate()
                            .map(|(r, s)| number(frame, r, &c.name, s, *transform))
                            .collect()
                    };
                    let (a, b) = (nums(reference)?, nums(current)?);
                    let (psi, bins) = numeric_psi(&a, &b, 10);
                    (psi, bins, "numeric")
                }
                _ => {
                    let (psi, bins) = categorical_psi(&keys(reference)?, &keys(current)?, 20);
                    (psi, bins, "categorical")
                }
            };
            fields.push(FieldDrift {
                field: c.name.clone(),
                kind: kind.into(),
                psi,
                bins,
            });
        }
        Ok(DriftReport {
            reference: reference.source.clone(),
            current: current.source.clone(),
            fields,
        })
    }

    /// The hash dictionary of a hashed field: every distinct value of
    /// `frame`'s column with its bucket, and per bucket how many distinct
    /// values share it (a collision when more than one).
    pub fn hash_dictionary(&self, field: &str, frame: &RawFrame) -> Result<HashDictionary> {
        let k = self
            .spec
            .columns
            .iter()
            .position(|c| c.name == field)
            .ok_or_else(|| Error::param(field, "no such field in the encoders"))?;
        let Fitted::Hashed { buckets } = self.fitted[k] else {
            return Err(Error::param(
                field,
                "not a hashed field (ColumnRule::Hashed)",
            ));
        };
        let mut values: Vec<&str> = frame
            .column(field)?
            .iter()
            .map(|s| &**s)
            .filter(|s| !s.is_empty())
            .collect();
        values.sort_unstable();
        values.dedup();
        let entries: Vec<(String, u32)> = values
            .iter()
            .map(|v| (v.to_string(), hashed_id(v, buckets)))
            .collect();
        let mut per_bucket: HashMap<u32, usize> = HashMap::new();
        for (_, b) in &entries {
            *per_bucket.entry(*b).or_insert(0) += 1;
        }
        let colliding = entries.iter().filter(|(_, b)| per_bucket[b] > 1).count();
        Ok(HashDictionary {
            field: field.into(),
            buckets,
            used_buckets: per_bucket.len(),
            colliding_values: colliding,
            entries,
        })
    }
}

/// The hash dictionary of one hashed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashDictionary {
    pub field: String,
    pub buckets: usize,
    /// Distinct buckets the values fall in.
    pub used_buckets: usize,
    /// Values that share their bucket with at least one other value.
    pub colliding_values: usize,
    /// `(raw value, bucket id)`, values sorted.
    pub entries: Vec<(String, u32)>,
}

impl HashDictionary {
    /// The dictionary as JSON (written atomically).
    pub fn save_json(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), &serde_json::to_vec_pretty(self)?)
    }
}

impl std::fmt::Display for HashDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} distinct values in {} of {} buckets; {} values share a bucket",
            self.field,
            self.entries.len(),
            self.used_buckets,
            self.buckets,
            self.colliding_values
        )
    }
}

/// PSI of `current` against `reference` over the reference's deciles.
fn numeric_psi(reference: &[f64], current: &[f64], bins: usize) -> (f64, usize) {
    let mut sorted: Vec<f64> = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() || current.is_empty() {
        return (f64::NAN, 0);
    }
    let mut edges: Vec<f64> = (1..bins).map(|q| sorted[q * sorted.len() / bins]).collect();
    edges.dedup();
    let bin = |x: f64| edges.partition_point(|&e| e <= x);
    let count = |xs: &[f64]| {
        let mut c = vec![0usize; edges.len() + 1];
        xs.iter().for_each(|&x| c[bin(x)] += 1);
        c
    };
    (psi(&count(reference), &count(current)), edges.len() + 1)
}

/// PSI over the reference's `top` most frequent keys plus one bin for the
/// rest.
fn categorical_psi(reference: &[String], current: &[String], top: usize) -> (f64, usize) {
    if reference.is_empty() || current.is_empty() {
        return (f64::NAN, 0);
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    reference
        .iter()
        .for_each(|k| *counts.entry(k).or_insert(0) += 1);
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let index: HashMap<&str, usize> = ranked
        .iter()
        .take(top)
        .enumerate()
        .map(|(i, (k, _))| (*k, i))
        .collect();
    let n = index.len() + 1;
    let count = |xs: &[String]| {
        let mut c = vec![0usize; n];
        xs.iter()
            .for_each(|k| c[index.get(k.as_str()).copied().unwrap_or(n - 1)] += 1);
        c
    };
    (psi(&count(reference), &count(current)), n)
}

/// `Σ (cᵢ − rᵢ) ln(cᵢ / rᵢ)` over bin shares, each share at least 1e-4.
fn psi(reference: &[usize], current: &[usize]) -> f64 {
    let (nr, nc) = (
        reference.iter().sum::<usize>().max(1) as f64,
        current.iter().sum::<usize>().max(1) as f64,
    );
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (r, c) = ((r as f64 / nr).max(1e-4), (c as f64 / nc).max(1e-4));
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// PSI of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDrift {
    pub field: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    pub psi: f64,
    pub bins: usize,
}

impl FieldDrift {
    /// The usual reading of a PSI: below 0.1 stable, up to 0.25 moderate,
    /// above it a significant shift.
    pub fn level(&self) -> &'static str {
        match self.psi {
            p if p < 0.1 => "stable",
            p if p <= 0.25 => "moderate",
            p if p > 0.25 => "significant",
            _ => "–",
        }
    }
}

/// Drift of every field between two datasets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub reference: PathBuf,
    pub current: PathBuf,
    pub fields: Vec<FieldDrift>,
}

impl DriftReport {
    fn headers() -> Vec<String> {
        ["field", "kind", "bins", "PSI", "reading"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.fields
            .iter()
            .map(|f| {
                vec![
                    f.field.clone(),
                    f.kind.clone(),
                    f.bins.to_string(),
                    format!("{:.4}", f.psi),
                    f.level().into(),
                ]
            })
            .collect()
    }
    /// The table as HTML.
    pub fn to_html(&self) -> String {
        html_table(
            Some("drift (PSI per field)"),
            &Self::headers(),
            &self.rows(),
        )
    }
    /// PSI per field as bars.
    pub fn chart(&self) -> Chart {
        bar_chart(
            "Population stability index per field",
            "field",
            "PSI",
            self.fields.iter().map(|f| f.field.clone()).collect(),
            self.fields.iter().map(|f| f.psi).collect(),
        )
    }
    /// Shows the table in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for DriftReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "drift of {} against {}",
            self.current.display(),
            self.reference.display()
        )?;
        f.write_str(&text_table(&Self::headers(), &self.rows()))
    }
}

impl ServingCheck {
    /// True when no field has an issue.
    pub fn is_ok(&self) -> bool {
        self.fields.iter().all(|f| f.issues.is_empty())
    }
    /// `field: issue` for every issue.
    pub fn problems(&self) -> Vec<String> {
        self.fields
            .iter()
            .flat_map(|f| f.issues.iter().map(move |i| format!("{}: {i}", f.field)))
            .collect()
    }
    fn headers() -> Vec<String> {
        [
            "field",
            "missing",
            "unknown values",
            "outside training range",
            "bad cells",
            "issues",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.1} %", 100.0 * v));
        self.fields
            .iter()
            .map(|f| {
                vec![
                    f.field.clone(),
                    pct(Some(f.missing)),
                    pct(f.unknown),
                    pct(f.out_of_range),
                    f.bad_cells.to_string(),
                    if f.issues.is_empty() {
                        "ok".into()
                    } else {
                        f.issues.join("; ")
                    },
                ]
            })
            .collect()
    }
    /// The table as HTML.
    pub fn to_html(&self) -> String {
        html_table(
            Some(&format!(
                "serving check: {} rows of {}",
                self.rows,
                self.source.display()
            )),
            &Self::headers(),
            &self.rows(),
        )
    }
    /// Shows the table in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for ServingCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "serving check of {} rows of {}: {}",
            self.rows,
            self.source.display(),
            if self.is_ok() {
                "consistent with training".to_string()
            } else {
                format!("{} issues", self.problems().len())
            }
        )?;
        f.write_str(&text_table(&Self::headers(), &self.rows()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{ColumnSpec, FeatureSpec, NumericTransform};

    fn frame(cols: Vec<(&str, Vec<&str>)>) -> RawFrame {
        RawFrame::from_columns(
            "batch.tsv",
            cols.into_iter()
                .map(|(n, v)| (n.to_string(), v.into_iter().map(Box::from).collect()))
                .collect(),
        )
        .unwrap()
    }

    fn encoders() -> (FeatureEncoders, RawFrame) {
        let spec = FeatureSpec {
            label: "y".into(),
            group: None,
            graded: None,
            columns: vec![
                ColumnSpec::new("city", ColumnRule::Categorical { min_count: 1 }),
                ColumnSpec::new(
                    "price",
                    ColumnRule::Numeric {
                        transform: NumericTransform::None,
                    },
                ),
                ColumnSpec::new("ad", ColumnRule::Hashed { buckets: 4 }),
            ],
            dim: 4,
        };
        let train = frame(vec![
            ("y", vec!["1", "0", "1", "0"]),
            ("city", vec!["a", "b", "a", "b"]),
            ("price", vec!["1", "2", "3", "4"]),
            ("ad", vec!["x1", "x2", "x3", "x4"]),
        ]);
        (FeatureEncoders::fit(spec, &train).unwrap(), train)
    }

    #[test]
    fn a_train_serve_mismatch_is_reported_naming_each_field() {
        let (enc, train) = encoders();
        assert!(
            enc.check_serving(&train, Some(&train), ServingLimits::default())
                .is_ok()
        );
        let batch = frame(vec![
            ("y", vec!["1", "0", "1", "0"]),
            ("city", vec!["a", "z", "q", ""]),
            ("price", vec!["1", "9", "-3", "abc"]),
        ]);
        let check = enc.check_serving(&batch, Some(&train), ServingLimits::default());
        let p = check.problems();
        assert!(
            p.iter()
                .any(|s| s.starts_with("city:") && s.contains("vocabulary")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|s| s.starts_with("city:") && s.contains("missing")),
            "{p:?}"
        );
        assert!(p.iter().any(|s| s.starts_with("price:") && s.contains("outside the training range [1, 4]")), "{p:?}");
        assert!(
            p.iter()
                .any(|s| s.starts_with("price:") && s.contains("1 cells")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|s| s.starts_with("ad:") && s.contains("no column")),
            "{p:?}"
        );
        let text = check.to_string();
        assert!(
            text.contains("issues") && check.to_html().contains("<table"),
            "{text}"
        );
    }

    #[test]
    fn psi_is_zero_for_the_same_data_and_grows_with_a_shift() {
        let (enc, train) = encoders();
        let same = enc.drift(&train, &train).unwrap();
        assert!(same.fields.iter().all(|f| f.psi.abs() < 1e-9), "{same}");
        let shifted = frame(vec![
            ("y", vec!["1", "0", "1", "0"]),
            ("city", vec!["b", "b", "b", "b"]),
            ("price", vec!["9", "9", "8", "7"]),
            ("ad", vec!["x1", "x1", "x1", "x1"]),
        ]);
        let d = enc.drift(&train, &shifted).unwrap();
        for f in &d.fields {
            assert!(f.psi > 0.25, "{}: {}", f.field, f.psi);
            assert_eq!(f.level(), "significant");
        }
        assert!(d.to_html().contains("PSI"));
        // Hand check: two bins, shares (0.5, 0.5) → (0, 1) with the floor 1e-4.
        let p = psi(&[2, 2], &[0, 4]);
        let want = (1e-4 - 0.5) * (1e-4f64 / 0.5).ln() + 0.5 * 2f64.ln();
        assert!((p - want).abs() < 1e-12, "{p} vs {want}");
    }

    #[test]
    fn the_hash_dictionary_lists_buckets_and_collisions() {
        let (enc, train) = encoders();
        let d = enc.hash_dictionary("ad", &train).unwrap();
        assert_eq!(d.entries.len(), 4);
        assert!(
            d.entries
                .iter()
                .all(|(v, b)| *b == hashed_id(v, 4) && (1..=4).contains(b))
        );
        let shared = d.entries.len() - d.used_buckets;
        assert!(d.colliding_values >= shared, "{d}");
        assert!(enc.hash_dictionary("city", &train).is_err());
    }

    #[test]
    fn the_registry_is_one_versioned_artefact_with_its_hash_settings() {
        let (enc, train) = encoders();
        let text = serde_json::to_string(&enc).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format"], crate::features::REGISTRY_FORMAT);
        assert_eq!(v["hash"]["algorithm"], "xxh3_64");
        assert_eq!(v["hash"]["seed"], crate::features::FEATURE_HASH_SEED);
        let back: FeatureEncoders = serde_json::from_str(&text).unwrap();
        assert_eq!(back.encode(&train).unwrap(), enc.encode(&train).unwrap());
        // Written before the fields existed: still read.
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("format");
        old.as_object_mut().unwrap().remove("hash");
        assert!(serde_json::from_value::<FeatureEncoders>(old).is_ok());
        let mut newer = v.clone();
        newer["format"] = serde_json::json!(99);
        let e = serde_json::from_value::<FeatureEncoders>(newer)
            .unwrap_err()
            .to_string();
        assert!(e.contains("format 99"), "{e}");
        let mut other = v;
        other["hash"]["seed"] = serde_json::json!(7);
        let e = serde_json::from_value::<FeatureEncoders>(other)
            .unwrap_err()
            .to_string();
        assert!(e.contains("seed 0x7"), "{e}");
    }
}
