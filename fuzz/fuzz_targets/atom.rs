//! Fuzz target `atom`: see `ingot_fuzz::atom` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ingot_fuzz::atom(data));
