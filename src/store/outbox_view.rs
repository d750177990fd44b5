//! Read-only views of the outbox for operators: entries that retry or failed, and counts per state.

use super::outbox::{OutboxEntry, entry_from_row};
use super::{Store, StoreResult};
use serde::Serialize;
use sqlx::Row;

/// Which troubled entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxTrouble {
    /// Pending after at least one unsuccessful attempt or wait.
    Retrying,
    /// Given up on for a permanent cause.
    Failed,
}

/// How many entries are in each state (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    /// Waiting for delivery (retrying ones included).
    pub pending: i64,
    /// Pending after an unsuccessful attempt or wait.
    pub retrying: i64,
    /// Given up on.
    pub failed: i64,
}

impl Store {
    /// Retrying or failed entries, most recent first, at most `limit`.
    pub async fn outbox_troubles(
        &self,
        which: OutboxTrouble,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let sql = match which {
            OutboxTrouble::Retrying => {
                "SELECT id, destination, action, incident_id, channel_key, payload, attempts, starts, \
                 last_error, result, created_at, claim_token FROM outbox \
                 WHERE status = 'pending' AND last_error IS NOT NULL ORDER BY id DESC LIMIT $1"
            }
            OutboxTrouble::Failed => {
                "SELECT id, destination, action, incident_id, channel_key, payload, attempts, starts, \
                 last_error, result, created_at, claim_token FROM outbox \
                 WHERE status = 'failed' ORDER BY id DESC LIMIT $1"
            }
        };
        let rows = sqlx::query(sql).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Entries per state: pending, retrying (a subset of pending) and failed.
    pub async fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
        let row = sqlx::query(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
             CAST(COALESCE(SUM(CASE WHEN status = 'pending' AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS retrying, \
             CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed \
             FROM outbox WHERE status <> 'done'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(OutboxCounts {
            pending: row.try_get("pending")?,
            retrying: row.try_get("retrying")?,
            failed: row.try_get("failed")?,
        })
    }
}
