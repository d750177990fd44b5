//! Reminder state per incident, the last status update it is counted from, and stopping an
//! incident's pending reminder timers.

use super::rows::{get_time_opt, json_text, ms, ms_opt};
use super::{StoreResult, Tx};
use crate::domain::reminders::ReminderState;
use chrono::{DateTime, Utc};
use sqlx::Row;

impl Tx {
    /// Incident `id`'s reminder state and its live timer's time (`None` before reminders started).
    pub async fn reminder_state(
        &mut self,
        id: i64,
    ) -> StoreResult<Option<(ReminderState, Option<DateTime<Utc>>)>> {
        let row = sqlx::query("SELECT state, next_at FROM reminders WHERE incident_id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| {
            let text: String = r.try_get("state")?;
            let state = serde_json::from_str(&text).unwrap_or_default();
            Ok((state, get_time_opt(&r, "next_at")?))
        })
        .transpose()
    }

    /// Writes incident `id`'s reminder state and its live timer's time.
    pub async fn save_reminder_state(
        &mut self,
        id: i64,
        state: &ReminderState,
        next_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO reminders (incident_id, state, next_at, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, \
             next_at = excluded.next_at, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(json_text(state))
        .bind(ms_opt(next_at))
        .bind(ms(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// When incident `id` last had a status update (`/inc update`, public or not).
    pub async fn last_status_update(&mut self, id: i64) -> StoreResult<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(at) FROM timeline_events WHERE kind = 'status_update' AND incident_id = $1",
        )
        .bind(id)
        .fetch_one(self.conn())
        .await?;
        at.map(super::rows::time).transpose()
    }

    /// Marks incident `id`'s pending reminder timers (`jobs` of `kind` keyed `<kind>:<id>:…`) done;
    /// returns how many were stopped.
    pub async fn stop_reminder_timers(
        &mut self,
        kind: &str,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', done_at = $1, claimed_until = NULL \
             WHERE kind = $2 AND status = 'pending' AND job_key LIKE $3",
        )
        .bind(ms(now))
        .bind(kind)
        .bind(format!("{kind}:{id}:%"))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}
