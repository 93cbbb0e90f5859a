//! Profile indexes: `index/<profile>.json` on a remote lists the keys one profile's plan needs, so
//! a single cache serves a matrix of hardware profiles and a client can see at once what it will
//! find. An index is a hint, never trusted: every package it names is still verified by its own
//! signature.

use serde::{Deserialize, Serialize};

use crate::key::BuildKey;

/// The index format this ingot writes and reads.
pub const INDEX_FORMAT: u32 = 1;

/// The longest profile name an index is written for.
const MAX_PROFILE: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileIndex {
    pub format: u32,
    pub profile: String,
    /// Sorted, without duplicates.
    pub keys: Vec<BuildKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error(
        "`{0}` cannot name a profile index: use letters, digits, `.`, `-` or `_`, \
         not starting with `.` (the index is written as index/<profile>.json)"
    )]
    BadProfileName(String),
    #[error("the profile index does not parse: {0}")]
    Parse(String),
    #[error("the profile index has format {0} (this ingot reads {INDEX_FORMAT})")]
    UnsupportedFormat(u32),
}

impl ProfileIndex {
    pub fn new(profile: &str, keys: &[BuildKey]) -> Result<ProfileIndex, IndexError> {
        check_profile_name(profile)?;
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        Ok(ProfileIndex { format: INDEX_FORMAT, profile: profile.to_string(), keys })
    }

    pub fn parse(text: &[u8]) -> Result<ProfileIndex, IndexError> {
        let index: ProfileIndex =
            serde_json::from_slice(text).map_err(|e| IndexError::Parse(e.to_string()))?;
        if index.format != INDEX_FORMAT {
            return Err(IndexError::UnsupportedFormat(index.format));
        }
        Ok(index)
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serialises.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A profile name that is safe as one path component of the remote.
pub(crate) fn check_profile_name(name: &str) -> Result<(), IndexError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PROFILE
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok { Ok(()) } else { Err(IndexError::BadProfileName(name.chars().take(MAX_PROFILE + 8).collect())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> BuildKey {
        BuildKey::from_bytes([n; 32])
    }

    #[test]
    fn index_lists_each_key_once_in_order_and_round_trips() {
        let index = ProfileIndex::new("amd64-server", &[key(2), key(1), key(2)]).unwrap();
        assert_eq!(index.keys, [key(1), key(2)]);
        let text = index.to_json();
        assert!(text.contains("\"profile\": \"amd64-server\""), "{text}");
        assert_eq!(ProfileIndex::parse(text.as_bytes()).unwrap(), index);
    }

    #[test]
    fn profile_names_that_are_not_one_path_component_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            let err = ProfileIndex::new(bad, &[]).unwrap_err().to_string();
            assert!(err.contains("cannot name a profile index"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn foreign_or_future_indexes_are_refused() {
        let err = ProfileIndex::parse(b"{\"format\": 2, \"profile\": \"p\", \"keys\": []}").unwrap_err();
        assert_eq!(err.to_string(), "the profile index has format 2 (this ingot reads 1)");
        let err = ProfileIndex::parse(b"{\"keys\": [\"xyz\"]}").unwrap_err().to_string();
        assert!(err.starts_with("the profile index does not parse: "), "{err}");
    }
}
