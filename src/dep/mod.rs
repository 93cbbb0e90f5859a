//! Gentoo PMS grammar: versions, package atoms, dependency specifications, REQUIRED_USE and IUSE.

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
