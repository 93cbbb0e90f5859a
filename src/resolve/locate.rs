//! Where a resolution problem was written: `path:line:col` of an atom in a recipe's dependencies,
//! of a recipe's REQUIRED_USE, or of a world entry in the profile, for error messages.

use crate::diag::SourceFile;
use crate::profile::Profile;
use crate::recipe::{DepKind, Recipe};

/// The atom `needle` (a whole atom, or a package name inside one) in the recipe's `kind`
/// dependencies; the field's start when it is written differently; the file alone without one.
pub(super) fn dep(recipe: &Recipe, kind: DepKind, needle: &str) -> String {
    let file = &recipe.origin.file;
    let Some(vs) = recipe.origin.spans.dep(kind) else { return file.path.display().to_string() };
    let field = file.text.get(vs.whole.clone()).unwrap_or("");
    let at = find_atom(field, needle).map_or(vs.whole.start, |i| vs.whole.start + i);
    position(file, at)
}

/// The recipe's REQUIRED_USE value.
pub(super) fn required_use(recipe: &Recipe) -> String {
    let file = &recipe.origin.file;
    match &recipe.origin.spans.required_use {
        Some(vs) => position(file, vs.whole.start),
        None => file.path.display().to_string(),
    }
}

/// The profile's world entry for `atom`, if it has one.
pub(super) fn world(profile: &Profile, atom: &str) -> Option<String> {
    let w = profile.world.iter().find(|w| w.atom.to_string() == atom)?;
    Some(position(&w.setting.file, w.setting.span.start))
}

fn position(file: &SourceFile, offset: usize) -> String {
    let (line, col) = file.line_col(offset);
    format!("{}:{line}:{col}", file.path.display())
}

/// The first place `needle` stands as an atom or an atom's package name: not inside a longer name
/// (`app/b` is not in `app/bc` nor `my-app/b`), though a version may follow (`app/b-1.0`).
fn find_atom(hay: &str, needle: &str) -> Option<usize> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    hay.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before_ok = !hay[..i].chars().next_back().is_some_and(is_name);
        let mut after = hay[i + needle.len()..].chars();
        let after_ok = match after.next() {
            Some('-') => after.next().is_some_and(|c| c.is_ascii_digit()),
            Some(c) => !is_name(c) || needle.ends_with(|d: char| !is_name(d)),
            None => true,
        };
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn recipe(text: &str) -> Recipe {
        crate::recipe::parse_recipe_text(Path::new("recipes/app/a/a-1.toml"), text).unwrap()
    }

    #[test]
    fn atoms_are_found_as_whole_names() {
        assert_eq!(find_atom("app/bc app/b", "app/b"), Some(7));
        assert_eq!(find_atom("my-app/b >=app/b-2", "app/b"), Some(11));
        assert_eq!(find_atom("app/b-c app/b:0", "app/b"), Some(8));
        assert_eq!(find_atom(">=app/b-2", ">=app/b-2"), Some(0));
        assert_eq!(find_atom("app/bc", "app/b"), None);
    }

    #[test]
    fn a_dependency_is_located_at_its_atom_or_else_its_field() {
        let r = recipe("description = \"x\"\n[depend]\nrun = \"app/bc  app/b[ssl]\"\n");
        assert_eq!(dep(&r, DepKind::Run, "app/b[ssl]"), "recipes/app/a/a-1.toml:3:16");
        assert_eq!(dep(&r, DepKind::Run, "app/b"), "recipes/app/a/a-1.toml:3:16");
        assert_eq!(dep(&r, DepKind::Run, "|| ( x/y )"), "recipes/app/a/a-1.toml:3:7");
        assert_eq!(dep(&r, DepKind::Build, "app/b"), "recipes/app/a/a-1.toml");
    }

    #[test]
    fn required_use_is_located_at_its_value() {
        let r = recipe("description = \"x\"\niuse = \"a b\"\nrequired_use = \"^^ ( a b )\"\n");
        assert_eq!(required_use(&r), "recipes/app/a/a-1.toml:3:16");
    }
}
