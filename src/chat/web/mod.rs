//! The built-in web war room as a chat platform: posts land in the room's record and wake its viewers.

use super::{Delivered, Deliverer, DeliveryError};
use crate::engine::Hub;
use crate::store::{OutboxEntry, Store};

/// Delivers `web` outbox entries: records the post (once per entry) and wakes live views.
pub struct WebDeliverer {
    store: Store,
    hub: Hub,
}

impl WebDeliverer {
    /// A deliverer writing to `store` and notifying `hub`.
    pub fn new(store: Store, hub: Hub) -> WebDeliverer {
        WebDeliverer { store, hub }
    }
}

#[async_trait::async_trait]
impl Deliverer for WebDeliverer {
    fn destination(&self) -> &str {
        crate::engine::outbound::WEB
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Result<Delivered, DeliveryError> {
        let Some(incident) = entry.incident_id else {
            return Err(DeliveryError::Permanent(
                "web posts need an incident".into(),
            ));
        };
        match entry.action.as_str() {
            "post" => {
                let text = entry.payload["text"].as_str().unwrap_or_default();
                self.store
                    .record_room_post(incident, "web", None, text, entry.id, chrono::Utc::now())
                    .await
                    .map_err(|e| DeliveryError::Retry {
                        reason: e.to_string(),
                        after: None,
                    })?;
                self.hub.notify(incident);
                Ok(Delivered::default())
            }
            // The person's open pages are listed on `/pages` from the pages themselves: a web
            // page notification only wakes the live views.
            crate::engine::paging::PAGE_DM => {
                self.hub.notify(incident);
                Ok(Delivered::default())
            }
            other => Err(DeliveryError::Permanent(format!(
                "the web room cannot `{other}`"
            ))),
        }
    }
}
