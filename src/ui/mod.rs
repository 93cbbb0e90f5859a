//! Output for people and machines: diagnostics, plans, and (later) progress views that implement
//! `report::Reporter`.

pub mod plan;

/// Sets up `tracing` logs on stderr: warnings by default, more with `-v`, none but errors with `-q`.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("INGOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("ingot={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

/// Prints an error and its cause chain to stderr.
pub fn print_error(e: &(dyn std::error::Error + 'static), color: bool) {
    let (red, bold, reset) = if color { ("\x1b[1;31m", "\x1b[1m", "\x1b[0m") } else { ("", "", "") };
    eprintln!("{red}error{reset}{bold}: {e}{reset}");
    let mut cause = e.source();
    while let Some(c) = cause {
        eprintln!("  caused by: {c}");
        cause = c.source();
    }
}
