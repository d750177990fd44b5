//! The back-fill: after a (re)connect, each open war room's history after the last message seen
//! there is read page by page and recorded (once: the same keys as the live events).

use super::events;
use super::rest::{DiscordRest, PAGE, RestError};
use crate::engine::Engine;
use crate::engine::discord_gateway::GatewayOutcome;

/// The most pages read from one room in one back-fill (100 messages each).
const MAX_PAGES: usize = 50;

/// Back-fills every open war room; answers how many messages were recorded. A room that fails is
/// logged and left for the next connect.
pub async fn backfill(engine: &Engine, rest: &DiscordRest, bot_user: &str) -> usize {
    let rooms = match engine.discord_rooms_to_backfill().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "Discord back-fill: cannot list the war rooms");
            return 0;
        }
    };
    let mut recorded = 0;
    for room in rooms {
        // A channel's id is older than every message in it: with no cursor, read it all.
        let after = room
            .last_message_id
            .unwrap_or_else(|| room.channel_id.clone());
        match backfill_room(engine, rest, &room.channel_id, after, bot_user).await {
            Ok(n) => recorded += n,
            Err(e) => {
                tracing::warn!(channel = %room.channel_id, error = %e, "Discord back-fill of a war room failed")
            }
        }
    }
    if recorded > 0 {
        tracing::info!(
            recorded,
            "Discord back-fill recorded messages missed while away"
        );
    }
    recorded
}

#[derive(Debug, thiserror::Error)]
enum BackfillError {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
}

async fn backfill_room(
    engine: &Engine,
    rest: &DiscordRest,
    channel: &str,
    mut after: String,
    bot_user: &str,
) -> Result<usize, BackfillError> {
    let mut recorded = 0;
    for _ in 0..MAX_PAGES {
        let page = rest.messages_after(channel, &after).await?;
        for m in &page {
            // A history message is the object MESSAGE_CREATE carries.
            if let GatewayOutcome::Recorded(_) =
                events::handle(engine, "MESSAGE_CREATE", m, bot_user).await?
            {
                recorded += 1;
            }
            if let Some(id) = m["id"].as_str() {
                after = id.to_string();
            }
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok(recorded)
}
