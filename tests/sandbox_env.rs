//! The phase's environment is exactly what ingot gives it: nothing leaks in from the caller.
//! Alone in its binary because it sets a variable in the test process.

mod sandbox_support;

use ingot::build::sandbox::FIXED_ENV;
use sandbox_support::Build;

#[test]
fn the_environment_is_the_spec_plus_fixed_values_and_nothing_inherited() {
    // SAFETY: the only test in this binary, so no other thread reads the environment meanwhile.
    unsafe { std::env::set_var("INGOT_SANDBOX_LEAK_CHECK", "leaked") };
    let mut b = Build::new();
    b.spec.env.insert("CFLAGS".into(), "-O2 -pipe".into());
    b.run_ok("env > /build/work/env; umask > /build/work/umask");
    let env = std::fs::read_to_string(b.spec.workdir.join("env")).unwrap();
    let mut lines: Vec<&str> = env.lines().collect();
    lines.sort();
    let mut expected: Vec<String> = FIXED_ENV.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // dash exports PWD itself.
    expected.extend(["CFLAGS=-O2 -pipe".to_string(), "PWD=/build/work".to_string()]);
    expected.sort();
    assert_eq!(lines, expected);
    assert!(!env.contains("INGOT_SANDBOX_LEAK_CHECK"));
    assert_eq!(std::fs::read_to_string(b.spec.workdir.join("umask")).unwrap(), "0022\n");
}
