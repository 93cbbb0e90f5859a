//! Phase scripts in the sandbox: exit statuses, helpers, timeouts, the log, and the default phases
//! building a real (tiny) C project.

mod sandbox_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ingot::build::phases::{self, BuildSystem, PhaseContext};
use ingot::build::sandbox::SandboxError;
use sandbox_support::{Build, is_root, marker, processes_with};

fn context(s_dir: &str) -> PhaseContext {
    PhaseContext {
        category: "app-misc".into(),
        name: "hello".into(),
        version: "1.0".into(),
        revision: 0,
        use_enabled: vec!["ssl".into()],
        iuse: vec!["ssl".into(), "+ipv6".into()],
        jobs: 2,
        chost: format!("{}-linux-musl", std::env::consts::ARCH),
        cflags: "-O2 -g".into(),
        cxxflags: "-O2".into(),
        ldflags: String::new(),
        extra_env: BTreeMap::new(),
        source_date_epoch: 1_700_000_000,
        s_dir: s_dir.into(),
    }
}

/// A build whose workdir holds `s_dir` and whose environment is the phase environment.
fn phase_build(s_dir: &str) -> Build {
    let mut b = Build::new();
    std::fs::create_dir_all(b.spec.workdir.join(s_dir)).unwrap();
    b.spec.env = phases::phase_env(&context(s_dir));
    b
}

#[test]
fn a_failing_phase_returns_its_exit_status() {
    let (result, _) = Build::new().run("exit 7");
    assert_eq!(result.unwrap().code(), Some(7));
}

#[test]
fn sh_e_stops_at_the_first_failing_command() {
    let (result, log) = Build::new().run("echo before; false; echo after");
    assert_eq!(result.unwrap().code(), Some(1));
    assert_eq!(log, "before\n");
}

#[test]
fn die_fails_the_phase_with_its_message_in_the_log() {
    let b = phase_build("hello-1.0");
    let (result, log) =
        b.run(&phases::script_for("compile", "echo working; die \"no compiler found\"; echo after"));
    assert_eq!(result.unwrap().code(), Some(1));
    assert_eq!(log, "working\ningot: die: no compiler found\n");
}

#[test]
fn an_unknown_flag_in_use_dies_with_a_clear_message() {
    let b = phase_build("hello-1.0");
    let (result, log) = b.run(&phases::script_for("configure", "econf $(use_enable gtk)"));
    assert_eq!(result.unwrap().code(), Some(1));
    assert!(
        log.contains("ingot: die: use: flag 'gtk' is not in IUSE of app-misc/hello-1.0 (IUSE: ipv6 ssl)"),
        "{log}"
    );
    assert!(!log.contains("econf:"), "configure ran: {log}");
}

#[test]
fn helpers_see_the_phase_environment() {
    let b = phase_build("hello-1.0");
    let body = "echo \"$(use_enable ssl) $(use_with ipv6 inet6) $(usev ssl openssl)\"; pwd; echo \"$P $PVR $CATEGORY\"";
    let log = b.run_ok(&phases::script_for("configure", body));
    assert_eq!(log, "--enable-ssl --without-inet6 openssl\n/build/work/hello-1.0\nhello-1.0 1.0 app-misc\n");
}

#[test]
fn a_phase_past_its_timeout_is_killed_and_reported() {
    let tag = marker();
    let mut b = Build::new();
    b.spec.timeout = Some(Duration::from_secs(1));
    let (result, log) = b.run(&format!("echo started; sleep 1000.{tag} & sleep 1001.{tag}"));
    let err = result.unwrap_err();
    assert!(matches!(err, SandboxError::Timeout { .. }), "{err:?}");
    assert_eq!(err.to_string(), "the phase ran past its timeout of 1s and was killed");
    assert_eq!(log, "started\n");
    assert_eq!(processes_with(&tag), Vec::<u32>::new());
}

#[test]
fn output_is_appended_to_the_log_from_stdout_and_stderr() {
    let b = Build::new();
    std::fs::write(&b.log, "earlier phase\n").unwrap();
    let log = b.run_ok("echo out; echo err >&2; echo out again");
    assert_eq!(log, "earlier phase\nout\nerr\nout again\n");
}

#[test]
fn stdin_is_empty() {
    assert_eq!(Build::new().run_ok("cat; echo end"), "end\n");
}

const HELLO_C: &str = "#include <stdio.h>\nint main(void) { puts(\"hello from \" GREETING); return 0; }\n";

const MAKEFILE: &str = "\
PREFIX ?= /usr
-include config.mk
GREETING ?= \"make\"
hello: hello.c
\t$(CC) $(CFLAGS) -DGREETING='$(GREETING)' -o $@ hello.c $(LDFLAGS)
install: hello
\tmkdir -p $(DESTDIR)$(PREFIX)/bin
\tcp hello $(DESTDIR)$(PREFIX)/bin/hello
";

/// Just enough of an autoconf `configure`: takes econf's options, refuses unknown ones.
const CONFIGURE: &str = r#"#!/bin/sh
prefix=/usr/local host= build=
for arg; do
	case $arg in
	--prefix=*) prefix=${arg#*=} ;;
	--host=*) host=${arg#*=} ;;
	--build=*) build=${arg#*=} ;;
	--sysconfdir=* | --localstatedir=*) ;;
	*) echo "configure: unknown option $arg" >&2; exit 1 ;;
	esac
done
if [ "$build" = "$host" ]; then cross=no; else cross=yes; fi
printf 'PREFIX = %s\nGREETING = "autotools cross=%s"\n' "$prefix" "$cross" > config.mk
echo "configured for $host"
"#;

fn write_project(dir: &Path, configure: bool) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("hello.c"), HELLO_C).unwrap();
    std::fs::write(dir.join("Makefile"), MAKEFILE).unwrap();
    if configure {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(dir.join("configure"), CONFIGURE).unwrap();
        std::fs::set_permissions(dir.join("configure"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Runs every default phase of `system` in turn, as the scheduler does, and returns the log.
fn build_with_defaults(b: &Build, system: BuildSystem) -> String {
    let mut log = String::new();
    for (phase, body) in phases::default_phases(system).to_run() {
        log = b.run_ok(&phases::script_for(phase, body));
    }
    log
}

fn run_installed(b: &Build) -> String {
    let out = std::process::Command::new(b.spec.destdir.join("usr/bin/hello")).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn autotools_default_phases_build_and_install_a_hello_world() {
    let b = phase_build("hello-1.0");
    write_project(&b.spec.workdir.join("hello-1.0"), true);
    let log = build_with_defaults(&b, BuildSystem::Autotools);
    assert!(log.contains(&format!("configured for {}", context("").chost)), "{log}");
    // A musl CHOST on a glibc host is a cross build: configure must not run its test programs.
    assert_eq!(run_installed(&b), "hello from autotools cross=yes\n");
}

#[test]
fn make_default_phases_build_and_install_a_hello_world() {
    let b = phase_build("hello-1.0");
    write_project(&b.spec.workdir.join("hello-1.0"), false);
    build_with_defaults(&b, BuildSystem::Make);
    assert_eq!(run_installed(&b), "hello from make\n");
}

#[test]
fn debug_info_names_the_sandbox_s_paths_never_the_host_s() {
    let b = phase_build("hello-1.0");
    write_project(&b.spec.workdir.join("hello-1.0"), false);
    build_with_defaults(&b, BuildSystem::Make);
    let binary = std::fs::read(b.spec.destdir.join("usr/bin/hello")).unwrap();
    let contains = |needle: &str| binary.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("/build/work/hello-1.0"));
    assert!(!contains(&b.path().display().to_string()));
}

#[test]
fn every_test_here_also_passes_rootless() {
    if is_root() {
        sandbox_support::rerun_other_tests_as_nobody("every_test_here_also_passes_rootless");
    } else {
        assert!(ingot::build::sandbox::probe().unwrap().rootless);
    }
}
