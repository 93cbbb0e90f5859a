//! A vfork-style clone into new namespaces: the child shares ingot's memory (no page tables are
//! copied, however large ingot is) and runs on a stack of its own, while the calling thread waits
//! until the child has exec'd or exited, as `posix_spawn` does.

use std::ffi::c_void;
use std::io;
use std::mem::MaybeUninit;
use std::ptr::{NonNull, null_mut};

use nix::libc::{self, c_int, pid_t};

/// Room for the child's frames: it calls only small wrappers of system calls, so a few pages are
/// touched; the rest is reserved address space, which costs nothing.
const STACK_SIZE: usize = 256 * 1024;

/// Runs `entry(arg)` in a child cloned with `CLONE_VM | CLONE_VFORK` and the given namespace
/// `flags`, and returns its pid once it has exec'd or exited (or the clone error).
///
/// # Safety
/// `entry` runs on ingot's memory while ingot's other threads keep running, with the calling
/// thread's thread-local storage: it must only make system calls (no allocation, no locks, no
/// panics, nothing another thread may be changing) and must end in `execve` or `_exit`, never
/// return. `arg` must stay valid until this returns.
pub(super) unsafe fn spawn(
    flags: c_int,
    entry: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
) -> io::Result<pid_t> {
    let stack = Stack::new()?;
    let blocked = BlockedSignals::new()?;
    let flags = flags | libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: the stack is ours and outlives the child's use of it (CLONE_VFORK returns only once
    // the child has left this memory by exec or exit); the caller vouches for `entry` and `arg`.
    // All signals are blocked, so no handler of ingot's can run in the child on shared memory.
    let pid = unsafe { libc::clone(entry, stack.top(), flags, arg) };
    let error = io::Error::last_os_error();
    drop(blocked);
    if pid < 0 { Err(error) } else { Ok(pid) }
}

/// An anonymous mapping for the child's stack, with an inaccessible guard page below it so that
/// an overflow faults instead of writing over ingot's memory.
struct Stack {
    base: NonNull<c_void>,
    len: usize,
}

impl Stack {
    fn new() -> io::Result<Self> {
        let page = page_size();
        let len = STACK_SIZE + page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(base).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        let stack = Self { base, len };
        // SAFETY: the lowest page of the mapping just made.
        if unsafe { libc::mprotect(base.as_ptr(), page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// Stacks grow down on every architecture ingot runs on: the child starts at the top.
    fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of the mapping, which is what clone takes.
        unsafe { self.base.as_ptr().cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: our own mapping, which the child no longer uses (see `spawn`).
        unsafe { libc::munmap(self.base.as_ptr(), self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// Blocks every signal in the calling thread until dropped. The child inherits the mask and
/// resets every handler to the default before unblocking (see `child::reset_signals`).
struct BlockedSignals {
    old: libc::sigset_t,
}

impl BlockedSignals {
    fn new() -> io::Result<Self> {
        let mut all = MaybeUninit::<libc::sigset_t>::uninit();
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigfillset initialises `all`; pthread_sigmask initialises `old` on success.
        unsafe {
            libc::sigfillset(all.as_mut_ptr());
            let rc = libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(Self { old: old.assume_init() })
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, Ordering};

    fn exit_status(pid: pid_t) -> c_int {
        let mut status = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    /// Stores 42 through the pointer it is given, in the parent's memory, then exits with 7.
    extern "C" fn store_and_exit(arg: *mut c_void) -> c_int {
        let cell = unsafe { &*arg.cast_const().cast::<AtomicI32>() };
        cell.store(42, Ordering::Relaxed);
        unsafe { libc::_exit(7) }
    }

    #[test]
    fn the_child_shares_memory_and_the_caller_resumes_after_it_exits() {
        let cell = AtomicI32::new(0);
        let arg = (&cell as *const AtomicI32).cast_mut().cast();
        let pid = unsafe { spawn(0, store_and_exit, arg) }.unwrap();
        assert_eq!(cell.load(Ordering::Relaxed), 42);
        assert_eq!(exit_status(pid), 7);
    }

    /// Exits with 0 if every catchable signal is blocked, 1 otherwise.
    extern "C" fn exit_with_mask(_: *mut c_void) -> c_int {
        unsafe {
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), mask.as_mut_ptr());
            let blocked = [libc::SIGINT, libc::SIGTERM, libc::SIGCHLD, libc::SIGUSR1, libc::SIGPIPE]
                .iter()
                .all(|s| libc::sigismember(mask.as_ptr(), *s) == 1);
            libc::_exit(if blocked { 0 } else { 1 })
        }
    }

    /// Whether SIGTERM is blocked in the calling thread (nothing in the tests blocks it).
    fn sigterm_blocked() -> bool {
        unsafe {
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), mask.as_mut_ptr());
            libc::sigismember(mask.as_ptr(), libc::SIGTERM) == 1
        }
    }

    #[test]
    fn the_child_starts_with_every_signal_blocked_and_the_caller_s_mask_is_restored() {
        assert!(!sigterm_blocked());
        let pid = unsafe { spawn(0, exit_with_mask, null_mut()) }.unwrap();
        assert_eq!(exit_status(pid), 0);
        assert!(!sigterm_blocked());
    }

    #[test]
    fn a_refused_clone_is_an_error_and_leaves_the_mask_alone() {
        // A new user namespace may not share the filesystem information of its creator.
        let err =
            unsafe { spawn(libc::CLONE_NEWUSER | libc::CLONE_FS, exit_with_mask, null_mut()) }.err().unwrap();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert!(!sigterm_blocked());
    }
}
