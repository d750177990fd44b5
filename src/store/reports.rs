//! What the reports read: incidents created in a period, their status changes and action items.

use super::incidents::{COLUMNS, incident_from_row};
use super::rows::{get_json, get_time, ms};
use super::{Store, StoreError, StoreResult};
use crate::domain::report::StatusChange;
use crate::domain::{Incident, Status};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::BTreeMap;

/// Everything a report over `[from, to)` needs.
#[derive(Debug, Clone, Default)]
pub struct ReportData {
    /// Incidents created in the period.
    pub incidents: Vec<Incident>,
    /// Their status changes.
    pub status_changes: Vec<StatusChange>,
    /// Their action items, counted by status.
    pub action_items: BTreeMap<String, i64>,
}

fn status(data: &serde_json::Value, key: &str) -> StoreResult<Status> {
    data.get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("status_changed event without `{key}`")))
}

impl Store {
    /// Incidents created in `[from, to)` with their status changes and action-item counts.
    pub async fn report_data(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<ReportData> {
        let sql = format!(
            "SELECT {COLUMNS} FROM incidents WHERE created_at >= $1 AND created_at < $2 ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(from))
            .bind(ms(to))
            .fetch_all(&self.read)
            .await?;
        let incidents: Vec<Incident> = rows
            .iter()
            .map(incident_from_row)
            .collect::<StoreResult<_>>()?;
        let rows = sqlx::query(
            "SELECT e.incident_id, e.at, e.data FROM timeline_events e \
             JOIN incidents i ON i.id = e.incident_id \
             WHERE e.kind = 'status_changed' AND i.created_at >= $1 AND i.created_at < $2 \
             ORDER BY e.id",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.read)
        .await?;
        let mut status_changes = Vec::with_capacity(rows.len());
        for r in &rows {
            let data: serde_json::Value = get_json(r, "data")?;
            status_changes.push(StatusChange {
                incident_id: r.try_get("incident_id")?,
                at: get_time(r, "at")?,
                from: status(&data, "from")?,
                to: status(&data, "to")?,
            });
        }
        let rows = sqlx::query(
            "SELECT a.status, COUNT(*) AS n FROM action_items a \
             JOIN incidents i ON i.id = a.incident_id \
             WHERE i.created_at >= $1 AND i.created_at < $2 GROUP BY a.status",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.read)
        .await?;
        let mut action_items = BTreeMap::new();
        for r in &rows {
            action_items.insert(r.try_get::<String, _>("status")?, r.try_get::<i64, _>("n")?);
        }
        Ok(ReportData {
            incidents,
            status_changes,
            action_items,
        })
    }
}
