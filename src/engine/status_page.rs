//! The stakeholder status page and the public status updates it shows.

use super::incidents::{Applied, check_text};
use super::{Engine, EngineError};
use crate::domain::policy::Action;
use crate::domain::status_page::{ONGOING, PublicIncident, public_incident};
use crate::domain::{Actor, EventKind, NewEvent};
use crate::store::IncidentFilter;
use serde_json::json;

impl Engine {
    /// [`Engine::public_update`] inside `unit` (a command's own unit).
    pub(super) async fn public_update_in(
        &self,
        unit: &mut super::unit::Unit,
        id: i64,
        text: &str,
        who: &Actor,
    ) -> Result<Applied, EngineError> {
        let text = check_text("update", text)?;
        let actor = who.id.clone();
        self.apply_in(unit, id, |inc, now| {
            self.check(Action::Respond, who, Some(inc), None)?;
            Ok(vec![
                NewEvent::new(EventKind::StatusUpdate, now, Some(&actor))
                    .text(text)
                    .data(json!({"public": true}))
                    .identified(who.identity()),
            ])
        })
        .await
    }

    /// The ongoing incidents with only their public updates, most severe first.
    pub async fn status_page(&self) -> Result<Vec<PublicIncident>, EngineError> {
        let filter = IncidentFilter {
            statuses: ONGOING.to_vec(),
            limit: 100,
            ..IncidentFilter::default()
        };
        let mut out = Vec::new();
        for inc in self.store().incidents(&filter).await? {
            let updates = self.store().status_updates(inc.id).await?;
            out.push(public_incident(&inc, &updates));
        }
        out.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.since.cmp(&a.since)));
        Ok(out)
    }
}
