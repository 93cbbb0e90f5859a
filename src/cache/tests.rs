//! Push and substitution end to end through directory remotes (the HTTP path is covered by
//! tests/cache_nginx.rs against a real nginx).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::key::BuildKey;
use crate::report::{Event, Outcome, Recorder, Silent};
use crate::store::{PackageMeta, Store};

fn key(n: u8) -> BuildKey {
    BuildKey::from_bytes([n; 32])
}

struct Fixture {
    dir: tempfile::TempDir,
    source: Store,
    secret: SecretKey,
}

impl Fixture {
    /// A store holding packages `1..=n`, and a signing key.
    fn new(n: u8) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let source = Store::open(&dir.path().join("source")).unwrap();
        for i in 1..=n {
            let dest = dir.path().join(format!("destdir-{i}"));
            std::fs::create_dir_all(dest.join("usr/bin")).unwrap();
            std::fs::write(dest.join("usr/bin/tool"), format!("#!/bin/sh\necho tool {i}\n")).unwrap();
            let meta = PackageMeta {
                atom: format!("app-misc/tool{i}"),
                version: "1.0".into(),
                ..PackageMeta::default()
            };
            source.insert(&key(i), &dest, meta).unwrap();
        }
        Fixture { dir, source, secret: generate("test-cache-1").unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Pushes everything to the directory remote `name` and returns it.
    fn pushed(&self, name: &str) -> Remote {
        let remote = Remote::Dir(self.path(name));
        push(&self.source, &remote, &self.secret, PushRequest::default(), &Silent).unwrap();
        remote
    }

    fn empty_store(&self, name: &str) -> Store {
        Store::open(&self.path(name)).unwrap()
    }

    fn substituters(&self, remotes: &[&Path]) -> Substituters {
        let remotes: Vec<String> = remotes.iter().map(|p| p.display().to_string()).collect();
        Substituters::new(&remotes, vec![self.secret.public()]).unwrap()
    }
}

fn remote_file(remote: &Remote, rel: &str) -> PathBuf {
    match remote {
        Remote::Dir(dir) => dir.join(rel),
        Remote::Http(_) => unreachable!("directory remotes only here"),
    }
}

fn refused(result: Substituted) -> Vec<Refusal> {
    match result {
        Substituted::NotFound { refused } => refused,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn push_to_a_directory_writes_archive_manifest_and_signature_per_package() {
    let f = Fixture::new(2);
    let remote = Remote::Dir(f.path("remote"));
    let report = push(&f.source, &remote, &f.secret, PushRequest::default(), &Silent).unwrap();
    assert_eq!(report.uploaded, [key(1), key(2)]);
    assert!(report.present.is_empty() && report.missing.is_empty());
    for k in [key(1), key(2)] {
        let manifest = std::fs::read(remote_file(&remote, &remote::manifest_rel(&k))).unwrap();
        assert_eq!(manifest, std::fs::read(f.source.manifest_path(&k)).unwrap(), "exact manifest bytes");
        let archive = std::fs::read(remote_file(&remote, &remote::archive_rel(&k))).unwrap();
        assert_eq!(archive, std::fs::read(f.source.archive_path(&k)).unwrap());
        let sig = std::fs::read(remote_file(&remote, &remote::sig_rel(&k))).unwrap();
        assert_eq!(verify(&[f.secret.public()], &manifest, &sig).unwrap().name(), "test-cache-1");
    }
    let archives: u64 =
        [key(1), key(2)].iter().map(|k| f.source.get(k).unwrap().unwrap().manifest.archive_size).sum();
    assert!(report.bytes > archives, "{} > {archives}", report.bytes);
}

#[test]
fn push_skips_packages_already_signed_on_the_remote() {
    let f = Fixture::new(2);
    let remote = f.pushed("remote");
    let sig = remote_file(&remote, &remote::sig_rel(&key(1)));
    let before = std::fs::read(&sig).unwrap();
    // An interrupted push left key 2 without its commit point: it is pushed again.
    std::fs::remove_file(remote_file(&remote, &remote::sig_rel(&key(2)))).unwrap();
    let recorder = Recorder::default();
    let report = push(&f.source, &remote, &f.secret, PushRequest::default(), &recorder).unwrap();
    assert_eq!(report.present, [key(1)]);
    assert_eq!(report.uploaded, [key(2)]);
    assert_eq!(std::fs::read(&sig).unwrap(), before);
    let uploaded = recorder
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::TaskFinished { outcome: Outcome::Uploaded, .. }));
    assert_eq!(uploaded.count(), 1);
}

#[test]
fn push_of_a_plan_sends_only_its_packages_reports_missing_ones_and_writes_the_index() {
    let f = Fixture::new(3);
    let remote = Remote::Dir(f.path("remote"));
    let plan = [key(3), key(1), key(9), key(1)];
    let request = PushRequest { only: Some(&plan), index: Some(("amd64-server", &plan)) };
    let report = push(&f.source, &remote, &f.secret, request, &Silent).unwrap();
    assert_eq!(report.uploaded, [key(3), key(1)]);
    assert_eq!(report.missing, [key(9)]);
    assert!(!remote_file(&remote, &remote::sig_rel(&key(2))).exists());
    let index_path = remote_file(&remote, "index/amd64-server.json");
    assert_eq!(report.index, Some(index_path.display().to_string()));
    let index = ProfileIndex::parse(&std::fs::read(&index_path).unwrap()).unwrap();
    assert_eq!(index.profile, "amd64-server");
    assert_eq!(index.keys, [key(1), key(3), key(9)], "the index lists the whole plan");
}

#[test]
fn push_with_a_bad_profile_name_uploads_nothing() {
    let f = Fixture::new(1);
    let remote = Remote::Dir(f.path("remote"));
    let request = PushRequest { only: None, index: Some(("../escape", &[])) };
    let err = push(&f.source, &remote, &f.secret, request, &Silent).unwrap_err();
    assert!(err.to_string().contains("`../escape` cannot name a profile index"), "{err}");
    assert!(!f.path("remote").exists());
}

#[test]
fn push_failure_names_the_destination() {
    let f = Fixture::new(1);
    std::fs::write(f.path("remote"), b"a file, not a directory").unwrap();
    let remote = Remote::Dir(f.path("remote"));
    let err = push(&f.source, &remote, &f.secret, PushRequest::default(), &Silent).unwrap_err().to_string();
    assert!(
        err.starts_with("upload failed: ") && err.contains(&f.path("remote").display().to_string()),
        "{err}"
    );
}

#[test]
fn everything_pushed_is_substituted_into_an_empty_store_verified_and_usable() {
    let f = Fixture::new(3);
    f.pushed("remote");
    let store = f.empty_store("second");
    let subs = f.substituters(&[&f.path("remote")]);
    for i in 1..=3 {
        let recorder = Recorder::default();
        let got = subs.fetch(&store, &key(i), &recorder).unwrap();
        let Substituted::From { remote, signer, package } = got else { panic!("{got:?}") };
        assert_eq!((remote, signer.as_str()), (f.path("remote").display().to_string(), "test-cache-1"));
        assert_eq!(store.get(&key(i)).unwrap(), Some(package.clone()));
        let root = f.path(&format!("root-{i}"));
        package.unpack(&root).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("usr/bin/tool")).unwrap(),
            format!("#!/bin/sh\necho tool {i}\n")
        );
        let events = recorder.events();
        let id = format!("substitute:{}", key(i));
        assert!(
            matches!(&events[0], Event::TaskStarted { id: got, what } if *got == id && what.starts_with(&format!("app-misc/tool{i}-1.0 from "))),
            "{events:?}"
        );
        assert!(
            events.iter().any(|e| matches!(e, Event::TaskBytes { done, total: Some(t), .. } if done == t)),
            "{events:?}"
        );
        assert!(
            matches!(events.last(), Some(Event::TaskFinished { outcome: Outcome::Substituted, .. })),
            "{events:?}"
        );
    }
    assert!(store.verify_all().unwrap().is_clean());
}

#[test]
fn package_already_in_the_store_is_not_downloaded() {
    let f = Fixture::new(1);
    let subs = f.substituters(&[&f.path("nowhere")]);
    let got = subs.fetch(&f.source, &key(1), &Silent).unwrap();
    assert!(matches!(got, Substituted::Present(p) if p.key == key(1)));
}

#[test]
fn package_no_remote_has_is_not_found_without_complaint() {
    let f = Fixture::new(1);
    f.pushed("remote");
    let store = f.empty_store("second");
    let recorder = Recorder::default();
    let got = f.substituters(&[&f.path("remote")]).fetch(&store, &key(7), &recorder).unwrap();
    assert!(refused(got).is_empty());
    assert!(recorder.events().is_empty(), "{:?}", recorder.events());
}

#[test]
fn tampered_archive_is_refused_reported_and_not_stored() {
    let f = Fixture::new(1);
    let remote = f.pushed("remote");
    let archive = remote_file(&remote, &remote::archive_rel(&key(1)));
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&archive, bytes).unwrap();
    let store = f.empty_store("second");
    let recorder = Recorder::default();
    let got = f.substituters(&[&f.path("remote")]).fetch(&store, &key(1), &recorder).unwrap();
    let refused = refused(got);
    assert_eq!(refused.len(), 1);
    let text = refused[0].to_string();
    assert!(
        text.starts_with(&format!(
            "substituter {} offered {}, refused: its archive is ",
            f.path("remote").display(),
            key(1)
        )),
        "{text}"
    );
    assert!(text.contains("its manifest says"), "{text}");
    assert_eq!(recorder.warnings(), [text]);
    assert_eq!(store.get(&key(1)).unwrap(), None);
    assert!(std::fs::read_dir(store.tmp_dir()).unwrap().next().is_none(), "no leftovers in tmp/");
    assert!(matches!(recorder.events().last(), Some(Event::Message { .. })));
    assert!(
        recorder.events().iter().any(|e| matches!(e, Event::TaskFinished { outcome: Outcome::Failed, .. }))
    );
}

#[test]
fn tampered_signature_is_refused() {
    let f = Fixture::new(1);
    let remote = f.pushed("remote");
    let sig = remote_file(&remote, &remote::sig_rel(&key(1)));
    let other_manifest = b"format = 1\n";
    std::fs::write(&sig, sign(&f.secret, other_manifest)).unwrap();
    let store = f.empty_store("second");
    let got = f.substituters(&[&f.path("remote")]).fetch(&store, &key(1), &Silent).unwrap();
    let refused = refused(got);
    assert_eq!(
        refused[0].problem,
        Problem::Signature(SignatureProblem::BadSignature { signer: "test-cache-1".into() })
    );
    assert_eq!(store.get(&key(1)).unwrap(), None);
}

#[test]
fn tampered_manifest_is_refused_by_its_signature() {
    let f = Fixture::new(1);
    let remote = f.pushed("remote");
    let manifest = remote_file(&remote, &remote::manifest_rel(&key(1)));
    let text = std::fs::read_to_string(&manifest).unwrap().replace("tool1", "evil1");
    std::fs::write(&manifest, text).unwrap();
    let store = f.empty_store("second");
    let got = f.substituters(&[&f.path("remote")]).fetch(&store, &key(1), &Silent).unwrap();
    assert!(matches!(&refused(got)[0].problem, Problem::Signature(SignatureProblem::BadSignature { .. })));
}

#[test]
fn unsigned_package_counts_as_absent() {
    let f = Fixture::new(1);
    let remote = f.pushed("remote");
    std::fs::remove_file(remote_file(&remote, &remote::sig_rel(&key(1)))).unwrap();
    let store = f.empty_store("second");
    let got = f.substituters(&[&f.path("remote")]).fetch(&store, &key(1), &Silent).unwrap();
    assert!(refused(got).is_empty());
    assert_eq!(store.get(&key(1)).unwrap(), None);
}

#[test]
fn package_signed_by_an_untrusted_key_is_refused_with_the_signer_named() {
    let f = Fixture::new(1);
    f.pushed("remote");
    let store = f.empty_store("second");
    let trusted = vec![generate("someone-else").unwrap().public()];
    let subs = Substituters::new(&[f.path("remote").display().to_string()], trusted).unwrap();
    let refused = refused(subs.fetch(&store, &key(1), &Silent).unwrap());
    assert!(refused[0].to_string().ends_with("it is signed only by `test-cache-1`, which no trusted key names (add the signer's .pub with --trusted-key)"), "{}", refused[0]);
}

#[test]
fn signed_manifest_of_another_package_is_refused() {
    let f = Fixture::new(2);
    let remote = f.pushed("remote");
    // Serve key 1's validly signed package under key 2's name.
    for rel in [remote::archive_rel, remote::manifest_rel, remote::sig_rel] {
        std::fs::copy(remote_file(&remote, &rel(&key(1))), remote_file(&remote, &rel(&key(2)))).unwrap();
    }
    let store = f.empty_store("second");
    let refused = refused(f.substituters(&[&f.path("remote")]).fetch(&store, &key(2), &Silent).unwrap());
    assert_eq!(refused[0].problem, Problem::Package(format!("its manifest is for key {}", key(1))));
}

#[test]
fn signature_without_manifest_or_archive_is_refused() {
    let f = Fixture::new(2);
    let remote = f.pushed("remote");
    std::fs::remove_file(remote_file(&remote, &remote::manifest_rel(&key(1)))).unwrap();
    std::fs::remove_file(remote_file(&remote, &remote::archive_rel(&key(2)))).unwrap();
    let store = f.empty_store("second");
    let subs = f.substituters(&[&f.path("remote")]);
    assert_eq!(refused(subs.fetch(&store, &key(1), &Silent).unwrap())[0].problem, Problem::NoManifest);
    assert_eq!(refused(subs.fetch(&store, &key(2), &Silent).unwrap())[0].problem, Problem::NoArchive);
    assert_eq!(Problem::NoArchive.to_string(), "it has a signed manifest but no archive");
}

#[test]
fn archive_that_cannot_be_read_is_a_transfer_failure_naming_it() {
    let f = Fixture::new(1);
    let remote = f.pushed("remote");
    let archive = remote_file(&remote, &remote::archive_rel(&key(1)));
    std::fs::remove_file(&archive).unwrap();
    std::fs::create_dir(&archive).unwrap();
    let store = f.empty_store("second");
    let refused = refused(f.substituters(&[&f.path("remote")]).fetch(&store, &key(1), &Silent).unwrap());
    let text = refused[0].to_string();
    let prefix = format!(
        "substituter {} failed to send {}: {}: ",
        f.path("remote").display(),
        key(1),
        archive.display()
    );
    assert!(text.starts_with(&prefix), "{text}");
    assert!(text.contains("reading its archive failed after 0 bytes"), "{text}");
}

#[test]
fn corrupt_local_package_is_not_pushed() {
    let f = Fixture::new(1);
    std::fs::write(f.source.archive_path(&key(1)), b"bit rot").unwrap();
    let remote = Remote::Dir(f.path("remote"));
    let report = push(&f.source, &remote, &f.secret, PushRequest::default(), &Silent).unwrap();
    assert_eq!(report.missing, [key(1)]);
    assert!(!remote_file(&remote, &remote::archive_rel(&key(1))).exists());
}

#[test]
fn next_remote_is_used_when_the_first_refuses() {
    let f = Fixture::new(1);
    let bad = f.pushed("bad");
    f.pushed("good");
    let archive = remote_file(&bad, &remote::archive_rel(&key(1)));
    std::fs::write(&archive, b"not the archive").unwrap();
    let store = f.empty_store("second");
    let recorder = Recorder::default();
    let got = f.substituters(&[&f.path("bad"), &f.path("good")]).fetch(&store, &key(1), &recorder).unwrap();
    assert!(
        matches!(&got, Substituted::From { remote, .. } if *remote == f.path("good").display().to_string()),
        "{got:?}"
    );
    assert_eq!(recorder.warnings().len(), 1, "the bad remote is reported");
    assert!(store.get(&key(1)).unwrap().is_some());
}

#[test]
fn unreachable_remote_is_reported_once_then_skipped() {
    let f = Fixture::new(2);
    f.pushed("good");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let remotes = [format!("http://127.0.0.1:{port}/cache"), f.path("good").display().to_string()];
    let subs = Substituters::new(&remotes, vec![f.secret.public()]).unwrap();
    let store = f.empty_store("second");
    let recorder = Recorder::default();
    for k in [key(1), key(2)] {
        assert!(matches!(subs.fetch(&store, &k, &recorder).unwrap(), Substituted::From { .. }));
    }
    let warnings = recorder.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("substituter http://127.0.0.1:{port}/cache is unreachable, not asked again this run: http://127.0.0.1:{port}/cache/pkgs/")),
        "{}",
        warnings[0]
    );
}

#[test]
fn substituters_need_trusted_keys_and_valid_locations() {
    let err = Substituters::new(&["/srv/cache".into()], vec![]).unwrap_err();
    assert_eq!(err.to_string(), "no --trusted-key given: every package from a substituter would be refused");
    let err = Substituters::new(&["ftp://x".into()], vec![generate("k").unwrap().public()]).unwrap_err();
    assert!(err.to_string().starts_with("`ftp://x` is not a cache location"), "{err}");
}

#[test]
fn threads_fetching_the_same_package_download_it_once() {
    let f = Fixture::new(1);
    f.pushed("remote");
    let store = f.empty_store("second");
    let subs = Arc::new(f.substituters(&[&f.path("remote")]));
    let results: Vec<Substituted> = std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..4).map(|_| s.spawn(|| subs.fetch(&store, &key(1), &Silent).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let downloads = results.iter().filter(|r| matches!(r, Substituted::From { .. })).count();
    let present = results.iter().filter(|r| matches!(r, Substituted::Present(_))).count();
    assert_eq!((downloads, present), (1, 3));
}
