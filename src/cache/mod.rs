//! Shared binary caches: packages pushed from one machine's store to a remote (a directory or an
//! HTTP server), signed with ed25519, and substituted into other stores instead of being built.
//! A remote holds the store's layout plus one `.sig` per manifest and `index/<profile>.json`
//! lists. An unsigned, badly signed or mismatching package is refused and built locally. See
//! docs/cache.md for setting one up with nginx.

mod index;
mod keys;
mod push;
mod remote;
mod sign;
mod substitute;
mod tally;
#[cfg(test)]
mod tests;

pub use index::{INDEX_FORMAT, IndexError, ProfileIndex};
pub use keys::{KeyError, KeyFiles, PublicKey, SecretKey, generate, keygen};
pub use push::{PushError, PushReport, PushRequest, push};
pub use remote::{BadRemote, Remote, TransferError};
pub use sign::{SignatureProblem, sign, verify};
pub use substitute::{Problem, Refusal, SubstituteError, Substituted, Substituters};
pub use tally::Tally;
