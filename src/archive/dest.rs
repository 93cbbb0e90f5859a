//! Writes entries under the destination without ever following a symlink: each parent component
//! must be a real directory (created when missing) and the final component is replaced, never
//! opened through. Directory modes and times are applied last, deepest first, so a read-only
//! directory does not block its own contents.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::Refusal;
use super::path::RelPath;

/// Why writing an entry failed: the entry itself, the caller's placement of it, the archive stream,
/// or the destination.
#[derive(Debug)]
pub(crate) enum Failure {
    Refused(Refusal),
    Rejected(String),
    Read(io::Error),
    Write(io::Error),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

pub(crate) struct DestTree {
    root: PathBuf,
    dirs: Vec<PendingDir>,
    /// Never remove what is at an entry's path (merging: an earlier archive's file stays, and a
    /// placement onto it is refused); extraction replaces non-directories, as tar does.
    keep_existing: bool,
    /// Other trees write into the same root at the same time (`fork`): a directory may appear
    /// between looking for it and creating it, and a hard link's target placed where another
    /// archive writes it may not be there yet.
    concurrent: bool,
    /// Hard links (link, target) whose target was not there yet, made by `finish`.
    deferred_links: Vec<(RelPath, RelPath)>,
}

struct PendingDir {
    rel: String,
    path: PathBuf,
    depth: usize,
    mode: u32,
    mtime: u64,
}

impl DestTree {
    pub(crate) fn create(root: &Path) -> io::Result<Self> {
        fs_err::create_dir_all(root)?;
        Ok(DestTree {
            root: root.to_path_buf(),
            dirs: Vec::new(),
            keep_existing: false,
            concurrent: false,
            deferred_links: Vec::new(),
        })
    }

    /// A tree writing into the same root, for extracting an archive on another thread at the
    /// same time as this one; `absorb` it back in the order the archives are merged.
    pub(crate) fn fork(&self) -> Self {
        DestTree {
            root: self.root.clone(),
            dirs: Vec::new(),
            keep_existing: self.keep_existing,
            concurrent: true,
            deferred_links: Vec::new(),
        }
    }

    /// Takes over what `fork` left to `finish`, after what this tree already holds.
    pub(crate) fn absorb(&mut self, fork: DestTree) {
        self.dirs.extend(fork.dirs);
        self.deferred_links.extend(fork.deferred_links);
    }

    /// A tree whose existing non-directories are never replaced.
    pub(crate) fn merging(root: &Path) -> io::Result<Self> {
        Ok(DestTree { keep_existing: true, ..DestTree::create(root)? })
    }

    pub(crate) fn dir(&mut self, rel: &RelPath, mode: u32, mtime: u64) -> Result<(), Failure> {
        let path = self.slot(rel, true)?;
        if !is_real_dir(&path) {
            self.create_dir(&path)?;
        }
        let depth = rel.depth();
        self.dirs.push(PendingDir { rel: rel.to_string(), path, depth, mode, mtime });
        Ok(())
    }

    /// Writes a regular file from `data` (exactly `size` bytes) and returns its sha256.
    pub(crate) fn file(
        &mut self,
        rel: &RelPath,
        data: &mut dyn Read,
        size: u64,
        mode: u32,
        mtime: u64,
    ) -> Result<String, Failure> {
        let path = self.slot(rel, false)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| Failure::Write(annotate(e, &path)))?;
        let sha = copy_hashed(data, size, &mut file)?;
        // chmod after writing: a write to a setuid file would clear the bit again.
        file.set_permissions(Permissions::from_mode(mode)).map_err(Failure::Write)?;
        file.set_modified(time(mtime)).map_err(Failure::Write)?;
        Ok(sha)
    }

    pub(crate) fn symlink(&mut self, rel: &RelPath, target: &[u8], mtime: u64) -> Result<(), Failure> {
        use std::os::unix::ffi::OsStrExt;
        let path = self.slot(rel, false)?;
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), &path)
            .map_err(|e| Failure::Write(annotate(e, &path)))?;
        let t = nix::sys::time::TimeSpec::new(i64::try_from(mtime).unwrap_or(i64::MAX), 0);
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &path,
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| Failure::Write(annotate(e.into(), &path)))
    }

    /// Creates the directories a device node or FIFO at `rel` needs; the node itself is left to
    /// whoever can `mknod`.
    pub(crate) fn node_parents(&mut self, rel: &RelPath) -> Result<(), Failure> {
        self.parents(rel, true).map(|_| ())
    }

    /// Hard-links `rel` to the earlier entry `target`. `link(2)` does not follow a symlink at
    /// `target`, and `target`'s parents are checked like any entry's.
    pub(crate) fn hardlink(&mut self, rel: &RelPath, target: &RelPath) -> Result<(), Failure> {
        if rel == target {
            return Err(Refusal::HardLinkMissing(target.to_string()).into());
        }
        let from = match self.existing(target) {
            Err(Failure::Refused(Refusal::HardLinkMissing(_))) if self.concurrent => {
                self.slot(rel, false)?;
                self.deferred_links.push((rel.clone(), target.clone()));
                return Ok(());
            }
            found => found?,
        };
        let path = self.slot(rel, false)?;
        std::fs::hard_link(&from, &path).map_err(|e| Failure::Write(annotate(e, &path)))
    }

    /// Makes the deferred hard links and applies the deferred directory modes and times; on
    /// failure, names the entry.
    pub(crate) fn finish(mut self) -> Result<(), (String, io::Error)> {
        for (rel, target) in std::mem::take(&mut self.deferred_links) {
            let linked = self.existing(&target).and_then(|from| Ok((from, self.slot(&rel, false)?)));
            let (from, path) = linked.map_err(|f| (rel.to_string(), failure_to_io(f)))?;
            std::fs::hard_link(&from, &path).map_err(|e| (rel.to_string(), annotate(e, &path)))?;
        }
        self.dirs.sort_by_key(|d| std::cmp::Reverse(d.depth));
        for d in &self.dirs {
            apply_dir_meta(&d.path, d.mode, d.mtime).map_err(|e| (d.rel.clone(), annotate(e, &d.path)))?;
        }
        Ok(())
    }

    /// The full path for `rel` once its parents are known to be real directories, with whatever
    /// non-directory was there removed, or refused when merging (a directory is kept only for a
    /// directory entry).
    fn slot(&self, rel: &RelPath, for_dir: bool) -> Result<PathBuf, Failure> {
        let path = self.parents(rel, true)?;
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() && !for_dir => Err(Refusal::ReplacesDirectory(rel.to_string()).into()),
            Ok(m) if m.is_dir() => Ok(path),
            Ok(_) if self.keep_existing => Err(Refusal::Occupied(rel.to_string()).into()),
            Ok(_) => {
                fs_err::remove_file(&path).map_err(Failure::Write)?;
                Ok(path)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(path),
            Err(e) => Err(Failure::Write(annotate(e, &path))),
        }
    }

    /// An existing entry's full path, its parents checked but never created.
    fn existing(&self, rel: &RelPath) -> Result<PathBuf, Failure> {
        let path = self.parents(rel, false)?;
        match std::fs::symlink_metadata(&path) {
            Ok(m) if !m.is_dir() => Ok(path),
            _ => Err(Refusal::HardLinkMissing(rel.to_string()).into()),
        }
    }

    /// Walks `rel`'s parent components from the root: each must be a real directory; missing ones
    /// are created when `create`, else the entry is missing. Returns the full path of `rel`.
    fn parents(&self, rel: &RelPath, create: bool) -> Result<PathBuf, Failure> {
        let mut path = self.root.clone();
        let depth = rel.depth();
        for (i, part) in rel.components().enumerate() {
            path.push(part);
            if i + 1 == depth {
                break;
            }
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    let target = std::fs::read_link(&path).unwrap_or_default();
                    let through = rel.prefix_display(i + 1);
                    return Err(
                        Refusal::ThroughSymlink { through, target: target.display().to_string() }.into()
                    );
                }
                Ok(_) => {
                    return Err(Refusal::ThroughNonDirectory { through: rel.prefix_display(i + 1) }.into());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => self.create_dir(&path)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Refusal::HardLinkMissing(rel.to_string()).into());
                }
                Err(e) => return Err(Failure::Write(annotate(e, &path))),
            }
        }
        Ok(path)
    }
}

impl DestTree {
    /// Creates the directory `path`; another tree writing at the same time may have just made it.
    fn create_dir(&self, path: &Path) -> Result<(), Failure> {
        match fs_err::create_dir(path) {
            Err(e) if self.concurrent && e.kind() == io::ErrorKind::AlreadyExists && is_real_dir(path) => {
                Ok(())
            }
            made => made.map_err(Failure::Write),
        }
    }
}

fn failure_to_io(f: Failure) -> io::Error {
    match f {
        Failure::Refused(r) => io::Error::new(io::ErrorKind::InvalidData, r.to_string()),
        Failure::Rejected(why) => io::Error::new(io::ErrorKind::InvalidData, why),
        Failure::Read(e) | Failure::Write(e) => e,
    }
}

/// Copies exactly `size` bytes from `data` to `out`, returning their sha256; a short stream is a
/// read error (the archive ends inside the entry).
pub(crate) fn copy_hashed(data: &mut dyn Read, size: u64, out: &mut dyn Write) -> Result<String, Failure> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match data.read(&mut buf[..want]) {
            Ok(0) => return Err(Failure::Read(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Read(e)),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(Failure::Write)?;
        left -= n as u64;
    }
    Ok(hex::encode(hasher.finalize()))
}

fn apply_dir_meta(path: &Path, mode: u32, mtime: u64) -> io::Result<()> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC)
        .open(path)?;
    dir.set_permissions(Permissions::from_mode(mode))?;
    File::set_modified(&dir, time(mtime))
}

fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn time(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn rel(p: &str) -> RelPath {
        RelPath::parse(p.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn a_fork_defers_a_hard_link_whose_target_another_tree_has_not_written_yet() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = DestTree::merging(dir.path()).unwrap();
        let mut fork = tree.fork();
        fork.hardlink(&rel("bin/link"), &rel("bin/prog")).unwrap();
        assert!(!dir.path().join("bin/link").exists());
        tree.file(&rel("bin/prog"), &mut &b"prog"[..], 4, 0o755, 0).unwrap();
        tree.absorb(fork);
        tree.finish().unwrap();
        let (a, b) = (dir.path().join("bin/prog"), dir.path().join("bin/link"));
        assert_eq!(std::fs::metadata(a).unwrap().ino(), std::fs::metadata(b).unwrap().ino());
    }

    #[test]
    fn a_deferred_link_whose_target_never_came_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = DestTree::merging(dir.path()).unwrap();
        let mut fork = tree.fork();
        fork.hardlink(&rel("bin/link"), &rel("bin/prog")).unwrap();
        tree.absorb(fork);
        let (entry, err) = tree.finish().unwrap_err();
        assert_eq!(entry, "bin/link");
        assert!(err.to_string().contains("bin/prog"), "{err}");
    }

    #[test]
    fn without_a_fork_a_missing_link_target_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = DestTree::merging(dir.path()).unwrap();
        let err = tree.hardlink(&rel("bin/link"), &rel("bin/prog")).unwrap_err();
        assert!(matches!(err, Failure::Refused(Refusal::HardLinkMissing(_))));
    }

    #[test]
    fn forks_tolerate_a_directory_made_by_another_tree_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let tree = DestTree::merging(dir.path()).unwrap();
        let mut fork = tree.fork();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        // As if `etc` was missing when looked for and made by another tree before create_dir.
        fork.create_dir(&dir.path().join("etc")).unwrap();
        fork.dir(&rel("etc"), 0o755, 0).unwrap();
        assert!(DestTree::merging(dir.path()).unwrap().create_dir(&dir.path().join("etc")).is_err());
    }
}
