//! `ingot check`: what loading cannot see on one file alone. References to packages missing from
//! the tree and flags missing from IUSE are warnings (errors under `--strict`).

use crate::dep::{Atom, DepNode};
use crate::diag::Diagnostic;
use crate::profile::{Profile, UseToken};
use crate::recipe::{DepKind, Recipe, Repo, ValueSpan};
use rayon::prelude::*;

/// Lints every recipe against the tree.
pub fn lint_recipes(repo: &Repo) -> Vec<Diagnostic> {
    let mut recipes: Vec<&Recipe> = repo.iter().map(|(_, r)| r.as_ref()).collect();
    recipes.sort_by(|a, b| a.path().cmp(b.path()));
    recipes.par_iter().flat_map_iter(|r| lint_recipe(repo, r)).collect()
}

fn lint_recipe(repo: &Repo, r: &Recipe) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for kind in DepKind::ALL {
        let span = r.origin.spans.dep(kind);
        let mut atoms = Vec::new();
        walk(r.depend.get(kind).nodes(), &mut |node| match node {
            DepNode::Atom(a) => atoms.push(a.clone()),
            DepNode::UseCond { flag, .. } if !r.iuse.contains(flag) => out.push(warn_at(
                r,
                span,
                flag,
                format!(
                    "flag `{flag}` is used in a {} dependency condition but is not in IUSE",
                    kind.as_str()
                ),
            )),
            _ => {}
        });
        for a in atoms {
            lint_atom(repo, r, kind, span, &a, &mut out);
        }
    }
    if let Some(ru) = &r.required_use {
        for flag in ru.flags() {
            if !r.iuse.contains(flag) {
                let msg = format!("flag `{flag}` is named in REQUIRED_USE but is not in IUSE");
                out.push(warn_at(r, r.origin.spans.required_use.as_ref(), flag, msg));
            }
        }
    }
    out
}

fn lint_atom(
    repo: &Repo,
    r: &Recipe,
    kind: DepKind,
    span: Option<&ValueSpan>,
    a: &Atom,
    out: &mut Vec<Diagnostic>,
) {
    let text = a.to_string();
    if !repo.contains(a.cpn()) {
        out.push(warn_at(
            r,
            span,
            &text,
            format!("{} dependency `{text}` names a package not in the tree", kind.as_str()),
        ));
        return;
    }
    for ud in a.use_deps() {
        if ud.conditional_flag().is_some() && !r.iuse.contains(ud.flag()) {
            let msg =
                format!("USE dependency in `{text}` is conditional on `{}`, which is not in IUSE", ud.flag());
            out.push(warn_at(r, span, &text, msg));
        }
        let known = repo.versions(a.cpn()).any(|(_, t)| t.iuse.contains(ud.flag()));
        if !known && ud.missing_default().is_none() {
            let msg = format!(
                "`{text}` needs USE flag `{}` of {}, which no version of it has (add a `(+)` or `(-)` default?)",
                ud.flag(),
                a.cpn()
            );
            out.push(warn_at(r, span, &text, msg));
        }
    }
}

/// Lints a loaded profile against the tree.
pub fn lint_profile(repo: &Repo, p: &Profile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for w in &p.world {
        if !repo.contains(w.atom.cpn()) {
            let d = Diagnostic::warning(format!("world names `{}`, which is not in the tree", w.atom))
                .at(&w.setting.file, w.setting.span.clone());
            out.push(d);
        }
    }
    for pc in &p.packages {
        if !repo.contains(pc.atom.cpn()) {
            let d = Diagnostic::warning(format!("{} names a package not in the tree", pc.setting.key))
                .at(&pc.setting.file, pc.setting.span.clone());
            out.push(d);
            continue;
        }
        for t in &pc.use_ {
            let (UseToken::On(f) | UseToken::Off(f)) = t else { continue };
            if !repo.versions(pc.atom.cpn()).any(|(_, r)| r.iuse.contains(f)) {
                let d = Diagnostic::warning(format!(
                    "{}: flag `{f}` is not in IUSE of {}",
                    pc.setting.key,
                    pc.atom.cpn()
                ))
                .at(&pc.setting.file, pc.setting.span.clone());
                out.push(d);
            }
        }
    }
    out
}

fn walk<'a>(nodes: &'a [DepNode], f: &mut impl FnMut(&'a DepNode)) {
    for n in nodes {
        f(n);
        match n {
            DepNode::AllOf(c) | DepNode::AnyOf(c) | DepNode::UseCond { children: c, .. } => walk(c, f),
            DepNode::Atom(_) => {}
        }
    }
}

/// A warning pointing at `needle` inside the field's value when it can be found there.
fn warn_at(r: &Recipe, span: Option<&ValueSpan>, needle: &str, msg: String) -> Diagnostic {
    let file = &r.origin.file;
    let d = Diagnostic::warning(msg);
    match span {
        Some(vs) => {
            let value = file.text.get(vs.whole.clone()).unwrap_or("");
            match value.find(needle) {
                Some(i) => d.at(file, vs.whole.start + i..vs.whole.start + i + needle.len()),
                None => d.at(file, vs.whole.clone()),
            }
        }
        None => d.in_file(file),
    }
}
