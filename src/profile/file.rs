//! The profile file as written: a serde mirror of `profile.toml` with spans, refusing unknown keys.
//! Every field is optional so that a child profile can set only what it changes.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    #[serde(default)]
    pub parents: Vec<Spanned<String>>,
    #[serde(default)]
    pub world: Vec<Spanned<String>>,
    #[serde(default)]
    pub make: MakeFile,
    #[serde(default)]
    pub package: BTreeMap<Spanned<String>, PackageFile>,
    #[serde(default)]
    pub kernel: KernelFile,
    #[serde(default)]
    pub system: SystemFile,
    #[serde(default)]
    pub image: ImageFile,
    #[serde(default)]
    pub fetch: FetchFile,
    #[serde(default)]
    pub cache: CacheFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MakeFile {
    pub chost: Option<String>,
    pub cflags: Option<String>,
    pub cxxflags: Option<String>,
    pub ldflags: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageFile {
    #[serde(rename = "use")]
    pub use_: Option<Spanned<String>>,
    pub cflags: Option<String>,
    pub cxxflags: Option<String>,
    pub ldflags: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A version constraint: `1.2.3` (exactly), or with an operator: `<1.36`, `~1.2`, `=1.2*`.
    pub version: Option<Spanned<String>>,
    pub mask: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelFile {
    #[serde(default)]
    pub config: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    pub hostname: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    /// Incremental like `use`: `"-name"` removes a parent's service.
    #[serde(default)]
    pub services: Vec<Spanned<String>>,
    #[serde(default)]
    pub users: Vec<Spanned<UserFile>>,
    #[serde(default)]
    pub groups: Vec<Spanned<GroupFile>>,
    #[serde(default)]
    pub files: Vec<Spanned<FileEntry>>,
    /// Extra values for templates: `{{ vars.motd }}`.
    #[serde(default)]
    pub vars: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFile {
    pub name: String,
    pub uid: u32,
    pub gid: Option<u32>,
    #[serde(default)]
    pub groups: Vec<String>,
    pub shell: Option<String>,
    pub home: Option<String>,
    pub gecos: Option<String>,
    /// A crypt(3) hash (`$6$…` for SHA-512); absent means the account is locked.
    pub password: Option<String>,
    /// Plain text, hashed at configure time with a reproducible salt: for demo images only.
    pub password_plain: Option<String>,
    #[serde(default)]
    pub authorized_keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    pub name: String,
    pub gid: u32,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: Spanned<String>,
    pub mode: Option<Spanned<toml::Value>>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub content: Option<String>,
    /// A file beside the profile whose bytes are used (relative to the profile's directory).
    pub source: Option<Spanned<String>>,
    #[serde(default)]
    pub template: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFile {
    pub format: Option<Spanned<String>>,
    pub boot: Option<Spanned<String>>,
    pub cmdline: Option<String>,
    pub kernel: Option<String>,
    pub initramfs: Option<String>,
    pub partitions: Option<Vec<Spanned<PartitionFile>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionFile {
    pub label: String,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub fs: Option<Spanned<String>>,
    pub size: Spanned<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchFile {
    pub mirrors: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheFile {
    pub substituters: Option<Vec<String>>,
    pub trusted_keys: Option<Vec<String>>,
}
