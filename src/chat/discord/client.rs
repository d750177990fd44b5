//! A small Discord REST client over reqwest for exactly the routes warroom uses, honouring the
//! per-route buckets (`X-RateLimit-Remaining` / `X-RateLimit-Reset-After`) and the global limit
//! (`429` with `retry_after` and `global`): a call that would exceed one is not made, and the wait
//! goes back to the outbox as the port's `Retry { after }`.
//!
//! With a shared limit (PostgreSQL: [`crate::chat::SharedRateLimit`] over the database) every replica
//! also draws on one bucket for the global 50 requests a second, and a spent route or a global 429
//! that one replica learns is honoured by all of them.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Discord's global limit: requests a second per bot, across every route.
pub const GLOBAL_PER_SECOND: u32 = 50;
/// The shared bucket of the global limit.
const GLOBAL_BUCKET: &str = "discord:global";

/// What a REST call can end with besides success.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiscordError {
    /// A bucket (or the global limit) is spent: try again after `after`.
    #[error("{route}: rate limited for {after:?}{}", if *.global { " (global)" } else { "" })]
    RateLimited {
        /// The route.
        route: String,
        /// How long Discord asked us to wait.
        after: Duration,
        /// Whether it was the global limit.
        global: bool,
    },
    /// A 4xx with Discord's JSON error (`{"code": 10003, "message": "Unknown Channel"}`).
    #[error("{route}: HTTP {status}: {message} (code {code})")]
    Api {
        /// The route.
        route: String,
        /// The HTTP status.
        status: u16,
        /// Discord's JSON error code.
        code: i64,
        /// Discord's message.
        message: String,
    },
    /// A 5xx, a timeout or a connection failure: the call may or may not have taken effect.
    #[error("{route}: {reason}")]
    Transient {
        /// The route.
        route: String,
        /// What happened.
        reason: String,
    },
}

impl DiscordError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, DiscordError::Api { .. })
    }

    /// Discord's JSON error code, if it answered one.
    pub fn code(&self) -> Option<i64> {
        match self {
            DiscordError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// One bucket's state as the last answer on its route said.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    remaining: u64,
    resets_at: Instant,
}

/// The Discord REST client (cheap to clone: the buckets are shared).
#[derive(Clone)]
pub struct DiscordClient {
    http: reqwest::Client,
    base: String,
    token: String,
    application_id: String,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    global_until: Arc<Mutex<Option<Instant>>>,
    shared: Option<Arc<dyn crate::chat::SharedRateLimit>>,
}

/// The shared bucket of a route's learned limit.
fn route_bucket(route: &str) -> String {
    format!("discord:route:{route}")
}

/// The route's bucket key: the method and path with ids other than the major parameters
/// (channel, guild, webhook) replaced, so `…/messages/1` and `…/messages/2` share a bucket.
pub fn route_key(method: &Method, path: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut previous = "";
    for seg in path.trim_start_matches('/').split('/') {
        let major = matches!(previous, "channels" | "guilds" | "webhooks");
        let id = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
        parts.push(if id && !major {
            ":id".into()
        } else {
            seg.to_string()
        });
        previous = seg;
    }
    format!("{method} /{}", parts.join("/"))
}

fn header_f64(resp: &reqwest::Response, name: &str) -> Option<f64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 3600.0))
}

impl DiscordClient {
    /// A client for `base` (`https://discord.com/api/v10/`) with the bot token.
    pub fn new(base: &str, token: &str, application_id: &str) -> DiscordClient {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!(
                "DiscordBot (https://github.com/warroom, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()
            .unwrap_or_default();
        DiscordClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            application_id: application_id.to_string(),
            buckets: Arc::default(),
            global_until: Arc::default(),
            shared: None,
        }
    }

    /// The same client, also drawing on `shared` so that replicas together stay under Discord's limits.
    pub fn with_shared_limit(mut self, shared: Arc<dyn crate::chat::SharedRateLimit>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Waits for the shared global bucket; answers a wait another replica learned for `route`.
    async fn shared_wait(&self, route: &str) -> Option<(Duration, bool)> {
        let shared = self.shared.as_ref()?;
        let blocked = shared.blocked(&route_bucket(route), GLOBAL_BUCKET).await;
        if !blocked.is_zero() {
            return Some((blocked, false));
        }
        let per_minute = GLOBAL_PER_SECOND * 60;
        let wait = shared
            .reserve(GLOBAL_BUCKET, per_minute, GLOBAL_PER_SECOND)
            .await;
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "waiting for the shared Discord global limit"
            );
            tokio::time::sleep(wait).await;
        }
        None
    }

    /// Tells the other replicas that `bucket` is spent for `after`.
    async fn share_block(&self, bucket: &str, after: Duration) {
        if let Some(shared) = &self.shared {
            shared.block(bucket, after).await;
        }
    }

    /// The application id.
    pub fn application_id(&self) -> &str {
        &self.application_id
    }

    /// How long to wait before `route` may be called (zero: now).
    fn wait_for(&self, route: &str) -> Option<(Duration, bool)> {
        let now = Instant::now();
        if let Some(until) = *self.global_until.lock().unwrap_or_else(|e| e.into_inner())
            && until > now
        {
            return Some((until - now, true));
        }
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.get(route)?;
        (b.remaining == 0 && b.resets_at > now).then(|| (b.resets_at - now, false))
    }

    /// Keeps the route's bucket as the answer describes it; answers how long it is spent, if it is.
    fn learn(&self, route: &str, resp: &reqwest::Response) -> Option<Duration> {
        let (Some(remaining), Some(reset_after)) = (
            header_f64(resp, "x-ratelimit-remaining"),
            header_f64(resp, "x-ratelimit-reset-after"),
        ) else {
            return None;
        };
        let bucket = Bucket {
            remaining: remaining.max(0.0) as u64,
            resets_at: Instant::now() + secs(reset_after),
        };
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(route.to_string(), bucket);
        (bucket.remaining == 0).then(|| secs(reset_after))
    }

    /// Calls `method path` with an optional JSON body; answers the JSON (`null` for 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DiscordError> {
        let route = route_key(&method, path);
        let wait = match self.wait_for(&route) {
            Some(wait) => Some(wait),
            None => self.shared_wait(&route).await,
        };
        if let Some((after, global)) = wait {
            return Err(DiscordError::RateLimited {
                route,
                after,
                global,
            });
        }
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        let mut req = self
            .http
            .request(method, &url)
            .header("authorization", format!("Bot {}", self.token));
        if let Some(b) = body {
            req = req.json(b);
        }
        let transient = |reason: String| DiscordError::Transient {
            route: route.clone(),
            reason,
        };
        let resp = req.send().await.map_err(|e| transient(e.to_string()))?;
        if let Some(spent) = self.learn(&route, &resp) {
            self.share_block(&route_bucket(&route), spent).await;
        }
        let status = resp.status();
        let scope_global = resp
            .headers()
            .get("x-ratelimit-global")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        let header_after = header_f64(&resp, "retry-after");
        let text = resp.text().await.map_err(|e| transient(e.to_string()))?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            let global = scope_global || json["global"] == true;
            let after = secs(json["retry_after"].as_f64().or(header_after).unwrap_or(1.0));
            if global {
                *self.global_until.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now() + after);
            }
            let bucket = if global {
                GLOBAL_BUCKET.to_string()
            } else {
                route_bucket(&route)
            };
            self.share_block(&bucket, after).await;
            tracing::warn!(%route, ?after, global, "Discord rate limit");
            return Err(DiscordError::RateLimited {
                route,
                after,
                global,
            });
        }
        if status.is_server_error() {
            return Err(transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(DiscordError::Api {
                route,
                status: status.as_u16(),
                code: json["code"].as_i64().unwrap_or(0),
                message: json["message"]
                    .as_str()
                    .unwrap_or_else(|| status.canonical_reason().unwrap_or("error"))
                    .to_string(),
            });
        }
        Ok(json)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, DiscordError> {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, DiscordError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, DiscordError> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, DiscordError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// Replaces the application's commands (globally, or in one guild): Discord's bulk overwrite,
    /// idempotent by design (the same list twice leaves the same commands).
    pub async fn register_commands(
        &self,
        guild: Option<&str>,
        commands: &Value,
    ) -> Result<Value, DiscordError> {
        let app = &self.application_id;
        let path = match guild {
            Some(g) => format!("applications/{app}/guilds/{g}/commands"),
            None => format!("applications/{app}/commands"),
        };
        self.put(&path, commands).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_share_buckets_by_major_parameter() {
        assert_eq!(
            route_key(&Method::POST, "channels/123/messages"),
            "POST /channels/123/messages"
        );
        assert_eq!(
            route_key(&Method::PATCH, "/channels/123/messages/456"),
            "PATCH /channels/123/messages/:id"
        );
        assert_eq!(
            route_key(&Method::PUT, "channels/1/permissions/99"),
            "PUT /channels/1/permissions/:id"
        );
    }
}
