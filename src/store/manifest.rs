//! The package manifest (`pkgs/<k[0..2]>/<key>.toml`): what was built, from which inputs, and every
//! entry of the archive with its type, mode, owner, size, hash and link target. The manifest is the
//! package's commit point and the reference every unpack is checked against.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::archive::{EntryKind, EntryRecord};
use crate::key::BuildKey;
use crate::stage::{DeviceNode, EntryMeta, NodeKind};

/// The manifest format this ingot writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub key: BuildKey,
    /// `category/name`.
    pub atom: String,
    pub version: String,
    pub slot: String,
    pub features: Vec<String>,
    pub run_deps: Vec<String>,
    /// Seconds the build phases took (configure, compile, install: the "make time").
    pub build_seconds: f64,
    pub source_date_epoch: u64,
    pub archive_sha256: String,
    pub archive_size: u64,
    /// The inputs the key was computed from, for `ingot explain`.
    pub inputs: BTreeMap<String, String>,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// `category/name-version`, for messages.
    pub fn package(&self) -> String {
        format!("{}-{}", self.atom, self.version)
    }
}

/// One archive entry as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative, `/`-separated, no leading slash.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky, written as an octal string (`"4755"`).
    #[serde(with = "octal")]
    pub mode: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uid: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gid: u32,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Symlink target, or the path a hard link shares its inode with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<u32>,
}

impl From<&EntryRecord> for FileEntry {
    fn from(r: &EntryRecord) -> Self {
        FileEntry {
            path: r.path.clone(),
            kind: r.kind,
            mode: r.mode,
            uid: r.uid,
            gid: r.gid,
            size: r.size,
            sha256: r.sha256.clone(),
            target: r.target.clone(),
            major: r.device.map(|d| d.0),
            minor: r.device.map(|d| d.1),
        }
    }
}

impl FileEntry {
    /// What a staging root must record for this entry beyond the tree itself (an owner other than
    /// root, setuid/setgid/sticky bits, a device node or FIFO), or `None` when the tree says it all.
    pub fn staging_meta(&self) -> Option<EntryMeta> {
        let node = match self.kind {
            EntryKind::Char => Some(NodeKind::Char),
            EntryKind::Block => Some(NodeKind::Block),
            EntryKind::Fifo => Some(NodeKind::Fifo),
            _ => None,
        }
        .map(|kind| DeviceNode {
            kind,
            major: self.major.unwrap_or(0),
            minor: self.minor.unwrap_or(0),
        });
        let special_mode = self.mode & 0o7000 != 0;
        if node.is_none() && !special_mode && self.uid == 0 && self.gid == 0 {
            return None;
        }
        let mode = (special_mode || node.is_some()).then_some(self.mode);
        Some(EntryMeta { uid: self.uid, gid: self.gid, mode, node })
    }

    /// How `observed` (read from the archive) differs from this manifest entry, first difference
    /// only, in words.
    fn difference(&self, observed: &FileEntry) -> Option<String> {
        if observed.kind != self.kind {
            return Some(format!("a {} in the archive but a {} in the manifest", observed.kind, self.kind));
        }
        if observed.mode != self.mode {
            return Some(format!(
                "mode {:04o} in the archive, {:04o} in the manifest",
                observed.mode, self.mode
            ));
        }
        if (observed.uid, observed.gid) != (self.uid, self.gid) {
            return Some(format!(
                "owner {}:{} in the archive, {}:{} in the manifest",
                observed.uid, observed.gid, self.uid, self.gid
            ));
        }
        if observed.size != self.size || observed.sha256 != self.sha256 {
            return Some(format!(
                "content differs: {} bytes with sha256 {} in the archive, {} bytes with sha256 {} in the manifest",
                observed.size,
                observed.sha256.as_deref().unwrap_or("-"),
                self.size,
                self.sha256.as_deref().unwrap_or("-")
            ));
        }
        if observed.target != self.target {
            return Some(format!(
                "target `{}` in the archive, `{}` in the manifest",
                observed.target.as_deref().unwrap_or(""),
                self.target.as_deref().unwrap_or("")
            ));
        }
        if (observed.major, observed.minor) != (self.major, self.minor) {
            return Some("device numbers differ between the archive and the manifest".to_string());
        }
        None
    }
}

/// Checks archive entries, as they are read, against a manifest: each must be listed, match its
/// listing, and appear once; at the end, none may be left unseen.
pub(crate) struct Checker<'m> {
    expected: HashMap<&'m str, &'m FileEntry>,
    seen: HashSet<String>,
    order: &'m [FileEntry],
}

impl<'m> Checker<'m> {
    pub(crate) fn new(manifest: &'m Manifest) -> Self {
        let expected = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
        Checker { expected, seen: HashSet::new(), order: &manifest.files }
    }

    pub(crate) fn check(&mut self, record: &EntryRecord) -> Result<(), String> {
        let Some(expected) = self.expected.get(record.path.as_str()) else {
            return Err("not in the manifest".to_string());
        };
        if !self.seen.insert(record.path.clone()) {
            return Err("appears twice in the archive".to_string());
        }
        match expected.difference(&FileEntry::from(record)) {
            Some(d) => Err(d),
            None => Ok(()),
        }
    }

    /// The first manifest entry the archive did not contain.
    pub(crate) fn first_missing(&self) -> Option<&'m str> {
        self.order.iter().map(|f| f.path.as_str()).find(|p| !self.seen.contains(*p))
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

mod octal {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text = String::deserialize(d)?;
        match u32::from_str_radix(&text, 8) {
            Ok(mode) if mode <= 0o7777 => Ok(mode),
            _ => {
                Err(D::Error::custom(format!("mode `{text}` is not an octal permission (such as \"0755\")")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        Manifest {
            format: FORMAT,
            key: BuildKey::from_bytes([0xab; 32]),
            atom: "sys-apps/busybox".into(),
            version: "1.35.0".into(),
            slot: "0".into(),
            features: vec!["static".into()],
            run_deps: vec![],
            build_seconds: 53.2,
            source_date_epoch: 1_700_000_000,
            archive_sha256: "0".repeat(64),
            archive_size: 10,
            inputs: BTreeMap::from([("cflags".into(), "-O2".into())]),
            files: vec![
                FileEntry {
                    path: "bin".into(),
                    kind: EntryKind::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    size: 0,
                    sha256: None,
                    target: None,
                    major: None,
                    minor: None,
                },
                FileEntry {
                    path: "bin/su".into(),
                    kind: EntryKind::File,
                    mode: 0o4755,
                    uid: 0,
                    gid: 0,
                    size: 3,
                    sha256: Some("1".repeat(64)),
                    target: None,
                    major: None,
                    minor: None,
                },
            ],
        }
    }

    fn record(path: &str, kind: EntryKind, mode: u32) -> EntryRecord {
        EntryRecord {
            path: path.into(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            target: None,
            device: None,
            mtime: 0,
        }
    }

    #[test]
    fn manifest_round_trips_through_toml_with_octal_modes() {
        let m = sample();
        let text = m.to_toml().unwrap();
        assert!(text.contains("mode = \"4755\""), "{text}");
        assert!(!text.contains("uid"), "zero owners are left out:\n{text}");
        assert_eq!(Manifest::parse(&text).unwrap(), m);
    }

    #[test]
    fn unknown_fields_and_bad_modes_are_parse_errors() {
        let text = sample().to_toml().unwrap();
        let err = Manifest::parse(&text.replace("slot =", "colour = \"red\"\nslot =")).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = Manifest::parse(&text.replace("\"4755\"", "\"rwx\"")).unwrap_err();
        assert!(err.to_string().contains("mode `rwx` is not an octal permission"), "{err}");
    }

    #[test]
    fn checker_names_each_kind_of_disagreement() {
        let m = sample();
        let mut c = Checker::new(&m);
        assert_eq!(c.check(&record("etc", EntryKind::Dir, 0o755)), Err("not in the manifest".into()));
        assert_eq!(
            c.check(&record("bin", EntryKind::File, 0o755)),
            Err("a file in the archive but a directory in the manifest".into())
        );
        let mut c = Checker::new(&m);
        assert_eq!(
            c.check(&record("bin", EntryKind::Dir, 0o700)),
            Err("mode 0700 in the archive, 0755 in the manifest".into())
        );
        let mut c = Checker::new(&m);
        let mut su = record("bin/su", EntryKind::File, 0o4755);
        su.size = 3;
        su.sha256 = Some("2".repeat(64));
        let err = c.check(&su).unwrap_err();
        assert!(err.starts_with("content differs: 3 bytes with sha256 222"), "{err}");
        su.sha256 = Some("1".repeat(64));
        su.uid = 1000;
        assert_eq!(c.check(&su), Err("appears twice in the archive".into()));
    }

    #[test]
    fn checker_reports_the_first_entry_never_seen() {
        let m = sample();
        let mut c = Checker::new(&m);
        c.check(&record("bin", EntryKind::Dir, 0o755)).unwrap();
        assert_eq!(c.first_missing(), Some("bin/su"));
    }

    #[test]
    fn staging_meta_carries_owners_special_modes_and_nodes_only() {
        let mut e = sample().files[1].clone();
        assert_eq!(e.staging_meta(), Some(EntryMeta { uid: 0, gid: 0, mode: Some(0o4755), node: None }));
        e.mode = 0o755;
        assert_eq!(e.staging_meta(), None);
        e.uid = 1000;
        assert_eq!(e.staging_meta(), Some(EntryMeta { uid: 1000, gid: 0, mode: None, node: None }));
        let null =
            FileEntry { kind: EntryKind::Char, major: Some(1), minor: Some(3), mode: 0o666, uid: 0, ..e };
        let node = DeviceNode { kind: NodeKind::Char, major: 1, minor: 3 };
        assert_eq!(
            null.staging_meta(),
            Some(EntryMeta { uid: 0, gid: 0, mode: Some(0o666), node: Some(node) })
        );
    }
}
