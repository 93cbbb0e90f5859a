//! Replays every input the fuzzers ever crashed on (`tests/fuzz-regressions/<target>/`) and the
//! fuzzers' seed inputs (`fuzz/seeds/<target>/`) through the same checks the fuzz targets make
//! (`fuzz/src/lib.rs`), so a fixed crash stays fixed on stable Rust and in CI.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> =
        [root.join("tests/fuzz-regressions").join(target), root.join("fuzz/seeds").join(target)]
            .iter()
            .filter(|d| d.is_dir())
            .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
            .filter(|p| p.is_file())
            .collect();
    files.sort();
    files
}

/// Runs `check` on every input of `target`, naming the input that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no inputs for fuzz target {target}");
    for f in files {
        let data = std::fs::read(&f).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("fuzz target {target} fails on {}", f.display());
        }
    }
}

#[test]
fn version_inputs_pass_the_fuzz_checks() {
    replay("version", checks::version);
}

#[test]
fn atom_inputs_pass_the_fuzz_checks() {
    replay("atom", checks::atom);
}

#[test]
fn depspec_inputs_pass_the_fuzz_checks() {
    replay("depspec", checks::depspec);
}

#[test]
fn required_use_inputs_pass_the_fuzz_checks() {
    replay("required_use", checks::required_use);
}

#[test]
fn recipe_inputs_pass_the_fuzz_checks() {
    replay("recipe", checks::recipe);
}
