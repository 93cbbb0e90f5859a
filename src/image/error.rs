//! What can go wrong while writing or comparing an image, each error naming the partition, path or
//! tool involved.

use crate::host::HostError;
use crate::profile::image::{BootMode, Filesystem, PartitionKind, Size};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error("the image has no `{kind}` partition: boot mode `{boot}` needs one", kind = kind_name(*.kind), boot = boot_name(*.boot))]
    MissingPartition { kind: PartitionKind, boot: BootMode },
    #[error("the image has {count} `{kind}` partitions: exactly one is allowed", kind = kind_name(*.kind))]
    DuplicateKind { kind: PartitionKind, count: usize },
    #[error("two partitions are labelled `{0}`: labels name partitions and must be unique")]
    DuplicateLabel(String),
    #[error("partition label `{label}` is not usable: {why}")]
    BadLabel { label: String, why: &'static str },
    #[error("partition `{label}` ({kind}) cannot hold a `{fs}` filesystem: use `{want}`",
        kind = kind_name(*.kind), fs = fs_name(*.fs), want = fs_name(*.want))]
    WrongFilesystem { label: String, kind: PartitionKind, fs: Filesystem, want: Filesystem },
    #[error("partition `{label}` has size `auto`, but it has no content to size it by: give it a size")]
    AutoWithoutContent { label: String },
    #[error("partition `{label}`: size {size} is too small: the content needs at least {needed}",
        size = Size::Bytes(*.size), needed = Size::Bytes(*.needed))]
    TooSmall { label: String, size: u64, needed: u64 },
    #[error("partition `{label}`: the content does not fit in {size}: {detail}", size = Size::Bytes(*.size))]
    ContentDoesNotFit { label: String, size: u64, detail: String },

    #[error("{what} `{path}` not found in the staging root {root}")]
    NotInRoot { what: &'static str, path: String, root: PathBuf },
    #[error("{what} `{path}` in the staging root is not usable: {why}")]
    BadRootPath { what: &'static str, path: String, why: String },
    #[error("entry `{path}`: {why}")]
    BadEntry { path: String, why: String },
    #[error("{path}: {why}")]
    BadPe { path: PathBuf, why: String },
    #[error("`{tool}` reported errors:\n{stderr}")]
    ToolErrors { tool: &'static str, stderr: String },
    #[error("{path}: not a filesystem ingot can finish: {why}")]
    BadFilesystem { path: PathBuf, why: String },
    #[error("{path}: no GPT partition table: {why}")]
    NotGpt { path: PathBuf, why: String },
    #[error("{path}: {why}")]
    Decompress { path: PathBuf, why: String },
}

/// An I/O error that says what was being done (`reading`, `hashing`…) to which file.
pub(super) fn io_at(doing: &str, path: &std::path::Path, e: std::io::Error) -> ImageError {
    ImageError::Io(std::io::Error::new(e.kind(), format!("{doing} {}: {e}", path.display())))
}

fn kind_name(kind: PartitionKind) -> &'static str {
    match kind {
        PartitionKind::Esp => "esp",
        PartitionKind::Root => "root",
        PartitionKind::Linux => "linux",
        PartitionKind::Swap => "swap",
    }
}

fn fs_name(fs: Filesystem) -> &'static str {
    match fs {
        Filesystem::Vfat => "vfat",
        Filesystem::Ext4 => "ext4",
        Filesystem::Swap => "swap",
        Filesystem::None => "none",
    }
}

fn boot_name(boot: BootMode) -> &'static str {
    match boot {
        BootMode::Uefi => "uefi",
        BootMode::Bios => "bios",
        BootMode::Hybrid => "hybrid",
    }
}
