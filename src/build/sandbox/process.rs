//! Starting the sandboxed phase (a vfork-style clone into new namespaces) and waiting for it, with
//! an optional timeout; a `Running` phase that is dropped early is killed and reaped.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::libc::{self, c_int, pid_t};

use super::SandboxError;
use super::child::{self, ChildPlan, FINAL_STEPS, Report, Shared};
use super::{diagnose, vfork};

/// Clones the child into fresh mount, PID, network, UTS and IPC namespaces (and a user namespace
/// when rootless), lets it set itself up, and returns once it has exec'd the phase shell.
pub(super) fn spawn(plan: &ChildPlan, rootless: bool) -> Result<Running, SandboxError> {
    let (lifeline_read, lifeline_write) = pipe()?;
    let report = Report::default();
    let start = Start {
        plan,
        shared: Shared {
            report: &report,
            lifeline_read: lifeline_read.as_raw_fd(),
            lifeline_write: lifeline_write.as_raw_fd(),
        },
    };
    let mut flags =
        libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
    if rootless {
        flags |= libc::CLONE_NEWUSER;
    }
    let arg = (&start as *const Start).cast_mut().cast::<c_void>();
    // SAFETY: `start_child` only runs `child::exec`, which makes system calls on the plan and
    // never returns; `start` lives on this frame until the clone has returned.
    let cloned = unsafe { vfork::spawn(flags, start_child, arg) };
    drop(lifeline_write);
    let pid = cloned.map_err(|source| {
        let hint = diagnose::hint(rootless, source.raw_os_error());
        SandboxError::Namespaces { source, hint }
    })?;
    let mut running = Running { pid, reaped: false };
    match report.failure() {
        None => Ok(running),
        Some((step, errno)) => {
            // The child has exited after recording the failure; reap it so no zombie is left.
            running.reap()?;
            let source = io::Error::from_raw_os_error(errno);
            Err(SandboxError::Setup {
                step: describe(plan, step),
                source,
                hint: diagnose::hint(rootless, Some(errno)),
            })
        }
    }
}

/// What the child starts from, passed through clone's single pointer argument.
struct Start<'a> {
    plan: &'a ChildPlan<'a>,
    shared: Shared<'a>,
}

extern "C" fn start_child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Start` that `spawn` passed to the clone, alive until the clone returns,
    // which is after this child has exec'd or exited.
    let start = unsafe { &*arg.cast_const().cast::<Start>() };
    // SAFETY: this is the child of `vfork::spawn`, which blocked all signals.
    unsafe { child::exec(start.plan, &start.shared) }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SandboxError::Prepare { what: "creating a pipe", source: e.into() })
}

fn describe(plan: &ChildPlan, step: u32) -> String {
    let index = step as usize;
    match plan.steps.get(index) {
        Some(step) => step.what.clone(),
        None => FINAL_STEPS
            .get(index - plan.steps.len())
            .map_or_else(|| format!("step {step}"), |s| s.to_string()),
    }
}

/// The sandbox's PID 1 (the phase shell), until reaped.
pub(super) struct Running {
    pid: pid_t,
    reaped: bool,
}

impl Running {
    /// Waits for the phase to end; past `timeout` it is killed (with everything it started, since
    /// it is PID 1 of its namespace) and the result is `SandboxError::Timeout`.
    pub fn wait(mut self, timeout: Option<Duration>) -> Result<ExitStatus, SandboxError> {
        if let Some(limit) = timeout
            && !self.exits_within(limit)?
        {
            self.kill();
            self.reap()?;
            return Err(SandboxError::Timeout { limit });
        }
        self.reap()
    }

    fn exits_within(&self, limit: Duration) -> Result<bool, SandboxError> {
        // SAFETY: plain system call; the pid is our unreaped child, so it cannot have been reused.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, self.pid, 0) };
        if raw < 0 {
            return Err(SandboxError::Wait { pid: self.pid, source: io::Error::last_os_error() });
        }
        // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as c_int) };
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let millis = c_int::try_from(left.as_millis().max(1)).unwrap_or(c_int::MAX);
            let mut fd = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: one valid pollfd.
            match unsafe { libc::poll(&mut fd, 1, millis) } {
                n if n > 0 => return Ok(true),
                0 if Instant::now() >= deadline => return Ok(false),
                0 => continue,
                _ => {
                    let err = io::Error::last_os_error();
                    if err.kind() != io::ErrorKind::Interrupted {
                        return Err(SandboxError::Wait { pid: self.pid, source: err });
                    }
                }
            }
        }
    }

    fn kill(&self) {
        // SAFETY: signals our own unreaped child; SIGKILL reaches a namespace's PID 1 from outside.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }

    fn reap(&mut self) -> Result<ExitStatus, SandboxError> {
        let mut status: c_int = 0;
        loop {
            // SAFETY: waits for our own child into a local.
            if unsafe { libc::waitpid(self.pid, &mut status, 0) } == self.pid {
                self.reaped = true;
                return Ok(ExitStatus::from_raw(status));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                self.reaped = true;
                return Err(SandboxError::Wait { pid: self.pid, source: err });
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
            let _ = self.reap();
        }
    }
}
