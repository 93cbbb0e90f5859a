//! The real recipe tree end to end: the default profile (`qemu-amd64`) is built from upstream
//! sources by ingot (kernel, musl, busybox, dropbear, …), booted in QEMU, and checked: the init's
//! marker with the profile's hostname, and dropbear answering SSH on a forwarded loopback port.
//! Cold, this takes minutes (the kernel dominates); the store and distfiles are kept under
//! target/e2e, so later runs reuse them.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PROFILE: &str = "qemu-amd64";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ingot() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingot"));
    let e2e = repo().join("target/e2e");
    cmd.current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("--cache")
        .arg(e2e.join("store"))
        .arg("--distdir")
        .arg(e2e.join("distfiles"));
    cmd
}

/// Fetches the distfiles the profile needs from the Debian source archive when they are missing
/// (scripts/fetch-sources does nothing when all are present).
fn fetch_sources() {
    let status = Command::new(repo().join("scripts/fetch-sources"))
        .arg("--distdir")
        .arg(repo().join("target/e2e/distfiles"))
        .status()
        .expect("running scripts/fetch-sources");
    assert!(status.success(), "scripts/fetch-sources failed: the distfiles cannot be obtained");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn default_profile_builds_from_source_boots_and_answers_ssh() {
    fetch_sources();
    let image = repo().join("target/e2e/out").join(format!("{PROFILE}.raw"));
    let build = ingot().args(["build", PROFILE, "-o"]).arg(&image).output().unwrap();
    assert!(
        build.status.success(),
        "build failed:\n{}\n{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    let hostname = hostname_of_profile();
    let port = free_port();
    let mut qemu = ingot()
        .args(["boot", "--forward", &format!("{port}:22")])
        .arg(&image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let console = qemu.stdout.take().unwrap();
    let marker = format!("ingot-boot-ok {hostname}");
    let seen = wait_for(console, &[&marker, "login:"], Duration::from_secs(600));
    let banner = seen.as_ref().ok().map(|_| ssh_banner(port, Duration::from_secs(60)));
    let _ = qemu.kill();
    let _ = qemu.wait();
    let log =
        seen.unwrap_or_else(|log| panic!("the console never showed {marker:?} and a login prompt:\n{log}"));
    assert!(log.contains(&marker), "{log}");
    let banner = banner.unwrap();
    assert!(banner.starts_with("SSH-2.0-dropbear"), "port {port} answered {banner:?}");
}

/// The hostname the profile sets (the marker line carries it).
fn hostname_of_profile() -> String {
    let profile = ingot::profile::load(&repo().join("profiles"), PROFILE).unwrap_or_else(|e| panic!("{e}"));
    profile.system.hostname
}

/// Reads the console until every needle has appeared (in any order); Err with what was read.
/// The console is read in chunks on its own thread: a prompt ends without a newline, and a
/// silent guest must not block the test past its timeout.
fn wait_for(
    console: impl Read + Send + 'static,
    needles: &[&str],
    timeout: Duration,
) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut console = console;
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = console.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut log = String::new();
    loop {
        if needles.iter().all(|n| log.contains(n)) {
            return Ok(log);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => log.push_str(&String::from_utf8_lossy(&chunk)),
            Err(_) => return Err(log),
        }
    }
}

/// The first line an SSH server sends, retried while the guest is still starting dropbear.
fn ssh_banner(port: u16, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut buf = [0u8; 64];
            if let Ok(n) = s.read(&mut buf)
                && n > 0
            {
                return String::from_utf8_lossy(&buf[..n]).trim().to_string();
            }
        }
        if start.elapsed() > timeout {
            return String::from("(no answer)");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
