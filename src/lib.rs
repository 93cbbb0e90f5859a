//! ingot: a source-based distro image compiler.
//!
//! The pipeline, one module per stage, each taking the previous stage's plain types:
//! `recipe` + `profile` -> `resolve` (a `Plan`) -> `key` -> `fetch` -> `build` (into the `store`)
//! -> `stage` -> `configure` -> `image` -> `boot`. `cli` parses arguments and calls stages; `ui`
//! renders their `report` events. See DESIGN.md for the formats.

pub mod archive;
pub mod boot;
pub mod build;
pub mod cache;
pub mod check;
pub mod cli;
pub mod configure;
pub mod dep;
pub mod diag;
pub mod fetch;
pub mod fs;
pub mod host;
pub mod image;
pub mod key;
pub(crate) mod leftovers;
pub mod pipeline;
pub mod profile;
pub mod recipe;
pub mod report;
pub mod resolve;
pub mod stage;
pub mod store;
pub mod ui;
pub mod workers;
