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

    /// Passes `result` through; a refusal is first recorded in its own transaction: a `refused`
    /// event on incident `incident_id`'s timeline (when there is one) and a row of the audit log.
    pub(crate) async fn recorded<T>(
        &self,
        actor: &Actor,
        incident_id: Option<i64>,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let Err(EngineError::Forbidden {
            action,
            reason,
            subject,
        }) = &result
        else {
            return result;
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let incident = match incident_id {
            Some(id) => tx.incident_for_update(id).await?,
            None => None,
        };
        if let Some(inc) = &incident {
            let event = NewEvent::new(EventKind::Refused, now, Some(&actor.id))
                .text(format!("refused {action} by {}: {reason}", actor.id))
                .data(
                    json!({"action": action, "reason": reason, "subject": subject,
                    "identity": actor.identity(), "actor_kind": actor.kind}),
                );
            tx.append(inc.id, &event, now).await?;
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
        tx.audit(&entry).await?;
        tx.commit().await?;
        if let Some(inc) = &incident {
            self.hub().notify(inc.id);
        }
        metrics::counter!("warroom_refusals_total", "action" => action.clone()).increment(1);
        tracing::info!(actor = %actor.id, action = %action, "refused");
        result
    }

    /// A page of the audit log, oldest first (`limit` 1–500).
    pub async fn audit_log(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, EngineError> {
        if !(1..=500).contains(&filter.limit) {
            return Err(EngineError::invalid("limit", "must be between 1 and 500"));
        }
        Ok(self.store().audit_page(&filter).await?)
    }
}
