//! The image file in its output format (raw, qcow2, raw.xz), written under a temporary name beside
//! the output and renamed into place only once complete and hashed: a failed or interrupted build
//! leaves nothing at the output path.

use super::digest::{self, Written};
use super::disk::read_full;
use super::error::ImageError;
use super::tools::Tools;
use crate::fs::AtomicFile;
use crate::host;
use crate::profile::image::ImageFormat;
use crate::report::{Event, Reporter};
use liblzma::stream::{Check, MtStreamBuilder};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const CHUNK: usize = 1 << 20;
/// xz's default preset.
const XZ_PRESET: u32 = 6;

/// Produces `out` in `format`. `assemble` writes the raw disk to the path it is given and, when
/// asked to (the raw format, where the disk is the output), returns its size and sha256.
pub fn write(
    tools: &dyn Tools,
    format: ImageFormat,
    work: &Path,
    out: &Path,
    reporter: &dyn Reporter,
    assemble: impl FnOnce(&Path, bool) -> Result<Option<Written>, ImageError>,
) -> Result<Written, ImageError> {
    let (mut file, _held) = crate::leftovers::create_held(|| AtomicFile::create(out), AtomicFile::tmp_path)?;
    let hashed = match format {
        ImageFormat::Raw => assemble(file.tmp_path(), true)?,
        ImageFormat::Qcow2 => {
            let raw = work.join("disk.raw");
            assemble(&raw, false)?;
            // Without -W, qemu-img writes clusters in order: the same raw disk gives the same bytes.
            let mut cmd = tools.command(host::QEMU_IMG)?;
            cmd.args(["convert", "-q", "-f", "raw", "-O", "qcow2"]).arg(&raw).arg(file.tmp_path());
            host::run(&mut cmd)?;
            None
        }
        ImageFormat::RawXz => {
            let raw = work.join("disk.raw");
            assemble(&raw, false)?;
            compress(&raw, file.file(), reporter)?;
            None
        }
    };
    let written = match hashed {
        Some(w) => w,
        None => digest::file(file.tmp_path())?,
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::tools::HostTools;
    use crate::report::Silent;

    #[test]
    fn xz_output_decompresses_to_the_disk_and_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let disk: Vec<u8> = (0..3 * CHUNK).map(|i| (i % 251) as u8).collect();
        let make = |name: &str| {
            let out = dir.path().join(name);
            let assemble = |p: &Path, _| Ok(std::fs::write(p, &disk).map(|()| None)?);
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
        let fail = |p: &Path, _| {
            std::fs::write(p, b"half")?;
            Err(ImageError::Io(std::io::Error::other("boom")))
        };
        assert!(write(&HostTools, ImageFormat::Raw, dir.path(), &out, &Silent, fail).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
