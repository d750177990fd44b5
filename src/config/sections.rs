//! The configuration sections and their defaults.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// HTTP server.
    pub server: ServerConfig,
    /// Database.
    pub database: DatabaseConfig,
    /// The `/api/v1` API.
    pub api: ApiConfig,
    /// Inbound webhooks.
    pub ingest: IngestConfig,
    /// Slack.
    pub slack: SlackConfig,
    /// Discord.
    pub discord: DiscordConfig,
    /// Service catalog.
    pub catalog: CatalogConfig,
    /// Templates.
    pub templates: TemplatesConfig,
    /// Outbox delivery.
    pub outbox: OutboxConfig,
    /// Alert governance.
    pub alerts: super::alerts::AlertsConfig,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// The URL users and platforms reach warroom at (links, Slack manifest).
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest time a request may take, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://data/warroom.db".into(),
            max_connections: 8,
        }
    }
}

/// `[api]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// Bearer tokens for `/api/v1`; when empty the API is open on loopback only.
    #[serde(deserialize_with = "string_or_list")]
    pub tokens: Vec<String>,
}

/// A bearer token for one ingest source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceAuth {
    /// The token the source sends as `Authorization: Bearer …`.
    pub token: Option<String>,
}

/// `[ingest.github]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GithubIngest {
    /// The webhook secret for `X-Hub-Signature-256`.
    pub secret: Option<String>,
}

/// `[ingest.pagerduty]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PagerDutyIngest {
    /// Routing key → service name.
    pub routing_keys: BTreeMap<String, String>,
}

/// `[ingest]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestConfig {
    /// Prometheus Alertmanager webhook.
    pub alertmanager: SourceAuth,
    /// Grafana webhook.
    pub grafana: SourceAuth,
    /// warroom's native alert JSON.
    pub alerts: SourceAuth,
    /// warroom's native change JSON.
    pub changes: SourceAuth,
    /// Argo CD notifications.
    pub argocd: SourceAuth,
    /// GitHub deployments.
    pub github: GithubIngest,
    /// PagerDuty Events API v2.
    pub pagerduty: PagerDutyIngest,
}

/// `[slack]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SlackConfig {
    /// Bot token (`xoxb-…`).
    pub bot_token: Option<String>,
    /// Signing secret for v0 request signatures.
    pub signing_secret: Option<String>,
    /// Web API base URL.
    pub api_url: String,
    /// War-room channel prefix.
    pub channel_prefix: String,
    /// Channel for announcements, if any.
    pub announce_channel: Option<String>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            bot_token: None,
            signing_secret: None,
            api_url: "https://slack.com/api/".into(),
            channel_prefix: "inc-".into(),
            announce_channel: None,
        }
    }
}

/// `[discord]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscordConfig {
    /// Bot token.
    pub bot_token: Option<String>,
    /// Application id.
    pub application_id: Option<String>,
    /// Public key for Ed25519 interaction signatures (hex).
    pub public_key: Option<String>,
    /// Guild (server) id.
    pub guild_id: Option<String>,
    /// REST API base URL.
    pub api_url: String,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            bot_token: None,
            application_id: None,
            public_key: None,
            guild_id: None,
            api_url: "https://discord.com/api/v10/".into(),
        }
    }
}

/// `[catalog]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogConfig {
    /// The service catalog file.
    pub path: String,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            path: "config/services.toml".into(),
        }
    }
}

/// `[templates]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplatesConfig {
    /// A folder whose templates override the embedded ones.
    pub dir: Option<String>,
}

/// `[outbox]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboxConfig {
    /// How often an idle worker looks for work, in milliseconds.
    pub poll_interval_ms: u64,
    /// Attempts before an entry is given up on.
    pub max_attempts: u32,
    /// First retry delay, in milliseconds; doubles each attempt.
    pub initial_backoff_ms: u64,
    /// Longest retry delay, in seconds.
    pub max_backoff_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            poll_interval_ms: 250,
            max_attempts: 12,
            initial_backoff_ms: 500,
            max_backoff_secs: 300,
        }
    }
}

/// Accepts `["a", "b"]` or `"a,b"` (handy in environment variables).
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}
