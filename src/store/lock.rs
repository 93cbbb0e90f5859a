//! File locks shared between ingot processes (std `File::lock`): one per build key, so a package is
//! never built twice at once, and one per temporary entry under `tmp/`, so garbage collection
//! removes only what no live process holds.
//!
//! A lock file may be deleted by whoever holds its lock (gc does). A waiter that then wakes up
//! holds a lock on a deleted file, so after locking it checks that the path still names the file it
//! locked, and starts over if not.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::key::BuildKey;

/// An exclusive lock on a file that exists at its path for as long as the lock is held.
#[derive(Debug)]
pub(crate) struct LockFile {
    _file: File,
    path: PathBuf,
}

impl LockFile {
    /// Waits for the lock.
    pub(crate) fn acquire(path: &Path) -> io::Result<LockFile> {
        loop {
            let file = open(path)?;
            file.lock().map_err(|e| annotate(e, path))?;
            if still_names(path, &file)? {
                return Ok(LockFile { _file: file, path: path.to_path_buf() });
            }
        }
    }

    /// Takes the lock if it is free; `None` if another process holds it.
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Option<LockFile>> {
        loop {
            let file = open(path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(annotate(e, path)),
            }
            if still_names(path, &file)? {
                return Ok(Some(LockFile { _file: file, path: path.to_path_buf() }));
            }
        }
    }

    /// Deletes the lock file while still holding it, then releases it.
    pub(crate) fn remove(self) -> io::Result<()> {
        match fs_err::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| annotate(e, path))
}

fn still_names(path: &Path, file: &File) -> io::Result<bool> {
    let held = file.metadata().map_err(|e| annotate(e, path))?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(annotate(e, path)),
    }
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("lock {}: {e}", path.display()))
}

/// Held while a process builds, inserts or removes the package of one key.
#[derive(Debug)]
pub struct KeyLock {
    key: BuildKey,
    pub(crate) lock: LockFile,
}

impl KeyLock {
    pub(crate) fn new(key: BuildKey, lock: LockFile) -> Self {
        KeyLock { key, lock }
    }

    pub fn key(&self) -> BuildKey {
        self.key
    }
}

/// A directory under the store's `tmp/`, locked for its lifetime and removed on drop. Killed
/// processes leave theirs behind unlocked, and `Store::gc` removes them.
#[derive(Debug)]
pub struct TempEntry {
    dir: PathBuf,
    lock: Option<LockFile>,
}

impl TempEntry {
    pub(crate) fn create(tmp: &Path, prefix: &str) -> io::Result<TempEntry> {
        fs_err::create_dir_all(tmp)?;
        loop {
            let named = tempfile::Builder::new()
                .prefix(prefix)
                .suffix(LOCK_SUFFIX)
                .tempfile_in(tmp)
                .map_err(|e| annotate(e, tmp))?;
            let (_, lock_path) = named.keep().map_err(|e| annotate(e.error, tmp))?;
            // gc may have taken and deleted the fresh lock file before we locked it: try another.
            let Some(lock) = LockFile::try_acquire(&lock_path)? else { continue };
            let dir = dir_of_lock(&lock_path);
            fs_err::create_dir(&dir)?;
            return Ok(TempEntry { dir, lock: Some(lock) });
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TempEntry {
    fn drop(&mut self) {
        // One rename into the store's trash instead of deleting now: on filesystems mounted with
        // `discard` every rmdir and freed block is slow, and a build should not wait for it.
        // `Store::empty_trash` (in the background during builds, or `gc`) deletes it later. If the
        // rename fails, delete in place. Best effort: whatever stays behind is unlocked from here
        // on, and gc removes it.
        let trashed = trash_dir(&self.dir)
            .and_then(|trash| {
                let name = self.dir.file_name()?.to_owned();
                std::fs::create_dir_all(&trash).ok()?;
                std::fs::rename(&self.dir, trash.join(name)).ok()
            })
            .is_some();
        if (trashed || crate::store::remove_tree(&self.dir).is_ok())
            && let Some(lock) = self.lock.take()
        {
            let _ = lock.remove();
        }
    }
}

/// `<store>/trash` for an entry `<store>/tmp/<name>`.
pub(crate) fn trash_dir(entry: &Path) -> Option<PathBuf> {
    Some(entry.parent()?.parent()?.join(TRASH))
}

/// Where finished temporary entries wait to be deleted.
pub(crate) const TRASH: &str = "trash";

pub(crate) const LOCK_SUFFIX: &str = ".lock";

/// `tmp/<name>.lock` guards `tmp/<name>`.
pub(crate) fn dir_of_lock(lock: &Path) -> PathBuf {
    let name = lock.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    lock.with_file_name(name.strip_suffix(LOCK_SUFFIX).unwrap_or(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_try_lock_fails_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        let held = LockFile::acquire(&path).unwrap();
        assert!(LockFile::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(LockFile::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn waiter_on_a_removed_lock_file_locks_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.lock");
        let held = LockFile::acquire(&path).unwrap();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || LockFile::acquire(&path).unwrap())
        };
        held.remove().unwrap();
        let got = waiter.join().unwrap();
        // The waiter's lock is on the file now at the path, which a third party cannot take.
        assert!(path.exists());
        assert!(LockFile::try_acquire(&path).unwrap().is_none());
        drop(got);
    }

    #[test]
    fn temp_entry_is_locked_while_alive_and_gone_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let entry = TempEntry::create(dir.path(), "build-").unwrap();
        let lock_path = entry
            .path()
            .with_file_name(format!("{}{LOCK_SUFFIX}", entry.path().file_name().unwrap().to_string_lossy()));
        assert!(entry.path().is_dir());
        assert!(LockFile::try_acquire(&lock_path).unwrap().is_none());
        let path = entry.path().to_path_buf();
        drop(entry);
        assert!(!path.exists() && !lock_path.exists());
    }

    #[test]
    fn lock_errors_name_the_lock_file() {
        let err = LockFile::acquire(Path::new("/nonexistent/ingot/k.lock")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ingot/k.lock"), "{err}");
    }
}
