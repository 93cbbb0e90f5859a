//! The guest's serial console as QEMU prints it: copied into the log (and to stdout when asked),
//! watched for the expected text, and summarised as the log's last lines when a boot fails.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

/// What the console reader tells the waiting caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// The expected text appeared.
    Marker,
    /// QEMU closed its output (it is exiting).
    End,
}

/// Finds `needle` in a stream that arrives in chunks, including across chunk boundaries.
pub struct Matcher {
    needle: Vec<u8>,
    carry: Vec<u8>,
}

impl Matcher {
    pub fn new(needle: &str) -> Matcher {
        Matcher { needle: needle.as_bytes().to_vec(), carry: Vec::new() }
    }

    pub fn feed(&mut self, chunk: &[u8]) -> bool {
        if self.needle.is_empty() {
            return true;
        }
        self.carry.extend_from_slice(chunk);
        if self.carry.windows(self.needle.len()).any(|w| w == self.needle) {
            return true;
        }
        let keep = self.carry.len().min(self.needle.len() - 1);
        self.carry.drain(..self.carry.len() - keep);
        false
    }
}

/// Copies `input` into `log` (and stdout if `echo`) until it ends, reporting the marker (once)
/// and the end on `events`.
pub fn pump(
    mut input: impl Read,
    log: Arc<Mutex<fs_err::File>>,
    echo: bool,
    mut matcher: Option<Matcher>,
    events: Option<Sender<Seen>>,
) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Ok(mut log) = log.lock() {
            let _ = log.write_all(&buf[..n]);
        }
        if echo {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&buf[..n]);
            let _ = out.flush();
        }
        if matcher.as_mut().is_some_and(|m| m.feed(&buf[..n])) {
            matcher = None;
            if let Some(tx) = &events {
                let _ = tx.send(Seen::Marker);
            }
        }
    }
    if let Some(tx) = events {
        let _ = tx.send(Seen::End);
    }
}

/// The last `n` lines of the log, without terminal escape sequences and carriage returns
/// (firmware clears the screen with them).
pub fn tail(log: &Path, n: usize) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let text = strip_escapes(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_split_across_chunks_is_found() {
        let mut m = Matcher::new("ingot-boot-ok");
        assert!(!m.feed(b"booting... ingot-bo"));
        assert!(m.feed(b"ot-ok host\n"));
    }

    #[test]
    fn text_without_the_marker_never_matches() {
        let mut m = Matcher::new("ingot-boot-ok");
        for chunk in [&b"ingot-boot-o"[..], b"k"] {
            let _ = m.feed(b"\n");
            assert!(!m.feed(chunk));
        }
    }

    #[test]
    fn tail_keeps_the_last_lines_without_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let text: String = (1..=40).map(|i| format!("\x1b[2J\x1b[01;01Hline {i}\r\n")).collect();
        std::fs::write(&log, text).unwrap();
        let t = tail(&log, 30);
        assert!(t.starts_with("line 11\nline 12\n"), "{t}");
        assert!(t.ends_with("line 40"), "{t}");
    }

    #[test]
    fn pump_logs_everything_and_reports_marker_then_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let log = Arc::new(Mutex::new(fs_err::File::create(&path).unwrap()));
        let (tx, rx) = std::sync::mpsc::channel();
        let input: &[u8] = b"firmware\nhello marker\nbye\n";
        pump(input, log, false, Some(Matcher::new("marker")), Some(tx));
        assert_eq!(rx.iter().collect::<Vec<_>>(), [Seen::Marker, Seen::End]);
        assert_eq!(std::fs::read(&path).unwrap(), input);
    }
}
