//! Building one package: the sandbox each phase runs in and the phase scripts and environment.

pub mod phases;
pub mod sandbox;
