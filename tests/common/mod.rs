//! Shared helpers for integration tests that drive the `ingot` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository's fixture directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `ingot` with colour off and the given recipe tree and profiles directory.
pub fn ingot_in(recipes: &Path, profiles: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("ingot");
    cmd.env("NO_COLOR", "1")
        .env_remove("INGOT_CACHE")
        .arg("--recipes")
        .arg(recipes)
        .arg("--profiles")
        .arg(profiles);
    cmd
}

/// `ingot` over `tests/fixtures/<name>/{recipes,profiles}`, run from the fixtures directory so that
/// paths in messages are short and stable.
pub fn ingot(name: &str) -> assert_cmd::Command {
    let mut cmd = ingot_in(Path::new(&format!("{name}/recipes")), Path::new(&format!("{name}/profiles")));
    cmd.current_dir(fixtures());
    cmd
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `files` (path, contents) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}
