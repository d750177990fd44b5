//! `file:/path` for every secret-bearing key: the value is replaced by the file's trimmed contents.
//!
//! Covered: Slack and Discord tokens and keys, every ingest token and the GitHub secret, the API
//! tokens, the OIDC client secret, the database URL, PagerDuty routing keys (the table's keys) and
//! rollback hooks (url, body, headers). A file that cannot be read is a problem named by its key; the secret itself
//! never appears in a message.

use super::load::Problem;
use super::sections::Config;

/// Reads `file:` at `key`, if the value is one.
pub fn resolve(key: &str, value: &mut String, problems: &mut Vec<Problem>) {
    let Some(path) = value.strip_prefix("file:") else {
        return;
    };
    match std::fs::read_to_string(path) {
        Ok(s) => *value = s.trim().to_string(),
        Err(e) => problems.push(Problem {
            key: key.to_string(),
            message: format!("cannot read {path}: {e}"),
        }),
    }
}

/// Reads `file:` at `key` for an optional value.
pub fn resolve_opt(key: &str, value: &mut Option<String>, problems: &mut Vec<Problem>) {
    if let Some(v) = value.as_mut() {
        resolve(key, v, problems);
    }
}

/// Replaces every `file:/path` secret in `config` by the file's contents.
pub fn resolve_secret_files(config: &mut Config, problems: &mut Vec<Problem>) {
    let optional: Vec<(&str, &mut Option<String>)> = vec![
        ("slack.bot_token", &mut config.slack.bot_token),
        ("slack.signing_secret", &mut config.slack.signing_secret),
        ("discord.bot_token", &mut config.discord.bot_token),
        ("discord.public_key", &mut config.discord.public_key),
        (
            "ingest.alertmanager.token",
            &mut config.ingest.alertmanager.token,
        ),
        ("ingest.grafana.token", &mut config.ingest.grafana.token),
        ("ingest.alerts.token", &mut config.ingest.alerts.token),
        ("ingest.changes.token", &mut config.ingest.changes.token),
        ("ingest.argocd.token", &mut config.ingest.argocd.token),
        ("ingest.heartbeat.token", &mut config.ingest.heartbeat.token),
        ("ingest.github.secret", &mut config.ingest.github.secret),
        (
            "auth.oidc.client_secret",
            &mut config.auth.oidc.client_secret,
        ),
        ("oncall.calendar_secret", &mut config.oncall.calendar_secret),
    ];
    for (key, value) in optional {
        resolve_opt(key, value, problems);
    }
    resolve("database.url", &mut config.database.url, problems);
    for (i, token) in config.api.tokens.iter_mut().enumerate() {
        resolve(&format!("api.tokens[{i}]"), token, problems);
    }
    let keys = std::mem::take(&mut config.ingest.pagerduty.routing_keys);
    for (mut key, service) in keys {
        resolve(
            &format!("ingest.pagerduty.routing_keys.{service}"),
            &mut key,
            problems,
        );
        config.ingest.pagerduty.routing_keys.insert(key, service);
    }
    for (name, hook) in config.oncall.webhooks.iter_mut() {
        resolve(
            &format!("oncall.webhooks.{name}.secret"),
            &mut hook.secret,
            problems,
        );
    }
    for (service, hook) in config.changes.rollback.iter_mut() {
        resolve(
            &format!("changes.rollback.{service}.url"),
            &mut hook.url,
            problems,
        );
        resolve_opt(
            &format!("changes.rollback.{service}.body"),
            &mut hook.body,
            problems,
        );
        for (name, value) in hook.headers.iter_mut() {
            resolve(
                &format!("changes.rollback.{service}.headers.{name}"),
                value,
                problems,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_secret_reads_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            format!("file:{}", p.display())
        };
        let mut c = Config::default();
        c.slack.signing_secret = Some(file("signing", "123456\n"));
        c.ingest.alerts.token = Some(file("alerts", "tok-a"));
        c.api.tokens = vec![file("api", "tok-api")];
        c.database.url = file("db", "postgres://u:pw@h/db\n");
        c.auth.oidc.client_secret = Some(file("oidc", "oidc-secret"));
        c.ingest
            .pagerduty
            .routing_keys
            .insert(file("pd", "R0UTINGKEY"), "checkout".into());
        c.changes.rollback.insert(
            "checkout".into(),
            crate::config::RollbackHook {
                url: file("hook-url", "https://x/?token=t0k\n"),
                headers: [("Authorization".to_string(), file("hook", "Bearer h00k"))].into(),
                ..Default::default()
            },
        );
        let mut problems = Vec::new();
        resolve_secret_files(&mut c, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.slack.signing_secret.as_deref(), Some("123456"));
        assert_eq!(c.ingest.alerts.token.as_deref(), Some("tok-a"));
        assert_eq!(c.api.tokens, ["tok-api"]);
        assert_eq!(c.database.url, "postgres://u:pw@h/db");
        assert_eq!(c.auth.oidc.client_secret.as_deref(), Some("oidc-secret"));
        assert_eq!(
            c.ingest
                .pagerduty
                .routing_keys
                .get("R0UTINGKEY")
                .map(String::as_str),
            Some("checkout")
        );
        assert_eq!(
            c.changes.rollback["checkout"].headers["Authorization"],
            "Bearer h00k"
        );
        assert_eq!(c.changes.rollback["checkout"].url, "https://x/?token=t0k");
    }

    #[test]
    fn an_unreadable_file_is_named_by_its_key() {
        let mut c = Config::default();
        c.database.url = "file:/nonexistent/warroom-db-url".into();
        let mut problems = Vec::new();
        resolve_secret_files(&mut c, &mut problems);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "database.url");
    }
}
