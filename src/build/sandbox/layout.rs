//! The sandbox's setup as a list of steps (id maps, mounts, pivot, loopback), computed in the parent,
//! where allocating is safe, and replayed by the child after clone with system calls only.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::libc::{self, c_ulong};

use super::{SandboxError, inside};

/// One setup action; every path is already a C string so the child never allocates.
#[derive(Debug)]
pub(super) enum Op {
    /// Writes to an existing file (the user namespace's id maps).
    Write {
        path: CString,
        data: Vec<u8>,
    },
    /// Stops mounts made from here on propagating back to the host.
    PrivateRoot,
    Tmpfs {
        target: CString,
        flags: c_ulong,
        options: CString,
    },
    /// A recursive bind mount.
    Bind {
        source: CString,
        target: CString,
    },
    /// `mount_setattr`: adds flags such as read-only, recursively or to one mount.
    Attr {
        target: CString,
        set: u64,
        recursive: bool,
    },
    Proc {
        target: CString,
    },
    Mkdir {
        path: CString,
        mode: u32,
    },
    /// Creates an empty file to bind a device node onto.
    Touch {
        path: CString,
    },
    Symlink {
        target: CString,
        link: CString,
    },
    Hostname {
        name: CString,
    },
    LoopbackUp,
    /// pivot_root(new_root, put_old), then chdir to the new /.
    PivotInto {
        new_root: CString,
        put_old: CString,
    },
    /// Makes the directory the root and detaches the old root stacked on it.
    PivotRoot {
        new_root: CString,
    },
    Chdir {
        path: CString,
    },
}

/// A step and what it does, in words, for the error if it fails.
#[derive(Debug)]
pub(super) struct Step {
    pub op: Op,
    pub what: String,
    /// A missing path (ENOENT) is not an error: masks over /proc entries some kernels lack.
    pub optional: bool,
}

/// Host directories shown read-only inside. Everything else of the host (/home, /root, /var, /tmp,
/// /run, the store) is absent, so neither secrets nor other builds' directories are visible.
pub(super) const SHARED_TREES: &[&str] =
    &["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"];

const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];
const DEV_LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];
/// Kernel knobs under /proc that uid 0 could write even without capabilities when ingot runs as
/// real root; they are made read-only as container runtimes do.
const PROC_READ_ONLY: &[&str] = &["sys", "sysrq-trigger", "irq", "bus", "fs"];

pub(super) const HOSTNAME: &str = "ingot";

const RO: u64 = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
const RW: u64 = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;

/// A host directory given to the sandbox, resolved and checked.
pub(super) struct Source {
    pub host: PathBuf,
}

impl Source {
    /// A directory of this build (or of its dependencies), which must not be shared with others.
    pub fn open(role: &'static str, path: &Path) -> Result<Self, SandboxError> {
        let host = fs_err::canonicalize(path).map_err(|source| SandboxError::Path { role, source })?;
        if let Some(tree) = shared_tree_of(&host) {
            return Err(SandboxError::InsideSharedTree { role, path: host, tree });
        }
        Ok(Self { host })
    }

    /// A read-only directory that may be anywhere but the host root: a recipe's `files/` can
    /// come from a repository installed under /usr/share.
    pub fn open_shared(role: &'static str, path: &Path) -> Result<Self, SandboxError> {
        let host = fs_err::canonicalize(path).map_err(|source| SandboxError::Path { role, source })?;
        if host == Path::new("/") {
            return Err(SandboxError::InsideSharedTree { role, path: host, tree: "/".into() });
        }
        Ok(Self { host })
    }
}

/// The top-level shared tree that holds `path`, or "/" for the root itself: such a directory would
/// be visible to every build, or would expose the whole host.
fn shared_tree_of(path: &Path) -> Option<String> {
    let mut parts = path.components().skip(1);
    match parts.next() {
        None => Some("/".to_string()),
        Some(first) => {
            let name = first.as_os_str().to_string_lossy();
            SHARED_TREES.contains(&name.as_ref()).then(|| format!("/{name}"))
        }
    }
}

/// The host directories a sandbox is built from, opened and checked.
pub(super) struct Sources {
    pub work: Source,
    pub image: Source,
    pub sysroot: Source,
    pub host: Option<Source>,
    pub files: Option<Source>,
    pub tmp: Source,
}

/// What a shared tree of the host root is at the moment: a directory to bind, or a symlink (merged
/// /usr) to recreate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TopLevel {
    Dir(String),
    Link(String, PathBuf),
}

/// Reads which shared trees exist on this host.
pub(super) fn host_top_level() -> Vec<TopLevel> {
    SHARED_TREES
        .iter()
        .filter_map(|name| {
            let path = Path::new("/").join(name);
            let meta = std::fs::symlink_metadata(&path).ok()?;
            if meta.file_type().is_symlink() {
                Some(TopLevel::Link(name.to_string(), std::fs::read_link(&path).ok()?))
            } else if meta.is_dir() {
                Some(TopLevel::Dir(name.to_string()))
            } else {
                None
            }
        })
        .collect()
}

/// Caller's ids, mapped to 0 inside a new user namespace when ingot is not root.
#[derive(Debug, Clone, Copy)]
pub(super) struct IdMap {
    pub uid: u32,
    pub gid: u32,
}

/// Builds the setup steps. A scratch tmpfs over the host tmpdir (any directory of ours would do)
/// becomes the root first, with the host's root moved beneath it to /oldroot, so every host path
/// stays reachable while the new root is assembled in /newroot; then /newroot becomes the root and
/// the scratch tmpfs, with the host root under it, is detached.
pub(super) fn plan(
    sources: &Sources,
    top: &[TopLevel],
    ids: Option<IdMap>,
) -> Result<Vec<Step>, SandboxError> {
    let mut b = Builder { steps: Vec::new() };
    if let Some(ids) = ids {
        b.id_maps(ids)?;
    }
    b.scratch_root(&sources.tmp.host)?;
    b.host_root(top)?;
    b.build_dirs(sources)?;
    b.dev()?;
    b.proc()?;
    b.push(Op::Hostname { name: c(HOSTNAME)? }, format!("set the hostname to {HOSTNAME}"));
    b.push(Op::LoopbackUp, "bring up the loopback interface".into());
    let root = c(NEW_ROOT)?;
    b.push(
        Op::Attr { target: root.clone(), set: libc::MOUNT_ATTR_RDONLY, recursive: false },
        "make the new root read-only".into(),
    );
    b.push(Op::PivotRoot { new_root: root }, "pivot into the new root".into());
    b.push(Op::Chdir { path: c(inside::WORKDIR)? }, format!("enter {}", inside::WORKDIR));
    Ok(b.steps)
}

const NEW_ROOT: &str = "/newroot";
const OLD_ROOT: &str = "/oldroot";

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, op: Op, what: String) {
        self.steps.push(Step { op, what, optional: false });
    }

    fn push_optional(&mut self, op: Op, what: String) {
        self.steps.push(Step { op, what, optional: true });
    }

    /// A path inside the new root, as seen while it is assembled.
    fn inner(&self, inside: &str) -> Result<CString, SandboxError> {
        c(&format!("{NEW_ROOT}/{}", inside.trim_matches('/')))
    }

    /// A host path, as seen while the new root is assembled.
    fn host(&self, path: &Path) -> Result<CString, SandboxError> {
        self.cpath(&Path::new(OLD_ROOT).join(path.strip_prefix("/").unwrap_or(path)))
    }

    fn cpath(&self, path: &Path) -> Result<CString, SandboxError> {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| SandboxError::NulByte { what: path.display().to_string() })
    }

    fn id_maps(&mut self, ids: IdMap) -> Result<(), SandboxError> {
        // An unprivileged process may map only its own ids, and only after giving up setgroups.
        let maps = [
            ("/proc/self/setgroups", "deny\n".to_string()),
            ("/proc/self/uid_map", format!("0 {} 1\n", ids.uid)),
            ("/proc/self/gid_map", format!("0 {} 1\n", ids.gid)),
        ];
        for (path, data) in maps {
            let what = format!("write {:?} to {path}", data.trim_end());
            self.push(Op::Write { path: c(path)?, data: data.into_bytes() }, what);
        }
        Ok(())
    }

    fn scratch_root(&mut self, at: &Path) -> Result<(), SandboxError> {
        self.push(Op::PrivateRoot, "make the mount tree private".into());
        let scratch = self.cpath(at)?;
        let (flags, options) = (libc::MS_NOSUID | libc::MS_NODEV, c("mode=0755")?);
        self.push(
            Op::Tmpfs { target: scratch.clone(), flags, options },
            format!("mount a scratch tmpfs on {}", at.display()),
        );
        let old_root = self.cpath(&at.join(&OLD_ROOT[1..]))?;
        self.push(
            Op::Mkdir { path: old_root.clone(), mode: 0o700 },
            format!("create {OLD_ROOT} in the scratch tmpfs"),
        );
        self.push(
            Op::Mkdir { path: self.cpath(&at.join(&NEW_ROOT[1..]))?, mode: 0o755 },
            format!("create {NEW_ROOT} in the scratch tmpfs"),
        );
        self.push(
            Op::PivotInto { new_root: scratch, put_old: old_root },
            format!("pivot into the scratch tmpfs, the host root at {OLD_ROOT}"),
        );
        let (flags, options) = (libc::MS_NOSUID | libc::MS_NODEV, c("mode=0755")?);
        self.push(
            Op::Tmpfs { target: c(NEW_ROOT)?, flags, options },
            format!("mount the new root's tmpfs on {NEW_ROOT}"),
        );
        Ok(())
    }

    fn host_root(&mut self, top: &[TopLevel]) -> Result<(), SandboxError> {
        for entry in top {
            match entry {
                TopLevel::Dir(name) => {
                    let target = self.inner(name)?;
                    self.push(Op::Mkdir { path: target.clone(), mode: 0o755 }, format!("create /{name}"));
                    let source = self.host(Path::new(name))?;
                    self.push(
                        Op::Bind { source, target: target.clone() },
                        format!("bind-mount the host's /{name}"),
                    );
                    self.push(
                        Op::Attr { target, set: RO, recursive: true },
                        format!("make /{name} read-only"),
                    );
                }
                TopLevel::Link(name, to) => {
                    let target = self.cpath(to)?;
                    let what = format!("link /{name} to {}", to.display());
                    self.push(Op::Symlink { target, link: self.inner(name)? }, what);
                }
            }
        }
        Ok(())
    }

    fn build_dirs(&mut self, s: &Sources) -> Result<(), SandboxError> {
        self.push(Op::Mkdir { path: self.inner("/build")?, mode: 0o755 }, "create /build".into());
        self.bind(&s.work, inside::WORKDIR, RW, "the workdir")?;
        self.bind(&s.image, inside::DESTDIR, RW, "the destdir")?;
        self.bind(&s.sysroot, inside::SYSROOT, RO, "the sysroot")?;
        self.optional_bind(s.host.as_ref(), inside::HOSTROOT, "the host dependencies")?;
        self.optional_bind(s.files.as_ref(), inside::FILESDIR, "the recipe's files")?;
        self.bind(&s.tmp, inside::TMPDIR, RW, "the tmpdir")
    }

    fn optional_bind(&mut self, source: Option<&Source>, at: &str, role: &str) -> Result<(), SandboxError> {
        match source {
            Some(source) => self.bind(source, at, RO, role),
            None => {
                self.push(Op::Mkdir { path: self.inner(at)?, mode: 0o755 }, format!("create {at} (empty)"));
                Ok(())
            }
        }
    }

    fn bind(&mut self, source: &Source, at: &str, attrs: u64, role: &str) -> Result<(), SandboxError> {
        let target = self.inner(at)?;
        self.push(Op::Mkdir { path: target.clone(), mode: 0o755 }, format!("create {at}"));
        let what = format!("bind-mount {} ({role}) on {at}", source.host.display());
        self.push(Op::Bind { source: self.host(&source.host)?, target: target.clone() }, what);
        let mode = if attrs & libc::MOUNT_ATTR_RDONLY != 0 { "read-only" } else { "nosuid, nodev" };
        self.push(Op::Attr { target, set: attrs, recursive: true }, format!("make {at} {mode}"));
        Ok(())
    }

    fn dev(&mut self) -> Result<(), SandboxError> {
        let dev = self.inner("/dev")?;
        self.push(Op::Mkdir { path: dev.clone(), mode: 0o755 }, "create /dev".into());
        let flags = libc::MS_NOSUID | libc::MS_NOEXEC;
        self.push(Op::Tmpfs { target: dev, flags, options: c("mode=0755")? }, "mount a tmpfs on /dev".into());
        for name in DEVICES {
            // mknod is refused in a user namespace; binding the host's node works everywhere.
            let node = self.inner(&format!("/dev/{name}"))?;
            self.push(Op::Touch { path: node.clone() }, format!("create /dev/{name}"));
            let source = self.host(&Path::new("dev").join(name))?;
            self.push(Op::Bind { source, target: node }, format!("bind-mount the host's /dev/{name}"));
        }
        for (name, to) in DEV_LINKS {
            let what = format!("link /dev/{name} to {to}");
            self.push(Op::Symlink { target: c(to)?, link: self.inner(&format!("/dev/{name}"))? }, what);
        }
        let shm = self.inner("/dev/shm")?;
        self.push(Op::Mkdir { path: shm.clone(), mode: 0o755 }, "create /dev/shm".into());
        let options = c("mode=1777")?;
        self.push(
            Op::Tmpfs { target: shm, flags: libc::MS_NOSUID | libc::MS_NODEV, options },
            "mount a tmpfs on /dev/shm".into(),
        );
        Ok(())
    }

    fn proc(&mut self) -> Result<(), SandboxError> {
        let proc = self.inner("/proc")?;
        self.push(Op::Mkdir { path: proc.clone(), mode: 0o555 }, "create /proc".into());
        self.push(Op::Proc { target: proc }, "mount /proc for the new PID namespace".into());
        for name in PROC_READ_ONLY {
            let path = self.inner(&format!("/proc/{name}"))?;
            let source = path.clone();
            self.push_optional(
                Op::Bind { source, target: path.clone() },
                format!("bind /proc/{name} over itself"),
            );
            let what = format!("make /proc/{name} read-only");
            self.push_optional(Op::Attr { target: path, set: RO, recursive: true }, what);
        }
        Ok(())
    }
}

fn c(s: &str) -> Result<CString, SandboxError> {
    CString::new(s).map_err(|_| SandboxError::NulByte { what: s.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Sources {
        let s = |p: &str| Source { host: PathBuf::from(p) };
        Sources {
            work: s("/store/tmp/b1/work"),
            image: s("/store/tmp/b1/image"),
            sysroot: s("/store/tmp/b1/sysroot"),
            host: Some(s("/store/tmp/b1/host")),
            files: None,
            tmp: s("/store/tmp/b1/tmp"),
        }
    }

    fn top() -> Vec<TopLevel> {
        vec![
            TopLevel::Dir("usr".into()),
            TopLevel::Link("bin".into(), "usr/bin".into()),
            TopLevel::Dir("etc".into()),
        ]
    }

    fn steps(ids: Option<IdMap>) -> Vec<Step> {
        plan(&sources(), &top(), ids).unwrap()
    }

    fn str(c: &CString) -> &str {
        c.to_str().unwrap()
    }

    /// (target, attributes) of every mount_setattr step.
    fn attrs(steps: &[Step]) -> Vec<(String, u64)> {
        steps
            .iter()
            .filter_map(|s| match &s.op {
                Op::Attr { target, set, .. } => Some((str(target).to_string(), *set)),
                _ => None,
            })
            .collect()
    }

    fn attr_of(steps: &[Step], target: &str) -> u64 {
        attrs(steps)
            .into_iter()
            .find(|(t, _)| t == target)
            .unwrap_or_else(|| panic!("no attributes for {target}"))
            .1
    }

    #[test]
    fn build_dirs_are_mounted_at_fixed_paths_from_the_host_root() {
        let binds: Vec<_> = steps(None)
            .iter()
            .filter_map(|s| match &s.op {
                Op::Bind { source, target } => Some((str(source).to_string(), str(target).to_string())),
                _ => None,
            })
            .collect();
        for (from, to) in [
            ("/oldroot/store/tmp/b1/work", "/newroot/build/work"),
            ("/oldroot/store/tmp/b1/image", "/newroot/build/image"),
            ("/oldroot/store/tmp/b1/sysroot", "/newroot/build/sysroot"),
            ("/oldroot/store/tmp/b1/host", "/newroot/build/host"),
            ("/oldroot/store/tmp/b1/tmp", "/newroot/tmp"),
            ("/oldroot/usr", "/newroot/usr"),
        ] {
            assert!(
                binds.contains(&(from.to_string(), to.to_string())),
                "{from} -> {to} missing in {binds:?}"
            );
        }
    }

    #[test]
    fn only_shared_trees_devices_and_the_build_s_own_dirs_come_from_the_host() {
        let allowed = ["/oldroot/usr", "/oldroot/etc", "/oldroot/dev/", "/oldroot/store/tmp/b1/"];
        for step in steps(None) {
            if let Op::Bind { source, .. } = &step.op
                && str(source).starts_with("/oldroot")
            {
                assert!(
                    allowed.iter().any(|a| str(source).starts_with(a)),
                    "unexpected host bind {source:?}"
                );
            }
        }
    }

    #[test]
    fn sysroot_host_deps_and_shared_trees_are_read_only_and_build_dirs_writable() {
        let steps = steps(None);
        for ro in
            ["/newroot/build/sysroot", "/newroot/build/host", "/newroot/usr", "/newroot/etc", "/newroot"]
        {
            assert_ne!(attr_of(&steps, ro) & libc::MOUNT_ATTR_RDONLY, 0, "{ro} writable");
        }
        for rw in ["/newroot/build/work", "/newroot/build/image", "/newroot/tmp"] {
            assert_eq!(attr_of(&steps, rw) & libc::MOUNT_ATTR_RDONLY, 0, "{rw} read-only");
            assert_ne!(attr_of(&steps, rw) & libc::MOUNT_ATTR_NOSUID, 0, "{rw} allows setuid");
        }
    }

    #[test]
    fn missing_filesdir_is_an_empty_directory() {
        let steps = steps(None);
        let made = steps
            .iter()
            .any(|s| matches!(&s.op, Op::Mkdir { path, .. } if str(path) == "/newroot/build/files"));
        let bound = steps
            .iter()
            .any(|s| matches!(&s.op, Op::Bind { target, .. } if str(target) == "/newroot/build/files"));
        assert!(made && !bound);
    }

    #[test]
    fn merged_usr_symlinks_are_recreated() {
        let link = steps(None).into_iter().find_map(|s| match s.op {
            Op::Symlink { target, link } if str(&link) == "/newroot/bin" => Some(target),
            _ => None,
        });
        assert_eq!(link.as_ref().map(str), Some("usr/bin"));
    }

    #[test]
    fn rootless_plan_maps_the_caller_to_root_first() {
        let steps = steps(Some(IdMap { uid: 1000, gid: 100 }));
        let writes: Vec<_> = steps
            .iter()
            .take(3)
            .map(|s| match &s.op {
                Op::Write { path, data } => {
                    format!("{} {}", str(path), String::from_utf8_lossy(data).trim_end())
                }
                other => panic!("expected an id-map write, got {other:?}"),
            })
            .collect();
        assert_eq!(
            writes,
            ["/proc/self/setgroups deny", "/proc/self/uid_map 0 1000 1", "/proc/self/gid_map 0 100 1"]
        );
    }

    #[test]
    fn root_plan_writes_no_id_maps() {
        assert!(!steps(None).iter().any(|s| matches!(s.op, Op::Write { .. })));
    }

    #[test]
    fn plan_ends_by_pivoting_into_the_new_root_and_entering_the_workdir() {
        let steps = steps(None);
        let last: Vec<_> = steps.iter().rev().take(2).map(|s| s.what.as_str()).collect();
        assert_eq!(last, ["enter /build/work", "pivot into the new root"]);
    }

    #[test]
    fn only_proc_masks_may_be_missing() {
        for step in steps(None) {
            let proc_mask = step.what.contains(" /proc/") && !step.what.starts_with("link ");
            assert_eq!(step.optional, proc_mask, "{}", step.what);
        }
    }

    #[test]
    fn a_build_dir_inside_a_shared_tree_is_refused() {
        let err = Source::open("workdir", Path::new("/usr/share")).err().unwrap().to_string();
        assert!(
            err.starts_with("sandbox workdir /usr/share lies in /usr, which every build sees read-only"),
            "{err}"
        );
    }

    #[test]
    fn the_host_root_itself_is_refused() {
        let err = Source::open("sysroot", Path::new("/")).err().unwrap().to_string();
        assert!(err.contains("sandbox sysroot / lies in /,"), "{err}");
    }

    #[test]
    fn a_recipe_files_dir_may_live_in_a_shared_tree_but_not_be_the_root() {
        assert!(Source::open_shared("filesdir", Path::new("/usr/share")).is_ok());
        let err = Source::open_shared("filesdir", Path::new("/")).err().unwrap().to_string();
        assert!(err.contains("sandbox filesdir / lies in /,"), "{err}");
    }

    #[test]
    fn a_missing_build_dir_is_named() {
        let err = Source::open("destdir", Path::new("/nonexistent/ingot/image")).err().unwrap().to_string();
        assert!(err.starts_with("sandbox destdir: "), "{err}");
        assert!(err.contains("/nonexistent/ingot/image"), "{err}");
    }

    #[test]
    fn symlinked_build_dirs_are_resolved_before_checking() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/usr/share", &link).unwrap();
        let err = Source::open("workdir", &link).err().unwrap().to_string();
        assert!(err.contains("/usr/share lies in /usr"), "{err}");
    }
}
