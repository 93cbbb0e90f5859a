//! Profiles: cascading hardware profiles (`profiles/<name>/profile.toml`) flattened into one
//! `Profile`.

pub mod image;
