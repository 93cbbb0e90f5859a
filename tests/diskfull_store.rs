//! Disk full: the store on an 8 MiB tmpfs (see `common/smallfs.rs` for how it is mounted as root
//! and as an ordinary user) fills up mid-build, in a package's install phase or while its archive
//! is packed. The build fails with exit status 1 and an error naming the package and "No space
//! left on device"; the store keeps only whole packages (`cache verify` is clean, no manifest
//! without its archive), and once `cache gc` has run nothing of the failed build is left.

mod common;
#[path = "common/smallfs.rs"]
mod smallfs;

use common::pkgtree::PkgTree;
use smallfs::SmallFs;
use std::path::Path;
use std::process::{Command, Output};

const SIZE: &str = "8m";

/// `app-misc/small` (a few bytes, built first) and `app-misc/big`, whose install is `install`.
fn tree(install: &str) -> PkgTree {
    let t = PkgTree::new();
    t.recipe(
        "app-misc/small",
        "1.0",
        "description = \"Fits\"\n\n[build]\nsystem = \"none\"\ninstall = 'mkdir -p \"$DESTDIR/etc\" && echo small > \"$DESTDIR/etc/small\"'\n",
    );
    t.recipe(
        "app-misc/big",
        "1.0",
        &format!(
            "description = \"Does not fit\"\n\n[depend]\nbuild = \"app-misc/small\"\n\n[build]\nsystem = \"none\"\ninstall = '''\n{install}\n'''\n"
        ),
    );
    t.profile("p", "world = [\"app-misc/big\"]\n");
    t
}

/// The store on a fresh small tmpfs, and `ingot` running where it is mounted.
struct Small {
    fs: SmallFs,
    store: std::path::PathBuf,
}

impl Small {
    fn new(t: &PkgTree) -> Small {
        let mount = t.path("small");
        std::fs::create_dir_all(&mount).unwrap();
        let fs = SmallFs::mount(&mount, SIZE);
        Small { store: mount.join("store"), fs }
    }

    fn ingot(&self, t: &PkgTree, args: &[&str]) -> Output {
        let mut cmd: Command = self.fs.command(Path::new(env!("CARGO_BIN_EXE_ingot")));
        t.ingot_args(&mut cmd, &self.store, &t.path("distfiles")).args(args);
        cmd.output().unwrap()
    }

    /// Names of the entries of a store directory.
    fn names(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(self.fs.view(&self.store.join(dir))) {
            Ok(d) => d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    /// Every file under `pkgs/`.
    fn package_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in self.names("pkgs") {
            for f in self.names(&format!("pkgs/{sub}")) {
                out.push(f);
            }
        }
        out.sort();
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The failed build's error and what the store holds afterwards, before and after `gc`.
fn check_failed_cleanly(t: &PkgTree, small: &Small, out: &Output) {
    let stderr = text(&out.stderr);
    eprintln!("ingot build said:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("app-misc/big-1.0"), "the error does not name the package: {stderr}");
    assert!(stderr.contains("No space left on device"), "the error does not say the disk is full: {stderr}");

    let verify = small.ingot(t, &["cache", "verify", "--json"]);
    assert!(verify.status.success(), "{}{}", text(&verify.stdout), text(&verify.stderr));
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(v["ok"], 1, "{v}");
    let files = small.package_files();
    assert_eq!(files.len(), 2, "only small's archive and manifest: {files:?}");
    let ls = small.ingot(t, &["cache", "ls", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(v["packages"][0]["package"], "app-misc/small-1.0", "{v}");

    let gc = small.ingot(t, &["cache", "gc", "--older-than", "3650d"]);
    assert!(gc.status.success(), "{}", text(&gc.stderr));
    assert_eq!(small.names("tmp"), Vec::<String>::new(), "tmp/ after gc");
    assert_eq!(small.names("trash"), Vec::<String>::new(), "trash/ after gc");
    assert_eq!(small.package_files(), files, "gc removed a whole package");

    // With the space back, the store works: the next build of something that fits succeeds.
    t.recipe("app-misc/big", "1.0", "description = \"Fits now\"\n\n[build]\nsystem = \"none\"\n");
    let again = small.ingot(t, &["build", "p", "--no-image", "--json"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
}

#[test]
fn an_install_that_overflows_the_store_fails_naming_the_package_and_leaves_only_whole_packages() {
    let t = tree(
        "mkdir -p \"$DESTDIR/usr/share/big\"\nhead -c 20000000 /dev/zero > \"$DESTDIR/usr/share/big/blob\"",
    );
    let small = Small::new(&t);
    let out = small.ingot(&t, &["build", "p", "--no-image", "-j1"]);
    check_failed_cleanly(&t, &small, &out);
}

#[test]
fn a_full_store_is_named_even_when_the_log_has_no_room_for_the_tool_s_message() {
    // The log (on the full filesystem too) ends exactly at a page boundary before the disk fills,
    // so the failing tool's "No space left on device" cannot be written to it.
    let t = tree(concat!(
        "size=$(stat -L -c %s /proc/$$/fd/1)\n",
        "yes 'padding the log to a page boundary' | head -c $((8192 - size % 4096 - 1)); echo\n",
        "mkdir -p \"$DESTDIR/usr/share/big\"\n",
        "head -c 20000000 /dev/zero > \"$DESTDIR/usr/share/big/blob\""
    ));
    let small = Small::new(&t);
    // Nothing else may free space while the phase fails (as the deletion of small's build
    // directory in the background would): small first, then a quiet store.
    assert!(small.ingot(&t, &["build", "p", "app-misc/small", "--no-image"]).status.success());
    assert!(small.ingot(&t, &["cache", "gc", "--older-than", "3650d"]).status.success());
    let out = small.ingot(&t, &["build", "p", "--no-image", "-j1"]);
    check_failed_cleanly(&t, &small, &out);
}

#[test]
fn a_package_that_fits_but_whose_archive_does_not_fails_naming_the_package() {
    // Incompressible bytes made in DESTDIR itself: they take 5 MB of the 8, the archive 5 more.
    let t = tree(
        "mkdir -p \"$DESTDIR/usr/share/big\"\nhead -c 5000000 /dev/urandom > \"$DESTDIR/usr/share/big/noise\"",
    );
    let small = Small::new(&t);
    let out = small.ingot(&t, &["build", "p", "--no-image", "-j1"]);
    let stderr = text(&out.stderr);
    check_failed_cleanly(&t, &small, &out);
    assert!(stderr.contains(".tar.zst"), "the error names the archive being written: {stderr}");
}
