//! The Chat port: how the outbox worker hands outbound actions to a platform adapter.

pub mod discord;
pub mod slack;
pub mod web;
pub mod webhook;

use crate::store::OutboxEntry;
use std::time::Duration;

/// What a delivery learned, kept with the entry (platform ids for idempotent retries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivered {
    /// Platform ids and other facts worth keeping.
    pub result: Option<serde_json::Value>,
}

/// Why a delivery did not happen; the outbox worker applies it (reschedule, wait, or give up).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// A transient cause (5xx, timeout, connection error, 429): retried with capped backoff, or
    /// after `after` if the platform said so; never makes the entry fail for good.
    #[error("retryable: {reason}")]
    Retry {
        /// What went wrong.
        reason: String,
        /// The platform's `Retry-After`, if any.
        after: Option<Duration>,
    },
    /// The room this entry goes to does not exist yet (named for the log): the entry waits for it
    /// without spending attempts while the room's creation is still pending.
    #[error("waiting for {0}")]
    WaitFor(String),
    /// No retry can fix it (bad auth, unknown channel …): shown on the timeline and in `/metrics`.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// What one delivery ended with, as the outbox worker applies it.
pub type Outcome = Result<Delivered, DeliveryError>;

/// A platform adapter that performs outbox entries addressed to it.
#[async_trait::async_trait]
pub trait Deliverer: Send + Sync {
    /// The destination name it serves (`web`, `slack` …).
    fn destination(&self) -> &str;
    /// Performs one entry; must be idempotent for an entry that was performed before
    /// (`entry.may_have_run()`). It records nothing about the entry itself: the worker does.
    async fn deliver(&self, entry: &OutboxEntry) -> Outcome;
}

/// A platform rate limit shared by every replica (the engine implements it over the database).
#[async_trait::async_trait]
pub trait SharedRateLimit: Send + Sync {
    /// Reserves one call from `bucket` (`per_minute`, at most `burst` at once); returns how long to
    /// wait before making it (zero: now).
    async fn reserve(&self, bucket: &str, per_minute: u32, burst: u32) -> Duration;
}
