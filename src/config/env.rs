//! `WARROOM_<SECTION>__<KEY>` variables, read so that a string key keeps the string it was given.
//!
//! figment parses every variable as TOML-ish data, so `WARROOM_SLACK__SIGNING_SECRET=123456` became the
//! number 123456 (then "invalid type: found unsigned int 123456", printing the secret) and
//! `WARROOM_DISCORD__APPLICATION_ID=900000000000000010` failed to load as a string. Here a variable whose
//! parsed value is a scalar other than a string is kept as the raw string, unless the key's default is
//! a number or a boolean (`server.max_body_bytes`, `outbox.max_attempts`, `slack.private_channels`).
//! Lists and tables (`[a, b]`) stay parsed. A numeric key that may be absent needs a numeric default
//! (not `Option<u64>`) for this to see its type.

use figment::Figment;
use figment::providers::{Env, Serialized};
use figment::value::Value;
use serde_json::Value as Json;

/// The variables' provider, without those [`raw_strings`] overrides.
fn variables() -> Env {
    Env::prefixed("WARROOM_")
        .split("__")
        .ignore(&["test_postgres_url"])
}

/// Whether the default configuration holds a number or boolean at `key` (dotted path).
fn typed_default(defaults: &Json, key: &str) -> bool {
    let mut at = defaults;
    for part in key.split('.') {
        match at.get(part) {
            Some(next) => at = next,
            None => return false,
        }
    }
    at.is_number() || at.is_boolean()
}

/// Merges the environment into `figment`; `defaults` is the default configuration as JSON.
pub fn merge_env(mut figment: Figment, defaults: &Json) -> Figment {
    let env = variables();
    let mut raw = Vec::new();
    for (key, value) in env.iter() {
        let key = key.as_str().to_string();
        let parsed: Value = value.parse().unwrap_or_else(|_| Value::from(value.clone()));
        let scalar_not_string =
            matches!(parsed, Value::Num(..) | Value::Bool(..) | Value::Char(..));
        if scalar_not_string && !typed_default(defaults, &key) {
            raw.push((key, value));
        }
    }
    let skip: Vec<String> = raw.iter().map(|(k, _)| k.clone()).collect();
    figment = figment.merge(variables().filter_map(move |k| {
        let dotted = k.as_str().replace("__", ".");
        (!skip.iter().any(|s| s.eq_ignore_ascii_case(&dotted))).then(|| k.into())
    }));
    for (key, value) in raw {
        figment = figment.merge(Serialized::global(&key, value));
    }
    figment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_defaults_are_found_by_path() {
        let d = serde_json::to_value(crate::config::Config::default()).unwrap();
        assert!(typed_default(&d, "server.max_body_bytes"));
        assert!(typed_default(&d, "slack.private_channels"));
        assert!(!typed_default(&d, "slack.signing_secret"));
        assert!(!typed_default(&d, "discord.application_id"));
        assert!(!typed_default(&d, "ingest.pagerduty.routing_keys.abc"));
    }
}
