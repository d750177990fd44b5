//! Writes the facts a delivery reported ([`Recorded`]) inside the unit that settles its outbox entry,
//! so "room saved + entry completed" commit together, and only for the claim's holder.

use super::unit::Unit;
use super::{Engine, EngineError};
use crate::chat::Recorded;
use crate::domain::{EventKind, NewEvent};
use crate::store::{OutboxEntry, StoreError};
use serde_json::json;

/// What is left to do once the unit has committed.
#[derive(Debug, Default)]
pub(super) struct AfterCommit {
    /// Incidents whose live views changed without a timeline event (web posts, page notices).
    notify: Vec<i64>,
    /// A batch of Slack e-mail links was checked: queue the next one.
    next_links: bool,
}

/// Writes `recorded` in `unit` (the entry's settlement comes after, in the same unit).
pub(super) async fn write_in(
    engine: &Engine,
    unit: &mut Unit,
    entry: &OutboxEntry,
    recorded: &[Recorded],
) -> Result<AfterCommit, StoreError> {
    let mut after = AfterCommit::default();
    let now = unit.now();
    for fact in recorded {
        match fact {
            Recorded::Room(room) => unit.tx().save_chat_room(room, now).await?,
            Recorded::RoomOpened(room) => room_opened(engine, unit, room).await?,
            Recorded::Summary {
                incident,
                platform,
                channel,
                message,
            } => {
                if platform == super::outbound::DISCORD {
                    unit.tx()
                        .save_discord_summary(*incident, channel, message)
                        .await?
                } else {
                    unit.tx()
                        .save_slack_summary(*incident, channel, message)
                        .await?
                }
            }
            Recorded::SlackUser { user, name } => {
                unit.tx().save_slack_user(user, name, now).await?
            }
            Recorded::SlackLink { email, user } => {
                unit.tx()
                    .save_slack_link(email, user.as_deref(), now)
                    .await?
            }
            Recorded::SlackLinksChecked => after.next_links = true,
            Recorded::RoomPost { incident, text } => {
                let platform = entry.destination.as_str();
                unit.tx()
                    .record_room_post(*incident, platform, text, entry.id, now)
                    .await?;
                after.notify.push(*incident);
            }
            Recorded::Touch(incident) => after.notify.push(*incident),
        }
    }
    Ok(after)
}

/// The `room_created` event of a room that is ready (once per incident and platform).
async fn room_opened(
    engine: &Engine,
    unit: &mut Unit,
    room: &crate::store::ChatRoom,
) -> Result<(), StoreError> {
    let label = match room.platform.as_str() {
        super::outbound::SLACK => "Slack",
        super::outbound::DISCORD => "Discord",
        other => other,
    };
    let (platform, id) = (room.platform.clone(), room.incident_id);
    let event = NewEvent::new(EventKind::RoomCreated, unit.now(), Some("warroom"))
        .text(format!("{label} channel #{} opened", room.name))
        .data(json!({"platform": platform, "room_id": room.room_id, "name": room.name}))
        .key(format!("{platform}:room_created:{id}"));
    stored(
        engine.apply_in(unit, id, |_, _| Ok(vec![event])).await,
        "the room",
    )
}

/// A delivery's `delivery_failed` event on its incident, in the unit that fails the entry.
pub(super) async fn delivery_failed_in(
    engine: &Engine,
    unit: &mut Unit,
    entry: &OutboxEntry,
    reason: &str,
) -> Result<(), StoreError> {
    let Some(incident) = entry.incident_id else {
        return Ok(());
    };
    let text = format!(
        "could not {} on {}: {reason}",
        entry.action, entry.destination
    );
    let data =
        json!({"outbox": entry.id, "destination": entry.destination, "action": entry.action});
    let event = NewEvent::new(EventKind::DeliveryFailed, unit.now(), Some("warroom"))
        .text(text)
        .data(data)
        .key(format!("delivery_failed:{}", entry.id));
    stored(
        engine
            .apply_in(unit, incident, |_, _| Ok(vec![event]))
            .await,
        "the failed delivery",
    )
}

/// A storage failure fails the unit; anything else (the incident is gone) is only logged.
fn stored<T>(r: Result<T, EngineError>, what: &str) -> Result<(), StoreError> {
    match r {
        Ok(_) => Ok(()),
        Err(EngineError::Store(e)) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "could not record {what} on the timeline");
            Ok(())
        }
    }
}

impl AfterCommit {
    /// Wakes the views and queues the next link batch (a failure there is retried at start-up).
    pub(super) async fn run(self, engine: &Engine) {
        for id in self.notify {
            engine.hub().notify(id);
        }
        if self.next_links
            && let Err(e) = engine.people().schedule_slack_links().await
        {
            tracing::warn!(error = %e, "could not queue the next Slack e-mail links");
        }
    }
}
