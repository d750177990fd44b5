//! Creating the war-room channel once: look-up before re-creating, suffixes, topic, invitations.

use super::{SlackDeliverer, classify};
use crate::chat::slack::{SLACK, blocks, channel_name, users};
use crate::chat::{Delivered, DeliveryError, Recorded};
use crate::domain::{Incident, Role};
use crate::store::{ChatRoom, OutboxEntry};
use serde_json::json;

/// A channel the bot created and that is still open: an earlier attempt's war room. (An archived
/// one, e.g. from an earlier database, is not reused; the name moves to a suffix.)
fn ours(channel: &serde_json::Value, bot: &str) -> bool {
    channel["creator"].as_str() == Some(bot) && channel["is_archived"] != true
}

impl SlackDeliverer {
    /// Finds the incident's channel (ours from an earlier attempt) or creates it.
    async fn ensure_channel(
        &self,
        inc: &Incident,
        look_first: bool,
    ) -> Result<(String, String), DeliveryError> {
        let base = channel_name(&self.config.channel_prefix, inc.id, &inc.title);
        let bot = self.bot_user().await.map_err(classify)?.to_string();
        for n in 1..=10 {
            let name = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            if look_first {
                match self.client.find_channel(&name).await.map_err(classify)? {
                    Some(c) if ours(&c, &bot) => {
                        tracing::info!(channel = %name, "found the war room created by an earlier attempt");
                        return Ok((c["id"].as_str().unwrap_or_default().to_string(), name));
                    }
                    Some(_) => continue,
                    None => {}
                }
            }
            let args = json!({"name": name, "is_private": self.config.private_channels});
            match self.client.call("conversations.create", args).await {
                Ok(body) => {
                    let id = body["channel"]["id"].as_str().unwrap_or_default();
                    return Ok((id.to_string(), name));
                }
                Err(e) if e.code() == Some("name_taken") => {
                    match self.client.find_channel(&name).await.map_err(classify)? {
                        Some(c) if ours(&c, &bot) => {
                            return Ok((c["id"].as_str().unwrap_or_default().to_string(), name));
                        }
                        _ => {
                            tracing::info!(channel = %name, "channel name taken by someone else; trying a suffix");
                        }
                    }
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Err(DeliveryError::Permanent(format!(
            "every channel name from {base} to {base}-10 is taken"
        )))
    }

    /// Creates (or finds) the war room; the room is reported as soon as it exists, so a retry
    /// after a failed topic or invitation uses it, and reported opened once it is ready.
    pub(super) async fn create_room(
        &self,
        entry: &OutboxEntry,
        id: i64,
        facts: &mut Vec<Recorded>,
    ) -> Result<Delivered, DeliveryError> {
        let inc = self.incident(id).await?;
        let room = match self.ctx.room(id, SLACK).await? {
            Some(room) => room,
            None => {
                let (room_id, name) = self.ensure_channel(&inc, entry.may_have_run()).await?;
                let room = ChatRoom {
                    incident_id: id,
                    platform: SLACK.into(),
                    room_id,
                    name,
                };
                facts.push(Recorded::Room(room.clone()));
                room
            }
        };
        self.set_topic(&inc, &room.room_id).await?;
        self.invite(&inc, &room.room_id).await?;
        facts.push(Recorded::RoomOpened(room.clone()));
        Ok(Delivered {
            result: Some(json!({"channel": room.room_id, "name": room.name})),
        })
    }

    pub(super) async fn set_topic(
        &self,
        inc: &Incident,
        channel: &str,
    ) -> Result<(), DeliveryError> {
        let commander = inc.holder(Role::Commander);
        let args = json!({"channel": channel, "topic": blocks::topic(inc, commander)});
        self.with_join(channel, "conversations.setTopic", args)
            .await
            .map(|_| ())
    }

    /// Invites the declarer and the service's on-call (each when their Slack id is known): when the
    /// service's `oncall` names a schedule, the people on call for it now.
    async fn invite(&self, inc: &Incident, channel: &str) -> Result<(), DeliveryError> {
        let mut people = Vec::new();
        if let Some(d) = &inc.declared_by {
            people.push(d.clone());
        }
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
        people.dedup();
        for who in people {
            let Some(user) = users::user_id_of(self.ctx.as_ref(), &who).await? else {
                continue;
            };
            let args = json!({"channel": channel, "users": user});
            match self.client.call("conversations.invite", args).await {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.code(),
                        Some(
                            "already_in_channel"
                                | "cant_invite_self"
                                | "user_not_found"
                                | "user_is_bot"
                                | "cant_invite"
                        )
                    ) =>
                {
                    tracing::info!(user = %user, error = %e, "invitation skipped");
                }
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(())
    }
}
