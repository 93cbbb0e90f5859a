//! BIOS boot of the GPT disk: syslinux's `gptmbr.bin` in sector 0 chain-loads the partition
//! marked LegacyBIOSBootable (the ESP), where syslinux boots its own copies of the kernel and
//! initramfs with the same command line as the UKI.

use super::error::ImageError;
use super::tools::Tools;
use crate::host;
use std::os::unix::fs::FileExt;

/// Where the kernel and initramfs copies live on the ESP.
pub const KERNEL: &str = "syslinux/linux";
pub const INITRD: &str = "syslinux/initrd";
pub const CONFIG: &str = "syslinux/syslinux.cfg";

/// The boot code area of the MBR; the rest of sector 0 is the disk signature and the protective
/// partition table, which stay as sfdisk wrote them.
const MBR_CODE: usize = 440;

/// A syslinux.cfg that boots straight into the one kernel, without a prompt.
pub fn config(cmdline: &str, initrd: bool) -> String {
    let mut cfg = String::from("# Written by ingot.\nDEFAULT ingot\nPROMPT 0\nTIMEOUT 0\n\nLABEL ingot\n");
    cfg += &format!("  LINUX /{KERNEL}\n");
    if initrd {
        cfg += &format!("  INITRD /{INITRD}\n");
    }
    cfg += &format!("  APPEND {cmdline}\n");
    cfg
}

/// Writes gptmbr.bin's boot code into sector 0 of `disk`.
pub fn write_mbr(tools: &dyn Tools, disk: &std::fs::File) -> Result<(), ImageError> {
    let path = tools.file(host::GPTMBR)?;
    let code = fs_err::read(&path)?;
    let Some(code) = code.get(..MBR_CODE) else {
        let why = format!(
            "{} is {} bytes, shorter than the {MBR_CODE}-byte MBR boot code",
            path.display(),
            code.len()
        );
        return Err(ImageError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, why)));
    };
    disk.write_all_at(code, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HostError, HostFile, HostTool};
    use std::path::PathBuf;

    #[test]
    fn config_boots_the_copied_kernel_with_the_command_line() {
        let cfg = config("console=ttyS0 root=PARTUUID=x rootwait", true);
        assert!(cfg.contains("DEFAULT ingot\nPROMPT 0\nTIMEOUT 0\n"), "{cfg}");
        assert!(cfg.contains("  LINUX /syslinux/linux\n  INITRD /syslinux/initrd\n"), "{cfg}");
        assert!(cfg.ends_with("  APPEND console=ttyS0 root=PARTUUID=x rootwait\n"), "{cfg}");
        assert!(!config("x", false).contains("INITRD"));
    }

    struct ShortMbr(PathBuf);

    impl Tools for ShortMbr {
        fn command(&self, tool: HostTool) -> Result<std::process::Command, HostError> {
            tool.command()
        }
        fn file(&self, _: HostFile) -> Result<PathBuf, HostError> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn truncated_gptmbr_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mbr = dir.path().join("gptmbr.bin");
        std::fs::write(&mbr, [0u8; 100]).unwrap();
        let disk = tempfile::tempfile().unwrap();
        let err = write_mbr(&ShortMbr(mbr), &disk).unwrap_err().to_string();
        assert!(err.contains("gptmbr.bin is 100 bytes, shorter than the 440-byte MBR boot code"), "{err}");
    }
}
