//! `ingot check`.

use super::{CmdResult, Failure, Global};
use crate::diag::{Diagnostic, Severity};
use crate::{check, profile, recipe};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Treat warnings (unknown packages, flags not in IUSE) as errors
    #[arg(long)]
    pub strict: bool,
    /// Print findings as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: &CheckArgs) -> CmdResult {
    let loaded = recipe::load(&g.recipe_trees());
    let mut diags = loaded.diagnostics;
    diags.extend(check::lint_recipes(&loaded.repo));
    let pdir = g.profiles_dir();
    let names = if pdir.is_dir() { profile::discover(&pdir) } else { Vec::new() };
    for name in &names {
        match profile::load(&pdir, name) {
            Ok(p) => diags.extend(check::lint_profile(&loaded.repo, &p)),
            Err(e) => diags.extend(e.0),
        }
    }
    if a.strict {
        for d in &mut diags {
            d.severity = Severity::Error;
        }
    }
    diags.sort_by(|x, y| {
        x.file_path()
            .cmp(&y.file_path())
            .then(x.span.as_ref().map(|s| s.start).cmp(&y.span.as_ref().map(|s| s.start)))
    });
    diags.dedup_by(|x, y| x.headline() == y.headline());
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let summary = format!(
        "checked {} recipe{}, {errors} error{}, {warnings} warning{} ({} profile{})",
        loaded.files,
        plural(loaded.files),
        plural(errors),
        plural(warnings),
        names.len(),
        plural(names.len())
    );
    if a.json {
        let out = serde_json::json!({
            "recipes": loaded.files,
            "profiles": names.len(),
            "errors": errors,
            "warnings": warnings,
            "diagnostics": diags.iter().map(diag_json).collect::<Vec<_>>(),
        });
        println!("{out:#}");
    } else {
        let color = g.color_stderr();
        for d in &diags {
            if d.is_error() || !g.quiet {
                eprintln!("{}", d.render(color));
            }
        }
        println!("{summary}");
    }
    if errors > 0 { Err(Failure::Reported) } else { Ok(()) }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn diag_json(d: &Diagnostic) -> serde_json::Value {
    let (line, col) = match (&d.file, &d.span) {
        (Some(f), Some(s)) => {
            let (l, c) = f.line_col(s.start);
            (Some(l), Some(c))
        }
        _ => (None, None),
    };
    serde_json::json!({
        "severity": d.severity,
        "message": d.message,
        "file": d.file_path().map(|p| p.display().to_string()),
        "line": line,
        "column": col,
        "notes": d.notes,
    })
}
