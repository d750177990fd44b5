//! Gateway dispatches (and channel-history messages) → timeline: messages, edits, deletions and 📌
//! reactions in war-room channels. Every use-case is keyed on Discord's ids, so a replayed or
//! back-filled event records nothing twice.

use crate::engine::discord_gateway::{DiscordMessage, GatewayOutcome};
use crate::engine::{Engine, EngineError};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The reaction that marks a key event.
pub const PIN: &str = "📌";

/// Message types warroom records: a default message (0) and a reply (19); the rest are system
/// notices (joins, pins, thread starts …).
fn is_said(d: &Value) -> bool {
    matches!(d["type"].as_u64(), None | Some(0) | Some(19))
}

/// Whether a message is the bot's own (already on the timeline as its post) or another bot's.
fn is_bot(author: &Value, bot_user: &str) -> bool {
    author["bot"].as_bool() == Some(true)
        || (!bot_user.is_empty() && author["id"].as_str() == Some(bot_user))
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn user_name(user: &Value) -> Option<String> {
    user["global_name"]
        .as_str()
        .or(user["username"].as_str())
        .map(str::to_string)
}

/// `<@id>` / `<@!id>` mentions named: the person id for directory people, else the user name.
async fn named_mentions(engine: &Engine, d: &Value) -> Result<String, EngineError> {
    let mut text = d["content"].as_str().unwrap_or_default().to_string();
    for user in d["mentions"].as_array().into_iter().flatten() {
        let Some(id) = user["id"].as_str() else {
            continue;
        };
        let who = engine.discord_actor(id, user_name(user).as_deref()).await?;
        let name = if who.is_guest() { who.name } else { who.id };
        for raw in [format!("<@{id}>"), format!("<@!{id}>")] {
            text = text.replace(&raw, &format!("@{name}"));
        }
    }
    Ok(text)
}

/// A full message object as warroom keeps it (`None` without id, channel or author).
async fn message(engine: &Engine, d: &Value) -> Result<Option<DiscordMessage>, EngineError> {
    let (Some(id), Some(channel), Some(author)) = (
        d["id"].as_str(),
        d["channel_id"].as_str(),
        d["author"]["id"].as_str(),
    ) else {
        return Ok(None);
    };
    let files = d["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| json!({"name": a["filename"].as_str().unwrap_or("file"), "url": a["url"]}))
        .collect();
    Ok(Some(DiscordMessage {
        channel_id: channel.to_string(),
        message_id: id.to_string(),
        author_id: author.to_string(),
        author_name: user_name(&d["author"]),
        content: named_mentions(engine, d).await?,
        at: time(&d["timestamp"]),
        edited: d["edited_timestamp"].as_str().map(str::to_string),
        reply_to: d["message_reference"]["message_id"]
            .as_str()
            .map(str::to_string),
        files,
    }))
}

/// Records a message object from `MESSAGE_CREATE` or the channel history.
pub async fn record_message(
    engine: &Engine,
    d: &Value,
    bot_user: &str,
) -> Result<GatewayOutcome, EngineError> {
    let channel = d["channel_id"].as_str().unwrap_or_default();
    let Some(incident) = engine.discord_room_incident(channel).await? else {
        return Ok(GatewayOutcome::Ignored("not a war-room channel"));
    };
    let seen = d["id"].as_str().unwrap_or_default();
    if is_bot(&d["author"], bot_user) || !is_said(d) {
        if !seen.is_empty() {
            engine.advance_discord_cursor(channel, seen).await?;
        }
        return Ok(GatewayOutcome::Ignored(
            "the bot's own message, or a system notice",
        ));
    }
    match message(engine, d).await? {
        Some(m) => engine.record_discord_message(incident, &m).await,
        None => Ok(GatewayOutcome::Ignored("a message without id or author")),
    }
}

async fn record_update(
    engine: &Engine,
    d: &Value,
    bot_user: &str,
) -> Result<GatewayOutcome, EngineError> {
    let channel = d["channel_id"].as_str().unwrap_or_default();
    let Some(incident) = engine.discord_room_incident(channel).await? else {
        return Ok(GatewayOutcome::Ignored("not a war-room channel"));
    };
    // A partial update (an embed unfurled) carries no author and no text: nothing was edited.
    if d["content"].as_str().is_none() || d["author"]["id"].as_str().is_none() {
        return Ok(GatewayOutcome::Ignored("an unfurl, not an edit"));
    }
    if is_bot(&d["author"], bot_user) || !is_said(d) {
        return Ok(GatewayOutcome::Ignored("the bot's own message"));
    }
    match message(engine, d).await? {
        Some(m) => engine.record_discord_edit(incident, &m).await,
        None => Ok(GatewayOutcome::Ignored("a message without id or author")),
    }
}

async fn record_delete(engine: &Engine, d: &Value) -> Result<GatewayOutcome, EngineError> {
    let (Some(channel), Some(id)) = (d["channel_id"].as_str(), d["id"].as_str()) else {
        return Ok(GatewayOutcome::Ignored("a deletion without ids"));
    };
    let Some(incident) = engine.discord_room_incident(channel).await? else {
        return Ok(GatewayOutcome::Ignored("not a war-room channel"));
    };
    engine.record_discord_delete(incident, channel, id).await
}

async fn record_reaction(
    engine: &Engine,
    d: &Value,
    bot_user: &str,
) -> Result<GatewayOutcome, EngineError> {
    if d["emoji"]["name"].as_str() != Some(PIN) || !d["emoji"]["id"].is_null() {
        return Ok(GatewayOutcome::Ignored("not the pin reaction"));
    }
    let (Some(channel), Some(message), Some(user)) = (
        d["channel_id"].as_str(),
        d["message_id"].as_str(),
        d["user_id"].as_str(),
    ) else {
        return Ok(GatewayOutcome::Ignored("a reaction without ids"));
    };
    let member = &d["member"]["user"];
    if user == bot_user || member["bot"].as_bool() == Some(true) {
        return Ok(GatewayOutcome::Ignored("the bot's own reaction"));
    }
    let Some(incident) = engine.discord_room_incident(channel).await? else {
        return Ok(GatewayOutcome::Ignored("not a war-room channel"));
    };
    engine
        .record_discord_pin(
            incident,
            channel,
            message,
            user,
            user_name(member).as_deref(),
        )
        .await
}

/// Handles one dispatch `t` with payload `d`. Content warroom cannot record (an empty message)
/// is logged and skipped, so it does not hold the session back.
pub async fn handle(
    engine: &Engine,
    t: &str,
    d: &Value,
    bot_user: &str,
) -> Result<GatewayOutcome, EngineError> {
    let result = match t {
        "MESSAGE_CREATE" => record_message(engine, d, bot_user).await,
        "MESSAGE_UPDATE" => record_update(engine, d, bot_user).await,
        "MESSAGE_DELETE" => record_delete(engine, d).await,
        "MESSAGE_REACTION_ADD" => record_reaction(engine, d, bot_user).await,
        _ => Ok(GatewayOutcome::Ignored("an event warroom does not record")),
    };
    match result {
        Err(EngineError::Invalid { field, message }) => {
            tracing::info!(%field, %message, event = t, "Discord event not recorded");
            Ok(GatewayOutcome::Ignored("nothing recordable"))
        }
        other => other,
    }
}
