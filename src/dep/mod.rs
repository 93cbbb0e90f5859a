//! Gentoo PMS grammar: versions, package atoms, dependency specifications, REQUIRED_USE and IUSE.
