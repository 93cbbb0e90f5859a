//! `ingot explain`: a package's build key, its inputs, and what differs from the stored package
//! of the same name (cargo's "dirty reason", Yocto's bitbake-diffsigs).

use super::build::prepare;
use super::{CmdResult, Failure, Global};
use crate::dep::Atom;
use crate::key::{self, Inputs};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Profile name (under --profiles) or path
    pub profile: String,
    /// The package to explain (must be in the profile's plan)
    pub atom: String,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Global, a: &ExplainArgs) -> CmdResult {
    let atom = Atom::parse(&a.atom)
        .map_err(|e| Failure::Error(format!("invalid atom `{}`: {}", a.atom, e.message).into()))?;
    let p = prepare(g, &a.profile, &[])?;
    let node = p
        .plan
        .order
        .iter()
        .copied()
        .filter(|&n| {
            let i = p.plan.get(n);
            i.cpn() == atom.cpn()
                && atom.matches_version(i.version())
                && atom.matches_slot(i.slot(), i.recipe.subslot.as_deref())
        })
        .max_by(|&x, &y| p.plan.get(x).version().cmp(p.plan.get(y).version()))
        .ok_or_else(|| {
            Failure::Error(format!("`{}` is not in the plan of profile {}", a.atom, p.profile.name).into())
        })?;
    let inst = p.plan.get(node);
    let key = p.keyed.key(node);
    let inputs = &p.keyed.inputs[node.index()];
    let stored = p.store.get(&key).ok().flatten().is_some();
    // The most recently used stored package of the same name and slot, to compare with.
    let previous = if stored {
        None
    } else {
        let mut candidates: Vec<(std::time::SystemTime, crate::store::Manifest)> = p
            .store
            .list()?
            .into_iter()
            .filter(|m| m.atom == inst.cpn().to_string() && m.slot.split('/').next() == Some(inst.slot()))
            .map(|m| {
                (
                    std::fs::metadata(p.store.manifest_path(&m.key))
                        .and_then(|md| md.modified())
                        .unwrap_or(std::time::UNIX_EPOCH),
                    m,
                )
            })
            .collect();
        candidates.sort_by_key(|(t, _)| *t);
        candidates.pop().map(|(_, m)| m)
    };
    let changes = previous.as_ref().map(|m| key::diff(&m.inputs, inputs)).unwrap_or_default();
    if a.json {
        let out = json!({
            "package": inst.cpv(),
            "key": key.to_string(),
            "stored": stored,
            "inputs": inputs,
            "compared_with": previous.as_ref().map(|m| json!({"package": m.package(), "key": m.key.to_string()})),
            "changed": changes.iter().map(|(k, o, n)| json!({"input": k, "stored": o, "now": n})).collect::<Vec<_>>(),
        });
        println!("{out:#}");
        return Ok(());
    }
    println!("{}  key {key}", inst.cpv());
    print_inputs(inputs);
    match (&previous, stored) {
        (_, true) => println!("in the store: this exact build exists, nothing to rebuild"),
        (None, false) => {
            println!("not in the store, and no other build of {} is stored to compare with", inst.cpn())
        }
        (Some(m), false) => {
            println!("not in the store; the stored {} (key {}) differs in:", m.package(), m.key);
            for (k, old, new) in &changes {
                println!("  {k}: {} -> {}", show(old), show(new));
                if let Some(dep) = k.strip_prefix("sysroot:").or_else(|| k.strip_prefix("host:")) {
                    let name = dep.rsplit_once(':').map(|(n, _)| n).unwrap_or(dep);
                    println!("    (a dependency was rebuilt: `ingot explain {} {name}` says why)", a.profile);
                }
            }
        }
    }
    Ok(())
}

fn print_inputs(inputs: &Inputs) {
    for (k, v) in inputs {
        println!("  {k} = {}", show(&Some(v.clone())));
    }
}

fn show(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "(absent)".into(),
    }
}
