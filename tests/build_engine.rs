//! The build engine end to end through the CLI: real sources made by the test, sandboxed builds,
//! the store, rebuild decisions, `explain`, and every error path the issue names.

mod common;
use common::pkgtree::{PkgTree, motd, standard_tree};

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort();
    v.into_iter().map(String::from).collect()
}

const ALL: [&str; 4] =
    ["app-misc/hello-1.0", "app-misc/motd-1.0", "app-misc/other-1.0", "dev-libs/libgreet-1.0"];

#[test]
fn first_build_builds_every_package_and_the_second_reuses_them_all() {
    let t = standard_tree();
    let first = t.build("p");
    assert!(first.ok, "{}", first.stderr);
    assert_eq!(first.list("built"), sorted(ALL.to_vec()));
    assert!(first.list("reused").is_empty());
    let second = t.build("p");
    assert!(second.ok, "{}", second.stderr);
    assert!(second.list("built").is_empty(), "{:?}", second.summary);
    assert_eq!(second.list("reused"), sorted(ALL.to_vec()));
}

#[test]
fn human_summary_says_what_was_built_and_reused() {
    let t = standard_tree();
    let out = t.ingot().args(["build", "p", "--no-image"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("built 4, reused 0 from the store in"), "{text}");
    let out = t.ingot().args(["build", "p", "--no-image", "-q"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(|l| l.starts_with("built 0, reused 4 from the store in")),
        Some(true)
    );
}

#[test]
fn the_program_links_the_library_through_sysroot_and_runs() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    let root = unpack_package(&t, "app-misc/hello");
    let out = std::process::Command::new(root.path().join("usr/bin/hello")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from libgreet\n");
}

#[test]
fn flipping_a_feature_rebuilds_that_package_and_its_build_dependents_only() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    t.profile("p", "world = [\"app-misc/hello\", \"app-misc/other\"]\n\n[make]\ncflags = \"-O2\"\n\n[package.\"dev-libs/libgreet\"]\nuse = \"loud\"\n");
    let r = t.build("p");
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.list("built"), sorted(vec!["app-misc/hello-1.0", "dev-libs/libgreet-1.0"]));
    assert_eq!(r.list("reused"), sorted(vec!["app-misc/motd-1.0", "app-misc/other-1.0"]));
    let root = unpack_package(&t, "app-misc/hello");
    let out = std::process::Command::new(root.path().join("usr/bin/hello")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO FROM LIBGREET\n");
}

#[test]
fn changing_cflags_of_one_package_rebuilds_it_and_explain_names_the_input() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    t.profile("p", "world = [\"app-misc/hello\", \"app-misc/other\"]\n\n[make]\ncflags = \"-O2\"\n\n[package.\"app-misc/other\"]\ncflags = \"-O1\"\n");
    let out = t.ingot().args(["explain", "p", "app-misc/other", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed: Vec<&str> =
        v["changed"].as_array().unwrap().iter().map(|c| c["input"].as_str().unwrap()).collect();
    assert_eq!(changed, vec!["cflags"]);
    assert_eq!(v["changed"][0]["stored"], "-O2");
    assert_eq!(v["changed"][0]["now"], "-O1");
    let human = t.ingot().args(["explain", "p", "app-misc/other"]).output().unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("cflags: \"-O2\" -> \"-O1\""));
    let r = t.build("p");
    assert_eq!(r.list("built"), vec!["app-misc/other-1.0".to_string()]);
}

#[test]
fn explain_points_from_a_dependent_to_the_rebuilt_dependency() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    t.profile("p", "world = [\"app-misc/hello\", \"app-misc/other\"]\n\n[make]\ncflags = \"-O2\"\n\n[package.\"dev-libs/libgreet\"]\nuse = \"loud\"\n");
    let out = t.ingot().args(["explain", "p", "app-misc/hello"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sysroot:dev-libs/libgreet:0:"), "{text}");
    assert!(text.contains("`ingot explain p dev-libs/libgreet` says why"), "{text}");
    let out = t.ingot().args(["explain", "p", "dev-libs/libgreet"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("features: \"\" -> \"loud\""));
}

#[test]
fn changing_only_a_run_time_dependency_rebuilds_nothing_else() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    motd(&t, "Changed");
    let r = t.build("p");
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.list("built"), vec!["app-misc/motd-1.0".to_string()]);
}

#[test]
fn a_checksum_mismatch_is_refused_naming_both_hashes_and_the_bad_file_is_kept_aside() {
    let t = standard_tree();
    let good = std::fs::read(t.path("distfiles/hello-1.0.tar.gz")).unwrap();
    std::fs::write(t.path("distfiles/hello-1.0.tar.gz"), b"not the real tarball").unwrap();
    let r = t.build("p");
    assert!(!r.ok);
    assert!(r.stderr.contains("hello-1.0.tar.gz"), "{}", r.stderr);
    assert!(r.stderr.contains(&common::pkgtree::sha256(&good)), "expected hash missing: {}", r.stderr);
    assert!(
        r.stderr.contains(&common::pkgtree::sha256(b"not the real tarball")),
        "actual hash missing: {}",
        r.stderr
    );
    assert!(t.path("distfiles/hello-1.0.tar.gz.bad").exists());
    assert!(r.list("failed").contains(&"app-misc/hello-1.0".to_string()));
}

#[test]
fn a_missing_distfile_says_where_it_looked() {
    let t = standard_tree();
    std::fs::remove_file(t.path("distfiles/libgreet-1.0.tar.gz")).unwrap();
    let r = t.build("p");
    assert!(!r.ok);
    assert!(r.stderr.contains("libgreet-1.0.tar.gz"), "{}", r.stderr);
    assert!(r.stderr.contains("https://example.invalid/libgreet-1.0.tar.gz"), "{}", r.stderr);
    assert!(r.list("skipped").contains(&"app-misc/hello-1.0".to_string()), "{:?}", r.summary);
}

#[test]
fn a_failing_phase_shows_the_phase_the_status_and_the_log_tail() {
    let t = standard_tree();
    t.recipe("app-misc/other", "1.0", "description = \"Fails\"\n\n[build]\nsystem = \"none\"\ncompile = 'echo step-one; echo boom >&2; exit 3'\n");
    let r = t.build("p");
    assert!(!r.ok);
    assert!(r.stderr.contains("app-misc/other-1.0: compile phase failed (exit status 3)"), "{}", r.stderr);
    assert!(r.stderr.contains("| step-one"), "{}", r.stderr);
    assert!(r.stderr.contains("| boom"), "{}", r.stderr);
    let log = r.stderr.split("full log: ").nth(1).unwrap().lines().next().unwrap().trim();
    assert!(std::path::Path::new(log).is_file(), "{log}");
    assert!(log.starts_with(t.path("store/logs").to_str().unwrap()));
}

#[test]
fn a_phase_cannot_write_outside_its_directories() {
    let t = standard_tree();
    let target = t.path("escape-target");
    t.recipe(
        "app-misc/other",
        "1.0",
        &format!("description = \"Escapes\"\n\n[build]\nsystem = \"none\"\ninstall = 'echo x > /etc/ingot-escape-test; echo x > {}'\n", target.display()),
    );
    let r = t.build("p");
    assert!(!r.ok);
    assert!(r.stderr.contains("install phase failed"), "{}", r.stderr);
    assert!(r.stderr.contains("Read-only file system") || r.stderr.contains("No such file"), "{}", r.stderr);
    assert!(!std::path::Path::new("/etc/ingot-escape-test").exists());
    assert!(!target.exists());
}

#[test]
fn a_phase_cannot_reach_a_server_on_the_hosts_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = standard_tree();
    t.recipe(
        "app-misc/other",
        "1.0",
        &format!("description = \"Phones home\"\n\n[build]\nsystem = \"none\"\ncompile = 'exec 3<>/dev/tcp/127.0.0.1/{port} || perl -MIO::Socket::INET -e \"IO::Socket::INET->new(q(127.0.0.1:{port})) or exit 7\"'\n"),
    );
    let r = t.build("p");
    assert!(!r.ok, "the phase reached the host's loopback server");
    assert!(r.stderr.contains("compile phase failed"), "{}", r.stderr);
    assert!(listener.accept().is_err(), "the listener saw a connection");
}

#[test]
fn a_corrupt_store_entry_is_moved_aside_and_rebuilt() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    let key = package_key(&t, "app-misc/other");
    let archive = t.path("store/pkgs").join(&key[..2]).join(format!("{key}.tar.zst"));
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let r = t.build("p");
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.list("built"), vec!["app-misc/other-1.0".to_string()]);
    assert!(t.path("store/quarantine").read_dir().unwrap().next().is_some(), "nothing quarantined");
    let verify = t.ingot().args(["cache", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[test]
fn hostile_source_tarballs_are_refused() {
    for (case, name, kind, link) in [
        ("dotdot", "other-1.0/../../escaped", tar::EntryType::Regular, None),
        ("absolute", "/tmp/ingot-absolute-escape", tar::EntryType::Regular, None),
        ("symlink", "other-1.0/link", tar::EntryType::Symlink, Some("/etc")),
    ] {
        let t = standard_tree();
        let mut entries = vec![raw_entry(name, kind, link, b"x")];
        if case == "symlink" {
            entries.push(raw_entry("other-1.0/link/passwd", tar::EntryType::Regular, None, b"pwned"));
        }
        let sha = t.distfile("other-1.0.tar", &raw_tar(&entries));
        t.recipe(
            "app-misc/other",
            "1.0",
            &format!("description = \"Hostile\"\n\n[[source]]\nfile = \"other-1.0.tar\"\nsha256 = \"{sha}\"\n\n[build]\nsystem = \"none\"\n"),
        );
        let r = t.build("p");
        assert!(!r.ok, "{case}: accepted");
        assert!(r.stderr.contains("refusing") && r.stderr.contains("other-1.0.tar"), "{case}: {}", r.stderr);
        assert!(!std::path::Path::new("/tmp/ingot-absolute-escape").exists());
    }
}

#[test]
fn without_keep_going_nothing_new_starts_after_a_failure() {
    let t = failing_tree();
    let out = t.ingot().args(["build", "p", "--no-image", "--json", "-j1"]).output().unwrap();
    let r = common::pkgtree::BuildResult::from(out);
    assert!(!r.ok);
    assert_eq!(r.list("failed"), vec!["app-misc/fails-1.0".to_string()]);
    assert!(r.list("skipped").contains(&"app-misc/after-1.0".to_string()));
    assert!(r.list("skipped").contains(&"app-misc/other-1.0".to_string()), "{:?}", r.summary);
}

#[test]
fn keep_going_builds_what_does_not_depend_on_the_failure() {
    let t = failing_tree();
    let out = t.ingot().args(["build", "p", "--no-image", "--json", "-j1", "--keep-going"]).output().unwrap();
    let r = common::pkgtree::BuildResult::from(out);
    assert!(!r.ok);
    assert_eq!(r.list("skipped"), vec!["app-misc/after-1.0".to_string()]);
    assert!(r.list("built").contains(&"app-misc/other-1.0".to_string()), "{:?}", r.summary);
}

#[test]
fn json_events_describe_each_task() {
    let t = standard_tree();
    let r = t.build("p");
    let finished: Vec<&serde_json::Value> = r
        .events
        .iter()
        .filter(|e| e["event"] == "task_finished" && !e["id"].as_str().unwrap().starts_with("fetch:"))
        .collect();
    assert_eq!(finished.len(), 4, "{:?}", r.events);
    assert!(finished.iter().all(|e| e["outcome"] == "built"));
    assert!(r.events.iter().any(|e| e["event"] == "task_step" && e["step"] == "compile"));
    assert!(
        r.events.iter().any(|e| e["event"] == "stage_started" && e["stage"] == "build" && e["total"] == 4)
    );
}

#[test]
fn cache_ls_lists_stored_packages_and_gc_keeps_what_a_profile_needs() {
    let t = standard_tree();
    assert!(t.build("p").ok);
    t.profile("q", "world = [\"app-misc/other\"]\n\n[make]\ncflags = \"-O2\"\n");
    let ls = t.ingot().args(["cache", "ls", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(v["packages"].as_array().unwrap().len(), 4);
    let gc = t.ingot().args(["cache", "gc", "q"]).output().unwrap();
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    assert!(
        String::from_utf8_lossy(&gc.stdout).starts_with("removed 3 packages"),
        "{}",
        String::from_utf8_lossy(&gc.stdout)
    );
    let r = t.build("q");
    assert_eq!(r.list("reused"), vec!["app-misc/other-1.0".to_string()]);
}

/// `fails` (with `after` depending on it, so it goes first) and an independent `other`.
fn failing_tree() -> PkgTree {
    let t = standard_tree();
    t.recipe(
        "app-misc/fails",
        "1.0",
        "description = \"Fails\"\n\n[build]\nsystem = \"none\"\ncompile = 'exit 1'\n",
    );
    t.recipe(
        "app-misc/after",
        "1.0",
        "description = \"After\"\n\n[depend]\nbuild = \"app-misc/fails\"\n\n[build]\nsystem = \"none\"\n",
    );
    t.profile("p", "world = [\"app-misc/after\", \"app-misc/other\"]\n");
    t
}

fn package_key(t: &PkgTree, atom: &str) -> String {
    let ls = t.ingot().args(["cache", "ls", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    let pkgs = v["packages"].as_array().unwrap();
    let p =
        pkgs.iter().rev().find(|p| p["package"].as_str().unwrap().starts_with(&format!("{atom}-"))).unwrap();
    p["key"].as_str().unwrap().to_string()
}

/// Unpacks the newest stored package of `atom` with the `tar` and `zstd` crates.
fn unpack_package(t: &PkgTree, atom: &str) -> tempfile::TempDir {
    let key = newest_key(t, atom);
    let archive = t.path("store/pkgs").join(&key[..2]).join(format!("{key}.tar.zst"));
    let dir = tempfile::tempdir().unwrap();
    let dec = zstd::Decoder::new(std::fs::File::open(archive).unwrap()).unwrap();
    tar::Archive::new(dec).unpack(dir.path()).unwrap();
    dir
}

fn newest_key(t: &PkgTree, atom: &str) -> String {
    let pkgs = t.path("store/pkgs");
    let mut best: Option<(std::time::SystemTime, String)> = None;
    for sub in std::fs::read_dir(pkgs).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".toml") else { continue };
            let text = std::fs::read_to_string(f.path()).unwrap();
            if !text.contains(&format!("atom = \"{atom}\"")) {
                continue;
            }
            let created = f.metadata().unwrap().modified().unwrap();
            if best.as_ref().is_none_or(|(t, _)| created > *t) {
                best = Some((created, key.to_string()));
            }
        }
    }
    best.unwrap().1
}

fn raw_entry(name: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    let size = if kind == tar::EntryType::Regular { data.len() } else { 0 };
    h.set_size(size as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    if size > 0 {
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out
}

fn raw_tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn a_recipe_without_compiler_flags_gets_none_and_survives_a_cflags_change() {
    let t = standard_tree();
    t.recipe(
        "app-misc/other",
        "1.0",
        "description = \"Data only\"\n\n[build]\nsystem = \"none\"\ncompiler_flags = false\ninstall = 'mkdir -p \"$DESTDIR/usr/share/other\" && echo \"[$CFLAGS]\" > \"$DESTDIR/usr/share/other/cflags\"'\n",
    );
    assert!(t.build("p").ok);
    let root = unpack_package(&t, "app-misc/other");
    assert_eq!(std::fs::read_to_string(root.path().join("usr/share/other/cflags")).unwrap(), "[]\n");
    t.profile(
        "p",
        "world = [\"app-misc/hello\", \"app-misc/other\"]\n\n[make]\ncflags = \"-O3 -march=x86-64-v3\"\n",
    );
    let r = t.build("p");
    assert!(r.ok, "{}", r.stderr);
    // motd compiles nothing either but does not say so: it is rebuilt, other is not.
    assert_eq!(
        r.list("built"),
        sorted(vec!["app-misc/hello-1.0", "app-misc/motd-1.0", "dev-libs/libgreet-1.0"])
    );
    assert_eq!(r.list("reused"), vec!["app-misc/other-1.0".to_string()]);
}
