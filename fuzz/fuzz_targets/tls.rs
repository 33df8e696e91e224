//! cargo-fuzz target `tls`: see `harness::tls` for what it drives and checks.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::tls(data));
