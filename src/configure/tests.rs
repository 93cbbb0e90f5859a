use super::*;
use crate::configure::testing::setting;

#[test]
fn diagnostic_points_at_the_setting_and_lists_init_scripts() {
    let e = ConfigureError::MissingService {
        setting: setting("system.services"),
        service: "sshd".into(),
        available: vec!["dropbear".into(), "syslogd".into()],
    };
    let d = e.diagnostic();
    assert_eq!(
        d.headline(),
        "profiles/test/profile.toml:1:1: system.services: no executable init script /etc/init.d/sshd for service \"sshd\""
    );
    assert_eq!(d.notes, ["scripts in /etc/init.d: dropbear, syslogd"]);
    let none = ConfigureError::MissingService {
        setting: setting("system.services"),
        service: "x".into(),
        available: vec![],
    };
    assert_eq!(none.diagnostic().notes, ["the staged tree has no scripts in /etc/init.d"]);
}

#[test]
fn errors_without_a_setting_have_no_location() {
    let e = ConfigureError::InvalidTimezone("../x".into());
    assert!(e.setting().is_none());
    assert_eq!(e.diagnostic().location(), None);
}

#[test]
fn a_malformed_tree_passwd_stops_configure_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nbroken\n").unwrap();
    let mut root = StagingRoot { dir: dir.path().to_path_buf(), entries: Default::default() };
    let sys = SystemConf::default();
    let os = OsRelease {
        name: "ingot".into(),
        id: "ingot".into(),
        version_id: String::new(),
        pretty_name: String::new(),
        image_id: String::new(),
        build_id: String::new(),
    };
    let inputs = ConfigureInputs {
        system: &sys,
        fstab: &[],
        os_release: &os,
        source_date_epoch: 0,
        seed: [0; 32],
        profile_name: "t",
    };
    let e = configure(&mut root, &inputs).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/passwd:2: expected 7 `:`-separated fields starting with a name, found `broken`"
    );
}

#[test]
fn a_tree_group_file_that_is_not_utf8_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/group"), b"caf\xe9:x:5:\n").unwrap();
    let mut root = StagingRoot { dir: dir.path().to_path_buf(), entries: Default::default() };
    let e = accounts::Existing::read(&Tree::new(&mut root)).unwrap_err();
    assert_eq!(e.to_string(), "/etc/group: not UTF-8 text");
}
