//! Building images from a fixture staging root: reproducibility, layout, what the root
//! filesystem holds (read back with debugfs, no mounting), and the errors.

mod support;

use ingot::host::{HostError, HostFile, HostTool};
use ingot::image::{self, Comparison, ImageError, ImageInfo, Region, Tools};
use ingot::profile::image::{BootMode, Filesystem, ImageFormat, Partition, PartitionKind, Size};
use ingot::report::{Event, Recorder, Silent};
use ingot::stage::{DeviceNode, EntryMeta, NodeKind, StagingRoot};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// Builds a fresh fixture root and an image of it into `dir`.
fn build_in(dir: &Path, name: &str, boot: BootMode, format: ImageFormat) -> ImageInfo {
    let root_dir = dir.join(format!("{name}.root"));
    let root = staging_root(&root_dir, "fixture");
    image::build(&root, &conf(boot, format), &inputs(1), &dir.join(name), &Silent).unwrap()
}

fn sfdisk_json(disk: &Path) -> serde_json::Value {
    serde_json::from_str(&run(Command::new("sfdisk").arg("--json").arg(disk))).unwrap()
}

#[test]
fn raw_image_built_twice_from_separate_trees_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_in(dir.path(), "a.raw", BootMode::Uefi, ImageFormat::Raw);
    let b = build_in(dir.path(), "b.raw", BootMode::Uefi, ImageFormat::Raw);
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(a.partitions, b.partitions);
    assert_eq!(image::compare(&a.path, &b.path).unwrap(), Comparison::Identical);
}

#[test]
fn hybrid_image_built_twice_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_in(dir.path(), "a.raw", BootMode::Hybrid, ImageFormat::Raw);
    let b = build_in(dir.path(), "b.raw", BootMode::Hybrid, ImageFormat::Raw);
    assert_eq!(a.sha256, b.sha256);
}

#[test]
fn qcow2_image_built_twice_is_identical_and_holds_the_raw_disk() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_in(dir.path(), "a.qcow2", BootMode::Uefi, ImageFormat::Qcow2);
    let b = build_in(dir.path(), "b.qcow2", BootMode::Uefi, ImageFormat::Qcow2);
    assert_eq!(a.sha256, b.sha256);
    assert_eq!(&std::fs::read(&a.path).unwrap()[..4], b"QFI\xfb");
    let raw = build_in(dir.path(), "c.raw", BootMode::Uefi, ImageFormat::Raw);
    assert_eq!(image::compare(&a.path, &raw.path).unwrap(), Comparison::Identical);
}

#[test]
fn raw_xz_image_holds_the_same_disk_as_raw() {
    let dir = tempfile::tempdir().unwrap();
    let xz = build_in(dir.path(), "a.raw.xz", BootMode::Uefi, ImageFormat::RawXz);
    let raw = build_in(dir.path(), "b.raw", BootMode::Uefi, ImageFormat::Raw);
    assert!(xz.size < raw.size / 2, "{} vs {}", xz.size, raw.size);
    assert_eq!(image::compare(&xz.path, &raw.path).unwrap(), Comparison::Identical);
}

#[test]
fn partition_table_matches_the_reported_layout() {
    let dir = tempfile::tempdir().unwrap();
    let info = build_in(dir.path(), "a.raw", BootMode::Hybrid, ImageFormat::Raw);
    let json = sfdisk_json(&info.path);
    let table = &json["partitiontable"];
    assert_eq!(table["label"], "gpt");
    assert_eq!(table["firstlba"], 2048);
    let parts = table["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    for (p, want) in parts.iter().zip(&info.partitions) {
        assert_eq!(p["name"], want.label.as_str());
        assert_eq!(p["uuid"].as_str().unwrap().to_lowercase(), want.part_uuid.to_string());
        assert_eq!(p["start"].as_u64().unwrap() * 512, want.offset);
        assert_eq!(p["size"].as_u64().unwrap() * 512, want.size);
        assert_eq!(want.offset % (1 << 20), 0);
    }
    assert_eq!(parts[0]["attrs"], "LegacyBIOSBootable");
    assert_eq!(info.size, std::fs::metadata(&info.path).unwrap().len());
    let mbr = std::fs::read(&info.path).unwrap();
    let gptmbr = std::fs::read("/usr/lib/syslinux/mbr/gptmbr.bin").unwrap();
    assert_eq!(&mbr[..440], &gptmbr[..440]);
}

#[test]
fn esp_holds_the_uki_with_a_fixed_serial_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let info = build_in(dir.path(), "a.raw", BootMode::Uefi, ImageFormat::Raw);
    let esp = &info.partitions[0];
    let spec = format!("{}@@{}", info.path.display(), esp.offset);
    let listing = run(Command::new("mdir").env("TZ", "UTC").env("MTOOLS_SKIP_CHECK", "1").args([
        "-i",
        &spec,
        "::/EFI/BOOT",
    ]));
    assert!(listing.contains("BOOTX64  EFI"), "{listing}");
    assert!(listing.contains("2023-11-14  22:13"), "{listing}");
    let serial = esp.fs_uuid.as_deref().unwrap();
    assert!(listing.contains(&format!("Volume Serial Number is {serial}")), "{listing}");
    let uki = dir.path().join("uki.efi");
    run(Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .args(["-i", &spec, "::/EFI/BOOT/BOOTX64.EFI"])
        .arg(&uki));
    let sections = run(Command::new("objdump").arg("-h").arg(&uki));
    for s in [".osrel", ".cmdline", ".linux", ".initrd"] {
        assert!(sections.contains(s), "{s}: {sections}");
    }
    let cmdline = run(Command::new("objcopy")
        .args(["-O", "binary", "--only-section=.cmdline"])
        .arg(&uki)
        .arg("/dev/stdout"));
    let root = &info.partitions[1];
    assert_eq!(cmdline, format!("console=ttyS0 panic=-1 root=PARTUUID={} rootwait", root.part_uuid));
}

fn stat(disk: &Path, offset: u64, path: &str) -> String {
    debugfs(disk, offset, &format!("stat \"{path}\""))
}

#[test]
fn root_filesystem_carries_entries_owners_nodes_and_pinned_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut root = staging_root(&dir.path().join("root"), "fixture");
    std::fs::write(root.dir.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
    std::fs::create_dir_all(root.dir.join("home/admin")).unwrap();
    let entry = |uid, gid, mode, node| EntryMeta { uid, gid, mode, node };
    root.entries.insert("etc/shadow".into(), entry(0, 42, Some(0o640), None));
    root.entries.insert("home/admin".into(), entry(100_000, 1000, Some(0o700), None));
    root.entries.insert("bin/busybox".into(), entry(0, 0, Some(0o4755), None));
    let console = DeviceNode { kind: NodeKind::Char, major: 5, minor: 1 };
    root.entries.insert("dev/console".into(), entry(0, 5, Some(0o620), Some(console)));
    let disk_node = DeviceNode { kind: NodeKind::Block, major: 254, minor: 0 };
    root.entries.insert("dev/vda".into(), entry(0, 6, Some(0o660), Some(disk_node)));
    let out = dir.path().join("a.raw");
    let info =
        image::build(&root, &conf(BootMode::Uefi, ImageFormat::Raw), &inputs(1), &out, &Silent).unwrap();
    let at = info.partitions[1].offset;

    let shadow = stat(&out, at, "/etc/shadow");
    assert!(shadow.contains("Mode:  0640"), "{shadow}");
    assert!(shadow.contains("User:     0   Group:    42"), "{shadow}");
    let home = stat(&out, at, "/home/admin");
    assert!(home.contains("Type: directory    Mode:  0700"), "{home}");
    assert!(home.contains("User: 100000   Group:  1000"), "{home}");
    assert!(stat(&out, at, "/bin/busybox").contains("Type: regular    Mode:  04755"));
    let console = stat(&out, at, "/dev/console");
    assert!(console.contains("Type: character special    Mode:  0620"), "{console}");
    assert!(console.contains("Device major/minor number: 05:01"), "{console}");
    assert!(console.contains("Group:     5"), "{console}");
    let vda = stat(&out, at, "/dev/vda");
    assert!(vda.contains("Type: block special    Mode:  0660"), "{vda}");
    // Files the staging tree made now (after SOURCE_DATE_EPOCH) are clamped to it; every
    // access, change and creation time is pinned.
    for path in ["/", "/etc/hostname", "/dev/console", "/lost+found", "/bin/sh"] {
        let s = stat(&out, at, path);
        for field in ["ctime", "atime", "mtime", "crtime"] {
            let want = format!("{field}: 0x6553f100:00000000");
            assert!(
                s.lines().any(|l| l.trim_start() == want || l.trim_start().starts_with(&want)),
                "{path}: {s}"
            );
        }
        assert!(s.contains("User:     0   Group:     0") || path.starts_with("/dev"), "{path}: {s}");
    }
    let fsck =
        Command::new("e2fsck").args(["-fn", &format!("{}?offset={at}", out.display())]).output().unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));
    let hostname = debugfs(&out, at, "cat /etc/hostname");
    assert_eq!(hostname, "fixture\n");
    assert_eq!(info.partitions[1].fs_uuid.as_deref(), Some(blkid_uuid(&out, at).as_str()));
}

#[test]
fn older_modification_times_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(root.dir.join("etc/hostname"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = dir.path().join("a.raw");
    let info =
        image::build(&root, &conf(BootMode::Uefi, ImageFormat::Raw), &inputs(1), &out, &Silent).unwrap();
    let s = stat(&out, info.partitions[1].offset, "/etc/hostname");
    assert!(s.contains("mtime: 0x3b9aca00:00000000"), "{s}");
}

fn blkid_uuid(disk: &Path, offset: u64) -> String {
    let out = run(Command::new("blkid")
        .args(["-p", "-o", "value", "-s", "UUID", "-O", &offset.to_string()])
        .arg(disk));
    out.trim().to_string()
}

#[test]
fn images_differing_in_one_root_file_differ_in_the_root_partition() {
    let dir = tempfile::tempdir().unwrap();
    let a = build_in(dir.path(), "a.raw", BootMode::Uefi, ImageFormat::Raw);
    let root = staging_root(&dir.path().join("b.root"), "another");
    let b = image::build(
        &root,
        &conf(BootMode::Uefi, ImageFormat::Raw),
        &inputs(1),
        &dir.path().join("b.raw"),
        &Silent,
    )
    .unwrap();
    assert_ne!(a.sha256, b.sha256);
    match image::compare(&a.path, &b.path).unwrap() {
        Comparison::Differs { region, offset } => {
            assert_eq!(region, Region::Partition("root".into()));
            assert!(offset >= a.partitions[1].offset, "{offset}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn images_from_different_seeds_differ_first_in_the_partition_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let c = conf(BootMode::Uefi, ImageFormat::Raw);
    let a = image::build(&root, &c, &inputs(1), &dir.path().join("a.raw"), &Silent).unwrap();
    let b = image::build(&root, &c, &inputs(2), &dir.path().join("b.raw"), &Silent).unwrap();
    let cmp = image::compare(&a.path, &b.path).unwrap();
    assert!(matches!(cmp, Comparison::Differs { region: Region::PartitionTable, .. }), "{cmp:?}");
    assert_ne!(a.partitions[1].part_uuid, b.partitions[1].part_uuid);
}

#[test]
fn extra_partitions_get_their_filesystems_and_stay_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let mut c = conf(BootMode::Uefi, ImageFormat::Raw);
    let extra = |label: &str, kind, fs, mib: u64| Partition {
        label: label.into(),
        kind,
        fs,
        size: Size::Bytes(mib << 20),
    };
    c.partitions.push(extra("data", PartitionKind::Linux, Filesystem::Ext4, 16));
    c.partitions.push(extra("swap", PartitionKind::Swap, Filesystem::Swap, 8));
    c.partitions.push(extra("spare", PartitionKind::Linux, Filesystem::None, 2));
    let a = image::build(&root, &c, &inputs(1), &dir.path().join("a.raw"), &Silent).unwrap();
    let b = image::build(&root, &c, &inputs(1), &dir.path().join("b.raw"), &Silent).unwrap();
    assert_eq!(a.sha256, b.sha256);
    let p = &a.partitions;
    assert_eq!(blkid_uuid(&a.path, p[2].offset), p[2].fs_uuid.clone().unwrap());
    assert_eq!(blkid_uuid(&a.path, p[3].offset), p[3].fs_uuid.clone().unwrap());
    assert_eq!(p[4].fs_uuid, None);
    assert_eq!(p[4].size, 2 << 20);
}

#[test]
fn auto_size_without_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let mut c = conf(BootMode::Uefi, ImageFormat::Raw);
    c.partitions.push(Partition {
        label: "data".into(),
        kind: PartitionKind::Linux,
        fs: Filesystem::Ext4,
        size: Size::Auto,
    });
    let err = image::build(&root, &c, &inputs(1), &dir.path().join("a.raw"), &Silent).unwrap_err();
    assert_eq!(
        err.to_string(),
        "partition `data` has size `auto`, but it has no content to size it by: give it a size"
    );
}

#[test]
fn too_small_root_names_the_partition_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let mut c = conf(BootMode::Uefi, ImageFormat::Raw);
    c.partitions[1].size = Size::Bytes(4 << 20);
    let out = dir.path().join("out/a.raw");
    let err = image::build(&root, &c, &inputs(1), &out, &Silent).unwrap_err();
    let ImageError::TooSmall { label, size, needed } = &err else { panic!("{err:?}") };
    assert_eq!((label.as_str(), *size), ("root", 4 << 20));
    assert!(*needed > 16 << 20, "{needed}");
    let text = err.to_string();
    assert!(
        text.starts_with("partition `root`: size 4MiB is too small: the content needs at least "),
        "{text}"
    );
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
}

#[test]
fn the_reported_minimum_sizes_are_enough() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let mut c = conf(BootMode::Hybrid, ImageFormat::Raw);
    c.partitions[0].size = Size::Bytes(1 << 20);
    c.partitions[1].size = Size::Bytes(1 << 20);
    let out = dir.path().join("a.raw");
    for i in [0, 1] {
        match image::build(&root, &c, &inputs(1), &out, &Silent) {
            Err(ImageError::TooSmall { needed, .. }) => c.partitions[i].size = Size::Bytes(needed),
            other => panic!("{other:?}"),
        }
    }
    let info = image::build(&root, &c, &inputs(1), &out, &Silent).unwrap();
    let fsck = Command::new("e2fsck")
        .args(["-fn", &format!("{}?offset={}", out.display(), info.partitions[1].offset)])
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));
}

#[test]
fn too_small_esp_names_the_partition() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let mut c = conf(BootMode::Hybrid, ImageFormat::Raw);
    c.partitions[0].size = Size::Bytes(16 << 20);
    let err = image::build(&root, &c, &inputs(1), &dir.path().join("a.raw"), &Silent).unwrap_err();
    let ImageError::TooSmall { needed, .. } = &err else { panic!("{err:?}") };
    assert!(*needed >= 33 << 20, "FAT32 needs 33 MiB: {needed}");
    let text = err.to_string();
    assert!(
        text.starts_with("partition `esp`: size 16MiB is too small: the content needs at least "),
        "{text}"
    );
}

#[test]
fn missing_kernel_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let mut c = conf(BootMode::Uefi, ImageFormat::Raw);
    c.kernel = "boot/vmlinuz-missing".into();
    let err =
        image::build(&root, &c, &inputs(1), &dir.path().join("a.raw"), &Silent).unwrap_err().to_string();
    assert!(err.starts_with("kernel `boot/vmlinuz-missing` not found in the staging root"), "{err}");
}

/// The host's tools, except one that is reported missing (or made to fail).
struct Without(&'static str, bool);

impl Tools for Without {
    fn command(&self, tool: HostTool) -> Result<Command, HostError> {
        match (tool.program == self.0, self.1) {
            (false, _) => tool.command(),
            (true, false) => {
                Err(HostError::MissingTool { program: tool.program, package: tool.debian_package })
            }
            (true, true) => {
                let mut c = Command::new("sh");
                c.args(["-c", "echo injected failure >&2; exit 1"]);
                Ok(c)
            }
        }
    }
    fn file(&self, file: HostFile) -> Result<PathBuf, HostError> {
        file.locate().map(PathBuf::from)
    }
}

fn build_without(tool: &'static str, fail: bool) -> (tempfile::TempDir, Result<ImageInfo, ImageError>) {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let out = dir.path().join("out/a.raw");
    let result = image::build_with(
        &Without(tool, fail),
        &root,
        &conf(BootMode::Hybrid, ImageFormat::Raw),
        &inputs(1),
        &out,
        &Silent,
    );
    (dir, result)
}

#[test]
fn missing_host_tool_names_the_debian_package() {
    for (tool, package) in
        [("mkfs.ext4", "e2fsprogs"), ("mcopy", "mtools"), ("sfdisk", "fdisk"), ("syslinux", "syslinux")]
    {
        let (_dir, result) = build_without(tool, false);
        let err = result.unwrap_err().to_string();
        assert_eq!(
            err,
            format!("host tool `{tool}` not found in PATH: install it with `apt-get install {package}`")
        );
    }
}

#[test]
fn a_build_failing_after_the_disk_was_started_leaves_nothing_behind() {
    let (dir, result) = build_without("sfdisk", true);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("injected failure"), "{err}");
    let left: Vec<_> =
        std::fs::read_dir(dir.path().join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn progress_is_reported_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let root = staging_root(&dir.path().join("root"), "fixture");
    let rec = Recorder::default();
    image::build(&root, &conf(BootMode::Uefi, ImageFormat::Raw), &inputs(1), &dir.path().join("a.raw"), &rec)
        .unwrap();
    let started: Vec<String> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::TaskStarted { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    // The disk is written while its partitions are built, each on a thread of its own.
    assert_eq!(started[0], "image:disk");
    let mut partitions = started[1..].to_vec();
    partitions.sort();
    assert_eq!(partitions, ["image:esp", "image:root"]);
    assert!(matches!(rec.events().last(), Some(Event::StageFinished { .. })));
}

#[test]
fn staging_root_without_a_tree_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = StagingRoot { dir: dir.path().join("missing"), entries: Default::default() };
    let err = image::build(
        &root,
        &conf(BootMode::Uefi, ImageFormat::Raw),
        &inputs(1),
        &dir.path().join("a.raw"),
        &Silent,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing"), "{err}");
}
