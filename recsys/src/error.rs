//! One crate-wide error type and `Result` alias.

use std::path::PathBuf;

/// Everything that can go wrong in recsys.
///
/// Input problems name the file, the 1-based line and the field, so a user can
/// open the file at the right place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of an input file could not be parsed.
    #[error("{path}:{line}: field `{field}`: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    /// An input file is structurally unusable (empty, wrong separator, ...).
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    /// A downloaded or cached file does not have the expected checksum.
    #[error(
        "{path}: checksum mismatch (expected {expected}, got {actual}); delete the file to fetch it again"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A dataset is neither cached, in `RECSYS_DATA_DIR`, nor downloadable.
    #[error("dataset {dataset} not available: {message}")]
    DatasetUnavailable { dataset: String, message: String },
    /// A hyper-parameter is out of range or unknown.
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParam { name: String, message: String },
    /// A configuration (TOML or command line) is invalid.
    #[error("config: {0}")]
    Config(String),
    /// Data is valid on its own but not for the requested operation.
    #[error("{0}")]
    InvalidData(String),
    /// An error from polars while building a DataFrame.
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn param(name: &str, message: impl Into<String>) -> Self {
        Error::InvalidParam {
            name: name.to_string(),
            message: message.into(),
        }
    }
}
