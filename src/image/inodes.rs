//! Pins, in one pass over a fresh ext4 image's inode tables, what `mkfs.ext4 -d` copied from the
//! staging tree and must not depend on it: every inode's owner becomes 0:0 (the entries the
//! manifests name are set afterwards, by debugfs) and its access, change and creation times become
//! SOURCE_DATE_EPOCH, modification times clamped to it, nanoseconds dropped. Each changed inode's
//! metadata_csum checksum is recomputed as the kernel does (`ext4_inode_csum`).
//!
//! A debugfs script did this before, eight `sif` commands per inode: about 45 ms for the default
//! image's 900 inodes, most of ingot's image time beyond mkfs itself. This pass reads and writes
//! the used part of each inode table once.

use super::error::{ImageError, io_at};
use std::os::unix::fs::FileExt;
use std::path::Path;

const SUPERBLOCK: u64 = 1024;
const MAGIC: u16 = 0xEF53;
const GOOD_OLD_INODE_SIZE: usize = 128;
const ROOT_INO: u32 = 2;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_CSUM_SEED: u32 = 0x2000;
const RO_COMPAT_GDT_CSUM: u32 = 0x10;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
const BG_INODE_UNINIT: u16 = 0x1;

/// Inode field offsets (`struct ext4_inode`).
mod at {
    pub const UID: usize = 0x02;
    pub const ATIME: usize = 0x08;
    pub const CTIME: usize = 0x0C;
    pub const MTIME: usize = 0x10;
    pub const GID: usize = 0x18;
    pub const GENERATION: usize = 0x64;
    pub const UID_HIGH: usize = 0x78;
    pub const GID_HIGH: usize = 0x7A;
    pub const CHECKSUM_LO: usize = 0x7C;
    pub const EXTRA_ISIZE: usize = 0x80;
    pub const CHECKSUM_HI: usize = 0x82;
    pub const CTIME_EXTRA: usize = 0x84;
    pub const MTIME_EXTRA: usize = 0x88;
    pub const ATIME_EXTRA: usize = 0x8C;
    pub const CRTIME: usize = 0x90;
    pub const CRTIME_EXTRA: usize = 0x94;
}

/// The superblock fields the pass needs.
struct Geometry {
    block_size: u64,
    groups: u64,
    inodes_per_group: u32,
    inode_size: usize,
    first_ino: u32,
    desc_size: usize,
    is_64bit: bool,
    /// Whether `bg_itable_unused` is maintained (so the unused tail can be skipped).
    itable_unused: bool,
    /// The metadata_csum seed, when inodes carry checksums.
    csum_seed: Option<u32>,
}

/// Pins owners and times of every in-use inode of the ext4 filesystem at `offset` in `image`.
pub fn pin(image: &Path, offset: u64, source_date_epoch: u64) -> Result<(), ImageError> {
    let file = fs_err::OpenOptions::new().read(true).write(true).open(image)?;
    let io = |e| io_at("pinning inodes of", image, e);
    let mut sb = [0u8; 1024];
    file.file().read_exact_at(&mut sb, offset + SUPERBLOCK).map_err(io)?;
    let g = geometry(&sb).map_err(|why| ImageError::BadFilesystem { path: image.to_path_buf(), why })?;
    let sde = i64::try_from(source_date_epoch).unwrap_or(i64::MAX);
    let first_data_block = u64::from(le32(&sb, 0x14));
    let mut gdt = vec![0u8; g.groups as usize * g.desc_size];
    file.file().read_exact_at(&mut gdt, offset + (first_data_block + 1) * g.block_size).map_err(io)?;
    let ipg = g.inodes_per_group as usize;
    let mut bitmap = vec![0u8; ipg.div_ceil(8)];
    let mut table = Vec::new();
    for (group, desc) in gdt.chunks_exact(g.desc_size).enumerate() {
        if le16(desc, 0x12) & BG_INODE_UNINIT != 0 {
            continue;
        }
        let block = |lo: usize, hi: usize| {
            u64::from(le32(desc, lo)) | if g.is_64bit { u64::from(le32(desc, hi)) << 32 } else { 0 }
        };
        let used = if g.itable_unused { ipg - usize::from(le16(desc, 0x1C)).min(ipg) } else { ipg };
        if used == 0 {
            continue;
        }
        file.file().read_exact_at(&mut bitmap, offset + block(0x04, 0x24) * g.block_size).map_err(io)?;
        let table_at = offset + block(0x08, 0x28) * g.block_size;
        table.resize(used * g.inode_size, 0);
        file.file().read_exact_at(&mut table, table_at).map_err(io)?;
        let mut changed = false;
        for (i, raw) in table.chunks_exact_mut(g.inode_size).enumerate() {
            let ino = (group * ipg + i + 1) as u32;
            let in_use = bitmap[i / 8] & (1 << (i % 8)) != 0;
            // The other reserved inodes (journal, resize) hold nothing from the tree: mkfs stamps
            // them with E2FSPROGS_FAKE_TIME already.
            if in_use && (ino == ROOT_INO || ino >= g.first_ino) {
                pin_inode(raw, sde);
                if let Some(seed) = g.csum_seed {
                    set_checksum(raw, seed, ino);
                }
                changed = true;
            }
        }
        if changed {
            file.file().write_all_at(&table, table_at).map_err(io)?;
        }
    }
    Ok(())
}

fn geometry(sb: &[u8]) -> Result<Geometry, String> {
    if le16(sb, 0x38) != MAGIC {
        return Err("no ext2/3/4 superblock".into());
    }
    let log_block_size = le32(sb, 0x18);
    if log_block_size > 6 {
        return Err(format!("block size 2^{} is out of range", 10 + log_block_size));
    }
    let block_size = 1024u64 << log_block_size;
    let (incompat, ro_compat) = (le32(sb, 0x60), le32(sb, 0x64));
    // With meta_bg the group descriptors are spread over the disk instead of following the
    // superblock; our mke2fs.conf never asks for it.
    if incompat & INCOMPAT_META_BG != 0 {
        return Err("the meta_bg feature (group descriptors spread over the disk) is not supported".into());
    }
    let is_64bit = incompat & INCOMPAT_64BIT != 0;
    let blocks = u64::from(le32(sb, 0x04)) | if is_64bit { u64::from(le32(sb, 0x150)) << 32 } else { 0 };
    let blocks_per_group = u64::from(le32(sb, 0x20));
    let inodes_per_group = le32(sb, 0x28);
    let revision = le32(sb, 0x4C);
    let (inode_size, first_ino) =
        if revision == 0 { (GOOD_OLD_INODE_SIZE, 11) } else { (usize::from(le16(sb, 0x58)), le32(sb, 0x54)) };
    let desc_size = if is_64bit { usize::from(le16(sb, 0xFE)) } else { 32 };
    if blocks_per_group == 0
        || inodes_per_group == 0
        || !inodes_per_group.is_multiple_of(8)
        || !inode_size.is_power_of_two()
        || inode_size < GOOD_OLD_INODE_SIZE
        || u64::try_from(inode_size).is_ok_and(|s| s > block_size)
        || !(32..=1024).contains(&desc_size)
    {
        return Err("inconsistent superblock geometry".into());
    }
    let first_data_block = u64::from(le32(sb, 0x14));
    let groups = blocks.saturating_sub(first_data_block).div_ceil(blocks_per_group);
    let metadata_csum = ro_compat & RO_COMPAT_METADATA_CSUM != 0;
    let csum_seed = metadata_csum.then(|| {
        if incompat & INCOMPAT_CSUM_SEED != 0 { le32(sb, 0x270) } else { ext4_crc(!0, &sb[0x68..0x78]) }
    });
    Ok(Geometry {
        block_size,
        groups,
        inodes_per_group,
        inode_size,
        first_ino,
        desc_size,
        is_64bit,
        itable_unused: metadata_csum || ro_compat & RO_COMPAT_GDT_CSUM != 0,
        csum_seed,
    })
}

fn pin_inode(raw: &mut [u8], sde: i64) {
    for field in [at::UID, at::GID, at::UID_HIGH, at::GID_HIGH] {
        raw[field..field + 2].copy_from_slice(&[0, 0]);
    }
    let fits =
        |field: usize| raw.len() > GOOD_OLD_INODE_SIZE && field + 4 <= GOOD_OLD_INODE_SIZE + extra_isize(raw);
    let has_extra =
        [at::CTIME_EXTRA, at::MTIME_EXTRA, at::ATIME_EXTRA, at::CRTIME, at::CRTIME_EXTRA].map(fits);
    let mtime_extra = if has_extra[1] { le32(raw, at::MTIME_EXTRA) } else { 0 };
    let mtime = decode_time(le32(raw, at::MTIME), mtime_extra).min(sde);
    let mut put = |seconds: usize, extra: Option<usize>, t: i64| {
        let (lo, epoch) = encode_time(t);
        raw[seconds..seconds + 4].copy_from_slice(&lo.to_le_bytes());
        if let Some(extra) = extra {
            raw[extra..extra + 4].copy_from_slice(&epoch.to_le_bytes());
        }
    };
    put(at::ATIME, has_extra[2].then_some(at::ATIME_EXTRA), sde);
    put(at::CTIME, has_extra[0].then_some(at::CTIME_EXTRA), sde);
    put(at::MTIME, has_extra[1].then_some(at::MTIME_EXTRA), mtime);
    if has_extra[3] {
        put(at::CRTIME, has_extra[4].then_some(at::CRTIME_EXTRA), sde);
    }
}

fn extra_isize(raw: &[u8]) -> usize {
    if raw.len() > GOOD_OLD_INODE_SIZE { usize::from(le16(raw, at::EXTRA_ISIZE)) } else { 0 }
}

/// Seconds from a 32-bit field and its `_extra` word (nanoseconds << 2 | epoch bits).
fn decode_time(lo: u32, extra: u32) -> i64 {
    i64::from(lo as i32) + (i64::from(extra & 3) << 32)
}

/// The 32-bit field and the `_extra` word (epoch bits, no nanoseconds) for `t`.
fn encode_time(t: i64) -> (u32, u32) {
    let lo = t as u32;
    let epoch = ((t - i64::from(lo as i32)) >> 32) & 3;
    (lo, epoch as u32)
}

/// `ext4_inode_csum`: crc32c over the inode number, generation and the whole on-disk inode with
/// its checksum fields read as zeros.
fn set_checksum(raw: &mut [u8], seed: u32, ino: u32) {
    let mut crc = ext4_crc(seed, &ino.to_le_bytes());
    crc = ext4_crc(crc, &raw[at::GENERATION..at::GENERATION + 4]);
    crc = ext4_crc(crc, &raw[..at::CHECKSUM_LO]);
    crc = ext4_crc(crc, &[0, 0]);
    crc = ext4_crc(crc, &raw[at::CHECKSUM_LO + 2..GOOD_OLD_INODE_SIZE]);
    let has_hi =
        raw.len() > GOOD_OLD_INODE_SIZE && extra_isize(raw) >= at::CHECKSUM_HI + 2 - GOOD_OLD_INODE_SIZE;
    if raw.len() > GOOD_OLD_INODE_SIZE {
        crc = ext4_crc(crc, &raw[GOOD_OLD_INODE_SIZE..at::CHECKSUM_HI]);
        let rest = if has_hi {
            crc = ext4_crc(crc, &[0, 0]);
            at::CHECKSUM_HI + 2
        } else {
            at::CHECKSUM_HI
        };
        crc = ext4_crc(crc, &raw[rest..]);
    }
    raw[at::CHECKSUM_LO..at::CHECKSUM_LO + 2].copy_from_slice(&(crc as u16).to_le_bytes());
    if has_hi {
        raw[at::CHECKSUM_HI..at::CHECKSUM_HI + 2].copy_from_slice(&((crc >> 16) as u16).to_le_bytes());
    }
}

/// The kernel's `ext4_chksum`: crc32c continued from `seed`, without the final inversion that
/// the standard CRC-32C (the crate's) applies.
fn ext4_crc(seed: u32, data: &[u8]) -> u32 {
    !crc32c::crc32c_append(!seed, data)
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, UNIX_EPOCH};

    const SDE: u64 = 1_700_000_000;

    #[test]
    fn times_round_trip_through_the_epoch_bits() {
        for t in [0, 1, SDE as i64, i64::from(i32::MAX), i64::from(i32::MAX) + 1, -1, 1 << 33] {
            let (lo, extra) = encode_time(t);
            assert_eq!(decode_time(lo, extra), t, "{t}");
        }
        assert_eq!(encode_time(-1), (u32::MAX, 0));
    }

    #[test]
    fn crc_matches_the_kernels_unfinalised_crc32c() {
        // ext4's superblock checksum is ext4_chksum(~0, sb[..0x3FC]); CRC-32C("123456789") is
        // 0xE3069283 with its final inversion.
        assert_eq!(!ext4_crc(!0, b"123456789"), 0xE306_9283);
    }

    fn mkfs(dir: &Path, tree: &Path, extra: &[&str]) -> std::path::PathBuf {
        let img = dir.join("fs.img");
        std::fs::File::create(&img).unwrap().set_len(16 << 20).unwrap();
        let out = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-t", "ext4", "-d"])
            .arg(tree)
            .args(extra)
            .arg(&img)
            .env("E2FSPROGS_FAKE_TIME", SDE.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        img
    }

    fn debugfs(img: &Path, request: &str) -> String {
        let out = Command::new("debugfs").args(["-R", request]).arg(img).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fsck(img: &Path) {
        let out = Command::new("e2fsck").arg("-fn").arg(img).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/new"), "now").unwrap();
        let old = t.path().join("etc/old");
        std::fs::write(&old, "then").unwrap();
        let f = std::fs::File::options().write(true).open(&old).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789)).unwrap();
        std::os::unix::fs::symlink("old", t.path().join("etc/link")).unwrap();
        // Rootless, the tree is the tester's own; as root (CI), give it someone else's.
        for p in ["etc", "etc/new", "etc/link"] {
            let _ = std::os::unix::fs::lchown(t.path().join(p), Some(1234), Some(70_000));
        }
        t
    }

    #[test]
    fn every_inode_is_pinned_and_checksums_stay_valid() {
        for features in [&[][..], &["-O", "^metadata_csum"], &["-I", "128"], &["-O", "metadata_csum_seed"]] {
            let work = tempfile::tempdir().unwrap();
            let t = tree();
            let img = mkfs(work.path(), t.path(), features);
            pin(&img, 0, SDE).unwrap();
            fsck(&img);
            for path in ["/", "/etc", "/etc/new", "/etc/link", "/lost+found"] {
                let s = debugfs(&img, &format!("stat {path}"));
                assert!(s.contains("User:     0   Group:     0"), "{features:?} {path}: {s}");
                for field in ["ctime", "atime", "mtime"] {
                    assert!(s.contains(&format!("{field}: 0x6553f100")), "{features:?} {path} {field}: {s}");
                }
                if features != ["-I", "128"] {
                    assert!(s.contains("crtime: 0x6553f100:00000000"), "{features:?} {path}: {s}");
                }
            }
            let old = debugfs(&img, "stat /etc/old");
            let want =
                if features == ["-I", "128"] { "mtime: 0x3b9aca00 " } else { "mtime: 0x3b9aca00:00000000" };
            assert!(old.contains(want), "{features:?}: {old}");
        }
    }

    #[test]
    fn a_filesystem_at_an_offset_is_found() {
        let work = tempfile::tempdir().unwrap();
        let t = tree();
        let img = mkfs(work.path(), t.path(), &[]);
        let fs = std::fs::read(&img).unwrap();
        let disk = work.path().join("disk");
        let mut bytes = vec![0xAAu8; 1 << 20];
        bytes.extend_from_slice(&fs);
        std::fs::write(&disk, bytes).unwrap();
        pin(&disk, 1 << 20, SDE).unwrap();
        let pinned = std::fs::read(&disk).unwrap();
        pin(&img, 0, SDE).unwrap();
        assert_eq!(&pinned[1 << 20..], &std::fs::read(&img).unwrap()[..]);
        assert!(pinned[..1 << 20].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn spread_group_descriptors_are_refused_not_misread() {
        let work = tempfile::tempdir().unwrap();
        let t = tree();
        let img = mkfs(work.path(), t.path(), &["-O", "meta_bg,^resize_inode"]);
        let err = pin(&img, 0, SDE).unwrap_err().to_string();
        assert!(
            err.ends_with("the meta_bg feature (group descriptors spread over the disk) is not supported"),
            "{err}"
        );
    }

    #[test]
    fn what_is_not_ext4_is_refused() {
        let work = tempfile::tempdir().unwrap();
        let img = work.path().join("zeros");
        std::fs::write(&img, vec![0u8; 4096]).unwrap();
        let err = pin(&img, 0, SDE).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}: not a filesystem ingot can finish: no ext2/3/4 superblock", img.display())
        );
    }
}
