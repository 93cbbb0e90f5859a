//! Configure: post-configuration of the staging root from the profile's `[system]` section, the
//! image's partitions and its identity. Declarative: the result depends only on the staged tree
//! and the inputs, and running it twice on one tree gives the same bytes and the same entries.
//! Nothing here reads a clock or a random source; password salts derive from `seed`.
//!
//! Order of writing: accounts, homes, hostname and hosts, timezone, fstab, os-release, the
//! profile's own files (after the generated ones, so a profile can replace any of them), then
//! the service links.

mod accounts;
mod error;
mod files;
mod fstab;
mod homes;
mod identity;
mod password;
mod services;
mod template;
#[cfg(test)]
mod testing;
mod timezone;
mod tree;

pub use error::ConfigureError;
pub use fstab::FstabEntry;
pub use identity::OsRelease;
pub use password::{check_hash, hash_plain};

use crate::profile::system::SystemConf;
use crate::stage::StagingRoot;
use tree::Tree;

/// Everything configure needs besides the staged tree.
#[derive(Debug, Clone, Copy)]
pub struct ConfigureInputs<'a> {
    pub system: &'a SystemConf,
    pub fstab: &'a [FstabEntry],
    pub os_release: &'a OsRelease,
    /// Becomes the shadow "last changed" day (`SOURCE_DATE_EPOCH / 86400`).
    pub source_date_epoch: u64,
    /// Derived from the image's inputs; the only source of salts.
    pub seed: [u8; 32],
    pub profile_name: &'a str,
}

/// What configure did, for the CLI and `--json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Paths written or linked (relative to the root, `etc/passwd`), in the order written.
    pub written: Vec<String>,
    /// Every account name of the image, by uid.
    pub users: Vec<String>,
    /// Every group name of the image, by gid.
    pub groups: Vec<String>,
    /// Services enabled in the default runlevel.
    pub services: Vec<String>,
    /// Runlevel links removed because the profile no longer enables them.
    pub removed_services: Vec<String>,
    /// The zone file `/etc/localtime` links to, or `None` when the tree has no tz database for
    /// the zone (then only `/etc/TZ` carries it).
    pub localtime: Option<String>,
}

/// Configures `root` in place: writes into `root.dir`, ownership and modes into `root.entries`.
/// Every check that can fail on the profile runs before anything is written.
pub fn configure(root: &mut StagingRoot, inputs: &ConfigureInputs) -> Result<Report, ConfigureError> {
    let sys = inputs.system;
    let mut tree = Tree::new(root);

    let existing = accounts::Existing::read(&tree)?;
    let accounts = accounts::merge(sys, existing, &inputs.seed, inputs.source_date_epoch / 86_400)?;
    let ctx = template::context(sys, &accounts, inputs.profile_name);
    let files = files::prepare(&sys.files, &accounts, &ctx)?;
    let scripts: Vec<(&str, u32)> = files.iter().map(|f| (f.path.as_str(), f.owner.mode)).collect();
    services::check(&tree, &sys.services, &scripts)?;
    homes::check(&tree, sys)?;
    timezone::check(&sys.timezone)?;
    let fstab = fstab::render(inputs.fstab)?;
    let os_release = identity::os_release(inputs.os_release)?;

    let mut report = Report {
        users: accounts.users.iter().map(|u| u.name.clone()).collect(),
        groups: accounts.groups.iter().map(|g| g.name.clone()).collect(),
        ..Report::default()
    };
    report.written.extend(accounts.write(&mut tree)?);
    report.written.extend(homes::write(&mut tree, sys, &accounts)?);
    report.written.extend(identity::write_hostname(&mut tree, &sys.hostname)?);
    let (written, localtime) = timezone::write(&mut tree, &sys.timezone)?;
    report.written.extend(written);
    report.localtime = localtime;
    report.written.push(fstab::write(&mut tree, &fstab)?);
    report.written.extend(identity::write_os_release(&mut tree, &os_release)?);
    // Files before services: a profile may ship the init script of a service it enables.
    report.written.extend(files::write(&mut tree, &files)?);
    let enabled = services::write(&mut tree, &sys.services)?;
    report.services = enabled.enabled;
    report.removed_services = enabled.removed;
    Ok(report)
}

#[cfg(test)]
mod tests;
