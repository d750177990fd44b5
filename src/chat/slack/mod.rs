//! Slack: war-room channels, the pinned summary, announcements and direct messages through a small
//! typed Web API client; inbound Events API, slash commands and interactivity mapped onto the engine.
//!
//! Why not slack-morphism: warroom uses fifteen Web API methods, and slack-morphism 2.31 gets two of
//! them wrong on the wire (`conversations.invite` sends `users` as a JSON array, `conversations.create`
//! spells its user field `user_ds`), needs a hyper connector swap to reach a plain-HTTP test server,
//! and brings `jiff` timestamps beside chrono. A typed client over reqwest 0.12 for exactly these
//! methods is a few hundred lines that the tests exercise end to end.

pub mod blocks;
pub mod client;
pub mod commands;
pub mod deliverer;
pub mod escape;
pub mod events;
pub mod interactions;
pub mod manifest;
pub mod rate;
pub mod users;
pub mod verify;

pub use client::{SlackClient, SlackError};
pub use deliverer::{PAGE_ACK, SlackDeliverer};

/// The destination name of Slack outbox entries and the `platform` of Slack timeline events.
pub const SLACK: &str = "slack";

/// Whether `text` looks like a Slack user id (`U…` or `W…`, upper-case letters and digits).
pub fn is_user_id(text: &str) -> bool {
    text.len() >= 7
        && text.starts_with(['U', 'W'])
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The war-room channel name of an incident: `<prefix><id>-<slug>`, at most 80 characters.
pub fn channel_name(prefix: &str, incident_id: i64, title: &str) -> String {
    // Slack: 80 characters; 4 kept for the joining `-` and the `-2`… suffix a taken name gets.
    crate::domain::incident::room_name(prefix, incident_id, title, 80, 4, 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_the_prefix_id_slug_pattern() {
        assert_eq!(
            channel_name("inc-", 12, "API down: 5xx!"),
            "inc-12-api-down-5xx"
        );
        assert_eq!(channel_name("inc-", 3, "!!!"), "inc-3");
        assert!(channel_name("inc-", 1, &"x".repeat(200)).len() <= 80);
        assert!(is_user_id("U012AB3CD"));
        assert!(!is_user_id("alice"));
    }
}
