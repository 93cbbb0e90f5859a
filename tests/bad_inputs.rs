//! The bad-input corpus: every case under `tests/bad/` is a small tree with one defect. `ingot`
//! must refuse it with exit code 1 (not crash), say what is wrong, point at the file (and line and
//! column where there is one), and leave the case directory exactly as it was.
//!
//! A case is `tests/bad/NNN-name/` with `recipes/`, `profiles/` and an `expect.toml`:
//! `command` (run from the case directory with `--recipes recipes --profiles profiles`), `message`
//! (a fragment the output must contain) and `location` (a `file:line:col` fragment), or
//! `why_no_location` when the error has no file to point at.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The corpus is meant to cover every kind of bad input; fewer cases means some went missing.
const MIN_CASES: usize = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    command: Vec<String>,
    message: String,
    location: Option<String>,
    why_no_location: Option<String>,
}

#[test]
fn every_bad_input_is_refused_with_a_message_and_a_location() {
    let cases = cases();
    assert!(cases.len() >= MIN_CASES, "only {} cases under tests/bad (want {MIN_CASES})", cases.len());
    let cache = tempfile::tempdir().unwrap();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| run_case(dir, cache.path()).err().map(|why| format!("{}: {why}", name(dir))))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn case_names_are_numbered_and_unique() {
    let mut numbers = BTreeMap::new();
    for dir in cases() {
        let n = name(&dir);
        let (num, rest) = n.split_once('-').unwrap_or((&n, ""));
        assert!(num.len() == 3 && num.bytes().all(|b| b.is_ascii_digit()), "{n}: want NNN-short-name");
        assert!(!rest.is_empty(), "{n}: want NNN-short-name");
        if let Some(other) = numbers.insert(num.to_string(), n.clone()) {
            panic!("{n} and {other} share a number");
        }
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad")
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs one case; `Err` says every way it failed.
fn run_case(dir: &Path, cache: &Path) -> Result<(), String> {
    let expect = read_expect(dir)?;
    let before = snapshot(dir);
    let out = assert_cmd::cargo::cargo_bin_cmd!("ingot")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("INGOT_CACHE", cache)
        .args(&expect.command)
        .args(["--recipes", "recipes", "--profiles", "profiles"])
        .output()
        .map_err(|e| format!("cannot run ingot: {e}"))?;
    let mut problems = check_output(&expect, &out);
    if snapshot(dir) != before {
        problems.push("the case directory changed".into());
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "ingot {}\n  - {}\n  --- output ---\n{}",
        expect.command.join(" "),
        problems.join("\n  - "),
        indent(&combined(&out))
    ))
}

fn read_expect(dir: &Path) -> Result<Expect, String> {
    let path = dir.join("expect.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let expect: Expect = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    match (&expect.location, &expect.why_no_location) {
        (Some(_), None) | (None, Some(_)) => Ok(expect),
        _ => Err("expect.toml needs exactly one of `location` and `why_no_location`".into()),
    }
}

fn check_output(expect: &Expect, out: &Output) -> Vec<String> {
    let text = combined(out);
    let mut problems = Vec::new();
    match out.status.code() {
        Some(1) => {}
        Some(code) => problems.push(format!("exit code {code}, want 1")),
        None => problems.push(format!("killed by a signal ({})", out.status)),
    }
    if !text.contains(&expect.message) {
        problems.push(format!("message `{}` not in the output", expect.message));
    }
    if let Some(loc) = &expect.location
        && !text.contains(loc.as_str())
    {
        problems.push(format!("location `{loc}` not in the output"));
    }
    if text.contains("panicked") {
        problems.push("the output says `panicked`".into());
    }
    problems
}

fn combined(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    | {l}\n")).collect()
}

/// Every file and directory under `dir` with its bytes (directories and links as markers).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            let ft = e.file_type();
            let content = if ft.is_file() {
                std::fs::read(e.path()).unwrap()
            } else if ft.is_symlink() {
                std::fs::read_link(e.path()).unwrap().into_os_string().into_encoded_bytes()
            } else {
                b"<dir>".to_vec()
            };
            (rel, content)
        })
        .collect()
}
