//! Fuzz target: PagerDuty Events API v2 bodies (`trigger`, `acknowledge`, `resolve`) and Change Events.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::ingest::pagerduty::parse(
        data,
        |key| (key.len() < 40).then(|| "billing".to_string()),
        || "generated-key".to_string(),
        chrono::Utc::now(),
    );
    let _ = warroom::ingest::pagerduty_change::parse(data);
});
