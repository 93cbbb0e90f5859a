// mimalloc: loading a large recipe tree allocates from several rayon threads at once, where glibc's
// per-thread arenas spent a fifth of the run in malloc/free and mprotect (measured with perf on a
// 20,000-recipe tree; see README "Performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ingot::cli::main()
}
