//! `ingot resolve` and `ingot graph`.

use super::{CmdResult, Failure, Global};
use crate::dep::Atom;
use crate::diag::Diagnostic;
use crate::profile::Profile;
use crate::recipe::Repo;
use crate::resolve::{self, Plan};
use crate::ui;

#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// Profile name (under --profiles) or path
    pub profile: String,
    /// Packages to resolve instead of the profile's world
    pub atoms: Vec<String>,
    /// Print the plan as JSON
    #[arg(long, conflicts_with = "tree")]
    pub json: bool,
    /// Show why each package is pulled in
    #[arg(long)]
    pub tree: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// Profile name (under --profiles) or path
    pub profile: String,
    /// Packages to resolve instead of the profile's world
    pub atoms: Vec<String>,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

pub fn resolve(g: &Global, a: &ResolveArgs) -> CmdResult {
    let (_, _, plan) = plan_for(g, &a.profile, &a.atoms)?;
    let out = if a.json {
        format!("{:#}", ui::plan::json(&plan))
    } else if a.tree {
        ui::plan::tree(&plan)
    } else {
        ui::plan::emerge_lines(&plan)
    };
    print!("{out}");
    Ok(())
}

pub fn graph(g: &Global, a: &GraphArgs) -> CmdResult {
    let (_, profile, plan) = plan_for(g, &a.profile, &a.atoms)?;
    match a.format {
        GraphFormat::Dot => print!("{}", ui::plan::dot(&plan, &profile.name)),
        GraphFormat::Json => println!("{:#}", ui::plan::graph_json(&plan)),
    }
    Ok(())
}

/// Loads the tree and the profile and resolves; any problem is printed and reported.
pub fn plan_for(g: &Global, profile: &str, atoms: &[String]) -> Result<(Repo, Profile, Plan), Failure> {
    let color = g.color_stderr();
    let (repo, profile) = load_inputs(g, profile)?;
    let mut targets = Vec::new();
    for a in atoms {
        match Atom::parse(a) {
            Ok(atom) => targets.push(atom),
            Err(e) => {
                eprintln!(
                    "{}",
                    Diagnostic::error(format!("invalid atom `{a}` on the command line: {}", e.message))
                        .render(color)
                );
                return Err(Failure::Reported);
            }
        }
    }
    let plan = resolve::resolve(&repo, &profile, &targets)?;
    Ok((repo, profile, plan))
}

/// Loads the recipe trees and one profile, printing every problem found.
pub fn load_inputs(g: &Global, profile: &str) -> Result<(Repo, Profile), Failure> {
    let color = g.color_stderr();
    let loaded = crate::recipe::load(&g.recipe_trees());
    let errors: Vec<&Diagnostic> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    let profile = crate::profile::load(&g.profiles_dir(), profile);
    let mut failed = !errors.is_empty();
    for d in &errors {
        eprintln!("{}", d.render(color));
    }
    let profile = match profile {
        Ok(p) => Some(p),
        Err(ds) => {
            for d in &ds.0 {
                eprintln!("{}", d.render(color));
            }
            failed = true;
            None
        }
    };
    match profile {
        Some(p) if !failed => Ok((loaded.repo, p)),
        _ => Err(Failure::Reported),
    }
}
