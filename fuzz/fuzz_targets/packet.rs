//! cargo-fuzz target `packet`: see `harness::packet` for what it drives and checks.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::packet(data));
