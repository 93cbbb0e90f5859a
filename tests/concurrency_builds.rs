//! Two `ingot build` processes started together on one store, with overlapping plans (two profiles
//! sharing packages, and one profile twice): both succeed, each package is built by exactly one of
//! them and reused by the other, shared sources are downloaded into one distfiles directory by both
//! at once without harm, and the store verifies clean afterwards.

mod common;
#[path = "common/slowhttp.rs"]
mod slowhttp;

use common::pkgtree::{BuildResult, PkgTree};
use slowhttp::SlowServer;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// Rounds per test, each from an empty store, for more interleavings.
const ROUNDS: usize = 3;

/// `dev-libs/shared` (a downloaded tarball, slow phases) is a build dependency of `app-misc/left`
/// and `app-misc/right`; `app-misc/common` stands alone. Profile `l` wants left and common,
/// `r` right and common.
fn tree(server: &SlowServer, mirror: &Path) -> PkgTree {
    let t = PkgTree::new();
    let data: String = (0..200_000).map(|i| format!("{i}\n")).collect();
    let sha = t.tarball("shared-1.0.tar.gz", "shared-1.0", &[("data.txt", &data)]);
    std::fs::rename(t.path("distfiles/shared-1.0.tar.gz"), mirror.join("shared-1.0.tar.gz")).unwrap();
    t.recipe(
        "dev-libs/shared",
        "1.0",
        &format!(
            "description = \"Shared\"\n\n[[source]]\nurls = [\"{}\"]\nsha256 = \"{sha}\"\n\n[build]\nsystem = \"none\"\ncompile = 'sleep 0.5'\ninstall = 'install -D -m644 data.txt \"$DESTDIR/usr/share/shared/data.txt\"'\n",
            server.url("shared-1.0.tar.gz")
        ),
    );
    for side in ["left", "right"] {
        t.recipe(
            &format!("app-misc/{side}"),
            "1.0",
            &format!(
                "description = \"Uses shared\"\n\n[depend]\nbuild = \"dev-libs/shared\"\n\n[build]\nsystem = \"none\"\ncompile = 'sleep 0.2'\ninstall = 'mkdir -p \"$DESTDIR/usr/share/{side}\" && wc -l < \"$SYSROOT/usr/share/shared/data.txt\" > \"$DESTDIR/usr/share/{side}/lines\"'\n"
            ),
        );
    }
    t.recipe(
        "app-misc/common",
        "1.0",
        "description = \"In both\"\n\n[build]\nsystem = \"none\"\ncompile = 'sleep 0.3'\ninstall = 'mkdir -p \"$DESTDIR/usr/share/common\" && echo hi > \"$DESTDIR/usr/share/common/hi\"'\n",
    );
    t.profile("l", "world = [\"app-misc/left\", \"app-misc/common\"]\n");
    t.profile("r", "world = [\"app-misc/right\", \"app-misc/common\"]\n");
    t
}

/// Starts `ingot build PROFILE --no-image --json -j2` for each profile at once on one store (and
/// one empty distfiles directory); their results once both are done.
fn build_at_once(t: &PkgTree, store: &Path, distdir: &Path, profiles: [&str; 2]) -> Vec<BuildResult> {
    let children: Vec<_> = profiles
        .iter()
        .map(|p| {
            t.ingot_args(&mut Command::new(env!("CARGO_BIN_EXE_ingot")), store, distdir)
                .args(["build", p, "--no-image", "--json", "-j2"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(|c| BuildResult::from(c.wait_with_output().unwrap())).collect()
}

/// Runs both builds `ROUNDS` times from an empty store and checks the outcome of each round.
fn check_rounds(profiles: [&str; 2], plans: [&[&str]; 2]) {
    let mirror = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let server = SlowServer::start(mirror.path(), 4 << 20);
    let t = tree(&server, mirror.path());
    for round in 0..ROUNDS {
        let store = t.path(&format!("store-{round}"));
        let distdir = t.path(&format!("distfiles-{round}"));
        let results = build_at_once(&t, &store, &distdir, profiles);
        let mut times_built: BTreeMap<String, usize> = BTreeMap::new();
        for (r, plan) in results.iter().zip(plans) {
            assert!(r.ok, "round {round}: {}", r.stderr);
            for p in r.list("built") {
                *times_built.entry(p).or_default() += 1;
            }
            let mut seen: Vec<String> = r.list("built").into_iter().chain(r.list("reused")).collect();
            seen.sort();
            assert_eq!(
                seen,
                plan.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "round {round}: {:?}",
                r.summary
            );
        }
        let mut all: Vec<&str> = plans.concat();
        all.sort();
        all.dedup();
        assert_eq!(times_built.keys().map(String::as_str).collect::<Vec<_>>(), all, "round {round}");
        assert!(
            times_built.values().all(|&n| n == 1),
            "round {round}: built more than once: {times_built:?}"
        );
        let ls = t.ingot_with_store(&store).args(["cache", "ls", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
        assert_eq!(v["packages"].as_array().unwrap().len(), all.len(), "round {round}: {v}");
        let verify = t.ingot_with_store(&store).args(["cache", "verify"]).output().unwrap();
        assert!(verify.status.success(), "round {round}: {}", String::from_utf8_lossy(&verify.stderr));
        let data = std::fs::read(distdir.join("shared-1.0.tar.gz")).unwrap();
        assert_eq!(data, std::fs::read(mirror.path().join("shared-1.0.tar.gz")).unwrap());
        let others: Vec<_> = std::fs::read_dir(&distdir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "shared-1.0.tar.gz")
            .collect();
        assert!(others.is_empty(), "round {round}: distfiles also holds {others:?}");
    }
}

#[test]
fn two_profiles_sharing_packages_built_at_once_build_each_shared_package_once() {
    check_rounds(
        ["l", "r"],
        [
            &["app-misc/common-1.0", "app-misc/left-1.0", "dev-libs/shared-1.0"],
            &["app-misc/common-1.0", "app-misc/right-1.0", "dev-libs/shared-1.0"],
        ],
    );
}

#[test]
fn one_profile_built_twice_at_once_builds_each_package_once() {
    let plan: &[&str] = &["app-misc/common-1.0", "app-misc/left-1.0", "dev-libs/shared-1.0"];
    check_rounds(["l", "l"], [plan, plan]);
}
