//! `ingot cache`: list, verify and garbage-collect the local binary package store.

use super::build::prepare;
use super::{CmdResult, Failure, Global};
use crate::store::Store;
use crate::ui::progress::human_bytes;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Make an ed25519 key pair for signing packages pushed to a shared cache
    Keygen(super::cache_remote::KeygenArgs),
    /// Sign and upload packages to a shared cache (a directory, or an HTTP server accepting PUT)
    Push(super::cache_remote::PushArgs),
    /// List the packages in the store
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Check every stored package against its manifest; exit 1 if any is corrupt
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Remove packages that the given profiles no longer need, or that were unused for a while
    Gc {
        /// Keep what these profiles' plans need (everything else goes)
        #[arg(value_name = "PROFILE")]
        keep: Vec<String>,
        /// Remove packages not used for this long (`30d`, `12h`, `90m`)
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: Option<Duration>,
    },
}

pub fn run(g: &Global, c: &CacheCommand) -> CmdResult {
    match c {
        CacheCommand::Keygen(a) => super::cache_remote::keygen(g, a),
        CacheCommand::Push(a) => super::cache_remote::push(g, a, &|profile| {
            let p = prepare(g, profile, &[])?;
            Ok(super::cache_remote::PlanKeys { profile: p.profile.name.clone(), keys: p.keyed.keys.clone() })
        }),
        CacheCommand::Ls { json } => ls(g, *json),
        CacheCommand::Verify { json } => verify(g, *json),
        CacheCommand::Gc { keep, older_than } => gc(g, keep, *older_than),
    }
}

fn ls(g: &Global, as_json: bool) -> CmdResult {
    let store = Store::open(&g.cache_dir())?;
    let mut all = store.list()?;
    all.sort_by(|a, b| a.package().cmp(&b.package()).then(a.key.cmp(&b.key)));
    if as_json {
        let v: Vec<_> = all
            .iter()
            .map(|m| json!({"package": m.package(), "key": m.key.to_string(), "slot": m.slot, "features": m.features, "size": m.archive_size, "build_seconds": m.build_seconds}))
            .collect();
        println!("{}", json!({ "packages": v }));
        return Ok(());
    }
    let total: u64 = all.iter().map(|m| m.archive_size).sum();
    for m in &all {
        let key = m.key.to_string();
        println!(
            "{:<40} {}  {:>10}  USE=\"{}\"",
            m.package(),
            &key[..16],
            human_bytes(m.archive_size),
            m.features.join(" ")
        );
    }
    println!("{} packages, {} in {}", all.len(), human_bytes(total), store.root().display());
    Ok(())
}

fn verify(g: &Global, as_json: bool) -> CmdResult {
    let store = Store::open(&g.cache_dir())?;
    let report = store.verify_all()?;
    if as_json {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|p| json!({"key": p.key.to_string(), "path": p.path, "problem": p.what}))
            .collect();
        println!(
            "{}",
            json!({"ok": report.ok.len(), "problems": problems, "uncommitted": report.uncommitted})
        );
    } else {
        for p in &report.problems {
            eprintln!("corrupt: {} ({}): {}", p.key, p.path.display(), p.what);
        }
        for path in &report.uncommitted {
            eprintln!(
                "note: {} is the archive of an interrupted insert, not a package; `ingot cache gc` removes it",
                path.display()
            );
        }
        println!(
            "verified {} packages, {} corrupt",
            report.ok.len() + report.problems.len(),
            report.problems.len()
        );
    }
    if report.is_clean() { Ok(()) } else { Err(Failure::Reported) }
}

fn gc(g: &Global, profiles: &[String], older_than: Option<Duration>) -> CmdResult {
    if profiles.is_empty() && older_than.is_none() {
        return Err(Failure::Error("say what to keep: one or more profiles, and/or --older-than AGE".into()));
    }
    let mut keep = BTreeSet::new();
    for name in profiles {
        let p = prepare(g, name, &[])?;
        keep.extend(p.keyed.keys.iter().copied());
    }
    let store = Store::open(&g.cache_dir())?;
    let r = store.gc(&keep, older_than)?;
    println!(
        "removed {} packages ({}), kept {}; {} busy; cleaned {} temporary entries",
        r.removed.len(),
        human_bytes(r.bytes_freed),
        r.kept,
        r.busy.len(),
        r.tmp_removed
    );
    Ok(())
}

fn parse_age(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 =
        num.parse().map_err(|_| format!("invalid age `{s}`: expected a number and a unit, like 30d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return Err(format!("invalid age unit in `{s}`: use s, m, h, d or w")),
    };
    Ok(Duration::from_secs(n * secs))
}
