//! The stakeholder status page: ongoing incidents with only the updates marked public. Pure.

use super::{EventKind, Incident, Severity, Status, TimelineEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The statuses the status page lists: confirmed and not yet resolved (alert-opened incidents
/// nobody has confirmed stay off it).
pub const ONGOING: [Status; 3] = [Status::Declared, Status::Triaging, Status::Mitigating];

/// A public status update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicUpdate {
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// What it says.
    pub text: String,
}

/// An ongoing incident as stakeholders see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicIncident {
    /// Its number.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// Its status.
    pub status: Status,
    /// Its service, if any.
    pub service: Option<String>,
    /// When it was declared (else detected).
    pub since: DateTime<Utc>,
    /// Its public updates, newest first.
    pub updates: Vec<PublicUpdate>,
}

/// Whether an event is a status update marked public (`/inc update --public`).
pub fn is_public_update(e: &TimelineEvent) -> bool {
    e.kind == EventKind::StatusUpdate
        && e.data.get("public").and_then(|v| v.as_bool()) == Some(true)
}

/// The page's entry for `incident`, keeping only the public ones of its `updates`.
pub fn public_incident(incident: &Incident, updates: &[TimelineEvent]) -> PublicIncident {
    let mut public: Vec<PublicUpdate> = updates
        .iter()
        .filter(|e| e.incident_id == incident.id && is_public_update(e))
        .map(|e| PublicUpdate {
            at: e.at,
            text: e.text.clone().unwrap_or_default(),
        })
        .collect();
    public.sort_by_key(|u| std::cmp::Reverse(u.at));
    PublicIncident {
        id: incident.id,
        title: incident.title.clone(),
        severity: incident.severity,
        status: incident.status,
        service: incident.service.clone(),
        since: incident.declared_at.unwrap_or(incident.detected_at),
        updates: public,
    }
}
