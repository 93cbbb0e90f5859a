//! The store's directory layout and its format version: `VERSION`, `distfiles/`,
//! `pkgs/<k[0..2]>/<key>.{tar.zst,toml}`, `logs/`, `tmp/`, `locks/`, and `quarantine/` for corrupt
//! entries moved aside.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use crate::key::BuildKey;

/// The store layout this ingot reads and writes. A change that would make an older ingot misread
/// the store bumps it.
pub const STORE_VERSION: u32 = 1;

const DIRS: [&str; 5] = ["distfiles", "pkgs", "logs", "tmp", "locks"];

/// What a directory may already hold when it has no VERSION yet and still becomes a store:
/// `scripts/distfiles-from-debian` fills `distfiles/` before ingot first runs, and the others hold
/// nothing whose format could be misread.
const ALLOWED_BEFORE_VERSION: [&str; 4] = ["distfiles", "logs", "tmp", "locks"];

pub(crate) const ARCHIVE_SUFFIX: &str = ".tar.zst";
pub(crate) const MANIFEST_SUFFIX: &str = ".toml";

/// Checks (or, for a new store, writes) the format version and creates the directories.
pub(crate) fn init(root: &Path) -> Result<(), StoreError> {
    fs_err::create_dir_all(root)?;
    let version_file = root.join("VERSION");
    if !has_version(root, &version_file)? {
        // A new store. Several processes may open it at once: the first writes VERSION under a
        // lock on the directory itself, and the others wait and then find it. A temporary of
        // VERSION seen under the lock was left by a process that died writing it.
        let dir = fs_err::File::open(root)?;
        dir.file()
            .lock()
            .map_err(|e| io::Error::new(e.kind(), format!("locking {}: {e}", root.display())))?;
        if !has_version(root, &version_file)? {
            remove_version_temporaries(root)?;
            refuse_foreign_contents(root)?;
            write_version(&version_file)?;
        }
    }
    for dir in DIRS {
        fs_err::create_dir_all(root.join(dir))?;
    }
    Ok(())
}

/// Whether `VERSION` is there, naming this format; an error if it names another.
fn has_version(root: &Path, version_file: &Path) -> Result<bool, StoreError> {
    match std::fs::read_to_string(version_file) {
        Ok(text) if text.trim() == STORE_VERSION.to_string() => Ok(true),
        Ok(text) => {
            let found = text.trim().chars().take(40).collect();
            Err(StoreError::UnknownVersion { root: root.to_path_buf(), found, supported: STORE_VERSION })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", version_file.display())).into()),
    }
}

fn write_version(version_file: &Path) -> io::Result<()> {
    let mut file = crate::fs::AtomicFile::create(version_file)?;
    io::Write::write_all(&mut file, format!("{STORE_VERSION}\n").as_bytes())?;
    // AtomicFile's temporaries are private; every user of a shared store reads this.
    fs_err::set_permissions(file.tmp_path(), std::fs::Permissions::from_mode(0o644))?;
    file.commit()
}

/// `.VERSION.<random>.tmp`, as `AtomicFile` names the temporary of `VERSION`.
fn is_version_temporary(name: &str) -> bool {
    name.starts_with(".VERSION.") && name.ends_with(".tmp")
}

fn remove_version_temporaries(root: &Path) -> io::Result<()> {
    for entry in fs_err::read_dir(root)? {
        let entry = entry?;
        if is_version_temporary(&entry.file_name().to_string_lossy()) {
            fs_err::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn refuse_foreign_contents(root: &Path) -> Result<(), StoreError> {
    let mut names: Vec<String> = fs_err::read_dir(root)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    match names.into_iter().find(|n| !ALLOWED_BEFORE_VERSION.contains(&n.as_str())) {
        Some(entry) => Err(StoreError::NotAStore { root: root.to_path_buf(), entry }),
        None => Ok(()),
    }
}

pub(crate) fn pkg_dir(root: &Path, key: &BuildKey) -> PathBuf {
    root.join("pkgs").join(key.prefix())
}

pub(crate) fn archive_path(root: &Path, key: &BuildKey) -> PathBuf {
    pkg_dir(root, key).join(format!("{key}{ARCHIVE_SUFFIX}"))
}

pub(crate) fn manifest_path(root: &Path, key: &BuildKey) -> PathBuf {
    pkg_dir(root, key).join(format!("{key}{MANIFEST_SUFFIX}"))
}

pub(crate) fn lock_path(root: &Path, key: &BuildKey) -> PathBuf {
    root.join("locks").join(format!("{key}.lock"))
}

/// A file under `pkgs/`, classified by its name.
pub(crate) struct PkgFile {
    pub path: PathBuf,
    pub key: BuildKey,
    pub is_manifest: bool,
}

/// Every manifest and archive under `pkgs/`, sorted by path; other names are not ours and are
/// left out.
pub(crate) fn pkg_files(root: &Path) -> io::Result<Vec<PkgFile>> {
    let mut out = Vec::new();
    for prefix in fs_err::read_dir(root.join("pkgs"))? {
        let prefix = prefix?;
        if !prefix.file_type()?.is_dir() {
            continue;
        }
        for file in fs_err::read_dir(prefix.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            let (stem, is_manifest) =
                match (name.strip_suffix(MANIFEST_SUFFIX), name.strip_suffix(ARCHIVE_SUFFIX)) {
                    (Some(stem), _) => (stem, true),
                    (_, Some(stem)) => (stem, false),
                    _ => continue,
                };
            if let Ok(key) = stem.parse() {
                out.push(PkgFile { path: file.path(), key, is_manifest });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_directory_becomes_a_versioned_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        init(&root).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("VERSION")).unwrap(), "1\n");
        for d in DIRS {
            assert!(root.join(d).is_dir(), "{d}");
        }
        init(&root).unwrap();
    }

    #[test]
    fn distfiles_filled_before_the_first_run_are_welcome() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("distfiles")).unwrap();
        std::fs::write(dir.path().join("distfiles/x.tar.gz"), b"x").unwrap();
        init(dir.path()).unwrap();
        assert!(dir.path().join("VERSION").exists());
    }

    #[test]
    fn unknown_version_is_refused_with_both_versions_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("VERSION"), "7\n").unwrap();
        let err = init(dir.path()).unwrap_err().to_string();
        assert!(err.contains("format version `7`") && err.contains("reads version 1"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn stores_opened_at_once_for_the_first_time_all_open() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("cache");
            let results: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> =
                    (0..4).map(|_| s.spawn(|| init(&root).map_err(|e| e.to_string()))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            assert_eq!(std::fs::read_to_string(root.join("VERSION")).unwrap(), "1\n");
        }
    }

    #[test]
    fn a_version_temporary_left_by_a_killed_process_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".VERSION.aB3dEf.tmp"), b"").unwrap();
        init(dir.path()).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(!names.iter().any(|n| n.to_string_lossy().ends_with(".tmp")), "{names:?}");
        let mode = std::fs::metadata(dir.path().join("VERSION")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn unversioned_directory_with_other_contents_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pkgs")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let err = init(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not an ingot store") && err.contains("`notes.txt`"), "{err}");
        assert!(!dir.path().join("VERSION").exists());
    }
}
