//! The account databases as files: parsing what packages left in `/etc/passwd`, `/etc/group`,
//! `/etc/shadow` and `/etc/gshadow`, and writing them back one entry per line.

use crate::configure::error::ConfigureError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    /// `x` when the hash lives in shadow.
    pub password: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLine {
    pub name: String,
    pub password: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A shadow or gshadow line, kept whole: configure only replaces lines, never edits aging fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    pub name: String,
    pub line: String,
}

impl Passwd {
    pub fn render(&self) -> String {
        let Passwd { name, password, uid, gid, gecos, home, shell } = self;
        format!("{name}:{password}:{uid}:{gid}:{gecos}:{home}:{shell}\n")
    }
}

impl GroupLine {
    pub fn render(&self) -> String {
        format!("{}:{}:{}:{}\n", self.name, self.password, self.gid, self.members.join(","))
    }
}

pub fn parse_passwd(path: &str, text: &str) -> Result<Vec<Passwd>, ConfigureError> {
    lines(text)
        .map(|(n, line)| {
            let f = fields(path, n, line, 7)?;
            Ok(Passwd {
                name: f[0].to_string(),
                password: f[1].to_string(),
                uid: id(path, n, "uid", f[2])?,
                gid: id(path, n, "gid", f[3])?,
                gecos: f[4].to_string(),
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

pub fn parse_group(path: &str, text: &str) -> Result<Vec<GroupLine>, ConfigureError> {
    lines(text)
        .map(|(n, line)| {
            let f = fields(path, n, line, 4)?;
            Ok(GroupLine {
                name: f[0].to_string(),
                password: f[1].to_string(),
                gid: id(path, n, "gid", f[2])?,
                members: split_members(f[3]),
            })
        })
        .collect()
}

/// Shadow (9 fields) and gshadow (4 fields) lines, by name.
pub fn parse_raw(path: &str, text: &str, count: usize) -> Result<Vec<RawLine>, ConfigureError> {
    lines(text)
        .map(|(n, line)| {
            let f = fields(path, n, line, count)?;
            Ok(RawLine { name: f[0].to_string(), line: line.to_string() })
        })
        .collect()
}

pub fn split_members(s: &str) -> Vec<String> {
    s.split(',').filter(|m| !m.is_empty()).map(str::to_string).collect()
}

/// Numbered non-empty lines; `#` comments, which some tools tolerate, are dropped.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn fields<'t>(path: &str, n: usize, line: &'t str, count: usize) -> Result<Vec<&'t str>, ConfigureError> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() != count || f[0].is_empty() {
        return Err(ConfigureError::Malformed {
            path: format!("{path}:{n}"),
            reason: format!("expected {count} `:`-separated fields starting with a name, found `{line}`"),
        });
    }
    Ok(f)
}

fn id(path: &str, n: usize, what: &str, s: &str) -> Result<u32, ConfigureError> {
    s.parse().map_err(|_| ConfigureError::Malformed {
        path: format!("{path}:{n}"),
        reason: format!("{what} `{s}` is not a number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_round_trip() {
        let text = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\n";
        let users = parse_passwd("/etc/passwd", text).unwrap();
        assert_eq!(users[1].uid, 65534);
        assert_eq!(users.iter().map(Passwd::render).collect::<String>(), text);
    }

    #[test]
    fn group_members_split_on_commas() {
        let groups = parse_group("/etc/group", "wheel:x:10:root,admin\nusers:x:100:\n").unwrap();
        assert_eq!(groups[0].members, ["root", "admin"]);
        assert!(groups[1].members.is_empty());
        assert_eq!(groups[0].render(), "wheel:x:10:root,admin\n");
    }

    #[test]
    fn blank_and_comment_lines_are_skipped() {
        let users = parse_passwd("/etc/passwd", "# generated\n\nroot:x:0:0::/root:/bin/sh\n").unwrap();
        assert_eq!(users.len(), 1);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let e = parse_passwd("/etc/passwd", "root:x:0:0::/root:/bin/sh\nbroken:x:1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/passwd:2: expected 7 `:`-separated fields starting with a name, found `broken:x:1`"
        );
        let e = parse_group("/etc/group", "wheel:x:ten:\n").unwrap_err();
        assert_eq!(e.to_string(), "/etc/group:1: gid `ten` is not a number");
    }

    #[test]
    fn shadow_lines_are_kept_whole() {
        let raw = parse_raw("/etc/shadow", "root:*:10770:0:::::\n", 9).unwrap();
        assert_eq!(raw[0], RawLine { name: "root".into(), line: "root:*:10770:0:::::".into() });
    }
}
