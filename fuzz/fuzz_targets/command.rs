//! Fuzz target: The one command grammar (`/inc`, `/oncall`, `/change` in every room).
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = warroom::domain::command::parse(text);
    }
});
