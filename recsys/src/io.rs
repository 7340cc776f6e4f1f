//! Writing files so that nothing a user has is lost: every output of the
//! crate (reports, charts, candidate files, configs) goes through
//! [`write_atomic`], and every folder of files that belong together (a saved
//! model, a training checkpoint) through [`write_folder_atomic`].

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
    write_atomic_with(path, |w| w.write_all(bytes).map_err(|e| Error::io(path, e)))
}

/// [`write_atomic`] for output produced piece by piece: `fill` writes into
/// a buffered writer on the temporary file (so the whole output never has
/// to be in memory); only when it returns `Ok` is the file flushed, synced
/// and renamed over `path`. On an error nothing at `path` changes.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let target = resolve_target(path)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(path, e))?;
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let cleanup = |e: Error| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    let file = std::fs::File::create(&tmp).map_err(|e| cleanup(Error::io(path, e)))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    fill(&mut w).map_err(cleanup)?;
    let finished = (|| -> std::io::Result<()> {
        let f = w.into_inner().map_err(|e| e.into_error())?;
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
    finished.map_err(|e| cleanup(Error::io(path, e)))
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

/// Writes the files of one folder all-or-nothing: they go into a fresh
/// generation folder beside `path` (`.NAME.gen-…`), each flushed to disk,
/// and `path` becomes a symbolic link to it by one atomic rename; the
/// previous generation is removed only after that. A crash at any moment
/// leaves `path` naming the whole previous folder or the whole new one,
/// never a mix (generation folders a crash left behind are removed by the
/// next write). A `path` that is a plain folder (an older layout) is moved
/// aside first.
pub fn write_folder_atomic(path: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    write_folder_steps(path, files, &mut injected_fault)
}

thread_local! {
    /// Steps left before an injected failure ([`inject_write_fault`]).
    static WRITE_FAULT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Fault injection for tests: the folder writes of [`write_folder_atomic`]
/// on this thread fail, as a crash there would stop them, at their `at`-th
/// step from now (0-based; a step is creating the generation folder,
/// writing one file, linking, renaming, or removing old generations;
/// counted across writes). `None` turns it off. Returns the steps that were
/// still left (`None`: the fault fired, or none was set).
#[doc(hidden)]
pub fn inject_write_fault(at: Option<usize>) -> Option<usize> {
    WRITE_FAULT.with(|f| f.replace(at))
}

fn injected_fault() -> std::io::Result<()> {
    WRITE_FAULT.with(|f| match f.get() {
        Some(0) => {
            f.set(None);
            Err(std::io::Error::other("injected fault (a crash here)"))
        }
        Some(n) => {
            f.set(Some(n - 1));
            Ok(())
        }
        None => Ok(()),
    })
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// [`write_folder_atomic`] with `step()` called before every write, rename
/// and removal (a test stops there to play a crash).
fn write_folder_steps(
    path: &Path,
    files: &[(&str, &[u8])],
    step: &mut dyn FnMut() -> std::io::Result<()>,
) -> Result<()> {
    let fail = |e: std::io::Error| Error::io(path, e);
    let parent = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::BadFile {
            path: path.to_path_buf(),
            message: "not a folder name".into(),
        })?;
    std::fs::create_dir_all(parent).map_err(fail)?;
    let gen_name = format!(
        ".{name}.gen-{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
        GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let generation = parent.join(&gen_name);
    step().map_err(fail)?;
    std::fs::create_dir(&generation).map_err(fail)?;
    for (file, bytes) in files {
        step().map_err(fail)?;
        let mut f = std::fs::File::create(generation.join(file)).map_err(fail)?;
        f.write_all(bytes).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    sync_dir(&generation);
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            // An older plain folder: aside, so that the link can take its
            // name (removed with the other generations below).
            let aside = parent.join(format!(".{name}.gen-old-{}", std::process::id()));
            step().map_err(fail)?;
            std::fs::rename(path, &aside).map_err(fail)?;
        }
        Ok(m) if !m.file_type().is_symlink() => {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                message: "exists and is not a folder: refusing to replace it".into(),
            });
        }
        _ => {}
    }
    #[cfg(unix)]
    {
        let link = parent.join(format!(".{name}.link-{}", std::process::id()));
        let _ = std::fs::remove_file(&link);
        step().map_err(fail)?;
        std::os::unix::fs::symlink(&gen_name, &link).map_err(fail)?;
        step().map_err(fail)?;
        std::fs::rename(&link, path).map_err(fail)?;
    }
    #[cfg(not(unix))]
    {
        step().map_err(fail)?;
        let _ = std::fs::remove_dir_all(path);
        std::fs::rename(&generation, path).map_err(fail)?;
    }
    sync_dir(parent);
    // Whatever earlier generations of this folder are left (the previous
    // one, and any a crash left behind).
    step().map_err(fail)?;
    let prefix = format!(".{name}.");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let current = n == gen_name;
            if n.starts_with(&prefix) && !current && (n.contains(".gen-") || n.contains(".link-")) {
                let p = e.path();
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
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

    #[cfg(unix)]
    #[test]
    fn a_folder_is_replaced_whole_whatever_step_a_crash_stops_at() {
        use super::{write_folder_atomic, write_folder_steps};
        let d = dir().join("d");
        let _ = std::fs::remove_dir_all(&d);
        let ck = d.join("last");
        let old: [(&str, &[u8]); 3] = [
            ("model.bpk", b"w1"),
            ("optimizer.bin", b"o1"),
            ("state.json", b"s1"),
        ];
        let new: [(&str, &[u8]); 3] = [
            ("model.bpk", b"w2"),
            ("optimizer.bin", b"o2"),
            ("state.json", b"s2"),
        ];
        let read = |p: &std::path::Path| -> Vec<Vec<u8>> {
            ["model.bpk", "optimizer.bin", "state.json"]
                .iter()
                .map(|f| std::fs::read(p.join(f)).unwrap())
                .collect()
        };
        let want_old: Vec<Vec<u8>> = old.iter().map(|f| f.1.to_vec()).collect();
        let want_new: Vec<Vec<u8>> = new.iter().map(|f| f.1.to_vec()).collect();
        // An older plain folder is taken over.
        std::fs::create_dir_all(&ck).unwrap();
        for (f, b) in &old {
            std::fs::write(ck.join(f), b).unwrap();
        }
        write_folder_atomic(&ck, &old).unwrap();
        assert_eq!(read(&ck), want_old);
        // A crash before each step: the folder is the old one or the new
        // one, whole; the next write succeeds and cleans up.
        let mut finished = false;
        for crash_at in 0.. {
            let mut n = 0;
            let r = write_folder_steps(&ck, &new, &mut || {
                n += 1;
                if n > crash_at {
                    Err(std::io::Error::other("crash"))
                } else {
                    Ok(())
                }
            });
            let now = read(&ck);
            assert!(
                now == want_old || now == want_new,
                "crash at step {crash_at}: {now:?}"
            );
            if r.is_ok() {
                assert_eq!(now, want_new);
                finished = true;
                break;
            }
            write_folder_atomic(&ck, &old).unwrap();
            assert_eq!(read(&ck), want_old);
        }
        assert!(finished);
        write_folder_atomic(&ck, &new).unwrap();
        let left: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 2, "the link and one generation: {left:?}");
    }
}
