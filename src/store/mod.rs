//! The binary package store: packages keyed by `BuildKey` as `pkgs/<k[0..2]>/<key>.tar.zst` plus a
//! `<key>.toml` manifest, written under `tmp/` and renamed into place (archive first, manifest
//! last: the manifest's presence is the commit point), verified on every lookup, shared between
//! concurrent ingot processes through file locks. See DESIGN.md, "The store".

mod durations;
mod error;
mod gc;
mod import;
mod layout;
mod lock;
mod manifest;
mod pack;
#[cfg(test)]
mod tests;
mod unpack;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{PackProblem, StoreError};
pub use gc::GcReport;
pub(crate) use gc::remove_tree;
pub use import::ImportError;
pub use layout::STORE_VERSION;
pub use lock::{KeyLock, TempEntry};
pub use manifest::{FORMAT as MANIFEST_FORMAT, FileEntry, Manifest};
pub use pack::PackageMeta;
pub use unpack::Binpkg;
pub use verify::{Lookup, Problem, VerifyReport};

use crate::key::BuildKey;
use crate::report::{Event, Level, Reporter, Silent};

/// An open store. Cheap to clone; every method is safe to call from several threads and
/// processes at once.
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    reporter: Arc<dyn Reporter>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `root`, creating it if the directory is missing or empty. A store of
    /// another format version, or a directory with unrelated contents, is refused.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        layout::init(root)?;
        Ok(Store { root: root.to_path_buf(), reporter: Arc::new(Silent) })
    }

    /// Sends warnings (a corrupt package moved aside) to `reporter` instead of dropping them.
    pub fn with_reporter(mut self, reporter: Arc<dyn Reporter>) -> Store {
        self.reporter = reporter;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn distdir(&self) -> PathBuf {
        self.root.join("distfiles")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn archive_path(&self, key: &BuildKey) -> PathBuf {
        layout::archive_path(&self.root, key)
    }

    pub fn manifest_path(&self, key: &BuildKey) -> PathBuf {
        layout::manifest_path(&self.root, key)
    }

    /// Waits for the exclusive lock on `key`, so two processes never build the same package
    /// twice: the second waits, then finds it stored. Hold it across build and `insert`.
    pub fn lock(&self, key: &BuildKey) -> Result<KeyLock, StoreError> {
        let lock = lock::LockFile::acquire(&layout::lock_path(&self.root, key))?;
        Ok(KeyLock::new(*key, lock))
    }

    /// The lock on `key` if no one holds it, else `None`.
    pub fn try_lock(&self, key: &BuildKey) -> Result<Option<KeyLock>, StoreError> {
        let lock = lock::LockFile::try_acquire(&layout::lock_path(&self.root, key))?;
        Ok(lock.map(|l| KeyLock::new(*key, l)))
    }

    /// A fresh directory under `tmp/` (a build's WORKDIR or DESTDIR), removed on drop and, if its
    /// process dies first, by `gc`.
    /// An empty, read-only directory shared by every build that needs one (an empty SYSROOT).
    pub fn empty_dir(&self) -> Result<PathBuf, StoreError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.root.join("empty");
        if !dir.is_dir() {
            let tmp = self.temp_entry("empty-")?;
            fs_err::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o555))?;
            // Another process may have won the race; theirs is just as empty.
            match std::fs::rename(tmp.path(), &dir) {
                Ok(()) => {}
                Err(_) if dir.is_dir() => {}
                Err(e) => return Err(annotate(e, &dir).into()),
            }
        }
        Ok(dir)
    }

    pub fn temp_entry(&self, prefix: &str) -> Result<TempEntry, StoreError> {
        Ok(TempEntry::create(&self.tmp_dir(), prefix)?)
    }

    /// The package stored under `key`, verified (manifest parses and names `key`; archive present
    /// with the manifest's size and sha256). A corrupt entry is moved to `quarantine/`, reported,
    /// and treated as absent; `lookup` says which.
    pub fn get(&self, key: &BuildKey) -> Result<Option<Binpkg>, StoreError> {
        Ok(match self.lookup(key)? {
            Lookup::Hit(pkg) => Some(pkg),
            Lookup::Miss | Lookup::Quarantined { .. } => None,
        })
    }

    /// Packs `destdir` into the store under `key` and returns the stored package. The caller
    /// should hold `lock(key)`.
    pub fn insert(&self, key: &BuildKey, destdir: &Path, meta: PackageMeta) -> Result<Binpkg, StoreError> {
        let staging = self.temp_entry("insert-")?;
        let archive_tmp = staging.path().join(format!("{key}{}", layout::ARCHIVE_SUFFIX));
        let packed = pack::pack(destdir, &meta, &archive_tmp)?;
        let manifest = Manifest {
            format: manifest::FORMAT,
            key: *key,
            atom: meta.atom,
            version: meta.version,
            slot: meta.slot,
            features: meta.features,
            run_deps: meta.run_deps,
            build_seconds: meta.build_seconds,
            source_date_epoch: meta.source_date_epoch,
            archive_sha256: packed.sha256,
            archive_size: packed.size,
            inputs: meta.inputs,
            files: packed.files,
        };
        let text = manifest.to_toml().map_err(|source| StoreError::ManifestWrite { key: *key, source })?;
        let manifest_tmp = staging.path().join(format!("{key}{}", layout::MANIFEST_SUFFIX));
        write_file(&manifest_tmp, text.as_bytes())?;
        fs_err::create_dir_all(layout::pkg_dir(&self.root, key))?;
        let archive = self.archive_path(key);
        // Renames, archive first, make the package appear whole to readers. They are not fsynced:
        // every `get` checks the archive's size and sha256 against the manifest and quarantines a
        // mismatch, so after a power loss the worst case is a rebuild, and four fsyncs per package
        // cost more than a small package's whole build on a slow disk.
        fs_err::rename(&archive_tmp, &archive)?;
        fs_err::rename(&manifest_tmp, self.manifest_path(key))?;
        Ok(Binpkg { key: *key, manifest, archive })
    }

    /// Every readable manifest, sorted by atom and version (`ingot cache ls`). Unreadable ones are
    /// reported as warnings and left for `verify_all` and `get` to deal with.
    pub fn list(&self) -> Result<Vec<Manifest>, StoreError> {
        let mut out = Vec::new();
        for file in layout::pkg_files(&self.root)?.into_iter().filter(|f| f.is_manifest) {
            match std::fs::read_to_string(&file.path)
                .map_err(|e| e.to_string())
                .and_then(|t| Manifest::parse(&t).map_err(|e| e.to_string()))
            {
                Ok(m) => out.push(m),
                Err(e) => {
                    self.warn(format!("store: skipping unreadable manifest {}: {e}", file.path.display()))
                }
            }
        }
        out.sort_by(|a, b| (&a.atom, &a.version, a.key).cmp(&(&b.atom, &b.version, b.key)));
        Ok(out)
    }

    fn warn(&self, text: String) {
        tracing::warn!("{text}");
        self.reporter.event(Event::Message { level: Level::Warning, text });
    }
}

/// Writes a new file with the usual permissions (a shared store's manifests are world-readable,
/// unlike `write_atomic`'s private temporaries).
fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    fs_err::File::create(path)?.write_all(bytes)
}

/// An I/O error that names its path (for std calls whose errors do not).
pub(crate) fn annotate(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
