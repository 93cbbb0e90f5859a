//! Safe extraction of tar archives (plain, gzip, bzip2, xz, zstd), for source tarballs and binary
//! packages alike. Every archive is hostile input: entries are refused, with the archive and the
//! entry named, when they would land outside the destination, write through a symlink, link to a
//! file outside, or expand past the size limits. Symlinks are created but never followed.

mod compression;
mod dest;
mod guard;
pub mod hash;
mod path;
#[cfg(test)]
mod tests;
mod walk;

use std::path::{Path, PathBuf};

pub use compression::Compression;

/// Size limits that bound what one archive may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest sum of all entry sizes, in bytes.
    pub max_total_bytes: u64,
    /// Most entries (files, directories, links) in one archive.
    pub max_entries: u64,
    /// Highest decompressed:compressed ratio tolerated once `ratio_after_bytes` are out; real
    /// source tarballs stay under 20:1, a zip bomb is far beyond 1000:1.
    pub max_ratio: u64,
    /// Decompressed bytes before the ratio is checked: small archives of zeros compress very well
    /// and are harmless.
    pub ratio_after_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        const GIB: u64 = 1 << 30;
        Limits {
            max_entry_bytes: 8 * GIB,
            max_total_bytes: 32 * GIB,
            max_entries: 2_000_000,
            max_ratio: 1000,
            ratio_after_bytes: 64 << 20,
        }
    }
}

/// What kind of archive is being extracted, which decides what it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// An upstream source tarball: no device nodes or FIFOs, setuid and setgid bits dropped.
    Source,
    /// A binary package: modes kept whole; device nodes and FIFOs are reported, not created (a
    /// rootless unpack cannot `mknod`; the image writer creates them from the manifest).
    Package,
}

/// The type of an archive entry, as the store's manifest records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hard link",
            EntryKind::Char => "character device",
            EntryKind::Block => "block device",
            EntryKind::Fifo => "FIFO",
        };
        f.write_str(name)
    }
}

/// One entry as read from an archive (and, when extracting, as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    /// Normalised relative path, `/`-separated, no leading `./` or trailing `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky, as written (after the policy).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Content bytes (files only; 0 otherwise).
    pub size: u64,
    /// sha256 of the content, lowercase hex (files only).
    pub sha256: Option<String>,
    /// Symlink target as stored, or a hard link's normalised target path.
    pub target: Option<String>,
    /// Major and minor numbers of a character or block device.
    pub device: Option<(u32, u32)>,
    pub mtime: u64,
}

/// What an extraction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractReport {
    pub compression: Compression,
    pub entries: Vec<EntryRecord>,
    /// Sum of entry sizes.
    pub bytes: u64,
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("absolute path")]
    AbsolutePath,
    #[error("path contains a `..` component")]
    ParentComponent,
    #[error(
        "it would be written through `{through}`, a symlink to `{target}` (extraction never follows symlinks)"
    )]
    ThroughSymlink { through: String, target: String },
    #[error("it would be written below `{through}`, which is not a directory")]
    ThroughNonDirectory { through: String },
    #[error("it would replace the directory `{0}` with a non-directory")]
    ReplacesDirectory(String),
    #[error("it would replace `{0}`, which an earlier archive put there")]
    Occupied(String),
    #[error("hard link to the absolute path `{0}`")]
    HardLinkAbsolute(String),
    #[error("hard link to `{0}`, which is outside the destination")]
    HardLinkOutside(String),
    #[error("hard link to `{0}`, which is not an earlier file of the archive")]
    HardLinkMissing(String),
    #[error("{kind} in a source archive (only binary packages may carry device nodes and FIFOs)")]
    SpecialFile { kind: EntryKind },
    #[error("{kind} without its major/minor numbers")]
    DeviceNumbers { kind: EntryKind },
    #[error("entry type `{0}` is not supported")]
    UnsupportedType(String),
    #[error("{what} {value} does not fit in 32 bits")]
    OwnerOutOfRange { what: &'static str, value: u64 },
    #[error("entry of {size} bytes is over the limit of {limit} bytes")]
    EntryTooLarge { size: u64, limit: u64 },
    #[error("the archive expands past the limit of {limit} bytes in total")]
    TotalTooLarge { limit: u64 },
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error(
        "decompression ratio over {limit}:1 ({out} bytes out of {compressed}): refusing a likely decompression bomb"
    )]
    Ratio { limit: u64, out: u64, compressed: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("refusing {archive}: entry `{entry}`: {reason}")]
    Refused { archive: PathBuf, entry: String, reason: Refusal },
    /// The caller's inspection rejected an entry (a package entry that disagrees with its manifest).
    #[error("{archive}: entry `{entry}`: {reason}")]
    Rejected { archive: PathBuf, entry: String, reason: String },
    #[error("cannot read {archive} (corrupt or truncated?): {source}")]
    Read { archive: PathBuf, source: std::io::Error },
    #[error("extracting {archive}: entry `{entry}`: {source}")]
    Write { archive: PathBuf, entry: String, source: std::io::Error },
    #[error("cannot create the destination {dest}: {source}")]
    Dest { dest: PathBuf, source: std::io::Error },
    #[error("setting the mode and time of directory `{entry}` in {dest}: {source}")]
    Finish { dest: PathBuf, entry: String, source: std::io::Error },
}

/// Called for each entry once it is read (and written); an `Err` stops extraction with
/// `ArchiveError::Rejected` carrying the message.
pub type Inspect<'a> = dyn FnMut(&EntryRecord) -> Result<(), String> + 'a;

/// Where an entry of a merged archive goes, decided by the caller from the entry's record (path,
/// type, mode, owner, link target; no content hash yet) before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Write it at this path (relative, `/`-separated), which must be free.
    At(String),
    /// The same thing is already at this path (an identical file, or a directory, from an earlier
    /// archive): write nothing, but still read and hash the entry for `inspect`. Hard links to it
    /// link to that path.
    Present(String),
}

/// Places each entry; an `Err` stops extraction with `ArchiveError::Rejected` carrying the message.
pub type Place<'a> = dyn FnMut(&EntryRecord) -> Result<Placement, String> + 'a;

/// A destination that several archives are extracted into in turn, each entry where the caller's
/// `Place` says (binary packages merged into one root). Writing never follows a symlink, whatever
/// the placement: the caller resolves paths, the tree only writes them. Directory modes and times
/// are applied once, by `finish`, after the last archive, so one archive's read-only directory
/// does not block the next archive's files.
pub struct Tree {
    dest: PathBuf,
    inner: dest::DestTree,
}

impl Tree {
    /// Opens `dest` (created if missing).
    pub fn create(dest: &Path) -> Result<Tree, ArchiveError> {
        let inner = dest::DestTree::merging(dest)
            .map_err(|source| ArchiveError::Dest { dest: dest.to_path_buf(), source })?;
        Ok(Tree { dest: dest.to_path_buf(), inner })
    }

    /// Extracts `archive` under `policy`, each entry written where `place` says, then shown to
    /// `inspect`.
    pub fn extract(
        &mut self,
        archive: &Path,
        limits: &Limits,
        policy: Policy,
        place: &mut Place<'_>,
        inspect: &mut Inspect<'_>,
    ) -> Result<ExtractReport, ArchiveError> {
        walk::Walk::new(archive, limits, policy).run(Some(&mut self.inner), Some(place), inspect)
    }

    /// A tree writing into the same destination, for extracting another archive on another
    /// thread at the same time. Placements must not collide (the stage's plan sees to it). What
    /// it defers (directory modes and times, hard links to files another archive writes) comes
    /// back with `absorb`, called in the order the archives are merged.
    pub fn fork(&self) -> Tree {
        Tree { dest: self.dest.clone(), inner: self.inner.fork() }
    }

    /// Takes back a fork, after the archives this tree and earlier forks hold.
    pub fn absorb(&mut self, fork: Tree) {
        self.inner.absorb(fork.inner);
    }

    /// Makes the hard links deferred by forks and applies the directory modes and times of every
    /// archive extracted.
    pub fn finish(self) -> Result<(), ArchiveError> {
        let dest = self.dest;
        self.inner.finish().map_err(|(entry, source)| ArchiveError::Finish { dest, entry, source })
    }
}

/// Extracts a source archive into `dest` (created if missing) under `Policy::Source`.
pub fn extract(archive: &Path, dest: &Path, limits: &Limits) -> Result<ExtractReport, ArchiveError> {
    extract_with(archive, dest, limits, Policy::Source, &mut |_| Ok(()))
}

/// Extracts `archive` into `dest` under `policy`, showing each entry to `inspect` once written.
pub fn extract_with(
    archive: &Path,
    dest: &Path,
    limits: &Limits,
    policy: Policy,
    inspect: &mut Inspect<'_>,
) -> Result<ExtractReport, ArchiveError> {
    let mut tree = dest::DestTree::create(dest)
        .map_err(|source| ArchiveError::Dest { dest: dest.to_path_buf(), source })?;
    let report = walk::Walk::new(archive, limits, policy).run(Some(&mut tree), None, inspect)?;
    tree.finish().map_err(|(entry, source)| ArchiveError::Write {
        archive: archive.to_path_buf(),
        entry,
        source,
    })?;
    Ok(report)
}

/// Reads and checks every entry of `archive` as `extract_with` would, hashing file contents,
/// without writing anything.
pub fn scan(
    archive: &Path,
    limits: &Limits,
    policy: Policy,
    inspect: &mut Inspect<'_>,
) -> Result<ExtractReport, ArchiveError> {
    walk::Walk::new(archive, limits, policy).run(None, None, inspect)
}
