//! Identifiers derived from the image seed: disk and partition GUIDs, filesystem UUIDs, the ext4
//! hash seed and the FAT serial. Deriving them (instead of letting tools pick random ones) is what
//! makes two builds from the same inputs byte-identical.

use sha2::{Digest, Sha256};
use std::fmt;

/// A GUID/UUID, held in the byte order of its text form (`00112233-4455-…`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid([u8; 16]);

impl Guid {
    /// A version-4-shaped UUID from `sha256(domain ‖ seed ‖ purpose)`. systemd-repart derives its
    /// partition UUIDs the same way (a keyed hash with the v4 bits set), so tools that check the
    /// version field accept them.
    pub fn derive(seed: &[u8; 32], purpose: &str) -> Guid {
        let digest = Sha256::new()
            .chain_update(b"ingot image id v1\0")
            .chain_update(seed)
            .chain_update(purpose.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Guid(bytes)
    }

    pub const fn from_bytes(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }

    /// GPT stores the first three fields little-endian ("mixed-endian").
    pub fn from_gpt_bytes(b: [u8; 16]) -> Guid {
        let mut out = b;
        out[0..4].reverse();
        out[4..6].reverse();
        out[6..8].reverse();
        Guid(out)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.0);
        write!(f, "{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl serde::Serialize for Guid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Every identifier one image needs, derived once from its seed.
#[derive(Debug, Clone)]
pub struct Ids {
    seed: [u8; 32],
}

impl Ids {
    pub fn new(seed: [u8; 32]) -> Ids {
        Ids { seed }
    }

    pub fn disk(&self) -> Guid {
        Guid::derive(&self.seed, "disk")
    }

    pub fn partition(&self, label: &str) -> Guid {
        Guid::derive(&self.seed, &format!("partition {label}"))
    }

    pub fn filesystem(&self, label: &str) -> Guid {
        Guid::derive(&self.seed, &format!("filesystem {label}"))
    }

    pub fn ext4_hash_seed(&self, label: &str) -> Guid {
        Guid::derive(&self.seed, &format!("ext4 hash seed {label}"))
    }

    /// The FAT volume serial, shown by blkid as the filesystem's `UUID=XXXX-XXXX`.
    pub fn fat_serial(&self, label: &str) -> u32 {
        let g = Guid::derive(&self.seed, &format!("fat serial {label}"));
        u32::from_be_bytes([g.0[0], g.0[1], g.0[2], g.0[3]])
    }
}

/// How blkid and `/dev/disk/by-uuid` spell a FAT serial.
pub fn fat_uuid(serial: u32) -> String {
    format!("{:04X}-{:04X}", serial >> 16, serial & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct_per_purpose() {
        let ids = Ids::new([7; 32]);
        assert_eq!(ids.disk(), Ids::new([7; 32]).disk());
        assert_ne!(ids.disk(), Ids::new([8; 32]).disk());
        assert_ne!(ids.partition("root"), ids.partition("esp"));
        assert_ne!(ids.partition("root"), ids.filesystem("root"));
    }

    #[test]
    fn derived_guids_carry_version_4_and_rfc_variant() {
        let text = Ids::new([1; 32]).partition("root").to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4", "{text}");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "{text}");
    }

    #[test]
    fn gpt_byte_order_swaps_the_first_three_fields() {
        let raw =
            [0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b];
        assert_eq!(Guid::from_gpt_bytes(raw).to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    }

    #[test]
    fn fat_uuid_is_two_groups_of_four_hex_digits() {
        assert_eq!(fat_uuid(0x1234_abcd), "1234-ABCD");
    }
}
