//! The Chat port: how the outbox worker hands outbound actions to a platform adapter.

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

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another attempt (5xx, timeout, 429), after `after` if the platform said so.
    #[error("retryable: {reason}")]
    Retry {
        /// What went wrong.
        reason: String,
        /// The platform's `Retry-After`, if any.
        after: Option<Duration>,
    },
    /// No retry can fix it (bad auth, unknown channel …).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// A platform adapter that performs outbox entries addressed to it.
#[async_trait::async_trait]
pub trait Deliverer: Send + Sync {
    /// The destination name it serves (`web`, `slack` …).
    fn destination(&self) -> &str;
    /// Performs one entry; must be idempotent for an entry that was performed before.
    async fn deliver(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError>;
}
