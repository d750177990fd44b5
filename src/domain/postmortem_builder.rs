//! Accumulating a timeline into a postmortem draft, one event at a time.

use super::postmortem::{
    AlertInfo, Factor, KeyEvent, Moment, Participant, Postmortem, RoleInfo, Settings,
};
use super::postmortem_review::Review;
use super::postmortem_text as text;
use super::report::status_durations;
use super::{ActionItem, Catalog, EventKind, Incident, Role, Severity, Status, TimelineEvent};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Accumulates a timeline, event by event.
pub struct Builder {
    settings: Settings,
    incident: Incident,
    events_total: usize,
    last_event_id: i64,
    key_events: Vec<KeyEvent>,
    omitted: usize,
    message_text: HashMap<String, String>,
    participants: BTreeMap<String, Participant>,
    role_holders: BTreeMap<Role, Vec<String>>,
    alerts: Vec<AlertInfo>,
    alert_index: HashMap<String, usize>,
    factors: Vec<Factor>,
    factor_index: HashMap<String, usize>,
    impacts: Vec<String>,
    severities: Vec<Severity>,
    status_changes: Vec<(DateTime<Utc>, Status, Status)>,
    last_activity: Option<DateTime<Utc>>,
    gaps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    declared_by: Option<String>,
    review: Review,
}

/// A data field as text (strings as they are, numbers and others as JSON).
fn field(data: &Value, key: &str) -> Option<String> {
    match data.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Events that show people at work (the room is not silent while they happen).
fn is_activity(kind: EventKind) -> bool {
    !matches!(
        kind,
        EventKind::AlertFiring
            | EventKind::AlertResolved
            | EventKind::AlertsResolved
            | EventKind::Reminder
            | EventKind::DeliveryFailed
            | EventKind::Postmortem
            | EventKind::PostmortemSection
            | EventKind::RoomCreated
            | EventKind::PageEscalated
            | EventKind::PageExhausted
            | EventKind::Detected
    )
}

impl Builder {
    /// A builder for `incident` (its milestones bound the silent-gap search).
    pub fn new(incident: &Incident, settings: Settings) -> Builder {
        Builder {
            settings,
            incident: incident.clone(),
            events_total: 0,
            last_event_id: 0,
            key_events: Vec::new(),
            omitted: 0,
            message_text: HashMap::new(),
            participants: BTreeMap::new(),
            role_holders: BTreeMap::new(),
            alerts: Vec::new(),
            alert_index: HashMap::new(),
            factors: Vec::new(),
            factor_index: HashMap::new(),
            impacts: Vec::new(),
            severities: Vec::new(),
            status_changes: Vec::new(),
            last_activity: None,
            gaps: Vec::new(),
            declared_by: None,
            review: Review::default(),
        }
    }

    fn local(&self, at: DateTime<Utc>) -> String {
        text::local(at, self.settings.time_zone)
    }

    fn moment(&self, at: DateTime<Utc>) -> Moment {
        Moment {
            at,
            local: self.local(at),
        }
    }

    fn participant(&mut self, name: &str) -> &mut Participant {
        self.participants
            .entry(name.to_string())
            .or_insert_with(|| Participant {
                name: name.to_string(),
                messages: 0,
                actions: 0,
                roles: Vec::new(),
            })
    }

    fn key(&mut self, e: &TimelineEvent, line: String) {
        if self.key_events.len() >= self.settings.max_key_events {
            self.omitted += 1;
            return;
        }
        let local = self.local(e.at);
        self.key_events.push(KeyEvent {
            id: e.id,
            at: e.at,
            local,
            kind: e.kind,
            actor: e.actor.clone(),
            text: line,
        });
    }

    fn track_silence(&mut self, e: &TimelineEvent) {
        if !is_activity(e.kind) {
            return;
        }
        let end = self.incident.resolved_at;
        if end.is_some_and(|end| e.at > end) {
            return;
        }
        let start = self
            .incident
            .declared_at
            .unwrap_or(self.incident.detected_at);
        let last = self.last_activity.unwrap_or(start);
        if e.at > last {
            if e.at - last > self.settings.silent_gap && last >= start {
                self.gaps.push((last, e.at));
            }
            self.last_activity = Some(e.at);
        } else if self.last_activity.is_none() {
            self.last_activity = Some(start);
        }
    }

    /// Reads one event (events arrive in timeline order).
    pub fn push(&mut self, e: &TimelineEvent) {
        self.events_total += 1;
        self.last_event_id = self.last_event_id.max(e.id);
        self.track_silence(e);
        let actor = e.actor.clone();
        let body = e.text.clone().unwrap_or_default();
        let d = &e.data;
        match e.kind {
            EventKind::ChatMessage => {
                if let Some(a) = &actor {
                    self.participant(a).messages += 1;
                }
                self.message_text.insert(format!("e{}", e.id), body.clone());
                if let Some(mid) = field(d, "message_id") {
                    self.message_text.insert(format!("m{mid}"), body);
                }
            }
            EventKind::Declared | EventKind::Detected => {
                if let Some(sev) = field(d, "severity").and_then(|s| s.parse().ok())
                    && self.severities.is_empty()
                {
                    self.severities.push(sev);
                }
                if e.kind == EventKind::Declared {
                    self.declared_by
                        .get_or_insert_with(|| actor.clone().unwrap_or_default());
                    if let Some(a) = &actor {
                        self.participant(a).actions += 1;
                    }
                }
                self.key(e, body);
            }
            EventKind::SeverityChanged => {
                if let Some(sev) = field(d, "to").and_then(|s| s.parse().ok()) {
                    if self.severities.is_empty()
                        && let Some(from) = field(d, "from").and_then(|s| s.parse().ok())
                    {
                        self.severities.push(from);
                    }
                    self.severities.push(sev);
                }
                self.acted(&actor);
                self.key(e, body);
            }
            EventKind::StatusChanged => {
                let from = field(d, "from").and_then(|s| s.parse().ok());
                let to = field(d, "to").and_then(|s| s.parse().ok());
                if let (Some(from), Some(to)) = (from, to) {
                    self.status_changes.push((e.at, from, to));
                }
                self.acted(&actor);
                self.key(e, body);
            }
            EventKind::RoleAssigned => {
                if let (Some(role), Some(user)) = (
                    field(d, "role").and_then(|r| r.parse::<Role>().ok()),
                    field(d, "user"),
                ) {
                    let holders = self.role_holders.entry(role).or_default();
                    if holders.last() != Some(&user) {
                        holders.push(user.clone());
                    }
                    let p = self.participant(&user);
                    if !p.roles.contains(&role) {
                        p.roles.push(role);
                    }
                }
                self.acted(&actor);
                self.key(e, body);
            }
            EventKind::Impact => {
                self.impacts.push(body.clone());
                self.acted(&actor);
                self.key(e, format!("Impact: {body}"));
            }
            EventKind::StatusUpdate => {
                self.acted(&actor);
                self.key(e, format!("Status update: {body}"));
            }
            EventKind::Note => {
                self.acted(&actor);
                self.key(e, format!("📌 {body}"));
            }
            EventKind::Pinned => {
                let pinned = field(d, "event")
                    .and_then(|id| self.message_text.get(&format!("e{id}")))
                    .or_else(|| {
                        field(d, "message_id").and_then(|m| self.message_text.get(&format!("m{m}")))
                    })
                    .cloned()
                    .unwrap_or(body);
                self.acted(&actor);
                self.key(e, format!("📌 pinned: {pinned}"));
            }
            EventKind::Command => {
                // Its effects are counted as actions; the command itself makes a participant.
                if let Some(a) = &actor {
                    self.participant(a);
                }
            }
            EventKind::ActionItem | EventKind::MessageEdited => self.acted(&actor),
            EventKind::PageSent
            | EventKind::PageAcknowledged
            | EventKind::PageEscalated
            | EventKind::PageExhausted => {
                if e.kind == EventKind::PageAcknowledged {
                    self.acted(&actor);
                }
                let line = text::page_line(e.kind, d, &body);
                self.key(e, line);
            }
            EventKind::AlertFiring => self.alert_firing(e),
            EventKind::AlertResolved => self.alert_resolved(e),
            EventKind::AlertsResolved => self.key(e, "All alerts of the incident resolved".into()),
            EventKind::ChangeLinked | EventKind::ChangeConfirmed => self.change(e),
            EventKind::Rollback => self.rollback(e),
            EventKind::TitleChanged => {
                self.acted(&actor);
                self.key(e, body);
            }
            EventKind::MessageDeleted
            | EventKind::Refused
            | EventKind::Reminder
            | EventKind::RoomCreated
            | EventKind::DeliveryFailed
            | EventKind::Postmortem => {}
            EventKind::PostmortemSection => {
                if let Some(section) = field(d, "section").and_then(|s| s.parse().ok()) {
                    self.review.set(section, &body, actor, e.at);
                }
            }
        }
    }

    fn acted(&mut self, actor: &Option<String>) {
        if let Some(a) = actor {
            self.participant(a).actions += 1;
        }
    }

    fn alert_firing(&mut self, e: &TimelineEvent) {
        let d = &e.data;
        let fingerprint = field(d, "fingerprint").unwrap_or_else(|| format!("event-{}", e.id));
        if self.alert_index.contains_key(&fingerprint) {
            return;
        }
        let fired_at = field(d, "starts_at")
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(e.at);
        let alert = AlertInfo {
            fingerprint: fingerprint.clone(),
            alertname: field(d, "alertname").unwrap_or_else(|| "alert".into()),
            source: field(d, "source").unwrap_or_else(|| "unknown".into()),
            service: field(d, "service"),
            severity: field(d, "severity"),
            summary: field(d, "summary"),
            fired: self.moment(fired_at),
            resolved: None,
        };
        let line = text::alert_line(&alert, true, d.get("inhibited") == Some(&Value::Bool(true)));
        self.alert_index.insert(fingerprint, self.alerts.len());
        self.alerts.push(alert);
        self.key(e, line);
    }

    fn alert_resolved(&mut self, e: &TimelineEvent) {
        let d = &e.data;
        let Some(idx) = field(d, "fingerprint").and_then(|f| self.alert_index.get(&f).copied())
        else {
            return;
        };
        if self.alerts[idx].resolved.is_some() {
            return;
        }
        let at = field(d, "ends_at")
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(e.at);
        self.alerts[idx].resolved = Some(self.moment(at));
        let line = text::alert_line(&self.alerts[idx], false, false);
        self.key(e, line);
    }

    fn factor(&mut self, d: &Value) -> Option<usize> {
        let id = field(d, "change_id")?;
        if let Some(i) = self.factor_index.get(&id) {
            return Some(*i);
        }
        self.factor_index.insert(id.clone(), self.factors.len());
        self.factors.push(Factor {
            change_id: id,
            kind: field(d, "kind").unwrap_or_default(),
            service: field(d, "service").unwrap_or_default(),
            summary: field(d, "summary").unwrap_or_default(),
            author: field(d, "author"),
            version: field(d, "version"),
            confirmed: false,
            score: None,
            rank: None,
            evidence: Vec::new(),
            rollback: Vec::new(),
        });
        Some(self.factors.len() - 1)
    }

    fn change(&mut self, e: &TimelineEvent) {
        let d = &e.data;
        let Some(i) = self.factor(d) else { return };
        let f = &mut self.factors[i];
        if e.kind == EventKind::ChangeConfirmed {
            f.confirmed = true;
        } else {
            f.score = d.get("score").and_then(Value::as_f64);
            f.rank = d.get("rank").and_then(Value::as_i64);
            if let Some(ev) = d.get("evidence").and_then(Value::as_array) {
                f.evidence = ev
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect();
            }
        }
        let line = text::change_line(&self.factors[i], e.kind == EventKind::ChangeConfirmed);
        self.acted(
            &e.actor
                .clone()
                .filter(|_| e.kind == EventKind::ChangeConfirmed),
        );
        self.key(e, line);
    }

    fn rollback(&mut self, e: &TimelineEvent) {
        let d = &e.data;
        let phase = field(d, "phase").unwrap_or_else(|| "requested".into());
        let id = field(d, "change_id").unwrap_or_default();
        if let Some(i) = self.factor_index.get(&id).copied() {
            self.factors[i].rollback.push(phase.clone());
        }
        if phase == "requested" {
            self.acted(&e.actor);
        }
        let line = text::rollback_line(&id, &phase, field(d, "rollback_change_id"));
        self.key(e, line);
    }

    /// The id of the newest event read so far (0 before any).
    pub fn last_event_id(&self) -> i64 {
        self.last_event_id
    }

    /// Assembles the draft; `reason` is `resolve`, `close` or `request`.
    pub fn finish(
        self,
        action_items: &[ActionItem],
        catalog: &Catalog,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Postmortem {
        super::postmortem_finish::finish(self.into_parts(), action_items, catalog, reason, now)
    }

    fn into_parts(self) -> super::postmortem_finish::Parts {
        let mut severities = self.severities;
        if severities.is_empty() {
            severities.push(self.incident.severity);
        }
        let mut roles = Vec::new();
        for role in Role::ALL {
            let mut holders = self.role_holders.get(&role).cloned().unwrap_or_default();
            let current = self.incident.holder(role).map(String::from);
            if let Some(c) = &current
                && !holders.contains(c)
            {
                holders.push(c.clone());
            }
            roles.push(RoleInfo {
                role,
                holders,
                current,
            });
        }
        let mut participants: Vec<Participant> = self.participants.into_values().collect();
        participants.retain(|p| !p.name.is_empty());
        participants.sort_by(|a, b| {
            (b.messages, b.actions)
                .cmp(&(a.messages, a.actions))
                .then_with(|| a.name.cmp(&b.name))
        });
        let end = self
            .incident
            .closed_at
            .or(self.incident.cancelled_at)
            .unwrap_or(self.incident.updated_at);
        let time_in_status = status_durations(self.incident.created_at, &self.status_changes, end)
            .into_iter()
            .map(|(s, secs)| (s.to_string(), secs))
            .collect();
        let affected: BTreeSet<String> = self
            .incident
            .service
            .iter()
            .cloned()
            .chain(self.alerts.iter().filter_map(|a| a.service.clone()))
            .collect();
        super::postmortem_finish::Parts {
            settings: self.settings,
            incident: self.incident,
            events_total: self.events_total,
            key_events: self.key_events,
            omitted: self.omitted,
            participants,
            roles,
            alerts: self.alerts,
            factors: self.factors,
            impacts: self.impacts,
            severities,
            time_in_status,
            gaps: self.gaps,
            affected,
            declared_by: self.declared_by,
            review: self.review,
        }
    }
}
