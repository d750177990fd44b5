//! The gateway's wire format (API v10, JSON, no compression): opcodes, the frames warroom sends,
//! and what a close code means for reconnecting.

use serde::Deserialize;
use serde_json::{Value, json};

/// `GUILD_MESSAGES` (1 << 9): message create, update and delete in guild channels.
pub const GUILD_MESSAGES: u64 = 1 << 9;
/// `GUILD_MESSAGE_REACTIONS` (1 << 10): reactions added in guild channels.
pub const GUILD_MESSAGE_REACTIONS: u64 = 1 << 10;
/// `MESSAGE_CONTENT` (1 << 15, privileged): the text of messages that do not mention the bot.
pub const MESSAGE_CONTENT: u64 = 1 << 15;
/// The intents warroom identifies with.
pub const INTENTS: u64 = GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS | MESSAGE_CONTENT;

/// The gateway API version and encoding asked for in the connection URL.
pub const QUERY: &str = "v=10&encoding=json";

/// Gateway opcodes warroom uses.
pub mod op {
    /// An event (`t`, `s`, `d`).
    pub const DISPATCH: u64 = 0;
    /// Heartbeat (both ways: the gateway may ask for one).
    pub const HEARTBEAT: u64 = 1;
    /// Start a new session.
    pub const IDENTIFY: u64 = 2;
    /// Resume a session.
    pub const RESUME: u64 = 6;
    /// The gateway asks the client to reconnect and resume.
    pub const RECONNECT: u64 = 7;
    /// The session is invalid (`d`: whether it may be resumed).
    pub const INVALID_SESSION: u64 = 9;
    /// The first frame: `heartbeat_interval`.
    pub const HELLO: u64 = 10;
    /// A heartbeat was received.
    pub const HEARTBEAT_ACK: u64 = 11;
}

/// One frame from the gateway.
#[derive(Debug, Clone, Deserialize)]
pub struct Frame {
    /// The opcode.
    pub op: u64,
    /// The payload.
    #[serde(default)]
    pub d: Value,
    /// The sequence number (dispatches only).
    #[serde(default)]
    pub s: Option<i64>,
    /// The event name (dispatches only).
    #[serde(default)]
    pub t: Option<String>,
}

/// The IDENTIFY frame.
pub fn identify(token: &str) -> Value {
    json!({"op": op::IDENTIFY, "d": {
        "token": token,
        "intents": INTENTS,
        "properties": {"os": std::env::consts::OS, "browser": "warroom", "device": "warroom"},
    }})
}

/// The RESUME frame.
pub fn resume(token: &str, session_id: &str, seq: i64) -> Value {
    json!({"op": op::RESUME, "d": {"token": token, "session_id": session_id, "seq": seq}})
}

/// The HEARTBEAT frame (the last sequence number handled, or null).
pub fn heartbeat(seq: Option<i64>) -> Value {
    json!({"op": op::HEARTBEAT, "d": seq})
}

/// What to do after the gateway closed the connection with `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterClose {
    /// Reconnect and RESUME the session.
    Resume,
    /// Reconnect with a new session (IDENTIFY).
    Identify,
    /// Do not reconnect: the configuration is wrong (bad token, intents not allowed …).
    Stop,
}

/// Discord's close codes: 4004 authentication failed, 4010–4014 shard or intents refused (stop);
/// 4007 invalid seq and 4009 session timed out (new session); anything else may resume.
pub fn after_close(code: Option<u16>) -> AfterClose {
    match code {
        Some(4004 | 4010 | 4011 | 4012 | 4013 | 4014) => AfterClose::Stop,
        Some(4007 | 4009) => AfterClose::Identify,
        _ => AfterClose::Resume,
    }
}

/// The URL to connect to: `base` with the version and encoding query.
pub fn connect_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}/{sep}{QUERY}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_are_messages_reactions_and_content() {
        assert_eq!(INTENTS, 512 + 1024 + 32768);
        assert_eq!(identify("t")["d"]["intents"], 34304);
    }

    #[test]
    fn close_codes_decide_how_to_reconnect() {
        assert_eq!(after_close(Some(4004)), AfterClose::Stop);
        assert_eq!(after_close(Some(4014)), AfterClose::Stop);
        assert_eq!(after_close(Some(4009)), AfterClose::Identify);
        assert_eq!(after_close(Some(4000)), AfterClose::Resume);
        assert_eq!(after_close(None), AfterClose::Resume);
    }

    #[test]
    fn connect_urls_carry_the_version() {
        assert_eq!(
            connect_url("wss://gateway.discord.gg"),
            "wss://gateway.discord.gg/?v=10&encoding=json"
        );
        assert_eq!(
            connect_url("ws://127.0.0.1:9/"),
            "ws://127.0.0.1:9/?v=10&encoding=json"
        );
    }
}
