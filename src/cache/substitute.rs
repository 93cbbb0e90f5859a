//! Substitution: fetching a package from the first remote cache that has it with a valid
//! signature instead of building it. Per remote: the `.sig` (absent: next remote), the manifest,
//! the signature checked against the trusted keys, the manifest's key checked, then the archive
//! streamed into the store, which stores it only if its size and sha256 match the manifest. A
//! remote that offers a bad package is reported, and the next one is tried.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::keys::PublicKey;
use super::remote::{BadRemote, Remote, TransferError, Transport, archive_rel, manifest_rel, sig_rel};
use super::sign::{SignatureProblem, verify};
use crate::key::BuildKey;
use crate::report::{Event, Level, Outcome, Reporter};
use crate::store::{Binpkg, ImportError, KeyLock, Manifest, Store, StoreError};

/// Signature files are a line or two.
const SIG_LIMIT: u64 = 64 << 10;
/// Manifests list every file of a package; the largest (a kernel's modules) are a few MB.
const MANIFEST_LIMIT: u64 = 64 << 20;
/// Progress is reported at most once per this many bytes.
const PROGRESS_STEP: u64 = 1 << 20;

/// The remote caches to substitute from, in order, and the keys whose signatures are accepted.
/// Shared by every build thread: `fetch` takes `&self`.
#[derive(Debug)]
pub struct Substituters {
    remotes: Vec<Remote>,
    trusted: Vec<PublicKey>,
    transport: Transport,
    /// Set once a remote cannot be reached, so later packages do not wait on it again.
    unreachable: Vec<AtomicBool>,
}

/// How `fetch` ended.
// One per package, never kept in bulk: boxing the package would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Substituted {
    /// The store already had it (another process built or substituted it meanwhile).
    Present(Binpkg),
    /// Downloaded from `remote` (as written in the substituter list), signed by `signer`.
    From { remote: String, signer: String, package: Binpkg },
    /// No remote offered it with a valid signature; `refused` lists the ones that offered it badly
    /// or failed. Build it.
    NotFound { refused: Vec<Refusal> },
}

/// A remote that offered a package ingot would not take, or failed while sending it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    pub remote: String,
    pub key: BuildKey,
    pub problem: Problem,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Refusal { remote, key, problem } = self;
        match problem {
            Problem::Transfer(e) if e.unreachable => {
                write!(f, "substituter {remote} is unreachable, not asked again this run: {e}")
            }
            Problem::Transfer(e) => write!(f, "substituter {remote} failed to send {key}: {e}"),
            _ => write!(f, "substituter {remote} offered {key}, refused: {problem}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Signature(#[from] SignatureProblem),
    #[error("{0}")]
    Package(String),
    #[error("it has a signature but no manifest")]
    NoManifest,
    #[error("it has a signed manifest but no archive")]
    NoArchive,
    #[error("{0}")]
    Transfer(TransferError),
}

impl Problem {
    /// The remote could not be reached at all: it offered nothing.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Problem::Transfer(TransferError { unreachable: true, .. }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubstituteError {
    #[error("no --trusted-key given: every package from a substituter would be refused")]
    NoTrustedKeys,
    #[error(transparent)]
    BadRemote(#[from] BadRemote),
    /// The local store failed; the package may still be built.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Substituters {
    /// `remotes` are URLs or directories, tried in the order given.
    pub fn new(remotes: &[String], trusted: Vec<PublicKey>) -> Result<Substituters, SubstituteError> {
        if trusted.is_empty() {
            return Err(SubstituteError::NoTrustedKeys);
        }
        let remotes = remotes.iter().map(|r| Remote::parse(r)).collect::<Result<Vec<_>, _>>()?;
        let unreachable = remotes.iter().map(|_| AtomicBool::new(false)).collect();
        Ok(Substituters { remotes, trusted, transport: Transport::new(), unreachable })
    }

    pub fn remotes(&self) -> &[Remote] {
        &self.remotes
    }

    pub fn trusted(&self) -> &[PublicKey] {
        &self.trusted
    }

    /// Makes sure `key` is in `store`, from a remote if it is not there yet. Takes the key's
    /// lock; a caller that already holds it calls `fetch_locked`.
    pub fn fetch(
        &self,
        store: &Store,
        key: &BuildKey,
        reporter: &dyn Reporter,
    ) -> Result<Substituted, SubstituteError> {
        let lock = store.lock(key)?;
        if let Some(pkg) = store.get(key)? {
            return Ok(Substituted::Present(pkg));
        }
        self.fetch_locked(store, &lock, reporter)
    }

    /// Fetches the package of the key `lock` holds from the first remote that has it with a valid
    /// signature, into `store`. Refusals are reported as warnings and returned with `NotFound`.
    /// Progress: `TaskStarted`, `TaskBytes` and `TaskFinished` with id `substitute:<key>`, once a
    /// remote's signed manifest is accepted.
    pub fn fetch_locked(
        &self,
        store: &Store,
        lock: &KeyLock,
        reporter: &dyn Reporter,
    ) -> Result<Substituted, SubstituteError> {
        let key = lock.key();
        let mut refused = Vec::new();
        for (remote, down) in self.remotes.iter().zip(&self.unreachable) {
            if down.load(Ordering::Relaxed) {
                continue;
            }
            match self.try_remote(store, remote, lock, reporter) {
                Ok(Some((signer, package))) => {
                    return Ok(Substituted::From { remote: remote.to_string(), signer, package });
                }
                Ok(None) => {}
                Err(Attempt::Refused(problem)) => {
                    // Only the first thread to find a remote down says so.
                    if problem.is_unreachable() && down.swap(true, Ordering::Relaxed) {
                        continue;
                    }
                    let refusal = Refusal { remote: remote.to_string(), key, problem };
                    reporter.event(Event::Message { level: Level::Warning, text: refusal.to_string() });
                    refused.push(refusal);
                }
                Err(Attempt::Store(e)) => return Err(e.into()),
            }
        }
        Ok(Substituted::NotFound { refused })
    }

    /// The package from `remote`, `None` if it has none, or why not.
    fn try_remote(
        &self,
        store: &Store,
        remote: &Remote,
        lock: &KeyLock,
        reporter: &dyn Reporter,
    ) -> Result<Option<(String, Binpkg)>, Attempt> {
        let key = lock.key();
        let t = &self.transport;
        let Some(sig) = t.read_small(remote, &sig_rel(&key), SIG_LIMIT)? else { return Ok(None) };
        let manifest =
            t.read_small(remote, &manifest_rel(&key), MANIFEST_LIMIT)?.ok_or(Problem::NoManifest)?;
        let signer = verify(&self.trusted, &manifest, &sig).map_err(Problem::Signature)?;
        let text =
            String::from_utf8(manifest).map_err(|_| Problem::Package("its manifest is not UTF-8".into()))?;
        let parsed = Manifest::parse(&text)
            .map_err(|e| Problem::Package(format!("its manifest does not parse: {e}")))?;
        if parsed.key != key {
            return Err(Problem::Package(format!("its manifest is for key {}", parsed.key)).into());
        }
        let id = task_id(&key);
        let started = Instant::now();
        reporter.event(Event::TaskStarted {
            id: id.clone(),
            what: format!("{} from {remote}", parsed.package()),
        });
        let result = self.download(store, remote, lock, &text, parsed.archive_size, reporter);
        let outcome = if result.is_ok() { Outcome::Substituted } else { Outcome::Failed };
        reporter.event(Event::TaskFinished { id, outcome, elapsed: started.elapsed() });
        Ok(Some((signer.name().to_string(), result?)))
    }

    /// Streams the archive into the store with `manifest`, which says it is `size` bytes.
    fn download(
        &self,
        store: &Store,
        remote: &Remote,
        lock: &KeyLock,
        manifest: &str,
        size: u64,
        reporter: &dyn Reporter,
    ) -> Result<Binpkg, Attempt> {
        let (reader, _) =
            self.transport.open(remote, &archive_rel(&lock.key()))?.ok_or(Problem::NoArchive)?;
        let id = task_id(&lock.key());
        let mut progress = Progress { inner: reader, id: &id, total: size, done: 0, reported: 0, reporter };
        let result = store.import(lock, manifest, &mut progress);
        reporter.event(Event::TaskBytes { id: id.clone(), done: progress.done, total: Some(size) });
        result.map_err(|e| match e {
            ImportError::Store(e) => Attempt::Store(e),
            ImportError::Read { .. } => Attempt::Refused(Problem::Transfer(TransferError {
                location: remote.location(&archive_rel(&lock.key())),
                reason: e.to_string(),
                unreachable: false,
            })),
            other => Attempt::Refused(Problem::Package(other.to_string())),
        })
    }
}

fn task_id(key: &BuildKey) -> String {
    format!("substitute:{key}")
}

/// Why one remote did not provide a package: its fault (try the next) or the local store's.
enum Attempt {
    Refused(Problem),
    Store(StoreError),
}

impl From<Problem> for Attempt {
    fn from(p: Problem) -> Self {
        Attempt::Refused(p)
    }
}

impl From<TransferError> for Attempt {
    fn from(e: TransferError) -> Self {
        Attempt::Refused(Problem::Transfer(e))
    }
}

/// Counts bytes as they pass, reporting every `PROGRESS_STEP`.
struct Progress<'a, R> {
    inner: R,
    id: &'a str,
    total: u64,
    done: u64,
    reported: u64,
    reporter: &'a dyn Reporter,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.reported >= PROGRESS_STEP {
            self.reported = self.done;
            let event =
                Event::TaskBytes { id: self.id.to_string(), done: self.done, total: Some(self.total) };
            self.reporter.event(event);
        }
        Ok(n)
    }
}
