//! Merges that must be refused, each with a message naming the packages, entries and paths.

mod stage_support;

use ingot::report::{Event, Outcome, Recorder, Silent};
use ingot::stage::{StageError, merge};
use ingot::store::Binpkg;
use stage_support::Packages;

fn refusal(p: &Packages, packages: &[Binpkg]) -> String {
    merge(packages, &p.dest(), &Silent).unwrap_err().to_string()
}

#[test]
fn different_files_at_one_path_collide_naming_both_packages() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("etc/conf", "a\n", 0o644);
    });
    let b = p.make("b", |d| {
        d.file("etc/conf", "b\n", 0o644);
    });
    let err = refusal(&p, &[a, b]);
    assert_eq!(
        err,
        "`etc/conf` is installed by both app-misc/a-1 and app-misc/b-1: files with different contents"
    );
    assert!(!p.dest().join("etc").exists(), "found before anything is written");
}

#[test]
fn same_contents_with_another_mode_owner_or_type_still_collide() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("x", "same", 0o644);
    });
    let mode = p.make("mode", |d| {
        d.file("x", "same", 0o755);
    });
    let owner = p.make_with(
        "owner",
        |d| {
            d.file("x", "same", 0o644);
        },
        |m| {
            m.owners.insert("x".into(), (0, 7));
        },
    );
    let dir = p.make("dir", |d| {
        d.dir("x", 0o755);
    });
    let link = p.make("link", |d| {
        d.symlink("x", "elsewhere");
    });
    let table = [
        (mode, "app-misc/mode-1: files with modes 0644 and 0755"),
        (owner, "app-misc/owner-1: files owned by 0:0 and 0:7"),
        (dir, "app-misc/dir-1: a file in the first, a directory in the second"),
        (link, "app-misc/link-1: a file in the first, a symlink in the second"),
    ];
    for (other, expected) in table {
        let err = refusal(&p, &[a.clone(), other]);
        assert_eq!(err, format!("`x` is installed by both app-misc/a-1 and {expected}"));
    }
}

#[test]
fn symlinks_to_different_targets_collide() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.symlink("sh", "busybox");
    });
    let b = p.make("b", |d| {
        d.symlink("sh", "dash");
    });
    let err = refusal(&p, &[a, b]);
    assert_eq!(
        err,
        "`sh` is installed by both app-misc/a-1 and app-misc/b-1: symlinks to `busybox` and `dash`"
    );
}

#[test]
fn collision_through_a_directory_symlink_names_the_entry_as_packaged() {
    let mut p = Packages::new();
    let layout = p.make("layout", |d| {
        d.file("usr/bin/sh", "busybox\n", 0o755).symlink("bin", "usr/bin");
    });
    let dash = p.make("dash", |d| {
        d.file("bin/sh", "dash\n", 0o755);
    });
    let err = refusal(&p, &[layout, dash]);
    assert_eq!(
        err,
        "`usr/bin/sh` is installed by both app-misc/layout-1 and app-misc/dash-1 (as `bin/sh`): \
         files with different contents"
    );
}

#[test]
fn a_directory_symlink_merged_after_the_directory_collides() {
    let mut p = Packages::new();
    let layout = p.make("layout", |d| {
        d.dir("usr/bin", 0o755).symlink("bin", "usr/bin");
    });
    let shell = p.make("shell", |d| {
        d.file("bin/sh", "sh\n", 0o755);
    });
    let err = refusal(&p, &[shell, layout]);
    assert_eq!(
        err,
        "`bin` is installed by both app-misc/shell-1 and app-misc/layout-1: \
         a directory in the first, a symlink in the second"
    );
}

#[test]
fn symlink_leading_outside_the_root_is_refused() {
    let mut p = Packages::new();
    let evil = p.make("evil", |d| {
        d.dir("usr", 0o755).symlink("usr/lib", "../../../../../tmp");
    });
    let lib = p.make("lib", |d| {
        d.file("usr/lib/libc.so", "libc", 0o755);
    });
    let err = refusal(&p, &[evil, lib]);
    assert_eq!(
        err,
        "app-misc/lib-1: entry `usr/lib` goes through `usr/lib`, a symlink to `../../../../../tmp`, \
         which leads outside the staging root"
    );
}

#[test]
fn files_below_an_escaping_symlink_are_refused_before_anything_is_written() {
    let mut p = Packages::new();
    let evil = p.make("evil", |d| {
        d.symlink("bin", "/../../escape");
    });
    let sh = p.make("sh", |d| {
        d.file("bin/sh", "sh", 0o755);
    });
    let err = refusal(&p, &[evil, sh]);
    assert!(
        err.starts_with("app-misc/sh-1: entry `bin` goes through `bin`, a symlink to `/../../escape`"),
        "{err}"
    );
    assert!(!p.dest().exists());
}

#[test]
fn symlink_loop_is_refused() {
    let mut p = Packages::new();
    let loops = p.make("loops", |d| {
        d.symlink("a", "b").symlink("b", "./a");
    });
    let below = p.make("below", |d| {
        d.file("a/x", "x", 0o644);
    });
    let err = refusal(&p, &[loops, below]);
    assert!(err.starts_with("app-misc/below-1: entry `a` goes through `"), "{err}");
    assert!(err.ends_with("which is part of a loop (more than 40 symlinks followed)"), "{err}");
}

#[test]
fn symlink_to_a_directory_no_package_provides_is_refused() {
    let mut p = Packages::new();
    let layout = p.make("layout", |d| {
        d.symlink("bin", "usr/bin");
    });
    let sh = p.make("sh", |d| {
        d.file("bin/sh", "sh", 0o755);
    });
    let err = refusal(&p, &[layout, sh]);
    assert!(
        err.ends_with(
            "a symlink to `usr/bin`, which leads to `usr`, which no package merged before provides"
        ),
        "{err}"
    );
}

#[test]
fn directory_where_another_package_has_a_file_is_refused() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("etc/conf", "a", 0o644).symlink("conf", "etc/conf");
    });
    let b = p.make("b", |d| {
        d.file("etc/conf/x", "b", 0o644);
    });
    let c = p.make("c", |d| {
        d.file("conf/y", "c", 0o644);
    });
    let err = refusal(&p, &[a.clone(), b]);
    assert_eq!(
        err,
        "`etc/conf` is installed by both app-misc/a-1 and app-misc/b-1: a file in the first, a directory in the second"
    );
    let err = refusal(&p, &[a, c]);
    assert_eq!(
        err,
        "app-misc/c-1: entry `conf` needs `etc/conf` to be a directory, but it is a file installed by \
         app-misc/a-1, reached through `conf`, a symlink to `etc/conf`"
    );
}

#[test]
fn a_package_cannot_take_another_packages_database_directory() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("etc/a", "a", 0o644);
    });
    let squatter = p.make("squatter", |d| {
        d.file("var/db/ingot/app-misc/a-1/CONTENTS", "lies", 0o644);
    });
    let err = refusal(&p, &[a, squatter]);
    assert_eq!(
        err,
        "`var/db/ingot/app-misc/a-1` is installed by both app-misc/squatter-1 and the package database \
         of app-misc/a-1: ingot writes its package database there"
    );
}

#[test]
fn the_same_package_twice_is_refused() {
    let mut p = Packages::new();
    let one = p.make("a", |d| {
        d.file("a", "1", 0o644);
    });
    let two = p.make("a", |d| {
        d.file("a", "2", 0o644);
    });
    let err = refusal(&p, &[one.clone(), two.clone()]);
    assert_eq!(
        err,
        format!(
            "app-misc/a-1 is listed twice (keys {} and {}); a staging root holds one of each",
            one.key, two.key
        )
    );
}

#[test]
fn names_that_cannot_be_database_directories_are_refused() {
    let mut p = Packages::new();
    let bad = p.make_with(
        "x",
        |d| {
            d.file("a", "1", 0o644);
        },
        |m| m.version = "..".into(),
    );
    let err = refusal(&p, &[bad]);
    assert_eq!(
        err,
        "app-misc/x-..: its name cannot be a package database directory: \
         category, name and version must each be one plain path component"
    );
    let noslash = p.make_with("y", |_| {}, |m| m.atom = "noslash".into());
    assert_eq!(
        refusal(&p, &[noslash]),
        "noslash-1: its name cannot be a package database directory: its atom is not `category/name`"
    );
}

#[test]
fn destination_with_contents_is_refused() {
    let p = Packages::new();
    std::fs::create_dir_all(p.dest().join("old")).unwrap();
    let err = merge(&[], &p.dest(), &Silent).unwrap_err();
    assert!(matches!(err, StageError::DestNotEmpty { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "the staging root {} is not a new or empty directory; remove it or choose another",
            p.dest().display()
        )
    );
    std::fs::remove_dir_all(p.dest()).unwrap();
    std::fs::write(p.dest(), "a file").unwrap();
    assert!(matches!(merge(&[], &p.dest(), &Silent), Err(StageError::DestNotEmpty { .. })));
    let below = p.dest().join("root");
    let err = merge(&[], &below, &Silent).unwrap_err().to_string();
    assert!(err.contains(&below.display().to_string()) && err.contains("Not a directory"), "{err}");
}

#[test]
fn an_empty_destination_is_used() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("a", "1", 0o644);
    });
    std::fs::create_dir(p.dest()).unwrap();
    let root = merge(&[a], &p.dest(), &Silent).unwrap();
    assert!(root.dir.join("a").is_file());
}

#[test]
fn a_corrupted_archive_is_refused_naming_the_package() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        for i in 0..50 {
            d.file(&format!("share/{i}"), &format!("{i}").repeat(1000), 0o644);
        }
    });
    let bytes = std::fs::read(&a.archive).unwrap();
    std::fs::write(&a.archive, &bytes[..bytes.len() / 2]).unwrap();
    let rec = Recorder::default();
    let err = merge(std::slice::from_ref(&a), &p.dest(), &rec).unwrap_err().to_string();
    let package = format!("package app-misc/a-1 ({})", &a.key.to_string()[..12]);
    assert!(err.starts_with(&package), "{err}");
    assert!(err.contains("corrupt or truncated"), "{err}");
    let failed =
        rec.events().into_iter().any(|e| matches!(e, Event::TaskFinished { outcome: Outcome::Failed, .. }));
    assert!(failed);
}

#[test]
fn an_archive_that_disagrees_with_its_manifest_is_refused() {
    let mut p = Packages::new();
    let a = p.make("a", |d| {
        d.file("etc/conf", "good\n", 0o644);
    });
    let forged = p.make("forged", |d| {
        d.file("etc/conf", "evil\n", 0o644);
    });
    std::fs::copy(&forged.archive, &a.archive).unwrap();
    let err = refusal(&p, &[a]);
    assert!(err.contains("entry `etc/conf`: content differs"), "{err}");

    let b = p.make("b", |d| {
        d.file("etc/conf", "good\n", 0o644);
    });
    let typed = p.make("typed", |d| {
        d.dir("etc/conf", 0o755);
    });
    std::fs::copy(&typed.archive, &b.archive).unwrap();
    let err = merge(&[b], &p.tmp.path().join("second"), &Silent).unwrap_err().to_string();
    assert!(err.contains("entry `etc/conf`: a directory in the archive but a file in the manifest"), "{err}");
    assert!(!p.tmp.path().join("second/etc/conf").exists(), "checked before it is written");
}
