//! Fuzz target: Alertmanager webhook bodies (v4): the fast typed reading and the field-by-field one.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::ingest::alertmanager::parse(
        data,
        warroom::domain::alert::AlertSource::Alertmanager,
        "service",
        1000,
        chrono::Utc::now(),
    );
});
