//! Use-cases the Discord adapter needs beyond commands: rooms, incidents for autocomplete, the
//! summary message, answered interactions and follow-ups, all behind the engine (no store in `chat/`).

use super::{Engine, EngineError};
use crate::domain::Incident;
use crate::store::{ChatRoom, IncidentFilter, NewOutbox};

impl Engine {
    /// The room of incident `id` on `platform`.
    pub async fn room_of(&self, id: i64, platform: &str) -> Result<Option<ChatRoom>, EngineError> {
        Ok(self.store.chat_room(id, platform).await?)
    }

    /// Remembers the room a platform gave incident `room.incident_id` (first writer wins).
    pub async fn save_room(&self, room: &ChatRoom) -> Result<(), EngineError> {
        Ok(self.store.save_chat_room(room, self.now()).await?)
    }

    /// Open incidents, newest first (at most `limit`), for pickers and autocomplete.
    pub async fn open_incidents(&self, limit: i64) -> Result<Vec<Incident>, EngineError> {
        let filter = IncidentFilter {
            statuses: crate::domain::Status::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .collect(),
            limit,
            ..Default::default()
        };
        Ok(self.store.incidents(&filter).await?)
    }

    /// Records a platform's interaction id; false when it was handled before (a repeat).
    pub async fn first_interaction(&self, platform: &str, id: &str) -> Result<bool, EngineError> {
        let mut unit = self.unit().await?;
        let now = unit.now();
        let result = unit
            .tx()
            .claim_key(&format!("{platform}:interaction"), id, now)
            .await
            .map_err(EngineError::from);
        self.finish(unit, None, result).await
    }

    /// Writes one outbox entry on its own (a private notice, or the follow-up of a command that
    /// failed and so wrote nothing to go with).
    pub async fn enqueue_one(&self, entry: NewOutbox) -> Result<(), EngineError> {
        let mut unit = self.unit().await?;
        let result = unit.enqueue(&entry).await.map(drop).map_err(Into::into);
        self.finish(unit, None, result).await
    }

    /// The pinned summary message (channel, message id) of incident `id`'s Discord room.
    pub async fn discord_summary(&self, id: i64) -> Result<Option<(String, String)>, EngineError> {
        Ok(self.store.discord_summary(id).await?)
    }

    /// Remembers the pinned summary message of incident `id`'s Discord room.
    pub async fn save_discord_summary(
        &self,
        id: i64,
        channel: &str,
        message: &str,
    ) -> Result<(), EngineError> {
        Ok(self
            .store
            .save_discord_summary(id, channel, message)
            .await?)
    }

    /// Whether a later `action` entry waits under the same channel key (a redundant refresh).
    pub async fn later_pending(
        &self,
        channel_key: &str,
        action: &str,
        after: i64,
    ) -> Result<bool, EngineError> {
        Ok(self.store.later_pending(channel_key, action, after).await?)
    }
}
