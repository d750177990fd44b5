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
    /// The change center: gates, freezes, approvals, correlation, rollback hooks.
    pub changes: ChangesConfig,
    /// Postmortem drafts.
    pub postmortem: PostmortemConfig,
    /// Alert governance.
    pub alerts: super::alerts::AlertsConfig,
    /// Web sign-in: local accounts and OpenID Connect.
    pub auth: AuthConfig,
    /// `[roles]`: permission role → person ids and `team:ID` entries.
    pub roles: BTreeMap<String, super::permissions::Grants>,
    /// `[policy]`: action → the roles that may do it (absent = the default).
    pub policy: BTreeMap<String, super::permissions::Grants>,
    /// On-call: calendar subscriptions.
    pub oncall: OncallConfig,
    /// The stakeholder status page (`/status`).
    pub status_page: StatusPageConfig,
    /// Reminders that escalate: status-update nudges, "no commander", action items due.
    pub reminders: super::reminders::RemindersConfig,
}

/// `[status_page]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusPageConfig {
    /// Serve `/status` (ongoing incidents with their public updates) to anyone, without sign-in; off by default.
    pub enabled: bool,
    /// The page's heading (default `Service status`).
    pub title: Option<String>,
}

/// `[oncall]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OncallConfig {
    /// Signs per-calendar keys (`/oncall/{schedule}.ics?key=…`) so calendar apps subscribe without a
    /// bearer token (or `file:/path`); unset, calendars need an API token like `/api/v1`.
    #[serde(deserialize_with = "text_or_number")]
    pub calendar_secret: Option<String>,
    /// An incident that opens at or above this severity pages by its service's escalation policy
    /// (or, without one, its schedule's on-call).
    pub page_at: crate::domain::Severity,
    /// How long an on-demand page (`/inc page`, the API) waits for an acknowledgement before it is
    /// exhausted (humantime, `5m`).
    pub page_wait: String,
    /// How old (in seconds) a signed webhook callback may be.
    pub callback_window_secs: u64,
    /// SMS/phone gateways: `oncall.webhooks.<name>.url` / `.secret`.
    pub webhooks: BTreeMap<String, PageWebhook>,
}

impl Default for OncallConfig {
    fn default() -> Self {
        OncallConfig {
            calendar_secret: None,
            page_at: crate::domain::Severity::P1,
            page_wait: "5m".into(),
            callback_window_secs: 300,
            webhooks: BTreeMap::new(),
        }
    }
}

impl OncallConfig {
    /// `page_wait` as a duration (5 minutes when it does not parse; validation reports it).
    pub fn page_wait(&self) -> chrono::Duration {
        humantime::parse_duration(self.page_wait.trim())
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .unwrap_or(chrono::Duration::minutes(5))
    }
}

/// `[oncall.webhooks.<name>]`: an outbound gateway pages are posted to (JSON, HMAC-SHA256 signed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageWebhook {
    /// Where pages are POSTed.
    pub url: String,
    /// The shared secret that signs requests and callbacks (or `file:/path`).
    pub secret: String,
}

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Local accounts (`warroom user add NAME`, argon2id hashes) for teams without SSO.
    pub local_accounts: bool,
    /// OpenID Connect sign-in (any issuer).
    pub oidc: OidcConfig,
    /// How long a web session lasts without use, in hours.
    pub session_hours: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            local_accounts: false,
            oidc: OidcConfig::default(),
            session_hours: 12,
        }
    }
}

impl AuthConfig {
    /// Whether any sign-in method is configured (then the web room and the API may face the network).
    pub fn signin_configured(&self) -> bool {
        self.local_accounts || self.oidc.issuer.is_some()
    }
}

/// `[auth.oidc]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcConfig {
    /// The issuer URL (`https://accounts.google.com`); discovery reads `/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    /// The client id registered with the issuer.
    #[serde(deserialize_with = "text_or_number")]
    pub client_id: Option<String>,
    /// The client secret (or `file:/path`).
    #[serde(deserialize_with = "text_or_number")]
    pub client_secret: Option<String>,
    /// The name shown on the sign-in button (`Okta`, `Google`).
    pub display_name: Option<String>,
    /// How long the issuer's discovery document and keys are used before they are fetched again
    /// (seconds; unset: 3600). An unknown key id fetches the keys at once.
    pub discovery_ttl_secs: Option<u64>,
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
    /// Reverse proxies (CIDRs, `10.0.0.0/8`, `127.0.0.1/32`) whose `X-Forwarded-For` is honoured.
    /// A request that came through a proxy is never treated as a loopback client.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// Serve a non-loopback address without sign-in (everyone who reaches it may act). Off by default.
    pub insecure_open: bool,
    /// A connection whose request head has not fully arrived after this many seconds is dropped.
    pub header_timeout_secs: u64,
    /// A connection that reads and writes nothing for this many seconds is dropped.
    pub idle_timeout_secs: u64,
    /// Live streams (`/incidents/{id}/stream`) open at once, in total (503 beyond).
    pub max_streams: usize,
    /// Live streams open at once from one client address (429 beyond).
    pub max_streams_per_client: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            trusted_proxies: Vec::new(),
            insecure_open: false,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_streams: 512,
            max_streams_per_client: 16,
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
    /// Shared bearer tokens for `/api/v1` (the service account `api`, every scope but `act-as`).
    #[serde(deserialize_with = "string_or_list")]
    pub tokens: Vec<String>,
}

/// A bearer token for one ingest source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceAuth {
    /// The token the source sends as `Authorization: Bearer …`.
    #[serde(deserialize_with = "text_or_number")]
    pub token: Option<String>,
}

/// `[ingest.github]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GithubIngest {
    /// The webhook secret for `X-Hub-Signature-256`.
    #[serde(deserialize_with = "text_or_number")]
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
    /// Heartbeats (`POST /hooks/heartbeat/{name}`).
    pub heartbeat: SourceAuth,
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
    #[serde(deserialize_with = "text_or_number")]
    pub bot_token: Option<String>,
    /// Signing secret for v0 request signatures (all digits in TOML or the environment stay a string).
    #[serde(deserialize_with = "text_or_number")]
    pub signing_secret: Option<String>,
    /// Web API base URL.
    pub api_url: String,
    /// War-room channel prefix.
    pub channel_prefix: String,
    /// Channel for announcements, if any.
    #[serde(deserialize_with = "text_or_number")]
    pub announce_channel: Option<String>,
    /// Whether war-room channels are private.
    pub private_channels: bool,
    /// The reaction that marks a message as a key event (without colons).
    pub pin_reaction: String,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            bot_token: None,
            signing_secret: None,
            api_url: "https://slack.com/api/".into(),
            channel_prefix: "inc-".into(),
            announce_channel: None,
            private_channels: false,
            pin_reaction: "pushpin".into(),
        }
    }
}

/// `[discord]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscordConfig {
    /// Bot token (or `file:/path`).
    #[serde(deserialize_with = "text_or_number")]
    pub bot_token: Option<String>,
    /// Application id (a snowflake, given as a number or a string).
    #[serde(deserialize_with = "text_or_number")]
    pub application_id: Option<String>,
    /// Public key for Ed25519 interaction signatures (hex, or `file:/path`).
    #[serde(deserialize_with = "text_or_number")]
    pub public_key: Option<String>,
    /// Guild (server) id (a snowflake, given as a number or a string).
    #[serde(deserialize_with = "text_or_number")]
    pub guild_id: Option<String>,
    /// REST API base URL.
    pub api_url: String,
    /// Whether this deployment records war-room messages through the gateway (needs `bot_token`).
    pub gateway: bool,
    /// The gateway WebSocket URL, instead of asking `GET /gateway/bot` (tests, proxies).
    pub gateway_url: Option<String>,
    /// The category war-room channels are created under (a snowflake), when `room = "channel"`.
    #[serde(deserialize_with = "text_or_number")]
    pub category_id: Option<String>,
    /// The channel (a snowflake) announcements go to; with `room = "thread"`, war rooms are its threads.
    #[serde(deserialize_with = "text_or_number")]
    pub announce_channel: Option<String>,
    /// What a war room is: a text `channel` per incident, or a `thread` in the announce channel.
    pub room: DiscordRoom,
    /// War-room channel prefix.
    pub channel_prefix: String,
    /// How long (ms) a command may work before its interaction answer is deferred and followed up
    /// (Discord allows 3 s in all); 0 defers every answer.
    pub answer_within_ms: u64,
}

/// What a Discord war room is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscordRoom {
    /// A text channel per incident under `discord.category_id`.
    #[default]
    Channel,
    /// A public thread per incident in `discord.announce_channel`.
    Thread,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            bot_token: None,
            application_id: None,
            public_key: None,
            guild_id: None,
            api_url: "https://discord.com/api/v10/".into(),
            gateway: true,
            gateway_url: None,
            category_id: None,
            announce_channel: None,
            room: DiscordRoom::Channel,
            channel_prefix: "inc-".into(),
            answer_within_ms: 2500,
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
    /// Attempts after which an entry that keeps failing for a transient cause is reported as
    /// poisoned (a warning; it keeps retrying at the capped backoff). Permanent causes fail at once.
    pub max_attempts: u32,
    /// First retry delay, in milliseconds; doubles each attempt.
    pub initial_backoff_ms: u64,
    /// Longest retry delay, in seconds.
    pub max_backoff_secs: u64,
    /// How long a claimed entry stays with its worker before another may take it (a crashed
    /// replica's work); a running delivery renews it every third of this.
    pub lease_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            poll_interval_ms: 250,
            max_attempts: 12,
            initial_backoff_ms: 500,
            max_backoff_secs: 10,
            lease_secs: 10,
        }
    }
}

/// `[changes]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangesConfig {
    /// Open incidents at or above this severity (on the service or a dependency) close the gate.
    pub gate_severity: crate::domain::Severity,
    /// An error budget at or below this (0.0–1.0) closes the gate.
    pub budget_floor: f64,
    /// Who may `/change approve`; empty = anyone.
    #[serde(deserialize_with = "string_or_list")]
    pub approvers: Vec<String>,
    /// Who may override a closed gate; empty = nobody.
    #[serde(deserialize_with = "string_or_list")]
    pub overriders: Vec<String>,
    /// Who may run `/inc rollback`; empty = anyone in the war room.
    #[serde(deserialize_with = "string_or_list")]
    pub rollbackers: Vec<String>,
    /// Recurring freeze windows.
    pub freeze_windows: Vec<FreezeWindowConfig>,
    /// How far back before an incident's first signal changes are suspects, in minutes.
    pub lookback_mins: u64,
    /// After this many minutes a change's time score has halved.
    pub half_life_mins: u64,
    /// At most this many suspects are linked per incident.
    pub max_suspects: usize,
    /// Rollback hooks by service.
    pub rollback: BTreeMap<String, RollbackHook>,
    /// How long after a rollback the incident's alerts must have resolved, in seconds.
    pub verify_window_secs: u64,
    /// How often the job tick looks for due jobs, in milliseconds.
    pub jobs_tick_ms: u64,
    /// Timeout of one rollback-hook request, in seconds.
    pub webhook_timeout_secs: u64,
    /// The longest freeze `/change freeze` or the API may declare (humantime, `30d`).
    pub max_freeze: String,
}

impl Default for ChangesConfig {
    fn default() -> Self {
        ChangesConfig {
            gate_severity: crate::domain::Severity::P1,
            budget_floor: 0.0,
            approvers: Vec::new(),
            overriders: Vec::new(),
            rollbackers: Vec::new(),
            freeze_windows: Vec::new(),
            lookback_mins: 24 * 60,
            half_life_mins: 30,
            max_suspects: 5,
            rollback: BTreeMap::new(),
            verify_window_secs: 600,
            jobs_tick_ms: 1000,
            webhook_timeout_secs: 10,
            max_freeze: "30d".into(),
        }
    }
}

/// `[postmortem]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PostmortemConfig {
    /// IANA time zone the draft shows local times in (`Europe/Berlin`).
    pub time_zone: String,
    /// A silence in the room longer than this many minutes becomes a review question.
    pub silent_gap_minutes: i64,
    /// An alert that fired this many minutes before the declare becomes a review question.
    pub early_alert_minutes: i64,
    /// At most this many key events are listed in a draft.
    pub max_key_events: usize,
    /// Timeline events read per page while building a draft.
    pub page_size: i64,
}

impl Default for PostmortemConfig {
    fn default() -> Self {
        PostmortemConfig {
            time_zone: "UTC".into(),
            silent_gap_minutes: 15,
            early_alert_minutes: 10,
            max_key_events: 500,
            page_size: 2000,
        }
    }
}

/// `[[changes.freeze_windows]]`: a cron start (5-field, Sunday = 0), a duration and a time zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FreezeWindowConfig {
    /// Its name.
    pub name: String,
    /// When it opens (`0 18 * * 5` = Friday 18:00).
    pub cron: String,
    /// How long it stays open (`62h`).
    pub duration: String,
    /// IANA time zone of the cron expression (default UTC).
    pub timezone: Option<String>,
    /// Services it covers; empty = all.
    pub services: Vec<String>,
    /// Change kinds it covers; empty = all.
    pub kinds: Vec<String>,
    /// Why it exists (shown in the gate's answer).
    pub reason: Option<String>,
}

/// `[changes.rollback.<service>]`: an HTTP request template (minijinja placeholders `{{ change.* }}`,
/// `{{ incident.* }}`, `{{ actor }}`) that rolls the service back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RollbackHook {
    /// URL template.
    pub url: String,
    /// HTTP method (default POST).
    pub method: Option<String>,
    /// Header templates.
    pub headers: BTreeMap<String, String>,
    /// Body template.
    pub body: Option<String>,
}

/// An id or secret given as a string or, in TOML or the environment, as a number: kept as the
/// string it is (`application_id = 900000000000000010`, `signing_secret = 123456`).
pub(crate) fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    crate::domain::people::id_string(d)
}

/// One list item: a string, or a number kept as its digits.
#[derive(Deserialize)]
#[serde(untagged)]
enum Item {
    Text(String),
    Unsigned(u64),
    Signed(i64),
}

impl Item {
    fn text(self) -> String {
        match self {
            Item::Text(s) => s,
            Item::Unsigned(n) => n.to_string(),
            Item::Signed(n) => n.to_string(),
        }
    }
}

/// Accepts `["a", "b"]` or `"a,b"` (handy in environment variables); numbers are kept as strings.
pub(crate) fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Item),
        Many(Vec<Item>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .text()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        OneOrMany::Many(v) => v.into_iter().map(Item::text).collect(),
    })
}
