//! Where a distfile may be found: a local path (a mirror directory or a `file://` URL) or an
//! `http(s)://` URL.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    Local(PathBuf),
    Http(String),
    Unsupported(String),
}

impl Place {
    /// `<mirror>/<file>` for a mirror given as a directory or a URL.
    pub(crate) fn in_mirror(mirror: &str, file: &str) -> Place {
        if mirror.contains("://") {
            Place::from_url(&format!("{}/{file}", mirror.trim_end_matches('/')))
        } else {
            Place::Local(PathBuf::from(mirror).join(file))
        }
    }

    pub(crate) fn from_url(url: &str) -> Place {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Place::Http(url.to_string())
        } else if let Some(path) = url.strip_prefix("file://") {
            match percent_decode(path) {
                Some(p) if p.starts_with('/') => Place::Local(PathBuf::from(p)),
                _ => Place::Unsupported(url.to_string()),
            }
        } else {
            Place::Unsupported(url.to_string())
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Local(p) => write!(f, "{}", p.display()),
            Place::Http(u) | Place::Unsupported(u) => f.write_str(u),
        }
    }
}

/// Decodes `%XX` escapes in a `file://` URL's path; `None` for a malformed escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_and_urls_map_to_places() {
        let table = [
            (Place::in_mirror("/srv/distfiles", "a.tar.gz"), Place::Local("/srv/distfiles/a.tar.gz".into())),
            (
                Place::in_mirror("http://127.0.0.1:8/d/", "a.tar.gz"),
                Place::Http("http://127.0.0.1:8/d/a.tar.gz".into()),
            ),
            (Place::in_mirror("file:///srv/d", "a.tar.gz"), Place::Local("/srv/d/a.tar.gz".into())),
            (Place::from_url("HTTPS://example.invalid/x"), Place::Http("HTTPS://example.invalid/x".into())),
            (Place::from_url("file:///with%20space/x"), Place::Local("/with space/x".into())),
            (Place::from_url("file://relative/x"), Place::Unsupported("file://relative/x".into())),
            (Place::from_url("file:///bad%zz"), Place::Unsupported("file:///bad%zz".into())),
            (
                Place::from_url("ftp://example.invalid/x"),
                Place::Unsupported("ftp://example.invalid/x".into()),
            ),
        ];
        for (got, expected) in table {
            assert_eq!(got, expected);
        }
    }
}
