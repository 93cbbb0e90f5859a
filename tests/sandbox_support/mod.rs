//! A throwaway build directory for sandbox tests: work, image, sysroot and tmp under one temp dir.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use ingot::build::sandbox::{self, SandboxError, SandboxSpec};

pub struct Build {
    pub root: tempfile::TempDir,
    pub spec: SandboxSpec,
    pub log: PathBuf,
}

impl Build {
    pub fn new() -> Self {
        Self::in_dir(tempfile::tempdir().unwrap())
    }

    pub fn in_dir(root: tempfile::TempDir) -> Self {
        let dir = |name: &str| {
            let path = root.path().join(name);
            std::fs::create_dir_all(&path).unwrap();
            path
        };
        let spec = SandboxSpec {
            workdir: dir("work"),
            destdir: dir("image"),
            sysroot: dir("sysroot"),
            hostroot: None,
            filesdir: None,
            tmpdir: dir("tmp"),
            env: BTreeMap::new(),
            timeout: None,
        };
        let log = root.path().join("log");
        Self { root, spec, log }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// Runs `script` and returns the outcome with everything the phase logged so far.
    pub fn run(&self, script: &str) -> (Result<ExitStatus, SandboxError>, String) {
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let result = sandbox::run(&self.spec, script, &mut log);
        (result, std::fs::read_to_string(&self.log).unwrap())
    }

    /// Runs `script` and asserts it succeeded, returning the log.
    pub fn run_ok(&self, script: &str) -> String {
        let (result, log) = self.run(script);
        match result {
            Ok(status) if status.success() => log,
            other => panic!("phase failed: {other:?}\nlog:\n{log}"),
        }
    }
}

/// A string unique to this test run, to find a test's processes in /proc.
pub fn marker() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{}{:09}", std::process::id() % 1000, nanos)
}

/// Pids of host processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(needle)
        {
            found.push(pid);
        }
    }
    found
}

/// Polls `condition` until it holds, for at most a minute (a bound for hung runs, not a timing
/// assertion).
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// As root, runs this test binary's other tests again as `nobody` (uid 65534), so that the
/// rootless sandbox passes the same tests, and asserts they pass. The binary is copied to a
/// directory `nobody` can reach, since the build tree may be private to root.
pub fn rerun_other_tests_as_nobody(this_test: &str) {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::Builder::new().prefix("ingot-rootless-").tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("tests");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = std::process::Command::new(&exe);
    command.args(["--skip", this_test]).uid(65534).gid(65534).current_dir("/tmp").env("TMPDIR", "/tmp");
    // A child forked meanwhile by another test thread may briefly hold the copy open for writing.
    let mut out = command.output();
    for _ in 0..100 {
        match &out {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                out = command.output();
            }
            _ => break,
        }
    }
    let out = out.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tests failed as nobody:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed; 0 failed") && !stdout.contains("ok. 0 passed"), "{stdout}");
}
