//! The Chat port: how the outbox worker hands outbound actions to a platform adapter, what the
//! adapter may read ([`DeliveryContext`]) and what it reports back ([`Outcome`], [`Recorded`]).

mod context;
pub mod discord;
pub mod slack;
pub mod web;
pub mod webhook;

use crate::store::OutboxEntry;
use std::time::Duration;

pub use context::{DeliveryContext, Recorded};

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

/// What one delivery ended with, and the facts it learned on the way (whichever way it ended): the
/// outbox worker applies both in the transaction that completes, retries or fails the entry, and only
/// while it still holds the entry's claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Delivered, or why not.
    pub ended: Result<Delivered, DeliveryError>,
    /// Writes the delivery asks for (a room's id, a summary message, a user's name …), in order.
    pub recorded: Vec<Recorded>,
}

impl Outcome {
    /// An outcome with facts learned on the way.
    pub fn with(ended: Result<Delivered, DeliveryError>, recorded: Vec<Recorded>) -> Outcome {
        Outcome { ended, recorded }
    }

    /// Runs `perform` with an empty list for the facts it learns, and logs an attempt of `entry` that
    /// did not succeed (on `platform`).
    pub async fn gather(
        platform: &str,
        entry: &OutboxEntry,
        perform: impl AsyncFnOnce(&mut Vec<Recorded>) -> Result<Delivered, DeliveryError>,
    ) -> Outcome {
        let mut facts = Vec::new();
        let ended = perform(&mut facts).await;
        if let Err(e) = &ended {
            tracing::warn!(platform, action = %entry.action, attempts = entry.attempts, error = %e,
                "delivery did not succeed");
        }
        Outcome::with(ended, facts)
    }
}

impl From<Result<Delivered, DeliveryError>> for Outcome {
    fn from(ended: Result<Delivered, DeliveryError>) -> Outcome {
        Outcome::with(ended, Vec::new())
    }
}

/// A platform adapter that performs outbox entries addressed to it.
#[async_trait::async_trait]
pub trait Deliverer: Send + Sync {
    /// The destination name it serves (`web`, `slack` …).
    fn destination(&self) -> &str;
    /// Performs one entry; must be idempotent for an entry that was performed before
    /// (`entry.may_have_run()`). It writes nothing itself: what it learned goes back in the
    /// outcome's `recorded`, which the worker writes with the entry's result.
    async fn deliver(&self, entry: &OutboxEntry) -> Outcome;
}

/// A platform rate limit shared by every replica (the engine implements it over the database).
#[async_trait::async_trait]
pub trait SharedRateLimit: Send + Sync {
    /// Reserves one call from `bucket` (`per_minute`, at most `burst` at once); returns how long to
    /// wait before making it (zero: now).
    async fn reserve(&self, bucket: &str, per_minute: u32, burst: u32) -> Duration;
    /// Records that the platform said `bucket` is spent for `wait`: every replica waits it out.
    async fn block(&self, bucket: &str, wait: Duration);
    /// How long `bucket` or `other` is still spent (zero: neither).
    async fn blocked(&self, bucket: &str, other: &str) -> Duration;
}
