//! A local Discord REST API for tests: `Authorization: Bot` checks, snowflake ids it assigns,
//! Discord's JSON shapes and error bodies (`{"message", "code"}`), `X-RateLimit-*` bucket headers
//! on every answer, `429` with `retry_after` (per route or global), `5xx` before any effect, and
//! "effect happened, reply lost" (`500` after the channel or message was created). Messages honour
//! `nonce` + `enforce_nonce` as Discord does: the same nonce answers the message created before.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The bot token the fake accepts.
pub const TOKEN: &str = "discord-test-bot-token";
/// The application id.
pub const APP_ID: &str = "900000000000000010";
/// The guild.
pub const GUILD: &str = "900000000000000011";
/// The war-room category.
pub const CATEGORY: &str = "900000000000000012";
/// The announce channel.
pub const ANNOUNCE: &str = "900000000000000013";
/// The bot's user id.
pub const BOT_USER: &str = "900000000000000099";
/// Discord's epoch (2015-01-01), in ms.
const EPOCH: u64 = 1_420_070_400_000;

/// The key tests sign interactions with (its public half is `discord.public_key`).
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

/// The hex public key for `discord.public_key`.
pub fn public_key_hex() -> String {
    hex::encode(signing_key().verifying_key().to_bytes())
}

/// The `X-Signature-Ed25519` Discord would send for `body` at `timestamp`.
pub fn sign(body: &str, timestamp: i64) -> String {
    let mut m = timestamp.to_string().into_bytes();
    m.extend_from_slice(body.as_bytes());
    hex::encode(signing_key().sign(&m).to_bytes())
}

/// A channel (text channel, thread, or DM) as the fake keeps it.
#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub id: String,
    pub kind: u8,
    pub name: String,
    pub parent_id: Option<String>,
    pub topic: Option<String>,
    /// Member permission overwrites: (user id, allow).
    pub overwrites: Vec<(String, String)>,
    pub thread_members: Vec<String>,
    /// The DM's recipient.
    pub recipient: Option<String>,
    pub messages: Vec<Value>,
    pub pins: Vec<String>,
}

/// The fake's whole state.
#[derive(Debug, Default)]
pub struct DiscordState {
    pub channels: Vec<Channel>,
    /// Registered commands by scope (`global` or the guild id).
    pub commands: HashMap<String, Vec<Value>>,
    /// Every call as `OPERATION` (`create_channel`, `create_message` …).
    pub calls: Vec<String>,
    /// Deferred answers edited through the webhook: (token, body).
    pub followups: Vec<(String, Value)>,
    /// Operations that take effect and then answer `500` (the reply is lost), once each per entry.
    pub fail_after_effect: HashMap<String, usize>,
    /// Operations answered `500` with no effect, the next n times.
    pub fail_before_effect: HashMap<String, usize>,
    /// Operations answered `429` (per-route bucket) with this `retry_after`, the next n times.
    pub rate_limit_next: HashMap<String, (usize, f64)>,
    /// The next n calls of any operation are answered with a global `429`.
    pub global_limit_next: usize,
    pub rate_limited_sent: usize,
    pub failed_after_effect_sent: usize,
    next: u64,
}

impl DiscordState {
    fn snowflake(&mut self) -> String {
        self.next += 1;
        let ms = chrono::Utc::now().timestamp_millis() as u64;
        (((ms - EPOCH) << 22) | (self.next & 0x3f_ffff)).to_string()
    }

    fn channel_mut(&mut self, id: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }
}

/// A running fake Discord.
#[derive(Clone)]
pub struct FakeDiscord {
    pub url: String,
    pub state: Arc<Mutex<DiscordState>>,
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": message, "code": code})),
    )
        .into_response()
}

fn with_bucket(mut resp: Response, op: &str, remaining: u32) -> Response {
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", "5".parse().unwrap());
    h.insert(
        "x-ratelimit-remaining",
        remaining.to_string().parse().unwrap(),
    );
    h.insert("x-ratelimit-reset-after", "1.000".parse().unwrap());
    h.insert("x-ratelimit-bucket", format!("b-{op}").parse().unwrap());
    resp
}

fn channel_json(c: &Channel) -> Value {
    let mut v = json!({"id": c.id, "type": c.kind, "name": c.name, "guild_id": GUILD,
        "parent_id": c.parent_id, "topic": c.topic, "position": 0, "nsfw": false,
        "permission_overwrites": c.overwrites.iter().map(|(id, allow)|
            json!({"id": id, "type": 1, "allow": allow, "deny": "0"})).collect::<Vec<_>>()});
    if let Some(r) = &c.recipient {
        v["recipients"] = json!([{"id": r, "username": format!("user{r}")}]);
        v.as_object_mut().unwrap().remove("guild_id");
    }
    v
}

async fn api(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<DiscordState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_start_matches("/api/v10/").to_string();
    let segs: Vec<&str> = path.split('/').collect();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let op = operation(&method, &segs);
    let webhook = op == "followup";
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {TOKEN}"));
    if !authorized && !webhook {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let mut s = state.lock().unwrap();
    s.calls.push(op.to_string());
    if s.global_limit_next > 0 {
        s.global_limit_next -= 1;
        s.rate_limited_sent += 1;
        let mut resp = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(
                json!({"message": "You are being rate limited.", "retry_after": 0.2, "global": true}),
            ),
        )
            .into_response();
        let h = resp.headers_mut();
        h.insert("x-ratelimit-global", "true".parse().unwrap());
        h.insert("x-ratelimit-scope", "global".parse().unwrap());
        h.insert("retry-after", "1".parse().unwrap());
        return resp;
    }
    if let Some((n, after)) = s.rate_limit_next.get_mut(op)
        && *n > 0
    {
        *n -= 1;
        let after = *after;
        s.rate_limited_sent += 1;
        let resp = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(
                json!({"message": "You are being rate limited.", "retry_after": after, "global": false}),
            ),
        )
            .into_response();
        let mut resp = with_bucket(resp, op, 0);
        let h = resp.headers_mut();
        h.insert("x-ratelimit-scope", "user".parse().unwrap());
        h.insert(
            "x-ratelimit-reset-after",
            format!("{after:.3}").parse().unwrap(),
        );
        h.insert(
            "retry-after",
            (after.ceil() as u64).to_string().parse().unwrap(),
        );
        return resp;
    }
    if let Some(n) = s.fail_before_effect.get_mut(op)
        && *n > 0
    {
        *n -= 1;
        return error(StatusCode::BAD_GATEWAY, 0, "502: Bad Gateway");
    }
    let resp = perform(&mut s, op, &segs, &body);
    if resp.status().is_success()
        && let Some(n) = s.fail_after_effect.get_mut(op)
        && *n > 0
    {
        *n -= 1;
        s.failed_after_effect_sent += 1;
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            0,
            "500: Internal Server Error",
        );
    }
    with_bucket(resp, op, 4)
}

/// The name of a route, as faults and `calls` use it.
fn operation(method: &Method, segs: &[&str]) -> &'static str {
    match (method.as_str(), segs) {
        ("GET", ["guilds", _, "channels"]) => "list_channels",
        ("POST", ["guilds", _, "channels"]) => "create_channel",
        ("GET", ["guilds", _, "threads", "active"]) => "active_threads",
        ("PATCH", ["channels", _]) => "edit_channel",
        ("PUT", ["channels", _, "permissions", _]) => "permissions",
        ("POST", ["channels", _, "threads"]) => "create_thread",
        ("PUT", ["channels", _, "thread-members", _]) => "thread_member",
        ("POST", ["channels", _, "messages"]) => "create_message",
        ("PATCH", ["channels", _, "messages", _]) => "edit_message",
        ("PUT", ["channels", _, "pins", _]) => "pin",
        ("POST", ["users", "@me", "channels"]) => "dm",
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => "followup",
        ("PUT", ["applications", _, "commands"]) => "register",
        ("PUT", ["applications", _, "guilds", _, "commands"]) => "register",
        _ => "unknown",
    }
}

fn unknown_channel() -> Response {
    error(StatusCode::NOT_FOUND, 10003, "Unknown Channel")
}

fn perform(s: &mut DiscordState, op: &str, segs: &[&str], body: &Value) -> Response {
    let json = |v: Value| axum::Json(v).into_response();
    let text = |v: &Value| v.as_str().map(str::to_string);
    match op {
        "list_channels" => json(Value::Array(
            s.channels
                .iter()
                .filter(|c| c.kind == 0 || c.kind == 4)
                .map(channel_json)
                .collect(),
        )),
        "create_channel" => {
            let Some(name) = text(&body["name"]).filter(|n| !n.is_empty()) else {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            };
            let id = s.snowflake();
            let c = Channel {
                id,
                kind: body["type"].as_u64().unwrap_or(0) as u8,
                name,
                parent_id: text(&body["parent_id"]),
                topic: text(&body["topic"]),
                ..Default::default()
            };
            let v = channel_json(&c);
            s.channels.push(c);
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        "active_threads" => {
            let threads: Vec<Value> = s
                .channels
                .iter()
                .filter(|c| c.kind == 11)
                .map(channel_json)
                .collect();
            json(json!({"threads": threads, "members": []}))
        }
        "edit_channel" => match s.channel_mut(segs[1]) {
            Some(c) => {
                if let Some(t) = text(&body["topic"]) {
                    c.topic = Some(t);
                }
                let v = channel_json(c);
                json(v)
            }
            None => unknown_channel(),
        },
        "permissions" => match s.channel_mut(segs[1]) {
            Some(c) => {
                let user = segs[3].to_string();
                let allow = text(&body["allow"]).unwrap_or_default();
                c.overwrites.retain(|(u, _)| *u != user);
                c.overwrites.push((user, allow));
                StatusCode::NO_CONTENT.into_response()
            }
            None => unknown_channel(),
        },
        "create_thread" => {
            if s.channel_mut(segs[1]).is_none() {
                return unknown_channel();
            }
            let id = s.snowflake();
            let c = Channel {
                id,
                kind: 11,
                name: text(&body["name"]).unwrap_or_default(),
                parent_id: Some(segs[1].to_string()),
                ..Default::default()
            };
            let v = channel_json(&c);
            s.channels.push(c);
            (StatusCode::CREATED, axum::Json(v)).into_response()
        }
        "thread_member" => match s.channel_mut(segs[1]) {
            Some(c) => {
                if !c.thread_members.iter().any(|m| m == segs[3]) {
                    c.thread_members.push(segs[3].to_string());
                }
                StatusCode::NO_CONTENT.into_response()
            }
            None => unknown_channel(),
        },
        "create_message" => {
            let content = text(&body["content"]).unwrap_or_default();
            if content.is_empty() && body["components"].is_null() {
                return error(
                    StatusCode::BAD_REQUEST,
                    50006,
                    "Cannot send an empty message",
                );
            }
            if content.chars().count() > 2000 {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            }
            let id = s.snowflake();
            let Some(c) = s.channel_mut(segs[1]) else {
                return unknown_channel();
            };
            let nonce = body["nonce"].clone();
            if body["enforce_nonce"] == true
                && !nonce.is_null()
                && let Some(earlier) = c.messages.iter().find(|m| m["nonce"] == nonce)
            {
                return json(earlier.clone());
            }
            let msg = json!({"id": id, "channel_id": c.id, "type": 0, "content": content,
                "author": {"id": BOT_USER, "username": "warroom", "bot": true},
                "timestamp": chrono::Utc::now().to_rfc3339(), "edited_timestamp": null,
                "pinned": false, "nonce": nonce, "components": body["components"].clone(),
                "allowed_mentions": body["allowed_mentions"].clone()});
            c.messages.push(msg.clone());
            json(msg)
        }
        "edit_message" => {
            let Some(c) = s.channel_mut(segs[1]) else {
                return unknown_channel();
            };
            let Some(m) = c.messages.iter_mut().find(|m| m["id"] == segs[3]) else {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            };
            for key in ["content", "components", "allowed_mentions"] {
                if !body[key].is_null() {
                    m[key] = body[key].clone();
                }
            }
            m["edited_timestamp"] = json!(chrono::Utc::now().to_rfc3339());
            json(m.clone())
        }
        "pin" => {
            let Some(c) = s.channel_mut(segs[1]) else {
                return unknown_channel();
            };
            if !c.messages.iter().any(|m| m["id"] == segs[3]) {
                return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
            }
            if !c.pins.iter().any(|p| p == segs[3]) {
                c.pins.push(segs[3].to_string());
            }
            StatusCode::NO_CONTENT.into_response()
        }
        "dm" => {
            let Some(user) = text(&body["recipient_id"]) else {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            };
            if let Some(c) = s
                .channels
                .iter()
                .find(|c| c.recipient.as_deref() == Some(user.as_str()))
            {
                return json(channel_json(c));
            }
            let id = s.snowflake();
            let c = Channel {
                id,
                kind: 1,
                recipient: Some(user),
                ..Default::default()
            };
            let v = channel_json(&c);
            s.channels.push(c);
            json(v)
        }
        "followup" => {
            s.followups.push((segs[2].to_string(), body.clone()));
            json(json!({"id": "1", "content": body["content"]}))
        }
        "register" => {
            let Some(list) = body.as_array() else {
                return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
            };
            let scope = if segs.len() == 5 { segs[3] } else { "global" }.to_string();
            let mut out = Vec::new();
            for c in list {
                let existing = s
                    .commands
                    .get(&scope)
                    .and_then(|cs| cs.iter().find(|e| e["name"] == c["name"]))
                    .and_then(|e| e["id"].as_str().map(str::to_string));
                let id = existing.unwrap_or_else(|| s.snowflake());
                let mut c = c.clone();
                c["id"] = json!(id);
                c["application_id"] = json!(APP_ID);
                out.push(c);
            }
            s.commands.insert(scope, out.clone());
            json(Value::Array(out))
        }
        _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

impl FakeDiscord {
    /// Starts the fake on 127.0.0.1:0 with a guild holding the category and the announce channel.
    pub async fn start() -> FakeDiscord {
        let mut st = DiscordState::default();
        st.channels.push(Channel {
            id: CATEGORY.into(),
            kind: 4,
            name: "Incidents".into(),
            ..Default::default()
        });
        st.channels.push(Channel {
            id: ANNOUNCE.into(),
            kind: 0,
            name: "incidents".into(),
            ..Default::default()
        });
        let state = Arc::new(Mutex::new(st));
        let app = Router::new().fallback(api).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeDiscord {
            url: format!("http://{addr}/api/v10/"),
            state,
        }
    }

    /// Points a warroom configuration at this fake.
    pub fn configure(&self, config: &mut warroom::config::Config) {
        let d = &mut config.discord;
        d.bot_token = Some(TOKEN.into());
        d.application_id = Some(APP_ID.into());
        d.public_key = Some(public_key_hex());
        d.guild_id = Some(GUILD.into());
        d.category_id = Some(CATEGORY.into());
        d.announce_channel = Some(ANNOUNCE.into());
        d.api_url = self.url.clone();
        // This fake speaks the REST API only; the gateway has its own fake (tests/discord_gateway/).
        d.gateway = false;
    }

    /// A copy of the war-room channels (text channels under the category, and threads).
    pub fn rooms(&self) -> Vec<Channel> {
        let s = self.state.lock().unwrap();
        s.channels
            .iter()
            .filter(|c| c.parent_id.as_deref() == Some(CATEGORY) || c.kind == 11)
            .cloned()
            .collect()
    }

    /// A copy of one channel.
    pub fn channel(&self, id: &str) -> Option<Channel> {
        let s = self.state.lock().unwrap();
        s.channels.iter().find(|c| c.id == id).cloned()
    }

    /// The DM channel with `user`.
    pub fn dm_with(&self, user: &str) -> Option<Channel> {
        let s = self.state.lock().unwrap();
        s.channels
            .iter()
            .find(|c| c.recipient.as_deref() == Some(user))
            .cloned()
    }

    /// Every message the fake holds, in every channel.
    pub fn all_messages(&self) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.channels.iter().flat_map(|c| c.messages.clone()).collect()
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.calls.iter().filter(|c| *c == op).count()
    }
}

/// The user id of test person alice on Discord.
pub const ALICE: &str = "111111111111111111";
/// A Discord user the directory does not know.
pub const STRANGER: &str = "222222222222222222";

/// A catalog with a service and alice (`discord = ALICE`, admin).
pub fn catalog(dir: &std::path::Path) -> String {
    let path = dir.join("services.toml");
    std::fs::write(
        &path,
        format!(
            "[[service]]\nname = \"checkout\"\nowner = \"payments\"\n\n\
             [[person]]\nid = \"alice\"\nname = \"Alice\"\ndiscord = \"{ALICE}\"\nslack = \"U0ALICE01\"\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// An interaction body for an application command: `/<family> <sub> options…` by `user`.
pub fn command(
    id: &str,
    user: &str,
    channel: &str,
    family: &str,
    sub: &str,
    options: Value,
) -> String {
    json!({"id": id, "application_id": APP_ID, "type": 2, "token": format!("tok-{id}"), "version": 1,
        "guild_id": GUILD, "channel_id": channel,
        "member": {"user": {"id": user, "username": format!("u{user}"), "global_name": null}, "roles": [],
            "permissions": "2147483647", "nick": null},
        "data": {"id": "1", "name": family, "type": 1,
            "options": [{"type": 1, "name": sub, "options": options}]}})
    .to_string()
}

/// An interaction body for a pressed button.
pub fn button(id: &str, user: &str, channel: &str, custom_id: &str) -> String {
    json!({"id": id, "application_id": APP_ID, "type": 3, "token": format!("tok-{id}"), "version": 1,
        "channel_id": channel, "user": {"id": user, "username": format!("u{user}")},
        "data": {"custom_id": custom_id, "component_type": 2}})
    .to_string()
}

/// Sends a body signed `age` seconds ago to warroom's interactions endpoint.
pub async fn send(app: &crate::common::TestApp, body: &str, age: i64) -> (u16, Value) {
    let ts = chrono::Utc::now().timestamp() - age;
    let resp = app
        .client
        .post(app.url("/discord/interactions"))
        .header("content-type", "application/json")
        .header("x-signature-timestamp", ts.to_string())
        .header("x-signature-ed25519", sign(body, ts))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    crate::common::split(resp).await
}
