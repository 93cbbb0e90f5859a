//! Fuzz target `version`: see `ingot_fuzz::version` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ingot_fuzz::version(data));
