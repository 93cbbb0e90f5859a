//! Temporaries kept beside an output while it is made (an image build's work directory and the
//! image's temporary, a download's `.part` file) and their removal when the process making them
//! was killed before it could clean up. The maker holds a lock (flock) on each for as long as it
//! uses it, so the next run removes exactly those whose process is gone, even with other
//! processes writing to the same directory.

use std::fs::{File, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A lock on a work directory or temporary, held while the build uses it.
#[derive(Debug)]
pub(crate) struct Held {
    _file: File,
}

/// Locks `path`, just created by this process. `None` if it vanished before the lock was held: a
/// sweep by another build took it for a leftover, and the caller should make a new one.
pub(crate) fn hold(path: &Path) -> io::Result<Option<Held>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(annotate(e, path)),
    };
    file.lock().map_err(|e| annotate(e, path))?;
    Ok(still_names(path, &file)?.then_some(Held { _file: file }))
}

/// Makes something with `create` and locks it at the path `path_of` gives, making another if a
/// concurrent sweep removed it first.
pub(crate) fn create_held<T>(
    mut create: impl FnMut() -> io::Result<T>,
    path_of: impl Fn(&T) -> &Path,
) -> io::Result<(T, Held)> {
    // A sweep can only take what it finds unlocked, in the instant between creating and locking:
    // a few tries are plenty unless something else is wrong.
    for _ in 0..10 {
        let made = create()?;
        if let Some(held) = hold(path_of(&made))? {
            return Ok((made, held));
        }
    }
    Err(io::Error::other("another ingot kept removing its fresh temporaries as leftovers"))
}

/// Removes the entries of `dir` whose names `is_temporary` accepts and that no running process
/// holds; returns what it removed.
pub(crate) fn sweep(dir: &Path, is_temporary: impl Fn(&str) -> bool) -> io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(annotate(e, dir)),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| annotate(e, dir))?;
        if is_temporary(&entry.file_name().to_string_lossy()) && remove_if_dead(&entry.path())? {
            removed.push(entry.path());
        }
    }
    removed.sort();
    Ok(removed)
}

/// Removes `path` if no process holds its lock.
fn remove_if_dead(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(annotate(e, path)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(false),
        Err(TryLockError::Error(e)) => return Err(annotate(e, path)),
    }
    if !still_names(path, &file)? {
        return Ok(false);
    }
    crate::store::remove_tree(path)?;
    Ok(true)
}

fn still_names(path: &Path, file: &File) -> io::Result<bool> {
    let held = file.metadata().map_err(|e| annotate(e, path))?;
    match std::fs::symlink_metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(annotate(e, path)),
    }
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::sorted_names;

    #[test]
    fn leftovers_of_dead_builds_go_and_held_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        for d in [".ingot-image-dead", ".ingot-image-live"] {
            std::fs::create_dir_all(dir.path().join(d).join("sub")).unwrap();
        }
        for f in [".disk.raw.dead.tmp", ".disk.raw.live.tmp", ".other.raw.x.tmp", "notes.txt", "disk.raw"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let _work = hold(&dir.path().join(".ingot-image-live")).unwrap().unwrap();
        let _tmp = hold(&dir.path().join(".disk.raw.live.tmp")).unwrap().unwrap();
        let ours =
            |n: &str| n.starts_with(".ingot-image-") || (n.starts_with(".disk.raw.") && n.ends_with(".tmp"));
        let removed = sweep(dir.path(), ours).unwrap();
        assert_eq!(
            removed,
            vec![dir.path().join(".disk.raw.dead.tmp"), dir.path().join(".ingot-image-dead")]
        );
        assert_eq!(
            sorted_names(dir.path()),
            [".disk.raw.live.tmp", ".ingot-image-live", ".other.raw.x.tmp", "disk.raw", "notes.txt"]
        );
    }

    #[test]
    fn holding_a_path_a_sweep_removed_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert!(hold(&dir.path().join(".ingot-image-gone")).unwrap().is_none());
    }

    #[test]
    fn a_missing_output_directory_has_no_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        assert!(sweep(&dir.path().join("nope"), |_| true).unwrap().is_empty());
    }
}
