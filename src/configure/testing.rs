//! Builders for unit tests: profile users, groups and settings without a profile file.

use crate::diag::SourceFile;
use crate::profile::system::{Group, Setting, SystemConf, User};

pub fn setting(key: &str) -> Setting {
    Setting { file: SourceFile::new("profiles/test/profile.toml", "[system]\n"), span: 0..8, key: key.into() }
}

pub fn user(i: usize, name: &str, uid: u32) -> User {
    User {
        name: name.into(),
        uid,
        gid: None,
        groups: Vec::new(),
        shell: "/bin/sh".into(),
        home: None,
        gecos: String::new(),
        password: None,
        password_plain: None,
        authorized_keys: Vec::new(),
        setting: setting(&format!("system.users[{i}]")),
    }
}

pub fn group(i: usize, name: &str, gid: u32) -> Group {
    Group { name: name.into(), gid, members: Vec::new(), setting: setting(&format!("system.groups[{i}]")) }
}

pub fn system(users: Vec<User>, groups: Vec<Group>) -> SystemConf {
    SystemConf { users, groups, ..SystemConf::default() }
}
