//! sha256 of streams and files, computed while the bytes pass through, for the store, the fetcher
//! and archive verification.

use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Passes reads through, hashing and counting them.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), bytes: 0 }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The lowercase hex sha256 of everything read, and its length.
    pub fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Passes writes through, hashing and counting them.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The inner writer, the lowercase hex sha256 of everything written, and its length.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The lowercase hex sha256 of a file and its length.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut reader = HashingReader::new(fs_err::File::open(path)?);
    io::copy(&mut reader, &mut io::sink())
        .map_err(|e| io::Error::new(e.kind(), format!("reading {}: {e}", path.display())))?;
    Ok(reader.finish())
}

/// Whether `s` is a sha256 as ingot writes them: 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn reader_and_writer_hash_what_passes_through() {
        let mut r = HashingReader::new(&b"abc"[..]);
        let mut out = Vec::new();
        io::copy(&mut r, &mut out).unwrap();
        assert_eq!(r.finish(), (ABC.to_string(), 3));

        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"abc").unwrap();
        let (inner, sha, n) = w.finish();
        assert_eq!((inner.as_slice(), sha.as_str(), n), (&b"abc"[..], ABC, 3));
    }

    #[test]
    fn file_hash_matches_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(sha256_file(&path).unwrap(), (EMPTY.to_string(), 0));
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = sha256_file(Path::new("/nonexistent/ingot-file")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ingot-file"), "{err}");
    }

    #[test]
    fn only_lowercase_64_digit_hex_is_a_sha256() {
        assert!(is_sha256_hex(ABC));
        assert!(!is_sha256_hex(&ABC.to_uppercase()));
        assert!(!is_sha256_hex(&ABC[1..]));
        assert!(!is_sha256_hex(&format!("{}g", &ABC[1..])));
    }
}
