//! Fixtures for the image and boot tests: a busybox staging root that prints a marker line and
//! powers off, with the host's Debian kernel and an initramfs that loads virtio and ext4 modules
//! and finds the root partition by its GPT PARTUUID. The kernel and initramfs are built once into
//! cargo's target tmp dir and reused.
#![allow(dead_code)]

use ingot::profile::image::{BootMode, ImageConf, ImageFormat};
use ingot::stage::StagingRoot;
use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// In the order the Debian kernel needs them (each after its dependencies).
const MODULES: &[&str] = &[
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "virtio_blk",
    "crc32c_generic",
    "jbd2",
    "mbcache",
    "crc16",
    "ext4",
];

pub const SOURCE_DATE_EPOCH: u64 = 1_700_000_000;

/// The host kernel and the generated initramfs, cached across test runs.
pub struct BootFiles {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
}

pub fn boot_files() -> BootFiles {
    let (kernel, version) = host_kernel();
    // Keyed by what goes into the initramfs, so editing the init script rebuilds it.
    let mut key = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&(initramfs_init(MODULES), &version), &mut key);
    let key = std::hash::Hasher::finish(&key);
    let cache =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ingot-boot-fixture-{version}-{key:016x}"));
    let files = BootFiles { kernel: cache.join("vmlinuz"), initramfs: cache.join("initramfs.img") };
    std::fs::create_dir_all(&cache).unwrap();
    let lock = std::fs::File::create(cache.join(".lock")).unwrap();
    lock.lock().unwrap();
    if !cache.join(".complete").exists() {
        std::fs::copy(&kernel, &files.kernel).unwrap();
        make_initramfs(&version, &files.initramfs);
        std::fs::write(cache.join(".complete"), "").unwrap();
    }
    files
}

/// The newest /boot/vmlinuz-* and its version.
fn host_kernel() -> (PathBuf, String) {
    let mut kernels: Vec<PathBuf> = std::fs::read_dir("/boot")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("vmlinuz-"))
        .collect();
    kernels.sort();
    let kernel = kernels.pop().expect("a kernel in /boot (apt-get install linux-image-amd64)");
    let version = kernel.file_name().unwrap().to_string_lossy().trim_start_matches("vmlinuz-").to_string();
    (kernel, version)
}

fn make_initramfs(version: &str, out: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for d in ["bin", "dev", "proc", "sys", "newroot"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", r.join("bin/busybox")).unwrap();
    let mut loaded = Vec::new();
    for m in MODULES {
        let out = run(Command::new("modinfo").args(["-k", version, "-F", "filename", m]));
        let path = out.trim();
        if path.is_empty() || path.starts_with("(builtin)") {
            continue;
        }
        let dest = r.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(path, &dest).unwrap();
        loaded.push(*m);
    }
    run(Command::new("depmod").arg("-b").arg(r).arg(version));
    write_exec(&r.join("init"), &initramfs_init(&loaded));
    let script =
        format!("cd {} && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9n", r.display());
    let image = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(image.status.success(), "{}", String::from_utf8_lossy(&image.stderr));
    std::fs::write(out, image.stdout).unwrap();
}

/// busybox findfs cannot resolve PARTUUID=, so the init reads the GPT entries itself (unique GUID
/// at entry offset 16, first three fields little-endian).
fn initramfs_init(modules: &[&str]) -> String {
    format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in {modules}; do modprobe $m || echo "initramfs: cannot load $m"; done
want=$(sed -n 's/.*root=PARTUUID=\([^ ]*\).*/\1/p' /proc/cmdline)
tries=0
while [ ! -e /sys/block/vda ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
root=
i=0
while [ -z "$root" ] && [ $i -lt 128 ]; do
  set -- $(hexdump -s $((1024 + i * 128 + 16)) -n 16 -e '16/1 "%02x " "\n"' /dev/vda)
  [ $# -eq 16 ] || break
  [ "$*" = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" ] && break
  guid="$4$3$2$1-$6$5-$8$7-$9${{10}}-${{11}}${{12}}${{13}}${{14}}${{15}}${{16}}"
  i=$((i + 1))
  [ "$guid" = "$want" ] && root=/dev/vda$i
done
if [ -z "$root" ]; then echo "initramfs: no partition with PARTUUID=$want"; poweroff -f; fi
mount -t ext4 -o ro "$root" /newroot || {{ echo "initramfs: cannot mount $root"; poweroff -f; }}
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
"#,
        modules = modules.join(" ")
    )
}

/// A staging root: busybox with its applets, an init printing `ingot-boot-ok <hostname>`, the
/// cached kernel at `boot/vmlinuz` and initramfs at `boot/initramfs.img`.
pub fn staging_root(dir: &Path, hostname: &str) -> StagingRoot {
    let files = boot_files();
    for d in ["bin", "sbin", "etc", "dev", "proc", "sys", "boot", "usr/lib"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for applet in run(Command::new("/bin/busybox").arg("--list")).lines() {
        if applet != "busybox" {
            let _ = symlink("busybox", dir.join("bin").join(applet));
        }
    }
    write_exec(
        &dir.join("sbin/init"),
        "#!/bin/sh\nhostname -F /etc/hostname\necho \"ingot-boot-ok $(hostname)\"\npoweroff -f\n",
    );
    std::fs::write(dir.join("etc/hostname"), format!("{hostname}\n")).unwrap();
    std::fs::write(dir.join("usr/lib/os-release"), "ID=ingot\nNAME=\"ingot test\"\n").unwrap();
    symlink("../usr/lib/os-release", dir.join("etc/os-release")).unwrap();
    std::fs::copy(&files.kernel, dir.join("boot/vmlinuz")).unwrap();
    std::fs::copy(&files.initramfs, dir.join("boot/initramfs.img")).unwrap();
    StagingRoot { dir: dir.to_path_buf(), entries: BTreeMap::new() }
}

/// ESP + root, booting the fixture's kernel and initramfs, with a serial console.
pub fn conf(boot: BootMode, format: ImageFormat) -> ImageConf {
    ImageConf {
        format,
        boot,
        cmdline: "console=ttyS0 panic=-1".into(),
        initramfs: Some("boot/initramfs.img".into()),
        ..ImageConf::default()
    }
}

pub fn inputs(seed: u8) -> ingot::image::ImageInputs {
    ingot::image::ImageInputs { source_date_epoch: SOURCE_DATE_EPOCH, seed: [seed; 32] }
}

pub fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs a command that must succeed; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `debugfs -R <request>` on the partition at `offset` of a raw disk; its stdout.
pub fn debugfs(disk: &Path, offset: u64, request: &str) -> String {
    let spec = format!("{}?offset={offset}", disk.display());
    run(Command::new("debugfs").arg("-R").arg(request).arg(spec))
}
