//! The EFI system partition: FAT32 made by `mkfs.fat --invariant` with a serial from the image
//! seed, filled with mtools (no mount), and syslinux installed on it for BIOS boots.
//!
//! mtools stamps what it creates (directories, copies, syslinux's own files) with
//! `SOURCE_DATE_EPOCH`, so copies are made without `mcopy -m`: that would import the host file's
//! modification time instead.

use super::error::ImageError;
use super::layout::{MIB, Placed, SECTOR, round_up};
use super::tools::{Tools, pin_environment};
use crate::host;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// mtools refuses FAT32 volumes with fewer than 65525 clusters; at 512-byte clusters that is
/// just under 33 MiB.
const FAT32_MIN: u64 = 33 * MIB;
const CLUSTER: u64 = 4096;
/// ldlinux.sys and ldlinux.c32 (about 180 KiB in syslinux 6.04), with room to spare.
const SYSLINUX_BYTES: u64 = 512 << 10;

/// A host file and where it goes on the ESP (`EFI/BOOT/BOOTX64.EFI`).
#[derive(Debug, Clone)]
pub struct EspFile {
    pub src: PathBuf,
    pub dest: String,
}

pub struct EspJob<'a> {
    pub part: &'a Placed,
    pub files: &'a [EspFile],
    pub serial: u32,
    /// Installs syslinux into `/syslinux`, which `files` may also fill (syslinux.cfg, kernel).
    pub syslinux: bool,
    pub source_date_epoch: u64,
}

/// Bytes the files take on FAT, every file and directory rounded to a 4 KiB cluster.
pub fn content_bytes(files: &[EspFile], syslinux: bool) -> Result<u64, ImageError> {
    let mut total = if syslinux { SYSLINUX_BYTES } else { 0 };
    for f in files {
        total += round_up(fs_err::metadata(&f.src)?.len().max(1), CLUSTER);
    }
    Ok(total + directories(files, syslinux).len() as u64 * CLUSTER)
}

/// Two FATs of 4 bytes per 512-byte cluster, reserved sectors and the root directory, and never
/// below FAT32's own minimum.
pub fn min_size(content: u64) -> u64 {
    round_up(content + content / 64 + MIB, MIB).max(FAT32_MIN)
}

/// Content plus a quarter and 8 MiB, at least 64 MiB.
pub fn auto_size(content: u64) -> u64 {
    min_size(content + content / 4 + 8 * MIB).max(64 * MIB)
}

/// Writes the FAT image to `out`, sized as the partition (checked against `min_size` by the caller).
pub fn build(tools: &dyn Tools, job: &EspJob, out: &Path) -> Result<(), ImageError> {
    let part = job.part;
    fs_err::File::create(out)?.set_len(part.size)?;
    let run = |tool: host::HostTool, args: &mut dyn FnMut(&mut std::process::Command)| {
        let mut cmd = tools.command(tool)?;
        pin_environment(&mut cmd, job.source_date_epoch);
        args(&mut cmd);
        host::run(&mut cmd).map(drop).map_err(ImageError::from)
    };
    // Hidden sectors = the partition's first LBA, which BIOS boot code adds to its reads.
    run(host::MKFS_FAT, &mut |c| {
        c.args(["-F", "32", "--invariant", "-i"]).arg(format!("{:08X}", job.serial));
        c.arg("-h").arg((part.offset / SECTOR).to_string()).arg(out);
    })?;
    let dirs = directories(job.files, job.syslinux);
    if !dirs.is_empty() {
        run(host::MMD, &mut |c| {
            c.arg("-i").arg(out).args(dirs.iter().map(|d| format!("::/{d}")));
        })?;
    }
    for f in job.files {
        run(host::MCOPY, &mut |c| {
            c.arg("-i").arg(out).arg(&f.src).arg(format!("::/{}", f.dest));
        })?;
    }
    if job.syslinux {
        run(host::SYSLINUX, &mut |c| {
            c.args(["--install", "--directory", "/syslinux"]).arg(out);
        })?;
    }
    Ok(())
}

/// Every directory the files need, parents first.
fn directories(files: &[EspFile], syslinux: bool) -> Vec<String> {
    let mut dirs = BTreeSet::new();
    if syslinux {
        dirs.insert("syslinux".to_string());
    }
    for f in files {
        let mut at = f.dest.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            dirs.insert(parent.to_string());
            at = parent;
        }
    }
    // BTreeSet order puts "EFI" before "EFI/BOOT": parents first.
    dirs.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dest: &str) -> EspFile {
        EspFile { src: PathBuf::from("/dev/null"), dest: dest.into() }
    }

    #[test]
    fn directories_come_parents_first_and_once() {
        let files = [file("EFI/BOOT/BOOTX64.EFI"), file("syslinux/linux"), file("EFI/BOOT/x")];
        assert_eq!(directories(&files, true), ["EFI", "EFI/BOOT", "syslinux"]);
        assert_eq!(directories(&[file("top")], false), Vec::<String>::new());
    }

    #[test]
    fn sizes_respect_fat32_minimum_and_leave_room() {
        assert_eq!(min_size(0), FAT32_MIN);
        assert_eq!(auto_size(0), 64 * MIB);
        let big = 100 * MIB;
        assert!(min_size(big) > big + MIB);
        assert!(auto_size(big) >= big + big / 4 + 8 * MIB);
    }

    #[test]
    fn content_counts_clusters_and_syslinux() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, vec![0u8; 5000]).unwrap();
        let files = [EspFile { src, dest: "EFI/BOOT/BOOTX64.EFI".into() }];
        assert_eq!(content_bytes(&files, false).unwrap(), 2 * CLUSTER + 2 * CLUSTER);
        assert_eq!(content_bytes(&files, true).unwrap(), 2 * CLUSTER + 3 * CLUSTER + SYSLINUX_BYTES);
    }

    #[test]
    fn missing_source_file_names_its_path() {
        let files = [EspFile { src: PathBuf::from("/nonexistent/uki.efi"), dest: "x".into() }];
        let err = content_bytes(&files, false).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/uki.efi"), "{err}");
    }
}
