//! A small tmpfs for disk-full tests, mounted in a private mount namespace so that nothing on the
//! host changes and nothing stays mounted if the test dies. A holder process keeps the namespace
//! alive until it is dropped (or the test process dies: the holder waits for end of file on a pipe
//! from us). Commands run inside with `nsenter`; the test reads the filesystem through
//! `/proc/<holder>/root`.
//!
//! As root the namespace is a mount namespace only, so ingot runs exactly as in other tests. As
//! any other user it is a user namespace mapping that user to root plus a mount namespace
//! (`unshare -rm`), the same facility ingot's sandbox uses for rootless builds.
//! Use it with `#[path = "common/smallfs.rs"] mod smallfs;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct SmallFs {
    holder: Child,
    _keepalive: ChildStdin,
    /// The mount point, as paths inside the namespace spell it.
    pub dir: PathBuf,
    rootless: bool,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it: `8m`) on `dir`, which must exist.
    pub fn mount(dir: &Path, size: &str) -> SmallFs {
        let rootless = !nix::unistd::geteuid().is_root();
        let mut cmd = Command::new("unshare");
        if rootless {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o size={size},mode=0755 ingot-small \"$1\" && echo mounted && exec cat >/dev/null"
            ))
            .arg("sh")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut holder = cmd.spawn().unwrap_or_else(|e| panic!("unshare (util-linux): {e}"));
        let keepalive = holder.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "mounted",
            "could not mount a tmpfs in a private mount namespace (as {}); disk-full tests need \
             `unshare` from util-linux and, without root, unprivileged user namespaces",
            if rootless { "an ordinary user" } else { "root" }
        );
        SmallFs { holder, _keepalive: keepalive, dir: dir.to_path_buf(), rootless }
    }

    /// `program` run inside the namespace, where the tmpfs is mounted.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("--target").arg(self.holder.id().to_string());
        if self.rootless {
            // Without --preserve-credentials nsenter calls setgroups, which `unshare -r` denies.
            cmd.args(["--user", "--preserve-credentials"]);
        }
        cmd.arg("--mount").arg("--").arg(program);
        cmd
    }

    /// `path` (under the mount point) as this process can read it.
    pub fn view(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        PathBuf::from(format!("/proc/{}/root", self.holder.id())).join(rel)
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
