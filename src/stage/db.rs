//! The package database in the image, `var/db/ingot/<category>/<name>-<version>/`, so the running
//! system knows what it holds: `MANIFEST.toml` (the store's manifest), `FEATURES` (the enabled
//! features on one line), `KEY` (the build key) and `CONTENTS`, one line per entry as Portage's
//! `/var/db/pkg/*/*/CONTENTS` has them, at the path the entry landed on:
//!
//! ```text
//! dir /usr/bin
//! obj /usr/bin/busybox <sha256>
//! sym /bin -> usr/bin
//! dev /dev/console
//! fif /run/initctl
//! ```
//!
//! Unlike Portage, a backslash or newline in a path is written as `\\` or `\n`, so every entry is
//! one line. Everything is root-owned, directories 0755 and files 0644.

use std::fs::Permissions;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::StageError;
use super::plan::PackagePlan;
use crate::archive::EntryKind;
use crate::store::Binpkg;

/// Writes `pkg`'s database directory, `plan.db_dir` under `dest`, creating missing parents. Plain
/// writes, not `fs::write_atomic`: the whole staging root is discarded if merging fails, and a
/// sync per file would cost more than the files.
pub(crate) fn write(dest: &Path, pkg: &Binpkg, plan: &PackagePlan<'_>) -> Result<(), StageError> {
    let manifest = pkg
        .manifest
        .to_toml()
        .map_err(|source| StageError::ManifestWrite { package: pkg.manifest.package(), source })?;
    let dir = create_dirs(dest, &plan.db_dir)?;
    let features = pkg.manifest.features.join(" ");
    for (name, text) in [
        ("MANIFEST.toml", manifest),
        ("FEATURES", format!("{features}\n")),
        ("KEY", format!("{}\n", pkg.key)),
        ("CONTENTS", contents(plan)),
    ] {
        let path = dir.join(name);
        fs_err::write(&path, text)?;
        fs_err::set_permissions(&path, Permissions::from_mode(0o644))?;
    }
    Ok(())
}

/// The `CONTENTS` text of a package's entries, in manifest order.
pub(crate) fn contents(plan: &PackagePlan<'_>) -> String {
    let mut out = String::new();
    for (f, spot) in plan.landed() {
        let path = escape(&format!("/{}", spot.at));
        let line = match f.kind {
            EntryKind::Dir => format!("dir {path}"),
            EntryKind::File | EntryKind::Hardlink => {
                format!("obj {path} {}", plan.content_sha256(f).unwrap_or_default())
            }
            EntryKind::Symlink => {
                format!("sym {path} -> {}", escape(f.target.as_deref().unwrap_or_default()))
            }
            EntryKind::Char | EntryKind::Block => format!("dev {path}"),
            EntryKind::Fifo => format!("fif {path}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Creates `rel`'s missing components under `dest` as 0755 directories, never following a symlink
/// (the plan resolved them all), and returns its full path. Another package's merge may be
/// creating the same parents at the same time.
fn create_dirs(dest: &Path, rel: &str) -> io::Result<std::path::PathBuf> {
    let mut path = dest.to_path_buf();
    for part in rel.split('/') {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                let why = format!("{}: expected a directory for the package database", path.display());
                return Err(io::Error::new(io::ErrorKind::NotADirectory, why));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match fs_err::create_dir(&path) {
                // Packages merge side by side: another one's database may have just made it.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
                made => {
                    made?;
                    fs_err::set_permissions(&path, Permissions::from_mode(0o755))?;
                }
            },
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backslashes_and_newlines_are_escaped_so_each_entry_is_one_line() {
        assert_eq!(escape("/a\nb\\c d"), "/a\\nb\\\\c d");
    }

    #[test]
    fn missing_directories_are_created_and_non_directories_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = create_dirs(tmp.path(), "var/db/ingot/sys-apps").unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755);
        std::fs::write(tmp.path().join("var/db/ingot/file"), b"").unwrap();
        let err = create_dirs(tmp.path(), "var/db/ingot/file/x").unwrap_err().to_string();
        assert!(err.contains("ingot/file: expected a directory for the package database"), "{err}");
    }
}
