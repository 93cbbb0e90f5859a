//! Counting what substitution did over a whole build, for the line `ingot build` prints: how many
//! packages came from which substituter, and how many were refused.

use std::fmt;

use super::substitute::Substituted;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Packages downloaded per remote, in the order remotes first provided one.
    pub from: Vec<(String, usize)>,
    /// Packages no remote had; each is built.
    pub not_found: usize,
    /// Of those, packages some remote offered but was refused for (or failed to send).
    pub refused: usize,
    /// Packages another process stored meanwhile.
    pub present: usize,
}

impl Tally {
    pub fn add(&mut self, result: &Substituted) {
        match result {
            Substituted::Present(_) => self.present += 1,
            Substituted::From { remote, .. } => match self.from.iter_mut().find(|(r, _)| r == remote) {
                Some((_, n)) => *n += 1,
                None => self.from.push((remote.clone(), 1)),
            },
            Substituted::NotFound { refused } => {
                self.not_found += 1;
                if refused.iter().any(|r| !r.problem.is_unreachable()) {
                    self.refused += 1;
                }
            }
        }
    }

    pub fn substituted(&self) -> usize {
        self.from.iter().map(|(_, n)| n).sum()
    }
}

/// `6 packages substituted: 4 from http://a, 2 from /srv/cache; 1 refused and built locally`.
impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.substituted();
        write!(f, "{n} package{} substituted", plural(n))?;
        let sources: Vec<String> = self.from.iter().map(|(r, n)| format!("{n} from {r}")).collect();
        if !sources.is_empty() {
            write!(f, ": {}", sources.join(", "))?;
        }
        if self.refused > 0 {
            write!(f, "; {} refused and built locally", self.refused)?;
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Problem, Refusal, TransferError};
    use crate::key::BuildKey;
    use crate::store::{Binpkg, MANIFEST_FORMAT, Manifest};

    fn pkg() -> Binpkg {
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            key: BuildKey::from_bytes([1; 32]),
            atom: "a/b".into(),
            version: "1".into(),
            slot: "0".into(),
            features: vec![],
            run_deps: vec![],
            build_seconds: 0.0,
            source_date_epoch: 0,
            archive_sha256: String::new(),
            archive_size: 0,
            inputs: Default::default(),
            files: vec![],
        };
        Binpkg { key: manifest.key, manifest, archive: "/x".into() }
    }

    fn from(remote: &str) -> Substituted {
        Substituted::From { remote: remote.into(), signer: "k".into(), package: pkg() }
    }

    #[test]
    fn tally_counts_packages_per_substituter_in_order_and_refusals() {
        let mut t = Tally::default();
        for r in [from("http://a"), from("/srv/cache"), from("http://a"), Substituted::Present(pkg())] {
            t.add(&r);
        }
        let refusal = Refusal {
            remote: "http://a".into(),
            key: BuildKey::from_bytes([2; 32]),
            problem: Problem::NoArchive,
        };
        t.add(&Substituted::NotFound { refused: vec![refusal] });
        t.add(&Substituted::NotFound { refused: vec![] });
        let down =
            TransferError { location: "http://b/x.sig".into(), reason: "refused".into(), unreachable: true };
        let unreachable = Refusal {
            remote: "http://b".into(),
            key: BuildKey::from_bytes([3; 32]),
            problem: Problem::Transfer(down),
        };
        t.add(&Substituted::NotFound { refused: vec![unreachable] });
        assert_eq!((t.substituted(), t.not_found, t.refused, t.present), (3, 3, 1, 1));
        assert_eq!(
            t.to_string(),
            "3 packages substituted: 2 from http://a, 1 from /srv/cache; 1 refused and built locally"
        );
        assert_eq!(Tally::default().to_string(), "0 packages substituted");
    }
}
