//! Fuzz target `recipe`: see `ingot_fuzz::recipe` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ingot_fuzz::recipe(data));
