//! A stored binary package and its verified unpacking.

use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::manifest::{Checker, FileEntry, Manifest};
use crate::archive::{self, Limits, Policy};
use crate::key::BuildKey;

/// A package found in (or just added to) the store, its archive checked against its manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Binpkg {
    pub key: BuildKey,
    pub manifest: Manifest,
    pub archive: PathBuf,
}

impl Binpkg {
    /// Unpacks into `dest` (created if missing) with the safe extractor, checking every entry
    /// against the manifest as it is written; returns the entries written, for the caller's
    /// collision detection. Owners and device nodes are only reported, never applied: see
    /// `FileEntry::staging_meta`.
    pub fn unpack(&self, dest: &Path) -> Result<Vec<FileEntry>, StoreError> {
        let mut checker = Checker::new(&self.manifest);
        let report =
            archive::extract_with(&self.archive, dest, &Limits::default(), Policy::Package, &mut |r| {
                checker.check(r)
            })
            .map_err(|source| StoreError::Unpack { package: self.describe(), source })?;
        if let Some(entry) = checker.first_missing() {
            return Err(StoreError::MissingEntry { package: self.describe(), entry: entry.to_string() });
        }
        Ok(report.entries.iter().map(FileEntry::from).collect())
    }

    /// Extracts into `tree`, which the packages merged before it share, each entry written where
    /// `place` says (the stage resolves symlinks and collisions; see `archive::Tree`), and checked
    /// against the manifest as it is written, as `unpack` does. The archive is read once.
    pub fn extract_into(
        &self,
        tree: &mut archive::Tree,
        place: &mut archive::Place<'_>,
    ) -> Result<(), StoreError> {
        let mut checker = Checker::new(&self.manifest);
        tree.extract(&self.archive, &Limits::default(), Policy::Package, place, &mut |r| checker.check(r))
            .map_err(|source| StoreError::Unpack { package: self.describe(), source })?;
        match checker.first_missing() {
            Some(entry) => {
                Err(StoreError::MissingEntry { package: self.describe(), entry: entry.to_string() })
            }
            None => Ok(()),
        }
    }

    /// `category/name-version (key prefix)`, for messages.
    pub fn describe(&self) -> String {
        describe(&self.manifest, &self.key)
    }
}

pub(crate) fn describe(manifest: &Manifest, key: &BuildKey) -> String {
    let key = key.to_string();
    format!("{} ({})", manifest.package(), &key[..12])
}
