//! Boot: starts an image in QEMU with its serial console on stdio, either waiting for an expected
//! line (tests, `ingot boot --expect`) or wired to the terminal. QEMU never outlives the call:
//! it is killed when the call returns, and by the kernel if this process dies first.

mod accel;
mod console;
mod qemu;

pub use accel::Accel;

use crate::host::{self, HostError};
use console::{Matcher, Seen};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of the console log an error carries.
const TAIL_LINES: usize = 30;

#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Succeed as soon as this text appears on the console; `None`: interactive, until QEMU
    /// exits.
    pub expect: Option<String>,
    /// How long to wait for `expect`.
    pub timeout: Duration,
    /// Boot through SeaBIOS (legacy BIOS) instead of OVMF (UEFI).
    pub bios: bool,
    /// Everything the console printed, and QEMU's own messages.
    pub log: PathBuf,
    /// (host loopback port, guest port) TCP forwards.
    pub forwards: Vec<(u16, u16)>,
    pub memory_mib: u32,
    /// Copy the console to stdout as well.
    pub echo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootOutcome {
    pub end: BootEnd,
    pub accel: Accel,
    /// From QEMU's start to the marker (or to its exit).
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootEnd {
    /// The expected text appeared; QEMU was stopped.
    Marker,
    /// An interactive session ended when QEMU exited.
    Exited(ExitStatus),
}

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}: the image is xz-compressed: decompress it (`unxz`) before booting")]
    Compressed(PathBuf),
    #[error("port forward {host}->{guest}: ports must be non-zero and host ports unique")]
    BadForward { host: u16, guest: u16 },
    #[error("`{expect}` did not appear on the console within {secs}s; last lines of {log}:\n{tail}", secs = .timeout.as_secs_f64(), log = .log.display())]
    Timeout { expect: String, timeout: Duration, log: PathBuf, tail: String },
    #[error("QEMU exited ({status}) before `{expect}` appeared on the console; last lines of {log}:\n{tail}", log = .log.display())]
    ExitedEarly { expect: String, status: ExitStatus, log: PathBuf, tail: String },
}

/// Boots `image` (raw or qcow2) as `opts` say.
pub fn boot(image: &Path, opts: &BootOptions) -> Result<BootOutcome, BootError> {
    let format = disk_format(image)?;
    check_forwards(&opts.forwards)?;
    let qemu_tool = host::QEMU_SYSTEM_X86_64;
    let mut cmd = qemu_tool.command()?;
    let accel = accel::choose(qemu_tool);
    let firmware_dir = tempfile::tempdir()?;
    let (code, vars) = if opts.bios {
        (None, None)
    } else {
        let vars = firmware_dir.path().join("OVMF_VARS.fd");
        fs_err::copy(host::OVMF_VARS.locate()?, &vars)?;
        (Some(host::OVMF_CODE.locate()?), Some(vars))
    };
    let uefi = code.zip(vars.as_deref()).map(|(code, vars)| qemu::Firmware { code, vars });
    let machine =
        qemu::Machine { image, format, accel, memory_mib: opts.memory_mib, uefi, forwards: &opts.forwards };
    cmd.args(qemu::args(&machine));
    let interactive = opts.expect.is_none();
    cmd.stdin(if interactive { Stdio::inherit() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    run(cmd, opts, accel)
}

fn run(mut cmd: Command, opts: &BootOptions, accel: Accel) -> Result<BootOutcome, BootError> {
    if let Some(dir) = opts.log.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    let log = Arc::new(Mutex::new(fs_err::File::create(&opts.log)?));
    let started = Instant::now();
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut qemu = Running(cmd.spawn().map_err(|source| HostError::Spawn { program, source })?);
    let (tx, rx) = mpsc::channel();
    let stdout = reader(qemu.0.stdout.take());
    let stderr = reader(qemu.0.stderr.take());
    let echo = opts.echo || opts.expect.is_none();
    let matcher = opts.expect.as_deref().map(Matcher::new);
    let out_log = Arc::clone(&log);
    let readers = [
        std::thread::spawn(move || console::pump(stdout, out_log, echo, matcher, Some(tx))),
        std::thread::spawn(move || console::pump(stderr, log, false, None, None)),
    ];
    let ended = match opts.expect {
        Some(_) => wait_for(&mut qemu, &rx, started + opts.timeout),
        None => qemu.0.wait().map(Ended::Exited),
    };
    let elapsed = started.elapsed();
    // Stopped and drained before reading the log, so its tail is complete.
    qemu.stop();
    for r in readers {
        let _ = r.join();
    }
    let end = outcome(ended?, opts)?;
    Ok(BootOutcome { end, accel, elapsed })
}

enum Ended {
    Marker,
    Exited(ExitStatus),
    TimedOut,
}

fn wait_for(qemu: &mut Running, events: &mpsc::Receiver<Seen>, deadline: Instant) -> std::io::Result<Ended> {
    match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Seen::Marker) => Ok(Ended::Marker),
        Ok(Seen::End) | Err(RecvTimeoutError::Disconnected) => qemu.0.wait().map(Ended::Exited),
        Err(RecvTimeoutError::Timeout) => Ok(Ended::TimedOut),
    }
}

fn outcome(ended: Ended, opts: &BootOptions) -> Result<BootEnd, BootError> {
    let tail = || console::tail(&opts.log, TAIL_LINES);
    let log = opts.log.clone();
    match (ended, opts.expect.clone()) {
        (Ended::Marker, _) => Ok(BootEnd::Marker),
        (Ended::Exited(status), None) => Ok(BootEnd::Exited(status)),
        (Ended::Exited(status), Some(expect)) => {
            Err(BootError::ExitedEarly { expect, status, log, tail: tail() })
        }
        (Ended::TimedOut, expect) => Err(BootError::Timeout {
            expect: expect.unwrap_or_default(),
            timeout: opts.timeout,
            log,
            tail: tail(),
        }),
    }
}

fn reader(r: Option<impl Read + Send + 'static>) -> Box<dyn Read + Send> {
    match r {
        Some(r) => Box::new(r),
        None => Box::new(std::io::empty()),
    }
}

/// raw or qcow2 by their first bytes; xz cannot be booted in place.
fn disk_format(image: &Path) -> Result<qemu::DiskFormat, BootError> {
    let mut magic = [0u8; 6];
    let n = fs_err::File::open(image)?.read(&mut magic)?;
    match &magic[..n] {
        m if m.starts_with(b"QFI\xfb") => Ok(qemu::DiskFormat::Qcow2),
        m if m.starts_with(b"\xfd7zXZ\0") => Err(BootError::Compressed(image.to_path_buf())),
        _ => Ok(qemu::DiskFormat::Raw),
    }
}

fn check_forwards(forwards: &[(u16, u16)]) -> Result<(), BootError> {
    for (i, &(host, guest)) in forwards.iter().enumerate() {
        if host == 0 || guest == 0 || forwards[..i].iter().any(|f| f.0 == host) {
            return Err(BootError::BadForward { host, guest });
        }
    }
    Ok(())
}

/// Asks the kernel to kill QEMU when the thread that started it ends, so a crashed or killed
/// ingot leaves no guest behind. `boot` blocks its calling thread until QEMU is gone, so that
/// thread outlives it in the normal case.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes the prctl system
    // call, which is async-signal-safe; it touches no memory shared with the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
}

/// A QEMU process that is killed and reaped when dropped.
struct Running(Child);

impl Running {
    fn stop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xz_images_are_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.raw.xz");
        std::fs::write(&p, b"\xfd7zXZ\0rest").unwrap();
        let err = disk_format(&p).unwrap_err().to_string();
        assert!(
            err.ends_with("a.raw.xz: the image is xz-compressed: decompress it (`unxz`) before booting"),
            "{err}"
        );
    }

    #[test]
    fn qcow2_and_raw_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        std::fs::write(&q, b"QFI\xfb\0\0\0\x03").unwrap();
        assert_eq!(disk_format(&q).unwrap(), qemu::DiskFormat::Qcow2);
        let r = dir.path().join("r");
        std::fs::write(&r, [0u8; 512]).unwrap();
        assert_eq!(disk_format(&r).unwrap(), qemu::DiskFormat::Raw);
    }

    #[test]
    fn missing_image_names_its_path() {
        let err = disk_format(Path::new("/nonexistent/disk.raw")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/disk.raw"), "{err}");
    }

    #[test]
    fn zero_or_repeated_ports_are_refused() {
        check_forwards(&[(2222, 22), (8080, 80)]).unwrap();
        let err = check_forwards(&[(0, 22)]).unwrap_err().to_string();
        assert_eq!(err, "port forward 0->22: ports must be non-zero and host ports unique");
        assert!(check_forwards(&[(2222, 22), (2222, 80)]).is_err());
    }
}
