//! The GPT partition table: written by `sfdisk` from a script, read back by a small parser.
//!
//! sfdisk rather than the `gpt` crate: it takes the disk GUID (`label-id`), every partition GUID,
//! the first usable LBA and attributes by name from one script, and left alone picks nothing at
//! random; util-linux's writer is the reference most tools are checked against, and fdisk is
//! already a host dependency. The `gpt` crate picks random GUIDs and its own alignment unless
//! overridden field by field. Reading needs only the partition names and extents, which
//! `compare` must get from a decompressed stream, so that part is ours.

use super::error::ImageError;
use super::ids::Guid;
use super::layout::{Layout, SECTOR};
use super::tools::Tools;
use crate::host;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;

/// The sfdisk script for `layout`. The ESP carries LegacyBIOSBootable for syslinux's gptmbr.
pub fn script(layout: &Layout, disk: Guid, bios: bool) -> String {
    let mut s = format!(
        "label: gpt\nlabel-id: {disk}\nunit: sectors\nfirst-lba: 2048\nsector-size: {SECTOR}\ntable-length: 128\n\n"
    );
    for p in &layout.partitions {
        let _ = write!(
            s,
            "start={}, size={}, type={}, uuid={}, name=\"{}\"",
            p.offset / SECTOR,
            p.size / SECTOR,
            p.type_guid(),
            p.uuid,
            p.label
        );
        if bios && p.kind == crate::profile::image::PartitionKind::Esp {
            s += ", attrs=\"LegacyBIOSBootable\"";
        }
        s += "\n";
    }
    s
}

/// Writes the table into `disk` (a file already at the disk's full size).
pub fn write(tools: &dyn Tools, script: &str, work: &Path, disk: &Path) -> Result<(), ImageError> {
    let file = work.join("sfdisk.script");
    fs_err::write(&file, script)?;
    let mut cmd = tools.command(host::SFDISK)?;
    cmd.args(["--no-reread", "--no-tell-kernel", "--quiet"]).arg(disk);
    cmd.stdin(Stdio::from(fs_err::File::open(&file)?.into_parts().0));
    host::run(&mut cmd)?;
    Ok(())
}

/// One partition as the table on disk describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub label: String,
    pub uuid: Guid,
    /// Byte range on the disk.
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub entries: Vec<Entry>,
    /// Where the backup partition entries begin (they run to the end of the disk).
    pub backup_start: u64,
    /// The end of the primary table and the gap after it, where partitions may start.
    pub first_usable: u64,
}

/// Parses the primary GPT from the start of a disk (LBA 0 through the entry array).
pub fn read(head: &[u8]) -> Result<Table, String> {
    let header = head.get(512..604).ok_or("the disk is shorter than a GPT header")?;
    if &header[0..8] != b"EFI PART" {
        return Err("no `EFI PART` signature in LBA 1".into());
    }
    let u64_at = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or_default());
    let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or_default());
    let (alternate, first_usable, array) = (u64_at(32), u64_at(40), u64_at(72));
    let (count, size) = (u32_at(80) as usize, u32_at(84) as usize);
    if size < 128 {
        return Err(format!("partition entries of {size} bytes (at least 128 expected)"));
    }
    let start = array as usize * SECTOR as usize;
    let table = head.get(start..start + count * size).ok_or_else(|| {
        format!("the partition entry array ({count} × {size} bytes at LBA {array}) is cut short")
    })?;
    let entries = table.chunks(size).filter_map(entry).collect();
    let array_sectors = (count * size).div_ceil(SECTOR as usize) as u64;
    Ok(Table {
        entries,
        backup_start: alternate.saturating_sub(array_sectors) * SECTOR,
        first_usable: first_usable * SECTOR,
    })
}

fn entry(raw: &[u8]) -> Option<Entry> {
    if raw[0..16].iter().all(|&b| b == 0) {
        return None;
    }
    let mut unique = [0u8; 16];
    unique.copy_from_slice(&raw[16..32]);
    let first = u64::from_le_bytes(raw[32..40].try_into().ok()?);
    let last = u64::from_le_bytes(raw[40..48].try_into().ok()?);
    let name: Vec<u16> =
        raw[56..128].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&c| c != 0).collect();
    Some(Entry {
        label: String::from_utf16_lossy(&name),
        uuid: Guid::from_gpt_bytes(unique),
        start: first * SECTOR,
        end: (last + 1) * SECTOR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ids::Ids;
    use crate::image::layout::{MIB, place};
    use crate::profile::image::ImageConf;

    #[test]
    fn script_names_every_guid_and_marks_the_esp_for_bios() {
        let ids = Ids::new([3; 32]);
        let layout = place(&ImageConf::default(), &[64 * MIB, 10 * MIB], &ids);
        let s = script(&layout, ids.disk(), true);
        assert!(s.starts_with(&format!("label: gpt\nlabel-id: {}\n", ids.disk())), "{s}");
        assert!(s.contains("first-lba: 2048\n"));
        let esp = format!(
            "start=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid={}, name=\"esp\", attrs=\"LegacyBIOSBootable\"\n",
            ids.partition("esp")
        );
        assert!(s.contains(&esp), "{s}");
        assert!(s.contains(&format!("start=133120, size=20480, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid={}, name=\"root\"\n", ids.partition("root"))), "{s}");
        assert!(!script(&layout, ids.disk(), false).contains("attrs"));
    }

    #[test]
    fn reading_a_disk_without_gpt_says_so() {
        assert_eq!(read(&[0u8; 100]).unwrap_err(), "the disk is shorter than a GPT header");
        assert_eq!(read(&[0u8; 4096]).unwrap_err(), "no `EFI PART` signature in LBA 1");
    }

    #[test]
    fn cut_short_entry_array_is_reported() {
        let mut head = vec![0u8; 1024];
        head[512..520].copy_from_slice(b"EFI PART");
        head[512 + 72] = 2;
        head[512 + 80] = 128;
        head[512 + 84] = 128;
        assert!(read(&head).unwrap_err().contains("is cut short"));
    }
}
