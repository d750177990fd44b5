//! The postmortem draft, built from an incident's timeline. Pure: events are fed one at a time
//! (so a long timeline can be streamed page by page) to a [`Builder`], then [`Builder::finish`]
//! assembles the draft. This file holds the draft's shape (what `?format=json` returns).

pub use super::postmortem_builder::Builder;
use super::postmortem_text::duration;
use super::{EventKind, Role, Severity, Status};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
/// The version of the JSON shape; bumped when a field changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// What shapes a draft beyond the timeline.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The time zone local times are shown in.
    pub time_zone: Tz,
    /// A silence in the room longer than this becomes a review question.
    pub silent_gap: chrono::Duration,
    /// An alert that fired this long before the declare becomes a review question.
    pub early_alert: chrono::Duration,
    /// At most this many key events are listed; the rest are counted.
    pub max_key_events: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_zone: Tz::UTC,
            silent_gap: chrono::Duration::minutes(15),
            early_alert: chrono::Duration::minutes(10),
            max_key_events: 500,
        }
    }
}

/// A point in time, in UTC and in the configured zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    /// RFC 3339 in UTC.
    pub at: DateTime<Utc>,
    /// `YYYY-MM-DD HH:MM:SS` in the configured zone.
    pub local: String,
}

/// A length of time, in seconds and for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Whole seconds.
    pub seconds: i64,
    /// `1h 05m`, `4m 10s`, `45s`.
    pub text: String,
}

impl Span {
    /// The span of a duration.
    pub fn of(d: chrono::Duration) -> Span {
        Span {
            seconds: d.num_seconds(),
            text: duration(d.num_seconds()),
        }
    }
}

/// Which incident the draft is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRef {
    /// Its number.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its status when the draft was built.
    pub status: Status,
    /// Its service, if any.
    pub service: Option<String>,
}

/// Who and what was hit, and for how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    /// Services affected (the incident's and its alerts').
    pub services: Vec<String>,
    /// Services that depend on them (from the catalog).
    pub dependents: Vec<String>,
    /// Whether users felt it (severity P0–P2, or a user-impact incident).
    pub user_facing: bool,
    /// The latest impact statement.
    pub statement: Option<String>,
    /// Every impact statement, oldest first.
    pub statements: Vec<String>,
    /// When the impact started (the first alert, else the detection).
    pub started: Moment,
    /// When it ended (resolution), if it did.
    pub ended: Option<Moment>,
    /// How long it lasted, if it ended.
    pub duration: Option<Span>,
}

/// Severity: where it started, where it ended, the worst it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityInfo {
    /// The current severity.
    pub current: Severity,
    /// The severity at declare.
    pub initial: Severity,
    /// The most severe it was.
    pub highest: Severity,
    /// Every severity it had, in order.
    pub history: Vec<Severity>,
    /// `P1 — core function impaired`.
    pub meaning: String,
}

/// An alert of the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertInfo {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its name.
    pub alertname: String,
    /// Its source (`alertmanager` …).
    pub source: String,
    /// Its service, if any.
    pub service: Option<String>,
    /// Its severity at the source.
    pub severity: Option<String>,
    /// Its summary, if any.
    pub summary: Option<String>,
    /// When it started firing.
    pub fired: Moment,
    /// When it resolved, if it did.
    pub resolved: Option<Moment>,
}

/// How the incident was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// `alert` or `human`.
    pub method: String,
    /// The first alert, if any.
    pub first_alert: Option<AlertInfo>,
    /// The source of the first signal (`alertmanager`, or who declared).
    pub source: String,
    /// When it was detected.
    pub detected: Moment,
    /// When it was declared, if it was.
    pub declared: Option<Moment>,
    /// From the first signal to the declare.
    pub time_to_declare: Option<Span>,
}

/// The milestone figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Detected → first acknowledgement or declare.
    pub mtta: Option<Span>,
    /// Detected → resolved.
    pub mttr: Option<Span>,
    /// Detected → mitigation started.
    pub time_to_mitigate: Option<Span>,
    /// Seconds in each status, from the status changes.
    pub time_in_status: BTreeMap<String, i64>,
}

/// Who held a role, in order (hand-offs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleInfo {
    /// The role.
    pub role: Role,
    /// Everyone who held it, in order.
    pub holders: Vec<String>,
    /// Who holds it now.
    pub current: Option<String>,
}

/// Somebody who took part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Their name.
    pub name: String,
    /// Chat messages they said in the room.
    pub messages: u32,
    /// Commands, notes, updates and other actions.
    pub actions: u32,
    /// Roles they held.
    pub roles: Vec<Role>,
}

/// One line of the key-event timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// The timeline event id.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The same in the configured zone.
    pub local: String,
    /// The event kind.
    pub kind: EventKind,
    /// Who did it.
    pub actor: Option<String>,
    /// What happened, for people.
    pub text: String,
}

/// A change that contributed (confirmed) or may have (suspected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// The change's id.
    pub change_id: String,
    /// `deploy`, `config` …
    pub kind: String,
    /// The service changed.
    pub service: String,
    /// What the change was.
    pub summary: String,
    /// Who made it.
    pub author: Option<String>,
    /// The version deployed, if any.
    pub version: Option<String>,
    /// Confirmed as the cause.
    pub confirmed: bool,
    /// The correlation score, if it was linked as a suspect.
    pub score: Option<f64>,
    /// Its rank among the suspects.
    pub rank: Option<i64>,
    /// Why it was suspected.
    pub evidence: Vec<String>,
    /// Rollback phases seen, in order (`requested`, `executed`, `verified` …).
    pub rollback: Vec<String>,
}

/// An action item as the draft lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionInfo {
    /// Its id.
    pub id: i64,
    /// What is to be done.
    pub text: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// `open` or `done`.
    pub status: String,
    /// When it is due, if a date was set.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
}

/// A question the review should answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// `silent_gap`, `early_alert`, `role_unfilled`, `unowned_action`, `unresolved_suspect`.
    pub kind: String,
    /// The question.
    pub text: String,
}

/// The draft: what the templates render and `?format=json` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Postmortem {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Why it was built: `resolve`, `close` or `request`.
    pub generated: String,
    /// When it was built.
    pub generated_at: Moment,
    /// The zone local times are in.
    pub time_zone: String,
    /// The incident.
    pub incident: IncidentRef,
    /// A paragraph that tells the story.
    pub summary: String,
    /// Impact.
    pub impact: Impact,
    /// Severity.
    pub severity: SeverityInfo,
    /// Incident type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Detection.
    pub detection: Detection,
    /// MTTA, MTTR and time in status.
    pub metrics: Metrics,
    /// Roles and who held them.
    pub roles: Vec<RoleInfo>,
    /// Everyone who took part, busiest first.
    pub participants: Vec<Participant>,
    /// Key events, oldest first.
    pub timeline: Vec<KeyEvent>,
    /// Key events left out past the limit.
    pub timeline_omitted: usize,
    /// Every event read.
    pub events_total: usize,
    /// The incident's alerts, in firing order.
    pub alerts: Vec<AlertInfo>,
    /// Confirmed changes first, then suspects by rank.
    pub contributing_factors: Vec<Factor>,
    /// Follow-up work.
    pub action_items: Vec<ActionInfo>,
    /// What the review should discuss.
    pub questions: Vec<Question>,
    /// What reviewers wrote in the browser (contributing factors, lessons, follow-ups).
    #[serde(default)]
    pub review: super::postmortem_review::Review,
}

#[cfg(test)]
#[path = "postmortem_tests.rs"]
mod tests;
