//! Gentoo PMS grammar: versions, package atoms, dependency specifications, REQUIRED_USE and IUSE.

mod atom;
mod error;
mod lex;
mod name;
mod slot;
mod spec;
mod use_dep;
mod version;

pub use atom::{Atom, Blocker, Operator};
pub use error::ParseError;
pub use name::{Category, Cpn, PackageName};
pub use slot::SlotDep;
pub use spec::{Atoms, DepNode, DepSpec};
pub use use_dep::{UseDep, UseDepKind, UseRequirement};
pub use version::Version;
