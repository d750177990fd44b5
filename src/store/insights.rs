//! What the insights read beyond the report's rows: alerts first seen in a period.

use super::rows::ms;
use super::{Store, StoreResult};
use crate::domain::insights::AlertRow;
use chrono::{DateTime, Utc};
use sqlx::Row;

impl Store {
    /// Alerts first seen in `[from, to)`, with their reports (duplicates included), flaps and incident.
    pub async fn alerts_first_seen_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<AlertRow>> {
        let rows = sqlx::query(
            "SELECT a.alertname, a.reports + COALESCE(d.reports, 0) AS reports, a.flaps, a.incident_id \
             FROM alerts a LEFT JOIN alert_duplicates d ON d.fingerprint = a.fingerprint \
             WHERE a.first_seen >= $1 AND a.first_seen < $2 ORDER BY a.fingerprint",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertRow {
                    alertname: r.try_get("alertname")?,
                    reports: r.try_get("reports")?,
                    flaps: r.try_get("flaps")?,
                    incident_id: r.try_get("incident_id")?,
                })
            })
            .collect()
    }
}
