//! People records: guest persons (platform users the directory does not know) and the Slack
//! `users.lookupByEmail` link cache.

use super::rows::{get_time, ms};
use super::{Store, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::Any;
use sqlx::{Executor, Row};

/// A platform user recorded as a guest person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuestRecord {
    /// The platform (`slack` …).
    pub platform: String,
    /// The platform's user id.
    pub platform_id: String,
    /// The name the platform showed, when known.
    pub name: Option<String>,
    /// When warroom first saw them act.
    pub first_seen: DateTime<Utc>,
    /// When warroom last saw them act.
    pub last_seen: DateTime<Utc>,
}

/// One `users.lookupByEmail` answer, cached.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackLink {
    /// The e-mail address looked up (lower-case).
    pub email: String,
    /// The Slack user id, or `None` when Slack knows no user with that address.
    pub user_id: Option<String>,
    /// When Slack was asked.
    pub checked_at: DateTime<Utc>,
}

/// Records (or refreshes) a guest; the first sighting keeps its time, a known name is kept when none is given.
pub(super) async fn see_guest<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    platform: &str,
    platform_id: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO guests (platform, platform_id, name, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (platform, platform_id) DO UPDATE SET name = COALESCE(excluded.name, guests.name), \
         last_seen = CASE WHEN excluded.last_seen > guests.last_seen THEN excluded.last_seen ELSE guests.last_seen END",
    )
    .bind(platform)
    .bind(platform_id)
    .bind(name)
    .bind(ms(now))
    .execute(ex)
    .await?;
    Ok(())
}

impl Store {
    /// Records (or refreshes) a guest in a transaction of its own.
    pub async fn see_guest(
        &self,
        platform: &str,
        platform_id: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        see_guest(&self.write, platform, platform_id, name, now).await
    }

    /// Every guest, by platform and id.
    pub async fn guests(&self) -> StoreResult<Vec<GuestRecord>> {
        let rows = sqlx::query(
            "SELECT platform, platform_id, name, first_seen, last_seen FROM guests ORDER BY platform, platform_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GuestRecord {
                    platform: r.try_get("platform")?,
                    platform_id: r.try_get("platform_id")?,
                    name: r.try_get("name")?,
                    first_seen: get_time(r, "first_seen")?,
                    last_seen: get_time(r, "last_seen")?,
                })
            })
            .collect()
    }

    /// Caches one `users.lookupByEmail` answer.
    pub async fn save_slack_link(
        &self,
        email: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        save_slack_link(&self.write, email, user_id, now).await
    }

    /// Every cached `users.lookupByEmail` answer.
    pub async fn slack_links(&self) -> StoreResult<Vec<SlackLink>> {
        let rows = sqlx::query("SELECT email, user_id, checked_at FROM slack_links ORDER BY email")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SlackLink {
                    email: r.try_get("email")?,
                    user_id: r.try_get("user_id")?,
                    checked_at: get_time(r, "checked_at")?,
                })
            })
            .collect()
    }

    /// The e-mail address a Slack user was linked by, if any.
    pub async fn slack_link_email(&self, user_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT email FROM slack_links WHERE user_id = $1 ORDER BY checked_at DESC LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The Slack user linked to an e-mail address, if any.
    pub async fn slack_link_user(&self, email: &str) -> StoreResult<Option<String>> {
        let found: Option<Option<String>> =
            sqlx::query_scalar("SELECT user_id FROM slack_links WHERE email = $1")
                .bind(email.to_ascii_lowercase())
                .fetch_optional(&self.read)
                .await?;
        Ok(found.flatten())
    }
}

/// [`Store::save_slack_link`] on any connection (a transaction's too).
pub(super) async fn save_slack_link<'c, E: Executor<'c, Database = Any>>(
    e: E,
    email: &str,
    user_id: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO slack_links (email, user_id, checked_at) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO UPDATE SET user_id = excluded.user_id, checked_at = excluded.checked_at",
    )
    .bind(email.to_ascii_lowercase())
    .bind(user_id)
    .bind(ms(now))
    .execute(e)
    .await?;
    Ok(())
}
