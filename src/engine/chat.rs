//! Chat-platform use-cases: messages with their platform ids, edits, deletions, pins, acknowledgement.

use super::incidents::Applied;
use super::outbound::{self, SLACK};
use super::unit::Unit;
use super::{Engine, EngineError};
use crate::domain::{Actor, EventKind, NewEvent, TimelineEvent};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// A message said in a war room, as a platform reports it.
#[derive(Debug, Clone, Default)]
pub struct InboundMessage {
    /// The platform (`slack` …).
    pub platform: String,
    /// Who said it: the person id, or a guest id (`slack:U…`).
    pub author: String,
    /// The author's platform identity (`Actor::identity()`), kept in the event's data; a guest
    /// recorded this way is listed by `GET /api/v1/people`.
    pub identity: Option<Value>,
    /// What was said (may be empty for a bare file share).
    pub text: String,
    /// When it was said at the platform.
    pub at: Option<DateTime<Utc>>,
    /// The platform's id of the message (Slack `ts`).
    pub message_id: Option<String>,
    /// The thread it replies in, if any.
    pub thread: Option<String>,
    /// Files shared with it (`{"name", "url"?}`).
    pub files: Vec<Value>,
    /// The platform's natural key (Slack `event_id`) that makes recording idempotent.
    pub source_key: Option<String>,
    /// The room (Slack channel id) it was said in: on Slack, the message's id in it is mapped to
    /// the event in the same transaction, so edits and pins find it.
    pub room: Option<String>,
}

/// A change to a recorded message (an edit or a deletion); the original event stays.
#[derive(Debug, Clone, Default)]
pub struct MessageChange {
    /// The platform.
    pub platform: String,
    /// Who changed it: the person id, or a guest id.
    pub actor: String,
    /// Their platform identity (`Actor::identity()`), kept in the event's data.
    pub identity: Option<Value>,
    /// The platform's id of the message.
    pub message_id: String,
    /// The new text (edits).
    pub text: Option<String>,
    /// The text before the change, when the platform says.
    pub previous: Option<String>,
    /// The timeline event that recorded the original message, when known.
    pub original_event: Option<i64>,
    /// When it changed at the platform.
    pub at: Option<DateTime<Utc>>,
    /// The platform's natural key.
    pub source_key: Option<String>,
}

fn shown_text(text: &str, files: &[Value]) -> Result<String, EngineError> {
    let names: Vec<&str> = files.iter().filter_map(|f| f["name"].as_str()).collect();
    let text = text.trim();
    let out = match (text.is_empty(), names.is_empty()) {
        (false, true) => text.to_string(),
        (false, false) => format!("{text} [files: {}]", names.join(", ")),
        (true, false) => format!("shared {}", names.join(", ")),
        (true, true) => return Err(EngineError::invalid("text", "must not be empty")),
    };
    Ok(crate::domain::escape::truncate(
        &out,
        super::incidents::MAX_TEXT_LEN,
    ))
}

impl Engine {
    /// Records a war-room message with its platform id, thread and files (idempotent on its key).
    pub async fn record_chat_message(
        &self,
        id: i64,
        msg: InboundMessage,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.record_chat_message_in(&mut unit, id, msg).await;
        self.finish(unit, None, result).await
    }

    /// [`Engine::record_chat_message`] inside `unit` (with the platform's own records of it).
    pub(super) async fn record_chat_message_in(
        &self,
        unit: &mut Unit,
        id: i64,
        msg: InboundMessage,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let text = shown_text(&msg.text, &msg.files)?;
        let applied = self
            .apply_in(unit, id, |_, now| {
                let mut data = json!({"platform": msg.platform});
                if let Some(m) = &msg.message_id {
                    data["message_id"] = json!(m);
                }
                if let Some(t) = &msg.thread {
                    data["thread"] = json!(t);
                }
                if !msg.files.is_empty() {
                    data["files"] = json!(msg.files);
                }
                if let Some(who) = &msg.identity {
                    data["identity"] = who.clone();
                }
                let mut event = NewEvent::new(
                    EventKind::ChatMessage,
                    msg.at.unwrap_or(now),
                    Some(&msg.author),
                )
                .text(text)
                .data(data);
                event.source_key = msg.source_key.clone();
                Ok(vec![event])
            })
            .await?;
        self.map_message(unit, id, &msg, applied).await
    }

    /// Maps a Slack message's `ts` in its channel to the event that recorded it (first writer wins).
    async fn map_message(
        &self,
        unit: &mut Unit,
        id: i64,
        msg: &InboundMessage,
        applied: Applied,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let event = applied.events.into_iter().next();
        if let (Some(e), SLACK, Some(room), Some(ts)) = (
            &event,
            msg.platform.as_str(),
            msg.room.as_deref(),
            msg.message_id.as_deref(),
        ) {
            unit.tx().save_slack_message(room, ts, id, e.id).await?;
        }
        Ok(event)
    }

    /// Records an edit (`message_edited`) or, with no new text, a deletion (`message_deleted`).
    pub async fn record_message_change(
        &self,
        id: i64,
        change: MessageChange,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.record_message_change_in(&mut unit, id, change).await;
        self.finish(unit, None, result).await
    }

    /// [`Engine::record_message_change`] inside `unit`.
    pub(super) async fn record_message_change_in(
        &self,
        unit: &mut Unit,
        id: i64,
        change: MessageChange,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let (kind, text) = match &change.text {
            Some(t) => (EventKind::MessageEdited, shown_text(t, &[])?),
            None => (
                EventKind::MessageDeleted,
                match &change.previous {
                    Some(p) => format!("deleted a message: {p}"),
                    None => "deleted a message".to_string(),
                },
            ),
        };
        let applied = self
            .apply_in(unit, id, |_, now| {
                let mut data =
                    json!({"platform": change.platform, "message_id": change.message_id});
                if let Some(p) = &change.previous {
                    data["previous"] = json!(p);
                }
                if let Some(e) = change.original_event {
                    data["event"] = json!(e);
                }
                if let Some(who) = &change.identity {
                    data["identity"] = who.clone();
                }
                let mut event = NewEvent::new(kind, change.at.unwrap_or(now), Some(&change.actor))
                    .text(text)
                    .data(data);
                event.source_key = change.source_key.clone();
                Ok(vec![event])
            })
            .await?;
        Ok(applied.events.into_iter().next())
    }

    /// Marks a message as a key event (`pinned`), e.g. after a 📌 reaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn pin_message(
        &self,
        id: i64,
        platform: &str,
        actor: &Actor,
        message_id: Option<&str>,
        pinned_event: Option<&TimelineEvent>,
        at: Option<DateTime<Utc>>,
        source_key: Option<String>,
    ) -> Result<Option<TimelineEvent>, EngineError> {
        let text = match pinned_event.and_then(|e| e.text.as_deref()) {
            Some(t) => format!("📌 {t}"),
            None => "📌 pinned a message".to_string(),
        };
        let applied = self
            .apply(id, |_, now| {
                let mut data = json!({"platform": platform, "identity": actor.identity()});
                if let Some(m) = message_id {
                    data["message_id"] = json!(m);
                }
                if let Some(e) = pinned_event {
                    data["event"] = json!(e.id);
                }
                let mut event =
                    NewEvent::new(EventKind::Pinned, at.unwrap_or(now), Some(&actor.id))
                        .text(text)
                        .data(data);
                event.source_key = source_key;
                Ok(vec![event])
            })
            .await?;
        Ok(applied.events.into_iter().next())
    }

    /// Tells `user` privately in `channel` on `platform` why what they did did nothing (an
    /// ephemeral message, through the outbox).
    pub async fn tell_privately(
        &self,
        platform: &str,
        incident: Option<i64>,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), EngineError> {
        let mut unit = self.unit().await?;
        let entry = outbound::ephemeral(platform, incident, channel, user, text);
        let result = unit.enqueue(&entry).await.map(drop).map_err(Into::into);
        self.finish(unit, None, result).await
    }

    /// Asks `platform` (once per user) for the name of `user`, so later events show it.
    pub async fn look_up_user(&self, platform: &str, user: &str) -> Result<(), EngineError> {
        let mut unit = self.unit().await?;
        let entry = outbound::lookup_user(platform, user);
        let result = unit.enqueue(&entry).await.map(drop).map_err(Into::into);
        self.finish(unit, None, result).await
    }
}
