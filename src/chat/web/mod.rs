//! The built-in web war room as a chat platform: posts land in the room's record and wake its viewers.

use super::{Delivered, Deliverer, DeliveryError, Outcome, Recorded};
use crate::store::OutboxEntry;

/// Delivers `web` outbox entries: the post is recorded (once per entry) by the outbox worker with
/// the entry's completion, which also wakes the room's live views.
#[derive(Debug, Default)]
pub struct WebDeliverer;

impl WebDeliverer {
    /// The web room's deliverer.
    pub fn new() -> WebDeliverer {
        WebDeliverer
    }
}

#[async_trait::async_trait]
impl Deliverer for WebDeliverer {
    fn destination(&self) -> &str {
        crate::engine::outbound::WEB
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Outcome {
        let Some(incident) = entry.incident_id else {
            return Err(DeliveryError::Permanent(
                "web posts need an incident".into(),
            ))
            .into();
        };
        match entry.action.as_str() {
            "post" => {
                let text = entry.payload["text"].as_str().unwrap_or_default();
                let post = Recorded::RoomPost {
                    incident,
                    text: text.to_string(),
                };
                Outcome::with(Ok(Delivered::default()), vec![post])
            }
            // The person's open pages are listed on `/pages` from the pages themselves: a web
            // page notification only wakes the live views (the completion touches the incident).
            crate::engine::paging::PAGE_DM => {
                Outcome::with(Ok(Delivered::default()), vec![Recorded::Touch(incident)])
            }
            other => Err(DeliveryError::Permanent(format!(
                "the web room cannot `{other}`"
            )))
            .into(),
        }
    }
}
