//! Durable scheduled jobs: a row per job, claimed with a lease (SKIP LOCKED on PostgreSQL), so
//! several replicas never run one job twice at the same time and a crash only delays it.

use super::rows::{get_json, json_text, ms};
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
        sqlx::query("UPDATE jobs SET run_at = $1, claimed_until = NULL WHERE id = $2")
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
             RETURNING id, kind, payload, attempts"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now + lease))
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Job {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    payload: get_json(r, "payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Gives a failed job another try at `run_at`, or gives up after too many attempts.
    pub async fn fail_job(
        &self,
        id: i64,
        error: &str,
        run_at: DateTime<Utc>,
        give_up: bool,
    ) -> StoreResult<()> {
        let status = if give_up { "failed" } else { "pending" };
        sqlx::query(
            "UPDATE jobs SET status = $1, last_error = $2, run_at = $3, claimed_until = NULL WHERE id = $4",
        )
        .bind(status)
        .bind(error)
        .bind(ms(run_at))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
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
