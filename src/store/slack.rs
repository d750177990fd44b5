//! Slack-specific records: the user-name cache, message ↔ timeline mapping, and summary messages.

use super::rows::ms;
use super::{Store, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::Executor;
use sqlx::any::Any;

/// A war-room message as recorded on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessageRef {
    /// The incident.
    pub incident_id: i64,
    /// The timeline event that recorded the message.
    pub event_id: i64,
}

impl super::Tx {
    /// Maps a Slack message to the timeline event that recorded it, in the transaction that recorded it.
    pub async fn save_slack_message(
        &mut self,
        channel_id: &str,
        ts: &str,
        incident_id: i64,
        event_id: i64,
    ) -> StoreResult<()> {
        insert_message(self.conn(), channel_id, ts, incident_id, event_id).await
    }
}

async fn insert_message<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    channel_id: &str,
    ts: &str,
    incident_id: i64,
    event_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO slack_messages (channel_id, ts, incident_id, event_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (channel_id, ts) DO NOTHING",
    )
    .bind(channel_id)
    .bind(ts)
    .bind(incident_id)
    .bind(event_id)
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// Remembers (or refreshes) the display name of a Slack user.
    pub async fn save_slack_user(
        &self,
        user_id: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        save_user(&self.write, user_id, name, now).await
    }

    /// The cached display name of a Slack user.
    pub async fn slack_user_name(&self, user_id: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM slack_users WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// The Slack user id behind a cached display name (most recently seen first).
    pub async fn slack_user_id(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM slack_users WHERE name = $1 ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(name)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Maps a Slack message to the timeline event that recorded it (first writer wins).
    pub async fn save_slack_message(
        &self,
        channel_id: &str,
        ts: &str,
        incident_id: i64,
        event_id: i64,
    ) -> StoreResult<()> {
        insert_message(&self.write, channel_id, ts, incident_id, event_id).await
    }

    /// The timeline event of a Slack message, if it was recorded.
    pub async fn slack_message(
        &self,
        channel_id: &str,
        ts: &str,
    ) -> StoreResult<Option<SlackMessageRef>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT incident_id, event_id FROM slack_messages WHERE channel_id = $1 AND ts = $2",
        )
        .bind(channel_id)
        .bind(ts)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(incident_id, event_id)| SlackMessageRef {
            incident_id,
            event_id,
        }))
    }

    /// Remembers the summary message of an incident's Slack room (first writer wins).
    pub async fn save_slack_summary(
        &self,
        incident_id: i64,
        channel_id: &str,
        ts: &str,
    ) -> StoreResult<()> {
        save_summary(&self.write, incident_id, channel_id, ts).await
    }

    /// The summary message (channel, ts) of an incident's Slack room.
    pub async fn slack_summary(&self, incident_id: i64) -> StoreResult<Option<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT channel_id, ts FROM slack_summaries WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Whether a later entry with the same action waits in the same channel (lets a deliverer
    /// skip a summary refresh that the next one makes redundant).
    pub async fn later_pending(
        &self,
        channel_key: &str,
        action: &str,
        after_id: i64,
    ) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE channel_key = $1 AND action = $2 AND status = 'pending' AND id > $3",
        )
        .bind(channel_key)
        .bind(action)
        .bind(after_id)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
    }
}

/// [`Store::save_slack_summary`] on any connection (a transaction's too).
pub(super) async fn save_summary<'c, E: Executor<'c, Database = Any>>(
    e: E,
    incident_id: i64,
    channel_id: &str,
    ts: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO slack_summaries (incident_id, channel_id, ts) VALUES ($1, $2, $3) \
         ON CONFLICT (incident_id) DO NOTHING",
    )
    .bind(incident_id)
    .bind(channel_id)
    .bind(ts)
    .execute(e)
    .await?;
    Ok(())
}

/// [`Store::save_slack_user`] on any connection (a transaction's too).
pub(super) async fn save_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    user_id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO slack_users (user_id, name, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(name)
    .bind(ms(now))
    .execute(e)
    .await?;
    Ok(())
}
