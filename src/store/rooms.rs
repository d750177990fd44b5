//! Chat rooms per incident, the bot's posts into them, and inbound idempotency keys.

use super::rows::{get_time, ms};
use super::{Store, StoreResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::Any;
use sqlx::{Executor, Row};

/// The war room of an incident on one platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRoom {
    /// The incident.
    pub incident_id: i64,
    /// The platform (`slack`, `discord` …).
    pub platform: String,
    /// The platform's id for the room.
    pub room_id: String,
    /// The room's name.
    pub name: String,
}

/// A message the bot posted into a room.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomPost {
    /// Its id.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// The platform it went to.
    pub platform: String,
    /// The text posted.
    pub text: String,
    /// When it was posted.
    pub posted_at: DateTime<Utc>,
    /// The idempotency key of the outbox entry that made it (says which event it answers), if known.
    pub outbox_key: Option<String>,
}

/// Records an inbound natural key; false when it was seen before.
pub(super) async fn claim_key<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys (scope, key, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (scope, key) DO NOTHING RETURNING key",
    )
    .bind(scope)
    .bind(key)
    .bind(ms(now))
    .fetch_optional(ex)
    .await?;
    Ok(inserted.is_some())
}

impl Store {
    /// Records a post delivered by outbox entry `outbox_id` (idempotent per entry).
    pub async fn record_room_post(
        &self,
        incident_id: i64,
        platform: &str,
        platform_id: Option<&str>,
        text: &str,
        outbox_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RoomPost>> {
        record_post(
            &self.write,
            incident_id,
            platform,
            platform_id,
            text,
            outbox_id,
            now,
        )
        .await
    }

    /// The bot's posts into one incident's room on `platform`, after post id `after`.
    pub async fn room_posts(
        &self,
        incident_id: i64,
        platform: &str,
        after: i64,
    ) -> StoreResult<Vec<RoomPost>> {
        let rows = sqlx::query(
            "SELECT p.id, p.incident_id, p.platform, p.text, p.posted_at, o.idempotency_key \
             FROM room_posts p LEFT JOIN outbox o ON o.id = p.outbox_id \
             WHERE p.incident_id = $1 AND p.platform = $2 AND p.id > $3 ORDER BY p.id LIMIT 500",
        )
        .bind(incident_id)
        .bind(platform)
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RoomPost {
                    id: r.try_get("id")?,
                    incident_id: r.try_get("incident_id")?,
                    platform: r.try_get("platform")?,
                    text: r.try_get("text")?,
                    posted_at: get_time(r, "posted_at")?,
                    outbox_key: r.try_get("idempotency_key")?,
                })
            })
            .collect()
    }

    /// Remembers the platform room of an incident (first writer wins).
    pub async fn save_chat_room(&self, room: &ChatRoom, now: DateTime<Utc>) -> StoreResult<()> {
        save_room(&self.write, room, now).await
    }

    /// The room of an incident on a platform.
    pub async fn chat_room(
        &self,
        incident_id: i64,
        platform: &str,
    ) -> StoreResult<Option<ChatRoom>> {
        let row = sqlx::query(
            "SELECT incident_id, platform, room_id, name FROM chat_rooms WHERE incident_id = $1 AND platform = $2",
        )
        .bind(incident_id)
        .bind(platform)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(ChatRoom {
                incident_id: r.try_get("incident_id")?,
                platform: r.try_get("platform")?,
                room_id: r.try_get("room_id")?,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }

    /// The incident whose room on `platform` is `room_id`.
    pub async fn incident_of_room(
        &self,
        platform: &str,
        room_id: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT incident_id FROM chat_rooms WHERE platform = $1 AND room_id = $2",
        )
        .bind(platform)
        .bind(room_id)
        .fetch_optional(&self.read)
        .await?)
    }
}

/// [`Store::save_chat_room`] on any connection (a transaction's too).
pub(super) async fn save_room<'c, E: Executor<'c, Database = Any>>(
    e: E,
    room: &ChatRoom,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO chat_rooms (incident_id, platform, room_id, name, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (incident_id, platform) DO NOTHING",
    )
    .bind(room.incident_id)
    .bind(&room.platform)
    .bind(&room.room_id)
    .bind(&room.name)
    .bind(ms(now))
    .execute(e)
    .await?;
    Ok(())
}

/// [`Store::record_room_post`] on any connection (a transaction's too).
pub(super) async fn record_post<'c, E: Executor<'c, Database = Any>>(
    e: E,
    incident_id: i64,
    platform: &str,
    platform_id: Option<&str>,
    text: &str,
    outbox_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Option<RoomPost>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO room_posts (incident_id, platform, platform_id, text, posted_at, outbox_id) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (outbox_id) DO NOTHING RETURNING id",
    )
    .bind(incident_id)
    .bind(platform)
    .bind(platform_id)
    .bind(text)
    .bind(ms(now))
    .bind(outbox_id)
    .fetch_optional(e)
    .await?;
    Ok(id.map(|id| RoomPost {
        id,
        incident_id,
        platform: platform.to_string(),
        text: text.to_string(),
        posted_at: now,
        outbox_key: None,
    }))
}
