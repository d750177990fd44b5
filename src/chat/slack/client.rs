//! A small typed Slack Web API client over reqwest, for exactly the methods warroom uses.

use super::rate::RateLimits;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// What a Web API call can end with besides success.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SlackError {
    /// HTTP 429 (or `ratelimited`): try again after the platform's `Retry-After`.
    #[error("{method}: rate limited")]
    RateLimited {
        /// The method.
        method: String,
        /// How long Slack asked us to wait.
        after: Option<Duration>,
    },
    /// `{"ok": false, "error": …}`.
    #[error("{method}: {error}")]
    Api {
        /// The method.
        method: String,
        /// Slack's error code (`channel_not_found` …).
        error: String,
    },
    /// A 5xx, a timeout or a connection failure: the call may or may not have taken effect.
    #[error("{method}: {reason}")]
    Transient {
        /// The method.
        method: String,
        /// What happened.
        reason: String,
    },
}

impl SlackError {
    /// Slack's error code, if the API answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SlackError::RateLimited { .. } | SlackError::Transient { .. } => true,
            SlackError::Api { error, .. } => matches!(
                error.as_str(),
                "ratelimited"
                    | "internal_error"
                    | "fatal_error"
                    | "service_unavailable"
                    | "request_timeout"
                    | "team_added_to_org"
            ),
        }
    }
}

/// Calls of one method per delivery attempt, in-place retries included.
const MAX_TRIES: u32 = 3;
/// The longest `Retry-After` waited out in place; longer ones go back to the outbox.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// Methods whose repetition after a lost reply has no second effect.
const IDEMPOTENT: [&str; 11] = [
    "auth.test",
    "conversations.list",
    "conversations.history",
    "conversations.setTopic",
    "conversations.invite",
    "conversations.join",
    "conversations.open",
    "chat.update",
    "pins.add",
    "users.info",
    "users.lookupByEmail",
];

/// The Web API client: base URL from `slack.api_url`, the bot token, per-method rate limits.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: String,
    token: String,
    limits: Arc<RateLimits>,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SlackClient {
    /// A client for the Web API at `base` (e.g. `https://slack.com/api/`) with bot token `token`.
    pub fn new(base: &str, token: &str) -> SlackClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        SlackClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            limits: Arc::new(RateLimits::default()),
        }
    }

    /// The same client, drawing on a rate limit shared with the other replicas as well.
    pub fn with_shared_limit(
        mut self,
        shared: Arc<dyn crate::chat::SharedRateLimit>,
    ) -> SlackClient {
        self.limits = Arc::new(RateLimits::default().with_shared(shared));
        self
    }

    /// Calls a write method with a JSON body; returns the whole `{"ok": true, …}` answer.
    pub async fn call(&self, method: &str, args: Value) -> Result<Value, SlackError> {
        let channel = args["channel"].as_str().map(str::to_string);
        self.limits.until_ready(method, channel.as_deref()).await;
        let req = self.request(method).json(&args);
        self.send_retrying(method, channel.as_deref(), req).await
    }

    /// Calls a read method with form-encoded arguments (how Slack takes `conversations.list` …).
    pub async fn call_form(
        &self,
        method: &str,
        args: &[(&str, String)],
    ) -> Result<Value, SlackError> {
        self.limits.until_ready(method, None).await;
        let req = self.request(method).form(args);
        self.send_retrying(method, None, req).await
    }

    /// Sends, retrying in place what is safe to retry: a `429` (Slack did nothing) after its
    /// `Retry-After` when that is short, and a 5xx/timeout of a method whose repetition is harmless.
    /// Anything else, or a third failure, goes back to the outbox with its `Retry-After`.
    async fn send_retrying(
        &self,
        method: &str,
        channel: Option<&str>,
        req: reqwest::RequestBuilder,
    ) -> Result<Value, SlackError> {
        let (mut req, mut tries) = (req, 0u32);
        loop {
            let attempt = req.try_clone();
            let result = self.send(method, req).await;
            tries += 1;
            let wait = match &result {
                Err(SlackError::RateLimited { after, .. }) if tries < MAX_TRIES => {
                    let after = after.unwrap_or(Duration::from_secs(1));
                    (after <= MAX_INLINE_WAIT).then_some(after)
                }
                Err(SlackError::Transient { .. })
                    if tries < MAX_TRIES && IDEMPOTENT.contains(&method) =>
                {
                    Some(Duration::from_millis(100 << tries))
                }
                _ => None,
            };
            let (Some(wait), Some(next)) = (wait, attempt) else {
                return result;
            };
            tracing::debug!(
                method,
                wait_ms = wait.as_millis() as u64,
                "retrying a Slack call in place"
            );
            tokio::time::sleep(wait).await;
            self.limits.until_ready(method, channel).await;
            req = next;
        }
    }

    fn request(&self, method: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(&self, method: &str, req: reqwest::RequestBuilder) -> Result<Value, SlackError> {
        let transient = |reason: String| SlackError::Transient {
            method: method.to_string(),
            reason,
        };
        let resp = req.send().await.map_err(|e| transient(e.to_string()))?;
        let status = resp.status();
        if status.as_u16() == 429 {
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            metrics::counter!("warroom_slack_rate_limited_total", "method" => method.to_string())
                .increment(1);
            return Err(SlackError::RateLimited {
                method: method.to_string(),
                after,
            });
        }
        if status.is_server_error() {
            return Err(transient(format!("HTTP {status}")));
        }
        let body: Value = resp
            .json()
            .await
            .map_err(|e| transient(format!("unreadable answer: {e}")))?;
        if body["ok"].as_bool() == Some(true) {
            return Ok(body);
        }
        let error = body["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_string();
        if error == "ratelimited" {
            return Err(SlackError::RateLimited {
                method: method.to_string(),
                after: None,
            });
        }
        Err(SlackError::Api {
            method: method.to_string(),
            error,
        })
    }

    /// `auth.test`: the bot's own user id.
    pub async fn bot_user_id(&self) -> Result<String, SlackError> {
        let body = self.call("auth.test", json!({})).await?;
        Ok(body["user_id"].as_str().unwrap_or_default().to_string())
    }

    /// `conversations.list`, every page: the channel named `name`, if any (archived ones included).
    pub async fn find_channel(&self, name: &str) -> Result<Option<Value>, SlackError> {
        let mut cursor = String::new();
        loop {
            let mut args = vec![
                ("types", "public_channel,private_channel".to_string()),
                ("limit", "200".to_string()),
            ];
            if !cursor.is_empty() {
                args.push(("cursor", cursor.clone()));
            }
            let body = self.call_form("conversations.list", &args).await?;
            if let Some(found) = body["channels"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["name"].as_str() == Some(name)))
            {
                return Ok(Some(found.clone()));
            }
            cursor = body["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                return Ok(None);
            }
        }
    }

    /// `conversations.history` with metadata: the ts of a recent message carrying our `key`.
    pub async fn find_message(
        &self,
        channel: &str,
        key: &str,
    ) -> Result<Option<String>, SlackError> {
        let args = [
            ("channel", channel.to_string()),
            ("limit", "200".to_string()),
            ("include_all_metadata", "true".to_string()),
        ];
        let body = self.call_form("conversations.history", &args).await?;
        Ok(body["messages"].as_array().and_then(|ms| {
            ms.iter()
                .find(|m| m["metadata"]["event_payload"]["key"].as_str() == Some(key))
                .and_then(|m| m["ts"].as_str().map(str::to_string))
        }))
    }

    /// `users.info`: the user's display name (profile display name, else real name, else handle).
    pub async fn user_name(&self, user: &str) -> Result<String, SlackError> {
        let body = self
            .call_form("users.info", &[("user", user.to_string())])
            .await?;
        let u = &body["user"];
        let name = [
            &u["profile"]["display_name"],
            &u["profile"]["real_name"],
            &u["real_name"],
            &u["name"],
        ]
        .into_iter()
        .filter_map(|v| v.as_str())
        .find(|s| !s.trim().is_empty())
        .unwrap_or(user);
        Ok(name.to_string())
    }

    /// `users.lookupByEmail`: the id of the workspace user with that e-mail (`users_not_found` when none).
    pub async fn user_by_email(&self, email: &str) -> Result<String, SlackError> {
        let body = self
            .call_form("users.lookupByEmail", &[("email", email.to_string())])
            .await?;
        body["user"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SlackError::Api {
                method: "users.lookupByEmail".into(),
                error: "users_not_found".into(),
            })
    }
}
