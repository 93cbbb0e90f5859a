//! What can go wrong while configuring a staging root. Errors about a profile setting carry its
//! `Setting` (with the key path extended to the offending field), so the CLI can point at the
//! profile line: `profiles/base/profile.toml:12:1: system.users[1].groups: unknown group "wheel2"`.

use crate::diag::Diagnostic;
use crate::profile::system::Setting;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigureError {
    #[error("{}: unknown group \"{group}\"", setting.key)]
    UnknownGroup { setting: Setting, group: String },

    #[error("{}: unknown user \"{user}\"", setting.key)]
    UnknownUser { setting: Setting, user: String },

    #[error("{}: no group has gid {gid}", setting.key)]
    UnknownGid { setting: Setting, gid: u32 },

    /// Two accounts want the same id; `other` is the name already holding it.
    #[error("{}: {what} {id} of \"{name}\" is already used by \"{other}\"", setting.key)]
    DuplicateId { setting: Setting, what: &'static str, id: u32, name: String, other: String },

    #[error("{}: {reason}", setting.key)]
    InvalidSetting { setting: Setting, reason: String },

    #[error("{}: set `password` or `password_plain`, not both", setting.key)]
    PasswordConflict { setting: Setting },

    #[error("{}: template line {line}: {message}", setting.key)]
    Template { setting: Setting, line: usize, message: String },

    #[error("{}: no executable init script /etc/init.d/{service} for service \"{service}\"", setting.key)]
    MissingService { setting: Setting, service: String, available: Vec<String> },

    #[error("{}: {path} exists but is not a directory", setting.key)]
    HomeNotDirectory { setting: Setting, path: String },

    #[error("{path}: {reason}")]
    Malformed { path: String, reason: String },

    /// A path in the staging root that cannot be resolved: a symlink loop, or a file where a
    /// directory must be.
    #[error("cannot resolve /{path} in the staging root: {reason}")]
    Resolve { path: String, reason: String },

    #[error("invalid timezone `{0}`: expected a zone name such as \"Europe/Paris\" or \"UTC\"")]
    InvalidTimezone(String),

    #[error("fstab entry {index} ({mountpoint}): {reason}")]
    InvalidFstab { index: usize, mountpoint: String, reason: String },

    #[error("os-release {field}=\"{value}\": {reason}")]
    InvalidOsRelease { field: &'static str, value: String, reason: String },

    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error("{}: cannot read {}: {source}", setting.key, path.display())]
    Source { setting: Setting, path: PathBuf, source: std::io::Error },

    #[error("{}: hashing the password failed: {reason}", setting.key)]
    Hash { setting: Setting, reason: String },
}

impl ConfigureError {
    /// The profile setting this error is about, if it is about one.
    pub fn setting(&self) -> Option<&Setting> {
        use ConfigureError::*;
        match self {
            UnknownGroup { setting, .. }
            | UnknownUser { setting, .. }
            | UnknownGid { setting, .. }
            | DuplicateId { setting, .. }
            | InvalidSetting { setting, .. }
            | PasswordConflict { setting }
            | Template { setting, .. }
            | MissingService { setting, .. }
            | HomeNotDirectory { setting, .. }
            | Source { setting, .. }
            | Hash { setting, .. } => Some(setting),
            Malformed { .. }
            | Resolve { .. }
            | InvalidTimezone(_)
            | InvalidFstab { .. }
            | InvalidOsRelease { .. }
            | Io(_) => None,
        }
    }

    /// The error as a diagnostic pointing at the profile setting, when there is one.
    pub fn diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::error(self.to_string());
        if let Some(s) = self.setting() {
            d = d.at(&s.file, s.span.clone());
        }
        if let ConfigureError::MissingService { available, .. } = self {
            d = d.note(if available.is_empty() {
                "the staged tree has no scripts in /etc/init.d".to_string()
            } else {
                format!("scripts in /etc/init.d: {}", available.join(", "))
            });
        }
        d
    }
}

/// `setting` with its key path extended to a field: `system.users[1]` -> `system.users[1].groups`.
pub(crate) fn at_key(setting: &Setting, field: &str) -> Setting {
    Setting { key: format!("{}.{field}", setting.key), ..setting.clone() }
}
