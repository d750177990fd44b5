//! The timeline: an append-only log per incident, the source of truth.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every kind of event an incident timeline records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A human (or the declare policy) declared the incident.
    Declared,
    /// The incident was opened from alerts, awaiting a human.
    Detected,
    /// The lifecycle status changed.
    StatusChanged,
    /// The severity changed.
    SeverityChanged,
    /// A role was assigned or handed off.
    RoleAssigned,
    /// The title changed.
    TitleChanged,
    /// A status update for stakeholders (broadcast).
    StatusUpdate,
    /// A note; notes are key events.
    Note,
    /// An impact statement.
    Impact,
    /// An action item with an optional owner.
    ActionItem,
    /// A message said in the war room.
    ChatMessage,
    /// A war-room message was edited (the original stays).
    MessageEdited,
    /// A war-room message was deleted (the original stays).
    MessageDeleted,
    /// A key event was pinned (📌 reaction).
    Pinned,
    /// A command typed in the room and its result.
    Command,
    /// An action was refused (authorization, policy).
    Refused,
    /// An alert joined the incident or fired again.
    AlertFiring,
    /// An alert of the incident resolved.
    AlertResolved,
    /// Every alert of the incident has resolved.
    AlertsResolved,
    /// Somebody was paged.
    PageSent,
    /// A page was acknowledged.
    PageAcknowledged,
    /// A page went unacknowledged and escalated.
    PageEscalated,
    /// A page went unacknowledged and the policy had nothing left to page.
    PageExhausted,
    /// A change was linked as a suspect, with evidence.
    ChangeLinked,
    /// A change was confirmed as the cause.
    ChangeConfirmed,
    /// A rollback was requested, executed or verified.
    Rollback,
    /// A reminder was posted.
    Reminder,
    /// A war room was created on a chat platform.
    RoomCreated,
    /// A chat delivery failed for good.
    DeliveryFailed,
    /// The postmortem draft was generated or refreshed.
    Postmortem,
    /// A reviewer saved a section of the postmortem (contributing factors, lessons, follow-ups).
    PostmortemSection,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 31] = [
        EventKind::Declared,
        EventKind::Detected,
        EventKind::StatusChanged,
        EventKind::SeverityChanged,
        EventKind::RoleAssigned,
        EventKind::TitleChanged,
        EventKind::StatusUpdate,
        EventKind::Note,
        EventKind::Impact,
        EventKind::ActionItem,
        EventKind::ChatMessage,
        EventKind::MessageEdited,
        EventKind::MessageDeleted,
        EventKind::Pinned,
        EventKind::Command,
        EventKind::Refused,
        EventKind::AlertFiring,
        EventKind::AlertResolved,
        EventKind::AlertsResolved,
        EventKind::PageSent,
        EventKind::PageAcknowledged,
        EventKind::PageEscalated,
        EventKind::PageExhausted,
        EventKind::ChangeLinked,
        EventKind::ChangeConfirmed,
        EventKind::Rollback,
        EventKind::Reminder,
        EventKind::RoomCreated,
        EventKind::DeliveryFailed,
        EventKind::Postmortem,
        EventKind::PostmortemSection,
    ];

    /// The stored name (`status_changed` …).
    pub fn as_str(self) -> &'static str {
        use EventKind::*;
        match self {
            Declared => "declared",
            Detected => "detected",
            StatusChanged => "status_changed",
            SeverityChanged => "severity_changed",
            RoleAssigned => "role_assigned",
            TitleChanged => "title_changed",
            StatusUpdate => "status_update",
            Note => "note",
            Impact => "impact",
            ActionItem => "action_item",
            ChatMessage => "chat_message",
            MessageEdited => "message_edited",
            MessageDeleted => "message_deleted",
            Pinned => "pinned",
            Command => "command",
            Refused => "refused",
            AlertFiring => "alert_firing",
            AlertResolved => "alert_resolved",
            AlertsResolved => "alerts_resolved",
            PageSent => "page_sent",
            PageAcknowledged => "page_acknowledged",
            PageEscalated => "page_escalated",
            PageExhausted => "page_exhausted",
            ChangeLinked => "change_linked",
            ChangeConfirmed => "change_confirmed",
            Rollback => "rollback",
            Reminder => "reminder",
            RoomCreated => "room_created",
            DeliveryFailed => "delivery_failed",
            Postmortem => "postmortem",
            PostmortemSection => "postmortem_section",
        }
    }

    /// Whether this kind is a key event for the postmortem's timeline by nature.
    pub fn is_key_event(self) -> bool {
        !matches!(
            self,
            EventKind::ChatMessage
                | EventKind::MessageEdited
                | EventKind::MessageDeleted
                | EventKind::Command
                | EventKind::Reminder
                | EventKind::RoomCreated
                | EventKind::Postmortem
                | EventKind::PostmortemSection
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored kind name this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeline event kind `{0}`")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_string()))
    }
}

/// An event to append: what happened, when at its source, and who did it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// When it happened at its source.
    pub at: DateTime<Utc>,
    /// Who did it (a display name or platform user), if anybody.
    pub actor: Option<String>,
    /// Human-readable text, if any.
    pub text: Option<String>,
    /// Structured details.
    pub data: serde_json::Value,
    /// A natural key that makes the append idempotent (platform event id …).
    pub source_key: Option<String>,
}

impl NewEvent {
    /// An event with no text, data or key.
    pub fn new(kind: EventKind, at: DateTime<Utc>, actor: Option<&str>) -> NewEvent {
        NewEvent {
            kind,
            at,
            actor: actor.map(str::to_string),
            text: None,
            data: serde_json::Value::Object(Default::default()),
            source_key: None,
        }
    }

    /// Sets the text.
    pub fn text(mut self, text: impl Into<String>) -> NewEvent {
        self.text = Some(text.into());
        self
    }

    /// Sets the structured data.
    pub fn data(mut self, data: serde_json::Value) -> NewEvent {
        self.data = data;
        self
    }

    /// Keeps the actor's platform identity (`Actor::identity()`) in `data.identity`, unless already set.
    pub fn identified(mut self, identity: serde_json::Value) -> NewEvent {
        if let Some(obj) = self.data.as_object_mut() {
            obj.entry("identity").or_insert(identity);
        }
        self
    }

    /// Sets the idempotency key.
    pub fn key(mut self, key: impl Into<String>) -> NewEvent {
        self.source_key = Some(key.into());
        self
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Position in the global log; increases with every append.
    pub id: i64,
    /// The incident it belongs to.
    pub incident_id: i64,
    /// What happened.
    pub kind: EventKind,
    /// When it happened at its source.
    pub at: DateTime<Utc>,
    /// When warroom recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who did it.
    pub actor: Option<String>,
    /// Human-readable text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Structured details.
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip_and_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
        assert!("bogus".parse::<EventKind>().is_err());
    }
}
