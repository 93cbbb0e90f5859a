//! Unified kernel images: systemd-stub with the kernel, command line, initramfs and os-release
//! added as PE sections by objcopy (bookworm has no ukify). objcopy stamps the build time into the
//! PE header and checksum, so both are zeroed afterwards.

use super::error::ImageError;
use super::layout::round_up;
use super::tools::Tools;
use crate::host;
use std::path::{Path, PathBuf};

/// What goes into a UKI, as host paths.
pub struct UkiParts<'a> {
    pub kernel: &'a Path,
    pub initrd: Option<&'a Path>,
    pub osrel: Option<&'a Path>,
    pub cmdline: &'a str,
}

const PAGE: u64 = 4096;

/// Writes the UKI to `out`, using `work` for the command-line file.
pub fn build(tools: &dyn Tools, parts: &UkiParts, work: &Path, out: &Path) -> Result<(), ImageError> {
    let stub = tools.file(host::EFI_STUB)?;
    let stub_end = image_end(&fs_err::read(&stub)?).map_err(|why| bad(&stub, why))?;
    let cmdline = work.join("cmdline");
    fs_err::write(&cmdline, parts.cmdline)?;
    let sections = sections(parts, &cmdline)?;
    let mut cmd = tools.command(host::OBJCOPY)?;
    for (name, path, vma) in place(stub_end, &sections) {
        cmd.arg("--add-section").arg(format!("{name}={}", path.display()));
        cmd.arg("--change-section-vma").arg(format!("{name}={vma:#x}"));
    }
    cmd.arg(&stub).arg(out);
    host::run(&mut cmd)?;
    let mut bytes = fs_err::read(out)?;
    clear_timestamp(&mut bytes).map_err(|why| bad(out, why))?;
    fs_err::write(out, bytes)?;
    Ok(())
}

fn sections<'a>(
    parts: &'a UkiParts,
    cmdline: &'a Path,
) -> Result<Vec<(&'static str, &'a Path, u64)>, ImageError> {
    let mut out = Vec::new();
    if let Some(osrel) = parts.osrel {
        out.push((".osrel", osrel, fs_err::metadata(osrel)?.len()));
    }
    out.push((".cmdline", cmdline, fs_err::metadata(cmdline)?.len()));
    out.push((".linux", parts.kernel, fs_err::metadata(parts.kernel)?.len()));
    if let Some(initrd) = parts.initrd {
        out.push((".initrd", initrd, fs_err::metadata(initrd)?.len()));
    }
    Ok(out)
}

/// Section addresses: page-aligned, one after another from the stub's end (as ukify lays them
/// out), so a large kernel can never overlap the initramfs.
fn place<'a>(
    stub_end: u64,
    sections: &[(&'static str, &'a Path, u64)],
) -> Vec<(&'static str, &'a Path, u64)> {
    let mut next = round_up(stub_end, PAGE);
    sections
        .iter()
        .map(|&(name, path, size)| {
            let vma = next;
            next = round_up(vma + size.max(1), PAGE);
            (name, path, vma)
        })
        .collect()
}

/// Offsets in a PE32+ image that the loader and objcopy agree on.
struct Pe {
    /// Start of the COFF header (`PE\0\0` signature + 4).
    coff: usize,
    optional: usize,
}

fn parse(bytes: &[u8]) -> Result<Pe, String> {
    if bytes.get(0..2) != Some(b"MZ") {
        return Err("not a PE image: no `MZ` signature".into());
    }
    let lfanew = read_u32(bytes, 0x3c)? as usize;
    if bytes.get(lfanew..lfanew + 4) != Some(b"PE\0\0") {
        return Err(format!("not a PE image: no `PE` signature at {lfanew:#x}"));
    }
    let coff = lfanew + 4;
    let optional = coff + 20;
    if read_u16(bytes, optional)? != 0x20b {
        return Err("not a PE32+ (64-bit) image".into());
    }
    Ok(Pe { coff, optional })
}

/// The first virtual address after the stub's last section, including its image base.
fn image_end(bytes: &[u8]) -> Result<u64, String> {
    let pe = parse(bytes)?;
    let count = read_u16(bytes, pe.coff + 2)? as usize;
    let table = pe.optional + read_u16(bytes, pe.coff + 16)? as usize;
    let base = read_u64(bytes, pe.optional + 24)?;
    let mut end = 0u64;
    for i in 0..count {
        let s = table + i * 40;
        let size = read_u32(bytes, s + 8)? as u64;
        let addr = read_u32(bytes, s + 12)? as u64;
        end = end.max(addr + size);
    }
    Ok(base + end)
}

/// Zeroes TimeDateStamp (COFF header +4) and CheckSum (optional header +64).
fn clear_timestamp(bytes: &mut [u8]) -> Result<(), String> {
    let pe = parse(bytes)?;
    for at in [pe.coff + 4, pe.optional + 64] {
        bytes[at..at + 4].fill(0);
    }
    Ok(())
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], String> {
    bytes
        .get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("truncated PE image: {N}-byte field at {at:#x} is past the end"))
}

fn read_u16(bytes: &[u8], at: usize) -> Result<u16, String> {
    field(bytes, at).map(u16::from_le_bytes)
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, String> {
    field(bytes, at).map(u32::from_le_bytes)
}

fn read_u64(bytes: &[u8], at: usize) -> Result<u64, String> {
    field(bytes, at).map(u64::from_le_bytes)
}

fn bad(path: &Path, why: String) -> ImageError {
    ImageError::BadPe { path: PathBuf::from(path), why }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PE32+ header with two sections, stamped with a time and checksum.
    fn tiny_pe() -> Vec<u8> {
        let mut b = vec![0u8; 0x200];
        b[0..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        b[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        b[coff + 2..coff + 4].copy_from_slice(&2u16.to_le_bytes());
        b[coff + 4..coff + 8].copy_from_slice(&0x6553_f100u32.to_le_bytes());
        b[coff + 16..coff + 18].copy_from_slice(&0xf0u16.to_le_bytes());
        let opt = coff + 20;
        b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        b[opt + 64..opt + 68].copy_from_slice(&0x1aa6cu32.to_le_bytes());
        let table = opt + 0xf0;
        for (i, (addr, size)) in [(0x4000u32, 0xbff0u32), (0x19100, 0x34)].iter().enumerate() {
            let s = table + i * 40;
            b[s + 8..s + 12].copy_from_slice(&size.to_le_bytes());
            b[s + 12..s + 16].copy_from_slice(&addr.to_le_bytes());
        }
        b
    }

    #[test]
    fn stub_end_is_the_end_of_its_last_section() {
        assert_eq!(image_end(&tiny_pe()).unwrap(), 0x19134);
    }

    #[test]
    fn sections_are_page_aligned_after_the_stub_and_never_overlap() {
        let p = Path::new("x");
        let placed = place(
            0x19134,
            &[(".osrel", p, 100), (".cmdline", p, 30), (".linux", p, 0x1000), (".initrd", p, 5)],
        );
        let vmas: Vec<u64> = placed.iter().map(|s| s.2).collect();
        assert_eq!(vmas, [0x1a000, 0x1b000, 0x1c000, 0x1d000]);
    }

    #[test]
    fn timestamp_and_checksum_are_zeroed() {
        let mut b = tiny_pe();
        clear_timestamp(&mut b).unwrap();
        assert_eq!(&b[0x88..0x8c], &[0; 4]);
        assert_eq!(&b[0x98 + 64..0x98 + 68], &[0; 4]);
    }

    #[test]
    fn non_pe_files_are_refused_saying_why() {
        assert_eq!(image_end(b"ELF").unwrap_err(), "not a PE image: no `MZ` signature");
        let mut b = tiny_pe();
        b[0x80] = b'X';
        assert_eq!(image_end(&b).unwrap_err(), "not a PE image: no `PE` signature at 0x80");
        let mut b = tiny_pe();
        b[0x98] = 0x0b;
        b[0x99] = 0x01;
        assert_eq!(image_end(&b).unwrap_err(), "not a PE32+ (64-bit) image");
        let b = &tiny_pe()[..0x90];
        assert!(image_end(b).unwrap_err().starts_with("truncated PE image"));
    }
}
