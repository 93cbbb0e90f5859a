//! Help, completions and overlays.

mod common;
use common::{ingot_in, stderr, stdout, write_tree};

#[test]
fn every_command_has_help() {
    for cmd in [
        vec!["--help"],
        vec!["check", "--help"],
        vec!["resolve", "--help"],
        vec!["graph", "--help"],
        vec!["completions", "--help"],
    ] {
        let out = assert_cmd::cargo::cargo_bin_cmd!("ingot").args(&cmd).output().unwrap();
        assert!(out.status.success(), "{cmd:?}");
        assert!(stdout(&out).contains("Usage: ingot"), "{cmd:?}: {}", stdout(&out));
    }
}

#[test]
fn completions_are_generated_for_bash() {
    let out = assert_cmd::cargo::cargo_bin_cmd!("ingot").args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("_ingot()"));
}

#[test]
fn later_trees_override_the_same_version_and_add_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = |desc: &str, iuse: &str| {
        format!("description = \"{desc}\"\niuse = \"{iuse}\"\n[build]\nsystem = \"none\"\n")
    };
    let base_pkg = recipe("base", "");
    let overlay_pkg = recipe("overlay", "+extra");
    let base_newer = recipe("base", "");
    write_tree(
        dir.path(),
        &[
            ("base/app/foo/foo-1.0.toml", &base_pkg),
            ("base/app/foo/foo-0.9.toml", &base_newer),
            ("overlay/app/foo/foo-1.0.toml", &overlay_pkg),
            ("overlay/app/bar/bar-2.toml", &recipe("bar", "")),
            ("profiles/p/profile.toml", "world = [\"app/foo\", \"app/bar\"]\n"),
        ],
    );
    let out = ingot_in(&dir.path().join("base"), &dir.path().join("profiles"))
        .arg("--recipes")
        .arg(dir.path().join("overlay"))
        .args(["resolve", "p"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "app/bar-2 [0]\napp/foo-1.0 [0] USE=\"extra\"\n");
}

#[test]
fn a_reader_that_goes_away_ends_ingot_quietly_without_a_panic() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    // The reader closes its end before ingot writes anything.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ingot"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success() || status.signal() == Some(13), "{status:?}: {stderr}");
}
