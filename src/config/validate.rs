//! Checks that go beyond types: addresses, URLs, secrets that come in pairs.

use super::load::Problem;
use super::sections::Config;

/// Every semantic problem in `config`, by key.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut p = super::validate_server::validate_limits(config);
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
    if humantime::parse_duration(config.oncall.page_wait.trim()).is_err() {
        bad(
            "oncall.page_wait",
            format!("`{}` is not a duration like `5m`", config.oncall.page_wait),
        );
    }
    for (name, hook) in &config.oncall.webhooks {
        if !is_http_url(&hook.url) {
            bad(
                &format!("oncall.webhooks.{name}.url"),
                format!("`{}` is not an http(s) URL", hook.url),
            );
        }
        if hook.secret.trim().len() < 16 {
            bad(
                &format!("oncall.webhooks.{name}.secret"),
                "must be at least 16 characters (it signs pages and their callbacks)".into(),
            );
        }
    }
    for e in super::exposure::problems(config) {
        bad(&e.key, e.message);
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
            format!(
                "`{}` must start with sqlite:// or postgres://",
                super::validate_server::without_password(url)
            ),
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
    if slack.pin_reaction.trim_matches(':').is_empty() {
        bad(
            "slack.pin_reaction",
            "must name a reaction, e.g. pushpin".into(),
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
    if discord.bot_token.is_some() && discord.guild_id.is_none() {
        bad(
            "discord.guild_id",
            "required when discord.bot_token is set (war rooms are created in this server)".into(),
        );
    }
    let snowflake =
        |v: &str| !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit());
    for (key, value) in [
        ("discord.application_id", &discord.application_id),
        ("discord.guild_id", &discord.guild_id),
        ("discord.category_id", &discord.category_id),
        ("discord.announce_channel", &discord.announce_channel),
    ] {
        if let Some(v) = value
            && !snowflake(v)
        {
            bad(
                key,
                "must be a Discord id (a snowflake: digits only)".into(),
            );
        }
    }
    if discord.room == super::sections::DiscordRoom::Thread && discord.announce_channel.is_none() {
        bad(
            "discord.announce_channel",
            "required when discord.room = \"thread\" (war rooms are its threads)".into(),
        );
    }
    if !is_http_url(&discord.api_url) {
        bad(
            "discord.api_url",
            format!("`{}` is not an http(s) URL", discord.api_url),
        );
    }
    if let Some(url) = &discord.gateway_url
        && !((url.starts_with("ws://") || url.starts_with("wss://")) && url.len() > "wss://".len())
    {
        bad("discord.gateway_url", format!("`{url}` is not a ws(s) URL"));
    }
    if config.outbox.max_attempts == 0 {
        bad("outbox.max_attempts", "must be at least 1".into());
    }
    if config.outbox.lease_secs < 2 {
        bad("outbox.lease_secs", "must be at least 2".into());
    }
    if config.outbox.poll_interval_ms == 0 {
        bad("outbox.poll_interval_ms", "must be greater than 0".into());
    }
    changes(config, &mut bad);
    let pm = &config.postmortem;
    if pm.time_zone.parse::<chrono_tz::Tz>().is_err() {
        bad(
            "postmortem.time_zone",
            format!(
                "`{}` is not an IANA time zone like UTC or Europe/Berlin",
                pm.time_zone
            ),
        );
    }
    if pm.silent_gap_minutes <= 0 {
        bad("postmortem.silent_gap_minutes", "must be at least 1".into());
    }
    if pm.early_alert_minutes < 0 {
        bad(
            "postmortem.early_alert_minutes",
            "must not be negative".into(),
        );
    }
    if pm.max_key_events == 0 {
        bad("postmortem.max_key_events", "must be at least 1".into());
    }
    if !(100..=10_000).contains(&pm.page_size) {
        bad(
            "postmortem.page_size",
            "must be between 100 and 10000".into(),
        );
    }
    if let Err(problems) = config.alerts.policy() {
        p.extend(problems);
    }
    if let Err(problems) = config.reminders.rules() {
        p.extend(problems);
    }
    if let Err(e) = crate::catalog::load(&config.catalog.path) {
        p.push(Problem {
            key: "catalog.path".into(),
            message: e.to_string(),
        });
    }
    p.extend(super::permissions::validate(config));
    p.extend(auth_problems(config));
    p
}

/// `[auth]`: an OIDC issuer needs a client id and a public URL (the redirect URI is built from it).
fn auth_problems(config: &Config) -> Vec<Problem> {
    let problem = |key: &str, message: &str| Problem {
        key: key.into(),
        message: message.into(),
    };
    let mut p = Vec::new();
    if config.auth.session_hours == 0 {
        p.push(problem("auth.session_hours", "must be at least 1"));
    }
    let Some(issuer) = &config.auth.oidc.issuer else {
        return p;
    };
    if !is_http_url(issuer) {
        p.push(problem("auth.oidc.issuer", "must be an http(s) URL"));
    }
    if config.auth.oidc.client_id.is_none() {
        p.push(problem(
            "auth.oidc.client_id",
            "is required when auth.oidc.issuer is set",
        ));
    }
    if config.server.public_url.is_none() {
        p.push(problem(
            "server.public_url",
            "is required for OpenID Connect sign-in: the redirect URI is server.public_url + /signin/oidc/callback",
        ));
    }
    p
}

fn changes(config: &Config, bad: &mut impl FnMut(&str, String)) {
    let c = &config.changes;
    if !(0.0..=1.0).contains(&c.budget_floor) {
        bad("changes.budget_floor", "must be between 0.0 and 1.0".into());
    }
    for (key, v) in [
        ("changes.lookback_mins", c.lookback_mins),
        ("changes.half_life_mins", c.half_life_mins),
        ("changes.verify_window_secs", c.verify_window_secs),
        ("changes.jobs_tick_ms", c.jobs_tick_ms),
        ("changes.webhook_timeout_secs", c.webhook_timeout_secs),
    ] {
        if v == 0 {
            bad(key, "must be greater than 0".into());
        }
    }
    for (i, w) in c.freeze_windows.iter().enumerate() {
        let tz = w.timezone.as_deref().unwrap_or("UTC");
        if let Err(e) = crate::domain::gate::FreezeWindow::parse(&w.name, &w.cron, &w.duration, tz)
        {
            bad(&format!("changes.freeze_windows[{i}]"), e.to_string());
        }
        for k in &w.kinds {
            if let Err(e) = k.parse::<crate::domain::change::ChangeKind>() {
                bad(&format!("changes.freeze_windows[{i}].kinds"), e.to_string());
            }
        }
    }
    for (service, hook) in &c.rollback {
        if !is_http_url(&hook.url) && !hook.url.contains("{{") {
            bad(
                &format!("changes.rollback.{service}.url"),
                format!("`{}` is not an http(s) URL", hook.url),
            );
        }
    }
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
    fn change_center_problems_are_named_by_their_key() {
        let mut c = Config::default();
        c.changes.budget_floor = 2.0;
        c.changes.freeze_windows = vec![crate::config::FreezeWindowConfig {
            name: "weekend".into(),
            cron: "0 18 * * 5".into(),
            duration: "62h".into(),
            timezone: Some("Europe/Nowhere".into()),
            kinds: vec!["party".into()],
            ..Default::default()
        }];
        c.changes.rollback.insert(
            "checkout".into(),
            crate::config::RollbackHook {
                url: "ftp://x".into(),
                ..Default::default()
            },
        );
        let keys: Vec<String> = validate(&c).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "changes.budget_floor",
                "changes.freeze_windows[0]",
                "changes.freeze_windows[0].kinds",
                "changes.rollback.checkout.url"
            ]
        );
    }

    #[test]
    fn freeze_windows_ending_on_sunday_are_valid_and_bad_days_are_named() {
        let window = |cron: &str| crate::config::FreezeWindowConfig {
            name: "w".into(),
            cron: cron.into(),
            duration: "1h".into(),
            ..Default::default()
        };
        let mut c = Config::default();
        c.changes.freeze_windows = [
            "0 18 * * 1-7",
            "0 18 * * 5-7",
            "0 18 * * 6-7",
            "0 0 * * SAT-SUN",
        ]
        .iter()
        .map(|e| window(e))
        .collect();
        assert_eq!(validate(&c), vec![]);
        c.changes.freeze_windows.push(window("0 18 * * 9"));
        let problems = validate(&c);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "changes.freeze_windows[4]");
        assert!(
            problems[0].message.contains("day of week `9`"),
            "{problems:?}"
        );
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

    #[test]
    fn postmortem_settings_are_checked() {
        let mut c = Config::default();
        c.postmortem.time_zone = "Mars/Olympus".into();
        c.postmortem.silent_gap_minutes = 0;
        c.postmortem.page_size = 5;
        let keys: Vec<String> = validate(&c).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "postmortem.time_zone",
                "postmortem.silent_gap_minutes",
                "postmortem.page_size"
            ]
        );
        c.postmortem = Default::default();
        c.postmortem.time_zone = "Europe/Berlin".into();
        assert_eq!(validate(&c), vec![]);
    }
}
