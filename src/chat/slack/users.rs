//! People: Slack user ids ↔ display names, through the durable `slack_users` cache.

use super::is_user_id;
use crate::store::{Store, StoreResult};
use chrono::{DateTime, Utc};

/// The name to show for a Slack user: the cached display name, else the id itself.
pub async fn display_name(store: &Store, user_id: &str) -> StoreResult<String> {
    Ok(store
        .slack_user_name(user_id)
        .await?
        .unwrap_or_else(|| user_id.to_string()))
}

/// How a person recorded by name (or id) is mentioned in Slack: `<@U…>` when the id is known,
/// else the escaped name.
pub async fn mention(store: &Store, who: &str) -> StoreResult<String> {
    if is_user_id(who) {
        return Ok(format!("<@{who}>"));
    }
    Ok(match store.slack_user_id(who).await? {
        Some(id) => format!("<@{id}>"),
        None => super::escape::mrkdwn(who),
    })
}

/// The Slack user id of a person recorded by name (or id), when known.
pub async fn user_id_of(store: &Store, who: &str) -> StoreResult<Option<String>> {
    if is_user_id(who) {
        return Ok(Some(who.to_string()));
    }
    store.slack_user_id(who.trim_start_matches('@')).await
}

/// Rewrites Slack mentions in command text into the one grammar's `@name`: `<@U1|alice>` →
/// `@alice` (remembering the name), `<@U1>` → `@<cached name>` or `@U1` when unknown.
pub async fn normalize_mentions(
    store: &Store,
    text: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
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
            Some((id, label)) => (id, Some(label)),
            None => (inner, None),
        };
        if is_user_id(id) {
            let name = match label.filter(|l| !l.trim().is_empty()) {
                Some(label) => {
                    store.save_slack_user(id, label.trim(), now).await?;
                    label.trim().to_string()
                }
                None => display_name(store, id).await?,
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
