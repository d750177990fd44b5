//! Fuzz target: Slack interaction form bodies (`payload=` JSON: block actions, view submissions).
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warroom::chat::slack::interactions::parse_form(data);
});
