//! Build keys: a sha256 over everything that can change a package's output (DESIGN.md, "The build
//! key"). Two builds with the same key produce interchangeable packages.

mod compute;

pub use compute::{
    DEFAULT_SOURCE_DATE_EPOCH, Environment, Inputs, KeyError, KeyedPlan, compute, diff, key_of, sha256_hex,
    tree_hash,
};

use std::fmt;
use std::str::FromStr;

/// The hash naming a binary package in the store: 32 bytes, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildKey([u8; 32]);

impl BuildKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        BuildKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The store's fan-out directory: the first two hex digits.
    pub fn prefix(&self) -> String {
        hex::encode(&self.0[..1])
    }
}

impl fmt::Display for BuildKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for BuildKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuildKey({self})")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid build key `{0}`: expected 64 lowercase hex digits")]
pub struct BadKey(String);

impl FromStr for BuildKey {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        let bad = || BadKey(s.chars().take(80).collect());
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
        Ok(BuildKey(out))
    }
}

impl serde::Serialize for BuildKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for BuildKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips_through_hex() {
        let k = BuildKey::from_bytes([0xab; 32]);
        let s = k.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<BuildKey>(), Ok(k));
        assert_eq!(k.prefix(), "ab");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", "ab", &"g".repeat(64), &"AB".repeat(32), &"a".repeat(65)] {
            assert!(bad.parse::<BuildKey>().is_err(), "{bad}");
        }
    }
}
