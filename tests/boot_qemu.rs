//! Booting fixture images in QEMU (TCG here: no usable KVM) until the root's init prints its
//! marker, under UEFI and under SeaBIOS, and the failures: timeout and early exit, each carrying
//! the console's last lines.

mod support;

use ingot::boot::{self, BootEnd, BootError, BootOptions};
use ingot::image::{self, ImageInfo};
use ingot::profile::image::{BootMode, ImageFormat};
use ingot::report::Silent;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

/// Generous: a TCG boot of Debian's kernel takes 10 to 20 s here, more when tests run in
/// parallel on two cores. Only the marker ends a passing test early.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

fn image(dir: &Path, boot: BootMode, format: ImageFormat, init: Option<&str>) -> ImageInfo {
    let root = staging_root(&dir.join("root"), "fixture");
    if let Some(init) = init {
        write_exec(&root.dir.join("sbin/init"), init);
    }
    let started = Instant::now();
    let info = image::build(&root, &conf(boot, format), &inputs(1), &dir.join("disk"), &Silent).unwrap();
    eprintln!("image built in {:.2?}", started.elapsed());
    info
}

fn options(dir: &Path, expect: &str, bios: bool) -> BootOptions {
    BootOptions {
        expect: Some(expect.into()),
        timeout: BOOT_TIMEOUT,
        bios,
        log: dir.join("console.log"),
        forwards: vec![],
        memory_mib: 512,
        echo: false,
    }
}

/// No process still has this test's image on its command line.
fn assert_no_qemu_left(image: &Path) {
    let needle = image.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        assert!(!cmdline.contains(&needle), "still running: {cmdline}");
    }
}

#[test]
fn uefi_image_boots_to_the_marker() {
    let dir = tempfile::tempdir().unwrap();
    let info = image(dir.path(), BootMode::Uefi, ImageFormat::Raw, None);
    let outcome = boot::boot(&info.path, &options(dir.path(), "ingot-boot-ok fixture", false)).unwrap();
    eprintln!("UEFI boot to marker: {:.1?} ({:?})", outcome.elapsed, outcome.accel);
    assert_eq!(outcome.end, BootEnd::Marker);
    let log = std::fs::read_to_string(dir.path().join("console.log")).unwrap();
    assert!(log.contains("EFI stub: Loaded initrd"), "{log}");
    assert_no_qemu_left(&info.path);
}

#[test]
fn hybrid_image_boots_to_the_marker_under_seabios() {
    let dir = tempfile::tempdir().unwrap();
    let info = image(dir.path(), BootMode::Hybrid, ImageFormat::Raw, None);
    let outcome = boot::boot(&info.path, &options(dir.path(), "ingot-boot-ok fixture", true)).unwrap();
    eprintln!("BIOS boot to marker: {:.1?}", outcome.elapsed);
    assert_eq!(outcome.end, BootEnd::Marker);
    let log = std::fs::read_to_string(dir.path().join("console.log")).unwrap();
    assert!(!log.contains("EFI stub"), "booted through UEFI? {log}");
    assert_no_qemu_left(&info.path);
}

#[test]
fn qcow2_image_boots_and_the_image_is_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let info = image(dir.path(), BootMode::Uefi, ImageFormat::Qcow2, None);
    let outcome = boot::boot(&info.path, &options(dir.path(), "ingot-boot-ok fixture", false)).unwrap();
    assert_eq!(outcome.end, BootEnd::Marker);
    let after = std::fs::read(&info.path).unwrap();
    assert_eq!(hex_sha256(&after), info.sha256, "the boot wrote to the image");
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn guest_powering_off_before_the_marker_is_an_error_with_the_console_tail() {
    let dir = tempfile::tempdir().unwrap();
    let init = "#!/bin/sh\necho 'init: giving up early'\npoweroff -f\n";
    let info = image(dir.path(), BootMode::Uefi, ImageFormat::Raw, Some(init));
    let err = boot::boot(&info.path, &options(dir.path(), "ingot-boot-ok", false)).unwrap_err();
    let BootError::ExitedEarly { tail, status, .. } = &err else { panic!("{err:?}") };
    assert!(status.success(), "{status}");
    assert!(tail.contains("init: giving up early"), "{tail}");
    assert!(tail.lines().count() <= 30, "{tail}");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "QEMU exited (exit status: 0) before `ingot-boot-ok` appeared on the console; last lines of "
        ),
        "{text}"
    );
    assert_no_qemu_left(&info.path);
}

#[test]
fn without_expect_the_boot_runs_until_the_guest_powers_off() {
    let dir = tempfile::tempdir().unwrap();
    let init = "#!/bin/sh\necho 'init: interactive session over'\npoweroff -f\n";
    let info = image(dir.path(), BootMode::Uefi, ImageFormat::Raw, Some(init));
    let mut opts = options(dir.path(), "", false);
    opts.expect = None;
    let outcome = boot::boot(&info.path, &opts).unwrap();
    let BootEnd::Exited(status) = outcome.end else { panic!("{outcome:?}") };
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(dir.path().join("console.log")).unwrap();
    assert!(log.contains("init: interactive session over"), "{log}");
    assert_no_qemu_left(&info.path);
}

#[test]
fn boot_timeout_stops_qemu_and_reports_the_console_tail() {
    let dir = tempfile::tempdir().unwrap();
    let info = image(dir.path(), BootMode::Uefi, ImageFormat::Raw, None);
    let mut opts = options(dir.path(), "text no guest prints", false);
    opts.timeout = Duration::from_secs(2);
    let err = boot::boot(&info.path, &opts).unwrap_err();
    let BootError::Timeout { tail, log, .. } = &err else { panic!("{err:?}") };
    let log_text = std::fs::read_to_string(log).unwrap();
    let last_line = tail.lines().last().unwrap_or_default();
    assert!(log_text.contains(last_line), "{tail}");
    let text = err.to_string();
    let head = format!(
        "`text no guest prints` did not appear on the console within 2s; last lines of {}:",
        log.display()
    );
    assert!(text.starts_with(&head), "{text}");
    assert_no_qemu_left(&info.path);
}

#[test]
fn xz_image_is_refused_before_qemu_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.raw.xz");
    std::fs::write(&path, b"\xfd7zXZ\0 an xz stream").unwrap();
    let err = boot::boot(&path, &options(dir.path(), "x", false)).unwrap_err();
    assert!(matches!(err, BootError::Compressed(_)), "{err:?}");
    assert!(!dir.path().join("console.log").exists());
}
