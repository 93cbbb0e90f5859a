//! The profile's `[[system.files]]`: inline or sourced bytes, optionally rendered as templates,
//! written with the mode and the owner and group the profile names (resolved against the image's
//! final passwd and group). They are written last, so a profile can replace any file configure
//! generates.

use super::accounts::Accounts;
use super::error::{ConfigureError, at_key};
use super::template;
use super::tree::{Owner, Tree};
use crate::profile::system::{FileContent, FileSpec};

/// A file ready to write: every check passed, templates rendered.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path: String,
    pub bytes: Vec<u8>,
    pub owner: Owner,
}

/// Reads, renders and resolves owners of every file, before anything is written.
pub fn prepare(
    files: &[FileSpec],
    accounts: &Accounts,
    ctx: &minijinja::Value,
) -> Result<Vec<Prepared>, ConfigureError> {
    files.iter().map(|f| prepare_one(f, accounts, ctx)).collect()
}

/// Writes prepared files; returns the paths written.
pub fn write(tree: &mut Tree, files: &[Prepared]) -> Result<Vec<String>, ConfigureError> {
    files.iter().map(|f| tree.write(&f.path, &f.bytes, f.owner)).collect()
}

fn prepare_one(
    f: &FileSpec,
    accounts: &Accounts,
    ctx: &minijinja::Value,
) -> Result<Prepared, ConfigureError> {
    let owner = owner(f, accounts)?;
    let bytes = content(f)?;
    let bytes = match f.template {
        false => bytes,
        true => render(f, bytes, ctx)?.into_bytes(),
    };
    Ok(Prepared { path: f.path.clone(), bytes, owner })
}

fn owner(f: &FileSpec, accounts: &Accounts) -> Result<Owner, ConfigureError> {
    let uid = match accounts.user(&f.owner) {
        Some(u) => u.uid,
        None => {
            return Err(ConfigureError::UnknownUser {
                setting: at_key(&f.setting, "owner"),
                user: f.owner.clone(),
            });
        }
    };
    let gid = match accounts.group(&f.group) {
        Some(g) => g.gid,
        None => {
            return Err(ConfigureError::UnknownGroup {
                setting: at_key(&f.setting, "group"),
                group: f.group.clone(),
            });
        }
    };
    Ok(Owner { uid, gid, mode: f.mode })
}

fn content(f: &FileSpec) -> Result<Vec<u8>, ConfigureError> {
    match &f.content {
        FileContent::Inline(s) => Ok(s.clone().into_bytes()),
        FileContent::Source(path) => fs_err::read(path).map_err(|source| ConfigureError::Source {
            setting: at_key(&f.setting, "source"),
            path: path.clone(),
            source,
        }),
    }
}

fn render(f: &FileSpec, bytes: Vec<u8>, ctx: &minijinja::Value) -> Result<String, ConfigureError> {
    let source = String::from_utf8(bytes).map_err(|e| ConfigureError::Template {
        setting: f.setting.clone(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count(),
        message: "a template must be UTF-8 text".into(),
    })?;
    template::render(&f.path, &source, ctx).map_err(|e| ConfigureError::Template {
        setting: f.setting.clone(),
        line: e.line,
        message: match &f.content {
            FileContent::Source(path) => format!("{} [template {}]", e.message, path.display()),
            FileContent::Inline(_) => e.message,
        },
    })
}
