//! The disk layout: which partitions the profile asks for (checked once), and where each one lands
//! on a GPT disk with 1 MiB (2048-sector) alignment.

use super::error::ImageError;
use super::ids::{Guid, Ids};
use crate::profile::image::{BootMode, Filesystem, ImageConf, Partition, PartitionKind};

pub const MIB: u64 = 1 << 20;
pub const SECTOR: u64 = 512;

/// A partition with its final size and place on the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// 1-based, as in `/dev/vda1`.
    pub number: usize,
    pub label: String,
    pub kind: PartitionKind,
    pub fs: Filesystem,
    pub offset: u64,
    pub size: u64,
    pub uuid: Guid,
}

impl Placed {
    /// The GPT partition type (Discoverable Partitions Specification, x86-64).
    pub fn type_guid(&self) -> &'static str {
        match self.kind {
            PartitionKind::Esp => "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            PartitionKind::Root => "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
            PartitionKind::Linux => "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
            PartitionKind::Swap => "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub partitions: Vec<Placed>,
    pub disk_size: u64,
}

/// Checks what the image stage relies on: unique usable labels, one root (ext4), one ESP (vfat,
/// needed by every boot mode: it holds the UKI or syslinux), filesystems that fit their kind.
pub fn validate(conf: &ImageConf) -> Result<(), ImageError> {
    let parts = &conf.partitions;
    for (i, p) in parts.iter().enumerate() {
        check_label(&p.label)?;
        if parts[..i].iter().any(|q| q.label == p.label) {
            return Err(ImageError::DuplicateLabel(p.label.clone()));
        }
        check_filesystem(p)?;
    }
    for kind in [PartitionKind::Root, PartitionKind::Esp] {
        match parts.iter().filter(|p| p.kind == kind).count() {
            0 => return Err(ImageError::MissingPartition { kind, boot: conf.boot }),
            1 => {}
            count => return Err(ImageError::DuplicateKind { kind, count }),
        }
    }
    Ok(())
}

/// Places partitions of the given (final) sizes one after another from 1 MiB, each size rounded
/// up to whole MiB so every start stays aligned; the disk ends 1 MiB after the last partition,
/// which holds the backup GPT (33 sectors).
pub fn place(conf: &ImageConf, sizes: &[u64], ids: &Ids) -> Layout {
    let mut offset = MIB;
    let partitions = conf
        .partitions
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (p, &size))| {
            let size = round_up(size, MIB);
            let placed = Placed {
                number: i + 1,
                label: p.label.clone(),
                kind: p.kind,
                fs: p.fs,
                offset,
                size,
                uuid: ids.partition(&p.label),
            };
            offset += size;
            placed
        })
        .collect();
    Layout { partitions, disk_size: offset + MIB }
}

pub fn round_up(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

/// Whether this boot mode installs syslinux for BIOS firmware.
pub fn wants_bios(boot: BootMode) -> bool {
    matches!(boot, BootMode::Bios | BootMode::Hybrid)
}

/// Whether this boot mode puts a UKI at the removable-media path for UEFI firmware.
pub fn wants_uefi(boot: BootMode) -> bool {
    matches!(boot, BootMode::Uefi | BootMode::Hybrid)
}

fn check_label(label: &str) -> Result<(), ImageError> {
    let why = if label.is_empty() {
        "it is empty"
    } else if label.encode_utf16().count() > 36 {
        "GPT partition names hold at most 36 UTF-16 code units"
    } else if label.chars().any(|c| c.is_control() || c == '"' || c == ',' || c == '\\') {
        "it contains a control character, quote, comma or backslash"
    } else {
        return Ok(());
    };
    Err(ImageError::BadLabel { label: label.to_string(), why })
}

fn check_filesystem(p: &Partition) -> Result<(), ImageError> {
    let want = match (p.kind, p.fs) {
        (PartitionKind::Esp, Filesystem::Vfat)
        | (PartitionKind::Root, Filesystem::Ext4)
        | (PartitionKind::Linux, Filesystem::Ext4 | Filesystem::None)
        | (PartitionKind::Swap, Filesystem::Swap) => return Ok(()),
        (PartitionKind::Esp, _) => Filesystem::Vfat,
        (PartitionKind::Root | PartitionKind::Linux, _) => Filesystem::Ext4,
        (PartitionKind::Swap, _) => Filesystem::Swap,
    };
    Err(ImageError::WrongFilesystem { label: p.label.clone(), kind: p.kind, fs: p.fs, want })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::image::Size;

    fn part(label: &str, kind: PartitionKind, fs: Filesystem) -> Partition {
        Partition { label: label.into(), kind, fs, size: Size::Auto }
    }

    fn conf_with(partitions: Vec<Partition>) -> ImageConf {
        ImageConf { partitions, ..ImageConf::default() }
    }

    #[test]
    fn default_layout_is_valid() {
        validate(&ImageConf::default()).unwrap();
    }

    #[test]
    fn partitions_start_at_one_mib_and_stay_aligned() {
        let conf = ImageConf::default();
        let layout = place(&conf, &[64 * MIB, 3 * MIB + 5], &Ids::new([0; 32]));
        let p = &layout.partitions;
        assert_eq!((p[0].number, p[0].offset, p[0].size), (1, MIB, 64 * MIB));
        assert_eq!((p[1].number, p[1].offset, p[1].size), (2, 65 * MIB, 4 * MIB));
        assert_eq!(layout.disk_size, 70 * MIB);
        assert!(p.iter().all(|p| p.offset % (2048 * SECTOR) == 0));
    }

    #[test]
    fn missing_root_is_refused_naming_the_boot_mode() {
        let conf = conf_with(vec![part("esp", PartitionKind::Esp, Filesystem::Vfat)]);
        let err = validate(&conf).unwrap_err().to_string();
        assert_eq!(err, "the image has no `root` partition: boot mode `uefi` needs one");
    }

    #[test]
    fn two_esps_are_refused() {
        let conf = conf_with(vec![
            part("esp", PartitionKind::Esp, Filesystem::Vfat),
            part("esp2", PartitionKind::Esp, Filesystem::Vfat),
            part("root", PartitionKind::Root, Filesystem::Ext4),
        ]);
        let err = validate(&conf).unwrap_err().to_string();
        assert_eq!(err, "the image has 2 `esp` partitions: exactly one is allowed");
    }

    #[test]
    fn duplicate_labels_are_refused() {
        let conf = conf_with(vec![
            part("esp", PartitionKind::Esp, Filesystem::Vfat),
            part("esp", PartitionKind::Root, Filesystem::Ext4),
        ]);
        assert!(validate(&conf).unwrap_err().to_string().contains("two partitions are labelled `esp`"));
    }

    #[test]
    fn unusable_labels_say_why() {
        for (label, why) in
            [("", "it is empty"), (&"x".repeat(37), "at most 36 UTF-16"), ("a\"b", "quote"), ("a,b", "comma")]
        {
            let conf = conf_with(vec![part(label, PartitionKind::Root, Filesystem::Ext4)]);
            let err = validate(&conf).unwrap_err().to_string();
            assert!(err.contains(why), "{label:?}: {err}");
        }
    }

    #[test]
    fn root_on_vfat_is_refused_naming_the_wanted_filesystem() {
        let conf = conf_with(vec![
            part("esp", PartitionKind::Esp, Filesystem::Vfat),
            part("root", PartitionKind::Root, Filesystem::Vfat),
        ]);
        let err = validate(&conf).unwrap_err().to_string();
        assert_eq!(err, "partition `root` (root) cannot hold a `vfat` filesystem: use `ext4`");
    }

    #[test]
    fn esp_must_be_vfat_and_swap_must_be_swap() {
        for (kind, fs, want) in [
            (PartitionKind::Esp, Filesystem::Ext4, "use `vfat`"),
            (PartitionKind::Swap, Filesystem::Ext4, "use `swap`"),
        ] {
            let conf = conf_with(vec![part("p", kind, fs)]);
            let err = validate(&conf).unwrap_err().to_string();
            assert!(err.ends_with(want), "{err}");
        }
    }
}
