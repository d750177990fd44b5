//! The dispatcher's writes for a whole group at once: the alerts it marked dispatched, the inhibitions
//! their resolutions release and the alert events it appends, a handful of statements per group instead of
//! two or three per alert (a storm of new alerts puts thousands of alerts in each dispatch).

use super::alert_ingest::pow2_chunks;
use super::rows::{json_text, ms, ms_opt, time};
use super::{Backend, StoreResult, Tx};
use crate::domain::{NewEvent, TimelineEvent};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;

/// Events per multi-row timeline insert (8 parameters each).
const EVENT_ROWS: usize = 64;

/// Alerts per marking statement (one JSON list each).
const MARK_ROWS: usize = 2000;

/// One alert the dispatcher has decided.
#[derive(Debug, Clone)]
pub struct DispatchMark<'a> {
    /// The alert.
    pub fingerprint: &'a str,
    /// Its row's own report count when it was read: a write since keeps it pending.
    pub written: i64,
    /// The alert that inhibits it, if any.
    pub inhibited_by: Option<&'a str>,
    /// When its `alert_firing` event was appended, if this dispatch appended one.
    pub announced_at: Option<DateTime<Utc>>,
}

impl Tx {
    /// Marks alerts dispatched, all to `incident_id` (kept as it was when `None`), with their inhibition and
    /// (if announced) when; an alert written since it was read (`written` moved on) stays pending for the
    /// next dispatch. One statement per [`MARK_ROWS`] alerts.
    pub async fn alerts_dispatched(
        &mut self,
        marks: &[DispatchMark<'_>],
        incident_id: Option<i64>,
    ) -> StoreResult<()> {
        let sql = match self.backend() {
            // The list drives the plan: one primary-key probe per alert, whatever the table's size.
            Backend::Sqlite => {
                "UPDATE alerts SET dirty = 0, incident_id = COALESCE($1, alerts.incident_id), \
                 inhibited_by = j.inh, announced_at = COALESCE(j.ann, alerts.announced_at) \
                 FROM (SELECT json_extract(value, '$.f') AS f, json_extract(value, '$.w') AS w, \
                 json_extract(value, '$.i') AS inh, json_extract(value, '$.a') AS ann FROM json_each($2)) AS j \
                 WHERE alerts.fingerprint = j.f AND alerts.reports = j.w"
            }
            Backend::Postgres => {
                "UPDATE alerts AS a SET dirty = 0, incident_id = COALESCE($1, a.incident_id), \
                 inhibited_by = j.i, announced_at = COALESCE(j.a, a.announced_at) \
                 FROM json_to_recordset($2::json) AS j(f text, w bigint, i text, a bigint) \
                 WHERE a.fingerprint = j.f AND a.reports = j.w"
            }
        };
        for chunk in marks.chunks(MARK_ROWS) {
            let list = serde_json::Value::Array(
                chunk
                    .iter()
                    .map(|m| {
                        serde_json::json!({"f": m.fingerprint, "w": m.written, "i": m.inhibited_by,
                            "a": ms_opt(m.announced_at)})
                    })
                    .collect(),
            )
            .to_string();
            sqlx::query(sql)
                .bind(incident_id)
                .bind(list)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Re-queues the firing alerts that any of `fingerprints` inhibited (they resolved), due at once.
    pub async fn release_inhibited_by(
        &mut self,
        fingerprints: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if fingerprints.is_empty() {
            return Ok(());
        }
        let list = serde_json::to_string(fingerprints).unwrap_or_else(|_| "[]".into());
        let (requeue, due) = match self.backend() {
            Backend::Sqlite => (
                "UPDATE alerts SET dirty = 1 WHERE status = 'firing' \
                 AND inhibited_by IN (SELECT value FROM json_each($1))",
                "UPDATE alert_groups SET next_flush_at = $1 WHERE next_flush_at IS NULL AND group_key IN \
                 (SELECT group_key FROM alerts WHERE status = 'firing' \
                 AND inhibited_by IN (SELECT value FROM json_each($2)))",
            ),
            Backend::Postgres => (
                "UPDATE alerts SET dirty = 1 WHERE status = 'firing' \
                 AND inhibited_by IN (SELECT json_array_elements_text($1::json))",
                "UPDATE alert_groups SET next_flush_at = $1 WHERE next_flush_at IS NULL AND group_key IN \
                 (SELECT group_key FROM alerts WHERE status = 'firing' \
                 AND inhibited_by IN (SELECT json_array_elements_text($2::json)))",
            ),
        };
        sqlx::query(requeue)
            .bind(list.clone())
            .execute(self.conn())
            .await?;
        sqlx::query(due)
            .bind(ms(now))
            .bind(list)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Appends events to one incident in order, many per statement; returns those stored (an event whose
    /// source key was recorded before is skipped, as [`Tx::append`] does). Events without a source key, or
    /// that record a guest, go through [`Tx::append`] one by one.
    pub async fn append_events(
        &mut self,
        incident_id: i64,
        events: &[NewEvent],
        recorded_at: DateTime<Utc>,
    ) -> StoreResult<Vec<TimelineEvent>> {
        let mut stored = Vec::with_capacity(events.len());
        let mut run: Vec<&NewEvent> = Vec::new();
        for e in events {
            let plain = e.source_key.is_some() && e.data.get("identity").is_none();
            if plain {
                run.push(e);
                if run.len() == EVENT_ROWS {
                    stored.extend(self.insert_keyed(incident_id, &run, recorded_at).await?);
                    run.clear();
                }
                continue;
            }
            stored.extend(self.insert_run(incident_id, &run, recorded_at).await?);
            run.clear();
            stored.extend(self.append(incident_id, e, recorded_at).await?);
        }
        stored.extend(self.insert_run(incident_id, &run, recorded_at).await?);
        Ok(stored)
    }

    /// A run of keyed events in statements of power-of-two widths (a few cached statement texts).
    async fn insert_run(
        &mut self,
        incident_id: i64,
        events: &[&NewEvent],
        recorded_at: DateTime<Utc>,
    ) -> StoreResult<Vec<TimelineEvent>> {
        let mut stored = Vec::with_capacity(events.len());
        for chunk in pow2_chunks(events, EVENT_ROWS) {
            stored.extend(self.insert_keyed(incident_id, chunk, recorded_at).await?);
        }
        Ok(stored)
    }

    /// One multi-row insert of events that all have a source key; the stored ones in id order.
    async fn insert_keyed(
        &mut self,
        incident_id: i64,
        events: &[&NewEvent],
        recorded_at: DateTime<Utc>,
    ) -> StoreResult<Vec<TimelineEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<String> = (0..events.len())
            .map(|i| match self.backend() {
                // `?` on SQLite: it looks every `$N` name up by a linear scan.
                Backend::Sqlite => "(?, ?, ?, ?, ?, ?, ?, ?)".to_string(),
                Backend::Postgres => {
                    let n = i * 8;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        n + 1,
                        n + 2,
                        n + 3,
                        n + 4,
                        n + 5,
                        n + 6,
                        n + 7,
                        n + 8
                    )
                }
            })
            .collect();
        let sql = format!(
            "INSERT INTO timeline_events (incident_id, kind, at, recorded_at, actor, text, data, source_key) \
             VALUES {} ON CONFLICT (source_key) DO NOTHING RETURNING id, source_key",
            rows.join(", ")
        );
        let at = ms(recorded_at);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for e in events {
            q = q
                .bind(incident_id)
                .bind(e.kind.as_str())
                .bind(ms(e.at))
                .bind(at)
                .bind(&e.actor)
                .bind(&e.text)
                .bind(json_text(&e.data))
                .bind(&e.source_key);
        }
        let mut ids: HashMap<String, i64> = HashMap::new();
        for row in q.fetch_all(self.conn()).await? {
            ids.insert(row.try_get("source_key")?, row.try_get("id")?);
        }
        let recorded = time(at).unwrap_or(recorded_at);
        let mut stored: Vec<TimelineEvent> = events
            .iter()
            .filter_map(|e| {
                let id = *ids.get(e.source_key.as_deref()?)?;
                Some(TimelineEvent {
                    id,
                    incident_id,
                    kind: e.kind,
                    at: e.at,
                    recorded_at: recorded,
                    actor: e.actor.clone(),
                    text: e.text.clone(),
                    data: e.data.clone(),
                })
            })
            .collect();
        stored.sort_by_key(|e| e.id);
        Ok(stored)
    }
}
