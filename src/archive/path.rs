//! Entry paths as archives spell them (`./a//b/`, `/etc/x`, `a/../../b`) turned into checked
//! relative paths, or refused.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::Refusal;

/// A relative path with no empty, `.` or `..` components: it cannot name anything outside the
/// directory it is joined to (symlinks aside, which the writer checks component by component).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelPath(Vec<Vec<u8>>);

impl RelPath {
    /// Checks an entry path; `Ok(None)` is the archive's root itself (`./`).
    pub(crate) fn parse(raw: &[u8]) -> Result<Option<RelPath>, Refusal> {
        if raw.first() == Some(&b'/') {
            return Err(Refusal::AbsolutePath);
        }
        let mut parts = Vec::new();
        for part in raw.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => return Err(Refusal::ParentComponent),
                _ => parts.push(part.to_vec()),
            }
        }
        Ok((!parts.is_empty()).then_some(RelPath(parts)))
    }

    pub(crate) fn components(&self) -> impl Iterator<Item = &OsStr> {
        self.0.iter().map(|c| OsStr::from_bytes(c))
    }

    pub(crate) fn depth(&self) -> usize {
        self.0.len()
    }

    /// The path's first `n` components, for naming the symlink an entry would pass through.
    pub(crate) fn prefix_display(&self, n: usize) -> String {
        String::from_utf8_lossy(&self.0[..n].join(&b'/')).into_owned()
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.prefix_display(self.0.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_normalise_or_are_refused() {
        let table: [(&str, Result<Option<&str>, Refusal>); 9] = [
            ("a/b", Ok(Some("a/b"))),
            ("./a//b/", Ok(Some("a/b"))),
            ("a/./b", Ok(Some("a/b"))),
            ("./", Ok(None)),
            (".", Ok(None)),
            ("/etc/passwd", Err(Refusal::AbsolutePath)),
            ("../x", Err(Refusal::ParentComponent)),
            ("a/../../x", Err(Refusal::ParentComponent)),
            ("a/..", Err(Refusal::ParentComponent)),
        ];
        for (raw, expected) in table {
            let got = RelPath::parse(raw.as_bytes()).map(|p| p.map(|p| p.to_string()));
            assert_eq!(got, expected.map(|p| p.map(str::to_string)), "{raw}");
        }
    }

    #[test]
    fn prefix_names_the_leading_components() {
        let p = RelPath::parse(b"a/b/c").unwrap().unwrap();
        assert_eq!((p.depth(), p.prefix_display(2)), (3, "a/b".to_string()));
    }
}
