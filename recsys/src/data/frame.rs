//! Raw labelled rows as named text columns, before any feature encoding:
//! the Criteo Kaggle format (label, I1–I13, C1–C26, TAB, no header, an
//! empty field is missing), Avazu (CSV with a header; `hour` YYMMDDHH →
//! hour of day, weekday and weekend) and any delimited file with a header.
//!
//! Files are read line by line (never held whole as text), every cell of a
//! typed column is checked while reading, and errors name the file, the
//! line and the field. Encoders (`features::FeatureTask`) turn a
//! frame into model rows.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::Separator;
use crate::{Error, Result};

/// Rows of text cells in named columns (`""` = missing).
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    /// The file the rows came from (for error messages).
    pub source: PathBuf,
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Column-major cells: `cells[c][r]`.
    cells: Vec<Vec<Box<str>>>,
    /// 1-based source line of every row.
    lines: Vec<u32>,
}

/// The integer columns of the Criteo format.
pub const CRITEO_INTEGER_COLUMNS: usize = 13;
/// The categorical columns of the Criteo format.
pub const CRITEO_CATEGORICAL_COLUMNS: usize = 26;

impl RawFrame {
    /// Rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The cells of column `name`, or an error naming it and the file.
    pub fn column(&self, name: &str) -> Result<&[Box<str>]> {
        self.columns
            .iter()
            .position(|c| c == name)
            .map(|i| self.cells[i].as_slice())
            .ok_or_else(|| Error::BadFile {
                path: self.source.clone(),
                message: format!("no column {name:?} (columns: {})", self.columns.join(", ")),
            })
    }

    /// The 1-based source line of row `r`.
    pub fn line(&self, r: usize) -> usize {
        self.lines[r] as usize
    }

    /// A parse error at row `r`, field `field`.
    pub fn error(&self, r: usize, field: &str, message: impl Into<String>) -> Error {
        Error::Parse {
            path: self.source.clone(),
            line: self.line(r),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The rows `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> RawFrame {
        RawFrame {
            source: self.source.clone(),
            columns: self.columns.clone(),
            cells: self
                .cells
                .iter()
                .map(|col| idx.iter().map(|&r| col[r].clone()).collect())
                .collect(),
            lines: idx.iter().map(|&r| self.lines[r]).collect(),
        }
    }

    /// A random `(train, validation, test)` split by the peer harness's
    /// rule: `n_train = ⌊(1 − val − test)·n⌋`, `n_val = ⌊val·n⌋`, the rest
    /// test, from one seeded permutation; each part in source order.
    pub fn split_random(&self, val: f64, test: f64, seed: u64) -> Result<[RawFrame; 3]> {
        if !(val >= 0.0 && test > 0.0 && val + test < 1.0) {
            return Err(Error::Config(format!(
                "split fractions: need val ≥ 0, test > 0 and val + test < 1, got val {val}, test {test}"
            )));
        }
        let n = self.len();
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let n_val = (val * n as f64).floor() as usize;
        let n_test = (test * n as f64).floor() as usize;
        let n_train = n - n_val - n_test;
        let part = |a: usize, b: usize| {
            let mut idx = perm[a..b].to_vec();
            idx.sort_unstable();
            self.select(&idx)
        };
        Ok([
            part(0, n_train),
            part(n_train, n_train + n_val),
            part(n_train + n_val, n),
        ])
    }

    /// A frame from columns built in memory (`source` names them in
    /// errors; row `r` is reported as line `r + 1`). Every column must have
    /// the same length and every name must be new.
    pub fn from_columns(
        source: impl Into<PathBuf>,
        columns: Vec<(String, Vec<Box<str>>)>,
    ) -> Result<RawFrame> {
        let source = source.into();
        let n = columns.first().map_or(0, |(_, c)| c.len());
        for (i, (name, cells)) in columns.iter().enumerate() {
            if cells.len() != n {
                return Err(Error::BadFile {
                    path: source,
                    message: format!(
                        "column {name:?} has {} rows, the first has {n}",
                        cells.len()
                    ),
                });
            }
            if columns[..i].iter().any(|(m, _)| m == name) {
                return Err(Error::BadFile {
                    path: source,
                    message: format!("column {name:?} is given twice"),
                });
            }
        }
        let (names, cells) = columns.into_iter().unzip();
        Ok(RawFrame {
            source,
            columns: names,
            cells,
            lines: (1..=n as u32).collect(),
        })
    }

    fn new(source: &Path, columns: Vec<String>) -> RawFrame {
        RawFrame {
            source: source.to_path_buf(),
            cells: vec![Vec::new(); columns.len()],
            columns,
            lines: Vec::new(),
        }
    }

    fn push(&mut self, line: usize, row: impl IntoIterator<Item = Box<str>>) {
        for (col, cell) in self.cells.iter_mut().zip(row) {
            col.push(cell);
        }
        self.lines.push(line as u32);
    }

    /// Reads the Criteo Kaggle format: `label, I1..I13, C1..C26`, TAB
    /// separated, no header, every line 40 fields (an empty field is
    /// missing). The label must be 0 or 1 and I1..I13 integers.
    pub fn read_criteo(path: impl AsRef<Path>) -> Result<RawFrame> {
        let path = path.as_ref();
        let mut frame = RawFrame::new(path, criteo_columns());
        for_each_line(path, |line_no, line| {
            frame.push(
                line_no,
                criteo_fields(path, line_no, line)?
                    .into_iter()
                    .map(Box::from),
            );
            Ok(())
        })?;
        Ok(frame)
    }

    /// Reads the Avazu format: CSV with a header naming `click` and `hour`
    /// (and usually `id`, which is dropped). `click` (0 or 1) becomes
    /// `label`; `hour` (YYMMDDHH) becomes `hour` (00–23), `weekday` (0 =
    /// Sunday … 6) and `weekend` (1 on Saturday and Sunday), as BARS and
    /// FuxiCTR preprocess it; every other column is kept as text.
    pub fn read_avazu(path: impl AsRef<Path>) -> Result<RawFrame> {
        let path = path.as_ref();
        let raw = RawFrame::read_delimited(path, Separator::Comma)?;
        let click = raw.column("click")?;
        let hour = raw.column("hour")?;
        let mut columns = vec!["label".to_string()];
        let mut cells: Vec<Vec<Box<str>>> = vec![Vec::with_capacity(raw.len())];
        for (r, c) in click.iter().enumerate() {
            check_label(c).map_err(|m| raw.error(r, "click", m))?;
            cells[0].push(c.clone());
        }
        for (name, col) in raw.columns.iter().zip(&raw.cells) {
            match name.as_str() {
                "id" | "click" => {}
                "hour" => {
                    let mut parts = [Vec::new(), Vec::new(), Vec::new()];
                    for (r, h) in hour.iter().enumerate() {
                        let (hh, wd) = avazu_hour(h).map_err(|m| raw.error(r, "hour", m))?;
                        parts[0].push(format!("{hh:02}").into());
                        parts[1].push(wd.to_string().into());
                        parts[2].push(u8::from(wd == 0 || wd == 6).to_string().into());
                    }
                    columns.extend(["hour", "weekday", "weekend"].map(String::from));
                    cells.extend(parts);
                }
                _ => {
                    columns.push(name.clone());
                    cells.push(col.clone());
                }
            }
        }
        Ok(RawFrame {
            source: raw.source,
            columns,
            cells,
            lines: raw.lines,
        })
    }

    /// Reads any delimited file whose first line names the columns; every
    /// line must have as many fields as the header.
    pub fn read_delimited(path: impl AsRef<Path>, separator: Separator) -> Result<RawFrame> {
        let path = path.as_ref();
        let mut frame: Option<RawFrame> = None;
        let mut sep = separator;
        for_each_line(path, |line_no, line| {
            let Some(f) = frame.as_mut() else {
                if sep == Separator::Auto {
                    sep = Separator::detect(line).ok_or_else(|| Error::BadFile {
                        path: path.to_path_buf(),
                        message: format!("cannot detect the separator of the header {line:?}"),
                    })?;
                }
                let names: Vec<String> = sep.split(line).iter().map(|s| s.trim().into()).collect();
                if let Some(dup) = names
                    .iter()
                    .enumerate()
                    .find(|(i, n)| names[..*i].contains(n))
                {
                    return Err(Error::Parse {
                        path: path.to_path_buf(),
                        line: line_no,
                        field: dup.1.clone(),
                        message: "the header names this column twice".into(),
                    });
                }
                frame = Some(RawFrame::new(path, names));
                return Ok(());
            };
            let fields = sep.split(line);
            if fields.len() != f.columns.len() {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: line_no,
                    field: "(line)".into(),
                    message: format!(
                        "{} fields, the header has {}",
                        fields.len(),
                        f.columns.len()
                    ),
                });
            }
            f.push(line_no, fields.into_iter().map(|s| Box::from(s.trim())));
            Ok(())
        })?;
        frame.ok_or_else(|| Error::BadFile {
            path: path.to_path_buf(),
            message: "file is empty (a header line is needed)".into(),
        })
    }
}

/// Calls `f(line_number, line)` for every non-blank line (CR stripped),
/// reading the file in buffered pieces; invalid UTF-8 names the line.
fn criteo_columns() -> Vec<String> {
    let mut columns = vec!["label".to_string()];
    columns.extend((1..=CRITEO_INTEGER_COLUMNS).map(|i| format!("I{i}")));
    columns.extend((1..=CRITEO_CATEGORICAL_COLUMNS).map(|i| format!("C{i}")));
    columns
}

/// The checked fields of one Criteo line.
fn criteo_fields<'a>(path: &Path, line_no: usize, line: &'a str) -> Result<Vec<&'a str>> {
    let width = 1 + CRITEO_INTEGER_COLUMNS + CRITEO_CATEGORICAL_COLUMNS;
    let fields: Vec<&str> = line.split('\t').collect();
    let err = |field: &str, message: String| Error::Parse {
        path: path.to_path_buf(),
        line: line_no,
        field: field.to_string(),
        message,
    };
    if fields.len() != width {
        return Err(err(
            "(line)",
            format!(
                "{} TAB-separated fields, the Criteo format has {width}",
                fields.len()
            ),
        ));
    }
    check_label(fields[0]).map_err(|m| err("label", m))?;
    for (k, f) in fields[1..=CRITEO_INTEGER_COLUMNS].iter().enumerate() {
        if !f.is_empty() && f.parse::<i64>().is_err() {
            return Err(err(
                &format!("I{}", k + 1),
                format!("{f:?} is not an integer"),
            ));
        }
    }
    Ok(fields)
}

/// Rows of a Criteo-format file read chunk by chunk, never whole: rows
/// `skip..skip + take` (0-based data rows), `chunk_rows` at a time. What a
/// model trains on when the file does not fit in memory
/// (`ShallowCtr::fit_streamed`).
#[derive(Debug, Clone, PartialEq)]
pub struct CriteoStream {
    pub path: PathBuf,
    pub skip: usize,
    pub take: usize,
    pub chunk_rows: usize,
}

impl CriteoStream {
    /// Rows `skip..skip + take` of `path`, in chunks of 100,000.
    pub fn new(path: impl Into<PathBuf>, skip: usize, take: usize) -> CriteoStream {
        CriteoStream {
            path: path.into(),
            skip,
            take,
            chunk_rows: 100_000,
        }
    }

    /// Rows per chunk. Defaults to 100,000.
    pub fn chunk_rows(mut self, n: usize) -> Self {
        self.chunk_rows = n.max(1);
        self
    }

    /// Calls `f` with every chunk in file order (each a [`RawFrame`] whose
    /// rows keep their source lines); stops at the first error. Returns the
    /// rows read (fewer than `take` when the file ends first).
    pub fn for_each_chunk(&self, f: &mut dyn FnMut(RawFrame) -> Result<()>) -> Result<usize> {
        if self.take == 0 {
            return Ok(0);
        }
        let path = self.path.as_path();
        let mut frame = RawFrame::new(path, criteo_columns());
        let (mut row, mut read) = (0usize, 0usize);
        let mut failed = None;
        for_each_line_while(path, |line_no, line| {
            row += 1;
            if row <= self.skip {
                return Ok(true);
            }
            frame.push(
                line_no,
                criteo_fields(path, line_no, line)?
                    .into_iter()
                    .map(Box::from),
            );
            read += 1;
            if frame.len() == self.chunk_rows || read == self.take {
                let full = std::mem::replace(&mut frame, RawFrame::new(path, criteo_columns()));
                if let Err(e) = f(full) {
                    failed = Some(e);
                    return Ok(false);
                }
            }
            Ok(read < self.take)
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if !frame.is_empty() {
            f(frame)?;
        }
        Ok(read)
    }
}

fn for_each_line(path: &Path, mut f: impl FnMut(usize, &str) -> Result<()>) -> Result<()> {
    for_each_line_while(path, |n, l| f(n, l).map(|()| true))
}

/// [`for_each_line`] until `f` returns false.
fn for_each_line_while(path: &Path, mut f: impl FnMut(usize, &str) -> Result<bool>) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let line = std::str::from_utf8(&buf).map_err(|_| Error::Parse {
            path: path.to_path_buf(),
            line: line_no,
            field: "(line)".into(),
            message: "invalid UTF-8".into(),
        })?;
        let line = line.trim_end_matches(['\n', '\r']);
        if !line.trim().is_empty() && !f(line_no, line)? {
            return Ok(());
        }
    }
}

fn check_label(v: &str) -> std::result::Result<(), String> {
    match v.trim() {
        "0" | "1" => Ok(()),
        other => Err(format!("{other:?} is not a label (0 or 1)")),
    }
}

/// `YYMMDDHH` → (hour of day, weekday with Sunday = 0).
fn avazu_hour(v: &str) -> std::result::Result<(u32, u32), String> {
    let bad = || format!("{v:?} is not an hour YYMMDDHH");
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |a: usize| v[a..a + 2].parse::<u32>().map_err(|_| bad());
    let (y, m, d, h) = (2000 + n(0)? as i64, n(2)?, n(4)?, n(6)?);
    let days_in = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d == 0 || d > days_in || h > 23 {
        return Err(bad());
    }
    // Days since 1970-01-01 (a Thursday) by the civil-calendar formula.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m as i64 + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((h, (days + 4).rem_euclid(7) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("recsys-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn criteo_line(label: &str, i3: &str) -> String {
        let mut f = vec![label.to_string(), "1".into(), String::new(), i3.into()];
        f.extend((4..=13).map(|_| String::new()));
        f.extend((1..=26).map(|k| {
            if k % 2 == 0 {
                format!("{k:08x}")
            } else {
                String::new()
            }
        }));
        f.join("\t")
    }

    #[test]
    fn reads_criteo_with_missing_fields() {
        let p = file(
            "ok.txt",
            &format!("{}\n{}\n", criteo_line("0", "5"), criteo_line("1", "")),
        );
        let f = RawFrame::read_criteo(&p).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f.columns.len(), 40);
        assert_eq!(&*f.column("I3").unwrap()[0], "5");
        assert_eq!(&*f.column("I3").unwrap()[1], "");
        assert_eq!(&*f.column("C2").unwrap()[1], "00000002");
        assert_eq!(f.line(1), 2);
    }

    #[test]
    fn criteo_errors_name_line_and_field() {
        let p = file(
            "bad.txt",
            &format!("{}\n{}\n", criteo_line("0", "5"), criteo_line("1", "x7")),
        );
        let e = RawFrame::read_criteo(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.txt") && e.contains("bad.txt:2:") && e.contains("`I3`"),
            "{e}"
        );
        let p = file("label.txt", &format!("{}\n", criteo_line("2", "5")));
        let e = RawFrame::read_criteo(&p).unwrap_err().to_string();
        assert!(e.contains("label.txt:1:") && e.contains("`label`"), "{e}");
        let p = file("short.txt", "0\t1\t2\n");
        let e = RawFrame::read_criteo(&p).unwrap_err().to_string();
        assert!(e.contains("3 TAB-separated fields"), "{e}");
    }

    #[test]
    fn avazu_hour_becomes_hour_weekday_weekend() {
        let p = file(
            "avazu.csv",
            "id,click,hour,C1,site_id\n1,0,14102100,1005,a\n2,1,14102523,1002,b\n",
        );
        let f = RawFrame::read_avazu(&p).unwrap();
        assert_eq!(
            f.columns,
            ["label", "hour", "weekday", "weekend", "C1", "site_id"]
        );
        // 2014-10-21 was a Tuesday, 2014-10-25 a Saturday.
        assert_eq!(&*f.column("weekday").unwrap()[0], "2");
        assert_eq!(&*f.column("weekday").unwrap()[1], "6");
        assert_eq!(&*f.column("weekend").unwrap()[1], "1");
        assert_eq!(&*f.column("hour").unwrap()[1], "23");
        let p = file(
            "avazu_bad.csv",
            "id,click,hour\n1,0,14102100\n2,0,14133100\n",
        );
        let e = RawFrame::read_avazu(&p).unwrap_err().to_string();
        assert!(
            e.contains("avazu_bad.csv:3:") && e.contains("`hour`"),
            "{e}"
        );
    }

    #[test]
    fn delimited_rows_must_match_the_header() {
        let p = file("d.tsv", "a\tb\n1\t2\n3\n");
        let e = RawFrame::read_delimited(&p, Separator::Tab)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("d.tsv:3:") && e.contains("the header has 2"),
            "{e}"
        );
    }

    #[test]
    fn random_split_follows_the_floor_rule_and_keeps_source_order() {
        let text: String = std::iter::once("x\n".to_string())
            .chain((0..95).map(|i| format!("{i}\n")))
            .collect();
        let f = RawFrame::read_delimited(file("s.tsv", &text), Separator::Tab).unwrap();
        let [tr, va, te] = f.split_random(0.1, 0.1, 7).unwrap();
        assert_eq!((tr.len(), va.len(), te.len()), (77, 9, 9));
        let lines = |f: &RawFrame| (0..f.len()).map(|r| f.line(r)).collect::<Vec<_>>();
        assert!(lines(&tr).windows(2).all(|w| w[0] < w[1]));
        let mut all = [lines(&tr), lines(&va), lines(&te)].concat();
        all.sort_unstable();
        assert_eq!(all, (2..=96).collect::<Vec<_>>());
        assert_eq!(f.split_random(0.1, 0.1, 7).unwrap()[2], te);
    }
}
