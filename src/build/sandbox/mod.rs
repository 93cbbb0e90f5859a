//! The build sandbox: runs one phase script under `sh -e` in fresh mount, PID, network, UTS and IPC
//! namespaces (plus a user namespace when ingot is not root), with the host root read-only, the
//! build's own directories at fixed paths, loopback-only networking and no capabilities.
//!
//! Design: the parent resolves every host directory and computes every setup step (paths as C
//! strings, id maps, argv, envp), then does a vfork-style clone with the namespace flags (see
//! `vfork`: no page tables are copied, so starting a sandbox costs the same however large ingot
//! is). The child, PID 1 of its namespace, replays the steps with raw system calls only (see
//! `child`) and execs the shell. No helper binary is re-executed, so the library works from any program, tests included.
//! Because the shell is PID 1, everything it leaves behind dies when it exits; it dies itself with
//! ingot (PR_SET_PDEATHSIG) and on the timeout.

mod child;
mod command;
mod diagnose;
mod layout;
mod process;
mod vfork;

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

pub use command::FIXED_ENV;

/// Where the sandbox shows each directory: the same in every build, so that outputs and debug
/// information never contain host paths.
pub mod inside {
    pub const WORKDIR: &str = "/build/work";
    pub const DESTDIR: &str = "/build/image";
    pub const SYSROOT: &str = "/build/sysroot";
    pub const HOSTROOT: &str = "/build/host";
    pub const FILESDIR: &str = "/build/files";
    pub const TMPDIR: &str = "/tmp";
}

/// The host directories and environment of one phase run.
///
/// `workdir`, `destdir` and `tmpdir` are writable inside; the others read-only. Apart from
/// `filesdir`, none may lie in a tree the sandbox shares read-only with every build (/usr, /etc,
/// /opt, …), and the directories of other builds should sit beside them, outside those trees:
/// only the shared trees and these directories are visible inside.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub workdir: PathBuf,
    pub destdir: PathBuf,
    pub sysroot: PathBuf,
    pub hostroot: Option<PathBuf>,
    pub filesdir: Option<PathBuf>,
    pub tmpdir: PathBuf,
    /// The phase's variables; `FIXED_ENV` is added and may not be overridden.
    pub env: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
}

/// What `probe` found the sandbox can do here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxCaps {
    /// Runs through an unprivileged user namespace (ingot is not root).
    pub rootless: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox {role}: {source}")]
    Path { role: &'static str, source: io::Error },
    #[error(
        "sandbox {role} {} lies in {tree}, which every build sees read-only: put build directories \
         outside /, /usr, /etc, /opt and the other system trees",
        path.display()
    )]
    InsideSharedTree { role: &'static str, path: PathBuf, tree: String },
    #[error("{what} contains a NUL byte")]
    NulByte { what: String },
    #[error(
        "environment variable {name} is set by the sandbox itself (to {value}); remove it from the phase environment"
    )]
    ReservedVariable { name: String, value: &'static str },
    #[error("environment variable name {name:?} is invalid: {why}")]
    InvalidVariable { name: String, why: &'static str },
    #[error("the phase script is {len} bytes, more than the {max} bytes the kernel takes in one argument")]
    ScriptTooLong { len: usize, max: usize },
    #[error("could not prepare the sandbox: {what}: {source}")]
    Prepare { what: &'static str, source: io::Error },
    #[error("could not create the sandbox's namespaces: {source}{hint}")]
    Namespaces { source: io::Error, hint: String },
    #[error("could not set up the sandbox: {step}: {source}{hint}")]
    Setup { step: String, source: io::Error, hint: String },
    #[error("the phase ran past its timeout of {limit:?} and was killed")]
    Timeout { limit: Duration },
    #[error("waiting for the sandboxed phase (pid {pid}): {source}")]
    Wait { pid: i32, source: io::Error },
    #[error("the sandbox does not work here: a test phase exited with {status}; its output:\n{output}")]
    ProbeFailed { status: ExitStatus, output: String },
}

/// Runs `script` (already holding its prelude, see `phases::script_for`) as `sh -e -c` in a fresh
/// sandbox and returns the shell's exit status; a non-zero status is not an error. stdout and
/// stderr go to `log` at its current offset (open it for appending); stdin is /dev/null.
pub fn run(spec: &SandboxSpec, script: &str, log: &mut File) -> Result<ExitStatus, SandboxError> {
    let command = command::Command::new(script, &spec.env)?;
    let sources = open_sources(spec)?;
    let rootless = !nix::unistd::geteuid().is_root();
    let ids = rootless.then(|| layout::IdMap {
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    });
    let steps = layout::plan(&sources, &layout::host_top_level(), ids)?;
    // Duplicates land at fd 3 or above, so the child's dup2 onto 0..2 never meets itself.
    let dup = |what, fd: std::os::fd::BorrowedFd| {
        fd.try_clone_to_owned().map_err(|source| SandboxError::Prepare { what, source })
    };
    let null = File::open("/dev/null")
        .map_err(|source| SandboxError::Prepare { what: "opening /dev/null", source })?;
    let stdin = dup("duplicating /dev/null", null.as_fd())?;
    let log = dup("duplicating the log file", log.as_fd())?;
    let plan = child::ChildPlan {
        steps: &steps,
        exe: command::SHELL,
        argv: &command.argv,
        envp: &command.envp,
        stdin: stdin.as_raw_fd(),
        log: log.as_raw_fd(),
    };
    let running = process::spawn(&plan, rootless)?;
    running.wait(spec.timeout)
}

fn open_sources(spec: &SandboxSpec) -> Result<layout::Sources, SandboxError> {
    use layout::Source;
    let host = spec.hostroot.as_deref().map(|p| Source::open("hostroot", p)).transpose()?;
    let files = spec.filesdir.as_deref().map(|p| Source::open_shared("filesdir", p)).transpose()?;
    Ok(layout::Sources {
        work: Source::open("workdir", &spec.workdir)?,
        image: Source::open("destdir", &spec.destdir)?,
        sysroot: Source::open("sysroot", &spec.sysroot)?,
        host,
        files,
        tmp: Source::open("tmpdir", &spec.tmpdir)?,
    })
}

/// Checks that a sandbox can run here by running `true` in one; a refusal names the sysctl or
/// container setting to change.
pub fn probe() -> Result<SandboxCaps, SandboxError> {
    let prepare = |what| move |source| SandboxError::Prepare { what, source };
    let dir = tempfile::Builder::new()
        .prefix("ingot-probe-")
        .tempdir()
        .map_err(prepare("creating a probe directory"))?;
    let sub = |name: &str| -> Result<PathBuf, SandboxError> {
        let path = dir.path().join(name);
        fs_err::create_dir(&path).map_err(prepare("creating a probe directory"))?;
        Ok(path)
    };
    let spec = SandboxSpec {
        workdir: sub("work")?,
        destdir: sub("image")?,
        sysroot: sub("sysroot")?,
        hostroot: None,
        filesdir: None,
        tmpdir: sub("tmp")?,
        env: BTreeMap::new(),
        timeout: Some(Duration::from_secs(60)),
    };
    let log_path = dir.path().join("log");
    let mut log = fs_err::File::create(&log_path).map_err(prepare("creating the probe log"))?.into_parts().0;
    let status = run(&spec, "true", &mut log)?;
    if !status.success() {
        let output = fs_err::read_to_string(&log_path).unwrap_or_default();
        return Err(SandboxError::ProbeFailed { status, output });
    }
    Ok(SandboxCaps { rootless: !nix::unistd::geteuid().is_root() })
}
