//! What can go wrong in the store, each error naming the path, package or entry involved.

use std::path::PathBuf;

use crate::archive::ArchiveError;
use crate::key::BuildKey;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{root} holds a store of format version `{found}`, but this ingot reads version {supported}: \
         point --cache at another directory, or use a matching ingot"
    )]
    UnknownVersion { root: PathBuf, found: String, supported: u32 },
    #[error(
        "{root} is not an ingot store: it has no VERSION file but contains `{entry}`; \
         point --cache at an empty or new directory"
    )]
    NotAStore { root: PathBuf, entry: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot write the manifest of {key}: {source}")]
    ManifestWrite { key: BuildKey, source: toml::ser::Error },
    #[error("cannot pack {destdir}: `{path}`: {problem}")]
    Pack { destdir: PathBuf, path: String, problem: PackProblem },
    #[error("package {package}: {source}")]
    Unpack { package: String, source: ArchiveError },
    #[error("package {package}: entry `{entry}` is in the manifest but not in the archive")]
    MissingEntry { package: String, entry: String },
}

/// Why a DESTDIR entry cannot go into a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackProblem {
    #[error("the path is not valid UTF-8 (manifests are TOML)")]
    NotUtf8,
    #[error("sockets cannot be packaged")]
    Socket,
    #[error("the package declares an owner for it, but DESTDIR has no such path")]
    OwnerWithoutPath,
    #[error("the package declares a device node there, but DESTDIR already has that path")]
    NodeOverPath,
    #[error("device node paths must be relative, without `.` or `..` components")]
    BadNodePath,
    #[error("the file changed size while it was being packed")]
    ChangedWhilePacking,
}
