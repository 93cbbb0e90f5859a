//! The child's side of the sandbox: runs between clone and exec and replays the prepared steps.
//!
//! The child shares ingot's memory (see `vfork`) while ingot's other threads keep running, and it
//! runs with the calling thread's thread-local storage: allocating would race with those threads
//! on the allocator's state, and a lock one of them holds would never be released for it. So this
//! code does only what is async-signal-safe: raw system calls on memory prepared by the parent,
//! which the parent does not touch until the child has exec'd or exited. It never allocates,
//! formats, or panics (no indexing, no overflowing arithmetic); a failure is recorded as (step
//! number, errno) in a `Report` that the parent reads once the clone returns.

use std::ffi::CStr;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::RawFd;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use nix::libc::{self, c_char, c_int, c_short, c_ulong};

use super::layout::{Op, Step};

/// What the child needs, all of it owned by the parent and valid in the child's copy of memory.
pub(super) struct ChildPlan<'a> {
    pub steps: &'a [Step],
    pub exe: &'a CStr,
    /// Null-terminated.
    pub argv: &'a [*const c_char],
    /// Null-terminated.
    pub envp: &'a [*const c_char],
    pub stdin: RawFd,
    pub log: RawFd,
}

/// What the child shares with the parent besides the plan.
pub(super) struct Shared<'a> {
    pub report: &'a Report,
    /// The parent holds the write end until the child has set its parent-death signal: a hang-up
    /// on the read end means ingot died before that, and the child must not outlive it.
    pub lifeline_read: RawFd,
    pub lifeline_write: RawFd,
}

/// Which step failed, if one did: written by the child just before it exits, read by the parent
/// once the clone has returned (after the child's exit, so the order of the writes is moot;
/// atomics make the sharing explicit).
#[derive(Default)]
pub(super) struct Report {
    failed: AtomicBool,
    step: AtomicU32,
    errno: AtomicI32,
}

impl Report {
    /// The failed step and its errno, or None if the child got as far as exec.
    pub fn failure(&self) -> Option<(u32, i32)> {
        self.failed
            .load(Ordering::Acquire)
            .then(|| (self.step.load(Ordering::Relaxed), self.errno.load(Ordering::Relaxed)))
    }

    fn record(&self, step: u32, errno: c_int) {
        self.step.store(step, Ordering::Relaxed);
        self.errno.store(errno, Ordering::Relaxed);
        self.failed.store(true, Ordering::Release);
    }
}

/// Steps around the layout, numbered after it in error reports (indices below).
pub(super) const FINAL_STEPS: &[&str] = &[
    "set the parent-death signal",
    "start a new session",
    "drop every capability",
    "redirect stdin, stdout and stderr",
    "mark inherited file descriptors close-on-exec",
    "exec /bin/sh",
];
const DEATH_SIGNAL: u32 = 0;
const SESSION: u32 = 1;
const CAPABILITIES: u32 = 2;
const STDIO: u32 = 3;
const CLOSE_ON_EXEC: u32 = 4;
const EXEC: u32 = 5;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// Sets up the sandbox in the freshly cloned child and execs the phase shell; never returns.
///
/// # Safety
/// Must be called only in the child of a vfork-style clone (`vfork::spawn`), with `plan` and
/// `shared` prepared by the parent before the clone and all signals blocked.
pub(super) unsafe fn exec(plan: &ChildPlan, shared: &Shared) -> ! {
    unsafe {
        libc::umask(0o022);
        let base = plan.steps.len() as u32;
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as c_ulong, 0, 0, 0) != 0 {
            fail(shared.report, base.wrapping_add(DEATH_SIGNAL), errno());
        }
        libc::close(shared.lifeline_write);
        if parent_is_gone(shared.lifeline_read) {
            libc::_exit(1);
        }
        libc::close(shared.lifeline_read);
        let mut index = 0u32;
        for step in plan.steps {
            if apply(&step.op) != 0 {
                let err = errno();
                if !(step.optional && err == libc::ENOENT) {
                    fail(shared.report, index, err);
                }
            }
            index = index.wrapping_add(1);
        }
        finish(plan, shared.report, base)
    }
}

unsafe fn finish(plan: &ChildPlan, report: &Report, base: u32) -> ! {
    unsafe {
        reset_signals();
        if libc::setsid() < 0 {
            fail(report, base.wrapping_add(SESSION), errno());
        }
        if drop_capabilities() != 0 {
            fail(report, base.wrapping_add(CAPABILITIES), errno());
        }
        if libc::dup2(plan.stdin, 0) < 0 || libc::dup2(plan.log, 1) < 0 || libc::dup2(plan.log, 2) < 0 {
            fail(report, base.wrapping_add(STDIO), errno());
        }
        // No other descriptor may reach the phase, not even one another thread of ingot opened
        // without O_CLOEXEC: it could be a handle on a host directory outside the sandbox.
        if libc::syscall(
            libc::SYS_close_range,
            3 as c_ulong,
            c_ulong::from(u32::MAX),
            libc::CLOSE_RANGE_CLOEXEC as c_ulong,
        ) != 0
        {
            fail(report, base.wrapping_add(CLOSE_ON_EXEC), errno());
        }
        libc::execve(plan.exe.as_ptr(), plan.argv.as_ptr(), plan.envp.as_ptr());
        fail(report, base.wrapping_add(EXEC), errno())
    }
}

unsafe fn apply(op: &Op) -> c_int {
    unsafe {
        match op {
            Op::Write { path, data } => write_file(path, data),
            Op::PrivateRoot => {
                libc::mount(null(), c"/".as_ptr(), null(), libc::MS_REC | libc::MS_PRIVATE, null())
            }
            Op::Tmpfs { target, flags, options } => libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                *flags,
                options.as_ptr().cast(),
            ),
            Op::Bind { source, target } => {
                libc::mount(source.as_ptr(), target.as_ptr(), null(), libc::MS_BIND | libc::MS_REC, null())
            }
            Op::Attr { target, set, recursive } => set_attr(target, *set, *recursive),
            Op::Proc { target } => {
                let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                libc::mount(c"proc".as_ptr(), target.as_ptr(), c"proc".as_ptr(), flags, null())
            }
            Op::Mkdir { path, mode } => libc::mkdir(path.as_ptr(), *mode),
            Op::Touch { path } => touch(path),
            Op::Symlink { target, link } => libc::symlink(target.as_ptr(), link.as_ptr()),
            Op::Hostname { name } => libc::sethostname(name.as_ptr(), name.to_bytes().len()),
            Op::LoopbackUp => loopback_up(),
            Op::PivotInto { new_root, put_old } => pivot_into(new_root, put_old),
            Op::PivotRoot { new_root } => pivot_root(new_root),
            Op::Chdir { path } => libc::chdir(path.as_ptr()),
        }
    }
}

unsafe fn write_file(path: &CStr, data: &[u8]) -> c_int {
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return -1;
        }
        // Id-map files accept one write of the whole content; a short write is an error.
        let written = libc::write(fd, data.as_ptr().cast(), data.len());
        let saved = errno();
        libc::close(fd);
        if written < 0 || written as usize != data.len() {
            set_errno(if written < 0 { saved } else { libc::EIO });
            return -1;
        }
        0
    }
}

unsafe fn set_attr(target: &CStr, set: u64, recursive: bool) -> c_int {
    let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
    let size = size_of::<MountAttr>();
    unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            target.as_ptr(),
            flags,
            &attr as *const MountAttr,
            size,
        ) as c_int
    }
}

unsafe fn touch(path: &CStr) -> c_int {
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC, 0o644);
        if fd < 0 {
            return -1;
        }
        libc::close(fd)
    }
}

unsafe fn loopback_up() -> c_int {
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return -1;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as c_char;
        req.ifr_name[1] = b'o' as c_char;
        let mut rc = libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as c_short;
            rc = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
        }
        let saved = errno();
        libc::close(sock);
        set_errno(saved);
        rc
    }
}

unsafe fn pivot_into(new_root: &CStr, put_old: &CStr) -> c_int {
    unsafe {
        if libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) != 0 {
            return -1;
        }
        libc::chdir(c"/".as_ptr())
    }
}

/// pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new root.
unsafe fn pivot_root(new_root: &CStr) -> c_int {
    unsafe {
        if libc::chdir(new_root.as_ptr()) != 0
            || libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0
        {
            return -1;
        }
        if libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0 {
            return -1;
        }
        libc::chdir(c"/".as_ptr())
    }
}

/// Ignored signals survive exec (Rust ignores SIGPIPE), as does the mask: start the phase clean.
/// Every handler is reset before the mask inherited from `vfork::spawn` (all blocked) is lifted,
/// so none of ingot's handlers ever runs in the child.
unsafe fn reset_signals() {
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        for signal in 1..=64 {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::sigaction(signal, &action, null_mut());
            }
        }
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, set.as_ptr(), null_mut());
    }
}

/// The phase runs with no capability at all, so it cannot undo the read-only mounts, and with
/// no_new_privs, so no setuid program gives them back. Builds run as a plain user, as Portage's
/// userpriv does.
unsafe fn drop_capabilities() -> c_int {
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as c_ulong, 0, 0, 0) != 0 {
            return -1;
        }
        for cap in 0..64 as c_ulong {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno() != libc::EINVAL {
                return -1;
            }
        }
        let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong;
        if libc::prctl(libc::PR_CAP_AMBIENT, clear, 0, 0, 0) != 0 && errno() != libc::EINVAL {
            return -1;
        }
        let header = CapHeader { version: CAP_VERSION_3, pid: 0 };
        let data = [CapData { effective: 0, permitted: 0, inheritable: 0 }; 2];
        libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) as c_int
    }
}

unsafe fn parent_is_gone(lifeline: RawFd) -> bool {
    let mut fd = libc::pollfd { fd: lifeline, events: libc::POLLIN, revents: 0 };
    let ready = unsafe { libc::poll(&mut fd, 1, 0) };
    ready > 0 && fd.revents & libc::POLLHUP != 0
}

unsafe fn fail(report: &Report, step: u32, err: c_int) -> ! {
    report.record(step, err);
    unsafe { libc::_exit(127) }
}

fn errno() -> c_int {
    // SAFETY: reads the errno slot of the thread-local storage the child runs with (the parent
    // thread's, which waits in clone and does not read it before the child is gone).
    unsafe { *libc::__errno_location() }
}

fn set_errno(value: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = value }
}
