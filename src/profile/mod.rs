//! Profiles: cascading hardware profiles (`profiles/<name>/profile.toml`) flattened into one
//! `Profile`. Parents are read first and children override; `use`, `world` and `services` are
//! incremental (`-x` removes, `-*` resets `use`).

mod file;
pub mod flags;
pub mod image;
mod load;
pub mod system;

pub use flags::UseToken;
pub use load::{discover, load};

use crate::dep::Atom;
use crate::recipe::Recipe;
use image::ImageConf;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use system::{Setting, SystemConf};

/// A flattened profile: every parent merged in.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The name it was asked for by (`qemu-amd64`), or the path's last component.
    pub name: String,
    pub dir: PathBuf,
    /// Every `profile.toml` that contributed, parents first.
    pub chain: Vec<PathBuf>,
    pub world: Vec<WorldAtom>,
    pub make: Make,
    pub packages: Vec<PackageConf>,
    /// Kernel config fragments in cascade order.
    pub kernel_config: Vec<PathBuf>,
    pub system: SystemConf,
    pub image: ImageConf,
    pub mirrors: Vec<String>,
    pub substituters: Vec<String>,
    pub trusted_keys: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct WorldAtom {
    pub atom: Atom,
    pub setting: Setting,
}

/// Global build settings (Gentoo's make.conf).
#[derive(Debug, Clone, Default)]
pub struct Make {
    pub chost: String,
    pub cflags: String,
    pub cxxflags: String,
    pub ldflags: String,
    pub use_: Vec<UseToken>,
    pub env: BTreeMap<String, String>,
}

/// Per-package settings (Gentoo's package.use, package.env, package.mask, pins).
#[derive(Debug, Clone)]
pub struct PackageConf {
    pub atom: Atom,
    pub use_: Vec<UseToken>,
    pub cflags: Option<String>,
    pub cxxflags: Option<String>,
    pub ldflags: Option<String>,
    pub env: BTreeMap<String, String>,
    /// Only versions matching this atom are visible.
    pub version: Option<Atom>,
    pub mask: bool,
    pub setting: Setting,
}

/// The flags and compiler settings one recipe gets under this profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildSettings {
    pub cflags: String,
    pub cxxflags: String,
    pub ldflags: String,
    pub env: BTreeMap<String, String>,
}

impl Profile {
    /// The recipe's enabled features: IUSE defaults, then the profile's `use`, then per-package
    /// `use` entries in cascade order. Only flags in IUSE can be on.
    pub fn features(&self, recipe: &Recipe) -> BTreeSet<String> {
        let mut on: BTreeSet<String> = recipe
            .iuse
            .flags()
            .iter()
            .filter(|f| f.default == Some(true))
            .map(|f| f.name.to_string())
            .collect();
        flags::apply(&self.make.use_, &mut on);
        for p in self.matching(recipe) {
            flags::apply(&p.use_, &mut on);
        }
        on.retain(|f| recipe.iuse.contains(f));
        on
    }

    /// Compiler flags and environment for one recipe (per-package entries override global ones).
    /// A recipe with `compiler_flags = false` gets no flags at all.
    pub fn build_settings(&self, recipe: &Recipe) -> BuildSettings {
        let mut s = BuildSettings {
            cflags: self.make.cflags.clone(),
            cxxflags: self.make.cxxflags.clone(),
            ldflags: self.make.ldflags.clone(),
            env: self.make.env.clone(),
        };
        for p in self.matching(recipe) {
            if let Some(c) = &p.cflags {
                s.cflags = c.clone();
            }
            if let Some(c) = &p.cxxflags {
                s.cxxflags = c.clone();
            }
            if let Some(c) = &p.ldflags {
                s.ldflags = c.clone();
            }
            s.env.extend(p.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if !recipe.build.compiler_flags {
            s.cflags.clear();
            s.cxxflags.clear();
            s.ldflags.clear();
        }
        s
    }

    /// Why a recipe is invisible, if it is: masked, or outside a version pin.
    pub fn hidden<'a>(&'a self, recipe: &'a Recipe) -> Option<&'a PackageConf> {
        self.matching(recipe)
            .find(|p| p.mask || p.version.as_ref().is_some_and(|v| !v.matches_version(&recipe.version)))
    }

    fn matching<'a>(&'a self, recipe: &'a Recipe) -> impl Iterator<Item = &'a PackageConf> + 'a {
        self.packages.iter().filter(move |p| {
            p.atom.cpn() == &recipe.cpn
                && p.atom.matches_version(&recipe.version)
                && p.atom.matches_slot(&recipe.slot, recipe.subslot.as_deref())
        })
    }
}

/// Parses a file mode written as an octal string (`"0644"`, `"4755"`).
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(format!("invalid mode `{s}`: expected octal digits such as \"0644\""));
    }
    let m = u32::from_str_radix(t, 8).map_err(|_| format!("invalid mode `{s}`"))?;
    if m > 0o7777 {
        return Err(format!("invalid mode `{s}`: at most 07777"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_strings() {
        assert_eq!(parse_mode("0644"), Ok(0o644));
        assert_eq!(parse_mode("4755"), Ok(0o4755));
        assert_eq!(parse_mode("755"), Ok(0o755));
        assert!(parse_mode("0999").unwrap_err().contains("octal"));
        assert!(parse_mode("").is_err());
        assert!(parse_mode("77777").unwrap_err().contains("07777"));
    }
}
