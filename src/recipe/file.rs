//! The recipe file as written: a serde mirror of the TOML with spans, refusing unknown keys. The
//! loader validates it into a `Recipe`.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeFile {
    pub description: Spanned<String>,
    #[serde(default)]
    pub homepage: Option<String>,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub slot: Option<Spanned<String>>,
    #[serde(default)]
    pub iuse: Option<Spanned<String>>,
    #[serde(default)]
    pub required_use: Option<Spanned<String>>,
    #[serde(default)]
    pub depend: DependFile,
    #[serde(default)]
    pub source: Vec<SourceFile>,
    #[serde(default)]
    pub build: BuildFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependFile {
    pub build: Option<Spanned<String>>,
    pub host: Option<Spanned<String>>,
    pub run: Option<Spanned<String>>,
    pub post: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    #[serde(default)]
    pub urls: Vec<Spanned<String>>,
    pub file: Option<Spanned<String>>,
    pub sha256: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildFile {
    pub dir: Option<Spanned<String>>,
    pub system: Option<Spanned<String>>,
    pub prepare: Option<String>,
    pub configure: Option<String>,
    pub compile: Option<String>,
    pub install: Option<String>,
    #[serde(default)]
    pub kernel_config: bool,
    /// `false` for builds that never compile with the profile's CFLAGS/CXXFLAGS/LDFLAGS.
    #[serde(default = "yes")]
    pub compiler_flags: bool,
    /// Ownership of installed paths that a rootless build cannot `chown`: `"/usr/bin/su" = "0:0:4755"`.
    #[serde(default)]
    pub owners: BTreeMap<String, Spanned<String>>,
}

fn yes() -> bool {
    true
}
