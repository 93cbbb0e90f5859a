//! Every configure error a profile can cause, as the CLI prints it: the profile file, line and
//! column of the setting, the key path, and what is wrong. None of them leaves a half-configured
//! tree behind.

mod configure_support;
use configure_support::{Fixture, headline};

/// Configures a fresh fixture tree with `toml`, expecting an error; checks the tree is untouched.
fn fails(toml: &str, beside: &[(&str, &str)]) -> (String, ingot::configure::ConfigureError) {
    let mut fx = Fixture::new();
    let profile = fx.profile(toml, beside);
    let before = fx.snapshot();
    let e = match fx.configure(&profile) {
        Ok(_) => panic!("configure should fail for:\n{toml}"),
        Err(e) => e,
    };
    assert_eq!(fx.snapshot(), before, "a failed configure changed the tree");
    assert!(fx.root.entries.is_empty());
    (headline(&e), e)
}

#[test]
fn unknown_supplementary_group_names_the_user_key_and_line() {
    let toml = "[system]\n\n[[system.users]]\nname = \"a\"\nuid = 1000\n\n[[system.users]]\nname = \"b\"\nuid = 1001\ngroups = [\"wheel\", \"wheel2\"]\n";
    let (h, _) = fails(toml, &[]);
    assert_eq!(h, "profiles/test/profile.toml:7:1: system.users[1].groups: unknown group \"wheel2\"");
}

#[test]
fn unknown_file_owner_and_group_name_the_file_key() {
    let file = |owner: &str, group: &str| {
        format!(
            "[system]\n[[system.files]]\npath = \"/etc/x\"\ncontent = \"\"\nowner = \"{owner}\"\ngroup = \"{group}\"\n"
        )
    };
    let (h, _) = fails(&file("ghost", "root"), &[]);
    assert_eq!(h, "profiles/test/profile.toml:2:1: system.files[0].owner: unknown user \"ghost\"");
    let (h, _) = fails(&file("root", "wheel2"), &[]);
    assert_eq!(h, "profiles/test/profile.toml:2:1: system.files[0].group: unknown group \"wheel2\"");
}

#[test]
fn bad_mode_is_refused_when_the_profile_loads() {
    let fx = Fixture::new();
    let pdir = fx.dir.path().join("profiles/test");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(
        pdir.join("profile.toml"),
        "[system]\n[[system.files]]\npath = \"/etc/x\"\nmode = \"0999\"\ncontent = \"\"\n",
    )
    .unwrap();
    let d = ingot::profile::load(&fx.dir.path().join("profiles"), "test").unwrap_err();
    let text = d.to_string();
    assert!(
        text.contains("profile.toml:4:8: system.files[0].mode: invalid mode `0999`: expected octal digits"),
        "{text}"
    );
}

#[test]
fn template_syntax_error_names_the_key_and_the_template_line() {
    let toml =
        "[system]\n[[system.files]]\npath = \"/etc/motd\"\ncontent = \"hi\\n{% if %}\\n\"\ntemplate = true\n";
    let (h, _) = fails(toml, &[]);
    assert_eq!(
        h,
        "profiles/test/profile.toml:2:1: system.files[0]: template line 2: syntax error: unexpected end of block (in `%}`)"
    );
}

#[test]
fn undefined_template_variable_names_the_key_the_line_and_the_variable() {
    let toml = "[system]\n[[system.files]]\npath = \"/etc/motd\"\ncontent = \"{{ hostname }}\\n{{ vars.motd }}\\n\"\ntemplate = true\n";
    let (h, _) = fails(toml, &[]);
    assert_eq!(
        h,
        "profiles/test/profile.toml:2:1: system.files[0]: template line 2: undefined value: `vars.motd` is undefined"
    );
}

#[test]
fn template_errors_in_a_source_file_name_that_file() {
    let toml = "[system]\n[[system.files]]\npath = \"/etc/motd\"\nsource = \"motd.j2\"\ntemplate = true\n";
    let (h, _) = fails(toml, &[("motd.j2", "line one\n{{ nope }}\n")]);
    assert!(h.starts_with("profiles/test/profile.toml:2:1: system.files[0]: template line 2: undefined value: `nope` is undefined [template "), "{h}");
    assert!(h.ends_with("profiles/test/motd.j2]"), "{h}");
}

#[test]
fn service_without_init_script_names_the_service_and_lists_the_scripts() {
    let (h, e) = fails("[system]\nservices = [\"syslogd\", \"sshd\"]\n", &[]);
    assert_eq!(
        h,
        "profiles/test/profile.toml:2:24: system.services: no executable init script /etc/init.d/sshd for service \"sshd\""
    );
    assert_eq!(e.diagnostic().notes, ["scripts in /etc/init.d: dropbear, notexec, syslogd"]);
}

#[test]
fn service_whose_script_is_not_executable_is_refused() {
    let (h, _) = fails("[system]\nservices = [\"notexec\"]\n", &[]);
    assert_eq!(
        h,
        "profiles/test/profile.toml:2:13: system.services: no executable init script /etc/init.d/notexec for service \"notexec\""
    );
}

#[test]
fn password_and_password_plain_together_name_the_user() {
    let toml = "[system]\n[[system.users]]\nname = \"demo\"\nuid = 1000\npassword = \"!\"\npassword_plain = \"demo\"\n";
    let (h, _) = fails(toml, &[]);
    assert_eq!(
        h,
        "profiles/test/profile.toml:2:1: system.users[0]: set `password` or `password_plain`, not both"
    );
}

#[test]
fn a_password_that_is_not_a_crypt_hash_is_refused() {
    let toml = "[system]\n[[system.users]]\nname = \"demo\"\nuid = 1000\npassword = \"hunter2\"\n";
    let (h, _) = fails(toml, &[]);
    assert!(
        h.starts_with("profiles/test/profile.toml:2:1: system.users[0].password: not a crypt(3) hash"),
        "{h}"
    );
}

#[test]
fn a_group_member_that_is_no_user_is_refused() {
    let toml = "[system]\n[[system.groups]]\nname = \"staff\"\ngid = 50\nmembers = [\"ghost\"]\n";
    let (h, _) = fails(toml, &[]);
    assert_eq!(h, "profiles/test/profile.toml:2:1: system.groups[0].members: unknown user \"ghost\"");
}

#[test]
fn a_home_that_is_a_file_is_refused() {
    let mut fx = Fixture::new();
    std::fs::write(fx.root.dir.join("srv"), "").unwrap();
    let profile = fx.profile("[system]\n[[system.users]]\nname = \"a\"\nuid = 1000\nhome = \"/srv\"\n", &[]);
    let e = fx.configure(&profile).unwrap_err();
    assert_eq!(
        headline(&e),
        "profiles/test/profile.toml:2:1: system.users[0].home: /srv exists but is not a directory"
    );
}

#[test]
fn an_authorized_key_with_a_newline_is_refused() {
    let toml = "[system]\n[[system.users]]\nname = \"a\"\nuid = 1000\nauthorized_keys = [\"ssh-ed25519 AAAA a\", \"ssh-ed25519 AAAA b\\nssh-rsa evil\"]\n";
    let (h, _) = fails(toml, &[]);
    assert_eq!(
        h,
        "profiles/test/profile.toml:2:1: system.users[0].authorized_keys[1]: a key is one non-empty line"
    );
}

#[test]
fn an_invalid_timezone_is_refused_when_the_profile_loads() {
    let fx = Fixture::new();
    let pdir = fx.dir.path().join("profiles/test");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(pdir.join("profile.toml"), "[system]\ntimezone = \"../../etc/passwd\"\n").unwrap();
    let text = ingot::profile::load(&fx.dir.path().join("profiles"), "test").unwrap_err().to_string();
    assert!(text.contains("profile.toml:2:12: invalid timezone `../../etc/passwd`"), "{text}");
}
