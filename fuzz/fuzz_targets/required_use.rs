//! Fuzz target `required_use`: see `ingot_fuzz::required_use` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ingot_fuzz::required_use(data));
