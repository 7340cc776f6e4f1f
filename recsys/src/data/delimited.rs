//! Reading delimited text files (TSV, CSV, `::`, `|`, whitespace) with errors
//! that name the file, line and field.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The field separator of a delimited file.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Separator {
    /// Detect from the first line: tab, `::`, `,`, `|`, `;`, then whitespace.
    #[default]
    Auto,
    Tab,
    Comma,
    Pipe,
    Semicolon,
    /// The two-character `::` of MovieLens 1M/10M.
    DoubleColon,
    /// One or more spaces or tabs.
    Whitespace,
}

impl Separator {
    pub(crate) fn split<'a>(&self, line: &'a str) -> Vec<&'a str> {
        match self {
            Separator::Tab => line.split('\t').collect(),
            Separator::Comma => line.split(',').collect(),
            Separator::Pipe => line.split('|').collect(),
            Separator::Semicolon => line.split(';').collect(),
            Separator::DoubleColon => line.split("::").collect(),
            Separator::Whitespace | Separator::Auto => line.split_whitespace().collect(),
        }
    }

    /// Picks a separator for `line`, or `None` when no candidate splits it.
    pub fn detect(line: &str) -> Option<Separator> {
        [
            Separator::Tab,
            Separator::DoubleColon,
            Separator::Comma,
            Separator::Pipe,
            Separator::Semicolon,
            Separator::Whitespace,
        ]
        .into_iter()
        .find(|s| s.split(line.trim()).len() >= 2)
    }
}

/// Text encoding of a file (`utf8` or `latin1` in configs and on the
/// command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// UTF-8; invalid bytes are an error naming the line.
    #[default]
    Utf8,
    /// ISO-8859-1, as MovieLens `movies.dat` / `u.item` use.
    Latin1,
}

impl Encoding {
    /// Parses `utf8` (or `utf-8`) and `latin1` (or `iso-8859-1`).
    pub fn from_name(name: &str) -> Result<Encoding> {
        match name.trim().to_ascii_lowercase().as_str() {
            "utf8" | "utf-8" => Ok(Encoding::Utf8),
            "latin1" | "latin-1" | "iso-8859-1" => Ok(Encoding::Latin1),
            other => Err(Error::Config(format!(
                "unknown encoding {other:?} (utf8, latin1)"
            ))),
        }
    }
}

/// Reads a whole file, mapping I/O errors to [`Error::Io`] with the path.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// A parsed record: its 1-based line number and its fields.
pub struct Record<'a> {
    pub path: &'a Path,
    pub line: usize,
    pub fields: Vec<&'a str>,
}

impl<'a> Record<'a> {
    /// The field at `idx`, or an error naming `name` when the line is short.
    pub fn field(&self, idx: usize, name: &str) -> Result<&'a str> {
        self.fields.get(idx).copied().ok_or_else(|| {
            self.error(
                name,
                format!(
                    "missing (line has {} fields, expected at least {})",
                    self.fields.len(),
                    idx + 1
                ),
            )
        })
    }

    /// Parses field `idx` as `T`, naming `name` in the error.
    pub fn parse<T: std::str::FromStr>(&self, idx: usize, name: &str) -> Result<T> {
        let raw = self.field(idx, name)?.trim();
        raw.parse::<T>().map_err(|_| {
            self.error(
                name,
                format!("cannot parse {raw:?} as {}", short_type::<T>()),
            )
        })
    }

    /// An [`Error::Parse`] at this record.
    pub fn error(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line: self.line,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

fn short_type<T>() -> &'static str {
    let n = std::any::type_name::<T>();
    n.rsplit("::").next().unwrap_or(n)
}

/// The lines of a file split into fields, with the header (if any) split off.
pub struct Table {
    pub path: PathBuf,
    pub separator: Separator,
    pub header: Option<Vec<String>>,
    text: String,
    first_data_line: usize,
}

impl Table {
    /// Reads `path`. `header = None` detects a header: the first line is a
    /// header when its first field is not a number and some later line's is,
    /// or when it names a known column (`user`, `item`, ...).
    pub fn read(
        path: &Path,
        separator: Separator,
        header: Option<bool>,
        encoding: Encoding,
    ) -> Result<Table> {
        let bytes = read_bytes(path)?;
        let text = match encoding {
            Encoding::Latin1 => bytes.iter().map(|&b| b as char).collect(),
            Encoding::Utf8 => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => {
                    let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
                    return Err(invalid_utf8(path, line));
                }
            },
        };
        // A UTF-8 byte-order mark (spreadsheet exports) is not part of the
        // first column's name.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((first_idx, first)) = lines.next() else {
            return Err(empty_file(path));
        };
        let second = lines.next().map(|(_, l)| l);
        let (separator, header) = layout(path, first, second, separator, header)?;
        let first_data_line = if header.is_some() {
            first_idx + 1
        } else {
            first_idx
        };
        Ok(Table {
            path: path.to_path_buf(),
            separator,
            header,
            text,
            first_data_line,
        })
    }

    /// Iterates the data records (blank lines skipped).
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        self.text
            .lines()
            .enumerate()
            .skip(self.first_data_line)
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| Record {
                path: &self.path,
                line: i + 1,
                fields: self.separator.split(l.trim_end_matches('\r')),
            })
    }
}

fn invalid_utf8(path: &Path, line: usize) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        field: "(line)".into(),
        message: "invalid UTF-8: if the file is Latin-1 (ISO-8859-1), say so \
                  (`--encoding latin1`, `encoding = \"latin1\"` in a config, \
                  `Encoding::Latin1` in code)"
            .into(),
    }
}

fn empty_file(path: &Path) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        message: "file is empty".into(),
    }
}

/// The separator and the header (if any) of a file from its first two
/// non-empty lines. `header = None` detects a header: the first line is one
/// when its first field names a known column (`user`, `item`, ...), or when
/// none of its fields is a number while the second line's first field is.
fn layout(
    path: &Path,
    first: &str,
    second: Option<&str>,
    separator: Separator,
    header: Option<bool>,
) -> Result<(Separator, Option<Vec<String>>)> {
    let first = first.trim_end_matches('\r');
    let separator = match separator {
        Separator::Auto => Separator::detect(first).ok_or_else(|| Error::BadFile {
            path: path.to_path_buf(),
            message: format!(
                "cannot detect the separator from the first line {first:?} \
                 (tried tab, '::', ',', '|', ';', whitespace); name it explicitly"
            ),
        })?,
        s => s,
    };
    let first_fields = separator.split(first);
    let is_header = match header {
        Some(h) => h,
        None => {
            const NAMES: [&str; 10] = [
                "user",
                "item",
                "userid",
                "itemid",
                "user_id",
                "item_id",
                "movieid",
                "movie_id",
                "sessionid",
                "rating",
            ];
            let f0 = first_fields[0].trim().to_ascii_lowercase();
            // Column names are text: a first line with a number in it is
            // data (a string user id followed by numbers is not a header).
            let all_text = first_fields
                .iter()
                .all(|f| f.trim().parse::<f64>().is_err());
            NAMES.contains(&f0.as_str())
                || (all_text
                    && second.is_some_and(|l| {
                        separator.split(l.trim_end_matches('\r'))[0]
                            .trim()
                            .parse::<f64>()
                            .is_ok()
                    }))
        }
    };
    let header = is_header.then(|| first_fields.iter().map(|s| s.trim().to_string()).collect());
    Ok((separator, header))
}

/// A delimited file read line by line, in memory bounded by its longest line:
/// the separator and header come from the first two non-empty lines (as
/// [`Table::read`] decides them), then [`Stream::for_each`] hands every data
/// record to a callback.
pub struct Stream {
    pub path: PathBuf,
    pub separator: Separator,
    pub header: Option<Vec<String>>,
    reader: std::io::BufReader<std::fs::File>,
    encoding: Encoding,
    /// Lines read ahead for the layout: (1-based line number, text).
    ahead: std::collections::VecDeque<(usize, String)>,
    line: usize,
    bytes: Vec<u8>,
}

impl Stream {
    /// Opens `path` and reads its layout (see [`Table::read`]).
    pub fn open(
        path: &Path,
        separator: Separator,
        header: Option<bool>,
        encoding: Encoding,
    ) -> Result<Stream> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut s = Stream {
            path: path.to_path_buf(),
            separator: Separator::Auto,
            header: None,
            reader: std::io::BufReader::with_capacity(1 << 16, file),
            encoding,
            ahead: Default::default(),
            line: 0,
            bytes: Vec::new(),
        };
        for _ in 0..2 {
            let mut text = String::new();
            if let Some(n) = s.read_line(&mut text)? {
                s.ahead.push_back((n, text));
            }
        }
        let Some((_, first)) = s.ahead.front() else {
            return Err(empty_file(path));
        };
        let second = s.ahead.get(1).map(|(_, l)| l.as_str());
        let (sep, head) = layout(path, first, second, separator, header)?;
        if head.is_some() {
            s.ahead.pop_front();
        }
        (s.separator, s.header) = (sep, head);
        Ok(s)
    }

    /// The number of fields of the first data line (0 when there is none).
    pub fn first_width(&self) -> usize {
        self.ahead
            .front()
            .map_or(0, |(_, l)| self.separator.split(l).len())
    }

    /// Reads the next non-empty line into `out` (without its line break);
    /// returns its 1-based number, or `None` at the end of the file.
    fn read_line(&mut self, out: &mut String) -> Result<Option<usize>> {
        use std::io::BufRead;
        loop {
            self.bytes.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.bytes)
                .map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let mut b = self.bytes.as_slice();
            while let [rest @ .., b'\n' | b'\r'] = b {
                b = rest;
            }
            out.clear();
            match self.encoding {
                Encoding::Latin1 => out.extend(b.iter().map(|&c| c as char)),
                Encoding::Utf8 => {
                    if self.line == 1 {
                        b = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
                    }
                    let text =
                        std::str::from_utf8(b).map_err(|_| invalid_utf8(&self.path, self.line))?;
                    out.push_str(text);
                }
            }
            if !out.trim().is_empty() {
                return Ok(Some(self.line));
            }
        }
    }

    /// Calls `f` with every data record, in file order (blank lines
    /// skipped); stops at the first error.
    pub fn for_each(mut self, mut f: impl FnMut(&Record<'_>) -> Result<()>) -> Result<()> {
        let path = self.path.clone();
        let separator = self.separator.clone();
        let mut text = String::new();
        loop {
            let line = match self.ahead.pop_front() {
                Some((n, t)) => {
                    text = t;
                    n
                }
                None => match self.read_line(&mut text)? {
                    Some(n) => n,
                    None => return Ok(()),
                },
            };
            f(&Record {
                path: &path,
                line,
                fields: separator.split(&text),
            })?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_separators() {
        assert_eq!(Separator::detect("1\t2"), Some(Separator::Tab));
        assert_eq!(Separator::detect("1::2::3"), Some(Separator::DoubleColon));
        assert_eq!(Separator::detect("1,2"), Some(Separator::Comma));
        assert_eq!(Separator::detect("1 2"), Some(Separator::Whitespace));
        assert_eq!(Separator::detect("12"), None);
    }
}
