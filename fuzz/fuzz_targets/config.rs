//! Fuzz target: The configuration file (TOML), as `warroom check-config` and `warroom serve` read it.
//! Any panic is a bug (a client could make a handler answer 500); errors are fine.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use std::io::Write as _;
    let Ok(mut file) = tempfile::Builder::new().suffix(".toml").tempfile() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    let _ = warroom::config::load_for_check(Some(file.path()));
});
