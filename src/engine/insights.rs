//! Insights over a period: the charts of `/reports`, computed by the domain from the store's rows.

use super::{Engine, EngineError};
use crate::domain::chart::Chart;
use crate::domain::insights::{self, CHARTS, InsightsInput, Link};
use chrono::{DateTime, Utc};

impl Engine {
    /// Every insights chart over `[from, to)`.
    pub async fn insights(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Chart>, EngineError> {
        if from >= to {
            return Err(EngineError::invalid("from", "must be before `to`"));
        }
        let store = self.store();
        let report = store.report_data(from, to).await?;
        let input = InsightsInput {
            incidents: report.incidents,
            status_changes: report.status_changes,
            changes: store.changes_started_between(from, to).await?,
            links: store
                .change_links()
                .await?
                .into_iter()
                .map(|(incident_id, change_id, rank, confirmed)| Link {
                    incident_id,
                    change_id,
                    rank,
                    confirmed,
                })
                .collect(),
            alerts: store.alerts_first_seen_between(from, to).await?,
        };
        Ok(insights::build(from, to, &input, self.now()))
    }

    /// One insights chart by name (`incidents-per-week` …).
    pub async fn insight(
        &self,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Chart, EngineError> {
        if !CHARTS.contains(&name) {
            return Err(EngineError::invalid(
                "chart",
                format!("`{name}` is not one of {}", CHARTS.join(", ")),
            ));
        }
        self.insights(from, to)
            .await?
            .into_iter()
            .find(|c| c.id == name)
            .ok_or_else(|| EngineError::invalid("chart", format!("`{name}` is unknown")))
    }
}
