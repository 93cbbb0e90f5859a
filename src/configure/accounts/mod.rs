//! Users and groups: the accounts packages left in the staged tree, with the profile's users and
//! groups added or put in place of those of the same name, written back sorted by id.
//!
//! Rules: `root` (uid 0) and group `root` (gid 0) always exist. A user's primary group is its
//! `gid` if given, else the group named like the user (the profile's or the tree's), else a new
//! group of that name with gid = uid. Supplementary `groups` add the user to those groups' member
//! lists. Passwords live in `/etc/shadow` (0600 root:root, Gentoo's choice); `/etc/gshadow` is
//! kept in step only if the tree already has one (busybox does not use it).

pub mod db;

use super::error::{ConfigureError, at_key};
use super::password;
use super::tree::{Owner, Tree};
use crate::profile::system::{Setting, SystemConf, User};
use db::{GroupLine, Passwd, RawLine};
use std::collections::BTreeMap;

pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";
pub const SHADOW: &str = "/etc/shadow";
pub const GSHADOW: &str = "/etc/gshadow";

/// The final account databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    /// Sorted by uid, then name.
    pub users: Vec<Passwd>,
    /// Sorted by gid, then name.
    pub groups: Vec<GroupLine>,
    /// One line per user, in `users` order.
    shadow: Vec<String>,
    /// Present when the tree had a gshadow file; one line per group, in `groups` order.
    gshadow: Option<Vec<String>>,
}

/// What the staged tree already holds.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    pub passwd: Vec<Passwd>,
    pub group: Vec<GroupLine>,
    pub shadow: Vec<RawLine>,
    pub gshadow: Option<Vec<RawLine>>,
}

impl Existing {
    pub fn read(tree: &Tree) -> Result<Existing, ConfigureError> {
        // Refused rather than read lossily: writing the file back would change bytes silently.
        let text = |path: &str| -> Result<Option<String>, ConfigureError> {
            tree.read(path)?
                .map(|b| {
                    String::from_utf8(b).map_err(|_| ConfigureError::Malformed {
                        path: path.to_string(),
                        reason: "not UTF-8 text".into(),
                    })
                })
                .transpose()
        };
        Ok(Existing {
            passwd: db::parse_passwd(PASSWD, &text(PASSWD)?.unwrap_or_default())?,
            group: db::parse_group(GROUP, &text(GROUP)?.unwrap_or_default())?,
            shadow: db::parse_raw(SHADOW, &text(SHADOW)?.unwrap_or_default(), 9)?,
            gshadow: text(GSHADOW)?.map(|t| db::parse_raw(GSHADOW, &t, 4)).transpose()?,
        })
    }
}

impl Accounts {
    pub fn user(&self, name: &str) -> Option<&Passwd> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&GroupLine> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Names of the groups listing `user` as a member.
    pub fn memberships(&self, user: &str) -> Vec<String> {
        self.groups.iter().filter(|g| g.members.iter().any(|m| m == user)).map(|g| g.name.clone()).collect()
    }

    /// Writes passwd, group, shadow (and gshadow if the tree had one); returns the paths written.
    pub fn write(&self, tree: &mut Tree) -> Result<Vec<String>, ConfigureError> {
        let passwd: String = self.users.iter().map(Passwd::render).collect();
        let group: String = self.groups.iter().map(GroupLine::render).collect();
        let mut written = vec![
            tree.write(PASSWD, passwd.as_bytes(), Owner::root(0o644))?,
            tree.write(GROUP, group.as_bytes(), Owner::root(0o644))?,
            tree.write(SHADOW, joined(&self.shadow).as_bytes(), Owner::root(0o600))?,
        ];
        if let Some(g) = &self.gshadow {
            written.push(tree.write(GSHADOW, joined(g).as_bytes(), Owner::root(0o600))?);
        }
        Ok(written)
    }
}

/// Merges the profile's accounts into the tree's. `lastchg` is the shadow "last changed" day.
pub fn merge(
    sys: &SystemConf,
    existing: Existing,
    seed: &[u8; 32],
    lastchg: u64,
) -> Result<Accounts, ConfigureError> {
    let mut m = Merge::new(existing);
    for g in &sys.groups {
        m.profile_group(g)?;
    }
    m.check_group_ids(sys)?;
    m.ensure_group("root", 0);
    for u in &sys.users {
        m.profile_user(u, seed, lastchg)?;
    }
    m.check_user_ids(sys)?;
    m.ensure_root(lastchg);
    for u in &sys.users {
        m.add_memberships(u)?;
    }
    for g in &sys.groups {
        m.check_members(g)?;
    }
    Ok(m.finish(lastchg))
}

struct Merge {
    users: BTreeMap<String, (Passwd, Option<String>)>,
    groups: BTreeMap<String, GroupLine>,
    shadow: BTreeMap<String, String>,
    gshadow: Option<BTreeMap<String, String>>,
}

impl Merge {
    fn new(e: Existing) -> Merge {
        let shadow: BTreeMap<String, String> = e.shadow.into_iter().map(|l| (l.name, l.line)).collect();
        Merge {
            users: e.passwd.into_iter().map(|p| (p.name.clone(), (p, None))).collect(),
            groups: e.group.into_iter().map(|g| (g.name.clone(), g)).collect(),
            shadow,
            gshadow: e.gshadow.map(|g| g.into_iter().map(|l| (l.name, l.line)).collect()),
        }
    }

    fn profile_group(&mut self, g: &crate::profile::system::Group) -> Result<(), ConfigureError> {
        check_name(&g.setting, &g.name)?;
        let line = GroupLine { name: g.name.clone(), password: "x".into(), gid: g.gid, members: Vec::new() };
        self.groups.insert(g.name.clone(), line);
        Ok(())
    }

    fn check_group_ids(&self, sys: &SystemConf) -> Result<(), ConfigureError> {
        for g in &sys.groups {
            if let Some(other) = self.groups.values().find(|o| o.gid == g.gid && o.name != g.name) {
                return Err(duplicate(&g.setting, "gid", g.gid, &g.name, &other.name));
            }
        }
        Ok(())
    }

    fn ensure_group(&mut self, name: &str, gid: u32) {
        self.groups.entry(name.to_string()).or_insert_with(|| GroupLine {
            name: name.to_string(),
            password: "x".into(),
            gid,
            members: Vec::new(),
        });
    }

    fn profile_user(&mut self, u: &User, seed: &[u8; 32], lastchg: u64) -> Result<(), ConfigureError> {
        check_name(&u.setting, &u.name)?;
        check_field(&u.setting, "gecos", &u.gecos, false)?;
        check_field(&u.setting, "shell", &u.shell, true)?;
        let home = home_of(u);
        check_field(&u.setting, "home", &home, true)?;
        if home == "/" {
            return Err(invalid(&u.setting, "home", "`/` cannot be a home directory".into()));
        }
        let gid = self.primary_gid(u)?;
        let field = password::shadow_field(u, seed)?;
        let passwd = Passwd {
            name: u.name.clone(),
            password: "x".into(),
            uid: u.uid,
            gid,
            gecos: u.gecos.clone(),
            home,
            shell: u.shell.clone(),
        };
        let shadow = format!("{}:{field}:{lastchg}::::::", u.name);
        self.users.insert(u.name.clone(), (passwd, Some(shadow)));
        Ok(())
    }

    fn primary_gid(&mut self, u: &User) -> Result<u32, ConfigureError> {
        if let Some(gid) = u.gid {
            return match self.groups.values().any(|g| g.gid == gid) {
                true => Ok(gid),
                false => Err(ConfigureError::UnknownGid { setting: at_key(&u.setting, "gid"), gid }),
            };
        }
        if let Some(g) = self.groups.get(&u.name) {
            return Ok(g.gid);
        }
        if let Some(other) = self.groups.values().find(|g| g.gid == u.uid) {
            let reason = format!(
                "the user's own group \"{}\" would get gid {}, which group \"{}\" has; set `gid` or declare group \"{}\"",
                u.name, u.uid, other.name, u.name
            );
            return Err(ConfigureError::InvalidSetting { setting: u.setting.clone(), reason });
        }
        self.ensure_group(&u.name, u.uid);
        Ok(u.uid)
    }

    fn check_user_ids(&self, sys: &SystemConf) -> Result<(), ConfigureError> {
        for u in &sys.users {
            if let Some((other, _)) = self.users.values().find(|(o, _)| o.uid == u.uid && o.name != u.name) {
                return Err(duplicate(&u.setting, "uid", u.uid, &u.name, &other.name));
            }
        }
        Ok(())
    }

    fn ensure_root(&mut self, lastchg: u64) {
        if self.users.contains_key("root") {
            return;
        }
        let root = Passwd {
            name: "root".into(),
            password: "x".into(),
            uid: 0,
            gid: 0,
            gecos: "root".into(),
            home: "/root".into(),
            shell: "/bin/sh".into(),
        };
        let shadow = self
            .shadow
            .get("root")
            .cloned()
            .unwrap_or_else(|| format!("root:{}:{lastchg}::::::", password::LOCKED));
        self.users.insert("root".into(), (root, Some(shadow)));
    }

    fn add_memberships(&mut self, u: &User) -> Result<(), ConfigureError> {
        for name in &u.groups {
            let Some(g) = self.groups.get_mut(name) else {
                return Err(ConfigureError::UnknownGroup {
                    setting: at_key(&u.setting, "groups"),
                    group: name.clone(),
                });
            };
            if !g.members.contains(&u.name) {
                g.members.push(u.name.clone());
            }
        }
        Ok(())
    }

    /// A profile group's own `members` must be users of the image; they come first in its list.
    fn check_members(&mut self, g: &crate::profile::system::Group) -> Result<(), ConfigureError> {
        if let Some(unknown) = g.members.iter().find(|m| !self.users.contains_key(*m)) {
            return Err(ConfigureError::UnknownUser {
                setting: at_key(&g.setting, "members"),
                user: unknown.clone(),
            });
        }
        if let Some(line) = self.groups.get_mut(&g.name) {
            let added = std::mem::take(&mut line.members);
            line.members = g.members.clone();
            line.members.extend(added.into_iter().filter(|m| !g.members.contains(m)));
        }
        Ok(())
    }

    fn finish(self, lastchg: u64) -> Accounts {
        let mut users: Vec<(Passwd, Option<String>)> = self.users.into_values().collect();
        users.sort_by(|a, b| (a.0.uid, &a.0.name).cmp(&(b.0.uid, &b.0.name)));
        let mut groups: Vec<GroupLine> = self.groups.into_values().collect();
        groups.sort_by(|a, b| (a.gid, &a.name).cmp(&(b.gid, &b.name)));
        let shadow = users
            .iter()
            .map(|(p, line)| {
                line.clone()
                    .or_else(|| self.shadow.get(&p.name).cloned())
                    .unwrap_or_else(|| format!("{}:{}:{lastchg}::::::", p.name, password::LOCKED))
            })
            .collect();
        let gshadow =
            self.gshadow.map(|old| groups.iter().map(|g| gshadow_line(g, old.get(&g.name))).collect());
        Accounts { users: users.into_iter().map(|(p, _)| p).collect(), groups, shadow, gshadow }
    }
}

/// A gshadow line in step with the group's members, keeping an existing password and admins.
fn gshadow_line(g: &GroupLine, old: Option<&String>) -> String {
    let fields: Vec<&str> = old.map(|l| l.split(':').collect()).unwrap_or_default();
    let password = fields.get(1).copied().unwrap_or(password::LOCKED);
    let admins = fields.get(2).copied().unwrap_or("");
    format!("{}:{password}:{admins}:{}", g.name, g.members.join(","))
}

/// The home directory: as given, else `/root` for uid 0 and `/home/<name>` for others.
pub fn home_of(u: &User) -> String {
    match &u.home {
        Some(h) => h.clone(),
        None if u.uid == 0 => "/root".into(),
        None => format!("/home/{}", u.name),
    }
}

fn joined(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Account names as shadow-utils accepts them by default, so every tool in the image agrees.
fn check_name(setting: &Setting, name: &str) -> Result<(), ConfigureError> {
    let body = name.strip_suffix('$').unwrap_or(name);
    let ok = !body.is_empty()
        && name.len() <= 32
        && body.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    match ok {
        true => Ok(()),
        false => Err(invalid(
            setting,
            "name",
            format!(
                "invalid name \"{name}\": letters, digits, `_`, `-` and `.`, starting with a letter or `_`, at most 32"
            ),
        )),
    }
}

/// A passwd field: no `:` or newline (they would split the line); paths must be absolute.
fn check_field(setting: &Setting, field: &str, value: &str, path: bool) -> Result<(), ConfigureError> {
    if value.contains([':', '\n']) {
        return Err(invalid(setting, field, format!("\"{value}\" must not contain `:` or a newline")));
    }
    if path && !value.starts_with('/') {
        return Err(invalid(setting, field, format!("\"{value}\" must be an absolute path")));
    }
    Ok(())
}

fn invalid(setting: &Setting, field: &str, reason: String) -> ConfigureError {
    ConfigureError::InvalidSetting { setting: at_key(setting, field), reason }
}

fn duplicate(setting: &Setting, what: &'static str, id: u32, name: &str, other: &str) -> ConfigureError {
    ConfigureError::DuplicateId { setting: setting.clone(), what, id, name: name.into(), other: other.into() }
}

#[cfg(test)]
mod tests;
