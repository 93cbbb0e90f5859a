//! Recipes: `recipes/<category>/<name>/<name>-<version>.toml`, loaded in parallel from one or more
//! trees (later trees override earlier ones, like overlays) and validated into `Recipe`s.

mod file;
mod load;
#[cfg(test)]
mod proptests;
mod repo;
mod text;

pub use load::{Loaded, load};
pub use repo::{RecipeId, Repo};
pub use text::{parse_recipe_bytes, parse_recipe_text};

use crate::dep::{Cpn, DepSpec, Iuse, RequiredUse, Version};
use crate::diag::SourceFile;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// A validated recipe: one version of one package.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub cpn: Cpn,
    pub version: Version,
    pub slot: String,
    pub subslot: Option<String>,
    pub description: String,
    pub homepage: Option<String>,
    pub license: Option<String>,
    pub iuse: Iuse,
    pub required_use: Option<RequiredUse>,
    pub depend: Depend,
    pub sources: Vec<Source>,
    pub build: BuildSpec,
    pub origin: Origin,
}

/// The four dependency classes (Gentoo's DEPEND, BDEPEND, RDEPEND, PDEPEND).
#[derive(Debug, Clone, Default)]
pub struct Depend {
    pub build: DepSpec,
    pub host: DepSpec,
    pub run: DepSpec,
    pub post: DepSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    Build,
    Host,
    Run,
    Post,
}

impl DepKind {
    pub const ALL: [DepKind; 4] = [DepKind::Build, DepKind::Host, DepKind::Run, DepKind::Post];

    pub fn as_str(self) -> &'static str {
        match self {
            DepKind::Build => "build",
            DepKind::Host => "host",
            DepKind::Run => "run",
            DepKind::Post => "post",
        }
    }

    /// Build and host dependencies must exist before the package is built; run and post ones
    /// only in the image, so cycles through them can be broken.
    pub fn is_build_time(self) -> bool {
        matches!(self, DepKind::Build | DepKind::Host)
    }
}

impl Depend {
    pub fn get(&self, kind: DepKind) -> &DepSpec {
        match kind {
            DepKind::Build => &self.build,
            DepKind::Host => &self.host,
            DepKind::Run => &self.run,
            DepKind::Post => &self.post,
        }
    }
}

/// A source distfile, identified by name and checksum (never by URL: mirrors may differ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub urls: Vec<String>,
    pub sha256: String,
}

/// How the package is built: the build system's default phases, overridden per phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSpec {
    /// `$S` relative to `$WORKDIR`.
    pub dir: String,
    /// `None` when the recipe names none: Gentoo's default phases (configure if `./configure`
    /// exists, make if a Makefile exists).
    pub system: Option<BuildSystem>,
    pub prepare: Option<String>,
    pub configure: Option<String>,
    pub compile: Option<String>,
    pub install: Option<String>,
    pub kernel_config: bool,
    /// Whether the build compiles with the profile's CFLAGS, CXXFLAGS and LDFLAGS. When it does not
    /// (headers, data, a kernel with its own flags), they are empty in its phases and left out of
    /// its key, so tuning a profile's flags does not rebuild it.
    pub compiler_flags: bool,
    /// Path (relative to DESTDIR, no leading slash) -> owner and optional mode.
    pub owners: BTreeMap<String, Owner>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildSystem {
    Autotools,
    Make,
    Cmake,
    Meson,
    None,
}

/// The default phases come from `build::phases::default_phases`; the recipe only names the system.
impl BuildSystem {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "autotools" => BuildSystem::Autotools,
            "make" => BuildSystem::Make,
            "cmake" => BuildSystem::Cmake,
            "meson" => BuildSystem::Meson,
            "none" => BuildSystem::None,
            _ => return None,
        })
    }
}

/// Where a recipe came from, for diagnostics and for hashing its files.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    /// Index of the tree in `--recipes` order.
    pub tree: usize,
    /// The recipe's `files/` directory, if it has one.
    pub files_dir: Option<PathBuf>,
    /// Spans of the dependency strings (for warnings that point at an atom).
    pub spans: FieldSpans,
}

/// Byte spans, in the recipe file, of each specification string's *contents*, with the offset to
/// add to a position inside the parsed value to land on the file (None when escapes make the
/// mapping inexact, in which case the string's start is used).
#[derive(Debug, Clone, Default)]
pub struct FieldSpans {
    pub build: Option<ValueSpan>,
    pub host: Option<ValueSpan>,
    pub run: Option<ValueSpan>,
    pub post: Option<ValueSpan>,
    pub iuse: Option<ValueSpan>,
    pub required_use: Option<ValueSpan>,
}

impl FieldSpans {
    pub fn dep(&self, kind: DepKind) -> Option<&ValueSpan> {
        match kind {
            DepKind::Build => self.build.as_ref(),
            DepKind::Host => self.host.as_ref(),
            DepKind::Run => self.run.as_ref(),
            DepKind::Post => self.post.as_ref(),
        }
    }
}

/// A string value's location: `whole` covers the literal; `base` is where the value's first
/// character sits in the file when the literal holds it verbatim.
#[derive(Debug, Clone)]
pub struct ValueSpan {
    pub whole: Range<usize>,
    pub base: Option<usize>,
}

impl ValueSpan {
    /// Maps a span inside the value to a span in the file.
    pub fn map(&self, inner: Range<usize>) -> Range<usize> {
        match self.base {
            Some(b) => b + inner.start..b + inner.end.max(inner.start + 1),
            None => self.whole.clone(),
        }
    }
}

impl Recipe {
    /// `cat/name-version`, as Gentoo writes a package.
    pub fn cpv(&self) -> String {
        format!("{}-{}", self.cpn, self.version)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.origin.file.path
    }
}
