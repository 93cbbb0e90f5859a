//! Host tools: every program ingot runs on the build host (mkfs.ext4, mcopy, qemu, …) is declared
//! here with the Debian package that provides it, and started through `HostTool::command`, which
//! checks it exists first. A missing tool is an error that says what to `apt-get install`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A program on the build host and the Debian package that ships it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTool {
    pub program: &'static str,
    pub debian_package: &'static str,
}

macro_rules! tools {
    ($($name:ident = $program:literal from $package:literal;)*) => {
        $(pub const $name: HostTool = HostTool { program: $program, debian_package: $package };)*
        /// Every tool ingot may run, for `scripts/` and diagnostics.
        pub const ALL: &[HostTool] = &[$($name),*];
    };
}

tools! {
    SH = "sh" from "dash";
    MKFS_EXT4 = "mkfs.ext4" from "e2fsprogs";
    DEBUGFS = "debugfs" from "e2fsprogs";
    MKFS_FAT = "mkfs.fat" from "dosfstools";
    MCOPY = "mcopy" from "mtools";
    MMD = "mmd" from "mtools";
    SFDISK = "sfdisk" from "fdisk";
    MKSWAP = "mkswap" from "util-linux";
    SYSLINUX = "syslinux" from "syslinux";
    QEMU_IMG = "qemu-img" from "qemu-utils";
    QEMU_SYSTEM_X86_64 = "qemu-system-x86_64" from "qemu-system-x86";
    CPIO = "cpio" from "cpio";
    GCC = "gcc" from "gcc";
    MAKE = "make" from "make";
}

/// Files (not programs) that ingot reads from Debian packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFile {
    pub path: &'static str,
    pub debian_package: &'static str,
}

pub const EFI_STUB: HostFile =
    HostFile { path: "/usr/lib/systemd/boot/efi/linuxx64.efi.stub", debian_package: "systemd-boot-efi" };
pub const GPTMBR: HostFile =
    HostFile { path: "/usr/lib/syslinux/mbr/gptmbr.bin", debian_package: "syslinux" };
pub const OVMF_CODE: HostFile = HostFile { path: "/usr/share/OVMF/OVMF_CODE_4M.fd", debian_package: "ovmf" };
pub const OVMF_VARS: HostFile = HostFile { path: "/usr/share/OVMF/OVMF_VARS_4M.fd", debian_package: "ovmf" };

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("host tool `{program}` not found in PATH: install it with `apt-get install {package}`")]
    MissingTool { program: &'static str, package: &'static str },
    #[error("host file {path} not found: install it with `apt-get install {package}`")]
    MissingFile { path: &'static str, package: &'static str },
    #[error("could not run `{program}`: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed { command: String, status: std::process::ExitStatus, stderr: String },
}

impl HostTool {
    /// The tool's full path, searching PATH and the sbin directories a non-login root shell may
    /// lack.
    pub fn locate(self) -> Result<PathBuf, HostError> {
        find_in_path(self.program)
            .ok_or(HostError::MissingTool { program: self.program, package: self.debian_package })
    }

    /// A `Command` for this tool, or the error naming the package to install.
    pub fn command(self) -> Result<Command, HostError> {
        Ok(Command::new(self.locate()?))
    }

    /// Runs the tool with `args` to completion; a non-zero exit is an error carrying its stderr.
    pub fn run<I, S>(self, args: I) -> Result<Output, HostError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command()?;
        cmd.args(args);
        run(&mut cmd)
    }
}

impl HostFile {
    pub fn locate(self) -> Result<&'static Path, HostError> {
        let path = Path::new(self.path);
        if path.exists() {
            Ok(path)
        } else {
            Err(HostError::MissingFile { path: self.path, package: self.debian_package })
        }
    }
}

/// Runs a prepared command to completion; a non-zero exit is an error carrying the command line
/// and its stderr.
pub fn run(cmd: &mut Command) -> Result<Output, HostError> {
    let line = command_line(cmd);
    let out = cmd.output().map_err(|source| HostError::Spawn { program: line.clone(), source })?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(HostError::Failed {
            command: line,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        })
    }
}

fn command_line(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_names_the_debian_package() {
        let tool = HostTool { program: "ingot-no-such-tool", debian_package: "ingot-imaginary" };
        let err = tool.command().unwrap_err().to_string();
        assert!(err.contains("ingot-no-such-tool"), "{err}");
        assert!(err.contains("apt-get install ingot-imaginary"), "{err}");
    }

    #[test]
    fn failing_tool_reports_its_stderr() {
        let err = SH.run(["-c", "echo boom >&2; exit 3"]).unwrap_err().to_string();
        assert!(err.contains("boom"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
    }
}
