//! The incident: type, lifecycle status machine, milestones and roles.

use super::role::Role;
use super::severity::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What kind of problem an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentType {
    /// The service is down.
    #[default]
    Outage,
    /// The service works, worse than it should.
    Degradation,
    /// A security event.
    Security,
    /// Users are affected in a way that is not an outage (data, billing …).
    UserImpact,
}

/// An incident type string that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown incident type `{0}`: expected one of outage, degradation, security, user-impact")]
pub struct UnknownIncidentType(pub String);

impl IncidentType {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentType::Outage => "outage",
            IncidentType::Degradation => "degradation",
            IncidentType::Security => "security",
            IncidentType::UserImpact => "user-impact",
        }
    }
}

impl fmt::Display for IncidentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentType {
    type Err = UnknownIncidentType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "outage" => Ok(IncidentType::Outage),
            "degradation" => Ok(IncidentType::Degradation),
            "security" => Ok(IncidentType::Security),
            "user-impact" | "user_impact" => Ok(IncidentType::UserImpact),
            _ => Err(UnknownIncidentType(s.to_string())),
        }
    }
}

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Opened from alerts; no human has confirmed it yet.
    Detected,
    /// Confirmed as an incident.
    Declared,
    /// Responders are finding out what is wrong.
    Triaging,
    /// Responders are stopping the impact.
    Mitigating,
    /// Impact is over.
    Resolved,
    /// The postmortem review is under way.
    Reviewing,
    /// Done.
    Closed,
    /// A false alarm.
    Cancelled,
}

/// A status string that is not a known status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status `{0}`: expected one of detected, declared, triaging, mitigating, resolved, reviewing, closed, cancelled"
)]
pub struct UnknownStatus(pub String);

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 8] = [
        Status::Detected,
        Status::Declared,
        Status::Triaging,
        Status::Mitigating,
        Status::Resolved,
        Status::Reviewing,
        Status::Closed,
        Status::Cancelled,
    ];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Detected => "detected",
            Status::Declared => "declared",
            Status::Triaging => "triaging",
            Status::Mitigating => "mitigating",
            Status::Resolved => "resolved",
            Status::Reviewing => "reviewing",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    /// The statuses this one may move to.
    pub fn legal_next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Detected => &[Declared, Triaging, Mitigating, Resolved, Cancelled],
            Declared => &[Triaging, Mitigating, Resolved, Cancelled],
            Triaging => &[Mitigating, Resolved, Cancelled],
            Mitigating => &[Triaging, Resolved, Cancelled],
            Resolved => &[Mitigating, Reviewing, Closed],
            Reviewing => &[Closed],
            Closed | Cancelled => &[],
        }
    }

    /// Whether the incident still needs people (not resolved, closed or cancelled).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Detected | Status::Declared | Status::Triaging | Status::Mitigating
        )
    }

    /// Whether no further transition is possible.
    pub fn is_terminal(self) -> bool {
        self.legal_next().is_empty()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "detected" => Ok(Status::Detected),
            "declared" => Ok(Status::Declared),
            "triaging" | "triage" => Ok(Status::Triaging),
            "mitigating" | "mitigate" => Ok(Status::Mitigating),
            "resolved" | "resolve" => Ok(Status::Resolved),
            "reviewing" | "review" => Ok(Status::Reviewing),
            "closed" | "close" => Ok(Status::Closed),
            "cancelled" | "canceled" | "cancel" => Ok(Status::Cancelled),
            _ => Err(UnknownStatus(s.to_string())),
        }
    }
}

/// A refused status change; the message names the legal next statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TransitionError {
    /// The status the incident is in.
    pub from: Status,
    /// The status that was asked for.
    pub to: Status,
}

impl TransitionError {
    /// The statuses that would have been accepted.
    pub fn legal(&self) -> &'static [Status] {
        self.from.legal_next()
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let legal: Vec<&str> = self.legal().iter().map(|s| s.as_str()).collect();
        if self.from == self.to {
            write!(f, "the incident is already {}", self.from)?;
        } else {
            write!(
                f,
                "cannot move an incident from {} to {}",
                self.from, self.to
            )?;
        }
        if legal.is_empty() {
            write!(
                f,
                "; {} is final, no further status changes are possible",
                self.from
            )
        } else {
            write!(f, "; legal next statuses: {}", legal.join(", "))
        }
    }
}

/// An incident as stored: the projection of its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Number of the incident, assigned by the store.
    pub id: i64,
    /// One-line description.
    pub title: String,
    /// Lifecycle status.
    pub status: Status,
    /// Severity.
    pub severity: Severity,
    /// Incident type.
    #[serde(rename = "type")]
    pub kind: IncidentType,
    /// The service most affected, if known.
    pub service: Option<String>,
    /// Who holds which role.
    pub roles: BTreeMap<Role, String>,
    /// The latest impact statement.
    pub impact: Option<String>,
    /// Who declared it (or `warroom` for policy declares).
    pub declared_by: Option<String>,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// When the problem was detected (first alert, or the declare).
    pub detected_at: DateTime<Utc>,
    /// When a human (or the declare policy) confirmed it.
    pub declared_at: Option<DateTime<Utc>>,
    /// First acknowledgement or declare: the end of MTTA.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When mitigation first started.
    pub mitigated_at: Option<DateTime<Utc>>,
    /// When it was (last) resolved: the end of MTTR.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was cancelled as a false alarm.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What a new incident starts from.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// One-line description.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Incident type.
    pub kind: IncidentType,
    /// The service most affected.
    pub service: Option<String>,
    /// `Declared` for a human declare, `Detected` for one opened from alerts.
    pub status: Status,
    /// Who declared it.
    pub declared_by: Option<String>,
    /// When the problem was detected.
    pub detected_at: DateTime<Utc>,
}

/// Longest title accepted.
pub const MAX_TITLE_LEN: usize = 200;

/// A title that is empty or too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    /// Nothing but white space.
    #[error("title must not be empty")]
    Empty,
    /// Longer than [`MAX_TITLE_LEN`].
    #[error("title is {0} characters long; at most 200 are allowed")]
    TooLong(usize),
}

/// Trims and checks an incident title.
pub fn validate_title(title: &str) -> Result<String, TitleError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(TitleError::Empty);
    }
    let n = t.chars().count();
    if n > MAX_TITLE_LEN {
        return Err(TitleError::TooLong(n));
    }
    Ok(t.to_string())
}

impl Incident {
    /// Builds the incident a declare creates, before the store gives it an id.
    pub fn open(new: NewIncident, now: DateTime<Utc>) -> Incident {
        let declared = new.status != Status::Detected;
        Incident {
            id: 0,
            title: new.title,
            status: new.status,
            severity: new.severity,
            kind: new.kind,
            service: new.service,
            roles: BTreeMap::new(),
            impact: None,
            declared_by: new.declared_by,
            created_at: now,
            updated_at: now,
            detected_at: new.detected_at,
            declared_at: declared.then_some(now),
            acknowledged_at: declared.then_some(now),
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            cancelled_at: None,
        }
    }

    /// Moves to `to` at `now`, setting milestones; refuses illegal moves.
    pub fn transition(
        &mut self,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Status, TransitionError> {
        let from = self.status;
        if !from.legal_next().contains(&to) {
            return Err(TransitionError { from, to });
        }
        self.status = to;
        self.updated_at = now;
        if to != Status::Cancelled && to != Status::Detected {
            self.declared_at.get_or_insert(now);
            self.acknowledged_at.get_or_insert(now);
        }
        match to {
            Status::Mitigating if from == Status::Resolved => self.resolved_at = None,
            Status::Mitigating => {
                self.mitigated_at.get_or_insert(now);
            }
            Status::Resolved => self.resolved_at = Some(now),
            Status::Closed => self.closed_at = Some(now),
            Status::Cancelled => self.cancelled_at = Some(now),
            _ => {}
        }
        Ok(from)
    }

    /// Records the first acknowledgement (a page acknowledged) for MTTA.
    pub fn acknowledge(&mut self, now: DateTime<Utc>) -> bool {
        if self.acknowledged_at.is_some() {
            return false;
        }
        self.acknowledged_at = Some(now);
        self.updated_at = now;
        true
    }

    /// Sets the severity; returns the previous one if it changed.
    pub fn set_severity(&mut self, severity: Severity, now: DateTime<Utc>) -> Option<Severity> {
        if self.severity == severity {
            return None;
        }
        self.updated_at = now;
        Some(std::mem::replace(&mut self.severity, severity))
    }

    /// Gives `role` to `user`; returns the previous holder (a hand-off) if any.
    pub fn assign_role(&mut self, role: Role, user: &str, now: DateTime<Utc>) -> Option<String> {
        self.updated_at = now;
        self.roles.insert(role, user.to_string())
    }

    /// Who holds `role`.
    pub fn holder(&self, role: Role) -> Option<&str> {
        self.roles.get(&role).map(String::as_str)
    }

    /// Time to acknowledge, if acknowledged.
    pub fn mtta(&self) -> Option<chrono::Duration> {
        self.acknowledged_at.map(|a| a - self.detected_at)
    }

    /// Time to resolve, if resolved.
    pub fn mttr(&self) -> Option<chrono::Duration> {
        self.resolved_at.map(|r| r - self.detected_at)
    }

    /// A short lowercase slug of the title, for channel names.
    pub fn slug(&self, max_len: usize) -> String {
        slugify(&self.title, max_len)
    }
}

/// A war-room channel name, `{prefix}{id}-{slug of the title}`: at most `max_len` characters less
/// `reserve` (the joining `-` and any suffix a platform adds), the slug at most `max_slug`.
pub fn room_name(
    prefix: &str,
    incident_id: i64,
    title: &str,
    max_len: usize,
    reserve: usize,
    max_slug: usize,
) -> String {
    let head = format!("{prefix}{incident_id}");
    let room = max_len.saturating_sub(head.len() + reserve);
    let slug = slugify(title, room.min(max_slug));
    if slug.is_empty() {
        head
    } else {
        format!("{head}-{slug}")
    }
}

/// Lowercase ASCII words joined by `-`, at most `max_len` characters.
pub fn slugify(text: &str, max_len: usize) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
        if out.len() >= max_len {
            break;
        }
    }
    out.truncate(max_len);
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    fn incident(status: Status) -> Incident {
        Incident::open(
            NewIncident {
                title: "Checkout errors".into(),
                severity: Severity::P1,
                kind: IncidentType::Outage,
                service: Some("checkout".into()),
                status,
                declared_by: Some("alice".into()),
                detected_at: t(0),
            },
            t(0),
        )
    }

    #[test]
    fn every_legal_transition_is_accepted_and_every_other_refused() {
        for from in Status::ALL {
            for to in Status::ALL {
                let mut inc = incident(Status::Detected);
                inc.status = from;
                let result = inc.transition(to, t(5));
                if from.legal_next().contains(&to) {
                    assert_eq!(result, Ok(from), "{from} -> {to} should be legal");
                    assert_eq!(inc.status, to);
                } else {
                    let err = result.expect_err("illegal transition accepted");
                    assert_eq!(inc.status, from, "a refused move changes nothing");
                    let msg = err.to_string();
                    for legal in from.legal_next() {
                        assert!(msg.contains(legal.as_str()), "{msg} should name {legal}");
                    }
                }
            }
        }
    }

    #[test]
    fn refusal_names_the_legal_statuses() {
        let mut inc = incident(Status::Declared);
        let err = inc.transition(Status::Closed, t(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move an incident from declared to closed; legal next statuses: triaging, mitigating, resolved, cancelled"
        );
        inc.status = Status::Closed;
        let err = inc.transition(Status::Closed, t(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the incident is already closed; closed is final, no further status changes are possible"
        );
    }

    #[test]
    fn milestones_give_mtta_and_mttr_and_reopen_clears_resolution() {
        let mut inc = incident(Status::Detected);
        assert_eq!(inc.mtta(), None);
        inc.transition(Status::Declared, t(4)).unwrap();
        assert_eq!(inc.mtta(), Some(chrono::Duration::minutes(4)));
        inc.transition(Status::Mitigating, t(10)).unwrap();
        inc.transition(Status::Resolved, t(30)).unwrap();
        assert_eq!(inc.mttr(), Some(chrono::Duration::minutes(30)));
        inc.transition(Status::Mitigating, t(35)).unwrap();
        assert_eq!(inc.resolved_at, None);
        assert_eq!(inc.mitigated_at, Some(t(10)));
        inc.transition(Status::Resolved, t(50)).unwrap();
        assert_eq!(inc.mttr(), Some(chrono::Duration::minutes(50)));
        inc.transition(Status::Closed, t(60)).unwrap();
        assert_eq!(inc.closed_at, Some(t(60)));
        assert!(inc.status.is_terminal());
    }

    #[test]
    fn cancel_from_detected_leaves_no_acknowledgement() {
        let mut inc = incident(Status::Detected);
        inc.transition(Status::Cancelled, t(2)).unwrap();
        assert_eq!(inc.acknowledged_at, None);
        assert_eq!(inc.cancelled_at, Some(t(2)));
    }

    #[test]
    fn roles_hand_off_and_severity_changes_report_the_previous_value() {
        let mut inc = incident(Status::Declared);
        assert_eq!(inc.assign_role(Role::Commander, "alice", t(1)), None);
        assert_eq!(
            inc.assign_role(Role::Commander, "bob", t(2)),
            Some("alice".into())
        );
        assert_eq!(inc.holder(Role::Commander), Some("bob"));
        assert_eq!(inc.set_severity(Severity::P1, t(3)), None);
        assert_eq!(inc.set_severity(Severity::P0, t(3)), Some(Severity::P1));
    }

    #[test]
    fn titles_are_checked_and_slugs_are_channel_safe() {
        assert_eq!(validate_title("  x "), Ok("x".into()));
        assert_eq!(validate_title("   "), Err(TitleError::Empty));
        assert_eq!(
            validate_title(&"a".repeat(201)),
            Err(TitleError::TooLong(201))
        );
        assert_eq!(
            slugify("Checkout: 5xx errors!! (EU)", 40),
            "checkout-5xx-errors-eu"
        );
        assert_eq!(slugify("Ünïcode only ✓", 40), "n-code-only");
        assert_eq!(slugify("aaaa bbbb", 6), "aaaa-b");
    }
}
