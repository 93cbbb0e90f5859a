//! The image file in its output format (raw, qcow2, raw.xz), written under a temporary name beside
//! the output and renamed into place only once complete and hashed: a failed or interrupted build
//! leaves nothing at the output path.

use super::disk::{data_regions, read_full};
use super::error::ImageError;
use super::tools::Tools;
use crate::fs::AtomicFile;
use crate::host;
use crate::profile::image::ImageFormat;
use crate::report::{Event, Reporter};
use liblzma::stream::{Check, MtStreamBuilder};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::Path;

const CHUNK: usize = 1 << 20;
/// xz's default preset.
const XZ_PRESET: u32 = 6;

/// The finished file's size and sha256.
pub struct Written {
    pub size: u64,
    pub sha256: String,
}

/// Produces `out` in `format`; `assemble` writes the raw disk to the path it is given.
pub fn write(
    tools: &dyn Tools,
    format: ImageFormat,
    work: &Path,
    out: &Path,
    reporter: &dyn Reporter,
    assemble: impl FnOnce(&Path) -> Result<(), ImageError>,
) -> Result<Written, ImageError> {
    let (mut file, _held) = crate::leftovers::create_held(|| AtomicFile::create(out), AtomicFile::tmp_path)?;
    match format {
        ImageFormat::Raw => assemble(file.tmp_path())?,
        ImageFormat::Qcow2 => {
            let raw = work.join("disk.raw");
            assemble(&raw)?;
            // Without -W, qemu-img writes clusters in order: the same raw disk gives the same bytes.
            let mut cmd = tools.command(host::QEMU_IMG)?;
            cmd.args(["convert", "-q", "-f", "raw", "-O", "qcow2"]).arg(&raw).arg(file.tmp_path());
            host::run(&mut cmd)?;
        }
        ImageFormat::RawXz => {
            let raw = work.join("disk.raw");
            assemble(&raw)?;
            compress(&raw, file.file(), reporter)?;
        }
    }
    let written = hash(file.tmp_path())?;
    // The temporary was created private (0600); the image is an ordinary readable file.
    fs_err::set_permissions(file.tmp_path(), std::fs::Permissions::from_mode(0o644))?;
    file.commit()?;
    Ok(written)
}

/// xz through liblzma's multi-threaded encoder. Its output depends on the block size (set by the
/// preset), not on the number of threads, so any machine gives the same bytes.
fn compress(raw: &Path, out: &mut std::fs::File, reporter: &dyn Reporter) -> Result<(), ImageError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    let stream = MtStreamBuilder::new()
        .threads(threads)
        .preset(XZ_PRESET)
        .check(Check::Crc64)
        .encoder()
        .map_err(|e| ImageError::Io(std::io::Error::other(format!("starting the xz encoder: {e}"))))?;
    let mut input = fs_err::File::open(raw)?;
    let total = input.metadata()?.len();
    let mut encoder = liblzma::write::XzEncoder::new_stream(out, stream);
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        encoder.write_all(&buf[..n])?;
        done += n as u64;
        if done.is_multiple_of(64 * CHUNK as u64) || done == total {
            reporter.event(Event::TaskBytes { id: "image:xz".into(), done, total: Some(total) });
        }
    }
    encoder.finish()?;
    Ok(())
}

/// Size and sha256 of a file. Holes are hashed as the zeros they read as, without reading them.
pub fn hash(path: &Path) -> Result<Written, ImageError> {
    let file = fs_err::File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let zeros = vec![0u8; CHUNK];
    let hash_zeros = |hasher: &mut Sha256, mut n: u64| {
        while n > 0 {
            let k = n.min(CHUNK as u64) as usize;
            hasher.update(&zeros[..k]);
            n -= k as u64;
        }
    };
    let mut at = 0u64;
    for region in data_regions(file.file(), size)? {
        hash_zeros(&mut hasher, region.start - at);
        at = region.start;
        while at < region.end {
            let n = ((region.end - at) as usize).min(CHUNK);
            file.file().read_exact_at(&mut buf[..n], at)?;
            hasher.update(&buf[..n]);
            at += n as u64;
        }
    }
    hash_zeros(&mut hasher, size - at);
    Ok(Written { size, sha256: hex::encode(hasher.finalize()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::tools::HostTools;
    use crate::report::Silent;

    #[test]
    fn hash_is_sha256_of_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let w = hash(&p).unwrap();
        assert_eq!(w.size, 3);
        assert_eq!(w.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn a_sparse_file_hashes_like_the_same_bytes_written_out() {
        let dir = tempfile::tempdir().unwrap();
        let sparse = dir.path().join("sparse");
        let f = std::fs::File::create(&sparse).unwrap();
        f.set_len(5 * CHUNK as u64 + 123).unwrap();
        f.write_all_at(b"middle", 2 * CHUNK as u64 + 7).unwrap();
        f.write_all_at(b"end", 5 * CHUNK as u64 + 120).unwrap();
        let mut dense = vec![0u8; 5 * CHUNK + 123];
        dense[2 * CHUNK + 7..2 * CHUNK + 13].copy_from_slice(b"middle");
        dense[5 * CHUNK + 120..].copy_from_slice(b"end");
        let w = hash(&sparse).unwrap();
        assert_eq!(w.size, dense.len() as u64);
        assert_eq!(w.sha256, hex::encode(Sha256::digest(&dense)));
        let empty = dir.path().join("holes-only");
        std::fs::File::create(&empty).unwrap().set_len(3 * CHUNK as u64).unwrap();
        assert_eq!(hash(&empty).unwrap().sha256, hex::encode(Sha256::digest(vec![0u8; 3 * CHUNK])));
    }

    #[test]
    fn xz_output_decompresses_to_the_disk_and_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let disk: Vec<u8> = (0..3 * CHUNK).map(|i| (i % 251) as u8).collect();
        let make = |name: &str| {
            let out = dir.path().join(name);
            let assemble = |p: &Path| Ok(std::fs::write(p, &disk)?);
            write(&HostTools, ImageFormat::RawXz, dir.path(), &out, &Silent, assemble).unwrap()
        };
        let (a, b) = (make("a.raw.xz"), make("b.raw.xz"));
        assert_eq!(a.sha256, b.sha256);
        let mut back = Vec::new();
        let file = std::fs::File::open(dir.path().join("a.raw.xz")).unwrap();
        std::io::Read::read_to_end(&mut liblzma::read::XzDecoder::new(file), &mut back).unwrap();
        assert!(back == disk);
    }

    #[test]
    fn failed_assembly_leaves_nothing_at_the_output_path() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.raw");
        let fail = |p: &Path| {
            std::fs::write(p, b"half")?;
            Err(ImageError::Io(std::io::Error::other("boom")))
        };
        assert!(write(&HostTools, ImageFormat::Raw, dir.path(), &out, &Silent, fail).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
