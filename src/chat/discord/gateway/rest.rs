//! The two REST calls the gateway needs: `GET /gateway/bot` (where to connect, how many IDENTIFYs
//! are left) and `GET /channels/{id}/messages?after=` (the back-fill), with `Authorization: Bot`
//! and Discord's `429` `retry_after` honoured.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// How often a rate-limited call is tried again before giving up.
const MAX_TRIES: u32 = 4;
/// Discord's page size for channel history.
pub const PAGE: usize = 100;

/// A REST failure.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The request could not be made or its answer read.
    #[error("Discord request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// Discord answered with an error status.
    #[error("Discord answered {status} to {what}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Which call.
        what: &'static str,
    },
    /// An id that is not a snowflake would have been spliced into a URL.
    #[error("`{0}` is not a Discord id")]
    BadId(String),
}

/// `GET /gateway/bot`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct GatewayBot {
    /// The WebSocket URL.
    pub url: String,
    /// How many sessions may still be started, and when that renews.
    #[serde(default)]
    pub session_start_limit: Option<SessionStartLimit>,
}

/// The IDENTIFY budget.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionStartLimit {
    /// IDENTIFYs left.
    pub remaining: u64,
    /// Milliseconds until the budget renews.
    pub reset_after: u64,
}

/// Whether `id` is a snowflake (decimal digits only), safe to put in a URL path or query.
pub fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A small client for Discord's REST API.
#[derive(Clone)]
pub struct DiscordRest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("DiscordRest")
            .field("base", &self.base)
            .finish()
    }
}

impl DiscordRest {
    /// A client for `api_url` (`https://discord.com/api/v10/`) with the bot token.
    pub fn new(api_url: &str, token: &str) -> DiscordRest {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent(concat!(
                "DiscordBot (warroom, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()
            .unwrap_or_default();
        DiscordRest {
            http,
            base: format!("{}/", api_url.trim_end_matches('/')),
            token: token.to_string(),
        }
    }

    async fn get(&self, path: &str, what: &'static str) -> Result<Value, RestError> {
        let url = format!("{}{path}", self.base);
        let mut tries = 0;
        loop {
            tries += 1;
            let resp = self
                .http
                .get(&url)
                .header("authorization", format!("Bot {}", self.token))
                .send()
                .await?;
            let status = resp.status().as_u16();
            if status == 429 && tries < MAX_TRIES {
                let header = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<f64>().ok());
                let body: Value = resp.json().await.unwrap_or_default();
                let secs = body["retry_after"].as_f64().or(header).unwrap_or(1.0);
                tracing::info!(what, secs, "Discord rate limit: waiting");
                tokio::time::sleep(Duration::from_secs_f64(secs.clamp(0.0, 60.0))).await;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(RestError::Status { status, what });
            }
            return Ok(resp.json().await?);
        }
    }

    /// Where the gateway is, and the IDENTIFY budget.
    pub async fn gateway_bot(&self) -> Result<GatewayBot, RestError> {
        let v = self.get("gateway/bot", "GET /gateway/bot").await?;
        serde_json::from_value(v).map_err(|_| RestError::Status {
            status: 200,
            what: "GET /gateway/bot (unreadable answer)",
        })
    }

    /// Up to one page of the messages in `channel` after message `after`, oldest first.
    pub async fn messages_after(
        &self,
        channel: &str,
        after: &str,
    ) -> Result<Vec<Value>, RestError> {
        for id in [channel, after] {
            if !is_snowflake(id) {
                return Err(RestError::BadId(id.to_string()));
            }
        }
        let path = format!("channels/{channel}/messages?after={after}&limit={PAGE}");
        let v = self.get(&path, "GET /channels/{id}/messages").await?;
        let mut messages = match v {
            Value::Array(a) => a,
            _ => Vec::new(),
        };
        // Discord lists newest first; the timeline wants them in the order they were said.
        messages.sort_by_key(|m| snowflake_order(m["id"].as_str().unwrap_or_default()));
        Ok(messages)
    }
}

/// A snowflake as a number for ordering (0 when unreadable).
pub fn snowflake_order(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_are_ids() {
        assert!(is_snowflake("727947198481956945"));
        assert!(!is_snowflake("1/../2"));
        assert!(!is_snowflake(""));
        assert!(!is_snowflake("1?x=2"));
    }
}
