//! Comparing two images byte for byte (`ingot verify`), naming where they first differ by the
//! partition that holds the byte. raw, raw.xz and qcow2 images are read as the disk they hold.

use super::disk::read_full;
use super::error::ImageError;
use super::gpt::{self, Table};
use super::tools::Tools;
use crate::host;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

const CHUNK: usize = 1 << 20;
const XZ_MAGIC: &[u8] = b"\xfd7zXZ\0";
const QCOW_MAGIC: &[u8] = b"QFI\xfb";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    Identical,
    /// The first differing byte of the disks (decompressed), and the region that holds it.
    Differs {
        offset: u64,
        region: Region,
    },
    /// Equal up to the end of the shorter disk.
    Lengths {
        a: u64,
        b: u64,
    },
}

/// Where on a GPT disk a byte lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Region {
    ProtectiveMbr,
    /// The primary table (LBA 1 up to the first usable sector) or the backup at the disk's end.
    PartitionTable,
    /// A partition, by its GPT name (the profile's label).
    Partition(String),
    /// Between or after partitions.
    Unpartitioned,
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::ProtectiveMbr => f.write_str("protective MBR"),
            Region::PartitionTable => f.write_str("partition table"),
            Region::Partition(label) => write!(f, "partition `{label}`"),
            Region::Unpartitioned => f.write_str("unpartitioned space"),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Identical => f.write_str("identical"),
            Comparison::Differs { offset, region } => {
                write!(f, "first difference at byte {offset}, in {region}")
            }
            Comparison::Lengths { a, b } => {
                write!(f, "same bytes up to the shorter disk, but {a} and {b} bytes long")
            }
        }
    }
}

pub fn compare(tools: &dyn Tools, a: &Path, b: &Path) -> Result<Comparison, ImageError> {
    let work = tempfile::tempdir()?;
    let mut ra = open_disk(tools, a, &work.path().join("a.raw"))?;
    let mut rb = open_disk(tools, b, &work.path().join("b.raw"))?;
    let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut head: Option<Vec<u8>> = None;
    let mut at = 0u64;
    loop {
        let na = read_full(&mut ra, &mut ba).map_err(|e| read_error(a, e))?;
        let nb = read_full(&mut rb, &mut bb).map_err(|e| read_error(b, e))?;
        let head = head.get_or_insert_with(|| ba[..na].to_vec());
        if let Some(i) = ba[..na.min(nb)].iter().zip(&bb[..na.min(nb)]).position(|(x, y)| x != y) {
            let offset = at + i as u64;
            return Ok(Comparison::Differs { offset, region: locate(head, a, offset)? });
        }
        if na != nb {
            let (la, lb) = (remaining(&mut ra, at + na as u64, a)?, remaining(&mut rb, at + nb as u64, b)?);
            return Ok(Comparison::Lengths { a: la, b: lb });
        }
        if na == 0 {
            return Ok(Comparison::Identical);
        }
        at += na as u64;
    }
}

/// The raw disk inside `path`: a raw file as is, raw.xz decompressed on the fly, qcow2 converted
/// to a raw file at `scratch` by qemu-img.
fn open_disk(tools: &dyn Tools, path: &Path, scratch: &Path) -> Result<Box<dyn Read>, ImageError> {
    let mut file = fs_err::File::open(path)?;
    let mut magic = [0u8; 6];
    let n = read_full(&mut file, &mut magic)?;
    let file = fs_err::File::open(path)?;
    if magic[..n].starts_with(XZ_MAGIC) {
        Ok(Box::new(liblzma::read::XzDecoder::new_multi_decoder(file)))
    } else if magic[..n].starts_with(QCOW_MAGIC) {
        let mut cmd = tools.command(host::QEMU_IMG)?;
        cmd.args(["convert", "-q", "-f", "qcow2", "-O", "raw"]).arg(path).arg(scratch);
        host::run(&mut cmd)?;
        Ok(Box::new(fs_err::File::open(scratch)?))
    } else {
        Ok(Box::new(file))
    }
}

fn locate(head: &[u8], path: &Path, offset: u64) -> Result<Region, ImageError> {
    if offset < 512 {
        return Ok(Region::ProtectiveMbr);
    }
    let table: Table = gpt::read(head).map_err(|why| ImageError::NotGpt { path: path.into(), why })?;
    if offset < table.first_usable || offset >= table.backup_start {
        return Ok(Region::PartitionTable);
    }
    Ok(table
        .entries
        .iter()
        .find(|e| (e.start..e.end).contains(&offset))
        .map_or(Region::Unpartitioned, |e| Region::Partition(e.label.clone())))
}

/// The total length of a disk whose first `so_far` bytes were read.
fn remaining(r: &mut dyn Read, so_far: u64, path: &Path) -> Result<u64, ImageError> {
    let rest = std::io::copy(r, &mut std::io::sink()).map_err(|e| read_error(path, e))?;
    Ok(so_far + rest)
}

fn read_error(path: &Path, e: std::io::Error) -> ImageError {
    ImageError::Decompress { path: PathBuf::from(path), why: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::tools::HostTools;

    fn disk(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn equal_files_are_identical() {
        let dir = tempfile::tempdir().unwrap();
        let a = disk(dir.path(), "a", &[1; 3000]);
        let b = disk(dir.path(), "b", &[1; 3000]);
        assert_eq!(compare(&HostTools, &a, &b).unwrap(), Comparison::Identical);
    }

    #[test]
    fn a_difference_in_sector_zero_is_the_protective_mbr() {
        let dir = tempfile::tempdir().unwrap();
        let a = disk(dir.path(), "a", &[0; 3000]);
        let mut other = [0u8; 3000];
        other[17] = 1;
        let b = disk(dir.path(), "b", &other);
        let c = compare(&HostTools, &a, &b).unwrap();
        assert_eq!(c, Comparison::Differs { offset: 17, region: Region::ProtectiveMbr });
        assert_eq!(c.to_string(), "first difference at byte 17, in protective MBR");
    }

    #[test]
    fn a_difference_past_sector_zero_of_a_non_gpt_disk_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = disk(dir.path(), "a", &[0; 3000]);
        let mut other = [0u8; 3000];
        other[2000] = 1;
        let b = disk(dir.path(), "b", &other);
        let err = compare(&HostTools, &a, &b).unwrap_err().to_string();
        assert!(err.ends_with("a: no GPT partition table: no `EFI PART` signature in LBA 1"), "{err}");
    }

    #[test]
    fn a_prefix_differs_in_length() {
        let dir = tempfile::tempdir().unwrap();
        let a = disk(dir.path(), "a", &[5; 3 * CHUNK]);
        let b = disk(dir.path(), "b", &[5; CHUNK + 7]);
        let c = compare(&HostTools, &a, &b).unwrap();
        assert_eq!(c, Comparison::Lengths { a: 3 * CHUNK as u64, b: CHUNK as u64 + 7 });
    }

    #[test]
    fn corrupt_xz_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = disk(dir.path(), "a.raw.xz", b"\xfd7zXZ\0garbage");
        let b = disk(dir.path(), "b", &[0; 10]);
        let err = compare(&HostTools, &a, &b).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: ", a.display())), "{err}");
    }
}
