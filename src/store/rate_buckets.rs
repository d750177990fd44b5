//! Token buckets in the database, so every replica draws on the same platform rate limit.

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
}
