//! Fuzz target `depspec`: see `ingot_fuzz::depspec` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ingot_fuzz::depspec(data));
