//! Finding dataset files: `RECSYS_DATA_DIR`, the `data/` cache, or a download
//! from the official source; every file is checked against a known checksum.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::{Error, Result};

/// How a file's bytes are checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Checksum {
    /// SHA-256 of the file.
    Sha256(&'static str),
    /// Git blob id (SHA-1 of `blob <len>\0<bytes>`), for files only known by it.
    GitBlob(&'static str),
}

/// A dataset archive and where its files live inside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    /// Dataset name for messages.
    pub name: &'static str,
    /// Folder under the data directory (and inside the zip).
    pub dir: &'static str,
    /// Official download URL of the zip.
    pub url: &'static str,
}

/// The download cache: `RECSYS_CACHE_DIR`, else the repository's `data/`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("RECSYS_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("data")
        })
}

/// Path of `file` of `source`, verified; downloads the archive into the cache
/// when the file is in neither `RECSYS_DATA_DIR` nor the cache.
pub(crate) fn locate(source: &Source, file: &str, check: Checksum) -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os("RECSYS_DATA_DIR") {
        let p = PathBuf::from(dir).join(source.dir).join(file);
        if p.is_file() {
            verify(&p, check)?;
            return Ok(p);
        }
        tried.push(p);
    }
    let cached = cache_dir().join(source.dir).join(file);
    if cached.is_file() {
        verify(&cached, check)?;
        return Ok(cached);
    }
    tried.push(cached.clone());
    fetch(source, file, &cached, &tried)?;
    verify(&cached, check)?;
    Ok(cached)
}

#[cfg(feature = "download")]
fn fetch(source: &Source, file: &str, dest: &Path, _tried: &[PathBuf]) -> Result<()> {
    let unavailable = |message: String| Error::DatasetUnavailable {
        dataset: source.name.to_string(),
        message,
    };
    let zip_path = cache_dir().join(format!("{}.zip", source.dir));
    if !zip_path.is_file() {
        eprintln!("downloading {} from {}", source.name, source.url);
        let mut resp = ureq::get(source.url)
            .call()
            .map_err(|e| unavailable(format!("download of {} failed: {e}", source.url)))?;
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| unavailable(format!("download of {} failed: {e}", source.url)))?;
        crate::io::write_atomic(&zip_path, &bytes)?;
    }
    let f = std::fs::File::open(&zip_path).map_err(|e| Error::io(&zip_path, e))?;
    let mut archive = zip::ZipArchive::new(f).map_err(|e| Error::BadFile {
        path: zip_path.clone(),
        message: format!("not a zip archive ({e}); delete it to download again"),
    })?;
    let inner = format!("{}/{}", source.dir, file);
    let mut entry = archive.by_name(&inner).map_err(|_| Error::BadFile {
        path: zip_path.clone(),
        message: format!("archive has no {inner}"),
    })?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&zip_path, e))?;
    crate::io::write_atomic(dest, &bytes)
}

#[cfg(not(feature = "download"))]
fn fetch(source: &Source, file: &str, _dest: &Path, tried: &[PathBuf]) -> Result<()> {
    Err(Error::DatasetUnavailable {
        dataset: source.name.to_string(),
        message: format!(
            "{file} not found (looked at {tried:?}) and recsys was built without the `download` \
             feature; set RECSYS_DATA_DIR to a folder holding {}/",
            source.dir
        ),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `path` against `check`.
pub(crate) fn verify(path: &Path, check: Checksum) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (expected, actual) = match check {
        Checksum::Sha256(exp) => (exp, hex(&sha2::Sha256::digest(&bytes))),
        Checksum::GitBlob(exp) => {
            let mut h = sha1::Sha1::new();
            h.update(format!("blob {}\0", bytes.len()).as_bytes());
            h.update(&bytes);
            (exp, hex(&h.finalize()))
        }
    };
    if actual != expected {
        return Err(Error::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}
