//! Fuzz target: Slack slash-command form bodies, and their text through the command grammar.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = warroom::chat::slack::commands::parse_form(data) else {
        return;
    };
    let _ = warroom::domain::command::parse(&format!("{} {}", cmd.command, cmd.text));
    let _ = warroom::chat::slack::escape::mrkdwn(&cmd.text);
});
