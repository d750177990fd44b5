//! The outbox seen by operators: entries that keep retrying or failed for good, and counts per state.

use super::Engine;
use super::errors::EngineError;
use crate::store::{OutboxCounts, OutboxEntry, OutboxTrouble};
use serde::Serialize;

/// One troubled entry as `GET /api/v1/outbox` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TroubledEntry {
    /// The entry (its claim token is never shown).
    #[serde(flatten)]
    pub entry: OutboxEntry,
    /// `retrying` or `failed`.
    pub state: OutboxTrouble,
    /// Retrying for at least `outbox.max_attempts` attempts: isolated, retried at the capped backoff.
    pub poisoned: bool,
}

impl Engine {
    /// Entries in `state` (`retrying` or `failed`), most recent first; `limit` 1–1000 (default 100).
    pub async fn troubled_outbox(
        &self,
        state: &str,
        limit: Option<i64>,
    ) -> Result<Vec<TroubledEntry>, EngineError> {
        let which = match state {
            "retrying" => OutboxTrouble::Retrying,
            "failed" => OutboxTrouble::Failed,
            other => {
                return Err(EngineError::invalid(
                    "state",
                    format!("`{other}` is not one of retrying, failed"),
                ));
            }
        };
        let limit = limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(EngineError::invalid("limit", "must be between 1 and 1000"));
        }
        let threshold = i64::from(self.config().outbox.max_attempts);
        let entries = self.store().outbox_troubles(which, limit).await?;
        Ok(entries
            .into_iter()
            .map(|entry| TroubledEntry {
                poisoned: which == OutboxTrouble::Retrying && entry.attempts >= threshold,
                state: which,
                entry,
            })
            .collect())
    }

    /// How many entries are pending, retrying and failed.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, EngineError> {
        Ok(self.store().outbox_counts().await?)
    }
}
