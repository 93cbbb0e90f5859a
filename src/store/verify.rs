//! Checking stored packages: the quick check behind every lookup (manifest and archive hash), the
//! full check of `ingot cache verify` (every entry against the manifest), and moving corrupt
//! entries aside to `quarantine/` so they read as absent and get rebuilt.

use std::io;
use std::path::PathBuf;
use std::time::SystemTime;

use rayon::prelude::*;

use super::error::StoreError;
use super::layout;
use super::manifest::{Checker, FORMAT, Manifest};
use super::unpack::{Binpkg, describe};
use super::{Store, annotate};
use crate::archive::{self, Limits, Policy, hash};
use crate::key::BuildKey;

/// The outcome of a verified lookup.
// Returned once per lookup and never kept in bulk: boxing the hit would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Hit(Binpkg),
    Miss,
    /// The entry was corrupt and is now under `moved_to`; the package must be rebuilt.
    Quarantined {
        reason: String,
        moved_to: PathBuf,
    },
}

/// What `Store::verify_all` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    pub ok: Vec<BuildKey>,
    pub problems: Vec<Problem>,
    /// Archives without a manifest: an insert stopped between its two renames (a crash). Not
    /// packages — no lookup sees them, the next insert of the key replaces them, `gc` removes
    /// them — so not problems either.
    pub uncommitted: Vec<PathBuf>,
}

impl VerifyReport {
    /// Every stored package is whole.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One bad store entry: which key, which file, what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: BuildKey,
    pub path: PathBuf,
    pub what: String,
}

#[allow(clippy::large_enum_variant)] // as `Lookup`
enum Checked {
    Absent,
    Good(Binpkg),
    Corrupt(String),
}

impl Store {
    /// Like `get`, saying whether a miss was a corrupt entry moved aside. A hit marks the
    /// package as used now (its manifest's mtime), which `gc`'s age counts from.
    pub fn lookup(&self, key: &BuildKey) -> Result<Lookup, StoreError> {
        match self.check(key, false)? {
            Checked::Absent => Ok(Lookup::Miss),
            Checked::Good(pkg) => {
                mark_used(&self.manifest_path(key));
                Ok(Lookup::Hit(pkg))
            }
            Checked::Corrupt(reason) => self.quarantine(key, reason),
        }
    }

    /// Checks every stored package in full: manifest, archive size and sha256, and each archive
    /// entry against the manifest. Reports; moves nothing.
    pub fn verify_all(&self) -> Result<VerifyReport, StoreError> {
        let mut files = layout::pkg_files(self.root())?;
        files.dedup_by_key(|f| f.key);
        let results: Vec<_> = files.par_iter().map(|f| (f.key, self.check(&f.key, true))).collect();
        let mut report = VerifyReport::default();
        for (key, result) in results {
            match result? {
                Checked::Good(_) => report.ok.push(key),
                Checked::Corrupt(what) => {
                    report.problems.push(Problem { key, path: self.manifest_path(&key), what });
                }
                Checked::Absent => report.uncommitted.push(self.archive_path(&key)),
            }
        }
        Ok(report)
    }

    fn check(&self, key: &BuildKey, full: bool) -> Result<Checked, StoreError> {
        let manifest_path = self.manifest_path(key);
        let bytes = match std::fs::read(&manifest_path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Checked::Absent),
            Err(e) => return Err(annotate(e, &manifest_path).into()),
        };
        let manifest = match String::from_utf8(bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| Manifest::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => return Ok(Checked::Corrupt(format!("its manifest does not parse: {e}"))),
        };
        if let Some(why) = self.archive_problem(key, &manifest)? {
            return Ok(Checked::Corrupt(why));
        }
        if full && let Some(why) = entries_problem(&self.archive_path(key), &manifest) {
            return Ok(Checked::Corrupt(why));
        }
        Ok(Checked::Good(Binpkg { key: *key, archive: self.archive_path(key), manifest }))
    }

    /// Why the manifest and the archive file disagree, if they do.
    fn archive_problem(&self, key: &BuildKey, manifest: &Manifest) -> Result<Option<String>, StoreError> {
        if manifest.format != FORMAT {
            return Ok(Some(format!(
                "its manifest has format {} (this ingot reads {FORMAT})",
                manifest.format
            )));
        }
        if manifest.key != *key {
            return Ok(Some(format!("its manifest is for key {}", manifest.key)));
        }
        let archive = self.archive_path(key);
        let size = match std::fs::metadata(&archive) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Some("its archive is missing".to_string()));
            }
            Err(e) => return Err(annotate(e, &archive).into()),
        };
        if size != manifest.archive_size {
            return Ok(Some(format!(
                "its archive is {size} bytes, the manifest says {}",
                manifest.archive_size
            )));
        }
        let (sha, _) = hash::sha256_file(&archive)?;
        if sha != manifest.archive_sha256 {
            return Ok(Some(format!(
                "its archive has sha256 {sha}, the manifest says {}",
                manifest.archive_sha256
            )));
        }
        Ok(None)
    }

    /// Moves a corrupt entry to `quarantine/<key>.<n>/` with a `REASON` file, and says so.
    fn quarantine(&self, key: &BuildKey, reason: String) -> Result<Lookup, StoreError> {
        let base = self.root().join("quarantine");
        fs_err::create_dir_all(&base)?;
        let mut n = 1;
        let dest = loop {
            let dir = base.join(format!("{key}.{n}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(annotate(e, &dir).into()),
            }
        };
        let manifest = self.manifest_path(key);
        let name = |p: &PathBuf| dest.join(p.file_name().unwrap_or_default());
        // The manifest goes first: once it is gone, no reader trusts the archive.
        if let Err(e) = std::fs::rename(&manifest, name(&manifest)) {
            let _ = std::fs::remove_dir(&dest);
            return match e.kind() {
                io::ErrorKind::NotFound => Ok(Lookup::Miss), // another process moved it first
                _ => Err(annotate(e, &manifest).into()),
            };
        }
        let archive = self.archive_path(key);
        match std::fs::rename(&archive, name(&archive)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(annotate(e, &archive).into());
            }
            _ => {}
        }
        fs_err::write(dest.join("REASON"), format!("{reason}\n"))?;
        let what = describe_loose(&name(&manifest), key);
        self.warn(format!(
            "store: {what} is corrupt ({reason}); moved to {} and it will be rebuilt",
            dest.display()
        ));
        Ok(Lookup::Quarantined { reason, moved_to: dest })
    }
}

/// Why an archive's entries disagree with its manifest, if they do.
fn entries_problem(archive: &std::path::Path, manifest: &Manifest) -> Option<String> {
    let mut checker = Checker::new(manifest);
    if let Err(e) = archive::scan(archive, &Limits::default(), Policy::Package, &mut |r| checker.check(r)) {
        return Some(e.to_string());
    }
    checker.first_missing().map(|entry| format!("entry `{entry}` is in the manifest but not in the archive"))
}

/// The package's name if its (moved) manifest still parses, else its key.
fn describe_loose(manifest: &std::path::Path, key: &BuildKey) -> String {
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| Manifest::parse(&t).ok())
        .map(|m| describe(&m, key))
        .unwrap_or_else(|| format!("package {key}"))
}

fn mark_used(manifest: &std::path::Path) {
    // Best effort: a read-only store still serves packages; gc then counts age from insertion.
    if let Ok(f) = std::fs::File::options().append(true).open(manifest) {
        let _ = f.set_modified(SystemTime::now());
    }
}
