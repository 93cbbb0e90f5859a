//! Choosing QEMU's accelerator. /dev/kvm can exist and still fail guests: on this kind of machine
//! (nested, no vmx/svm, a paravirtual kvm module) KVM runs plain real-mode code but stops at the
//! firmware's first FPU instruction with "KVM internal error", and QEMU then hangs instead of
//! exiting. So KVM is used only when a tiny guest that initialises the FPU runs to completion
//! under it, within its own timeout; otherwise TCG.

use crate::host::HostTool;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// What the probe writes to QEMU's isa-debug-exit port; QEMU then exits with `(v << 1) | 1`.
const PROBE_VALUE: u8 = 0x2a;

/// KVM if it runs the probe guest, else TCG; probed once per process.
pub fn choose(qemu: HostTool) -> Accel {
    static CHOSEN: OnceLock<Accel> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let usable = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_ok();
        if usable && probe(qemu, Accel::Kvm).unwrap_or(false) { Accel::Kvm } else { Accel::Tcg }
    })
}

/// Runs the probe guest under `accel`: true if it reached its exit port in time.
pub fn probe(qemu: HostTool, accel: Accel) -> std::io::Result<bool> {
    let dir = tempfile::tempdir()?;
    let rom = dir.path().join("probe.rom");
    fs_err::write(&rom, probe_rom())?;
    let Ok(mut cmd) = qemu.command() else { return Ok(false) };
    let mut child = probe_command(&mut cmd, accel, &rom).spawn()?;
    // QEMU reports a guest KVM cannot run ("KVM internal error") and then hangs: watching its
    // stderr ends the probe at once instead of at the timeout.
    let failed = Arc::new(AtomicBool::new(false));
    let reader = child.stderr.take().map(|stderr| {
        let failed = Arc::clone(&failed);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("internal error") {
                    failed.store(true, Ordering::Relaxed);
                }
            }
        })
    });
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if failed.load(Ordering::Relaxed) || Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Some(r) = reader {
        let _ = r.join();
    }
    Ok(status.and_then(|s| s.code()) == Some(i32::from(PROBE_VALUE) * 2 + 1))
}

fn probe_command<'a>(cmd: &'a mut Command, accel: Accel, rom: &Path) -> &'a mut Command {
    cmd.arg("-machine").arg(format!("q35,accel={}", accel.name()));
    if accel == Accel::Kvm {
        // As the boot itself runs it: some nested KVMs fail only with the host CPU model.
        cmd.args(["-cpu", "host"]);
    }
    cmd.args(["-nodefaults", "-display", "none", "-no-reboot", "-bios"])
        .arg(rom)
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x01"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
}

/// A 64 KiB BIOS whose reset vector (offset 0xfff0) does `fwait; fninit; cpuid`, then writes
/// PROBE_VALUE to port 0xf4 and halts.
fn probe_rom() -> Vec<u8> {
    let mut rom = vec![0xf4u8; 64 << 10];
    let code = [
        0x9b,
        0xdb,
        0xe3, // fwait; fninit
        0x66,
        0x31,
        0xc0, // xor eax, eax
        0x0f,
        0xa2, // cpuid
        0xb0,
        PROBE_VALUE, // mov al, PROBE_VALUE
        0xe6,
        0xf4, // out 0xf4, al
        0xf4, // hlt
    ];
    rom[0xfff0..0xfff0 + code.len()].copy_from_slice(&code);
    rom
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host;

    #[test]
    fn probe_guest_runs_to_its_exit_port_under_tcg() {
        assert!(probe(host::QEMU_SYSTEM_X86_64, Accel::Tcg).unwrap());
    }

    #[test]
    fn probe_rom_fits_the_reset_vector() {
        let rom = probe_rom();
        assert_eq!(rom.len(), 65536);
        assert_eq!(&rom[0xfff0..0xfff3], &[0x9b, 0xdb, 0xe3]);
    }

    #[test]
    fn missing_qemu_is_a_failed_probe() {
        let qemu = HostTool { program: "ingot-no-such-qemu", debian_package: "x" };
        assert!(!probe(qemu, Accel::Tcg).unwrap());
    }
}
