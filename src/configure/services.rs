//! Enabling services the OpenRC way that busybox init runs: each enabled service is a link
//! `/etc/runlevels/default/<svc> -> /etc/init.d/<svc>`, and links in that runlevel for services
//! the profile does not enable are removed, so the runlevel is exactly what the profile says.
//! Other runlevels (`boot`, `sysinit`, `shutdown`) belong to the packages that fill them.

use super::error::ConfigureError;
use super::tree::Tree;
use crate::profile::system::Service;
use std::os::unix::fs::PermissionsExt;

pub const INIT_D: &str = "/etc/init.d";
pub const RUNLEVEL: &str = "/etc/runlevels/default";

/// What changed in the runlevel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enabled {
    pub enabled: Vec<String>,
    /// Links removed because their service is no longer enabled.
    pub removed: Vec<String>,
}

/// Every enabled service must have an executable init script, in the staged tree or among the
/// profile's files (`extra`: path in the image and mode) about to be written.
pub fn check(tree: &Tree, services: &[Service], extra: &[(&str, u32)]) -> Result<(), ConfigureError> {
    for svc in services {
        let path = format!("{INIT_D}/{}", svc.name);
        if !extra.iter().any(|(p, mode)| *p == path && mode & 0o111 != 0) {
            check_script(tree, svc, &path)?;
        }
    }
    Ok(())
}

/// Links the enabled services into the default runlevel (after `check`).
pub fn write(tree: &mut Tree, services: &[Service]) -> Result<Enabled, ConfigureError> {
    let mut out = Enabled::default();
    for name in links(tree)? {
        if !services.iter().any(|s| s.name == name) && tree.remove(&format!("{RUNLEVEL}/{name}"))? {
            out.removed.push(name);
        }
    }
    for svc in services {
        tree.symlink(&format!("{RUNLEVEL}/{}", svc.name), &format!("{INIT_D}/{}", svc.name))?;
        out.enabled.push(svc.name.clone());
    }
    Ok(out)
}

/// The init script must be an executable file in the staged tree (per `entries` if it records a
/// mode, else per the tree).
fn check_script(tree: &Tree, svc: &Service, path: &str) -> Result<(), ConfigureError> {
    let rel = tree.follow(path)?;
    let meta = tree.host_path(&rel).metadata().ok().filter(|m| m.is_file());
    let mode = meta.map(|m| tree.entries().get(&rel).and_then(|e| e.mode).unwrap_or(m.permissions().mode()));
    match mode {
        Some(m) if m & 0o111 != 0 => Ok(()),
        _ => Err(ConfigureError::MissingService {
            setting: svc.setting.clone(),
            service: svc.name.clone(),
            available: scripts(tree)?,
        }),
    }
}

/// Names of the files in /etc/init.d, sorted.
fn scripts(tree: &Tree) -> Result<Vec<String>, ConfigureError> {
    names(tree, INIT_D, |m| !m.is_dir())
}

/// Names of the symlinks in the default runlevel, sorted.
fn links(tree: &Tree) -> Result<Vec<String>, ConfigureError> {
    names(tree, RUNLEVEL, |m| m.is_symlink())
}

fn names(
    tree: &Tree,
    dir: &str,
    keep: impl Fn(&std::fs::Metadata) -> bool,
) -> Result<Vec<String>, ConfigureError> {
    let host = tree.host_path(&tree.follow(dir)?);
    if !host.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in fs_err::read_dir(&host)? {
        let entry = entry?;
        let meta = fs_err::symlink_metadata(entry.path())?;
        if keep(&meta) {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}
