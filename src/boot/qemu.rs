//! The QEMU command line for booting an image: q35, OVMF (read-only code, private copy of the
//! variables) or SeaBIOS, the image as a virtio disk in snapshot mode (a boot never writes to
//! it), user networking restricted to the forwards asked for, serial console on stdio.

use super::accel::Accel;
use std::ffi::OsString;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Raw,
    Qcow2,
}

/// OVMF's two flash images: the firmware (read-only) and a writable copy of its variables.
pub struct Firmware<'a> {
    pub code: &'a Path,
    pub vars: &'a Path,
}

pub struct Machine<'a> {
    pub image: &'a Path,
    pub format: DiskFormat,
    pub accel: Accel,
    pub memory_mib: u32,
    /// `None`: SeaBIOS, QEMU's default firmware.
    pub uefi: Option<Firmware<'a>>,
    pub forwards: &'a [(u16, u16)],
}

pub fn args(m: &Machine) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |parts: &[&str]| a.extend(parts.iter().map(OsString::from));
    push(&["-machine", &format!("q35,accel={}", m.accel.name())]);
    // TCG's default CPU model (qemu64) lacks x86-64-v2 and later instructions: images tuned
    // with `-march=x86-64-v3` would die with SIGILL. `max` emulates everything TCG can.
    push(&["-cpu", if m.accel == Accel::Kvm { "host" } else { "max" }]);
    push(&["-m", &m.memory_mib.to_string(), "-nographic", "-no-reboot"]);
    push(&["-nic", &nic(m.forwards)]);
    // An idle guest under TCG gathers entropy slowly: without a hardware RNG, a server calling
    // getrandom() (dropbear generating its host keys) can wait minutes for the crng.
    push(&["-device", "virtio-rng-pci"]);
    if let Some(fw) = &m.uefi {
        push(&["-drive", &format!("if=pflash,format=raw,unit=0,readonly=on,file={}", opt(fw.code))]);
        push(&["-drive", &format!("if=pflash,format=raw,unit=1,file={}", opt(fw.vars))]);
    }
    let format = match m.format {
        DiskFormat::Raw => "raw",
        DiskFormat::Qcow2 => "qcow2",
    };
    push(&["-drive", &format!("file={},format={format},if=virtio,snapshot=on", opt(m.image))]);
    a
}

/// User-mode networking: `restrict=on` keeps the guest from reaching any address (host or
/// beyond); explicit forwards still work, and each listens on the host's loopback only.
fn nic(forwards: &[(u16, u16)]) -> String {
    let mut s = String::from("user,model=virtio-net-pci,restrict=on");
    for (host, guest) in forwards {
        s += &format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}");
    }
    s
}

/// QEMU option values end at a comma; a literal comma is written twice.
fn opt(path: &Path) -> String {
    path.to_string_lossy().replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(args: &[OsString]) -> String {
        args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn uefi_boot_uses_read_only_code_and_a_private_vars_copy() {
        let m = Machine {
            image: Path::new("/img/a.raw"),
            format: DiskFormat::Raw,
            accel: Accel::Tcg,
            memory_mib: 512,
            uefi: Some(Firmware { code: Path::new("/ovmf/code.fd"), vars: Path::new("/tmp/x/vars.fd") }),
            forwards: &[(2222, 22), (8080, 80)],
        };
        let t = text(&args(&m));
        assert!(t.starts_with("-machine q35,accel=tcg -cpu max -m 512 -nographic -no-reboot "), "{t}");
        assert!(t.contains("-nic user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80 "), "{t}");
        assert!(t.contains(" -device virtio-rng-pci "), "{t}");
        assert!(t.contains("-drive if=pflash,format=raw,unit=0,readonly=on,file=/ovmf/code.fd "), "{t}");
        assert!(t.contains("-drive if=pflash,format=raw,unit=1,file=/tmp/x/vars.fd "), "{t}");
        assert!(t.ends_with("-drive file=/img/a.raw,format=raw,if=virtio,snapshot=on"), "{t}");
    }

    #[test]
    fn bios_boot_has_no_flash_and_kvm_passes_the_host_cpu() {
        let m = Machine {
            image: Path::new("/img/a,b.qcow2"),
            format: DiskFormat::Qcow2,
            accel: Accel::Kvm,
            memory_mib: 256,
            uefi: None,
            forwards: &[],
        };
        let t = text(&args(&m));
        assert!(t.starts_with("-machine q35,accel=kvm -cpu host "), "{t}");
        assert!(!t.contains("pflash"), "{t}");
        assert!(t.contains("-nic user,model=virtio-net-pci,restrict=on "), "{t}");
        assert!(t.ends_with("file=/img/a,,b.qcow2,format=qcow2,if=virtio,snapshot=on"), "{t}");
    }
}
