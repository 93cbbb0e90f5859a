//! The timezone. `/etc/localtime` links to the zone's file when the staged tree has the tz
//! database (`../usr/share/zoneinfo/<tz>`: relative, so it also resolves inside the staging root
//! on the build host; glibc, musl and systemd all accept it). Without the database, any
//! `/etc/localtime` is removed rather than left claiming another zone.
//!
//! musl reads only the `TZ` variable and `/etc/localtime`, never a file named TZ; `/etc/TZ`
//! holds the value the init scripts export as `TZ` (uClibc's convention): the POSIX form for UTC
//! and the fixed `Etc/*` offsets, which works without any zone files, else the zone name, which
//! musl looks up under /usr/share/zoneinfo.

use super::error::ConfigureError;
use super::tree::{Owner, Tree};

pub const LOCALTIME: &str = "/etc/localtime";
pub const TZ_FILE: &str = "/etc/TZ";
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// What was done, for the report: `Some(path)` when `/etc/localtime` links to a zone file.
pub fn write(tree: &mut Tree, tz: &str) -> Result<(Vec<String>, Option<String>), ConfigureError> {
    check(tz)?;
    let mut written = vec![tree.write(TZ_FILE, format!("{}\n", posix(tz)).as_bytes(), Owner::root(0o644))?];
    let zone = format!("{ZONEINFO}/{tz}");
    let rel = tree.follow(&zone)?;
    if tree.host_path(&rel).is_file() {
        written.push(tree.symlink(LOCALTIME, &format!("..{zone}"))?);
        Ok((written, Some(zone)))
    } else {
        tree.remove(LOCALTIME)?;
        Ok((written, None))
    }
}

pub fn check(tz: &str) -> Result<(), ConfigureError> {
    match valid(tz) {
        true => Ok(()),
        false => Err(ConfigureError::InvalidTimezone(tz.to_string())),
    }
}

/// The `TZ` value for a zone: POSIX rules where the zone is a fixed offset from UTC.
pub fn posix(tz: &str) -> String {
    let name = tz.strip_prefix("Etc/").unwrap_or(tz);
    match name {
        "UTC" | "UCT" | "Universal" | "Zulu" => return "UTC0".into(),
        "GMT" | "GMT0" | "GMT+0" | "GMT-0" | "Greenwich" => return "GMT0".into(),
        _ => {}
    }
    // tz's `Etc/GMT+5` is five hours *behind* UTC, which POSIX writes `<-05>5`.
    if tz.starts_with("Etc/GMT")
        && let Some((sign, hours)) = name.strip_prefix("GMT").and_then(|r| r.split_at_checked(1))
        && let Ok(h) = hours.parse::<u8>()
        && (1..=14).contains(&h)
    {
        match sign {
            "+" if h <= 12 => return format!("<-{h:02}>{h}"),
            "-" => return format!("<+{h:02}>-{h}"),
            _ => {}
        }
    }
    tz.to_string()
}

/// A tz database name: it becomes a path, so no `..` and only the characters zone names use.
fn valid(tz: &str) -> bool {
    !tz.is_empty()
        && tz.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && tz.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offsets_get_posix_rules_and_zones_keep_their_names() {
        let cases = [
            ("UTC", "UTC0"),
            ("Etc/UTC", "UTC0"),
            ("Etc/GMT", "GMT0"),
            ("Etc/GMT+5", "<-05>5"),
            ("Etc/GMT-14", "<+14>-14"),
            ("Etc/GMT+13", "Etc/GMT+13"),
            ("Europe/Paris", "Europe/Paris"),
            ("GMT+5", "GMT+5"),
        ];
        for (tz, want) in cases {
            assert_eq!(posix(tz), want, "{tz}");
        }
    }

    #[test]
    fn zone_names_that_are_not_paths_are_refused() {
        for bad in ["", "../etc/passwd", "/UTC", "Europe//Paris", "Europe/Pa ris"] {
            assert!(!valid(bad), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let mut root =
            crate::stage::StagingRoot { dir: dir.path().to_path_buf(), entries: Default::default() };
        let e = write(&mut Tree::new(&mut root), "../x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid timezone `../x`: expected a zone name such as \"Europe/Paris\" or \"UTC\""
        );
    }
}
