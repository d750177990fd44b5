//! Discord gateway use-cases: war-room messages, edits, deletions and 📌 reactions recorded once
//! (keys from Discord's channel and message ids and edit timestamps), each with its message row and
//! back-fill cursor in one unit of work; the resumable session and the leadership that lets one
//! replica hold the connection.

use super::unit::Unit;
use super::{Engine, EngineError, InboundMessage, MessageChange};
use crate::domain::Actor;
use crate::store::{DiscordGatewaySession, DiscordMessageRecord, DiscordRoomCursor, LeaderLock};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The platform name of Discord rooms and events.
pub use super::outbound::DISCORD;

/// The PostgreSQL advisory-lock key of the gateway leader.
pub const GATEWAY_LEADER_KEY: i32 = 727_011_014;

/// The name the gateway session is kept under.
const SESSION: &str = "gateway";

/// A war-room message as the gateway or the channel history shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscordMessage {
    /// The channel it was said in.
    pub channel_id: String,
    /// Discord's message id (a snowflake).
    pub message_id: String,
    /// The author's user id.
    pub author_id: String,
    /// The author's user name.
    pub author_name: Option<String>,
    /// The text, with user mentions already named.
    pub content: String,
    /// When it was said.
    pub at: Option<DateTime<Utc>>,
    /// Discord's `edited_timestamp`, verbatim (the key of an edit).
    pub edited: Option<String>,
    /// The message it replies to.
    pub reply_to: Option<String>,
    /// Attachments (`{"name", "url"}`).
    pub files: Vec<Value>,
}

/// What became of one gateway event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayOutcome {
    /// Recorded on incident `0`'s timeline.
    Recorded(i64),
    /// Recorded before: nothing new.
    Duplicate,
    /// Not something warroom records (why).
    Ignored(&'static str),
}

fn outcome(incident: i64, recorded: bool) -> GatewayOutcome {
    if recorded {
        GatewayOutcome::Recorded(incident)
    } else {
        GatewayOutcome::Duplicate
    }
}

fn edited_time(m: &DiscordMessage) -> Option<DateTime<Utc>> {
    m.edited
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Engine {
    /// The incident whose Discord war room is `channel_id`.
    pub async fn discord_room_incident(
        &self,
        channel_id: &str,
    ) -> Result<Option<i64>, EngineError> {
        Ok(self.store.incident_of_room(DISCORD, channel_id).await?)
    }

    /// Who a Discord user is: the directory person with that `discord` id, else a guest.
    pub async fn discord_actor(
        &self,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<Actor, EngineError> {
        self.people().resolve(DISCORD, user_id, name).await
    }

    /// Records a war-room message once (keyed on its channel and message id); a message seen
    /// again with a newer `edited_timestamp` (the history after a gap) records the edit instead.
    /// The event, the message's row and the channel's cursor commit together.
    pub async fn record_discord_message(
        &self,
        incident: i64,
        m: &DiscordMessage,
    ) -> Result<GatewayOutcome, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.record_discord_message_in(&mut unit, incident, m).await;
        self.finish(unit, None, result).await
    }

    async fn record_discord_message_in(
        &self,
        unit: &mut Unit,
        incident: i64,
        m: &DiscordMessage,
    ) -> Result<GatewayOutcome, EngineError> {
        let result = self.record_discord_message_once(unit, incident, m).await?;
        let now = unit.now();
        unit.tx()
            .advance_discord_cursor(&m.channel_id, &m.message_id, now)
            .await?;
        Ok(result)
    }

    async fn record_discord_message_once(
        &self,
        unit: &mut Unit,
        incident: i64,
        m: &DiscordMessage,
    ) -> Result<GatewayOutcome, EngineError> {
        if let Some(known) = unit
            .tx()
            .discord_message(&m.channel_id, &m.message_id)
            .await?
        {
            if m.edited.is_some() && m.edited != known.edited_at {
                return self.record_discord_edit_in(unit, incident, m).await;
            }
            return Ok(GatewayOutcome::Duplicate);
        }
        let who = self
            .discord_actor(&m.author_id, m.author_name.as_deref())
            .await?;
        let msg = InboundMessage {
            platform: DISCORD.into(),
            author: who.id.clone(),
            identity: Some(who.identity()),
            text: m.content.clone(),
            at: m.at,
            message_id: Some(m.message_id.clone()),
            thread: m.reply_to.clone(),
            files: m.files.clone(),
            source_key: Some(format!(
                "{DISCORD}:message:{}:{}",
                m.channel_id, m.message_id
            )),
            room: Some(m.channel_id.clone()),
        };
        let key = msg.source_key.clone().unwrap_or_default();
        let recorded = self.record_chat_message_in(unit, incident, msg).await?;
        // Recorded before without its row (by a build that kept them apart): keep it now, so that
        // edits, deletions and pins still find it.
        let event_id = match &recorded {
            Some(event) => Some(event.id),
            None => unit.tx().event_id_by_source_key(&key).await?,
        };
        if let Some(event_id) = event_id {
            unit.tx()
                .save_discord_message(&DiscordMessageRecord {
                    channel_id: m.channel_id.clone(),
                    message_id: m.message_id.clone(),
                    incident_id: incident,
                    event_id,
                    author_id: m.author_id.clone(),
                    author_name: m.author_name.clone(),
                    content: m.content.clone(),
                    edited_at: m.edited.clone(),
                })
                .await?;
        }
        Ok(outcome(incident, recorded.is_some()))
    }

    /// Records an edit once per `edited_timestamp`; an edit of a message never recorded records
    /// the message (as it reads now), and one that leaves the text as it was (an embed, a pin) nothing.
    /// The edit's event and the message's new text commit together.
    pub async fn record_discord_edit(
        &self,
        incident: i64,
        m: &DiscordMessage,
    ) -> Result<GatewayOutcome, EngineError> {
        let mut unit = self.unit().await?;
        let result = self.record_discord_edit_in(&mut unit, incident, m).await;
        self.finish(unit, None, result).await
    }

    async fn record_discord_edit_in(
        &self,
        unit: &mut Unit,
        incident: i64,
        m: &DiscordMessage,
    ) -> Result<GatewayOutcome, EngineError> {
        let Some(known) = unit
            .tx()
            .discord_message(&m.channel_id, &m.message_id)
            .await?
        else {
            return Box::pin(self.record_discord_message_in(unit, incident, m)).await;
        };
        if known.content == m.content {
            return Ok(GatewayOutcome::Ignored("the text did not change"));
        }
        let who = self
            .discord_actor(&m.author_id, m.author_name.as_deref())
            .await?;
        let edited = m.edited.as_deref().unwrap_or("unknown");
        let change = MessageChange {
            platform: DISCORD.into(),
            actor: who.id.clone(),
            identity: Some(who.identity()),
            message_id: m.message_id.clone(),
            text: Some(m.content.clone()),
            previous: Some(known.content.clone()),
            original_event: Some(known.event_id),
            at: edited_time(m),
            source_key: Some(format!(
                "{DISCORD}:edit:{}:{}:{edited}",
                m.channel_id, m.message_id
            )),
        };
        let recorded = self
            .record_message_change_in(unit, incident, change)
            .await?;
        unit.tx()
            .update_discord_message(
                &m.channel_id,
                &m.message_id,
                &m.content,
                m.edited.as_deref(),
            )
            .await?;
        Ok(outcome(incident, recorded.is_some()))
    }

    /// Records the deletion of a recorded war-room message once (Discord does not say who deleted
    /// it: the author is named, as for Slack); a message never recorded (the bot's own) is ignored.
    pub async fn record_discord_delete(
        &self,
        incident: i64,
        channel_id: &str,
        message_id: &str,
    ) -> Result<GatewayOutcome, EngineError> {
        let Some(known) = self.store.discord_message(channel_id, message_id).await? else {
            return Ok(GatewayOutcome::Ignored("a message warroom did not record"));
        };
        let who = self
            .discord_actor(&known.author_id, known.author_name.as_deref())
            .await?;
        let change = MessageChange {
            platform: DISCORD.into(),
            actor: who.id.clone(),
            identity: Some(who.identity()),
            message_id: message_id.to_string(),
            text: None,
            previous: Some(known.content.clone()),
            original_event: Some(known.event_id),
            at: None,
            source_key: Some(format!("{DISCORD}:delete:{channel_id}:{message_id}")),
        };
        let recorded = self.record_message_change(incident, change).await?;
        Ok(outcome(incident, recorded.is_some()))
    }

    /// Records a 📌 reaction by `user_id` on a war-room message once per message and user.
    pub async fn record_discord_pin(
        &self,
        incident: i64,
        channel_id: &str,
        message_id: &str,
        user_id: &str,
        user_name: Option<&str>,
    ) -> Result<GatewayOutcome, EngineError> {
        let pinned = match self.store.discord_message(channel_id, message_id).await? {
            Some(r) => self.store.timeline_event(r.event_id).await?,
            None => None,
        };
        let actor = self.discord_actor(user_id, user_name).await?;
        let recorded = self
            .pin_message(
                incident,
                DISCORD,
                &actor,
                Some(message_id),
                pinned.as_ref(),
                None,
                Some(format!("{DISCORD}:pin:{channel_id}:{message_id}:{user_id}")),
            )
            .await?;
        Ok(outcome(incident, recorded.is_some()))
    }

    /// Notes `message_id` as seen in `channel_id` (the back-fill starts after the newest seen).
    pub async fn advance_discord_cursor(
        &self,
        channel_id: &str,
        message_id: &str,
    ) -> Result<(), EngineError> {
        self.store
            .advance_discord_cursor(channel_id, message_id, self.now())
            .await?;
        Ok(())
    }

    /// The Discord war rooms of incidents still open, with the last message id seen in each.
    pub async fn discord_rooms_to_backfill(&self) -> Result<Vec<DiscordRoomCursor>, EngineError> {
        Ok(self.store.discord_rooms_to_backfill().await?)
    }

    /// The gateway session kept by the last leader, if any.
    pub async fn discord_gateway_session(
        &self,
    ) -> Result<Option<DiscordGatewaySession>, EngineError> {
        Ok(self.store.discord_gateway_session(SESSION).await?)
    }

    /// Keeps the gateway session (so a RESUME, by this replica or the next leader, can use it).
    pub async fn save_discord_gateway_session(
        &self,
        session: &DiscordGatewaySession,
    ) -> Result<(), EngineError> {
        Ok(self
            .store
            .save_discord_gateway_session(SESSION, session)
            .await?)
    }

    /// Forgets the gateway session (Discord said it cannot be resumed).
    pub async fn clear_discord_gateway_session(&self) -> Result<(), EngineError> {
        Ok(self.store.clear_discord_gateway_session(SESSION).await?)
    }

    /// Takes the gateway leadership if no other replica holds it.
    pub async fn discord_gateway_leadership(&self) -> Result<Option<LeaderLock>, EngineError> {
        Ok(self.store.try_leader_lock(GATEWAY_LEADER_KEY).await?)
    }
}
