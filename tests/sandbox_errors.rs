//! Sandbox runs that cannot start say what is wrong and with which directory.

mod sandbox_support;

use std::path::PathBuf;

use ingot::build::sandbox;
use sandbox_support::{Build, is_root};

fn error_of(b: &Build) -> String {
    match b.run("true").0 {
        Err(e) => e.to_string(),
        Ok(status) => panic!("expected an error, the phase ran and exited with {status}"),
    }
}

#[test]
fn a_sysroot_that_is_a_file_fails_setup_naming_the_step() {
    let mut b = Build::new();
    let file = b.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    b.spec.sysroot = file.clone();
    let err = error_of(&b);
    let expected = format!(
        "could not set up the sandbox: bind-mount {} (the sysroot) on /build/sysroot: Not a directory",
        file.display()
    );
    assert!(err.starts_with(&expected), "{err}");
}

#[test]
fn a_missing_workdir_is_named() {
    let mut b = Build::new();
    b.spec.workdir = b.path().join("missing");
    let err = error_of(&b);
    assert!(err.starts_with("sandbox workdir: "), "{err}");
    assert!(err.contains(&b.path().join("missing").display().to_string()), "{err}");
}

#[test]
fn a_destdir_in_usr_is_refused() {
    let mut b = Build::new();
    b.spec.destdir = PathBuf::from("/usr/share");
    let err = error_of(&b);
    assert!(
        err.starts_with("sandbox destdir /usr/share lies in /usr, which every build sees read-only"),
        "{err}"
    );
}

#[test]
fn a_variable_the_sandbox_fixes_is_refused() {
    let mut b = Build::new();
    b.spec.env.insert("TZ".into(), "Europe/Paris".into());
    assert_eq!(
        error_of(&b),
        "environment variable TZ is set by the sandbox itself (to UTC); remove it from the phase environment"
    );
}

#[test]
fn probe_reports_whether_the_sandbox_is_rootless() {
    assert_eq!(sandbox::probe().unwrap().rootless, !is_root());
}

#[test]
fn every_test_here_also_passes_rootless() {
    if is_root() {
        sandbox_support::rerun_other_tests_as_nobody("every_test_here_also_passes_rootless");
    } else {
        assert!(sandbox::probe().unwrap().rootless);
    }
}
