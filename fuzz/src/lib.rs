//! What each fuzz target checks, beyond "does not panic": error spans lie on the input's char
//! boundaries, values print as text that parses back to an equal value, and comparisons agree with
//! themselves. tests/fuzz_regressions.rs includes this file to replay kept crashers on stable.

use ingot::dep::{Atom, DepNode, DepSpec, ParseError, RequiredUse, Version};
use ingot::diag::Diagnostic;
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::fmt::{Debug, Display};
use std::hash::{Hash, Hasher};
use std::path::Path;

/// Where the `recipe` target pretends its input lives.
pub const RECIPE_PATH: &str = "recipes/app-misc/fuzz/fuzz-1.0.toml";

/// Two versions separated by a newline: each parses or fails cleanly, and their order is a total
/// order that agrees with equality and hashing.
pub fn version(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, b) = text.split_once('\n').unwrap_or((text, text));
    let (Some(a), Some(b)) = (parsed(a, Version::parse), parsed(b, Version::parse)) else { return };
    assert_eq!(a.cmp(&a), Ordering::Equal, "{a} != itself");
    assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{a} vs {b} is not antisymmetric");
    assert_eq!(a == b, a.cmp(&b) == Ordering::Equal, "{a} vs {b}: == disagrees with cmp");
    if a == b {
        assert_eq!(hash(&a), hash(&b), "{a} == {b} but their hashes differ");
    }
    let _ = (a.glob_matches(&b), a.tilde_matches(&b), a.without_revision(), a.revision(), a.base());
}

/// An atom parses or fails cleanly; a parsed atom prints as text that parses back equal and
/// matches its own version and slot.
pub fn atom(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(atom) = parsed(text, Atom::parse) else { return };
    round_trip(&atom, Atom::parse);
    if let Some(v) = atom.version() {
        let _ = atom.matches_version(v);
    }
    let _ = atom.matches_slot("0", None);
    let _ = atom.use_requirements(&|f: &str| f.len().is_multiple_of(2)).count();
}

/// A dependency specification parses or fails cleanly; atom spans point at the atoms; printing
/// and evaluating under any flags give specifications that parse back equal.
pub fn depspec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (spec, spans) = match DepSpec::parse_with_atom_spans(text) {
        Ok(v) => v,
        Err(e) => return check_error(text, &e),
    };
    for span in &spans {
        let atom = text.get(span.clone()).unwrap_or_else(|| panic!("atom span {span:?} outside {text:?}"));
        Atom::parse(atom).unwrap_or_else(|e| panic!("atom span {span:?} holds {atom:?}: {e}"));
    }
    round_trip(&spec, DepSpec::parse);
    for enabled in [&(|_: &str| true) as &dyn Fn(&str) -> bool, &|_| false, &|f| f.len().is_multiple_of(2)] {
        let evaluated = spec.evaluate(enabled);
        // Evaluation keeps a group whose every child was a false conditional, as `|| ( )`, so a
        // caller can tell that no alternative applies; the grammar has no text for it.
        if !has_empty_group(evaluated.nodes()) {
            round_trip(&evaluated, DepSpec::parse);
        }
    }
    let _ = (spec.atoms().count(), spec.flags());
}

/// REQUIRED_USE parses or fails cleanly, prints as text that parses back equal, and checks
/// against any flags without panicking.
pub fn required_use(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(ru) = parsed(text, RequiredUse::parse) else { return };
    round_trip(&ru, RequiredUse::parse);
    for enabled in [&(|_: &str| true) as &dyn Fn(&str) -> bool, &|_| false, &|f| f.len().is_multiple_of(2)] {
        if let Err(v) = ru.check(enabled) {
            assert!(!v.constraint.is_empty() && !v.reason.is_empty(), "empty violation for {text:?}");
        }
    }
    let _ = ru.flags();
}

/// A recipe file's bytes load or give diagnostics; every diagnostic points inside the file and
/// renders; a loaded recipe passes through the linter.
pub fn recipe(data: &[u8]) {
    match ingot::recipe::parse_recipe_bytes(Path::new(RECIPE_PATH), data.to_vec()) {
        Ok(r) => {
            let repo = ingot::recipe::Repo::new(vec![r]);
            ingot::check::lint_recipes(&repo).iter().for_each(check_diagnostic);
        }
        Err(diags) => {
            assert!(!diags.is_empty(), "a refused recipe must say why");
            diags.iter().for_each(check_diagnostic);
        }
    }
}

fn has_empty_group(nodes: &[DepNode]) -> bool {
    nodes.iter().any(|n| match n {
        DepNode::AllOf(c) | DepNode::AnyOf(c) | DepNode::UseCond { children: c, .. } => {
            c.is_empty() || has_empty_group(c)
        }
        DepNode::Atom(_) => false,
    })
}

fn check_diagnostic(d: &Diagnostic) {
    if let (Some(file), Some(span)) = (&d.file, &d.span) {
        assert!(span.start <= span.end && span.end <= file.text.len(), "span {span:?} outside the file: {d}");
    }
    assert!(!d.message.is_empty());
    let _ = (d.render(false), d.render(true), d.headline());
}

fn parsed<T>(text: &str, parse: impl Fn(&str) -> Result<T, ParseError>) -> Option<T> {
    parse(text).map_err(|e| check_error(text, &e)).ok()
}

fn check_error(text: &str, e: &ParseError) {
    let spans = std::iter::once(&e.span).chain(e.related.as_ref().map(|(s, _)| s));
    for s in spans {
        let ok = s.start <= s.end && text.is_char_boundary(s.start) && text.is_char_boundary(s.end);
        assert!(ok, "error span {s:?} is not a char range of {text:?}: {}", e.message);
    }
    assert!(!e.message.is_empty(), "empty error message for {text:?}");
}

fn round_trip<T, E>(value: &T, parse: impl Fn(&str) -> Result<T, E>)
where
    T: Display + Debug + PartialEq,
    E: Display,
{
    let printed = value.to_string();
    let again =
        parse(&printed).unwrap_or_else(|e| panic!("{value:?} prints as {printed:?}, which fails: {e}"));
    assert_eq!(&again, value, "{printed:?} parses back different");
    assert_eq!(again.to_string(), printed, "printing is not stable");
}

fn hash(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}
