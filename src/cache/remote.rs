//! Remote caches and how ingot talks to them. A remote is a directory (a path or `file://` URL) or
//! an `http(s)://` URL served by any static server; pushing over HTTP needs PUT (nginx's WebDAV
//! module with `create_full_put_path on`). The layout mirrors the store's:
//! `pkgs/<k[0..2]>/<key>.{tar.zst,toml,sig}` and `index/<profile>.json`.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::key::BuildKey;

/// Where a remote cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    Dir(PathBuf),
    /// The base URL, without a trailing slash.
    Http(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a cache location: use an http:// or https:// URL, a file:// URL or a directory")]
pub struct BadRemote(pub String);

impl Remote {
    pub fn parse(text: &str) -> Result<Remote, BadRemote> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(Remote::Http(text.trim_end_matches('/').to_string()))
        } else if let Some(path) = text.strip_prefix("file://") {
            Ok(Remote::Dir(PathBuf::from(path)))
        } else if text.is_empty() || text.contains("://") {
            Err(BadRemote(text.to_string()))
        } else {
            Ok(Remote::Dir(PathBuf::from(text)))
        }
    }

    /// The URL or path of the file at `rel` in this remote, for messages.
    pub fn location(&self, rel: &str) -> String {
        match self {
            Remote::Dir(dir) => dir.join(rel).display().to_string(),
            Remote::Http(base) => format!("{base}/{rel}"),
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Dir(dir) => write!(f, "{}", dir.display()),
            Remote::Http(base) => f.write_str(base),
        }
    }
}

/// The remote-relative paths of one package's files.
pub(crate) fn archive_rel(key: &BuildKey) -> String {
    format!("pkgs/{}/{key}.tar.zst", key.prefix())
}

pub(crate) fn manifest_rel(key: &BuildKey) -> String {
    format!("pkgs/{}/{key}.toml", key.prefix())
}

pub(crate) fn sig_rel(key: &BuildKey) -> String {
    format!("pkgs/{}/{key}.sig", key.prefix())
}

pub(crate) fn index_rel(profile: &str) -> String {
    format!("index/{profile}.json")
}

/// A request to a remote that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct TransferError {
    pub location: String,
    pub reason: String,
    /// The remote could not be reached at all (as opposed to answering with an error).
    pub unreachable: bool,
}

/// A readable stream of a remote file and its length, when the remote says.
pub(crate) type Opened = (Box<dyn Read + Send>, Option<u64>);

/// Reads and writes remote files. One per process: its HTTP agent keeps connections alive and is
/// shared by every thread.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    agent: ureq::Agent,
}

impl Transport {
    pub(crate) fn new() -> Transport {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .timeout_per_write(Some(Duration::from_secs(60)))
            .user_agent(concat!("ingot/", env!("CARGO_PKG_VERSION")))
            // Archives are hashed as served.
            .accept_encoding("identity")
            // Parallel substitution keeps one connection per worker alive.
            .max_idle_connections_per_host(32)
            .max_idle_connections(64)
            .input_buffer_size(256 << 10)
            .output_buffer_size(256 << 10)
            .build();
        Transport { agent: ureq::Agent::new_with_config(config) }
    }

    /// The whole file at `rel` if it is at most `limit` bytes; `None` if it is not there.
    pub(crate) fn read_small(
        &self,
        remote: &Remote,
        rel: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, TransferError> {
        let fail = |reason: String| failure(remote, rel, reason);
        let Some((reader, len)) = self.open(remote, rel)? else { return Ok(None) };
        if let Some(len) = len.filter(|&len| len > limit) {
            return Err(fail(format!("{len} bytes, more than the {limit} accepted for this file")));
        }
        let mut bytes = Vec::new();
        reader.take(limit + 1).read_to_end(&mut bytes).map_err(|e| fail(format!("transfer failed: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(fail(format!("more than the {limit} bytes accepted for this file")));
        }
        Ok(Some(bytes))
    }

    /// A stream of the file at `rel`, or `None` if it is not there.
    pub(crate) fn open(&self, remote: &Remote, rel: &str) -> Result<Option<Opened>, TransferError> {
        match remote {
            Remote::Dir(dir) => match std::fs::File::open(dir.join(rel)) {
                Ok(file) => {
                    let len = file.metadata().ok().map(|m| m.len());
                    Ok(Some((Box::new(file), len)))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(failure(remote, rel, e.to_string())),
            },
            Remote::Http(_) => match self.agent.get(remote.location(rel)).call() {
                Ok(response) => {
                    let len = response.body().content_length();
                    Ok(Some((Box::new(response.into_body().into_reader()), len)))
                }
                Err(ureq::Error::StatusCode(404 | 410)) => Ok(None),
                Err(e) => Err(http_failure(remote, rel, e)),
            },
        }
    }

    pub(crate) fn exists(&self, remote: &Remote, rel: &str) -> Result<bool, TransferError> {
        match remote {
            Remote::Dir(dir) => match std::fs::symlink_metadata(dir.join(rel)) {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(failure(remote, rel, e.to_string())),
            },
            Remote::Http(_) => match self.agent.head(remote.location(rel)).call() {
                Ok(_) => Ok(true),
                Err(ureq::Error::StatusCode(404 | 410)) => Ok(false),
                Err(e) => Err(http_failure(remote, rel, e)),
            },
        }
    }

    /// Uploads the local file `from` to `rel`, replacing what is there. Readers never see a part:
    /// a directory remote gets a temporary renamed into place, and nginx does the same with PUT.
    pub(crate) fn put_file(&self, remote: &Remote, rel: &str, from: &Path) -> Result<(), TransferError> {
        let local = |e: io::Error| failure(remote, rel, format!("reading {}: {e}", from.display()));
        match remote {
            Remote::Dir(dir) => {
                let mut source = fs_err::File::open(from).map_err(local)?;
                write_dir_file(&dir.join(rel), &mut source).map_err(|e| failure(remote, rel, e.to_string()))
            }
            Remote::Http(_) => {
                let file = fs_err::File::open(from).map_err(local)?;
                self.put_http(remote, rel, file.file())
            }
        }
    }

    pub(crate) fn put_bytes(&self, remote: &Remote, rel: &str, bytes: &[u8]) -> Result<(), TransferError> {
        match remote {
            Remote::Dir(dir) => write_dir_file(&dir.join(rel), &mut &bytes[..])
                .map_err(|e| failure(remote, rel, e.to_string())),
            Remote::Http(_) => self.put_http(remote, rel, bytes),
        }
    }

    fn put_http(&self, remote: &Remote, rel: &str, body: impl ureq::AsSendBody) -> Result<(), TransferError> {
        match self.agent.put(remote.location(rel)).send(body) {
            Ok(_) => Ok(()),
            Err(ureq::Error::StatusCode(code @ (403 | 405 | 409 | 501))) => Err(failure(
                remote,
                rel,
                format!(
                    "HTTP status {code}: the server does not accept uploads there \
                     (nginx: `dav_methods PUT;` and `create_full_put_path on;` in that location)"
                ),
            )),
            Err(ureq::Error::StatusCode(413)) => Err(failure(
                remote,
                rel,
                "HTTP status 413: the file is larger than the server accepts (nginx: `client_max_body_size 0;`)"
                    .into(),
            )),
            Err(e) => Err(http_failure(remote, rel, e)),
        }
    }
}

/// Writes a world-readable file (a static server's workers must read it) under a temporary name
/// beside `dest`, then renames it into place.
fn write_dir_file(dest: &Path, from: &mut dyn Read) -> io::Result<()> {
    let mut file = crate::fs::AtomicFile::create(dest)?;
    fs_err::set_permissions(file.tmp_path(), std::fs::Permissions::from_mode(0o644))?;
    io::copy(from, file.file()).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dest.display())))?;
    file.commit()
}

fn failure(remote: &Remote, rel: &str, reason: String) -> TransferError {
    TransferError { location: remote.location(rel), reason, unreachable: false }
}

fn http_failure(remote: &Remote, rel: &str, e: ureq::Error) -> TransferError {
    let unreachable = matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(_)
    );
    let reason = match e {
        ureq::Error::StatusCode(code) => format!("HTTP status {code}"),
        other => other.to_string(),
    };
    TransferError { location: remote.location(rel), reason, unreachable }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_are_urls_file_urls_or_directories() {
        assert_eq!(
            Remote::parse("http://127.0.0.1:8080/cache/").unwrap(),
            Remote::Http("http://127.0.0.1:8080/cache".into())
        );
        assert_eq!(
            Remote::parse("HTTPS://c.example.org").unwrap(),
            Remote::Http("HTTPS://c.example.org".into())
        );
        assert_eq!(Remote::parse("file:///srv/cache").unwrap(), Remote::Dir("/srv/cache".into()));
        assert_eq!(Remote::parse("../cache").unwrap(), Remote::Dir("../cache".into()));
        let err = Remote::parse("s3://bucket").unwrap_err().to_string();
        assert_eq!(
            err,
            "`s3://bucket` is not a cache location: use an http:// or https:// URL, a file:// URL or a directory"
        );
        assert!(Remote::parse("").is_err());
    }

    #[test]
    fn package_files_sit_under_their_fan_out_directory() {
        let key = BuildKey::from_bytes([0xab; 32]);
        assert_eq!(archive_rel(&key), format!("pkgs/ab/{key}.tar.zst"));
        assert_eq!(manifest_rel(&key), format!("pkgs/ab/{key}.toml"));
        assert_eq!(sig_rel(&key), format!("pkgs/ab/{key}.sig"));
        assert_eq!(index_rel("amd64-server"), "index/amd64-server.json");
        assert_eq!(Remote::Http("http://h/c".into()).location("pkgs/x"), "http://h/c/pkgs/x");
    }

    #[test]
    fn directory_remote_round_trips_files_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let remote = Remote::Dir(dir.path().to_path_buf());
        let t = Transport::new();
        assert!(!t.exists(&remote, "pkgs/ab/x.toml").unwrap());
        assert_eq!(t.read_small(&remote, "pkgs/ab/x.toml", 10).unwrap(), None);
        t.put_bytes(&remote, "pkgs/ab/x.toml", b"hello").unwrap();
        assert!(t.exists(&remote, "pkgs/ab/x.toml").unwrap());
        assert_eq!(t.read_small(&remote, "pkgs/ab/x.toml", 10).unwrap().unwrap(), b"hello");
        let mode = std::fs::metadata(dir.path().join("pkgs/ab/x.toml")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("pkgs/ab")).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporaries left");
    }

    #[test]
    fn oversized_small_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let remote = Remote::Dir(dir.path().to_path_buf());
        std::fs::write(dir.path().join("big.sig"), [b'x'; 100]).unwrap();
        let err = Transport::new().read_small(&remote, "big.sig", 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: 100 bytes, more than the 10 accepted for this file",
                dir.path().join("big.sig").display()
            )
        );
    }

    #[test]
    fn unreachable_server_is_marked_unreachable() {
        // A port nobody listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let remote = Remote::Http(format!("http://127.0.0.1:{port}"));
        let err = Transport::new().read_small(&remote, "pkgs/ab/x.sig", 10).unwrap_err();
        assert!(err.unreachable, "{err}");
        assert!(err.to_string().starts_with(&format!("http://127.0.0.1:{port}/pkgs/ab/x.sig: ")), "{err}");
    }

    #[test]
    fn upload_errors_name_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pkgs"), b"a file where a directory should be").unwrap();
        let remote = Remote::Dir(dir.path().to_path_buf());
        let err = Transport::new().put_bytes(&remote, "pkgs/ab/x.sig", b"s").unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: ", dir.path().join("pkgs/ab/x.sig").display())), "{err}");
    }
}
