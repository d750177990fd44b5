//! Fuzz target: Grafana unified-alerting webhook bodies.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::ingest::grafana::parse(data, "service", 1000, chrono::Utc::now());
    let _ = warroom::ingest::alertmanager::parse(
        data,
        warroom::domain::alert::AlertSource::Grafana,
        "service",
        1000,
        chrono::Utc::now(),
    );
});
