//! The Rust half of `scripts/bench-cache` (the script starts nginx and times curl).
//!
//! `cache_bench prepare DIR N MB URL`: makes a store `DIR/store` with N packages whose archives
//! total about MB megabytes (half incompressible bytes, half text that zstd shrinks), a key pair in
//! `DIR/keys`, pushes everything to URL, and writes `DIR/keys.txt` (one build key a line) and
//! `DIR/curl.conf` (a curl config fetching the same files ingot fetches into `DIR/curl/`).
//!
//! `cache_bench substitute DIR URL JOBS STORE`: substitutes every key of `DIR/keys.txt` from URL
//! into the new store STORE with JOBS threads, as a parallel build would, and prints
//! `<seconds> <packages>`.
//!
//! `cache_bench free-port`: prints a TCP port free on 127.0.0.1 for nginx to listen on.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ingot::cache::{self, PublicKey, PushRequest, Remote, SecretKey, Substituted, Substituters};
use ingot::key::BuildKey;
use ingot::report::Silent;
use ingot::store::{PackageMeta, Store};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or_else(|| format!("missing argument {i}; see the source"));
    match args.first().map(String::as_str) {
        Some("prepare") => prepare(Path::new(&arg(1)?), arg(2)?.parse()?, arg(3)?.parse()?, &arg(4)?),
        Some("free-port") => {
            println!("{}", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port());
            Ok(())
        }
        Some("substitute") => {
            substitute(Path::new(&arg(1)?), &arg(2)?, arg(3)?.parse()?, Path::new(&arg(4)?))
        }
        _ => {
            Err("usage: cache_bench prepare DIR N MB URL | substitute DIR URL JOBS STORE | free-port".into())
        }
    }
}

fn prepare(dir: &Path, packages: u64, megabytes: u64, url: &str) -> Result<(), Error> {
    let store = Store::open(&dir.join("store"))?;
    let mut rng = Rng(0x5eed);
    let mut keys = Vec::new();
    let average = megabytes * 1_000_000 / packages.max(1);
    for i in 0..packages {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
        bytes[8..16].copy_from_slice(&i.to_le_bytes());
        let key = BuildKey::from_bytes(bytes);
        // Sizes spread from half to one and a half times the average, like real packages vary.
        let size = average / 2 + rng.next() % average.max(1);
        let destdir = dir.join("destdir");
        make_destdir(&destdir, size, &mut rng)?;
        let meta = PackageMeta { atom: format!("bench/pkg{i}"), version: "1.0".into(), ..Default::default() };
        store.insert(&key, &destdir, meta)?;
        std::fs::remove_dir_all(&destdir)?;
        keys.push(key);
    }
    let files = cache::keygen(&dir.join("keys"), "bench-cache-1")?;
    let secret = SecretKey::read(&files.secret)?;
    let report = cache::push(&store, &Remote::parse(url)?, &secret, PushRequest::default(), &Silent)?;
    eprintln!("pushed {} packages, {:.1} MB", report.uploaded.len(), report.bytes as f64 / 1e6);
    let mut list = std::fs::File::create(dir.join("keys.txt"))?;
    let mut conf = std::fs::File::create(dir.join("curl.conf"))?;
    for key in &keys {
        writeln!(list, "{key}")?;
        for ext in ["sig", "toml", "tar.zst"] {
            let rel = format!("pkgs/{}/{key}.{ext}", key.prefix());
            let out = dir.join("curl").join(&rel);
            writeln!(conf, "url = \"{url}/{rel}\"\noutput = \"{}\"", out.display())?;
        }
    }
    Ok(())
}

/// A DESTDIR of about `size` archive bytes: an incompressible blob, a text file four times as
/// large that zstd shrinks to about a quarter, and a few small files.
fn make_destdir(dir: &Path, size: u64, rng: &mut Rng) -> Result<(), Error> {
    std::fs::create_dir_all(dir.join("usr/bin"))?;
    std::fs::create_dir_all(dir.join("usr/share/doc"))?;
    let blob: Vec<u8> =
        (0..size / 16).flat_map(|_| [rng.next().to_le_bytes(), rng.next().to_le_bytes()]).flatten().collect();
    std::fs::write(dir.join("usr/bin/program"), blob)?;
    let mut text = String::new();
    while (text.len() as u64) < size * 3 / 2 {
        let word = rng.next() % 5000;
        text.push_str(&format!("line {word} of the manual, section {} ", word % 17));
        if word.is_multiple_of(7) {
            text.push('\n');
        }
    }
    std::fs::write(dir.join("usr/share/doc/manual.txt"), text)?;
    for n in 0..8 {
        std::fs::write(dir.join(format!("usr/share/doc/note{n}")), format!("note {n}\n"))?;
    }
    Ok(())
}

fn substitute(dir: &Path, url: &str, jobs: usize, store: &Path) -> Result<(), Error> {
    let keys: Vec<BuildKey> =
        std::fs::read_to_string(dir.join("keys.txt"))?.lines().map(str::parse).collect::<Result<_, _>>()?;
    let public = PublicKey::read(&dir.join("keys/bench-cache-1.pub"))?;
    let subs = Substituters::new(&[url.to_string()], vec![public])?;
    let store = Store::open(store)?;
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                while let Some(key) = keys.get(next.fetch_add(1, Ordering::Relaxed)) {
                    match subs.fetch(&store, key, &Silent) {
                        Ok(Substituted::From { .. }) => {}
                        other => failures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{key}: {other:?}")),
                    }
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    if !failures.is_empty() {
        return Err(
            format!("{} packages were not substituted:\n{}", failures.len(), failures.join("\n")).into()
        );
    }
    println!("{seconds:.4} {}", keys.len());
    Ok(())
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
