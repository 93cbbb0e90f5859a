// mimalloc: loading a large recipe tree allocates from several rayon threads at once, where glibc's
// per-thread arenas spent a fifth of the run in malloc/free and mprotect (measured with perf on a
// 20,000-recipe tree; see README "Performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // `ingot … | head` must end ingot quietly, as it ends `cat`, instead of a panic in println!
    // (Rust ignores SIGPIPE). Sockets are safe: std sends with MSG_NOSIGNAL, so a peer closing a
    // connection is still an error ingot reports; ingot writes into no child's pipe.
    // SAFETY: called before any thread exists; SIG_DFL installs no handler.
    unsafe {
        let _ =
            nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl);
    }
    ingot::cli::main()
}
