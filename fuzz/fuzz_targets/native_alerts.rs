//! Fuzz target: warroom's native alert JSON (`POST /hooks/alerts`).
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::ingest::native::parse(data, "service", 1000, chrono::Utc::now());
});
