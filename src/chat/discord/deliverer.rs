//! Delivers `discord` outbox entries exactly once in effect, even across crashes and retries.
//!
//! - `create_room`: a retry first looks for the channel (guild channels under the category, or the
//!   announce channel's active threads) by its name before creating it again; its id is kept in
//!   `chat_rooms`; then topic and members (permission overwrites, or thread members: both
//!   idempotent `PUT`s).
//! - `post`, `announce`, `dm`, `page_dm`: each message carries the entry's `nonce` with
//!   `enforce_nonce`, so a retry after a lost reply gets the message Discord already created back
//!   instead of a second one.
//! - `summary`: posted (nonce `wr-s<incident>`) and pinned once, remembered, then edited in place.
//! - `followup`: edits a deferred interaction answer (`PATCH /webhooks/{app}/{token}/messages/@original`).
//!
//! The deliverer reads through the Chat port's [`DeliveryContext`] and writes nothing itself: the
//! room, the summary message and the `room_created` event go back as [`Recorded`] facts.
//!
//! Every message carries `allowed_mentions` with `parse: []` and only the people it names, so alert
//! or user text can never ping `@everyone`, `@here` or a role.

use super::client::{DiscordClient, DiscordError};
use super::{DISCORD, components, is_snowflake, text};
use crate::chat::{Delivered, Deliverer, DeliveryContext, DeliveryError, Outcome, Recorded};
use crate::config::{DiscordConfig, DiscordRoom};
use crate::domain::{Incident, Role};
use crate::store::{ChatRoom, OutboxEntry};
use serde_json::{Value, json};
use std::sync::Arc;

/// Channel type `GUILD_TEXT`.
const GUILD_TEXT: u8 = 0;
/// Channel type `PUBLIC_THREAD`.
const PUBLIC_THREAD: u8 = 11;
/// What a war-room member may do: VIEW_CHANNEL | SEND_MESSAGES | ADD_REACTIONS | READ_MESSAGE_HISTORY.
pub const MEMBER_ALLOW: u64 = 1024 | 2048 | 64 | 65536;

/// The Discord adapter behind the Chat port.
pub struct DiscordDeliverer {
    client: DiscordClient,
    ctx: Arc<dyn DeliveryContext>,
    config: DiscordConfig,
}

/// Maps a REST failure onto the outbox's retry decision.
fn classify(e: DiscordError) -> DeliveryError {
    match e {
        DiscordError::RateLimited { route, after, .. } => DeliveryError::Retry {
            reason: format!("{route}: rate limited"),
            after: Some(after),
        },
        e if e.is_retryable() => DeliveryError::Retry {
            reason: e.to_string(),
            after: None,
        },
        e => DeliveryError::Permanent(e.to_string()),
    }
}

/// A message body: content, the people it may ping, optional components, and the nonce that makes
/// its creation idempotent.
fn message_body(content: &str, users: &[String], components: Option<Value>, nonce: &str) -> Value {
    let mut body = json!({"content": content, "allowed_mentions": text::allowed_mentions(users),
        "nonce": nonce, "enforce_nonce": true});
    if let Some(c) = components {
        body["components"] = c;
    }
    body
}

impl DiscordDeliverer {
    /// A deliverer calling Discord through `client`, reading through `ctx`
    /// (the engine's `delivery_context()`).
    pub fn new(
        client: DiscordClient,
        ctx: Arc<dyn DeliveryContext>,
        config: DiscordConfig,
    ) -> DiscordDeliverer {
        DiscordDeliverer {
            client,
            ctx,
            config,
        }
    }

    async fn incident(&self, id: i64) -> Result<Incident, DeliveryError> {
        self.ctx
            .incident(id)
            .await?
            .ok_or_else(|| DeliveryError::Permanent(format!("incident {id} does not exist")))
    }

    fn guild(&self) -> Result<&str, DeliveryError> {
        self.config
            .guild_id
            .as_deref()
            .ok_or_else(|| DeliveryError::Permanent("discord.guild_id is not set".into()))
    }

    async fn room(&self, incident: i64) -> Result<ChatRoom, DeliveryError> {
        self.ctx
            .room(incident, DISCORD)
            .await?
            .ok_or_else(|| DeliveryError::WaitFor(format!("incident {incident}'s Discord room")))
    }

    /// The Discord user id of someone on a timeline: a person's `discord` id, a guest
    /// (`discord:<id>`) or a bare snowflake.
    fn user_of(&self, who: &str) -> Option<String> {
        let who = who.trim_start_matches('@');
        if let Some(p) = self.ctx.catalog().directory().get(who) {
            return p.discord.clone();
        }
        let id = who.strip_prefix("discord:").unwrap_or(who);
        is_snowflake(id).then(|| id.to_string())
    }

    /// Posts a message once: a retry with the same nonce gets the earlier message back.
    async fn post_once(&self, channel: &str, body: &Value) -> Result<String, DeliveryError> {
        let msg = self
            .client
            .post(&format!("channels/{channel}/messages"), body)
            .await
            .map_err(classify)?;
        Ok(msg["id"].as_str().unwrap_or_default().to_string())
    }

    /// The entry's text, escaped, with the people it names (`payload.people`) mentioned.
    fn content(&self, entry: &OutboxEntry) -> (String, Vec<String>) {
        let escaped = text::escape(entry.payload["text"].as_str().unwrap_or_default());
        let named: Vec<(String, String)> = entry.payload["people"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .filter_map(|id| self.user_of(id).map(|u| (id.to_string(), u)))
            .collect();
        text::mention_people(&escaped, &named)
    }

    async fn post(&self, entry: &OutboxEntry, id: i64) -> Result<Delivered, DeliveryError> {
        let room = self.room(id).await?;
        let (content, users) = self.content(entry);
        let body = message_body(&content, &users, None, &format!("wr-o{}", entry.id));
        let message = self.post_once(&room.room_id, &body).await?;
        Ok(Delivered {
            result: Some(json!({"channel": room.room_id, "message": message})),
        })
    }

    /// Finds the war room an earlier attempt created, by its name.
    async fn find_room(&self, name: &str) -> Result<Option<String>, DeliveryError> {
        let guild = self.guild()?;
        let found = match self.config.room {
            DiscordRoom::Channel => {
                let channels = self
                    .client
                    .get(&format!("guilds/{guild}/channels"))
                    .await
                    .map_err(classify)?;
                let parent = self.config.category_id.as_deref();
                channels
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| {
                        c["name"] == name
                            && c["type"] == GUILD_TEXT
                            && (parent.is_none() || c["parent_id"].as_str() == parent)
                    })
                    .cloned()
            }
            DiscordRoom::Thread => {
                let active = self
                    .client
                    .get(&format!("guilds/{guild}/threads/active"))
                    .await
                    .map_err(classify)?;
                let parent = self.config.announce_channel.as_deref();
                active["threads"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["name"] == name && t["parent_id"].as_str() == parent)
                    .cloned()
            }
        };
        Ok(found.and_then(|c| c["id"].as_str().map(str::to_string)))
    }

    async fn create_channel(&self, inc: &Incident, name: &str) -> Result<String, DeliveryError> {
        let created = match self.config.room {
            DiscordRoom::Channel => {
                let guild = self.guild()?;
                let mut body = json!({"name": name, "type": GUILD_TEXT, "topic": topic(inc)});
                if let Some(parent) = &self.config.category_id {
                    body["parent_id"] = json!(parent);
                }
                self.client
                    .post(&format!("guilds/{guild}/channels"), &body)
                    .await
            }
            DiscordRoom::Thread => {
                let parent = self.config.announce_channel.as_deref().ok_or_else(|| {
                    DeliveryError::Permanent("discord.announce_channel is not set".into())
                })?;
                let body =
                    json!({"name": name, "type": PUBLIC_THREAD, "auto_archive_duration": 10080});
                self.client
                    .post(&format!("channels/{parent}/threads"), &body)
                    .await
            }
        }
        .map_err(classify)?;
        Ok(created["id"].as_str().unwrap_or_default().to_string())
    }

    /// Creates (or finds) the war room; the room is reported as soon as it exists, and reported
    /// opened once topic and members are set.
    async fn create_room(
        &self,
        entry: &OutboxEntry,
        id: i64,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let inc = self.incident(id).await?;
        let room = match self.ctx.room(id, DISCORD).await? {
            Some(room) => room,
            None => {
                let name = super::channel_name(&self.config.channel_prefix, id, &inc.title);
                let found = if entry.may_have_run() {
                    self.find_room(&name).await?
                } else {
                    None
                };
                let room_id = match found {
                    Some(found) => {
                        tracing::info!(channel = %name, "found the war room created by an earlier attempt");
                        found
                    }
                    None => self.create_channel(&inc, &name).await?,
                };
                let room = ChatRoom {
                    incident_id: id,
                    platform: DISCORD.into(),
                    room_id,
                    name,
                };
                facts.push(Recorded::Room(room.clone()));
                room
            }
        };
        self.set_topic(&inc, &room.room_id).await?;
        self.add_members(&inc, &room.room_id).await?;
        facts.push(Recorded::RoomOpened(room.clone()));
        Ok(Delivered {
            result: Some(json!({"channel": room.room_id, "name": room.name})),
        })
    }

    async fn set_topic(&self, inc: &Incident, channel: &str) -> Result<(), DeliveryError> {
        if self.config.room == DiscordRoom::Thread {
            return Ok(()); // Threads have no topic; the pinned summary says it all.
        }
        self.client
            .patch(
                &format!("channels/{channel}"),
                &json!({"topic": topic(inc)}),
            )
            .await
            .map(|_| ())
            .map_err(classify)
    }

    /// Lets the declarer and the service's on-call into the room (each when their Discord id is
    /// known): a member permission overwrite on a channel, thread membership on a thread.
    async fn add_members(&self, inc: &Incident, channel: &str) -> Result<(), DeliveryError> {
        let mut people: Vec<String> = inc.declared_by.iter().cloned().collect();
        if let Some(oncall) = inc
            .service
            .as_deref()
            .and_then(|s| self.ctx.catalog().get(s))
            .and_then(|s| s.oncall.clone())
        {
            if self.ctx.catalog().schedule(&oncall).is_some() {
                people.extend(self.ctx.on_call_now(&oncall).await?);
            } else {
                people.push(oncall);
            }
        }
        let mut users: Vec<String> = people.iter().filter_map(|p| self.user_of(p)).collect();
        users.sort();
        users.dedup();
        for user in users {
            let result = match self.config.room {
                DiscordRoom::Channel => {
                    let body = json!({"type": 1, "allow": MEMBER_ALLOW.to_string(), "deny": "0"});
                    self.client
                        .put(&format!("channels/{channel}/permissions/{user}"), &body)
                        .await
                }
                DiscordRoom::Thread => {
                    self.client
                        .put(
                            &format!("channels/{channel}/thread-members/{user}"),
                            &json!({}),
                        )
                        .await
                }
            };
            match result {
                Ok(_) => {}
                // Unknown Member / Unknown User: not in this server; nothing a retry can fix.
                Err(e) if matches!(e.code(), Some(10007 | 10013)) => {
                    tracing::info!(%user, error = %e, "member not added");
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(())
    }

    /// The pinned summary's text: title, severity and status, roles, service facts, web link.
    fn summary_text(&self, inc: &Incident) -> (String, Vec<String>) {
        let mut users = Vec::new();
        let mut lines = vec![
            format!("**Incident #{}: {}**", inc.id, text::escape(&inc.title)),
            format!("{} {} · {}", inc.severity, inc.kind, inc.status),
        ];
        for role in Role::ALL {
            let who = match inc.holder(role) {
                Some(h) => match self.user_of(h) {
                    Some(u) => {
                        users.push(u.clone());
                        format!("<@{u}>")
                    }
                    None => text::escape(h),
                },
                None => "*unassigned*".into(),
            };
            lines.push(format!("{role}: {who}"));
        }
        if let Some(svc) = inc.service.as_deref() {
            let mut line = format!("Service: {}", text::escape(svc));
            if let Some(s) = self.ctx.catalog().get(svc) {
                if let Some(o) = &s.owner {
                    line.push_str(&format!(" · owner {}", text::escape(o)));
                }
                if let Some(r) = &s.runbook {
                    line.push_str(&format!(" · runbook <{r}>"));
                }
            }
            lines.push(line);
        }
        if let Some(url) = self.ctx.public_url() {
            lines.push(format!(
                "Web room: <{}/incidents/{}>",
                url.trim_end_matches('/'),
                inc.id
            ));
        }
        (
            crate::domain::escape::truncate(&lines.join("\n"), text::MAX_CONTENT),
            users,
        )
    }

    async fn summary(
        &self,
        entry: &OutboxEntry,
        id: i64,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let existing = self.ctx.summary_message(id, DISCORD).await?;
        let redundant = self.ctx.later_pending(entry).await?;
        if redundant && existing.is_some() {
            return Ok(Delivered {
                result: Some(json!({"skipped": "a later summary refresh is queued"})),
            });
        }
        let inc = self.incident(id).await?;
        let room = self.room(id).await?;
        let (content, users) = self.summary_text(&inc);
        let buttons = (!inc.status.is_terminal()).then(|| components::summary_buttons(id));
        let message = match existing {
            Some((channel, message)) => {
                let mut body =
                    json!({"content": content, "allowed_mentions": text::allowed_mentions(&users)});
                body["components"] = buttons.unwrap_or(json!([]));
                self.client
                    .patch(&format!("channels/{channel}/messages/{message}"), &body)
                    .await
                    .map_err(classify)?;
                message
            }
            None => {
                let body = message_body(&content, &users, buttons, &format!("wr-s{id}"));
                let message = self.post_once(&room.room_id, &body).await?;
                self.client
                    .put(
                        &format!("channels/{}/pins/{message}", room.room_id),
                        &json!({}),
                    )
                    .await
                    .map_err(classify)?;
                facts.push(Recorded::Summary {
                    incident: id,
                    platform: DISCORD.into(),
                    channel: room.room_id.clone(),
                    message: message.clone(),
                });
                message
            }
        };
        if entry.payload["topic"] == true {
            self.set_topic(&inc, &room.room_id).await?;
        }
        Ok(Delivered {
            result: Some(json!({"channel": room.room_id, "message": message})),
        })
    }

    async fn announce(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let Some(channel) = self.config.announce_channel.clone() else {
            return Ok(Delivered {
                result: Some(json!({"skipped": "discord.announce_channel is not set"})),
            });
        };
        let (mut content, users) = self.content(entry);
        if let Some(id) = entry.incident_id
            && let Some(room) = self.ctx.room(id, DISCORD).await?
        {
            content.push_str(&format!(" — <#{}>", room.room_id));
        }
        let body = message_body(&content, &users, None, &format!("wr-o{}", entry.id));
        let message = self.post_once(&channel, &body).await?;
        Ok(Delivered {
            result: Some(json!({"channel": channel, "message": message})),
        })
    }

    /// Opens (or finds: Discord answers the same channel) the DM channel with `user`.
    async fn dm_channel(&self, user: &str) -> Result<String, DeliveryError> {
        let dm = self
            .client
            .post("users/@me/channels", &json!({"recipient_id": user}))
            .await
            .map_err(classify)?;
        Ok(dm["id"].as_str().unwrap_or_default().to_string())
    }

    async fn direct_message(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let who = entry.payload["user"].as_str().unwrap_or_default();
        let user = self.user_of(who).ok_or_else(|| {
            DeliveryError::Permanent(format!("`{who}` has no Discord id in the directory"))
        })?;
        let channel = self.dm_channel(&user).await?;
        let (content, users) = self.content(entry);
        let body = message_body(&content, &users, None, &format!("wr-o{}", entry.id));
        let message = self.post_once(&channel, &body).await?;
        Ok(Delivered {
            result: Some(json!({"channel": channel, "message": message})),
        })
    }

    /// The contract's page: a DM with Acknowledge (`page_ack:<page>:<incident>`) and Open war room.
    async fn page_dm(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let p = &entry.payload;
        let who = p["user"]
            .as_str()
            .or(p["person"].as_str())
            .unwrap_or_default();
        let user = self.user_of(who).ok_or_else(|| {
            DeliveryError::Permanent(format!("`{who}` has no Discord id to page"))
        })?;
        let page = match &p["page"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let incident = p["incident"]
            .as_i64()
            .or(entry.incident_id)
            .unwrap_or_default();
        let mut url = p["url"].as_str().map(str::to_string);
        if url.is_none()
            && let Some(room) = self.ctx.room(incident, DISCORD).await?
            && let Some(guild) = &self.config.guild_id
        {
            url = Some(format!(
                "https://discord.com/channels/{guild}/{}",
                room.room_id
            ));
        }
        let title = p["title"].as_str().unwrap_or_default();
        let severity = p["severity"].as_str().unwrap_or_default();
        let said = p["text"].as_str().unwrap_or_default();
        let content = text::escape(&format!(
            "📟 Page: incident #{incident} {severity} {title}\n{said}"
        ));
        let channel = self.dm_channel(&user).await?;
        let buttons = components::page_buttons(&page, incident, url.as_deref());
        let body = message_body(&content, &[], Some(buttons), &format!("wr-o{}", entry.id));
        let message = self.post_once(&channel, &body).await?;
        Ok(Delivered {
            result: Some(json!({"channel": channel, "message": message, "user": user})),
        })
    }

    /// Edits a deferred interaction answer with the command's result.
    async fn followup(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let p = &entry.payload;
        let app = p["application_id"]
            .as_str()
            .unwrap_or(self.client.application_id());
        let token = p["token"].as_str().unwrap_or_default();
        let token: String =
            percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        self.client
            .patch(
                &format!("webhooks/{app}/{token}/messages/@original"),
                &p["data"],
            )
            .await
            .map_err(classify)?;
        Ok(Delivered::default())
    }
}

/// A channel topic: severity, status, commander and title (Discord allows 1,024 characters).
pub fn topic(inc: &Incident) -> String {
    let commander = inc.holder(Role::Commander).unwrap_or("nobody yet");
    let t = format!(
        "{} · {} · commander: {commander} · {}",
        inc.severity, inc.status, inc.title
    );
    crate::domain::escape::truncate(&t, 1024)
}

#[async_trait::async_trait]
impl Deliverer for DiscordDeliverer {
    fn destination(&self) -> &str {
        DISCORD
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Outcome {
        Outcome::gather("Discord", entry, async |facts| {
            self.perform(entry, facts).await
        })
        .await
    }
}

impl DiscordDeliverer {
    /// Performs one entry; what it learns on the way goes into `facts` (kept whichever way it ends).
    async fn perform(
        &self,
        entry: &OutboxEntry,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let need = || {
            entry.incident_id.ok_or_else(|| {
                DeliveryError::Permanent(format!("`{}` needs an incident", entry.action))
            })
        };
        match entry.action.as_str() {
            "create_room" => self.create_room(entry, need()?, facts).await,
            "post" => self.post(entry, need()?).await,
            "summary" => self.summary(entry, need()?, facts).await,
            "announce" => self.announce(entry).await,
            "dm" => self.direct_message(entry).await,
            "page_dm" => self.page_dm(entry).await,
            super::interactions::FOLLOWUP => self.followup(entry).await,
            other => Err(DeliveryError::Permanent(format!(
                "Discord cannot `{other}`"
            ))),
        }
    }
}
