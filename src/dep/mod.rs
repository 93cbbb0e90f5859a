//! Gentoo PMS grammar: versions, package atoms, dependency specifications, REQUIRED_USE and IUSE.
//!
//! The dialect is EAPI 8 plus `::repo`. Every parser is hand-written, returns values that are
//! valid by construction, and reports a [`ParseError`] whose byte span points at the offending
//! token: [`Version::parse`], [`Atom::parse`], [`DepSpec::parse`], [`RequiredUse::parse`],
//! [`Iuse::parse`]. Each value prints as text that parses back to an equal value.

mod atom;
mod error;
mod iuse;
mod lex;
mod name;
#[cfg(test)]
mod proptests;
mod required_use;
mod slot;
mod spec;
mod use_dep;
mod version;

pub use atom::{Atom, Blocker, Operator};
pub use error::ParseError;
pub use iuse::{Iuse, IuseFlag};
pub use name::{Category, Cpn, PackageName};
pub use required_use::{RequiredUse, RequiredUseNode, Violation};
pub use slot::SlotDep;
pub use spec::{Atoms, DepNode, DepSpec};
pub use use_dep::{UseDep, UseDepKind, UseRequirement};
pub use version::Version;
