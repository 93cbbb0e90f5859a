//! Building packages: the sandbox each phase runs in, the phase scripts and environment, one
//! package's build, and the scheduler that runs a plan's builds in parallel.

pub mod package;
pub mod phases;
pub mod sandbox;
pub mod schedule;
