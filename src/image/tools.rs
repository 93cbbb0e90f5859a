//! How the image stage reaches host programs and files. Behind a trait so a test can hide one tool
//! and check the error names the Debian package to install, without editing PATH (the lookup also
//! searches the sbin directories).

use crate::host::{HostError, HostFile, HostTool};
use std::path::PathBuf;
use std::process::Command;

pub trait Tools: Sync {
    /// A command for `tool`, or the error naming its Debian package.
    fn command(&self, tool: HostTool) -> Result<Command, HostError>;
    /// The path of a host data file, or the error naming its Debian package.
    fn file(&self, file: HostFile) -> Result<PathBuf, HostError>;
}

/// The build host's own programs and files.
pub struct HostTools;

impl Tools for HostTools {
    fn command(&self, tool: HostTool) -> Result<Command, HostError> {
        tool.command()
    }

    fn file(&self, file: HostFile) -> Result<PathBuf, HostError> {
        file.locate().map(PathBuf::from)
    }
}

/// Sets what makes the host tools' output depend only on their inputs: UTC (FAT stores local
/// time), the C locale, and the fixed clock that mtools (`SOURCE_DATE_EPOCH`) and e2fsprogs
/// (`E2FSPROGS_FAKE_TIME`) honour.
pub fn pin_environment(cmd: &mut Command, source_date_epoch: u64) -> &mut Command {
    let t = source_date_epoch.to_string();
    cmd.env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("SOURCE_DATE_EPOCH", &t)
        .env("E2FSPROGS_FAKE_TIME", &t)
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_environment_fixes_clock_zone_and_locale() {
        let mut cmd = Command::new("true");
        pin_environment(&mut cmd, 42);
        let env: Vec<_> = cmd.get_envs().map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned()))).collect();
        for (k, v) in [("TZ", "UTC"), ("SOURCE_DATE_EPOCH", "42"), ("E2FSPROGS_FAKE_TIME", "42")] {
            assert!(env.contains(&(k.into(), Some(v.into()))), "{k}");
        }
    }
}
