//! What the outbox worker writes when a delivery reports back, in one transaction: the entry's
//! fenced completion (or retry, or failure) with the facts the delivery learned.

use super::{ChatRoom, StoreResult, Tx, discord_delivery, outbox, people, rooms, slack};
use chrono::{DateTime, Utc};

impl Tx {
    /// [`super::Store::complete_outbox`] in this transaction; false when the claim was lost.
    pub async fn complete_outbox(
        &mut self,
        id: i64,
        token: &str,
        result: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        outbox::complete(self.conn(), id, token, result, now).await
    }

    /// [`super::Store::retry_outbox`] in this transaction; false when the claim was lost.
    pub async fn retry_outbox(
        &mut self,
        id: i64,
        token: &str,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        attempted: bool,
    ) -> StoreResult<bool> {
        outbox::retry(self.conn(), id, token, next_attempt_at, error, attempted).await
    }

    /// [`super::Store::fail_outbox`] in this transaction; false when the claim was lost.
    pub async fn fail_outbox(
        &mut self,
        id: i64,
        token: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        outbox::fail(self.conn(), id, token, error, now).await
    }

    /// Remembers the platform room of an incident (first writer wins).
    pub async fn save_chat_room(&mut self, room: &ChatRoom, now: DateTime<Utc>) -> StoreResult<()> {
        rooms::save_room(self.conn(), room, now).await
    }

    /// Records a post delivered by outbox entry `outbox_id` (idempotent per entry).
    pub async fn record_room_post(
        &mut self,
        incident_id: i64,
        platform: &str,
        text: &str,
        outbox_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        rooms::record_post(
            self.conn(),
            incident_id,
            platform,
            None,
            text,
            outbox_id,
            now,
        )
        .await?;
        Ok(())
    }

    /// Remembers the summary message of an incident's Slack room (first writer wins).
    pub async fn save_slack_summary(
        &mut self,
        incident_id: i64,
        channel_id: &str,
        ts: &str,
    ) -> StoreResult<()> {
        slack::save_summary(self.conn(), incident_id, channel_id, ts).await
    }

    /// Remembers the summary message of an incident's Discord room (first writer wins).
    pub async fn save_discord_summary(
        &mut self,
        incident_id: i64,
        channel_id: &str,
        message_id: &str,
    ) -> StoreResult<()> {
        discord_delivery::save_summary(self.conn(), incident_id, channel_id, message_id).await
    }

    /// Remembers (or refreshes) the display name of a Slack user.
    pub async fn save_slack_user(
        &mut self,
        user_id: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        slack::save_user(self.conn(), user_id, name, now).await
    }

    /// Caches one `users.lookupByEmail` answer (`None`: no such address).
    pub async fn save_slack_link(
        &mut self,
        email: &str,
        user_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        people::save_slack_link(self.conn(), email, user_id, now).await
    }
}
