//! Phase scripts and their environment: the default phases of each build system, the prelude of
//! ebuild-style shell helpers (`use`, `use_enable`, `die`, `econf`, `emake`, …) every phase starts
//! with, and the variables a phase sees (`WORKDIR`, `S`, `DESTDIR`, `USE`, `PV`, …).

use std::collections::BTreeMap;

use super::sandbox::inside;

/// The shell helpers prepended to every phase (POSIX sh; runs under dash).
pub const HELPERS: &str = include_str!("helpers.sh");

/// The phases in the order they run.
pub const PHASES: [&str; 4] = ["prepare", "configure", "compile", "install"];

pub use crate::recipe::BuildSystem;

/// The shell body of each phase; `None` means the phase does nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhaseScripts {
    pub prepare: Option<String>,
    pub configure: Option<String>,
    pub compile: Option<String>,
    pub install: Option<String>,
}

impl PhaseScripts {
    /// The recipe's phases, each one it leaves out taken from `defaults`.
    pub fn or_defaults(self, defaults: PhaseScripts) -> PhaseScripts {
        PhaseScripts {
            prepare: self.prepare.or(defaults.prepare),
            configure: self.configure.or(defaults.configure),
            compile: self.compile.or(defaults.compile),
            install: self.install.or(defaults.install),
        }
    }

    /// The phases that do something, in running order, as (name, body).
    pub fn to_run(&self) -> Vec<(&'static str, &str)> {
        let bodies = [&self.prepare, &self.configure, &self.compile, &self.install];
        PHASES.into_iter().zip(bodies).filter_map(|(name, body)| Some((name, body.as_deref()?))).collect()
    }
}

/// The phases a build system runs when the recipe does not say otherwise.
pub fn default_phases(system: BuildSystem) -> PhaseScripts {
    let s = |text: &str| Some(text.to_string());
    let install = s(r#"emake DESTDIR="$DESTDIR" install"#);
    match system {
        BuildSystem::Autotools => {
            PhaseScripts { prepare: None, configure: s("econf"), compile: s("emake"), install }
        }
        BuildSystem::Make => PhaseScripts { prepare: None, configure: None, compile: s("emake"), install },
        // Debian's cmake and meson put libraries in lib/<multiarch> under /usr; the image wants lib.
        BuildSystem::Cmake => PhaseScripts {
            prepare: None,
            configure: s(
                "cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE=Release",
            ),
            compile: s(r#"cmake --build build -j"$JOBS""#),
            install: s(r#"DESTDIR="$DESTDIR" cmake --install build"#),
        },
        BuildSystem::Meson => PhaseScripts {
            prepare: None,
            configure: s("meson setup --prefix=/usr --libdir=lib --buildtype=release build"),
            compile: s(r#"meson compile -C build -j "$JOBS""#),
            install: s(r#"DESTDIR="$DESTDIR" meson install -C build"#),
        },
        BuildSystem::None => PhaseScripts::default(),
    }
}

/// The full script of one phase: the helpers, then `cd "$S"`, then the body.
pub fn script_for(phase: &str, body: &str) -> String {
    let phase = shell_quote(phase);
    format!(
        "{HELPERS}\nINGOT_PHASE={phase}\ncd \"$S\" || die \"cannot enter the source directory $S (set [build] dir in the recipe)\"\n{body}\n"
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a phase needs to know about the package being built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhaseContext {
    pub category: String,
    pub name: String,
    /// PV: the version without revision.
    pub version: String,
    /// 0 when the version has no `-rN`.
    pub revision: u32,
    pub use_enabled: Vec<String>,
    /// As in the recipe; leading `+` and `-` are dropped.
    pub iuse: Vec<String>,
    pub jobs: usize,
    pub chost: String,
    pub cflags: String,
    pub cxxflags: String,
    pub ldflags: String,
    /// Profile and recipe variables; the variables in `PHASE_VARIABLES` take precedence.
    pub extra_env: BTreeMap<String, String>,
    pub source_date_epoch: u64,
    /// $S relative to WORKDIR (`[build] dir`).
    pub s_dir: String,
}

/// Variables `phase_env` sets; a profile or recipe cannot override them.
pub const PHASE_VARIABLES: &[&str] = &[
    "WORKDIR",
    "S",
    "DESTDIR",
    "FILESDIR",
    "SYSROOT",
    "HOSTROOT",
    "JOBS",
    "CHOST",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "USE",
    "IUSE",
    "CATEGORY",
    "P",
    "PN",
    "PV",
    "PR",
    "PVR",
    "PF",
    "SOURCE_DATE_EPOCH",
];

/// The environment of a phase, with the sandbox's fixed paths.
pub fn phase_env(p: &PhaseContext) -> BTreeMap<String, String> {
    let pvr = if p.revision == 0 { p.version.clone() } else { format!("{}-r{}", p.version, p.revision) };
    let s_dir = p.s_dir.trim_matches('/');
    let s =
        if s_dir.is_empty() { inside::WORKDIR.to_string() } else { format!("{}/{s_dir}", inside::WORKDIR) };
    let own = [
        ("WORKDIR", inside::WORKDIR.to_string()),
        ("S", s),
        ("DESTDIR", inside::DESTDIR.to_string()),
        ("FILESDIR", inside::FILESDIR.to_string()),
        ("SYSROOT", inside::SYSROOT.to_string()),
        ("HOSTROOT", inside::HOSTROOT.to_string()),
        ("JOBS", p.jobs.max(1).to_string()),
        ("CHOST", p.chost.clone()),
        ("CFLAGS", p.cflags.clone()),
        ("CXXFLAGS", p.cxxflags.clone()),
        ("LDFLAGS", p.ldflags.clone()),
        ("USE", word_list(p.use_enabled.iter().map(String::as_str))),
        ("IUSE", word_list(p.iuse.iter().map(|f| f.trim_start_matches(['+', '-'])))),
        ("CATEGORY", p.category.clone()),
        ("P", format!("{}-{}", p.name, p.version)),
        ("PN", p.name.clone()),
        ("PV", p.version.clone()),
        ("PR", format!("r{}", p.revision)),
        ("PF", format!("{}-{pvr}", p.name)),
        ("PVR", pvr),
        ("SOURCE_DATE_EPOCH", p.source_date_epoch.to_string()),
    ];
    let mut env = p.extra_env.clone();
    env.extend(own.into_iter().map(|(k, v)| (k.to_string(), v)));
    env
}

/// Sorted, deduplicated, space-separated: the same set always gives the same string.
fn word_list<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let set: std::collections::BTreeSet<&str> = words.filter(|w| !w.is_empty()).collect();
    set.into_iter().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Outcome {
        code: Option<i32>,
        stdout: String,
        stderr: String,
    }

    /// Runs the helpers and `body` under `sh -e`, as a phase does, without a sandbox.
    fn sh(body: &str, env: &[(&str, &str)]) -> Outcome {
        let mut cmd = crate::host::SH.command().unwrap();
        cmd.args(["-e", "-c", &format!("{HELPERS}\n{body}"), "ingot"]).env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.envs([
            ("CATEGORY", "app-misc"),
            ("PF", "hello-1.0"),
            ("IUSE", "ssl ipv6 static"),
            ("USE", "ssl"),
        ]);
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn stdout_of(body: &str) -> String {
        let out = sh(body, &[]);
        assert_eq!(out.code, Some(0), "{body}: {}", out.stderr);
        out.stdout
    }

    #[test]
    fn use_is_true_for_enabled_flags_and_false_for_others() {
        assert_eq!(stdout_of("use ssl && echo on; use ipv6 || echo off"), "on\noff\n");
    }

    #[test]
    fn negated_use_inverts_the_answer() {
        assert_eq!(stdout_of("use '!ssl' || echo a; use '!ipv6' && echo b"), "a\nb\n");
    }

    #[test]
    fn use_of_a_flag_missing_from_iuse_dies_naming_flag_and_package() {
        let out = sh("if use gtk; then echo yes; fi; echo after", &[]);
        assert_eq!(out.code, Some(1));
        assert!(
            out.stderr.contains("ingot: die: use: flag 'gtk' is not in IUSE of app-misc/hello-1.0"),
            "{}",
            out.stderr
        );
        assert!(!out.stdout.contains("after"), "{}", out.stdout);
    }

    #[test]
    fn use_without_exactly_one_flag_dies() {
        let out = sh("use", &[]);
        assert_eq!(out.code, Some(1));
        assert!(out.stderr.contains("ingot: die: use: expected one flag, got 0"), "{}", out.stderr);
    }

    #[test]
    fn usev_prints_the_flag_or_the_value_only_when_enabled() {
        assert_eq!(
            stdout_of("usev ssl; usev ssl openssl; usev ipv6; usev '!ipv6' no-v6"),
            "ssl\nopenssl\nno-v6\n"
        );
    }

    #[test]
    fn use_enable_and_use_with_build_configure_options() {
        let body = "use_enable ssl; use_enable ipv6; use_enable ssl tls; use_enable ssl tls openssl; \
                    use_with ssl; use_with static static-libs; use_with ssl crypto openssl; use_enable '!ipv6' legacy";
        let expected = "--enable-ssl\n--disable-ipv6\n--enable-tls\n--enable-tls=openssl\n\
                        --with-ssl\n--without-static-libs\n--with-crypto=openssl\n--enable-legacy\n";
        assert_eq!(stdout_of(body), expected);
    }

    #[test]
    fn use_enable_with_a_wrong_argument_count_dies() {
        let out = sh("use_enable", &[]);
        assert_eq!(out.code, Some(1));
        assert!(out.stderr.contains("ingot: die: use_enable: expected a flag"), "{}", out.stderr);
    }

    #[test]
    fn die_prints_its_message_and_exits_1() {
        let out = sh("die 'broken tarball'; echo after", &[]);
        assert_eq!(out.code, Some(1));
        assert_eq!(out.stderr, "ingot: die: broken tarball\n");
        assert_eq!(out.stdout, "");
    }

    #[test]
    fn die_inside_a_command_substitution_still_fails_the_phase() {
        let out = sh("opts=\"$(use_enable nosuchflag)\"; echo \"after $opts\"", &[]);
        assert_eq!(out.code, Some(1), "{}", out.stdout);
        assert!(out.stderr.contains("flag 'nosuchflag' is not in IUSE"), "{}", out.stderr);
        assert!(!out.stdout.contains("after"), "{}", out.stdout);
    }

    #[test]
    fn einfo_and_ewarn_write_tagged_lines_to_stderr() {
        let out = sh("einfo hello there; ewarn careful", &[]);
        assert_eq!(out.stderr, "ingot: info: hello there\ningot: warn: careful\n");
    }

    /// A directory holding a fake `configure` or `make` that prints its arguments.
    fn fake_tool(name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn host_triple() -> String {
        let out = std::process::Command::new("gcc").arg("-dumpmachine").output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn econf_configures_for_usr_and_a_chost_of_another_abi_as_a_cross_build() {
        let dir = fake_tool("configure");
        let chost = format!("{}-linux-musl", std::env::consts::ARCH);
        let body = format!("cd '{}'; econf --disable-nls", dir.path().display());
        let out = sh(&body, &[("CHOST", &chost)]);
        let expected = format!(
            "--prefix=/usr\n--build={}\n--host={chost}\n--sysconfdir=/etc\n--localstatedir=/var\n--disable-nls\n",
            host_triple()
        );
        assert_eq!(out.stdout, expected, "{}", out.stderr);
    }

    #[test]
    fn econf_builds_natively_for_the_host_s_own_triple() {
        let dir = fake_tool("configure");
        let body = format!("cd '{}'; econf", dir.path().display());
        let host = host_triple();
        let out = sh(&body, &[("CHOST", &host)]);
        assert!(out.stdout.contains(&format!("--build={host}\n--host={host}\n")), "{}", out.stdout);
    }

    #[test]
    fn econf_builds_on_the_machine_s_own_triple_for_another_arch() {
        let dir = fake_tool("configure");
        let body = format!("cd '{}'; econf", dir.path().display());
        let out = sh(&body, &[("CHOST", "sparc64-unknown-linux-gnu")]);
        let build = format!("--build={}\n", host_triple());
        assert!(out.stdout.contains(&build), "{}", out.stdout);
        assert!(out.stdout.contains("--host=sparc64-unknown-linux-gnu\n"), "{}", out.stdout);
        let out = sh(&body, &[("CHOST", "sparc64-unknown-linux-gnu"), ("CBUILD", "my-build")]);
        assert!(out.stdout.contains("--build=my-build\n"), "{}", out.stdout);
    }

    #[test]
    fn econf_without_a_configure_script_dies() {
        let dir = tempfile::tempdir().unwrap();
        let out = sh(&format!("cd '{}'; econf", dir.path().display()), &[("CHOST", "x")]);
        assert_eq!(out.code, Some(1));
        assert!(out.stderr.contains("ingot: die: econf: no executable ./configure in"), "{}", out.stderr);
    }

    #[test]
    fn emake_runs_make_with_the_job_count_and_dies_when_it_fails() {
        let dir = fake_tool("make");
        let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap());
        let out = sh("emake DESTDIR=/x install", &[("PATH", &path), ("JOBS", "3")]);
        assert_eq!(out.stdout, "-j3\nDESTDIR=/x\ninstall\n", "{}", out.stderr);
        let out = sh("emake nosuchtarget", &[("PATH", "/nonexistent")]);
        assert_eq!(out.code, Some(1));
        assert!(out.stderr.contains("ingot: die: emake: make nosuchtarget failed"), "{}", out.stderr);
    }

    #[test]
    fn helpers_contain_no_bash_only_syntax() {
        for bashism in ["[[", "function ", "local ", "$'", "==", "source ", "${!", "<<<"] {
            assert!(!HELPERS.contains(bashism), "helpers use `{bashism}`");
        }
    }

    #[test]
    fn script_for_runs_helpers_then_enters_s_then_the_body() {
        let script = script_for("configure", "econf --foo");
        let helpers = script.find("use_enable()").unwrap();
        let cd = script.find("cd \"$S\"").unwrap();
        let body = script.find("econf --foo").unwrap();
        assert!(helpers < cd && cd < body);
        assert!(script.contains("INGOT_PHASE='configure'"));
    }

    #[test]
    fn script_for_dies_clearly_when_s_is_missing() {
        let out = sh(&script_for("compile", "echo never"), &[("S", "/nonexistent/hello-1.0")]);
        assert_eq!(out.code, Some(1));
        assert!(
            out.stderr.contains("ingot: die: cannot enter the source directory /nonexistent/hello-1.0"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }

    #[test]
    fn default_phases_follow_the_build_system() {
        let auto = default_phases(BuildSystem::Autotools);
        assert_eq!(auto.configure.as_deref(), Some("econf"));
        assert_eq!(auto.compile.as_deref(), Some("emake"));
        assert_eq!(auto.install.as_deref(), Some(r#"emake DESTDIR="$DESTDIR" install"#));
        let make = default_phases(BuildSystem::Make);
        assert_eq!(make.configure, None);
        assert_eq!(make.install, auto.install);
        assert!(
            default_phases(BuildSystem::Cmake).configure.unwrap().contains("-DCMAKE_INSTALL_PREFIX=/usr")
        );
        assert!(default_phases(BuildSystem::Meson).install.unwrap().contains("meson install"));
        assert!(default_phases(BuildSystem::None).to_run().is_empty());
    }

    #[test]
    fn recipe_phases_override_defaults_one_by_one() {
        let recipe = PhaseScripts { configure: Some("make defconfig".into()), ..Default::default() };
        let merged = recipe.or_defaults(default_phases(BuildSystem::Make));
        let names: Vec<_> =
            merged.to_run().into_iter().map(|(name, body)| format!("{name}: {body}")).collect();
        assert_eq!(
            names,
            ["configure: make defconfig", "compile: emake", r#"install: emake DESTDIR="$DESTDIR" install"#]
        );
    }

    fn context() -> PhaseContext {
        PhaseContext {
            category: "sys-apps".into(),
            name: "busybox".into(),
            version: "1.35.0".into(),
            revision: 2,
            use_enabled: vec!["static".into(), "ipv6".into(), "static".into()],
            iuse: vec!["+static".into(), "ipv6".into(), "-syslog".into()],
            jobs: 4,
            chost: "x86_64-linux-musl".into(),
            cflags: "-O2".into(),
            cxxflags: "-O2".into(),
            ldflags: "-Wl,-O1".into(),
            extra_env: [("CC", "musl-gcc"), ("DESTDIR", "/evil")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            source_date_epoch: 1_700_000_000,
            s_dir: "busybox-1.35.0".into(),
        }
    }

    #[test]
    fn phase_env_uses_the_sandbox_paths_and_gentoo_names() {
        let env = phase_env(&context());
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("S"), Some("/build/work/busybox-1.35.0"));
        assert_eq!(get("DESTDIR"), Some("/build/image"));
        assert_eq!(get("HOSTROOT"), Some("/build/host"));
        assert_eq!(get("P"), Some("busybox-1.35.0"));
        assert_eq!(get("PVR"), Some("1.35.0-r2"));
        assert_eq!(get("PF"), Some("busybox-1.35.0-r2"));
        assert_eq!(get("PR"), Some("r2"));
        assert_eq!(get("USE"), Some("ipv6 static"));
        assert_eq!(get("IUSE"), Some("ipv6 static syslog"));
        assert_eq!(get("JOBS"), Some("4"));
        assert_eq!(get("SOURCE_DATE_EPOCH"), Some("1700000000"));
        assert_eq!(get("CC"), Some("musl-gcc"));
    }

    #[test]
    fn extra_env_cannot_override_ingot_s_own_variables() {
        assert_eq!(phase_env(&context()).get("DESTDIR").map(String::as_str), Some("/build/image"));
    }

    #[test]
    fn pvr_is_the_bare_version_without_a_revision() {
        let env = phase_env(&PhaseContext { revision: 0, ..context() });
        assert_eq!(env["PVR"], "1.35.0");
        assert_eq!(env["PF"], "busybox-1.35.0");
    }

    #[test]
    fn phase_variables_lists_exactly_what_phase_env_sets() {
        let env = phase_env(&PhaseContext { extra_env: BTreeMap::new(), ..context() });
        let mut listed: Vec<_> = PHASE_VARIABLES.to_vec();
        listed.sort();
        assert_eq!(env.keys().map(String::as_str).collect::<Vec<_>>(), listed);
    }

    #[test]
    fn phase_env_works_in_the_helpers() {
        let env = phase_env(&context());
        let mut cmd = crate::host::SH.command().unwrap();
        cmd.args(["-e", "-c", &format!("{HELPERS}\nuse_enable static; use_with syslog")])
            .env_clear()
            .envs(&env);
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let out = cmd.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "--enable-static\n--without-syslog\n");
    }
}
