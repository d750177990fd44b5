//! Fuzz target: Argo CD notification bodies (warroom's shape and Argo CD's own catalog templates).
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::ingest::argocd::parse(data);
});
