//! Reading and writing paths of the staging root as the booted system will see them: symlinks
//! are followed relative to the root (an absolute target means the image's `/`, never the
//! host's), the way `openat2(RESOLVE_IN_ROOT)` does, so nothing configure writes lands outside
//! `root.dir`. Ownership and exact modes go into `root.entries`; the tree itself keeps modes the
//! building user can still read and replace (a rootless build owns every file in it).

use super::error::ConfigureError;
use crate::fs::AtomicFile;
use crate::stage::{EntryMeta, StagingRoot};
use std::collections::VecDeque;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Linux's limit on symlinks followed in one lookup.
const MAX_LINKS: usize = 40;

/// Owner and permission bits for something configure writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

impl Owner {
    pub const fn root(mode: u32) -> Owner {
        Owner { uid: 0, gid: 0, mode }
    }
}

/// The staging root seen through in-root path resolution.
pub struct Tree<'a> {
    root: &'a mut StagingRoot,
}

impl<'a> Tree<'a> {
    pub fn new(root: &'a mut StagingRoot) -> Self {
        Tree { root }
    }

    pub fn entries(&self) -> &std::collections::BTreeMap<String, EntryMeta> {
        &self.root.entries
    }

    /// `path` (absolute in the image) with every directory component resolved; the last
    /// component is not followed. Returns the relative key used in `entries` (`etc/hostname`).
    pub fn locate(&self, path: &str) -> Result<String, ConfigureError> {
        resolve(&self.root.dir, path, false)
    }

    /// Like `locate`, following the last component too (what `open` would reach).
    pub fn follow(&self, path: &str) -> Result<String, ConfigureError> {
        resolve(&self.root.dir, path, true)
    }

    pub fn host_path(&self, rel: &str) -> PathBuf {
        self.root.dir.join(rel)
    }

    /// The file's bytes, or `None` if nothing is there.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, ConfigureError> {
        let rel = self.follow(path)?;
        match fs_err::read(self.host_path(&rel)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a regular file atomically, creating missing parents (0755, root), replacing
    /// whatever non-directory was there, and records its owner and mode.
    pub fn write(&mut self, path: &str, bytes: &[u8], owner: Owner) -> Result<String, ConfigureError> {
        let rel = self.locate(path)?;
        let host = self.host_path(&rel);
        self.create_parents(&rel)?;
        if host.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            return Err(ConfigureError::Resolve {
                path: rel,
                reason: "a directory is in the way of a file".into(),
            });
        }
        let mut file = AtomicFile::create(&host)?;
        file.write_all(bytes).map_err(|e| annotate(e, &host))?;
        let perms = std::fs::Permissions::from_mode((owner.mode & 0o777) | 0o600);
        fs_err::set_permissions(file.tmp_path(), perms)?;
        file.commit()?;
        self.record(&rel, owner);
        Ok(rel)
    }

    /// Creates a directory (and missing parents, 0755 root) if absent and records its owner and
    /// mode. An existing directory is kept with its contents.
    pub fn make_dir(&mut self, path: &str, owner: Owner) -> Result<String, ConfigureError> {
        let rel = self.locate(path)?;
        self.create_parents(&rel)?;
        let host = self.host_path(&rel);
        match host.symlink_metadata() {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(ConfigureError::Resolve { path: rel, reason: "not a directory".into() }),
            Err(_) => fs_err::create_dir(&host)?,
        }
        fs_err::set_permissions(&host, std::fs::Permissions::from_mode((owner.mode & 0o777) | 0o700))?;
        self.record(&rel, owner);
        Ok(rel)
    }

    /// Makes `path` a symlink to `target`, replacing a file or another link. Symlinks carry no
    /// ownership worth recording, so any entry for the path is dropped.
    pub fn symlink(&mut self, path: &str, target: &str) -> Result<String, ConfigureError> {
        let rel = self.locate(path)?;
        self.create_parents(&rel)?;
        let host = self.host_path(&rel);
        if let Ok(m) = host.symlink_metadata() {
            if m.is_symlink() && fs_err::read_link(&host)? == Path::new(target) {
                self.root.entries.remove(&rel);
                return Ok(rel);
            }
            if m.is_dir() {
                return Err(ConfigureError::Resolve {
                    path: rel,
                    reason: "a directory is in the way of a link".into(),
                });
            }
            fs_err::remove_file(&host)?;
        }
        fs_err::os::unix::fs::symlink(target, &host)?;
        self.root.entries.remove(&rel);
        Ok(rel)
    }

    /// Removes a file or symlink at `path` (not following it) and its entry; true if one was there.
    pub fn remove(&mut self, path: &str) -> Result<bool, ConfigureError> {
        let rel = self.locate(path)?;
        let host = self.host_path(&rel);
        let present = host.symlink_metadata().is_ok_and(|m| !m.is_dir());
        if present {
            fs_err::remove_file(&host)?;
        }
        self.root.entries.remove(&rel);
        Ok(present)
    }

    fn record(&mut self, rel: &str, owner: Owner) {
        let meta = EntryMeta { uid: owner.uid, gid: owner.gid, mode: Some(owner.mode), node: None };
        self.root.entries.insert(rel.to_string(), meta);
    }

    /// Creates the missing directories above `rel` (already resolved: every existing component
    /// is a real directory) with mode 0755.
    fn create_parents(&self, rel: &str) -> Result<(), ConfigureError> {
        let mut host = self.root.dir.clone();
        let comps: Vec<&str> = rel.split('/').collect();
        for comp in &comps[..comps.len().saturating_sub(1)] {
            host.push(comp);
            if host.symlink_metadata().is_err() {
                fs_err::create_dir(&host)?;
                fs_err::set_permissions(&host, std::fs::Permissions::from_mode(0o755))?;
            }
        }
        Ok(())
    }
}

/// Resolves `path` inside `root`, following symlinks with `root` as `/`. Components that do not
/// exist yet are kept as they are (they will be created as directories).
fn resolve(root: &Path, path: &str, follow_last: bool) -> Result<String, ConfigureError> {
    let mut done: Vec<String> = Vec::new();
    let mut pending: VecDeque<String> = components(path).collect();
    let mut links = 0;
    let err = |reason: &str| ConfigureError::Resolve {
        path: path.trim_start_matches('/').into(),
        reason: reason.into(),
    };
    while let Some(comp) = pending.pop_front() {
        match comp.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let last = pending.is_empty();
        let host = root.join(done.join("/")).join(&comp);
        let meta = host.symlink_metadata().ok();
        match meta {
            Some(m) if m.is_symlink() && (!last || follow_last) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(err("too many levels of symbolic links"));
                }
                let target = fs_err::read_link(&host)?;
                let target = target.to_string_lossy();
                if target.starts_with('/') {
                    done.clear();
                }
                for (i, c) in components(&target).enumerate() {
                    pending.insert(i, c);
                }
            }
            Some(m) if !last && !m.is_dir() && !m.is_symlink() => {
                return Err(err(&format!("/{} is not a directory", rel_of(&done, &comp))));
            }
            _ => done.push(comp),
        }
    }
    if done.is_empty() {
        return Err(err("the root itself is not a file"));
    }
    Ok(done.join("/"))
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/').filter(|c| !c.is_empty()).map(str::to_string)
}

fn rel_of(done: &[String], comp: &str) -> String {
    let mut v = done.to_vec();
    v.push(comp.to_string());
    v.join("/")
}

fn annotate(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn staging() -> (tempfile::TempDir, StagingRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = StagingRoot { dir: dir.path().to_path_buf(), entries: Default::default() };
        (dir, root)
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let (dir, root) = staging();
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        symlink("/usr/lib", dir.path().join("lib")).unwrap();
        assert_eq!(resolve(&root.dir, "/lib/os-release", false).unwrap(), "usr/lib/os-release");
    }

    #[test]
    fn dot_dot_cannot_climb_above_the_root() {
        let (dir, root) = staging();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        symlink("../../../../tmp", dir.path().join("etc/up")).unwrap();
        assert_eq!(resolve(&root.dir, "/etc/up/x", false).unwrap(), "tmp/x");
    }

    #[test]
    fn last_component_is_followed_only_when_asked() {
        let (dir, root) = staging();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        symlink("../usr/lib/os-release", dir.path().join("etc/os-release")).unwrap();
        assert_eq!(resolve(&root.dir, "/etc/os-release", false).unwrap(), "etc/os-release");
        assert_eq!(resolve(&root.dir, "/etc/os-release", true).unwrap(), "usr/lib/os-release");
    }

    #[test]
    fn symlink_loops_are_an_error_naming_the_path() {
        let (dir, root) = staging();
        symlink("b", dir.path().join("a")).unwrap();
        symlink("a", dir.path().join("b")).unwrap();
        let e = resolve(&root.dir, "/a/x", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot resolve /a/x in the staging root: too many levels of symbolic links"
        );
    }

    #[test]
    fn a_file_in_place_of_a_directory_is_an_error() {
        let (dir, root) = staging();
        std::fs::write(dir.path().join("etc"), "").unwrap();
        let e = resolve(&root.dir, "/etc/hostname", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot resolve /etc/hostname in the staging root: /etc is not a directory"
        );
    }

    #[test]
    fn write_records_owner_and_keeps_the_tree_readable() {
        let (dir, mut root) = staging();
        let mut tree = Tree::new(&mut root);
        tree.write("/etc/shadow", b"x", Owner { uid: 0, gid: 0, mode: 0o400 }).unwrap();
        let mode = std::fs::metadata(dir.path().join("etc/shadow")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::metadata(dir.path().join("etc")).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(root.entries["etc/shadow"].mode, Some(0o400));
    }

    #[test]
    fn write_replaces_a_symlink_instead_of_writing_through_it() {
        let (dir, mut root) = staging();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        symlink(outside.path(), dir.path().join("etc/hostname")).unwrap();
        Tree::new(&mut root).write("/etc/hostname", b"box\n", Owner::root(0o644)).unwrap();
        assert_eq!(std::fs::read(outside.path()).unwrap(), b"");
        assert_eq!(std::fs::read(dir.path().join("etc/hostname")).unwrap(), b"box\n");
    }

    #[test]
    fn a_directory_in_the_way_of_a_file_is_an_error() {
        let (dir, mut root) = staging();
        std::fs::create_dir_all(dir.path().join("etc/motd")).unwrap();
        let e = Tree::new(&mut root).write("/etc/motd", b"", Owner::root(0o644)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot resolve /etc/motd in the staging root: a directory is in the way of a file"
        );
    }

    #[test]
    fn symlink_replaces_a_file_and_drops_its_entry() {
        let (dir, mut root) = staging();
        let mut tree = Tree::new(&mut root);
        tree.write("/etc/localtime", b"TZif", Owner::root(0o644)).unwrap();
        tree.symlink("/etc/localtime", "../usr/share/zoneinfo/UTC").unwrap();
        let link = std::fs::read_link(dir.path().join("etc/localtime")).unwrap();
        assert_eq!(link, Path::new("../usr/share/zoneinfo/UTC"));
        assert!(!root.entries.contains_key("etc/localtime"));
    }

    #[test]
    fn make_dir_refuses_a_file_in_the_way() {
        let (dir, mut root) = staging();
        std::fs::write(dir.path().join("home"), "").unwrap();
        let e = Tree::new(&mut root).make_dir("/home", Owner::root(0o755)).unwrap_err();
        assert_eq!(e.to_string(), "cannot resolve /home in the staging root: not a directory");
    }
}
