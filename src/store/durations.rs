//! How long each package took to build last time (`durations.json` at the store's root), so the
//! scheduler can start the longest chains first. Advisory: a lost update only costs an estimate.

use super::Store;
use std::collections::BTreeMap;
use std::io::Read;

const FILE: &str = "durations.json";

impl Store {
    /// Last build time in seconds per `category/name`.
    pub fn durations(&self) -> BTreeMap<String, f64> {
        let mut text = String::new();
        match std::fs::File::open(self.root().join(FILE)).and_then(|mut f| f.read_to_string(&mut text)) {
            Ok(_) => serde_json::from_str(&text).unwrap_or_default(),
            Err(_) => BTreeMap::new(),
        }
    }

    /// Records build times, merging with what other processes wrote (under a lock).
    pub fn record_durations(&self, new: &[(String, f64)]) -> std::io::Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let lock = fs_err::File::create(self.root().join("locks").join("durations.lock"))?;
        lock.file().lock()?;
        let mut all = self.durations();
        all.extend(new.iter().cloned());
        let text = serde_json::to_string_pretty(&all).map_err(std::io::Error::other)?;
        crate::fs::write_atomic(&self.root().join(FILE), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_merged_across_writers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.durations().is_empty());
        store.record_durations(&[("a/b".into(), 1.5)]).unwrap();
        store.record_durations(&[("c/d".into(), 2.0), ("a/b".into(), 3.0)]).unwrap();
        let d = store.durations();
        assert_eq!(d.get("a/b"), Some(&3.0));
        assert_eq!(d.get("c/d"), Some(&2.0));
    }
}
