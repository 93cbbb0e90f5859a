//! The `[system]` section of a profile, flattened: what the configure stage writes into the image.

use crate::diag::SourceFile;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct SystemConf {
    pub hostname: String,
    pub timezone: String,
    /// Enabled services in cascade order, each with where it was enabled.
    pub services: Vec<Service>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub files: Vec<FileSpec>,
    pub vars: BTreeMap<String, toml::Value>,
}

impl Default for SystemConf {
    fn default() -> Self {
        SystemConf {
            hostname: "ingot".into(),
            timezone: "UTC".into(),
            services: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            files: Vec::new(),
            vars: BTreeMap::new(),
        }
    }
}

/// Where in which profile file a setting was made, so errors found later (an unknown group, a
/// template error) can name the profile key.
#[derive(Debug, Clone)]
pub struct Setting {
    pub file: Arc<SourceFile>,
    pub span: Range<usize>,
    /// The key path, e.g. `system.files[2]`.
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub setting: Setting,
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// Primary group id; `None` means the group of the same name, else `uid`.
    pub gid: Option<u32>,
    pub groups: Vec<String>,
    pub shell: String,
    pub home: Option<String>,
    pub gecos: String,
    pub password: Option<String>,
    /// A plain-text password that configure hashes (SHA-512 crypt, salt derived from the build's
    /// seed). For demo images; exclusive with `password`.
    pub password_plain: Option<String>,
    pub authorized_keys: Vec<String>,
    pub setting: Setting,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
    pub setting: Setting,
}

#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Absolute path in the image.
    pub path: String,
    pub mode: u32,
    pub owner: String,
    pub group: String,
    pub content: FileContent,
    pub template: bool,
    pub setting: Setting,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    Inline(String),
    /// A file beside the profile that declared it.
    Source(PathBuf),
}
