//! What the stakeholder status page reads: the status updates of a few incidents.

use super::timeline::event_from_row;
use super::{Store, StoreResult};
use crate::domain::TimelineEvent;

impl Store {
    /// The `status_update` events of incident `incident_id`, oldest first (public or not: the domain picks).
    pub async fn status_updates(&self, incident_id: i64) -> StoreResult<Vec<TimelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, at, recorded_at, actor, text, data FROM timeline_events \
             WHERE incident_id = $1 AND kind = 'status_update' ORDER BY id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
