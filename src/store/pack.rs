//! Packing a DESTDIR into a reproducible `.tar.zst`: entries sorted by path, mtimes clamped to
//! SOURCE_DATE_EPOCH, numeric owners only (0:0 unless the recipe says otherwise), modes kept whole,
//! hard links detected, and the recipe's device nodes added as tar headers (a rootless build
//! cannot create them in DESTDIR).

use std::collections::{BTreeMap, HashMap};
use std::fs::Metadata;
use std::io::{self, BufWriter, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::error::{PackProblem, StoreError};
use super::manifest::FileEntry;
use crate::archive::EntryKind;
use crate::archive::hash::{HashingReader, HashingWriter};
use crate::stage::{DeviceNode, NodeKind};

/// zstd level for packages: 10 packs several times faster than 19 for a few percent more bytes,
/// and decompression speed (what every later build and image pays) barely depends on it.
const ZSTD_LEVEL: i32 = 10;

/// What the builder knows about a package besides its files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageMeta {
    /// `category/name`.
    pub atom: String,
    pub version: String,
    pub slot: String,
    pub features: Vec<String>,
    pub run_deps: Vec<String>,
    /// The key's inputs, for `ingot explain`.
    pub inputs: BTreeMap<String, String>,
    pub build_seconds: f64,
    pub source_date_epoch: u64,
    /// Path (relative to DESTDIR) -> uid:gid, for entries not owned by root.
    pub owners: BTreeMap<String, (u32, u32)>,
    /// Device nodes and FIFOs declared by the recipe: path, node, permission bits.
    pub nodes: Vec<(String, DeviceNode, u32)>,
}

/// The packed archive's entries and the archive's own hash and size.
pub(crate) struct Packed {
    pub files: Vec<FileEntry>,
    pub sha256: String,
    pub size: u64,
}

/// One entry to pack; `source` is the DESTDIR file a regular file's bytes come from.
struct Item {
    entry: FileEntry,
    mtime: u64,
    source: Option<PathBuf>,
}

pub(crate) fn pack(destdir: &Path, meta: &PackageMeta, out: &Path) -> Result<Packed, StoreError> {
    let items = collect(destdir, meta)?;
    let file = fs_err::File::create(out)?;
    let hashing = HashingWriter::new(BufWriter::with_capacity(256 << 10, file));
    let mut encoder = zstd::stream::write::Encoder::new(hashing, ZSTD_LEVEL)?;
    size_tables(&mut encoder, &items)?;
    let mut tar = tar::Builder::new(encoder);
    let mut files = Vec::with_capacity(items.len());
    for mut item in items {
        if let Some(source) = &item.source {
            item.entry.sha256 = Some(append_file(&mut tar, &item, source, destdir)?);
        } else {
            append_other(&mut tar, &item)?;
        }
        files.push(item.entry);
    }
    let (buffered, sha256, size) = tar.into_inner()?.finish()?.finish();
    // Not fsynced: see `Store::insert` on why integrity never depends on durability here.
    buffered.into_inner().map_err(|e| e.into_error())?;
    Ok(Packed { files, sha256, size })
}

/// Scales zstd's window and match tables to the content: level 10 otherwise allocates and zeroes
/// several MiB of tables per package, which dominates packing a small one. An input smaller than
/// the window compresses the same either way, and the result depends only on the content.
fn size_tables<W: std::io::Write>(
    encoder: &mut zstd::stream::write::Encoder<'_, W>,
    items: &[Item],
) -> std::io::Result<()> {
    use zstd::zstd_safe::CParameter;
    let bytes: u64 = items.iter().map(|i| i.entry.size + 1024).sum::<u64>() + 1024;
    let log = (u64::BITS - bytes.leading_zeros()).clamp(12, 22);
    encoder.set_parameter(CParameter::WindowLog(log))?;
    encoder.set_parameter(CParameter::HashLog((log + 1).min(21)))?;
    encoder.set_parameter(CParameter::ChainLog((log + 1).min(21)))
}

/// Every DESTDIR entry plus the declared nodes, sorted by path, owners applied.
fn collect(destdir: &Path, meta: &PackageMeta) -> Result<Vec<Item>, StoreError> {
    let problem =
        |path: &str, problem| StoreError::Pack { destdir: destdir.to_path_buf(), path: path.into(), problem };
    let mut items = Vec::new();
    for entry in walkdir::WalkDir::new(destdir).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| io::Error::other(format!("walking {}: {e}", destdir.display())))?;
        let rel = entry.path().strip_prefix(destdir).unwrap_or(entry.path());
        let Some(rel) = rel.to_str() else {
            return Err(problem(&rel.to_string_lossy(), PackProblem::NotUtf8));
        };
        let md =
            entry.metadata().map_err(|e| io::Error::other(format!("{}: {e}", entry.path().display())))?;
        let item = item_from_fs(entry.path(), rel, &md, meta.source_date_epoch).map_err(|p| match p {
            ItemError::Problem(p) => problem(rel, p),
            ItemError::Io(e) => StoreError::Io(e),
        })?;
        items.push(item);
    }
    items.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
    mark_hardlinks(&mut items)?;
    add_nodes(&mut items, meta).map_err(|(path, p)| problem(&path, p))?;
    apply_owners(&mut items, &meta.owners).map_err(|(path, p)| problem(&path, p))?;
    Ok(items)
}

enum ItemError {
    Problem(PackProblem),
    Io(io::Error),
}

fn item_from_fs(path: &Path, rel: &str, md: &Metadata, sde: u64) -> Result<Item, ItemError> {
    let ft = md.file_type();
    let mut entry = plain_entry(rel, EntryKind::File, md.mode() & 0o7777);
    let mut source = None;
    if ft.is_dir() {
        entry.kind = EntryKind::Dir;
    } else if ft.is_file() {
        entry.size = md.len();
        source = Some(path.to_path_buf());
    } else if ft.is_symlink() {
        let target = fs_err::read_link(path).map_err(ItemError::Io)?;
        entry.kind = EntryKind::Symlink;
        entry.mode = 0o777;
        entry.target = Some(target.to_str().ok_or(ItemError::Problem(PackProblem::NotUtf8))?.to_string());
    } else if ft.is_fifo() {
        entry.kind = EntryKind::Fifo;
    } else if ft.is_char_device() || ft.is_block_device() {
        entry.kind = if ft.is_char_device() { EntryKind::Char } else { EntryKind::Block };
        entry.major = Some(nix::sys::stat::major(md.rdev()) as u32);
        entry.minor = Some(nix::sys::stat::minor(md.rdev()) as u32);
    } else {
        return Err(ItemError::Problem(PackProblem::Socket));
    }
    let mtime = u64::try_from(md.mtime()).unwrap_or(0).min(sde);
    Ok(Item { entry, mtime, source })
}

fn plain_entry(path: &str, kind: EntryKind, mode: u32) -> FileEntry {
    FileEntry {
        path: path.to_string(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        size: 0,
        sha256: None,
        target: None,
        major: None,
        minor: None,
    }
}

/// Later paths to an inode already packed become hard links to the first (in path order).
fn mark_hardlinks(items: &mut [Item]) -> io::Result<()> {
    let mut first: HashMap<(u64, u64), String> = HashMap::new();
    for item in items.iter_mut() {
        let Some(source) = &item.source else { continue };
        let md = fs_err::symlink_metadata(source)?;
        if md.nlink() < 2 {
            continue;
        }
        match first.get(&(md.dev(), md.ino())) {
            Some(target) => {
                item.entry.kind = EntryKind::Hardlink;
                item.entry.size = 0;
                item.entry.target = Some(target.clone());
                item.source = None;
            }
            None => {
                first.insert((md.dev(), md.ino()), item.entry.path.clone());
            }
        }
    }
    Ok(())
}

fn add_nodes(items: &mut Vec<Item>, meta: &PackageMeta) -> Result<(), (String, PackProblem)> {
    for (path, node, mode) in &meta.nodes {
        let rel = clean_rel(path).ok_or((path.clone(), PackProblem::BadNodePath))?;
        if items.iter().any(|i| i.entry.path == rel) {
            return Err((rel, PackProblem::NodeOverPath));
        }
        let kind = match node.kind {
            NodeKind::Char => EntryKind::Char,
            NodeKind::Block => EntryKind::Block,
            NodeKind::Fifo => EntryKind::Fifo,
        };
        let mut entry = plain_entry(&rel, kind, mode & 0o7777);
        if kind != EntryKind::Fifo {
            (entry.major, entry.minor) = (Some(node.major), Some(node.minor));
        }
        items.push(Item { entry, mtime: meta.source_date_epoch, source: None });
    }
    items.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
    Ok(())
}

fn apply_owners(
    items: &mut [Item],
    owners: &BTreeMap<String, (u32, u32)>,
) -> Result<(), (String, PackProblem)> {
    for (path, &(uid, gid)) in owners {
        let rel = clean_rel(path).unwrap_or_else(|| path.clone());
        let item = items
            .binary_search_by(|i| i.entry.path.as_str().cmp(&rel))
            .map(|at| &mut items[at])
            .map_err(|_| (path.clone(), PackProblem::OwnerWithoutPath))?;
        (item.entry.uid, item.entry.gid) = (uid, gid);
    }
    Ok(())
}

/// A recipe-given path as the manifest spells it (`/dev/null` -> `dev/null`, `/usr/bin/` ->
/// `usr/bin`), or `None` if it has empty, `.` or `..` components.
fn clean_rel(path: &str) -> Option<String> {
    let rel = path.trim_matches('/');
    let ok = !rel.is_empty() && rel.split('/').all(|c| !matches!(c, "" | "." | ".."));
    ok.then(|| rel.to_string())
}

fn header(item: &Item, ty: EntryType) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(ty);
    h.set_mode(item.entry.mode);
    h.set_uid(item.entry.uid.into());
    h.set_gid(item.entry.gid.into());
    h.set_mtime(item.mtime);
    h.set_size(0);
    h
}

type Tar = tar::Builder<zstd::stream::write::Encoder<'static, HashingWriter<BufWriter<fs_err::File>>>>;

/// Appends a regular file, hashing it on the way; returns its sha256.
fn append_file(tar: &mut Tar, item: &Item, source: &Path, destdir: &Path) -> Result<String, StoreError> {
    let mut h = header(item, EntryType::Regular);
    h.set_size(item.entry.size);
    let mut reader = HashingReader::new(fs_err::File::open(source)?.take(item.entry.size));
    let mut exact = ExactReader { inner: &mut reader, left: item.entry.size };
    tar.append_data(&mut h, &item.entry.path, &mut exact).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => StoreError::Pack {
            destdir: destdir.to_path_buf(),
            path: item.entry.path.clone(),
            problem: PackProblem::ChangedWhilePacking,
        },
        _ => StoreError::Io(e),
    })?;
    Ok(reader.finish().0)
}

fn append_other(tar: &mut Tar, item: &Item) -> io::Result<()> {
    let e = &item.entry;
    let ty = match e.kind {
        EntryKind::Dir => EntryType::Directory,
        EntryKind::Symlink => EntryType::Symlink,
        EntryKind::Hardlink => EntryType::Link,
        EntryKind::Char => EntryType::Char,
        EntryKind::Block => EntryType::Block,
        EntryKind::Fifo => EntryType::Fifo,
        EntryKind::File => return Err(io::Error::other(format!("{}: file without contents", e.path))),
    };
    let mut h = header(item, ty);
    if let (Some(major), Some(minor)) = (e.major, e.minor) {
        h.set_device_major(major)?;
        h.set_device_minor(minor)?;
    }
    if let Some(target) = &e.target {
        append_link_name(tar, &mut h, target)?;
    }
    tar.append_data(&mut h, &e.path, io::empty())
}

/// Stores a link target byte for byte. (`Header::set_link_name` would normalise it, turning
/// `dir/` into `dir`, and the manifest must match the archive exactly.) Targets over the header's
/// 100 bytes go in a GNU long-link entry first, as GNU tar writes them.
fn append_link_name(tar: &mut Tar, h: &mut Header, target: &str) -> io::Result<()> {
    let bytes = target.as_bytes();
    let room = h.as_old().linkname.len();
    if bytes.len() > room {
        let mut long = Header::new_gnu();
        long.set_path("././@LongLink")?;
        long.set_entry_type(EntryType::GNULongLink);
        long.set_mode(0o644);
        long.set_uid(0);
        long.set_gid(0);
        long.set_mtime(0);
        long.set_size(bytes.len() as u64 + 1);
        long.set_cksum();
        tar.append(&long, bytes.chain(&[0u8][..]))?;
    }
    h.set_link_name_literal(&bytes[..bytes.len().min(room)])
}

/// Fails with `UnexpectedEof` if the file shrank after its size was read, instead of letting the
/// tar writer emit an entry shorter than its header says.
struct ExactReader<'a, R> {
    inner: &'a mut R,
    left: u64,
}

impl<R: Read> Read for ExactReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}
