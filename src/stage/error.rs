//! What can go wrong while merging packages into a staging root, each error naming the packages
//! (`category/name-version`), entries and paths involved.

use std::path::PathBuf;

use crate::archive::ArchiveError;
use crate::key::BuildKey;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("the staging root {dest} is not a new or empty directory; remove it or choose another")]
    DestNotEmpty { dest: PathBuf },
    #[error("{package} is listed twice (keys {first} and {second}); a staging root holds one of each")]
    DuplicatePackage { package: String, first: BuildKey, second: BuildKey },
    #[error("{package}: its name cannot be a package database directory: {why}")]
    BadName { package: String, why: String },
    #[error("{package}: entry `{entry}` is not a relative path of plain components")]
    BadPath { package: String, entry: String },
    /// Two packages put different things at one path (after symlinks are resolved).
    #[error("`{path}` is installed by both {first} and {second}: {why}")]
    Collision { path: String, first: String, second: String, why: String },
    #[error("{package}: entry `{entry}` needs `{path}` to be a directory, but it is {what}")]
    NotADirectory { package: String, entry: String, path: String, what: String },
    #[error("{package}: entry `{entry}` goes through `{link}`, a symlink to `{target}`, which {problem}")]
    Symlink { package: String, entry: String, link: String, target: String, problem: LinkProblem },
    /// Reading a package's archive failed, or it disagrees with its manifest (the store's error
    /// names the package).
    #[error(transparent)]
    Unpack(Box<StoreError>),
    #[error("{package}: cannot write its manifest into the package database: {source}")]
    ManifestWrite { package: String, source: toml::ser::Error },
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why a symlink on an entry's way cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkProblem {
    #[error("leads outside the staging root")]
    Outside,
    #[error("is part of a loop (more than 40 symlinks followed)")]
    Loop,
    #[error("leads to `{0}`, which no package merged before provides")]
    Missing(String),
}
