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
    /// Delivery attempts that reported back (a claim or a crash does not count).
    pub attempts: i64,
    /// Deliveries that began, this one included once it has started (a crash mid-delivery counts).
    pub starts: i64,
    /// The last error, if an earlier attempt failed.
    pub last_error: Option<String>,
    /// What an earlier attempt recorded (platform ids), for idempotent retries.
    pub result: Option<serde_json::Value>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The claim's fencing token: only its holder may complete, fail or reschedule the entry.
    #[serde(skip)]
    pub claim_token: Option<String>,
}

impl OutboxEntry {
    /// Whether an earlier delivery may have taken effect, so this one must look before it repeats.
    pub fn may_have_run(&self) -> bool {
        self.starts > 1
    }
}

/// A fresh random claim id.
fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

const RETURNING: &str = "id, destination, action, incident_id, channel_key, payload, attempts, starts, last_error, \
    result, created_at, claim_token";

pub(super) fn entry_from_row(row: &AnyRow) -> StoreResult<OutboxEntry> {
    let result: Option<String> = row.try_get("result")?;
    Ok(OutboxEntry {
        id: row.try_get("id")?,
        destination: row.try_get("destination")?,
        action: row.try_get("action")?,
        incident_id: row.try_get("incident_id")?,
        channel_key: row.try_get("channel_key")?,
        payload: get_json(row, "payload")?,
        attempts: row.try_get("attempts")?,
        starts: row.try_get("starts")?,
        last_error: row.try_get("last_error")?,
        result: result.and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok()),
        created_at: get_time(row, "created_at")?,
        claim_token: row.try_get("claim_token")?,
    })
}

pub(super) fn status_of(s: &str) -> OutboxStatus {
    match s {
        "done" => OutboxStatus::Done,
        "failed" => OutboxStatus::Failed,
        _ => OutboxStatus::Pending,
    }
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

/// The fencing condition every holder-only statement ends with (`$1` = id, `$2` = token).
const HELD: &str = "id = $1 AND claim_token = $2 AND status = 'pending'";

impl Store {
    /// Claims up to `limit` due entries for `destination` for `lease` under one new claim token;
    /// only the oldest pending entry of each channel is eligible, so a channel is delivered in
    /// order. Safe with several workers. A claim does not count as an attempt.
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
        // SQLite has one writer, which ingest and the alert dispatcher need: a worker woken by a commit
        // that gave it nothing to do asks a reader first (the same rows, from the latest commit) and
        // leaves the writer alone.
        if self.backend == Backend::Sqlite {
            let claimable: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM outbox WHERE status = 'pending' AND destination = $1 \
                 AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) LIMIT 1",
            )
            .bind(destination)
            .bind(ms(now))
            .fetch_optional(&self.read)
            .await?;
            if claimable.is_none() {
                return Ok(Vec::new());
            }
        }
        let sql = format!(
            "UPDATE outbox SET claimed_until = $1, claim_token = $5 WHERE id IN (\
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
            .bind(new_token())
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
        let done = sqlx::query(
            "UPDATE outbox SET claimed_until = NULL, claim_token = NULL \
             WHERE status = 'pending' AND claimed_until IS NOT NULL",
        )
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Gives one claim back unperformed (a graceful shutdown); false when the claim was lost.
    pub async fn release_outbox_claim(&self, id: i64, token: &str) -> StoreResult<bool> {
        let sql =
            format!("UPDATE outbox SET claimed_until = NULL, claim_token = NULL WHERE {HELD}");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(token)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The holder begins a delivery: counts the start and renews the lease. `None` when the claim
    /// was lost (another worker holds the entry now); otherwise the entry's `starts`.
    pub async fn start_outbox_delivery(
        &self,
        id: i64,
        token: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let sql = format!(
            "UPDATE outbox SET starts = starts + 1, claimed_until = $3 WHERE {HELD} RETURNING starts"
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(token)
            .bind(ms(until))
            .fetch_optional(&self.write)
            .await?)
    }

    /// The holder extends its lease to `until` (a long delivery's heartbeat); false when lost.
    pub async fn renew_outbox_claim(
        &self,
        id: i64,
        token: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sql = format!("UPDATE outbox SET claimed_until = $3 WHERE {HELD}");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(token)
            .bind(ms(until))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The holder marks its entry delivered, keeping what the delivery learned; false (and nothing
    /// written) when the claim is no longer this token's.
    pub async fn complete_outbox(
        &self,
        id: i64,
        token: &str,
        result: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        complete(&self.write, id, token, result, now).await
    }

    /// The holder reschedules its entry for `next_attempt_at`; `attempted` counts a real attempt
    /// (a failed call), false for an entry that only waits (for its room). False when the claim was lost.
    pub async fn retry_outbox(
        &self,
        id: i64,
        token: &str,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        attempted: bool,
    ) -> StoreResult<bool> {
        retry(&self.write, id, token, next_attempt_at, error, attempted).await
    }

    /// The holder gives up on its entry (a permanent cause); false when the claim was lost.
    pub async fn fail_outbox(
        &self,
        id: i64,
        token: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        fail(&self.write, id, token, error, now).await
    }

    /// Whether `incident`'s room on `destination` is still being created (its `create_room` entry pending).
    pub async fn room_creation_pending(
        &self,
        destination: &str,
        incident: i64,
    ) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE destination = $1 AND incident_id = $2 \
             AND action = 'create_room' AND status = 'pending'",
        )
        .bind(destination)
        .bind(incident)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
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
        Ok(s.as_deref().map(status_of))
    }

    /// Entries about one incident, oldest first (for tests and the admin view).
    pub async fn outbox_for_incident(
        &self,
        incident_id: i64,
    ) -> StoreResult<Vec<(OutboxEntry, OutboxStatus)>> {
        let sql =
            format!("SELECT {RETURNING}, status FROM outbox WHERE incident_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok((entry_from_row(r)?, status_of(&status)))
            })
            .collect()
    }
}

/// [`Store::complete_outbox`] on any connection (a transaction's too).
pub(super) async fn complete<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    token: &str,
    result: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let sql = format!(
        "UPDATE outbox SET status = 'done', done_at = $3, result = COALESCE($4, result), \
         attempts = attempts + 1, claimed_until = NULL, claim_token = NULL WHERE {HELD}"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(token)
        .bind(ms(now))
        .bind(result.map(json_text))
        .execute(e)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// [`Store::retry_outbox`] on any connection (a transaction's too).
pub(super) async fn retry<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    token: &str,
    next_attempt_at: DateTime<Utc>,
    error: &str,
    attempted: bool,
) -> StoreResult<bool> {
    let sql = format!(
        "UPDATE outbox SET next_attempt_at = $3, last_error = $4, attempts = attempts + $5, \
         claimed_until = NULL, claim_token = NULL WHERE {HELD}"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(token)
        .bind(ms(next_attempt_at))
        .bind(error)
        .bind(i64::from(attempted))
        .execute(e)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// [`Store::fail_outbox`] on any connection (a transaction's too).
pub(super) async fn fail<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    token: &str,
    error: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let sql = format!(
        "UPDATE outbox SET status = 'failed', last_error = $3, done_at = $4, attempts = attempts + 1, \
         claimed_until = NULL, claim_token = NULL WHERE {HELD}"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(token)
        .bind(error)
        .bind(ms(now))
        .execute(e)
        .await?;
    Ok(done.rows_affected() == 1)
}
