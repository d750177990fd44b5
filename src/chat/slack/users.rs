//! People on Slack: a Slack user id is a person (catalog `slack` id, or linked by e-mail) or a guest;
//! display names come from the durable `slack_users` cache.

use super::{SLACK, is_user_id};
use crate::chat::{DeliveryContext, DeliveryError};
use crate::domain::Actor;
use crate::engine::{Engine, EngineError};
use chrono::{DateTime, Utc};

/// Who acts in a Slack request, from the Slack **user id** (never a typed name): the person, or a
/// guest named by `handle` (when Slack sent one, it is cached) or the cached display name.
pub async fn actor(
    engine: &Engine,
    user_id: &str,
    handle: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Actor, EngineError> {
    let name = match handle.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => {
            engine.save_slack_user(user_id, h, now).await?;
            Some(h.to_string())
        }
        None => engine.slack_user_name(user_id).await?,
    };
    let people = engine.people();
    let actor = people.resolve(SLACK, user_id, name.as_deref()).await?;
    if actor.is_guest() {
        // They may be a person whose e-mail link is due (a day old, or new): ask, through the outbox.
        people.schedule_slack_links().await?;
    }
    Ok(actor)
}

/// The Slack user id of someone recorded on a timeline: a Slack id, a guest id (`slack:U…`), a
/// person id (catalog or e-mail link), or, for timelines from before the directory, a cached name.
pub async fn user_id_of(
    ctx: &dyn DeliveryContext,
    who: &str,
) -> Result<Option<String>, DeliveryError> {
    let who = who.trim_start_matches('@');
    if is_user_id(who) {
        return Ok(Some(who.to_string()));
    }
    if let Some(id) = who.strip_prefix("slack:").filter(|id| is_user_id(id)) {
        return Ok(Some(id.to_string()));
    }
    if let Some(id) = ctx.person_slack_id(who).await? {
        return Ok(Some(id));
    }
    ctx.slack_user_named(who).await
}

/// How someone recorded on a timeline is mentioned in Slack: `<@U…>` when their id is known, else the escaped name.
pub async fn mention(ctx: &dyn DeliveryContext, who: &str) -> Result<String, DeliveryError> {
    Ok(match user_id_of(ctx, who).await? {
        Some(id) => format!("<@{id}>"),
        None => super::escape::mrkdwn(who),
    })
}

/// Replaces whole-word occurrences of person ids in already-escaped mrkdwn with `<@U…>` mentions.
pub fn mention_people(text: &str, people: &[(String, String)]) -> String {
    let word = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(word).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
        let token = &rest[..end];
        // A trailing dot or colon ends a sentence or a label, not an id.
        let bare = token.trim_end_matches(['.', ':']);
        // `&amp;` and friends are escapes, never ids.
        let entity = out.ends_with('&');
        match people.iter().find(|(id, _)| id == bare).filter(|_| !entity) {
            Some((_, slack)) => {
                out.push_str(&format!("<@{slack}>"));
                out.push_str(&token[bare.len()..]);
            }
            None => out.push_str(token),
        }
        rest = &rest[end..];
    }
    out
}

/// The Slack ids of `ids` that have one, for [`mention_people`].
pub async fn slack_ids(
    ctx: &dyn DeliveryContext,
    ids: &[String],
) -> Result<Vec<(String, String)>, DeliveryError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(slack) = ctx.person_slack_id(id).await? {
            out.push((id.clone(), slack));
        } else if let Some(g) = id.strip_prefix("slack:").filter(|g| is_user_id(g)) {
            out.push((id.clone(), g.to_string()));
        }
    }
    Ok(out)
}

/// What an unknown Slack user's mention becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// `@U…`: commands, so that a role or page names the Slack user, not a typed name.
    Id,
    /// `@<label or cached display name>`: message text, for people to read.
    Name,
}

/// Rewrites Slack mentions into the one grammar's `@name`: `<@U1>` / `<@U1|label>` → `@<person id>`
/// when the directory (or the e-mail link cache) knows U1, else as `unknown` says.
pub async fn normalize_mentions(
    engine: &Engine,
    text: &str,
    unknown: Unknown,
    now: DateTime<Utc>,
) -> Result<String, EngineError> {
    let people = engine.people();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        let (id, label) = match inner.split_once('|') {
            Some((id, label)) => (id, Some(label.trim()).filter(|l| !l.is_empty())),
            None => (inner, None),
        };
        if is_user_id(id) {
            if let Some(label) = label {
                engine.save_slack_user(id, label, now).await?;
            }
            let name = match people.slack_person(id).await? {
                Some(person) => person,
                None if unknown == Unknown::Id => id.to_string(),
                None => match label {
                    Some(l) => l.to_string(),
                    None => engine
                        .slack_user_name(id)
                        .await?
                        .unwrap_or_else(|| id.to_string()),
                },
            };
            // The grammar splits on spaces: a name with spaces stays the id.
            let name = if name.contains(char::is_whitespace) {
                id.to_string()
            } else {
                name
            };
            out.push('@');
            out.push_str(&name);
        } else {
            out.push_str(&rest[start..start + 2 + end + 1]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_ids_become_mentions_as_whole_words() {
        let people = vec![
            ("alice".to_string(), "U0ALICE01".to_string()),
            ("slack:U0GUEST01".to_string(), "U0GUEST01".to_string()),
        ];
        assert_eq!(
            mention_people("alice made bob commander; alice.", &people),
            "<@U0ALICE01> made bob commander; <@U0ALICE01>."
        );
        assert_eq!(mention_people("malice alice-x", &people), "malice alice-x");
        let amp = vec![("amp".to_string(), "U0AMP0001".to_string())];
        assert_eq!(mention_people("a &amp; amp", &amp), "a &amp; <@U0AMP0001>");
        assert_eq!(
            mention_people("slack:U0GUEST01 took it", &people),
            "<@U0GUEST01> took it"
        );
        assert_eq!(
            mention_people("Status update from alice: all good", &people),
            "Status update from <@U0ALICE01>: all good"
        );
    }
}
