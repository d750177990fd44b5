//! Stored postmortem drafts: one per incident, replaced when it is refreshed.

use super::rows::{get_time, ms};
use super::{Store, rows::get_json};
use super::{StoreError, StoreResult, Tx};
use crate::domain::postmortem::Postmortem;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A draft as stored, with the last timeline event it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPostmortem {
    /// The draft.
    pub postmortem: Postmortem,
    /// The newest timeline event it was built from.
    pub through_event_id: i64,
    /// When it was generated.
    pub generated_at: DateTime<Utc>,
}

impl Tx {
    /// Stores (or replaces) the draft of its incident.
    pub async fn save_postmortem(
        &mut self,
        postmortem: &Postmortem,
        through_event_id: i64,
    ) -> StoreResult<()> {
        let body = serde_json::to_string(postmortem)
            .map_err(|e| StoreError::Corrupt(format!("postmortem: {e}")))?;
        sqlx::query(
            "INSERT INTO postmortems (incident_id, format_version, generated, generated_at, through_event_id, body) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (incident_id) DO UPDATE SET \
             format_version = excluded.format_version, generated = excluded.generated, \
             generated_at = excluded.generated_at, through_event_id = excluded.through_event_id, \
             body = excluded.body",
        )
        .bind(postmortem.incident.id)
        .bind(i64::from(postmortem.format_version))
        .bind(&postmortem.generated)
        .bind(ms(postmortem.generated_at.at))
        .bind(through_event_id)
        .bind(body)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// The stored draft of an incident, if one was generated.
    pub async fn postmortem(&self, incident_id: i64) -> StoreResult<Option<StoredPostmortem>> {
        let row = sqlx::query(
            "SELECT through_event_id, generated_at, body FROM postmortems WHERE incident_id = $1",
        )
        .bind(incident_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredPostmortem {
                postmortem: get_json(&r, "body")?,
                through_event_id: r.try_get("through_event_id")?,
                generated_at: get_time(&r, "generated_at")?,
            })
        })
        .transpose()
    }

    /// The id of the newest event of an incident's timeline that can change its draft: not a
    /// `postmortem` event, nor the `command` record that follows the command's own effects (0 when none).
    pub async fn last_content_event_id(&self, incident_id: i64) -> StoreResult<i64> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM timeline_events WHERE incident_id = $1 \
             AND kind NOT IN ('postmortem', 'command')",
        )
        .bind(incident_id)
        .fetch_one(&self.read)
        .await?;
        Ok(id.unwrap_or(0))
    }
}
