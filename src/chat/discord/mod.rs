//! Discord: war-room channels (or threads), the pinned summary, announcements, direct messages and
//! pages through a small REST client; the interactions endpoint's application commands, buttons,
//! modals and autocomplete mapped onto the engine through the one command grammar.
//!
//! Why reqwest and not serenity's `Http`: warroom calls fifteen routes; serenity 0.12.5 only reaches
//! a non-Discord base URL (the local test server) with its rate limiter off, which would leave the
//! buckets unhonoured, and its error type hides the `retry_after` of a 429 body that the outbox needs
//! as `Retry { after }`. reqwest 0.12 with rustls is already here; the client is a few hundred lines
//! the tests run end to end. Signatures use `ed25519-dalek` (already in the tree through
//! openidconnect), with the timestamp window serenity's verifier does not check.

pub mod client;
pub mod commands;
pub mod components;
pub mod deliverer;
pub mod gateway;
pub mod interaction;
pub mod interactions;
pub mod text;
pub mod verify;

pub use client::{DiscordClient, DiscordError};
pub use deliverer::DiscordDeliverer;

/// The destination name of Discord outbox entries and the `platform` of Discord timeline events.
pub const DISCORD: &str = crate::engine::outbound::DISCORD;

/// The bot's permissions, as the invite URL's `permissions` integer: MANAGE_CHANNELS (create war
/// rooms, set topics), ADD_REACTIONS, VIEW_CHANNEL, SEND_MESSAGES, MANAGE_MESSAGES, READ_MESSAGE_HISTORY,
/// MANAGE_ROLES (member permission overwrites), CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS and
/// PIN_MESSAGES (the summary).
pub const BOT_PERMISSIONS: u64 =
    16 | 64 | 1024 | 2048 | 8192 | 65536 | (1 << 28) | (1 << 35) | (1 << 38) | (1 << 51);

/// The URL that adds the bot to a server with [`BOT_PERMISSIONS`] and the commands scope.
pub fn invite_url(application_id: &str) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={BOT_PERMISSIONS}"
    )
}

/// Whether `text` is a Discord snowflake (a user, channel or message id).
pub fn is_snowflake(text: &str) -> bool {
    (15..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// The war-room channel (or thread) name of an incident: `<prefix><id>-<slug>`, at most 100
/// characters, lower case as Discord keeps text-channel names.
pub fn channel_name(prefix: &str, incident_id: i64, title: &str) -> String {
    // Discord: 100 characters (1 kept for the joining `-`), lowercase.
    crate::domain::incident::room_name(&prefix.to_lowercase(), incident_id, title, 100, 1, 60)
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
        assert_eq!(channel_name("INC-", 3, "!!!"), "inc-3");
        assert!(channel_name("inc-", 1, &"x".repeat(300)).len() <= 100);
        assert!(is_snowflake("112233445566778899"));
        assert_eq!(BOT_PERMISSIONS, 2252109319842896);
        assert!(invite_url("1").ends_with("permissions=2252109319842896"));
        assert!(!is_snowflake("alice"));
    }
}
