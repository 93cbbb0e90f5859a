//! Disk full while writing the image: the output directory is an 8 MiB tmpfs (mounted as in
//! `diskfull_store.rs`), too small for the image's partitions. The build fails with exit status 1
//! and "No space left on device", and leaves nothing in the output directory: no image, no
//! temporary, no work directory.

mod common;
#[path = "common/smallfs.rs"]
mod smallfs;
mod support;

use common::pkgtree::PkgTree;
use smallfs::SmallFs;
use std::path::Path;

/// The host's kernel and initramfs, and a base with an init: an image of about 20 MB.
fn tree() -> PkgTree {
    let t = PkgTree::new();
    let boot = support::boot_files();
    let kernel = t.distfile("fixture-vmlinuz", &std::fs::read(&boot.kernel).unwrap());
    let initramfs = t.distfile("fixture-initramfs.img", &std::fs::read(&boot.initramfs).unwrap());
    t.recipe(
        "sys-kernel/fixture-kernel",
        "1.0",
        &format!(
            "description = \"The host's kernel\"\n\n[[source]]\nfile = \"fixture-vmlinuz\"\nsha256 = \"{kernel}\"\n\n[[source]]\nfile = \"fixture-initramfs.img\"\nsha256 = \"{initramfs}\"\n\n[build]\nsystem = \"none\"\ninstall = '''\ninstall -D -m644 \"$WORKDIR/fixture-vmlinuz\" \"$DESTDIR/boot/vmlinuz\"\ninstall -D -m644 \"$WORKDIR/fixture-initramfs.img\" \"$DESTDIR/boot/initramfs.img\"\n'''\n"
        ),
    );
    t.recipe(
        "sys-apps/fixture-base",
        "1.0",
        "description = \"An init\"\n\n[build]\nsystem = \"none\"\ninstall = 'mkdir -p \"$DESTDIR/sbin\" && printf \"#!/bin/sh\\n\" > \"$DESTDIR/sbin/init\" && chmod 755 \"$DESTDIR/sbin/init\"'\n",
    );
    t.profile(
        "p",
        "world = [\"sys-kernel/fixture-kernel\", \"sys-apps/fixture-base\"]\n\n[image]\nboot = \"uefi\"\ncmdline = \"console=ttyS0\"\ninitramfs = \"boot/initramfs.img\"\n",
    );
    t
}

#[test]
fn an_image_that_overflows_its_output_filesystem_fails_clearly_and_leaves_nothing_there() {
    let t = tree();
    let mount = t.path("small");
    std::fs::create_dir_all(&mount).unwrap();
    let fs = SmallFs::mount(&mount, "8m");
    let out_dir = mount.join("out");
    let mut cmd = fs.command(Path::new(env!("CARGO_BIN_EXE_ingot")));
    t.ingot_args(&mut cmd, &t.path("store"), &t.path("distfiles"))
        .args(["build", "p", "-o"])
        .arg(out_dir.join("p.raw"));
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("ingot build said:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(fs.view(&out_dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "the output directory holds {left:?}");
    let verify = t.ingot().args(["cache", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}
