//! `page_dm`: a page as a direct message (conversations.open + chat.postMessage) with Acknowledge and
//! Open-war-room buttons, or into a named channel for a `channel:` target. Idempotent like the other
//! posts: the message carries the entry's key and a retry looks for it before posting again.

use super::{SlackDeliverer, classify};
use crate::chat::slack::SLACK;
use crate::chat::slack::escape::mrkdwn;
use crate::chat::{Delivered, DeliveryError};
use crate::store::OutboxEntry;
use serde_json::{Value, json};

/// The prefix of the Acknowledge button's action id and value: `page_ack:<page>:<incident>`.
pub const PAGE_ACK: &str = "page_ack";

/// The page's blocks: its text, then Acknowledge and (when there is a link) Open war room.
fn page_blocks(text: &str, page: i64, incident: i64, url: Option<&str>) -> Value {
    let ack = format!("{PAGE_ACK}:{page}:{incident}");
    let mut buttons = vec![
        json!({"type": "button", "action_id": ack, "value": ack, "style": "danger",
        "text": {"type": "plain_text", "text": "Acknowledge"}}),
    ];
    if let Some(u) = url {
        buttons.push(
            json!({"type": "button", "action_id": format!("page_open:{page}"), "url": u,
            "text": {"type": "plain_text", "text": "Open war room"}}),
        );
    }
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": format!("page_{page}"), "elements": buttons}
    ])
}

impl SlackDeliverer {
    /// The channel id of a `channel:` target (an id as is, a name looked up).
    async fn page_channel(&self, configured: &str) -> Result<String, DeliveryError> {
        let name = configured.trim_start_matches('#');
        let looks_like_id = name.len() >= 9
            && name.starts_with(['C', 'G'])
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if looks_like_id {
            return Ok(name.to_string());
        }
        match self.client.find_channel(name).await.map_err(classify)? {
            Some(c) => Ok(c["id"].as_str().unwrap_or_default().to_string()),
            None => Err(DeliveryError::Permanent(format!(
                "page channel `{configured}`: channel_not_found"
            ))),
        }
    }

    /// Delivers one `page_dm` entry.
    pub(super) async fn page_dm(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let p = &entry.payload;
        let page = p["page"].as_i64().unwrap_or_default();
        let incident = p["incident"].as_i64().unwrap_or_default();
        let channel = if let Some(c) = p["channel"].as_str() {
            self.page_channel(c).await?
        } else {
            let user = p["user"]
                .as_str()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    DeliveryError::Permanent("a Slack page needs the person's Slack id".into())
                })?;
            let body = self
                .client
                .call("conversations.open", json!({"users": user}))
                .await
                .map_err(classify)?;
            body["channel"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let mut text = mrkdwn(p["text"].as_str().unwrap_or_default());
        if let Some(room) = self.ctx.room(incident, SLACK).await? {
            text.push_str(&format!("\nWar room: <#{}>", room.room_id));
        }
        let blocks = page_blocks(&text, page, incident, p["url"].as_str());
        let key = format!("outbox:{}", entry.id);
        let ts = self
            .post_once(&channel, &key, &text, Some(blocks), entry.may_have_run())
            .await?;
        Ok(Delivered {
            result: Some(json!({"channel": channel, "ts": ts, "page": page})),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_offers_acknowledge_and_the_room_link() {
        let b = page_blocks("paged", 7, 3, Some("https://w.example/incidents/3"));
        let buttons = &b[1]["elements"];
        assert_eq!(buttons[0]["action_id"], "page_ack:7:3");
        assert_eq!(buttons[0]["value"], "page_ack:7:3");
        assert_eq!(buttons[1]["url"], "https://w.example/incidents/3");
        assert_eq!(
            page_blocks("paged", 7, 3, None)[1]["elements"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
