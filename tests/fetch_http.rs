//! Fetching over HTTP from a tiny server on 127.0.0.1 started by each test.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ingot::fetch::{FetchError, Fetcher, Source};
use ingot::report::{Event, Recorder, Silent};
use sha2::Digest;

/// Serves `files` by path (`/dir/name`); anything else is a 404. Records every path requested.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(files: &[(&str, &[u8])]) -> Server {
        let files: Arc<HashMap<String, Vec<u8>>> =
            Arc::new(files.iter().map(|(p, b)| (p.to_string(), b.to_vec())).collect());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (files, seen) = (files.clone(), seen.clone());
                std::thread::spawn(move || answer(stream, &files, &seen));
            }
        });
        Server { base, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn answer(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    seen.lock().unwrap().push(path.clone());
    let (status, body) = match files.get(&path) {
        Some(body) => ("200 OK", body.as_slice()),
        None => ("404 Not Found", &b"not found"[..]),
    };
    let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
}

const DATA: &[u8] = b"upstream tarball bytes\n";

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn distdir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("distfiles");
    (tmp, d)
}

fn source(urls: Vec<String>) -> Source {
    Source { file: "pkg-1.0.tar.gz".into(), urls, sha256: sha(DATA) }
}

#[test]
fn download_from_the_source_url_is_verified_and_reported() {
    let server = Server::start(&[("/up/pkg-1.0.tar.gz", DATA)]);
    let (_tmp, dist) = distdir();
    let rec = Recorder::default();
    let path =
        Fetcher::new(&dist, vec![]).fetch(&source(vec![server.url("/up/pkg-1.0.tar.gz")]), &rec).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), DATA);
    let n = DATA.len() as u64;
    assert!(rec.events().contains(&Event::TaskBytes {
        id: "fetch:pkg-1.0.tar.gz".into(),
        done: n,
        total: Some(n)
    }));
}

#[test]
fn http_mirror_is_tried_before_the_source_url() {
    let server = Server::start(&[("/mirror/pkg-1.0.tar.gz", DATA), ("/up/pkg-1.0.tar.gz", DATA)]);
    let (_tmp, dist) = distdir();
    let fetcher = Fetcher::new(&dist, vec![server.url("/mirror/")]);
    fetcher.fetch(&source(vec![server.url("/up/pkg-1.0.tar.gz")]), &Silent).unwrap();
    assert_eq!(server.requests(), ["/mirror/pkg-1.0.tar.gz"]);
}

#[test]
fn not_found_falls_through_to_the_next_place() {
    let server = Server::start(&[("/b/pkg-1.0.tar.gz", DATA)]);
    let (_tmp, dist) = distdir();
    let src = source(vec![server.url("/a/pkg-1.0.tar.gz"), server.url("/b/pkg-1.0.tar.gz")]);
    Fetcher::new(&dist, vec![]).fetch(&src, &Silent).unwrap();
    assert_eq!(server.requests(), ["/a/pkg-1.0.tar.gz", "/b/pkg-1.0.tar.gz"]);
}

#[test]
fn http_404_everywhere_is_listed_in_the_error() {
    let server = Server::start(&[]);
    let (_tmp, dist) = distdir();
    let url = server.url("/up/pkg-1.0.tar.gz");
    let err = Fetcher::new(&dist, vec![]).fetch(&source(vec![url.clone()]), &Silent).unwrap_err();
    assert!(matches!(err, FetchError::Unavailable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{url}: HTTP status 404")), "{msg}");
    assert!(msg.contains("scripts/distfiles-from-debian"), "{msg}");
}

#[test]
fn tampered_download_is_kept_aside_and_a_good_one_still_wins() {
    let server = Server::start(&[("/evil/pkg-1.0.tar.gz", b"tampered"), ("/good/pkg-1.0.tar.gz", DATA)]);
    let (_tmp, dist) = distdir();
    let src = source(vec![server.url("/evil/pkg-1.0.tar.gz"), server.url("/good/pkg-1.0.tar.gz")]);
    let path = Fetcher::new(&dist, vec![]).fetch(&src, &Silent).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), DATA);
    assert_eq!(std::fs::read(dist.join("pkg-1.0.tar.gz.bad")).unwrap(), b"tampered");
}

#[test]
fn tampered_download_alone_is_a_mismatch_error() {
    let server = Server::start(&[("/evil/pkg-1.0.tar.gz", b"tampered")]);
    let (_tmp, dist) = distdir();
    let url = server.url("/evil/pkg-1.0.tar.gz");
    let err = Fetcher::new(&dist, vec![]).fetch(&source(vec![url.clone()]), &Silent).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("got {} from {url}", sha(b"tampered"))), "{msg}");
    assert!(!dist.join("pkg-1.0.tar.gz").exists());
}

#[test]
fn refused_connection_is_reported_not_fatal_to_other_places() {
    // A port that was just free: nothing listens there any more.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = Server::start(&[("/pkg-1.0.tar.gz", DATA)]);
    let (_tmp, dist) = distdir();
    let src = source(vec![format!("http://{closed}/pkg-1.0.tar.gz"), server.url("/pkg-1.0.tar.gz")]);
    Fetcher::new(&dist, vec![]).fetch(&src, &Silent).unwrap();
}
