//! Per-method rate limits close to Slack's published tiers, so warroom stays under them by itself.

use crate::chat::SharedRateLimit;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Slack's rate-limit tiers (requests per minute, per workspace and method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// 20+ per minute.
    Tier2,
    /// 50+ per minute.
    Tier3,
    /// 100+ per minute.
    Tier4,
}

impl Tier {
    fn per_minute(self) -> u32 {
        match self {
            Tier::Tier2 => 20,
            Tier::Tier3 => 50,
            Tier::Tier4 => 100,
        }
    }
}

/// The tier Slack documents for each method warroom calls.
pub fn tier_of(method: &str) -> Tier {
    match method {
        "conversations.create"
        | "conversations.invite"
        | "conversations.list"
        | "conversations.setTopic"
        | "pins.add" => Tier::Tier2,
        "conversations.history"
        | "conversations.join"
        | "conversations.open"
        | "chat.update"
        | "users.lookupByEmail" => Tier::Tier3,
        _ => Tier::Tier4,
    }
}

/// Limiters per method, plus `chat.postMessage`'s one message per second per channel (with a
/// short burst, as Slack allows); with a shared limit, every replica also draws on one bucket.
pub struct RateLimits {
    methods: HashMap<&'static str, DefaultDirectRateLimiter>,
    fallback: DefaultDirectRateLimiter,
    post_per_channel: DefaultKeyedRateLimiter<String>,
    shared: Option<Arc<dyn SharedRateLimit>>,
}

/// `chat.postMessage` per channel: one a second, bursts of this many.
const POST_BURST: u32 = 20;

const METHODS: [&str; 15] = [
    "auth.test",
    "conversations.create",
    "conversations.invite",
    "conversations.list",
    "conversations.setTopic",
    "conversations.history",
    "conversations.join",
    "conversations.open",
    "chat.update",
    "chat.postEphemeral",
    "pins.add",
    "users.info",
    "users.lookupByEmail",
    "views.open",
    "chat.postMessage",
];

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Default for RateLimits {
    fn default() -> Self {
        let methods = METHODS
            .iter()
            .filter(|m| **m != "chat.postMessage")
            .map(|m| (*m, RateLimiter::direct(per_minute(tier_of(m).per_minute()))))
            .collect();
        let burst = NonZeroU32::new(POST_BURST).unwrap_or(NonZeroU32::MIN);
        RateLimits {
            methods,
            fallback: RateLimiter::direct(per_minute(Tier::Tier3.per_minute())),
            post_per_channel: RateLimiter::keyed(
                Quota::per_second(NonZeroU32::MIN).allow_burst(burst),
            ),
            shared: None,
        }
    }
}

impl RateLimits {
    /// The same limits, also drawn from `shared` so that replicas together stay under Slack's tiers.
    pub fn with_shared(mut self, shared: Arc<dyn SharedRateLimit>) -> RateLimits {
        self.shared = Some(shared);
        self
    }

    /// Waits until `method` (for `channel`, when posting) may be called again.
    pub async fn until_ready(&self, method: &str, channel: Option<&str>) {
        let (bucket, per_minute, burst) = if method == "chat.postMessage" {
            let key = channel.unwrap_or_default().to_string();
            self.post_per_channel.until_key_ready(&key).await;
            (format!("slack:{method}:{key}"), 60, POST_BURST)
        } else {
            self.methods
                .get(method)
                .unwrap_or(&self.fallback)
                .until_ready()
                .await;
            let n = tier_of(method).per_minute();
            (format!("slack:{method}"), n, n)
        };
        // `views.open` answers a user inside Slack's 3-second window: it never waits on the database.
        if let Some(shared) = self.shared.as_ref().filter(|_| method != "views.open") {
            let wait = shared.reserve(&bucket, per_minute, burst).await;
            if !wait.is_zero() {
                tracing::debug!(
                    method,
                    wait_ms = wait.as_millis() as u64,
                    "waiting for the shared Slack rate limit"
                );
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_slacks_tiers() {
        assert_eq!(tier_of("conversations.create"), Tier::Tier2);
        assert_eq!(tier_of("chat.update"), Tier::Tier3);
        assert_eq!(tier_of("users.info"), Tier::Tier4);
    }

    #[tokio::test]
    async fn a_burst_within_the_tier_is_not_delayed() {
        let limits = RateLimits::default();
        let start = std::time::Instant::now();
        for _ in 0..20 {
            limits.until_ready("conversations.create", None).await;
        }
        assert!(start.elapsed() < std::time::Duration::from_millis(500));
        assert!(
            limits.methods["conversations.create"].check().is_err(),
            "the 21st call within a minute must wait"
        );
    }
}
