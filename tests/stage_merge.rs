//! Merging stored packages into a staging root: the tree, the entries the image applies, shared
//! paths, directory symlinks, the package database and progress.

mod stage_support;

use ingot::report::{Event, Outcome, Recorder, Silent};
use ingot::stage::{DeviceNode, EntryMeta, NodeKind, merge};
use stage_support::{Packages, char_device, listing, mode, sha256};

#[test]
fn merged_root_holds_every_file_and_entries_carry_owners_modes_and_nodes() {
    let mut p = Packages::new();
    let base = p.make_with(
        "base",
        |d| {
            d.dir("bin", 0o755).file("bin/su", "su\n", 0o4755);
            d.file("etc/shadow", "root:*\n", 0o640);
        },
        |m| {
            m.owners.insert("etc/shadow".into(), (0, 42));
            m.nodes.push(("/dev/null".into(), char_device(1, 3), 0o666));
        },
    );
    let tool = p.make("tool", |d| {
        d.file("usr/bin/tool", "tool\n", 0o755);
    });
    let root = merge(&[base, tool], &p.dest(), &Silent).unwrap();

    assert_eq!(root.dir, p.dest());
    assert_eq!(std::fs::read_to_string(root.dir.join("usr/bin/tool")).unwrap(), "tool\n");
    assert_eq!(mode(&root.dir.join("bin/su")), 0o4755);
    assert!(!root.dir.join("dev/null").exists(), "device nodes are the image's to create");
    assert!(root.dir.join("dev").is_dir(), "though not in the package, the node's directory is made");
    let meta = |uid, gid, mode, node| EntryMeta { uid, gid, mode, node };
    let expected = [
        ("bin/su".to_string(), meta(0, 0, Some(0o4755), None)),
        ("dev/null".to_string(), meta(0, 0, Some(0o666), Some(char_device(1, 3)))),
        ("etc/shadow".to_string(), meta(0, 42, None, None)),
    ];
    assert_eq!(root.entries, expected.into_iter().collect());
}

#[test]
fn identical_files_in_two_packages_are_allowed_and_both_own_them() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("etc/common", "same\n", 0o644);
    });
    let b = p.make("b", |d| {
        d.file("etc/common", "same\n", 0o644).file("etc/b", "b\n", 0o644);
    });
    let root = merge(&[a, b], &p.dest(), &Silent).unwrap();
    assert_eq!(std::fs::read_to_string(root.dir.join("etc/common")).unwrap(), "same\n");
    let line = format!("obj /etc/common {}", sha256("same\n"));
    for name in ["a-1", "b-1"] {
        let contents =
            std::fs::read_to_string(root.dir.join(format!("var/db/ingot/app-misc/{name}/CONTENTS")));
        assert!(contents.unwrap().contains(&line), "{name}");
    }
}

#[test]
fn identical_symlinks_and_hard_links_to_identical_files_are_allowed() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("usr/bin/prog", "prog\n", 0o755).symlink("usr/bin/alias", "prog");
    });
    let b = p.make("b", |d| {
        d.file("usr/bin/other", "prog\n", 0o755).hardlink("usr/bin/prog", "usr/bin/other");
        d.symlink("usr/bin/alias", "prog");
    });
    let root = merge(&[a, b], &p.dest(), &Silent).unwrap();
    assert_eq!(std::fs::read_link(root.dir.join("usr/bin/alias")).unwrap().to_str(), Some("prog"));
    assert_eq!(std::fs::read_to_string(root.dir.join("usr/bin/other")).unwrap(), "prog\n");
}

#[test]
fn shared_directories_merge_and_the_first_keeps_its_mode_and_owner() {
    let mut p = Packages::new();
    let a = p.make_with(
        "a",
        |d| {
            d.dir("srv", 0o750);
        },
        |m| {
            m.owners.insert("srv".into(), (5, 5));
        },
    );
    let b = p.make("b", |d| {
        d.dir("srv", 0o755).file("srv/b", "b\n", 0o644);
    });
    let root = merge(&[a, b], &p.dest(), &Silent).unwrap();
    assert_eq!(mode(&root.dir.join("srv")), 0o750);
    assert_eq!(root.entries["srv"], EntryMeta { uid: 5, gid: 5, mode: None, node: None });
    assert!(root.dir.join("srv/b").is_file());
}

#[test]
fn files_below_a_directory_symlink_land_where_it_points() {
    let mut p = Packages::new();
    let layout = p.make("baselayout", |d| {
        d.dir("usr/bin", 0o755).dir("usr/lib", 0o755).symlink("bin", "usr/bin").symlink("lib", "/usr/lib");
    });
    let shell = p.make("shell", |d| {
        d.file("bin/sh", "sh\n", 0o4755).file("lib/libc.so", "libc\n", 0o755);
    });
    let root = merge(&[layout, shell], &p.dest(), &Silent).unwrap();

    assert_eq!(std::fs::read_link(root.dir.join("bin")).unwrap().to_str(), Some("usr/bin"));
    assert_eq!(std::fs::read_to_string(root.dir.join("usr/bin/sh")).unwrap(), "sh\n");
    assert_eq!(std::fs::read_to_string(root.dir.join("usr/lib/libc.so")).unwrap(), "libc\n");
    assert!(root.entries.contains_key("usr/bin/sh") && !root.entries.contains_key("bin/sh"));
    let contents = std::fs::read_to_string(root.dir.join("var/db/ingot/app-misc/shell-1/CONTENTS")).unwrap();
    let expected = format!(
        "dir /usr/bin\nobj /usr/bin/sh {}\ndir /usr/lib\nobj /usr/lib/libc.so {}\n",
        sha256("sh\n"),
        sha256("libc\n")
    );
    assert_eq!(contents, expected);
}

#[test]
fn package_database_records_manifest_features_key_and_contents() {
    let mut p = Packages::new();
    let pkg = p.make_with(
        "db",
        |d| {
            d.dir("dev", 0o755).file("etc/conf", "x\n", 0o644).hardlink("etc/conf2", "etc/conf");
            d.symlink("etc/link", "conf");
        },
        |m| m.nodes.push(("dev/fifo".into(), DeviceNode { kind: NodeKind::Fifo, major: 0, minor: 0 }, 0o600)),
    );
    let (key, manifest) = (pkg.key, pkg.manifest.clone());
    let root = merge(&[pkg], &p.dest(), &Silent).unwrap();
    let db = root.dir.join("var/db/ingot/app-misc/db-1");
    let read = |name: &str| std::fs::read_to_string(db.join(name)).unwrap();

    assert_eq!(ingot::store::Manifest::parse(&read("MANIFEST.toml")).unwrap(), manifest);
    assert_eq!(read("FEATURES"), "ipv6 static\n");
    assert_eq!(read("KEY"), format!("{key}\n"));
    let sha = sha256("x\n");
    assert_eq!(
        read("CONTENTS"),
        format!(
            "dir /dev\nfif /dev/fifo\ndir /etc\nobj /etc/conf {sha}\nobj /etc/conf2 {sha}\nsym /etc/link -> conf\n"
        )
    );
    for name in ["MANIFEST.toml", "FEATURES", "KEY", "CONTENTS"] {
        assert_eq!(mode(&db.join(name)), 0o644, "{name}");
    }
    assert_eq!(mode(&db), 0o755);
    assert!(root.entries.keys().all(|k| !k.starts_with("var/")), "root-owned: {:?}", root.entries);
}

#[test]
fn order_only_changes_who_keeps_a_shared_directorys_mode() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.dir("share", 0o755).file("share/a", "a\n", 0o644).file("etc/same", "s\n", 0o644);
    });
    let b = p.make("b", |d| {
        d.dir("share", 0o700).file("share/b", "b\n", 0o644).file("etc/same", "s\n", 0o644);
    });
    let forward = merge(&[a.clone(), b.clone()], &p.dest(), &Silent).unwrap();
    let backward = merge(&[b, a], &p.tmp.path().join("backward"), &Silent).unwrap();
    assert_eq!(listing(&forward.dir), listing(&backward.dir));
    assert_eq!((mode(&forward.dir.join("share")), mode(&backward.dir.join("share"))), (0o755, 0o700));
}

#[test]
fn progress_is_reported_per_package_inside_the_stage() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("a", "a", 0o644);
    });
    let rec = Recorder::default();
    merge(&[a], &p.dest(), &rec).unwrap();
    let events = rec.events();
    assert!(matches!(&events[0], Event::StageStarted { stage, total: Some(1) } if stage == "stage"));
    assert!(
        matches!(&events[1], Event::TaskStarted { id, what } if id == "stage:app-misc/a-1" && what == "merge app-misc/a-1")
    );
    assert!(
        matches!(&events[2], Event::TaskFinished { id, outcome: Outcome::Merged, .. } if id == "stage:app-misc/a-1")
    );
    assert!(matches!(&events[3], Event::StageFinished { stage } if stage == "stage"));
    assert_eq!(events.len(), 4);
}

#[test]
fn a_hard_link_to_a_file_an_earlier_package_writes_is_made_however_the_merges_interleave() {
    // Packages are merged side by side, the largest first: `b` starts first, and its hard link
    // may come before `a` wrote the identical file `b` leaves to it.
    let mut p = Packages::new();
    let noise = p.tmp.path().join("noise");
    let mut x = 0x2545_f491_u32;
    let bytes: Vec<u8> = (0..(256 << 10))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(&noise, bytes).unwrap();
    for round in 0..4 {
        let a = p.make("a", |d| {
            d.file("usr/bin/a-prog", "prog\n", 0o755);
        });
        let b = p.make("b", |d| {
            d.file("usr/bin/a-prog", "prog\n", 0o755).hardlink("usr/bin/z-link", "usr/bin/a-prog");
            d.copy("usr/share/noise", &noise, 0o644);
        });
        let dest = p.tmp.path().join(format!("root-{round}"));
        let root = merge(&[a, b], &dest, &Silent).unwrap();
        let ino =
            |f: &str| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(root.dir.join(f)).unwrap());
        assert_eq!(ino("usr/bin/a-prog"), ino("usr/bin/z-link"), "round {round}");
    }
}
