//! Fuzz target: Slack Events API bodies: the envelope, the fields the adapter reads, timestamps and text unescaping.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let event = &envelope["event"];
    for ts in [
        &event["ts"],
        &event["event_ts"],
        &event["message"]["edited"]["ts"],
        &event["item"]["ts"],
    ] {
        if let Some(ts) = ts.as_str() {
            let _ = warroom::chat::slack::events::ts_time(ts);
        }
    }
    for text in [
        &event["text"],
        &event["message"]["text"],
        &event["previous_message"]["text"],
    ] {
        if let Some(text) = text.as_str() {
            let _ = warroom::chat::slack::escape::unescape(text);
            let _ = warroom::chat::slack::escape::mrkdwn(text);
        }
    }
});
