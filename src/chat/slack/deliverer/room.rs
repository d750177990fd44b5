//! Creating the war-room channel once: look-up before re-creating, suffixes, topic, invitations.

use super::{SlackDeliverer, classify, store_err};
use crate::chat::slack::{SLACK, blocks, channel_name, users};
use crate::chat::{Delivered, DeliveryError};
use crate::domain::{EventKind, Incident, NewEvent, Role};
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

    pub(super) async fn create_room(
        &self,
        entry: &OutboxEntry,
        id: i64,
    ) -> Result<Delivered, DeliveryError> {
        let inc = self.incident(id).await?;
        let store = self.engine.store();
        let room = match store.chat_room(id, SLACK).await.map_err(store_err)? {
            Some(room) => room,
            None => {
                let (room_id, name) = self.ensure_channel(&inc, entry.may_have_run()).await?;
                let room = ChatRoom {
                    incident_id: id,
                    platform: SLACK.into(),
                    room_id,
                    name,
                };
                store
                    .save_chat_room(&room, self.engine.now())
                    .await
                    .map_err(store_err)?;
                self.room(id).await?
            }
        };
        self.set_topic(&inc, &room.room_id).await?;
        self.invite(&inc, &room.room_id).await?;
        let (room_id, name) = (room.room_id.clone(), room.name.clone());
        let key = format!("slack:room_created:{id}");
        let recorded = self
            .engine
            .apply(id, |_, now| {
                Ok(vec![
                    NewEvent::new(EventKind::RoomCreated, now, Some("warroom"))
                        .text(format!("Slack channel #{name} opened"))
                        .data(json!({"platform": SLACK, "room_id": room_id, "name": name}))
                        .key(key),
                ])
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the room on the timeline");
        }
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
            .and_then(|s| self.engine.catalog().get(s))
            .and_then(|s| s.oncall.clone())
        {
            if self.engine.catalog().schedule(&oncall).is_some() {
                match self
                    .engine
                    .oncall_status(Some(&oncall), self.engine.now())
                    .await
                {
                    Ok(now) => people.extend(now.into_iter().flat_map(|s| s.on_call)),
                    Err(e) => {
                        return Err(DeliveryError::Retry {
                            reason: format!("who is on call for {oncall}: {e}"),
                            after: None,
                        });
                    }
                }
            } else {
                people.push(oncall);
            }
        }
        people.dedup();
        for who in people {
            let Some(user) = users::user_id_of(&self.engine, &who)
                .await
                .map_err(super::engine_err)?
            else {
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
