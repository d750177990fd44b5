//! Fuzz target: Backstage catalog files (multi-document YAML: Component, System, User, Group).
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = warroom::catalog::parse_entities(text);
    }
});
