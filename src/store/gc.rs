//! Garbage collection: removes packages no longer wanted, archives whose insert never committed,
//! quarantined entries, and `tmp/` entries and lock files no live process holds. Every removal of a
//! package happens under its key lock, so a package being built or inserted is never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::Store;
use super::error::StoreError;
use super::layout::{self, PkgFile};
use super::lock::{LOCK_SUFFIX, LockFile, dir_of_lock};
use crate::key::BuildKey;

/// What `Store::gc` removed and what it left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: Vec<BuildKey>,
    pub bytes_freed: u64,
    pub kept: usize,
    /// Packages that were to be removed but are locked by a running ingot.
    pub busy: Vec<BuildKey>,
    /// Archives without a manifest, left by an interrupted insert.
    pub orphans_removed: usize,
    pub tmp_removed: usize,
    pub quarantine_removed: usize,
}

impl Store {
    /// Removes each package that is not in `keep` (when `keep` is not empty) or whose last use
    /// (insert or lookup hit) is older than `older_than` (when given). With an empty `keep` and no
    /// age, no package is removed, only the leftovers: orphan archives, quarantined entries, and
    /// unlocked `tmp/` entries and lock files.
    pub fn gc(
        &self,
        keep: &BTreeSet<BuildKey>,
        older_than: Option<Duration>,
    ) -> Result<GcReport, StoreError> {
        let mut report = GcReport::default();
        let now = SystemTime::now();
        for (key, files) in by_key(layout::pkg_files(self.root())?) {
            let manifest = files.iter().find(|f| f.is_manifest);
            let unwanted = match manifest {
                None => true,
                Some(m) => {
                    (!keep.is_empty() && !keep.contains(&key))
                        || older_than.is_some_and(|age| age_of(&m.path, now) > age)
                }
            };
            if !unwanted {
                report.kept += 1;
                continue;
            }
            let Some(lock) = self.try_lock(&key)? else {
                report.busy.push(key);
                continue;
            };
            report.bytes_freed += remove_package(&files)?;
            lock.lock.remove()?;
            match manifest {
                Some(_) => report.removed.push(key),
                None => report.orphans_removed += 1,
            }
        }
        report.tmp_removed = clean_tmp(&self.tmp_dir())?;
        self.empty_trash();
        report.quarantine_removed = clean_dir(&self.root().join("quarantine"))?;
        clean_locks(&self.root().join("locks"))?;
        Ok(report)
    }
}

fn by_key(files: Vec<PkgFile>) -> BTreeMap<BuildKey, Vec<PkgFile>> {
    let mut map: BTreeMap<BuildKey, Vec<PkgFile>> = BTreeMap::new();
    for f in files {
        map.entry(f.key).or_default().push(f);
    }
    map
}

fn age_of(path: &Path, now: SystemTime) -> Duration {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).unwrap_or(now);
    now.duration_since(modified).unwrap_or_default()
}

/// Removes the manifest first (so no reader trusts a half-removed package), then the archive;
/// returns the bytes freed.
fn remove_package(files: &[PkgFile]) -> io::Result<u64> {
    let mut ordered: Vec<&PkgFile> = files.iter().collect();
    ordered.sort_by_key(|f| !f.is_manifest);
    let mut freed = 0;
    for f in ordered {
        freed += std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
        match fs_err::remove_file(&f.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(freed)
}

/// Removes `tmp/` entries whose lock is free (their process is gone) and entries that never had
/// one; returns how many.
fn clean_tmp(tmp: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in read_dir_sorted(tmp)? {
        let name = entry.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.ends_with(LOCK_SUFFIX) {
            if let Some(lock) = LockFile::try_acquire(&entry)? {
                let dir = dir_of_lock(&entry);
                if dir.exists() {
                    remove_tree(&dir)?;
                    removed += 1;
                }
                lock.remove()?;
            }
        } else if !tmp.join(format!("{name}{LOCK_SUFFIX}")).exists() {
            remove_tree(&entry)?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn clean_dir(dir: &Path) -> io::Result<usize> {
    let entries = read_dir_sorted(dir)?;
    for entry in &entries {
        remove_tree(entry)?;
    }
    Ok(entries.len())
}

/// Lock files nobody holds can go: a waiter that raced with the removal retries (see `lock`).
fn clean_locks(locks: &Path) -> io::Result<()> {
    for entry in read_dir_sorted(locks)? {
        if let Some(lock) = LockFile::try_acquire(&entry)? {
            lock.remove()?;
        }
    }
    Ok(())
}

fn read_dir_sorted(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    match fs_err::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
        Ok(entries) => {
            for e in entries {
                out.push(e?.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Removes a file or a whole tree, including trees with read-only directories (a DESTDIR often has
/// some) that `remove_dir_all` alone cannot empty without root.
impl Store {
    /// Deletes what finished temporary entries left in the trash. Safe to run from several
    /// processes at once: each entry was renamed in whole, and a vanished one is simply skipped.
    pub fn empty_trash(&self) {
        let trash = self.root().join(super::lock::TRASH);
        let Ok(entries) = std::fs::read_dir(&trash) else { return };
        for e in entries.flatten() {
            let _ = remove_tree(&e.path());
        }
    }
}

pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(super::annotate(e, path)),
        Ok(m) if !m.is_dir() => fs_err::remove_file(path),
        Ok(_) => match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                make_dirs_writable(path);
                fs_err::remove_dir_all(path)
            }
            other => other.map_err(|e| super::annotate(e, path)),
        },
    }
}

fn make_dirs_writable(root: &Path) {
    for entry in walkdir::WalkDir::new(root).follow_links(false).into_iter().flatten() {
        if entry.file_type().is_dir()
            && let Ok(m) = entry.metadata()
        {
            let mode = m.permissions().mode() | 0o700;
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode));
        }
    }
}
