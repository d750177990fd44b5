//! Checks that go beyond types: addresses, URLs, secrets that come in pairs.

use super::load::Problem;
use super::sections::Config;

/// Every semantic problem in `config`, by key.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut bad = |key: &str, message: String| {
        p.push(Problem {
            key: key.into(),
            message,
        })
    };
    if config
        .server
        .listen
        .parse::<std::net::SocketAddr>()
        .is_err()
    {
        bad(
            "server.listen",
            format!(
                "`{}` is not an address like 127.0.0.1:8080",
                config.server.listen
            ),
        );
    }
    if let Some(url) = &config.server.public_url
        && !is_http_url(url)
    {
        bad(
            "server.public_url",
            format!("`{url}` is not an http(s) URL"),
        );
    }
    if config.server.max_body_bytes == 0 {
        bad("server.max_body_bytes", "must be greater than 0".into());
    }
    if config.server.request_timeout_secs == 0 {
        bad(
            "server.request_timeout_secs",
            "must be greater than 0".into(),
        );
    }
    let url = &config.database.url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        bad(
            "database.url",
            format!("`{url}` must start with sqlite:// or postgres://"),
        );
    }
    if config.database.max_connections == 0 {
        bad("database.max_connections", "must be at least 1".into());
    }
    if config.api.tokens.iter().any(|t| t.trim().is_empty()) {
        bad("api.tokens", "tokens must not be empty strings".into());
    }
    let slack = &config.slack;
    if slack.bot_token.is_some() != slack.signing_secret.is_some() {
        let missing = if slack.bot_token.is_none() {
            "slack.bot_token"
        } else {
            "slack.signing_secret"
        };
        bad(
            missing,
            "Slack needs both slack.bot_token and slack.signing_secret".into(),
        );
    }
    if !is_http_url(&slack.api_url) {
        bad(
            "slack.api_url",
            format!("`{}` is not an http(s) URL", slack.api_url),
        );
    }
    if slack.channel_prefix.is_empty()
        || !slack
            .channel_prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        bad(
            "slack.channel_prefix",
            "use lowercase letters, digits, `-` or `_`".into(),
        );
    }
    let discord = &config.discord;
    if discord.bot_token.is_some() {
        if discord.application_id.is_none() {
            bad(
                "discord.application_id",
                "required when discord.bot_token is set".into(),
            );
        }
        if discord.public_key.is_none() {
            bad(
                "discord.public_key",
                "required when discord.bot_token is set".into(),
            );
        }
    }
    if let Some(key) = &discord.public_key
        && (key.len() != 64 || hex::decode(key).is_err())
    {
        bad(
            "discord.public_key",
            "must be the application's 64-character hex public key".into(),
        );
    }
    if !is_http_url(&discord.api_url) {
        bad(
            "discord.api_url",
            format!("`{}` is not an http(s) URL", discord.api_url),
        );
    }
    if config.outbox.max_attempts == 0 {
        bad("outbox.max_attempts", "must be at least 1".into());
    }
    if config.outbox.poll_interval_ms == 0 {
        bad("outbox.poll_interval_ms", "must be greater than 0".into());
    }
    if let Err(problems) = config.alerts.policy() {
        p.extend(problems);
    }
    if let Err(e) = crate::catalog::load(&config.catalog.path) {
        p.push(Problem {
            key: "catalog.path".into(),
            message: e.to_string(),
        });
    }
    p
}

fn is_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(validate(&Config::default()), vec![]);
    }

    #[test]
    fn every_problem_is_named_by_its_key() {
        let mut c = Config::default();
        c.server.listen = "nowhere".into();
        c.database.url = "mysql://x".into();
        c.slack.bot_token = Some("xoxb".into());
        c.discord.public_key = Some("zz".into());
        let keys: Vec<String> = validate(&c).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "server.listen",
                "database.url",
                "slack.signing_secret",
                "discord.public_key"
            ]
        );
    }
}
