//! Fuzz target: GitHub deployment, deployment_status and ping deliveries; the first byte picks the event header.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    const EVENTS: [&str; 5] = ["deployment", "deployment_status", "ping", "push", ""];
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let event = EVENTS[usize::from(*first) % EVENTS.len()];
    let _ = warroom::ingest::github::parse(event, body);
    let _ =
        warroom::ingest::github::signature_valid("secret", body, std::str::from_utf8(body).ok());
});
