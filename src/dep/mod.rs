//! Gentoo PMS grammar: versions, package atoms, dependency specifications, REQUIRED_USE and IUSE.

mod error;
mod version;

pub use error::ParseError;
pub use version::Version;
