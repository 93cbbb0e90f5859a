//! Adding a package built elsewhere (a download from a remote cache): its manifest text and an
//! archive stream, the archive hashed and measured as it is written under `tmp/`, and both renamed
//! into place like `insert` only if they agree. What `get` checks, `import` checks before storing.

use std::io::{self, Read, Write};

use super::error::StoreError;
use super::layout;
use super::lock::KeyLock;
use super::manifest::{FORMAT, Manifest};
use super::unpack::Binpkg;
use super::{Store, write_file};
use crate::archive::hash::HashingWriter;
use crate::key::BuildKey;

/// Large reads and writes: a network body or a pipe hands over what it has, and fewer system
/// calls per megabyte is most of what separates a copy loop from `curl`.
const COPY_BUFFER: usize = 256 << 10;

/// Why a package could not be imported. Everything but `Store` is about the package offered, and
/// leaves the store untouched.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("its manifest does not parse: {0}")]
    BadManifest(String),
    #[error("its manifest has format {found} (this ingot reads {FORMAT})")]
    UnsupportedFormat { found: u32 },
    #[error("its manifest is for key {found}, not {expected}")]
    WrongKey { expected: BuildKey, found: BuildKey },
    #[error("reading its archive failed after {done} bytes: {source}")]
    Read { done: u64, source: io::Error },
    #[error("its archive is longer than the {size} bytes its manifest says")]
    TooLong { size: u64 },
    #[error(
        "its archive is {actual_size} bytes with sha256 {actual_sha256}, \
         its manifest says {size} bytes with sha256 {sha256}"
    )]
    Mismatch { size: u64, sha256: String, actual_size: u64, actual_sha256: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<io::Error> for ImportError {
    fn from(e: io::Error) -> Self {
        ImportError::Store(StoreError::Io(e))
    }
}

impl Store {
    /// Stores the package `manifest` describes, reading its archive from `archive`, under the key
    /// `lock` holds. The manifest must parse, be of this ingot's format and name that key; the
    /// archive must have exactly the manifest's size and sha256. On any disagreement nothing is
    /// stored. Reads at most one byte past the manifest's size, so an endless stream is refused.
    pub fn import(
        &self,
        lock: &KeyLock,
        manifest: &str,
        archive: &mut dyn Read,
    ) -> Result<Binpkg, ImportError> {
        let key = lock.key();
        let parsed = Manifest::parse(manifest).map_err(|e| ImportError::BadManifest(e.to_string()))?;
        if parsed.format != FORMAT {
            return Err(ImportError::UnsupportedFormat { found: parsed.format });
        }
        if parsed.key != key {
            return Err(ImportError::WrongKey { expected: key, found: parsed.key });
        }
        let staging = self.temp_entry("import-")?;
        let archive_tmp = staging.path().join(format!("{key}{}", layout::ARCHIVE_SUFFIX));
        let (sha256, size) = receive(archive, &archive_tmp, parsed.archive_size)?;
        if (sha256.as_str(), size) != (parsed.archive_sha256.as_str(), parsed.archive_size) {
            return Err(ImportError::Mismatch {
                size: parsed.archive_size,
                sha256: parsed.archive_sha256,
                actual_size: size,
                actual_sha256: sha256,
            });
        }
        let manifest_tmp = staging.path().join(format!("{key}{}", layout::MANIFEST_SUFFIX));
        write_file(&manifest_tmp, manifest.as_bytes())?;
        fs_err::create_dir_all(layout::pkg_dir(self.root(), &key))?;
        let archive_path = self.archive_path(&key);
        // Archive first, manifest last, unsynced, as `insert` does: `get` verifies every package
        // against its manifest, so a power loss can only cost a download again.
        fs_err::rename(&archive_tmp, &archive_path)?;
        fs_err::rename(&manifest_tmp, self.manifest_path(&key))?;
        Ok(Binpkg { key, manifest: parsed, archive: archive_path })
    }
}

/// Copies at most `size + 1` bytes of `from` into a new file at `to`; returns their sha256 and
/// count.
fn receive(from: &mut dyn Read, to: &std::path::Path, size: u64) -> Result<(String, u64), ImportError> {
    let mut out = HashingWriter::new(fs_err::File::create(to)?);
    let mut limited = from.take(size.saturating_add(1));
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut done = 0u64;
    loop {
        let n = match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(ImportError::Read { done, source }),
        };
        out.write_all(&buf[..n])?;
        done += n as u64;
    }
    if done > size {
        return Err(ImportError::TooLong { size });
    }
    let (_, sha256, size) = out.finish();
    Ok((sha256, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PackageMeta;

    struct Source {
        _dir: tempfile::TempDir,
        manifest: String,
        archive: Vec<u8>,
    }

    /// A package packed by one store, to import into another.
    fn source_package(key: &BuildKey) -> Source {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("destdir");
        std::fs::create_dir_all(dest.join("usr/bin")).unwrap();
        std::fs::write(dest.join("usr/bin/hello"), b"#!/bin/sh\necho hello\n").unwrap();
        let store = Store::open(&dir.path().join("a")).unwrap();
        let meta = PackageMeta { atom: "app-misc/hello".into(), version: "1.0".into(), ..Default::default() };
        let pkg = store.insert(key, &dest, meta).unwrap();
        let manifest = std::fs::read_to_string(store.manifest_path(key)).unwrap();
        Source { archive: std::fs::read(&pkg.archive).unwrap(), manifest, _dir: dir }
    }

    fn empty_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn tmp_is_empty(store: &Store) -> bool {
        std::fs::read_dir(store.tmp_dir()).unwrap().next().is_none()
    }

    #[test]
    fn imported_package_is_stored_verified_and_unpackable() {
        let key = BuildKey::from_bytes([3; 32]);
        let src = source_package(&key);
        let (dir, store) = empty_store();
        let lock = store.lock(&key).unwrap();
        let pkg = store.import(&lock, &src.manifest, &mut src.archive.as_slice()).unwrap();
        assert_eq!(store.get(&key).unwrap(), Some(pkg.clone()));
        assert_eq!(std::fs::read_to_string(store.manifest_path(&key)).unwrap(), src.manifest);
        pkg.unpack(&dir.path().join("root")).unwrap();
        assert!(dir.path().join("root/usr/bin/hello").is_file());
        assert!(tmp_is_empty(&store));
    }

    #[test]
    fn archive_with_other_bytes_is_refused_and_nothing_stored() {
        let key = BuildKey::from_bytes([3; 32]);
        let mut src = source_package(&key);
        let last = src.archive.len() - 1;
        src.archive[last] ^= 1;
        let (_dir, store) = empty_store();
        let lock = store.lock(&key).unwrap();
        let err = store.import(&lock, &src.manifest, &mut src.archive.as_slice()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ImportError::Mismatch { .. }), "{text}");
        assert!(
            text.starts_with(&format!("its archive is {} bytes with sha256 ", src.archive.len())),
            "{text}"
        );
        assert!(text.contains("its manifest says"), "{text}");
        assert_eq!(store.get(&key).unwrap(), None);
        assert!(tmp_is_empty(&store));
    }

    #[test]
    fn short_and_overlong_archives_are_refused() {
        let key = BuildKey::from_bytes([3; 32]);
        let src = source_package(&key);
        let (_dir, store) = empty_store();
        let lock = store.lock(&key).unwrap();
        let short = &src.archive[..src.archive.len() - 1];
        let err = store.import(&lock, &src.manifest, &mut &short[..]).unwrap_err();
        assert!(
            matches!(err, ImportError::Mismatch { actual_size, .. } if actual_size == short.len() as u64)
        );
        let mut long = src.archive.clone();
        long.extend_from_slice(b"more");
        let err = store.import(&lock, &src.manifest, &mut long.as_slice()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("its archive is longer than the {} bytes its manifest says", src.archive.len())
        );
        assert_eq!(store.get(&key).unwrap(), None);
    }

    #[test]
    fn manifest_for_another_key_or_format_is_refused_before_reading() {
        let key = BuildKey::from_bytes([3; 32]);
        let src = source_package(&key);
        let (_dir, store) = empty_store();
        let other = BuildKey::from_bytes([4; 32]);
        let lock = store.lock(&other).unwrap();
        let mut untouched: &[u8] = &src.archive;
        let err = store.import(&lock, &src.manifest, &mut untouched).unwrap_err();
        assert_eq!(err.to_string(), format!("its manifest is for key {key}, not {other}"));
        assert_eq!(untouched.len(), src.archive.len(), "nothing was read");
        let lock = store.lock(&key).unwrap();
        let old = src.manifest.replace("format = 1", "format = 9");
        let err = store.import(&lock, &old, &mut src.archive.as_slice()).unwrap_err();
        assert_eq!(err.to_string(), "its manifest has format 9 (this ingot reads 1)");
        let err = store.import(&lock, "atom = 3", &mut src.archive.as_slice()).unwrap_err();
        assert!(err.to_string().starts_with("its manifest does not parse: "), "{err}");
    }

    #[test]
    fn failing_stream_is_a_read_error_with_the_bytes_done() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer hung up"));
                }
                let n = self.0.min(buf.len());
                self.0 -= n;
                Ok(n)
            }
        }
        let key = BuildKey::from_bytes([3; 32]);
        let src = source_package(&key);
        let (_dir, store) = empty_store();
        let lock = store.lock(&key).unwrap();
        let err = store.import(&lock, &src.manifest, &mut Broken(5)).unwrap_err();
        assert_eq!(err.to_string(), "reading its archive failed after 5 bytes: peer hung up");
        assert!(tmp_is_empty(&store));
    }
}
