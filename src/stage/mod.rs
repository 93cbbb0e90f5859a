//! Stage: merges the run-time closure of the plan from the store into a fresh staging root, refusing
//! file collisions, and records the ownership and device nodes that the image writer applies (a
//! rootless build cannot `chown` or `mknod`, so those live beside the tree, not in it).
//!
//! `merge` is the entry point; `plan` holds the rules (collisions, directory symlinks, order),
//! `tree` the symlink resolution confined to the root, `db` the package database written into it.

mod db;
mod error;
mod merge;
mod plan;
mod tree;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use error::{LinkProblem, StageError};
pub use merge::merge;

/// Where the package database lives in the staging root (see `db`).
pub const DB_DIR: &str = "var/db/ingot";

/// A directory tree that will become the root filesystem, plus what the tree itself cannot carry.
#[derive(Debug, Clone, Default)]
pub struct StagingRoot {
    pub dir: PathBuf,
    /// Per path (relative, `/`-separated, no leading slash: `etc/shadow`), the owner and mode the
    /// image must record, and device nodes to create. Paths absent here are owned by 0:0 and keep
    /// the mode they have in `dir`.
    pub entries: BTreeMap<String, EntryMeta>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid/setgid/sticky (`0o4755`); `None` keeps the tree's.
    pub mode: Option<u32>,
    /// A device node or FIFO to create at this path (nothing exists there in `dir`).
    pub node: Option<DeviceNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceNode {
    pub kind: NodeKind,
    pub major: u32,
    pub minor: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Char,
    Block,
    Fifo,
}
