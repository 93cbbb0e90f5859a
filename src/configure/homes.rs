//! Home directories of the profile's users (and root's): created 0700 and owned by the user, with
//! `~/.ssh/authorized_keys` (0600, in a 0700 `.ssh`) when the profile gives keys. Ownership goes
//! into `entries`; the tree stays owned by the building user.

use super::accounts::{Accounts, home_of};
use super::error::{ConfigureError, at_key};
use super::tree::{Owner, Tree};
use crate::profile::system::{Setting, SystemConf, User};

/// Checks what `write` would refuse, before anything is written.
pub fn check(tree: &Tree, sys: &SystemConf) -> Result<(), ConfigureError> {
    for u in &sys.users {
        let home = home_of(u);
        let rel = tree.locate(&home)?;
        if tree.host_path(&rel).symlink_metadata().is_ok_and(|m| !m.is_dir()) {
            return Err(ConfigureError::HomeNotDirectory { setting: at_key(&u.setting, "home"), path: home });
        }
        authorized_keys(&u.setting, &u.authorized_keys)?;
    }
    Ok(())
}

/// Creates the homes; returns the paths written (relative to the root), in order.
pub fn write(tree: &mut Tree, sys: &SystemConf, accounts: &Accounts) -> Result<Vec<String>, ConfigureError> {
    let mut written = Vec::new();
    for u in &sys.users {
        written.extend(user_home(tree, u, accounts)?);
    }
    if !sys.users.iter().any(|u| u.name == "root")
        && let Some(root) = accounts.user("root")
        && root.home.starts_with('/')
        && root.home != "/"
    {
        let owner = Owner { uid: root.uid, gid: root.gid, mode: 0o700 };
        written.push(tree.make_dir(&root.home, owner)?);
    }
    Ok(written)
}

fn user_home(tree: &mut Tree, u: &User, accounts: &Accounts) -> Result<Vec<String>, ConfigureError> {
    let Some(passwd) = accounts.user(&u.name) else {
        return Ok(Vec::new());
    };
    let (uid, gid) = (passwd.uid, passwd.gid);
    let home = home_of(u);
    let mut written = vec![tree.make_dir(&home, Owner { uid, gid, mode: 0o700 })?];
    if u.authorized_keys.is_empty() {
        return Ok(written);
    }
    let keys = authorized_keys(&u.setting, &u.authorized_keys)?;
    let ssh = format!("{}/.ssh", home.trim_end_matches('/'));
    written.push(tree.make_dir(&ssh, Owner { uid, gid, mode: 0o700 })?);
    written.push(tree.write(
        &format!("{ssh}/authorized_keys"),
        keys.as_bytes(),
        Owner { uid, gid, mode: 0o600 },
    )?);
    Ok(written)
}

/// One key per line; a key holding a newline would smuggle in a second, unreviewed line.
fn authorized_keys(setting: &Setting, keys: &[String]) -> Result<String, ConfigureError> {
    let mut out = String::new();
    for (i, key) in keys.iter().enumerate() {
        let key = key.trim();
        if key.is_empty() || key.contains(['\n', '\r']) {
            return Err(ConfigureError::InvalidSetting {
                setting: at_key(setting, &format!("authorized_keys[{i}]")),
                reason: "a key is one non-empty line".into(),
            });
        }
        out.push_str(key);
        out.push('\n');
    }
    Ok(out)
}
