//! How much room a tree needs on a 4 KiB-block filesystem: the blocks its files, directories and
//! long symlinks occupy, and its inode count. Sizes partitions (`auto`) and catches ones given too
//! small before any filesystem is written.

use super::error::ImageError;
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const BLOCK: u64 = 4096;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// 4 KiB blocks of data, directories and symlink targets.
    pub blocks: u64,
    pub inodes: u64,
}

/// Walks `dir` without following symlinks; hard links count once.
pub fn measure(dir: &Path) -> Result<Usage, ImageError> {
    let mut usage = Usage::default();
    let mut seen = HashSet::new();
    let mut dir_bytes: HashMap<PathBuf, u64> = HashMap::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.map_err(walk_error)?;
        let meta = entry.metadata().map_err(walk_error)?;
        if let Some(parent) = entry.path().parent().filter(|_| entry.depth() > 0) {
            *dir_bytes.entry(parent.to_path_buf()).or_default() += dirent_bytes(entry.file_name().len());
        }
        if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        usage.inodes += 1;
        usage.blocks += file_blocks(&meta);
    }
    // "." and ".." take 24 bytes; directories over one block get an htree, whose index blocks
    // the quarter extra covers.
    usage.blocks += dir_bytes.values().map(|b| (24 + b + b / 4).div_ceil(BLOCK)).sum::<u64>();
    Ok(usage)
}

fn file_blocks(meta: &std::fs::Metadata) -> u64 {
    let ft = meta.file_type();
    if ft.is_file() {
        // An extent maps at most 128 MiB; past four extents the tree needs its own blocks.
        let blocks = meta.len().div_ceil(BLOCK);
        blocks + (blocks / 32768).div_ceil(340)
    } else if ft.is_symlink() && meta.len() >= 60 {
        // Targets under 60 bytes live inside the inode ("fast" symlinks).
        1
    } else {
        0
    }
}

fn dirent_bytes(name_len: usize) -> u64 {
    8 + (name_len as u64).div_ceil(4) * 4
}

fn walk_error(e: walkdir::Error) -> ImageError {
    let path = e.path().map(|p| p.display().to_string()).unwrap_or_default();
    let kind = e.io_error().map(|io| io.kind()).unwrap_or(std::io::ErrorKind::Other);
    ImageError::Io(std::io::Error::new(kind, format!("{path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_up_to_blocks_and_hard_links_count_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::write(r.join("one"), vec![1u8; 4097]).unwrap();
        std::fs::hard_link(r.join("one"), r.join("two")).unwrap();
        std::os::unix::fs::symlink("short", r.join("fast")).unwrap();
        std::os::unix::fs::symlink("x".repeat(80), r.join("slow")).unwrap();
        let u = measure(r).unwrap();
        // root dir + one file + two symlinks; 2 data blocks + 1 long symlink + 1 directory block.
        assert_eq!(u, Usage { blocks: 4, inodes: 4 });
    }

    #[test]
    fn big_directories_take_more_than_one_block() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..400 {
            std::fs::write(dir.path().join(format!("file-with-a-long-name-{i:04}")), "").unwrap();
        }
        let u = measure(dir.path()).unwrap();
        assert_eq!(u.inodes, 401);
        assert!(u.blocks >= 5, "{u:?}");
    }

    #[test]
    fn unreadable_tree_names_the_path() {
        let err = measure(Path::new("/nonexistent/ingot-tree")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ingot-tree"), "{err}");
    }
}
