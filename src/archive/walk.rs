//! The extraction loop: reads each tar entry, applies the limits and the policy, asks the caller
//! where it goes when merging, writes it through `DestTree` (or only hashes it when scanning or
//! when its content is already in place), and turns every failure into an error naming the archive
//! and the entry.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;

use super::dest::{DestTree, Failure, copy_hashed};
use super::guard::Tripwire;
use super::path::RelPath;
use super::{
    ArchiveError, EntryKind, EntryRecord, ExtractReport, Inspect, Limits, Place, Placement, Policy, Refusal,
    compression,
};

type Entry<'a> = tar::Entry<'a, Box<dyn Read>>;

/// What a link entry points at: a symlink's target bytes, or the destination path of the entry a
/// hard link shares its inode with.
enum Link {
    None,
    Symlink(Vec<u8>),
    Hard(RelPath),
}

pub(crate) struct Walk<'a> {
    archive: &'a Path,
    limits: &'a Limits,
    policy: Policy,
    count: u64,
    total: u64,
    /// Non-directory entries so far (the only things a hard link may point at), by archive path,
    /// with the destination path that holds them.
    linkable: HashMap<String, RelPath>,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(archive: &'a Path, limits: &'a Limits, policy: Policy) -> Self {
        Walk { archive, limits, policy, count: 0, total: 0, linkable: HashMap::new() }
    }

    /// Reads every entry; with a `tree`, writes each where `place` says (by default at its own
    /// path).
    pub(crate) fn run(
        mut self,
        mut tree: Option<&mut DestTree>,
        mut place: Option<&mut Place<'_>>,
        inspect: &mut Inspect<'_>,
    ) -> Result<ExtractReport, ArchiveError> {
        let (reader, compression, wire) = compression::open(self.archive, self.limits)
            .map_err(|source| ArchiveError::Read { archive: self.archive.to_path_buf(), source })?;
        let mut archive = tar::Archive::new(reader);
        let mut records = Vec::new();
        let mut name = String::from("(first header)");
        let entries = archive.entries().map_err(|e| self.read_error(e, &wire, &name))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| self.read_error(e, &wire, &format!("(header after {name})")))?;
            name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let record =
                self.entry(&mut entry, tree.as_deref_mut(), place.as_deref_mut()).map_err(|f| match f {
                    Failure::Refused(reason) => self.refused(&name, reason),
                    Failure::Rejected(reason) => ArchiveError::Rejected {
                        archive: self.archive.to_path_buf(),
                        entry: name.clone(),
                        reason,
                    },
                    Failure::Read(e) => self.read_error(e, &wire, &name),
                    Failure::Write(source) => ArchiveError::Write {
                        archive: self.archive.to_path_buf(),
                        entry: name.clone(),
                        source,
                    },
                })?;
            if let Some(record) = record {
                inspect(&record).map_err(|reason| ArchiveError::Rejected {
                    archive: self.archive.to_path_buf(),
                    entry: record.path.clone(),
                    reason,
                })?;
                records.push(record);
            }
        }
        Ok(ExtractReport { compression, entries: records, bytes: self.total })
    }

    fn entry(
        &mut self,
        entry: &mut Entry<'_>,
        tree: Option<&mut DestTree>,
        place: Option<&mut Place<'_>>,
    ) -> Result<Option<EntryRecord>, Failure> {
        let raw_path = entry.path_bytes().into_owned();
        let Some(kind) = kind_of(entry.header().entry_type(), &raw_path, entry.size())? else {
            return Ok(None);
        };
        let Some(rel) = RelPath::parse(&raw_path)? else {
            return Ok(None); // the archive's own root, `./`
        };
        let mut record = self.record(entry, &rel, kind)?;
        let link = self.link(entry, &mut record)?;
        let (at, write) = match place {
            None => (Some(rel), true),
            Some(place) => placed(place(&record).map_err(Failure::Rejected)?)?,
        };
        let spot = || at.clone().ok_or_else(|| Failure::Rejected("placed at the root itself".to_string()));
        match (kind, tree.filter(|_| write), link) {
            (EntryKind::File, Some(t), _) => {
                record.sha256 = Some(t.file(&spot()?, entry, record.size, record.mode, record.mtime)?);
            }
            (EntryKind::File, None, _) => {
                record.sha256 = Some(copy_hashed(entry, record.size, &mut io::sink())?)
            }
            (EntryKind::Dir, Some(t), _) => t.dir(&spot()?, record.mode, record.mtime)?,
            (EntryKind::Symlink, Some(t), Link::Symlink(target)) => {
                t.symlink(&spot()?, &target, record.mtime)?
            }
            (EntryKind::Hardlink, Some(t), Link::Hard(to)) => t.hardlink(&spot()?, &to)?,
            (EntryKind::Char | EntryKind::Block | EntryKind::Fifo, tree, _) => {
                self.special(entry, &mut record)?;
                if let Some(t) = tree {
                    t.node_parents(&spot()?)?; // the node's directory must exist for the image writer
                }
            }
            _ => {} // nothing to write
        }
        if kind != EntryKind::Dir {
            self.linkable.insert(record.path.clone(), spot()?);
        }
        Ok(Some(record))
    }

    /// A link entry's target, recorded as the archive names it.
    fn link(&self, entry: &Entry<'_>, record: &mut EntryRecord) -> Result<Link, Failure> {
        Ok(match record.kind {
            EntryKind::Symlink => {
                let target = link_target(entry)?;
                record.target = Some(String::from_utf8_lossy(&target).into_owned());
                Link::Symlink(target)
            }
            EntryKind::Hardlink => {
                let (target, at) = self.hardlink_target(entry)?;
                record.target = Some(target.to_string());
                Link::Hard(at)
            }
            _ => Link::None,
        })
    }

    /// The entry's metadata, once the count and size limits and the mode policy are applied.
    fn record(&mut self, entry: &Entry<'_>, rel: &RelPath, kind: EntryKind) -> Result<EntryRecord, Failure> {
        let limits = self.limits;
        self.count += 1;
        if self.count > limits.max_entries {
            return Err(Refusal::TooManyEntries { limit: limits.max_entries }.into());
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            return Err(Refusal::EntryTooLarge { size, limit: limits.max_entry_bytes }.into());
        }
        self.total = self.total.saturating_add(size);
        if self.total > limits.max_total_bytes {
            return Err(Refusal::TotalTooLarge { limit: limits.max_total_bytes }.into());
        }
        let header = entry.header();
        let mut mode = header.mode().map_err(Failure::Read)? & 0o7777;
        if self.policy == Policy::Source {
            mode &= !0o6000;
        }
        Ok(EntryRecord {
            path: rel.to_string(),
            kind,
            mode,
            uid: owner("uid", header.uid().map_err(Failure::Read)?)?,
            gid: owner("gid", header.gid().map_err(Failure::Read)?)?,
            size: if kind == EntryKind::File { size } else { 0 },
            sha256: None,
            target: None,
            device: None,
            mtime: header.mtime().map_err(Failure::Read)?,
        })
    }

    /// A hard link's target as the archive names it, and the destination path that holds it.
    fn hardlink_target(&self, entry: &Entry<'_>) -> Result<(RelPath, RelPath), Failure> {
        let raw = link_target(entry)?;
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let target = match RelPath::parse(&raw) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(Refusal::HardLinkMissing(shown).into()),
            Err(Refusal::AbsolutePath) => return Err(Refusal::HardLinkAbsolute(shown).into()),
            Err(_) => return Err(Refusal::HardLinkOutside(shown).into()),
        };
        match self.linkable.get(&target.to_string()) {
            Some(at) => {
                let at = at.clone();
                Ok((target, at))
            }
            None => Err(Refusal::HardLinkMissing(target.to_string()).into()),
        }
    }

    /// Device nodes and FIFOs: refused in sources, recorded (never created) in packages.
    fn special(&self, entry: &Entry<'_>, record: &mut EntryRecord) -> Result<(), Failure> {
        let kind = record.kind;
        if self.policy == Policy::Source {
            return Err(Refusal::SpecialFile { kind }.into());
        }
        if kind != EntryKind::Fifo {
            let header = entry.header();
            let major = header.device_major().map_err(Failure::Read)?;
            let minor = header.device_minor().map_err(Failure::Read)?;
            match (major, minor) {
                (Some(major), Some(minor)) => record.device = Some((major, minor)),
                _ => return Err(Refusal::DeviceNumbers { kind }.into()),
            }
        }
        Ok(())
    }

    fn refused(&self, entry: &str, reason: Refusal) -> ArchiveError {
        ArchiveError::Refused { archive: self.archive.to_path_buf(), entry: entry.to_string(), reason }
    }

    /// A stream error, unless the bomb guard caused it: then the refusal says why.
    fn read_error(&self, source: io::Error, wire: &Tripwire, entry: &str) -> ArchiveError {
        match wire.refusal() {
            Some(reason) => self.refused(entry, reason),
            None => ArchiveError::Read { archive: self.archive.to_path_buf(), source },
        }
    }
}

/// The kind of entry a header announces; `None` for metadata entries that write nothing.
fn kind_of(ty: tar::EntryType, raw_path: &[u8], size: u64) -> Result<Option<EntryKind>, Refusal> {
    use tar::EntryType as T;
    Ok(Some(match ty {
        // Pre-POSIX archives mark directories only by a trailing slash on a regular entry.
        T::Regular if raw_path.ends_with(b"/") && size == 0 => EntryKind::Dir,
        T::Regular | T::Continuous | T::GNUSparse => EntryKind::File,
        T::Directory => EntryKind::Dir,
        T::Symlink => EntryKind::Symlink,
        T::Link => EntryKind::Hardlink,
        T::Char => EntryKind::Char,
        T::Block => EntryKind::Block,
        T::Fifo => EntryKind::Fifo,
        T::XGlobalHeader => return Ok(None),
        other => return Err(Refusal::UnsupportedType(format!("{}", other.as_byte() as char))),
    }))
}

/// The checked destination path of a placement (`None`: the destination's root) and whether the
/// entry is written there.
fn placed(placement: Placement) -> Result<(Option<RelPath>, bool), Failure> {
    let (path, write) = match placement {
        Placement::At(path) => (path, true),
        Placement::Present(path) => (path, false),
    };
    match RelPath::parse(path.as_bytes()) {
        Ok(at) => Ok((at, write)),
        Err(why) => {
            Err(Failure::Rejected(format!("placed at `{path}`, which is not inside the destination: {why}")))
        }
    }
}

fn link_target(entry: &Entry<'_>) -> Result<Vec<u8>, Failure> {
    match entry.link_name_bytes() {
        Some(t) if !t.is_empty() => Ok(t.into_owned()),
        _ => Err(Failure::Read(io::Error::new(io::ErrorKind::InvalidData, "link entry without a target"))),
    }
}

fn owner(what: &'static str, value: u64) -> Result<u32, Refusal> {
    u32::try_from(value).map_err(|_| Refusal::OwnerOutOfRange { what, value })
}
