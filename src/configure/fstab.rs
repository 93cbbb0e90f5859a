//! `/etc/fstab`: the image's partitions as the image stage names them (`UUID=…`, `PARTUUID=…`),
//! plus a tmpfs on `/tmp` unless a partition is mounted there, so the root filesystem is not
//! written by every temporary file. `proc`, `sysfs` and `devtmpfs` are left to the init, which
//! mounts them before it could read this file.

use super::error::ConfigureError;
use super::tree::{Owner, Tree};

pub const FSTAB: &str = "/etc/fstab";

/// One line of fstab(5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEntry {
    /// `UUID=…`, `PARTUUID=…`, `LABEL=…` or a device path.
    pub spec: String,
    pub mountpoint: String,
    pub fstype: String,
    pub options: String,
    pub dump: u8,
    pub pass: u8,
}

/// Written unless an entry already mounts `/tmp`.
const TMPFS_LINE: &str = "tmpfs\t/tmp\ttmpfs\tnosuid,nodev,mode=1777\t0\t0\n";

pub fn write(tree: &mut Tree, text: &str) -> Result<String, ConfigureError> {
    tree.write(FSTAB, text.as_bytes(), Owner::root(0o644))
}

pub fn render(entries: &[FstabEntry]) -> Result<String, ConfigureError> {
    let mut out = String::from("# /etc/fstab: written by ingot from the image's partitions.\n");
    out.push_str("# <spec>\t<mountpoint>\t<type>\t<options>\t<dump>\t<pass>\n");
    for (i, e) in entries.iter().enumerate() {
        check(i, e)?;
        let fields = [&e.spec, &e.mountpoint, &e.fstype, &e.options].map(|f| escape(f));
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            fields[0], fields[1], fields[2], fields[3], e.dump, e.pass
        ));
    }
    if !entries.iter().any(|e| e.mountpoint == "/tmp") {
        out.push_str(TMPFS_LINE);
    }
    Ok(out)
}

fn check(index: usize, e: &FstabEntry) -> Result<(), ConfigureError> {
    let err = |reason: &str| ConfigureError::InvalidFstab {
        index,
        mountpoint: e.mountpoint.clone(),
        reason: reason.to_string(),
    };
    if [&e.spec, &e.mountpoint, &e.fstype, &e.options].iter().any(|f| f.is_empty()) {
        return Err(err("spec, mountpoint, type and options must all be given"));
    }
    let swap = e.fstype == "swap" && e.mountpoint == "none";
    if !e.mountpoint.starts_with('/') && !swap {
        return Err(err("the mount point must be an absolute path (or `none` for swap)"));
    }
    if e.pass > 2 {
        return Err(err("pass must be 0, 1 or 2"));
    }
    Ok(())
}

/// fstab(5) separates fields by whitespace; spaces inside a field are written as octal escapes.
fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(spec: &str, mountpoint: &str, fstype: &str, pass: u8) -> FstabEntry {
        FstabEntry {
            spec: spec.into(),
            mountpoint: mountpoint.into(),
            fstype: fstype.into(),
            options: "defaults".into(),
            dump: 0,
            pass,
        }
    }

    #[test]
    fn partitions_then_a_tmpfs_on_tmp() {
        let text =
            render(&[entry("UUID=abcd", "/", "ext4", 1), entry("PARTUUID=ef01", "/boot/efi", "vfat", 2)])
                .unwrap();
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "UUID=abcd\t/\text4\tdefaults\t0\t1",
                "PARTUUID=ef01\t/boot/efi\tvfat\tdefaults\t0\t2",
                "tmpfs\t/tmp\ttmpfs\tnosuid,nodev,mode=1777\t0\t0",
            ]
        );
    }

    #[test]
    fn a_partition_on_tmp_replaces_the_tmpfs() {
        let text = render(&[entry("UUID=1", "/", "ext4", 1), entry("UUID=2", "/tmp", "ext4", 2)]).unwrap();
        assert!(!text.contains("tmpfs"));
    }

    #[test]
    fn spaces_in_fields_are_escaped() {
        let text = render(&[entry("LABEL=my disk", "/mnt/a b", "ext4", 2)]).unwrap();
        assert!(text.contains("LABEL=my\\040disk\t/mnt/a\\040b\t"));
    }

    #[test]
    fn invalid_entries_are_refused_with_their_index() {
        let e = render(&[entry("UUID=1", "/", "ext4", 1), entry("UUID=2", "data", "ext4", 2)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "fstab entry 1 (data): the mount point must be an absolute path (or `none` for swap)"
        );
        let e = render(&[entry("", "/", "ext4", 1)]).unwrap_err();
        assert_eq!(e.to_string(), "fstab entry 0 (/): spec, mountpoint, type and options must all be given");
        let e = render(&[entry("UUID=1", "/", "ext4", 3)]).unwrap_err();
        assert_eq!(e.to_string(), "fstab entry 0 (/): pass must be 0, 1 or 2");
        assert!(render(&[entry("UUID=3", "none", "swap", 0)]).is_ok());
    }
}
