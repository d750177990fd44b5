//! Delivers `slack` outbox entries exactly once in effect, even across crashes and retries.
//!
//! - `create_room`: the channel is found before it is created again (a retry looks it up by name and
//!   takes it when the bot created it; `name_taken` by someone else moves to a `-2`, `-3` … suffix),
//!   its id is reported ([`Recorded::Room`]) and kept in the entry's result; then topic and
//!   invitations (both idempotent on Slack's side).
//! - `post`, `announce`, `dm`: each message carries `metadata.event_payload.key` = the entry id; a
//!   retry first looks for that key in `conversations.history` and does not post twice.
//! - `page_dm`: a page by direct message (or into a `channel:` target) with Acknowledge and
//!   Open-war-room buttons, found by the same key on a retry.
//! - `summary`: posted and pinned once (same look-up), then edited in place with `chat.update`.
//!
//! The deliverer reads through the Chat port's [`DeliveryContext`] and writes nothing itself: what
//! it learns goes back as [`Recorded`] facts, which the outbox worker writes with the entry's result.

use super::blocks::{self, SummaryContext};
use super::client::{SlackClient, SlackError};
use super::escape::mrkdwn;
use super::{SLACK, users};
use crate::chat::{Delivered, Deliverer, DeliveryContext, DeliveryError, Outcome, Recorded};
use crate::config::SlackConfig;
use crate::domain::{Incident, Role};
use crate::store::{ChatRoom, OutboxEntry};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::OnceCell;

mod page;
mod room;

pub use page::PAGE_ACK;

/// The Slack adapter behind the Chat port.
pub struct SlackDeliverer {
    client: SlackClient,
    ctx: Arc<dyn DeliveryContext>,
    config: SlackConfig,
    bot_user: OnceCell<String>,
    announce_channel: OnceCell<String>,
}

/// Maps a Web API failure onto the outbox's retry decision.
fn classify(e: SlackError) -> DeliveryError {
    match e {
        SlackError::RateLimited { method, after } => DeliveryError::Retry {
            reason: format!("{method}: rate limited"),
            after,
        },
        e if e.is_retryable() => DeliveryError::Retry {
            reason: e.to_string(),
            after: None,
        },
        e => DeliveryError::Permanent(e.to_string()),
    }
}

impl SlackDeliverer {
    /// A deliverer calling Slack through `client`, reading through `ctx`
    /// (the engine's `delivery_context()`).
    pub fn new(
        client: SlackClient,
        ctx: Arc<dyn DeliveryContext>,
        config: SlackConfig,
    ) -> SlackDeliverer {
        SlackDeliverer {
            client,
            ctx,
            config,
            bot_user: OnceCell::new(),
            announce_channel: OnceCell::new(),
        }
    }

    async fn bot_user(&self) -> Result<&str, SlackError> {
        self.bot_user
            .get_or_try_init(|| self.client.bot_user_id())
            .await
            .map(String::as_str)
    }

    async fn incident(&self, id: i64) -> Result<Incident, DeliveryError> {
        self.ctx
            .incident(id)
            .await?
            .ok_or_else(|| DeliveryError::Permanent(format!("incident {id} does not exist")))
    }

    async fn room(&self, incident: i64) -> Result<ChatRoom, DeliveryError> {
        self.ctx
            .room(incident, SLACK)
            .await?
            .ok_or_else(|| DeliveryError::WaitFor(format!("incident {incident}'s Slack channel")))
    }

    /// Calls `method`; on `not_in_channel` joins the channel and calls once more.
    async fn with_join(
        &self,
        channel: &str,
        method: &str,
        args: Value,
    ) -> Result<Value, DeliveryError> {
        match self.client.call(method, args.clone()).await {
            Err(e) if e.code() == Some("not_in_channel") => {
                tracing::info!(channel, method, "not in the channel; joining it");
                self.client
                    .call("conversations.join", json!({"channel": channel}))
                    .await
                    .map_err(classify)?;
                self.client.call(method, args).await.map_err(classify)
            }
            other => other.map_err(classify),
        }
    }

    /// Posts a message carrying `key` once: a retry finds the earlier post instead of repeating it.
    async fn post_once(
        &self,
        channel: &str,
        key: &str,
        text: &str,
        blocks: Option<Value>,
        retry: bool,
    ) -> Result<String, DeliveryError> {
        if retry {
            match self.client.find_message(channel, key).await {
                Ok(Some(ts)) => {
                    tracing::info!(channel, key, "message was posted by an earlier attempt");
                    return Ok(ts);
                }
                Ok(None) => {}
                Err(e) if e.code() == Some("not_in_channel") => {}
                Err(e) => return Err(classify(e)),
            }
        }
        let mut args = json!({"channel": channel, "text": text, "unfurl_links": false,
            "metadata": {"event_type": "warroom_message", "event_payload": {"key": key}}});
        if let Some(b) = blocks {
            args["blocks"] = b;
        }
        let body = self.with_join(channel, "chat.postMessage", args).await?;
        Ok(body["ts"].as_str().unwrap_or_default().to_string())
    }

    async fn post(&self, entry: &OutboxEntry, id: i64) -> Result<Delivered, DeliveryError> {
        let room = self.room(id).await?;
        let text = self.with_mentions(entry).await?;
        let key = format!("outbox:{}", entry.id);
        let ts = self
            .post_once(&room.room_id, &key, &text, None, entry.may_have_run())
            .await?;
        Ok(Delivered {
            result: Some(json!({"channel": room.room_id, "ts": ts})),
        })
    }

    /// The entry's text as mrkdwn, the people it names (`payload.people`) mentioned by Slack id.
    async fn with_mentions(&self, entry: &OutboxEntry) -> Result<String, DeliveryError> {
        let text = mrkdwn(entry.payload["text"].as_str().unwrap_or_default());
        let named: Vec<String> = entry.payload["people"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if named.is_empty() {
            return Ok(text);
        }
        let ids = users::slack_ids(self.ctx.as_ref(), &named).await?;
        Ok(users::mention_people(&text, &ids))
    }

    async fn summary_context(&self, inc: &Incident) -> Result<SummaryContext, DeliveryError> {
        let mut roles = Vec::new();
        for role in Role::ALL {
            let who = match inc.holder(role) {
                Some(u) => users::mention(self.ctx.as_ref(), u).await?,
                None => "_unassigned_".to_string(),
            };
            roles.push((role, who));
        }
        let service = inc
            .service
            .as_deref()
            .and_then(|s| self.ctx.catalog().get(s));
        let firing = self.ctx.firing_alerts(inc.id).await?;
        let web_url = self
            .ctx
            .public_url()
            .map(|u| format!("{}/incidents/{}", u.trim_end_matches('/'), inc.id));
        Ok(SummaryContext {
            roles,
            owner: service.and_then(|s| s.owner.clone()),
            runbook: service.and_then(|s| s.runbook.clone()),
            firing,
            web_url,
        })
    }

    async fn summary(
        &self,
        entry: &OutboxEntry,
        id: i64,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let existing = self.ctx.summary_message(id, SLACK).await?;
        let redundant = self.ctx.later_pending(entry).await?;
        if redundant && existing.is_some() {
            // A later refresh renders the same (current) state: one chat.update instead of many.
            return Ok(Delivered {
                result: Some(json!({"skipped": "a later summary refresh is queued"})),
            });
        }
        let inc = self.incident(id).await?;
        let room = self.room(id).await?;
        let ctx = self.summary_context(&inc).await?;
        let (text, blocks) = blocks::summary(&inc, &ctx);
        let ts = match existing {
            Some((channel, ts)) => {
                let args = json!({"channel": channel, "ts": ts, "text": text, "blocks": blocks});
                self.with_join(&channel, "chat.update", args).await?;
                ts
            }
            None => {
                let key = format!("summary:{id}");
                // Look for an earlier summary whenever one may exist: any retry, or any entry
                // after the first (the first one's crash may have left a post behind).
                let ts = self
                    .post_once(&room.room_id, &key, &text, Some(blocks), true)
                    .await?;
                let pin = json!({"channel": room.room_id, "timestamp": ts});
                match self.with_join(&room.room_id, "pins.add", pin).await {
                    Ok(_) => {}
                    Err(DeliveryError::Permanent(e)) if e.contains("already_pinned") => {}
                    Err(e) => return Err(e),
                }
                facts.push(Recorded::Summary {
                    incident: id,
                    platform: SLACK.into(),
                    channel: room.room_id.clone(),
                    message: ts.clone(),
                });
                ts
            }
        };
        if entry.payload["topic"] == true {
            self.set_topic(&inc, &room.room_id).await?;
        }
        Ok(Delivered {
            result: Some(json!({"channel": room.room_id, "ts": ts})),
        })
    }

    async fn announce_channel(&self) -> Result<Option<String>, DeliveryError> {
        let Some(configured) = self.config.announce_channel.as_deref() else {
            return Ok(None);
        };
        let name = configured.trim_start_matches('#');
        let looks_like_id = name.len() >= 9
            && name.starts_with(['C', 'G'])
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if looks_like_id {
            return Ok(Some(name.to_string()));
        }
        let id = self
            .announce_channel
            .get_or_try_init(|| async {
                match self.client.find_channel(name).await.map_err(classify)? {
                    Some(c) => Ok(c["id"].as_str().unwrap_or_default().to_string()),
                    None => Err(DeliveryError::Permanent(format!(
                        "slack.announce_channel `{configured}`: channel_not_found"
                    ))),
                }
            })
            .await?;
        Ok(Some(id.clone()))
    }

    async fn announce(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let Some(channel) = self.announce_channel().await? else {
            return Ok(Delivered {
                result: Some(json!({"skipped": "slack.announce_channel is not set"})),
            });
        };
        let mut text = mrkdwn(entry.payload["text"].as_str().unwrap_or_default());
        if let Some(id) = entry.incident_id
            && let Some(room) = self.ctx.room(id, SLACK).await?
        {
            text.push_str(&format!(" — <#{}>", room.room_id));
        }
        let key = format!("outbox:{}", entry.id);
        let ts = self
            .post_once(&channel, &key, &text, None, entry.may_have_run())
            .await?;
        Ok(Delivered {
            result: Some(json!({"channel": channel, "ts": ts})),
        })
    }

    async fn direct_message(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let who = entry.payload["user"].as_str().unwrap_or_default();
        let user = users::user_id_of(self.ctx.as_ref(), who)
            .await?
            .ok_or_else(|| {
                DeliveryError::Permanent(format!("`{who}` is not a known Slack user"))
            })?;
        let body = self
            .client
            .call("conversations.open", json!({"users": user}))
            .await
            .map_err(classify)?;
        let channel = body["channel"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let text = mrkdwn(entry.payload["text"].as_str().unwrap_or_default());
        let key = format!("outbox:{}", entry.id);
        let ts = self
            .post_once(&channel, &key, &text, None, entry.may_have_run())
            .await?;
        Ok(Delivered {
            result: Some(json!({"channel": channel, "ts": ts})),
        })
    }

    async fn ephemeral(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let p = &entry.payload;
        let args = json!({"channel": p["channel"], "user": p["user"],
            "text": mrkdwn(p["text"].as_str().unwrap_or_default())});
        self.client
            .call("chat.postEphemeral", args)
            .await
            .map_err(classify)?;
        Ok(Delivered::default())
    }

    /// `users.lookupByEmail` for people with an e-mail and no Slack id whose link is due, a batch
    /// at a time (the next batch is queued as its own entry); answers are cached (`users_not_found`
    /// too), so a retry asks only for the rest.
    async fn link_people(&self, facts: &mut Vec<Recorded>) -> Result<Delivered, DeliveryError> {
        let mut due = self.ctx.emails_to_link().await?;
        due.truncate(LINK_BATCH);
        let (mut linked, mut unknown) = (0, 0);
        for email in &due {
            let user = match self.client.user_by_email(email).await {
                Ok(user) => {
                    linked += 1;
                    Some(user)
                }
                Err(e) if e.code() == Some("users_not_found") => {
                    unknown += 1;
                    None
                }
                Err(e) => return Err(classify(e)),
            };
            // Kept even if a later address fails: a retry asks only for the rest.
            facts.push(Recorded::SlackLink {
                email: email.clone(),
                user,
            });
        }
        tracing::info!(linked, unknown, "Slack users linked to people by e-mail");
        facts.push(Recorded::SlackLinksChecked);
        Ok(Delivered {
            result: Some(json!({"asked": due.len(), "linked": linked, "not_found": unknown})),
        })
    }

    async fn lookup_user(
        &self,
        entry: &OutboxEntry,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let user = entry.payload["user"].as_str().unwrap_or_default();
        let name = self.client.user_name(user).await.map_err(classify)?;
        facts.push(Recorded::SlackUser {
            user: user.to_string(),
            name: name.clone(),
        });
        Ok(Delivered {
            result: Some(json!({"user": user, "name": name})),
        })
    }
}

/// `users.lookupByEmail` calls per `link_people` entry (Tier 3 allows 50 a minute).
const LINK_BATCH: usize = 40;

#[async_trait::async_trait]
impl Deliverer for SlackDeliverer {
    fn destination(&self) -> &str {
        SLACK
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Outcome {
        Outcome::gather("Slack", entry, async |facts| {
            self.perform(entry, facts).await
        })
        .await
    }
}

impl SlackDeliverer {
    /// Performs one entry; what it learns on the way goes into `facts` (kept whichever way it ends).
    async fn perform(
        &self,
        entry: &OutboxEntry,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let incident = entry.incident_id;
        let need = || {
            incident.ok_or_else(|| {
                DeliveryError::Permanent(format!("`{}` needs an incident", entry.action))
            })
        };
        match entry.action.as_str() {
            "create_room" => self.create_room(entry, need()?, facts).await,
            "post" => self.post(entry, need()?).await,
            "summary" => self.summary(entry, need()?, facts).await,
            "announce" => self.announce(entry).await,
            "dm" => self.direct_message(entry).await,
            crate::engine::paging::PAGE_DM => self.page_dm(entry).await,
            "ephemeral" => self.ephemeral(entry).await,
            "lookup_user" => self.lookup_user(entry, facts).await,
            crate::engine::people::LINK_PEOPLE => self.link_people(facts).await,
            other => Err(DeliveryError::Permanent(format!("Slack cannot `{other}`"))),
        }
    }
}
