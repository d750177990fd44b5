//! The one permission check: every use-case that changes something asks here, whatever platform the
//! actor came through, and refusals are recorded (a `refused` event on the incident, and the audit log).

use super::{Engine, EngineError};
use crate::domain::audit::AuditEntry;
use crate::domain::policy::{Action, Decision, Subject};
use crate::domain::{Actor, EventKind, Incident, NewEvent, Role};
use crate::store::AuditFilter;
use serde_json::json;

impl Engine {
    /// The policy's decision on `action` by `actor`, in `incident` if there is one. Pure: no I/O.
    pub fn decide(&self, action: Action, actor: &Actor, incident: Option<&Incident>) -> Decision {
        let teams = if actor.is_guest() {
            Vec::new()
        } else {
            self.catalog().directory().teams_of(&actor.id)
        };
        self.policy.decide(
            action,
            &Subject {
                actor,
                teams: &teams,
                incident_commander: incident.and_then(|i| i.holder(Role::Commander)),
            },
        )
    }

    /// Checks `action`: `Err(Forbidden)` when refused; when allowed, the audit entry a guarded action
    /// commits with its use-case (`None` for ordinary actions).
    pub(crate) fn check(
        &self,
        action: Action,
        actor: &Actor,
        incident: Option<&Incident>,
        subject: Option<String>,
    ) -> Result<Option<AuditEntry>, EngineError> {
        let decision = self.decide(action, actor, incident);
        if !decision.allowed {
            return Err(EngineError::Forbidden {
                action: action.as_str().to_string(),
                reason: decision.reason,
                subject,
            });
        }
        Ok(action.is_guarded().then(|| {
            AuditEntry::new(
                self.now(),
                actor,
                action,
                &decision,
                incident.map(|i| i.id),
                subject,
            )
        }))
    }

    /// Passes `result` through; a refusal is first recorded in a unit of its own: a `refused`
    /// event on incident `incident_id`'s timeline (when there is one) and a row of the audit log.
    pub(crate) async fn recorded<T>(
        &self,
        actor: &Actor,
        incident_id: Option<i64>,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let Err(refusal @ EngineError::Forbidden { .. }) = &result else {
            return result;
        };
        let mut unit = self.unit().await?;
        self.record_refusal(&mut unit, actor, incident_id, refusal)
            .await?;
        self.commit(unit).await?;
        result
    }

    /// Records `refusal` (an `EngineError::Forbidden`) in `unit`: a `refused` event on incident
    /// `incident_id`'s timeline (when it exists) and a row of the audit log.
    pub(crate) async fn record_refusal(
        &self,
        unit: &mut super::unit::Unit,
        actor: &Actor,
        incident_id: Option<i64>,
        refusal: &EngineError,
    ) -> Result<(), EngineError> {
        let EngineError::Forbidden {
            action,
            reason,
            subject,
        } = refusal
        else {
            return Ok(());
        };
        let now = unit.now();
        let incident = match incident_id {
            Some(id) => unit.try_lock(id).await?,
            None => None,
        };
        if let Some(inc) = &incident {
            let event = NewEvent::new(EventKind::Refused, now, Some(&actor.id))
                .text(format!("refused {action} by {}: {reason}", actor.id))
                .data(
                    json!({"action": action, "reason": reason, "subject": subject,
                    "identity": actor.identity(), "actor_kind": actor.kind}),
                );
            unit.append(inc.id, &event).await?;
        }
        let entry = AuditEntry {
            id: 0,
            at: now,
            actor: actor.id.clone(),
            actor_kind: actor.kind,
            platform: actor.platform.clone(),
            action: action.clone(),
            allowed: false,
            reason: reason.clone(),
            incident_id: incident.as_ref().map(|i| i.id),
            subject: subject.clone(),
        };
        unit.tx().audit(&entry).await?;
        metrics::counter!("warroom_refusals_total", "action" => action.clone()).increment(1);
        tracing::info!(actor = %actor.id, action = %action, "refused");
        Ok(())
    }

    /// A page of the audit log, oldest first (`limit` 1–500).
    pub async fn audit_log(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, EngineError> {
        if !(1..=500).contains(&filter.limit) {
            return Err(EngineError::invalid("limit", "must be between 1 and 500"));
        }
        Ok(self.store().audit_page(&filter).await?)
    }
}
