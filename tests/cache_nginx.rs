//! The shared cache against a real HTTP server: nginx with WebDAV PUT on a loopback port. One
//! store pushes to it; a second, empty store substitutes every package and builds none; archives
//! and signatures tampered with on the server are refused and not stored.

#[path = "common/nginx.rs"]
mod nginx;

use std::path::Path;

use ingot::cache::{
    self, Problem, PublicKey, PushRequest, Remote, SecretKey, SignatureProblem, Substituted, Substituters,
};
use ingot::key::BuildKey;
use ingot::report::{Event, Level, Recorder, Silent};
use ingot::store::{PackageMeta, Store};
use nginx::Nginx;

const PACKAGES: u8 = 6;

fn key(n: u8) -> BuildKey {
    BuildKey::from_bytes([n; 32])
}

fn plan() -> Vec<BuildKey> {
    (1..=PACKAGES).map(key).collect()
}

/// A store holding `PACKAGES` packages, each with a text file and some incompressible bytes, and
/// the key pair that signs them.
struct Builder {
    dir: tempfile::TempDir,
    store: Store,
    secret: SecretKey,
    public: PublicKey,
}

impl Builder {
    fn new() -> Builder {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store-a")).unwrap();
        for i in 1..=PACKAGES {
            let dest = dir.path().join(format!("destdir-{i}"));
            std::fs::create_dir_all(dest.join("usr/bin")).unwrap();
            std::fs::create_dir_all(dest.join("usr/share/tool")).unwrap();
            std::fs::write(dest.join("usr/bin/tool"), format!("#!/bin/sh\necho tool {i}\n")).unwrap();
            std::fs::write(dest.join("usr/share/tool/data"), noise(i, 300 << 10)).unwrap();
            let meta = PackageMeta {
                atom: format!("app-misc/tool{i}"),
                version: "1.0".into(),
                ..Default::default()
            };
            store.insert(&key(i), &dest, meta).unwrap();
        }
        let files = cache::keygen(&dir.path().join("keys"), "loopback-cache-1").unwrap();
        let secret = SecretKey::read(&files.secret).unwrap();
        let public = PublicKey::read(&files.public).unwrap();
        Builder { dir, store, secret, public }
    }

    fn push_to(&self, url: &str) -> cache::PushReport {
        let remote = Remote::parse(url).unwrap();
        let plan = plan();
        let request = PushRequest { only: None, index: Some(("loopback-amd64", &plan)) };
        cache::push(&self.store, &remote, &self.secret, request, &Silent).unwrap()
    }

    fn empty_store(&self, name: &str) -> Store {
        Store::open(&self.dir.path().join(name)).unwrap()
    }
}

/// Incompressible bytes, different per package (xorshift).
fn noise(seed: u8, len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Substitutes every key of the plan from several threads at once, as a parallel build would.
fn substitute_plan(subs: &Substituters, store: &Store, reporter: &Recorder) -> Vec<(BuildKey, Substituted)> {
    let plan = plan();
    std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .chunks(2)
            .map(|chunk| {
                s.spawn(move || {
                    chunk.iter().map(|k| (*k, subs.fetch(store, k, reporter).unwrap())).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn remote_path(root: &Path, rel: &str) -> std::path::PathBuf {
    root.join(rel)
}

#[test]
fn push_to_nginx_then_an_empty_store_substitutes_everything_and_builds_nothing() {
    let server = Nginx::start();
    let builder = Builder::new();
    let report = builder.push_to(&server.url);
    assert_eq!(report.uploaded.len(), PACKAGES as usize, "{report:?}");
    assert_eq!(report.index, Some(format!("{}/index/loopback-amd64.json", server.url)));
    for k in plan() {
        for ext in ["tar.zst", "toml", "sig"] {
            let file = remote_path(&server.root, &format!("pkgs/{}/{k}.{ext}", k.prefix()));
            assert!(file.is_file(), "{} missing; nginx log:\n{}", file.display(), server.error_log());
        }
    }

    // A second push finds every signature there (HEAD) and sends nothing.
    let again = builder.push_to(&server.url);
    assert_eq!((again.uploaded.len(), again.present.len()), (0, PACKAGES as usize));

    let store = builder.empty_store("store-b");
    let subs = Substituters::new(std::slice::from_ref(&server.url), vec![builder.public.clone()]).unwrap();
    let recorder = Recorder::default();
    let results = substitute_plan(&subs, &store, &recorder);
    let mut built = 0;
    for (k, result) in &results {
        match result {
            Substituted::From { remote, signer, package } => {
                assert_eq!((remote.as_str(), signer.as_str()), (server.url.as_str(), "loopback-cache-1"));
                assert_eq!(package.key, *k);
            }
            other => {
                built += 1;
                eprintln!("{k} would be built: {other:?}");
            }
        }
    }
    assert_eq!(built, 0, "everything is substituted, nothing built");
    let verified = store.verify_all().unwrap();
    assert!(verified.is_clean() && verified.ok.len() == PACKAGES as usize, "{verified:?}");
    for k in plan() {
        let original = builder.store.get(&k).unwrap().unwrap();
        let copy = store.get(&k).unwrap().unwrap();
        assert_eq!(copy.manifest, original.manifest);
        assert_eq!(std::fs::read(&copy.archive).unwrap(), std::fs::read(&original.archive).unwrap());
    }
    let root = builder.dir.path().join("root");
    store.get(&key(3)).unwrap().unwrap().unpack(&root).unwrap();
    assert_eq!(std::fs::read(root.join("usr/share/tool/data")).unwrap(), noise(3, 300 << 10));
    assert!(recorder.events().iter().all(|e| !matches!(e, Event::Message { level: Level::Warning, .. })));
}

#[test]
fn archive_and_signature_tampered_with_on_the_server_are_refused_and_not_stored() {
    let server = Nginx::start();
    let builder = Builder::new();
    builder.push_to(&server.url);
    let archive = remote_path(&server.root, &format!("pkgs/{}/{}.tar.zst", key(1).prefix(), key(1)));
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let sig = remote_path(&server.root, &format!("pkgs/{}/{}.sig", key(2).prefix(), key(2)));
    let forged = cache::sign(&builder.secret, b"format = 1\nsomething else\n");
    std::fs::write(&sig, forged).unwrap();

    let store = builder.empty_store("store-b");
    let subs = Substituters::new(std::slice::from_ref(&server.url), vec![builder.public.clone()]).unwrap();
    let recorder = Recorder::default();
    let results = substitute_plan(&subs, &store, &recorder);
    let refusals = |k: BuildKey| match &results.iter().find(|(r, _)| *r == k).unwrap().1 {
        Substituted::NotFound { refused } => refused.clone(),
        other => panic!("{k}: expected a refusal, got {other:?}"),
    };
    let archive_refusal = refusals(key(1));
    assert!(
        matches!(&archive_refusal[0].problem, Problem::Package(p) if p.contains("sha256")),
        "{archive_refusal:?}"
    );
    assert_eq!(
        refusals(key(2))[0].problem,
        Problem::Signature(SignatureProblem::BadSignature { signer: "loopback-cache-1".into() })
    );
    assert_eq!(store.get(&key(1)).unwrap(), None);
    assert_eq!(store.get(&key(2)).unwrap(), None);
    let others = results.iter().filter(|(_, r)| matches!(r, Substituted::From { .. })).count();
    assert_eq!(others, PACKAGES as usize - 2, "the untouched packages still substitute");

    let warnings = recorder.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for k in [key(1), key(2)] {
        let prefix = format!("substituter {} offered {k}, refused: ", server.url);
        assert!(warnings.iter().any(|w| w.starts_with(&prefix)), "{prefix} in {warnings:?}");
    }
}

#[test]
fn a_refused_package_is_taken_from_the_next_substituter() {
    let server = Nginx::start();
    let builder = Builder::new();
    builder.push_to(&server.url);
    let mirror = builder.dir.path().join("mirror");
    builder.push_to(&mirror.display().to_string());
    let archive = remote_path(&server.root, &format!("pkgs/{}/{}.tar.zst", key(4).prefix(), key(4)));
    std::fs::write(&archive, b"truncated").unwrap();
    let store = builder.empty_store("store-b");
    let remotes = [server.url.clone(), mirror.display().to_string()];
    let subs = Substituters::new(&remotes, vec![builder.public.clone()]).unwrap();
    let results = substitute_plan(&subs, &store, &Recorder::default());
    for (k, result) in results {
        let Substituted::From { remote, .. } = result else { panic!("{k}: {result:?}") };
        let expected = if k == key(4) { &remotes[1] } else { &remotes[0] };
        assert_eq!(&remote, expected, "{k}");
    }
}

#[test]
fn profile_index_is_served_by_nginx() {
    let server = Nginx::start();
    let builder = Builder::new();
    builder.push_to(&server.url);
    let url = format!("{}/index/loopback-amd64.json", server.url);
    let body = ureq::get(&url).call().unwrap().body_mut().read_to_vec().unwrap();
    let index = cache::ProfileIndex::parse(&body).unwrap();
    assert_eq!(index.profile, "loopback-amd64");
    assert_eq!(index.keys, plan());
}

#[test]
fn pushing_to_a_server_without_put_says_how_to_enable_it() {
    let server = Nginx::start_read_only();
    let builder = Builder::new();
    let remote = Remote::parse(&server.url).unwrap();
    let err =
        cache::push(&builder.store, &remote, &builder.secret, PushRequest::default(), &Silent).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with(&format!("upload failed: {}/pkgs/", server.url)), "{text}");
    assert!(text.contains("HTTP status 405") && text.contains("dav_methods PUT;"), "{text}");
}
