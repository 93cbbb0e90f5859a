//! One recipe from its bytes, without a tree around it: the loader's per-file step, also the entry
//! point for fuzzing and for tools that hold a recipe in memory.

use super::Recipe;
use super::load::{Found, validate};
use crate::diag::{Diagnostic, SourceFile};
use std::path::Path;

/// Parses and validates a recipe file's bytes. `path` stands for where the file would live
/// (`…/<category>/<name>/<name>-<version>.toml`): the package and version come from it, and
/// diagnostics name it. Every problem found is returned, not just the first.
pub fn parse_recipe_bytes(path: &Path, bytes: Vec<u8>) -> Result<Recipe, Vec<Diagnostic>> {
    parse_found(0, &Found::from_path(path), bytes)
}

/// [`parse_recipe_bytes`] for text already in memory.
pub fn parse_recipe_text(path: &Path, text: &str) -> Result<Recipe, Vec<Diagnostic>> {
    parse_recipe_bytes(path, text.as_bytes().to_vec())
}

/// Decodes and validates one discovered file from tree number `tree`.
pub(super) fn parse_found(tree: usize, found: &Found, bytes: Vec<u8>) -> Result<Recipe, Vec<Diagnostic>> {
    let file = SourceFile::decode(found.path.clone(), bytes).map_err(|d| vec![*d])?;
    validate(tree, found, &file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "recipes/app-misc/foo/foo-1.2.toml";

    #[test]
    fn identity_comes_from_the_path_hint() {
        let r = parse_recipe_text(Path::new(PATH), "description = \"Foo\"\n").unwrap();
        assert_eq!(r.cpv(), "app-misc/foo-1.2");
        assert_eq!(r.path(), Path::new(PATH));
        assert_eq!(r.build.dir, "foo-1.2");
    }

    #[test]
    fn every_problem_in_a_file_is_reported() {
        let text = "description = \"Foo\"\nslot = \"-1\"\n[build]\nsystem = \"scons\"\n";
        let errs = parse_recipe_text(Path::new(PATH), text).unwrap_err();
        let lines: Vec<String> = errs.iter().map(Diagnostic::headline).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(&format!("{PATH}:2:8: invalid slot `-1`")), "{lines:?}");
        assert!(lines[1].starts_with(&format!("{PATH}:4:10: unknown build system `scons`")), "{lines:?}");
    }

    #[test]
    fn non_utf8_bytes_are_an_error_at_the_bad_byte() {
        let errs = parse_recipe_bytes(Path::new(PATH), b"description = \"caf\xe9\"\n".to_vec()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].headline().starts_with(&format!("{PATH}:1:19: not UTF-8 text")), "{}", errs[0]);
    }

    #[test]
    fn a_bad_version_in_the_file_name_is_named_once() {
        let errs = parse_recipe_text(Path::new("recipes/a/foo/foo-1.0beta.toml"), "description = \"x\"\n")
            .unwrap_err();
        assert_eq!(
            errs[0].headline(),
            "recipes/a/foo/foo-1.0beta.toml: file name `foo-1.0beta.toml`: invalid version `1.0beta`: \
             unexpected `e` after the letter `b`"
        );
    }

    #[test]
    fn a_url_without_a_file_name_asks_for_file() {
        let text = "description = \"x\"\n[[source]]\nurls = [\"https://example.org/d/\"]\nsha256 = \"\"\"\n";
        let text = text.replace("sha256 = \"\"\"", &format!("sha256 = \"{}\"", "0".repeat(64)));
        let errs = parse_recipe_text(Path::new(PATH), &text).unwrap_err();
        assert_eq!(
            errs[0].headline(),
            format!("{PATH}:3:9: URL `https://example.org/d/` ends in `/`: set `file` to name the distfile")
        );
    }

    #[test]
    fn a_path_hint_without_directories_is_an_error_not_a_panic() {
        let errs = parse_recipe_text(Path::new("foo-1.toml"), "description = \"Foo\"\n").unwrap_err();
        assert!(errs[0].message.contains("invalid package directory"), "{}", errs[0]);
    }
}
