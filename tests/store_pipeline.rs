//! The storage layer end to end through the public API: fetch a source tarball from a mirror,
//! extract it safely, store the "built" tree, find it again, verify and unpack it.

use std::collections::BTreeSet;
use std::io::Write;

use ingot::archive::{self, Limits};
use ingot::fetch::{Fetcher, Source};
use ingot::key::BuildKey;
use ingot::report::Silent;
use ingot::store::{PackageMeta, Store};
use sha2::Digest;

fn source_tarball() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, body, mode) in
        [("hello-1.0/hello.sh", &b"#!/bin/sh\necho hello\n"[..], 0o755), ("hello-1.0/README", b"hi\n", 0o644)]
    {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_600_000_000);
        h.set_uid(1000);
        h.set_gid(1000);
        tar.append_data(&mut h, path, body).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

#[test]
fn fetched_source_extracted_stored_and_unpacked_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("cache")).unwrap();

    let mirror = tmp.path().join("mirror");
    std::fs::create_dir(&mirror).unwrap();
    let tarball = source_tarball();
    std::fs::write(mirror.join("hello_1.0.orig.tar.gz"), &tarball).unwrap();
    let src = Source {
        file: "hello_1.0.orig.tar.gz".into(),
        urls: vec![],
        sha256: hex::encode(sha2::Sha256::digest(&tarball)),
    };
    let fetcher = Fetcher::new(store.distdir(), vec![mirror.display().to_string()]);
    let distfile = fetcher.fetch(&src, &Silent).unwrap();

    let work = store.temp_entry("build-").unwrap();
    let report = archive::extract(&distfile, &work.path().join("src"), &Limits::default()).unwrap();
    assert_eq!(report.entries.len(), 2);

    // "Install" into DESTDIR as a build would.
    let destdir = work.path().join("image");
    std::fs::create_dir_all(destdir.join("usr/bin")).unwrap();
    std::fs::copy(work.path().join("src/hello-1.0/hello.sh"), destdir.join("usr/bin/hello")).unwrap();

    let key = BuildKey::from_bytes([7; 32]);
    let meta = PackageMeta {
        atom: "app-misc/hello".into(),
        version: "1.0".into(),
        slot: "0".into(),
        source_date_epoch: 1_600_000_000,
        ..PackageMeta::default()
    };
    let lock = store.lock(&key).unwrap();
    store.insert(&key, &destdir, meta).unwrap();
    drop(lock);
    drop(work);

    let pkg = store.get(&key).unwrap().expect("stored package");
    assert_eq!(store.list().unwrap()[0].atom, "app-misc/hello");
    assert!(store.verify_all().unwrap().is_clean());
    let root = tmp.path().join("root");
    let entries = pkg.unpack(&root).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["usr", "usr/bin", "usr/bin/hello"]);
    assert_eq!(std::fs::read(root.join("usr/bin/hello")).unwrap(), b"#!/bin/sh\necho hello\n");

    let report = store.gc(&BTreeSet::from([key]), None).unwrap();
    assert_eq!((report.kept, report.removed.len(), report.tmp_removed), (1, 0, 0));
}
