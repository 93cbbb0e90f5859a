//! The `debugfs -w` pass over a fresh ext4 image for what the manifests say and a rootless
//! staging tree cannot carry: owners and modes of the entries they name, and device nodes. Runs
//! after `inodes::pin` made every owner 0:0 and pinned every time; the `sif` commands here change
//! no times, and the nodes they make get theirs set explicitly.
//!
//! Commands name files relative to the directory they are in (`cd` once per directory, then
//! `./name`): resolving a full path per command made the pass four times slower on a 30,000-file
//! tree, and `./` keeps names such as `<12>` (an inode number to debugfs) or `-b` literal.

use super::error::ImageError;
use super::tools::{Tools, pin_environment};
use crate::host;
use crate::stage::{DeviceNode, EntryMeta, NodeKind, StagingRoot};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path};

const TYPE_MASK: u32 = 0o170000;

/// The debugfs commands for `root`'s entries, applied to an image made from it whose owners are
/// all 0:0; empty when there is nothing to change.
pub fn script(root: &StagingRoot, source_date_epoch: u64) -> Result<Vec<u8>, ImageError> {
    for (path, meta) in &root.entries {
        check_entry(root, path, meta)?;
    }
    let mut s = Script { out: Vec::new(), time: source_date_epoch, cwd: b"/".to_vec() };
    for (path, meta) in &root.entries {
        match meta.node {
            Some(node) => s.node(path, meta, node),
            None => s.entry(root, path, meta)?,
        }
    }
    Ok(s.out)
}

/// Runs `script` on `image`; debugfs exits 0 even when a command fails, so anything on stderr
/// besides its version banner is an error.
pub fn run(tools: &dyn Tools, script: &[u8], work: &Path, image: &Path, sde: u64) -> Result<(), ImageError> {
    let file = work.join("debugfs.script");
    fs_err::write(&file, script)?;
    let mut cmd = tools.command(host::DEBUGFS)?;
    pin_environment(&mut cmd, sde).arg("-w").arg("-f").arg(&file).arg(image);
    let out = host::run(&mut cmd)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> =
        stderr.lines().filter(|l| !l.starts_with("debugfs ") && !l.trim().is_empty()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ImageError::ToolErrors { tool: "debugfs", stderr: errors.join("\n") })
    }
}

struct Script {
    out: Vec<u8>,
    time: u64,
    /// debugfs's current directory, as an absolute path.
    cwd: Vec<u8>,
}

impl Script {
    fn command(&mut self, verb: &str, path: &[u8], rest: &str) {
        self.out.extend_from_slice(verb.as_bytes());
        self.out.push(b' ');
        quote(&mut self.out, path);
        if !rest.is_empty() {
            self.out.push(b' ');
            self.out.extend_from_slice(rest.as_bytes());
        }
        self.out.push(b'\n');
    }

    fn cd(&mut self, dir: &[u8]) {
        if self.cwd != dir {
            self.command("cd", dir, "");
            self.cwd = dir.to_vec();
        }
    }

    fn set(&mut self, target: &[u8], field: &str, value: String) {
        self.command("sif", target, &format!("{field} {value}"));
    }

    /// `@` makes debugfs read the number as seconds (without it, values that look like
    /// YYYYMMDD…, such as 1701011200, are parsed as dates). Setting a time leaves its `_extra`
    /// (nanoseconds) alone: zero them too.
    fn times(&mut self, target: &[u8]) {
        let t = self.time;
        for field in ["atime", "ctime", "crtime", "mtime"] {
            self.set(target, field, format!("@{t}"));
            self.set(target, &format!("{field}_extra"), "0".into());
        }
    }

    fn owner(&mut self, target: &[u8], want: (u32, u32)) {
        if want.0 != 0 {
            self.set(target, "uid", want.0.to_string());
        }
        if want.1 != 0 {
            self.set(target, "gid", want.1.to_string());
        }
    }

    /// Owner and mode of a file the tree holds (the file type comes from the tree).
    fn entry(&mut self, root: &StagingRoot, rel: &str, meta: &EntryMeta) -> Result<(), ImageError> {
        let mode = match meta.mode {
            Some(mode) => {
                let have = fs_err::symlink_metadata(root.dir.join(rel))?.mode();
                Some(format!("0{:o}", (have & TYPE_MASK) | (mode & 0o7777)))
            }
            None => None,
        };
        if meta.uid == 0 && meta.gid == 0 && mode.is_none() {
            return Ok(());
        }
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        self.cd(format!("/{parent}").as_bytes());
        let target = relative(name.as_bytes());
        self.owner(&target, (meta.uid, meta.gid));
        if let Some(mode) = mode {
            self.set(&target, "mode", mode);
        }
        Ok(())
    }

    fn node(&mut self, rel: &str, meta: &EntryMeta, node: DeviceNode) {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let (kind, type_bits) = match node.kind {
            NodeKind::Char => (format!("c {} {}", node.major, node.minor), 0o020000),
            NodeKind::Block => (format!("b {} {}", node.major, node.minor), 0o060000),
            NodeKind::Fifo => ("p".to_string(), 0o010000),
        };
        self.cd(format!("/{parent}").as_bytes());
        // mknod takes a plain name, linked into the current directory.
        self.command("mknod", name.as_bytes(), &kind);
        let target = relative(name.as_bytes());
        // debugfs creates nodes with no permission bits; 0600 unless the entry says otherwise.
        let perm = meta.mode.unwrap_or(0o600) & 0o7777;
        self.set(&target, "mode", format!("0{:o}", type_bits | perm));
        self.owner(&target, (meta.uid, meta.gid));
        self.times(&target);
    }
}

fn relative(name: &[u8]) -> Vec<u8> {
    let mut target = b"./".to_vec();
    target.extend_from_slice(name);
    target
}

/// debugfs's command parser splits on blanks outside double quotes and reads `""` inside quotes
/// as one quote; it has no other escapes.
fn quote(out: &mut Vec<u8>, path: &[u8]) {
    out.push(b'"');
    for &b in path {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn check_entry(root: &StagingRoot, path: &str, meta: &EntryMeta) -> Result<(), ImageError> {
    let bad = |why: &str| Err(ImageError::BadEntry { path: path.to_string(), why: why.to_string() });
    let clean = !path.is_empty()
        && !path.contains(['\n', '\0'])
        && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
        && !path.ends_with('/');
    if !clean {
        return bad("not a relative path of plain components (no leading `/`, `.`, `..` or newline)");
    }
    if root.dir.as_os_str().is_empty() {
        return bad("the filesystem has no staging tree to apply it to");
    }
    let full = root.dir.join(path);
    let exists = fs_err::symlink_metadata(&full).is_ok();
    match meta.node {
        Some(_) if exists => {
            bad("a device node is listed here, but the staging root has a file at this path")
        }
        Some(_) if !full.parent().is_some_and(Path::is_dir) => {
            bad("its parent directory is not in the staging root")
        }
        None if !exists => bad("not found in the staging root"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HostError, HostFile, HostTool};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::process::Command;

    fn tree() -> (tempfile::TempDir, StagingRoot) {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("dev")).unwrap();
        std::fs::write(r.join("etc/shadow"), "root:x:\n").unwrap();
        std::fs::write(r.join("etc/sp \"q\""), "").unwrap();
        let root = StagingRoot { dir: r.to_path_buf(), entries: BTreeMap::new() };
        (dir, root)
    }

    fn entry(uid: u32, gid: u32, mode: Option<u32>, node: Option<DeviceNode>) -> EntryMeta {
        EntryMeta { uid, gid, mode, node }
    }

    fn lines(root: &StagingRoot) -> Vec<String> {
        let s = script(root, 1000).unwrap();
        String::from_utf8(s).unwrap().lines().map(str::to_string).collect()
    }

    /// The commands aimed at `target` after the `cd` into `dir` (or anywhere, for `None`).
    fn for_target(l: &[String], dir: Option<&str>, target: &str) -> Vec<String> {
        let mut cwd = "/".to_string();
        let prefix = format!("sif \"{target}\" ");
        let mut out = Vec::new();
        for line in l {
            if let Some(d) = line.strip_prefix("cd \"").and_then(|d| d.strip_suffix('"')) {
                cwd = d.to_string();
            } else if let Some(rest) = line.strip_prefix(&prefix)
                && dir.is_none_or(|d| d == cwd)
            {
                out.push(rest.to_string());
            }
        }
        out
    }

    #[test]
    fn entries_set_owner_and_mode_keeping_the_file_type() {
        let (_t, mut root) = tree();
        root.entries.insert("etc/shadow".into(), entry(0, 42, Some(0o640), None));
        root.entries.insert("etc".into(), entry(1000, 1000, None, None));
        let l = lines(&root);
        let shadow = for_target(&l, Some("/etc"), "./shadow");
        assert!(shadow.contains(&"gid 42".to_string()), "{l:#?}");
        assert!(shadow.contains(&"mode 0100640".to_string()), "{l:#?}");
        assert!(!shadow.iter().any(|c| c.starts_with("uid")), "{l:#?}");
        assert!(for_target(&l, Some("/"), "./etc").contains(&"uid 1000".to_string()), "{l:#?}");
    }

    #[test]
    fn device_nodes_are_made_in_their_directory() {
        let (_t, mut root) = tree();
        let node = DeviceNode { kind: NodeKind::Char, major: 5, minor: 1 };
        root.entries.insert("dev/console".into(), entry(0, 5, None, Some(node)));
        let l = lines(&root);
        let at = l.iter().position(|x| x == "mknod \"console\" c 5 1").unwrap();
        assert_eq!(l[at - 1], "cd \"/dev\"");
        assert_eq!(l[at + 1], "sif \"./console\" mode 020600");
        assert_eq!(l[at + 2], "sif \"./console\" gid 5");
        assert!(l[at + 3..].contains(&"sif \"./console\" mtime @1000".to_string()));
    }

    #[test]
    fn quotes_in_names_are_doubled() {
        let (_t, mut root) = tree();
        root.entries.insert("etc/sp \"q\"".into(), entry(7, 0, None, None));
        let l = lines(&root);
        assert!(l.contains(&"sif \"./sp \"\"q\"\"\" uid 7".to_string()), "{l:#?}");
    }

    #[test]
    fn nothing_to_change_is_an_empty_script() {
        let (_t, mut root) = tree();
        assert!(lines(&root).is_empty());
        root.entries.insert("etc/shadow".into(), entry(0, 0, None, None));
        assert!(lines(&root).is_empty());
    }

    #[test]
    fn bad_entries_are_refused_saying_why() {
        let node = Some(DeviceNode { kind: NodeKind::Fifo, major: 0, minor: 0 });
        for (path, e, why) in [
            ("/etc/shadow", entry(0, 0, None, None), "not a relative path"),
            ("etc/../shadow", entry(0, 0, None, None), "not a relative path"),
            ("etc/missing", entry(0, 0, None, None), "not found in the staging root"),
            ("etc/shadow", entry(0, 0, None, node), "the staging root has a file at this path"),
            ("run/fifo", entry(0, 0, None, node), "its parent directory is not in the staging root"),
        ] {
            let (_t, mut root) = tree();
            root.entries.insert(path.into(), e);
            let err = script(&root, 1).unwrap_err().to_string();
            assert!(err.starts_with(&format!("entry `{path}`: ")), "{err}");
            assert!(err.contains(why), "{err}");
        }
    }

    /// Stands in for debugfs with a shell script.
    struct Fake(&'static str);

    impl Tools for Fake {
        fn command(&self, _: HostTool) -> Result<Command, HostError> {
            let mut c = Command::new("sh");
            c.arg("-c").arg(self.0);
            Ok(c)
        }
        fn file(&self, f: HostFile) -> Result<PathBuf, HostError> {
            Ok(PathBuf::from(f.path))
        }
    }

    #[test]
    fn failed_debugfs_commands_are_errors_though_it_exits_zero() {
        let dir = tempfile::tempdir().unwrap();
        let fake =
            Fake("echo 'debugfs 1.47.0 (5-Feb-2023)' >&2; echo '/x: File not found by ext2_lookup' >&2");
        let err = run(&fake, b"", dir.path(), Path::new("img"), 1).unwrap_err().to_string();
        assert_eq!(err, "`debugfs` reported errors:\n/x: File not found by ext2_lookup");
        run(&Fake("echo 'debugfs 1.47.0 (5-Feb-2023)' >&2"), b"", dir.path(), Path::new("img"), 1).unwrap();
    }
}
