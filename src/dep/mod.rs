//! Gentoo PMS grammar: versions, package atoms, dependency specifications, REQUIRED_USE and IUSE.

mod atom;
mod error;
mod name;
mod slot;
mod use_dep;
mod version;

pub use atom::{Atom, Blocker, Operator};
pub use error::ParseError;
pub use name::{Category, Cpn, PackageName};
pub use slot::SlotDep;
pub use use_dep::{UseDep, UseDepKind, UseRequirement};
pub use version::Version;
