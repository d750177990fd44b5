//! Reports over a period: MTTA/MTTR, counts, time in status, action items.

use super::{Engine, EngineError};
use crate::domain::report::{self, Report};
use chrono::{DateTime, Utc};

impl Engine {
    /// The report over incidents created in `[from, to)`.
    pub async fn report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Report, EngineError> {
        if from >= to {
            return Err(EngineError::invalid("from", "must be before `to`"));
        }
        let data = self.store().report_data(from, to).await?;
        Ok(report::build(
            from,
            to,
            &data.incidents,
            &data.status_changes,
            data.action_items,
            self.now(),
        ))
    }
}
