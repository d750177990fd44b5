//! Fuzz target: The native change JSON (`POST /hooks/changes`).
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::ingest::changes::parse(data, "api");
});
