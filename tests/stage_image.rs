//! A merged-/usr staging root made by `stage::merge` from stored packages, written to a disk image
//! by the image stage and booted: what the manifests say about owners, modes and device nodes is
//! what the image holds, and the package database is in it.

mod stage_support;
mod support;

use std::path::Path;
use std::time::Duration;

use ingot::boot::{self, BootEnd, BootOptions};
use ingot::image::{self, ImageInfo};
use ingot::profile::image::{BootMode, ImageFormat};
use ingot::report::Silent;
use ingot::stage::{DeviceNode, NodeKind, merge};
use ingot::store::PackageMeta;
use stage_support::Packages;
use support::{boot_files, conf, debugfs, inputs, run};

const INIT: &str =
    "#!/bin/sh\necho \"ingot-staged-ok $(cat /var/db/ingot/sys-apps/busybox-1.35.0/KEY)\"\npoweroff -f\n";

fn named(atom: &str, version: &str) -> impl FnOnce(&mut PackageMeta) {
    let (atom, version) = (atom.to_string(), version.to_string());
    move |m| {
        m.atom = atom;
        m.version = version;
    }
}

/// Base layout with `bin`, `sbin` and `lib` as symlinks into `usr`, busybox installed below `bin/`
/// and `sbin/`, and the kernel; merged and written to a UEFI disk image in `dir`.
fn staged_image(dir: &Path) -> (ImageInfo, String) {
    let mut p = Packages::new();
    let layout = p.make_with(
        "baselayout",
        |d| {
            for dir in ["usr/bin", "usr/lib", "etc", "dev", "proc", "sys", "boot", "var"] {
                d.dir(dir, 0o755);
            }
            d.symlink("bin", "usr/bin").symlink("sbin", "usr/bin").symlink("lib", "usr/lib");
            d.file("etc/hostname", "staged\n", 0o644);
        },
        named("sys-apps/baselayout", "2"),
    );
    let busybox = p.make_with(
        "busybox",
        |d| {
            d.dir("bin", 0o755).dir("sbin", 0o755).copy("bin/busybox", Path::new("/bin/busybox"), 0o4755);
            for applet in ["sh", "cat", "echo", "poweroff"] {
                d.symlink(&format!("bin/{applet}"), "busybox");
            }
            d.file("sbin/init", INIT, 0o755).file("etc/shadow", "root:*:19000::::::\n", 0o640);
        },
        |m| {
            named("sys-apps/busybox", "1.35.0")(m);
            m.owners.insert("etc/shadow".into(), (0, 42));
            m.nodes.push((
                "dev/console".into(),
                DeviceNode { kind: NodeKind::Char, major: 5, minor: 1 },
                0o600,
            ));
        },
    );
    let files = boot_files();
    let kernel = p.make_with(
        "linux",
        |d| {
            d.dir("boot", 0o755).copy("boot/vmlinuz", &files.kernel, 0o644);
            d.copy("boot/initramfs.img", &files.initramfs, 0o644);
        },
        named("sys-kernel/linux", "6.1"),
    );
    let key = busybox.key.to_string();
    let root = merge(&[layout, busybox, kernel], &dir.join("root"), &Silent).unwrap();
    let conf = conf(BootMode::Uefi, ImageFormat::Raw);
    (image::build(&root, &conf, &inputs(1), &dir.join("disk.raw"), &Silent).unwrap(), key)
}

#[test]
fn image_of_a_merged_root_carries_what_the_manifests_say() {
    let dir = tempfile::tempdir().unwrap();
    let (info, key) = staged_image(dir.path());
    let at = info.partitions[1].offset;
    let stat = |path: &str| debugfs(&info.path, at, &format!("stat \"{path}\""));

    assert!(stat("/usr/bin/busybox").contains("Type: regular    Mode:  04755"));
    let shadow = stat("/etc/shadow");
    assert!(shadow.contains("Mode:  0640") && shadow.contains("User:     0   Group:    42"), "{shadow}");
    let console = stat("/dev/console");
    assert!(console.contains("Type: character special    Mode:  0600"), "{console}");
    assert!(console.contains("Device major/minor number: 05:01"), "{console}");
    assert!(stat("/bin").contains("Fast link dest: \"usr/bin\""));
    assert!(stat("/usr/bin/init").contains("Type: regular    Mode:  0755"));
    let db = "/var/db/ingot/sys-apps/busybox-1.35.0";
    assert_eq!(debugfs(&info.path, at, &format!("cat {db}/KEY")), format!("{key}\n"));
    let contents = debugfs(&info.path, at, &format!("cat {db}/CONTENTS"));
    assert!(contents.contains("obj /usr/bin/busybox ") && contents.contains("sym /usr/bin/sh -> busybox"));
    let kept = stat(&format!("{db}/CONTENTS"));
    assert!(kept.contains("Mode:  0644") && kept.contains("User:     0   Group:     0"), "{kept}");
    let spec = format!("{}?offset={at}", info.path.display());
    run(std::process::Command::new("e2fsck").args(["-fn", &spec]));
}

#[test]
fn image_of_a_merged_root_boots_and_reads_its_package_database() {
    let dir = tempfile::tempdir().unwrap();
    let (info, key) = staged_image(dir.path());
    let marker = format!("ingot-staged-ok {key}");
    let options = BootOptions {
        expect: Some(marker),
        // A TCG boot of Debian's kernel takes 10 to 20 s here, more under parallel tests.
        timeout: Duration::from_secs(600),
        bios: false,
        log: dir.path().join("console.log"),
        forwards: vec![],
        memory_mib: 512,
        echo: false,
    };
    let outcome = boot::boot(&info.path, &options).unwrap();
    let log = std::fs::read_to_string(dir.path().join("console.log")).unwrap_or_default();
    assert_eq!(outcome.end, BootEnd::Marker, "{log}");
}
