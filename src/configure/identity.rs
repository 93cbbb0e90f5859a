//! What the image says it is: `/etc/hostname`, `/etc/hosts`, and os-release(5). The os-release
//! file lives at `/usr/lib/os-release` with `/etc/os-release` linking to it, as os-release(5)
//! recommends; the link is relative so it resolves inside the staging root too.

use super::error::ConfigureError;
use super::tree::{Owner, Tree};

pub const HOSTNAME: &str = "/etc/hostname";
pub const HOSTS: &str = "/etc/hosts";
pub const OS_RELEASE: &str = "/usr/lib/os-release";
pub const ETC_OS_RELEASE: &str = "/etc/os-release";

/// The fields of os-release(5) that ingot sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRelease {
    pub name: String,
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
    /// The profile's name.
    pub image_id: String,
    pub build_id: String,
}

pub fn write_hostname(tree: &mut Tree, hostname: &str) -> Result<Vec<String>, ConfigureError> {
    Ok(vec![
        tree.write(HOSTNAME, format!("{hostname}\n").as_bytes(), Owner::root(0o644))?,
        tree.write(HOSTS, hosts(hostname).as_bytes(), Owner::root(0o644))?,
    ])
}

/// localhost on both loopbacks, and the hostname on 127.0.1.1 (Debian's convention) so it
/// resolves without DNS; a dotted name is listed with its short form too.
pub fn hosts(hostname: &str) -> String {
    let names = match hostname.split_once('.') {
        Some((short, _)) => format!("{hostname} {short}"),
        None => hostname.to_string(),
    };
    format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{names}\n")
}

/// Writes the text made by `os_release`.
pub fn write_os_release(tree: &mut Tree, text: &str) -> Result<Vec<String>, ConfigureError> {
    Ok(vec![
        tree.write(OS_RELEASE, text.as_bytes(), Owner::root(0o644))?,
        tree.symlink(ETC_OS_RELEASE, "../usr/lib/os-release")?,
    ])
}

/// The file's text; empty optional fields are left out.
pub fn os_release(os: &OsRelease) -> Result<String, ConfigureError> {
    check(os)?;
    let fields = [
        ("NAME", &os.name),
        ("ID", &os.id),
        ("VERSION_ID", &os.version_id),
        ("PRETTY_NAME", &os.pretty_name),
        ("IMAGE_ID", &os.image_id),
        ("BUILD_ID", &os.build_id),
    ];
    Ok(fields.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}\n", quote(v))).collect())
}

/// os-release(5) restricts `ID` and `IMAGE_ID` to lowercase letters, digits, `_`, `-` and `.`,
/// and `VERSION_ID`/`BUILD_ID` to a similar set with uppercase; tools match on them.
fn check(os: &OsRelease) -> Result<(), ConfigureError> {
    const IDS: &str = "only lowercase letters, digits, `_`, `-` and `.`";
    const VERSIONS: &str = "only letters, digits, `_`, `-`, `.` and `~`";
    let lower = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.');
    let version = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~');
    for (field, value) in [("NAME", &os.name), ("ID", &os.id)] {
        if value.is_empty() {
            return Err(bad(field, value, "must not be empty"));
        }
    }
    let checks: [(&'static str, &String, bool, &str); 6] = [
        ("NAME", &os.name, !os.name.contains('\n'), "must be one line"),
        ("PRETTY_NAME", &os.pretty_name, !os.pretty_name.contains('\n'), "must be one line"),
        ("ID", &os.id, os.id.bytes().all(lower), IDS),
        ("IMAGE_ID", &os.image_id, os.image_id.bytes().all(lower), IDS),
        ("VERSION_ID", &os.version_id, os.version_id.bytes().all(version), VERSIONS),
        ("BUILD_ID", &os.build_id, os.build_id.bytes().all(version), VERSIONS),
    ];
    match checks.into_iter().find(|(_, _, ok, _)| !ok) {
        Some((field, value, _, reason)) => Err(bad(field, value, reason)),
        None => Ok(()),
    }
}

fn bad(field: &'static str, value: &str, reason: &str) -> ConfigureError {
    ConfigureError::InvalidOsRelease { field, value: value.to_string(), reason: reason.to_string() }
}

/// A double-quoted shell-compatible value, escaping what os-release(5) says must be escaped.
fn quote(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os() -> OsRelease {
        OsRelease {
            name: "ingot".into(),
            id: "ingot".into(),
            version_id: "0.1".into(),
            pretty_name: "ingot 0.1 \"demo\"".into(),
            image_id: "qemu-amd64".into(),
            build_id: "".into(),
        }
    }

    #[test]
    fn fields_are_quoted_and_empty_ones_left_out() {
        assert_eq!(
            os_release(&os()).unwrap(),
            "NAME=\"ingot\"\nID=\"ingot\"\nVERSION_ID=\"0.1\"\nPRETTY_NAME=\"ingot 0.1 \\\"demo\\\"\"\nIMAGE_ID=\"qemu-amd64\"\n"
        );
    }

    #[test]
    fn ids_outside_the_allowed_characters_are_refused() {
        let e = os_release(&OsRelease { image_id: "Qemu".into(), ..os() }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "os-release IMAGE_ID=\"Qemu\": only lowercase letters, digits, `_`, `-` and `.`"
        );
        let e = os_release(&OsRelease { id: "".into(), ..os() }).unwrap_err();
        assert_eq!(e.to_string(), "os-release ID=\"\": must not be empty");
        let e = os_release(&OsRelease { build_id: "2024 01".into(), ..os() }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "os-release BUILD_ID=\"2024 01\": only letters, digits, `_`, `-`, `.` and `~`"
        );
    }

    #[test]
    fn hosts_lists_localhost_and_the_hostname() {
        assert_eq!(
            hosts("box"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n"
        );
        assert!(hosts("box.example.org").ends_with("127.0.1.1\tbox.example.org box\n"));
    }
}
