//! ext4 filesystems written into a file without mounting: `mkfs.ext4 -d` copies the staging tree,
//! one pass over the inode tables pins every owner to 0:0 and every timestamp (`inodes`), and,
//! when the manifests name owners, modes or device nodes a rootless tree cannot carry, one
//! `debugfs -w` script applies them.
//!
//! Reproducibility: the UUID and directory hash seed come from the image seed, the superblock
//! times from `E2FSPROGS_FAKE_TIME`, and the feature set from a mke2fs.conf of our own (so the
//! host's `/etc/mke2fs.conf` cannot change the result). The ~40 bytes that differed between two
//! runs over equal trees were all in the inode table: the a/c/mtimes `-d` copies from the tree
//! (reading the tree even moves its atimes between runs) and the inode checksums over them. The
//! journal blocks were identical, so the root keeps its journal and `inodes::pin` pins those times.

use super::content::{BLOCK, Usage};
use super::debugfs;
use super::error::ImageError;
use super::ids::Ids;
use super::inodes;
use super::layout::{MIB, Placed, round_up};
use super::tools::{Tools, pin_environment};
use crate::host;
use crate::stage::StagingRoot;
use std::path::Path;

/// Pinned so the filesystem does not depend on the host's /etc/mke2fs.conf; the same features
/// Debian 12 and Fedora use for ext4, with no "small"/"floppy" types that would switch to 1 KiB
/// blocks on small partitions.
const MKE2FS_CONF: &str = "[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tenable_periodic_fsck = 0
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384
\treserved_ratio = 5.0
[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
\t}
";

/// What one ext4 partition is made from.
pub struct Ext4Job<'a> {
    pub part: &'a Placed,
    /// The tree to copy in (`None`: an empty filesystem).
    pub root: Option<&'a StagingRoot>,
    pub usage: Usage,
    pub ids: &'a Ids,
    pub source_date_epoch: u64,
}

/// The smallest partition (whole MiB) whose free blocks hold `usage`.
pub fn min_size(usage: Usage) -> u64 {
    fit(usage.blocks, usage.inodes, false)
}

/// Content plus a quarter and 16 MiB of room, after the 5% reserved for root.
pub fn auto_size(usage: Usage) -> u64 {
    fit(usage.blocks + usage.blocks / 4 + 16 * MIB / BLOCK, usage.inodes + usage.inodes / 4, true)
}

/// Writes the filesystem to `out`, created sparse at the partition's size (checked against
/// `min_size` by the caller).
pub fn build(tools: &dyn Tools, job: &Ext4Job, work: &Path, out: &Path) -> Result<(), ImageError> {
    let part = job.part;
    fs_err::File::create(out)?.set_len(part.size)?;
    let conf = work.join("mke2fs.conf");
    fs_err::write(&conf, MKE2FS_CONF)?;
    let mut cmd = tools.command(host::MKFS_EXT4)?;
    pin_environment(&mut cmd, job.source_date_epoch).env("MKE2FS_CONFIG", &conf);
    cmd.args(["-q", "-F", "-t", "ext4"]);
    cmd.arg("-N").arg(inode_count(part.size / BLOCK, job.usage.inodes).to_string());
    cmd.arg("-U").arg(job.ids.filesystem(&part.label).to_string());
    cmd.arg("-E").arg(format!("hash_seed={},root_owner=0:0", job.ids.ext4_hash_seed(&part.label)));
    if part.label.len() <= 16 {
        cmd.arg("-L").arg(&part.label);
    }
    if let Some(root) = job.root {
        cmd.arg("-d").arg(&root.dir);
    }
    cmd.arg(out);
    host::run(&mut cmd).map_err(|e| full_or(e, part))?;
    inodes::pin(out, 0, job.source_date_epoch)?;
    let Some(root) = job.root else { return Ok(()) };
    let script = debugfs::script(root, job.source_date_epoch)?;
    if script.is_empty() {
        return Ok(());
    }
    debugfs::run(tools, &script, work, out, job.source_date_epoch)
}

/// mkfs.ext4 running out of room despite the estimate (xattrs, say) is still the user's size.
fn full_or(e: host::HostError, part: &Placed) -> ImageError {
    match &e {
        host::HostError::Failed { stderr, .. }
            if ["Could not allocate", "No space left"].iter().any(|s| stderr.contains(s)) =>
        {
            let detail = stderr.lines().last().unwrap_or_default().trim().to_string();
            ImageError::ContentDoesNotFit { label: part.label.clone(), size: part.size, detail }
        }
        _ => e.into(),
    }
}

/// The default one inode per 16 KiB, or more when the tree has many small files.
fn inode_count(blocks: u64, inodes: u64) -> u64 {
    (blocks / 4).max(inodes + inodes / 4 + 64)
}

/// Smallest block count, rounded to MiB, with `data` blocks free after metadata (and after the
/// reserve, when asked), in bytes.
fn fit(data: u64, inodes: u64, reserve: bool) -> u64 {
    let mut blocks = round_up(data, MIB / BLOCK);
    loop {
        let reserved = if reserve { blocks / 20 } else { 0 };
        let need = round_up(data + overhead(blocks, inode_count(blocks, inodes)) + reserved, MIB / BLOCK);
        if need <= blocks {
            return blocks * BLOCK;
        }
        blocks = need;
    }
}

/// Blocks mkfs.ext4 takes for itself: the journal (its default size for this many blocks), inode
/// tables, and bitmaps, group descriptors and reserved GDT blocks (measured under 1/128).
fn overhead(blocks: u64, inodes: u64) -> u64 {
    journal_blocks(blocks) + inodes.div_ceil(BLOCK / 256) + blocks / 128 + 64
}

/// e2fsprogs' `ext2fs_default_journal_size`.
fn journal_blocks(blocks: u64) -> u64 {
    match blocks {
        b if b < 2048 => 0,
        b if b < 32768 => 1024,
        b if b < 256 * 1024 => 4096,
        b if b < 512 * 1024 => 8192,
        b if b < 4096 * 1024 => 16384,
        b if b < 8192 * 1024 => 32768,
        b if b < 16384 * 1024 => 65536,
        b if b < 32768 * 1024 => 131072,
        _ => 262144,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ids::Guid;
    use crate::profile::image::{Filesystem, PartitionKind};

    #[test]
    fn minimum_covers_data_journal_and_inode_tables() {
        let usage = Usage { blocks: 2560, inodes: 300 }; // 10 MiB
        let min = min_size(usage);
        assert_eq!(min % MIB, 0);
        assert!(min >= 10 * MIB + 4 * MIB, "{min}");
        assert!(min <= 20 * MIB, "{min}");
    }

    #[test]
    fn crossing_a_journal_step_grows_the_minimum_past_it() {
        // 120 MiB of data needs > 128 MiB of disk, where the journal grows from 4 to 16 MiB.
        let min = min_size(Usage { blocks: 120 * 256, inodes: 100 });
        assert!(min >= 120 * MIB + 16 * MIB, "{}", min / MIB);
    }

    #[test]
    fn auto_leaves_room_beyond_the_minimum() {
        let usage = Usage { blocks: 2560, inodes: 300 };
        assert!(auto_size(usage) >= min_size(usage) + 16 * MIB);
    }

    #[test]
    fn many_small_files_raise_the_inode_count() {
        assert_eq!(inode_count(4096, 10), 1024);
        assert_eq!(inode_count(4096, 2000), 2564);
    }

    #[test]
    fn running_out_of_blocks_in_mkfs_names_the_partition() {
        let part = Placed {
            number: 2,
            label: "root".into(),
            kind: PartitionKind::Root,
            fs: Filesystem::Ext4,
            offset: MIB,
            size: 8 * MIB,
            uuid: Guid::from_bytes([0; 16]),
        };
        let failed = host::SH
            .run(["-c", "echo '__populate_fs: Could not allocate block in ext2 filesystem' >&2; exit 1"]);
        let err = full_or(failed.unwrap_err(), &part).to_string();
        assert_eq!(
            err,
            "partition `root`: the content does not fit in 8MiB: \
             __populate_fs: Could not allocate block in ext2 filesystem"
        );
    }
}
