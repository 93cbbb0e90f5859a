//! Pushing packages from the local store to a remote cache, signed. Each package goes up as its
//! archive, then its manifest, then its signature: the `.sig` is the remote's commit point, so a
//! substituter that finds one finds the rest, and a push cut short is simply redone. A package
//! whose signature is already there is skipped.

use std::time::Instant;

use super::index::{IndexError, ProfileIndex};
use super::keys::SecretKey;
use super::remote::{Remote, TransferError, Transport, archive_rel, index_rel, manifest_rel, sig_rel};
use super::sign::sign;
use crate::key::BuildKey;
use crate::report::{Event, Outcome, Reporter};
use crate::store::{Store, StoreError};

/// What to push besides (or instead of) everything the store holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushRequest<'a> {
    /// Only these packages (a profile's plan); `None` pushes every package in the store.
    pub only: Option<&'a [BuildKey]>,
    /// Also write `index/<profile>.json` listing these keys.
    pub index: Option<(&'a str, &'a [BuildKey])>,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub uploaded: Vec<BuildKey>,
    /// Already signed on the remote (whether or not the local store has them).
    pub present: Vec<BuildKey>,
    /// Asked for, but not in the local store (not built yet, or found corrupt and moved aside).
    pub missing: Vec<BuildKey>,
    /// Bytes sent.
    pub bytes: u64,
    /// Where the profile index was written.
    pub index: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("upload failed: {0}")]
    Transfer(#[from] TransferError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Pushes packages from `store` to `dest`, signed with `key`.
pub fn push(
    store: &Store,
    dest: &Remote,
    key: &SecretKey,
    request: PushRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<PushReport, PushError> {
    let index = request.index.map(|(profile, keys)| ProfileIndex::new(profile, keys)).transpose()?;
    let keys = match request.only {
        Some(keys) => dedup(keys),
        None => store.list()?.into_iter().map(|m| m.key).collect(),
    };
    let transport = Transport::new();
    reporter.event(Event::StageStarted { stage: "push".into(), total: Some(keys.len() as u64) });
    let mut report = PushReport::default();
    for k in keys {
        match push_one(&transport, store, dest, &k, key, reporter)? {
            Pushed::Uploaded(bytes) => {
                report.uploaded.push(k);
                report.bytes += bytes;
            }
            Pushed::Present => report.present.push(k),
            Pushed::Missing => report.missing.push(k),
        }
    }
    if let Some(index) = index {
        let rel = index_rel(&index.profile);
        let json = index.to_json();
        transport.put_bytes(dest, &rel, json.as_bytes())?;
        report.bytes += json.len() as u64;
        report.index = Some(dest.location(&rel));
    }
    reporter.event(Event::StageFinished { stage: "push".into() });
    Ok(report)
}

enum Pushed {
    Uploaded(u64),
    Present,
    Missing,
}

fn push_one(
    transport: &Transport,
    store: &Store,
    dest: &Remote,
    key: &BuildKey,
    secret: &SecretKey,
    reporter: &dyn Reporter,
) -> Result<Pushed, PushError> {
    // Asked first: a HEAD is cheaper than `get`'s hashing of the archive.
    if transport.exists(dest, &sig_rel(key))? {
        return Ok(Pushed::Present);
    }
    // `get` verifies the archive against the manifest: a corrupt package never leaves this machine.
    let Some(pkg) = store.get(key)? else { return Ok(Pushed::Missing) };
    let manifest = fs_err::read(store.manifest_path(key)).map_err(StoreError::Io)?;
    let id = format!("push:{key}");
    let started = Instant::now();
    reporter.event(Event::TaskStarted { id: id.clone(), what: pkg.describe() });
    let signature = sign(secret, &manifest);
    let sent = transport
        .put_file(dest, &archive_rel(key), &pkg.archive)
        .and_then(|()| transport.put_bytes(dest, &manifest_rel(key), &manifest))
        .and_then(|()| transport.put_bytes(dest, &sig_rel(key), signature.as_bytes()));
    let outcome = if sent.is_ok() { Outcome::Uploaded } else { Outcome::Failed };
    if sent.is_ok() {
        let total = pkg.manifest.archive_size;
        reporter.event(Event::TaskBytes { id: id.clone(), done: total, total: Some(total) });
    }
    reporter.event(Event::TaskFinished { id, outcome, elapsed: started.elapsed() });
    sent?;
    Ok(Pushed::Uploaded(pkg.manifest.archive_size + manifest.len() as u64 + signature.len() as u64))
}

fn dedup(keys: &[BuildKey]) -> Vec<BuildKey> {
    let mut seen = std::collections::HashSet::new();
    keys.iter().copied().filter(|k| seen.insert(*k)).collect()
}
