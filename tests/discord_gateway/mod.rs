//! A local Discord gateway for tests: a WebSocket server (tokio-tungstenite) that sends HELLO,
//! checks IDENTIFY (token and intents), acknowledges heartbeats, dispatches READY and the
//! MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE / MESSAGE_REACTION_ADD frames built from the
//! real captures in `../shared/fixtures/realworld/discord/`, supports RESUME (replaying what the
//! session missed, as Discord does, unless told not to), and drops connections on demand; plus
//! the HTTP side the client needs: `GET /gateway/bot` and `GET /channels/{id}/messages?after=`.

#![allow(dead_code)]

use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// The bot token the gateway and the API accept.
pub const TOKEN: &str = "discord-test-bot-token";
/// The bot's own user id (READY's `user.id`).
pub const BOT_USER: &str = "900000000000000010";
/// The guild of the war rooms.
pub const GUILD: &str = "694205451682978886";
/// The intents IDENTIFY must ask for: GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS | MESSAGE_CONTENT.
pub const REQUIRED_INTENTS: u64 = (1 << 9) | (1 << 10) | (1 << 15);
/// Discord's epoch (2015-01-01) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// What a client did, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// IDENTIFY accepted: a new session.
    Identify { session: String },
    /// RESUME of `session` from `seq`.
    Resume { session: String, seq: i64 },
    /// An IDENTIFY or RESUME refused (why).
    Refused(String),
}

enum Control {
    Frame(Value),
    Drop,
}

struct Session {
    seq: i64,
    log: Vec<Value>,
}

struct Live {
    id: u64,
    session: String,
    tx: mpsc::UnboundedSender<Control>,
}

/// Everything the fake keeps.
pub struct GatewayState {
    /// Channel histories (message objects, oldest first).
    pub channels: BTreeMap<String, Vec<Value>>,
    sessions: HashMap<String, Session>,
    current: Option<String>,
    live: Vec<Live>,
    /// What clients did.
    pub seen: Vec<Seen>,
    /// Heartbeats received.
    pub heartbeats: usize,
    /// The most connections that were live (past IDENTIFY/RESUME) at once.
    pub max_live: usize,
    /// HTTP calls (`GET /gateway/bot`, `GET /channels/…/messages?after=…`).
    pub calls: Vec<String>,
    /// Whether a RESUME replays the dispatches the session missed (Discord does).
    pub replay_on_resume: bool,
    /// How many history reads to answer `429` with `retry_after` before serving them.
    pub rate_limited: usize,
    /// User names of the authors seen (for the `mentions` of later messages).
    users: HashMap<String, String>,
    last_id: u64,
    next_conn: u64,
}

/// The fake gateway and its HTTP side.
#[derive(Clone)]
pub struct FakeGateway {
    /// Its state.
    pub state: Arc<Mutex<GatewayState>>,
    /// `ws://127.0.0.1:PORT`.
    pub ws_url: String,
    /// `http://127.0.0.1:PORT/api/v10/`.
    pub api_url: String,
    open: Arc<watch::Sender<bool>>,
    /// The heartbeat interval HELLO announces (ms).
    pub heartbeat_ms: u64,
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../shared/fixtures/realworld/discord/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("fixture JSON")
}

fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

impl FakeGateway {
    /// Starts both sides on loopback ports.
    pub async fn start() -> FakeGateway {
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (open, _) = watch::channel(true);
        let fake = FakeGateway {
            state: Arc::new(Mutex::new(GatewayState {
                channels: BTreeMap::new(),
                sessions: HashMap::new(),
                current: None,
                live: Vec::new(),
                seen: Vec::new(),
                heartbeats: 0,
                max_live: 0,
                calls: Vec::new(),
                replay_on_resume: true,
                rate_limited: 0,
                users: HashMap::new(),
                last_id: 0,
                next_conn: 0,
            })),
            ws_url: format!("ws://{}", ws.local_addr().unwrap()),
            api_url: format!("http://{}/api/v10/", http.local_addr().unwrap()),
            open: Arc::new(open),
            heartbeat_ms: 1000,
        };
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                let fake = accepting.clone();
                tokio::spawn(async move { fake.connection(stream).await });
            }
        });
        let app = Router::new()
            .route("/api/v10/gateway/bot", get(gateway_bot))
            .route("/api/v10/channels/{id}/messages", get(channel_messages))
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(http, app).await.unwrap();
        });
        fake
    }

    /// Points a warroom configuration at this gateway (`gateway_url` set or not: with `via_rest`,
    /// the client finds the gateway through `GET /gateway/bot`).
    pub fn configure(&self, config: &mut warroom::config::Config, via_rest: bool) {
        config.discord.bot_token = Some(TOKEN.into());
        config.discord.application_id = Some(BOT_USER.into());
        config.discord.guild_id = Some(GUILD.into());
        config.discord.api_url = self.api_url.clone();
        config.discord.gateway = true;
        config.discord.gateway_url = (!via_rest).then(|| self.ws_url.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GatewayState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new snowflake: time-based like Discord's, and always larger than the last.
    pub fn snowflake(&self) -> String {
        let mut s = self.lock();
        let ms = chrono::Utc::now().timestamp_millis() as u64 - DISCORD_EPOCH_MS;
        let id = (ms << 22).max(s.last_id + 1);
        s.last_id = id;
        id.to_string()
    }

    /// A new text channel (a war room's channel).
    pub fn add_channel(&self) -> String {
        let id = self.snowflake();
        self.lock().channels.insert(id.clone(), Vec::new());
        id
    }

    /// Holds new connections before HELLO (`false`) or lets them through (`true`).
    pub fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }

    /// Whether a RESUME replays the dispatches the session missed.
    pub fn set_replay_on_resume(&self, replay: bool) {
        self.lock().replay_on_resume = replay;
    }

    /// Drops every live connection abruptly (no close frame), so the client must resume.
    pub fn drop_connections(&self) {
        for live in self.lock().live.drain(..) {
            let _ = live.tx.send(Control::Drop);
        }
    }

    /// Forgets every session (as after Discord invalidated them): a RESUME gets INVALID_SESSION.
    pub fn forget_sessions(&self) {
        let mut s = self.lock();
        s.sessions.clear();
        s.current = None;
    }

    /// Connections live now.
    pub fn live(&self) -> usize {
        self.lock().live.len()
    }

    /// What clients did so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Sends a dispatch to the current session (logged for a RESUME; sent when connected).
    pub fn dispatch(&self, t: &str, d: Value) {
        let mut s = self.lock();
        let Some(current) = s.current.clone() else {
            return;
        };
        let session = s.sessions.get_mut(&current).expect("session");
        session.seq += 1;
        let frame = json!({"op": 0, "t": t, "s": session.seq, "d": d});
        session.log.push(frame.clone());
        for live in s.live.iter().filter(|l| l.session == current) {
            let _ = live.tx.send(Control::Frame(frame.clone()));
        }
    }

    fn message(&self, channel: &str, author: (&str, &str), content: &str) -> Value {
        let mut d = fixture("discord4j-gateway-MessageCreate.Type0.json")["d"].clone();
        d["id"] = json!(self.snowflake());
        d["channel_id"] = json!(channel);
        d["guild_id"] = json!(GUILD);
        d["content"] = json!(content);
        d["timestamp"] = json!(now_iso());
        d["nonce"] = json!(self.snowflake());
        d["author"]["id"] = json!(author.0);
        d["author"]["username"] = json!(author.1);
        if author.0 == BOT_USER {
            d["author"]["bot"] = json!(true);
        }
        // Discord lists the users a message mentions, with their names.
        let mut s = self.lock();
        s.users.insert(author.0.to_string(), author.1.to_string());
        let re = regex::Regex::new(r"<@!?(\d+)>").unwrap();
        let mentions: Vec<Value> = re
            .captures_iter(content)
            .map(|c| {
                let id = c[1].to_string();
                let name = s.users.get(&id).cloned().unwrap_or_else(|| format!("user{id}"));
                json!({"id": id, "username": name, "discriminator": "0", "public_flags": 0, "avatar": null})
            })
            .collect();
        d["mentions"] = json!(mentions);
        d
    }

    fn keep(&self, channel: &str, d: &Value) {
        let mut s = self.lock();
        let history = s.channels.entry(channel.to_string()).or_default();
        // History objects carry no guild_id or member, as the REST API returns them.
        let mut kept = d.clone();
        if let Some(o) = kept.as_object_mut() {
            o.remove("guild_id");
            o.remove("member");
        }
        match history.iter_mut().find(|m| m["id"] == d["id"]) {
            Some(old) => *old = kept,
            None => history.push(kept),
        }
    }

    /// `author` (id, user name) says `content` in `channel`: kept in its history and dispatched.
    pub fn say(&self, channel: &str, author: (&str, &str), content: &str) -> String {
        let d = self.message(channel, author, content);
        self.keep(channel, &d);
        self.dispatch("MESSAGE_CREATE", d.clone());
        d["id"].as_str().unwrap().to_string()
    }

    /// A message that only the history shows (its dispatch was lost: only a back-fill finds it).
    pub fn say_unseen(&self, channel: &str, author: (&str, &str), content: &str) -> String {
        let d = self.message(channel, author, content);
        self.keep(channel, &d);
        d["id"].as_str().unwrap().to_string()
    }

    /// A reply (type 19, `message_reference`) to message `to`.
    pub fn reply(&self, channel: &str, author: (&str, &str), content: &str, to: &str) -> String {
        let mut d = fixture("discord4j-gateway-MessageCreate.Type19.json")["d"].clone();
        let base = self.message(channel, author, content);
        for key in [
            "id",
            "channel_id",
            "guild_id",
            "content",
            "timestamp",
            "author",
        ] {
            d[key] = base[key].clone();
        }
        d["mentions"] = json!([]);
        d["message_reference"] =
            json!({"message_id": to, "channel_id": channel, "guild_id": GUILD});
        if let Some(original) = self.find(channel, to) {
            d["referenced_message"] = original;
        }
        self.keep(channel, &d);
        self.dispatch("MESSAGE_CREATE", d.clone());
        d["id"].as_str().unwrap().to_string()
    }

    /// A channel's history (oldest first).
    pub fn history(&self, channel: &str) -> Vec<Value> {
        self.lock()
            .channels
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    fn find(&self, channel: &str, id: &str) -> Option<Value> {
        self.lock()
            .channels
            .get(channel)?
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
    }

    /// Edits message `id` (a full MESSAGE_UPDATE with `edited_timestamp`, as for a user's edit).
    pub fn edit(&self, channel: &str, id: &str, content: &str) {
        let mut d = fixture("discord4j-gateway-MessageUpdate.NoEmbeds.json")["d"].clone();
        let original = self.find(channel, id).expect("message to edit");
        for key in ["id", "channel_id", "author", "timestamp"] {
            d[key] = original[key].clone();
        }
        d["guild_id"] = json!(GUILD);
        d["pinned"] = json!(false);
        d["content"] = json!(content);
        d["edited_timestamp"] = json!(now_iso());
        self.keep(channel, &d);
        self.dispatch("MESSAGE_UPDATE", d);
    }

    /// A partial MESSAGE_UPDATE (an embed unfurled: no author, no text).
    pub fn unfurl(&self, channel: &str, id: &str) {
        let mut d = fixture("discord4j-gateway-MessageUpdate.Embeds.json")["d"].clone();
        d["id"] = json!(id);
        d["channel_id"] = json!(channel);
        d["guild_id"] = json!(GUILD);
        self.dispatch("MESSAGE_UPDATE", d);
    }

    /// Deletes message `id`.
    pub fn delete(&self, channel: &str, id: &str) {
        if let Some(h) = self.lock().channels.get_mut(channel) {
            h.retain(|m| m["id"] != id);
        }
        let mut d = fixture("discord4j-gateway-MessageDelete.json")["d"].clone();
        d["id"] = json!(id);
        d["channel_id"] = json!(channel);
        d["guild_id"] = json!(GUILD);
        self.dispatch("MESSAGE_DELETE", d);
    }

    /// `user` (id, user name) reacts with `emoji` to message `id`.
    pub fn react(&self, channel: &str, id: &str, user: (&str, &str), emoji: &str) {
        let mut d = fixture("discord4j-gateway-MessageReactionAdd.json")["d"].clone();
        d["user_id"] = json!(user.0);
        d["member"]["user"]["id"] = json!(user.0);
        d["member"]["user"]["username"] = json!(user.1);
        d["message_id"] = json!(id);
        d["channel_id"] = json!(channel);
        d["guild_id"] = json!(GUILD);
        d["emoji"] = json!({"name": emoji, "id": null});
        if let Some(m) = self.find(channel, id) {
            d["message_author_id"] = m["author"]["id"].clone();
        }
        self.dispatch("MESSAGE_REACTION_ADD", d);
    }

    async fn connection(self, stream: tokio::net::TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let mut open = self.open.subscribe();
        if open.wait_for(|o| *o).await.is_err() {
            return;
        }
        let hello =
            json!({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}, "s": null, "t": null});
        if ws.send(Message::text(hello.to_string())).await.is_err() {
            return;
        }
        let Some(Ok(Message::Text(first))) = ws.next().await else {
            return;
        };
        let first: Value = serde_json::from_str(&first).unwrap_or_default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let conn = {
            let mut s = self.lock();
            s.next_conn += 1;
            s.next_conn
        };
        let opened = match first["op"].as_u64() {
            Some(2) => self.identify(conn, &first["d"], tx),
            Some(6) => self.resume(conn, &first["d"], tx),
            _ => Err((4003, "Not authenticated.")),
        };
        if let Err((code, reason)) = opened {
            self.lock().seen.push(Seen::Refused(reason.to_string()));
            if code == 0 {
                let _ = ws
                    .send(Message::text(
                        json!({"op": 9, "d": false, "s": null, "t": null}).to_string(),
                    ))
                    .await;
            } else {
                let _ = ws
                    .close(Some(CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    }))
                    .await;
            }
            return;
        }
        loop {
            tokio::select! {
                control = rx.recv() => match control {
                    Some(Control::Frame(f)) => {
                        if ws.send(Message::text(f.to_string())).await.is_err() { break; }
                    }
                    // Abrupt: the socket is dropped without a close frame.
                    Some(Control::Drop) | None => break,
                },
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let v: Value = serde_json::from_str(&text).unwrap_or_default();
                        if v["op"] == 1 {
                            self.lock().heartbeats += 1;
                            let ack = json!({"op": 11, "d": null, "s": null, "t": null});
                            if ws.send(Message::text(ack.to_string())).await.is_err() { break; }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        self.lock().live.retain(|l| l.id != conn);
    }

    fn register(
        &self,
        s: &mut GatewayState,
        conn: u64,
        session: &str,
        tx: mpsc::UnboundedSender<Control>,
    ) {
        s.live.push(Live {
            id: conn,
            session: session.to_string(),
            tx,
        });
        s.max_live = s.max_live.max(s.live.len());
        s.current = Some(session.to_string());
    }

    fn identify(
        &self,
        conn: u64,
        d: &Value,
        tx: mpsc::UnboundedSender<Control>,
    ) -> Result<(), (u16, &'static str)> {
        if d["token"] != TOKEN {
            return Err((4004, "Authentication failed."));
        }
        let intents = d["intents"].as_u64().unwrap_or(0);
        if intents & REQUIRED_INTENTS != REQUIRED_INTENTS {
            return Err((4014, "Disallowed intent(s)."));
        }
        let session_id = format!("{:032x}", rand::random::<u128>());
        let mut s = self.lock();
        s.sessions.insert(
            session_id.clone(),
            Session {
                seq: 0,
                log: Vec::new(),
            },
        );
        s.seen.push(Seen::Identify {
            session: session_id.clone(),
        });
        self.register(&mut s, conn, &session_id, tx.clone());
        let session = s.sessions.get_mut(&session_id).unwrap();
        session.seq += 1;
        let ready = json!({"op": 0, "t": "READY", "s": session.seq, "d": {
            "v": 10,
            "user": {"id": BOT_USER, "username": "warroom", "discriminator": "0", "bot": true, "avatar": null},
            "guilds": [{"id": GUILD, "unavailable": true}],
            "session_id": session_id,
            "resume_gateway_url": self.ws_url,
            "shard": [0, 1],
            "application": {"id": BOT_USER, "flags": 0}
        }});
        let _ = tx.send(Control::Frame(ready));
        Ok(())
    }

    fn resume(
        &self,
        conn: u64,
        d: &Value,
        tx: mpsc::UnboundedSender<Control>,
    ) -> Result<(), (u16, &'static str)> {
        if d["token"] != TOKEN {
            return Err((4004, "Authentication failed."));
        }
        let session_id = d["session_id"].as_str().unwrap_or_default().to_string();
        let seq = d["seq"].as_i64().unwrap_or(0);
        let mut s = self.lock();
        let replay = s.replay_on_resume;
        let Some(session) = s.sessions.get(&session_id) else {
            // INVALID_SESSION (d: false), as Discord answers an unknown session.
            return Err((0, "Invalid session."));
        };
        let missed: Vec<Value> = if replay {
            session
                .log
                .iter()
                .filter(|f| f["s"].as_i64().unwrap_or(0) > seq)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        s.seen.push(Seen::Resume {
            session: session_id.clone(),
            seq,
        });
        self.register(&mut s, conn, &session_id, tx.clone());
        for frame in missed {
            let _ = tx.send(Control::Frame(frame));
        }
        let session = s.sessions.get_mut(&session_id).unwrap();
        session.seq += 1;
        let resumed = json!({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}});
        session.log.push(resumed.clone());
        let _ = tx.send(Control::Frame(resumed));
        Ok(())
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bot {TOKEN}"))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
    )
        .into_response()
}

async fn gateway_bot(AxumState(fake): AxumState<FakeGateway>, headers: HeaderMap) -> Response {
    fake.lock().calls.push("GET /gateway/bot".into());
    if !authorized(&headers) {
        return unauthorized();
    }
    axum::Json(json!({"url": fake.ws_url, "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}}))
    .into_response()
}

async fn channel_messages(
    AxumState(fake): AxumState<FakeGateway>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let after = q.get("after").cloned().unwrap_or_default();
    fake.lock()
        .calls
        .push(format!("GET /channels/{id}/messages?after={after}"));
    if !authorized(&headers) {
        return unauthorized();
    }
    {
        let mut s = fake.lock();
        if s.rate_limited > 0 {
            s.rate_limited -= 1;
            s.calls.push("429".into());
            let body = json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false});
            let headers = [
                ("retry-after", "1"),
                ("x-ratelimit-limit", "5"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset-after", "0.050"),
                ("x-ratelimit-bucket", "history"),
                ("x-ratelimit-scope", "user"),
            ];
            return (StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response();
        }
    }
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let after: u64 = after.parse().unwrap_or(0);
    let s = fake.lock();
    let Some(history) = s.channels.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Channel", "code": 10003})),
        )
            .into_response();
    };
    let mut page: Vec<Value> = history
        .iter()
        .filter(|m| {
            m["id"]
                .as_str()
                .and_then(|i| i.parse::<u64>().ok())
                .unwrap_or(0)
                > after
        })
        .take(limit)
        .cloned()
        .collect();
    // Discord lists newest first.
    page.reverse();
    axum::Json(Value::Array(page)).into_response()
}
