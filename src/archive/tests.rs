//! Extraction tests: each refusal is shown a small hostile tarball built here, most with
//! hand-made headers (the `tar` crate's own setters refuse `..` and absolute paths).

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::*;

/// Builds a tar stream entry by entry, writing names and link targets as raw bytes.
#[derive(Default)]
struct RawTar(Vec<u8>);

impl RawTar {
    fn entry(mut self, path: &str, ty: EntryType, link: &str, data: &[u8], mode: u32) -> Self {
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(ty);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_000_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().div_ceil(512) * 512, 0);
        self
    }
    fn file(self, path: &str, data: &[u8]) -> Self {
        self.entry(path, EntryType::Regular, "", data, 0o644)
    }
    fn dir(self, path: &str) -> Self {
        self.entry(path, EntryType::Directory, "", b"", 0o755)
    }
    fn symlink(self, path: &str, target: &str) -> Self {
        self.entry(path, EntryType::Symlink, target, b"", 0o777)
    }
    fn hardlink(self, path: &str, target: &str) -> Self {
        self.entry(path, EntryType::Link, target, b"", 0o644)
    }
    fn device(mut self, path: &str, ty: EntryType, major: u32, minor: u32) -> Self {
        let mut h = Header::new_gnu();
        h.set_path(path).unwrap();
        h.set_entry_type(ty);
        h.set_size(0);
        h.set_mode(0o600);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self
    }
    fn bytes(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&[0; 1024]);
        self.0
    }
}

struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        Scene { dir: tempfile::tempdir().unwrap() }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn dest(&self) -> PathBuf {
        self.path("dest")
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    fn extract(&self, name: &str, bytes: &[u8]) -> Result<ExtractReport, ArchiveError> {
        extract(&self.write(name, bytes), &self.dest(), &Limits::default())
    }
    /// Extracts and returns the refusal message, checking it names the archive and the entry.
    fn refusal(&self, bytes: &[u8], entry: &str) -> String {
        let err = self.extract("hostile.tar", bytes).unwrap_err();
        assert!(matches!(err, ArchiveError::Refused { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&self.path("hostile.tar").display().to_string()), "{msg}");
        assert!(msg.contains(&format!("entry `{entry}`")), "{msg}");
        msg
    }
}

fn compress(c: Compression, tar: &[u8]) -> Vec<u8> {
    match c {
        Compression::None => tar.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Compression::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(tar, 3).unwrap(),
    }
}

fn small_tree() -> Vec<u8> {
    RawTar::default()
        .dir("pkg-1.0/")
        .file("pkg-1.0/README", b"hello\n")
        .entry("pkg-1.0/configure", EntryType::Regular, "", b"#!/bin/sh\n", 0o755)
        .symlink("pkg-1.0/LICENSE", "README")
        .bytes()
}

#[test]
fn every_compression_is_detected_by_its_magic_not_its_name() {
    for c in [Compression::None, Compression::Gzip, Compression::Bzip2, Compression::Xz, Compression::Zstd] {
        let scene = Scene::new();
        // Deliberately misnamed: detection must not trust the suffix.
        let report = scene.extract("source.tar.gz", &compress(c, &small_tree())).unwrap();
        assert_eq!(report.compression, c);
        assert_eq!(std::fs::read(scene.dest().join("pkg-1.0/README")).unwrap(), b"hello\n");
        assert_eq!(report.entries.len(), 4);
    }
}

#[test]
fn modes_mtimes_and_symlinks_are_kept() {
    let scene = Scene::new();
    let report = scene.extract("s.tar", &small_tree()).unwrap();
    let configure = std::fs::metadata(scene.dest().join("pkg-1.0/configure")).unwrap();
    assert_eq!(configure.permissions().mode() & 0o7777, 0o755);
    assert_eq!(configure.mtime(), 1_000_000_000);
    let dir = std::fs::metadata(scene.dest().join("pkg-1.0")).unwrap();
    assert_eq!(dir.mtime(), 1_000_000_000);
    assert_eq!(std::fs::read_link(scene.dest().join("pkg-1.0/LICENSE")).unwrap(), Path::new("README"));
    let readme = report.entries.iter().find(|e| e.path == "pkg-1.0/README").unwrap();
    assert_eq!(
        readme.sha256.as_deref(),
        Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
    );
}

#[test]
fn read_only_directory_gets_its_mode_after_its_contents() {
    let scene = Scene::new();
    let tar =
        RawTar::default().entry("ro/", EntryType::Directory, "", b"", 0o555).file("ro/inside", b"x").bytes();
    scene.extract("ro.tar", &tar).unwrap();
    let mode = std::fs::metadata(scene.dest().join("ro")).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o555);
    assert_eq!(std::fs::read(scene.dest().join("ro/inside")).unwrap(), b"x");
}

#[test]
fn absolute_path_is_refused() {
    let scene = Scene::new();
    let msg = scene.refusal(&RawTar::default().file("/etc/evil", b"x").bytes(), "/etc/evil");
    assert!(msg.contains("absolute path"), "{msg}");
}

#[test]
fn dot_dot_component_is_refused() {
    let scene = Scene::new();
    let msg = scene.refusal(&RawTar::default().file("a/../../evil", b"x").bytes(), "a/../../evil");
    assert!(msg.contains("`..`"), "{msg}");
    assert!(!scene.path("evil").exists());
}

#[test]
fn file_through_a_symlink_to_outside_is_refused_and_nothing_lands_outside() {
    let scene = Scene::new();
    let outside = scene.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let tar =
        RawTar::default().symlink("escape", outside.to_str().unwrap()).file("escape/planted", b"x").bytes();
    let msg = scene.refusal(&tar, "escape/planted");
    assert!(msg.contains("through `escape`, a symlink"), "{msg}");
    assert!(msg.contains(outside.to_str().unwrap()), "{msg}");
    assert!(!outside.join("planted").exists());
}

#[test]
fn symlinks_inside_the_tree_are_never_followed_either() {
    let scene = Scene::new();
    let tar = RawTar::default().dir("real/").symlink("alias", "real").file("alias/f", b"x").bytes();
    let msg = scene.refusal(&tar, "alias/f");
    assert!(msg.contains("never follows symlinks"), "{msg}");
}

#[test]
fn file_below_a_regular_file_is_refused() {
    let scene = Scene::new();
    let tar = RawTar::default().file("plain", b"x").file("plain/child", b"y").bytes();
    let msg = scene.refusal(&tar, "plain/child");
    assert!(msg.contains("`plain`, which is not a directory"), "{msg}");
}

#[test]
fn file_replacing_a_symlink_replaces_the_link_not_its_target() {
    let scene = Scene::new();
    let victim = scene.write("victim", b"original");
    let tar = RawTar::default().symlink("x", victim.to_str().unwrap()).file("x", b"overwritten").bytes();
    scene.extract("s.tar", &tar).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"original");
    let x = scene.dest().join("x");
    assert!(std::fs::symlink_metadata(&x).unwrap().is_file());
    assert_eq!(std::fs::read(&x).unwrap(), b"overwritten");
}

#[test]
fn file_replacing_a_directory_is_refused() {
    let scene = Scene::new();
    let tar = RawTar::default().dir("d/").file("d", b"x").bytes();
    let msg = scene.refusal(&tar, "d");
    assert!(msg.contains("replace the directory `d`"), "{msg}");
}

#[test]
fn absolute_symlinks_are_kept_as_symlinks() {
    let scene = Scene::new();
    let tar = RawTar::default().symlink("lib", "/usr/lib/x").bytes();
    let report = scene.extract("s.tar", &tar).unwrap();
    assert_eq!(std::fs::read_link(scene.dest().join("lib")).unwrap(), Path::new("/usr/lib/x"));
    assert_eq!(report.entries[0].target.as_deref(), Some("/usr/lib/x"));
}

#[test]
fn hard_link_to_an_earlier_file_is_made() {
    let scene = Scene::new();
    let tar = RawTar::default().file("a", b"data").hardlink("b", "./a").bytes();
    let report = scene.extract("s.tar", &tar).unwrap();
    let (a, b) = (scene.dest().join("a"), scene.dest().join("b"));
    assert_eq!(std::fs::metadata(&a).unwrap().ino(), std::fs::metadata(&b).unwrap().ino());
    assert_eq!(report.entries[1].kind, EntryKind::Hardlink);
    assert_eq!(report.entries[1].target.as_deref(), Some("a"));
}

#[test]
fn hard_link_to_an_absolute_path_is_refused() {
    let scene = Scene::new();
    let msg = scene.refusal(&RawTar::default().hardlink("pw", "/etc/passwd").bytes(), "pw");
    assert!(msg.contains("hard link to the absolute path `/etc/passwd`"), "{msg}");
}

#[test]
fn hard_link_outside_the_destination_is_refused() {
    let scene = Scene::new();
    let msg = scene.refusal(&RawTar::default().hardlink("pw", "../../etc/passwd").bytes(), "pw");
    assert!(msg.contains("outside the destination"), "{msg}");
}

#[test]
fn hard_link_through_a_symlink_is_refused() {
    let scene = Scene::new();
    let tar = RawTar::default().symlink("etc", "/etc").hardlink("pw", "etc/passwd").bytes();
    let msg = scene.refusal(&tar, "pw");
    assert!(msg.contains("not an earlier file of the archive"), "{msg}");
    assert!(!scene.dest().join("pw").exists());
}

#[test]
fn device_nodes_and_fifos_are_refused_in_sources() {
    for (ty, what) in
        [(EntryType::Char, "character device"), (EntryType::Block, "block device"), (EntryType::Fifo, "FIFO")]
    {
        let scene = Scene::new();
        let msg = scene.refusal(&RawTar::default().device("dev/node", ty, 1, 3).bytes(), "dev/node");
        assert!(msg.contains(&format!("{what} in a source archive")), "{msg}");
    }
}

#[test]
fn packages_report_device_nodes_without_creating_them_but_make_their_directory() {
    let scene = Scene::new();
    let tar = RawTar::default().device("dev/null", EntryType::Char, 1, 3).bytes();
    let archive = scene.write("p.tar", &tar);
    let report =
        extract_with(&archive, &scene.dest(), &Limits::default(), Policy::Package, &mut |_| Ok(())).unwrap();
    assert_eq!(report.entries[0].kind, EntryKind::Char);
    assert_eq!(report.entries[0].device, Some((1, 3)));
    assert!(!scene.dest().join("dev/null").exists());
    assert!(scene.dest().join("dev").is_dir(), "where the image writer will create the node");
}

#[test]
fn setuid_is_dropped_from_sources_and_kept_in_packages() {
    let tar = RawTar::default().entry("su", EntryType::Regular, "", b"x", 0o4755).bytes();
    for (policy, expected) in [(Policy::Source, 0o755), (Policy::Package, 0o4755)] {
        let scene = Scene::new();
        let archive = scene.write("s.tar", &tar);
        let report =
            extract_with(&archive, &scene.dest(), &Limits::default(), policy, &mut |_| Ok(())).unwrap();
        let mode = std::fs::metadata(scene.dest().join("su")).unwrap().permissions().mode();
        assert_eq!((mode & 0o7777, report.entries[0].mode), (expected, expected), "{policy:?}");
    }
}

#[test]
fn entry_over_the_size_limit_is_refused() {
    let scene = Scene::new();
    let archive = scene.write("big.tar", &RawTar::default().file("big", &[7; 2048]).bytes());
    let limits = Limits { max_entry_bytes: 1024, ..Limits::default() };
    let err = extract(&archive, &scene.dest(), &limits).unwrap_err().to_string();
    assert!(err.contains("entry `big`: entry of 2048 bytes is over the limit of 1024 bytes"), "{err}");
}

#[test]
fn total_over_the_size_limit_is_refused() {
    let scene = Scene::new();
    let tar = RawTar::default().file("a", &[1; 600]).file("b", &[2; 600]).bytes();
    let archive = scene.write("t.tar", &tar);
    let limits = Limits { max_total_bytes: 1000, ..Limits::default() };
    let err = extract(&archive, &scene.dest(), &limits).unwrap_err().to_string();
    assert!(err.contains("entry `b`: the archive expands past the limit of 1000 bytes"), "{err}");
}

#[test]
fn too_many_entries_are_refused() {
    let scene = Scene::new();
    let tar = RawTar::default().file("a", b"").file("b", b"").file("c", b"").bytes();
    let archive = scene.write("n.tar", &tar);
    let limits = Limits { max_entries: 2, ..Limits::default() };
    let err = extract(&archive, &scene.dest(), &limits).unwrap_err().to_string();
    assert!(err.contains("entry `c`: the archive has more than 2 entries"), "{err}");
}

#[test]
fn decompression_bomb_is_refused_by_its_ratio() {
    let scene = Scene::new();
    let tar = RawTar::default().file("zeros", &vec![0; 4 << 20]).bytes();
    let archive = scene.write("bomb.tar.zst", &compress(Compression::Zstd, &tar));
    let limits = Limits { max_ratio: 50, ratio_after_bytes: 1 << 20, ..Limits::default() };
    let err = extract(&archive, &scene.dest(), &limits).unwrap_err();
    assert!(matches!(err, ArchiveError::Refused { reason: Refusal::Ratio { limit: 50, .. }, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("bomb.tar.zst") && msg.contains("entry `zeros`"), "{msg}");
    assert!(msg.contains("decompression ratio over 50:1"), "{msg}");
}

#[test]
fn unsupported_entry_types_are_refused() {
    let scene = Scene::new();
    let msg = scene.refusal(&RawTar::default().entry("vol", EntryType::new(b'V'), "", b"", 0).bytes(), "vol");
    assert!(msg.contains("entry type `V` is not supported"), "{msg}");
}

#[test]
fn truncated_archive_is_a_read_error_naming_it() {
    let scene = Scene::new();
    let mut tar = RawTar::default().file("f", &[1; 4096]).bytes();
    tar.truncate(1024);
    let err = scene.extract("cut.tar", &tar).unwrap_err();
    assert!(matches!(err, ArchiveError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("cut.tar"), "{err}");
}

#[test]
fn missing_archive_error_names_it() {
    let scene = Scene::new();
    let err = extract(&scene.path("nope.tar"), &scene.dest(), &Limits::default()).unwrap_err().to_string();
    assert!(err.contains("nope.tar"), "{err}");
}

#[test]
fn long_names_and_global_pax_headers_are_read() {
    let scene = Scene::new();
    let long = format!("{}/file", "d".repeat(150));
    let mut builder = tar::Builder::new(Vec::new());
    let mut global = Header::new_ustar();
    global.set_entry_type(EntryType::XGlobalHeader);
    let pax = b"52 comment=0123456789012345678901234567890123456789\n";
    global.set_size(pax.len() as u64);
    global.set_cksum();
    builder.append(&global, &pax[..]).unwrap();
    let mut h = Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    builder.append_data(&mut h, &long, &b"ok"[..]).unwrap();
    let report = scene.extract("long.tar", &builder.into_inner().unwrap()).unwrap();
    assert_eq!(report.entries.len(), 1);
    assert_eq!(std::fs::read(scene.dest().join(&long)).unwrap(), b"ok");
}

#[test]
fn inspection_can_reject_an_entry_by_name() {
    let scene = Scene::new();
    let archive = scene.write("s.tar", &small_tree());
    let err = extract_with(&archive, &scene.dest(), &Limits::default(), Policy::Package, &mut |e| {
        if e.path.ends_with("configure") { Err("not in the manifest".into()) } else { Ok(()) }
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("entry `pkg-1.0/configure`: not in the manifest"), "{err}");
}

#[test]
fn scan_hashes_entries_and_writes_nothing() {
    let scene = Scene::new();
    let archive = scene.write("s.tar.xz", &compress(Compression::Xz, &small_tree()));
    let mut seen = Vec::new();
    let report = scan(&archive, &Limits::default(), Policy::Source, &mut |e| {
        seen.push(e.path.clone());
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, ["pkg-1.0", "pkg-1.0/README", "pkg-1.0/configure", "pkg-1.0/LICENSE"]);
    assert!(report.entries[1].sha256.is_some());
    assert!(!scene.dest().exists());
}

#[test]
fn owner_ids_beyond_32_bits_are_refused() {
    let scene = Scene::new();
    let mut h = Header::new_gnu();
    h.set_path("f").unwrap();
    h.set_size(0);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(1 << 40);
    h.set_gid(0);
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    tar.extend_from_slice(&[0; 1024]);
    let msg = scene.refusal(&tar, "f");
    assert!(msg.contains("uid 1099511627776 does not fit in 32 bits"), "{msg}");
}

#[test]
fn device_without_numbers_is_refused_in_packages() {
    let scene = Scene::new();
    let mut h = Header::new_old();
    h.set_path("dev/null").unwrap();
    h.set_entry_type(EntryType::Char);
    h.set_size(0);
    h.set_mode(0o666);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    tar.extend_from_slice(&[0; 1024]);
    let archive = scene.write("old.tar", &tar);
    let err = extract_with(&archive, &scene.dest(), &Limits::default(), Policy::Package, &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("entry `dev/null`: character device without its major/minor numbers"), "{err}");
}

#[test]
fn entry_the_filesystem_cannot_hold_is_a_write_error_naming_it() {
    let scene = Scene::new();
    let name = "n".repeat(300);
    let mut builder = tar::Builder::new(Vec::new());
    let mut h = Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    builder.append_data(&mut h, &name, &b"x"[..]).unwrap();
    let err = scene.extract("long.tar", &builder.into_inner().unwrap()).unwrap_err();
    assert!(matches!(err, ArchiveError::Write { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("long.tar") && msg.contains(&format!("entry `{name}`")), "{msg}");
}

#[test]
fn destination_that_cannot_be_created_is_named() {
    let scene = Scene::new();
    let archive = scene.write("s.tar", &small_tree());
    let blocker = scene.write("blocker", b"a file where a directory should be");
    let err = extract(&archive, &blocker.join("dest"), &Limits::default()).unwrap_err().to_string();
    assert!(err.starts_with("cannot create the destination") && err.contains("blocker/dest"), "{err}");
}

/// Merging: archives extracted into one `Tree`, each entry where a placement callback says.
mod merging {
    use super::*;

    fn place_all(
        tree: &mut Tree,
        archive: &Path,
        place: &mut Place<'_>,
    ) -> Result<Vec<EntryRecord>, ArchiveError> {
        let mut seen = Vec::new();
        tree.extract(archive, &Limits::default(), Policy::Package, place, &mut |r| {
            seen.push(r.clone());
            Ok(())
        })?;
        Ok(seen)
    }

    fn under_usr(r: &EntryRecord) -> Result<Placement, String> {
        Ok(Placement::At(format!("usr/{}", r.path)))
    }

    #[test]
    fn entries_land_where_placed_and_present_ones_are_only_hashed() {
        let scene = Scene::new();
        let one = scene.write("one.tar", &RawTar::default().dir("bin/").file("bin/sh", b"sh\n").bytes());
        let two = scene.write("two.tar", &RawTar::default().file("usr/bin/sh", b"sh\n").bytes());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        place_all(&mut tree, &one, &mut under_usr).unwrap();
        let seen = place_all(&mut tree, &two, &mut |r| Ok(Placement::Present(r.path.clone()))).unwrap();
        tree.finish().unwrap();
        assert_eq!(std::fs::read(scene.dest().join("usr/bin/sh")).unwrap(), b"sh\n");
        assert!(!scene.dest().join("bin").exists());
        assert_eq!(seen[0].path, "usr/bin/sh");
        assert_eq!(seen[0].sha256.as_deref().map(|s| &s[..8]), Some("7018c575"));
    }

    #[test]
    fn hard_link_to_a_present_file_links_to_where_it_lies() {
        let scene = Scene::new();
        let one = scene.write("one.tar", &RawTar::default().file("x", b"x").bytes());
        let two = scene.write("two.tar", &RawTar::default().file("a", b"x").hardlink("b", "a").bytes());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        place_all(&mut tree, &one, &mut |r| Ok(Placement::At(r.path.clone()))).unwrap();
        place_all(&mut tree, &two, &mut |r| {
            Ok(if r.path == "a" { Placement::Present("x".into()) } else { Placement::At(r.path.clone()) })
        })
        .unwrap();
        let ino = |p: &str| std::fs::metadata(scene.dest().join(p)).unwrap().ino();
        assert_eq!(ino("b"), ino("x"));
        assert!(!scene.dest().join("a").exists());
    }

    #[test]
    fn placement_onto_an_earlier_archives_file_is_refused() {
        let scene = Scene::new();
        let one = scene.write("one.tar", &RawTar::default().file("x", b"first").bytes());
        let two = scene.write("two.tar", &RawTar::default().file("y", b"second").bytes());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        place_all(&mut tree, &one, &mut |r| Ok(Placement::At(r.path.clone()))).unwrap();
        let err = place_all(&mut tree, &two, &mut |_| Ok(Placement::At("x".into()))).unwrap_err().to_string();
        assert!(err.contains("entry `y`: it would replace `x`, which an earlier archive put there"), "{err}");
        assert_eq!(std::fs::read(scene.dest().join("x")).unwrap(), b"first");
    }

    #[test]
    fn placement_outside_the_destination_is_rejected() {
        let scene = Scene::new();
        let one = scene.write("one.tar", &RawTar::default().file("x", b"x").bytes());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        let err = place_all(&mut tree, &one, &mut |_| Ok(Placement::At("../x".into()))).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ArchiveError::Rejected { .. }), "{err:?}");
        assert!(
            msg.contains(
                "entry `x`: placed at `../x`, which is not inside the destination: path contains a `..`"
            ),
            "{msg}"
        );
        assert!(!scene.path("x").exists());
    }

    #[test]
    fn placement_through_a_symlink_is_refused() {
        let scene = Scene::new();
        let one = scene.write("one.tar", &RawTar::default().symlink("l", "/tmp").bytes());
        let two = scene.write("two.tar", &RawTar::default().file("x", b"x").bytes());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        place_all(&mut tree, &one, &mut |r| Ok(Placement::At(r.path.clone()))).unwrap();
        let err =
            place_all(&mut tree, &two, &mut |_| Ok(Placement::At("l/x".into()))).unwrap_err().to_string();
        assert!(err.contains("entry `x`: it would be written through `l`, a symlink to `/tmp`"), "{err}");
    }

    #[test]
    fn placement_callback_can_stop_extraction() {
        let scene = Scene::new();
        let one = scene.write("one.tar", &small_tree());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        let err = place_all(&mut tree, &one, &mut |_| Err("collides with another package".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("one.tar: entry `pkg-1.0/`: collides with another package"), "{err}");
        assert!(!scene.dest().join("pkg-1.0").exists());
    }

    #[test]
    fn directory_modes_of_every_archive_apply_once_at_finish() {
        let scene = Scene::new();
        let ro = RawTar::default().entry("ro/", EntryType::Directory, "", b"", 0o555).bytes();
        let one = scene.write("one.tar", &ro);
        let two = scene.write("two.tar", &RawTar::default().file("ro/inside", b"x").bytes());
        let mut tree = Tree::create(&scene.dest()).unwrap();
        let mut same = |r: &EntryRecord| Ok(Placement::At(r.path.clone()));
        place_all(&mut tree, &one, &mut same).unwrap();
        let before = std::fs::metadata(scene.dest().join("ro")).unwrap().permissions().mode();
        place_all(&mut tree, &two, &mut same).unwrap();
        tree.finish().unwrap();
        let after = std::fs::metadata(scene.dest().join("ro")).unwrap().permissions().mode();
        assert_ne!(before & 0o7777, 0o555, "applied only at finish");
        assert_eq!(after & 0o7777, 0o555);
        assert_eq!(std::fs::read(scene.dest().join("ro/inside")).unwrap(), b"x");
    }
}
