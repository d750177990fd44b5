//! Failed password sign-ins per account and per client address, in the database so that the back-off
//! survives a restart and every replica counts the same failures.

use super::rows::ms;
use super::{Store, StoreResult, Tx};
use chrono::{DateTime, TimeZone, Utc};

impl Store {
    /// The latest `blocked_until` of `keys` that is still ahead of `now`, if any.
    pub async fn signin_blocked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let mut latest: Option<i64> = None;
        for key in keys {
            let until: Option<i64> = sqlx::query_scalar(
                "SELECT blocked_until FROM signin_failures WHERE key = $1 AND blocked_until > $2",
            )
            .bind(key)
            .bind(ms(now))
            .fetch_optional(&self.write)
            .await?;
            latest = latest.max(until);
        }
        Ok(latest.and_then(|t| Utc.timestamp_millis_opt(t).single()))
    }
}

impl Tx {
    /// Counts one failed sign-in at `key` (a count idle for `forget_after_ms` starts again) and
    /// returns the failures in a row; forgets idle counts of other keys on the way.
    pub async fn count_signin_failure(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        forget_after_ms: i64,
    ) -> StoreResult<i64> {
        sqlx::query("DELETE FROM signin_failures WHERE last_failed_at < $1 AND blocked_until < $2")
            .bind(ms(now) - forget_after_ms)
            .bind(ms(now))
            .execute(self.conn())
            .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO signin_failures (key, failures, last_failed_at, blocked_until) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN $2 - signin_failures.last_failed_at > $3 THEN 1 ELSE signin_failures.failures + 1 END, \
             last_failed_at = $2 RETURNING failures",
        )
        .bind(key)
        .bind(ms(now))
        .bind(forget_after_ms)
        .fetch_one(self.conn())
        .await?)
    }

    /// Refuses sign-in at `key` until `until` (never shortens a longer block).
    pub async fn block_signin(&mut self, key: &str, until: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE signin_failures SET blocked_until = $2 WHERE key = $1 AND blocked_until < $2",
        )
        .bind(key)
        .bind(ms(until))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Forgets the failures of `keys` (after a successful sign-in).
    pub async fn clear_signin_failures(&mut self, keys: &[String]) -> StoreResult<()> {
        for key in keys {
            sqlx::query("DELETE FROM signin_failures WHERE key = $1")
                .bind(key)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}
