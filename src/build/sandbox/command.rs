//! The phase's command line and environment as the C arrays execve takes, built before the clone.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::ptr::null;

use nix::libc::c_char;

use super::{SandboxError, inside};

/// The shell every phase runs under; on Debian and its kin this is dash.
pub(super) const SHELL: &CStr = c"/bin/sh";

/// Variables the sandbox sets itself, the same in every build.
pub const FIXED_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/build/host/usr/bin:/build/host/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
    ),
    ("HOME", inside::TMPDIR),
    ("TMPDIR", inside::TMPDIR),
    ("LC_ALL", "C"),
    ("TZ", "UTC"),
];

/// The kernel refuses a single argument longer than 32 pages (MAX_ARG_STRLEN), NUL included.
pub(super) const MAX_SCRIPT: usize = 32 * 4096 - 1;

/// `sh -e -c SCRIPT ingot` and its environment; the pointer arrays point into `strings`, whose heap
/// buffers stay put when this value moves.
pub(super) struct Command {
    _strings: Vec<CString>,
    pub argv: Vec<*const c_char>,
    pub envp: Vec<*const c_char>,
}

impl Command {
    pub fn new(script: &str, env: &BTreeMap<String, String>) -> Result<Self, SandboxError> {
        if script.len() > MAX_SCRIPT {
            return Err(SandboxError::ScriptTooLong { len: script.len(), max: MAX_SCRIPT });
        }
        let nul = |what: &str| SandboxError::NulByte { what: what.to_string() };
        // $0 names ingot in the shell's own messages ("ingot: 3: foo: not found").
        let args = [
            c"sh".to_owned(),
            c"-e".to_owned(),
            c"-c".to_owned(),
            CString::new(script).map_err(|_| nul("the phase script"))?,
            c"ingot".to_owned(),
        ];
        let mut vars = Vec::with_capacity(env.len() + FIXED_ENV.len());
        for (name, value) in env {
            check_name(name)?;
            if let Some((_, fixed)) = FIXED_ENV.iter().find(|(n, _)| n == name) {
                return Err(SandboxError::ReservedVariable { name: name.clone(), value: fixed });
            }
            vars.push(
                CString::new(format!("{name}={value}")).map_err(|_| nul(&format!("the value of {name}")))?,
            );
        }
        for (name, value) in FIXED_ENV {
            vars.push(CString::new(format!("{name}={value}")).map_err(|_| nul(name))?);
        }
        vars.sort();
        let argv = args.iter().map(|s| s.as_ptr()).chain([null()]).collect();
        let envp = vars.iter().map(|s| s.as_ptr()).chain([null()]).collect();
        Ok(Self { _strings: args.into_iter().chain(vars).collect(), argv, envp })
    }
}

fn check_name(name: &str) -> Result<(), SandboxError> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.contains('=') {
        "it contains `=`"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(SandboxError::InvalidVariable { name: name.to_string(), why })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn strings(ptrs: &[*const c_char]) -> Vec<String> {
        let (last, items) = ptrs.split_last().unwrap();
        assert!(last.is_null());
        items.iter().map(|p| unsafe { CStr::from_ptr(*p) }.to_str().unwrap().to_string()).collect()
    }

    #[test]
    fn environment_is_the_given_variables_plus_the_fixed_ones_sorted() {
        let cmd = Command::new("true", &env(&[("CFLAGS", "-O2"), ("A", "1")])).unwrap();
        let vars = strings(&cmd.envp);
        assert_eq!(vars.first().map(String::as_str), Some("A=1"));
        assert!(vars.contains(&"CFLAGS=-O2".to_string()));
        assert!(vars.contains(&"LC_ALL=C".to_string()));
        assert!(vars.contains(&"TZ=UTC".to_string()));
        assert_eq!(vars.len(), 2 + FIXED_ENV.len());
        let mut sorted = vars.clone();
        sorted.sort();
        assert_eq!(vars, sorted);
    }

    #[test]
    fn script_runs_under_sh_e_with_ingot_as_its_name() {
        let cmd = Command::new("echo hi", &env(&[])).unwrap();
        assert_eq!(strings(&cmd.argv), ["sh", "-e", "-c", "echo hi", "ingot"]);
    }

    #[test]
    fn a_fixed_variable_in_the_phase_environment_is_refused() {
        let err = Command::new("true", &env(&[("PATH", "/x")])).err().unwrap().to_string();
        assert!(err.contains("PATH is set by the sandbox itself"), "{err}");
    }

    #[test]
    fn invalid_variable_names_are_refused() {
        let err = Command::new("true", &env(&[("A=B", "1")])).err().unwrap().to_string();
        assert!(err.contains("\"A=B\"") && err.contains("contains `=`"), "{err}");
        let err = Command::new("true", &env(&[("", "1")])).err().unwrap().to_string();
        assert!(err.contains("it is empty"), "{err}");
    }

    #[test]
    fn nul_bytes_are_refused_naming_where() {
        let err = Command::new("true", &env(&[("A", "x\0y")])).err().unwrap().to_string();
        assert_eq!(err, "the value of A contains a NUL byte");
        let err = Command::new("a\0b", &env(&[])).err().unwrap().to_string();
        assert_eq!(err, "the phase script contains a NUL byte");
    }

    #[test]
    fn scripts_longer_than_one_kernel_argument_are_refused() {
        let err = Command::new(&"x".repeat(MAX_SCRIPT + 1), &env(&[])).err().unwrap().to_string();
        assert!(err.contains(&format!("{} bytes", MAX_SCRIPT + 1)), "{err}");
        assert!(Command::new(&"x".repeat(MAX_SCRIPT), &env(&[])).is_ok());
    }
}
