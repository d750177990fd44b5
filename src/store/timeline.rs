//! The append-only timeline and action items.

use super::rows::{get_json, get_parsed, get_time, get_time_opt, json_text, ms, ms_opt};
use super::{Store, StoreResult};
use crate::domain::{ActionItem, NewEvent, TimelineEvent};
use chrono::{DateTime, Utc};
use sqlx::any::{Any, AnyRow};
use sqlx::{Executor, Row};

pub(super) fn event_from_row(row: &AnyRow) -> StoreResult<TimelineEvent> {
    Ok(TimelineEvent {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        kind: get_parsed(row, "kind")?,
        at: get_time(row, "at")?,
        recorded_at: get_time(row, "recorded_at")?,
        actor: row.try_get("actor")?,
        text: row.try_get("text")?,
        data: get_json(row, "data")?,
    })
}

/// Appends one event; `None` when its source key was already recorded (a retry).
pub(super) async fn append<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    incident_id: i64,
    event: &NewEvent,
    recorded_at: DateTime<Utc>,
) -> StoreResult<Option<TimelineEvent>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO timeline_events (incident_id, kind, at, recorded_at, actor, text, data, source_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source_key) DO NOTHING RETURNING id",
    )
    .bind(incident_id)
    .bind(event.kind.as_str())
    .bind(ms(event.at))
    .bind(ms(recorded_at))
    .bind(&event.actor)
    .bind(&event.text)
    .bind(json_text(&event.data))
    .bind(&event.source_key)
    .fetch_optional(ex)
    .await?;
    Ok(id.map(|id| TimelineEvent {
        id,
        incident_id,
        kind: event.kind,
        at: event.at,
        recorded_at: super::rows::time(ms(recorded_at)).unwrap_or(recorded_at),
        actor: event.actor.clone(),
        text: event.text.clone(),
        data: event.data.clone(),
    }))
}

/// Adds an action item.
pub(super) async fn add_action_item<'c, E: Executor<'c, Database = Any>>(
    ex: E,
    item: &ActionItem,
) -> StoreResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO action_items (incident_id, text, owner, status, created_by, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(item.incident_id)
    .bind(&item.text)
    .bind(&item.owner)
    .bind(&item.status)
    .bind(&item.created_by)
    .bind(ms(item.created_at))
    .bind(ms_opt(item.due_at))
    .fetch_one(ex)
    .await?;
    Ok(id)
}

impl Store {
    /// One event by id.
    pub async fn timeline_event(&self, id: i64) -> StoreResult<Option<TimelineEvent>> {
        let row = sqlx::query(
            "SELECT id, incident_id, kind, at, recorded_at, actor, text, data FROM timeline_events WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// Events of one incident after event id `after`, oldest first, at most `limit`.
    pub async fn timeline(
        &self,
        incident_id: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TimelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, at, recorded_at, actor, text, data FROM timeline_events \
             WHERE incident_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(incident_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The newest `limit` events of one incident, oldest first.
    pub async fn timeline_tail(
        &self,
        incident_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<TimelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, at, recorded_at, actor, text, data FROM timeline_events \
             WHERE incident_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(incident_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let mut events: Vec<TimelineEvent> = rows
            .iter()
            .map(event_from_row)
            .collect::<StoreResult<_>>()?;
        events.reverse();
        Ok(events)
    }

    /// The page events (`page_sent`, `page_acknowledged`, `page_escalated`) of incidents numbered
    /// `first` to `last`, oldest first: who was paged, for the board's "mine" and the war room.
    pub async fn page_events(&self, first: i64, last: i64) -> StoreResult<Vec<TimelineEvent>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, kind, at, recorded_at, actor, text, data FROM timeline_events \
             WHERE incident_id >= $1 AND incident_id <= $2 \
             AND kind IN ('page_sent', 'page_acknowledged', 'page_escalated') ORDER BY id LIMIT 5000",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// How many events an incident's timeline holds.
    pub async fn timeline_len(&self, incident_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Action items of one incident, oldest first.
    pub async fn action_items(&self, incident_id: i64) -> StoreResult<Vec<ActionItem>> {
        let rows = sqlx::query(
            "SELECT id, incident_id, text, owner, status, created_by, created_at, due_at FROM action_items \
             WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ActionItem {
                    id: r.try_get("id")?,
                    incident_id: r.try_get("incident_id")?,
                    text: r.try_get("text")?,
                    owner: r.try_get("owner")?,
                    status: r.try_get("status")?,
                    created_by: r.try_get("created_by")?,
                    created_at: get_time(r, "created_at")?,
                    due_at: get_time_opt(r, "due_at")?,
                })
            })
            .collect()
    }
}
