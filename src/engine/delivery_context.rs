//! The engine's side of the Chat port's [`DeliveryContext`]: the reads a platform adapter needs to
//! deliver an outbox entry, and nothing else of the engine.

use super::Engine;
use crate::chat::{DeliveryContext, DeliveryError};
use crate::domain::{Catalog, EventKind, Incident};
use crate::store::{ChatRoom, OutboxEntry, StoreError};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Answers a deliverer's reads from the engine's store, catalog and configuration.
struct EngineContext {
    engine: Engine,
}

impl Engine {
    /// The reads the platform deliverers may make, behind the Chat port.
    pub fn delivery_context(&self) -> Arc<dyn DeliveryContext> {
        Arc::new(EngineContext {
            engine: self.clone(),
        })
    }
}

/// A storage failure while preparing a delivery is transient: the entry is retried.
fn retry(e: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::Retry {
        reason: e.to_string(),
        after: None,
    }
}

fn stored<T>(r: Result<T, StoreError>) -> Result<T, DeliveryError> {
    r.map_err(retry)
}

#[async_trait::async_trait]
impl DeliveryContext for EngineContext {
    fn now(&self) -> DateTime<Utc> {
        self.engine.now()
    }

    fn catalog(&self) -> &Catalog {
        self.engine.catalog()
    }

    fn public_url(&self) -> Option<&str> {
        self.engine.config().server.public_url.as_deref()
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>, DeliveryError> {
        stored(self.engine.store.incident(id).await)
    }

    async fn room(&self, id: i64, platform: &str) -> Result<Option<ChatRoom>, DeliveryError> {
        stored(self.engine.store.chat_room(id, platform).await)
    }

    async fn summary_message(
        &self,
        id: i64,
        platform: &str,
    ) -> Result<Option<(String, String)>, DeliveryError> {
        let store = &self.engine.store;
        stored(match platform {
            super::outbound::DISCORD => store.discord_summary(id).await,
            _ => store.slack_summary(id).await,
        })
    }

    async fn later_pending(&self, entry: &OutboxEntry) -> Result<bool, DeliveryError> {
        stored(
            self.engine
                .store
                .later_pending(&entry.channel_key, &entry.action, entry.id)
                .await,
        )
    }

    async fn firing_alerts(&self, id: i64) -> Result<Vec<String>, DeliveryError> {
        stored(firing_alerts(&self.engine.store, id).await)
    }

    async fn on_call_now(&self, schedule: &str) -> Result<Vec<String>, DeliveryError> {
        let now = self
            .engine
            .oncall_status(Some(schedule), self.engine.now())
            .await
            .map_err(|e| retry(format!("who is on call for {schedule}: {e}")))?;
        Ok(now.into_iter().flat_map(|s| s.on_call).collect())
    }

    async fn person_slack_id(&self, person: &str) -> Result<Option<String>, DeliveryError> {
        self.engine
            .people()
            .person_slack_id(person)
            .await
            .map_err(retry)
    }

    async fn slack_user_named(&self, name: &str) -> Result<Option<String>, DeliveryError> {
        stored(self.engine.store.slack_user_id(name).await)
    }

    async fn emails_to_link(&self) -> Result<Vec<String>, DeliveryError> {
        self.engine.people().emails_to_link().await.map_err(retry)
    }
}

/// Alert names still firing, read from the timeline (`alert_firing` minus `alert_resolved`).
async fn firing_alerts(store: &crate::store::Store, id: i64) -> Result<Vec<String>, StoreError> {
    let mut firing: BTreeMap<String, String> = BTreeMap::new();
    let mut after = 0;
    loop {
        let events = store.timeline(id, after, 500).await?;
        let Some(last) = events.last() else { break };
        after = last.id;
        for e in &events {
            let fp = e.data["fingerprint"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match e.kind {
                EventKind::AlertFiring => {
                    let name = e.data["alertname"].as_str().unwrap_or("alert").to_string();
                    firing.insert(fp, name);
                }
                EventKind::AlertResolved => {
                    firing.remove(&fp);
                }
                EventKind::AlertsResolved => firing.clear(),
                _ => {}
            }
        }
    }
    Ok(firing.into_values().collect())
}
