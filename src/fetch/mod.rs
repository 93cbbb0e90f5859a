//! Fetching distfiles: each source tarball is looked up in the distfiles directory, then in each
//! mirror, then at its own URLs, and is only ever given its final name once its sha256 matches.
//! Runs before, and outside, the build sandbox.

mod download;
mod place;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::archive::hash;
use crate::report::{Event, Outcome, Reporter};
use download::Received;
use place::Place;

/// A distfile a recipe needs (the recipe's type: name, URLs, sha256).
pub use crate::recipe::Source;

/// One place a distfile was looked for, and what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub place: String,
    pub outcome: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("source `{file}`: {reason}")]
    BadSource { file: String, reason: String },
    #[error(transparent)]
    Mismatch(Box<Mismatch>),
    #[error(
        "{file} could not be fetched. Tried:{}\nIf it is a Debian source tarball, \
         `scripts/distfiles-from-debian --distdir {} <source-package>` fetches it from the Debian archive \
         this system's apt is configured for.",
        list(tried), distdir.display()
    )]
    Unavailable { file: String, distdir: PathBuf, tried: Vec<Attempt> },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{} of {total} distfiles could not be fetched:\n{}", errors.len(), numbered(errors))]
    Several { total: usize, errors: Vec<FetchError> },
}

/// Every copy found had the wrong sha256 (a present-but-wrong distfile counts too).
#[derive(Debug, thiserror::Error)]
#[error(
    "{file}: sha256 mismatch: expected {expected}, got {actual} from {from}; that download is kept as {} \
     and will not be used. Tried:{}",
    bad.display(), list(tried)
)]
pub struct Mismatch {
    pub file: String,
    pub expected: String,
    pub actual: String,
    pub from: String,
    pub bad: PathBuf,
    pub tried: Vec<Attempt>,
}

fn list(tried: &[Attempt]) -> String {
    tried.iter().map(|a| format!("\n  - {}: {}", a.place, a.outcome)).collect()
}

fn numbered(errors: &[FetchError]) -> String {
    errors.iter().enumerate().map(|(i, e)| format!("{}. {e}", i + 1)).collect::<Vec<_>>().join("\n")
}

/// Fetches distfiles into one directory, from mirrors first, then from each source's own URLs.
pub struct Fetcher {
    distdir: PathBuf,
    mirrors: Vec<String>,
    agent: ureq::Agent,
}

impl Fetcher {
    /// `mirrors` are directories, `file://` URLs or `http(s)://` URLs, each holding distfiles by
    /// name (`<mirror>/<file>`).
    pub fn new(distdir: impl Into<PathBuf>, mirrors: Vec<String>) -> Fetcher {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("ingot/", env!("CARGO_PKG_VERSION")))
            // Distfiles are hashed as served: no on-the-fly compression that would need undoing.
            .accept_encoding("identity")
            .build();
        Fetcher { distdir: distdir.into(), mirrors, agent: ureq::Agent::new_with_config(config) }
    }

    pub fn distdir(&self) -> &Path {
        &self.distdir
    }

    /// The verified path of `src` in the distfiles directory, fetching it if needed.
    pub fn fetch(&self, src: &Source, reporter: &dyn Reporter) -> Result<PathBuf, FetchError> {
        let sha256 = validate(src)?;
        fs_err::create_dir_all(&self.distdir)?;
        let id = format!("fetch:{}", src.file);
        let started = Instant::now();
        reporter.event(Event::TaskStarted { id: id.clone(), what: src.file.clone() });
        let result = self.find(src, &sha256, &id, reporter);
        let outcome = match &result {
            Ok((_, true)) => Outcome::Cached,
            Ok((_, false)) => Outcome::Fetched,
            Err(_) => Outcome::Failed,
        };
        reporter.event(Event::TaskFinished { id, outcome, elapsed: started.elapsed() });
        result.map(|(path, _)| path)
    }

    /// Fetches every source, `jobs` at a time, and returns their paths in the order given. A file
    /// listed twice is fetched once; listed twice with different checksums, it is an error.
    pub fn fetch_all(
        &self,
        srcs: &[Source],
        jobs: usize,
        reporter: &dyn Reporter,
    ) -> Result<Vec<PathBuf>, FetchError> {
        let unique = distinct(srcs)?;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<PathBuf, FetchError>>>> =
            Mutex::new((0..unique.len()).map(|_| None).collect());
        std::thread::scope(|s| {
            for _ in 0..jobs.clamp(1, unique.len().max(1)) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(src) = unique.get(i) else { break };
                        let result = self.fetch(src, reporter);
                        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut errors: Vec<FetchError> = results.into_iter().flatten().filter_map(Result::err).collect();
        match errors.len() {
            0 => Ok(srcs.iter().map(|s| self.distdir.join(&s.file)).collect()),
            1 => Err(errors.remove(0)),
            _ => Err(FetchError::Several { total: unique.len(), errors }),
        }
    }

    /// Tries the distfiles directory, the mirrors and the URLs in turn. `true` when the file was
    /// already there.
    fn find(
        &self,
        src: &Source,
        sha256: &str,
        id: &str,
        reporter: &dyn Reporter,
    ) -> Result<(PathBuf, bool), FetchError> {
        let dest = self.distdir.join(&src.file);
        let mut tried = Vec::new();
        let mut mismatch = None;
        match download::check_present(&dest, sha256)? {
            download::Present::Good => return Ok((dest, true)),
            download::Present::Absent => tried.push(attempt(&dest.display().to_string(), "not there")),
            download::Present::Wrong { actual, bad } => {
                let outcome = format!("present with sha256 {actual}; moved to {}", bad.display());
                tried.push(attempt(&dest.display().to_string(), &outcome));
                mismatch = Some((dest.display().to_string(), actual, bad));
            }
        }
        let mirrors = self.mirrors.iter().map(|m| Place::in_mirror(m, &src.file));
        for place in mirrors.chain(src.urls.iter().map(|u| Place::from_url(u))) {
            let label = place.to_string();
            match download::receive(&self.agent, &place, &dest, sha256, id, reporter)? {
                Received::Verified => return Ok((dest, false)),
                Received::Failed(why) => tried.push(attempt(&label, &why)),
                Received::Mismatch { actual, bad } => {
                    tried.push(attempt(&label, &format!("sha256 {actual}; kept as {}", bad.display())));
                    mismatch.get_or_insert((label, actual, bad));
                }
            }
        }
        let file = src.file.clone();
        Err(match mismatch {
            Some((from, actual, bad)) => FetchError::Mismatch(Box::new(Mismatch {
                file,
                expected: sha256.to_string(),
                actual,
                from,
                bad,
                tried,
            })),
            None => FetchError::Unavailable { file, distdir: self.distdir.clone(), tried },
        })
    }
}

fn attempt(place: &str, outcome: &str) -> Attempt {
    Attempt { place: place.to_string(), outcome: outcome.to_string() }
}

/// Checks the file name (a plain name inside the distfiles directory) and the sha256, which is
/// returned in lowercase.
fn validate(src: &Source) -> Result<String, FetchError> {
    let bad = |reason: &str| FetchError::BadSource { file: src.file.clone(), reason: reason.to_string() };
    let f = src.file.as_str();
    if f.is_empty() || f.starts_with('.') || f.contains(['/', '\0']) {
        return Err(bad("the file name must be a plain name: not empty, no `/`, not starting with `.`"));
    }
    let sha256 = src.sha256.to_ascii_lowercase();
    if !hash::is_sha256_hex(&sha256) {
        return Err(bad(&format!("`{}` is not a sha256 (64 hex digits)", src.sha256)));
    }
    Ok(sha256)
}

/// Each file once; the same file with two different checksums is a recipe error.
fn distinct(srcs: &[Source]) -> Result<Vec<Source>, FetchError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::new();
    for s in srcs {
        match seen.get(s.file.as_str()) {
            Some(sha) if !sha.eq_ignore_ascii_case(&s.sha256) => {
                return Err(FetchError::BadSource {
                    file: s.file.clone(),
                    reason: format!("listed twice with different sha256s ({sha} and {})", s.sha256),
                });
            }
            Some(_) => {}
            None => {
                seen.insert(&s.file, &s.sha256);
                out.push(s.clone());
            }
        }
    }
    Ok(out)
}
