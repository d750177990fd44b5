//! Durable scheduled jobs: a row per job, claimed with a lease (SKIP LOCKED on PostgreSQL), so
//! several replicas never run one job twice at the same time and a crash only delays it.

use super::rows::{get_json, get_time, get_time_opt, json_text, ms};
use super::{Backend, Store, StoreResult, Tx};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A claimed job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// What to do (`rollback_watch`, `rollback_verify` …).
    pub kind: String,
    /// Its arguments.
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Failures in a row before this attempt (a success or a poll resets them).
    pub failures: i64,
}

/// A job as operators see it (`GET /api/v1/jobs`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// What it does.
    pub kind: String,
    /// Its idempotency key.
    pub key: Option<String>,
    /// `pending`, `done` or `failed` (given up on).
    pub status: String,
    /// Claims so far.
    pub attempts: i64,
    /// Failures in a row.
    pub failures: i64,
    /// The last failure's error.
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub failed_at: Option<DateTime<Utc>>,
    /// When it runs next (pending jobs).
    pub run_at: DateTime<Utc>,
}

/// Jobs per state (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobCounts {
    /// Waiting to run (retrying ones included).
    pub pending: i64,
    /// Pending after at least one failure.
    pub retrying: i64,
    /// Given up on.
    pub failed: i64,
}

impl Tx {
    /// Schedules a job at `run_at`; `key` makes it idempotent (`None` when it exists).
    pub async fn schedule_job(
        &mut self,
        kind: &str,
        key: &str,
        payload: &serde_json::Value,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO jobs (kind, job_key, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (job_key) DO NOTHING RETURNING id",
        )
        .bind(kind)
        .bind(key)
        .bind(json_text(payload))
        .bind(ms(run_at))
        .bind(ms(now))
        .fetch_optional(self.conn())
        .await?)
    }

    /// Marks a job done, in the transaction that did its work.
    pub async fn complete_job(&mut self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = 'done', done_at = $1, claimed_until = NULL WHERE id = $2",
        )
        .bind(ms(now))
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a job done unless it is done already (a replica whose lease ran out finished it);
    /// true when this transaction took it, so its work is done exactly once.
    pub async fn take_job(&mut self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', done_at = $1, claimed_until = NULL \
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(ms(now))
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Runs a job again at `run_at` (a watch that is not finished yet).
    pub async fn reschedule_job(&mut self, id: i64, run_at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET run_at = $1, claimed_until = NULL, failures = 0 WHERE id = $2",
        )
        .bind(ms(run_at))
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Claims up to `limit` due jobs for `lease`.
    pub async fn claim_jobs(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET claimed_until = $1, attempts = attempts + 1 WHERE id IN (\
             SELECT j.id FROM jobs j WHERE j.status = 'pending' AND j.run_at <= $2 \
             AND (j.claimed_until IS NULL OR j.claimed_until < $2) ORDER BY j.run_at LIMIT $3{lock}) \
             RETURNING id, kind, payload, attempts, failures"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now + lease))
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Claims job `id` for `lease` if it is pending and nobody holds it (a follow-up run right after
    /// the commit that enqueued it; the tick cannot take it meanwhile).
    pub async fn claim_job(
        &self,
        id: i64,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> StoreResult<Option<Job>> {
        let row = sqlx::query(
            "UPDATE jobs SET claimed_until = $1, attempts = attempts + 1 WHERE id = $2 \
             AND status = 'pending' AND run_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
             RETURNING id, kind, payload, attempts, failures",
        )
        .bind(ms(now + lease))
        .bind(id)
        .bind(ms(now))
        .fetch_optional(&self.write)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Records a failure of job `id` (counted in a row): another try at `run_at`, or given up on.
    pub async fn fail_job(
        &self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
        run_at: DateTime<Utc>,
        give_up: bool,
    ) -> StoreResult<()> {
        let status = if give_up { "failed" } else { "pending" };
        sqlx::query(
            "UPDATE jobs SET status = $1, last_error = $2, run_at = $3, claimed_until = NULL, \
             failures = failures + 1, failed_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(error)
        .bind(ms(run_at))
        .bind(ms(now))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Jobs that failed at least once and are retrying (`failed = false`), or were given up on
    /// (`failed = true`); most recent first, at most `limit`.
    pub async fn job_troubles(&self, failed: bool, limit: i64) -> StoreResult<Vec<JobView>> {
        let filter = if failed {
            "status = 'failed'"
        } else {
            "status = 'pending' AND failures > 0"
        };
        let sql = format!(
            "SELECT id, kind, job_key, status, attempts, failures, last_error, failed_at, run_at \
             FROM jobs WHERE {filter} ORDER BY failed_at DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(JobView {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    key: r.try_get("job_key")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get("attempts")?,
                    failures: r.try_get("failures")?,
                    last_error: r.try_get("last_error")?,
                    failed_at: get_time_opt(r, "failed_at")?,
                    run_at: get_time(r, "run_at")?,
                })
            })
            .collect()
    }

    /// Jobs per state: pending, retrying (a subset of pending) and failed.
    pub async fn job_counts(&self) -> StoreResult<JobCounts> {
        let row = sqlx::query(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending, \
             CAST(COALESCE(SUM(CASE WHEN status = 'pending' AND failures > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS retrying, \
             CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed \
             FROM jobs WHERE status <> 'done'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(JobCounts {
            pending: row.try_get("pending")?,
            retrying: row.try_get("retrying")?,
            failed: row.try_get("failed")?,
        })
    }

    /// Jobs not yet done, by kind (for tests and operators).
    pub async fn pending_jobs(&self, kind: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status = 'pending'")
                .bind(kind)
                .fetch_one(&self.read)
                .await?,
        )
    }
}

fn job_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        payload: get_json(r, "payload")?,
        attempts: r.try_get("attempts")?,
        failures: r.try_get("failures")?,
    })
}
