//! Decompression-bomb guard: counts the compressed bytes the decoder consumes and the bytes it
//! produces, and fails the stream once the ratio between them passes the limit.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::{Limits, Refusal};

/// Shared between the two ends of the decoder: compressed bytes in, and the refusal once tripped.
#[derive(Clone, Default)]
pub(crate) struct Tripwire(Rc<TripState>);

#[derive(Default)]
pub(crate) struct TripState {
    compressed: Cell<u64>,
    tripped: Cell<Option<(u64, u64, u64)>>,
}

impl Tripwire {
    /// The refusal, if the guard stopped the stream (the I/O error the tar reader then reports
    /// says less than this).
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        self.0.tripped.get().map(|(limit, out, compressed)| Refusal::Ratio { limit, out, compressed })
    }
}

/// Counts bytes read from the compressed file.
pub(crate) struct CountingReader<R> {
    inner: R,
    wire: Tripwire,
}

impl<R> CountingReader<R> {
    pub(crate) fn new(inner: R, wire: Tripwire) -> Self {
        CountingReader { inner, wire }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let c = &self.wire.0.compressed;
        c.set(c.get() + n as u64);
        Ok(n)
    }
}

/// Wraps the decoder's output and stops it when the ratio passes the limit.
pub(crate) struct RatioGuard<R> {
    inner: R,
    wire: Tripwire,
    out: u64,
    max_ratio: u64,
    after: u64,
}

impl<R> RatioGuard<R> {
    pub(crate) fn new(inner: R, limits: &Limits, wire: Tripwire) -> Self {
        RatioGuard { inner, wire, out: 0, max_ratio: limits.max_ratio, after: limits.ratio_after_bytes }
    }
}

impl<R: Read> Read for RatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let compressed = self.wire.0.compressed.get();
        if self.out > self.after && self.out > compressed.saturating_mul(self.max_ratio) {
            self.wire.0.tripped.set(Some((self.max_ratio, self.out, compressed)));
            return Err(io::Error::other(format!("decompression ratio over {}:1", self.max_ratio)));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_ratio: u64, after: u64) -> Limits {
        Limits { max_ratio, ratio_after_bytes: after, ..Limits::default() }
    }

    #[test]
    fn guard_trips_when_output_outgrows_input() {
        let wire = Tripwire::default();
        let input = CountingReader::new(&[0u8; 10][..], wire.clone());
        // A "decoder" that turns each input byte into 100 output bytes.
        struct Expand<R>(R);
        impl<R: Read> Read for Expand<R> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let mut one = [0u8; 1];
                match self.0.read(&mut one)? {
                    0 => Ok(0),
                    _ => {
                        let n = buf.len().min(100);
                        buf[..n].fill(0);
                        Ok(n)
                    }
                }
            }
        }
        let mut guard = RatioGuard::new(Expand(input), &limits(10, 50), wire.clone());
        let err = io::copy(&mut guard, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("10:1"), "{err}");
        assert_eq!(wire.refusal(), Some(Refusal::Ratio { limit: 10, out: 100, compressed: 1 }));
    }

    #[test]
    fn guard_lets_small_outputs_through_whatever_their_ratio() {
        let wire = Tripwire::default();
        let input = CountingReader::new(&[1u8; 1][..], wire.clone());
        let mut guard = RatioGuard::new(input.chain(&[0u8; 99][..]), &limits(10, 1000), wire.clone());
        assert_eq!(io::copy(&mut guard, &mut io::sink()).unwrap(), 100);
        assert_eq!(wire.refusal(), None);
    }
}
