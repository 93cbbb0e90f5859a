//! Small binary packages for the stage tests: a DESTDIR built by a closure, stored in a temporary
//! store through `Store::insert`, exactly as a build leaves them.
#![allow(dead_code)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use ingot::key::BuildKey;
use ingot::stage::{DeviceNode, NodeKind};
use ingot::store::{Binpkg, PackageMeta, Store};

pub struct Packages {
    pub tmp: tempfile::TempDir,
    pub store: Store,
    next_key: u8,
}

impl Packages {
    pub fn new() -> Packages {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        Packages { tmp, store, next_key: 1 }
    }

    /// A fresh path for a staging root.
    pub fn dest(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    /// Packages `app-misc/<name>-1` from the tree `fill` builds.
    pub fn make(&mut self, name: &str, fill: impl FnOnce(&Dest)) -> Binpkg {
        self.make_with(name, fill, |_| {})
    }

    /// As `make`, with `tweak` setting owners, device nodes or other metadata.
    pub fn make_with(
        &mut self,
        name: &str,
        fill: impl FnOnce(&Dest),
        tweak: impl FnOnce(&mut PackageMeta),
    ) -> Binpkg {
        let destdir = self.tmp.path().join(format!("destdir-{}", self.next_key));
        std::fs::create_dir_all(&destdir).unwrap();
        fill(&Dest(destdir.clone()));
        let mut meta = PackageMeta {
            atom: format!("app-misc/{name}"),
            version: "1".into(),
            slot: "0".into(),
            features: vec!["ipv6".into(), "static".into()],
            source_date_epoch: 1_700_000_000,
            ..PackageMeta::default()
        };
        tweak(&mut meta);
        let key = BuildKey::from_bytes([self.next_key; 32]);
        self.next_key += 1;
        self.store.insert(&key, &destdir, meta).unwrap()
    }
}

/// A DESTDIR being filled.
pub struct Dest(pub PathBuf);

impl Dest {
    pub fn dir(&self, path: &str, mode: u32) -> &Self {
        let p = self.0.join(path);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    pub fn file(&self, path: &str, body: &str, mode: u32) -> &Self {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    pub fn copy(&self, path: &str, from: &Path, mode: u32) -> &Self {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(from, &p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
        self
    }

    pub fn hardlink(&self, path: &str, to: &str) -> &Self {
        std::fs::hard_link(self.0.join(to), self.0.join(path)).unwrap();
        self
    }
}

pub fn char_device(major: u32, minor: u32) -> DeviceNode {
    DeviceNode { kind: NodeKind::Char, major, minor }
}

pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The sha256 of `text`, lowercase hex.
pub fn sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Every path under `root`, relative, sorted, directories marked with a trailing `/`.
pub fn listing(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if e.file_type().is_dir() { format!("{rel}/") } else { rel }
        })
        .collect();
    out.sort();
    out
}
