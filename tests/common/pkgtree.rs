//! A throwaway recipe tree with real source tarballs made by the test, a profile, a store and a
//! distfiles directory, driven through the `ingot` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct PkgTree {
    pub dir: tempfile::TempDir,
}

impl Drop for PkgTree {
    /// `INGOT_KEEP_TEST_TREES=1` keeps each tree for inspection and prints where it is.
    fn drop(&mut self) {
        if std::env::var_os("INGOT_KEEP_TEST_TREES").is_some() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            eprintln!("kept test tree {}", dir.keep().display());
        }
    }
}

impl PkgTree {
    pub fn new() -> PkgTree {
        // Under target/: the sandbox refuses build directories inside system trees, and /tmp may be
        // small; target/tmp is on the project's disk.
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = tempfile::Builder::new().prefix("pkgtree-").tempdir_in(base).unwrap();
        for d in ["recipes", "profiles", "store", "distfiles"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        PkgTree { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a deterministic `.tar.gz` of `files` under `top/` into the distfiles directory and
    /// returns its sha256.
    pub fn tarball(&self, name: &str, top: &str, files: &[(&str, &str)]) -> String {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_mtime(0);
        dir.set_size(0);
        dir.set_uid(0);
        dir.set_gid(0);
        builder.append_data(&mut dir, format!("{top}/"), std::io::empty()).unwrap();
        for (path, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_mode(if path.ends_with(".sh") { 0o755 } else { 0o644 });
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            h.set_size(text.len() as u64);
            builder.append_data(&mut h, format!("{top}/{path}"), text.as_bytes()).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        self.distfile(name, &gzip(&tar))
    }

    /// Writes raw bytes as a distfile and returns their sha256.
    pub fn distfile(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.path("distfiles").join(name), bytes).unwrap();
        sha256(bytes)
    }

    pub fn recipe(&self, cat_pn: &str, version: &str, text: &str) {
        let pn = cat_pn.split('/').nth(1).unwrap();
        let path = self.path("recipes").join(cat_pn).join(format!("{pn}-{version}.toml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn profile(&self, name: &str, text: &str) {
        let path = self.path("profiles").join(name).join("profile.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn ingot(&self) -> assert_cmd::Command {
        self.ingot_with_store(&self.path("store"))
    }

    /// `ingot` over this tree with another store (a second machine sharing the recipes).
    pub fn ingot_with_store(&self, store: &Path) -> assert_cmd::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("ingot"));
        self.ingot_args(&mut cmd, store, &self.path("distfiles"));
        assert_cmd::Command::from_std(cmd)
    }

    /// Points `cmd` (ingot, or a wrapper that runs it) at this tree, `store` and `distdir`,
    /// with an environment that cannot leak the caller's settings into the test.
    pub fn ingot_args<'c>(
        &self,
        cmd: &'c mut std::process::Command,
        store: &Path,
        distdir: &Path,
    ) -> &'c mut std::process::Command {
        cmd.env("NO_COLOR", "1")
            .env_remove("INGOT_CACHE")
            .env_remove("SOURCE_DATE_EPOCH")
            .arg("--recipes")
            .arg(self.path("recipes"))
            .arg("--profiles")
            .arg(self.path("profiles"))
            .arg("--cache")
            .arg(store)
            .arg("--distdir")
            .arg(distdir)
    }

    /// `ingot build PROFILE --no-image --json`: the summary's lists by name.
    pub fn build(&self, profile: &str) -> BuildResult {
        let out = self.ingot().args(["build", profile, "--no-image", "--json", "-j2"]).output().unwrap();
        BuildResult::from(out)
    }
}

pub struct BuildResult {
    pub ok: bool,
    pub summary: serde_json::Value,
    pub events: Vec<serde_json::Value>,
    pub stderr: String,
}

impl From<std::process::Output> for BuildResult {
    fn from(out: std::process::Output) -> Self {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<serde_json::Value> =
            stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let summary = lines.iter().rev().find(|v| v.get("built").is_some()).cloned().unwrap_or_default();
        let events = lines.into_iter().filter(|v| v.get("event").is_some()).collect();
        BuildResult {
            ok: out.status.success(),
            summary,
            events,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl BuildResult {
    pub fn list(&self, field: &str) -> Vec<String> {
        self.summary[field]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default()
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const GREET_C: &str = "#include \"greet.h\"\n#ifdef LOUD\nconst char *greeting(void) { return \"HELLO FROM LIBGREET\"; }\n#else\nconst char *greeting(void) { return \"hello from libgreet\"; }\n#endif\n";
const GREET_MK: &str = "all: libgreet.a\nlibgreet.a: greet.o\n\tar rcs $@ greet.o\ninstall:\n\tinstall -D -m644 libgreet.a $(DESTDIR)/usr/lib/libgreet.a\n\tinstall -D -m644 greet.h $(DESTDIR)/usr/include/greet.h\n";
const HELLO_C: &str =
    "#include <stdio.h>\n#include <greet.h>\nint main(void) { puts(greeting()); return 0; }\n";

/// libgreet (a static library with a `loud` feature) <- hello (links it through SYSROOT, needs
/// motd at run time); `other` stands alone.
pub fn standard_tree() -> PkgTree {
    let t = PkgTree::new();
    let greet = t.tarball(
        "libgreet-1.0.tar.gz",
        "libgreet-1.0",
        &[("greet.c", GREET_C), ("greet.h", "const char *greeting(void);\n"), ("Makefile", GREET_MK)],
    );
    let hello = t.tarball("hello-1.0.tar.gz", "hello-1.0", &[("hello.c", HELLO_C)]);
    t.recipe(
        "dev-libs/libgreet",
        "1.0",
        &format!(
            "description = \"Greeting library\"\niuse = \"loud\"\n\n[[source]]\nurls = [\"https://example.invalid/libgreet-1.0.tar.gz\"]\nsha256 = \"{greet}\"\n\n[build]\nsystem = \"make\"\ncompile = 'emake CFLAGS=\"$CFLAGS $(usev loud -DLOUD)\"'\n"
        ),
    );
    t.recipe(
        "app-misc/hello",
        "1.0",
        &format!(
            "description = \"Says hello\"\n\n[depend]\nbuild = \"dev-libs/libgreet\"\nrun = \"app-misc/motd\"\n\n[[source]]\nfile = \"hello-1.0.tar.gz\"\nsha256 = \"{hello}\"\n\n[build]\nsystem = \"none\"\ncompile = 'cc $CFLAGS -I\"$SYSROOT/usr/include\" -L\"$SYSROOT/usr/lib\" -o hello hello.c -lgreet'\ninstall = 'install -D -m755 hello \"$DESTDIR/usr/bin/hello\"'\n"
        ),
    );
    motd(&t, "Welcome");
    t.recipe(
        "app-misc/other",
        "1.0",
        "description = \"Independent\"\n\n[build]\nsystem = \"none\"\ninstall = 'mkdir -p \"$DESTDIR/usr/share/other\" && echo \"$CFLAGS\" > \"$DESTDIR/usr/share/other/cflags\"'\n",
    );
    t.profile("p", "world = [\"app-misc/hello\", \"app-misc/other\"]\n\n[make]\ncflags = \"-O2\"\n");
    t
}

pub fn motd(t: &PkgTree, text: &str) {
    t.recipe(
        "app-misc/motd",
        "1.0",
        &format!("description = \"Message of the day\"\n\n[build]\nsystem = \"none\"\ninstall = 'mkdir -p \"$DESTDIR/etc\" && echo {text} > \"$DESTDIR/etc/motd\"'\n"),
    );
}
