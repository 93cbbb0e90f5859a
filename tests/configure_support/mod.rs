//! A small staged tree (baselayout-like accounts, two init scripts, one zone file) and a profile
//! written next to it, for the configure tests.
#![allow(dead_code)]

use ingot::configure::{ConfigureError, ConfigureInputs, FstabEntry, OsRelease, Report, configure};
use ingot::profile::Profile;
use ingot::stage::{EntryMeta, StagingRoot};
use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

pub const SOURCE_DATE_EPOCH: u64 = 1_700_000_000;
pub const SEED: [u8; 32] = [42; 32];

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: StagingRoot,
    pub seed: [u8; 32],
}

impl Fixture {
    /// A staged tree as packages would leave it.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root_dir = dir.path().join("root");
        let put = |path: &str, text: &str, mode: u32| {
            let p = root_dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        put(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\nnobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\n",
            0o644,
        );
        put(
            "etc/group",
            "root:x:0:root\nbin:x:1:root,bin\nwheel:x:10:root\nusers:x:100:\nnogroup:x:65534:\n",
            0o644,
        );
        put("etc/shadow", "root:*:10770:0:::::\nbin:*:10770:0:::::\nnobody:*:10770:0:::::\n", 0o600);
        put("etc/init.d/syslogd", "#!/bin/sh\n", 0o755);
        put("etc/init.d/dropbear", "#!/bin/sh\n", 0o755);
        put("etc/init.d/notexec", "#!/bin/sh\n", 0o644);
        put("usr/share/zoneinfo/Europe/Paris", "TZif2", 0o644);
        std::fs::create_dir_all(root_dir.join("etc/runlevels/default")).unwrap();
        symlink("/etc/init.d/stale", root_dir.join("etc/runlevels/default/stale")).unwrap();
        Fixture { root: StagingRoot { dir: root_dir, entries: BTreeMap::new() }, dir, seed: SEED }
    }

    /// Writes `profiles/test/profile.toml` (and files beside it) and loads it.
    pub fn profile(&self, toml: &str, beside: &[(&str, &str)]) -> Profile {
        let pdir = self.dir.path().join("profiles/test");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::write(pdir.join("profile.toml"), toml).unwrap();
        for (name, text) in beside {
            std::fs::write(pdir.join(name), text).unwrap();
        }
        match ingot::profile::load(&self.dir.path().join("profiles"), "test") {
            Ok(p) => p,
            Err(d) => panic!("profile did not load:\n{d}"),
        }
    }

    pub fn configure(&mut self, profile: &Profile) -> Result<Report, ConfigureError> {
        let fstab = [FstabEntry {
            spec: "PARTUUID=0f0e0d0c-0b0a-4908-8706-050403020100".into(),
            mountpoint: "/".into(),
            fstype: "ext4".into(),
            options: "rw,noatime".into(),
            dump: 0,
            pass: 1,
        }];
        let os = OsRelease {
            name: "ingot".into(),
            id: "ingot".into(),
            version_id: "0.1".into(),
            pretty_name: "ingot 0.1".into(),
            image_id: profile.name.clone(),
            build_id: "7".into(),
        };
        let inputs = ConfigureInputs {
            system: &profile.system,
            fstab: &fstab,
            os_release: &os,
            source_date_epoch: SOURCE_DATE_EPOCH,
            seed: self.seed,
            profile_name: &profile.name,
        };
        configure(&mut self.root, &inputs)
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.dir.join(path)).unwrap()
    }

    pub fn entry(&self, path: &str) -> EntryMeta {
        match self.root.entries.get(path) {
            Some(e) => *e,
            None => {
                panic!("no entry for {path}; entries: {:?}", self.root.entries.keys().collect::<Vec<_>>())
            }
        }
    }

    /// Every path of the tree with its kind, mode and content (or link target).
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        walkdir::WalkDir::new(&self.root.dir)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .map(|e| {
                let rel = e.path().strip_prefix(&self.root.dir).unwrap().to_string_lossy().into_owned();
                (rel, describe(e.path()))
            })
            .collect()
    }
}

fn describe(path: &Path) -> String {
    let m = std::fs::symlink_metadata(path).unwrap();
    let mode = m.permissions().mode() & 0o7777;
    if m.is_symlink() {
        format!("link -> {}", std::fs::read_link(path).unwrap().display())
    } else if m.is_dir() {
        format!("dir {mode:o}")
    } else {
        format!("file {mode:o} {:?}", std::fs::read(path).unwrap())
    }
}

/// The diagnostic's `path:line:col: message`, with the temporary directory cut off.
pub fn headline(e: &ConfigureError) -> String {
    let h = e.diagnostic().headline();
    match h.find("profiles/test/") {
        Some(i) => h[i..].to_string(),
        None => h,
    }
}
