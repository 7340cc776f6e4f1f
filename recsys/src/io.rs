//! Writing files so that nothing a user has is lost: every output of the
//! crate (reports, models, checkpoints, charts, candidate files, configs)
//! goes through [`write_atomic`].

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file beside it is
/// written, flushed to disk (`fsync`) and renamed over `path`, so a reader or
/// a crash sees either the old file or the whole new one. The temporary file
/// is removed on every error path, and errors name `path`.
///
/// A symbolic link is written through (its regular target is replaced); a
/// path that exists and is not a regular file (a device such as `/dev/full`,
/// a FIFO, a directory) is refused rather than replaced by a regular file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_target(path)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(path, e))?;
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &target)?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// The regular file that `path` names: `path` itself, or the final target
/// of a symbolic link. Special files are an error naming `path`.
fn resolve_target(path: &Path) -> Result<PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(target),
            Err(e) => return Err(Error::io(path, e)),
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&target).map_err(|e| Error::io(path, e))?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_file() => return Ok(target),
            Ok(_) => {
                return Err(Error::BadFile {
                    path: path.to_path_buf(),
                    message: "is not a regular file (a device, FIFO, socket or directory); \
                              refusing to replace it: give the path of a regular file"
                        .into(),
                });
            }
        }
    }
    Err(Error::BadFile {
        path: path.to_path_buf(),
        message: "too many levels of symbolic links".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "recsys-io-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn replaces_whole_files_and_leaves_no_temporary() {
        let d = dir().join("a");
        let p = d.join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn refuses_special_files_and_names_the_users_path() {
        let d = dir().join("b");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        let e = write_atomic(&d.join("sub"), b"x").unwrap_err().to_string();
        assert!(e.contains("sub") && e.contains("not a regular file"), "{e}");
        assert!(d.join("sub").is_dir());
        #[cfg(unix)]
        {
            let e = write_atomic(std::path::Path::new("/dev/null"), b"x").unwrap_err();
            assert!(e.to_string().contains("/dev/null"), "{e}");
            use std::os::unix::fs::FileTypeExt;
            assert!(
                std::fs::metadata("/dev/null")
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn writes_through_symlinks() {
        let d = dir().join("c");
        std::fs::create_dir_all(&d).unwrap();
        let real = d.join("real.txt");
        std::fs::write(&real, b"old").unwrap();
        let link = d.join("link.txt");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }
}
