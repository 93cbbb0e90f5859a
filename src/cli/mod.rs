//! The command line: parses arguments, calls a stage, prints. No pipeline logic lives here.
//!
//! Exit codes: 0 success; 1 the command ran and found problems (check errors, resolution failed,
//! a build failed); 2 bad usage (clap's own).

mod build;
mod cache;
mod cache_remote;
mod check;
mod explain;
mod image;
mod plan;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "ingot",
    version,
    about = "Compile Gentoo-style recipes and hardware profiles into reproducible bootable disk images"
)]
#[command(propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the subcommand.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// A recipe tree; repeat to overlay trees (later ones override earlier ones). Default: ./recipes
    #[arg(long = "recipes", value_name = "DIR", global = true)]
    pub recipes: Vec<PathBuf>,
    /// Where profiles are looked up by name. Default: ./profiles
    #[arg(long, value_name = "DIR", global = true)]
    pub profiles: Option<PathBuf>,
    /// The binary package store. Default: $XDG_CACHE_HOME/ingot or ~/.cache/ingot
    #[arg(long, value_name = "DIR", global = true, env = "INGOT_CACHE")]
    pub cache: Option<PathBuf>,
    /// Where source distfiles are kept. Default: <cache>/distfiles
    #[arg(long, value_name = "DIR", global = true)]
    pub distdir: Option<PathBuf>,
    /// Print nothing but errors and the final result
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail (repeat for debug logs)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Colour in output
    #[arg(long, value_name = "WHEN", default_value = "auto", global = true)]
    pub color: Color,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate every recipe and profile
    Check(check::CheckArgs),
    /// Show the build plan for a profile, dependencies first, like `emerge -pv`
    Resolve(plan::ResolveArgs),
    /// Print the plan as a Graphviz dot or JSON graph
    Graph(plan::GraphArgs),
    /// Build every package of a profile's plan (and, unless --no-image, its disk image)
    Build(build::BuildArgs),
    /// Download and verify the sources a profile's plan needs
    Fetch(build::FetchArgs),
    /// Show a package's build key and what changed since the stored build of it
    Explain(explain::ExplainArgs),
    /// Build a profile's image twice and check both are bit for bit identical
    Verify(image::VerifyArgs),
    /// Boot a disk image in QEMU (UEFI, or BIOS with --bios), optionally waiting for a marker
    Boot(image::BootArgs),
    /// Inspect and maintain the binary package store
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Global {
    pub fn recipe_trees(&self) -> Vec<PathBuf> {
        if self.recipes.is_empty() { vec![PathBuf::from("recipes")] } else { self.recipes.clone() }
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.profiles.clone().unwrap_or_else(|| PathBuf::from("profiles"))
    }

    /// The store: --cache, else $XDG_CACHE_HOME/ingot, else ~/.cache/ingot.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(c) = &self.cache {
            return c.clone();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"));
        base.join("ingot")
    }

    pub fn color_stderr(&self) -> bool {
        use std::io::IsTerminal;
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
        }
    }
}

/// Runs the command line; the binary's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::ui::init_logging(cli.global.verbose, cli.global.quiet);
    let result = match &cli.command {
        Command::Check(a) => check::run(&cli.global, a),
        Command::Resolve(a) => plan::resolve(&cli.global, a),
        Command::Graph(a) => plan::graph(&cli.global, a),
        Command::Build(a) => build::build(&cli.global, a),
        Command::Fetch(a) => build::fetch(&cli.global, a),
        Command::Explain(a) => explain::run(&cli.global, a),
        Command::Verify(a) => image::verify(&cli.global, a),
        Command::Boot(a) => image::boot(&cli.global, a),
        Command::Cache(c) => cache::run(&cli.global, c),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "ingot", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Error(e)) => {
            crate::ui::print_error(&*e, cli.global.color_stderr());
            ExitCode::from(1)
        }
    }
}

/// How a command failed: its problems are already printed, or an error remains to print.
pub enum Failure {
    Reported,
    Error(Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(Box::new(e))
    }
}

pub type CmdResult = Result<(), Failure>;

#[cfg(test)]
mod tests {
    /// clap checks argument definitions (clashing ids, bad defaults) only when asked or at use.
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
