//! Moving one distfile into the distfiles directory: streamed to a temporary name beside its
//! destination while hashed, renamed to its final name only if the sha256 matches, and otherwise
//! kept aside as `<file>.bad` for inspection.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::place::Place;
use crate::archive::hash;
use crate::report::{Event, Reporter};

/// Progress is reported at most once per this many bytes.
const PROGRESS_STEP: u64 = 1 << 20;

pub(crate) enum Present {
    Good,
    Absent,
    Wrong { actual: String, bad: PathBuf },
}

/// Whether `dest` is already there with the right hash; a wrong one is moved to `<file>.bad`.
pub(crate) fn check_present(dest: &Path, sha256: &str) -> io::Result<Present> {
    let actual = match hash::sha256_file(dest) {
        Ok((actual, _)) => actual,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Present::Absent),
        Err(e) => return Err(e),
    };
    if actual == sha256 {
        return Ok(Present::Good);
    }
    let bad = bad_path(dest);
    crate::fs::rename_into_place(dest, &bad)?;
    Ok(Present::Wrong { actual, bad })
}

pub(crate) enum Received {
    Verified,
    /// Not found there, or the transfer failed: the reason, for the error listing every place.
    Failed(String),
    Mismatch {
        actual: String,
        bad: PathBuf,
    },
}

/// Copies the distfile from `place` to `dest` if its sha256 is `sha256`. Errors of the
/// distfiles directory itself are `Err`; everything about `place` is a `Received`.
pub(crate) fn receive(
    agent: &ureq::Agent,
    place: &Place,
    dest: &Path,
    sha256: &str,
    id: &str,
    reporter: &dyn Reporter,
) -> io::Result<Received> {
    let (mut reader, total) = match open(agent, place) {
        Ok(opened) => opened,
        Err(why) => return Ok(Received::Failed(why)),
    };
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    // A download killed halfway left its `.part`; this one replaces it.
    crate::leftovers::sweep(dir, |n| n.starts_with(&prefix) && n.ends_with(".part"))?;
    let (mut tmp, _held) = crate::leftovers::create_held(
        || {
            tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(".part")
                .tempfile_in(dir)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
        },
        |t| t.path(),
    )?;
    let actual = match copy(&mut reader, tmp.as_file_mut(), total, id, reporter)? {
        Ok(actual) => actual,
        Err(why) => return Ok(Received::Failed(why)),
    };
    tmp.as_file().sync_all()?;
    let target = if actual == sha256 { dest.to_path_buf() } else { bad_path(dest) };
    tmp.persist(&target)
        .map_err(|e| io::Error::new(e.error.kind(), format!("{}: {}", target.display(), e.error)))?;
    if actual == sha256 { Ok(Received::Verified) } else { Ok(Received::Mismatch { actual, bad: target }) }
}

/// A reader for `place` and its length if known, or why it cannot be read.
fn open(agent: &ureq::Agent, place: &Place) -> Result<(Box<dyn Read>, Option<u64>), String> {
    match place {
        Place::Local(path) => match std::fs::File::open(path) {
            Ok(f) => {
                let len = f.metadata().ok().map(|m| m.len());
                Ok((Box::new(f), len))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err("not there".to_string()),
            Err(e) => Err(e.to_string()),
        },
        Place::Http(url) => match agent.get(url).call() {
            Ok(response) => {
                let len = response.body().content_length();
                Ok((Box::new(response.into_body().into_reader()), len))
            }
            Err(ureq::Error::StatusCode(code)) => Err(format!("HTTP status {code}")),
            Err(e) => Err(e.to_string()),
        },
        Place::Unsupported(_) => {
            Err("unsupported URL (use http://, https://, file:// or a directory)".to_string())
        }
    }
}

/// Streams `reader` into `out`, hashing and reporting progress. The outer error is the local
/// file's; the inner one, the source's.
fn copy(
    reader: &mut dyn Read,
    out: &mut std::fs::File,
    total: Option<u64>,
    id: &str,
    reporter: &dyn Reporter,
) -> io::Result<Result<String, String>> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let (mut done, mut reported) = (0u64, 0u64);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Ok(Err(format!("transfer failed after {done} bytes: {e}"))),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        done += n as u64;
        if done - reported >= PROGRESS_STEP {
            reporter.event(Event::TaskBytes { id: id.to_string(), done, total });
            reported = done;
        }
    }
    reporter.event(Event::TaskBytes { id: id.to_string(), done, total });
    Ok(Ok(hex::encode(hasher.finalize())))
}

fn bad_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".bad");
    dest.with_file_name(name)
}
