//! Fetching from the distfiles directory, mirror directories and `file://` URLs (HTTP is in
//! tests/fetch_http.rs).

use super::*;
use crate::fs::sorted_names;
use crate::report::{Recorder, Silent};

const DATA: &[u8] = b"pretend this is a tarball\n";

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn source(urls: Vec<String>) -> Source {
    Source { file: "pkg-1.0.tar.gz".into(), urls, sha256: sha(DATA) }
}

struct Dirs {
    _tmp: tempfile::TempDir,
    distdir: PathBuf,
    mirror: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let (distdir, mirror) = (tmp.path().join("distfiles"), tmp.path().join("mirror"));
    std::fs::create_dir_all(&mirror).unwrap();
    Dirs { _tmp: tmp, distdir, mirror }
}

#[test]
fn verified_distfile_already_present_is_used_as_is() {
    let d = dirs();
    std::fs::create_dir_all(&d.distdir).unwrap();
    std::fs::write(d.distdir.join("pkg-1.0.tar.gz"), DATA).unwrap();
    let rec = Recorder::default();
    let path = Fetcher::new(&d.distdir, vec![]).fetch(&source(vec![]), &rec).unwrap();
    assert_eq!(path, d.distdir.join("pkg-1.0.tar.gz"));
    assert!(rec.events().iter().any(|e| matches!(e, Event::TaskFinished { outcome: Outcome::Cached, .. })));
}

#[test]
fn mirror_directory_is_copied_and_progress_reported() {
    let d = dirs();
    std::fs::write(d.mirror.join("pkg-1.0.tar.gz"), DATA).unwrap();
    let rec = Recorder::default();
    let mirrors = vec![d.mirror.display().to_string()];
    let path = Fetcher::new(&d.distdir, mirrors).fetch(&source(vec![]), &rec).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), DATA);
    let events = rec.events();
    let done = DATA.len() as u64;
    assert!(events.contains(&Event::TaskBytes {
        id: "fetch:pkg-1.0.tar.gz".into(),
        done,
        total: Some(done)
    }));
    assert!(events.iter().any(|e| matches!(e, Event::TaskFinished { outcome: Outcome::Fetched, .. })));
    assert_eq!(sorted_names(&d.distdir), ["pkg-1.0.tar.gz"], "no temporaries left");
}

#[test]
fn a_partial_download_of_a_killed_fetch_is_removed_by_the_next_one() {
    let d = dirs();
    std::fs::create_dir_all(&d.distdir).unwrap();
    for left in [".pkg-1.0.tar.gz.dead.part", ".other-2.0.tar.gz.dead.part"] {
        std::fs::write(d.distdir.join(left), b"half a tarb").unwrap();
    }
    std::fs::write(d.mirror.join("pkg-1.0.tar.gz"), DATA).unwrap();
    let mirrors = vec![d.mirror.display().to_string()];
    Fetcher::new(&d.distdir, mirrors).fetch(&source(vec![]), &Silent).unwrap();
    // Another file's partial download may belong to a fetch still running: left to its own fetch.
    assert_eq!(sorted_names(&d.distdir), [".other-2.0.tar.gz.dead.part", "pkg-1.0.tar.gz"]);
}

#[test]
fn file_url_is_fetched() {
    let d = dirs();
    let upstream = d.mirror.join("pkg-1.0.tar.gz");
    std::fs::write(&upstream, DATA).unwrap();
    let src = source(vec!["ftp://example.invalid/x".into(), format!("file://{}", upstream.display())]);
    let path = Fetcher::new(&d.distdir, vec![]).fetch(&src, &Silent).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), DATA);
}

#[test]
fn wrong_file_in_distdir_is_moved_aside_and_refetched() {
    let d = dirs();
    std::fs::create_dir_all(&d.distdir).unwrap();
    std::fs::write(d.distdir.join("pkg-1.0.tar.gz"), b"stale").unwrap();
    std::fs::write(d.mirror.join("pkg-1.0.tar.gz"), DATA).unwrap();
    let fetcher = Fetcher::new(&d.distdir, vec![d.mirror.display().to_string()]);
    let path = fetcher.fetch(&source(vec![]), &Silent).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), DATA);
    assert_eq!(std::fs::read(d.distdir.join("pkg-1.0.tar.gz.bad")).unwrap(), b"stale");
}

#[test]
fn checksum_mismatch_names_file_hashes_and_keeps_the_download_aside() {
    let d = dirs();
    std::fs::write(d.mirror.join("pkg-1.0.tar.gz"), b"tampered").unwrap();
    let fetcher = Fetcher::new(&d.distdir, vec![d.mirror.display().to_string()]);
    let err = fetcher.fetch(&source(vec![]), &Silent).unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err:?}");
    let msg = err.to_string();
    for needle in [
        "pkg-1.0.tar.gz: sha256 mismatch",
        &format!("expected {}", sha(DATA)),
        &format!("got {}", sha(b"tampered")),
    ] {
        assert!(msg.contains(needle), "{needle} not in {msg}");
    }
    assert!(msg.contains("pkg-1.0.tar.gz.bad"), "{msg}");
    assert_eq!(sorted_names(&d.distdir), ["pkg-1.0.tar.gz.bad"], "the bad download never gets the real name");
}

#[test]
fn missing_everywhere_lists_every_place_and_suggests_the_debian_script() {
    let d = dirs();
    let fetcher = Fetcher::new(&d.distdir, vec![d.mirror.display().to_string()]);
    let src = source(vec!["file:///nonexistent/pkg-1.0.tar.gz".into(), "gopher://x/y".into()]);
    let err = fetcher.fetch(&src, &Silent).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("pkg-1.0.tar.gz could not be fetched. Tried:"), "{msg}");
    for place in [
        d.distdir.join("pkg-1.0.tar.gz").display().to_string(),
        d.mirror.join("pkg-1.0.tar.gz").display().to_string(),
        "/nonexistent/pkg-1.0.tar.gz: not there".into(),
        "gopher://x/y: unsupported URL".into(),
        format!("scripts/distfiles-from-debian --distdir {}", d.distdir.display()),
    ] {
        assert!(msg.contains(&place), "{place} not in {msg}");
    }
}

#[test]
fn malformed_sources_are_refused_before_any_io() {
    let d = dirs();
    let fetcher = Fetcher::new(&d.distdir, vec![]);
    for (file, sha256, needle) in [
        ("../escape.tar.gz", sha(DATA), "must be a plain name"),
        (".hidden", sha(DATA), "must be a plain name"),
        ("ok.tar.gz", "abc".to_string(), "`abc` is not a sha256"),
    ] {
        let src = Source { file: file.into(), urls: vec![], sha256 };
        let msg = fetcher.fetch(&src, &Silent).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("source `{file}`")) && msg.contains(needle), "{msg}");
    }
    assert!(!d.distdir.exists());
}

#[test]
fn uppercase_checksums_are_accepted() {
    let d = dirs();
    std::fs::write(d.mirror.join("pkg-1.0.tar.gz"), DATA).unwrap();
    let src = Source { sha256: sha(DATA).to_uppercase(), ..source(vec![]) };
    Fetcher::new(&d.distdir, vec![d.mirror.display().to_string()]).fetch(&src, &Silent).unwrap();
}

#[test]
fn fetch_all_returns_paths_in_order_and_fetches_duplicates_once() {
    let d = dirs();
    let mut srcs = Vec::new();
    for i in 0..5 {
        let body = format!("tarball {i}");
        std::fs::write(d.mirror.join(format!("f{i}.tar")), &body).unwrap();
        srcs.push(Source { file: format!("f{i}.tar"), urls: vec![], sha256: sha(body.as_bytes()) });
    }
    srcs.push(srcs[0].clone());
    let rec = Recorder::default();
    let fetcher = Fetcher::new(&d.distdir, vec![d.mirror.display().to_string()]);
    let paths = fetcher.fetch_all(&srcs, 3, &rec).unwrap();
    let expected: Vec<PathBuf> = srcs.iter().map(|s| d.distdir.join(&s.file)).collect();
    assert_eq!(paths, expected);
    let started = rec.events().iter().filter(|e| matches!(e, Event::TaskStarted { .. })).count();
    assert_eq!(started, 5);
}

#[test]
fn fetch_all_gathers_every_failure() {
    let d = dirs();
    let fetcher = Fetcher::new(&d.distdir, vec![]);
    let srcs: Vec<Source> =
        (0..2).map(|i| Source { file: format!("gone{i}.tar"), urls: vec![], sha256: sha(DATA) }).collect();
    let msg = fetcher.fetch_all(&srcs, 2, &Silent).unwrap_err().to_string();
    assert!(msg.starts_with("2 of 2 distfiles could not be fetched"), "{msg}");
    assert!(msg.contains("1. gone0.tar could not be fetched") && msg.contains("2. gone1.tar"), "{msg}");
}

#[test]
fn same_file_with_two_checksums_is_refused() {
    let d = dirs();
    let a = source(vec![]);
    let b = Source { sha256: sha(b"other"), ..a.clone() };
    let msg = Fetcher::new(&d.distdir, vec![]).fetch_all(&[a, b], 1, &Silent).unwrap_err().to_string();
    assert!(msg.contains("source `pkg-1.0.tar.gz`: listed twice with different sha256s"), "{msg}");
}

#[test]
fn unusable_distdir_is_an_error_naming_it() {
    let d = dirs();
    let blocker = d.mirror.join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let msg = Fetcher::new(blocker.join("distfiles"), vec![])
        .fetch(&source(vec![]), &Silent)
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&blocker.join("distfiles").display().to_string()), "{msg}");
}
