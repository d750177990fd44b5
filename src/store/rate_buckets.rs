//! Token buckets in the database, so every replica draws on the same platform rate limit, and the
//! limits a platform announced (a spent route, a global 429), so every replica honours them.

use super::rows::ms;
use super::{Backend, Store, StoreResult};
use chrono::{DateTime, Utc};
use std::time::Duration;

impl Store {
    /// Reserves one call from `bucket` (refilled at `per_minute`, holding at most `burst`) in one
    /// atomic statement; returns how long the caller must wait before making it (zero when a token
    /// was there). Reservations beyond the balance queue up behind each other.
    pub async fn reserve_rate_token(
        &self,
        bucket: &str,
        per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Duration> {
        let (least, greatest) = match self.backend {
            Backend::Postgres => ("LEAST", "GREATEST"),
            Backend::Sqlite => ("MIN", "MAX"),
        };
        let sql = format!(
            "INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES ($1, $2 - 1, $3) \
             ON CONFLICT (bucket) DO UPDATE SET \
             tokens = {least}($2, rate_buckets.tokens + {greatest}(0, $3 - rate_buckets.updated_at) * $4) - 1, \
             updated_at = {greatest}($3, rate_buckets.updated_at) RETURNING tokens"
        );
        let per_ms = f64::from(per_minute.max(1)) / 60_000.0;
        let tokens: f64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(bucket)
            .bind(f64::from(burst.max(1)))
            .bind(ms(now))
            .bind(per_ms)
            .fetch_one(&self.write)
            .await?;
        if tokens >= 0.0 {
            return Ok(Duration::ZERO);
        }
        Ok(Duration::from_millis((-tokens / per_ms).ceil() as u64))
    }

    /// Records that the platform said `bucket` is spent until `until` (the later time wins).
    pub async fn block_rate_bucket(&self, bucket: &str, until: DateTime<Utc>) -> StoreResult<()> {
        let greatest = match self.backend {
            Backend::Postgres => "GREATEST",
            Backend::Sqlite => "MAX",
        };
        let sql = format!(
            "INSERT INTO rate_blocks (bucket, until_ms) VALUES ($1, $2) ON CONFLICT (bucket) \
             DO UPDATE SET until_ms = {greatest}(rate_blocks.until_ms, $2)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bucket)
            .bind(ms(until))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// How long the later block of `bucket` and `other` still holds at `now` (zero: neither is spent).
    pub async fn rate_block(
        &self,
        bucket: &str,
        other: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Duration> {
        let until: Option<i64> =
            sqlx::query_scalar("SELECT MAX(until_ms) FROM rate_blocks WHERE bucket IN ($1, $2)")
                .bind(bucket)
                .bind(other)
                .fetch_one(&self.read)
                .await?;
        let left = until.unwrap_or(0) - ms(now);
        Ok(Duration::from_millis(u64::try_from(left).unwrap_or(0)))
    }
}
