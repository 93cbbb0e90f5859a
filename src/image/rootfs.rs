//! Reading files out of the staging root as the booted system would see them: symlinks such as
//! `etc/os-release -> ../usr/lib/os-release` or `boot/vmlinuz -> vmlinuz-6.1` resolve inside the
//! root, never into the build host's own `/`.

use super::error::ImageError;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

const MAX_LINKS: usize = 40;

/// The host path of the regular file at `rel` inside `root`, following symlinks with `root` as
/// `/`. `what` names the file in errors ("kernel", "initramfs").
pub fn resolve_file(root: &Path, rel: &str, what: &'static str) -> Result<PathBuf, ImageError> {
    let not_found = || ImageError::NotInRoot { what, path: rel.to_string(), root: root.to_path_buf() };
    let bad = |why: String| ImageError::BadRootPath { what, path: rel.to_string(), why };
    let mut todo: VecDeque<OsString> = components(Path::new(rel));
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            done.pop();
            continue;
        }
        let candidate = join(root, &done).join(&part);
        let meta = match fs_err::symlink_metadata(&candidate) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        if !meta.file_type().is_symlink() {
            done.push(part);
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(bad(format!("more than {MAX_LINKS} symbolic links")));
        }
        let target = fs_err::read_link(&candidate)?;
        if target.is_absolute() {
            done.clear();
        }
        for (i, c) in components(&target).into_iter().enumerate() {
            todo.insert(i, c);
        }
    }
    let path = join(root, &done);
    let meta = fs_err::metadata(&path)?;
    if !meta.is_file() {
        return Err(bad("it is not a regular file".into()));
    }
    Ok(path)
}

/// Like `resolve_file`, but a missing file is `None`.
pub fn resolve_optional(root: &Path, rel: &str, what: &'static str) -> Result<Option<PathBuf>, ImageError> {
    match resolve_file(root, rel, what) {
        Ok(p) => Ok(Some(p)),
        Err(ImageError::NotInRoot { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(parts);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("boot")).unwrap();
        std::fs::write(r.join("usr/lib/os-release"), "ID=ingot\n").unwrap();
        symlink("../usr/lib/os-release", r.join("etc/os-release")).unwrap();
        std::fs::write(r.join("boot/vmlinuz-6.1"), "kernel").unwrap();
        symlink("/boot/vmlinuz-6.1", r.join("boot/vmlinuz")).unwrap();
        symlink("/etc/passwd-of-the-host", r.join("etc/escape")).unwrap();
        symlink("../../../../../../../etc/hostname", r.join("etc/climb")).unwrap();
        symlink("loop", r.join("etc/loop")).unwrap();
        dir
    }

    #[test]
    fn relative_and_absolute_links_resolve_inside_the_root() {
        let t = tree();
        let r = t.path();
        assert_eq!(resolve_file(r, "etc/os-release", "os-release").unwrap(), r.join("usr/lib/os-release"));
        assert_eq!(resolve_file(r, "boot/vmlinuz", "kernel").unwrap(), r.join("boot/vmlinuz-6.1"));
    }

    #[test]
    fn links_never_reach_the_host() {
        let t = tree();
        let err = resolve_file(t.path(), "etc/escape", "file").unwrap_err().to_string();
        assert!(err.starts_with("file `etc/escape` not found in the staging root"), "{err}");
        let err = resolve_file(t.path(), "etc/climb", "file").unwrap_err().to_string();
        assert!(err.contains("not found in the staging root"), "{err}");
    }

    #[test]
    fn link_loops_are_reported() {
        let t = tree();
        let err = resolve_file(t.path(), "etc/loop", "file").unwrap_err().to_string();
        assert_eq!(err, "file `etc/loop` in the staging root is not usable: more than 40 symbolic links");
    }

    #[test]
    fn a_directory_is_not_a_file() {
        let t = tree();
        let err = resolve_file(t.path(), "etc", "kernel").unwrap_err().to_string();
        assert_eq!(err, "kernel `etc` in the staging root is not usable: it is not a regular file");
    }

    #[test]
    fn missing_optional_file_is_none() {
        let t = tree();
        assert_eq!(resolve_optional(t.path(), "etc/missing", "file").unwrap(), None);
    }
}
