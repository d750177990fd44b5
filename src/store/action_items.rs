//! Editing action items (adding them is in `timeline.rs`, beside the event that announces them).

use super::rows::{get_time, get_time_opt, ms_opt};
use super::{StoreResult, Tx};
use crate::domain::ActionItem;
use sqlx::Row;

impl Tx {
    /// Action item `item_id` of incident `incident_id` (lock the incident first: edits go through it).
    pub async fn action_item(
        &mut self,
        incident_id: i64,
        item_id: i64,
    ) -> StoreResult<Option<ActionItem>> {
        let row = sqlx::query(
            "SELECT id, incident_id, text, owner, status, created_by, created_at, due_at FROM action_items \
             WHERE incident_id = $1 AND id = $2",
        )
        .bind(incident_id)
        .bind(item_id)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| {
            Ok(ActionItem {
                id: r.try_get("id")?,
                incident_id: r.try_get("incident_id")?,
                text: r.try_get("text")?,
                owner: r.try_get("owner")?,
                status: r.try_get("status")?,
                created_by: r.try_get("created_by")?,
                created_at: get_time(&r, "created_at")?,
                due_at: get_time_opt(&r, "due_at")?,
            })
        })
        .transpose()
    }

    /// Writes an action item's editable fields (text, owner, status, due date) back.
    pub async fn save_action_item(&mut self, item: &ActionItem) -> StoreResult<()> {
        sqlx::query(
            "UPDATE action_items SET text = $1, owner = $2, status = $3, due_at = $4 \
             WHERE id = $5 AND incident_id = $6",
        )
        .bind(&item.text)
        .bind(&item.owner)
        .bind(&item.status)
        .bind(ms_opt(item.due_at))
        .bind(item.id)
        .bind(item.incident_id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
