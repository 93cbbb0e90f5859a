//! The shared signed cache through the CLI, against a real nginx on a loopback port: one store
//! builds and pushes, a second, empty store builds the same profile with the cache as substituter
//! and builds nothing; tampered archives and signatures on the server are refused and rebuilt.

mod common;
#[path = "common/nginx.rs"]
mod nginx;

use common::pkgtree::{BuildResult, standard_tree};
use std::path::Path;

const ALL: usize = 4;

fn cmd(t: &common::pkgtree::PkgTree, store: &Path) -> assert_cmd::Command {
    t.ingot_with_store(store)
}

fn substitute_build(t: &common::pkgtree::PkgTree, store: &Path, url: &str, key: &Path) -> BuildResult {
    let out = cmd(t, store)
        .args(["build", "p", "--no-image", "--json", "-j2", "--substituters", url, "--trusted-key"])
        .arg(key)
        .output()
        .unwrap();
    BuildResult::from(out)
}

#[test]
fn an_empty_store_substitutes_everything_and_refuses_tampered_packages() {
    let t = standard_tree();
    let server = nginx::Nginx::start();
    let keys = t.path("keys");
    let first = t.build("p");
    assert!(first.ok, "{}", first.stderr);
    let keygen = t.ingot().args(["cache", "keygen", "team-cache-1", "--out"]).arg(&keys).output().unwrap();
    assert!(keygen.status.success(), "{}", String::from_utf8_lossy(&keygen.stderr));
    let push = t
        .ingot()
        .args(["cache", "push", &server.url, "--key"])
        .arg(keys.join("team-cache-1.sec"))
        .arg("p")
        .output()
        .unwrap();
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    assert!(
        String::from_utf8_lossy(&push.stdout).contains(&format!("pushed {ALL} packages")),
        "{}",
        String::from_utf8_lossy(&push.stdout)
    );
    assert!(server.file("index/p.json").is_file());

    // A second machine: nothing built, everything substituted from the cache.
    let pubkey = keys.join("team-cache-1.pub");
    let second = substitute_build(&t, &t.path("store2"), &server.url, &pubkey);
    assert!(second.ok, "{}", second.stderr);
    assert!(second.list("built").is_empty(), "{:?}", second.summary);
    assert_eq!(second.summary["substituted"].as_array().unwrap().len(), ALL);
    assert!(
        second.summary["substituted"].as_array().unwrap().iter().all(|s| s["from"] == server.url.as_str())
    );
    let human = cmd(&t, &t.path("store2b"))
        .args(["build", "p", "--no-image", "--substituters", &server.url, "--trusted-key"])
        .arg(&pubkey)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&human.stdout)
            .contains(&format!("{ALL} packages substituted: {ALL} from {}", server.url)),
        "{}",
        String::from_utf8_lossy(&human.stdout)
    );

    // Tamper with one archive and one signature on the server: both refused and built locally.
    let pkgs = server.file("pkgs");
    let mut sigs: Vec<std::path::PathBuf> =
        walk(&pkgs).into_iter().filter(|p| p.extension().is_some_and(|e| e == "sig")).collect();
    sigs.sort();
    let (a, b) = (&sigs[0], &sigs[1]);
    let archive = a.with_extension("tar.zst");
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&archive, bytes).unwrap();
    let sig = std::fs::read_to_string(b).unwrap();
    let (name, sig64) = sig.trim().split_once(':').unwrap();
    let flipped: String = sig64.chars().rev().collect();
    std::fs::write(b, format!("{name}:{flipped}\n")).unwrap();
    let third = substitute_build(&t, &t.path("store3"), &server.url, &pubkey);
    assert!(third.ok, "{}", third.stderr);
    assert_eq!(third.list("built").len(), 2, "{:?}", third.summary);
    assert_eq!(third.summary["substituted"].as_array().unwrap().len(), ALL - 2);
    let warnings: Vec<&serde_json::Value> =
        third.events.iter().filter(|e| e["event"] == "message" && e["level"] == "warning").collect();
    assert!(warnings.iter().any(|w| w["text"].as_str().unwrap().contains("sha256")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w["text"].as_str().unwrap().contains("signature")), "{warnings:?}");
    let verify = cmd(&t, &t.path("store3")).args(["cache", "verify"]).output().unwrap();
    assert!(verify.status.success());
}

#[test]
fn packages_signed_by_an_untrusted_key_are_built_locally() {
    let t = standard_tree();
    let server = nginx::Nginx::start();
    assert!(t.build("p").ok);
    let keys = t.path("keys");
    for name in ["signer", "other"] {
        assert!(
            t.ingot().args(["cache", "keygen", name, "--out"]).arg(&keys).output().unwrap().status.success()
        );
    }
    assert!(
        t.ingot()
            .args(["cache", "push", &server.url, "--key"])
            .arg(keys.join("signer.sec"))
            .output()
            .unwrap()
            .status
            .success()
    );
    let r = substitute_build(&t, &t.path("store2"), &server.url, &keys.join("other.pub"));
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.list("built").len(), ALL);
    assert!(
        r.events
            .iter()
            .any(|e| e["event"] == "message" && e["text"].as_str().unwrap_or("").contains("signer")),
        "{:?}",
        r.events
    );
}

#[test]
fn substituters_without_a_trusted_key_are_an_error() {
    let t = standard_tree();
    let out = t
        .ingot()
        .args(["build", "p", "--no-image", "--substituters", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("trusted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}
