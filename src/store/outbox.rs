//! The durable outbox: outbound actions written with the state change, delivered by a worker.

use super::rows::{get_json, get_time, json_text, ms};
use super::{Backend, Store, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::{Any, AnyRow};
use sqlx::{Executor, Row};

/// An outbound action to write in the same transaction as the change that causes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// Which platform delivers it (`web`, `slack`, `discord`, `webhook` …).
    pub destination: String,
    /// What to do (`post`, `create_room`, `dm` …); the deliverer interprets it.
    pub action: String,
    /// The incident it is about, if any.
    pub incident_id: Option<i64>,
    /// Entries with the same key are delivered one at a time, in order.
    pub channel_key: String,
    /// The action's arguments.
    pub payload: serde_json::Value,
    /// Makes the enqueue idempotent.
    pub idempotency_key: Option<String>,
}

/// Where an outbox entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    /// Waiting for (another) attempt.
    Pending,
    /// Delivered.
    Done,
    /// Given up on.
    Failed,
}

/// A claimed outbox entry, ready to deliver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    /// Its id: the order of delivery within a channel.
    pub id: i64,
    /// Which platform delivers it.
    pub destination: String,
    /// What to do.
    pub action: String,
    /// The incident it is about.
    pub incident_id: Option<i64>,
    /// The ordering key.
    pub channel_key: String,
    /// The action's arguments.
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The last error, if an earlier attempt failed.
    pub last_error: Option<String>,
    /// What an earlier attempt recorded (platform ids), for idempotent retries.
    pub result: Option<serde_json::Value>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

const RETURNING: &str = "id, destination, action, incident_id, channel_key, payload, attempts, last_error, result, created_at";

fn entry_from_row(row: &AnyRow) -> StoreResult<OutboxEntry> {
    let result: Option<String> = row.try_get("result")?;
    Ok(OutboxEntry {
        id: row.try_get("id")?,
        destination: row.try_get("destination")?,
        action: row.try_get("action")?,
        incident_id: row.try_get("incident_id")?,
        channel_key: row.try_get("channel_key")?,
        payload: get_json(row, "payload")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        result: result.and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok()),
        created_at: get_time(row, "created_at")?,
    })
}

/// Writes one entry; `None` when its idempotency key exists already.
pub(super) async fn enqueue<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    entry: &NewOutbox,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO outbox (destination, action, incident_id, channel_key, payload, idempotency_key, \
         next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&entry.destination)
    .bind(&entry.action)
    .bind(entry.incident_id)
    .bind(&entry.channel_key)
    .bind(json_text(&entry.payload))
    .bind(&entry.idempotency_key)
    .bind(ms(now))
    .fetch_optional(ex)
    .await?)
}

impl Store {
    /// Claims up to `limit` due entries for `destination` for `lease`; only the oldest pending entry
    /// of each channel is eligible, so a channel is delivered in order. Safe with several workers.
    pub async fn claim_outbox(
        &self,
        destination: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 WHERE id IN (\
             SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.destination = $2 \
             AND o.next_attempt_at <= $3 AND (o.claimed_until IS NULL OR o.claimed_until < $3) \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel_key = o.channel_key \
             AND p.status = 'pending' AND p.id < o.id) ORDER BY o.id LIMIT $4{lock}) RETURNING {RETURNING}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now + lease))
            .bind(destination)
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        let mut entries: Vec<OutboxEntry> = rows
            .iter()
            .map(entry_from_row)
            .collect::<StoreResult<_>>()?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    /// Frees every claim: safe only when no other process delivers (the embedded SQLite at start-up).
    pub async fn release_outbox_claims(&self) -> StoreResult<u64> {
        let done = sqlx::query("UPDATE outbox SET claimed_until = NULL WHERE status = 'pending' AND claimed_until IS NOT NULL")
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records what a delivery attempt learned (platform ids) before it is marked done.
    pub async fn record_outbox_result(
        &self,
        id: i64,
        result: &serde_json::Value,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET result = $1 WHERE id = $2")
            .bind(json_text(result))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Marks an entry delivered.
    pub async fn complete_outbox(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'done', done_at = $1, claimed_until = NULL WHERE id = $2",
        )
        .bind(ms(now))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Releases an entry for another attempt at `next_attempt_at`.
    pub async fn retry_outbox(
        &self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1, last_error = $2, claimed_until = NULL WHERE id = $3",
        )
        .bind(ms(next_attempt_at))
        .bind(error)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Gives up on an entry.
    pub async fn fail_outbox(&self, id: i64, error: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'failed', last_error = $1, done_at = $2, claimed_until = NULL WHERE id = $3",
        )
        .bind(error)
        .bind(ms(now))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// How many entries wait for delivery.
    pub async fn outbox_depth(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// The status of one entry.
    pub async fn outbox_status(&self, id: i64) -> StoreResult<Option<OutboxStatus>> {
        let s: Option<String> = sqlx::query_scalar("SELECT status FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(s.map(|s| match s.as_str() {
            "done" => OutboxStatus::Done,
            "failed" => OutboxStatus::Failed,
            _ => OutboxStatus::Pending,
        }))
    }

    /// Entries about one incident, oldest first (for tests and the admin view).
    pub async fn outbox_for_incident(
        &self,
        incident_id: i64,
    ) -> StoreResult<Vec<(OutboxEntry, OutboxStatus)>> {
        let rows = sqlx::query(
            "SELECT id, destination, action, incident_id, channel_key, payload, attempts, last_error, result, \
             created_at, status FROM outbox WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                let status = match status.as_str() {
                    "done" => OutboxStatus::Done,
                    "failed" => OutboxStatus::Failed,
                    _ => OutboxStatus::Pending,
                };
                Ok((entry_from_row(r)?, status))
            })
            .collect()
    }
}
