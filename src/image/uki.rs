//! Unified kernel images: systemd-stub with the os-release, command line, kernel and initramfs
//! appended as PE sections, as ukify lays them out (bookworm has no ukify): each section at the
//! next page after the one before, so a large kernel can never overlap the initramfs.
//!
//! Written here rather than by `objcopy --add-section`, which took 23 ms for a 2 MiB kernel
//! (it rewrites the whole image through BFD) and stamped the build time into the header. The
//! stub's own sections are kept byte for byte; its COFF symbol table, which objcopy moved to the
//! end and nothing at boot reads, is dropped; the header's timestamp and checksum are zero.

use super::error::{ImageError, io_at};
use super::layout::round_up;
use super::tools::Tools;
use crate::host;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What goes into a UKI, as host paths.
pub struct UkiParts<'a> {
    pub kernel: &'a Path,
    pub initrd: Option<&'a Path>,
    pub osrel: Option<&'a Path>,
    pub cmdline: &'a str,
}

const PAGE: u64 = 4096;
const SECTION_HEADER: usize = 40;
/// IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ, as ukify and objcopy mark these sections.
const DATA_READ_ONLY: u32 = 0x4000_0040;

/// Where a section's bytes come from.
enum Content<'a> {
    Bytes(Vec<u8>),
    File(&'a Path),
}

/// Writes the UKI to `out`.
pub fn build(tools: &dyn Tools, parts: &UkiParts, out: &Path) -> Result<(), ImageError> {
    let stub_path = tools.file(host::EFI_STUB)?;
    let stub = fs_err::read(&stub_path)?;
    let mut sections: Vec<(&'static str, Content, u64)> = Vec::new();
    if let Some(osrel) = parts.osrel {
        let bytes = fs_err::read(osrel)?;
        let len = bytes.len() as u64;
        sections.push((".osrel", Content::Bytes(bytes), len));
    }
    sections.push((
        ".cmdline",
        Content::Bytes(parts.cmdline.as_bytes().to_vec()),
        parts.cmdline.len() as u64,
    ));
    sections.push((".linux", Content::File(parts.kernel), fs_err::metadata(parts.kernel)?.len()));
    if let Some(initrd) = parts.initrd {
        sections.push((".initrd", Content::File(initrd), fs_err::metadata(initrd)?.len()));
    }
    let added: Vec<(&str, u64)> = sections.iter().map(|(name, _, size)| (*name, *size)).collect();
    let layout = extend(&stub, &added).map_err(|why| bad(&stub_path, why))?;
    let mut file = fs_err::File::create(out)?;
    std::io::Write::write_all(&mut file, &layout.head)?;
    for ((_, content, _), at) in sections.iter().zip(&layout.offsets) {
        file.seek(SeekFrom::Start(*at))?;
        match content {
            Content::Bytes(bytes) => std::io::Write::write_all(&mut file, bytes)?,
            Content::File(path) => {
                // Between std's own Files, io::copy is copy_file_range: the kernel's bytes need not
                // pass through here.
                let mut from = fs_err::File::open(path)?;
                std::io::copy(from.file_mut(), file.file_mut()).map_err(|e| io_at("copying", path, e))?;
            }
        }
    }
    file.set_len(layout.len)?;
    Ok(())
}

/// The stub extended with new sections: the bytes up to where the first new section starts
/// (headers and the stub's own sections), each new section's file offset, and the file length.
/// Gaps are zeros.
#[derive(Debug)]
struct Extended {
    head: Vec<u8>,
    offsets: Vec<u64>,
    len: u64,
}

fn extend(stub: &[u8], added: &[(&str, u64)]) -> Result<Extended, String> {
    let pe = parse(stub)?;
    let count = usize::from(read_u16(stub, pe.coff + 2)?);
    let table = pe.optional + usize::from(read_u16(stub, pe.coff + 16)?);
    let image_base = read_u64(stub, pe.optional + 24)?;
    let section_align = u64::from(read_u32(stub, pe.optional + 32)?);
    let file_align = u64::from(read_u32(stub, pe.optional + 36)?);
    let headers = u64::from(read_u32(stub, pe.optional + 60)?);
    if !section_align.is_power_of_two() || !file_align.is_power_of_two() {
        return Err("section or file alignment is not a power of two".into());
    }
    let mut raw_end = headers;
    let mut first_rva = u64::MAX;
    for i in 0..count {
        let s = table + i * SECTION_HEADER;
        let (rva, raw_size, raw_at) =
            (read_u32(stub, s + 12)?, read_u32(stub, s + 16)?, read_u32(stub, s + 20)?);
        first_rva = first_rva.min(u64::from(rva));
        if raw_size > 0 {
            raw_end = raw_end.max(u64::from(raw_at) + u64::from(raw_size));
        }
    }
    if raw_end > stub.len() as u64 {
        return Err(format!("truncated PE image: its sections end at {raw_end:#x}, past the end"));
    }
    // The section table grows into the header's padding; when that is too small, the stub's
    // sections move down in the file by whole file-alignment units (their addresses stay).
    let table_end = (table + (count + added.len()) * SECTION_HEADER) as u64;
    let new_headers = headers.max(round_up(table_end, file_align));
    if new_headers > first_rva {
        return Err(format!("no room for {} more section headers before the first section", added.len()));
    }
    let shift = new_headers - headers;
    let mut head = vec![0u8; new_headers as usize];
    head[..headers as usize].copy_from_slice(&stub[..headers as usize]);
    head.extend_from_slice(&stub[headers as usize..raw_end as usize]);
    for i in 0..count {
        let at = table + i * SECTION_HEADER + 20;
        let raw_at = read_u32(&head, at)?;
        if raw_at != 0 {
            put_u32(&mut head, at, to_u32(u64::from(raw_at) + shift)?);
        }
    }
    let mut vma = round_up(image_end(stub)?, PAGE);
    let mut file_at = round_up(raw_end + shift, file_align);
    let mut image_size = 0;
    let mut initialized = u64::from(read_u32(stub, pe.optional + 8)?);
    let mut offsets = Vec::new();
    for (i, &(name, size)) in added.iter().enumerate() {
        if name.len() > 8 {
            return Err(format!("section name `{name}` is longer than 8 bytes"));
        }
        let raw_size = round_up(size, file_align);
        let rva = vma - image_base;
        let s = table + (count + i) * SECTION_HEADER;
        head[s..s + 8].fill(0);
        head[s..s + name.len()].copy_from_slice(name.as_bytes());
        put_u32(&mut head, s + 8, to_u32(size)?);
        put_u32(&mut head, s + 12, to_u32(rva)?);
        put_u32(&mut head, s + 16, to_u32(raw_size)?);
        put_u32(&mut head, s + 20, to_u32(file_at)?);
        head[s + 24..s + 36].fill(0);
        put_u32(&mut head, s + 36, DATA_READ_ONLY);
        offsets.push(file_at);
        image_size = round_up(rva + size.max(1), section_align);
        initialized += raw_size;
        file_at += raw_size;
        vma = round_up(vma + size.max(1), PAGE);
    }
    let count = u16::try_from(count + added.len()).map_err(|_| "too many sections".to_string())?;
    head[pe.coff + 2..pe.coff + 4].copy_from_slice(&count.to_le_bytes());
    put_u32(&mut head, pe.coff + 4, 0); // TimeDateStamp
    put_u32(&mut head, pe.coff + 8, 0); // PointerToSymbolTable
    put_u32(&mut head, pe.coff + 12, 0); // NumberOfSymbols
    put_u32(&mut head, pe.optional + 8, to_u32(initialized)?);
    if image_size > 0 {
        put_u32(&mut head, pe.optional + 56, to_u32(image_size)?);
    }
    put_u32(&mut head, pe.optional + 60, to_u32(new_headers)?);
    put_u32(&mut head, pe.optional + 64, 0); // CheckSum
    // A signature over the stub would not cover the new sections, and its certificate table lies
    // past the sections, where nothing is kept: the security directory (entry 4) goes too.
    let number_of_dirs = read_u32(stub, pe.optional + 108)?;
    if number_of_dirs > 4 {
        head[pe.optional + 144..pe.optional + 152].fill(0);
    }
    Ok(Extended { head, offsets, len: file_at })
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn to_u32(value: u64) -> Result<u32, String> {
    u32::try_from(value).map_err(|_| format!("{value:#x} does not fit a 32-bit PE field"))
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

    /// A minimal PE32+ image with two sections (raw data at 0x200 and 0x400), stamped with a
    /// time, a checksum and a symbol table after its sections.
    fn tiny_pe() -> Vec<u8> {
        let mut b = vec![0u8; 0x640];
        b[0..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        b[0x80..0x84].copy_from_slice(b"PE\0\0");
        let coff = 0x84;
        b[coff + 2..coff + 4].copy_from_slice(&2u16.to_le_bytes());
        put_u32(&mut b, coff + 4, 0x6553_f100);
        put_u32(&mut b, coff + 8, 0x600);
        put_u32(&mut b, coff + 12, 3);
        b[coff + 16..coff + 18].copy_from_slice(&0xf0u16.to_le_bytes());
        let opt = coff + 20;
        b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        put_u32(&mut b, opt + 8, 0x200);
        put_u32(&mut b, opt + 32, 0x200);
        put_u32(&mut b, opt + 36, 0x200);
        put_u32(&mut b, opt + 56, 0x19300);
        put_u32(&mut b, opt + 60, 0x200);
        put_u32(&mut b, opt + 64, 0x1aa6c);
        let table = opt + 0xf0;
        for (i, (addr, size, raw)) in
            [(0x4000u32, 0x1f0u32, 0x200u32), (0x19100, 0x34, 0x400)].iter().enumerate()
        {
            let s = table + i * 40;
            put_u32(&mut b, s + 8, *size);
            put_u32(&mut b, s + 12, *addr);
            put_u32(&mut b, s + 16, 0x200);
            put_u32(&mut b, s + 20, *raw);
            b[*raw as usize..(*raw + *size) as usize].fill(i as u8 + 1);
        }
        b
    }

    /// (name, virtual size, RVA, raw size, raw offset) of every section of `pe`.
    fn sections(pe: &[u8]) -> Vec<(String, u32, u32, u32, u32)> {
        let (coff, opt) = (0x84, 0x98);
        let count = read_u16(pe, coff + 2).unwrap() as usize;
        (0..count)
            .map(|i| {
                let s = opt + 0xf0 + i * 40;
                let name = String::from_utf8_lossy(&pe[s..s + 8]).trim_end_matches('\0').to_string();
                let f = |at| read_u32(pe, s + at).unwrap();
                (name, f(8), f(12), f(16), f(20))
            })
            .collect()
    }

    #[test]
    fn stub_end_is_the_end_of_its_last_section() {
        assert_eq!(image_end(&tiny_pe()).unwrap(), 0x19134);
    }

    #[test]
    fn sections_are_page_aligned_after_the_stub_and_never_overlap() {
        let added = [(".osrel", 100), (".cmdline", 30), (".linux", 0x1001), (".initrd", 5)];
        let x = extend(&tiny_pe(), &added).unwrap();
        let s = sections(&x.head);
        let rvas: Vec<u32> = s[2..].iter().map(|s| s.2).collect();
        assert_eq!(rvas, [0x1a000, 0x1b000, 0x1c000, 0x1e000]);
        assert_eq!(s[4], (".linux".to_string(), 0x1001, 0x1c000, 0x1200, x.offsets[2] as u32));
        // Raw data follows the stub's, file-aligned and in order; the file ends after the last.
        assert_eq!(x.offsets, [0x800, 0xa00, 0xc00, 0x1e00]);
        assert_eq!(x.len, 0x2000);
        assert_eq!(read_u32(&x.head, 0x98 + 56).unwrap(), 0x1e200, "SizeOfImage");
        assert_eq!(read_u32(&x.head, 0x98 + 8).unwrap(), 0x200 + 0x200 * 3 + 0x1200, "initialized data");
    }

    #[test]
    fn a_full_header_moves_the_stub_sections_down_keeping_their_bytes() {
        // Two headers at 0x188 fill the 0x200-byte header with four more: it grows to 0x400.
        let x = extend(&tiny_pe(), &[(".osrel", 1), (".cmdline", 1), (".linux", 1), (".initrd", 1)]).unwrap();
        assert_eq!(read_u32(&x.head, 0x98 + 60).unwrap(), 0x400, "SizeOfHeaders");
        let s = sections(&x.head);
        assert_eq!((s[0].4, s[1].4), (0x400, 0x600));
        assert!(x.head[0x400..0x5f0].iter().all(|&b| b == 1));
        assert!(x.head[0x600..0x634].iter().all(|&b| b == 2));
        let unshifted = extend(&tiny_pe(), &[(".linux", 1)]).unwrap();
        assert_eq!(sections(&unshifted.head)[0].4, 0x200);
    }

    #[test]
    fn timestamp_checksum_and_symbol_table_are_cleared() {
        let x = extend(&tiny_pe(), &[(".linux", 1)]).unwrap();
        for (at, what) in [(0x88, "time"), (0x8c, "symbols"), (0x90, "symbol count"), (0x98 + 64, "checksum")]
        {
            assert_eq!(read_u32(&x.head, at).unwrap(), 0, "{what}");
        }
    }

    #[test]
    fn a_signature_of_the_stub_is_dropped() {
        let mut b = tiny_pe();
        put_u32(&mut b, 0x98 + 108, 16); // NumberOfRvaAndSizes
        put_u32(&mut b, 0x98 + 144, 0x600); // the certificate table, after the sections
        put_u32(&mut b, 0x98 + 148, 0x40);
        let x = extend(&b, &[(".linux", 1)]).unwrap();
        assert_eq!(&x.head[0x98 + 144..0x98 + 152], &[0; 8]);
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
        let b = &tiny_pe()[..0x500];
        assert!(
            extend(b, &[(".linux", 1)]).unwrap_err().starts_with("truncated PE image"),
            "sections past the end"
        );
    }

    #[test]
    fn headers_that_cannot_grow_are_refused() {
        let mut b = tiny_pe();
        put_u32(&mut b, 0x188 + 12, 0x200); // the first section mapped right after the header
        let err = extend(&b, &[(".osrel", 1), (".cmdline", 1), (".linux", 1), (".initrd", 1)]).unwrap_err();
        assert_eq!(err, "no room for 4 more section headers before the first section");
    }
}
