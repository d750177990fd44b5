//! Incident use-cases: declare, status, severity, roles, updates, notes, impact, action items, messages.

use super::unit::Unit;
use super::{Engine, EngineError, outbound};
use crate::domain::audit::AuditEntry;
use crate::domain::incident::validate_title;
use crate::domain::policy::Action;
use crate::domain::{
    ActionItem, Actor, EventKind, Incident, IncidentType, NewEvent, NewIncident, Role, Severity,
    Status, TimelineEvent,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// What a declare needs.
#[derive(Debug, Clone)]
pub struct Declare {
    /// One-line description.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Incident type.
    pub kind: IncidentType,
    /// The affected service.
    pub service: Option<String>,
}

/// A partial update: each present field is applied, all in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// New status.
    pub status: Option<Status>,
    /// New severity.
    pub severity: Option<Severity>,
    /// Roles to assign (`Some(user)`) or clear (`None`).
    pub roles: BTreeMap<Role, Option<String>>,
}

/// Longest free text accepted for notes, updates and messages.
pub const MAX_TEXT_LEN: usize = 4000;

pub(super) fn check_text(field: &str, text: &str) -> Result<String, EngineError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(EngineError::invalid(field, "must not be empty"));
    }
    let n = t.chars().count();
    if n > MAX_TEXT_LEN {
        return Err(EngineError::invalid(
            field,
            format!("is {n} characters long; at most {MAX_TEXT_LEN} are allowed"),
        ));
    }
    Ok(t.to_string())
}

pub(super) fn check_user(field: &str, user: &str) -> Result<String, EngineError> {
    let u = user.trim().trim_start_matches('@');
    if u.is_empty() || u.len() > 100 || u.chars().any(char::is_control) {
        return Err(EngineError::invalid(field, "must be a user name"));
    }
    Ok(u.to_string())
}

fn status_event(from: Status, to: Status, now: DateTime<Utc>, actor: &str) -> NewEvent {
    NewEvent::new(EventKind::StatusChanged, now, Some(actor))
        .text(format!("{actor} changed the status from {from} to {to}"))
        .data(json!({"from": from, "to": to}))
}

fn role_event(
    role: Role,
    user: Option<&str>,
    previous: Option<&str>,
    now: DateTime<Utc>,
    actor: &str,
) -> NewEvent {
    let text = match (user, previous) {
        (Some(u), Some(p)) if u != p => format!("{actor} handed {role} over from {p} to {u}"),
        (Some(u), _) if u == actor => format!("{actor} took the {role} role"),
        (Some(u), _) => format!("{actor} made {u} {role}"),
        (None, Some(p)) => format!("{actor} removed {p} as {role}"),
        (None, None) => format!("{actor} cleared {role}"),
    };
    NewEvent::new(EventKind::RoleAssigned, now, Some(actor))
        .text(text)
        .data(json!({"role": role, "user": user, "previous": previous}))
}

/// The result of a change: the incident after it and the events it appended.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The incident after the change.
    pub incident: Incident,
    /// The events appended (none if the change was a retry of one already recorded).
    pub events: Vec<TimelineEvent>,
}

impl Engine {
    /// Declares an incident (status `declared`), with its first event and room posts.
    pub async fn declare(&self, req: Declare, who: &Actor) -> Result<Incident, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.declare_in(&mut unit, req, who).await;
        self.finish(unit, Some((who, None)), result).await
    }

    /// [`Engine::declare`] inside `unit`; the correlation follows as a job of the same unit.
    pub(super) async fn declare_in(
        &self,
        unit: &mut Unit,
        req: Declare,
        who: &Actor,
    ) -> Result<Incident, EngineError> {
        let audit = self.check(
            Action::for_declare(req.severity),
            who,
            None,
            Some(req.severity.to_string()),
        )?;
        let actor = who.id.as_str();
        let title =
            validate_title(&req.title).map_err(|e| EngineError::invalid("title", e.to_string()))?;
        let service = req
            .service
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let now = unit.now();
        let mut incident = Incident::open(
            NewIncident {
                title,
                severity: req.severity,
                kind: req.kind,
                service,
                status: Status::Declared,
                declared_by: Some(actor.to_string()),
                detected_at: now,
            },
            now,
        );
        // Declared by warroom itself (a missed heartbeat) and paging a human: MTTA waits for the
        // first acknowledged page, as for an incident an alert policy declares.
        if who.kind == crate::domain::ActorKind::System && self.opening_plan(&incident).is_some() {
            incident.acknowledged_at = None;
        }
        unit.insert_incident(&mut incident).await?;
        let service_text = incident
            .service
            .as_deref()
            .map(|s| format!(" on {s}"))
            .unwrap_or_default();
        let event = NewEvent::new(EventKind::Declared, now, Some(actor))
            .text(format!(
                "{actor} declared {} {}{service_text}: {}",
                incident.severity, incident.kind, incident.title
            ))
            .data(json!({"title": incident.title, "severity": incident.severity, "type": incident.kind,
                "service": incident.service}))
            .identified(who.identity());
        let mut stored: Vec<TimelineEvent> = unit
            .append(incident.id, &event)
            .await?
            .into_iter()
            .collect();
        stored.extend(self.page_on_open(unit, &incident).await?);
        self.arm_reminders(unit.tx(), &incident, now).await?;
        if let Some(mut entry) = audit {
            entry.incident_id = Some(incident.id);
            unit.tx().audit(&entry).await?;
        }
        for entry in outbound::room_opened(&incident, &self.destinations) {
            unit.enqueue(&entry).await?;
        }
        unit.announce(&incident, stored.as_slice(), &self.destinations)
            .await?;
        if let Some(declared) = stored.first() {
            self.correlate_later(unit, incident.id, declared.id).await?;
        }
        metrics::counter!("warroom_incidents_declared_total", "severity" => incident.severity.as_str()).increment(1);
        tracing::info!(incident = incident.id, severity = %incident.severity, "incident declared");
        Ok(incident)
    }

    /// Applies `change` to incident `id` under a row lock; events, state and outbox commit together.
    /// A status change to resolved or closed enqueues the postmortem draft's job with them.
    pub async fn apply<F>(&self, id: i64, change: F) -> Result<Applied, EngineError>
    where
        F: FnOnce(&mut Incident, DateTime<Utc>) -> Result<Vec<NewEvent>, EngineError>,
    {
        let mut unit = self.unit().await?;
        let result = self.apply_in(&mut unit, id, change).await;
        self.finish(unit, None, result).await
    }

    /// [`Engine::apply`] inside `unit`.
    pub(crate) async fn apply_in<F>(
        &self,
        unit: &mut Unit,
        id: i64,
        change: F,
    ) -> Result<Applied, EngineError>
    where
        F: FnOnce(&mut Incident, DateTime<Utc>) -> Result<Vec<NewEvent>, EngineError>,
    {
        self.apply_audited_in(unit, id, |inc, now| Ok((change(inc, now)?, Vec::new())))
            .await
    }

    /// [`Engine::apply_in`] whose change also returns audit entries, committed with its events.
    pub(crate) async fn apply_audited_in<F>(
        &self,
        unit: &mut Unit,
        id: i64,
        change: F,
    ) -> Result<Applied, EngineError>
    where
        F: FnOnce(
            &mut Incident,
            DateTime<Utc>,
        ) -> Result<(Vec<NewEvent>, Vec<AuditEntry>), EngineError>,
    {
        let now = unit.now();
        let mut incident = unit.lock(id).await?;
        let (events, audits) = change(&mut incident, now)?;
        let stored = unit.append_all(id, &events).await?;
        if stored.is_empty() && !events.is_empty() {
            // Every event was a retry of one already recorded: change nothing.
            let current = unit.lock(id).await?;
            return Ok(Applied {
                incident: current,
                events: stored,
            });
        }
        unit.save(&incident).await?;
        for entry in &audits {
            unit.tx().audit(entry).await?;
        }
        unit.announce(&incident, &stored, &self.destinations)
            .await?;
        Ok(Applied {
            incident,
            events: stored,
        })
    }

    /// Applies a partial update (status, severity, roles) as one change.
    pub async fn patch(&self, id: i64, patch: Patch, who: &Actor) -> Result<Applied, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.patch_in(&mut unit, id, patch, who).await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// The actions a patch needs, judged on the incident before it.
    fn patch_actions(inc: &Incident, patch: &Patch, who: &Actor) -> Vec<(Action, String)> {
        let mut needs = Vec::new();
        if let Some(sev) = patch.severity.filter(|s| *s != inc.severity) {
            needs.push((
                Action::for_severity(inc.severity, sev),
                format!("severity {} → {sev}", inc.severity),
            ));
        }
        for role in patch.roles.keys() {
            let action = Action::for_role(*role, inc.holder(*role), who);
            needs.push((action, format!("role {role}")));
        }
        if let Some(to) = patch.status {
            let action = Action::for_transition(inc.status, to);
            needs.push((action, format!("status {} → {to}", inc.status)));
        }
        needs
    }

    /// [`Engine::patch`] inside `unit`.
    pub(crate) async fn patch_in(
        &self,
        unit: &mut Unit,
        id: i64,
        patch: Patch,
        who: &Actor,
    ) -> Result<Applied, EngineError> {
        self.patch_because(unit, id, patch, who, None).await
    }

    /// Moves incident `id` to `to` inside `unit`, the way a person does, saying why on the
    /// timeline (the alert policy's auto-resolve).
    pub(crate) async fn set_status_because(
        &self,
        unit: &mut Unit,
        id: i64,
        to: Status,
        who: &Actor,
        because: &str,
    ) -> Result<Applied, EngineError> {
        let patch = Patch {
            status: Some(to),
            ..Patch::default()
        };
        self.patch_because(unit, id, patch, who, Some(because))
            .await
    }

    async fn patch_because(
        &self,
        unit: &mut Unit,
        id: i64,
        patch: Patch,
        who: &Actor,
        because: Option<&str>,
    ) -> Result<Applied, EngineError> {
        let actor = who.id.as_str();
        let mut roles = Vec::new();
        for (role, user) in patch.roles.clone() {
            roles.push((
                role,
                user.map(|u| check_user(&format!("roles.{role}"), &u))
                    .transpose()?,
            ));
        }
        let applied = self
            .apply_audited_in(unit, id, |inc, now| {
                let mut audits = Vec::new();
                for (action, subject) in Self::patch_actions(inc, &patch, who) {
                    audits.extend(self.check(action, who, Some(inc), Some(subject))?);
                }
                let mut events = Vec::new();
                if let Some(sev) = patch.severity
                    && let Some(prev) = inc.set_severity(sev, now)
                {
                    events.push(
                        NewEvent::new(EventKind::SeverityChanged, now, Some(actor))
                            .text(format!("{actor} changed the severity from {prev} to {sev}"))
                            .data(json!({"from": prev, "to": sev})),
                    );
                }
                for (role, user) in roles {
                    let previous = match &user {
                        Some(u) if inc.holder(role) == Some(u.as_str()) => continue,
                        Some(u) => inc.assign_role(role, u, now),
                        None => {
                            inc.updated_at = now;
                            inc.roles.remove(&role)
                        }
                    };
                    if user.is_none() && previous.is_none() {
                        continue;
                    }
                    events.push(role_event(
                        role,
                        user.as_deref(),
                        previous.as_deref(),
                        now,
                        actor,
                    ));
                }
                if let Some(to) = patch.status {
                    let from = inc.transition(to, now)?;
                    let mut event = status_event(from, to, now, actor);
                    if let Some(why) = because {
                        event.text = event.text.map(|t| format!("{t}: {why}"));
                    }
                    events.push(event);
                }
                let events = events
                    .into_iter()
                    .map(|e| e.identified(who.identity()))
                    .collect();
                Ok((events, audits))
            })
            .await?;
        if !applied.events.is_empty() {
            // Severity, status and commander move the reminder timer (a resolve stops it).
            let now = unit.now();
            self.arm_reminders(unit.tx(), &applied.incident, now)
                .await?;
        }
        Ok(applied)
    }

    /// Moves an incident to another status.
    pub async fn set_status(
        &self,
        id: i64,
        to: Status,
        actor: &Actor,
    ) -> Result<Applied, EngineError> {
        self.patch(
            id,
            Patch {
                status: Some(to),
                ..Patch::default()
            },
            actor,
        )
        .await
    }

    /// Changes the severity.
    pub async fn set_severity(
        &self,
        id: i64,
        severity: Severity,
        actor: &Actor,
    ) -> Result<Applied, EngineError> {
        self.patch(
            id,
            Patch {
                severity: Some(severity),
                ..Patch::default()
            },
            actor,
        )
        .await
    }

    /// Gives a role to a user (a hand-off if somebody held it).
    pub async fn assign_role(
        &self,
        id: i64,
        role: Role,
        user: &str,
        actor: &Actor,
    ) -> Result<Applied, EngineError> {
        let mut roles = BTreeMap::new();
        roles.insert(role, Some(user.to_string()));
        self.patch(
            id,
            Patch {
                roles,
                ..Patch::default()
            },
            actor,
        )
        .await
    }

    /// Appends a text event of `kind` (note, status update, impact).
    pub async fn add_text(
        &self,
        id: i64,
        kind: EventKind,
        text: &str,
        who: &Actor,
    ) -> Result<Applied, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.add_text_in(&mut unit, id, kind, text, who).await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// [`Engine::add_text`] inside `unit`.
    pub(super) async fn add_text_in(
        &self,
        unit: &mut Unit,
        id: i64,
        kind: EventKind,
        text: &str,
        who: &Actor,
    ) -> Result<Applied, EngineError> {
        let actor = who.id.as_str();
        let field = match kind {
            EventKind::StatusUpdate => "update",
            EventKind::Impact => "impact",
            _ => "text",
        };
        let text = check_text(field, text)?;
        self.apply_in(unit, id, |inc, now| {
            self.check(Action::Respond, who, Some(inc), None)?;
            if kind == EventKind::Impact {
                inc.impact = Some(text.clone());
                inc.updated_at = now;
            }
            Ok(vec![
                NewEvent::new(kind, now, Some(actor))
                    .text(text)
                    .identified(who.identity()),
            ])
        })
        .await
    }

    /// Adds an action item with an optional owner and due date.
    pub async fn add_action_item(
        &self,
        id: i64,
        text: &str,
        owner: Option<&str>,
        due_at: Option<DateTime<Utc>>,
        who: &Actor,
    ) -> Result<ActionItem, EngineError> {
        let mut unit = self.unit().await?;
        let result = self
            .add_action_item_in(&mut unit, id, text, owner, due_at, who)
            .await;
        self.finish(unit, Some((who, Some(id))), result).await
    }

    /// [`Engine::add_action_item`] inside `unit`.
    pub(super) async fn add_action_item_in(
        &self,
        unit: &mut Unit,
        id: i64,
        text: &str,
        owner: Option<&str>,
        due_at: Option<DateTime<Utc>>,
        who: &Actor,
    ) -> Result<ActionItem, EngineError> {
        let actor = who.id.as_str();
        let text = check_text("action", text)?;
        let owner = owner.map(|o| check_user("owner", o)).transpose()?;
        let now = unit.now();
        let incident = unit.lock(id).await?;
        self.check(Action::Respond, who, Some(&incident), None)?;
        let mut item = ActionItem {
            id: 0,
            incident_id: id,
            text: text.clone(),
            owner: owner.clone(),
            status: "open".into(),
            created_by: Some(actor.to_string()),
            created_at: now,
            due_at,
        };
        item.id = unit.tx().add_action_item(&item).await?;
        self.schedule_action_reminder(unit.tx(), &item, now).await?;
        let owner_text = owner
            .as_deref()
            .map(|o| format!(" (owner: {o})"))
            .unwrap_or_default();
        let event = NewEvent::new(EventKind::ActionItem, now, Some(actor))
            .text(format!("{text}{owner_text}"))
            .data(json!({"action_item": item.id, "text": text, "owner": owner, "due_at": due_at}))
            .identified(who.identity());
        let stored = unit.append(id, &event).await?;
        unit.announce(&incident, stored.as_slice(), &self.destinations)
            .await?;
        Ok(item)
    }

    /// Records a message said in the war room (idempotent on `source_key`); `None` if it was a retry.
    pub async fn record_message(
        &self,
        id: i64,
        platform: &str,
        author: &str,
        text: &str,
        at: Option<DateTime<Utc>>,
        source_key: Option<String>,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let text = check_text("text", text)?;
        let author = check_user("author", author)?;
        let applied = self
            .apply(id, |_inc, now| {
                let mut event =
                    NewEvent::new(EventKind::ChatMessage, at.unwrap_or(now), Some(&author))
                        .text(text)
                        .data(json!({"platform": platform}));
                event.source_key = source_key;
                Ok(vec![event])
            })
            .await?;
        Ok(applied.events.into_iter().next())
    }
}
