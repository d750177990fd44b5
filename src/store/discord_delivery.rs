//! Discord-specific records: the pinned summary message of each war room.

use super::{Store, StoreResult};
use sqlx::Executor;
use sqlx::any::Any;

impl Store {
    /// Remembers the summary message of an incident's Discord room (first writer wins).
    pub async fn save_discord_summary(
        &self,
        incident_id: i64,
        channel_id: &str,
        message_id: &str,
    ) -> StoreResult<()> {
        save_summary(&self.write, incident_id, channel_id, message_id).await
    }

    /// The summary message (channel, message id) of an incident's Discord room.
    pub async fn discord_summary(&self, incident_id: i64) -> StoreResult<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT channel_id, message_id FROM discord_summaries WHERE incident_id = $1",
        )
        .bind(incident_id)
        .fetch_optional(&self.read)
        .await?)
    }
}

/// [`Store::save_discord_summary`] on any connection (a transaction's too).
pub(super) async fn save_summary<'c, E: Executor<'c, Database = Any>>(
    e: E,
    incident_id: i64,
    channel_id: &str,
    message_id: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO discord_summaries (incident_id, channel_id, message_id) VALUES ($1, $2, $3) \
         ON CONFLICT (incident_id) DO NOTHING",
    )
    .bind(incident_id)
    .bind(channel_id)
    .bind(message_id)
    .execute(e)
    .await?;
    Ok(())
}
