//! The whole pipeline through the CLI: fixture recipes (the host's Debian kernel with a generated
//! initramfs, static busybox, a base layout with an init) are built, staged, configured from the
//! profile and written as a disk image, which boots in QEMU. The configuration is checked inside
//! the image by reading the ext4 partition back with debugfs, never by mounting.

mod common;
mod support;

use common::pkgtree::{BuildResult, PkgTree};
use std::path::Path;

const INIT: &str = r#"#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
hostname -F /etc/hostname
for svc in /etc/runlevels/default/*; do [ -x "$svc" ] && "$svc" start; done
echo "ingot-boot-ok $(hostname)"
poweroff -f
"#;

const HELLO_SERVICE: &str =
    "#!/bin/sh\ncase \"$1\" in start) echo \"service hello: $(cat /etc/motd)\" ;; esac\n";

fn tree() -> PkgTree {
    let t = PkgTree::new();
    let boot = support::boot_files();
    let kernel = t.distfile("fixture-vmlinuz", &std::fs::read(&boot.kernel).unwrap());
    let initramfs = t.distfile("fixture-initramfs.img", &std::fs::read(&boot.initramfs).unwrap());
    let busybox = t.distfile("busybox-host", &std::fs::read("/bin/busybox").unwrap());
    t.recipe(
        "sys-kernel/fixture-kernel",
        "1.0",
        &format!(
            "description = \"The host's kernel and a generated initramfs\"\n\n[[source]]\nfile = \"fixture-vmlinuz\"\nsha256 = \"{kernel}\"\n\n[[source]]\nfile = \"fixture-initramfs.img\"\nsha256 = \"{initramfs}\"\n\n[build]\nsystem = \"none\"\ninstall = '''\ninstall -D -m644 \"$WORKDIR/fixture-vmlinuz\" \"$DESTDIR/boot/vmlinuz\"\ninstall -D -m644 \"$WORKDIR/fixture-initramfs.img\" \"$DESTDIR/boot/initramfs.img\"\n'''\n"
        ),
    );
    t.recipe(
        "sys-apps/fixture-busybox",
        "1.0",
        &format!(
            "description = \"Static busybox from the host\"\n\n[[source]]\nfile = \"busybox-host\"\nsha256 = \"{busybox}\"\n\n[build]\nsystem = \"none\"\ninstall = '''\ninstall -D -m755 \"$WORKDIR/busybox-host\" \"$DESTDIR/bin/busybox\"\nfor a in $(\"$DESTDIR/bin/busybox\" --list); do [ \"$a\" = busybox ] || ln -s busybox \"$DESTDIR/bin/$a\"; done\n'''\n"
        ),
    );
    let base = t.path("recipes/sys-apps/fixture-base/files");
    std::fs::create_dir_all(&base).unwrap();
    support::write_exec(&base.join("init"), INIT);
    support::write_exec(&base.join("hello.initd"), HELLO_SERVICE);
    t.recipe(
        "sys-apps/fixture-base",
        "1.0",
        "description = \"Directories, an init and a service\"\n\n[build]\nsystem = \"none\"\ninstall = '''\nfor d in dev proc sys tmp root home etc/init.d etc/runlevels/default; do mkdir -p \"$DESTDIR/$d\"; done\ninstall -D -m755 \"$FILESDIR/init\" \"$DESTDIR/sbin/init\"\ninstall -m755 \"$FILESDIR/hello.initd\" \"$DESTDIR/etc/init.d/hello\"\n'''\n",
    );
    profile(&t, "uefi", "uefi", "fixture-host");
    profile(&t, "hybrid", "hybrid", "fixture-host");
    t
}

fn profile(t: &PkgTree, name: &str, boot: &str, hostname: &str) {
    t.profile(
        name,
        &format!(
            r#"world = ["sys-kernel/fixture-kernel", "sys-apps/fixture-busybox", "sys-apps/fixture-base"]

[system]
hostname = "{hostname}"
services = ["hello"]

[[system.groups]]
name = "wheel"
gid = 10

[[system.users]]
name = "admin"
uid = 1000
groups = ["wheel"]
authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyForTests admin@test"]

[[system.files]]
path = "/etc/motd"
mode = "0644"
content = "Welcome to {{{{ hostname }}}} ({{{{ vars.site }}}})\n"
template = true

[system.vars]
site = "lab"

[image]
boot = "{boot}"
cmdline = "console=ttyS0 panic=-1"
initramfs = "boot/initramfs.img"
"#
        ),
    );
}

fn build_image(t: &PkgTree, profile: &str, out: &Path) -> BuildResult {
    let o = t.ingot().args(["build", profile, "--json", "-j2", "-o"]).arg(out).output().unwrap();
    BuildResult::from(o)
}

fn boot(image: &Path, bios: bool, expect: &str) -> std::process::Output {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("ingot");
    cmd.args(["boot", "--timeout", "240", "--expect", expect]).arg(image);
    if bios {
        cmd.arg("--bios");
    }
    cmd.output().unwrap()
}

/// The root partition's byte offset, from the build summary.
fn root_offset(r: &BuildResult) -> u64 {
    let parts = r.summary["image"]["partitions"].as_array().unwrap();
    parts.iter().find(|p| p["kind"] == "root").unwrap()["offset"].as_u64().unwrap()
}

#[test]
fn uefi_image_boots_to_the_marker_and_holds_the_profile_s_configuration() {
    let t = tree();
    let image = t.path("out/uefi.raw");
    let r = build_image(&t, "uefi", &image);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.summary["image"]["sha256"].as_str().unwrap().len(), 64);
    let off = root_offset(&r);
    assert_eq!(support::debugfs(&image, off, "cat /etc/hostname"), "fixture-host\n");
    assert_eq!(support::debugfs(&image, off, "cat /etc/motd"), "Welcome to fixture-host (lab)\n");
    let passwd = support::debugfs(&image, off, "cat /etc/passwd");
    assert!(passwd.lines().any(|l| l.starts_with("admin:x:1000:")), "{passwd}");
    let group = support::debugfs(&image, off, "cat /etc/group");
    assert!(group.lines().any(|l| l.starts_with("wheel:x:10:") && l.ends_with("admin")), "{group}");
    let home = support::debugfs(&image, off, "stat /home/admin");
    assert!(home.contains("User:  1000"), "{home}");
    let keys = support::debugfs(&image, off, "cat /home/admin/.ssh/authorized_keys");
    assert!(keys.contains("FixtureKeyForTests"), "{keys}");
    let db = support::debugfs(&image, off, "cat /var/db/ingot/sys-apps/fixture-base-1.0/KEY");
    assert_eq!(db.trim().len(), 64, "{db}");
    let fstab = support::debugfs(&image, off, "cat /etc/fstab");
    let root_uuid = r.summary["image"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "root")
        .unwrap()["fs_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let root_line: Vec<&str> =
        fstab.lines().find(|l| l.starts_with("UUID=")).unwrap().split_whitespace().collect();
    assert_eq!(root_line[..3], [format!("UUID={root_uuid}").as_str(), "/", "ext4"], "{fstab}");
    let out = boot(&image, false, "ingot-boot-ok fixture-host");
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{console}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(console.contains("service hello: Welcome to fixture-host (lab)"), "{console}");
}

#[test]
fn hybrid_image_boots_through_legacy_bios() {
    let t = tree();
    let image = t.path("out/hybrid.raw");
    let r = build_image(&t, "hybrid", &image);
    assert!(r.ok, "{}", r.stderr);
    let out = boot(&image, true, "ingot-boot-ok fixture-host");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn building_the_same_image_twice_gives_the_same_sha256() {
    let t = tree();
    let a = build_image(&t, "hybrid", &t.path("out/a.raw"));
    let b = build_image(&t, "hybrid", &t.path("out/b.raw"));
    assert!(a.ok && b.ok, "{}{}", a.stderr, b.stderr);
    assert_eq!(a.summary["image"]["sha256"], b.summary["image"]["sha256"]);
    let verify = t.ingot().args(["verify", "uefi", "-q"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(
        String::from_utf8_lossy(&verify.stdout).starts_with("identical: two builds of uefi give sha256 ")
    );
}

#[test]
fn changing_only_the_hostname_rebuilds_no_package() {
    let t = tree();
    let first = build_image(&t, "uefi", &t.path("out/1.raw"));
    assert!(first.ok, "{}", first.stderr);
    profile(&t, "uefi", "uefi", "renamed-host");
    let second = build_image(&t, "uefi", &t.path("out/2.raw"));
    assert!(second.ok, "{}", second.stderr);
    assert!(second.list("built").is_empty(), "{:?}", second.summary);
    assert_eq!(second.list("reused").len(), 3);
    assert_ne!(first.summary["image"]["sha256"], second.summary["image"]["sha256"]);
    assert_eq!(
        support::debugfs(&t.path("out/2.raw"), root_offset(&second), "cat /etc/hostname"),
        "renamed-host\n"
    );
}

#[test]
fn two_packages_owning_one_path_is_an_error_naming_both() {
    let t = tree();
    for (pn, text) in [("collide-a", "one"), ("collide-b", "two")] {
        t.recipe(
            &format!("app-misc/{pn}"),
            "1.0",
            &format!("description = \"Collides\"\n\n[build]\nsystem = \"none\"\ninstall = 'mkdir -p \"$DESTDIR/etc\" && echo {text} > \"$DESTDIR/etc/collide\"'\n"),
        );
    }
    t.profile("collide", "world = [\"sys-apps/fixture-base\", \"app-misc/collide-a\", \"app-misc/collide-b\"]\n[image]\ncmdline = \"console=ttyS0\"\n");
    let r = build_image(&t, "collide", &t.path("out/c.raw"));
    assert!(!r.ok);
    assert!(
        r.stderr.contains("app-misc/collide-a-1.0") && r.stderr.contains("app-misc/collide-b-1.0"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("etc/collide"), "{}", r.stderr);
    assert!(!t.path("out/c.raw").exists());
}

#[test]
fn an_unknown_group_names_the_profile_key() {
    let t = tree();
    let text = std::fs::read_to_string(t.path("profiles/uefi/profile.toml"))
        .unwrap()
        .replace("groups = [\"wheel\"]", "groups = [\"wheel2\"]");
    t.profile("badgroup", &text);
    let r = build_image(&t, "badgroup", &t.path("out/g.raw"));
    assert!(!r.ok);
    assert!(r.stderr.contains("system.users[0].groups: unknown group \"wheel2\""), "{}", r.stderr);
    assert!(r.stderr.contains("profiles/badgroup/profile.toml:"), "{}", r.stderr);
    assert!(!t.path("out/g.raw").exists());
}

#[test]
fn a_bad_template_names_the_profile_key() {
    let t = tree();
    let text = std::fs::read_to_string(t.path("profiles/uefi/profile.toml"))
        .unwrap()
        .replace("{{ vars.site }}", "{{ vars.nosuch }}");
    t.profile("badtemplate", &text);
    let r = build_image(&t, "badtemplate", &t.path("out/t.raw"));
    assert!(!r.ok);
    assert!(r.stderr.contains("system.files[0]"), "{}", r.stderr);
    assert!(r.stderr.contains("nosuch") || r.stderr.contains("undefined"), "{}", r.stderr);
}

#[test]
fn an_explicit_size_too_small_for_the_content_is_an_error_and_leaves_no_image() {
    let t = tree();
    let text = std::fs::read_to_string(t.path("profiles/uefi/profile.toml")).unwrap().replace(
        "initramfs = \"boot/initramfs.img\"\n",
        "initramfs = \"boot/initramfs.img\"\n\n[[image.partitions]]\nlabel = \"esp\"\ntype = \"esp\"\nsize = \"auto\"\n\n[[image.partitions]]\nlabel = \"root\"\ntype = \"root\"\nsize = \"2MiB\"\n",
    );
    t.profile("small", &text);
    let r = build_image(&t, "small", &t.path("out/s.raw"));
    assert!(!r.ok);
    assert!(r.stderr.contains("root"), "{}", r.stderr);
    assert!(r.stderr.contains("partition `root`: size 2MiB is too small"), "{}", r.stderr);
    assert!(!t.path("out/s.raw").exists());
}
