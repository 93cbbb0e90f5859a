//! Atomic writes: everything ingot leaves at a final path is first written under a temporary name in
//! the same directory and renamed into place, so a crash or a full disk never leaves half a file
//! where a reader (or the next run) would trust it. Every stage uses these instead of hand-rolling a
//! temp-and-rename.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (temporary sibling, fsync, rename, fsync of the directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// A file being written under a temporary name; it appears at its destination only on `commit`.
/// Dropped without `commit`, the temporary is removed and the destination is untouched.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> io::Result<Self> {
        let dir = parent_dir(dest);
        fs_err::create_dir_all(dir)?;
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| annotate(e, dir))?;
        Ok(Self { tmp, dest: dest.to_path_buf() })
    }

    /// The temporary path, for tools that must write the file themselves.
    pub fn tmp_path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all().map_err(|e| annotate(e, self.tmp.path()))?;
        let dest = self.dest;
        self.tmp.persist(&dest).map_err(|e| annotate(e.error, &dest))?;
        sync_dir(parent_dir(&dest))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Renames a finished file or directory into place and makes the rename durable. `tmp` must be on
/// the same filesystem as `dest` (a sibling, or under the store's `tmp/`).
pub fn rename_into_place(tmp: &Path, dest: &Path) -> io::Result<()> {
    fs_err::rename(tmp, dest)?;
    sync_dir(parent_dir(dest))
}

/// A fresh temporary directory inside `parent` (created if missing), removed on drop.
pub fn temp_dir_in(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    fs_err::create_dir_all(parent)?;
    tempfile::Builder::new().prefix(prefix).tempdir_in(parent).map_err(|e| annotate(e, parent))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // A directory fsync makes the rename itself durable; some filesystems refuse it, which is
    // harmless for correctness of what readers see.
    match std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(annotate(e, dir)),
        _ => Ok(()),
    }
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The names in `dir`, sorted: what tests compare a directory's contents by.
#[cfg(test)]
pub(crate) fn sorted_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_content_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
    }

    #[test]
    fn dropped_atomic_file_leaves_destination_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn write_atomic_creates_missing_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/y/z.txt");
        write_atomic(&path, b"z").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"z");
    }
}
