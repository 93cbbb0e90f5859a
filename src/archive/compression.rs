//! Recognises an archive's compression by its magic bytes (never only by its name: a `.tar.gz`
//! that is really xz still extracts) and opens the matching decoder.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::Limits;
use super::guard::{CountingReader, RatioGuard, Tripwire};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Compression {
    /// The compression whose magic number starts `head`; anything else is read as a plain tar.
    pub fn detect(head: &[u8]) -> Compression {
        const MAGIC: [(&[u8], Compression); 4] = [
            (&[0x1f, 0x8b], Compression::Gzip),
            (b"BZh", Compression::Bzip2),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
        ];
        MAGIC.iter().find(|(magic, _)| head.starts_with(magic)).map_or(Compression::None, |(_, c)| *c)
    }
}

/// The decompressed tar stream of `path`, guarded by the ratio limit, and what tripped the guard
/// if it trips.
pub(crate) fn open(path: &Path, limits: &Limits) -> io::Result<(Box<dyn Read>, Compression, Tripwire)> {
    let mut file = BufReader::with_capacity(64 << 10, fs_err::File::open(path)?);
    let compression = Compression::detect(file.fill_buf()?);
    let tripwire = Tripwire::default();
    if compression == Compression::None {
        return Ok((Box::new(file), compression, tripwire));
    }
    let counted = CountingReader::new(file, tripwire.clone());
    let decoder: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(counted)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(counted)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(counted)?),
        Compression::None => unreachable!("handled above"),
    };
    Ok((Box::new(RatioGuard::new(decoder, limits, tripwire.clone())), compression, tripwire))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide_the_compression() {
        let table: [(&[u8], Compression); 6] = [
            (&[0x1f, 0x8b, 8, 0], Compression::Gzip),
            (b"BZh91AY", Compression::Bzip2),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0, 0], Compression::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0], Compression::Zstd),
            (b"busybox-1.35.0/\0\0\0", Compression::None),
            (b"", Compression::None),
        ];
        for (head, expected) in table {
            assert_eq!(Compression::detect(head), expected, "{head:?}");
        }
    }
}
