//! What a delivery may read (the [`DeliveryContext`] port) and what it may ask to be written
//! ([`Recorded`] facts): adapters never hold the engine or the store.

use super::DeliveryError;
use crate::domain::Catalog;
use crate::domain::Incident;
use crate::store::{ChatRoom, OutboxEntry};
use chrono::{DateTime, Utc};

/// A fact a delivery learned that warroom keeps; the outbox worker writes it with the entry's result.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The platform room of an incident exists (first writer wins).
    Room(ChatRoom),
    /// The room is ready (topic set, people invited): a `room_created` event on the timeline.
    RoomOpened(ChatRoom),
    /// The pinned summary message of an incident's room (first writer wins).
    Summary {
        /// The incident.
        incident: i64,
        /// The platform (`slack`, `discord`).
        platform: String,
        /// The room's channel id.
        channel: String,
        /// The message (Slack `ts`, Discord message id).
        message: String,
    },
    /// A Slack user's display name, for the name cache.
    SlackUser {
        /// The Slack user id.
        user: String,
        /// Its display name.
        name: String,
    },
    /// One `users.lookupByEmail` answer (`user: None`: Slack knows no such address).
    SlackLink {
        /// The e-mail address asked about.
        email: String,
        /// The Slack user id it belongs to.
        user: Option<String>,
    },
    /// A batch of e-mail links was asked about: queue the next batch, if people still wait.
    SlackLinksChecked,
    /// Something incident `.0` shows changed: its live views are woken once the entry completes.
    Touch(i64),
    /// A post delivered into the built-in web room.
    RoomPost {
        /// The incident.
        incident: i64,
        /// The post's text.
        text: String,
    },
}

/// The reads a delivery needs, answered by the engine; storage failures come back as
/// [`DeliveryError::Retry`].
#[async_trait::async_trait]
pub trait DeliveryContext: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// The service catalog and directory.
    fn catalog(&self) -> &Catalog;
    /// `server.public_url`, if set.
    fn public_url(&self) -> Option<&str>;
    /// Incident `id`, if it exists.
    async fn incident(&self, id: i64) -> Result<Option<Incident>, DeliveryError>;
    /// The room of incident `id` on `platform`, if it was recorded.
    async fn room(&self, id: i64, platform: &str) -> Result<Option<ChatRoom>, DeliveryError>;
    /// The pinned summary message (channel, message) of incident `id`'s room on `platform`.
    async fn summary_message(
        &self,
        id: i64,
        platform: &str,
    ) -> Result<Option<(String, String)>, DeliveryError>;
    /// Whether a later entry with `entry`'s action waits under its channel key (a redundant refresh).
    async fn later_pending(&self, entry: &OutboxEntry) -> Result<bool, DeliveryError>;
    /// The names of the alerts still firing on incident `id`, from its timeline.
    async fn firing_alerts(&self, id: i64) -> Result<Vec<String>, DeliveryError>;
    /// Who is on call for `schedule` now.
    async fn on_call_now(&self, schedule: &str) -> Result<Vec<String>, DeliveryError>;
    /// A person's Slack id (from the directory, or linked by e-mail).
    async fn person_slack_id(&self, person: &str) -> Result<Option<String>, DeliveryError>;
    /// The Slack user id behind a cached display name.
    async fn slack_user_named(&self, name: &str) -> Result<Option<String>, DeliveryError>;
    /// The e-mail addresses of people whose Slack link is due.
    async fn emails_to_link(&self) -> Result<Vec<String>, DeliveryError>;
}
