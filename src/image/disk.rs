//! Assembling the disk: a sparse file of the full size, the GPT and the BIOS boot code, each
//! partition's filesystem image copied to its offset (zero blocks skipped, so holes stay holes),
//! and the disk's sha256 computed as it fills.

use super::digest::{InOrder, Written};
use super::error::{ImageError, io_at};
use super::gpt;
use super::ids::Guid;
use super::layout::{Layout, Placed};
use super::syslinux;
use super::tools::Tools;
use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const CHUNK: usize = 1 << 20;

pub struct DiskJob<'a> {
    pub layout: &'a Layout,
    pub disk_guid: Guid,
    pub bios: bool,
}

/// Makes one partition's filesystem image: its path, or `None` to leave the partition zeroed.
pub type BuildPartition<'a> = dyn Fn(&Placed) -> Result<Option<PathBuf>, ImageError> + Sync + 'a;

/// Writes the whole disk to `disk`, which may already exist (an empty temporary file), and, when
/// `hash` is set, returns its size and sha256.
///
/// While this thread writes the partition table, the partitions are built by `build` on worker
/// threads, taken in disk order; each is copied in (and its image removed) as soon as it and
/// those before it are done, and the disk is hashed up to its end on another thread meanwhile.
/// The hash is what the disk waits for last, and it cannot start before the first partition is
/// in: so there is one worker fewer than cores, and the first partition (the ESP) never shares
/// them with the slower root filesystem, which has the time the hash of the ESP takes. The first
/// error, in disk order, is returned once every builder has stopped.
///
/// Not fsynced here: the output is synced once when it is committed, and a raw disk that is only
/// converted (qcow2, xz) is a temporary.
pub fn assemble(
    tools: &dyn Tools,
    job: &DiskJob,
    work: &Path,
    disk: &Path,
    hash: bool,
    build: &BuildPartition,
) -> Result<Option<Written>, ImageError> {
    let file = fs_err::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(disk)?;
    let size = job.layout.disk_size;
    file.set_len(size)?;
    let parts = &job.layout.partitions;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.saturating_sub(1).clamp(1, parts.len().max(1));
    std::thread::scope(|s| {
        let built = crate::workers::spawn(s, (0..parts.len()).collect(), workers, |i| build(&parts[i]));
        let table = gpt::write(tools, &gpt::script(job.layout, job.disk_guid, job.bios), work, disk)
            .and_then(|()| if job.bios { syslinux::write_mbr(tools, file.file()) } else { Ok(()) });
        let hasher = match (&table, hash) {
            (Ok(()), true) => Some(InOrder::spawn(s, file.file().try_clone()?, size)),
            _ => None,
        };
        table?;
        let mut done = BTreeMap::new();
        for (i, part) in parts.iter().enumerate() {
            let image = loop {
                if let Some(result) = done.remove(&i) {
                    break result;
                }
                // Every builder gone before this partition came: one panicked, which the scope
                // passes on when it ends.
                let Ok((j, result)) = built.recv() else { return Ok(None) };
                done.insert(j, result);
            }?;
            if let Some(image) = image {
                copy_sparse(&image, &file, part.offset)?;
                // Freeing it now costs the time the hash of the disk still takes, not after it.
                fs_err::remove_file(&image)?;
            }
            if let Some(h) = &hasher {
                h.ready(part.offset + part.size);
            }
        }
        hasher.map(|h| h.finish(disk)).transpose()
    })
}

/// Copies `src` into `dest` at `offset`, reading only its data regions and skipping all-zero
/// chunks in them (the destination is a fresh sparse file, so they already read as zeros).
fn copy_sparse(src: &Path, dest: &fs_err::File, offset: u64) -> Result<(), ImageError> {
    let input = fs_err::File::open(src)?;
    let len = input.metadata()?.len();
    let mut buf = vec![0u8; CHUNK];
    for region in data_regions(input.file(), 0..len).map_err(|e| io_at("reading", src, e))? {
        let mut at = region.start;
        while at < region.end {
            let n = ((region.end - at) as usize).min(CHUNK);
            input.file().read_exact_at(&mut buf[..n], at).map_err(|e| io_at("reading", src, e))?;
            if buf[..n].iter().any(|&b| b != 0) {
                dest.file()
                    .write_all_at(&buf[..n], offset + at)
                    .map_err(|e| io_at("writing", dest.path(), e))?;
            }
            at += n as u64;
        }
    }
    Ok(())
}

/// The byte ranges of `file` within `range` that hold data, in order; the rest are holes, which
/// read as zeros. Reading a hole costs the kernel a page of zeros per page: an image is mostly
/// holes. Filesystems that cannot tell report the whole file as data.
pub(super) fn data_regions(file: &std::fs::File, range: Range<u64>) -> std::io::Result<Vec<Range<u64>>> {
    use nix::errno::Errno;
    use nix::unistd::{Whence, lseek};
    let mut regions = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let start = match lseek(file, at as i64, Whence::SeekData) {
            Ok(start) => start as u64,
            Err(Errno::ENXIO) => break,
            Err(e) => return Err(e.into()),
        };
        if start >= range.end {
            break;
        }
        let end = (lseek(file, start as i64, Whence::SeekHole)? as u64).min(range.end);
        regions.push(start..end);
        at = end;
    }
    Ok(regions)
}

/// Reads until `buf` is full or the input ends.
pub fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn copies_land_at_their_offset_and_zeros_stay_holes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let mut data = vec![0u8; 8 * CHUNK];
        data[5] = 1;
        data[7 * CHUNK + 9] = 2;
        std::fs::write(&src, &data).unwrap();
        let dest_path = dir.path().join("dest");
        let dest = fs_err::File::create(&dest_path).unwrap();
        dest.set_len(16 * CHUNK as u64).unwrap();
        copy_sparse(&src, &dest, CHUNK as u64).unwrap();
        let out = std::fs::read(&dest_path).unwrap();
        assert_eq!(out[CHUNK + 5], 1);
        assert_eq!(out[8 * CHUNK + 9], 2);
        assert_eq!(out.iter().filter(|&&b| b != 0).count(), 2);
        let allocated = std::fs::metadata(&dest_path).unwrap().blocks() * 512;
        assert!(allocated <= 2 * CHUNK as u64, "{allocated} bytes allocated");
    }
}
