//! Store behaviour: insert, verified lookup, unpack against the manifest, quarantine, verify, gc.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::archive::EntryKind;
use crate::report::Recorder;
use crate::stage::{DeviceNode, NodeKind};

const SDE: u64 = 1_700_000_000;

fn key(n: u8) -> BuildKey {
    BuildKey::from_bytes([n; 32])
}

fn meta() -> PackageMeta {
    PackageMeta {
        atom: "sys-apps/busybox".into(),
        version: "1.35.0".into(),
        slot: "0".into(),
        features: vec!["static".into()],
        run_deps: vec!["sys-libs/musl".into()],
        inputs: BTreeMap::from([("cflags".into(), "-O2".into())]),
        build_seconds: 1.5,
        source_date_epoch: SDE,
        ..PackageMeta::default()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    recorder: Arc<Recorder>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Arc::new(Recorder::default());
        let store = Store::open(&dir.path().join("store")).unwrap().with_reporter(recorder.clone());
        Fixture { dir, store, recorder }
    }

    /// A small DESTDIR: a directory, a setuid binary, a hard link, symlinks.
    fn destdir(&self, name: &str) -> PathBuf {
        let d = self.dir.path().join(name);
        std::fs::create_dir_all(d.join("bin")).unwrap();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(d.join("bin/busybox"), b"\x7fELF busybox").unwrap();
        std::fs::set_permissions(d.join("bin/busybox"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::fs::hard_link(d.join("bin/busybox"), d.join("bin/su")).unwrap();
        std::os::unix::fs::symlink("busybox", d.join("bin/sh")).unwrap();
        std::os::unix::fs::symlink("../etc/", d.join("bin/etc-dir")).unwrap();
        std::fs::write(d.join("etc/motd"), b"hello\n").unwrap();
        d
    }

    fn insert(&self, k: BuildKey) -> Binpkg {
        let d = self.destdir(&format!("destdir-{k}"));
        self.store.insert(&k, &d, meta()).unwrap()
    }

    /// Rewrites a stored manifest through `edit`, keeping the archive hash consistent, so only
    /// the entry-level checks can catch the change.
    fn edit_manifest(&self, k: &BuildKey, edit: impl FnOnce(&mut Manifest)) {
        let path = self.store.manifest_path(k);
        let mut m = Manifest::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut m);
        std::fs::write(&path, m.to_toml().unwrap()).unwrap();
    }
}

fn entry<'a>(files: &'a [FileEntry], path: &str) -> &'a FileEntry {
    files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("no {path} in {files:#?}"))
}

#[test]
fn inserted_package_is_found_verified_with_its_metadata() {
    let f = Fixture::new();
    let stored = f.insert(key(1));
    let got = f.store.get(&key(1)).unwrap().unwrap();
    assert_eq!(got, stored);
    let m = &got.manifest;
    assert_eq!((m.atom.as_str(), m.version.as_str(), m.slot.as_str()), ("sys-apps/busybox", "1.35.0", "0"));
    assert_eq!(m.inputs["cflags"], "-O2");
    assert_eq!(m.archive_size, std::fs::metadata(&got.archive).unwrap().len());
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["bin", "bin/busybox", "bin/etc-dir", "bin/sh", "bin/su", "etc", "etc/motd"]);
    assert_eq!(got.archive, f.store.root().join(format!("pkgs/01/{}.tar.zst", key(1))));
    let manifest_mode = std::fs::metadata(f.store.manifest_path(&key(1))).unwrap().permissions().mode();
    assert_eq!(manifest_mode & 0o044, 0o044, "manifests are readable by every user of a shared store");
}

#[test]
fn absent_key_is_a_miss() {
    let f = Fixture::new();
    assert_eq!(f.store.get(&key(9)).unwrap(), None);
    assert_eq!(f.store.lookup(&key(9)).unwrap(), Lookup::Miss);
}

#[test]
fn manifest_records_kinds_modes_links_and_hashes() {
    let f = Fixture::new();
    let files = f.insert(key(1)).manifest.files;
    let busybox = entry(&files, "bin/busybox");
    assert_eq!((busybox.kind, busybox.mode, busybox.size), (EntryKind::File, 0o4755, 12));
    assert!(busybox.sha256.is_some());
    let su = entry(&files, "bin/su");
    assert_eq!((su.kind, su.target.as_deref()), (EntryKind::Hardlink, Some("bin/busybox")));
    // Link targets are kept byte for byte, trailing slash included.
    assert_eq!(entry(&files, "bin/etc-dir").target.as_deref(), Some("../etc/"));
    assert_eq!(entry(&files, "bin").kind, EntryKind::Dir);
}

#[test]
fn packing_is_reproducible_and_clamps_mtimes() {
    let f = Fixture::new();
    let a = f.insert(key(1));
    // A later build of the same tree: newer mtimes, same bytes.
    let d = f.destdir("again");
    let late = std::time::SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::options().write(true).open(d.join("etc/motd")).unwrap().set_modified(late).unwrap();
    let b = f.store.insert(&key(2), &d, meta()).unwrap();
    assert_eq!(a.manifest.archive_sha256, b.manifest.archive_sha256);
    let out = f.dir.path().join("out");
    b.unpack(&out).unwrap();
    assert_eq!(std::fs::metadata(out.join("etc/motd")).unwrap().mtime(), SDE as i64);
}

#[test]
fn unpack_restores_the_tree_and_returns_its_entries() {
    let f = Fixture::new();
    let pkg = f.insert(key(1));
    let out = f.dir.path().join("out");
    let written = pkg.unpack(&out).unwrap();
    assert_eq!(written, pkg.manifest.files);
    let md = std::fs::metadata(out.join("bin/busybox")).unwrap();
    assert_eq!(md.permissions().mode() & 0o7777, 0o4755);
    assert_eq!(md.ino(), std::fs::metadata(out.join("bin/su")).unwrap().ino());
    assert_eq!(std::fs::read_link(out.join("bin/sh")).unwrap(), Path::new("busybox"));
    assert_eq!(std::fs::read(out.join("etc/motd")).unwrap(), b"hello\n");
}

#[test]
fn owners_and_device_nodes_are_recorded_but_never_applied() {
    let f = Fixture::new();
    let d = f.destdir("d");
    let mut m = meta();
    m.owners.insert("/etc/motd".into(), (1000, 100));
    m.owners.insert("etc/".into(), (0, 100));
    m.nodes.push(("/dev/null".into(), DeviceNode { kind: NodeKind::Char, major: 1, minor: 3 }, 0o666));
    m.nodes.push(("dev/initctl".into(), DeviceNode { kind: NodeKind::Fifo, major: 0, minor: 0 }, 0o600));
    std::fs::create_dir(d.join("dev")).unwrap();
    let pkg = f.store.insert(&key(1), &d, m).unwrap();
    let null = entry(&pkg.manifest.files, "dev/null");
    assert_eq!((null.kind, null.major, null.minor, null.mode), (EntryKind::Char, Some(1), Some(3), 0o666));
    assert_eq!(entry(&pkg.manifest.files, "dev/initctl").kind, EntryKind::Fifo);
    let motd = entry(&pkg.manifest.files, "etc/motd");
    assert_eq!((motd.uid, motd.gid), (1000, 100));
    assert_eq!(entry(&pkg.manifest.files, "etc").gid, 100);

    let out = f.dir.path().join("out");
    let written = pkg.unpack(&out).unwrap();
    assert!(!out.join("dev/null").exists() && !out.join("dev/initctl").exists());
    assert_eq!(std::fs::metadata(out.join("etc/motd")).unwrap().uid(), nix::unistd::getuid().as_raw());
    let null = entry(&written, "dev/null").staging_meta().unwrap();
    assert_eq!(null.node, Some(DeviceNode { kind: NodeKind::Char, major: 1, minor: 3 }));
}

#[test]
fn long_paths_and_long_link_targets_survive() {
    let f = Fixture::new();
    let d = f.dir.path().join("long");
    let deep = d.join("usr/share").join("x".repeat(120));
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("file"), b"deep").unwrap();
    let target = format!("../share/{}/file", "x".repeat(120));
    std::fs::create_dir_all(d.join("usr/lib")).unwrap();
    std::os::unix::fs::symlink(&target, d.join("usr/lib/link")).unwrap();
    let pkg = f.store.insert(&key(1), &d, meta()).unwrap();
    let out = f.dir.path().join("out");
    pkg.unpack(&out).unwrap();
    assert_eq!(std::fs::read_link(out.join("usr/lib/link")).unwrap(), Path::new(&target));
    assert_eq!(std::fs::read(out.join("usr/share").join("x".repeat(120)).join("file")).unwrap(), b"deep");
}

#[test]
fn pack_problems_name_the_destdir_path() {
    let f = Fixture::new();
    let d = f.destdir("d");
    let mut m = meta();
    m.owners.insert("etc/missing".into(), (1, 1));
    let err = f.store.insert(&key(1), &d, m).unwrap_err().to_string();
    assert!(err.contains("`etc/missing`: the package declares an owner for it"), "{err}");

    let mut m = meta();
    m.nodes.push(("etc/motd".into(), DeviceNode { kind: NodeKind::Char, major: 1, minor: 3 }, 0o666));
    let err = f.store.insert(&key(1), &d, m).unwrap_err().to_string();
    assert!(err.contains("`etc/motd`: the package declares a device node there"), "{err}");

    let mut m = meta();
    m.nodes.push(("dev/../null".into(), DeviceNode { kind: NodeKind::Char, major: 1, minor: 3 }, 0o666));
    let err = f.store.insert(&key(1), &d, m).unwrap_err().to_string();
    assert!(err.contains("`dev/../null`: device node paths must be relative"), "{err}");

    let _socket = std::os::unix::net::UnixListener::bind(d.join("etc/sock")).unwrap();
    let err = f.store.insert(&key(1), &d, meta()).unwrap_err().to_string();
    assert!(
        err.contains(&d.display().to_string()) && err.contains("`etc/sock`: sockets cannot be packaged"),
        "{err}"
    );
    assert_eq!(f.store.get(&key(1)).unwrap(), None, "a failed insert stores nothing");
}

#[test]
fn non_utf8_names_cannot_be_packaged() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    let d = f.destdir("d");
    std::fs::write(d.join(std::ffi::OsStr::from_bytes(b"etc/\xff")), b"x").unwrap();
    let err = f.store.insert(&key(1), &d, meta()).unwrap_err().to_string();
    assert!(err.contains("`etc/\u{fffd}`: the path is not valid UTF-8"), "{err}");
}

#[test]
fn corrupt_archive_is_moved_aside_reported_and_treated_as_absent() {
    let f = Fixture::new();
    let pkg = f.insert(key(1));
    let mut bytes = std::fs::read(&pkg.archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&pkg.archive, &bytes).unwrap();

    let Lookup::Quarantined { reason, moved_to } = f.store.lookup(&key(1)).unwrap() else {
        panic!("not quarantined")
    };
    assert!(reason.contains("its archive has sha256"), "{reason}");
    assert!(moved_to.join(format!("{}.tar.zst", key(1))).exists());
    assert!(moved_to.join(format!("{}.toml", key(1))).exists());
    assert!(std::fs::read_to_string(moved_to.join("REASON")).unwrap().contains("sha256"));
    assert!(!pkg.archive.exists());
    let warnings = f.recorder.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("sys-apps/busybox-1.35.0") && warnings[0].contains("rebuilt"),
        "{warnings:?}"
    );
    assert_eq!(f.store.get(&key(1)).unwrap(), None);
}

#[test]
fn unparsable_manifest_and_missing_archive_are_quarantined() {
    let f = Fixture::new();
    f.insert(key(1));
    std::fs::write(f.store.manifest_path(&key(1)), "format = 1\nkey = ").unwrap();
    assert!(
        matches!(f.store.lookup(&key(1)).unwrap(), Lookup::Quarantined { reason, .. } if reason.contains("does not parse"))
    );

    f.insert(key(2));
    std::fs::remove_file(f.store.archive_path(&key(2))).unwrap();
    assert!(
        matches!(f.store.lookup(&key(2)).unwrap(), Lookup::Quarantined { reason, .. } if reason == "its archive is missing")
    );

    f.insert(key(3));
    std::fs::create_dir_all(f.store.manifest_path(&key(4)).parent().unwrap()).unwrap();
    std::fs::rename(f.store.manifest_path(&key(3)), f.store.manifest_path(&key(4))).unwrap();
    let got = f.store.lookup(&key(4)).unwrap();
    assert!(
        matches!(&got, Lookup::Quarantined { reason, .. } if reason.contains("is for key 0303")),
        "{got:?}"
    );
}

#[test]
fn unpack_refuses_an_archive_that_disagrees_with_its_manifest() {
    let f = Fixture::new();
    f.insert(key(1));
    f.edit_manifest(&key(1), |m| entry_mut(m, "etc/motd").mode = 0o600);
    let pkg = f.store.get(&key(1)).unwrap().unwrap();
    let err = pkg.unpack(&f.dir.path().join("a")).unwrap_err().to_string();
    assert!(err.contains("package sys-apps/busybox-1.35.0 (010101010101)"), "{err}");
    assert!(err.contains("entry `etc/motd`: mode 0644 in the archive, 0600 in the manifest"), "{err}");

    f.insert(key(2));
    f.edit_manifest(&key(2), |m| m.files.retain(|e| e.path != "etc/motd"));
    let err = f.store.get(&key(2)).unwrap().unwrap().unpack(&f.dir.path().join("b")).unwrap_err().to_string();
    assert!(err.contains("entry `etc/motd`: not in the manifest"), "{err}");

    f.insert(key(3));
    f.edit_manifest(&key(3), |m| {
        let mut extra = m.files[0].clone();
        extra.path = "usr".into();
        m.files.push(extra);
    });
    let err = f.store.get(&key(3)).unwrap().unwrap().unpack(&f.dir.path().join("c")).unwrap_err().to_string();
    assert!(err.contains("entry `usr` is in the manifest but not in the archive"), "{err}");
}

fn entry_mut<'a>(m: &'a mut Manifest, path: &str) -> &'a mut FileEntry {
    m.files.iter_mut().find(|f| f.path == path).unwrap()
}

#[test]
fn verify_all_checks_every_entry_and_reports_without_moving() {
    let f = Fixture::new();
    f.insert(key(1));
    f.insert(key(2));
    f.insert(key(3));
    assert!(f.store.verify_all().unwrap().is_clean());

    f.edit_manifest(&key(2), |m| entry_mut(m, "bin/busybox").sha256 = Some("0".repeat(64)));
    std::fs::write(f.store.archive_path(&key(3)), b"garbage").unwrap();
    let report = f.store.verify_all().unwrap();
    assert_eq!(report.ok, vec![key(1)]);
    assert_eq!(report.problems.len(), 2);
    assert_eq!(report.problems[0].key, key(2));
    assert!(
        report.problems[0].what.contains("entry `bin/busybox`: content differs"),
        "{:?}",
        report.problems
    );
    assert!(report.problems[1].what.contains("its archive is 7 bytes"), "{:?}", report.problems);
    assert!(f.store.manifest_path(&key(3)).exists(), "verify moves nothing");
}

#[test]
fn an_archive_whose_insert_never_committed_is_not_a_problem_for_verify() {
    let f = Fixture::new();
    f.insert(key(1));
    f.insert(key(2));
    // A crash between the insert's two renames leaves the archive without its manifest.
    std::fs::remove_file(f.store.manifest_path(&key(2))).unwrap();
    let report = f.store.verify_all().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.ok, vec![key(1)]);
    assert_eq!(report.uncommitted, vec![f.store.archive_path(&key(2))]);
}

#[test]
fn list_is_sorted_and_skips_unreadable_manifests_with_a_warning() {
    let f = Fixture::new();
    let d = f.destdir("d");
    f.store.insert(&key(1), &d, PackageMeta { atom: "sys-libs/musl".into(), ..meta() }).unwrap();
    f.store.insert(&key(2), &d, meta()).unwrap();
    f.insert(key(3));
    std::fs::write(f.store.manifest_path(&key(3)), "nonsense").unwrap();
    let atoms: Vec<String> = f.store.list().unwrap().into_iter().map(|m| m.atom).collect();
    assert_eq!(atoms, ["sys-apps/busybox", "sys-libs/musl"]);
    assert!(
        f.recorder.warnings().iter().any(|w| w.contains("skipping unreadable manifest")),
        "{:?}",
        f.recorder.warnings()
    );
}

#[test]
fn gc_removes_what_keep_leaves_out_and_spares_locked_keys() {
    let f = Fixture::new();
    for n in 1..=3 {
        f.insert(key(n));
    }
    let held = f.store.lock(&key(3)).unwrap();
    let report = f.store.gc(&BTreeSet::from([key(1)]), None).unwrap();
    assert_eq!((report.removed, report.busy, report.kept), (vec![key(2)], vec![key(3)], 1));
    assert!(report.bytes_freed > 0);
    assert!(f.store.get(&key(1)).unwrap().is_some());
    assert!(f.store.get(&key(2)).unwrap().is_none());
    assert!(f.store.get(&key(3)).unwrap().is_some());
    drop(held);
}

#[test]
fn gc_by_age_counts_from_last_use() {
    let f = Fixture::new();
    f.insert(key(1));
    f.insert(key(2));
    let old = std::time::SystemTime::now() - Duration::from_secs(30 * 86400);
    for k in [key(1), key(2)] {
        std::fs::File::options()
            .append(true)
            .open(f.store.manifest_path(&k))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    f.store.get(&key(1)).unwrap().unwrap(); // used today
    let report = f.store.gc(&BTreeSet::new(), Some(Duration::from_secs(7 * 86400))).unwrap();
    assert_eq!(report.removed, vec![key(2)]);
    assert_eq!(report.kept, 1);
}

#[test]
fn gc_without_keep_or_age_removes_only_leftovers() {
    let f = Fixture::new();
    f.insert(key(1));
    // An insert killed between its two renames leaves an archive without a manifest.
    f.insert(key(2));
    std::fs::remove_file(f.store.manifest_path(&key(2))).unwrap();
    // A corrupt entry moved aside.
    f.insert(key(3));
    std::fs::write(f.store.archive_path(&key(3)), b"x").unwrap();
    f.store.get(&key(3)).unwrap();
    // A live temporary entry, and a dead one: its lock file is there but nobody holds it.
    let live = f.store.temp_entry("build-").unwrap();
    let dead = f.store.tmp_dir().join("build-dead");
    std::fs::create_dir_all(dead.join("destdir/ro")).unwrap();
    std::fs::set_permissions(dead.join("destdir/ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::write(f.store.tmp_dir().join("build-dead.lock"), b"").unwrap();
    std::fs::create_dir(f.store.tmp_dir().join("never-locked")).unwrap();

    let report = f.store.gc(&BTreeSet::new(), None).unwrap();
    assert_eq!((report.removed.len(), report.kept), (0, 1));
    assert_eq!((report.orphans_removed, report.quarantine_removed, report.tmp_removed), (1, 1, 2));
    assert!(live.path().is_dir());
    assert!(!dead.exists() && !f.store.tmp_dir().join("build-dead.lock").exists());
    assert!(!f.store.archive_path(&key(2)).exists());
    assert!(f.store.get(&key(1)).unwrap().is_some());
}

#[test]
fn concurrent_builders_of_one_key_build_it_once() {
    let f = Fixture::new();
    let d = f.destdir("d");
    let builds = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            // Each thread opens its own Store, as a separate process would.
            let store = Store::open(f.store.root()).unwrap();
            let (d, builds) = (&d, &builds);
            s.spawn(move || {
                let _lock = store.lock(&key(1)).unwrap();
                if store.get(&key(1)).unwrap().is_none() {
                    builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    store.insert(&key(1), d, meta()).unwrap();
                }
            });
        }
    });
    assert_eq!(builds.into_inner(), 1);
}

#[test]
fn insert_leaves_nothing_in_tmp() {
    let f = Fixture::new();
    f.insert(key(1));
    assert_eq!(std::fs::read_dir(f.store.tmp_dir()).unwrap().count(), 0);
}
