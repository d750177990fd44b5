//! Discord gateway records: war-room messages as recorded, the back-fill cursor per channel, and
//! the gateway session a leader may resume.

use super::rows::ms;
use super::{Store, StoreResult, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::Any;
use sqlx::{Executor, Row};

/// A war-room message as recorded on the timeline (so edits, deletions and pins find it).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordMessageRecord {
    /// The channel.
    pub channel_id: String,
    /// Discord's message id.
    pub message_id: String,
    /// The incident.
    pub incident_id: i64,
    /// The timeline event that recorded the message.
    pub event_id: i64,
    /// The author's Discord user id.
    pub author_id: String,
    /// The author's user name, when Discord gave it.
    pub author_name: Option<String>,
    /// The text as last recorded (the original, or the latest edit).
    pub content: String,
    /// Discord's `edited_timestamp` of the latest recorded edit.
    pub edited_at: Option<String>,
}

/// A Discord war room to back-fill: its channel, incident and the last message id seen in it.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordRoomCursor {
    /// The channel id.
    pub channel_id: String,
    /// The incident.
    pub incident_id: i64,
    /// The newest message id seen there, if any.
    pub last_message_id: Option<String>,
}

/// The gateway session the leader holds (or held): what a RESUME needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordGatewaySession {
    /// Discord's session id (from READY).
    pub session_id: String,
    /// Where to resume (READY's `resume_gateway_url`).
    pub resume_url: String,
    /// The last sequence number handled.
    pub seq: i64,
    /// The bot's own user id (from READY).
    pub bot_user_id: String,
    /// When it was saved.
    pub updated_at: DateTime<Utc>,
}

/// SQL true when snowflake `new` (text) is greater than `old` (text): longer, or as long and larger.
const GREATER: &str = "(LENGTH(discord_cursors.last_message_id) < LENGTH(excluded.last_message_id) \
     OR (LENGTH(discord_cursors.last_message_id) = LENGTH(excluded.last_message_id) \
     AND discord_cursors.last_message_id < excluded.last_message_id))";

async fn save_message<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    m: &DiscordMessageRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO discord_messages (channel_id, message_id, incident_id, event_id, author_id, \
         author_name, content, edited_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (channel_id, message_id) DO NOTHING",
    )
    .bind(&m.channel_id)
    .bind(&m.message_id)
    .bind(m.incident_id)
    .bind(m.event_id)
    .bind(&m.author_id)
    .bind(&m.author_name)
    .bind(&m.content)
    .bind(&m.edited_at)
    .execute(executor)
    .await?;
    Ok(())
}

async fn update_message<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    channel_id: &str,
    message_id: &str,
    content: &str,
    edited_at: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE discord_messages SET content = $3, edited_at = $4 WHERE channel_id = $1 AND message_id = $2",
    )
    .bind(channel_id)
    .bind(message_id)
    .bind(content)
    .bind(edited_at)
    .execute(executor)
    .await?;
    Ok(())
}

async fn event_by_key<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    source_key: &str,
) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM timeline_events WHERE source_key = $1")
            .bind(source_key)
            .fetch_optional(executor)
            .await?,
    )
}

async fn message<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    channel_id: &str,
    message_id: &str,
) -> StoreResult<Option<DiscordMessageRecord>> {
    let row = sqlx::query(
        "SELECT channel_id, message_id, incident_id, event_id, author_id, author_name, content, edited_at \
         FROM discord_messages WHERE channel_id = $1 AND message_id = $2",
    )
    .bind(channel_id)
    .bind(message_id)
    .fetch_optional(executor)
    .await?;
    row.map(|r| {
        Ok(DiscordMessageRecord {
            channel_id: r.try_get("channel_id")?,
            message_id: r.try_get("message_id")?,
            incident_id: r.try_get("incident_id")?,
            event_id: r.try_get("event_id")?,
            author_id: r.try_get("author_id")?,
            author_name: r.try_get("author_name")?,
            content: r.try_get("content")?,
            edited_at: r.try_get("edited_at")?,
        })
    })
    .transpose()
}

async fn advance_cursor<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    channel_id: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO discord_cursors (channel_id, last_message_id, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (channel_id) DO UPDATE SET last_message_id = excluded.last_message_id, \
         updated_at = excluded.updated_at WHERE {GREATER}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(channel_id)
        .bind(message_id)
        .bind(ms(now))
        .execute(executor)
        .await?;
    Ok(())
}

impl Tx {
    /// Remembers a recorded war-room message (first writer wins), with the event that recorded it.
    pub async fn save_discord_message(&mut self, m: &DiscordMessageRecord) -> StoreResult<()> {
        save_message(self.conn(), m).await
    }

    /// Keeps the latest recorded text of a message after an edit, with the edit's event.
    pub async fn update_discord_message(
        &mut self,
        channel_id: &str,
        message_id: &str,
        content: &str,
        edited_at: Option<&str>,
    ) -> StoreResult<()> {
        update_message(self.conn(), channel_id, message_id, content, edited_at).await
    }

    /// The timeline event recorded under `source_key`, as this transaction sees it.
    pub async fn event_id_by_source_key(&mut self, source_key: &str) -> StoreResult<Option<i64>> {
        event_by_key(self.conn(), source_key).await
    }

    /// A recorded war-room message, as this transaction sees it.
    pub async fn discord_message(
        &mut self,
        channel_id: &str,
        message_id: &str,
    ) -> StoreResult<Option<DiscordMessageRecord>> {
        message(self.conn(), channel_id, message_id).await
    }

    /// Moves a channel's cursor to `message_id` when that is newer, with what recorded the message.
    pub async fn advance_discord_cursor(
        &mut self,
        channel_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        advance_cursor(self.conn(), channel_id, message_id, now).await
    }
}

impl Store {
    /// Remembers a recorded war-room message (first writer wins).
    pub async fn save_discord_message(&self, m: &DiscordMessageRecord) -> StoreResult<()> {
        save_message(&self.write, m).await
    }

    /// The timeline event recorded under `source_key`, if any.
    pub async fn event_id_by_source_key(&self, source_key: &str) -> StoreResult<Option<i64>> {
        event_by_key(&self.read, source_key).await
    }

    /// A recorded war-room message.
    pub async fn discord_message(
        &self,
        channel_id: &str,
        message_id: &str,
    ) -> StoreResult<Option<DiscordMessageRecord>> {
        message(&self.read, channel_id, message_id).await
    }

    /// Moves a channel's cursor to `message_id` when that is newer than the one kept.
    pub async fn advance_discord_cursor(
        &self,
        channel_id: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        advance_cursor(&self.write, channel_id, message_id, now).await
    }

    /// The Discord war rooms of incidents not closed or cancelled, with their cursors.
    pub async fn discord_rooms_to_backfill(&self) -> StoreResult<Vec<DiscordRoomCursor>> {
        let rows = sqlx::query(
            "SELECT r.room_id, r.incident_id, c.last_message_id FROM chat_rooms r \
             JOIN incidents i ON i.id = r.incident_id \
             LEFT JOIN discord_cursors c ON c.channel_id = r.room_id \
             WHERE r.platform = 'discord' AND i.status NOT IN ('closed', 'cancelled') ORDER BY r.incident_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DiscordRoomCursor {
                    channel_id: r.try_get("room_id")?,
                    incident_id: r.try_get("incident_id")?,
                    last_message_id: r.try_get("last_message_id")?,
                })
            })
            .collect()
    }

    /// Saves the gateway session `name` (replacing the one kept).
    pub async fn save_discord_gateway_session(
        &self,
        name: &str,
        s: &DiscordGatewaySession,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO discord_gateway_sessions (name, session_id, resume_url, seq, bot_user_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET session_id = excluded.session_id, \
             resume_url = excluded.resume_url, seq = excluded.seq, bot_user_id = excluded.bot_user_id, \
             updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(&s.session_id)
        .bind(&s.resume_url)
        .bind(s.seq)
        .bind(&s.bot_user_id)
        .bind(ms(s.updated_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The gateway session `name`, if one is kept.
    pub async fn discord_gateway_session(
        &self,
        name: &str,
    ) -> StoreResult<Option<DiscordGatewaySession>> {
        let row = sqlx::query(
            "SELECT session_id, resume_url, seq, bot_user_id, updated_at FROM discord_gateway_sessions WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(DiscordGatewaySession {
                session_id: r.try_get("session_id")?,
                resume_url: r.try_get("resume_url")?,
                seq: r.try_get("seq")?,
                bot_user_id: r.try_get("bot_user_id")?,
                updated_at: super::rows::get_time(&r, "updated_at")?,
            })
        })
        .transpose()
    }

    /// Forgets the gateway session `name` (Discord invalidated it).
    pub async fn clear_discord_gateway_session(&self, name: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM discord_gateway_sessions WHERE name = $1")
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
