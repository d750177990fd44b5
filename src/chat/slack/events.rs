//! Events API callbacks → timeline: messages (threads, files), edits, deletions and 📌 reactions
//! in war-room channels. Slack's retries carry the same `event_id`, which is the events' source
//! key, so a retry never records anything twice.

use super::escape::unescape;
use super::{SLACK, users};
use crate::domain::Actor;
use crate::engine::{Engine, EngineError, InboundMessage, MessageChange};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// What happened to one callback (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded on incident `0`'s timeline.
    Recorded(i64),
    /// Seen before (a Slack retry): nothing new recorded.
    Duplicate,
    /// Not about a war room, from the bot itself, or a kind warroom does not record.
    Ignored(&'static str),
}

/// A Slack `ts` (`"1700000000.000100"`) as a time.
pub fn ts_time(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{micros:0<6}").get(..6)?.parse().ok()?;
    DateTime::from_timestamp(secs, micros * 1000)
}

fn is_bot(message: &Value, bot_user: Option<&str>) -> bool {
    message["bot_id"].is_string()
        || message["subtype"] == "bot_message"
        || (bot_user.is_some() && message["user"].as_str() == bot_user)
}

/// The author as a person (or guest) resolved from the Slack user id; a user whose name is not
/// cached gets a `users.info` look-up through the outbox, so later events show the name.
async fn author(engine: &Engine, user: &str) -> Result<Actor, EngineError> {
    if !super::is_user_id(user) {
        // No Slack user behind it: shown as given, and no guest is recorded.
        let mut nobody = Actor::guest(SLACK, user, None);
        nobody.platform_id = None;
        return Ok(nobody);
    }
    let actor = users::actor(engine, user, None, engine.now()).await?;
    if actor.is_guest() && engine.slack_user_name(user).await?.is_none() {
        engine.look_up_user(SLACK, user).await?;
    }
    Ok(actor)
}

async fn message_text(engine: &Engine, raw: &str) -> Result<String, EngineError> {
    let named = users::normalize_mentions(engine, raw, users::Unknown::Name, engine.now()).await?;
    Ok(unescape(&named))
}

/// Handles one `event_callback` envelope. Content warroom cannot record (an empty message, an
/// edit to nothing) is acknowledged and logged, so Slack does not retry it in vain.
pub async fn handle(engine: &Engine, envelope: &Value) -> Result<Outcome, EngineError> {
    match record(engine, envelope).await {
        Err(EngineError::Invalid { field, message }) => {
            tracing::info!(%field, %message, "Slack event not recorded");
            Ok(Outcome::Ignored("nothing recordable"))
        }
        other => other,
    }
}

async fn record(engine: &Engine, envelope: &Value) -> Result<Outcome, EngineError> {
    let event = &envelope["event"];
    let event_id = envelope["event_id"].as_str().unwrap_or_default();
    if event_id.is_empty() {
        return Ok(Outcome::Ignored("no event_id"));
    }
    let key = format!("{SLACK}:{event_id}");
    let bot_user = envelope["authorizations"][0]["user_id"].as_str();
    let channel = match event["type"].as_str() {
        Some("reaction_added") => event["item"]["channel"].as_str(),
        _ => event["channel"].as_str(),
    }
    .unwrap_or_default();
    let Some(incident) = engine.incident_of_room(SLACK, channel).await? else {
        return Ok(Outcome::Ignored("not a war-room channel"));
    };
    let recorded = match (event["type"].as_str(), event["subtype"].as_str()) {
        (Some("message"), None | Some("thread_broadcast" | "file_share" | "me_message")) => {
            if is_bot(event, bot_user) {
                return Ok(Outcome::Ignored("the bot's own message"));
            }
            let ts = event["ts"].as_str().unwrap_or_default().to_string();
            let thread = event["thread_ts"]
                .as_str()
                .filter(|t| *t != ts)
                .map(str::to_string);
            let files = event["files"]
                .as_array()
                .map(|fs| {
                    fs.iter()
                        .map(|f| json!({"name": f["name"].as_str().or(f["title"].as_str()).unwrap_or("file"),
                            "url": f["permalink"]}))
                        .collect()
                })
                .unwrap_or_default();
            let user = event["user"].as_str().unwrap_or("unknown");
            let who = author(engine, user).await?;
            let msg = InboundMessage {
                platform: SLACK.into(),
                author: who.id.clone(),
                identity: Some(who.identity()),
                text: message_text(engine, event["text"].as_str().unwrap_or_default()).await?,
                at: ts_time(&ts),
                message_id: Some(ts.clone()),
                thread,
                files,
                source_key: Some(key),
                room: Some(channel.to_string()),
            };
            engine.record_chat_message(incident, msg).await?
        }
        (Some("message"), Some("message_changed")) => {
            let message = &event["message"];
            let previous = &event["previous_message"];
            if is_bot(message, bot_user) {
                return Ok(Outcome::Ignored("the bot's own message"));
            }
            let text = message_text(engine, message["text"].as_str().unwrap_or_default()).await?;
            let before = match previous["text"].as_str() {
                Some(p) => Some(message_text(engine, p).await?),
                None => None,
            };
            if before.as_deref() == Some(text.as_str()) {
                return Ok(Outcome::Ignored("an unfurl, not an edit"));
            }
            let ts = message["ts"].as_str().unwrap_or_default();
            let original = engine.slack_message_id(channel, ts).await?;
            let user = message["user"].as_str().unwrap_or("unknown");
            let who = author(engine, user).await?;
            let change = MessageChange {
                platform: SLACK.into(),
                actor: who.id.clone(),
                identity: Some(who.identity()),
                message_id: ts.to_string(),
                text: Some(text),
                previous: before,
                original_event: original,
                at: message["edited"]["ts"]
                    .as_str()
                    .and_then(ts_time)
                    .or_else(|| event["event_ts"].as_str().and_then(ts_time)),
                source_key: Some(key),
            };
            engine.record_message_change(incident, change).await?
        }
        (Some("message"), Some("message_deleted")) => {
            let previous = &event["previous_message"];
            if is_bot(previous, bot_user) {
                return Ok(Outcome::Ignored("the bot's own message"));
            }
            let ts = event["deleted_ts"].as_str().unwrap_or_default();
            let original = engine.slack_message_id(channel, ts).await?;
            let user = previous["user"].as_str().unwrap_or("unknown");
            let before = match previous["text"].as_str() {
                Some(p) => Some(message_text(engine, p).await?),
                None => None,
            };
            let who = author(engine, user).await?;
            let change = MessageChange {
                platform: SLACK.into(),
                actor: who.id.clone(),
                identity: Some(who.identity()),
                message_id: ts.to_string(),
                text: None,
                previous: before,
                original_event: original,
                at: event["event_ts"].as_str().and_then(ts_time),
                source_key: Some(key),
            };
            engine.record_message_change(incident, change).await?
        }
        (Some("reaction_added"), _) => {
            let wanted = engine.config().slack.pin_reaction.trim_matches(':');
            if event["reaction"].as_str() != Some(wanted) || event["item"]["type"] != "message" {
                return Ok(Outcome::Ignored("not the pin reaction"));
            }
            if bot_user.is_some() && event["user"].as_str() == bot_user {
                return Ok(Outcome::Ignored("the bot's own reaction"));
            }
            let ts = event["item"]["ts"].as_str().unwrap_or_default();
            let pinned = engine.slack_message_event(channel, ts).await?;
            let user = event["user"].as_str().unwrap_or("unknown");
            let actor = author(engine, user).await?;
            let at = event["event_ts"].as_str().and_then(ts_time);
            engine
                .pin_message(
                    incident,
                    SLACK,
                    &actor,
                    Some(ts),
                    pinned.as_ref(),
                    at,
                    Some(key),
                )
                .await?
        }
        _ => return Ok(Outcome::Ignored("an event kind warroom does not record")),
    };
    Ok(match recorded {
        Some(_) => Outcome::Recorded(incident),
        None => Outcome::Duplicate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_timestamps_keep_their_microseconds() {
        let t = ts_time("1700000000.000100").unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 100);
        assert!(ts_time("nope").is_none());
    }
}
