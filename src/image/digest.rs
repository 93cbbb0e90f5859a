//! The sha256 of a disk image. Holes are hashed as the zeros they read as, without reading them;
//! and a disk still being written can be hashed in order on a thread of its own, region by region
//! as each becomes final, so that hashing the finished front of the disk overlaps building the
//! rest. At about 1.9 GB/s (SHA-NI), hashing the default 102 MiB image takes 55 ms, longer than
//! making its root filesystem.

use super::disk::data_regions;
use super::error::{ImageError, io_at};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};

const CHUNK: usize = 1 << 20;
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// A finished file's size and sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
}

/// Size and sha256 of the file at `path`.
pub fn file(path: &Path) -> Result<Written, ImageError> {
    let file = fs_err::File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = Sha256::new();
    update(&mut hasher, file.file(), 0..size, &mut vec![0u8; CHUNK])
        .map_err(|e| io_at("hashing", file.path(), e))?;
    Ok(Written { size, sha256: hex::encode(hasher.finalize()) })
}

/// Hashes `range` of `file`, reading only its data regions.
fn update(
    hasher: &mut Sha256,
    file: &std::fs::File,
    range: Range<u64>,
    buf: &mut [u8],
) -> std::io::Result<()> {
    let mut at = range.start;
    for region in data_regions(file, range.clone())? {
        zeros(hasher, region.start - at);
        at = region.start;
        while at < region.end {
            let n = ((region.end - at) as usize).min(buf.len());
            file.read_exact_at(&mut buf[..n], at)?;
            hasher.update(&buf[..n]);
            at += n as u64;
        }
    }
    zeros(hasher, range.end - at);
    Ok(())
}

fn zeros(hasher: &mut Sha256, mut n: u64) {
    while n > 0 {
        let k = n.min(CHUNK as u64) as usize;
        hasher.update(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// Hashes a disk being written, in order: `ready(end)` says everything before `end` is final.
pub struct InOrder<'scope> {
    tx: mpsc::Sender<u64>,
    handle: ScopedJoinHandle<'scope, std::io::Result<Written>>,
    size: u64,
}

impl<'scope> InOrder<'scope> {
    /// Starts hashing the `size`-byte disk `file` on a thread of `scope`. Dropped without
    /// `finish`, the thread stops after the regions it was given.
    pub fn spawn<'env>(scope: &'scope Scope<'scope, 'env>, file: std::fs::File, size: u64) -> Self {
        let (tx, rx) = mpsc::channel::<u64>();
        let handle = scope.spawn(move || {
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; CHUNK];
            let mut at = 0;
            for end in rx {
                let end = end.min(size);
                if end > at {
                    update(&mut hasher, &file, at..end, &mut buf)?;
                    at = end;
                }
            }
            Ok(Written { size: at, sha256: hex::encode(hasher.finalize()) })
        });
        InOrder { tx, handle, size }
    }

    /// Everything before `end` is written and will not change.
    pub fn ready(&self, end: u64) {
        // A send fails only when the thread ended on a read error, which `finish` reports.
        let _ = self.tx.send(end);
    }

    /// The whole disk is written: its size and sha256.
    pub fn finish(self, disk: &Path) -> Result<Written, ImageError> {
        self.ready(self.size);
        drop(self.tx);
        match self.handle.join() {
            Ok(result) => result.map_err(|e| io_at("hashing", disk, e)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_of_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let w = file(&p).unwrap();
        assert_eq!(w.size, 3);
        assert_eq!(w.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    fn sparse_and_dense(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let sparse = dir.join("sparse");
        let f = std::fs::File::create(&sparse).unwrap();
        f.set_len(5 * CHUNK as u64 + 123).unwrap();
        f.write_all_at(b"middle", 2 * CHUNK as u64 + 7).unwrap();
        f.write_all_at(b"end", 5 * CHUNK as u64 + 120).unwrap();
        let mut dense = vec![0u8; 5 * CHUNK + 123];
        dense[2 * CHUNK + 7..2 * CHUNK + 13].copy_from_slice(b"middle");
        dense[5 * CHUNK + 120..].copy_from_slice(b"end");
        (sparse, dense)
    }

    #[test]
    fn a_sparse_file_hashes_like_the_same_bytes_written_out() {
        let dir = tempfile::tempdir().unwrap();
        let (sparse, dense) = sparse_and_dense(dir.path());
        let w = file(&sparse).unwrap();
        assert_eq!(w.size, dense.len() as u64);
        assert_eq!(w.sha256, hex::encode(Sha256::digest(&dense)));
        let empty = dir.path().join("holes-only");
        std::fs::File::create(&empty).unwrap().set_len(3 * CHUNK as u64).unwrap();
        assert_eq!(file(&empty).unwrap().sha256, hex::encode(Sha256::digest(vec![0u8; 3 * CHUNK])));
    }

    #[test]
    fn hashing_in_order_while_writing_gives_the_hash_of_the_finished_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, dense) = sparse_and_dense(dir.path());
        let path = dir.path().join("disk");
        let disk =
            std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        disk.set_len(dense.len() as u64).unwrap();
        let w = std::thread::scope(|s| {
            let h = InOrder::spawn(s, disk.try_clone().unwrap(), dense.len() as u64);
            // Regions become final front to back, with a write into the later one between.
            h.ready(CHUNK as u64);
            disk.write_all_at(b"middle", 2 * CHUNK as u64 + 7).unwrap();
            h.ready(3 * CHUNK as u64);
            h.ready(2 * CHUNK as u64); // going back changes nothing
            disk.write_all_at(b"end", 5 * CHUNK as u64 + 120).unwrap();
            h.finish(&path).unwrap()
        });
        assert_eq!(w, Written { size: dense.len() as u64, sha256: hex::encode(Sha256::digest(&dense)) });
    }

    #[test]
    fn read_errors_name_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::write(&path, b"x").unwrap();
        let write_only = std::fs::File::options().write(true).open(&path).unwrap();
        let err = std::thread::scope(|s| InOrder::spawn(s, write_only, 1).finish(&path).unwrap_err());
        assert!(err.to_string().starts_with(&format!("hashing {}: ", path.display())), "{err}");
    }
}
